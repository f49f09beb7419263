// create: the init joins a new session keyring named after the container (runc's "_ses.<id>"),
// so the container cannot reach keys of the caller's session; --no-new-keyring keeps the caller's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup } from '../helpers/fixture.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot, timeout: 60_000 };

function unmaskKeys(c) {
	c.config.linux.maskedPaths = (c.config.linux.maskedPaths ?? []).filter((p) => p !== '/proc/keys');
}

test('run: the container gets its own session keyring "_ses.<id>"', opts, async (t) => {
	const c = await setup(t);
	unmaskKeys(c);
	const out = await c.inside('cat /proc/keys');
	assert.match(out, new RegExp(`keyring +_ses\\.${c.id.replace(/[.+]/g, '\\$&')}: empty`));
});

test('run: --no-new-keyring keeps the caller\'s session keyring', opts, async (t) => {
	const c = await setup(t);
	unmaskKeys(c);
	c.sh('cat /proc/keys');
	const r = await c.runFg({ args: ['--no-new-keyring'] });
	// /proc/keys lists every key root may view, other containers' keyrings included: look for ours
	assert.doesNotMatch(r.stdout, new RegExp(`_ses\\.${c.id.replace(/[.+]/g, '\\$&')}:`));
});

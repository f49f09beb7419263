// Bad input and concurrent callers: every malformed config is refused with one line that names the
// problem and leaves nothing behind; commands racing on one container never see a torn state.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { isTsrun } from '../helpers/runtime-under-test.js';
import { malformed, random, richConfig } from '../helpers/malformed.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot, timeout: 240_000 };

const N_CREATES = 500;

test(`create: ${N_CREATES} seeded malformed configs each exit 1 with one line naming the field, and leave nothing`, { ...opts, skip: opts.skip || (!isTsrun && 'checks tsrun\'s messages') }, async (t) => {
	const c = await setup(t, { args: ['true'] });
	const base = richConfig(c.config);
	base.root.path = c.rootfs; // each attempt has its own bundle dir holding only config.json
	const rnd = random(20261125);
	const attempts = [];
	for (let i = 0; i < N_CREATES; i++) {
		const { config, where } = malformed(base, rnd);
		const id = c.newId();
		// each attempt its own cgroup, so a leftover is this attempt's
		if (config.linux && typeof config.linux === 'object' && typeof config.linux.cgroupsPath === 'string') config.linux.cgroupsPath = c.cgroupsPathFor(id);
		attempts.push({ i, id, config, where, bundle: c.path(`bundle-${i}`) });
	}
	const failures = [];
	const one = async ({ i, id, config, where, bundle }) => {
		const r = await c.create({ id, config, bundle, expectExit: null });
		const what = `#${i} ${where.join(' ')}`;
		if (r.exitCode !== 1) return failures.push(`${what}: exit ${r.exitCode}\n${r.stderr}`);
		const lines = r.stderr.trim().split('\n').filter((l) => !/level=warning/.test(l));
		if (lines.length !== 1) return failures.push(`${what}: ${lines.length} error lines:\n${r.stderr}`);
		if (!/config\.json \/[^ ]*: /.test(lines[0]) && !/process\.json|cannot allocate tty|console socket/.test(lines[0])) failures.push(`${what}: no JSON pointer: ${lines[0]}`);
		if (/\n\s+at |TypeError|ReferenceError|RangeError/.test(r.stderr)) failures.push(`${what}: a stack trace or a JS error:\n${r.stderr}`);
		if (fs.existsSync(path.join(c.root, id))) failures.push(`${what}: state dir left`);
		if (c.cgroupDirsOf(id).length) failures.push(`${what}: cgroup left`);
		c.ids.delete(id);
	};
	// four at a time: most are refused while still reading config.json
	const queue = [...attempts];
	await Promise.all(Array.from({ length: 4 }, async () => {
		while (queue.length && failures.length < 10) await one(queue.shift());
	}));
	assert.deepEqual(failures, []);
});

test('state/kill/delete: 24 racing commands on one container never see a torn state; one delete wins', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await c.create();
	await c.start();
	const runs = [];
	for (let i = 0; i < 8; i++) {
		runs.push(c.run(['state', c.id], { expectExit: null }));
		runs.push(c.run(['kill', c.id, '0'], { expectExit: null }));
		runs.push(c.run(['delete', '--force', c.id], { expectExit: null }));
	}
	const results = await Promise.all(runs);
	for (const r of results) {
		if (r.command.includes(' state ') && r.exitCode === 0) {
			const st = JSON.parse(r.stdout); // never half-written
			assert.equal(st.id, c.id);
		} else if (r.exitCode !== 0) {
			assert.match(r.stderr, /does not exist|not running/, r.stderr);
		}
	}
	assert.ok(results.filter((r) => r.command.includes(' delete ')).every((r) => r.exitCode === 0), 'delete --force of a gone container exits 0');
	assert.equal(fs.existsSync(path.join(c.root, c.id)), false);
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
});

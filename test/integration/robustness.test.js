// Bad input and concurrent callers: every malformed config is refused with one line that names the
// problem and leaves nothing behind; commands racing on one container never see a torn state.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { isTsrun } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot, timeout: 240_000 };

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const nasty = [null, -1, 2 ** 64, 1.5, '', 'x'.repeat(5000), [], {}, true, '../../etc', '\u0000', 'RLIMIT_NOPE', -2147483649];

/** Replaces one value somewhere in the config with something of the wrong kind or range. */
function mutate(config, rnd) {
	const c = structuredClone(config);
	const paths = [];
	const walk = (v, p) => {
		if (v && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], [...p, k]);
		if (p.length) paths.push(p);
	};
	walk(c, []);
	const p = paths[Math.floor(rnd() * paths.length)];
	let parent = c;
	for (const k of p.slice(0, -1)) parent = parent[k];
	parent[p[p.length - 1]] = nasty[Math.floor(rnd() * nasty.length)];
	return { config: c, where: '/' + p.join('/') };
}

test('create: 60 mutated configs each exit 0 or 1 with one line, and a refused one leaves nothing', { ...opts, skip: opts.skip || (!isTsrun && 'checks tsrun\'s messages') }, async (t) => {
	const c = await setup(t, { args: ['true'] });
	const rnd = random(20261125);
	for (let i = 0; i < 60; i++) {
		const { config, where } = mutate(c.config, rnd);
		const id = c.newId();
		c.ids.add(id);
		// each attempt its own cgroup, so a leftover is this attempt's
		if (config.linux && typeof config.linux === 'object' && typeof config.linux.cgroupsPath === 'string') {
			config.linux.cgroupsPath = c.cgroupsPathFor(id);
		}
		const r = await c.create({ id, config, expectExit: null });
		assert.ok(r.exitCode === 0 || r.exitCode === 1, `${where}: exit ${r.exitCode}\n${r.stderr}`);
		if (r.exitCode === 0) {
			await c.delete(id, { force: true });
			continue;
		}
		const lines = r.stderr.trim().split('\n').filter((l) => !/level=warning/.test(l));
		assert.equal(lines.length, 1, `${where}: one error line, got:\n${r.stderr}`);
		assert.doesNotMatch(r.stderr, /\n\s+at /, `${where}: no stack trace`);
		assert.equal(fs.existsSync(path.join(c.root, id)), false, `${where}: no state dir left`);
		assert.deepEqual(cgroupDirs(c.cgroupsPathFor(id)), [], `${where}: no cgroup left`);
	}
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

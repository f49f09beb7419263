// The integration half of the malformed-config robustness check: seeded malformed configs (see
// malformed.js) through a real `create`, four at a time. Split over several test files (each
// runs in its own process under the runner's 120 s per-file timeout, which a loaded machine nears), 100 configs each.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setup } from './fixture.js';
import { malformed, random, richConfig } from './malformed.js';

/** Each of `n` configs from `seed` must exit 1 with one line naming the field and leave nothing. */
export async function malformedCreates(t, seed, n) {
	const c = await setup(t, { args: ['true'] });
	const base = richConfig(c.config);
	base.root.path = c.rootfs; // each attempt has its own bundle dir holding only config.json
	const rnd = random(seed);
	const attempts = [];
	for (let i = 0; i < n; i++) {
		const { config, where } = malformed(base, rnd);
		const id = c.newId();
		// each attempt its own cgroup, so a leftover is this attempt's
		if (config.linux && typeof config.linux === 'object' && typeof config.linux.cgroupsPath === 'string') config.linux.cgroupsPath = c.cgroupsPathFor(id);
		attempts.push({ i, id, config, where, bundle: c.path(`bundle-${i}`) });
	}
	const failures = [];
	const one = async ({ i, id, config, where, bundle }) => {
		const r = await c.create({ id, config, bundle, expectExit: null });
		const what = `seed ${seed} #${i} ${where.join(' ')}`;
		if (r.exitCode !== 1) return failures.push(`${what}: exit ${r.exitCode}\n${r.stderr}`);
		const lines = r.stderr.trim().split('\n').filter((l) => !/level=warning/.test(l));
		if (lines.length !== 1) return failures.push(`${what}: ${lines.length} error lines:\n${r.stderr}`);
		if (!/config\.json \/[^ ]*: /.test(lines[0])) failures.push(`${what}: no JSON pointer: ${lines[0]}`);
		if (/\n\s+at |TypeError|ReferenceError|RangeError/.test(r.stderr)) failures.push(`${what}: a stack trace or a JS error:\n${r.stderr}`);
		if (fs.existsSync(path.join(c.root, id))) failures.push(`${what}: state dir left`);
		if (c.cgroupDirsOf(id).length) failures.push(`${what}: cgroup left`);
		c.ids.delete(id);
		fs.rmSync(bundle, { recursive: true, force: true });
	};
	// four at a time (more only adds to the load of a busy 2-CPU machine)
	const queue = [...attempts];
	await Promise.all(Array.from({ length: 4 }, async () => {
		while (queue.length && failures.length < 10) await one(queue.shift());
	}));
	assert.deepEqual(failures, []);
}

// The last check of a run (scripts/run-tests.js runs this file alone, after the others): nothing the
// tests made may be left on the machine: no process, mount, cgroup, temp dir or netns of this run
// (TSRUN_TEST_RUN_ID). Whatever is found is reported, then removed. Without a run id it would sweep
// every run on the machine, killing other suites' live containers, so it then skips unless
// TSRUN_TEST_SWEEP_ALL=1 asks for exactly that.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { CGROUP_ROOT, cgroupProcs } from '../helpers/cgroups.js';
import { mountsUnder, removeCgroupTree, testProcesses, unmountUnder } from '../helpers/cleanup.js';
import { isAlive } from '../helpers/proc.js';
import { CGROUP_PARENT, needsRoot, PREFIX, TMP } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const runId = process.env.TSRUN_TEST_RUN_ID;
const prefix = runId ? `${PREFIX}${runId}-` : PREFIX;
const sweepAll = process.env.TSRUN_TEST_SWEEP_ALL === '1';
const opts = {
	skip: needsRoot || (!runId && !sweepAll && 'no TSRUN_TEST_RUN_ID: set it to check one run, or TSRUN_TEST_SWEEP_ALL=1 to sweep all'),
	timeout: 60_000,
};

/** /sys/fs/cgroup/<hierarchy>/tsrun-it/<prefix>* dirs (and the same on a v2 root). */
function leftoverCgroups() {
	const out = [];
	const seen = new Set();
	let hs = [];
	try {
		hs = fs.readdirSync(CGROUP_ROOT);
	} catch {}
	for (const h of ['.', ...hs]) {
		let parent;
		try {
			parent = fs.realpathSync(path.join(CGROUP_ROOT, h, CGROUP_PARENT));
		} catch {
			continue;
		}
		if (seen.has(parent)) continue;
		seen.add(parent);
		for (const e of fs.readdirSync(parent, { withFileTypes: true })) {
			if (e.isDirectory() && e.name.startsWith(prefix)) out.push(path.join(parent, e.name));
		}
	}
	return out;
}

test('leaks: no test process is left', opts, async () => {
	const found = testProcesses(prefix);
	for (const p of found) {
		try {
			process.kill(p.pid, 'SIGKILL');
		} catch {}
	}
	if (found.length) await waitFor(() => found.every((p) => !isAlive(p.pid)), 5000).catch(() => {});
	assert.deepEqual(found.map((p) => `${p.pid} ${p.cmd} (${p.cgroup})`), []);
});

test('leaks: no tsrun-it cgroup is left', opts, async () => {
	const found = leftoverCgroups();
	for (const d of found) {
		for (const pid of cgroupProcs(d)) {
			try {
				process.kill(pid, 'SIGKILL');
			} catch {}
		}
	}
	for (const d of found) await waitFor(() => removeCgroupTree(d).length === 0, 5000).catch(() => {});
	// The shared parent goes when it is empty (another run may still use it: then rmdir fails, fine).
	for (const h of ['.', ...fs.readdirSync(CGROUP_ROOT)]) {
		try {
			fs.rmdirSync(path.join(CGROUP_ROOT, h, CGROUP_PARENT));
		} catch {}
	}
	assert.deepEqual(found, []);
});

test('leaks: no mount under a test temp dir is left', opts, async () => {
	const mark = path.join(TMP, prefix);
	const found = mountsUnder(mark).map((m) => m.line);
	await unmountUnder(mark);
	assert.deepEqual(found, []);
});

test('leaks: no test temp dir is left', opts, async () => {
	const found = fs
		.readdirSync(TMP)
		.filter((n) => n.startsWith(prefix))
		.map((n) => path.join(TMP, n));
	for (const d of found) {
		if (mountsUnder(d).length === 0) await execa('rm', ['-rf', '--one-file-system', d], { reject: false });
	}
	assert.deepEqual(found, []);
});

test('leaks: no test network namespace is left', { ...opts, skip: needsRoot || (!fs.existsSync('/run/netns') && 'no /run/netns') }, async () => {
	const found = fs.readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
	for (const n of found) await execa('ip', ['netns', 'del', n], { reject: false });
	assert.deepEqual(found, []);
});

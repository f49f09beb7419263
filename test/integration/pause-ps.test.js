// pause / resume (cgroup freezer) and ps: what the container's cgroup and /proc say.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs, cgroupProcs, isCgroupV1 } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { procStatus } from '../helpers/proc.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 60_000 };

function freezerState(c) {
	if (isCgroupV1) {
		const [dir] = cgroupDirs(c.cgroupsPath).filter((d) => d.includes('/freezer/'));
		return fs.readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim();
	}
	const [dir] = cgroupDirs(c.cgroupsPath);
	return /^frozen 1$/m.test(fs.readFileSync(path.join(dir, 'cgroup.events'), 'utf8')) ? 'FROZEN' : 'THAWED';
}

test('ps: --format json lists the host pids of every process in the container', opts, async (t) => {
	const c = await setup(t, { args: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'] });
	const { pid } = await c.create();
	await c.start();
	const [pidsDir] = cgroupDirs(c.cgroupsPath).filter((d) => !isCgroupV1 || d.includes('/pids/'));
	await waitFor(() => cgroupProcs(pidsDir).length === 3, 10_000, 'init and two sleeps');
	const json = JSON.parse((await c.run(['ps', '--format', 'json', c.id])).stdout);
	assert.deepEqual([...json].sort(), [...cgroupProcs(pidsDir)].sort());
	assert.ok(json.includes(pid));
	const table = (await c.run(['ps', c.id])).stdout.trim().split('\n');
	assert.match(table[0], /\bPID\b/);
	assert.equal(table.length, 4, table.join('\n'));
	assert.ok(table.some((l) => l.split(/\s+/).includes(String(pid))));
});

test('pause: every process is frozen and state says "paused"; resume thaws them', opts, async (t) => {
	const c = await setup(t, { args: ['sh', '-c', 'sleep 1000 & wait'] });
	const { pid } = await c.create();
	await c.start();
	await c.run(['pause', c.id]);
	assert.equal((await c.state()).status, 'paused');
	assert.equal(freezerState(c), 'FROZEN');
	// the v1 freezer shows a frozen task as D (or T); v2's parks it in a signal-like stop shown as S,
	// so there cgroup.events' "frozen 1" (freezerState) is the kernel's word
	if (isCgroupV1) assert.match(procStatus(pid).State, /^[DT]/, 'a frozen task is not runnable');
	await c.run(['resume', c.id]);
	assert.equal((await c.state()).status, 'running');
	assert.equal(freezerState(c), 'THAWED');
	const again = await c.run(['resume', c.id], { expectExit: 1 });
	assert.match(again.stderr, /not paused/);
});

test('delete --force: a paused container goes (it is thawed so SIGKILL lands)', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await c.create();
	await c.start();
	await c.run(['pause', c.id]);
	await c.delete(c.id, { force: true });
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
});

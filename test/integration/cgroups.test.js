// linux.cgroupsPath and linux.resources (memory, pids): the cgroup files the kernel shows.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CGROUP_ROOT, cgroupDirs, isCgroupV1, isCgroupV2 } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const skip = needsRoot || (!isCgroupV1 && !isCgroupV2 && 'no cgroup v1 memory controller and no cgroup v2');
const opts = { skip, timeout: 60_000 };

/** Where a controller's files for cgroupsPath live on this host (v1: per controller; v2: one dir). */
function controllerDir(controller, cgroupsPath) {
	return isCgroupV1 ? path.join(CGROUP_ROOT, controller, cgroupsPath) : path.join(CGROUP_ROOT, cgroupsPath);
}
const read = (file) => fs.readFileSync(file, 'utf8').trim();

test('create: memory and pids limits are written to the container\'s cgroup and the init is in it', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.linux.resources.memory = { limit: 64 * 1024 * 1024 };
	c.config.linux.resources.pids = { limit: 42 };
	const { pid } = await c.create();
	const mem = controllerDir('memory', c.cgroupsPath);
	const pids = controllerDir('pids', c.cgroupsPath);
	assert.equal(read(path.join(mem, isCgroupV1 ? 'memory.limit_in_bytes' : 'memory.max')), String(64 * 1024 * 1024));
	assert.equal(read(path.join(pids, 'pids.max')), '42');
	for (const dir of new Set([mem, pids])) {
		assert.ok(read(path.join(dir, 'cgroup.procs')).split('\n').includes(String(pid)), `${pid} in ${dir}/cgroup.procs`);
	}
	const own = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
	if (isCgroupV1) {
		assert.match(own, new RegExp(`^\\d+:memory:${c.cgroupsPath}$`, 'm'));
		assert.match(own, new RegExp(`^\\d+:pids:${c.cgroupsPath}$`, 'm'));
	} else {
		assert.match(own, new RegExp(`^0::${c.cgroupsPath}$`, 'm'));
	}
});

test('delete: the container\'s cgroup dirs are removed', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.linux.resources.memory = { limit: 64 * 1024 * 1024 };
	c.config.linux.resources.pids = { limit: 42 };
	await c.create();
	await c.start();
	await c.waitStatus('running');
	assert.ok(cgroupDirs(c.cgroupsPath).length > 0, 'cgroup exists while running');
	await c.kill(c.id, 'KILL');
	await c.waitStatus('stopped');
	await c.delete();
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
});

test('delete: --force of a running container kills it and removes its cgroup', opts, async (t) => {
	const c = await setup(t, { args: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'] });
	await c.create();
	await c.start();
	await c.waitStatus('running');
	const procs = path.join(controllerDir('pids', c.cgroupsPath), 'cgroup.procs');
	await waitFor(() => read(procs).split('\n').length === 3, 5000, 'three processes in the cgroup');
	await c.delete(c.id, { force: true });
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
});

test('run: pids.limit stops forks beyond the limit', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.resources.pids = { limit: 5 };
	c.sh('for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all-forked');
	const r = await c.runFg({ expectExit: null });
	assert.match(r.stdout + r.stderr, /fork|Resource temporarily unavailable/i);
	assert.doesNotMatch(r.stdout, /all-forked/);
});

test('run: in a cgroup namespace the container sees its own cgroup as /', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.namespaces.push({ type: 'cgroup' });
	const out = await c.inside('cat /proc/self/cgroup');
	for (const line of out.trim().split('\n')) {
		// v1 lines "N:controller:/", v2 "0::/"; nothing of the host path shows.
		assert.doesNotMatch(line, /tsrun-it/, line);
	}
	assert.match(out, /:\/$/m);
});

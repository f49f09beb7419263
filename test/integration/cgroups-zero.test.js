// linux.resources as dockerd sends it for a plain `docker run`: every limit zero, strings empty. Zero
// means "not set" (src/cgroups/resources.ts): the container is created and runs, and its cgroup keeps
// the kernel's defaults. On this host's cgroup (v1 or v2) and on cgroup v2 through helpers/cgroup-v2.js.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CGROUP_ROOT, isCgroupV1, isCgroupV2 } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { needsRoot } from '../helpers/test-run.js';
import { useCgroupV2, v2Dir, v2Skip } from '../helpers/cgroup-v2.js';
import { dockerZeroResources } from '../helpers/docker-resources.js';

const read = (file) => fs.readFileSync(file, 'utf8').trim();
const skip = needsRoot || (!isCgroupV1 && !isCgroupV2 && 'no cgroup v1 memory controller and no cgroup v2');

/** The config's own device rules plus docker's zeros. */
function dockerShaped(c) {
	c.config.linux.resources = { ...dockerZeroResources(), devices: c.config.linux.resources.devices };
	return c;
}

/** create, check the cgroup, start, and see the container's output. */
async function createAndRun(c, checkCgroup) {
	c.sh('cat /proc/self/cgroup; echo zero-ok');
	await c.create();
	checkCgroup();
	await c.start();
	await c.waitStatus('stopped');
	const out = fs.readFileSync(c.path('io-1.out'), 'utf8');
	assert.match(out, /zero-ok/, out);
	return out;
}

test('create+run with docker\'s all-zero resources: defaults stay on this host\'s cgroups', { skip, timeout: 60_000 }, async (t) => {
	const c = dockerShaped(await setup(t));
	await createAndRun(c, () => {
		if (isCgroupV1) {
			const dir = (ctrl) => path.join(CGROUP_ROOT, ctrl, c.cgroupsPath);
			const parent = (ctrl, file) => read(path.join(CGROUP_ROOT, ctrl, path.dirname(c.cgroupsPath), file));
			assert.equal(read(path.join(dir('cpu'), 'cpu.shares')), '1024');
			assert.equal(read(path.join(dir('cpu'), 'cpu.cfs_quota_us')), '-1');
			assert.equal(read(path.join(dir('cpu'), 'cpu.cfs_period_us')), '100000');
			assert.equal(read(path.join(dir('pids'), 'pids.max')), 'max');
			assert.equal(read(path.join(dir('memory'), 'memory.limit_in_bytes')), parent('memory', 'memory.limit_in_bytes'));
			assert.equal(read(path.join(dir('memory'), 'memory.soft_limit_in_bytes')), parent('memory', 'memory.soft_limit_in_bytes'));
			assert.equal(read(path.join(dir('memory'), 'memory.swappiness')), parent('memory', 'memory.swappiness'));
			assert.equal(read(path.join(dir('cpuset'), 'cpuset.cpus')), parent('cpuset', 'cpuset.cpus'));
		} else {
			const dir = path.join(CGROUP_ROOT, c.cgroupsPath);
			for (const [file, value] of [['cpu.weight', '100'], ['pids.max', 'max'], ['memory.max', 'max'], ['memory.low', '0']]) {
				if (fs.existsSync(path.join(dir, file))) assert.equal(read(path.join(dir, file)), value, file);
			}
		}
	});
});

test('create+run with docker\'s all-zero resources on cgroup v2', { skip: skip || v2Skip, timeout: 60_000 }, async (t) => {
	const c = useCgroupV2(dockerShaped(await setup(t)));
	const out = await createAndRun(c, () => {
		const dir = v2Dir(c);
		assert.ok(fs.existsSync(path.join(dir, 'cgroup.procs')), `${dir} is a cgroup2 directory`);
		for (const [file, value] of [['cpu.weight', '100'], ['cpu.max', 'max 100000'], ['pids.max', 'max'], ['memory.max', 'max'], ['io.weight', 'default 100']]) {
			if (fs.existsSync(path.join(dir, file))) assert.equal(read(path.join(dir, file)), value, file);
		}
	});
	assert.match(out, new RegExp(`^0::${c.cgroupsPath}$`, 'm'), out);
});

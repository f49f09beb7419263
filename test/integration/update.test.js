// update: new limits reach the running container's cgroup files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs, isCgroupV1 } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot || (!isCgroupV1 && 'checks the v1 files'), timeout: 60_000 };

function cgroupFile(c, controller, file) {
	const [dir] = cgroupDirs(c.cgroupsPath).filter((d) => d.includes(`/${controller}/`));
	return fs.readFileSync(path.join(dir, file), 'utf8').trim();
}

test('update: runc\'s flags change the live memory, pids and cpu files', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.linux.resources = { ...c.config.linux.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 20 } };
	await c.create();
	await c.start();
	assert.equal(cgroupFile(c, 'memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
	await c.run(['update', '--memory', '128m', '--pids-limit', '50', '--cpu-share', '512', c.id]);
	assert.equal(cgroupFile(c, 'memory', 'memory.limit_in_bytes'), String(128 * 1024 * 1024));
	assert.equal(cgroupFile(c, 'pids', 'pids.max'), '50');
	assert.equal(cgroupFile(c, 'cpu', 'cpu.shares'), '512');
});

test('update: --resources - takes LinuxResources JSON on stdin, absent fields unchanged (containerd)', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.linux.resources = { ...c.config.linux.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 20 } };
	await c.create();
	await c.start();
	await c.run(['update', '--resources', '-', c.id], { input: JSON.stringify({ pids: { limit: 33 } }) });
	assert.equal(cgroupFile(c, 'pids', 'pids.max'), '33');
	assert.equal(cgroupFile(c, 'memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024), 'memory unchanged');
	const bad = await c.run(['update', '--resources', '-', c.id], { input: '[1]', expectExit: 1 });
	assert.match(bad.stderr, /JSON object|cannot unmarshal array/);
});

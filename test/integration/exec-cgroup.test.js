// exec --cgroup: the exec'd process joins an existing sub-cgroup of the container's cgroup (runc's
// flag: PATH for every hierarchy, CONTROLLER[,CONTROLLER]:PATH on v1), checked in the kernel's
// /proc/self/cgroup; paths out of the container's cgroup are refused before the process runs
// anything, and delete --force removes the sub-cgroups with the container's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs, CGROUP_ROOT, isCgroupV1 } from '../helpers/cgroups.js';
import { useCgroupV2, v2Dir, v2Skip } from '../helpers/cgroup-v2.js';
import { removeCgroupTree } from '../helpers/cleanup.js';
import { setup } from '../helpers/fixture.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';

const v1 = { skip: needsRoot || (!isCgroupV1 && 'checks cgroup v1 hierarchies'), timeout: 60_000 };
const v2 = { skip: v2Skip, timeout: 90_000 };

/** A running container (sleep) whose /dev/shm the checks write to. */
async function running(t, edit = (c) => c) {
	const c = edit(await setup(t, { args: ['sleep', '1000'] }));
	await c.create();
	await c.start();
	return c;
}

/** /proc/self/cgroup lines as controller list → path. */
function cgroupLines(text) {
	const m = new Map();
	for (const l of text.trim().split('\n')) {
		const [, list, p] = /^\d+:([^:]*):(.*)$/.exec(l) ?? [];
		if (list !== undefined) m.set(list, p);
	}
	return m;
}

/** The container's dir in one v1 hierarchy (mount dir name under /sys/fs/cgroup). */
const v1Dir = (c, hierarchy) => path.join(CGROUP_ROOT, hierarchy, c.cgroupsPath);

test('exec --cgroup CTRL,CTRL:PATH joins that sub-cgroup in those hierarchies only; PATH alone joins it in every one', v1, async (t) => {
	const c = await running(t);
	for (const h of ['memory', 'pids']) fs.mkdirSync(path.join(v1Dir(c, h), 'sub'));
	const some = cgroupLines((await c.run(['exec', '--cgroup', 'memory,pids:sub', c.id, 'cat', '/proc/self/cgroup'])).stdout);
	assert.equal(some.get('memory'), `${c.cgroupsPath}/sub`);
	assert.equal(some.get('pids'), `${c.cgroupsPath}/sub`);
	assert.equal(some.get('freezer'), c.cgroupsPath, 'the others stay in the container\'s cgroup');
	// repeated, with a leading "/": still relative to the container's cgroup
	const repeated = cgroupLines((await c.run(['exec', '--cgroup', 'memory:/sub', '--cgroup', 'pids:sub', c.id, 'cat', '/proc/self/cgroup'])).stdout);
	assert.equal(repeated.get('memory'), `${c.cgroupsPath}/sub`);
	assert.equal(repeated.get('pids'), `${c.cgroupsPath}/sub`);

	for (const dir of cgroupDirs(c.cgroupsPath)) fs.mkdirSync(path.join(dir, 'all'), { recursive: true });
	for (const dir of cgroupDirs(c.cgroupsPath).filter((d) => d.includes('/cpuset/'))) {
		// a new cpuset cgroup takes no task until it has cpus and mems
		for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(dir, 'all', f), fs.readFileSync(path.join(dir, f), 'utf8'));
	}
	const all = cgroupLines((await c.run(['exec', '--cgroup', 'all', c.id, 'cat', '/proc/self/cgroup'])).stdout);
	for (const [list, p] of all) assert.equal(p, `${c.cgroupsPath}/all`, `hierarchy "${list}"`);

	// the sub-cgroups go with the container
	await c.delete(c.id, { force: true });
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
});

test('exec --cgroup: a path out of the container\'s cgroup, a missing sub-cgroup and bad arguments are refused, and the process never runs', v1, async (t) => {
	const c = await running(t);
	const refused = async (args, pattern) => {
		const r = await c.run(['exec', ...args, c.id, 'touch', '/dev/shm/ran'], { expectExit: 255 });
		assert.match(r.stderr, pattern, args.join(' '));
	};
	await refused(['--cgroup', '..'], /\.\. is not a sub cgroup path/);
	await refused(['--cgroup', '/../../..'], /is not a sub cgroup path/);
	await refused(['--cgroup', 'memory:../..'], /is not a sub cgroup path/);
	await refused(['--cgroup', 'missing'], /no such file or directory|does not exist/i);
	await refused(['--cgroup', 'nosuch:sub'], /unknown controller nosuch/);
	await refused(['--cgroup', 'sub', '--cgroup', 'memory:sub'], /invalid --cgroup argument: .* \(missing <controller>: prefix\)/);
	const r = await c.run(['exec', c.id, 'ls', '/dev/shm']);
	assert.doesNotMatch(r.stdout, /ran/, 'no refused exec ran its command');
	assert.equal(fs.readFileSync(path.join(v1Dir(c, 'memory'), 'cgroup.procs'), 'utf8').trim().split('\n').length, 1, 'only the init in the cgroup');
});

test('exec --cgroup: a sibling whose name starts with the container\'s is not a sub-cgroup',
	{ ...v1, skip: v1.skip || notOnRunc('checks the prefix of the path only (fixed in runc 1.2)') }, async (t) => {
		const c = await running(t);
		const sibling = `${path.basename(c.cgroupsPath)}x`;
		const dir = path.join(path.dirname(v1Dir(c, 'memory')), sibling);
		fs.mkdirSync(dir);
		c.defer(() => removeCgroupTree(dir));
		const r = await c.run(['exec', '--cgroup', `memory:../${sibling}`, c.id, 'true'], { expectExit: 255 });
		assert.match(r.stderr, /is not a sub cgroup path/);
		assert.equal(fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8'), '');
	});

test('exec --cgroup PATH on cgroup v2 joins the sub-cgroup; a controller prefix names no v2 controller', v2, async (t) => {
	const c = await running(t, useCgroupV2);
	fs.mkdirSync(path.join(v2Dir(c), 'sub'));
	const r = await c.run(['exec', '--cgroup', 'sub', c.id, 'cat', '/proc/self/cgroup']);
	assert.match(r.stdout, new RegExp(`^0::${c.cgroupsPath}/sub$`, 'm'));
	const bad = await c.run(['exec', '--cgroup', 'memory:sub', c.id, 'true'], { expectExit: 255 });
	assert.match(bad.stderr, /unknown controller memory/);
	const out = await c.run(['exec', '--cgroup', '..', c.id, 'true'], { expectExit: 255 });
	assert.match(out.stderr, /is not a sub cgroup path/);
	await c.delete(c.id, { force: true });
	assert.ok(!fs.existsSync(v2Dir(c)), 'the container\'s cgroup2 dir and its sub-cgroup are gone');
});

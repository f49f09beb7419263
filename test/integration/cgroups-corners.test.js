// cgroups where runc's behaviour is what tools rely on: device rules updated without a window
// (devices.list on v1, the attached programs on v2), cpu period and quota under a parent with its own
// limit, sub-cgroups the container made removed by delete, linux.resources.unified refused on v1,
// the unified hierarchy of a hybrid host joined, a nested cpuset path under an empty parent, and
// device access strings as runc reads them. Each checked in the kernel's files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { native } from '../../dist/native.js';
import { CGROUP_ROOT, cgroupDirs, isCgroupV1 } from '../helpers/cgroups.js';
import { isHybrid, useCgroupV2, v2Dir, v2Skip } from '../helpers/cgroup-v2.js';
import { removeCgroupTree } from '../helpers/cleanup.js';
import { setup } from '../helpers/fixture.js';
import { isTsrun, notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const v1 = { skip: needsRoot || (!isCgroupV1 && 'checks cgroup v1 files'), timeout: 90_000 };
// the v2 tests also run in the qemu lane, some 15 times slower than the host
const v2 = { skip: v2Skip, timeout: 300_000 };
const read = (file) => fs.readFileSync(file, 'utf8');
const v1Dir = (hierarchy, cgroupsPath) => path.join(CGROUP_ROOT, hierarchy, cgroupsPath);
const devicesList = (c) => read(path.join(v1Dir('devices', c.cgroupsPath), 'devices.list')).trim().split('\n').sort();

/** The base config's deny-all with extra rules, as containerd sends them to update. */
const rulesWith = (...extra) => [{ allow: false, access: 'rwm' }, ...extra];
const TTY_R = { allow: true, type: 'c', major: 4, minor: 64, access: 'r' };
const TTY_RW = { ...TTY_R, access: 'rw' };

/**
 * Inside the container: open /dev/null and /dev/zero (allowed by every rule set of the test) for
 * reading and writing as fast as the shell can, noting each refusal in /dev/shm/refused, until
 * /dev/shm/stop appears.
 */
const OPEN_LOOP = 'while [ ! -e /dev/shm/stop ]; do { true <> /dev/null && true <> /dev/zero; } 2>/dev/shm/err || echo refused >> /dev/shm/refused; done; echo done > /dev/shm/finished; sleep 1000';

async function stopLoopAndCountRefusals(c) {
	await c.run(['exec', c.id, 'touch', '/dev/shm/stop']);
	await waitFor(async () => (await c.run(['exec', c.id, 'cat', '/dev/shm/finished'], { expectExit: null })).stdout.includes('done'), 20_000, 'open loop finished');
	const r = await c.run(['exec', c.id, 'sh', '-c', 'cat /dev/shm/refused /dev/shm/err 2>/dev/null; true']);
	return r.stdout.trim();
}

test('update: v1 device rules change by their difference, never through deny-all: devices in use stay usable throughout',
	{ ...v1, skip: v1.skip || notOnRunc('update leaves the device rules as create set them') }, async (t) => {
		const c = await setup(t, { args: ['sh', '-c', OPEN_LOOP] });
		c.config.linux.resources.devices = rulesWith(TTY_R);
		await c.create();
		await c.start();
		const before = devicesList(c);
		assert.ok(before.includes('c 4:64 r'), before.join(', '));
		for (let i = 0; i < 10; i++) {
			await c.run(['update', '--resources', '-', c.id], { input: JSON.stringify({ devices: rulesWith(i % 2 ? TTY_R : TTY_RW) }) });
		}
		await c.run(['update', '--resources', '-', c.id], { input: JSON.stringify({ devices: rulesWith(TTY_RW) }) });
		// the kernel's list: the one rule that changed, the rest (the fixed list) as create left it
		assert.deepEqual(devicesList(c), before.map((l) => (l === 'c 4:64 r' ? 'c 4:64 rw' : l)).sort());
		assert.equal(await stopLoopAndCountRefusals(c), '', 'no open of /dev/null or /dev/zero was refused during the updates');
	});

test('update: v2 device rules attach the new program before the old one goes: devices in use stay usable throughout',
	{ ...v2, skip: v2.skip || notOnRunc('update leaves the device rules as create set them') }, async (t) => {
		const c = useCgroupV2(await setup(t, { args: ['sh', '-c', OPEN_LOOP] }));
		c.config.linux.resources.devices = rulesWith(TTY_R);
		await c.create();
		await c.start();
		const programs = () => {
			const fd = fs.openSync(v2Dir(c), 'r');
			try {
				return native.bpfQueryCgroupDevice(fd);
			} finally {
				fs.closeSync(fd);
			}
		};
		const [first] = programs();
		for (let i = 0; i < 4; i++) {
			await c.run(['update', '--resources', '-', c.id], { input: JSON.stringify({ devices: rulesWith(i % 2 ? TTY_R : TTY_RW) }) });
		}
		const now = programs();
		assert.equal(now.length, 1, `one program attached: ${now}`);
		assert.notEqual(now[0], first);
		assert.equal(await stopLoopAndCountRefusals(c), '', 'no open of /dev/null or /dev/zero was refused during the updates');
	});

test('update: --cpu-period and --cpu-quota inside a parent with its own limit, lowered and raised together', v1, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const parent = c.cgroupsPath;
	c.config.linux.cgroupsPath = `${parent}/ctr`;
	const parentDir = v1Dir('cpu', parent);
	fs.mkdirSync(parentDir, { recursive: true });
	// runc leaves the parents it made in the other hierarchies; the test removes what is left of its tree
	c.defer(() => { for (const d of cgroupDirs(parent)) removeCgroupTree(d); });
	fs.writeFileSync(path.join(parentDir, 'cpu.cfs_period_us'), '100000');
	fs.writeFileSync(path.join(parentDir, 'cpu.cfs_quota_us'), '50000');
	c.config.linux.resources.cpu = { period: 100000, quota: 50000 };
	await c.create();
	await c.start();
	const dir = v1Dir('cpu', c.config.linux.cgroupsPath);
	const cfs = () => [read(path.join(dir, 'cpu.cfs_period_us')).trim(), read(path.join(dir, 'cpu.cfs_quota_us')).trim()];
	assert.deepEqual(cfs(), ['100000', '50000']);
	// period first would give 50000/50000, above the parent's half a cpu: the kernel refuses that order
	await c.run(['update', '--cpu-period', '50000', '--cpu-quota', '25000', c.id]);
	assert.deepEqual(cfs(), ['50000', '25000']);
	// quota first would give 100000/50000
	await c.run(['update', '--cpu-period', '200000', '--cpu-quota', '100000', c.id]);
	assert.deepEqual(cfs(), ['200000', '100000']);
	// above the parent's limit in any order: the kernel's refusal is the error
	const r = await c.run(['update', '--cpu-quota', '150000', c.id], { expectExit: 1 });
	assert.match(r.stderr, /invalid argument|EINVAL/i);
	assert.deepEqual(cfs(), ['200000', '100000']);
});

/** A container that makes sub/deeper in each hierarchy it sees and moves a sleep there. */
function makesSubCgroups(c) {
	c.config.linux.namespaces.push({ type: 'cgroup' });
	const cg = c.config.mounts.find((m) => m.destination === '/sys/fs/cgroup');
	cg.options = cg.options.filter((o) => o !== 'ro');
	c.sh([
		'sleep 1000 & pid=$!',
		'if [ -e /sys/fs/cgroup/cgroup.controllers ]; then dirs=/sys/fs/cgroup; else dirs=$(ls -d /sys/fs/cgroup/*/); fi',
		'for d in $dirs; do mkdir -p $d/sub/deeper || exit 1; done',
		'for f in cpuset.cpus cpuset.mems; do [ -e /sys/fs/cgroup/cpuset/$f ] && for l in sub sub/deeper; do cat /sys/fs/cgroup/cpuset/${l%/deeper}/$f > /sys/fs/cgroup/cpuset/$l/$f 2>/dev/null; cat /sys/fs/cgroup/cpuset/$f > /sys/fs/cgroup/cpuset/$l/$f; done; done',
		'for d in $dirs; do echo $pid > $d/sub/deeper/cgroup.procs || exit 1; done',
		'touch /dev/shm/ready; wait',
	].join('\n'));
	return c;
}

test('delete --force: sub-cgroups the container\'s processes made in every v1 hierarchy go, deepest first, with their processes', v1, async (t) => {
	const c = makesSubCgroups(await setup(t));
	await c.create();
	await c.start();
	const deeper = path.join(v1Dir('memory', c.cgroupsPath), 'sub/deeper');
	await waitFor(() => read(path.join(deeper, 'cgroup.procs')).trim() !== '', 10_000, 'a process in memory/sub/deeper');
	assert.ok(fs.existsSync(path.join(v1Dir('pids', c.cgroupsPath), 'sub/deeper')));
	await c.delete(c.id, { force: true });
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
});

test('delete --force: sub-cgroups the container made on cgroup v2 go with it', v2, async (t) => {
	const c = makesSubCgroups(useCgroupV2(await setup(t)));
	await c.create();
	await c.start();
	await waitFor(() => fs.existsSync(path.join(v2Dir(c), 'sub/deeper')) && read(path.join(v2Dir(c), 'sub/deeper/cgroup.procs')).trim() !== '', 10_000, 'a process in sub/deeper');
	await c.delete(c.id, { force: true });
	assert.ok(!fs.existsSync(v2Dir(c)));
});

test('create: linux.resources.unified on a cgroup v1 host is refused in runc\'s words, leaving nothing', v1, async (t) => {
	const c = await setup(t);
	c.config.linux.resources.unified = { 'pids.max': '10' };
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /invalid configuration: cannot use unified on cgroup v1/);
	if (isTsrun) assert.match(r.stderr, /\/linux\/resources\/unified/);
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
});

test('create: on a hybrid host the container and its exec\'d processes also join a cgroup in the unified hierarchy, removed on delete',
	{ ...v1, skip: v1.skip || (!isHybrid && 'needs cgroup2 at /sys/fs/cgroup/unified') }, async (t) => {
		const c = await setup(t, { args: ['sh', '-c', 'ls /sys/fs/cgroup; sleep 1000'] });
		const { pid } = await c.create();
		assert.match(read(`/proc/${pid}/cgroup`), new RegExp(`^0::${c.cgroupsPath}$`, 'm'));
		const unified = path.join(CGROUP_ROOT, 'unified', c.cgroupsPath);
		assert.ok(read(path.join(unified, 'cgroup.procs')).split('\n').includes(String(pid)));
		await c.start();
		const r = await c.run(['exec', c.id, 'sh', '-c', 'cat /proc/self/cgroup; ls /sys/fs/cgroup']);
		assert.match(r.stdout, new RegExp(`^0::${c.cgroupsPath}$`, 'm'));
		assert.doesNotMatch(r.stdout, /^unified$/m, 'the unified hierarchy is not mounted inside (as with runc)');
		await c.delete(c.id, { force: true });
		assert.ok(!fs.existsSync(unified));
	});

test('create: a nested cgroupsPath under an existing cpuset cgroup with no cpus gets cpus and mems at every level', v1, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const parent = c.cgroupsPath;
	const emptyDir = v1Dir('cpuset', parent);
	fs.mkdirSync(emptyDir, { recursive: true });
	c.defer(() => { for (const d of cgroupDirs(parent)) removeCgroupTree(d); });
	assert.equal(read(path.join(emptyDir, 'cpuset.cpus')).trim(), '', 'the kernel leaves a new cpuset empty');
	c.config.linux.cgroupsPath = `${parent}/mid/ctr`;
	const { pid } = await c.create();
	const root = (f) => read(path.join(CGROUP_ROOT, 'cpuset', f)).trim();
	for (const lvl of [parent, `${parent}/mid`, `${parent}/mid/ctr`]) {
		assert.equal(read(path.join(v1Dir('cpuset', lvl), 'cpuset.cpus')).trim(), root('cpuset.cpus'), `${lvl} cpuset.cpus`);
		assert.equal(read(path.join(v1Dir('cpuset', lvl), 'cpuset.mems')).trim(), root('cpuset.mems'), `${lvl} cpuset.mems`);
	}
	assert.match(read(`/proc/${pid}/cgroup`), new RegExp(`^\\d+:cpuset:${parent}/mid/ctr$`, 'm'));
});

test('create: device access strings as runc reads them: any order and repeats, other letters ignored', v1, async (t) => {
	const c = await setup(t, { args: ['true'] });
	c.config.linux.resources.devices.push(
		{ allow: true, type: 'c', major: 4, minor: 64, access: 'wr' },
		{ allow: true, type: 'c', major: 4, minor: 65, access: 'rwa' },
		{ allow: true, type: 'c', major: 4, minor: 66, access: 'mmw' },
	);
	await c.create();
	const list = devicesList(c);
	for (const l of ['c 4:64 rw', 'c 4:65 rw', 'c 4:66 wm']) assert.ok(list.includes(l), `${l} in ${list.join(', ')}`);
});

test('create: an empty device access, or one with none of r, w and m, is refused naming the rule', v1, async (t) => {
	for (const access of ['', 'RW']) {
		const c = await setup(t, { args: ['true'] });
		c.config.linux.resources.devices.push({ allow: true, type: 'c', major: 4, minor: 64, access });
		const r = await c.create({ expectExit: 'nonzero' });
		if (isTsrun) assert.match(r.stderr, /\/linux\/resources\/devices\/1\/access/);
		else if (access === '') assert.match(r.stderr, /device access at 1 field cannot be empty/);
		assert.deepEqual(cgroupDirs(c.cgroupsPath), [], `nothing left for access ${JSON.stringify(access)}`);
	}
});

test('create: a relative cgroupsPath lies below the caller\'s own cgroup (v1), or its parent (v2), as runc\'s', { skip: needsRoot, timeout: 300_000 }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const rel = `${c.id}-relative`;
	c.config.linux.cgroupsPath = rel;
	// the runtime is the test's child, in the test's cgroups (through the engine too: not the engine's)
	const own = new Map(read('/proc/self/cgroup').trim().split('\n').map((l) => [l.split(':')[1], l.split(':').slice(2).join(':')]));
	const { pid } = await c.create();
	const initCgroup = read(`/proc/${pid}/cgroup`);
	let dir;
	if (isCgroupV1) {
		const ownPids = [...own].find(([controllers]) => controllers.split(',').includes('pids'))[1];
		const expected = path.posix.join(ownPids, rel);
		assert.equal(/^\d+:pids:(.*)$/m.exec(initCgroup)[1], expected);
		dir = path.join(CGROUP_ROOT, 'pids', expected);
	} else {
		const ownV2 = own.get('');
		const expected = path.posix.join(ownV2 === '/' ? '/' : path.posix.dirname(ownV2), rel);
		assert.equal(/^0::(.*)$/m.exec(initCgroup)[1], expected);
		dir = path.join(CGROUP_ROOT, expected);
	}
	assert.ok(fs.existsSync(dir), dir);
	await c.delete(c.id, { force: true });
	assert.equal(fs.existsSync(dir), false, `${dir} removed by delete`);
});

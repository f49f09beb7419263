// Rootless decisions without root: who the caller is, where its state lives, which cgroups it gets,
// what it may not ask for, and the config `spec --rootless` writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { honorsXdgRuntimeDir, isIdentityUidMap, mapsOwnGidAlone, readCaller } from '../../dist/rootless.js';
import { defaultStateRoot } from '../../dist/state/default-root.js';
import { checkCallerLimits, checkRootlessNamespaces, parseHardLimits } from '../../dist/bundle/caller-limits.js';
import { controllersNeeded, NoCgroup, rootlessCgroup, cgroupManagerFromPaths } from '../../dist/cgroups/index.js';
import { buildPlan } from '../../dist/bundle/plan.js';
import { encodePlan } from '../../dist/protocol/plan-encoding.js';
import { readRecords, FieldReader } from '../../dist/protocol/codec.js';
import { Tag, RootfsFlag } from '../../dist/protocol/protocol.js';
import { defaultSpec } from '../../dist/lifecycle/spec.js';

const user = { euid: 1000, egid: 1000, inUserNamespace: false, rootless: true };
const hostRoot = { euid: 0, egid: 0, inUserNamespace: false, rootless: false };
const nsRoot = { euid: 0, egid: 0, inUserNamespace: true, rootless: true };

test('rootless: only the full identity uid_map is the host\'s user namespace', () => {
	assert.equal(isIdentityUidMap('         0          0 4294967295\n'), true);
	assert.equal(isIdentityUidMap('         0       1000          1\n'), false);
	assert.equal(isIdentityUidMap('0 0 4294967295\n1 1 1\n'), false);
	assert.equal(isIdentityUidMap('0 0 65536\n'), false);
	const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-unit-proc-'));
	fs.mkdirSync(path.join(proc, 'self'));
	fs.writeFileSync(path.join(proc, 'self/uid_map'), '0 100000 65536\n');
	assert.equal(readCaller(proc).inUserNamespace, true);
	assert.equal(readCaller(proc).rootless, true);
	fs.rmSync(proc, { recursive: true });
});

test('rootless: XDG_RUNTIME_DIR is honoured as runc does (not for the host\'s root, nor for USER=root in a user namespace)', () => {
	const xdg = { XDG_RUNTIME_DIR: '/run/user/1000' };
	assert.equal(honorsXdgRuntimeDir(user, xdg), true);
	assert.equal(honorsXdgRuntimeDir(user, {}), false);
	assert.equal(honorsXdgRuntimeDir(hostRoot, { XDG_RUNTIME_DIR: '/run/user/0' }), false);
	assert.equal(honorsXdgRuntimeDir(nsRoot, { ...xdg, USER: 'alice' }), true);
	assert.equal(honorsXdgRuntimeDir(nsRoot, { ...xdg, USER: 'root' }), false);
	assert.equal(honorsXdgRuntimeDir(nsRoot, xdg), true);
});

test('rootless: the default state root is $XDG_RUNTIME_DIR/tsrun, made 0700 and sticky; an unusable one is a clear error', () => {
	const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-unit-xdg-'));
	try {
		const root = defaultStateRoot(user, { XDG_RUNTIME_DIR: xdg });
		assert.equal(root, path.join(xdg, 'tsrun'));
		assert.equal(fs.statSync(root).mode & 0o7777, 0o1700);
		assert.equal(defaultStateRoot(hostRoot, { XDG_RUNTIME_DIR: xdg }), '/run/tsrun');
		const file = path.join(xdg, 'not-a-dir');
		fs.writeFileSync(file, '');
		assert.throws(() => defaultStateRoot(user, { XDG_RUNTIME_DIR: file }), /the path in XDG_RUNTIME_DIR \(".*not-a-dir"\) must be writable by the user/);
	} finally {
		fs.rmSync(xdg, { recursive: true, force: true });
	}
});

test('rootless: /proc/self/limits gives the hard limits by resource number', () => {
	const text = [
		'Limit                     Soft Limit           Hard Limit           Units     ',
		'Max cpu time              unlimited            unlimited            seconds   ',
		'Max file size             unlimited            unlimited            bytes     ',
		'Max data size             unlimited            unlimited            bytes     ',
		'Max stack size            8388608              unlimited            bytes     ',
		'Max core file size        0                    unlimited            bytes     ',
		'Max resident set          unlimited            unlimited            bytes     ',
		'Max processes             96365                96365                processes ',
		'Max open files            1024                 4096                 files     ',
		'',
	].join('\n');
	const hard = parseHardLimits(text);
	assert.equal(hard[7], 4096n);
	assert.equal(hard[6], 96365n);
	assert.equal(hard[0], (1n << 64n) - 1n);
	const limits = { hardLimits: hard, oomScoreAdj: 100, setgroupsDenied: true };
	const proc = (extra) => ({ args: ['sh'], cwd: '/', ...extra });
	assert.doesNotThrow(() => checkCallerLimits(proc({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }], oomScoreAdj: 100 }), limits));
	assert.throws(() => checkCallerLimits(proc({ rlimits: [{ type: 'RLIMIT_CPU', soft: 1, hard: 1 }, { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4097 }] }), limits), /config\.json \/process\/rlimits\/1\/hard: RLIMIT_NOFILE hard limit 4097 is above the caller's own \(4096\)/);
	assert.throws(() => checkCallerLimits(proc({ oomScoreAdj: 99 }), limits), /\/process\/oomScoreAdj: 99 is below the caller's own oom_score_adj \(100\)/);
	assert.throws(() => checkCallerLimits(proc({ user: { uid: 0, gid: 0, additionalGids: [5] } }), limits), /\/process\/user\/additionalGids: .*setgroups is denied/);
	assert.doesNotThrow(() => checkCallerLimits(proc({ user: { uid: 0, gid: 0, additionalGids: [5] } }), { ...limits, setgroupsDenied: false }));
});

test('rootless: a caller that is not root needs a user namespace with mappings; root of a user namespace does not', () => {
	assert.throws(() => checkRootlessNamespaces({ namespaces: [{ type: 'pid' }] }, 1000), /\/linux\/namespaces: a rootless container \(uid 1000\) needs a user namespace/);
	assert.throws(() => checkRootlessNamespaces({ namespaces: [{ type: 'user' }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }, 1000), /\/linux\/uidMappings/);
	assert.doesNotThrow(() => checkRootlessNamespaces({ namespaces: [{ type: 'user', path: '/proc/1/ns/user' }] }, 1000));
	assert.doesNotThrow(() => checkRootlessNamespaces({ namespaces: [] }, 0));
	assert.equal(mapsOwnGidAlone(user, [{ containerID: 0, hostID: 1000, size: 1 }]), true);
	assert.equal(mapsOwnGidAlone(user, [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }]), false);
	assert.equal(mapsOwnGidAlone(nsRoot, [{ containerID: 0, hostID: 0, size: 1 }]), false);
});

test('rootless: the controllers limits need; zeros that mean "unset" need none', () => {
	assert.deepEqual(controllersNeeded(undefined, 1), []);
	assert.deepEqual(controllersNeeded({ cpu: { shares: 0, cpus: '' }, memory: { limit: 0 }, pids: { limit: 0 }, devices: [{ allow: false, access: 'rwm' }] }, 1), []);
	assert.deepEqual(controllersNeeded({ memory: { limit: 1 << 26 }, cpu: { cpus: '0' } }, 1).map((n) => [n.controller, n.pointer]), [
		['memory', '/linux/resources/memory'],
		['cpuset', '/linux/resources/cpu/cpus'],
	]);
});

const v1Paths = { memory: '/cg/memory/c1', pids: '/cg/pids/c1', cpu: '/cg/cpu,cpuacct/c1', cpuacct: '/cg/cpu,cpuacct/c1' };
const v1 = () => cgroupManagerFromPaths(1, v1Paths, '/cg', { created: [] });

test('rootless: cgroups the user may not write are left out; all gone means none, with a warning', () => {
	const warnings = [];
	const warn = (m) => warnings.push(m);
	const all = v1();
	assert.equal(rootlessCgroup(all, { fsRoot: '/cg', writable: () => true, warn }), all, 'all writable: the cgroup as it is');
	assert.deepEqual(warnings, []);
	const partial = rootlessCgroup(v1(), { fsRoot: '/cg', writable: (d) => d.includes('/pids/'), warn });
	assert.deepEqual(partial.paths, { pids: '/cg/pids/c1' });
	assert.match(warnings.at(-1), /cgroup hierarchies memory, cpu, cpuacct are not writable and are skipped/);
	const none = rootlessCgroup(v1(), { fsRoot: '/cg', writable: () => false, warn });
	assert.ok(none instanceof NoCgroup);
	assert.deepEqual(none.paths, {});
	assert.match(warnings.at(-1), /no cgroup the user may write .*the container runs in the caller's cgroup/);
	// a pids limit on a writable pids hierarchy is fine; a memory limit on an unwritable one is not
	assert.deepEqual(rootlessCgroup(v1(), { fsRoot: '/cg', resources: { pids: { limit: 10 } }, writable: (d) => d.includes('/pids/'), warn }).paths, { pids: '/cg/pids/c1' });
	assert.throws(
		() => rootlessCgroup(v1(), { fsRoot: '/cg', resources: { memory: { limit: 1 << 26 } }, writable: (d) => d.includes('/pids/'), warn }),
		/config\.json \/linux\/resources\/memory: cannot set this limit rootless: the container could not make or join a cgroup/,
	);
	assert.throws(() => rootlessCgroup(v1(), { fsRoot: '/cg', cgroupsPath: '/mine/c1', writable: () => false, warn }), /linux\.cgroupsPath cannot be made or joined/);
	const v2 = cgroupManagerFromPaths(2, { '': '/cg/user.slice/c1' }, '/cg', { created: [] });
	assert.equal(rootlessCgroup(v2, { fsRoot: '/cg', writable: () => true, movable: () => true, warn }), v2, 'a delegated subtree is used as it is');
	assert.throws(() => rootlessCgroup(v2, { fsRoot: '/cg', resources: { pids: { limit: 5 } }, writable: () => false, warn }), /\/linux\/resources\/pids/);
	// a dir the user may make but not move the init into (outside its delegation): none, or a refusal
	assert.ok(rootlessCgroup(v2, { fsRoot: '/cg', writable: () => true, movable: () => false, warn }) instanceof NoCgroup);
	assert.match(warnings.at(-1), /no cgroup the user may write \("\/cg\/user\.slice\/c1": the init cannot be moved there from the caller's cgroup/);
	assert.throws(() => rootlessCgroup(v2, { fsRoot: '/cg', resources: { pids: { limit: 5 } }, writable: () => true, movable: () => false, warn }), /\/linux\/resources\/pids: .*the init cannot be moved there .*systemd-run --user --scope/);
});

test('rootless v2: a limit is applied where the delegation hands its controller on, else refused naming the field', () => {
	const warn = () => {};
	const v2 = () => cgroupManagerFromPaths(2, { '': '/cg/u/app.slice/c1' }, '/cg', { created: [] });
	const delegated = () => ({ from: '/cg/u', controllers: ['cpu', 'memory', 'pids'] });
	const opts = { fsRoot: '/cg', writable: () => true, movable: () => true, delegated, warn };
	const m = v2();
	assert.equal(rootlessCgroup(m, { ...opts, resources: { memory: { limit: 1 << 26 }, pids: { limit: 50 }, cpu: { quota: 5000 } } }), m);
	assert.throws(
		() => rootlessCgroup(v2(), { ...opts, resources: { memory: { limit: 1 << 26 }, cpu: { cpus: '0' } } }),
		(err) => err.pointer === '/linux/resources/cpu/cpus' && /config\.json \/linux\/resources\/cpu\/cpus: cannot set this limit rootless: the "cpuset" controller is not delegated .*"\/cg\/u" hands on only cpu memory pids/.test(err.message),
	);
	assert.throws(() => rootlessCgroup(v2(), { ...opts, resources: { blockIO: { weight: 100 } } }), (err) => err.pointer === '/linux/resources/blockIO');
	assert.throws(() => rootlessCgroup(v2(), { ...opts, resources: { unified: { 'io.max': 'x' } } }), (err) => err.pointer === '/linux/resources/unified/io.max');
	// zeros that mean "unset" need nothing
	assert.doesNotThrow(() => rootlessCgroup(v2(), { ...opts, resources: { cpu: { cpus: '' } } }));
});

test('rootless: a container without a cgroup refuses what needs one and re-opens from its record as none', () => {
	const none = new NoCgroup(1);
	assert.doesNotThrow(() => none.apply({ memory: { limit: 0 } }));
	assert.throws(() => none.apply({ memory: { limit: 1 << 26 } }), /cannot set \/linux\/resources\/memory: the container has no cgroup of its own/);
	assert.throws(() => none.freeze(), /cannot freeze/);
	assert.deepEqual(none.pids(), []);
	assert.equal(none.killAll(), false);
	assert.ok(cgroupManagerFromPaths(2, {}, '/sys/fs/cgroup', { created: [] }) instanceof NoCgroup);
});

test('rootless: device nodes are bound when tsrun itself runs in a user namespace, as when the config makes one', () => {
	const spec = defaultSpec(false);
	spec.process.terminal = false;
	const flagsOf = (plan) => new FieldReader(readRecords(encodePlan(plan, { stateDir: '/s', stage0Wait: false })).find((r) => r.tag === Tag.RootfsFlags).value).u32();
	const base = { id: 'c1', bundle: '/b', capLastCap: 40, sourceKind: () => 'dir' };
	assert.equal(flagsOf(buildPlan(spec, base)) & RootfsFlag.BindDevices, 0);
	assert.notEqual(flagsOf(buildPlan(spec, { ...base, callerInUserNamespace: true })) & RootfsFlag.BindDevices, 0);
	const records = readRecords(encodePlan(buildPlan(spec, base), { stateDir: '/s', stage0Wait: false, mapsByCaller: true }));
	assert.ok(records.some((r) => r.tag === Tag.MapsByCaller));
});

test('spec --rootless: runc\'s changes to the default config, for the given uid and gid', () => {
	const spec = defaultSpec(true, 1234, 5678);
	assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: 1234, size: 1 }]);
	assert.deepEqual(spec.linux.gidMappings, [{ containerID: 0, hostID: 5678, size: 1 }]);
	assert.equal('resources' in spec.linux, false);
	assert.deepEqual(spec.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
	assert.deepEqual(spec.mounts.find((m) => m.destination === '/sys'), { source: '/sys', destination: '/sys', type: 'none', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
	assert.ok(spec.mounts.some((m) => m.destination === '/sys/fs/cgroup'));
	assert.deepEqual(spec.mounts.find((m) => m.destination === '/dev/pts').options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']);
});

test('--rootless: runc\'s true, false and auto (Go\'s boolean spellings); anything else is a usage error', async () => {
	const { parseRootlessFlag } = await import('../../dist/cli/create.js');
	assert.equal(parseRootlessFlag(undefined), undefined);
	assert.equal(parseRootlessFlag('auto'), undefined);
	assert.equal(parseRootlessFlag('true'), true);
	assert.equal(parseRootlessFlag('1'), true);
	assert.equal(parseRootlessFlag('False'), false);
	assert.throws(() => parseRootlessFlag('yes'), /invalid value "yes" for --rootless/);
});

test('cgroup2 mount: the container\'s cgroup dir is the bind the helper falls back to when the kernel refuses it', async () => {
	const { expandCgroupMounts } = await import('../../dist/bundle/cgroup-mounts.js');
	const spec = defaultSpec(true, 1000, 1000);
	spec.process.terminal = false;
	const plan = buildPlan(spec, { id: 'c1', bundle: '/b', capLastCap: 40, sourceKind: () => 'dir' });
	expandCgroupMounts(plan, { version: 2, paths: { '': '/sys/fs/cgroup/user.slice/c1' } }, '30 20 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
	const m = plan.mounts.find((x) => x.destination === '/sys/fs/cgroup');
	assert.equal(m.type, 'cgroup2');
	assert.equal(m.fallbackSource, '/sys/fs/cgroup/user.slice/c1');
	const records = readRecords(encodePlan(plan, { stateDir: '/s', stage0Wait: false })).filter((r) => r.tag === Tag.Mount);
	assert.ok(records.some((r) => r.value.includes(Buffer.from('/sys/fs/cgroup/user.slice/c1'))));
});

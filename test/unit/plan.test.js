// buildPlan/encodePlan: every decision about a container, checked without root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from '../../dist/bundle/plan.js';
import { MS, CloneFlag } from '../../dist/kernel-tables.js';
import { encodePlan } from '../../dist/protocol/plan-encoding.js';
import { expandCgroupMounts } from '../../dist/bundle/cgroup-mounts.js';
import { defaultSpec } from '../../dist/lifecycle/spec.js';
import { readRecords, FieldReader } from '../../dist/protocol/codec.js';
import { Tag, RootfsFlag, MountKind } from '../../dist/protocol/protocol.js';

const opts = { id: 'c1', bundle: '/b', capLastCap: 40, sourceKind: (p) => (p.endsWith('.conf') ? 'file' : p === '/missing' ? undefined : 'dir') };

function baseSpec() {
  const s = defaultSpec(false);
  s.process.terminal = false;
  return s;
}

function pointerOf(fn) {
  try {
    fn();
  } catch (err) {
    return err.pointer ?? `(${err.kind}) ${err.message}`;
  }
  return 'no error';
}

test('plan: default spec creates pid, net, ipc, uts, mount and cgroup namespaces, nothing joined', () => {
  const p = buildPlan(baseSpec(), opts);
  assert.equal(p.newNamespaces, CloneFlag.NEWPID | CloneFlag.NEWNET | CloneFlag.NEWIPC | CloneFlag.NEWUTS | CloneFlag.NEWNS | CloneFlag.NEWCGROUP);
  assert.deepEqual(p.joinNamespaces, []);
  assert.equal(p.loopbackUp, true);
  assert.equal(p.rootfs, '/b/rootfs');
  assert.equal(p.readonlyRoot, true);
  assert.equal(p.rootPropagation, MS.SLAVE | MS.REC);
});

test('plan: joined namespaces keep order with the user namespace first', () => {
  const s = baseSpec();
  s.linux.namespaces = [{ type: 'mount' }, { type: 'uts' }, { type: 'network', path: '/run/netns/x' }, { type: 'user', path: '/proc/1/ns/user' }];
  const p = buildPlan(s, opts);
  assert.deepEqual(p.joinNamespaces.map((n) => n.path), ['/proc/1/ns/user', '/run/netns/x']);
  assert.equal(p.userNamespace, true);
  assert.equal(p.loopbackUp, false);
});

test('plan: bad namespace combinations name the field', () => {
  const dup = baseSpec();
  dup.linux.namespaces.push({ type: 'pid' });
  assert.equal(pointerOf(() => buildPlan(dup, opts)), '/linux/namespaces/6/type');
  // Without a mount namespace (valid): only what would change the host's own mounts is refused.
  const noMnt = baseSpec();
  noMnt.linux.namespaces = [{ type: 'pid' }, { type: 'uts' }];
  noMnt.linux.maskedPaths = ['/proc/kcore'];
  assert.equal(pointerOf(() => buildPlan(noMnt, opts)), '/linux/maskedPaths');
  delete noMnt.linux.maskedPaths;
  noMnt.linux.readonlyPaths = ['/proc/sys'];
  assert.equal(pointerOf(() => buildPlan(noMnt, opts)), '/linux/readonlyPaths');
  delete noMnt.linux.readonlyPaths;
  noMnt.root.readonly = true;
  assert.equal(pointerOf(() => buildPlan(noMnt, opts)), '/root/readonly');
  noMnt.root.readonly = false;
  noMnt.linux.rootfsPropagation = 'private';
  assert.equal(pointerOf(() => buildPlan(noMnt, opts)), '/linux/rootfsPropagation');
  delete noMnt.linux.rootfsPropagation;
  const hostMounts = buildPlan(noMnt, opts);
  assert.equal(hostMounts.hostMountNamespace, true);
  assert.equal(hostMounts.rootPropagation, 0, 'the host\'s / is never re-propagated');
  assert.equal(buildPlan(baseSpec(), opts).hostMountNamespace, false);
  const userNoMaps = baseSpec();
  userNoMaps.linux.namespaces.push({ type: 'user' });
  assert.equal(pointerOf(() => buildPlan(userNoMaps, opts)), '/linux/uidMappings');
  const hostNoUts = baseSpec();
  hostNoUts.linux.namespaces = [{ type: 'mount' }];
  assert.equal(pointerOf(() => buildPlan(hostNoUts, opts)), '/hostname');
  const relCwd = baseSpec();
  relCwd.process.cwd = 'tmp';
  assert.equal(pointerOf(() => buildPlan(relCwd, opts)), '/process/cwd');
});

test('plan: mount options become flags, propagation and data', () => {
  const s = baseSpec();
  s.mounts = [
    { destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'nosuid', 'rprivate'] },
    { destination: 'tmp', type: 'tmpfs', source: 'tmpfs', options: ['nodev', 'size=1m', 'mode=1777', 'x-hint'] },
    { destination: '/etc/app.conf', type: 'none', source: '/host/app.conf', options: ['bind'] },
  ];
  const p = buildPlan(s, opts);
  const [bind, tmp, file] = p.mounts;
  assert.equal(bind.source, '/b/data');
  assert.equal(bind.flags, MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID);
  assert.equal(bind.propagation, MS.PRIVATE | MS.REC);
  assert.equal(bind.data, '');
  assert.equal(tmp.destination, '/tmp');
  assert.equal(tmp.flags, MS.NODEV);
  assert.equal(tmp.data, 'size=1m,mode=1777');
  assert.equal(file.createFile, true);
  assert.equal(file.bind, true);
});

test('plan: a bind mount whose source is missing fails naming it', () => {
  const s = baseSpec();
  s.mounts = [{ destination: '/x', type: 'bind', source: '/missing', options: ['bind'] }];
  assert.equal(pointerOf(() => buildPlan(s, opts)), '/mounts/0/source');
});

test('plan: default devices and /dev links, configured devices override', () => {
  const s = baseSpec();
  s.linux.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 }, { path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  const p = buildPlan(s, opts);
  const byPath = Object.fromEntries(p.devices.map((d) => [d.path, d]));
  assert.deepEqual(Object.keys(byPath).sort(), ['/dev/full', '/dev/fuse', '/dev/null', '/dev/random', '/dev/tty', '/dev/urandom', '/dev/zero']);
  assert.equal(byPath['/dev/null'].mode, 0o600);
  assert.equal(byPath['/dev/null'].uid, 5);
  assert.equal(byPath['/dev/fuse'].mode, 0o666);
  assert.deepEqual(p.symlinks.map((l) => l.path), ['/dev/fd', '/dev/stdin', '/dev/stdout', '/dev/stderr', '/dev/ptmx']);
});

test('plan: sysctls need the namespace that owns them', () => {
  const s = baseSpec();
  s.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shm_rmid_forced': '1' };
  assert.deepEqual(buildPlan(s, opts).sysctl, [['net.ipv4.ip_forward', '1'], ['kernel.shm_rmid_forced', '1']]);
  s.linux.sysctl = { 'vm.swappiness': '1' };
  assert.equal(pointerOf(() => buildPlan(s, opts)), '/linux/sysctl/vm.swappiness');
  s.linux.sysctl = { 'net.core.somaxconn': '1' };
  s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'network');
  assert.equal(pointerOf(() => buildPlan(s, opts)), '/linux/sysctl/net.core.somaxconn');
});

test('plan: capabilities become masks; unknown and unsupported ones are warnings', () => {
  const s = baseSpec();
  s.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NOPE', 'CAP_CHECKPOINT_RESTORE'], effective: ['CAP_KILL'] };
  const p = buildPlan(s, { ...opts, capLastCap: 39 });
  assert.equal(p.capabilities.bounding, (1n << 0n) | (1n << 5n));
  assert.equal(p.capabilities.effective, 1n << 5n);
  assert.equal(p.capabilities.ambient, 0n);
  assert.equal(p.warnings.length, 2);
});

test('plan: rlimits map to resource numbers; duplicates and soft > hard are errors', () => {
  const s = baseSpec();
  s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }, { type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 }];
  const p = buildPlan(s, opts);
  assert.deepEqual(p.rlimits, [{ resource: 7, soft: 10n, hard: 20n }, { resource: 4, soft: 0n, hard: 2n ** 64n - 1n }]);
  s.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 });
  assert.equal(pointerOf(() => buildPlan(s, opts)), '/process/rlimits/2/type');
});

test('plan: terminal needs a console socket, like runc', () => {
  const s = defaultSpec(false);
  assert.match(pointerOf(() => buildPlan(s, opts)), /cannot allocate tty/);
  assert.equal(buildPlan(s, { ...opts, consoleSocket: '/tmp/s' }).consoleSocket, '/tmp/s');
});

test('plan: v1 cgroup mount expands to a tmpfs plus one read-only bind per hierarchy', () => {
  const p = buildPlan(baseSpec(), opts);
  const mountinfo = [
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  ].join('\n');
  expandCgroupMounts(p, { version: 1, paths: { cpu: '/sys/fs/cgroup/cpu/c1', memory: '/sys/fs/cgroup/memory/c1', 'name=systemd': '/sys/fs/cgroup/systemd/c1' } }, mountinfo);
  const cg = p.mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
  assert.deepEqual(cg.map((m) => [m.destination, m.source]), [
    ['/sys/fs/cgroup', 'tmpfs'],
    ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu/c1'],
    ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/memory/c1'],
    ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/systemd/c1'],
    ['/sys/fs/cgroup', ''],
  ]);
  assert.ok(cg[1].flags & MS.RDONLY);
  assert.ok(cg[4].flags & MS.REMOUNT);
  // it sits where the config put it: after /sys
  assert.equal(p.mounts[p.mounts.indexOf(cg[0]) - 1].destination, '/sys');
});

test('plan: v2 cgroup mount is cgroup2 with a cgroup namespace, a bind without', () => {
  const p = buildPlan(baseSpec(), opts);
  expandCgroupMounts(p, { version: 2, paths: { '': '/sys/fs/cgroup/c1' } }, '');
  assert.equal(p.mounts.find((m) => m.destination === '/sys/fs/cgroup').type, 'cgroup2');
  const s = baseSpec();
  s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'cgroup');
  const q = buildPlan(s, opts);
  expandCgroupMounts(q, { version: 2, paths: { '': '/sys/fs/cgroup/c1' } }, '');
  const m = q.mounts.find((x) => x.destination === '/sys/fs/cgroup');
  assert.equal(m.bind, true);
  assert.equal(m.source, '/sys/fs/cgroup/c1');
});

test('encodePlan: records carry the plan in protocol order and layout', () => {
  const s = baseSpec();
  s.process.user = { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o077 };
  s.process.oomScoreAdj = -17;
  const p = buildPlan(s, opts);
  const records = readRecords(encodePlan(p, { stateDir: '/run/tsrun/c1', stage0Wait: true }));
  const tags = records.map((r) => r.tag);
  assert.equal(tags[0], Tag.Namespaces);
  assert.ok(tags.includes(Tag.Stage0Wait));
  const user = new FieldReader(records.find((r) => r.tag === Tag.User).value);
  assert.deepEqual([user.u32(), user.u32(), user.i32(), user.u32(), user.u32(), user.u32()], [1000, 100, 0o077, 2, 5, 6]);
  assert.ok(user.done);
  const rf = new FieldReader(records.find((r) => r.tag === Tag.RootfsFlags).value);
  assert.equal(rf.u32(), RootfsFlag.Readonly);
  const firstMount = new FieldReader(records.find((r) => r.tag === Tag.Mount).value);
  firstMount.u64();
  firstMount.u64();
  assert.equal(firstMount.u32() & MountKind.Bind, 0);
  assert.equal(firstMount.str(), 'proc');
  assert.equal(firstMount.str(), '/proc');
  assert.equal(firstMount.str(), 'proc');
  const args = new FieldReader(records.find((r) => r.tag === Tag.Args).value);
  assert.deepEqual(args.strs(), ['sh']);
  assert.equal(new FieldReader(records.find((r) => r.tag === Tag.OomScoreAdj).value).i32(), -17);
  assert.equal(new FieldReader(records.find((r) => r.tag === Tag.StateDir).value).str(), '/run/tsrun/c1');
});

test('plan: properties tsrun cannot apply are errors naming them, not silent no-ops', () => {
  const cases = [
    [(s) => (s.process.scheduler = { policy: 'SCHED_BATCH', priority: 5 }), '/process/scheduler/priority'],
    [(s) => (s.process.execCPUAffinity = { initial: '0-' }), '/process/execCPUAffinity/initial'],
    [(s) => (s.linux.intelRdt = { closID: 'x' }), '/linux/intelRdt'],
    [(s) => (s.linux.memoryPolicy = { mode: 'MPOL_BIND' }), '/linux/memoryPolicy/nodes'],
    [(s) => (s.linux.memoryPolicy = { mode: 'MPOL_LOCAL', nodes: '0' }), '/linux/memoryPolicy/nodes'],
    [(s) => (s.linux.netDevices = { 'eth1/x': {} }), '/linux/netDevices/eth1~1x'],
    [(s) => (s.linux.netDevices = { eth1: { name: 'a-name-that-is-too-long' } }), '/linux/netDevices/eth1/name'],
    [(s) => s.mounts.push({ destination: '/x', type: 'bind', source: '/x', options: ['bind'], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }), `/mounts/7/uidMappings`],
  ];
  for (const [edit, pointer] of cases) {
    const s = baseSpec();
    edit(s);
    assert.equal(pointerOf(() => buildPlan(s, opts)), pointer);
  }
  const s = baseSpec();
  s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
  s.process.apparmorProfile = 'docker-default';
  const p = buildPlan(s, opts);
  assert.equal(p.warnings.length, 0, 'an AppArmor profile is carried to tsrun-init, which decides on the host');
  assert.equal(p.apparmorProfile, 'docker-default');
  assert.equal(p.seccomp.defaultAction, 0x7fff0000, 'seccomp is applied, not skipped');
});

/** The strings of the records with a tag (one str field each). */
function strRecords(records, tag) {
  return records.filter((r) => r.tag === tag).map((r) => new FieldReader(r.value).str());
}

/** [destination, MountKind.Label set] of every Mount record. */
function labeledMounts(records) {
  return records.filter((r) => r.tag === Tag.Mount).map((r) => {
    const f = new FieldReader(r.value);
    f.u64();
    f.u64();
    const kind = f.u32();
    f.str();
    return [f.str(), (kind & MountKind.Label) !== 0];
  });
}

test('encodePlan: apparmorProfile, selinuxLabel and mountLabel become their records; "" is none, as runc', () => {
  const s = baseSpec();
  s.process.apparmorProfile = 'docker-default';
  s.process.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2';
  s.linux.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2';
  s.mounts.push({ destination: '/etc/x.conf', type: 'bind', source: '/x.conf', options: ['rbind'] });
  const records = readRecords(encodePlan(buildPlan(s, opts), { stateDir: '/s', stage0Wait: false }));
  assert.deepEqual(strRecords(records, Tag.ApparmorProfile), ['docker-default']);
  assert.deepEqual(strRecords(records, Tag.SelinuxLabel), ['system_u:system_r:container_t:s0:c1,c2']);
  assert.deepEqual(strRecords(records, Tag.MountLabel), ['system_u:object_r:container_file_t:s0:c1,c2']);
  // runc labels every mount but procfs, sysfs and binds
  assert.deepEqual(labeledMounts(records), [
    ['/proc', false], ['/dev', true], ['/dev/pts', true], ['/dev/shm', true], ['/dev/mqueue', true], ['/sys', false],
    ['/etc/x.conf', false],
  ]);

  const empty = baseSpec();
  empty.process.apparmorProfile = '';
  empty.process.selinuxLabel = '';
  empty.linux.mountLabel = '';
  const none = readRecords(encodePlan(buildPlan(empty, opts), { stateDir: '/s', stage0Wait: false }));
  for (const tag of [Tag.ApparmorProfile, Tag.SelinuxLabel, Tag.MountLabel]) assert.equal(none.filter((r) => r.tag === tag).length, 0);
  assert.ok(labeledMounts(none).every(([, labeled]) => !labeled));
});

test('plan: with a mountLabel, a v1 cgroup mount\'s tmpfs is labeled, its binds and a v2 cgroup2 mount are not (as runc)', () => {
  const mountinfo = '30 25 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n';
  for (const version of [1, 2]) {
    const s = baseSpec();
    s.linux.mountLabel = 'system_u:object_r:container_file_t:s0';
    assert.ok(s.mounts.some((m) => m.type === 'cgroup'), 'the default spec has a cgroup mount');
    const p = buildPlan(s, opts);
    expandCgroupMounts(p, version === 1 ? { version, paths: { cpu: '/sys/fs/cgroup/cpu/c1' } } : { version, paths: { '': '/sys/fs/cgroup/c1' } }, mountinfo);
    const cg = p.mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
    assert.deepEqual(cg.map((m) => [m.type, !!m.labeled]), version === 1 ? [['tmpfs', true], ['', false], ['', false]] : [['cgroup2', false]]);
  }
});

test('plan: scheduler, ioPriority and execCPUAffinity become their records', () => {
  const s = baseSpec();
  s.process.scheduler = { policy: 'SCHED_RR', priority: 10, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
  s.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
  s.process.execCPUAffinity = { initial: '0', final: '0-1' };
  const p = buildPlan(s, opts);
  assert.deepEqual(p.scheduler, { policy: 2, nice: 0, priority: 10, flags: 1, runtime: 0n, deadline: 0n, period: 0n });
  assert.deepEqual(p.ioPriority, { class: 3, priority: 0 });
  const records = readRecords(encodePlan(p, { stateDir: '/s', stage0Wait: false }));
  const sched = new FieldReader(records.find((r) => r.tag === Tag.Scheduler).value);
  assert.deepEqual([sched.u32(), sched.i32(), sched.u32(), sched.u64()], [2, 0, 10, 1n]);
  const affinity = records.filter((r) => r.tag === Tag.CpuAffinity).map((r) => {
    const f = new FieldReader(r.value);
    return [f.u32(), f.str()];
  });
  assert.deepEqual(affinity, [[1, '0'], [2, '0-1']]);
});

test('plan: without process.capabilities the process gets none (as runc), not root\'s full set', () => {
  const s = baseSpec();
  delete s.process.capabilities;
  const p = buildPlan(s, opts);
  assert.deepEqual(p.capabilities, { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n });
  const caps = new FieldReader(readRecords(encodePlan(p, { stateDir: '/s', stage0Wait: false })).find((r) => r.tag === Tag.Capabilities).value);
  assert.deepEqual([caps.u64(), caps.u64(), caps.u64()], [0n, 0n, 0n]);
});

test('plan: the recursive mount options ("rro" family) become MOUNT_ATTR_* to set and clear, the last one winning', () => {
  const s = baseSpec();
  s.mounts.push({ destination: '/a', type: 'bind', source: '/a', options: ['rbind', 'rro', 'rnosuid', 'rnoatime', 'rrw'] });
  s.mounts.push({ destination: '/b', type: 'bind', source: '/b', options: ['rbind', 'rstrictatime', 'rnoexec', 'rexec'] });
  const [a, b] = buildPlan(s, opts).mounts.slice(-2);
  assert.deepEqual([a.recAttrSet, a.recAttrClr], [0x2 | 0x10, 0x70 | 0x1]);
  assert.deepEqual([b.recAttrSet, b.recAttrClr], [0x20, 0x70 | 0x8]);
  assert.equal(a.data, '', 'not passed to the filesystem');
});

test('exec: --apparmor and --process-label replace the container\'s; process.json without them keeps the container\'s (as runc)', async () => {
  const { execProcess } = await import('../../dist/lifecycle/exec.js');
  const record = { process: { cwd: '/', args: ['sh'], apparmorProfile: 'container-profile', selinuxLabel: 'u:r:container_t:s0' } };
  const flags = { args: ['true'], tty: false, env: [], additionalGids: [], caps: [], noNewPrivs: false };
  const inherited = execProcess(record, flags);
  assert.deepEqual([inherited.apparmorProfile, inherited.selinuxLabel], ['container-profile', 'u:r:container_t:s0']);
  const replaced = execProcess(record, { ...flags, apparmorProfile: 'other', processLabel: 'u:r:other_t:s0' });
  assert.deepEqual([replaced.apparmorProfile, replaced.selinuxLabel], ['other', 'u:r:other_t:s0']);
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/tsrun-unit-exec-');
  try {
    writeFileSync(`${dir}/p.json`, JSON.stringify({ cwd: '/', args: ['true'], apparmorProfile: '' }));
    const fromFile = execProcess(record, { ...flags, processFile: `${dir}/p.json` });
    assert.deepEqual([fromFile.apparmorProfile, fromFile.selinuxLabel], ['container-profile', 'u:r:container_t:s0']);
    writeFileSync(`${dir}/p.json`, JSON.stringify({ cwd: '/', args: ['true'], selinuxLabel: 'u:r:mine_t:s0' }));
    assert.equal(execProcess(record, { ...flags, processFile: `${dir}/p.json` }).selinuxLabel, 'u:r:mine_t:s0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

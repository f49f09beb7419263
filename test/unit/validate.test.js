// config.json validation: schemas/config.schema.json compiled by scripts/build-validator.js, wrapped by
// src/bundle/validate.ts. Needs `npm run build` (tsc + build-validator) first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validateConfig, validateProcess, ociVersionSupported } from '../../dist/bundle/validate.js';
import { TsrunError } from '../../dist/errors.js';

/** What `runc spec` writes (runc 1.1/1.2), the config most clients start from. */
function runcSpec() {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** Every Linux/POSIX field of 1.3.0 set to a valid value. */
function kitchenSink() {
  const spec = runcSpec();
  spec.ociVersion = '1.3.0';
  spec.domainname = 'example.test';
  Object.assign(spec.process, {
    consoleSize: { height: 25, width: 80 },
    commandLine: 'ignored on linux',
    apparmorProfile: 'acme_secure_profile',
    selinuxLabel: 'system_u:system_r:svirt_lxc_net_t:s0:c124,c675',
    oomScoreAdj: -1000,
    scheduler: { policy: 'SCHED_DEADLINE', nice: -5, priority: 0, flags: ['SCHED_FLAG_RESET_ON_FORK'], runtime: 1e6, deadline: 2e6, period: 3e6 },
    ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 7 },
    execCPUAffinity: { initial: '7', final: '0-3,7' },
  });
  spec.process.user = { uid: 1, gid: 1, umask: 63, additionalGids: [5, 4294967295], username: 'ignored' };
  spec.process.capabilities.inheritable = ['CAP_KILL'];
  spec.process.capabilities.ambient = ['CAP_NET_BIND_SERVICE'];
  spec.process.rlimits.push({ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 });
  spec.mounts.push({
    destination: '/data',
    type: 'none',
    source: '/volumes/testing',
    options: ['rbind', 'rw', 'idmap'],
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
  });
  const hook = (path) => [{ path, args: [path, 'x'], env: ['A=b'], timeout: 5 }];
  spec.hooks = {
    prestart: hook('/usr/bin/a'),
    createRuntime: hook('/usr/bin/b'),
    createContainer: hook('/usr/bin/c'),
    startContainer: hook('/usr/bin/d'),
    poststart: [{ path: '/usr/bin/notify' }],
    poststop: hook('/usr/bin/f'),
  };
  spec.annotations = { 'com.example.gpu-cores': '2', 'org.opencontainers.image.os': '' };
  Object.assign(spec.linux, {
    namespaces: [...spec.linux.namespaces, { type: 'user' }, { type: 'time', path: '/proc/1/ns/time' }],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
    timeOffsets: { monotonic: { secs: -172800, nanosecs: 0 }, boottime: { secs: 604800 } },
    devices: [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
      { path: '/dev/sda', type: 'b', major: 8, minor: 0 },
      { path: '/dev/ttyU', type: 'u', major: 4, minor: 64 },
      { path: '/run/fifo', type: 'p' },
    ],
    netDevices: { eth0: { name: 'container_eth0' }, eth1: {} },
    cgroupsPath: '/myRuntime/myContainer',
    intelRdt: { closID: 'guaranteed_group', l3CacheSchema: 'L3:0=7f0;1=1f', memBwSchema: 'MB:0=20;1=70', schemata: ['L2:0=f'], enableMonitoring: true },
    memoryPolicy: { mode: 'MPOL_INTERLEAVE', nodes: '2-3', flags: ['MPOL_F_STATIC_NODES'] },
    sysctl: { 'net.ipv4.ip_forward': '1' },
    seccomp: {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      listenerPath: '/run/seccomp-agent.sock',
      listenerMetadata: 'opaque',
      syscalls: [
        { names: ['getcwd', 'chmod'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
        { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY', errnoRet: 38 },
      ],
    },
    rootfsPropagation: 'rslave',
    mountLabel: 'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811',
    personality: { domain: 'LINUX32', flags: [] },
  });
  spec.linux.resources = {
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }, { allow: true, type: 'a' }],
    memory: { limit: 536870912, reservation: 536870912, swap: -1, kernel: -1, kernelTCP: -1, swappiness: 0, disableOOMKiller: false, useHierarchy: true, checkBeforeUpdate: true },
    cpu: { shares: 1024, quota: 1000000, burst: 1000000, period: 500000, realtimeRuntime: 950000, realtimePeriod: 1000000, cpus: '2-3', mems: '0-7', idle: 1 },
    blockIO: {
      weight: 10,
      leafWeight: 10,
      weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 300 }, { major: 8, minor: 16, leafWeight: 500 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 60 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
    },
    hugepageLimits: [{ pageSize: '2MB', limit: 9223372036854772000 }, { pageSize: '64KB', limit: 1000000 }],
    network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
    pids: { limit: -1 },
    rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaObjects: 1000 } },
    unified: { 'io.max': '259:0 rbps=2097152 wiops=120', 'memory.high': 'max' },
  };
  return spec;
}

function rejects(config, pointer, reason) {
  assert.throws(
    () => validateConfig(config),
    (err) => {
      assert.ok(err instanceof TsrunError, `not a TsrunError: ${err}`);
      assert.equal(err.kind, 'config');
      assert.equal(err.pointer, pointer, err.message);
      assert.ok(err.message.startsWith(`config.json ${pointer || '/'}: `), err.message);
      if (reason) assert.match(err.message, reason);
      return true;
    },
  );
}

test('validate: accepts the config of `runc spec`', () => {
  validateConfig(runcSpec());
});

test('validate: accepts a minimal config', () => {
  validateConfig({ ociVersion: '1.3.0' });
  validateConfig({ ociVersion: '1.0.0', root: { path: 'rootfs' }, process: { cwd: '/', args: ['sh'] } });
});

test('validate: accepts every 1.3.0 Linux field', () => {
  validateConfig(kitchenSink());
});

test('validate: ignores unknown properties at every level (config.md, Extensibility)', () => {
  const spec = runcSpec();
  spec.windows = { layerFolders: [] };
  spec.vm = { hypervisor: {} };
  spec.process.futureField = 1;
  spec.process.user.uname = 'root';
  spec.linux.resources.futureController = { x: 1 };
  spec.linux.namespaces[0].futureFlag = true;
  spec.mounts[0].futureMountField = 'x';
  validateConfig(spec);
});

test('validate: does not change the config', () => {
  const spec = kitchenSink();
  const copy = structuredClone(spec);
  validateConfig(spec);
  assert.deepEqual(spec, copy);
});

test('validate: accepts ociVersion 1.0.0, 1.0.2-dev, 1.1.0, 1.2.1, 1.3.0', () => {
  for (const v of ['1.0.0', '1.0.2-dev', '1.1.0', '1.2.1', '1.3.0', '1.3.0-rc.1+build.5']) {
    validateConfig({ ...runcSpec(), ociVersion: v });
    assert.equal(ociVersionSupported(v), true, v);
  }
});

test('validate: rejects ociVersion 2.0.0 and banana', () => {
  rejects({ ...runcSpec(), ociVersion: '2.0.0' }, '/ociVersion', /unsupported version "2\.0\.0"/);
  rejects({ ...runcSpec(), ociVersion: 'banana' }, '/ociVersion', /must be a SemVer version/);
  rejects({ ...runcSpec(), ociVersion: '1.0' }, '/ociVersion', /must be a SemVer version/);
  rejects({ ...runcSpec(), ociVersion: '0.1.0' }, '/ociVersion', /unsupported version/);
  for (const v of ['2.0.0', 'banana', '1.0', '01.0.0', '', 1, undefined]) assert.equal(ociVersionSupported(v), false, String(v));
});

test('validate: messages name the field and the reason', () => {
  const spec = runcSpec();
  spec.process.cwd = 'tmp';
  assert.throws(() => validateConfig(spec), { message: 'config.json /process/cwd: must be an absolute path, got "tmp"' });
  const spec2 = runcSpec();
  spec2.linux.namespaces[2].type = 'net';
  assert.throws(() => validateConfig(spec2), {
    message: 'config.json /linux/namespaces/2/type: must be one of pid, network, mount, ipc, uts, user, cgroup, time, got "net"',
  });
  assert.throws(() => validateConfig({ ...runcSpec(), ociVersion: undefined }), { message: 'config.json /ociVersion: is required' });
});

// [what, mutate(spec) (or a whole config), pointer, optional reason pattern]
const negative = [
  ['a config that is not an object', () => [], '', /must be an object/],
  ['null', () => null, '', /must be an object/],
  ['a missing ociVersion', (s) => { delete s.ociVersion; }, '/ociVersion', /is required/],
  ['a numeric ociVersion', (s) => { s.ociVersion = 1; }, '/ociVersion', /must be a string, got 1/],
  ['a root without path', (s) => { s.root = { readonly: true }; }, '/root/path', /is required/],
  ['an empty root path', (s) => { s.root.path = ''; }, '/root/path', /must not be empty/],
  ['a string root.readonly', (s) => { s.root.readonly = 'yes'; }, '/root/readonly', /must be a boolean/],
  ['mounts that are not an array', (s) => { s.mounts = {}; }, '/mounts', /must be an array/],
  ['a mount without destination', (s) => { delete s.mounts[1].destination; }, '/mounts/1/destination', /is required/],
  ['mount options as a string', (s) => { s.mounts[1].options = 'nosuid'; }, '/mounts/1/options', /must be an array/],
  ['mount uidMappings without gidMappings', (s) => { s.mounts[0].uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]; }, '/mounts/0/gidMappings', /is required when uidMappings is set/],
  ['a negative mount idmap hostID', (s) => { s.mounts[0].uidMappings = [{ containerID: 0, hostID: -1, size: 1 }]; s.mounts[0].gidMappings = []; }, '/mounts/0/uidMappings/0/hostID', />= 0/],
  ['a relative cwd', (s) => { s.process.cwd = 'home'; }, '/process/cwd', /absolute path/],
  ['a missing cwd', (s) => { delete s.process.cwd; }, '/process/cwd', /is required/],
  ['empty args', (s) => { s.process.args = []; }, '/process/args', /must not be empty/],
  ['missing args', (s) => { delete s.process.args; }, '/process/args', /is required/],
  ['a non-string env entry', (s) => { s.process.env[1] = 42; }, '/process/env/1', /must be a string/],
  ['a string terminal', (s) => { s.process.terminal = 'true'; }, '/process/terminal', /must be a boolean/],
  ['a consoleSize without width', (s) => { s.process.consoleSize = { height: 25 }; }, '/process/consoleSize/width', /is required/],
  ['a negative uid', (s) => { s.process.user.uid = -1; }, '/process/user/uid', /must be >= 0, got -1/],
  ['a gid above uint32', (s) => { s.process.user.gid = 4294967296; }, '/process/user/gid', /must be <= 4294967295/],
  ['a user without uid', (s) => { delete s.process.user.uid; }, '/process/user/uid', /is required/],
  ['a fractional additional gid', (s) => { s.process.user.additionalGids = [1.5]; }, '/process/user/additionalGids/0', /must be an integer, got 1\.5/],
  ['an unknown rlimit type', (s) => { s.process.rlimits[0].type = 'RLIMIT_FOO'; }, '/process/rlimits/0/type', /must be one of RLIMIT_AS,/],
  ['an rlimit without soft', (s) => { delete s.process.rlimits[0].soft; }, '/process/rlimits/0/soft', /is required/],
  ['a negative rlimit', (s) => { s.process.rlimits[0].hard = -1; }, '/process/rlimits/0/hard', />= 0/],
  ['a duplicate rlimit type', (s) => { s.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }); }, '/process/rlimits/1/type', /duplicate rlimit type "RLIMIT_NOFILE"/],
  ['a capability without CAP_ prefix', (s) => { s.process.capabilities.bounding[1] = 'KILL'; }, '/process/capabilities/bounding/1', /capability name/],
  ['capabilities as a string', (s) => { s.process.capabilities.ambient = 'CAP_KILL'; }, '/process/capabilities/ambient', /must be an array/],
  ['an oomScoreAdj above 1000', (s) => { s.process.oomScoreAdj = 1001; }, '/process/oomScoreAdj', /<= 1000/],
  ['an unknown scheduler policy', (s) => { s.process.scheduler = { policy: 'SCHED_FAST' }; }, '/process/scheduler/policy', /must be one of SCHED_OTHER/],
  ['an unknown scheduler flag', (s) => { s.process.scheduler = { policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_X'] }; }, '/process/scheduler/flags/0', /must be one of/],
  ['an ioPriority of 8', (s) => { s.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }; }, '/process/ioPriority/priority', /<= 7/],
  ['an unknown ioPriority class', (s) => { s.process.ioPriority = { class: 'BE', priority: 1 }; }, '/process/ioPriority/class', /must be one of IOPRIO_CLASS_RT/],
  ['a hook timeout of 0', (s) => { s.hooks = { poststart: [{ path: '/bin/true', timeout: 0 }] }; }, '/hooks/poststart/0/timeout', /must be >= 1, got 0/],
  ['a fractional hook timeout', (s) => { s.hooks = { poststop: [{ path: '/bin/true', timeout: 1.5 }] }; }, '/hooks/poststop/0/timeout', /must be an integer/],
  ['a relative hook path', (s) => { s.hooks = { createRuntime: [{ path: 'bin/hook' }] }; }, '/hooks/createRuntime/0/path', /absolute path/],
  ['a hook without path', (s) => { s.hooks = { prestart: [{ args: ['x'] }] }; }, '/hooks/prestart/0/path', /is required/],
  ['hooks of a kind given as an object', (s) => { s.hooks = { startContainer: { path: '/bin/true' } }; }, '/hooks/startContainer', /must be an array/],
  ['a non-string annotation', (s) => { s.annotations = { 'com.example/key': 2 }; }, '/annotations/com.example~1key', /must be a string/],
  ['an empty annotation key', (s) => { s.annotations = { '': 'x' }; }, '/annotations/', /key must not be empty/],
  ['an unknown namespace type', (s) => { s.linux.namespaces[1].type = 'net'; }, '/linux/namespaces/1/type', /must be one of pid, network/],
  ['a namespace without type', (s) => { s.linux.namespaces[0] = { path: '/proc/1/ns/pid' }; }, '/linux/namespaces/0/type', /is required/],
  ['a relative namespace path', (s) => { s.linux.namespaces[0].path = 'proc/1/ns/pid'; }, '/linux/namespaces/0/path', /absolute path/],
  ['a duplicate namespace', (s) => { s.linux.namespaces.push({ type: 'pid' }); }, '/linux/namespaces/6/type', /duplicate namespace type "pid" \(first at \/linux\/namespaces\/0\)/],
  ['a uid mapping without size', (s) => { s.linux.uidMappings = [{ containerID: 0, hostID: 1000 }]; }, '/linux/uidMappings/0/size', /is required/],
  ['an unknown time offset clock', (s) => { s.linux.timeOffsets = { realtime: { secs: 1 } }; }, '/linux/timeOffsets/realtime', /monotonic, boottime/],
  ['negative nanosecs', (s) => { s.linux.timeOffsets = { boottime: { nanosecs: -1 } }; }, '/linux/timeOffsets/boottime/nanosecs', />= 0/],
  ['an unknown device type', (s) => { s.linux.devices = [{ path: '/dev/x', type: 'x', major: 1, minor: 1 }]; }, '/linux/devices/0/type', /must be one of c, b, u, p/],
  ['a char device without major', (s) => { s.linux.devices = [{ path: '/dev/x', type: 'c', minor: 1 }]; }, '/linux/devices/0/major', /unless type is "p"/],
  ['a relative device path', (s) => { s.linux.devices = [{ path: 'dev/x', type: 'p' }]; }, '/linux/devices/0/path', /absolute path/],
  ['a device cgroup rule without allow', (s) => { s.linux.resources.devices[0] = { access: 'rwm' }; }, '/linux/resources/devices/0/allow', /is required/],
  ['a numeric device cgroup access', (s) => { s.linux.resources.devices[0].access = 7; }, '/linux/resources/devices/0/access', /must be a string/],
  ['a device cgroup type of u', (s) => { s.linux.resources.devices[0].type = 'u'; }, '/linux/resources/devices/0/type', /must be one of a, c, b/],
  ['a memory limit as a string', (s) => { s.linux.resources.memory = { limit: '1G' }; }, '/linux/resources/memory/limit', /must be an integer, got "1G"/],
  ['negative cpu shares', (s) => { s.linux.resources.cpu = { shares: -1 }; }, '/linux/resources/cpu/shares', />= 0/],
  ['a fractional pids limit', (s) => { s.linux.resources.pids = { limit: 1.5 }; }, '/linux/resources/pids/limit', /must be an integer/],
  ['a blockIO weight above uint16', (s) => { s.linux.resources.blockIO = { weight: 70000 }; }, '/linux/resources/blockIO/weight', /<= 65535/],
  ['a weightDevice with neither weight', (s) => { s.linux.resources.blockIO = { weightDevice: [{ major: 8, minor: 0 }] }; }, '/linux/resources/blockIO/weightDevice/0', /at least one of weight, leafWeight/],
  ['a throttle device without rate', (s) => { s.linux.resources.blockIO = { throttleReadBpsDevice: [{ major: 8, minor: 0 }] }; }, '/linux/resources/blockIO/throttleReadBpsDevice/0/rate', /is required/],
  ['a hugepage size without B', (s) => { s.linux.resources.hugepageLimits = [{ pageSize: '2M', limit: 1 }]; }, '/linux/resources/hugepageLimits/0/pageSize', /page size/],
  ['an empty rdma entry', (s) => { s.linux.resources.rdma = { mlx5_1: {} }; }, '/linux/resources/rdma/mlx5_1', /at least one of hcaHandles, hcaObjects/],
  ['a numeric unified value', (s) => { s.linux.resources.unified = { 'memory.max': 1024 }; }, '/linux/resources/unified/memory.max', /must be a string/],
  ['a network priority without name', (s) => { s.linux.resources.network = { priorities: [{ priority: 1 }] }; }, '/linux/resources/network/priorities/0/name', /is required/],
  ['an unknown seccomp defaultAction', (s) => { s.linux.seccomp = { defaultAction: 'SCMP_ACT_DENY' }; }, '/linux/seccomp/defaultAction', /must be one of SCMP_ACT_KILL,/],
  ['a seccomp without defaultAction', (s) => { s.linux.seccomp = { syscalls: [] }; }, '/linux/seccomp/defaultAction', /is required/],
  ['an unknown syscall action', (s) => { s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'ALLOW' }] }; }, '/linux/seccomp/syscalls/0/action', /must be one of/],
  ['a syscall rule without names', (s) => { s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] }; }, '/linux/seccomp/syscalls/0/names', /must not be empty/],
  ['an unknown seccomp operator', (s) => { s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_IN' }] }] }; }, '/linux/seccomp/syscalls/0/args/0/op', /SCMP_CMP_MASKED_EQ/],
  ['an unknown seccomp architecture', (s) => { s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }; }, '/linux/seccomp/architectures/0', /must be one of SCMP_ARCH_X86,/],
  ['an unknown seccomp flag', (s) => { s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] }; }, '/linux/seccomp/flags/0', /must be one of/],
  ['listenerMetadata without listenerPath', (s) => { s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' }; }, '/linux/seccomp/listenerPath', /required when listenerMetadata is set/],
  ['an unknown rootfsPropagation', (s) => { s.linux.rootfsPropagation = 'recursive'; }, '/linux/rootfsPropagation', /must be one of shared, slave, private, unbindable/],
  ['a relative masked path', (s) => { s.linux.maskedPaths[0] = 'proc/acpi'; }, '/linux/maskedPaths/0', /absolute path/],
  ['a relative readonly path', (s) => { s.linux.readonlyPaths[4] = 'sysrq'; }, '/linux/readonlyPaths/4', /absolute path/],
  ['a memoryPolicy without mode', (s) => { s.linux.memoryPolicy = { nodes: '0' }; }, '/linux/memoryPolicy/mode', /is required/],
  ['an unknown memoryPolicy flag', (s) => { s.linux.memoryPolicy = { mode: 'MPOL_BIND', flags: ['MPOL_F_X'] }; }, '/linux/memoryPolicy/flags/0', /must be one of/],
  ['an unknown personality domain', (s) => { s.linux.personality = { domain: 'LINUX64' }; }, '/linux/personality/domain', /must be one of LINUX, LINUX32/],
  ['a personality flag', (s) => { s.linux.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] }; }, '/linux/personality/flags', /must be empty/],
  ['a memBwSchema without MB:', (s) => { s.linux.intelRdt = { memBwSchema: 'L3:0=f' }; }, '/linux/intelRdt/memBwSchema', /must start with "MB:"/],
  ['a schemata line with a newline', (s) => { s.linux.intelRdt = { schemata: ['L3:0=f\nMB:0=1'] }; }, '/linux/intelRdt/schemata/0', /newline/],
  ['a numeric netDevice name', (s) => { s.linux.netDevices = { eth0: { name: 1 } }; }, '/linux/netDevices/eth0/name', /must be a string/],
  ['a numeric sysctl value', (s) => { s.linux.sysctl = { 'net.ipv4.ip_forward': 1 }; }, '/linux/sysctl/net.ipv4.ip_forward', /must be a string/],
  ['a numeric hostname', (s) => { s.hostname = 7; }, '/hostname', /must be a string/],
  ['linux as an array', (s) => { s.linux = []; }, '/linux', /must be an object/],
];

for (const [what, mutate, pointer, reason] of negative) {
  test(`validate: rejects ${what}`, () => {
    const spec = runcSpec();
    const replaced = mutate(spec);
    rejects(replaced === undefined ? spec : replaced, pointer, reason);
  });
}

test('validate: checks a process.json on its own (exec --process)', () => {
  validateProcess(runcSpec().process);
  validateProcess(kitchenSink().process);
  assert.throws(() => validateProcess({ cwd: 'x', args: ['sh'] }), (err) => {
    assert.equal(err.kind, 'config');
    assert.equal(err.pointer, '/cwd');
    assert.equal(err.message, 'process.json /cwd: must be an absolute path, got "x"');
    return true;
  });
  assert.throws(() => validateProcess({ cwd: '/', args: [] }, 'p.json'), { message: 'p.json /args: must not be empty', pointer: '/args' });
  const dup = { cwd: '/', args: ['sh'], rlimits: [{ type: 'RLIMIT_CPU', soft: 1, hard: 1 }, { type: 'RLIMIT_CPU', soft: 2, hard: 2 }] };
  assert.throws(() => validateProcess(dup), { pointer: '/rlimits/1/type' });
});

test('build: the precompiled validator imports nothing (no ajv at run time)', () => {
  const file = fileURLToPath(new URL('../../dist/bundle/config-validator.js', import.meta.url));
  const code = readFileSync(file, 'utf8');
  assert.doesNotMatch(code, /\bimport\s*[\w{*"'(]/);
  assert.doesNotMatch(code, /\brequire\(/);
});

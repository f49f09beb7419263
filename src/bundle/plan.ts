/**
 * Turns a validated config.json into a ContainerPlan: every decision about the container made in
 * one pure function (no side effects beyond reading host facts passed in), so most behaviour is
 * unit-testable without root. encodePlan() flattens it into the records tsrun-init applies.
 */
import { posix } from 'node:path';
import { configError, usageError } from '../errors.js';
import { CloneFlag, CpuAffinityWhen, HookKind, MountKind, RootfsFlag, Tag } from '../protocol/protocol.js';
import { RecordWriter } from '../protocol/codec.js';
import type { Hook, IdMapping, LinuxDevice, LinuxDeviceCgroup, LinuxResources, Mount, Process, Spec } from './spec-types.js';

// mount(2) flags
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

/** mount(8) option → [flags to set, flags to clear] */
const mountFlagOptions: Record<string, [number, number]> = {
  defaults: [0, 0],
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  atime: [0, MS.NOATIME],
  noatime: [MS.NOATIME, 0],
  diratime: [0, MS.NODIRATIME],
  nodiratime: [MS.NODIRATIME, 0],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0],
  nolazytime: [0, MS.LAZYTIME],
  nosymfollow: [MS.NOSYMFOLLOW, 0],
  symfollow: [0, MS.NOSYMFOLLOW],
  silent: [MS.SILENT, 0],
  loud: [0, MS.SILENT],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
};

const propagationOptions: Record<string, number> = {
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options runc accepts that change nothing here (tmpcopyup is a runc extension). */
const ignoredMountOptions = new Set(['tmpcopyup', 'idmap', 'ridmap']);

export const namespaceFlags: Record<string, number> = {
  pid: CloneFlag.NEWPID,
  network: CloneFlag.NEWNET,
  mount: CloneFlag.NEWNS,
  ipc: CloneFlag.NEWIPC,
  uts: CloneFlag.NEWUTS,
  user: CloneFlag.NEWUSER,
  cgroup: CloneFlag.NEWCGROUP,
  time: CloneFlag.NEWTIME,
};

export const rlimitNumbers: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

export const capabilityNumbers: Record<string, number> = Object.fromEntries(
  [
    'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
    'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
    'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
    'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
    'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
    'CHECKPOINT_RESTORE',
  ].map((name, i) => [`CAP_${name}`, i]),
);

const schedulerPolicies: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const schedulerFlags: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const ioPriorityClasses: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
export const memoryPolicyModes: Record<string, number> = {
  MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4, MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
export const memoryPolicyFlags: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_STATIC_NODES: 1 << 15,
};
const cpuList = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface PlanMount {
  source: string;
  destination: string;
  type: string;
  data: string;
  flags: number;
  propagation: number;
  bind: boolean;
  createFile: boolean;
}

export interface PlanDevice {
  path: string;
  type: number;
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface PlanHook {
  path: string;
  args: string[];
  env: string[];
  timeoutSec: number;
}

export interface CapabilitySets {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export interface PlanScheduler {
  policy: number;
  nice: number;
  priority: number;
  flags: number;
  runtime: bigint;
  deadline: bigint;
  period: bigint;
}

/** What the container's process is given: shared by create's init and by exec. */
export interface ProcessPlan {
  rlimits: { resource: number; soft: bigint; hard: bigint }[];
  uid: number;
  gid: number;
  additionalGids: number[];
  umask: number;
  capabilities: CapabilitySets;
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  cwd: string;
  args: string[];
  env: string[];
  terminal: boolean;
  consoleSocket?: string;
  preserveFds: number;
  scheduler?: PlanScheduler;
  ioPriority?: { class: number; priority: number };
  cpuAffinity: { initial?: string; final?: string };
  warnings: string[];
}

export interface ContainerPlan extends ProcessPlan {
  id: string;
  bundle: string;
  rootfs: string;
  readonlyRoot: boolean;
  noPivot: boolean;
  rootPropagation: number;
  /** namespaces to create (CLONE_NEW* flags) */
  newNamespaces: number;
  /** namespaces to join, user namespace first */
  joinNamespaces: { type: number; path: string }[];
  /** a user namespace is created or joined: uid/gid maps, device nodes bind-mounted */
  userNamespace: boolean;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  timeOffsets: string[];
  hostname?: string;
  domainname?: string;
  mounts: PlanMount[];
  /** cgroup mounts are expanded in create once the cgroup paths exist */
  cgroupMounts: { index: number; mount: Mount; flags: number; propagation: number }[];
  devices: PlanDevice[];
  symlinks: { target: string; path: string }[];
  maskedPaths: string[];
  readonlyPaths: string[];
  sysctl: [string, string][];
  personality?: number;
  loopbackUp: boolean;
  createContainerHooks: PlanHook[];
  startContainerHooks: PlanHook[];
  /** name of the new session keyring the init joins; undefined with --no-new-keyring */
  sessionKeyring?: string;
  memoryPolicy?: { mode: number; flags: number; nodes: string };
  /** host device name → name in the container ("" keeps it) */
  netDevices: [string, string][];
}

/** `tsrun exec`: a process that joins a running container's namespaces. */
export interface ExecPlan extends ProcessPlan {
  /** the container init's namespaces that differ from ours, user namespace first */
  joinNamespaces: { type: number; path: string }[];
}

export interface PlanOptions {
  id: string;
  /** absolute bundle directory */
  bundle: string;
  noPivot?: boolean;
  consoleSocket?: string;
  preserveFds?: number;
  noNewKeyring?: boolean;
  /** /proc/sys/kernel/cap_last_cap of this host */
  capLastCap?: number;
  /** stat of a bind source: 'dir', 'file' or undefined when missing */
  sourceKind?: (path: string) => 'dir' | 'file' | undefined;
}

function parseMountOptions(options: string[] | undefined) {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  (options ?? []).forEach((opt) => {
    const flag = mountFlagOptions[opt];
    if (flag) {
      flags = (flags | flag[0]) & ~flag[1];
    } else if (opt in propagationOptions) {
      propagation |= propagationOptions[opt];
    } else if (!ignoredMountOptions.has(opt) && !opt.startsWith('x-')) {
      data.push(opt);
    }
  });
  return { flags, propagation, data: data.join(',') };
}

/** Normalises a container path: absolute, no "..", no trailing slash (relative means from "/"). */
export function containerPath(path: string): string {
  return posix.resolve('/', path);
}

function hookPlan(hook: Hook): PlanHook {
  return { path: hook.path, args: hook.args ?? [hook.path], env: hook.env ?? [], timeoutSec: hook.timeout ?? 0 };
}

function capabilityMask(names: string[] | undefined, capLastCap: number, warnings: string[]): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const bit = capabilityNumbers[name];
    if (bit === undefined) {
      warnings.push(`ignoring unknown capability ${name}`);
    } else if (bit > capLastCap) {
      warnings.push(`ignoring capability ${name}: not supported by this kernel`);
    } else {
      mask |= 1n << BigInt(bit);
    }
  }
  return mask;
}

/** sysctl keys that a namespace makes safe to set (as runc enforces). */
function checkSysctl(key: string, newNs: Set<string>, joinedNs: Set<string>): string | undefined {
  const has = (t: string) => newNs.has(t) || joinedNs.has(t);
  const ipcKeys = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
  if (ipcKeys.includes(key) || key.startsWith('fs.mqueue.')) {
    return has('ipc') ? undefined : 'requires a new or joined ipc namespace';
  }
  if (key.startsWith('net.')) return has('network') ? undefined : 'requires a new or joined network namespace';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') {
    return has('uts') ? undefined : 'requires a new or joined uts namespace';
  }
  return 'is not in a separate kernel namespace';
}

const defaultDevices: [string, number, number][] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
];

function devicePlan(dev: LinuxDevice, pointer: string): PlanDevice {
  const type = dev.type === 'b' ? S_IFBLK : dev.type === 'p' ? S_IFIFO : S_IFCHR;
  if (dev.type !== 'p' && (dev.major === undefined || dev.minor === undefined)) {
    throw configError(pointer, `device ${dev.path} of type ${dev.type} needs major and minor`);
  }
  return {
    path: containerPath(dev.path),
    type,
    major: dev.major ?? 0,
    minor: dev.minor ?? 0,
    mode: (dev.fileMode ?? 0o666) & 0o7777,
    uid: dev.uid ?? 0,
    gid: dev.gid ?? 0,
  };
}

/**
 * Device cgroup rules as the kernel gets them: the config's own rules, then an allow rule for each
 * linux.devices entry, then the devices every container needs (the default /dev nodes, ptys,
 * /dev/net/tun and mknod of anything, which creating /dev requires), as runc does.
 */
const alwaysAllowedDevices: LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  ...defaultDevices.map(([, major, minor]): LinuxDeviceCgroup => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export function cgroupResources(spec: Spec): LinuxResources | undefined {
  const resources = spec.linux?.resources;
  const devices = spec.linux?.devices ?? [];
  if (!resources?.devices && !devices.length) return resources;
  return {
    ...resources,
    devices: [
      ...(resources?.devices ?? []),
      ...devices.map((d): LinuxDeviceCgroup => ({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: 'rwm' })),
      ...alwaysAllowedDevices,
    ],
  };
}

export interface ProcessPlanOptions {
  consoleSocket?: string;
  preserveFds?: number;
  /** /proc/sys/kernel/cap_last_cap of this host */
  capLastCap?: number;
}

/** The process part of a plan; pointers are under /process (config.json or exec's process.json). */
export function planProcess(proc: Process, opts: ProcessPlanOptions, warnings: string[]): ProcessPlan {
  const seenRlimits = new Set<string>();
  const rlimits = (proc.rlimits ?? []).map((r, i) => {
    if (seenRlimits.has(r.type)) throw configError(`/process/rlimits/${i}/type`, `duplicate rlimit ${r.type}`);
    seenRlimits.add(r.type);
    if (r.soft > r.hard) throw configError(`/process/rlimits/${i}/soft`, `soft limit of ${r.type} exceeds the hard limit`);
    return { resource: rlimitNumbers[r.type], soft: toU64(r.soft), hard: toU64(r.hard) };
  });

  const capLastCap = opts.capLastCap ?? 40;
  // Without a capabilities object the process gets none, as runc does (not root's full set).
  const caps = proc.capabilities ?? {};
  const capabilities: CapabilitySets = {
    bounding: capabilityMask(caps.bounding, capLastCap, warnings),
    effective: capabilityMask(caps.effective, capLastCap, warnings),
    permitted: capabilityMask(caps.permitted, capLastCap, warnings),
    inheritable: capabilityMask(caps.inheritable, capLastCap, warnings),
    ambient: capabilityMask(caps.ambient, capLastCap, warnings),
  };

  if (!posix.isAbsolute(proc.cwd)) throw configError('/process/cwd', 'must be an absolute path');
  if (!proc.args?.length) throw configError('/process/args', 'args must not be empty');
  const terminal = proc.terminal === true;
  if (terminal && !opts.consoleSocket) {
    throw usageError('cannot allocate tty if tsrun will detach without setting console socket');
  }
  if (!terminal && opts.consoleSocket) {
    throw usageError('cannot use console socket if tsrun will not detach or allocate tty');
  }
  if (proc.apparmorProfile) warnings.push('process.apparmorProfile is not applied: AppArmor is not supported');
  if (proc.selinuxLabel) warnings.push('process.selinuxLabel is not applied: SELinux is not supported');

  let scheduler: PlanScheduler | undefined;
  if (proc.scheduler) {
    const s = proc.scheduler;
    const realtime = s.policy === 'SCHED_FIFO' || s.policy === 'SCHED_RR';
    if (!realtime && s.priority) throw configError('/process/scheduler/priority', `only SCHED_FIFO and SCHED_RR take a priority`);
    scheduler = {
      policy: schedulerPolicies[s.policy],
      nice: s.nice ?? 0,
      priority: s.priority ?? 0,
      flags: (s.flags ?? []).reduce((bits, f) => bits | schedulerFlags[f], 0),
      runtime: BigInt(s.runtime ?? 0),
      deadline: BigInt(s.deadline ?? 0),
      period: BigInt(s.period ?? 0),
    };
  }
  const ioPriority = proc.ioPriority
    ? { class: ioPriorityClasses[proc.ioPriority.class], priority: proc.ioPriority.priority }
    : undefined;
  const cpuAffinity = { initial: proc.execCPUAffinity?.initial, final: proc.execCPUAffinity?.final };
  for (const when of ['initial', 'final'] as const) {
    const list = cpuAffinity[when];
    if (list !== undefined && !cpuList.test(list)) {
      throw configError(`/process/execCPUAffinity/${when}`, `must be a CPU list such as "0-3,7", got ${JSON.stringify(list)}`);
    }
  }

  return {
    rlimits,
    uid: proc.user?.uid ?? 0,
    gid: proc.user?.gid ?? 0,
    additionalGids: proc.user?.additionalGids ?? [],
    umask: proc.user?.umask ?? 0o022,
    capabilities,
    noNewPrivileges: proc.noNewPrivileges === true,
    oomScoreAdj: proc.oomScoreAdj,
    cwd: proc.cwd,
    args: proc.args,
    env: proc.env ?? [],
    terminal,
    consoleSocket: opts.consoleSocket,
    preserveFds: opts.preserveFds ?? 0,
    scheduler,
    ioPriority,
    cpuAffinity,
    warnings,
  };
}

/** `tsrun exec`: the process plan plus the namespaces to join. */
export function buildExecPlan(proc: Process, joinNamespaces: ExecPlan['joinNamespaces'], opts: ProcessPlanOptions): ExecPlan {
  const warnings: string[] = [];
  return { ...planProcess(proc, opts, warnings), joinNamespaces };
}

export function buildPlan(spec: Spec, opts: PlanOptions): ContainerPlan {
  const warnings: string[] = [];
  const linux = spec.linux ?? {};
  const proc = spec.process;
  if (!proc) throw configError('/process', 'process is required to create a container');
  if (!spec.root?.path) throw configError('/root', 'root.path is required');
  if (opts.id === undefined) throw usageError('container id is required');

  // Namespaces: each type once; user first among the joined so the rest are owned by it.
  const newNs = new Set<string>();
  const joinedNs = new Set<string>();
  let newNamespaces = 0;
  const joinNamespaces: { type: number; path: string }[] = [];
  (linux.namespaces ?? []).forEach((ns, i) => {
    if (newNs.has(ns.type) || joinedNs.has(ns.type)) {
      throw configError(`/linux/namespaces/${i}/type`, `duplicate namespace type ${ns.type}`);
    }
    if (ns.path) {
      if (!posix.isAbsolute(ns.path)) throw configError(`/linux/namespaces/${i}/path`, 'must be an absolute path');
      joinedNs.add(ns.type);
      const entry = { type: namespaceFlags[ns.type], path: ns.path };
      if (ns.type === 'user') joinNamespaces.unshift(entry);
      else joinNamespaces.push(entry);
    } else {
      newNs.add(ns.type);
      newNamespaces |= namespaceFlags[ns.type];
    }
  });
  const hasNs = (t: string) => newNs.has(t) || joinedNs.has(t);
  if (!hasNs('mount')) throw configError('/linux/namespaces', 'a mount namespace is required');
  const userNamespace = hasNs('user');
  const uidMappings = linux.uidMappings ?? [];
  const gidMappings = linux.gidMappings ?? [];
  if (newNs.has('user') && (uidMappings.length === 0 || gidMappings.length === 0)) {
    throw configError('/linux/uidMappings', 'a new user namespace needs uidMappings and gidMappings');
  }
  if (!newNs.has('user') && (uidMappings.length || gidMappings.length)) {
    throw configError('/linux/uidMappings', 'uid/gid mappings need a new user namespace');
  }
  if (spec.hostname !== undefined && spec.hostname !== '' && !hasNs('uts')) {
    throw configError('/hostname', 'setting the hostname needs a new or joined uts namespace');
  }
  if (spec.domainname !== undefined && spec.domainname !== '' && !hasNs('uts')) {
    throw configError('/domainname', 'setting the domainname needs a new or joined uts namespace');
  }
  const timeOffsets: string[] = [];
  for (const [clock, off] of Object.entries(linux.timeOffsets ?? {})) {
    if (!newNs.has('time')) throw configError('/linux/timeOffsets', 'time offsets need a new time namespace');
    timeOffsets.push(`${clock} ${off?.secs ?? 0} ${off?.nanosecs ?? 0}`);
  }

  const bundle = opts.bundle;
  const rootfs = posix.resolve(bundle, spec.root.path);
  const rootPropagation =
    linux.rootfsPropagation !== undefined ? propagationOptions[linux.rootfsPropagation] : MS.SLAVE | MS.REC;

  // Mounts, in order. cgroup mounts become concrete once the cgroup exists (create does it).
  const mounts: PlanMount[] = [];
  const cgroupMounts: ContainerPlan['cgroupMounts'] = [];
  let devIsBound = false;
  (spec.mounts ?? []).forEach((m, i) => {
    const pointer = `/mounts/${i}`;
    const destination = containerPath(m.destination);
    const { flags, propagation, data } = parseMountOptions(m.options);
    const type = m.type ?? '';
    const bind = type === 'bind' || (flags & MS.BIND) !== 0;
    if (type === 'cgroup' || type === 'cgroup2') {
      cgroupMounts.push({ index: mounts.length, mount: { ...m, destination }, flags, propagation });
      return;
    }
    let source = m.source ?? '';
    let createFile = false;
    if (bind) {
      if (!source) throw configError(`${pointer}/source`, 'a bind mount needs a source');
      source = posix.resolve(bundle, source);
      const kind = opts.sourceKind?.(source);
      if (opts.sourceKind && kind === undefined) {
        throw configError(`${pointer}/source`, `bind mount source ${source} does not exist`);
      }
      createFile = kind === 'file';
      if (destination === '/dev') devIsBound = true;
    } else if (!type && !(flags & MS.REMOUNT)) {
      throw configError(`${pointer}/type`, 'a mount that is not a bind mount needs a type');
    }
    mounts.push({
      source,
      destination,
      type: bind ? '' : type,
      data: bind ? '' : data,
      flags: bind ? flags | MS.BIND : flags,
      propagation,
      bind,
      createFile,
    });
  });

  // /dev: the default devices and links, unless the whole /dev is bound from elsewhere.
  const devices: PlanDevice[] = [];
  const symlinks: { target: string; path: string }[] = [];
  const configured = new Set((linux.devices ?? []).map((d) => containerPath(d.path)));
  if (!devIsBound) {
    for (const [path, major, minor] of defaultDevices) {
      if (!configured.has(path)) devices.push({ path, type: S_IFCHR, major, minor, mode: 0o666, uid: 0, gid: 0 });
    }
    symlinks.push(
      { target: '/proc/self/fd', path: '/dev/fd' },
      { target: '/proc/self/fd/0', path: '/dev/stdin' },
      { target: '/proc/self/fd/1', path: '/dev/stdout' },
      { target: '/proc/self/fd/2', path: '/dev/stderr' },
      { target: 'pts/ptmx', path: '/dev/ptmx' },
    );
  }
  (linux.devices ?? []).forEach((d, i) => devices.push(devicePlan(d, `/linux/devices/${i}`)));

  const sysctl: [string, string][] = [];
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    const problem = checkSysctl(key, newNs, joinedNs);
    if (problem) throw configError(`/linux/sysctl/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, `sysctl ${key} ${problem}`);
    sysctl.push([key, value]);
  }


  // The spec: a property the runtime cannot apply is an error, not a silent no-op.
  const unsupported: [unknown, string, string][] = [
    [linux.intelRdt, '/linux/intelRdt', 'Intel RDT is not supported'],
  ];
  for (const [value, pointer, reason] of unsupported) if (value !== undefined) throw configError(pointer, reason);
  (spec.mounts ?? []).forEach((m, i) => {
    if (m.uidMappings?.length || m.gidMappings?.length) {
      throw configError(`/mounts/${i}/uidMappings`, 'idmapped mounts are not supported yet');
    }
  });
  // Clients send these on every container (dockerd a seccomp profile and "docker-default"): as
  // runc does on a host without AppArmor or SELinux, they are skipped with a warning.
  if (linux.seccomp) warnings.push('linux.seccomp is not applied yet: the container runs without a seccomp filter');


  let memoryPolicy: ContainerPlan['memoryPolicy'];
  if (linux.memoryPolicy) {
    const { mode, nodes = '', flags = [] } = linux.memoryPolicy;
    if (nodes && !cpuList.test(nodes)) {
      throw configError('/linux/memoryPolicy/nodes', `must be a node list such as "0-3,7", got ${JSON.stringify(nodes)}`);
    }
    if ((mode === 'MPOL_DEFAULT' || mode === 'MPOL_LOCAL') && nodes) {
      throw configError('/linux/memoryPolicy/nodes', `${mode} takes no nodes`);
    }
    if ((mode === 'MPOL_BIND' || mode === 'MPOL_INTERLEAVE' || mode === 'MPOL_WEIGHTED_INTERLEAVE' || mode === 'MPOL_PREFERRED_MANY') && !nodes) {
      throw configError('/linux/memoryPolicy/nodes', `${mode} needs at least one node`);
    }
    memoryPolicy = { mode: memoryPolicyModes[mode], flags: flags.reduce((bits, f) => bits | memoryPolicyFlags[f], 0), nodes };
  }

  const netDevices: [string, string][] = [];
  for (const [hostName, device] of Object.entries(linux.netDevices ?? {})) {
    const pointer = `/linux/netDevices/${hostName.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!newNs.has('network')) throw configError(pointer, 'moving a network device needs a new network namespace');
    const name = device?.name ?? '';
    for (const [what, value] of [['host', hostName], ['container', name]] as const) {
      if (value && (value.length > 15 || !/^[^/\s:]+$/.test(value))) {
        throw configError(what === 'host' ? pointer : `${pointer}/name`, `${JSON.stringify(value)} is not a network device name`);
      }
    }
    netDevices.push([hostName, name]);
  }

  let personality: number | undefined;
  if (linux.personality) {
    personality = linux.personality.domain === 'LINUX32' ? 0x0008 : 0x0000;
  }

  const processPlan = planProcess(proc, opts, warnings);
  const hooks = spec.hooks ?? {};
  return {
    id: opts.id,
    bundle,
    rootfs,
    readonlyRoot: spec.root.readonly === true,
    noPivot: opts.noPivot === true,
    rootPropagation,
    newNamespaces,
    joinNamespaces,
    userNamespace,
    uidMappings,
    gidMappings,
    timeOffsets,
    hostname: spec.hostname,
    domainname: spec.domainname,
    mounts,
    cgroupMounts,
    devices,
    symlinks,
    maskedPaths: (linux.maskedPaths ?? []).map(containerPath),
    readonlyPaths: (linux.readonlyPaths ?? []).map(containerPath),
    sysctl,
    ...processPlan,
    personality,
    loopbackUp: newNs.has('network'),
    createContainerHooks: (hooks.createContainer ?? []).map(hookPlan),
    startContainerHooks: (hooks.startContainer ?? []).map(hookPlan),
    sessionKeyring: opts.noNewKeyring ? undefined : `_ses.${opts.id}`,
    memoryPolicy,
    netDevices,
  };
}

/** JSON numbers above 2^53 arrive rounded; anything at or past 2^64-1 means "unlimited". */
function toU64(n: number): bigint {
  if (n >= 2 ** 64 - 1 || n < 0) return (1n << 64n) - 1n;
  return BigInt(Math.trunc(n));
}

/** The records of the process itself, for create and exec alike. */
function encodeProcess(w: RecordWriter, plan: ProcessPlan): void {
  for (const r of plan.rlimits) w.add(Tag.Rlimit, (f) => f.u32(r.resource).u32(0).u64(r.soft).u64(r.hard));
  w.add(Tag.User, (f) => {
    f.u32(plan.uid).u32(plan.gid).i32(plan.umask).u32(plan.additionalGids.length);
    for (const g of plan.additionalGids) f.u32(g);
  });
  const caps = plan.capabilities;
  w.add(Tag.Capabilities, (f) => f.u64(caps.bounding).u64(caps.effective).u64(caps.permitted).u64(caps.inheritable).u64(caps.ambient));
  if (plan.noNewPrivileges) w.add(Tag.NoNewPrivileges);
  if (plan.oomScoreAdj !== undefined) w.add(Tag.OomScoreAdj, (f) => f.i32(plan.oomScoreAdj!));
  w.add(Tag.Cwd, (f) => f.str(plan.cwd));
  w.add(Tag.Args, (f) => f.strs(plan.args));
  w.add(Tag.Env, (f) => f.strs(plan.env));
  w.add(Tag.PreserveFds, (f) => f.u32(plan.preserveFds));
  if (plan.consoleSocket) w.add(Tag.ConsoleSocket, (f) => f.str(plan.consoleSocket!));
  const io = plan.ioPriority;
  if (io) w.add(Tag.IoPriority, (f) => f.u32(io.class).u32(io.priority));
  const s = plan.scheduler;
  if (s) w.add(Tag.Scheduler, (f) => f.u32(s.policy).i32(s.nice).u32(s.priority).u64(s.flags).u64(s.runtime).u64(s.deadline).u64(s.period));
  if (plan.cpuAffinity.initial) w.add(Tag.CpuAffinity, (f) => f.u32(CpuAffinityWhen.Initial).str(plan.cpuAffinity.initial!));
  if (plan.cpuAffinity.final) w.add(Tag.CpuAffinity, (f) => f.u32(CpuAffinityWhen.Final).str(plan.cpuAffinity.final!));
}

/** The Plan payload for tsrun-init (see protocol.ts for each record's layout). */
export function encodePlan(plan: ContainerPlan, opts: { stateDir: string; stage0Wait: boolean }): Buffer {
  const w = new RecordWriter();
  w.add(Tag.Namespaces, (f) => f.u32(plan.newNamespaces));
  for (const ns of plan.joinNamespaces) w.add(Tag.NsPath, (f) => f.u32(ns.type).str(ns.path));
  for (const line of plan.timeOffsets) w.add(Tag.TimeOffset, (f) => f.str(line));
  if (plan.hostname) w.add(Tag.Hostname, (f) => f.str(plan.hostname!));
  if (plan.domainname) w.add(Tag.Domainname, (f) => f.str(plan.domainname!));
  w.add(Tag.Rootfs, (f) => f.str(plan.rootfs));
  let rootFlags = 0;
  if (plan.readonlyRoot) rootFlags |= RootfsFlag.Readonly;
  if (plan.noPivot) rootFlags |= RootfsFlag.NoPivot;
  if (plan.userNamespace) rootFlags |= RootfsFlag.BindDevices;
  w.add(Tag.RootfsFlags, (f) => f.u32(rootFlags).u64(plan.rootPropagation));
  for (const m of plan.mounts) {
    let kind = 0;
    if (m.bind) kind |= MountKind.Bind;
    if (m.createFile) kind |= MountKind.CreateFile;
    w.add(Tag.Mount, (f) => f.u64(m.flags).u64(m.propagation).u32(kind).str(m.source).str(m.destination).str(m.type).str(m.data));
  }
  for (const d of plan.devices) {
    w.add(Tag.Device, (f) => f.u32(d.type).u32(d.major).u32(d.minor).u32(d.mode).u32(d.uid).u32(d.gid).str(d.path));
  }
  for (const s of plan.symlinks) w.add(Tag.Symlink, (f) => f.str(s.target).str(s.path));
  for (const p of plan.maskedPaths) w.add(Tag.MaskedPath, (f) => f.str(p));
  for (const p of plan.readonlyPaths) w.add(Tag.ReadonlyPath, (f) => f.str(p));
  for (const [k, v] of plan.sysctl) w.add(Tag.Sysctl, (f) => f.str(k).str(v));
  encodeProcess(w, plan);
  w.add(Tag.StateDir, (f) => f.str(opts.stateDir));
  const hookRecord = (kind: number, h: PlanHook) =>
    w.add(Tag.Hook, (f) => f.u32(kind).u32(h.timeoutSec).str(h.path).strs(h.args).strs(h.env));
  for (const h of plan.createContainerHooks) hookRecord(HookKind.CreateContainer, h);
  for (const h of plan.startContainerHooks) hookRecord(HookKind.StartContainer, h);
  if (plan.personality !== undefined) w.add(Tag.Personality, (f) => f.u32(plan.personality!));
  if (opts.stage0Wait) w.add(Tag.Stage0Wait);
  if (plan.loopbackUp) w.add(Tag.LoopbackUp);
  if (plan.sessionKeyring) w.add(Tag.SessionKeyring, (f) => f.str(plan.sessionKeyring!));
  for (const [hostName, name] of plan.netDevices) w.add(Tag.NetDevice, (f) => f.str(hostName).str(name));
  const mp = plan.memoryPolicy;
  if (mp) w.add(Tag.MemoryPolicy, (f) => f.u32(mp.mode).u32(mp.flags).str(mp.nodes));
  return w.bytes();
}

/** The Plan payload of an exec: join, then set up only the process (ExecMode). */
export function encodeExecPlan(plan: ExecPlan, opts: { stage0Wait: boolean }): Buffer {
  const w = new RecordWriter();
  w.add(Tag.ExecMode);
  for (const ns of plan.joinNamespaces) w.add(Tag.NsPath, (f) => f.u32(ns.type).str(ns.path));
  encodeProcess(w, plan);
  if (opts.stage0Wait) w.add(Tag.Stage0Wait);
  return w.bytes();
}

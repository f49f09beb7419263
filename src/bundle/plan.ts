/**
 * Turns a validated config.json into a ContainerPlan: every decision about the container made in
 * pure functions (no side effects beyond reading host facts passed in), so most behaviour is
 * unit-testable without root. src/protocol/plan-encoding.ts flattens the plan into the records
 * tsrun-init applies. The process part is process-plan.ts's, /dev and device rules are
 * device-policy.ts's, mount options mount-options.ts's.
 */
import { posix } from 'node:path';
import { configError, usageError } from '../errors.js';
import { MS, memoryPolicyFlags, memoryPolicyModes, namespaceFlags } from '../kernel-tables.js';
import { containerPath } from './container-path.js';
import { checkDeviceRules, devNodes, type PlanDevice } from './device-policy.js';
import { parseMountOptions, propagationOptions } from './mount-options.js';
import { cpuList, planProcess, type ProcessPlan } from './process-plan.js';
import type { Hook, IdMapping, Linux, Mount, Spec } from './spec-types.js';

export interface PlanMount {
  source: string;
  destination: string;
  type: string;
  data: string;
  flags: number;
  propagation: number;
  bind: boolean;
  createFile: boolean;
  /** linux.mountLabel goes into its options as context="..." (as runc: not proc, sysfs, binds, cgroup2) */
  labeled?: boolean;
  /** MOUNT_ATTR_* for the mount and all below it ("rro", "rnosuid", ...); none when absent */
  recAttrSet?: number;
  recAttrClr?: number;
}

export interface PlanHook {
  path: string;
  args: string[];
  env: string[];
  timeoutSec: number;
}

export interface ContainerPlan extends ProcessPlan {
  id: string;
  bundle: string;
  rootfs: string;
  readonlyRoot: boolean;
  /** /dev was asked read-only: it is mounted rw (its nodes, links and /dev/pts go in) and remounted ro last */
  readonlyDev: boolean;
  noPivot: boolean;
  rootPropagation: number;
  /** namespaces to create (CLONE_NEW* flags) */
  newNamespaces: number;
  /** namespaces to join, user namespace first */
  joinNamespaces: { type: number; path: string }[];
  /**
   * linux.namespaces has no mount namespace: the mounts land in the caller's namespace under the
   * rootfs (as with runc), the init chroots, and delete removes them
   */
  hostMountNamespace: boolean;
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
  /** linux.mountLabel: the SELinux context of the mounts marked labeled and of masked directories */
  mountLabel?: string;
}

export interface PlanOptions {
  id: string;
  /** absolute bundle directory */
  bundle: string;
  noPivot?: boolean;
  consoleSocket?: string;
  preserveFds?: number;
  /** the fds of socket activation (ProcessPlanOptions) */
  listenFds?: number;
  noNewKeyring?: boolean;
  /** /proc/sys/kernel/cap_last_cap of this host */
  capLastCap?: number;
  /** stat of a bind source: 'dir', 'file' or undefined when missing */
  sourceKind?: (path: string) => 'dir' | 'file' | undefined;
}

/** The namespace types a config creates and joins. */
interface Namespaces {
  created: Set<string>;
  joined: Set<string>;
  has(type: string): boolean;
}

/** JSON pointer escaping of one key (RFC 6901). */
function pointerKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function hookPlan(hook: Hook): PlanHook {
  return { path: hook.path, args: hook.args ?? [hook.path], env: hook.env ?? [], timeoutSec: hook.timeout ?? 0 };
}

/** Namespaces: each type once; user first among the joined so the rest are owned by it. */
function planNamespaces(linux: Linux) {
  const ns: Namespaces = { created: new Set(), joined: new Set(), has: (t) => ns.created.has(t) || ns.joined.has(t) };
  let newNamespaces = 0;
  const joinNamespaces: ContainerPlan['joinNamespaces'] = [];
  (linux.namespaces ?? []).forEach((entry, i) => {
    if (ns.has(entry.type)) throw configError(`/linux/namespaces/${i}/type`, `duplicate namespace type ${entry.type}`);
    if (entry.path) {
      if (!posix.isAbsolute(entry.path)) throw configError(`/linux/namespaces/${i}/path`, 'must be an absolute path');
      ns.joined.add(entry.type);
      const join = { type: namespaceFlags[entry.type], path: entry.path };
      if (entry.type === 'user') joinNamespaces.unshift(join);
      else joinNamespaces.push(join);
    } else {
      ns.created.add(entry.type);
      newNamespaces |= namespaceFlags[entry.type];
    }
  });
  return { ns, newNamespaces, joinNamespaces };
}

/**
 * Without a mount namespace (valid per the spec) every mount lands in the caller's namespace: what
 * would change the host's own mounts rather than add some under the rootfs is refused (runc
 * refuses masked and read-only paths there too).
 */
function checkHostMountNamespace(spec: Spec, linux: Linux): void {
  if (linux.maskedPaths?.length) throw configError('/linux/maskedPaths', 'masked paths need a mount namespace');
  if (linux.readonlyPaths?.length) throw configError('/linux/readonlyPaths', 'read-only paths need a mount namespace');
  if (spec.root?.readonly) throw configError('/root/readonly', 'a read-only root needs a mount namespace (it would remount the host\'s mount read-only)');
  if (linux.rootfsPropagation !== undefined) throw configError('/linux/rootfsPropagation', 'rootfsPropagation needs a mount namespace');
}

/** What needs a namespace to be safe: id maps, hostname and domainname, time offsets. */
function checkNamespacedSettings(spec: Spec, linux: Linux, ns: Namespaces): string[] {
  const uidMappings = linux.uidMappings ?? [];
  const gidMappings = linux.gidMappings ?? [];
  if (ns.created.has('user') && (uidMappings.length === 0 || gidMappings.length === 0)) {
    throw configError('/linux/uidMappings', 'a new user namespace needs uidMappings and gidMappings');
  }
  if (!ns.created.has('user') && (uidMappings.length || gidMappings.length)) {
    throw configError('/linux/uidMappings', 'uid/gid mappings need a new user namespace');
  }
  if (spec.hostname !== undefined && spec.hostname !== '' && !ns.has('uts')) {
    throw configError('/hostname', 'setting the hostname needs a new or joined uts namespace');
  }
  if (spec.domainname !== undefined && spec.domainname !== '' && !ns.has('uts')) {
    throw configError('/domainname', 'setting the domainname needs a new or joined uts namespace');
  }
  const timeOffsets: string[] = [];
  for (const [clock, off] of Object.entries(linux.timeOffsets ?? {})) {
    if (!ns.created.has('time')) throw configError('/linux/timeOffsets', 'time offsets need a new time namespace');
    timeOffsets.push(`${clock} ${off?.secs ?? 0} ${off?.nanosecs ?? 0}`);
  }
  return timeOffsets;
}

/**
 * Whether linux.mountLabel goes into a mount's options, as runc decides it: every mount but
 * procfs and sysfs (SELinux cannot label them) and binds (mount(2) ignores the options of a bind);
 * of a cgroup mount's expansion only the tmpfs of v1 (cgroup-mounts.ts).
 * runc does so whether or not the host has SELinux, so there the kernel refuses the option
 * (EINVAL); clients set a mount label only where SELinux is enabled.
 */
export function labeledMount(spec: Spec, bind: boolean, type: string): boolean {
  return !!spec.linux?.mountLabel && !bind && type !== 'proc' && type !== 'sysfs';
}

/** Mounts, in order. cgroup mounts become concrete once the cgroup exists (create does it). */
function planMounts(spec: Spec, opts: PlanOptions) {
  const mounts: PlanMount[] = [];
  const cgroupMounts: ContainerPlan['cgroupMounts'] = [];
  let devIsBound = false;
  let readonlyDev = false;
  (spec.mounts ?? []).forEach((m, i) => {
    const pointer = `/mounts/${i}`;
    const destination = containerPath(m.destination);
    const parsed = parseMountOptions(m.options);
    const { propagation, data, recAttrSet, recAttrClr } = parsed;
    let { flags } = parsed;
    if (destination === '/dev' && flags & MS.RDONLY) {
      // as runc: nodes, links and the /dev/pts mount point are made first, the remount comes last
      readonlyDev = true;
      flags &= ~MS.RDONLY;
    }
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
      source = posix.resolve(opts.bundle, source);
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
      labeled: labeledMount(spec, bind, type),
      recAttrSet,
      recAttrClr,
    });
  });
  return { mounts, cgroupMounts, devIsBound, readonlyDev };
}

/** sysctl keys that a namespace makes safe to set (as runc enforces). */
function checkSysctl(key: string, ns: Namespaces): string | undefined {
  const ipcKeys = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
  if (ipcKeys.includes(key) || key.startsWith('fs.mqueue.')) {
    return ns.has('ipc') ? undefined : 'requires a new or joined ipc namespace';
  }
  if (key.startsWith('net.')) return ns.has('network') ? undefined : 'requires a new or joined network namespace';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') {
    return ns.has('uts') ? undefined : 'requires a new or joined uts namespace';
  }
  return 'is not in a separate kernel namespace';
}

function planSysctl(linux: Linux, ns: Namespaces): [string, string][] {
  return Object.entries(linux.sysctl ?? {}).map(([key, value]) => {
    const problem = checkSysctl(key, ns);
    if (problem) throw configError(`/linux/sysctl/${pointerKey(key)}`, `sysctl ${key} ${problem}`);
    return [key, value];
  });
}

function planMemoryPolicy(linux: Linux): ContainerPlan['memoryPolicy'] {
  if (!linux.memoryPolicy) return undefined;
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
  return { mode: memoryPolicyModes[mode], flags: flags.reduce((bits, f) => bits | memoryPolicyFlags[f], 0), nodes };
}

function planNetDevices(linux: Linux, ns: Namespaces): [string, string][] {
  const netDevices: [string, string][] = [];
  for (const [hostName, device] of Object.entries(linux.netDevices ?? {})) {
    const pointer = `/linux/netDevices/${pointerKey(hostName)}`;
    if (!ns.created.has('network')) throw configError(pointer, 'moving a network device needs a new network namespace');
    const name = device?.name ?? '';
    for (const [what, value] of [['host', hostName], ['container', name]] as const) {
      if (value && (value.length > 15 || !/^[^/\s:]+$/.test(value))) {
        throw configError(what === 'host' ? pointer : `${pointer}/name`, `${JSON.stringify(value)} is not a network device name`);
      }
    }
    netDevices.push([hostName, name]);
  }
  return netDevices;
}

export function buildPlan(spec: Spec, opts: PlanOptions): ContainerPlan {
  const warnings: string[] = [];
  const linux = spec.linux ?? {};
  const proc = spec.process;
  if (!proc) throw configError('/process', 'process is required to create a container');
  if (!spec.root?.path) throw configError('/root', 'root.path is required');
  if (opts.id === undefined) throw usageError('container id is required');

  const { ns, newNamespaces, joinNamespaces } = planNamespaces(linux);
  const hostMountNamespace = !ns.has('mount');
  if (hostMountNamespace) checkHostMountNamespace(spec, linux);
  const timeOffsets = checkNamespacedSettings(spec, linux, ns);
  const { mounts, cgroupMounts, devIsBound, readonlyDev } = planMounts(spec, opts);
  const { devices, symlinks } = devNodes(linux.devices ?? [], devIsBound);
  checkDeviceRules(linux.resources);
  const sysctl = planSysctl(linux, ns);

  // The spec: a property the runtime cannot apply is an error, not a silent no-op.
  if (linux.intelRdt !== undefined) throw configError('/linux/intelRdt', 'Intel RDT is not supported');
  (spec.mounts ?? []).forEach((m, i) => {
    if (m.uidMappings?.length || m.gidMappings?.length) {
      throw configError(`/mounts/${i}/uidMappings`, 'idmapped mounts are not supported yet');
    }
  });

  const memoryPolicy = planMemoryPolicy(linux);
  const netDevices = planNetDevices(linux, ns);
  const processPlan = planProcess(proc, { ...opts, seccomp: linux.seccomp }, warnings);
  const hooks = spec.hooks ?? {};
  return {
    id: opts.id,
    bundle: opts.bundle,
    rootfs: posix.resolve(opts.bundle, spec.root.path),
    readonlyRoot: spec.root.readonly === true,
    readonlyDev,
    noPivot: opts.noPivot === true,
    rootPropagation: hostMountNamespace ? 0 : linux.rootfsPropagation !== undefined ? propagationOptions[linux.rootfsPropagation] : MS.SLAVE | MS.REC,
    newNamespaces,
    hostMountNamespace,
    joinNamespaces,
    userNamespace: ns.has('user'),
    uidMappings: linux.uidMappings ?? [],
    gidMappings: linux.gidMappings ?? [],
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
    personality: linux.personality ? (linux.personality.domain === 'LINUX32' ? 0x0008 : 0x0000) : undefined,
    loopbackUp: ns.created.has('network'),
    createContainerHooks: (hooks.createContainer ?? []).map(hookPlan),
    startContainerHooks: (hooks.startContainer ?? []).map(hookPlan),
    sessionKeyring: opts.noNewKeyring ? undefined : `_ses.${opts.id}`,
    memoryPolicy,
    netDevices,
    mountLabel: linux.mountLabel || undefined,
  };
}

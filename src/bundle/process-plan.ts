/**
 * The process part of a plan, from config.json's `process` or exec's process.json: rlimits, user,
 * capabilities, scheduling, terminal. Shared by create's init and by `tsrun exec`.
 */
import { posix } from 'node:path';
import { configError, usageError } from '../errors.js';
import { capabilityNumbers, ioPriorityClasses, rlimitNumbers, schedulerFlags, schedulerPolicies } from '../kernel-tables.js';
import { planSeccomp, type SeccompPlan } from './seccomp-plan.js';
import type { LinuxSeccomp, Process } from './spec-types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** "0-3,7": CPU and NUMA node lists */
export const cpuList = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

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
  /** process.consoleSize, with terminal: true only (the spec: ignored otherwise) */
  consoleSize?: { rows: number; cols: number };
  /** the container's linux.seccomp, for the init and every exec alike */
  seccomp?: SeccompPlan;
  /** process.apparmorProfile ("" is none, as runc); tsrun-init refuses it where AppArmor is not enabled */
  apparmorProfile?: string;
  /** process.selinuxLabel ("" is none); tsrun-init refuses it where SELinux is not enabled */
  selinuxLabel?: string;
  warnings: string[];
}

/** `tsrun exec`: a process that joins a running container's namespaces. */
export interface ExecPlan extends ProcessPlan {
  /** the container init's namespaces that differ from ours, user namespace first */
  joinNamespaces: { type: number; path: string }[];
}

/**
 * config.md (1.3.0): a capability "which cannot be mapped to a relevant kernel interface, or cannot
 * be granted otherwise MUST be logged as a warning", and runtimes "SHOULD NOT fail": an unknown name
 * (CAP_TEST) or one this kernel lacks is a warning naming its field, as with runc 1.1. A name not
 * shaped like a capability at all is refused by the schema.
 */
function capabilityMask(names: string[] | undefined, set: string, capLastCap: number, warnings: string[]): bigint {
  let mask = 0n;
  (names ?? []).forEach((name, i) => {
    const bit = capabilityNumbers[name];
    const where = `/process/capabilities/${set}/${i}`;
    if (bit === undefined) {
      warnings.push(`${where}: ignoring unknown capability ${name}`);
    } else if (bit > capLastCap) {
      warnings.push(`${where}: ignoring capability ${name}: not supported by this kernel`);
    } else {
      mask |= 1n << BigInt(bit);
    }
  });
  return mask;
}

export interface ProcessPlanOptions {
  consoleSocket?: string;
  preserveFds?: number;
  /** socket activation (create and run): tsrun's LISTEN_FDS, passed as fds 3.. before the preserved
   * ones, with LISTEN_FDS=N and LISTEN_PID=1 added to the env, as runc does */
  listenFds?: number;
  /** /proc/sys/kernel/cap_last_cap of this host */
  capLastCap?: number;
  /** the container's linux.seccomp */
  seccomp?: LinuxSeccomp;
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
    bounding: capabilityMask(caps.bounding, 'bounding', capLastCap, warnings),
    effective: capabilityMask(caps.effective, 'effective', capLastCap, warnings),
    permitted: capabilityMask(caps.permitted, 'permitted', capLastCap, warnings),
    inheritable: capabilityMask(caps.inheritable, 'inheritable', capLastCap, warnings),
    ambient: capabilityMask(caps.ambient, 'ambient', capLastCap, warnings),
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
    env: processEnv([...(proc.env ?? []), ...(opts.listenFds ? [`LISTEN_FDS=${opts.listenFds}`, 'LISTEN_PID=1'] : [])]),
    terminal,
    consoleSocket: opts.consoleSocket,
    preserveFds: (opts.listenFds ?? 0) + (opts.preserveFds ?? 0),
    scheduler,
    ioPriority,
    cpuAffinity,
    consoleSize: terminal && proc.consoleSize ? { rows: proc.consoleSize.height, cols: proc.consoleSize.width } : undefined,
    seccomp: planSeccomp(opts.seccomp),
    apparmorProfile: proc.apparmorProfile || undefined,
    selinuxLabel: proc.selinuxLabel || undefined,
    warnings,
  };
}

/**
 * process.env as runc hands it to execve: each entry NAME=VALUE with a name (else a config error),
 * a name given twice keeps its first place and its last value (what exec's --env relies on to
 * override the container's), and an empty HOME counts as none, so the helper puts the user's home
 * from the container's /etc/passwd there (runc 1.1 and the newest alike).
 */
export function processEnv(env: string[]): string[] {
  const byName = new Map<string, string>();
  env.forEach((kv, i) => {
    const eq = kv.indexOf('=');
    if (eq < 0) throw configError(`/process/env/${i}`, `invalid environment variable ${JSON.stringify(kv)}: missing '='`);
    if (eq === 0) throw configError(`/process/env/${i}`, `invalid environment variable ${JSON.stringify(kv)}: name cannot be empty`);
    if (kv.includes('\0')) throw configError(`/process/env/${i}`, `invalid environment variable ${JSON.stringify(kv.slice(0, eq))}: contains a NUL byte`);
    byName.set(kv.slice(0, eq), kv);
  });
  if (byName.get('HOME') === 'HOME=') byName.delete('HOME');
  return [...byName.values()];
}

/** `tsrun exec`: the process plan plus the namespaces to join. */
export function buildExecPlan(proc: Process, joinNamespaces: ExecPlan['joinNamespaces'], opts: ProcessPlanOptions): ExecPlan {
  const warnings: string[] = [];
  return { ...planProcess(proc, opts, warnings), joinNamespaces };
}

/** JSON numbers above 2^53 arrive rounded; anything at or past 2^64-1 means "unlimited". */
function toU64(n: number): bigint {
  if (n >= 2 ** 64 - 1 || n < 0) return (1n << 64n) - 1n;
  return BigInt(Math.trunc(n));
}

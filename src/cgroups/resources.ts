/**
 * linux.resources as runc reads it: which values mean "not set". Both drivers apply what
 * effectiveResources() leaves, so a zero that a client sends for "no limit" never reaches the kernel.
 * dockerd, for one, sends `cpu.shares: 0`, `blockIO.weight: 0` and more on every `docker run`.
 *
 * Checked against runc 1.1.5 (Debian's) and the newest runc (libcontainer/specconv and the
 * opencontainers/cgroups fs and fs2 drivers). Where the two differ the table says which one tsrun follows.
 *
 * | field                         | not set (dropped)             | v1                                   | v2                                          |
 * |-------------------------------|-------------------------------|--------------------------------------|---------------------------------------------|
 * | cpu.shares                    | 0                             | cpu.shares, read back: clamped fails | cpu.weight = runc ≥ 1.3.2's log formula     |
 * | cpu.quota                     | 0                             | cpu.cfs_quota_us (-1 = none)         | cpu.max "<quota\|max> <period\|100000>"     |
 * | cpu.period                    | 0                             | cpu.cfs_period_us                    | cpu.max "max <period>" without quota        |
 * | cpu.burst, cpu.idle           | absent only (0 is a value)    | cpu.cfs_burst_us, cpu.idle           | cpu.max.burst, cpu.idle (no weight if idle) |
 * | cpu.realtimeRuntime/Period    | 0                             | cpu.rt_runtime_us / cpu.rt_period_us | ignored with a warning (runc: silently)     |
 * | cpu.cpus, cpu.mems            | ""                            | cpuset.cpus / cpuset.mems            | cpuset.cpus / cpuset.mems                   |
 * | memory.limit                  | 0                             | memory.limit_in_bytes (-1 = none)    | memory.max (-1 = max)                       |
 * | memory.reservation            | 0                             | memory.soft_limit_in_bytes           | memory.low (-1 = max)                       |
 * | memory.swap (memory+swap)     | 0                             | memsw; limit -1 and no swap: -1 too  | memory.swap.max = swap - limit, see below   |
 * | memory.kernel, kernelTCP      | always (warning unless 0/-1)  | ignored, as runc ≥ 1.1               | ignored                                     |
 * | memory.swappiness             | absent, 2^64-1 (docker's -1)  | memory.swappiness, 0..100            | ignored with a warning (runc: silently)     |
 * | memory.disableOOMKiller       | false                         | memory.oom_control = 1               | ignored with a warning (runc: silently)     |
 * | memory.useHierarchy           | always (warning if false)     | runc has no mapping                  | always hierarchical                         |
 * | memory.checkBeforeUpdate      | false, or limit <= 0          | the kernel refuses (EBUSY)           | memory.current >= limit is refused          |
 * | pids.limit                    | 0 (runc 1.1.5; see below)     | pids.max (< 0 = max)                 | pids.max (< 0 = max)                        |
 * | blockIO.weight                | 0                             | blkio.weight (or blkio.bfq.weight)   | io.bfq.weight, else io.weight converted     |
 * | blockIO.leafWeight (+ device) | 0                             | blkio.leaf_weight(_device)           | ignored with a warning (runc: silently)     |
 * | blockIO.weightDevice[].weight | 0                             | blkio(.bfq).weight_device            | io.bfq.weight, else io.weight "M:m w"       |
 * | blockIO.throttle*[].rate      | v2: 0 (newest runc)           | "M:m rate" (0 lifts the limit)       | io.max "M:m rbps=rate" (refuses 0)          |
 * | hugepageLimits[].limit        | never (0 is a limit)          | hugetlb.<size>.limit_in_bytes (+rsvd)| hugetlb.<size>.max (+ .rsvd.max)            |
 * | network.classID               | 0                             | net_cls.classid                      | ignored with a warning (no net_cls)         |
 * | network.priorities            | empty                         | net_prio.ifpriomap                   | ignored with a warning (no net_prio)        |
 * | rdma, unified                 | empty                         | rdma.max; unified is an error        | rdma.max; unified last, line by line        |
 *
 * memory.swap on v2 (newest runc): limit -1 and swap unset: swap max; swap -1: max; limit -1: swap as
 * it is; no limit: error; swap == limit: 0 (no swap); else swap - limit.
 *
 * pids.limit 0: runc 1.1.5 reads it as "not set"; the newest runc (spec 1.3.0, where 0 is a real
 * limit) writes pids.max 1. tsrun follows 1.1.5: the clients that send 0 (dockerd before 19.03) mean
 * "no limit", and a container that cannot fork at all is never what they asked for.
 *
 * cpu.shares → cpu.weight: runc 1.1.5 mapped 2..262144 linearly onto 1..10000 (1024 → 39); runc
 * ≥ 1.3.2 uses a quadratic in log2(shares) that keeps the defaults apart (1024 → 100). tsrun uses the
 * newer one.
 */
import type { LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxNetwork, LinuxResources } from '../bundle/spec-types.js';

const R = '/linux/resources';
/** What JSON.parse makes of 18446744073709551615: docker's swappiness -1 as a uint64. */
const UINT64_MAX = 2 ** 64;

export type Warn = (message: string) => void;

/** runc ≥ 1.3.2: cpu.shares (2..262144) → cpu.weight (1..10000), 2 → 1, 1024 → 100, 262144 → 10000. */
export function sharesToWeight(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** runc's blkio weight (10..1000) → io.weight (1..10000) */
export function blkioToIOWeight(weight: number): number {
  const w = Math.min(Math.max(weight, 10), 1000);
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/** A copy of `r` without the values that mean "not set"; v2 also loses (with a warning) what it cannot do. */
export function effectiveResources(r: LinuxResources | undefined, version: 1 | 2, warn: Warn): LinuxResources | undefined {
  if (!r) return undefined;
  const out: LinuxResources = { ...r };
  const memory = r.memory && effectiveMemory(r.memory, version, warn);
  const cpu = r.cpu && effectiveCpu(r.cpu, version, warn);
  const blockIO = r.blockIO && effectiveBlockIO(r.blockIO, version, warn);
  const network = r.network && effectiveNetwork(r.network, version, warn);
  setOrDrop(out, 'memory', memory);
  setOrDrop(out, 'cpu', cpu);
  setOrDrop(out, 'blockIO', blockIO);
  setOrDrop(out, 'network', network);
  if (r.pids !== undefined && (r.pids.limit === undefined || r.pids.limit === 0)) delete out.pids;
  return out;
}

function setOrDrop<K extends 'memory' | 'cpu' | 'blockIO' | 'network'>(out: LinuxResources, key: K, value: LinuxResources[K] | undefined): void {
  if (value !== undefined && Object.keys(value).length > 0) out[key] = value;
  else delete out[key];
}

/** Drops the keys whose value is one of `unset`. */
function dropUnset<T extends object>(obj: T, unset: Partial<Record<keyof T, readonly unknown[]>>): T {
  const out = { ...obj };
  for (const [k, values] of Object.entries(unset) as Array<[keyof T, readonly unknown[]]>) {
    if (out[k] === undefined || values.includes(out[k])) delete out[k];
  }
  return out;
}

function ignored(warn: Warn, pointer: string, why: string): void {
  warn(`config.json ${pointer} is ignored: ${why}`);
}

function effectiveMemory(m: LinuxMemory, version: 1 | 2, warn: Warn): LinuxMemory {
  const P = `${R}/memory`;
  const out = dropUnset(m, { limit: [0], reservation: [0], swap: [0], swappiness: [-1, UINT64_MAX], disableOOMKiller: [false], checkBeforeUpdate: [false] });
  for (const k of ['kernel', 'kernelTCP'] as const) {
    if (out[k] !== undefined && out[k] !== 0 && out[k] !== -1) ignored(warn, `${P}/${k}`, 'kernel memory limits are deprecated by the kernel and ignored (as runc)');
    delete out[k];
  }
  if (out.useHierarchy === false) ignored(warn, `${P}/useHierarchy`, 'memory accounting is always hierarchical on current kernels');
  delete out.useHierarchy;
  if (version === 2) {
    if (out.swappiness !== undefined) ignored(warn, `${P}/swappiness`, 'cgroup v2 has no per-cgroup swappiness');
    if (out.disableOOMKiller === true) ignored(warn, `${P}/disableOOMKiller`, 'cgroup v2 cannot disable the OOM killer per cgroup');
    delete out.swappiness;
    delete out.disableOOMKiller;
  }
  return out;
}

function effectiveCpu(c: LinuxCPU, version: 1 | 2, warn: Warn): LinuxCPU {
  const out = dropUnset(c, { shares: [0], quota: [0], period: [0], realtimeRuntime: [0], realtimePeriod: [0], cpus: [''], mems: [''] });
  if (version === 2) {
    for (const k of ['realtimeRuntime', 'realtimePeriod'] as const) {
      if (out[k] !== undefined) ignored(warn, `${R}/cpu/${k}`, 'cgroup v2 has no realtime group scheduling');
      delete out[k];
    }
  }
  return out;
}

/** List entries keep their places (errors point at them by index); the drivers skip what is left empty. */
function effectiveBlockIO(b: LinuxBlockIO, version: 1 | 2, warn: Warn): LinuxBlockIO {
  const P = `${R}/blockIO`;
  const out = dropUnset(b, { weight: [0], leafWeight: [0] });
  if (out.weightDevice) out.weightDevice = out.weightDevice.map((d) => dropUnset(d, { weight: [0], leafWeight: [0] }));
  if (version === 2) {
    if (out.leafWeight !== undefined) ignored(warn, `${P}/leafWeight`, 'cgroup v2 has no leaf weights');
    delete out.leafWeight;
    out.weightDevice?.forEach((d, i) => {
      if (d.leafWeight !== undefined) ignored(warn, `${P}/weightDevice/${i}/leafWeight`, 'cgroup v2 has no leaf weights');
      delete d.leafWeight;
    });
  }
  const lists = ['weightDevice', 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const;
  for (const k of lists) if (out[k]?.length === 0) delete out[k];
  return out;
}

function effectiveNetwork(n: LinuxNetwork, version: 1 | 2, warn: Warn): LinuxNetwork {
  const out = dropUnset(n, { classID: [0] });
  if (out.priorities?.length === 0) delete out.priorities;
  if (version === 2) {
    if (out.classID !== undefined) ignored(warn, `${R}/network/classID`, 'cgroup v2 has no net_cls controller');
    if (out.priorities !== undefined) ignored(warn, `${R}/network/priorities`, 'cgroup v2 has no net_prio controller');
    return {};
  }
  return out;
}

export interface NeededController {
  /** the v1 controller the field is written to */
  controller: string;
  pointer: string;
}

/** The controllers the limits in `resources` are written to (zeros that mean "unset" need none). */
export function controllersNeeded(resources: LinuxResources | undefined, version: 1 | 2): NeededController[] {
  const r = effectiveResources(resources, version, () => {});
  if (!r) return [];
  const need: NeededController[] = [];
  const add = (controller: string, field: string): void => {
    need.push({ controller, pointer: `/linux/resources/${field}` });
  };
  if (r.memory) add('memory', 'memory');
  if (r.pids) add('pids', 'pids');
  if (r.blockIO) add('blkio', 'blockIO');
  if (r.hugepageLimits?.length) add('hugetlb', 'hugepageLimits');
  if (r.rdma && Object.keys(r.rdma).length) add('rdma', 'rdma');
  if (r.unified && Object.keys(r.unified).length) add('unified', 'unified');
  if (r.network?.classID !== undefined) add('net_cls', 'network/classID');
  if (r.network?.priorities?.length) add('net_prio', 'network/priorities');
  if (r.cpu) {
    const { cpus, mems, ...rest } = r.cpu;
    if (cpus || mems) add('cpuset', cpus ? 'cpu/cpus' : 'cpu/mems');
    if (Object.values(rest).some((v) => v !== undefined)) add('cpu', 'cpu');
  }
  return need;
}

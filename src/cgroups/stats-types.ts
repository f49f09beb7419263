/**
 * What `events` prints as a stats event's data: runc's types.Stats, field for field with runc's JSON
 * names. Counters are u64 in the kernel, so they are bigints here and toJson() writes them as plain
 * numbers. Go's `omitempty` is followed: a field runc omits when zero is left undefined (see nz()).
 */

/** "some"/"full" lines of a cgroup v2 *.pressure file */
export interface PsiData {
  avg10: number;
  avg60: number;
  avg300: number;
  total: bigint;
}
export interface PsiStats {
  some?: PsiData;
  full?: PsiData;
}

export interface CpuStats {
  usage: {
    /** nanoseconds */
    total?: bigint;
    percpu?: bigint[];
    percpu_kernel?: bigint[];
    percpu_user?: bigint[];
    kernel: bigint;
    user: bigint;
  };
  throttling: { periods?: bigint; throttledPeriods?: bigint; throttledTime?: bigint };
  psi?: PsiStats;
}

export interface CpusetStats {
  cpus?: number[];
  cpu_exclusive: bigint;
  mems?: number[];
  mem_hardwall: bigint;
  mem_exclusive: bigint;
  memory_migrate: bigint;
  memory_spread_page: bigint;
  memory_spread_slab: bigint;
  memory_pressure: bigint;
  sched_load_balance: bigint;
  sched_relax_domain_level: bigint;
}

export interface MemoryEntry {
  limit: bigint;
  usage?: bigint;
  max?: bigint;
  failcnt: bigint;
}

export interface MemoryStats {
  cache?: bigint;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  /** memory.stat as it is */
  raw?: Record<string, bigint>;
  psi?: PsiStats;
}

export interface BlkioEntry {
  major?: bigint;
  minor?: bigint;
  op?: string;
  value?: bigint;
}

export const BLKIO_LISTS = [
  'ioServiceBytesRecursive', 'ioServicedRecursive', 'ioQueueRecursive', 'ioServiceTimeRecursive',
  'ioWaitTimeRecursive', 'ioMergedRecursive', 'ioTimeRecursive', 'sectorsRecursive',
] as const;
export type BlkioList = (typeof BLKIO_LISTS)[number];
export type BlkioStats = Partial<Record<BlkioList, BlkioEntry[]>> & { psi?: PsiStats };

export interface HugetlbStats {
  usage?: bigint;
  max?: bigint;
  failcnt: bigint;
}

/** runc names the fields of this one in Go style (no JSON tags). */
export interface NetworkInterface {
  Name: string;
  RxBytes: bigint;
  RxPackets: bigint;
  RxErrors: bigint;
  RxDropped: bigint;
  TxBytes: bigint;
  TxPackets: bigint;
  TxErrors: bigint;
  TxDropped: bigint;
}

export interface Stats {
  cpu: CpuStats;
  cpuset: CpusetStats;
  memory: MemoryStats;
  pids: { current?: bigint; limit?: bigint };
  blkio: BlkioStats;
  /** by page size, "2MB" */
  hugetlb: Record<string, HugetlbStats>;
  intel_rdt: Record<string, never>;
  network_interfaces: NetworkInterface[] | null;
}

const memoryEntry = (): MemoryEntry => ({ limit: 0n, failcnt: 0n });

/** Everything zero, as runc's zero value encodes; optional keys are there (undefined) to fix runc's key order. */
export function emptyStats(): Stats {
  return {
    cpu: {
      usage: { total: undefined, percpu: undefined, percpu_kernel: undefined, percpu_user: undefined, kernel: 0n, user: 0n },
      throttling: {},
      psi: undefined,
    },
    cpuset: {
      cpus: undefined, cpu_exclusive: 0n, mems: undefined, mem_hardwall: 0n, mem_exclusive: 0n, memory_migrate: 0n,
      memory_spread_page: 0n, memory_spread_slab: 0n, memory_pressure: 0n, sched_load_balance: 0n, sched_relax_domain_level: 0n,
    },
    memory: {
      cache: undefined, usage: memoryEntry(), swap: memoryEntry(), kernel: memoryEntry(), kernelTCP: memoryEntry(), raw: undefined, psi: undefined,
    },
    pids: { current: undefined, limit: undefined },
    blkio: { ...Object.fromEntries(BLKIO_LISTS.map((k) => [k, undefined])), psi: undefined },
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** Go's omitempty for a u64: zero is left out. */
export function nz(v: bigint | undefined): bigint | undefined {
  return v === undefined || v === 0n ? undefined : v;
}

/** omitempty for a list */
export function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

/** Go encodes maps with their keys sorted. */
export function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** JSON with bigints written as numbers (JSON.stringify refuses them). */
export function toJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0000${marks.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]);
}

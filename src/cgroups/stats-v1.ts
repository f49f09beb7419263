/**
 * Stats of a cgroup v1 container from its hierarchies' files, as runc's fs driver reads them: cpuacct
 * and cpu.stat, cpuset, memory (usage, memsw, kmem, kmem.tcp, memory.stat), pids, blkio (the first
 * file group the kernel fills: BFQ, CFQ, throttle), hugetlb per page size.
 */
import { nonEmpty, nz, sortedRecord, type BlkioEntry, type BlkioList, type MemoryEntry, type Stats } from './stats-types.js';
import { parseCpuList, parseUint, StatsReader } from './stats-read.js';

/** cpuacct.stat counts USER_HZ ticks, 100 a second on Linux. */
const NS_PER_TICK = 10_000_000n;

export function statsV1(stats: Stats, paths: Record<string, string>, r: StatsReader, pageSizes: string[]): void {
  const p = (c: string): string | undefined => paths[c];
  const cpuacct = p('cpuacct');
  if (cpuacct) cpuacctStats(stats, cpuacct, r);
  const cpu = p('cpu');
  const cpuStat = cpu ? r.keyValues(cpu, 'cpu.stat') : undefined;
  if (cpuStat) {
    stats.cpu.throttling = {
      periods: nz(cpuStat.get('nr_periods')),
      throttledPeriods: nz(cpuStat.get('nr_throttled')),
      throttledTime: nz(cpuStat.get('throttled_time')),
    };
  }
  const cpuset = p('cpuset');
  if (cpuset) cpusetStats(stats, cpuset, r);
  const memory = p('memory');
  if (memory) memoryStats(stats, memory, r);
  const pids = p('pids');
  if (pids) {
    const max = r.text(pids, 'pids.max')?.trim();
    stats.pids = { current: nz(r.uint(pids, 'pids.current')), limit: max === undefined || max === 'max' ? undefined : nz(parseUint(max)) };
  }
  const blkio = p('blkio');
  if (blkio) blkioStats(stats, blkio, r);
  const hugetlb = p('hugetlb');
  for (const size of hugetlb ? pageSizes : []) {
    const usage = r.uint(hugetlb!, `hugetlb.${size}.usage_in_bytes`);
    if (usage === undefined) continue;
    stats.hugetlb[size] = {
      usage: nz(usage),
      max: nz(r.uint(hugetlb!, `hugetlb.${size}.max_usage_in_bytes`)),
      failcnt: r.uint(hugetlb!, `hugetlb.${size}.failcnt`) ?? 0n,
    };
  }
}

function perCpu(text: string | undefined): bigint[] | undefined {
  return text === undefined ? undefined : nonEmpty(text.trim().split(/\s+/).filter(Boolean).map(parseUint));
}

function cpuacctStats(stats: Stats, dir: string, r: StatsReader): void {
  const usage = stats.cpu.usage;
  usage.total = nz(r.uint(dir, 'cpuacct.usage'));
  usage.percpu = perCpu(r.text(dir, 'cpuacct.usage_percpu'));
  // "cpu user system" then one line per cpu (kernel 4.7+)
  const all = r.text(dir, 'cpuacct.usage_all');
  if (all !== undefined) {
    const rows = all.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    usage.percpu_user = nonEmpty(rows.filter((x) => x.length === 3).map((x) => parseUint(x[1])));
    usage.percpu_kernel = nonEmpty(rows.filter((x) => x.length === 3).map((x) => parseUint(x[2])));
  }
  const ticks = r.keyValues(dir, 'cpuacct.stat');
  usage.user = (ticks?.get('user') ?? 0n) * NS_PER_TICK;
  usage.kernel = (ticks?.get('system') ?? 0n) * NS_PER_TICK;
}

function cpusetStats(stats: Stats, dir: string, r: StatsReader): void {
  const cs = stats.cpuset;
  const cpus = r.text(dir, 'cpuset.cpus');
  const mems = r.text(dir, 'cpuset.mems');
  cs.cpus = cpus === undefined ? undefined : nonEmpty(parseCpuList(cpus));
  cs.mems = mems === undefined ? undefined : nonEmpty(parseCpuList(mems));
  const flags = [
    'cpu_exclusive', 'mem_hardwall', 'mem_exclusive', 'memory_migrate', 'memory_spread_page', 'memory_spread_slab',
    'memory_pressure', 'sched_load_balance',
  ] as const;
  for (const f of flags) cs[f] = r.uint(dir, `cpuset.${f}`) ?? 0n;
  const level = r.text(dir, 'cpuset.sched_relax_domain_level')?.trim();
  cs.sched_relax_domain_level = level && /^-?\d+$/.test(level) ? BigInt(level) : 0n;
}

function memoryEntry(dir: string, prefix: string, r: StatsReader): MemoryEntry {
  const limit = r.uint(dir, `${prefix}.limit_in_bytes`);
  // swap and kernel accounting may be off: their files are missing, and the entry stays zero
  if (limit === undefined) return { limit: 0n, failcnt: 0n };
  return {
    limit,
    usage: nz(r.uint(dir, `${prefix}.usage_in_bytes`)),
    max: nz(r.uint(dir, `${prefix}.max_usage_in_bytes`)),
    failcnt: r.uint(dir, `${prefix}.failcnt`) ?? 0n,
  };
}

function memoryStats(stats: Stats, dir: string, r: StatsReader): void {
  const raw = r.keyValues(dir, 'memory.stat');
  if (raw === undefined) return;
  const m = stats.memory;
  m.raw = sortedRecord(raw);
  m.cache = nz(raw.get('cache'));
  m.usage = memoryEntry(dir, 'memory', r);
  m.swap = memoryEntry(dir, 'memory.memsw', r);
  m.kernel = memoryEntry(dir, 'memory.kmem', r);
  m.kernelTCP = memoryEntry(dir, 'memory.kmem.tcp', r);
}

/** Groups of blkio files in runc's order of preference; the first whose first file has entries wins. */
const BLKIO_GROUPS: Array<Array<[string, BlkioList]>> = [
  [
    ['blkio.bfq.sectors_recursive', 'sectorsRecursive'],
    ['blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.bfq.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.bfq.io_queued_recursive', 'ioQueueRecursive'],
    ['blkio.bfq.time_recursive', 'ioTimeRecursive'],
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.sectors_recursive', 'sectorsRecursive'],
    ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.io_time_recursive', 'ioTimeRecursive'],
    ['blkio.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
    ['blkio.io_queued_recursive', 'ioQueueRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive'],
  ],
];

/** "8:0 Read 4096" (or "8:0 4096" for sectors and times); "Total N" lines are skipped. */
export function blkioEntries(text: string | undefined): BlkioEntry[] | undefined {
  if (text === undefined) return undefined;
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/[\s:]+/).filter(Boolean);
    if (f.length < 3) continue;
    const [major, minor] = [parseUint(f[0]), parseUint(f[1])];
    const op = f.length === 4 ? f[2] : undefined;
    out.push({ major: nz(major), minor: nz(minor), op: op || undefined, value: nz(parseUint(f[f.length === 4 ? 3 : 2])) });
  }
  return out;
}

function blkioStats(stats: Stats, dir: string, r: StatsReader): void {
  for (const group of BLKIO_GROUPS) {
    const first = blkioEntries(r.text(dir, group[0][0]));
    if (!first || first.length === 0) continue;
    for (const [file, key] of group) stats.blkio[key] = nonEmpty(blkioEntries(r.text(dir, file)));
    return;
  }
}

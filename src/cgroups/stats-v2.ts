/**
 * Stats of a cgroup v2 container from its one directory, as runc's fs2 driver reads them and maps
 * them onto the v1-shaped types: cpu.stat (usec → ns), memory.current/max/peak, memory.swap.* (shown
 * as memory+swap, like v1), memory.stat, pids (pids.current, or cgroup.procs without the
 * controller), io.stat, hugetlb.<size>.current/events, and the *.pressure files.
 */
import { nz, sortedRecord, type BlkioEntry, type BlkioList, type MemoryEntry, type Stats } from './stats-types.js';
import { U64_MAX, parseUint, StatsReader } from './stats-read.js';

export function statsV2(stats: Stats, dir: string, r: StatsReader, pageSizes: string[]): void {
  // cpu.stat is there even without the cpu controller
  const cpu = r.keyValues(dir, 'cpu.stat');
  if (cpu) {
    const us = (k: string): bigint | undefined => (cpu.has(k) ? cpu.get(k)! * 1000n : undefined);
    stats.cpu.usage = { total: nz(us('usage_usec')), kernel: us('system_usec') ?? 0n, user: us('user_usec') ?? 0n };
    stats.cpu.throttling = { periods: nz(cpu.get('nr_periods')), throttledPeriods: nz(cpu.get('nr_throttled')), throttledTime: nz(us('throttled_usec')) };
  }
  stats.cpu.psi = r.psi(dir, 'cpu.pressure');
  memoryStats(stats, dir, r);
  stats.memory.psi = r.psi(dir, 'memory.pressure');
  const current = r.uint(dir, 'pids.current');
  if (current !== undefined) {
    const max = r.uint(dir, 'pids.max');
    stats.pids = { current: nz(current), limit: max === U64_MAX ? undefined : nz(max) };
  } else {
    const procs = r.text(dir, 'cgroup.procs') ?? '';
    stats.pids = { current: nz(BigInt(procs.split('\n').filter((l) => l.trim()).length)) };
  }
  ioStats(stats, dir, r);
  stats.blkio.psi = r.psi(dir, 'io.pressure');
  for (const size of pageSizes) {
    const usage = r.uint(dir, `hugetlb.${size}.current`);
    if (usage === undefined) continue;
    stats.hugetlb[size] = { usage: nz(usage), failcnt: r.keyValues(dir, `hugetlb.${size}.events`)?.get('max') ?? 0n };
  }
}

function entry(dir: string, prefix: string, r: StatsReader): MemoryEntry | undefined {
  const usage = r.uint(dir, `${prefix}.current`);
  if (usage === undefined) return undefined;
  // memory.peak since 5.19, memory.swap.peak since 6.5
  return { limit: r.uint(dir, `${prefix}.max`) ?? 0n, usage, max: nz(r.uint(dir, `${prefix}.peak`)), failcnt: 0n };
}

function memoryStats(stats: Stats, dir: string, r: StatsReader): void {
  const raw = r.keyValues(dir, 'memory.stat');
  if (raw === undefined) return; // no memory controller here
  const m = stats.memory;
  m.raw = sortedRecord(raw);
  m.cache = nz(raw.get('file'));
  const usage = entry(dir, 'memory', r);
  if (!usage) return;
  m.usage = { ...usage, usage: nz(usage.usage) };
  // v1 showed memory+swap; so does runc for v2 (and no peak for the sum)
  const swap = entry(dir, 'memory.swap', r) ?? { limit: 0n, usage: 0n, failcnt: 0n };
  const limit = swap.limit === U64_MAX ? U64_MAX : swap.limit + usage.limit;
  m.swap = { limit: limit > U64_MAX ? U64_MAX : limit, usage: nz((swap.usage ?? 0n) + (usage.usage ?? 0n)), failcnt: 0n };
}

/** io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." as v1's service bytes and serviced lists. */
function ioStats(stats: Stats, dir: string, r: StatsReader): void {
  const text = r.text(dir, 'io.stat');
  if (text === undefined) return;
  const lists: Partial<Record<BlkioList, BlkioEntry[]>> = {};
  const map: Record<string, [BlkioList, string]> = {
    rbytes: ['ioServiceBytesRecursive', 'Read'],
    wbytes: ['ioServiceBytesRecursive', 'Write'],
    rios: ['ioServicedRecursive', 'Read'],
    wios: ['ioServicedRecursive', 'Write'],
  };
  for (const line of text.split('\n')) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    for (const f of fields) {
      const [k, v] = f.split('=');
      const to = map[k];
      if (!to || v === undefined) continue;
      (lists[to[0]] ??= []).push({ major: nz(BigInt(m[1])), minor: nz(BigInt(m[2])), op: to[1], value: nz(parseUint(v)) });
    }
  }
  Object.assign(stats.blkio, lists);
}

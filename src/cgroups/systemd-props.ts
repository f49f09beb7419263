/**
 * linux.resources → the properties of a systemd transient unit, as runc's systemd driver maps them
 * (libcontainer/cgroups/systemd v1.go / v2.go), and the `org.systemd.property.<Name>` annotations.
 * Pure: no D-Bus here. A property is [name, [D-Bus signature, value]], the variant form the D-Bus
 * library marshals; 64-bit values are decimal strings so that 2^64-1 ("infinity") stays exact.
 *
 * What systemd cannot express (swappiness, hugetlb, rdma, unified, blkio device weights, ...) is
 * written to the unit's cgroup files afterwards by the cgroupfs drivers, as runc does.
 */
import type { LinuxDeviceCgroup, LinuxResources } from '../bundle/spec-types.js';
import { configError } from '../errors.js';
import { effectiveDeviceRules } from './device-filter.js';
import { sharesToWeight } from './resources.js';

export type Variant = [signature: string, value: unknown];
export type UnitProperty = [name: string, value: Variant];

const R = '/linux/resources';
/** USEC_INFINITY and "no limit" for systemd's uint64 properties */
export const UINT64_MAX = '18446744073709551615';
const DEFAULT_CPU_PERIOD_US = 100000;

const u64 = (n: number | bigint): Variant => ['t', n < 0 ? UINT64_MAX : BigInt(n).toString()];

export interface SystemdPropsOptions {
  version: 1 | 2;
  /** systemd's Version (e.g. 252): CPUQuotaPeriodUSec needs 242, AllowedCPUs 244 */
  systemdVersion: number;
  /** /proc/devices text, for "type major:*" rules (systemd names those by device group) */
  procDevices?: string;
  warn?: (message: string) => void;
}

/** The resource properties runc sets on the unit, for a create (all of `r`) or an update (what is given). */
export function resourceProperties(r: LinuxResources | undefined, o: SystemdPropsOptions): UnitProperty[] {
  if (!r) return [];
  const props: UnitProperty[] = [];
  const warn = o.warn ?? (() => {});
  if (r.devices !== undefined) props.push(...deviceProperties(r.devices, o.procDevices ?? '', warn));
  const m = r.memory;
  if (o.version === 2) {
    if (m?.limit) props.push(['MemoryMax', u64(m.limit)]);
    if (m?.reservation) props.push(['MemoryLow', u64(m.reservation)]);
    const swap = m ? swapForSystemd(m.swap ?? 0, m.limit ?? 0) : 0;
    if (swap !== 0) props.push(['MemorySwapMax', u64(swap)]);
    if (r.cpu?.shares) props.push(['CPUWeight', u64(sharesToWeight(r.cpu.shares))]);
  } else {
    if (m?.limit) props.push(['MemoryLimit', u64(m.limit)]);
    if (r.cpu?.shares) props.push(['CPUShares', u64(r.cpu.shares)]);
    if (r.blockIO?.weight) props.push(['BlockIOWeight', u64(r.blockIO.weight)]);
  }
  props.push(...cpuQuotaProperties(r.cpu?.quota ?? 0, r.cpu?.period ?? 0, o.systemdVersion));
  if (o.systemdVersion >= 244) {
    if (r.cpu?.cpus) props.push(['AllowedCPUs', ['ay', rangeToBits(r.cpu.cpus, `${R}/cpu/cpus`)]]);
    if (r.cpu?.mems) props.push(['AllowedMemoryNodes', ['ay', rangeToBits(r.cpu.mems, `${R}/cpu/mems`)]]);
  }
  const pids = r.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids === -1)) props.push(['TasksMax', u64(pids)]);
  return props;
}

/** What the unit always gets besides resources (runc: Description, Slice or Wants, Delegate, accounting, PIDs). */
export function unitProperties(o: { unit: string; slice: string; id: string; pid: number; version: 1 | 2 }): UnitProperty[] {
  const props: UnitProperty[] = [['Description', ['s', `tsrun container ${o.id}`]]];
  if (o.unit.endsWith('.slice')) props.push(['Wants', ['as', [o.slice]]]);
  else props.push(['Slice', ['s', o.slice]], ['Delegate', ['b', true]]);
  props.push(['PIDs', ['au', [o.pid]]]);
  props.push(['MemoryAccounting', ['b', true]], ['CPUAccounting', ['b', true]]);
  props.push(o.version === 2 ? ['IOAccounting', ['b', true]] : ['BlockIOAccounting', ['b', true]]);
  props.push(['TasksAccounting', ['b', true]], ['DefaultDependencies', ['b', false]]);
  return props;
}

/** runc's ConvertMemorySwapToCgroupV2Value: the spec's memory+swap → MemorySwapMax (swap alone). */
function swapForSystemd(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === 0 || limit === -1) throw configError(`${R}/memory/swap`, 'cannot set a swap limit without memory.limit');
  if (swap < limit) throw configError(`${R}/memory/swap`, `${swap} is below memory.limit ${limit}; swap is the memory+swap limit`);
  return swap - limit;
}

/**
 * CPUQuotaPerSecUSec (and CPUQuotaPeriodUSec from systemd 242): systemd keeps the quota as a whole
 * percentage of a CPU, so a fraction is rounded up to the next 10 ms per second, as runc does, so
 * that the cgroup's quota is never below what was asked.
 */
export function cpuQuotaProperties(quota: number, period: number, systemdVersion: number): UnitProperty[] {
  const props: UnitProperty[] = [];
  if (period !== 0 && systemdVersion >= 242) props.push(['CPUQuotaPeriodUSec', u64(period)]);
  if (quota !== 0 || period !== 0) {
    let perSec = BigInt(UINT64_MAX);
    if (quota > 0) {
      perSec = (BigInt(quota) * 1000000n) / BigInt(period || DEFAULT_CPU_PERIOD_US);
      if (perSec % 10000n !== 0n) perSec = (perSec / 10000n + 1n) * 10000n;
    }
    props.push(['CPUQuotaPerSecUSec', ['t', perSec.toString()]]);
  }
  return props;
}

/** "0-3,8" → systemd's CPU/NUMA bitmask: byte 0 holds 0..7 (bit 0 = 0), as runc's RangeToBits. */
export function rangeToBits(list: string, pointer: string): number[] {
  const bytes: number[] = [];
  const set = (i: number) => {
    while (bytes.length <= i >> 3) bytes.push(0);
    bytes[i >> 3] |= 1 << (i & 7);
  };
  for (const raw of list.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw configError(pointer, `invalid list ${JSON.stringify(list)}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start > end) throw configError(pointer, `invalid range ${JSON.stringify(part)}`);
    if (end >= 1 << 16) throw configError(pointer, `${end} is too large`);
    for (let i = start; i <= end; i++) set(i);
  }
  while (bytes.length && bytes[bytes.length - 1] === 0) bytes.pop();
  if (bytes.length === 0) throw configError(pointer, `empty list ${JSON.stringify(list)}`);
  return bytes;
}

/**
 * DevicePolicy and DeviceAllow (runc's generateDeviceProperties): systemd only has allow lists, in
 * "strict" mode. n:m rules are /dev/{char,block}/n:m paths, n:* rules a device group of
 * /proc/devices ("char-pts"), *:* "char-*"/"block-*"; *:m rules systemd cannot say (skipped with a
 * warning). A list that ends allowing all is DevicePolicy=auto; a deny list is deny-all here. The
 * exact rules are then enforced by tsrun's own program (v2) or devices.allow/deny (v1).
 */
export function deviceProperties(rules: readonly LinuxDeviceCgroup[], procDevices: string, warn: (m: string) => void): UnitProperty[] {
  const { defaultAllow, rules: effective } = effectiveDeviceRules(rules, `${R}/devices`);
  const strict: UnitProperty[] = [['DevicePolicy', ['s', 'strict']], ['DeviceAllow', ['a(ss)', []]]];
  if (defaultAllow) {
    if (effective.length === 0) return [['DevicePolicy', ['s', 'auto']], ['DeviceAllow', ['a(ss)', []]]];
    warn('systemd cannot express device deny rules: its unit gets deny-all, tsrun\'s own rules decide');
    return strict;
  }
  // Allow rules in effect (a later deny only narrows what systemd is told to allow; tsrun's rules decide).
  const allowed = new Map<string, Set<string>>();
  for (const rule of effective) {
    if (!rule.allow) continue;
    for (const type of rule.type === 'a' ? (['c', 'b'] as const) : [rule.type]) {
      const prefix = type === 'c' ? 'char-' : 'block-';
      let path: string;
      if (rule.major === undefined) {
        if (rule.minor !== undefined) {
          warn(`systemd has no "${type} *:${rule.minor}" device rules; the rule is left to tsrun's own rules`);
          continue;
        }
        path = `${prefix}*`;
      } else if (rule.minor === undefined) {
        const group = deviceGroup(procDevices, type, rule.major);
        if (!group) {
          warn(`no device group for "${type} ${rule.major}:*" in /proc/devices; the rule is left to tsrun's own rules`);
          continue;
        }
        path = `${prefix}${group}`;
      } else {
        path = `/dev/${type === 'c' ? 'char' : 'block'}/${rule.major}:${rule.minor}`;
      }
      const perms = allowed.get(path) ?? new Set<string>();
      for (const c of rule.access) perms.add(c);
      allowed.set(path, perms);
    }
  }
  const entries = [...allowed].map(([p, perms]) => [p, ['r', 'w', 'm'].filter((c) => perms.has(c)).join('')]);
  return [strict[0], strict[1], ['DeviceAllow', ['a(ss)', entries]]];
}

/** The device group (second column of /proc/devices) of a major number in its section. */
export function deviceGroup(procDevices: string, type: 'c' | 'b', major: number): string | undefined {
  let section: 'c' | 'b' | undefined;
  for (const line of procDevices.split('\n')) {
    if (/^Character devices:/.test(line)) section = 'c';
    else if (/^Block devices:/.test(line)) section = 'b';
    else if (section === type) {
      const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
      if (m && Number(m[1]) === major) return m[2];
    }
  }
  return undefined;
}

/**
 * cgroup v2 driver: one directory, its missing ancestors made and the controllers enabled top-down
 * through cgroup.subtree_control (v2-controllers.ts says which the resources need), spec values
 * converted to v2 files as runc's fs2 driver does (resources.ts has the table: cpu.weight, cpu.max
 * and .burst, cpu.idle, cpuset, memory.max/low/swap.max, io.weight/io.bfq.weight/io.max, pids.max,
 * hugetlb.<size>.max and .rsvd.max, rdma.max, then unified line by line; memory.high and misc.max
 * have no spec field and are reached through unified, as with runc). Device rules become an eBPF
 * program (compiled in device-filter.ts, attached through bpf.ts). Freezing waits for "frozen 1" in
 * cgroup.events, killAll() writes cgroup.kill, destroy() retries rmdir while the cgroup drains.
 */
import * as path from 'node:path';
import { configError, TsrunError } from '../errors.js';
import type {
  LinuxBlockIO, LinuxCPU, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxPids,
  LinuxRdma, LinuxResources,
} from '../bundle/spec-types.js';
import { realCgroupBpf, type CgroupBpf } from './bpf.js';
import {
  BaseManager, type ManagerOptions, checkInt, checkMemoryValues, checkPageSize, devNum, errCode, isCgroupBeingRemoved,
} from './common.js';
import { compileDeviceFilter } from './device-filter.js';
import { sleepMs } from './fs.js';
import { pointerToken } from './paths.js';
import { rdmaLine } from './v1.js';
import { blkioToIOWeight, effectiveResources, sharesToWeight } from './resources.js';
import { watchOomV2, type OomWatch } from './oom.js';
import type { StatsReader } from './stats-read.js';
import type { Stats } from './stats-types.js';
import { statsV2 } from './stats-v2.js';
import { neededControllers } from './v2-controllers.js';

const R = '/linux/resources';

const num = (v: number): string => (v < 0 ? 'max' : String(v));

export class V2Manager extends BaseManager {
  readonly version = 2 as const;
  private readonly bpf: CgroupBpf;

  constructor(dir: string, opts: ManagerOptions) {
    super({ '': dir }, opts);
    this.bpf = opts.bpf ?? realCgroupBpf;
  }

  private get dir(): string {
    return this.paths[''];
  }

  protected initDir(_dir: string): void {}

  /**
   * mkdir -p, then every level from the root down to the parent hands its controllers on (all it
   * has, as runc). A controller `resources` needs that an ancestor cannot hand on is an error naming
   * the ancestor: most often one that holds processes itself, which cgroup v2 forbids for a cgroup
   * whose children use domain controllers. Others are left for apply() to name by field.
   */
  override create(resources?: LinuxResources): void {
    super.create();
    const chain: string[] = [];
    for (let d = path.posix.dirname(this.dir); d.length >= this.fsRoot.length; d = path.posix.dirname(d)) {
      chain.unshift(d);
      if (d === this.fsRoot || d === '/') break;
    }
    const needed = neededControllers(resources);
    try {
      for (const d of chain) this.enableControllers(d, needed);
    } catch (err) {
      try {
        this.destroy();
      } catch (cleanupErr) {
        (err as TsrunError).cleanupErrors?.push(cleanupErr as TsrunError);
      }
      throw err;
    }
  }

  private enableControllers(dir: string, needed: Set<string>): void {
    let available: string[];
    let enabled: Set<string>;
    try {
      available = words(this.fs.readFile(this.file(dir, 'cgroup.controllers')));
      enabled = new Set(words(this.fs.readFile(this.file(dir, 'cgroup.subtree_control'))));
    } catch {
      return;
    }
    const missing = available.filter((c) => !enabled.has(c));
    if (missing.length === 0) return;
    const file = this.file(dir, 'cgroup.subtree_control');
    try {
      this.fs.writeFile(file, missing.map((c) => `+${c}`).join(' '));
      return;
    } catch {
      // one by one: a restricted ancestor may still hand on some
    }
    for (const c of missing) {
      try {
        this.fs.writeFile(file, `+${c}`);
      } catch (err) {
        if (needed.has(c)) throw this.enableError(dir, c, err);
      }
    }
  }

  private enableError(dir: string, controller: string, err: unknown): TsrunError {
    const code = errCode(err);
    let pids: string[] = [];
    try {
      pids = words(this.fs.readFile(this.file(dir, 'cgroup.procs')));
    } catch {
      // the error below says what is known
    }
    const why = pids.length > 0 && dir !== this.fsRoot
      ? `it holds processes (${pids.slice(0, 5).join(', ')}${pids.length > 5 ? ', ...' : ''}), and a cgroup v2 with processes cannot hand controllers to its children; move them out or choose another linux.cgroupsPath`
      : `${code ?? (err as Error).message}`;
    return new TsrunError(`create cgroup: cannot enable the "${controller}" controller the resources need in "${this.file(dir, 'cgroup.subtree_control')}": ${why}`, {
      kind: 'kernel', pointer: '/linux/cgroupsPath', code, path: this.file(dir, 'cgroup.subtree_control'), cause: err,
    });
  }

  protected override missingHint(file: string): string {
    const base = path.posix.basename(file);
    const controller = base.split('.')[0];
    if (controller === 'cgroup') return '';
    try {
      const have = words(this.fs.readFile(this.file(path.posix.dirname(file), 'cgroup.controllers')));
      if (!have.includes(controller)) return ` (controller "${controller}" is not enabled for this cgroup)`;
    } catch {
      // no cgroup.controllers to explain with
    }
    if (base.startsWith('memory.swap.')) return ' (swap accounting is off)';
    if (base.startsWith('hugetlb.')) return ' (no such huge page size)';
    return '';
  }

  protected procsDirs(): string[] {
    return [this.dir];
  }

  apply(resources: LinuxResources | undefined): void {
    const r = effectiveResources(resources, 2, this.warn);
    if (!r) return;
    // runc's fs2 order; unified last, so it overrides what the fields wrote
    this.applyPids(r.pids);
    this.applyMemory(r.memory);
    this.applyIO(r.blockIO);
    this.applyCpu(r.cpu);
    this.applyDevices(r.devices);
    this.applyCpuset(r.cpu);
    this.applyHugepages(r.hugepageLimits);
    this.applyRdma(r.rdma);
    this.applyUnified(r.unified);
  }

  /**
   * v2 has no devices.allow/deny: the rules become an eBPF program on the cgroup. The new program
   * goes on before the old ones come off, so an update never leaves a moment without a filter
   * (meanwhile both run, and an access needs both to allow it). Rules that allow everything need
   * no program, only the old ones removed.
   */
  private applyDevices(rules: LinuxDeviceCgroup[] | undefined): void {
    if (rules === undefined) return;
    const P = `${R}/devices`;
    const filter = compileDeviceFilter(rules, P);
    const inConfig = (err: unknown): TsrunError => {
      const e = err as TsrunError;
      return new TsrunError(`config.json ${P}: ${e.message}`, { kind: 'kernel', pointer: P, code: e.code, errno: e.errno, syscall: e.syscall, path: this.dir, cause: err });
    };
    try {
      const old = this.bpf.devicePrograms(this.dir);
      if (!filter.allowsAll) this.bpf.attachDeviceProgram(this.dir, filter.program);
      for (const id of old) this.bpf.detachDeviceProgram(this.dir, id);
    } catch (err) {
      throw inConfig(err);
    }
  }

  private applyMemory(m: LinuxMemory | undefined): void {
    if (!m) return;
    const P = `${R}/memory`;
    const dir = this.dir;
    checkMemoryValues(m, P);
    const swap = swapMax(m, P);
    if (swap !== undefined) {
      try {
        this.write(`${P}/swap`, dir, 'memory.swap.max', swap);
      } catch (err) {
        // no swap accounting: "unlimited" or "no swap" are already true
        if (!(errCode((err as TsrunError).cause) === 'ENOENT' && (swap === 'max' || swap === '0'))) throw err;
      }
    }
    if (m.limit !== undefined) {
      if (m.checkBeforeUpdate === true && m.limit > 0) this.checkUsageBelow(m.limit, `${P}/limit`);
      this.write(`${P}/limit`, dir, 'memory.max', num(m.limit));
    }
    if (m.reservation !== undefined) this.write(`${P}/reservation`, dir, 'memory.low', num(m.reservation));
  }

  /** checkBeforeUpdate, best effort as runc: an unreadable memory.current does not stop the update. */
  private checkUsageBelow(limit: number, pointer: string): void {
    let usage: bigint;
    try {
      usage = BigInt(this.fs.readFile(this.file(this.dir, 'memory.current')).trim());
    } catch {
      return;
    }
    if (usage >= BigInt(limit)) throw configError(pointer, `${limit} is not above current usage ${usage} (checkBeforeUpdate)`);
  }

  private applyCpu(cpu: LinuxCPU | undefined): void {
    if (!cpu) return;
    const P = `${R}/cpu`;
    const dir = this.dir;
    if (cpu.idle !== undefined) this.writeOptional(`${P}/idle`, 'cpu.idle', String(checkInt(cpu.idle, `${P}/idle`)));
    // the kernel refuses a weight while the cgroup is idle (runc skips it then)
    if (cpu.shares !== undefined && !cpu.idle) {
      this.write(`${P}/shares`, dir, 'cpu.weight', String(sharesToWeight(checkInt(cpu.shares, `${P}/shares`, 0))));
    }
    // burst may be refused (EINVAL) until the new quota is in: then it goes again after cpu.max
    let burstLater = false;
    if (cpu.burst !== undefined) {
      try {
        this.writeOptional(`${P}/burst`, 'cpu.max.burst', String(checkInt(cpu.burst, `${P}/burst`, 0)));
      } catch (err) {
        if (errCode((err as TsrunError).cause) !== 'EINVAL' || cpu.quota === undefined) throw err;
        burstLater = true;
      }
    }
    if (cpu.quota !== undefined || cpu.period !== undefined) {
      const quota = cpu.quota !== undefined && cpu.quota > 0 ? String(cpu.quota) : 'max';
      // runc writes the kernel's default period when none is given
      const period = cpu.period === undefined ? 100000 : checkInt(cpu.period, `${P}/period`, 1);
      this.write(cpu.quota !== undefined ? `${P}/quota` : `${P}/period`, dir, 'cpu.max', `${quota} ${period}`);
    }
    if (burstLater) this.write(`${P}/burst`, dir, 'cpu.max.burst', String(cpu.burst));
  }

  /** A value of 0 for a file this kernel lacks is what the kernel does anyway (cpu.idle, cpu.max.burst). */
  private writeOptional(pointer: string, name: string, value: string): void {
    if (value === '0' && !this.has(this.dir, name)) return;
    this.write(pointer, this.dir, name, value);
  }

  private applyCpuset(cpu: LinuxCPU | undefined): void {
    if (cpu?.cpus !== undefined) this.write(`${R}/cpu/cpus`, this.dir, 'cpuset.cpus', cpu.cpus);
    if (cpu?.mems !== undefined) this.write(`${R}/cpu/mems`, this.dir, 'cpuset.mems', cpu.mems);
  }

  private applyPids(pids: LinuxPids | undefined): void {
    if (pids?.limit === undefined) return;
    const P = `${R}/pids/limit`;
    this.write(P, this.dir, 'pids.max', pids.limit < 0 ? 'max' : String(checkInt(pids.limit, P, 1)));
  }

  private applyIO(b: LinuxBlockIO | undefined): void {
    if (!b) return;
    const P = `${R}/blockIO`;
    const dir = this.dir;
    // BFQ takes blkio-style weights as they are; io.weight needs converting
    const bfq = this.has(dir, 'io.bfq.weight');
    const weight = (w: number): string => String(bfq ? w : blkioToIOWeight(w));
    const weightFile = bfq ? 'io.bfq.weight' : 'io.weight';
    if (b.weight !== undefined) this.write(`${P}/weight`, dir, weightFile, weight(checkInt(b.weight, `${P}/weight`, 0)));
    (b.weightDevice ?? []).forEach((d, i) => {
      const p = `${P}/weightDevice/${i}`;
      if (d.weight !== undefined) this.write(`${p}/weight`, dir, weightFile, `${devNum(d.major, d.minor, p)} ${weight(checkInt(d.weight, `${p}/weight`, 0))}`);
    });
    const throttle = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ] as const;
    for (const [key, name] of throttle) {
      (b[key] ?? []).forEach((d, i) => {
        const p = `${P}/${key}/${i}`;
        const rate = checkInt(d.rate, `${p}/rate`, 0);
        // io.max refuses 0; the newest runc skips it (v1 reads 0 as "lift the limit")
        if (rate !== 0) this.write(p, dir, 'io.max', `${devNum(d.major, d.minor, p)} ${name}=${rate}`);
      });
    }
  }

  private applyHugepages(limits: LinuxHugepageLimit[] | undefined): void {
    (limits ?? []).forEach((h, i) => {
      const p = `${R}/hugepageLimits/${i}`;
      const size = checkPageSize(h.pageSize, `${p}/pageSize`);
      const value = String(checkInt(h.limit, `${p}/limit`, 0));
      this.write(p, this.dir, `hugetlb.${size}.max`, value);
      if (this.has(this.dir, `hugetlb.${size}.rsvd.max`)) this.write(p, this.dir, `hugetlb.${size}.rsvd.max`, value);
    });
  }

  private applyRdma(rdma: Record<string, LinuxRdma> | undefined): void {
    for (const [device, limits] of Object.entries(rdma ?? {})) {
      const p = `${R}/rdma/${pointerToken(device)}`;
      this.write(p, this.dir, 'rdma.max', rdmaLine(device, limits, p));
    }
  }

  private applyUnified(unified: Record<string, string> | undefined): void {
    for (const [key, value] of Object.entries(unified ?? {})) {
      const p = `${R}/unified/${pointerToken(key)}`;
      if (key === '' || key === '.' || key.includes('/') || key.includes('..') || key.includes('\0')) {
        throw configError(p, `${JSON.stringify(key)} is not a file name in the cgroup directory`);
      }
      if (typeof value !== 'string') throw configError(p, 'must be a string');
      // one write per line, as runc: io.max, for one, takes one device per write
      const lines = value.split('\n').filter((l) => l !== '');
      for (const line of lines.length > 0 ? lines : [value]) this.write(p, this.dir, key, line);
    }
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  private setFrozen(frozen: boolean): void {
    const step = frozen ? 'freeze' : 'thaw';
    this.kernelWrite(step, this.dir, 'cgroup.freeze', frozen ? '1' : '0');
    const deadline = Date.now() + this.freezeTimeoutMs;
    while (this.isFrozen() !== frozen) {
      if (Date.now() >= deadline) {
        if (frozen) {
          try {
            this.kernelWrite(step, this.dir, 'cgroup.freeze', '0');
          } catch {
            // the timeout is the error to report
          }
        }
        throw new TsrunError(`${step}: "${this.file(this.dir, 'cgroup.events')}" does not say "frozen ${frozen ? 1 : 0}" after ${this.freezeTimeoutMs} ms`, {
          kind: 'kernel',
          path: this.file(this.dir, 'cgroup.events'),
        });
      }
      sleepMs(10);
    }
  }

  killAll(): boolean {
    if (!this.has(this.dir, 'cgroup.kill')) return false;
    try {
      this.kernelWrite('kill', this.dir, 'cgroup.kill', '1');
    } catch (err) {
      // a cgroup being removed is empty: nobody is left to kill
      if (!isCgroupBeingRemoved(err)) throw err;
    }
    return true;
  }

  protected fillStats(stats: Stats, reader: StatsReader, pageSizes: string[]): void {
    statsV2(stats, this.dir, reader, pageSizes);
  }

  watchOom(onOom: () => void): OomWatch {
    return watchOomV2(this.dir, onOom);
  }

  isFrozen(): boolean {
    const events = this.kernelRead('read freezer state', this.dir, 'cgroup.events');
    return events.split('\n').some((l) => l.trim() === 'frozen 1');
  }
}

/**
 * memory.swap.max from the spec's memory+swap, as the newest runc converts it; undefined: leave it.
 * (Zeros are gone by now: effectiveResources dropped them.)
 */
export function swapMax(m: LinuxMemory, pointer: string): string | undefined {
  const { limit, swap } = m;
  if (swap === undefined) return limit === -1 ? 'max' : undefined; // unlimited memory, swap unset: unlimited both
  if (swap < 0) return 'max';
  if (limit === -1) return String(swap);
  if (limit === undefined) throw configError(`${pointer}/swap`, 'needs memory.limit on cgroup v2, where memory.swap.max is swap - limit');
  if (swap < limit) throw configError(`${pointer}/swap`, `${swap} is below memory.limit ${limit}; swap is the memory+swap limit, so it must be >= limit`);
  return String(swap - limit);
}

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

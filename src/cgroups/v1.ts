/**
 * cgroup v1 driver: one directory per hierarchy (hierarchies mounted together, like cpu,cpuacct,
 * share one), file names and write orders as runc's fs driver.
 */
import * as path from 'node:path';
import { configError, TsrunError } from '../errors.js';
import type {
  LinuxBlockIO, LinuxCPU, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxNetwork, LinuxPids,
  LinuxRdma, LinuxResources,
} from '../bundle/spec-types.js';
import {
  BaseManager, type ManagerOptions, checkInt, checkMemoryValues, checkPageSize, devNum, errCode, isAllDevices, parseDeviceRule,
} from './common.js';
import { deviceTransition, parseDevicesList, sameDeviceState, stateOfRules, type DeviceState } from './devices-v1.js';
import { sleepMs } from './fs.js';
import { pointerToken } from './paths.js';
import { effectiveResources } from './resources.js';
import { watchOomV1, type OomWatch } from './oom.js';
import type { StatsReader } from './stats-read.js';
import type { Stats } from './stats-types.js';
import { statsV1 } from './stats-v1.js';

const R = '/linux/resources';

export class V1Manager extends BaseManager {
  readonly version = 1 as const;

  constructor(paths: Record<string, string>, opts: ManagerOptions) {
    super(paths, opts);
  }

  /**
   * A new cpuset cgroup starts with empty cpus/mems and refuses tasks (ENOSPC) until they are set,
   * and a value is accepted only within the parent's: so every level from the hierarchy's root down
   * to the new dir gets its parent's values where it has none, existing levels too (an empty one
   * above would refuse them with EACCES). runc fills the same levels (cpusetEnsureParent).
   */
  protected initDir(dir: string): void {
    const cpuset = this.paths.cpuset;
    if (cpuset === undefined || !(cpuset === dir || cpuset.startsWith(dir + '/'))) return;
    for (const name of ['cpuset.cpus', 'cpuset.mems']) {
      if (!this.has(dir, name)) continue;
      const chain: string[] = [];
      for (let d = dir; d !== '/' && this.has(d, name); d = path.posix.dirname(d)) chain.unshift(d);
      // chain[0] is the hierarchy's root, which always has values
      for (let i = 1; i < chain.length; i++) {
        if (this.kernelRead('create cgroup', chain[i], name).trim() !== '') continue;
        const parentValue = this.kernelRead('create cgroup', chain[i - 1], name).trim();
        if (parentValue !== '') this.kernelWrite('create cgroup', chain[i], name, parentValue);
      }
    }
  }

  protected override missingHint(file: string): string {
    const base = path.posix.basename(file);
    if (base.startsWith('memory.memsw.')) return ' (swap accounting is off: boot with swapaccount=1)';
    if (base.startsWith('memory.kmem.')) return ' (kernel memory accounting is not available)';
    if (base.startsWith('hugetlb.')) return ' (no such huge page size)';
    return '';
  }

  /** The hierarchy dir for `controller`, or an error naming the field that needed it. */
  private dir(controller: string, pointer: string): string {
    const d = this.paths[controller];
    if (d === undefined) {
      throw configError(pointer, `not supported on this host: cgroup v1 controller "${controller}" is not mounted`);
    }
    return d;
  }

  protected procsDirs(): string[] {
    for (const c of ['pids', 'freezer', 'memory']) if (this.paths[c] !== undefined) return [this.paths[c]];
    return this.dirs().slice(0, 1);
  }

  apply(resources: LinuxResources | undefined): void {
    const r = effectiveResources(resources, 1, this.warn);
    if (!r) return;
    if (r.unified && Object.keys(r.unified).length > 0) {
      // runc's words (ErrV1NoUnified), which scripts match on
      throw configError(`${R}/unified`, 'invalid configuration: cannot use unified on cgroup v1');
    }
    // runc's order: cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma
    this.applyCpuset(r.cpu);
    this.applyDevices(r.devices);
    this.applyMemory(r.memory);
    this.applyCpu(r.cpu);
    this.applyPids(r.pids);
    this.applyBlockIO(r.blockIO);
    this.applyHugepages(r.hugepageLimits);
    this.applyNetwork(r.network);
    this.applyRdma(r.rdma);
  }

  private applyCpuset(cpu: LinuxCPU | undefined): void {
    if (cpu?.cpus !== undefined) this.write(`${R}/cpu/cpus`, this.dir('cpuset', `${R}/cpu/cpus`), 'cpuset.cpus', cpu.cpus);
    if (cpu?.mems !== undefined) this.write(`${R}/cpu/mems`, this.dir('cpuset', `${R}/cpu/mems`), 'cpuset.mems', cpu.mems);
  }

  /**
   * The fewest writes from the rules the cgroup has now to the ones asked for (devices-v1.ts), so an
   * update never denies, even for a moment, a device both allow; then devices.list must agree.
   */
  private applyDevices(rules: LinuxDeviceCgroup[] | undefined): void {
    if (rules === undefined) return;
    const P = `${R}/devices`;
    const dir = this.dir('devices', P);
    const parsed = rules.map((rule, i) => {
      const p = `${P}/${i}`;
      const parsedRule = parseDeviceRule(rule, p);
      if (parsedRule.type === 'a' && !(isAllDevices(rule) && parsedRule.access === 'rwm')) {
        // the kernel reads any "a" rule as "all devices, all access", which would grant or deny more than asked
        throw configError(p, 'cgroup v1 can only allow or deny all devices with full "rwm" access when type is "a"; give a type and numbers');
      }
      return { rule: parsedRule, pointer: p };
    });
    const target = stateOfRules(parsed);
    const list = (): DeviceState => parseDevicesList(this.read(P, dir, 'devices.list'), this.file(dir, 'devices.list'));
    for (const w of deviceTransition(list(), target)) this.write(P, dir, w.allow ? 'devices.allow' : 'devices.deny', w.line);
    if (!sameDeviceState(list(), target)) {
      throw configError(P, `the kernel's "${this.file(dir, 'devices.list')}" does not show the rules asked for (an ancestor cgroup may deny what they allow)`);
    }
  }

  private applyMemory(m: LinuxMemory | undefined): void {
    if (!m) return;
    const P = `${R}/memory`;
    checkMemoryValues(m, P);
    const needsDir = Object.entries(m).some(([k, v]) => v !== undefined && k !== 'checkBeforeUpdate');
    if (!needsDir) return;
    const dir = this.dir('memory', P);
    const LIMIT = 'memory.limit_in_bytes';
    const MEMSW = 'memory.memsw.limit_in_bytes';
    let swap = m.swap;
    let swapPointer = `${P}/swap`;
    if (m.limit === -1 && swap === undefined && this.has(dir, MEMSW)) {
      // unlimited memory with swap unset means unlimited memory+swap too (runc)
      swap = -1;
      swapPointer = `${P}/limit`;
    }
    const writeLimit = (): void => this.write(`${P}/limit`, dir, LIMIT, String(m.limit));
    const writeSwap = (): void => this.write(swapPointer, dir, MEMSW, String(swap));
    if (m.limit !== undefined && swap !== undefined) {
      // The kernel keeps limit <= memsw at every step: raising goes memsw first, lowering limit first.
      const current = BigInt(this.read(`${P}/limit`, dir, LIMIT).trim());
      if (swap === -1 || current < BigInt(swap)) {
        writeSwap();
        writeLimit();
      } else {
        writeLimit();
        writeSwap();
      }
    } else if (m.limit !== undefined) {
      writeLimit();
    } else if (swap !== undefined) {
      writeSwap();
    }
    if (m.reservation !== undefined) this.write(`${P}/reservation`, dir, 'memory.soft_limit_in_bytes', String(m.reservation));
    if (m.disableOOMKiller === true) this.write(`${P}/disableOOMKiller`, dir, 'memory.oom_control', '1');
    if (m.swappiness !== undefined) {
      this.write(`${P}/swappiness`, dir, 'memory.swappiness', String(checkInt(m.swappiness, `${P}/swappiness`, 0, 100)));
    }
    // checkBeforeUpdate: the v1 kernel already refuses a limit below current usage (EBUSY)
  }

  private applyCpu(cpu: LinuxCPU | undefined): void {
    if (!cpu) return;
    const P = `${R}/cpu`;
    const fields = ['shares', 'quota', 'burst', 'period', 'realtimeRuntime', 'realtimePeriod', 'idle'] as const;
    if (!fields.some((f) => cpu[f] !== undefined)) return;
    const dir = this.dir('cpu', P);
    if (cpu.shares !== undefined) {
      const shares = checkInt(cpu.shares, `${P}/shares`, 0);
      this.write(`${P}/shares`, dir, 'cpu.shares', String(shares));
      const got = Number(this.read(`${P}/shares`, dir, 'cpu.shares').trim());
      if (got !== shares) {
        throw configError(`${P}/shares`, `the kernel clamped ${shares} to ${got}; allowed range is 2..262144`);
      }
    }
    // a burst or idle of 0 where the kernel has no such file is what that kernel does anyway
    const burst = cpu.burst === 0 && !this.has(dir, 'cpu.cfs_burst_us') ? undefined : cpu.burst;
    this.writePair(dir, `${P}/period`, 'cpu.cfs_period_us', cpu.period, `${P}/quota`, 'cpu.cfs_quota_us', cpu.quota, `${P}/burst`, 'cpu.cfs_burst_us', burst);
    this.writePair(dir, `${P}/realtimePeriod`, 'cpu.rt_period_us', cpu.realtimePeriod, `${P}/realtimeRuntime`, 'cpu.rt_runtime_us', cpu.realtimeRuntime);
    if (cpu.idle !== undefined && !(cpu.idle === 0 && !this.has(dir, 'cpu.idle'))) this.write(`${P}/idle`, dir, 'cpu.idle', String(cpu.idle));
  }

  /**
   * period (and burst) go before quota, but the kernel may refuse a new period (EINVAL) while the
   * old quota stands; then they are retried once quota is written (runc does the same).
   */
  private writePair(
    dir: string,
    periodPtr: string, periodFile: string, period: number | undefined,
    quotaPtr: string, quotaFile: string, quota: number | undefined,
    burstPtr?: string, burstFile?: string, burst?: number,
  ): void {
    const later: Array<() => void> = [];
    const early = (ptr: string, file: string, value: number | undefined): void => {
      if (value === undefined) return;
      const w = (): void => this.write(ptr, dir, file, String(value));
      try {
        w();
      } catch (err) {
        if (errCode((err as TsrunError).cause) !== 'EINVAL' || quota === undefined) throw err;
        later.push(w);
      }
    };
    early(periodPtr, periodFile, period);
    if (burstFile !== undefined && burstPtr !== undefined) early(burstPtr, burstFile, burst);
    if (quota !== undefined) this.write(quotaPtr, dir, quotaFile, String(quota));
    for (const w of later) w();
  }

  private applyPids(pids: LinuxPids | undefined): void {
    if (pids?.limit === undefined) return;
    const P = `${R}/pids/limit`;
    // negative: no limit (0 is "not set", see resources.ts)
    this.write(P, this.dir('pids', P), 'pids.max', pids.limit < 0 ? 'max' : String(checkInt(pids.limit, P, 1)));
  }

  private applyBlockIO(b: LinuxBlockIO | undefined): void {
    if (!b) return;
    const P = `${R}/blockIO`;
    const lists = ['weightDevice', 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const;
    if (b.weight === undefined && b.leafWeight === undefined && !lists.some((k) => (b[k]?.length ?? 0) > 0)) return;
    const dir = this.dir('blkio', P);
    // CFQ files, else BFQ's (newer kernels have only BFQ)
    const weightFile = (cfq: string, bfq: string): string => (this.has(dir, cfq) || !this.has(dir, bfq) ? cfq : bfq);
    if (b.weight !== undefined) this.write(`${P}/weight`, dir, weightFile('blkio.weight', 'blkio.bfq.weight'), String(checkInt(b.weight, `${P}/weight`, 0)));
    if (b.leafWeight !== undefined) this.write(`${P}/leafWeight`, dir, 'blkio.leaf_weight', String(checkInt(b.leafWeight, `${P}/leafWeight`, 0)));
    (b.weightDevice ?? []).forEach((d, i) => {
      const p = `${P}/weightDevice/${i}`;
      const dev = devNum(d.major, d.minor, p);
      if (d.weight !== undefined) this.write(`${p}/weight`, dir, weightFile('blkio.weight_device', 'blkio.bfq.weight_device'), `${dev} ${checkInt(d.weight, `${p}/weight`, 0)}`);
      if (d.leafWeight !== undefined) this.write(`${p}/leafWeight`, dir, 'blkio.leaf_weight_device', `${dev} ${checkInt(d.leafWeight, `${p}/leafWeight`, 0)}`);
    });
    const throttle: Array<[(typeof lists)[number], string]> = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ];
    for (const [key, file] of throttle) {
      (b[key] as Array<{ major: number; minor: number; rate: number }> | undefined ?? []).forEach((d, i) => {
        const p = `${P}/${key}/${i}`;
        this.write(p, dir, file, `${devNum(d.major, d.minor, p)} ${checkInt(d.rate, `${p}/rate`, 0)}`);
      });
    }
  }

  private applyHugepages(limits: LinuxHugepageLimit[] | undefined): void {
    (limits ?? []).forEach((h, i) => {
      const p = `${R}/hugepageLimits/${i}`;
      const size = checkPageSize(h.pageSize, `${p}/pageSize`);
      const dir = this.dir('hugetlb', p);
      const value = String(checkInt(h.limit, `${p}/limit`, 0));
      this.write(p, dir, `hugetlb.${size}.limit_in_bytes`, value);
      // reservation accounting, where the kernel has it, is the better limit (spec)
      if (this.has(dir, `hugetlb.${size}.rsvd.limit_in_bytes`)) this.write(p, dir, `hugetlb.${size}.rsvd.limit_in_bytes`, value);
    });
  }

  private applyNetwork(n: LinuxNetwork | undefined): void {
    if (!n) return;
    const P = `${R}/network`;
    if (n.classID !== undefined) {
      this.write(`${P}/classID`, this.dir('net_cls', `${P}/classID`), 'net_cls.classid', String(checkInt(n.classID, `${P}/classID`, 0)));
    }
    (n.priorities ?? []).forEach((prio, i) => {
      const p = `${P}/priorities/${i}`;
      if (typeof prio.name !== 'string' || !/^[^\s/]+$/.test(prio.name)) throw configError(`${p}/name`, 'must be an interface name');
      this.write(p, this.dir('net_prio', p), 'net_prio.ifpriomap', `${prio.name} ${checkInt(prio.priority, `${p}/priority`, 0)}`);
    });
  }

  private applyRdma(rdma: Record<string, LinuxRdma> | undefined): void {
    for (const [device, limits] of Object.entries(rdma ?? {})) {
      const p = `${R}/rdma/${pointerToken(device)}`;
      this.write(p, this.dir('rdma', p), 'rdma.max', rdmaLine(device, limits, p));
    }
  }

  freeze(): void {
    const dir = this.freezerDir();
    const deadline = Date.now() + this.freezeTimeoutMs;
    for (;;) {
      // writing again each round catches tasks forked while freezing (runc does the same)
      this.kernelWrite('freeze', dir, 'freezer.state', 'FROZEN');
      const state = this.kernelRead('freeze', dir, 'freezer.state').trim();
      if (state === 'FROZEN') return;
      if (Date.now() >= deadline) {
        try {
          this.kernelWrite('freeze', dir, 'freezer.state', 'THAWED');
        } catch {
          // the timeout below is the error to report
        }
        throw new TsrunError(`freeze: "${this.file(dir, 'freezer.state')}" still ${state} after ${this.freezeTimeoutMs} ms`, { kind: 'kernel', path: this.file(dir, 'freezer.state') });
      }
      sleepMs(10);
    }
  }

  thaw(): void {
    const dir = this.freezerDir();
    const deadline = Date.now() + this.freezeTimeoutMs;
    for (;;) {
      this.kernelWrite('thaw', dir, 'freezer.state', 'THAWED');
      const state = this.kernelRead('thaw', dir, 'freezer.state').trim();
      if (state === 'THAWED') return;
      if (Date.now() >= deadline) {
        throw new TsrunError(`thaw: "${this.file(dir, 'freezer.state')}" still ${state} after ${this.freezeTimeoutMs} ms`, { kind: 'kernel', path: this.file(dir, 'freezer.state') });
      }
      sleepMs(10);
    }
  }

  isFrozen(): boolean {
    return this.kernelRead('read freezer state', this.freezerDir(), 'freezer.state').trim() === 'FROZEN';
  }

  killAll(): boolean {
    return false;
  }

  protected fillStats(stats: Stats, reader: StatsReader, pageSizes: string[]): void {
    statsV1(stats, this.paths, reader, pageSizes);
  }

  watchOom(onOom: () => void): OomWatch {
    const dir = this.paths.memory;
    if (dir === undefined) throw new TsrunError('OOM notifications need the cgroup v1 memory controller, which is not mounted', { kind: 'kernel' });
    return watchOomV1(dir, onOom);
  }

  private freezerDir(): string {
    const d = this.paths.freezer;
    if (d === undefined) throw new TsrunError('freeze: cgroup v1 controller "freezer" is not mounted', { kind: 'kernel' });
    return d;
  }
}

export function rdmaLine(device: string, limits: LinuxRdma, p: string): string {
  if (!/^[^\s/]+$/.test(device)) throw configError(p, 'must be an RDMA device name');
  const parts = [device];
  if (limits.hcaHandles !== undefined) parts.push(`hca_handle=${checkInt(limits.hcaHandles, `${p}/hcaHandles`, 0)}`);
  if (limits.hcaObjects !== undefined) parts.push(`hca_object=${checkInt(limits.hcaObjects, `${p}/hcaObjects`, 0)}`);
  if (parts.length === 1) throw configError(p, 'needs hcaHandles or hcaObjects');
  return parts.join(' ');
}

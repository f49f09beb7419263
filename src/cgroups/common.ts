/**
 * What both drivers share: directory bookkeeping (create only what is missing, remember it, remove
 * exactly that), and writes that turn a kernel refusal into an error naming the config field.
 */
import * as path from 'node:path';
import { configError, fromSystemError, isGone, TsrunError } from '../errors.js';
import type { LinuxDeviceCgroup, LinuxMemory, LinuxResources } from '../bundle/spec-types.js';
import { log } from '../log.js';
import { sleepMs, type CgroupFs } from './fs.js';
import type { CgroupBpf } from './bpf.js';
import { hugePageSizes, StatsReader } from './stats-read.js';
import { emptyStats, type Stats } from './stats-types.js';

export interface ManagerOptions {
  fsRoot: string;
  fs: CgroupFs;
  /** v2 device programs; default the real bpf(2) */
  bpf?: CgroupBpf;
  /** dirs a previous create() made (from state.json) */
  created?: readonly string[];
  /** how long destroy() retries EBUSY in all; default 2000 */
  destroyBudgetMs?: number;
  /** how long freeze()/thaw() wait for the kernel; default 5000 */
  freezeTimeoutMs?: number;
  /** fields a driver ignores are said here; default the log's warning */
  warn?: (message: string) => void;
}

interface SysErr {
  code?: string;
  errno?: number;
  syscall?: string;
}

export function errCode(err: unknown): string | undefined {
  const c = (err as SysErr | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * ENODEV: what the kernel answers for a file of a cgroup being removed (systemd removes an emptied
 * unit's cgroup on its own while delete or kill still looks at it). Only an empty cgroup can be.
 */
export function isCgroupBeingRemoved(err: unknown): boolean {
  return errCode(err) === 'ENODEV';
}

/** A JSON string, short enough for one error line. */
function shown(value: string): string {
  const s = JSON.stringify(value);
  return s.length > 80 ? s.slice(0, 76) + '..."' : s;
}

export abstract class BaseManager {
  abstract readonly version: 1 | 2;
  readonly paths: Record<string, string>;
  protected readonly fs: CgroupFs;
  protected readonly fsRoot: string;
  /** dirs this manager made, in creation order; destroy() removes exactly these */
  protected readonly createdDirs: string[];

  protected readonly destroyBudgetMs: number;
  protected readonly freezeTimeoutMs: number;
  protected readonly warn: (message: string) => void;

  constructor(paths: Record<string, string>, opts: ManagerOptions) {
    this.paths = Object.freeze({ ...paths });
    this.fsRoot = opts.fsRoot;
    this.fs = opts.fs;
    this.createdDirs = [...(opts.created ?? [])];
    this.destroyBudgetMs = opts.destroyBudgetMs ?? 2000;
    this.freezeTimeoutMs = opts.freezeTimeoutMs ?? 5000;
    this.warn = opts.warn ?? ((message) => log.warn(message));
  }

  get created(): readonly string[] {
    return [...this.createdDirs];
  }

  abstract apply(resources: LinuxResources | undefined): void;
  abstract freeze(): void;
  abstract thaw(): void;
  abstract isFrozen(): boolean;
  protected abstract procsDirs(): string[];
  protected abstract fillStats(stats: Stats, reader: StatsReader, pageSizes: string[]): void;

  /** runc's stats for `events`; `pageSizes` default to the kernel's huge page sizes */
  stats(pageSizes: string[] = hugePageSizes(this.fs)): Stats {
    const stats = emptyStats();
    this.fillStats(stats, new StatsReader(this.fs), pageSizes);
    return stats;
  }
  /** called once for every directory create() makes, parents first */
  protected abstract initDir(dir: string): void;

  /** distinct directories (v1 hierarchies mounted together share one) */
  protected dirs(): string[] {
    return [...new Set(Object.values(this.paths))];
  }

  create(): void {
    const madeNow: string[] = [];
    try {
      for (const dir of this.dirs()) this.mkdirAll(dir, madeNow);
    } catch (err) {
      const e = err instanceof TsrunError ? err : fromSystemError(err, 'create cgroup');
      for (const dir of [...madeNow].reverse()) {
        try {
          this.fs.rmdir(dir);
        } catch (cleanupErr) {
          if (!isGone(cleanupErr)) e.cleanupErrors.push(fromSystemError(cleanupErr, `rmdir "${dir}"`));
        }
      }
      const left = new Set(madeNow);
      for (let i = this.createdDirs.length - 1; i >= 0; i--) if (left.has(this.createdDirs[i])) this.createdDirs.splice(i, 1);
      throw e;
    }
  }

  /** What create() would make now: the missing dirs of every path, parents first. */
  missingDirs(): string[] {
    const missing: string[] = [];
    for (const dir of this.dirs()) {
      const chain: string[] = [];
      for (let d = dir; !this.fs.exists(d); d = path.posix.dirname(d)) {
        if (d === '/' || d === this.fsRoot) break;
        chain.unshift(d);
      }
      for (const d of chain) if (!missing.includes(d)) missing.push(d);
    }
    return missing;
  }

  private mkdirAll(dir: string, madeNow: string[]): void {
    const missing: string[] = [];
    for (let d = dir; !this.fs.exists(d); d = path.posix.dirname(d)) {
      if (d === '/' || d === this.fsRoot) break;
      missing.unshift(d);
    }
    for (const d of missing) {
      try {
        this.fs.mkdir(d);
      } catch (err) {
        if (errCode(err) === 'EEXIST') continue; // raced with someone else: theirs, not ours
        throw fromSystemError(err, `create cgroup: mkdir "${d}"`);
      }
      madeNow.push(d);
      this.createdDirs.push(d);
      this.initDir(d);
    }
  }

  addProcess(pid: number): void {
    addPidToDirs(this.fs, this.dirs(), pid);
  }

  pids(): number[] {
    return this.pidsUnder(this.procsDirs());
  }

  /** Pids in the dir of every hierarchy and below: v1 hierarchies may each hold different ones. */
  allPids(): number[] {
    return this.pidsUnder(this.dirs());
  }

  private pidsUnder(dirs: string[]): number[] {
    const found = new Set<number>();
    const walk = (dir: string): void => {
      let text: string;
      try {
        text = this.fs.readFile(path.posix.join(dir, 'cgroup.procs'));
      } catch (err) {
        if (isGone(err)) return;
        throw fromSystemError(err, `read "${path.posix.join(dir, 'cgroup.procs')}"`);
      }
      for (const l of text.split('\n')) if (l.trim()) found.add(Number(l.trim()));
      let entries;
      try {
        entries = this.fs.readdir(dir);
      } catch (err) {
        if (isGone(err)) return;
        throw fromSystemError(err, `read directory "${dir}"`);
      }
      for (const e of entries) if (e.isDirectory) walk(path.posix.join(dir, e.name));
    };
    for (const dir of dirs) walk(dir);
    return [...found].sort((a, b) => a - b);
  }

  /**
   * Removes the dirs create() made, deepest first; sub-cgroups the container made inside them go
   * too. Processes are never killed here: EBUSY is retried while they finish exiting.
   */
  destroy(): void {
    const deadline = Date.now() + this.destroyBudgetMs;
    const order = [...this.createdDirs].sort((a, b) => b.split('/').length - a.split('/').length);
    const errors: TsrunError[] = [];
    const own = new Set(this.dirs());
    for (const dir of order) {
      try {
        // The container's own dirs go with whatever it made below them; a parent dir that create()
        // made may since hold other containers' cgroups, so it goes only when empty.
        if (own.has(dir)) this.removeTree(dir, deadline);
        else this.removeIfEmpty(dir);
        this.createdDirs.splice(this.createdDirs.indexOf(dir), 1);
      } catch (err) {
        errors.push(err instanceof TsrunError ? err : fromSystemError(err, `remove cgroup "${dir}"`));
      }
    }
    if (errors.length > 0) {
      const [first, ...rest] = errors;
      const e = new TsrunError(`destroy cgroup: ${first.message}`, {
        kind: first.kind, code: first.code, errno: first.errno, syscall: first.syscall, path: first.path, cause: first,
      });
      e.cleanupErrors.push(...rest);
      throw e;
    }
  }

  private removeIfEmpty(dir: string): void {
    try {
      this.fs.rmdir(dir);
    } catch (err) {
      const code = errCode(err);
      if (!isGone(err) && code !== 'EBUSY' && code !== 'ENOTEMPTY') throw fromSystemError(err, `rmdir "${dir}"`);
    }
  }

  private removeTree(dir: string, deadline: number): void {
    for (let delayMs = 10; ; delayMs = Math.min(delayMs * 2, 200)) {
      try {
        this.fs.rmdir(dir);
        return;
      } catch (err) {
        if (isGone(err)) return;
        const code = errCode(err);
        if (code !== 'EBUSY' && code !== 'ENOTEMPTY') throw fromSystemError(err, `rmdir "${dir}"`);
        let children: string[] = [];
        try {
          children = this.fs.readdir(dir).filter((e) => e.isDirectory).map((e) => path.posix.join(dir, e.name));
        } catch (readErr) {
          if (!isGone(readErr)) throw fromSystemError(readErr, `read directory "${dir}"`);
        }
        for (const child of children) this.removeTree(child, deadline);
        if (children.length > 0) continue; // retry at once: the children were what held it
        if (Date.now() >= deadline) throw fromSystemError(err, `rmdir "${dir}" (still busy after ${this.destroyBudgetMs} ms)`);
        sleepMs(Math.min(delayMs, Math.max(1, deadline - Date.now())));
      }
    }
  }

  // ---- helpers for the drivers ----

  protected file(dir: string, name: string): string {
    return path.posix.join(dir, name);
  }

  protected has(dir: string, name: string): boolean {
    return this.fs.exists(path.posix.join(dir, name));
  }

  protected read(pointer: string, dir: string, name: string): string {
    const p = path.posix.join(dir, name);
    try {
      return this.fs.readFile(p);
    } catch (err) {
      throw this.writeError(err, pointer, p, undefined);
    }
  }

  /** Writes one value; failure names the config field it was for. */
  protected write(pointer: string, dir: string, name: string, value: string): void {
    const p = path.posix.join(dir, name);
    try {
      this.fs.writeFile(p, value);
    } catch (err) {
      throw this.writeError(err, pointer, p, value);
    }
  }

  protected writeError(err: unknown, pointer: string, p: string, value: string | undefined): TsrunError {
    const e = err as SysErr;
    const code = errCode(err);
    const opts = { pointer, code, errno: e?.errno, syscall: e?.syscall, path: p, cause: err };
    if (code === 'ENOENT') {
      const dir = path.posix.dirname(p);
      const reason = this.fs.exists(dir)
        ? `not supported on this host: "${path.posix.basename(p)}" does not exist in "${dir}"${this.missingHint(p)}`
        : `cgroup "${dir}" does not exist`;
      return new TsrunError(`config.json ${pointer}: ${reason}`, { kind: 'config', ...opts });
    }
    const what = value === undefined ? `read "${p}"` : `write ${shown(value)} to "${p}"`;
    return new TsrunError(`config.json ${pointer}: ${what}: ${code ?? (err as Error)?.message ?? String(err)}`, {
      kind: 'kernel',
      ...opts,
    });
  }

  /** Reads or writes outside apply(): errors carry the step instead of a config pointer. */
  protected kernelRead(step: string, dir: string, name: string): string {
    const p = path.posix.join(dir, name);
    try {
      return this.fs.readFile(p);
    } catch (err) {
      throw fromSystemError(err, `${step}: read "${p}"`);
    }
  }

  protected kernelWrite(step: string, dir: string, name: string, value: string): void {
    const p = path.posix.join(dir, name);
    try {
      this.fs.writeFile(p, value);
    } catch (err) {
      throw fromSystemError(err, `${step}: write ${shown(value)} to "${p}"`);
    }
  }

  protected missingHint(_file: string): string {
    return '';
  }
}

/** Moves `pid` into each dir (its cgroup.procs); the first refusal is the error. */
export function addPidToDirs(fs: CgroupFs, dirs: readonly string[], pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new TsrunError(`add process to cgroup: bad pid ${pid}`);
  for (const dir of dirs) {
    const file = path.posix.join(dir, 'cgroup.procs');
    try {
      fs.writeFile(file, String(pid));
    } catch (err) {
      throw fromSystemError(err, `add pid ${pid} to "${file}"`);
    }
  }
}

/** Byte values are -1 (unlimited) or a size; then swap (memory+swap) may not be below limit. */
export function checkMemoryValues(m: LinuxMemory, pointer: string): void {
  for (const k of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'] as const) {
    if (m[k] !== undefined) checkInt(m[k], `${pointer}/${k}`, -1);
  }
  checkMemorySwap(m.limit, m.swap, pointer);
}

function checkMemorySwap(limit: number | undefined, swap: number | undefined, pointer: string): void {
  if (swap === undefined || swap < 0) return;
  if (limit === undefined || limit < 0) {
    // memory+swap without a memory limit: the kernel compares with the current limit; allowed
    return;
  }
  if (swap < limit) {
    throw configError(`${pointer}/swap`, `${swap} is below memory.limit ${limit}; swap is the memory+swap limit, so it must be >= limit`);
  }
}

export function checkInt(value: unknown, pointer: string, min?: number, max?: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || (min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range = min !== undefined && max !== undefined ? ` in ${min}..${max}` : min !== undefined ? ` >= ${min}` : '';
    throw configError(pointer, `must be an integer${range}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** "2MB", "64KB", "1GB": also keeps the value from being a path. */
export function checkPageSize(size: unknown, pointer: string): string {
  if (typeof size !== 'string' || !/^[0-9]+[KMGTP]?B$/.test(size)) {
    throw configError(pointer, `must look like "2MB" or "1GB", got ${JSON.stringify(size)}`);
  }
  return size;
}

export function devNum(major: unknown, minor: unknown, pointer: string): string {
  return `${checkInt(major, `${pointer}/major`, 0)}:${checkInt(minor, `${pointer}/minor`, 0)}`;
}

/** One linux.resources.devices rule, checked, with the spec's defaults filled in. */
export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  /** undefined: any (absent or negative in config.json) */
  major: number | undefined;
  minor: number | undefined;
  /** canonical "rwm" order, never empty; what the config gave beyond r, w and m is dropped */
  access: string;
}

/** Checks one rule as both drivers need it; errors point at the rule's field. */
export function parseDeviceRule(rule: LinuxDeviceCgroup, pointer: string): DeviceRule {
  const type = rule.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') throw configError(`${pointer}/type`, `must be "a", "b" or "c", got ${JSON.stringify(type)}`);
  const access = rule.access ?? 'rwm';
  // runc reads the access as the set of the "r", "w" and "m" in it: any order, repeats, and other
  // characters ignored ("rwa" is "rw"); "" it refuses, and a string with none of the three is no rule
  if (typeof access !== 'string' || access === '') {
    throw configError(`${pointer}/access`, `cannot be empty: give some of "r", "w" and "m"${typeof access === 'string' ? '' : `, got ${JSON.stringify(access)}`}`);
  }
  if (accessSet(access) === '') {
    throw configError(`${pointer}/access`, `names none of "r", "w" and "m": ${JSON.stringify(access)}`);
  }
  // device numbers are u32 in the kernel (dev_t, struct bpf_cgroup_dev_ctx)
  const num = (n: number | undefined, what: string): number | undefined =>
    n === undefined || n < 0 ? undefined : checkInt(n, `${pointer}/${what}`, 0, 0xffffffff);
  return { allow: rule.allow === true, type, major: num(rule.major, 'major'), minor: num(rule.minor, 'minor'), access: accessSet(access) };
}

export function isAllDevices(r: LinuxDeviceCgroup | DeviceRule): boolean {
  const wild = (n: number | undefined): boolean => n === undefined || n < 0;
  return (r.type === undefined || r.type === 'a') && wild(r.major) && wild(r.minor);
}

/** access string in canonical "rwm" order; undefined means all */
export function accessSet(access: string | undefined): string {
  const a = access ?? 'rwm';
  return ['r', 'w', 'm'].filter((c) => a.includes(c)).join('');
}

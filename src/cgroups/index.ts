/**
 * One cgroup interface, two drivers (v1.ts, v2.ts) picked from the host at run time. Paths follow
 * runc's cgroupfs driver; under --systemd-cgroup they write what systemd has no unit property for
 * (src/lifecycle/systemd-cgroup.ts).
 */
import { callerProc } from '../call.js';
import * as path from 'node:path';
import { fromSystemError, TsrunError } from '../errors.js';
import type { LinuxResources } from '../bundle/spec-types.js';
import type { CgroupBpf } from './bpf.js';
import type { OomWatch } from './oom.js';
import type { Stats } from './stats-types.js';
import { CGROUP2_SUPER_MAGIC, realCgroupFs, type CgroupFs } from './fs.js';
import { hierarchyDir, isUnder, parseMountinfo, parseProcCgroup, resolveCgroupsPath, type CgroupMount, type ResolvedCgroupsPath } from './paths.js';
import type { ManagerOptions } from './common.js';
import { NoCgroup } from './none.js';
import { V1Manager } from './v1.js';
import { hybridUnifiedDir } from './hybrid.js';
import { V2Manager } from './v2.js';

export type { CgroupFs, CgroupDirent } from './fs.js';
export type { CgroupBpf } from './bpf.js';
export type { OomWatch } from './oom.js';
export type { Stats, NetworkInterface } from './stats-types.js';
export { toJson } from './stats-types.js';
export { realCgroupBpf } from './bpf.js';
export { realCgroupFs, CGROUP2_SUPER_MAGIC } from './fs.js';
export { parseMountinfo, parseProcCgroup, resolveCgroupsPath } from './paths.js';
export { NoCgroup } from './none.js';
export { rootlessCgroup, rootlessResources } from './rootless.js';
export { controllersNeeded, sharesToWeight, blkioToIOWeight, effectiveResources } from './resources.js';

export interface CgroupManager {
  readonly version: 1 | 2;
  /** v1: controller (e.g. "memory", "name=systemd") → absolute dir; v2: "" → the one dir */
  readonly paths: Record<string, string>;
  /** dirs create() made (parents first); save them in state.json so a later destroy() removes exactly these */
  readonly created: readonly string[];
  /**
   * mkdir -p of every dir; only what was missing is remembered as ours. v2 enables the controllers
   * in every ancestor and fails, naming the ancestor, when one `resources` needs cannot be.
   */
  create(resources?: LinuxResources): void;
  /** the dirs create() would make now (parents first): recorded before they exist */
  missingDirs(): string[];
  /** writes linux.resources; a field this host cannot honour fails naming it by JSON pointer */
  apply(resources: LinuxResources | undefined): void;
  addProcess(pid: number): void;
  /** pids in the cgroup and its sub-cgroups */
  pids(): number[];
  /** the same, in every hierarchy (v1) */
  allPids(): number[];
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** SIGKILL to every process of the cgroup at once (v2 cgroup.kill, 5.14+); false when the kernel cannot */
  killAll(): boolean;
  /** runc's stats for `events`; `pageSizes` default to the kernel's huge page sizes */
  stats(pageSizes?: string[]): Stats;
  /** calls onOom once per OOM kill in the cgroup from now on */
  watchOom(onOom: () => void): OomWatch;
  /** rmdir of the dirs create() made, deepest first; ENOENT is fine, EBUSY is retried ~2 s; idempotent */
  destroy(): void;
}

export interface OpenCgroupOptions {
  cgroupsPath?: string;
  id: string;
  /** default /sys/fs/cgroup */
  fsRoot?: string;
  /** default /proc: the caller's mountinfo and cgroup are read from here (self in-process, the door's in the engine) */
  procRoot?: string;
  fs?: CgroupFs;
  /** v2 device programs (default: bpf(2) through the addon) */
  bpf?: CgroupBpf;
  /** skip the statfs probe (tests, or a caller that knows) */
  version?: 1 | 2;
  /** how long destroy() retries EBUSY in all; default 2000 */
  destroyBudgetMs?: number;
  /** how long freeze()/thaw() wait for the kernel; default 5000 */
  freezeTimeoutMs?: number;
  /** where ignored fields are reported (default: the log's warning) */
  warn?: (message: string) => void;
}

const DEFAULT_FS_ROOT = '/sys/fs/cgroup';

export function detectCgroupVersion(fsRoot = DEFAULT_FS_ROOT, fs: CgroupFs = realCgroupFs): 1 | 2 {
  try {
    return fs.statfsType(fsRoot) === CGROUP2_SUPER_MAGIC ? 2 : 1;
  } catch (err) {
    throw fromSystemError(err, `statfs "${fsRoot}"`);
  }
}

export function openCgroupManager(opts: OpenCgroupOptions): CgroupManager {
  const fs = opts.fs ?? realCgroupFs;
  const fsRoot = stripSlash(opts.fsRoot ?? DEFAULT_FS_ROOT);
  const procRoot = stripSlash(opts.procRoot ?? '/proc');
  const resolved = resolveCgroupsPath(opts.cgroupsPath, opts.id);
  const version = opts.version ?? detectCgroupVersion(fsRoot, fs);
  const mopts: ManagerOptions = {
    fsRoot, fs, bpf: opts.bpf, destroyBudgetMs: opts.destroyBudgetMs, freezeTimeoutMs: opts.freezeTimeoutMs, warn: opts.warn,
  };
  const readProc = (name: string): string => {
    const p = path.posix.join(procRoot, callerProc(), name);
    try {
      return fs.readFile(p);
    } catch (err) {
      throw fromSystemError(err, `read "${p}"`);
    }
  };
  // tsrun's own cgroup matters only for relative paths
  const own = resolved.absolute ? new Map<string, string>() : parseProcCgroup(readProc('cgroup'));

  if (version === 2) {
    let mount: CgroupMount = { mountPoint: fsRoot, root: '/', fsType: 'cgroup2', controllers: [] };
    if (!resolved.absolute) {
      const m = parseMountinfo(readProc('mountinfo')).find((x) => x.fsType === 'cgroup2' && x.mountPoint === fsRoot);
      if (m) mount = m;
    }
    return new V2Manager(hierarchyDir(mount, resolved, v2RelativeBase(own.get(''), mount), 'cgroup v2'), mopts);
  }

  const mounts = parseMountinfo(readProc('mountinfo')).filter((m) => m.fsType === 'cgroup' && m.controllers.length > 0);
  // a hierarchy may be mounted more than once; the one under fsRoot is the one meant
  mounts.sort((a, b) => Number(isUnder(fsRoot, b.mountPoint)) - Number(isUnder(fsRoot, a.mountPoint)));
  const paths: Record<string, string> = {};
  for (const m of mounts) {
    if (m.controllers.every((c) => paths[c] !== undefined)) continue;
    const key = m.controllers.find((c) => own.has(c)) ?? m.controllers[0];
    const dir = hierarchyDir(m, resolved, own.get(key), `"${m.controllers.join(',')}"`);
    for (const c of m.controllers) if (paths[c] === undefined) paths[c] = dir;
  }
  if (Object.keys(paths).length === 0) {
    throw new TsrunError(`no cgroup v1 hierarchy is mounted (read "${procRoot}/self/mountinfo") and "${fsRoot}" is not cgroup2`, { kind: 'kernel' });
  }
  const unified = hybridUnifiedDir(parseMountinfo(readProc('mountinfo')), fsRoot, resolved, own.get(''));
  if (unified !== undefined) paths[''] = unified;
  return new V1Manager(paths, mopts);
}

export interface FromPathsOptions {
  /** what `created` said when the state was saved; without it only the leaf dirs count as ours */
  created?: readonly string[];
  fs?: CgroupFs;
  bpf?: CgroupBpf;
  destroyBudgetMs?: number;
  freezeTimeoutMs?: number;
  warn?: (message: string) => void;
}

/** Re-opens a manager from paths saved in state.json; they must lie under fsRoot. */
export function cgroupManagerFromPaths(
  version: 1 | 2,
  paths: Record<string, string>,
  fsRoot: string = DEFAULT_FS_ROOT,
  options: FromPathsOptions = {},
): CgroupManager {
  const root = stripSlash(fsRoot);
  const fs = options.fs ?? realCgroupFs;
  const dirs = Object.values(paths);
  // a rootless container that could write no cgroup (src/cgroups/rootless.ts)
  if (dirs.length === 0 && (options.created ?? []).length === 0) return new NoCgroup(version);
  for (const d of dirs) {
    if (typeof d !== 'string' || !isUnder(root, d) || d === root) {
      throw new TsrunError(`saved cgroup path ${JSON.stringify(d)} is not below "${root}"`, { kind: 'state' });
    }
  }
  const created = options.created ?? [...new Set(dirs)];
  for (const c of created) {
    if (!isUnder(root, c) || c === root || !dirs.some((d) => isUnder(c, d))) {
      throw new TsrunError(`saved cgroup dir ${JSON.stringify(c)} is not one of, or above, the saved paths`, { kind: 'state' });
    }
  }
  const mopts: ManagerOptions = {
    fsRoot: root, fs, bpf: options.bpf, created, destroyBudgetMs: options.destroyBudgetMs, freezeTimeoutMs: options.freezeTimeoutMs, warn: options.warn,
  };
  if (version === 2) {
    const keys = Object.keys(paths);
    if (keys.length !== 1 || keys[0] !== '') throw new TsrunError('saved cgroup v2 paths must have exactly the key ""', { kind: 'state' });
    return new V2Manager(paths[''], mopts);
  }
  return new V1Manager(paths, mopts);
}

/**
 * runc's fs2 rule for a relative path on cgroup v2: below the parent of tsrun's own cgroup, not the
 * cgroup itself, which holds tsrun (and often its caller's shell), and a cgroup with processes
 * cannot hand controllers to a child. The mount's root is as far up as it goes.
 */
function v2RelativeBase(own: string | undefined, mount: CgroupMount): string | undefined {
  if (own === undefined || own === mount.root) return own;
  return path.posix.dirname(own);
}

/**
 * The caller's own cgroup dirs (v2: "" → its one dir; v1: per controller): where a container that
 * has no cgroup of its own runs, and what its `cgroup` mount shows.
 */
export function callerCgroupPaths(opts: Pick<OpenCgroupOptions, 'fsRoot' | 'procRoot' | 'fs'> = {}): Record<string, string> {
  const fs = opts.fs ?? realCgroupFs;
  const procRoot = stripSlash(opts.procRoot ?? '/proc');
  const fsRoot = stripSlash(opts.fsRoot ?? DEFAULT_FS_ROOT);
  const own = parseProcCgroup(fs.readFile(path.posix.join(procRoot, callerProc(), 'cgroup')));
  const mounts = parseMountinfo(fs.readFile(path.posix.join(procRoot, callerProc(), 'mountinfo')));
  const here: ResolvedCgroupsPath = { absolute: false, rel: '' };
  const paths: Record<string, string> = {};
  for (const m of mounts) {
    if (!isUnder(fsRoot, m.mountPoint)) continue;
    for (const key of m.fsType === 'cgroup2' ? [''] : m.controllers) {
      const cg = own.get(key);
      if (cg !== undefined && paths[key] === undefined) paths[key] = hierarchyDir(m, here, cg, key || 'cgroup2');
    }
  }
  return paths;
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

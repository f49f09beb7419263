/**
 * Where a container's cgroup lives: parsing /proc/self/mountinfo and /proc/self/cgroup, and turning
 * linux.cgroupsPath into one directory per controller with runc's cgroupfs rules.
 */
import * as path from 'node:path';
import { configError, TsrunError } from '../errors.js';

const POINTER = '/linux/cgroupsPath';

/** cgroup v1 controllers a mount's super options can name (plus any "name=..." hierarchy). */
const V1_CONTROLLERS = new Set([
  'cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);

export interface CgroupMount {
  mountPoint: string;
  /** the cgroup mounted there, "/" unless the mount is of a sub-tree (containers, bind mounts) */
  root: string;
  fsType: 'cgroup' | 'cgroup2';
  /** v1 only: controllers (and "name=..." hierarchies) of this hierarchy */
  controllers: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const fsType = post[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    if (pre.length < 5) continue;
    const controllers =
      fsType === 'cgroup'
        ? (post[2] ?? '').split(',').filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='))
        : [];
    mounts.push({ mountPoint: unescapeMountinfo(pre[4]), root: unescapeMountinfo(pre[3]), fsType, controllers });
  }
  return mounts;
}

/** /proc/self/cgroup: controller → cgroup path; the v2 line ("0::/x") is keyed "". */
export function parseProcCgroup(text: string): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const list = line.slice(a + 1, b);
    const cgPath = line.slice(b + 1);
    if (list === '') own.set('', cgPath);
    else for (const c of list.split(',')) own.set(c, cgPath);
  }
  return own;
}

export interface ResolvedCgroupsPath {
  /** absolute: under each hierarchy's mount; relative: under tsrun's own cgroup */
  absolute: boolean;
  /** normalised, no leading "/", never empty, never climbs out */
  rel: string;
}

const SYSTEMD_PATH = /^[^/:]*:[^/:]*:[^/:]*$/;

export function resolveCgroupsPath(cgroupsPath: string | undefined, id: string): ResolvedCgroupsPath {
  if (cgroupsPath === undefined || cgroupsPath === '') {
    if (!id || id.includes('/') || id === '.' || id === '..' || id.includes('\0')) {
      throw new TsrunError(`container id ${JSON.stringify(id)} cannot name a cgroup`, { kind: 'usage' });
    }
    return { absolute: true, rel: id };
  }
  if (cgroupsPath.includes('\0')) throw configError(POINTER, 'contains a NUL byte');
  if (SYSTEMD_PATH.test(cgroupsPath)) {
    throw configError(
      POINTER,
      `${JSON.stringify(cgroupsPath)} is a systemd "slice:prefix:name" path: give --systemd-cgroup, or use a cgroupfs path such as "/tsrun/<id>"`,
    );
  }
  const absolute = cgroupsPath.startsWith('/');
  const parts: string[] = [];
  for (const seg of cgroupsPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) {
        throw configError(
          POINTER,
          `${JSON.stringify(cgroupsPath)} climbs out of ${absolute ? 'the cgroup root' : "tsrun's own cgroup"} with ".."`,
        );
      }
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  if (parts.length === 0) {
    throw configError(
      POINTER,
      `${JSON.stringify(cgroupsPath)} names ${absolute ? 'the cgroup root' : "tsrun's own cgroup"}, not a cgroup of its own`,
    );
  }
  return { absolute, rel: parts.join('/') };
}

/** Directory of `inner` in one hierarchy mounted at `mount`, for a process whose cgroup there is `own`. */
export function hierarchyDir(mount: CgroupMount, resolved: ResolvedCgroupsPath, own: string | undefined, what: string): string {
  if (resolved.absolute) return path.posix.join(mount.mountPoint, resolved.rel);
  if (own === undefined) {
    throw new TsrunError(`cgroup of tsrun for ${what} is not listed in /proc/self/cgroup`, { kind: 'kernel' });
  }
  const ownRel = path.posix.relative(mount.root, own);
  if (ownRel === '..' || ownRel.startsWith('../') || path.posix.isAbsolute(ownRel)) {
    throw new TsrunError(
      `cgroup of tsrun for ${what} (${JSON.stringify(own)}) is outside the mounted sub-tree ${JSON.stringify(mount.root)} at "${mount.mountPoint}"`,
      { kind: 'kernel' },
    );
  }
  return path.posix.join(mount.mountPoint, ownRel, resolved.rel);
}

/** `p` is `root` or below it, written in normal form. */
export function isUnder(root: string, p: string): boolean {
  if (!path.posix.isAbsolute(p) || path.posix.normalize(p) !== p || p.split('/').includes('..')) return false;
  const r = root.endsWith('/') && root.length > 1 ? root.slice(0, -1) : root;
  return p === r || p.startsWith(r === '/' ? '/' : r + '/');
}

/** RFC 6901 escaping of one reference token. */
export function pointerToken(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

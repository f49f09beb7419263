/**
 * The mounts of a container without a mount namespace: its init made them in tsrun's own
 * namespace, below the rootfs, and delete (or a failed create) removes them, deepest first. Mounts
 * that were there before create (the rootfs itself may be a mount: an overlay, a bind) are the
 * caller's and stay.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { wrap } from '../errors.js';
import { log } from '../log.js';

export interface MountPoint {
  /** mountinfo's mount id */
  id: number;
  path: string;
}

/** Mounts of /proc/self/mountinfo text at or below dir, in mount order. */
export function mountPointsBelow(mountinfo: string, dir: string): MountPoint[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountinfo
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f[4] !== undefined)
    .map((f) => ({ id: Number(f[0]), path: unescape(f[4] as string) }))
    .filter((m) => m.path === dir || m.path.startsWith(prefix));
}

function realRootfs(rootfs: string): string | undefined {
  try {
    return realpathSync(rootfs);
  } catch {
    return undefined;
  }
}

/** The ids of the mounts at or below rootfs now: create records them, delete leaves them. */
export function mountIdsBelow(rootfs: string): number[] {
  const real = realRootfs(rootfs);
  return real === undefined ? [] : mountPointsBelow(readFileSync('/proc/self/mountinfo', 'utf8'), real).map((m) => m.id);
}

/**
 * Detaches every mount at or below rootfs but those in `keep`, last mounted first. A mount point
 * whose path no longer resolves to itself (the container replaced a directory on the way with a
 * symlink) is left with a warning: unmounting through it could take down a host mount.
 */
export function unmountBelow(rootfs: string, keep: readonly number[]): void {
  const real = realRootfs(rootfs);
  if (real === undefined) return;
  const kept = new Set(keep);
  const points = mountPointsBelow(readFileSync('/proc/self/mountinfo', 'utf8'), real)
    .filter((m) => !kept.has(m.id))
    .reverse();
  for (const { path: mp } of points) {
    let resolved: string | undefined;
    try {
      resolved = realpathSync(mp);
    } catch {
      resolved = undefined;
    }
    if (resolved !== mp) {
      log.warn(`not unmounting ${mp}: its path now resolves to ${resolved ?? 'nothing'}`);
      continue;
    }
    try {
      execFileSync('umount', ['--no-canonicalize', '--lazy', mp], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw wrap(err, `unmount ${mp}`);
    }
  }
}

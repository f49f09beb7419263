/**
 * The engine leaves the cgroup of the caller that started it (a systemd scope or a test's cgroup
 * being stopped kills what is in it): a cgroup of its own at the top of every hierarchy, best
 * effort — without one the engine still works, it only shares its starter's fate (and then the
 * next call starts another).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFile, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseMountinfo } from '../cgroups/paths.js';

const NAME = 'tsrun-engine';

/** a cgroup.procs the engine is in, of a cgroup of its own (for primeCgroupMigration) */
let ownProcsFile: string | undefined;

/** The mount points of every cgroup hierarchy's root (v1 controllers, name=systemd, the v2 root). */
function hierarchies(): { mount: string; v1: boolean }[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .filter((m) => m.root === '/')
    .map((m) => ({ mount: m.mountPoint, v1: m.fsType === 'cgroup' }));
}

export function enterOwnCgroup(): void {
  for (const { mount, v1 } of hierarchies()) {
    const dir = path.join(mount, NAME);
    try {
      if (!existsSync(dir)) mkdirSync(dir, { mode: 0o755 });
      // a new v1 cpuset starts with no cpus or mems: it takes its parent's (an empty v2 one
      // inherits them, and the v2 root has no such files)
      for (const file of v1 ? ['cpuset.cpus', 'cpuset.mems'] : []) {
        if (readdirSync(dir).includes(file) && readFileSync(path.join(dir, file), 'utf8').trim() === '') {
          writeFileSync(path.join(dir, file), readFileSync(path.join(mount, file), 'utf8'));
        }
      }
      writeFileSync(path.join(dir, 'cgroup.procs'), `${process.pid}\n`);
      ownProcsFile ??= path.join(dir, 'cgroup.procs');
    } catch {
      // best effort (see above)
    }
  }
}

/**
 * On the way out: back to the top of each hierarchy and the engine's cgroup removed, so an engine
 * that idles out leaves nothing (an engine of another install still in it keeps it: EBUSY).
 */
export function leaveOwnCgroup(): void {
  for (const { mount } of hierarchies()) {
    const dir = path.join(mount, NAME);
    if (!existsSync(dir)) continue;
    try {
      writeFileSync(path.join(mount, 'cgroup.procs'), `${process.pid}\n`);
      rmdirSync(dir);
    } catch {
      // in use, or not ours to move out of: it stays, empty or not, for the next engine
    }
  }
}

/**
 * A process joining a cgroup takes the kernel's cgroup_threadgroup_rwsem for writing, and the first
 * such write after a quiet moment waits out an RCU grace period (10-15 ms here, about a third of a
 * whole `run`); writes in the grace period after it do not wait. So a call about to put a process
 * in a container's cgroup has the engine move itself into the cgroup it is already in — a no-op of
 * a cgroup of its own — on a thread-pool thread, now: the wait passes while the helper starts and
 * clones, and the container's join finds the lock warm. Best effort, never awaited.
 */
export function primeCgroupMigration(): void {
  if (ownProcsFile) writeFile(ownProcsFile, `${process.pid}\n`, () => undefined);
}

/**
 * One directory per container under --root: state.json (written to a temp file and renamed, so a
 * reader never sees a torn file) and exec.fifo. Commands that change a container hold an flock on
 * the directory itself for their whole run; readers (state, list) need no lock thanks to rename.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, statSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { currentCall } from '../call.js';
import { TsrunError, fromSystemError, stateError } from '../errors.js';
import { native, type Native } from '../native.js';
import type { Hooks, LinuxSeccomp, Process } from '../bundle/spec-types.js';
import { statePaths, type StatePaths } from './paths.js';

/** What tsrun records about a container (not the spec's state: see lifecycle/status.ts). */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  pid: number;
  /** /proc/<pid>/stat start time of the init, so a recycled pid is never taken for it */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 */
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** `created`: the cgroup dirs create made (parents first); delete removes only those */
  cgroup: {
    version: 1 | 2;
    paths: Record<string, string>;
    created: string[];
    /** --systemd-cgroup: the transient unit that holds the cgroup (update sets its properties, delete stops it) */
    systemd?: { unit: string; /** the caller's own systemd instance (rootless), reached over its user bus */ user?: boolean };
  };
  /** poststart and poststop run after create has returned, from the config as it was then */
  hooks?: Hooks;
  /** the config's process: what exec starts from when it is not given a whole process.json */
  process?: Process;
  /** the config's linux.seccomp: every exec'd process gets the container's filter, as with runc */
  seccomp?: LinuxSeccomp;
  /**
   * no mount namespace: the container's mounts are in tsrun's, under rootfs; delete removes them,
   * all but those (mount ids) that were at or below the rootfs before create
   */
  hostMounts?: { before: number[] };
  /** set by start once the fifo has been read */
  started: boolean;
  /**
   * The tsrun create process, from the moment it has made the cgroup until the init is ready. A
   * record still holding it once that process is gone means create died half-way (delete cleans
   * up); while it lives, the container is "creating".
   */
  creating?: { pid: number; startTime: string };
}

export function containerNotExist(id: string): TsrunError {
  return stateError(`container ${id} does not exist`);
}

export function readRecord(root: string, id: string): ContainerRecord {
  const paths = statePaths(root, id);
  let text: string;
  try {
    text = readFileSync(paths.stateFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw containerNotExist(id);
    }
    throw fromSystemError(err, `read state of container ${id}`);
  }
  try {
    return JSON.parse(text) as ContainerRecord;
  } catch (err) {
    throw stateError(`state of container ${id} is corrupt (${paths.stateFile}): ${(err as Error).message}`);
  }
}

export function writeRecord(root: string, record: ContainerRecord): void {
  const paths = statePaths(root, record.id);
  const tmp = `${paths.stateFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
    renameSync(tmp, paths.stateFile);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fromSystemError(err, `write state of container ${record.id}`);
  }
}

export function listIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(err, `list ${root}`);
  }
}

/** Holds an exclusive flock on a container's state directory. */
export class ContainerLock {
  private constructor(
    private fd: number,
    readonly paths: StatePaths,
  ) {}

  /** Makes the directory (fails if the id is taken) and locks it. */
  static createNew(root: string, id: string, nat: Native = native): ContainerLock {
    const paths = statePaths(root, id);
    try {
      // 0700: nobody else may reach a container's exec.fifo (0622) and block or fake its start
      mkdirSync(root, { recursive: true, mode: 0o700 });
      mkdirSync(paths.dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw stateError(`container with given ID already exists: ${id}`);
      throw fromSystemError(err, `create state directory ${paths.dir}`);
    }
    try {
      return ContainerLock.lockDir(paths, nat);
    } catch (err) {
      rmSync(paths.dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Locks an existing container's directory; errors "does not exist" if there is none, or if it
   * holds no state.json unless `allowIncomplete` (delete --force of a create that died).
   */
  static async acquire(root: string, id: string, nat: Native = native, allowIncomplete = false): Promise<ContainerLock> {
    const paths = statePaths(root, id);
    let lock: ContainerLock;
    try {
      lock = await ContainerLock.lockDir(paths, nat, currentCall().shared);
    } catch (err) {
      if ((err as TsrunError).code === 'ENOENT') throw containerNotExist(id);
      throw err;
    }
    // delete may have removed the directory while we waited for the lock
    if (!allowIncomplete && !existsSync(paths.stateFile)) {
      lock.release();
      throw containerNotExist(id);
    }
    return lock;
  }

  /** `polling`: wait for a held lock without blocking the event loop (the engine serves others meanwhile). */
  private static lockDir(paths: StatePaths, nat: Native, polling: true): Promise<ContainerLock>;
  private static lockDir(paths: StatePaths, nat: Native, polling?: false): ContainerLock;
  private static lockDir(paths: StatePaths, nat: Native, polling: boolean): ContainerLock | Promise<ContainerLock>;
  private static lockDir(paths: StatePaths, nat: Native, polling = false): ContainerLock | Promise<ContainerLock> {
    let fd: number;
    try {
      fd = openSync(paths.dir, 'r');
    } catch (err) {
      throw fromSystemError(err, `open state directory ${paths.dir}`);
    }
    if (polling) return ContainerLock.pollLock(fd, paths, nat);
    try {
      nat.flock(fd, true, true);
    } catch (err) {
      closeSync(fd);
      throw fromSystemError(err, `lock state directory ${paths.dir}`);
    }
    return ContainerLock.lockedDir(fd, paths);
  }

  private static async pollLock(fd: number, paths: StatePaths, nat: Native): Promise<ContainerLock> {
    try {
      for (let delayMs = 1; !nat.flock(fd, true, false); delayMs = Math.min(delayMs * 2, 20)) {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    } catch (err) {
      closeSync(fd);
      throw fromSystemError(err, `lock state directory ${paths.dir}`);
    }
    return ContainerLock.lockedDir(fd, paths);
  }

  /** The lock on fd, if the directory it locks is still the one the path names. */
  private static lockedDir(fd: number, paths: StatePaths): ContainerLock {
    // While we waited, delete may have removed this directory and create made a new one of the
    // same id: the lock is only good for the directory the path names now.
    const locked = fstatSync(fd);
    let current: { dev: number; ino: number } | undefined;
    try {
      current = statSync(paths.dir);
    } catch {
      current = undefined;
    }
    if (!current || current.dev !== locked.dev || current.ino !== locked.ino) {
      closeSync(fd);
      throw new TsrunError(`state directory ${paths.dir} was replaced`, { kind: 'state', code: 'ENOENT' });
    }
    return new ContainerLock(fd, paths);
  }

  release(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Removes the state directory (still holding the lock, so waiters see it gone). */
  removeDir(): void {
    rmSync(this.paths.dir, { recursive: true, force: true });
  }
}

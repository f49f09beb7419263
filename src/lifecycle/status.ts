/**
 * The spec's container state, derived from what the kernel says now: a recorded pid counts only
 * while the same process (pid + start time) is alive; exec.fifo still present means "created";
 * a frozen cgroup means "paused".
 */
import { existsSync } from 'node:fs';
import { isSameLiveProcess } from '../state/proc.js';
import { statePaths } from '../state/paths.js';
import { ContainerLock, readRecord, type ContainerRecord } from '../state/store.js';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface OciState {
  ociVersion: string;
  id: string;
  status: Status;
  pid: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** What `state` and `list` print: the spec's state plus runc's rootfs/created/owner. */
export interface StateReport extends OciState {
  rootfs: string;
  created: string;
  owner: string;
}

export async function containerStatus(root: string, record: ContainerRecord): Promise<Status> {
  if (record.creating) {
    const { pid, startTime } = record.creating;
    return isSameLiveProcess(pid, startTime) ? 'creating' : 'stopped';
  }
  if (!isSameLiveProcess(record.pid, record.pidStartTime)) return 'stopped';
  if (!record.started && existsSync(statePaths(root, record.id).fifo)) return 'created';
  if (await isFrozen(record)) return 'paused';
  return 'running';
}

async function isFrozen(record: ContainerRecord): Promise<boolean> {
  const { recordedCgroup } = await import('./cgroup.js');
  try {
    return recordedCgroup(record).isFrozen();
  } catch {
    return false;
  }
}

export function ociState(record: ContainerRecord, status: Status): OciState {
  const state: OciState = {
    ociVersion: record.ociVersion,
    id: record.id,
    status,
    pid: status === 'stopped' ? 0 : record.pid,
    bundle: record.bundle,
  };
  if (record.annotations && Object.keys(record.annotations).length) state.annotations = record.annotations;
  return state;
}

/** The state given to hooks on stdin: the pid is the init's even before it runs the user's program. */
export function hookState(record: ContainerRecord, status: Status): OciState {
  return { ...ociState(record, 'running'), status, pid: record.pid };
}

/** In runc's field order (scripts compare the text): ociVersion, id, pid, status, bundle, rootfs, created, annotations, owner. */
export function stateReport(record: ContainerRecord, status: Status): StateReport {
  const { ociVersion, id, pid, bundle, annotations } = ociState(record, status);
  return {
    ociVersion, id, pid, status, bundle, rootfs: record.rootfs, created: record.created,
    ...(annotations ? { annotations } : {}),
    owner: record.owner,
  };
}

/**
 * Runs `fn` on a container with its state directory locked (the record read and its status derived
 * under the lock), releasing the lock however `fn` ends: the frame of every command that changes a
 * container but delete, which also handles the missing and the half-made.
 */
export async function withLockedContainer<T>(
  root: string,
  id: string,
  fn: (record: ContainerRecord, status: Status, lock: ContainerLock) => Promise<T> | T,
): Promise<T> {
  const lock = await ContainerLock.acquire(root, id);
  try {
    const record = readRecord(root, id);
    return await fn(record, await containerStatus(root, record), lock);
  } finally {
    lock.release();
  }
}

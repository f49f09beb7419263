/**
 * pause / resume: the cgroup freezer (v1 freezer.state, v2 cgroup.freeze) over every process of the
 * container; state reports "paused" while it is frozen.
 */
import { stateError } from '../errors.js';
import { ContainerLock, readRecord } from '../state/store.js';
import { recordedCgroup } from './cgroup.js';
import { containerStatus } from './status.js';

export async function pauseContainer(root: string, id: string): Promise<void> {
  const lock = ContainerLock.acquire(root, id);
  try {
    const record = readRecord(root, id);
    const status = await containerStatus(root, record);
    if (status !== 'running' && status !== 'created') throw stateError(`container not running or created: ${status}`);
    recordedCgroup(record).freeze();
  } finally {
    lock.release();
  }
}

export async function resumeContainer(root: string, id: string): Promise<void> {
  const lock = ContainerLock.acquire(root, id);
  try {
    const record = readRecord(root, id);
    const status = await containerStatus(root, record);
    if (status !== 'paused') throw stateError('container not paused');
    recordedCgroup(record).thaw();
  } finally {
    lock.release();
  }
}

/**
 * pause / resume: the cgroup freezer (v1 freezer.state, v2 cgroup.freeze) over every process of the
 * container; state reports "paused" while it is frozen.
 */
import { stateError } from '../errors.js';
import { recordedCgroup } from './cgroup.js';
import { withLockedContainer } from './status.js';

export function pauseContainer(root: string, id: string): Promise<void> {
  return withLockedContainer(root, id, (record, status) => {
    if (status !== 'running' && status !== 'created') throw stateError(`container not running or created: ${status}`);
    recordedCgroup(record).freeze();
  });
}

export function resumeContainer(root: string, id: string): Promise<void> {
  return withLockedContainer(root, id, (record, status) => {
    if (status !== 'paused') throw stateError('container not paused');
    recordedCgroup(record).thaw();
  });
}

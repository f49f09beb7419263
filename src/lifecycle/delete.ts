/**
 * delete: undo what create made — the init (killed when created, or running with --force), any
 * process left in the cgroup, the cgroup, then poststop hooks and the state directory.
 */
import { existsSync } from 'node:fs';
import { recordedCgroup } from './cgroup.js';
import { TsrunError, stateError } from '../errors.js';
import { runHooksWarning } from '../hooks.js';
import { log } from '../log.js';
import { signalRecorded, waitForExit } from '../state/proc.js';
import { ContainerLock, readRecord, type ContainerRecord } from '../state/store.js';
import { statePaths } from '../state/paths.js';
import { unmountBelow } from './host-mounts.js';
import { isFrozenCgroup, signalAll } from './kill.js';
import { containerStatus, hookState } from './status.js';
import { stopSystemdUnit } from './systemd-cgroup.js';

const SIGKILL = 9;
const EXIT_WAIT_MS = 10_000;

export async function deleteContainer(root: string, id: string, force: boolean): Promise<void> {
  let lock: ContainerLock;
  try {
    lock = await ContainerLock.acquire(root, id);
  } catch (err) {
    if (force && err instanceof TsrunError && err.kind === 'state') {
      // nothing recorded (or a create that died before recording): nothing but the directory to remove
      const dir = statePaths(root, id).dir;
      if (existsSync(dir)) (await ContainerLock.acquire(root, id, undefined, true)).removeDir();
      return;
    }
    throw err;
  }
  try {
    const record = readRecord(root, id);
    log.phase('delete: locked');
    const status = await containerStatus(root, record);
    if ((status === 'running' || status === 'paused' || status === 'creating') && !force) {
      throw stateError(`cannot delete container ${id} that is not stopped: ${status}`);
    }
    await destroyContainer(record);
    log.phase('delete: processes and cgroup gone');
    // runtime.md: a failing poststop hook is a warning; the remaining hooks and the delete go on
    await runHooksWarning('poststop', record.hooks?.poststop, JSON.stringify(hookState(record, 'stopped')), (m) => log.warn(m));
    log.phase('delete: poststop hooks run');
    lock.removeDir();
  } finally {
    lock.release();
  }
}

async function destroyContainer(record: ContainerRecord): Promise<void> {
  const cgroup = recordedCgroup(record);
  // Alive also when a create that died half-way left it (its record says "stopped").
  if (signalRecorded(record.pid, record.pidStartTime, SIGKILL)) {
    if (isFrozenCgroup(cgroup)) cgroup.thaw();
    if (!(await waitForExit(record.pid, record.pidStartTime, EXIT_WAIT_MS))) {
      throw stateError(`container init ${record.pid} did not exit after SIGKILL`);
    }
    log.phase('delete: init killed');
  }
  // Without a pid namespace, processes can outlive the init: they go too.
  signalAll(record, SIGKILL);
  // systemd removes its unit's cgroup; what is left (v1 hierarchies systemd does not manage) goes below
  if (record.cgroup.systemd) await stopSystemdUnit(record.cgroup.systemd.unit, undefined, record.cgroup.systemd.user);
  cgroup.destroy();
  // Without a mount namespace the container's mounts are ours: runc leaves them, we do not.
  if (record.hostMounts) unmountBelow(record.rootfs, record.hostMounts.before);
}

/** kill: a signal to the container's init (or with --all to every process of its cgroup). */
import { constants } from 'node:os';
import { isGone, stateError, usageError } from '../errors.js';
import { isCgroupBeingRemoved } from '../cgroups/common.js';
import type { CgroupManager } from '../cgroups/index.js';
import { signalCgroupMembers, signalRecorded } from '../state/proc.js';
import { recordedCgroup } from './cgroup.js';
import type { ContainerRecord } from '../state/store.js';
import { withLockedContainer } from './status.js';

/** Accepts 9, KILL, SIGKILL (any case), as runc does. */
export function parseSignal(raw: string | undefined): number {
  const text = (raw ?? 'SIGTERM').trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 64) throw usageError(`invalid signal: ${raw}`);
    return n;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) return name.startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw usageError(`unknown signal ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Under the container's lock, as every command that acts on it: a delete cannot remove the cgroup
 * or a create fill in the pid while the signal is on its way. The init is signalled through a
 * pidfd checked against its recorded start time, so neither pid 0 (a create with no init yet) nor
 * a recycled pid is ever hit.
 */
export async function killContainer(root: string, id: string, signal: number, all: boolean): Promise<void> {
  await withLockedContainer(root, id, (record, status) => {
    // --all reaches what is left in the cgroup even after the init exited (as runc): without a pid
    // namespace its children outlive it.
    if (all) {
      signalAll(record, signal);
      return;
    }
    if (status === 'stopped' || status === 'creating') throw stateError('container not running');
    if (!signalRecorded(record.pid, record.pidStartTime, signal)) throw stateError('container not running');
  });
}

/**
 * Every process in the container's cgroup: SIGKILL through cgroup.kill where the kernel has it (one
 * write, no race with forks), else one signal per pid; a frozen cgroup is thawed so SIGKILL takes effect.
 */
export function signalAll(record: ContainerRecord, signal: number): void {
  const cgroup = recordedCgroup(record);
  // cgroup.kill may fail on a cgroup a killed create recorded but never made: then there is nobody
  let killed = false;
  try {
    killed = signal === constants.signals.SIGKILL && cgroup.killAll();
  } catch (err) {
    if (!isCgroupGone(err)) throw err;
  }
  try {
    if (!killed) signalCgroupMembers(() => cgroup.pids(), signal);
  } catch (err) {
    if (!isCgroupGone(err)) throw err;
  }
  if (signal === constants.signals.SIGKILL && isFrozenCgroup(cgroup)) cgroup.thaw();
}

/** A cgroup not (or no longer) there is not frozen: a create killed before making it recorded it. */
export function isFrozenCgroup(cgroup: CgroupManager): boolean {
  try {
    return cgroup.isFrozen();
  } catch (err) {
    if (isCgroupGone(err)) return false;
    throw err;
  }
}

/** Not there, or on its way out. */
function isCgroupGone(err: unknown): boolean {
  return isGone(err) || isCgroupBeingRemoved(err);
}

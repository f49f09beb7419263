/** kill: a signal to the container's init (or with --all to every process of its cgroup). */
import { constants } from 'node:os';
import { stateError, usageError } from '../errors.js';
import { signalProcess } from '../state/proc.js';
import { recordedCgroup } from './cgroup.js';
import { readRecord, type ContainerRecord } from '../state/store.js';
import { containerStatus } from './status.js';

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

export async function killContainer(root: string, id: string, signal: number, all: boolean): Promise<void> {
  const record = readRecord(root, id);
  // --all reaches what is left in the cgroup even after the init exited (as runc): without a pid
  // namespace its children outlive it.
  if (all) {
    signalAll(record, signal);
    return;
  }
  const status = await containerStatus(root, record);
  if (status === 'stopped') throw stateError('container not running');
  if (!signalProcess(record.pid, signal)) throw stateError('container not running');
}

/**
 * Every process in the container's cgroup: SIGKILL through cgroup.kill where the kernel has it (one
 * write, no race with forks), else one signal per pid; a frozen cgroup is thawed so SIGKILL takes effect.
 */
export function signalAll(record: ContainerRecord, signal: number): void {
  const cgroup = recordedCgroup(record);
  if (!(signal === constants.signals.SIGKILL && cgroup.killAll())) {
    for (const pid of cgroup.pids()) signalProcess(pid, signal);
  }
  if (signal === constants.signals.SIGKILL && cgroup.isFrozen()) cgroup.thaw();
}

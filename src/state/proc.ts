/**
 * What /proc says about a process. A pid alone is not an identity (pids are recycled), so every
 * check pairs it with the start time recorded at create (field 22 of /proc/<pid>/stat).
 */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** single-letter state: R, S, D, Z, T, ... */
  state: string;
  /** start time in clock ticks since boot, as a decimal string (it can exceed 2^53) */
  startTime: string;
}

export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); start time is field 22 → index 19.
  return { state: fields[0], startTime: fields[19] };
}

/** True while `pid` is the same process that was recorded and has not exited (a zombie has). */
export function isSameLiveProcess(pid: number, startTime: string, procRoot = '/proc'): boolean {
  if (pid <= 0) return false;
  const stat = readProcStat(pid, procRoot);
  return stat !== undefined && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** Polls until the process is gone (or a zombie), up to timeoutMs; returns whether it went. */
export async function waitForExit(pid: number, startTime: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (isSameLiveProcess(pid, startTime)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
  return true;
}

/** kill(2) that takes "no such process" for an answer: false when the process was already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

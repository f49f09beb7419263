/**
 * What /proc says about a process. A pid alone is not an identity (pids are recycled), so every
 * check pairs it with the start time recorded at create (field 22 of /proc/<pid>/stat).
 */
import { closeSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { TsrunError, fromSystemError } from '../errors.js';
import { native, type Native } from '../native.js';

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

function signalNumber(signal: NodeJS.Signals | number): number {
  const n = typeof signal === 'number' ? signal : (constants.signals as Record<string, number>)[signal];
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 64) throw new TsrunError(`bad signal ${String(signal)}`, { kind: 'internal' });
  return n;
}

/**
 * One process held by a pidfd: signals reach the process it was opened for, never one that got its
 * pid later. open() checks, after opening the fd, that the pid still names the recorded process
 * (same start time, not exited): a process alive at that moment with that pid is the one the fd
 * holds.
 */
export class ProcessHandle {
  private constructor(
    readonly pid: number,
    private fd: number,
    private readonly nat: Native,
  ) {}

  /** undefined when pid <= 0, or the process is gone or is not the one recorded */
  static open(pid: number, startTime: string, nat: Native = native, procRoot = '/proc'): ProcessHandle | undefined {
    if (!Number.isInteger(pid) || pid <= 0 || !startTime) return undefined;
    const fd = openPidfd(pid, nat);
    if (fd === undefined) return undefined;
    if (!isSameLiveProcess(pid, startTime, procRoot)) {
      closeSync(fd);
      return undefined;
    }
    return new ProcessHandle(pid, fd, nat);
  }

  /** The process at `pid` now, whoever it is (a cgroup member: see signalCgroupMembers). */
  static openAny(pid: number, nat: Native = native): ProcessHandle | undefined {
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const fd = openPidfd(pid, nat);
    return fd === undefined ? undefined : new ProcessHandle(pid, fd, nat);
  }

  /** false once the process has exited */
  signal(signal: NodeJS.Signals | number): boolean {
    if (this.fd < 0) return false;
    return this.nat.pidfdSendSignal(this.fd, signalNumber(signal));
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

function openPidfd(pid: number, nat: Native): number | undefined {
  try {
    return nat.pidfdOpen(pid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw fromSystemError(err, `pidfd_open ${pid}`);
  }
}

/**
 * Signals the recorded process (pid + start time) through a pidfd; false when it is not there (pid
 * <= 0 included: a record of a create that had no init yet says 0, and kill(0) would hit tsrun's
 * own process group).
 */
export function signalRecorded(pid: number, startTime: string, signal: NodeJS.Signals | number, nat: Native = native): boolean {
  const handle = ProcessHandle.open(pid, startTime, nat);
  if (!handle) return false;
  try {
    return handle.signal(signal);
  } finally {
    handle.close();
  }
}

/**
 * Signals the processes of a cgroup: each pid listed gets a pidfd, then the list is read again and
 * only those still in it are signalled. A pid listed both times named a member all along (the fd was
 * opened before the second read), so a pid recycled outside the cgroup in between is never hit.
 * Returns how many were signalled.
 */
export function signalCgroupMembers(listPids: () => number[], signal: NodeJS.Signals | number, nat: Native = native): number {
  const handles: ProcessHandle[] = [];
  try {
    for (const pid of new Set(listPids())) {
      const h = ProcessHandle.openAny(pid, nat);
      if (h) handles.push(h);
    }
    if (!handles.length) return 0;
    const still = new Set(listPids());
    let n = 0;
    for (const h of handles) if (still.has(h.pid) && h.signal(signal)) n++;
    return n;
  } finally {
    for (const h of handles) h.close();
  }
}

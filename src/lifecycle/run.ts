/**
 * run: create + start. Detached, it returns once started; in the foreground the helper stays the
 * init's parent, tsrun forwards the signals it receives to the init (from before it starts) and,
 * once the init exits,
 * deletes the container (unless --keep: it stays, stopped, for a later delete) and returns its exit
 * status (128+signal when killed), like runc.
 */
import { currentCall } from '../call.js';
import { loadTty } from '../lazy.js';
import { log } from '../log.js';
import { ProcessHandle } from '../state/proc.js';
import { createContainer, type CreateOptions } from './create.js';
import { deleteContainer } from './delete.js';
import { startContainer } from './start.js';

const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export async function runContainer(opts: CreateOptions & { detach: boolean; keep?: boolean }): Promise<number> {
  const created = await createContainer({ ...opts, foreground: !opts.detach });
  log.phase('run: created');
  // held before start: a signal that comes once the process runs (it may say so at once) is its
  const foreground = !opts.detach && created.waitStatus ? holdForeground(created.record.pid, created.record.pidStartTime) : undefined;
  try {
    await startContainer(opts.root, opts.id);
  } catch (err) {
    foreground?.release();
    created.close();
    await deleteContainer(opts.root, opts.id, true).catch(() => undefined);
    throw err;
  }
  if (!foreground || !created.waitStatus) return 0;

  const status = await foreground.wait(created.waitStatus, created.ptyMaster, created.close);
  log.phase('run: container exited');
  if (opts.keep) return exitCodeOf(status);
  await deleteContainer(opts.root, opts.id, true);
  log.phase('run: deleted');
  return exitCodeOf(status);
}

/** A process tsrun stays with until it exits (run and exec in the foreground). */
export interface Foreground {
  /**
   * Connects its terminal, if tsrun holds the pty master, to the caller's, forwards the signals
   * held so far and those to come, and returns the raw wait status once it exits.
   */
  wait(waitStatus: Promise<number>, ptyMaster: number | undefined, close: () => void): Promise<number>;
  /** gives the signals back (the process never ran) */
  release(): void;
}

/**
 * From now on the signals tsrun gets are the process's (runc's signal handler is in place before
 * the process starts too): until wait() they are held, then forwarded in order. They go through a
 * pidfd held while we wait: once the process is reaped its pid may be anyone's.
 */
export function holdForeground(pid: number, startTime: string): Foreground {
  const handle = ProcessHandle.open(pid, startTime);
  let held: NodeJS.Signals[] | undefined = [];
  let terminal: AttachedTerminal | undefined;
  const forward = (sig: NodeJS.Signals) => {
    if (held) return void held.push(sig);
    if (sig === 'SIGWINCH') terminal?.resize();
    void handle?.signal(sig);
  };
  const stopForwarding = currentCall().onSignals(forwarded, forward);
  const release = () => {
    stopForwarding();
    handle?.close();
  };
  return {
    release,
    async wait(waitStatus, ptyMaster, close) {
      try {
        if (ptyMaster !== undefined) terminal = await attachTerminal(ptyMaster);
        const early = held ?? [];
        held = undefined;
        for (const sig of early) forward(sig);
        // a process already gone has its exit status on its way
        return await waitStatus;
      } finally {
        release();
        close();
        await terminal?.detach();
      }
    },
  };
}

/** A raw wait(2) status as a shell exit code. */
export function exitCodeOf(status: number): number {
  const termSig = status & 0x7f;
  if (termSig === 0) return (status >> 8) & 0xff;
  return 128 + termSig;
}

/**
 * Connects the caller's stdio to the container's pty: raw mode when the caller has a terminal, its
 * size following the caller's (`resize` on SIGWINCH).
 */
interface AttachedTerminal {
  resize(): void;
  detach(): Promise<void>;
}

async function attachTerminal(masterFd: number): Promise<AttachedTerminal> {
  const { native } = await import('../native.js');
  const master = new (loadTty().ReadStream)(masterFd);
  // EIO (or EOF) once every holder of the container's side is gone and the output is read
  const drained = new Promise<void>((resolve) => {
    master.on('error', () => resolve());
    master.on('end', () => resolve());
    master.on('close', () => resolve());
  });
  const { stdin, stdout, close } = currentCall().stdio();
  const resize = () => {
    // asked each time: the caller's size now, whoever saw the SIGWINCH first
    const size = stdout.isTTY ? stdout.getWindowSize?.() : undefined;
    if (size) native.setWindowSize(masterFd, size[1], size[0]);
  };
  resize();
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode?.(true);
  stdin.pipe(master);
  master.pipe(stdout, { end: false });
  return {
    resize,
    async detach() {
      await Promise.race([drained, new Promise((r) => setTimeout(r, 1000).unref())]);
      stdin.unpipe(master);
      if (raw) stdin.setRawMode?.(false);
      close();
      master.destroy();
    },
  };
}

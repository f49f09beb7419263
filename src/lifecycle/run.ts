/**
 * run: create + start. Detached, it returns once started; in the foreground the helper stays the
 * init's parent, tsrun forwards the signals it receives to the init and, once the init exits,
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
  try {
    await startContainer(opts.root, opts.id);
  } catch (err) {
    created.close();
    await deleteContainer(opts.root, opts.id, true).catch(() => undefined);
    throw err;
  }
  if (opts.detach || !created.waitStatus) return 0;

  const status = await waitInForeground(created.record.pid, created.record.pidStartTime, created.waitStatus, created.ptyMaster, created.close);
  log.phase('run: container exited');
  if (opts.keep) return exitCodeOf(status);
  await deleteContainer(opts.root, opts.id, true);
  log.phase('run: deleted');
  return exitCodeOf(status);
}

/**
 * Stays with a process until it exits (run and exec in the foreground): the signals tsrun gets go
 * to it, and its terminal, if tsrun holds the pty master, is connected to ours. Returns the raw
 * wait status.
 */
export async function waitInForeground(
  pid: number,
  startTime: string,
  waitStatus: Promise<number>,
  ptyMaster: number | undefined,
  close: () => void,
): Promise<number> {
  // Signals go through a pidfd held while we wait: once the process is reaped its pid may be
  // anyone's. A process already gone has its exit status on its way.
  const handle = ProcessHandle.open(pid, startTime);
  const call = currentCall();
  const detachTerminal = ptyMaster !== undefined ? await attachTerminal(ptyMaster) : undefined;
  const forward = (sig: NodeJS.Signals) => {
    if (sig === 'SIGWINCH') detachTerminal?.resize();
    void handle?.signal(sig);
  };
  const stopForwarding = call.onSignals(forwarded, forward);
  try {
    return await waitStatus;
  } finally {
    stopForwarding();
    handle?.close();
    close();
    await detachTerminal?.detach();
  }
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
async function attachTerminal(masterFd: number): Promise<{ resize(): void; detach(): Promise<void> }> {
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

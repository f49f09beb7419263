/**
 * A served call's stdio. Its output: text for the caller's stdout and stderr written to the fds its door sent,
 * in the order the command wrote it (one queue for both, as 2>&1 shows it), without blocking the
 * engine (libuv's thread pool does the writes; a non-blocking fd that is full is retried).
 */
import { createReadStream, createWriteStream, fstatSync, write } from 'node:fs';
import { Socket } from 'node:net';
import { ReadStream, WriteStream, isatty } from 'node:tty';
import { promisify } from 'node:util';
import type { CallStdio } from '../call.js';
import { native } from '../native.js';

const writeFd = promisify(write);
const RETRY_MS = 5;

async function writeAll(fd: number, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    try {
      offset += (await writeFd(fd, data, offset, data.length - offset)).bytesWritten;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

export interface CallOutput {
  write(fd: number, text: string): void;
  /** resolves when everything written so far has reached the fds (or could not: a closed pipe) */
  flushed(): Promise<void>;
  /** whether anything was written */
  readonly used: boolean;
}

export function callOutput(): CallOutput {
  let queue = Promise.resolve();
  let used = false;
  return {
    write(fd, text) {
      used = true;
      const data = Buffer.from(text);
      // a reader gone (EPIPE) loses the rest, as a process writing to it would
      queue = queue.then(() => writeAll(fd, data)).catch(() => undefined);
    },
    flushed: () => queue,
    get used() {
      return used;
    },
  };
}

/**
 * The caller's stdin and stdout as streams of the engine's own (dups of the fds its door sent, so
 * closing them leaves the call's fds to closeRequest): a terminal connected to a foreground run's
 * pty reads and writes them as the CLI would its own stdio.
 */
export function callStdio(stdinFd: number, stdoutFd: number): CallStdio {
  const stdin = readableOf(native.dup(stdinFd));
  const stdout = writableOf(native.dup(stdoutFd));
  return {
    stdin,
    stdout,
    close: () => {
      stdin.destroy();
      stdout.destroy();
    },
  };
}

function readableOf(fd: number): CallStdio['stdin'] {
  if (isatty(fd)) return new ReadStream(fd);
  const st = fstatSync(fd);
  if (st.isFIFO() || st.isSocket()) return new Socket({ fd, readable: true, writable: false });
  return createReadStream('', { fd });
}

function writableOf(fd: number): CallStdio['stdout'] & { destroy(): void } {
  if (isatty(fd)) return new WriteStream(fd);
  const st = fstatSync(fd);
  if (st.isFIFO() || st.isSocket()) return new Socket({ fd, readable: false, writable: true });
  return createWriteStream('', { fd });
}

/**
 * A served call's output: text for the caller's stdout and stderr written to the fds its door sent,
 * in the order the command wrote it (one queue for both, as 2>&1 shows it), without blocking the
 * engine (libuv's thread pool does the writes; a non-blocking fd that is full is retried).
 */
import { write } from 'node:fs';
import { promisify } from 'node:util';

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

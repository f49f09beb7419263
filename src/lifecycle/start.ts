/**
 * start: reading exec.fifo releases the waiting init (it is blocked opening the fifo for writing);
 * the init then runs startContainer hooks, writes "0" and execs the user's program, which closes
 * the fifo (O_CLOEXEC). "E<message>" means the hooks or the exec failed; EOF without "0" means the
 * init died on the way; and an init that dies before it even opens the fifo is noticed by polling.
 */
import { constants, openSync, readSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { TsrunError, stateError } from '../errors.js';
import { runHooksWarning } from '../hooks.js';
import { log } from '../log.js';
import { isSameLiveProcess } from '../state/proc.js';
import { writeRecord, type ContainerRecord } from '../state/store.js';
import { hookState, withLockedContainer } from './status.js';

export function startContainer(root: string, id: string): Promise<ContainerRecord> {
  return withLockedContainer(root, id, async (record, status, lock) => {
    if (status === 'stopped') throw stateError('cannot start a container that has stopped');
    if (status !== 'created') throw stateError(`cannot start an already running container`);
    log.phase('start: locked');
    const message = await releaseInit(lock.paths.fifo, () => isSameLiveProcess(record.pid, record.pidStartTime));
    log.phase('start: init released');
    rmSync(lock.paths.fifo, { force: true });
    record.started = true;
    writeRecord(root, record);
    log.phase('start: recorded');
    if (message) throw new TsrunError(`start container: ${message}`, { kind: 'kernel' });
    // runtime.md: "If any poststart hook fails, the runtime MUST log a warning, but the remaining
    // hooks and lifecycle continue as if the hook had succeeded."
    await runHooksWarning('poststart', record.hooks?.poststart, JSON.stringify(hookState(record, 'running')), (m) => log.warn(m));
    return record;
  });
}

const LIVENESS_POLL_MS = 100;

/**
 * Opens the fifo for reading and collects what the init writes until its write end closes; the
 * error to report, or "" once it has started. An init that is gone (killed between state and now)
 * never opens its end, and the pipe would never close: its liveness is polled meanwhile.
 */
function releaseInit(fifo: string, initAlive: () => boolean): Promise<string> {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return Promise.reject(stateError('cannot start a container that has stopped', err));
  }
  return new Promise((resolve, reject) => {
    const pipe = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    const poll = setInterval(() => {
      if (initAlive()) return;
      // Gone: a process that started and already exited, or an init that died on the way. What
      // it wrote (maybe not yet delivered to us) tells which.
      const buf = Buffer.alloc(4096);
      for (;;) {
        let n = 0;
        try {
          n = readSync(fd, buf);
        } catch {
          break; // EAGAIN: nothing more
        }
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      finish();
      resolve(outcome(Buffer.concat(chunks).toString('utf8')));
    }, LIVENESS_POLL_MS);
    const finish = () => {
      clearInterval(poll);
      pipe.destroy();
    };
    pipe.on('data', (d: Buffer) => chunks.push(d));
    pipe.on('error', (err) => {
      finish();
      reject(err);
    });
    pipe.on('end', () => {
      finish();
      resolve(outcome(Buffer.concat(chunks).toString('utf8')));
    });
  });
}

/** What the init wrote: "" once it got to execve ("0"), else the error. */
function outcome(text: string): string {
  if (text.includes('E')) return text.slice(text.indexOf('E') + 1).trim();
  return text.startsWith('0') ? '' : 'container init exited before its process started';
}

/**
 * start: reading exec.fifo releases the waiting init (it is blocked opening the fifo for writing);
 * the init then runs startContainer hooks and execs the user's program. It writes "E<message>"
 * to the fifo if either fails; a clean exec closes the fifo (O_CLOEXEC), so EOF means started.
 */
import { constants, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { TsrunError, stateError } from '../errors.js';
import { runHooks } from '../hooks.js';
import { log } from '../log.js';
import { ContainerLock, readRecord, writeRecord, type ContainerRecord } from '../state/store.js';
import { containerStatus, hookState } from './status.js';

export async function startContainer(root: string, id: string): Promise<ContainerRecord> {
  const lock = ContainerLock.acquire(root, id);
  try {
    const record = readRecord(root, id);
    const status = await containerStatus(root, record);
    if (status === 'stopped') throw stateError('cannot start a container that has stopped');
    if (status !== 'created') throw stateError(`cannot start an already running container`);
    const message = await releaseInit(lock.paths.fifo);
    rmSync(lock.paths.fifo, { force: true });
    record.started = true;
    writeRecord(root, record);
    if (message) throw new TsrunError(`start container: ${message}`, { kind: 'kernel' });
    try {
      await runHooks('poststart', record.hooks?.poststart, JSON.stringify(hookState(record, 'running')));
    } catch (err) {
      // the spec: a failing poststart hook stops the container (delete then cleans up)
      try {
        process.kill(record.pid, 'SIGKILL');
      } catch {
        log.debug(`container ${id} was already gone after its poststart hook failed`);
      }
      throw err;
    }
    return record;
  } finally {
    lock.release();
  }
}

/** Opens the fifo for reading and collects what the init writes before its write end closes. */
function releaseInit(fifo: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return Promise.reject(stateError('cannot start a container that has stopped'));
  }
  return new Promise((resolve, reject) => {
    const pipe = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    pipe.on('data', (d: Buffer) => chunks.push(d));
    pipe.on('error', reject);
    pipe.on('end', () => {
      pipe.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      resolve(text.startsWith('E') ? text.slice(1).trim() : '');
    });
  });
}

/**
 * OOM kills in a container's cgroup, for `events`. One event per kill the kernel counts:
 * - v2: memory.events "oom_kill", re-read whenever inotify (fs.watch) says the file changed;
 * - v1: an eventfd registered for memory.oom_control through cgroup.event_control (the kernel signals
 *   it when the cgroup runs out of memory), then memory.oom_control's "oom_kill" counter (4.13+); a
 *   kernel without the counter gets one event per signal, as runc gives.
 * check() re-reads the counter; the caller runs it on every stats tick and before it stops, so a kill
 * that raced the notification is not lost.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native as realNative, type Native } from '../native.js';
import { fromSystemError } from '../errors.js';

export interface OomWatch {
  /** reads the kill counter now and reports what it gained */
  check(): void;
  close(): void;
}

function counter(file: string): number | undefined {
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Reports each increase of the counter in `file` (as one call per kill). */
function counting(file: string, onOom: () => void): { check(): void; hasCounter: boolean } {
  let seen = counter(file);
  return {
    hasCounter: seen !== undefined,
    check(): void {
      const now = counter(file);
      if (now === undefined) return;
      for (let i = seen ?? 0; i < now; i++) onOom();
      seen = now;
    },
  };
}

export function watchOomV2(dir: string, onOom: () => void): OomWatch {
  const file = path.posix.join(dir, 'memory.events');
  const c = counting(file, onOom);
  let watcher: fs.FSWatcher | undefined;
  if (c.hasCounter) {
    watcher = fs.watch(file, { persistent: false }, () => c.check());
    watcher.on('error', () => watcher?.close());
  }
  return { check: () => c.check(), close: () => watcher?.close() };
}

export function watchOomV1(dir: string, onOom: () => void, native: Native = realNative): OomWatch {
  const control = path.posix.join(dir, 'memory.oom_control');
  const c = counting(control, onOom);
  let efd = -1;
  let ofd = -1;
  try {
    efd = native.eventfd();
    ofd = fs.openSync(control, 'r');
    fs.writeFileSync(path.posix.join(dir, 'cgroup.event_control'), `${efd} ${ofd}`);
  } catch (err) {
    for (const fd of [efd, ofd]) if (fd >= 0) fs.closeSync(fd);
    throw fromSystemError(err, `register for OOM notifications in "${dir}"`);
  }
  let closed = false;
  const buf = Buffer.alloc(8);
  const readNext = (): void => {
    // a blocking read on the thread pool; close() wakes it with a write of its own
    fs.read(efd, buf, 0, 8, null, (err) => {
      if (closed || err) {
        fs.closeSync(efd);
        fs.closeSync(ofd);
        return;
      }
      // the kernel also signals when the cgroup goes away
      if (fs.existsSync(path.posix.join(dir, 'cgroup.event_control'))) {
        if (c.hasCounter) c.check();
        else onOom();
      }
      readNext();
    });
  };
  readNext();
  return {
    check: () => c.check(),
    close: () => {
      if (closed) return;
      closed = true;
      const one = Buffer.alloc(8);
      one.writeBigUInt64LE(1n);
      fs.writeSync(efd, one);
    },
  };
}

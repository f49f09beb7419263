/**
 * The kernel side of the cgroup v2 device controller: device programs attached to a cgroup
 * directory, known by id. Behind an interface so the v2 driver's unit tests run on a fake; the real
 * one is the addon's bpf(2) calls. What the program says is device-filter.ts's business.
 */
import * as fs from 'node:fs';
import { fromSystemError, isGone, TsrunError } from '../errors.js';
import { native as realNative, type BpfLoadError, type Native } from '../native.js';
import { DEVICE_FILTER_LICENSE } from './device-filter.js';

export interface CgroupBpf {
  /** ids of the device programs attached to the cgroup itself (not those of its ancestors) */
  devicePrograms(dir: string): number[];
  /**
   * Loads the program and attaches it with BPF_F_ALLOW_MULTI. The attachment holds the program, so
   * it stays (and filters) as long as the cgroup does, after tsrun closes its fd and exits.
   */
  attachDeviceProgram(dir: string, program: Uint8Array): void;
  /** Detaches program `id`; one that is gone or no longer attached is fine. */
  detachDeviceProgram(dir: string, id: number): void;
}

/** Shown by bpftool and in /proc/<pid>/fdinfo while loading; at most 15 characters. */
const PROGRAM_NAME = 'tsrun_devices';

export function nativeCgroupBpf(n: Native = realNative): CgroupBpf {
  return {
    devicePrograms: (dir) => withDir(dir, (fd) => kernel(`list device programs of "${dir}"`, () => n.bpfQueryCgroupDevice(fd))),
    attachDeviceProgram: (dir, program) => {
      const progFd = load(n, program);
      try {
        withDir(dir, (fd) => kernel(`attach device program to "${dir}"`, () => n.bpfAttachCgroupDevice(fd, progFd)));
      } finally {
        fs.closeSync(progFd);
      }
    },
    detachDeviceProgram: (dir, id) => {
      let progFd: number;
      try {
        progFd = n.bpfProgramFdById(id);
      } catch (err) {
        if (isGone(err)) return;
        throw fromSystemError(err, `detach device program ${id} from "${dir}": get its fd`);
      }
      try {
        withDir(dir, (fd) => {
          try {
            n.bpfDetachCgroupDevice(fd, progFd);
          } catch (err) {
            if (!isGone(err)) throw fromSystemError(err, `detach device program ${id} from "${dir}"`);
          }
        });
      } finally {
        fs.closeSync(progFd);
      }
    },
  };
}

export const realCgroupBpf: CgroupBpf = nativeCgroupBpf();

function load(n: Native, program: Uint8Array): number {
  try {
    return n.bpfLoadCgroupDeviceProgram(program, DEVICE_FILTER_LICENSE, PROGRAM_NAME);
  } catch (err) {
    const e = fromSystemError(err, 'load device program');
    // the verifier's last lines say what it refused; the whole log stays on the cause
    const tail = ((err as BpfLoadError).verifierLog ?? '').trim().split('\n').slice(-3).join('; ');
    if (!tail) throw e;
    throw new TsrunError(`${e.message} (verifier: ${tail})`, { kind: e.kind, code: e.code, errno: e.errno, syscall: e.syscall, cause: err });
  }
}

function kernel<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromSystemError(err, what);
  }
}

/** A cgroup is named to bpf(2) by an fd of its directory. */
function withDir<T>(dir: string, fn: (fd: number) => T): T {
  const fd = kernel(`open "${dir}"`, () => fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY));
  try {
    return fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The typed surface of the native part: the only file that loads the addon or knows where the
 * tsrun-init helper lives. Modules take a `Native` parameter defaulting to `native`, so tests can
 * pass a recording fake.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TsrunError } from './errors.js';

export interface Native {
  /** flock(2); returns false when `wait` is false and the lock is held elsewhere. */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  /** pidfd_open(2): an fd (close-on-exec) for that very process; ESRCH when there is none; a pid <= 0 is EINVAL */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(2): false when the process has exited; signal 0 only checks */
  pidfdSendSignal(pidfd: number, signal: number): boolean;
  /** mkfifo(3) with the exact mode (umask ignored). */
  mkfifo(path: string, mode: number): void;
  /** Listens on a new AF_UNIX socket at `path`; resolves with the fd one peer sends (SCM_RIGHTS). */
  receiveFd(path: string, timeoutMs: number): Promise<number>;
  /** TIOCSWINSZ */
  setWindowSize(fd: number, rows: number, cols: number): void;
  /**
   * BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program (8-byte struct bpf_insn records); returns
   * its fd (close-on-exec). A refused program's error has `verifierLog`.
   */
  bpfLoadCgroupDeviceProgram(instructions: Uint8Array, license: string, name: string): number;
  /** BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI; `cgroupFd` is an open cgroup v2 directory */
  bpfAttachCgroupDevice(cgroupFd: number, programFd: number): void;
  /** BPF_PROG_DETACH of that program from the cgroup */
  bpfDetachCgroupDevice(cgroupFd: number, programFd: number): void;
  /** BPF_PROG_QUERY: ids of the device programs attached to the cgroup itself, oldest first */
  bpfQueryCgroupDevice(cgroupFd: number): number[];
  /** BPF_PROG_GET_FD_BY_ID; returns an fd (close-on-exec) */
  bpfProgramFdById(id: number): number;
  /** eventfd(2) with counter 0, close-on-exec; reads give the 8-byte counter and reset it */
  eventfd(): number;
  /** the resident engine's listening socket at `path` (close-on-exec, mode 0600) */
  engineListen(path: string): number;
  /** the next door's call on that socket (src/engine/server.ts) */
  engineAccept(listenFd: number): Promise<DoorRequest>;
  /** stops listening: a pending engineAccept rejects */
  engineClose(listenFd: number): void;
  /** pipe2 ([read end, write end]) or an AF_UNIX stream socketpair; both close-on-exec */
  fdPair(kind: 'pipe' | 'socketpair'): [number, number];
  /** F_DUPFD_CLOEXEC: a new fd for the same open file */
  dup(fd: number): number;
  /** one sendmsg of all of `data`, `fds` attached (SCM_RIGHTS) */
  sendWithRights(fd: number, data: Uint8Array, fds: number[]): void;
}

/** One call a door hands to the engine (addon/door/wire.h); every fd is close-on-exec and the engine's to close. */
export interface DoorRequest {
  /** the connection, for the reply */
  conn: number;
  /** SO_PEERCRED of the door */
  pid: number;
  uid: number;
  gid: number;
  umask: number;
  /** the door's fds 0, 1, 2 */
  fds: [number, number, number];
  cwd: string;
  /** without argv[0] */
  argv: string[];
  env: string[];
}

/** What a refused BPF_PROG_LOAD throws besides code/errno/syscall. */
export interface BpfLoadError extends Error {
  code?: string;
  verifierLog?: string;
}

const buildDirs = ['../build/Release', '../build/Debug'];

function locate(file: string): string {
  const tried: string[] = [];
  for (const dir of buildDirs) {
    const candidate = fileURLToPath(new URL(`${dir}/${file}`, import.meta.url));
    if (existsSync(candidate)) return candidate;
    tried.push(candidate);
  }
  throw new TsrunError(`native component ${file} not found (tried ${tried.join(', ')}): run npm install`, {
    kind: 'internal',
  });
}

let loaded: Native | undefined;

/** The real addon, loaded on first use (commands like `state` never pay for it). */
export const native: Native = {
  flock: (fd, exclusive, wait) => load().flock(fd, exclusive, wait),
  pidfdOpen: (pid) => load().pidfdOpen(pid),
  pidfdSendSignal: (pidfd, signal) => load().pidfdSendSignal(pidfd, signal),
  mkfifo: (path, mode) => load().mkfifo(path, mode),
  receiveFd: (path, timeoutMs) => load().receiveFd(path, timeoutMs),
  setWindowSize: (fd, rows, cols) => load().setWindowSize(fd, rows, cols),
  bpfLoadCgroupDeviceProgram: (instructions, license, name) => load().bpfLoadCgroupDeviceProgram(instructions, license, name),
  bpfAttachCgroupDevice: (cgroupFd, programFd) => load().bpfAttachCgroupDevice(cgroupFd, programFd),
  bpfDetachCgroupDevice: (cgroupFd, programFd) => load().bpfDetachCgroupDevice(cgroupFd, programFd),
  bpfQueryCgroupDevice: (cgroupFd) => load().bpfQueryCgroupDevice(cgroupFd),
  bpfProgramFdById: (id) => load().bpfProgramFdById(id),
  eventfd: () => load().eventfd(),
  engineListen: (path) => load().engineListen(path),
  engineAccept: (listenFd) => load().engineAccept(listenFd),
  engineClose: (listenFd) => load().engineClose(listenFd),
  fdPair: (kind) => load().fdPair(kind),
  dup: (fd) => load().dup(fd),
  sendWithRights: (fd, data, fds) => load().sendWithRights(fd, data, fds),
};

function load(): Native {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    loaded = require(locate('tsrun_native.node')) as Native;
  }
  return loaded;
}

/** Absolute path of the static helper the container is born from. */
export function initHelperPath(): string {
  return locate('tsrun-init');
}

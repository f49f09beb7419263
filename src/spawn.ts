/**
 * Starting a process as the caller's child: tsrun-init (create, run, exec) and the hooks tsrun runs
 * itself. What the child inherits (namespaces, credentials, cgroup, rlimits, umask, signal mask,
 * oom score, its parent for a subreaper) must be the caller's, so a command served by the resident
 * engine has its door start it (src/engine/door-session.ts) and a command run in its own process
 * starts it with child_process: `currentCall().spawn`. Every fd is named explicitly: child fd i is
 * `fds[i]`, no other fd reaches it.
 */
import { spawn } from 'node:child_process';

/** A fd of the caller's process (the door's, or this process's own when in-process), given as is. */
export interface CallerFd {
  callerFd: number;
}

/** Where child fd i comes from: an fd of this process, or the caller's own fd. */
export type FdSource = number | CallerFd;

export interface SpawnRequest {
  file: string;
  /** argv[0] first */
  argv: string[];
  /** exactly this environment */
  env: Record<string, string>;
  /** the caller's when left out */
  cwd?: string;
  fds: FdSource[];
}

export interface ChildExit {
  /** the exit status, or null when killed */
  code: number | null;
  /** the signal that killed it; both null when its parent, the door, went away first (unknown) */
  signal: NodeJS.Signals | null;
}

export interface Spawned {
  readonly pid: number;
  /** resolves once the child has exited and been reaped */
  readonly exit: Promise<ChildExit>;
  /** undefined while it runs */
  readonly exited: ChildExit | undefined;
  /** signals it while it runs (never another process that got its pid later) */
  kill(signal: NodeJS.Signals): void;
}

/** An fd of `req` as this process's fd number: in-process, the caller is this process. */
function ownFdOf(source: FdSource): number {
  return typeof source === 'number' ? source : source.callerFd;
}

/** `spawn` for a command that runs in its own process: child_process, with the fds given by number. */
export async function spawnInProcess(req: SpawnRequest): Promise<Spawned> {
  const child = spawn(req.file, req.argv.slice(1), {
    argv0: req.argv[0],
    env: req.env,
    cwd: req.cwd,
    stdio: req.fds.map(ownFdOf),
  });
  let exited: ChildExit | undefined;
  const exit = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve((exited = { code, signal })));
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return {
    pid: child.pid as number,
    exit,
    get exited() {
      return exited;
    },
    kill: (signal) => {
      if (exited === undefined) child.kill(signal);
    },
  };
}

/**
 * The caller of the command being run: where its output goes, its working directory, environment,
 * log settings and exit status. A command run in its own process (bin/tsrun.cjs) has the process's
 * own; the resident engine (src/engine/) serves many callers at once from one process, each with
 * the stdio fds, cwd and env its door sent, so every part of a command that would read a process
 * global asks `currentCall()` instead. AsyncLocalStorage carries the call through every await.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import type { LogConfig } from './log.js';
import { spawnInProcess, type SpawnRequest, type Spawned } from './spawn.js';

export interface Call {
  /** writes to the caller's stdout / stderr (in order; the engine flushes them before replying) */
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** the caller's stdin fd (update --resources -) */
  readonly stdinFd: number;
  log: LogConfig;
  exitCode: number | undefined;
  /** true in the engine: waits (a held container lock) must not block the event loop */
  readonly shared: boolean;
  /** performance.now() when the call began (--debug's phase times count from it) */
  readonly startMs: number;
  /** the caller's process id (what LISTEN_PID names, what a `creating` record points to) */
  readonly pid: number;
  /** starts a process as the caller's child (src/spawn.ts) */
  spawn(req: SpawnRequest): Promise<Spawned>;
  /**
   * From now on the caller's process hands `signals` to `handler` instead of dying of them (a
   * foreground run or exec forwards them); the returned function gives them back.
   */
  onSignals(signals: NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void;
  /** the caller's stdin and stdout as streams (a foreground terminal is connected to them) */
  stdio(): CallStdio;
  /** whether the caller's process has exited mid-call (only a call served for a door can outlive it) */
  callerGone?(): boolean;
  /** a process is about to join a container's cgroup: the engine readies the kernel for it (src/engine/own-cgroup.ts) */
  beforeCgroupJoin?(): void;
}

export interface CallStdio {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown; destroy(): void };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; getWindowSize?(): [number, number] };
  /** what must be undone once the terminal is detached (streams of the call's own) */
  close(): void;
}

let processLog: LogConfig = { format: 'text', debug: false };

/** The call of a process that runs one command: Node's own stdio, cwd, env and exit status. */
const processCall: Call = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  get env() {
    return process.env;
  },
  get cwd() {
    return process.cwd();
  },
  stdinFd: 0,
  get log() {
    return processLog;
  },
  set log(next: LogConfig) {
    processLog = next;
  },
  get exitCode() {
    return typeof process.exitCode === 'number' ? process.exitCode : undefined;
  },
  set exitCode(code: number | undefined) {
    process.exitCode = code;
  },
  shared: false,
  startMs: 0,
  pid: process.pid,
  spawn: spawnInProcess,
  onSignals(signals, handler) {
    for (const sig of signals) process.on(sig, handler);
    return () => {
      for (const sig of signals) process.off(sig, handler);
    };
  },
  stdio: () => ({ stdin: process.stdin, stdout: process.stdout, close: () => process.stdin.destroy() }),
};

const storage = new AsyncLocalStorage<Call>();

export function currentCall(): Call {
  return storage.getStore() ?? processCall;
}

/** Runs `fn` as `call`: everything it awaits sees that call. */
export function runAsCall<T>(call: Call, fn: () => Promise<T>): Promise<T> {
  return storage.run(call, fn);
}

/** The caller's /proc entry: "self" in its own process, the door's pid in the engine. */
export function callerProc(): string {
  const { pid } = currentCall();
  return pid === process.pid ? 'self' : String(pid);
}

/** A path from the caller's command line, absolute (relative ones are the caller's cwd's, as runc); a flag not given stays so. */
export function callerPath(p: string): string;
export function callerPath(p: string | undefined): string | undefined;
export function callerPath(p: string | undefined): string | undefined {
  return p === undefined ? undefined : path.resolve(currentCall().cwd, p);
}

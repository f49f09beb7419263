/**
 * The resident engine: one warm Node process that runs tsrun's commands for doors
 * (addon/door/door.c), so a call costs a tiny static program's start and a socket round trip
 * instead of Node's start-up. Each call runs `main(argv)` as a Call (src/call.ts) with the
 * caller's stdio fds, cwd and env; calls run concurrently (nothing on the served path blocks the
 * event loop waiting for a process or a lock). A call the engine cannot serve exactly as the
 * caller's own process would (src/engine/peer.ts), or a command it does not serve yet, is answered
 * "fallback" and the door runs it in-process. Exits after `idleMs` without a call.
 */
import { closeSync, mkdirSync, lstatSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { runAsCall, type Call } from '../call.js';
import { fastParse, isVersionRequest, main } from '../cli/main.js';
import { log, type LogConfig } from '../log.js';
import { native, type DoorRequest } from '../native.js';
import { callOutput } from './call-io.js';
import { processIdentity, whyInProcess } from './peer.js';

/** addon/door/wire.h */
const REPLY_EXIT = 1;
const REPLY_FALLBACK = 2;

/**
 * What the engine serves so far: the commands that start no process of the container's (start
 * only releases the init its create made, a child of create's caller). create, run and exec, whose
 * init must be the caller's child, run in-process until the door spawns tsrun-init itself; events
 * (a stream for as long as the container runs) and spec (a file in the cwd) too.
 */
const SERVED = new Set(['state', 'list', 'start', 'kill', 'delete', 'pause', 'resume', 'ps', 'update', 'features']);

function servedCommand(argv: string[]): boolean {
  if (isVersionRequest(argv)) return true;
  const parsed = fastParse(argv);
  return parsed !== undefined && SERVED.has(parsed.cmd.name);
}

function envOf(entries: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const kv of entries) {
    const eq = kv.indexOf('=');
    if (eq > 0 && !(kv.slice(0, eq) in env)) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

function reply(conn: number, type: number, value: number): void {
  const msg = Buffer.alloc(8);
  msg.writeUInt32LE(type, 0);
  msg.writeInt32LE(value, 4);
  try {
    // 8 bytes into an empty socket buffer: never waits
    writeSync(conn, msg);
  } catch {
    // the door is gone: nobody to tell
  }
}

function closeRequest(req: DoorRequest): void {
  for (const fd of [...req.fds, req.conn]) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

export interface EngineOptions {
  socketPath: string;
  idleMs: number;
}

/** The 0700 directory of the socket, made if missing; refused if someone else could reach into it. */
function prepareDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
    throw new Error(`engine directory ${dir} must be a directory of uid ${process.getuid?.()} with mode 0700`);
  }
}

/** The build this engine runs: a rebuilt install's doors must not be served by the old code. */
function buildStamp(): string {
  const st = statSync(new URL('../cli/main.js', import.meta.url));
  return `${st.ino}:${st.mtimeMs}`;
}

export async function serveEngine(opts: EngineOptions): Promise<void> {
  prepareDir(path.dirname(opts.socketPath));
  // one engine per socket: a second one started by a racing door finds the lock held and leaves
  const lockFd = openSync(`${opts.socketPath}.lock`, 'a', 0o600);
  if (!native.flock(lockFd, true, false)) return;
  rmSync(opts.socketPath, { force: true });
  const listenFd = native.engineListen(opts.socketPath);
  const own = processIdentity('/proc/self');
  const ownUmask = process.umask();
  const stamp = buildStamp();
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const shutDown = () => {
    // still holding the lock: no other engine has bound the path meanwhile
    rmSync(opts.socketPath, { force: true });
    native.engineClose(listenFd);
    process.exit(0);
  };
  const idle = () => {
    if (active === 0) idleTimer = setTimeout(shutDown, opts.idleMs);
  };
  let retiring = false;
  const serve = async (req: DoorRequest) => {
    active++;
    clearTimeout(idleTimer);
    // a rebuilt install: this call and those in flight finish here (in-process for this one), the
    // next door finds no socket and starts an engine of the new build
    if (!retiring && stamp !== buildStamp()) {
      retiring = true;
      rmSync(opts.socketPath, { force: true });
    }
    try {
      await serveCall(req, own, ownUmask, !retiring);
    } finally {
      closeRequest(req);
      active--;
      if (retiring && active === 0) shutDown();
      idle();
    }
  };
  idle();
  for (;;) {
    let req: DoorRequest;
    try {
      req = await native.engineAccept(listenFd);
    } catch {
      // closed by shutDown, or out of fds or worse: leave, the doors run their calls in-process
      // and start a new engine
      return shutDown();
    }
    void serve(req);
  }
}

async function serveCall(req: DoorRequest, own: string, ownUmask: number, sameBuild: boolean): Promise<void> {
  const env = envOf(req.env);
  const inProcess = !sameBuild
    ? 'the engine runs an older build'
    : (whyInProcess(req, own, ownUmask) ??
      // a crash test stops the process at a phase: that must be the caller's own process
      (env.TSRUN_STOP_AT_PHASE !== undefined ? 'TSRUN_STOP_AT_PHASE' : undefined) ??
      (servedCommand(req.argv) ? undefined : 'a command the engine does not serve'));
  if (inProcess !== undefined) {
    // --debug says why, before the in-process run's own lines
    if (req.argv.includes('--debug')) {
      const output = callOutput();
      output.write(req.fds[2], `time="${new Date().toISOString()}" level=debug msg="engine: runs in-process: ${inProcess}"\n`);
      await output.flushed();
    }
    reply(req.conn, REPLY_FALLBACK, 0);
    return;
  }
  const output = callOutput();
  let logConfig: LogConfig = { format: 'text', debug: false };
  const call: Call = {
    out: (text) => output.write(req.fds[1], text),
    err: (text) => output.write(req.fds[2], text),
    env,
    cwd: req.cwd,
    stdinFd: req.fds[0],
    get log() {
      return logConfig;
    },
    set log(next) {
      logConfig = next;
    },
    exitCode: undefined,
    shared: true,
    startMs: performance.now(),
  };
  try {
    await runAsCall(call, async () => {
      await main(req.argv);
      log.debug(`served by the resident engine (pid ${process.pid})`);
    });
  } catch {
    // main reports every error itself; this is the engine's own bug: the door runs the call instead
    // unless it has already said something
    if (!output.used) {
      reply(req.conn, REPLY_FALLBACK, 0);
      return;
    }
    call.exitCode = 1;
  }
  await output.flushed();
  reply(req.conn, REPLY_EXIT, call.exitCode ?? 0);
}

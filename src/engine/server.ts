/**
 * The resident engine: one warm Node process that runs tsrun's commands for doors
 * (addon/door/door.c), so a call costs a tiny static program's start and a socket round trip
 * instead of Node's start-up. Each call runs `main(argv)` as a Call (src/call.ts) with the
 * caller's stdio fds, cwd and env; calls run concurrently (nothing on the served path blocks the
 * event loop waiting for a process or a lock). A call the engine cannot serve exactly as the
 * caller's own process would (src/engine/peer.ts), or a command it does not serve yet, is answered
 * "fallback" and the door runs it in-process. Exits after `idleMs` without a call.
 */
import { closeSync, mkdirSync, lstatSync, openSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { runAsCall, type Call } from '../call.js';
import { fastParse, isVersionRequest, main } from '../cli/main.js';
import { log, type LogConfig } from '../log.js';
import { native, type DoorRequest } from '../native.js';
import { callOutput, callStdio } from './call-io.js';
import { DoorSession } from './door-session.js';
import { leaveOwnCgroup, primeCgroupMigration } from './own-cgroup.js';
import { processIdentity, whyInProcess } from './peer.js';

/**
 * What the engine serves: every lifecycle command. create, run and exec have their door start
 * tsrun-init (and the hooks) as the caller's child (src/spawn.ts, door-session.ts). events (a
 * stream for as long as the container runs) and spec (a file written once) run in-process.
 */
const SERVED = new Set(['state', 'list', 'create', 'run', 'exec', 'start', 'kill', 'delete', 'pause', 'resume', 'ps', 'update', 'features']);

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

/** The caller's fds; the connection is the session's to close. */
function closeRequest(req: DoorRequest): void {
  for (const fd of req.fds) {
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
    leaveOwnCgroup();
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
  const session = new DoorSession(req.conn);
  try {
    await serveSession(req, session, own, ownUmask, sameBuild);
  } finally {
    session.close();
  }
}

async function serveSession(req: DoorRequest, session: DoorSession, own: string, ownUmask: number, sameBuild: boolean): Promise<void> {
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
    session.fallback();
    return;
  }
  session.serving();
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
    pid: req.pid,
    spawn: (spawnReq) => session.spawn(spawnReq),
    onSignals: (signals, handler) => session.onSignals(signals, handler),
    stdio: () => callStdio(req.fds[0], req.fds[1]),
    callerGone: () => session.gone,
    beforeCgroupJoin: primeCgroupMigration,
  };
  try {
    await runAsCall(call, async () => {
      await main(req.argv);
      log.debug(`served by the resident engine (pid ${process.pid})`);
    });
  } catch (err) {
    // main reports every error itself: this is the engine's own bug, said as the CLI's last words
    call.err(`tsrun: internal error in the engine: ${(err as Error).stack ?? err}\n`);
    call.exitCode = 1;
  }
  await output.flushed();
  session.exit(call.exitCode ?? 0);
}

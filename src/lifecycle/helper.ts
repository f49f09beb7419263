/**
 * Starting tsrun-init and the first steps of its handshake, shared by create and exec: spawn it
 * with the container's stdio (and preserved fds) plus the sync socket, check its protocol version,
 * send the plan and learn the pid of the process it cloned. Also the console socket tsrun serves
 * itself when a foreground process asks for a terminal.
 */
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentCall } from '../call.js';
import { TsrunError, fromSystemError } from '../errors.js';
import { log } from '../log.js';
import { initHelperPath, native } from '../native.js';
import { Channel } from '../protocol/channel.js';
import { FieldReader } from '../protocol/codec.js';
import { Msg, PROTOCOL_VERSION } from '../protocol/protocol.js';
import type { FdSource, Spawned } from '../spawn.js';

export const HANDSHAKE_TIMEOUT_MS = 30_000;

export interface StartedHelper {
  helper: Spawned;
  channel: Channel;
  /** host pid of the process the helper cloned (the container init, or the exec'd process) */
  pid: number;
  /** kills the helper if it still runs and closes the socket */
  abort(): void;
}

export interface SpawnedHelper {
  helper: Spawned;
  channel: Channel;
  abort(): void;
}

/**
 * Starts tsrun-init as the caller's child (src/spawn.ts) with the caller's stdio and preserved fds
 * and the sync socket after them; the caller pushes its abort. create starts it before making its
 * cgroup, so that the door (or fork) and the helper's start-up run meanwhile; nothing happens in
 * the helper until it gets its plan (sendPlan).
 */
export async function spawnHelper(preserveFds: number): Promise<SpawnedHelper> {
  const syncFd = 3 + preserveFds;
  const fds: FdSource[] = [];
  for (let fd = 0; fd < syncFd; fd++) fds.push({ callerFd: fd });
  const [ours, theirs] = native.fdPair('socketpair');
  let helper: Spawned;
  try {
    helper = await currentCall().spawn({ file: initHelperPath(), argv: [initHelperPath(), '--sync-fd', String(syncFd)], env: {}, fds: [...fds, theirs] });
  } catch (err) {
    closeSync(ours);
    throw fromSystemError(err, 'start tsrun-init');
  } finally {
    closeSync(theirs);
  }
  const exited = helper.exit.then(({ code, signal }) => (signal ? `killed by ${signal}` : `exit status ${code}`));
  const channel = new Channel(new Socket({ fd: ours, readable: true, writable: true }), {
    onLog: (level, message) => (level === 'warn' ? log.warn(message) : log.debug(message)),
    exitDescription: () => Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]),
  });
  const abort = () => {
    channel.close();
    helper.kill('SIGKILL');
  };
  log.phase('helper spawned');
  return { helper, channel, abort };
}

/** Checks the helper's protocol, sends `plan`, returns once the helper reports the pid it cloned. */
export async function sendPlan(spawned: SpawnedHelper, plan: Buffer): Promise<StartedHelper> {
  const { channel } = spawned;
  const version = new FieldReader(await channel.expect(Msg.Hello, 'start init', HANDSHAKE_TIMEOUT_MS)).u32();
  if (version !== PROTOCOL_VERSION) {
    throw new TsrunError(`tsrun-init speaks protocol ${version}, tsrun ${PROTOCOL_VERSION}: reinstall tsrun`, { kind: 'internal' });
  }
  channel.send(Msg.Plan, plan);
  const pid = new FieldReader(await channel.expect(Msg.Pid, 'clone the process', HANDSHAKE_TIMEOUT_MS)).u32();
  log.phase('process cloned');
  return { ...spawned, pid };
}

/** A console socket served by tsrun itself: what a foreground run or exec with a terminal uses. */
export interface OwnConsole {
  path: string;
  /** the pty master the process sends */
  master: Promise<number>;
  /** unblocks the wait if the process never connects (a failed create or exec) */
  release(): Promise<void>;
}

export function ownConsole(): OwnConsole {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-console-'));
  const path = join(dir, 'console.sock');
  const master = native.receiveFd(path, HANDSHAKE_TIMEOUT_MS);
  master.catch(() => undefined).finally(() => rmSync(dir, { recursive: true, force: true }));
  const release = () =>
    new Promise<void>((resolve) => {
      const s = connect(path);
      s.on('connect', () => s.destroy());
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
  return { path, master, release };
}

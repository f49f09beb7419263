/**
 * create: the orchestration of the handshake in src/protocol/protocol.ts. Node plans, owns the
 * state directory, the cgroup, the id maps and the runtime-namespace hooks; tsrun-init does every
 * step inside the container. Each step that makes something pushes its reversal, so a failure at
 * any point leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBundle } from '../bundle/load.js';
import { buildPlan, cgroupResources, encodePlan, type ContainerPlan } from '../bundle/plan.js';
import { expandCgroupMounts } from '../bundle/cgroup-mounts.js';
import type { IdMapping, Spec } from '../bundle/spec-types.js';
import { openCgroupManager } from '../cgroups/index.js';
import { TsrunError, fromSystemError, wrap } from '../errors.js';
import { runHooks } from '../hooks.js';
import { log } from '../log.js';
import { initHelperPath, native } from '../native.js';
import { Channel } from '../protocol/channel.js';
import { FieldReader, RecordWriter } from '../protocol/codec.js';
import { HookKind, Msg, PROTOCOL_VERSION, Tag } from '../protocol/protocol.js';
import { readProcStat, waitForExit } from '../state/proc.js';
import { ContainerLock, writeRecord, type ContainerRecord } from '../state/store.js';
import { hookState } from './status.js';
import { Undo } from './undo.js';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** run in the foreground: the helper stays the init's parent and reports its exit status */
  foreground?: boolean;
}

export interface CreatedContainer {
  record: ContainerRecord;
  /** foreground runs of a `terminal: true` process: the pty master tsrun received itself */
  ptyMaster?: number;
  /** only for foreground runs: resolves with the init's raw wait status */
  waitStatus?: Promise<number>;
  /** only for foreground runs: releases the sync socket */
  close(): void;
}

const HANDSHAKE_TIMEOUT_MS = 30_000;

export async function createContainer(opts: CreateOptions): Promise<CreatedContainer> {
  log.phase('create: start');
  const { bundle, spec } = loadBundle(opts.bundle);
  log.phase('create: config loaded and validated');
  // In the foreground tsrun is its own console socket, as runc is: nobody else could take the pty.
  const ownConsole = opts.foreground === true && spec.process?.terminal === true && !opts.consoleSocket;
  const consoleDir = ownConsole ? mkdtempSync(join(tmpdir(), 'tsrun-console-')) : undefined;
  const consoleSocket = consoleDir ? join(consoleDir, 'console.sock') : opts.consoleSocket;
  const plan = buildPlan(spec, {
    id: opts.id,
    bundle,
    noPivot: opts.noPivot,
    noNewKeyring: opts.noNewKeyring,
    consoleSocket,
    preserveFds: opts.preserveFds,
    capLastCap: readCapLastCap(),
    sourceKind,
  });
  for (const warning of plan.warnings) log.warn(warning);
  log.phase('create: planned');

  const undo = new Undo();
  let ptyMaster: Promise<number> | undefined;
  if (consoleDir && consoleSocket) {
    ptyMaster = native.receiveFd(consoleSocket, HANDSHAKE_TIMEOUT_MS);
    undo.push('console socket', () => releaseConsoleSocket(consoleSocket));
    ptyMaster.catch(() => undefined).finally(() => rmSync(consoleDir, { recursive: true, force: true }));
  }
  const lock = ContainerLock.createNew(opts.root, opts.id);
  undo.push('state directory', () => lock.removeDir());
  try {
    const created = await createLocked(opts, spec, plan, lock, undo);
    if (ptyMaster) created.ptyMaster = await ptyMaster;
    return created;
  } catch (err) {
    throw await undo.rollback(err);
  } finally {
    lock.release();
  }
}

async function createLocked(
  opts: CreateOptions,
  spec: Spec,
  plan: ContainerPlan,
  lock: ContainerLock,
  undo: Undo,
): Promise<CreatedContainer> {
  const paths = lock.paths;
  native.mkfifo(paths.fifo, 0o622);

  const cgroup = openCgroupManager({ cgroupsPath: spec.linux?.cgroupsPath, id: opts.id });
  cgroup.create();
  undo.push('cgroup', () => cgroup.destroy());
  // Recorded from here on, so that if this process dies (kill -9) delete --force still finds the
  // cgroup, and the init once it exists.
  const record: ContainerRecord = {
    ociVersion: spec.ociVersion,
    id: opts.id,
    pid: 0,
    pidStartTime: '',
    bundle: plan.bundle,
    rootfs: plan.rootfs,
    created: new Date().toISOString(),
    owner: '',
    annotations: spec.annotations,
    cgroup: { version: cgroup.version, paths: cgroup.paths, created: [...cgroup.created] },
    hooks: spec.hooks,
    started: false,
    creating: { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? '' },
  };
  writeRecord(opts.root, record);
  cgroup.apply(cgroupResources(spec));
  log.phase('create: cgroup ready');
  expandCgroupMounts(plan, { version: cgroup.version, paths: cgroup.paths }, readFileSync('/proc/self/mountinfo', 'utf8'));

  const { helper, channel } = startHelper(plan.preserveFds);
  undo.push('init helper', () => {
    channel.close();
    if (helper.exitCode === null && helper.signalCode === null) helper.kill('SIGKILL');
  });

  log.phase('create: helper spawned');
  const hello = new FieldReader(await channel.expect(Msg.Hello, 'start init', HANDSHAKE_TIMEOUT_MS));
  const version = hello.u32();
  if (version !== PROTOCOL_VERSION) {
    throw new TsrunError(`tsrun-init speaks protocol ${version}, tsrun ${PROTOCOL_VERSION}: reinstall tsrun`, { kind: 'internal' });
  }
  channel.send(Msg.Plan, encodePlan(plan, { stateDir: paths.dir, stage0Wait: opts.foreground === true }));
  const pid = new FieldReader(await channel.expect(Msg.Pid, 'clone container init', HANDSHAKE_TIMEOUT_MS)).u32();
  log.phase('create: init cloned');
  const startTime = readProcStat(pid)?.startTime;
  if (!startTime) throw new TsrunError(`container init ${pid} exited during create`, { kind: 'kernel' });
  record.pid = pid;
  record.pidStartTime = startTime;
  writeRecord(opts.root, record);
  undo.push('container init', async () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    await waitForExit(pid, startTime, 5000);
  });

  try {
    cgroup.addProcess(pid);
  } catch (err) {
    throw wrap(err, 'add container init to its cgroup');
  }
  if (plan.newNamespaces & 0x10000000) {
    writeIdMap(pid, 'uid_map', plan.uidMappings);
    writeIdMap(pid, 'gid_map', plan.gidMappings);
  }

  log.phase('create: init in its cgroup');
  const creating = JSON.stringify(hookState(record, 'creating'));
  await runHooks('prestart', spec.hooks?.prestart, creating);
  await runHooks('createRuntime', spec.hooks?.createRuntime, creating);

  const cont = new RecordWriter()
    .add(Tag.HookState, (f) => f.u32(HookKind.CreateContainer).str(creating))
    .add(Tag.HookState, (f) => f.u32(HookKind.StartContainer).str(JSON.stringify(hookState(record, 'created'))));
  channel.send(Msg.Continue, cont.bytes());
  await channel.expect(Msg.Ready, 'set up container', hookBudgetMs(spec) + HANDSHAKE_TIMEOUT_MS);

  log.phase('create: init ready');
  delete record.creating;
  writeRecord(opts.root, record);
  if (opts.pidFile) writePidFile(opts.pidFile, pid);
  undo.commit();

  let waitStatus: Promise<number> | undefined;
  if (opts.foreground) {
    waitStatus = channel
      .expect(Msg.Exit, 'wait for container', 2 ** 31 - 1)
      .then((payload) => new FieldReader(payload).i32());
  } else {
    channel.close();
  }
  helper.unref();
  return { record, waitStatus, close: () => channel.close() };
}

/** Unblocks a receiveFd() still waiting (create failed before the init connected). */
function releaseConsoleSocket(path: string): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.on('connect', () => s.destroy());
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
}

function startHelper(preserveFds: number): { helper: ChildProcess; channel: Channel } {
  const syncFd = 3 + preserveFds;
  const stdio: ('inherit' | 'pipe' | number)[] = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < syncFd; fd++) stdio.push(fd);
  stdio.push('pipe');
  let helper: ChildProcess;
  try {
    helper = spawn(initHelperPath(), ['--sync-fd', String(syncFd)], { stdio, env: {} });
  } catch (err) {
    throw fromSystemError(err, 'start tsrun-init');
  }
  const exited = new Promise<string>((resolve) => {
    helper.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit status ${code}`));
    helper.once('error', (err) => resolve(err.message));
  });
  const channel = new Channel(helper.stdio[syncFd] as Socket, {
    onLog: (level, message) => (level === 'warn' ? log.warn(message) : log.debug(message)),
    exitDescription: () => Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]),
  });
  return { helper, channel };
}

function hookBudgetMs(spec: Spec): number {
  const hooks = [...(spec.hooks?.createContainer ?? [])];
  return hooks.reduce((sum, h) => sum + (h.timeout ?? 60) * 1000, 0);
}

function writeIdMap(pid: number, file: 'uid_map' | 'gid_map', mappings: IdMapping[]): void {
  const text = mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
  try {
    writeFileSync(`/proc/${pid}/${file}`, text);
  } catch (err) {
    throw fromSystemError(err, `write ${file} of the container's user namespace`);
  }
}

/** The bare decimal pid, no newline (containerd and podman parse it strictly); written atomically. */
export function writePidFile(file: string, pid: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, String(pid));
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fromSystemError(err, `write pid file ${file}`);
  }
}

function readCapLastCap(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    return undefined;
  }
}

function sourceKind(path: string): 'dir' | 'file' | undefined {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/**
 * exec: a new process in a running container. It joins the init's namespaces (those that differ
 * from tsrun's own, user namespace first) and its cgroup, and gets its own process settings: a
 * whole process.json (--process, what containerd and podman send) or the container's process with
 * runc's flags applied. Detached it returns once the process runs; in the foreground it waits and
 * returns the process's exit status.
 */
import { readFileSync, statSync } from 'node:fs';
import { currentCall } from '../call.js';
import { buildExecPlan } from '../bundle/process-plan.js';
import { seccompState } from '../bundle/seccomp-plan.js';
import { namespaceFlags } from '../kernel-tables.js';
import { encodeExecPlan } from '../protocol/plan-encoding.js';
import type { Process } from '../bundle/spec-types.js';
import { validateProcess } from '../bundle/validate.js';
import { TsrunError, configError, fromSystemError, stateError, usageError, wrap } from '../errors.js';
import { log } from '../log.js';
import { caller, readCallerLimits } from '../rootless.js';
import { ProcessHandle, readProcStat } from '../state/proc.js';
import { FieldReader, RecordWriter } from '../protocol/codec.js';
import { Msg } from '../protocol/protocol.js';
import { ContainerLock, readRecord, type ContainerRecord } from '../state/store.js';
import { addPidToDirs } from '../cgroups/common.js';
import { realCgroupFs } from '../cgroups/fs.js';
import { execCgroupDirs, parseSubCgroupArgs } from '../cgroups/sub-cgroup.js';
import { recordedCgroup } from './cgroup.js';
import { writePidFile } from './create.js';
import { HANDSHAKE_TIMEOUT_MS, ownConsole, sendPlan, spawnHelper } from './helper.js';
import { exitCodeOf, holdForeground } from './run.js';
import { containerStatus, hookState } from './status.js';
import { Undo } from './undo.js';

export interface ExecOptions {
  root: string;
  id: string;
  /** a process.json (the spec's process object); the flags below are then ignored */
  processFile?: string;
  args: string[];
  tty: boolean;
  cwd?: string;
  env: string[];
  /** "uid" or "uid:gid" */
  user?: string;
  additionalGids: number[];
  caps: string[];
  noNewPrivs: boolean;
  /** --apparmor: replaces the container's process.apparmorProfile */
  apparmorProfile?: string;
  /** --process-label: replaces the container's process.selinuxLabel */
  processLabel?: string;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  ignorePaused: boolean;
  /** --cgroup: PATH, or CONTROLLER[,CONTROLLER]:PATH (v1, repeatable): an existing sub-cgroup to join */
  cgroup?: string[];
}

/** /proc/<pid>/ns names, user first: joining it first gives the rights to join the others. */
const nsFiles: [string, string][] = [
  ['user', 'user'], ['ipc', 'ipc'], ['uts', 'uts'], ['net', 'network'], ['pid', 'pid'], ['cgroup', 'cgroup'],
  ['time', 'time'], ['mnt', 'mount'],
];

/** The init's namespaces that are not tsrun's own: what the container created or joined. */
export function containerNamespaces(pid: number, procRoot = '/proc'): { type: number; path: string }[] {
  const joins: { type: number; path: string }[] = [];
  for (const [file, type] of nsFiles) {
    const path = `${procRoot}/${pid}/ns/${file}`;
    let theirs: number;
    try {
      theirs = statSync(path).ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && file === 'time') continue; // kernel < 5.6
      throw fromSystemError(err, `inspect the container's ${type} namespace`);
    }
    if (theirs !== statSync(`${procRoot}/self/ns/${file}`).ino) joins.push({ type: namespaceFlags[type], path });
  }
  return joins;
}

/** The process to start: process.json as given, or the container's with runc's exec flags applied. */
export function execProcess(record: ContainerRecord, opts: ExecOptions): Process {
  if (opts.processFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(opts.processFile, 'utf8'));
    } catch (err) {
      if (err instanceof SyntaxError) throw configError('', `${opts.processFile}: invalid JSON: ${err.message}`);
      throw fromSystemError(err, `read ${opts.processFile}`, 'config');
    }
    validateProcess(parsed, opts.processFile);
    // What process.json leaves out comes from the container, as with runc: an exec'd process does
    // not get more capabilities or fewer restrictions than the container's own.
    const proc = parsed as Process;
    const base = record.process;
    if (proc.capabilities === undefined && base?.capabilities) proc.capabilities = structuredClone(base.capabilities);
    if (proc.noNewPrivileges === undefined && base?.noNewPrivileges) proc.noNewPrivileges = true;
    if (proc.rlimits === undefined && base?.rlimits) proc.rlimits = structuredClone(base.rlimits);
    // As runc: an empty or absent label or profile is the container's.
    if (!proc.apparmorProfile && base?.apparmorProfile) proc.apparmorProfile = base.apparmorProfile;
    if (!proc.selinuxLabel && base?.selinuxLabel) proc.selinuxLabel = base.selinuxLabel;
    return proc;
  }
  if (!opts.args.length) throw usageError('exec needs a command, or --process');
  const base: Process = record.process ?? { cwd: '/', args: opts.args };
  const proc: Process = structuredClone(base);
  proc.args = opts.args;
  proc.terminal = opts.tty;
  if (opts.cwd) proc.cwd = opts.cwd;
  // Appended, as runc does: the plan keeps the last value of a name (processEnv).
  for (const kv of opts.env) if (kv.indexOf('=') <= 0) throw usageError(`--env takes NAME=VALUE, got ${JSON.stringify(kv)}`);
  proc.env = [...(proc.env ?? []), ...opts.env];
  if (opts.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(opts.user);
    if (!m) throw usageError(`--user must be uid or uid:gid, got ${JSON.stringify(opts.user)}`);
    proc.user = { ...(proc.user ?? { uid: 0, gid: 0 }), uid: Number(m[1]), ...(m[2] !== undefined ? { gid: Number(m[2]) } : {}) };
  }
  if (opts.additionalGids.length) {
    proc.user = { ...(proc.user ?? { uid: 0, gid: 0 }) };
    proc.user.additionalGids = [...(proc.user.additionalGids ?? []), ...opts.additionalGids];
  }
  if (opts.caps.length) {
    const caps = (proc.capabilities = { ...proc.capabilities });
    for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), ...opts.caps];
  }
  if (opts.noNewPrivs) proc.noNewPrivileges = true;
  if (opts.apparmorProfile) proc.apparmorProfile = opts.apparmorProfile;
  if (opts.processLabel) proc.selinuxLabel = opts.processLabel;
  return proc;
}

/**
 * Holds the container's lock until the new process is in the container's cgroup and running (a
 * delete --force meanwhile would remove the cgroup the process is about to join, and miss it);
 * a foreground exec then waits without it.
 */
export async function execInContainer(opts: ExecOptions): Promise<number> {
  // the process joins the container's cgroup in a few milliseconds (src/engine/own-cgroup.ts)
  currentCall().beforeCgroupJoin?.();
  const lock = await ContainerLock.acquire(opts.root, opts.id);
  const unlock = () => lock.release();
  try {
    return await execLocked(opts, unlock);
  } finally {
    unlock();
  }
}

async function execLocked(opts: ExecOptions, unlock: () => void): Promise<number> {
  const record = readRecord(opts.root, opts.id);
  const status = await containerStatus(opts.root, record);
  if (status === 'stopped' || status === 'creating') throw stateError(`cannot exec in a ${status} container`);
  if (status === 'paused' && !opts.ignorePaused) {
    throw stateError('cannot exec in a paused container (use --ignore-paused to override)');
  }
  if (record.hostMounts) {
    // Its init is only chrooted in tsrun's own mount namespace: a process joining its namespaces
    // would keep the host's root and mounts.
    throw stateError('cannot exec in a container without a mount namespace (its root is a chroot in the caller\'s namespace)');
  }
  const proc = execProcess(record, opts);
  // resolved before anything starts: a bad --cgroup leaves nothing behind
  const joinDirs = opts.cgroup?.length ? execCgroupDirs(record.cgroup.paths, parseSubCgroupArgs(opts.cgroup)) : undefined;
  const terminal = !opts.detach && proc.terminal === true && !opts.consoleSocket ? ownConsole() : undefined;
  const plan = buildExecPlan(proc, containerNamespaces(record.pid), {
    consoleSocket: terminal?.path ?? opts.consoleSocket,
    preserveFds: opts.preserveFds,
    seccomp: record.seccomp,
    callerLimits: readCallerLimits(caller(), setgroupsDenied(record.pid)),
  });
  for (const warning of plan.warnings) log.warn(warning);

  const undo = new Undo();
  if (terminal) undo.push('console socket', () => terminal.release());
  try {
    const spawned = await spawnHelper(plan.preserveFds);
    undo.push('exec helper', spawned.abort);
    const started = await sendPlan(spawned, encodeExecPlan(plan, { stage0Wait: !opts.detach, debug: log.debugEnabled }));
    const pid = started.pid;
    const startTime = readProcStat(pid)?.startTime ?? '';
    const proc = ProcessHandle.open(pid, startTime);
    if (!proc) throw new TsrunError(`exec'd process ${pid} exited during its set-up`, { kind: 'kernel' });
    undo.push('exec process', () => {
      proc.signal('SIGKILL');
      proc.close();
    });
    try {
      // before Continue: the process runs nothing of its own until it is in its cgroup
      if (joinDirs) addPidToDirs(realCgroupFs, joinDirs, pid);
      else recordedCgroup(record).addProcess(pid);
    } catch (err) {
      throw wrap(err, "add the process to the container's cgroup");
    }
    // held before it runs: a signal that comes once the process runs (it may say so at once) is its
    const foreground = opts.detach ? undefined : holdForeground(pid, startTime);
    if (foreground) undo.push('foreground signals', () => foreground.release());
    const cont = new RecordWriter();
    if (plan.seccomp?.listener) cont.add('SeccompState', { json: seccompState(plan.seccomp.listener, pid, hookState(record, 'running')) });
    started.channel.send(Msg.Continue, cont.bytes());
    await started.channel.expect(Msg.Ready, 'set up the process', HANDSHAKE_TIMEOUT_MS);
    if (opts.pidFile) writePidFile(opts.pidFile, pid);
    unlock();
    if (!foreground) {
      proc.close();
      started.channel.close();
      undo.commit();
      return 0;
    }
    const waitStatus = started.channel
      .expect(Msg.Exit, 'wait for the process', 2 ** 31 - 1)
      .then((payload) => new FieldReader(payload).i32());
    const master = terminal ? await terminal.master : undefined;
    const code = exitCodeOf(await foreground.wait(waitStatus, master, () => started.channel.close()));
    undo.commit();
    proc.close();
    return code;
  } catch (err) {
    throw await undo.rollback(err instanceof TsrunError ? err : wrap(err, 'exec'));
  }
}

/** The container's user namespace refuses setgroups(2) (a rootless create that mapped its own gid alone). */
function setgroupsDenied(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim() === 'deny';
  } catch {
    return false;
  }
}

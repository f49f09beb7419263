/**
 * create: the orchestration of the handshake in src/protocol/protocol.ts. Node plans, owns the
 * state directory, the cgroup, the id maps and the runtime-namespace hooks; tsrun-init does every
 * step inside the container. Each step that makes something pushes its reversal, so a failure at
 * any point leaves nothing behind.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { currentCall } from '../call.js';
import { loadBundle } from '../bundle/load.js';
import { buildPlan, type ContainerPlan } from '../bundle/plan.js';
import { seccompState } from '../bundle/seccomp-plan.js';
import { expandCgroupMounts } from '../bundle/cgroup-mounts.js';
import type { Spec } from '../bundle/spec-types.js';
import type { CgroupManager } from '../cgroups/index.js';
import { TsrunError, fromSystemError, isGone, wrap } from '../errors.js';
import { runHooks } from '../hooks.js';
import { log } from '../log.js';
import { native } from '../native.js';
import { FieldReader, RecordWriter } from '../protocol/codec.js';
import { encodePlan } from '../protocol/plan-encoding.js';
import { HookKind, Msg } from '../protocol/protocol.js';
import { ProcessHandle, readProcStat, waitForExit } from '../state/proc.js';
import { ContainerLock, writeRecord, type ContainerRecord } from '../state/store.js';
import { hookState } from './status.js';
import { HANDSHAKE_TIMEOUT_MS, ownConsole, sendPlan, spawnHelper } from './helper.js';
import { mountIdsBelow, unmountBelow } from './host-mounts.js';
import { Undo } from './undo.js';
import { containerCgroup, recordedCgroup } from './cgroup.js';
import { writeIdMaps } from './id-maps.js';
import { caller, mapsOwnGidAlone, readCallerLimits, type Caller } from '../rootless.js';
import { checkRootlessNamespaces } from '../bundle/caller-limits.js';
import { signalAll } from './kill.js';
import { openSystemdCgroup, startSystemdCgroup, stopSystemdUnit, type SystemdCgroup } from './systemd-cgroup.js';

const SIGKILL = 9;

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** --systemd-cgroup: the cgroup is a transient systemd unit's (linux.cgroupsPath "slice:prefix:name") */
  systemdCgroup?: boolean;
  /** run in the foreground: the helper stays the init's parent and reports its exit status */
  foreground?: boolean;
  /** --rootless: leave out cgroups the caller may not write (undefined: when the caller is rootless) */
  rootlessCgroups?: boolean;
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


/**
 * The fds systemd's socket activation passed to tsrun (LISTEN_FDS of them from 3, when LISTEN_PID
 * is this process): given to the container's process as runc gives them (go-systemd's
 * activation.Files), for create and run.
 */
export function socketActivationFds(env: NodeJS.ProcessEnv, pid: number): number {
  if (env.LISTEN_PID !== String(pid) || !/^[1-9]\d*$/.test(env.LISTEN_FDS ?? '')) return 0;
  return Number(env.LISTEN_FDS);
}

export async function createContainer(opts: CreateOptions): Promise<CreatedContainer> {
  log.phase('create: start');
  // the init joins its cgroup in a few milliseconds: the sooner this starts, the less it waits
  currentCall().beforeCgroupJoin?.();
  const { bundle, spec } = loadBundle(opts.bundle);
  log.phase('create: config loaded and validated');
  const who = caller();
  checkRootlessNamespaces(spec.linux ?? {}, who.euid);
  const createsUserNamespace = (spec.linux?.namespaces ?? []).some((n) => n.type === 'user' && !n.path);
  // In the foreground tsrun is its own console socket, as runc is: nobody else could take the pty.
  const ownTerminal = opts.foreground === true && spec.process?.terminal === true && !opts.consoleSocket ? ownConsole() : undefined;
  const consoleSocket = ownTerminal?.path ?? opts.consoleSocket;
  const plan = buildPlan(spec, {
    id: opts.id,
    bundle,
    noPivot: opts.noPivot,
    noNewKeyring: opts.noNewKeyring,
    consoleSocket,
    preserveFds: opts.preserveFds,
    listenFds: socketActivationFds(currentCall().env, currentCall().pid),
    capLastCap: readCapLastCap(),
    sourceKind,
    callerLimits: readCallerLimits(who, createsUserNamespace && mapsOwnGidAlone(who, spec.linux?.gidMappings ?? [])),
    callerInUserNamespace: who.inUserNamespace,
  });
  for (const warning of plan.warnings) log.warn(warning);
  log.phase('create: planned');

  const undo = new Undo();
  if (ownTerminal) undo.push('console socket', () => ownTerminal.release());
  const lock = ContainerLock.createNew(opts.root, opts.id);
  undo.push('state directory', () => lock.removeDir());
  let systemd: SystemdCgroup | undefined;
  try {
    // before the record: without systemd, nothing but the state dir was made
    if (opts.systemdCgroup) systemd = await openSystemdCgroup(spec, opts.id, { rootless: opts.rootlessCgroups, caller: who });
    const created = await createLocked(opts, spec, plan, lock, undo, who, systemd);
    if (ownTerminal) created.ptyMaster = await ownTerminal.master;
    return created;
  } catch (err) {
    throw await undo.rollback(err);
  } finally {
    systemd?.units.close();
    lock.release();
  }
}

async function createLocked(
  opts: CreateOptions,
  spec: Spec,
  plan: ContainerPlan,
  lock: ContainerLock,
  undo: Undo,
  who: Caller,
  systemd: SystemdCgroup | undefined,
): Promise<CreatedContainer> {
  const paths = lock.paths;
  native.mkfifo(paths.fifo, 0o622);
  // started first: the door's fork and the helper's start-up overlap the cgroup's making below
  // (the helper does nothing until it has its plan, and exits if this process dies first)
  const spawning = spawnHelper(plan.preserveFds);
  undo.push('init helper', async () => (await spawning.catch(() => undefined))?.abort());

  const { manager: cgroup, resources, shown } = systemd
    ? { manager: systemd.manager, resources: systemd.resources, shown: systemd.manager.paths }
    : containerCgroup(spec, opts.id, opts.rootlessCgroups ?? who.rootless);
  // before the record names the cgroup: a delete --force of this container must never reach
  // processes that were there first (a systemd unit is new: systemd refuses a name in use)
  if (!systemd) refuseForeignCgroup(cgroup);
  // Recorded before anything outside the state dir exists, with the cgroup dirs it is about to
  // make: if this process dies (kill -9) at any later point, delete --force finds them, and the
  // init once it exists.
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
    cgroup: systemd
      ? { version: cgroup.version, paths: cgroup.paths, created: systemd.leafDirs, systemd: { unit: systemd.names.unit, user: systemd.user || undefined } }
      : { version: cgroup.version, paths: cgroup.paths, created: cgroup.missingDirs() },
    hooks: spec.hooks,
    process: spec.process,
    seccomp: spec.linux?.seccomp,
    started: false,
    hostMounts: plan.hostMountNamespace ? { before: mountIdsBelow(plan.rootfs) } : undefined,
    creating: { pid: currentCall().pid, startTime: readProcStat(currentCall().pid)?.startTime ?? '' },
  };
  writeRecord(opts.root, record);
  log.phase('create: recorded');
  if (systemd) {
    // the unit needs the init's pid: it starts below; what systemd leaves of its dirs goes last,
    // the same dirs delete would remove
    undo.push('cgroup', () => recordedCgroup(record).destroy());
  } else {
    cgroup.create(resources);
    undo.push('cgroup', () => cgroup.destroy());
    log.phase('create: cgroup made');
    // recorded again only if create made fewer dirs than it was about to (another made some meanwhile)
    const recorded = new Set(record.cgroup.created);
    if (cgroup.created.length !== recorded.size || cgroup.created.some((dir) => !recorded.has(dir))) {
      record.cgroup.created = [...cgroup.created];
      writeRecord(opts.root, record);
    }
    refuseForeignCgroup(cgroup);
    cgroup.apply(resources);
    log.phase('create: cgroup ready');
  }
  expandCgroupMounts(plan, { version: cgroup.version, paths: shown }, readFileSync('/proc/self/mountinfo', 'utf8'));

  const { hostMounts } = record;
  if (hostMounts) undo.push('mounts under the rootfs', () => unmountBelow(plan.rootfs, hostMounts.before));
  const { channel, pid } = await sendPlan(
    await spawning,
    encodePlan(plan, {
      stateDir: paths.dir, stage0Wait: opts.foreground === true, debug: log.debugEnabled,
      mapsByCaller: who.euid !== 0 && (plan.newNamespaces & 0x10000000) !== 0,
    }),
  );
  const startTime = readProcStat(pid)?.startTime;
  if (!startTime) throw new TsrunError(`container init ${pid} exited during create`, { kind: 'kernel' });
  record.pid = pid;
  record.pidStartTime = startTime;
  writeRecord(opts.root, record);
  log.phase('create: init recorded');
  const init = ProcessHandle.open(pid, startTime);
  if (!init) throw new TsrunError(`container init ${pid} exited during create`, { kind: 'kernel' });
  undo.push('container init', async () => {
    try {
      if (init.signal('SIGKILL')) await waitForExit(pid, startTime, 5000);
    } finally {
      init.close();
    }
  });

  try {
    if (systemd) {
      // newest first on failure: everything in the unit killed, then the unit stopped
      undo.push('systemd unit', async () => {
        try {
          signalAll(record, SIGKILL);
        } catch (err) {
          // no cgroup yet: the unit never got that far, but may exist; it is stopped all the same
          if (!isGone(err)) throw err;
        }
        await stopSystemdUnit(systemd.names.unit, systemd.units);
      });
      await startSystemdCgroup(systemd, spec, pid, resources);
    } else {
      cgroup.addProcess(pid);
    }
  } catch (err) {
    throw wrap(err, 'add container init to its cgroup');
  }
  if (plan.newNamespaces & 0x10000000) {
    writeIdMaps(pid, plan.uidMappings, plan.gidMappings, who);
  }

  log.phase('create: init in its cgroup');
  const creating = JSON.stringify(hookState(record, 'creating'));
  await runHooks('prestart', spec.hooks?.prestart, creating);
  await runHooks('createRuntime', spec.hooks?.createRuntime, creating);
  log.phase('create: runtime hooks run');

  const cont = new RecordWriter()
    .add('HookState', { kind: HookKind.CreateContainer, json: creating })
    .add('HookState', { kind: HookKind.StartContainer, json: JSON.stringify(hookState(record, 'created')) });
  if (plan.seccomp?.listener) cont.add('SeccompState', { json: seccompState(plan.seccomp.listener, pid, hookState(record, 'creating')) });
  channel.send(Msg.Continue, cont.bytes());
  await channel.expect(Msg.Ready, 'set up container', hookBudgetMs(spec) + HANDSHAKE_TIMEOUT_MS);

  log.phase('create: init ready');
  delete record.creating;
  writeRecord(opts.root, record);
  log.phase('create: created recorded');
  if (opts.pidFile) writePidFile(opts.pidFile, pid);
  undo.commit();
  // its undo is gone with the commit: the pidfd is closed here (an engine serves many creates)
  init.close();

  let waitStatus: Promise<number> | undefined;
  if (opts.foreground) {
    waitStatus = channel
      .expect(Msg.Exit, 'wait for container', 2 ** 31 - 1)
      .then((payload) => new FieldReader(payload).i32());
  } else {
    channel.close();
  }
  return { record, waitStatus, close: () => channel.close() };
}


/**
 * A cgroup that already holds processes would be taken over (and its processes killed by delete
 * --force), and a frozen one would freeze the init half-way through create: both are refused, as
 * runc does. Only what create did not make can be either (its own dirs are new and empty).
 */
function refuseForeignCgroup(cgroup: CgroupManager): void {
  const pids = cgroup.allPids();
  if (pids.length) {
    const where = [...new Set(Object.values(cgroup.paths))].join(', ');
    throw new TsrunError(`container's cgroup is not empty: ${pids.length} process(es) found in ${where}`, { kind: 'state', pointer: '/linux/cgroupsPath' });
  }
  let frozen = false;
  try {
    frozen = cgroup.isFrozen();
  } catch (err) {
    // not there yet (checked again once made), or v1 without a freezer hierarchy
    if (!isGone(err) && !(err instanceof TsrunError && /"freezer" is not mounted/.test(err.message))) throw err;
  }
  if (frozen) throw new TsrunError(`container's cgroup unexpectedly frozen: ${[...new Set(Object.values(cgroup.paths))].join(', ')}`, { kind: 'state', pointer: '/linux/cgroupsPath' });
}

function hookBudgetMs(spec: Spec): number {
  const hooks = [...(spec.hooks?.createContainer ?? [])];
  return hooks.reduce((sum, h) => sum + (h.timeout ?? 60) * 1000, 0);
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

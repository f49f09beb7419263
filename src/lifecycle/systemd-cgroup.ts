/**
 * The container's cgroup under `--systemd-cgroup`: where it will be (the unit's cgroup, known from
 * its name before the unit exists, so create can record it first), the unit started with the
 * init's pid and then the cgroupfs writes systemd has no property for; `update` and `delete` of a
 * container whose record names a unit. The D-Bus side is src/cgroups/systemd.ts, loaded here only.
 */
import { readFileSync } from 'node:fs';
import type { LinuxResources, Spec } from '../bundle/spec-types.js';
import { detectCgroupVersion, openCgroupManager, parseProcCgroup, type CgroupManager } from '../cgroups/index.js';
import { annotationProperties } from '../cgroups/systemd-annotations.js';
import { systemdUnitNames, type SystemdUnitNames } from '../cgroups/systemd-names.js';
import { resourceProperties, unitProperties } from '../cgroups/systemd-props.js';
import type { SystemdUnits } from '../cgroups/systemd.js';
import { TsrunError } from '../errors.js';
import { cgroupResources } from '../bundle/device-policy.js';
import { rootlessResources } from '../cgroups/index.js';
import type { Caller } from '../rootless.js';
import { log } from '../log.js';
import type { ContainerRecord } from '../state/store.js';

export interface SystemdCgroup {
  units: SystemdUnits;
  id: string;
  names: SystemdUnitNames;
  /** the unit's cgroup below the hierarchy's root: the manager's own cgroup (a user's) and the unit's path in it */
  cgroupPath: string;
  /** the caller's own systemd instance, over its user bus (rootless) */
  user: boolean;
  manager: CgroupManager;
  /** what create writes: linux.resources with runc's fixed device rules; rootless, without device rules */
  resources: LinuxResources;
  /** the unit's own dirs, removed by delete if systemd left them */
  leafDirs: string[];
}

export interface SystemdCgroupOptions {
  /** the global --rootless (undefined: auto) */
  rootless?: boolean;
  caller: Caller;
}

/**
 * Connects to systemd (a clear error when it is not running) and opens the manager at the unit's
 * cgroup. Rootless, that is the user's systemd instance, as runc's: the unit in its user.slice,
 * below the instance's own cgroup (its ControlGroup), on cgroup v2 only.
 */
export async function openSystemdCgroup(spec: Spec, id: string, opts: SystemdCgroupOptions): Promise<SystemdCgroup> {
  // the names and annotations are checked before anything is asked of systemd
  systemdUnitNames(spec.linux?.cgroupsPath, id);
  annotationProperties(spec.annotations);
  const version = detectCgroupVersion();
  const { units, user } = await connectFor(opts, version);
  try {
    const names = systemdUnitNames(spec.linux?.cgroupsPath, id, user);
    const base = user ? await units.managerControlGroup() : '/';
    const cgroupPath = base === '/' ? names.cgroupPath : `${base}${names.cgroupPath}`;
    const manager = openCgroupManager({ cgroupsPath: cgroupPath, id, version });
    const resources = user ? rootlessResources(spec.linux?.resources) : cgroupResources(spec);
    return { units, id, names, cgroupPath, user, manager, resources, leafDirs: [...new Set(Object.values(manager.paths))] };
  } catch (err) {
    units.close();
    throw err;
  }
}

/**
 * runc's choice of manager (shouldUseRootlessCgroupManager): the user's for a caller that is not
 * root; for root of a user namespace, the user's when its bus knows tsrun as a user other than
 * root (runc: busctl's OwnerUID), else the system's (a systemd of that namespace's own).
 */
async function connectFor(opts: SystemdCgroupOptions, version: 1 | 2): Promise<{ units: SystemdUnits; user: boolean }> {
  const who = opts.caller;
  let user = opts.rootless ?? who.euid !== 0;
  if (opts.rootless === undefined && !user && who.inUserNamespace) {
    try {
      const units = await connectUnits(true);
      if ((await units.peerUid()) !== 0) return { units: checkUserVersion(units, version), user: true };
      units.close();
    } catch {
      // no user bus: the system's systemd, as runc assumes when busctl fails
    }
    user = false;
  }
  const units = await connectUnits(user);
  return { units: user ? checkUserVersion(units, version) : units, user };
}

function checkUserVersion(units: SystemdUnits, version: 1 | 2): SystemdUnits {
  if (version === 2) return units;
  units.close();
  throw new TsrunError('systemd cgroup driver: rootless needs cgroup v2 (a user\'s systemd instance has no cgroup v1 hierarchy of its own to delegate): run without --systemd-cgroup', { kind: 'kernel' });
}

async function connectUnits(user = false): Promise<SystemdUnits> {
  const { SystemdUnits } = await import('../cgroups/systemd.js');
  return SystemdUnits.connect(user);
}

/**
 * StartTransientUnit with the init in it, then: v1, the hierarchies systemd leaves alone get the
 * same path (mkdir, join) as runc does; v2, the init must be in the unit's cgroup. Then every
 * cgroup file of the resources is written as the cgroupfs driver writes it.
 */
export async function startSystemdCgroup(sd: SystemdCgroup, spec: Spec, pid: number, resources: LinuxResources | undefined): Promise<void> {
  const { manager, names, units } = sd;
  const version = manager.version;
  const props = [
    ...unitProperties({ unit: names.unit, slice: names.slice, id: sd.id, pid, version }),
    ...resourceProperties(resources, await propsOptions(units, version)),
    ...annotationProperties(spec.annotations),
  ];
  await units.startUnit(names.unit, props);
  log.phase('create: systemd unit started');
  if (version === 1) {
    manager.create(resources);
    manager.addProcess(pid);
  } else {
    const controlGroup = (await units.controlGroup(names.unit)) ?? sd.cgroupPath;
    const actual = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).get('');
    if (actual !== controlGroup || controlGroup !== sd.cgroupPath) {
      throw new TsrunError(
        `systemd cgroup driver: the init is in ${JSON.stringify(actual)}, unit ${names.unit} has ControlGroup ${JSON.stringify(controlGroup)}, expected ${JSON.stringify(sd.cgroupPath)}`,
        { kind: 'kernel' },
      );
    }
  }
  manager.apply(resources);
}

/** update: SetUnitProperties (runtime) with what is given, then the files. */
export async function updateSystemdCgroup(record: ContainerRecord, manager: CgroupManager, resources: LinuxResources): Promise<void> {
  const { unit, user } = record.cgroup.systemd!;
  // a user's instance, as at create: no device rules (only the host's root may set them)
  const wanted = user ? rootlessResources(resources) : resources;
  const units = await connectUnits(user);
  try {
    await units.setProperties(unit, resourceProperties(wanted, await propsOptions(units, manager.version)));
  } finally {
    units.close();
  }
  manager.apply(wanted);
}

/**
 * delete (and a failed create): the unit stopped and waited for; what systemd left is removed by
 * the caller. Without `units`, a connection to the system's or (`user`) the caller's own systemd.
 */
export async function stopSystemdUnit(unit: string, units?: SystemdUnits, user = false): Promise<void> {
  const own = units ?? (await connectUnits(user));
  try {
    await own.stopUnit(unit);
  } finally {
    if (!units) own.close();
  }
}

async function propsOptions(units: SystemdUnits, version: 1 | 2) {
  let procDevices = '';
  try {
    procDevices = readFileSync('/proc/devices', 'utf8');
  } catch {
    // no n:* rules then
  }
  return { version, systemdVersion: await units.version(), procDevices, warn: (m: string) => log.warn(m) };
}

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
import { log } from '../log.js';
import type { ContainerRecord } from '../state/store.js';

export interface SystemdCgroup {
  units: SystemdUnits;
  id: string;
  names: SystemdUnitNames;
  manager: CgroupManager;
  /** the unit's own dirs, removed by delete if systemd left them */
  leafDirs: string[];
}

/** Connects to systemd (a clear error when it is not running) and opens the manager at the unit's cgroup. */
export async function openSystemdCgroup(spec: Spec, id: string): Promise<SystemdCgroup> {
  const names = systemdUnitNames(spec.linux?.cgroupsPath, id);
  // annotations are checked before anything is asked of systemd
  annotationProperties(spec.annotations);
  const units = await connectUnits();
  try {
    const manager = openCgroupManager({ cgroupsPath: names.cgroupPath, id, version: detectCgroupVersion() });
    return { units, id, names, manager, leafDirs: [...new Set(Object.values(manager.paths))] };
  } catch (err) {
    units.close();
    throw err;
  }
}

async function connectUnits(): Promise<SystemdUnits> {
  const { SystemdUnits } = await import('../cgroups/systemd.js');
  return SystemdUnits.connect();
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
    const controlGroup = (await units.controlGroup(names.unit)) ?? names.cgroupPath;
    const actual = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).get('');
    if (actual !== controlGroup || controlGroup !== names.cgroupPath) {
      throw new TsrunError(
        `systemd cgroup driver: the init is in ${JSON.stringify(actual)}, unit ${names.unit} has ControlGroup ${JSON.stringify(controlGroup)}, expected ${JSON.stringify(names.cgroupPath)}`,
        { kind: 'kernel' },
      );
    }
  }
  manager.apply(resources);
}

/** update: SetUnitProperties (runtime) with what is given, then the files. */
export async function updateSystemdCgroup(record: ContainerRecord, manager: CgroupManager, resources: LinuxResources): Promise<void> {
  const unit = record.cgroup.systemd!.unit;
  const units = await connectUnits();
  try {
    await units.setProperties(unit, resourceProperties(resources, await propsOptions(units, manager.version)));
  } finally {
    units.close();
  }
  manager.apply(resources);
}

/** delete (and a failed create): the unit stopped and waited for; what systemd left is removed by the caller. */
export async function stopSystemdUnit(unit: string, units?: SystemdUnits): Promise<void> {
  const own = units ?? (await connectUnits());
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

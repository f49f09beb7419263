/** The cgroup of a container: opened for a create (rootless: what the user may write), or re-opened from its record. */
import { cgroupManagerFromPaths, openCgroupManager, rootlessCgroup, rootlessResources, type CgroupManager } from '../cgroups/index.js';
import { posix } from 'node:path';
import { cgroupResources } from '../bundle/device-policy.js';
import type { LinuxResources, Spec } from '../bundle/spec-types.js';
import { log } from '../log.js';
import type { ContainerRecord } from '../state/store.js';

export function recordedCgroup(record: ContainerRecord): CgroupManager {
  const { version, paths, created } = record.cgroup;
  return cgroupManagerFromPaths(version, paths, undefined, { created });
}

export interface ContainerCgroup {
  manager: CgroupManager;
  /** what create writes: linux.resources with runc's fixed device rules, or rootless without any */
  resources: LinuxResources;
  /** the dirs the container's `cgroup` mount shows: its own, or the caller's when it has none */
  shown: Record<string, string>;
}

/** rootless: cgroups the caller may not write are left out, as runc's rootless cgroup manager does */
export function containerCgroup(spec: Spec, id: string, rootless: boolean): ContainerCgroup {
  const cgroupsPath = spec.linux?.cgroupsPath;
  const manager = openCgroupManager({ cgroupsPath, id });
  if (!rootless) return { manager, resources: cgroupResources(spec), shown: manager.paths };
  const resources = rootlessResources(spec.linux?.resources);
  const chosen = rootlessCgroup(manager, { resources, cgroupsPath, warn: (m) => log.warn(m) });
  return { manager: chosen, resources, shown: Object.keys(chosen.paths).length ? chosen.paths : callersCgroup(id) };
}

/** The caller's own cgroup dirs: a relative cgroupsPath lies under them, so its parent is theirs. */
function callersCgroup(id: string): Record<string, string> {
  const below = openCgroupManager({ cgroupsPath: id, id }).paths;
  return Object.fromEntries(Object.entries(below).map(([controller, dir]) => [controller, posix.dirname(dir)]));
}

/** The cgroup of a container: opened for a create (rootless: what the user may write), or re-opened from its record. */
import { callerCgroupPaths, cgroupManagerFromPaths, openCgroupManager, rootlessCgroup, rootlessResources, type CgroupManager } from '../cgroups/index.js';
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
  if (!rootless) {
    const manager = openCgroupManager({ cgroupsPath, id });
    return { manager, resources: cgroupResources(spec), shown: manager.paths };
  }
  // runc's rootless default: the id relative to the caller's cgroup (v2: its parent), which lies in
  // the subtree a systemd user session delegates when the caller runs there; never the root's /<id>
  const manager = openCgroupManager({ cgroupsPath: cgroupsPath || id, id });
  const resources = rootlessResources(spec.linux?.resources);
  const chosen = rootlessCgroup(manager, { resources, cgroupsPath, warn: (m) => log.warn(m) });
  return { manager: chosen, resources, shown: Object.keys(chosen.paths).length ? chosen.paths : callerCgroupPaths() };
}


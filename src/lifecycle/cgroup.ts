/** The cgroup of a container: opened for a create (rootless: what the user may write), or re-opened from its record. */
import { cgroupManagerFromPaths, openCgroupManager, rootlessCgroup, rootlessResources, type CgroupManager } from '../cgroups/index.js';
import { cgroupResources } from '../bundle/device-policy.js';
import type { LinuxResources, Spec } from '../bundle/spec-types.js';
import { log } from '../log.js';
import type { Caller } from '../rootless.js';
import type { ContainerRecord } from '../state/store.js';

export function recordedCgroup(record: ContainerRecord): CgroupManager {
  const { version, paths, created } = record.cgroup;
  return cgroupManagerFromPaths(version, paths, undefined, { created });
}

export interface ContainerCgroup {
  manager: CgroupManager;
  /** what create writes: linux.resources with runc's fixed device rules, or rootless without any */
  resources: LinuxResources;
}

export function containerCgroup(spec: Spec, id: string, who: Caller): ContainerCgroup {
  const cgroupsPath = spec.linux?.cgroupsPath;
  const manager = openCgroupManager({ cgroupsPath, id });
  if (!who.rootless) return { manager, resources: cgroupResources(spec) };
  const resources = rootlessResources(spec.linux?.resources);
  return { manager: rootlessCgroup(manager, { resources, cgroupsPath, warn: (m) => log.warn(m) }), resources };
}

/** The cgroup of a recorded container, re-opened with exactly the dirs its create made. */
import { cgroupManagerFromPaths, type CgroupManager } from '../cgroups/index.js';
import type { ContainerRecord } from '../state/store.js';

export function recordedCgroup(record: ContainerRecord): CgroupManager {
  const { version, paths, created } = record.cgroup;
  return cgroupManagerFromPaths(version, paths, undefined, { created });
}

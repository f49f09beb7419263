/**
 * Hybrid hosts: v1 controllers, and a cgroup2 hierarchy at <fsRoot>/unified (systemd's "hybrid"
 * layout; it holds no or few controllers). runc's v1 driver also gives the container a cgroup there,
 * under the key "" of its paths, joined by the init and every exec'd process and removed with the
 * others, so that tools reading the cgroup2 tree (systemd, PSI, BPF programs keyed by cgroup) see the
 * container as its own group. No resource is written there.
 */
import * as path from 'node:path';
import { hierarchyDir, type CgroupMount, type ResolvedCgroupsPath } from './paths.js';

/** The container's dir in the unified hierarchy of a hybrid host, or undefined when there is none. */
export function hybridUnifiedDir(
  mounts: readonly CgroupMount[],
  fsRoot: string,
  resolved: ResolvedCgroupsPath,
  own: string | undefined,
): string | undefined {
  const mountPoint = path.posix.join(fsRoot, 'unified');
  const mount = mounts.find((m) => m.fsType === 'cgroup2' && m.mountPoint === mountPoint);
  if (mount === undefined) return undefined;
  // a relative cgroupsPath needs tsrun's own place in it; without one ("0::" missing) skip it, as v1 works without
  if (!resolved.absolute && own === undefined) return undefined;
  return hierarchyDir(mount, resolved, own, 'cgroup2 "unified"');
}

/**
 * A config's `cgroup` mount is not one mount(2): what the container sees depends on the host's
 * hierarchy and on where its own cgroup is. Once the cgroup exists, this turns the mount into plain
 * ones: on v1 a tmpfs holding one read-only-able bind per controller hierarchy (the container's own
 * cgroup directory, so it sees itself as the root); on v2 a cgroup2 mount when the container has its
 * own cgroup namespace, else a bind of its cgroup directory.
 */
import { basename, posix } from 'node:path';
import { MS } from '../kernel-tables.js';
import type { ContainerPlan, PlanMount } from './plan.js';

export interface CgroupPlacement {
  version: 1 | 2;
  /** controller (or "" on v2) → absolute host directory of the container's cgroup */
  paths: Record<string, string>;
}

/** Mount points of cgroup hierarchies, from /proc/self/mountinfo text. */
export function cgroupMountPoints(mountinfo: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') points.push(line.split(' ')[4]);
  }
  return points;
}

function hierarchyOf(path: string, mountPoints: string[]): string | undefined {
  let best: string | undefined;
  for (const mp of mountPoints) {
    if ((path === mp || path.startsWith(mp + '/')) && (!best || mp.length > best.length)) best = mp;
  }
  return best;
}

export function expandCgroupMounts(plan: ContainerPlan, placement: CgroupPlacement, mountinfo: string): void {
  if (!plan.cgroupMounts.length) return;
  const mountPoints = cgroupMountPoints(mountinfo);
  const ownCgroupNs = (plan.newNamespaces & 0x02000000) !== 0;
  // Insert from the last so earlier indexes stay valid.
  for (const cm of [...plan.cgroupMounts].reverse()) {
    const dest = cm.mount.destination;
    const flags = cm.flags & ~MS.BIND & ~MS.REC;
    const expanded: PlanMount[] = [];
    if (placement.version === 2) {
      const dir = placement.paths[''] ?? Object.values(placement.paths)[0];
      if (ownCgroupNs) {
        expanded.push({ source: 'cgroup', destination: dest, type: 'cgroup2', data: '', flags, propagation: cm.propagation, bind: false, createFile: false });
      } else {
        expanded.push({ source: dir, destination: dest, type: '', data: '', flags: flags | MS.BIND | MS.REC, propagation: cm.propagation, bind: true, createFile: false });
      }
    } else {
      // The tmpfs holding the hierarchies carries the mount label, as runc's does.
      expanded.push({ source: 'tmpfs', destination: dest, type: 'tmpfs', data: 'mode=755', flags: (flags & ~MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC, propagation: cm.propagation, bind: false, createFile: false, labeled: plan.mountLabel !== undefined });
      const seen = new Set<string>();
      // a hybrid host's unified dir (key "") is joined but not shown inside, as with runc
      const v1Dirs = Object.entries(placement.paths).filter(([controller]) => controller !== '').map(([, dir]) => dir);
      for (const dir of v1Dirs.sort()) {
        const mp = hierarchyOf(dir, mountPoints);
        if (!mp || seen.has(mp)) continue;
        seen.add(mp);
        expanded.push({ source: dir, destination: posix.join(dest, basename(mp)), type: '', data: '', flags: flags | MS.BIND | MS.REC, propagation: 0, bind: true, createFile: false });
      }
      if (cm.flags & MS.RDONLY) {
        // the tmpfs itself read-only too, once the binds are in place
        expanded.push({ source: '', destination: dest, type: '', data: '', flags: MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, propagation: 0, bind: false, createFile: false });
      }
    }
    plan.mounts.splice(cm.index, 0, ...expanded);
  }
  plan.cgroupMounts = [];
}

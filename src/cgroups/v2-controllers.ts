/**
 * cgroup v2 controllers a container's linux.resources needs enabled, so that create can hand them
 * down through every ancestor's cgroup.subtree_control and say which ancestor stood in the way.
 * What counts is what apply() will write: the fields effectiveResources() keeps, and unified's keys.
 */
import type { LinuxResources } from '../bundle/spec-types.js';
import { effectiveResources } from './resources.js';

export function neededControllers(resources: LinuxResources | undefined): Set<string> {
  const r = effectiveResources(resources, 2, () => {});
  const need = new Set<string>();
  if (!r) return need;
  const c = r.cpu;
  if (c && (c.shares !== undefined || c.quota !== undefined || c.period !== undefined || c.burst !== undefined || c.idle !== undefined)) need.add('cpu');
  if (c && (c.cpus !== undefined || c.mems !== undefined)) need.add('cpuset');
  if (r.memory && ['limit', 'reservation', 'swap'].some((k) => r.memory![k as 'limit'] !== undefined)) need.add('memory');
  if (r.pids) need.add('pids');
  if (r.blockIO) need.add('io');
  if ((r.hugepageLimits?.length ?? 0) > 0) need.add('hugetlb');
  if (Object.keys(r.rdma ?? {}).length > 0) need.add('rdma');
  for (const key of Object.keys(r.unified ?? {})) {
    const controller = key.split('.')[0];
    if (controller && controller !== 'cgroup' && key.includes('.')) need.add(controller);
  }
  return need;
}

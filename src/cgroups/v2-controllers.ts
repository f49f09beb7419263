/**
 * cgroup v2 controllers a container's linux.resources needs enabled, so that create can hand them
 * down through every ancestor's cgroup.subtree_control and say which ancestor stood in the way.
 * What counts is what apply() will write: the fields effectiveResources() keeps, and unified's keys.
 */
import type { LinuxResources } from '../bundle/spec-types.js';
import { effectiveResources } from './resources.js';
import { pointerToken } from './paths.js';

export interface ControllerField {
  controller: string;
  /** the field of linux.resources that needs it */
  pointer: string;
}

/** Each v2 controller the resources need, with the first field that needs it. */
export function neededControllerFields(resources: LinuxResources | undefined): ControllerField[] {
  const r = effectiveResources(resources, 2, () => {});
  const need = new Map<string, string>();
  if (!r) return [];
  const add = (controller: string, field: string) => {
    if (!need.has(controller)) need.set(controller, `/linux/resources/${field}`);
  };
  const c = r.cpu;
  if (c) {
    for (const k of ['shares', 'quota', 'period', 'burst', 'idle'] as const) if (c[k] !== undefined) add('cpu', `cpu/${k}`);
    for (const k of ['cpus', 'mems'] as const) if (c[k] !== undefined) add('cpuset', `cpu/${k}`);
  }
  if (r.memory) for (const k of ['limit', 'reservation', 'swap'] as const) if (r.memory[k] !== undefined) add('memory', `memory/${k}`);
  if (r.pids) add('pids', 'pids');
  if (r.blockIO) add('io', 'blockIO');
  if ((r.hugepageLimits?.length ?? 0) > 0) add('hugetlb', 'hugepageLimits');
  if (Object.keys(r.rdma ?? {}).length > 0) add('rdma', 'rdma');
  for (const key of Object.keys(r.unified ?? {})) {
    const controller = key.split('.')[0];
    if (controller && controller !== 'cgroup' && key.includes('.')) add(controller, `unified/${pointerToken(key)}`);
  }
  return [...need].map(([controller, pointer]) => ({ controller, pointer }));
}

export function neededControllers(resources: LinuxResources | undefined): Set<string> {
  return new Set(neededControllerFields(resources).map((n) => n.controller));
}

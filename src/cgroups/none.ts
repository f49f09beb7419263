/**
 * The cgroup of a rootless container that has none: the user may write no cgroup of its own (cgroup
 * v1, or v2 without a delegated subtree) and asked for no limits, so it runs in the caller's
 * cgroup, as runc's rootless manager does. Nothing to make or remove; what needs a cgroup of its
 * own (pause, update, stats) is refused saying why.
 */
import { TsrunError } from '../errors.js';
import type { LinuxResources } from '../bundle/spec-types.js';
import type { CgroupManager } from './index.js';
import { controllersNeeded } from './resources.js';
import type { OomWatch } from './oom.js';
import type { Stats } from './stats-types.js';

export class NoCgroup implements CgroupManager {
  readonly paths: Record<string, string> = Object.freeze({});
  readonly created: readonly string[] = [];

  constructor(readonly version: 1 | 2) {}

  create(): void {}
  missingDirs(): string[] {
    return [];
  }
  apply(resources: LinuxResources | undefined): void {
    const need = controllersNeeded(resources, this.version);
    if (need.length) throw this.refusal(`set ${need.map((n) => n.pointer).join(', ')}`);
  }
  addProcess(): void {}
  pids(): number[] {
    return [];
  }
  allPids(): number[] {
    return [];
  }
  freeze(): void {
    throw this.refusal('freeze');
  }
  thaw(): void {
    throw this.refusal('thaw');
  }
  isFrozen(): boolean {
    return false;
  }
  killAll(): boolean {
    return false;
  }
  stats(): Stats {
    throw this.refusal('read stats');
  }
  watchOom(): OomWatch {
    throw this.refusal('watch for OOM kills');
  }
  destroy(): void {}

  private refusal(what: string): TsrunError {
    return new TsrunError(`cannot ${what}: the container has no cgroup of its own (rootless, and no cgroup the user may write)`, { kind: 'state' });
  }
}

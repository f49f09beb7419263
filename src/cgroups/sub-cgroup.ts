/**
 * `exec --cgroup`: the exec'd process joins an existing sub-cgroup of the container's cgroup
 * instead of the container's own. The flag is runc's: one `PATH` for every controller (the only
 * form cgroup v2 has), or `CONTROLLER[,CONTROLLER]:PATH`, repeatable, on cgroup v1. PATH is relative
 * to the container's cgroup (a leading "/" too) and must stay inside it: ".." out of it, a sibling
 * sharing its name as a prefix, and a symlink out are refused. Like runc, tsrun does not create it.
 */
import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError, usageError } from '../errors.js';
import { isUnder } from './paths.js';

/** controller ("" for all) → path, with runc's errors for what it refuses. */
export function parseSubCgroupArgs(args: readonly string[]): Map<string, string> {
  const sub = new Map<string, string>();
  for (const arg of args) {
    const colon = arg.indexOf(':');
    if (colon < 0) {
      if (args.length !== 1) throw usageError(`invalid --cgroup argument: ${arg} (missing <controller>: prefix)`);
      sub.set('', arg);
      continue;
    }
    const subPath = arg.slice(colon + 1);
    for (const controller of arg.slice(0, colon).split(',')) {
      if (controller === '') throw usageError(`invalid --cgroup argument: ${arg} (empty <controller> prefix)`);
      if (sub.has(controller)) throw usageError(`invalid --cgroup argument(s): controller ${controller} specified multiple times`);
      sub.set(controller, subPath);
    }
  }
  return sub;
}

/**
 * The dirs an exec'd process joins: for each of the container's dirs (hierarchies mounted together
 * share one) the sub-cgroup asked for, else the dir itself. Each must exist and lie inside the
 * container's dir, also once symlinks are resolved.
 */
export function execCgroupDirs(
  paths: Readonly<Record<string, string>>,
  sub: ReadonlyMap<string, string>,
  realpath: (p: string) => string = realpathSync,
): string[] {
  const all = sub.get('');
  for (const controller of sub.keys()) {
    if (controller !== '' && paths[controller] === undefined) {
      const known = Object.keys(paths).filter((c) => c !== '');
      throw usageError(`--cgroup: unknown controller ${controller} (the container's cgroup has ${known.length ? known.join(', ') : 'none by name: give a PATH alone'})`);
    }
  }
  const byDir = new Map<string, { target: string; from?: string }>();
  for (const [controller, dir] of Object.entries(paths)) {
    const add = all ?? sub.get(controller);
    const seen = byDir.get(dir);
    if (add === undefined) {
      if (!seen) byDir.set(dir, { target: dir });
      continue;
    }
    const target = path.posix.join(dir, add);
    if (!isUnder(dir, target)) throw usageError(`${add} is not a sub cgroup path`);
    if (seen?.from !== undefined && seen.target !== target) {
      throw usageError(`--cgroup: controllers ${seen.from} and ${controller} share the hierarchy "${dir}" but name different sub-cgroups`);
    }
    byDir.set(dir, { target, from: controller });
  }
  return [...byDir.entries()].map(([dir, { target }]) => {
    if (target === dir) return dir;
    let real: string;
    try {
      real = realpath(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TsrunError(`--cgroup: sub-cgroup "${target}" does not exist (create it first, as with runc)`, { kind: 'usage', path: target });
      }
      throw err;
    }
    if (!isUnder(realpath(dir), real)) throw usageError(`${path.posix.relative(dir, target)} is not a sub cgroup path (it resolves to "${real}")`);
    return real;
  });
}

/**
 * Cgroups for a rootless caller, as runc's rootless manager decides: a cgroup dir the user may not
 * make or join is left out when no limit needs it (cgroup v1: per hierarchy; v2: the one dir, which
 * a systemd user session delegates), and is an error naming the field when one does. Without a
 * cgroupsPath only; a path the config names must be usable. Device rules are never written: the
 * kernel lets only the host's root change them (and a user namespace bind-mounts the host's nodes,
 * which the user's own access on the host already limits).
 *
 * cgroup v2 (runc's fs2 rootless manager, and what the kernel asks): the dir must be one the user
 * may make, and the init must be movable into it, which needs write access to cgroup.procs of the
 * nearest cgroup above both the caller's and the container's: in practice the caller runs inside
 * the subtree systemd delegates to its user (user@UID.service, e.g. `systemd-run --user --scope`).
 * There a limit is applied when the delegation hands its controller on (user@.service's Delegate=,
 * "cpu memory pids" by default); one that it does not is refused naming the field.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors.js';
import type { LinuxResources } from '../bundle/spec-types.js';
import { controllersNeeded } from './resources.js';
import { isUnder } from './paths.js';
import { neededControllerFields } from './v2-controllers.js';
import { NoCgroup } from './none.js';
import { callerCgroupPaths, cgroupManagerFromPaths, type CgroupManager } from './index.js';

/** What a rootless create writes: the limits, never device rules. */
export function rootlessResources(resources: LinuxResources | undefined): LinuxResources {
  const { devices: _ignored, ...rest } = resources ?? {};
  return rest;
}

/**
 * May the caller make (or join) this cgroup dir: cgroup.procs writable where it exists, else the
 * nearest existing ancestor writable. access(2) answers for the caller's own ids and sees EROFS.
 */
export function isCgroupWritable(dir: string, fsRoot: string): boolean {
  try {
    accessSync(path.posix.join(dir, 'cgroup.procs'), constants.W_OK);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
  }
  for (let d = path.posix.dirname(dir); d.length >= fsRoot.length; d = path.posix.dirname(d)) {
    try {
      accessSync(d, constants.W_OK | constants.X_OK);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
    if (d === '/') break;
  }
  return false;
}

const canWrite = (file: string): boolean => {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

const readWords = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
};

/**
 * cgroup v2's rule for moving a process: the mover needs write access to cgroup.procs of the
 * nearest common ancestor of where the process is (`from`) and where it goes (`dir`).
 */
export function canMoveInto(dir: string, from: string): boolean {
  let common = from;
  while (!isUnder(common, dir) && common !== '/') common = path.posix.dirname(common);
  return canWrite(path.posix.join(common, 'cgroup.procs'));
}

/**
 * The v2 controllers a cgroup at `dir` can have: from the nearest existing cgroup above it, up
 * through every one whose cgroup.subtree_control the user may write (the delegation), whatever the
 * topmost of those has; where the nearest one is not the user's, what it hands on already.
 */
export function delegatedControllers(dir: string, fsRoot: string): { from: string; controllers: string[] } {
  let top = path.posix.dirname(dir);
  while (top.length > fsRoot.length && !existsSync(top)) top = path.posix.dirname(top);
  if (!canWrite(path.posix.join(top, 'cgroup.subtree_control'))) {
    return { from: top, controllers: readWords(path.posix.join(top, 'cgroup.subtree_control')) };
  }
  while (top.length > fsRoot.length && canWrite(path.posix.join(path.posix.dirname(top), 'cgroup.subtree_control'))) top = path.posix.dirname(top);
  return { from: top, controllers: readWords(path.posix.join(top, 'cgroup.controllers')) };
}

export interface RootlessCgroupOptions {
  resources?: LinuxResources;
  cgroupsPath?: string;
  fsRoot?: string;
  writable?: (dir: string, fsRoot: string) => boolean;
  warn: (message: string) => void;
  /** v2: may the init be moved into this dir from the caller's cgroup (default: canMoveInto from /proc/self/cgroup's) */
  movable?: (dir: string) => boolean;
  /** v2: what the delegation hands on to a cgroup at this dir (default: delegatedControllers) */
  delegated?: (dir: string, fsRoot: string) => { from: string; controllers: string[] };
}

export function rootlessCgroup(manager: CgroupManager, opts: RootlessCgroupOptions): CgroupManager {
  const fsRoot = opts.fsRoot ?? '/sys/fs/cgroup';
  const writable = opts.writable ?? isCgroupWritable;
  const usable: Record<string, string> = {};
  const refused: string[] = [];
  const joinable = (dir: string): boolean => {
    if (manager.version === 1) return true;
    if (opts.movable) return opts.movable(dir);
    const from = callerCgroupPaths({ fsRoot })[''];
    return from === undefined || canMoveInto(dir, from);
  };
  // v2: a dir the user could make but not move the init into (the caller runs outside the delegation)
  let unmovable = false;
  for (const [controller, dir] of Object.entries(manager.paths)) {
    const canMake = writable(dir, fsRoot);
    if (canMake && joinable(dir)) usable[controller] = dir;
    else {
      refused.push(controller);
      unmovable ||= canMake;
    }
  }
  const why = unmovable
    ? 'the init cannot be moved there from the caller\'s cgroup: the cgroup above both is not the user\'s; run inside the subtree systemd delegates, e.g. under systemd-run --user --scope'
    : undefined;
  if (refused.length === 0) {
    if (manager.version === 2) refuseUndelegated(manager.paths[''], fsRoot, opts);
    return manager;
  }
  const where = [...new Set(Object.values(manager.paths))].filter((d) => !Object.values(usable).includes(d));
  if (opts.cgroupsPath) {
    throw new TsrunError(
      `rootless: the cgroup in linux.cgroupsPath cannot be made or joined by uid ${process.geteuid?.()}: ${why ?? `no write access to ${where.map((d) => `"${d}"`).join(', ')}`}`,
      { kind: 'config', pointer: '/linux/cgroupsPath', code: 'EACCES' },
    );
  }
  for (const need of controllersNeeded(opts.resources, manager.version)) {
    if (manager.version === 2 || refused.includes(need.controller)) {
      throw new TsrunError(
        `config.json ${need.pointer}: cannot set this limit rootless: the container could not make or join a cgroup ` +
          `(${why ?? `no write access to ${where.map((d) => `"${d}"`).join(', ')}`}; cgroup v2 with a delegated subtree, or no limits, is needed)`,
        { kind: 'config', pointer: need.pointer, code: 'EACCES' },
      );
    }
  }
  if (manager.version === 2 || Object.keys(usable).length === 0) {
    const shown = where.length > 2 ? `"${where[0]}" and ${where.length - 1} more` : where.map((d) => `"${d}"`).join(', ');
    opts.warn(`rootless: no cgroup the user may write (${shown}${why ? `: ${why}` : ''}): the container runs in the caller's cgroup, without limits`);
    return new NoCgroup(manager.version);
  }
  opts.warn(`rootless: cgroup hierarchies ${refused.join(', ')} are not writable and are skipped`);
  return cgroupManagerFromPaths(1, usable, fsRoot, { created: [] });
}

/** A limit whose v2 controller the delegated subtree does not hand on: refused by field, before anything is made. */
function refuseUndelegated(dir: string, fsRoot: string, opts: RootlessCgroupOptions): void {
  const needed = neededControllerFields(opts.resources);
  if (needed.length === 0) return;
  const { from, controllers } = (opts.delegated ?? delegatedControllers)(dir, fsRoot);
  for (const need of needed) {
    if (controllers.includes(need.controller)) continue;
    throw new TsrunError(
      `config.json ${need.pointer}: cannot set this limit rootless: the "${need.controller}" controller is not delegated to uid ${process.geteuid?.()} ` +
        `("${from}" hands on ${controllers.length ? `only ${controllers.join(' ')}` : 'none'}; a systemd user session delegates what user@.service's Delegate= names)`,
      { kind: 'config', pointer: need.pointer, code: 'EACCES' },
    );
  }
}

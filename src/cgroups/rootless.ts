/**
 * Cgroups for a rootless caller, as runc's rootless manager decides: a cgroup dir the user may not
 * make or join is left out when no limit needs it (cgroup v1: per hierarchy; v2: the one dir, which
 * a systemd user session delegates), and is an error naming the field when one does. Without a
 * cgroupsPath only; a path the config names must be usable. Device rules are never written: the
 * kernel lets only the host's root change them (and a user namespace bind-mounts the host's nodes,
 * which the user's own access on the host already limits).
 */
import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors.js';
import type { LinuxResources } from '../bundle/spec-types.js';
import { controllersNeeded } from './resources.js';
import { NoCgroup } from './none.js';
import { cgroupManagerFromPaths, type CgroupManager } from './index.js';

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

export interface RootlessCgroupOptions {
  resources?: LinuxResources;
  cgroupsPath?: string;
  fsRoot?: string;
  writable?: (dir: string, fsRoot: string) => boolean;
  warn: (message: string) => void;
}

export function rootlessCgroup(manager: CgroupManager, opts: RootlessCgroupOptions): CgroupManager {
  const fsRoot = opts.fsRoot ?? '/sys/fs/cgroup';
  const writable = opts.writable ?? isCgroupWritable;
  const usable: Record<string, string> = {};
  const refused: string[] = [];
  for (const [controller, dir] of Object.entries(manager.paths)) {
    if (writable(dir, fsRoot)) usable[controller] = dir;
    else refused.push(controller);
  }
  if (refused.length === 0) return manager;
  const where = [...new Set(Object.values(manager.paths))].filter((d) => !Object.values(usable).includes(d));
  if (opts.cgroupsPath) {
    throw new TsrunError(
      `rootless: the cgroup in linux.cgroupsPath cannot be made or joined by uid ${process.geteuid?.()}: no write access to ${where.map((d) => `"${d}"`).join(', ')}`,
      { kind: 'config', pointer: '/linux/cgroupsPath', code: 'EACCES' },
    );
  }
  for (const need of controllersNeeded(opts.resources, manager.version)) {
    if (manager.version === 2 || refused.includes(need.controller)) {
      throw new TsrunError(
        `config.json ${need.pointer}: cannot set this limit rootless: the container could not make or join a cgroup ` +
          `(no write access to ${where.map((d) => `"${d}"`).join(', ')}; cgroup v2 with a delegated subtree, or no limits, is needed)`,
        { kind: 'config', pointer: need.pointer, code: 'EACCES' },
      );
    }
  }
  if (manager.version === 2 || Object.keys(usable).length === 0) {
    const shown = where.length > 2 ? `"${where[0]}" and ${where.length - 1} more` : where.map((d) => `"${d}"`).join(', ');
    opts.warn(`rootless: no cgroup the user may write (${shown}): the container runs in the caller's cgroup, without limits`);
    return new NoCgroup(manager.version);
  }
  opts.warn(`rootless: cgroup hierarchies ${refused.join(', ')} are not writable and are skipped`);
  return cgroupManagerFromPaths(1, usable, fsRoot, { created: [] });
}

/**
 * How the caller runs: as the host's root, or rootless — an unprivileged user, or root of a user
 * namespace it does not share with the host (rootless podman runs its runtime inside the user
 * namespace it made with newuidmap). The rules are runc's (`userns.RunningInUserNS`,
 * `shouldUseRootlessCgroupManager`, `shouldHonorXDGRuntimeDir`), so clients see the same choices.
 */
import { readFileSync } from 'node:fs';
import { parseHardLimits, type CallerLimits } from './bundle/caller-limits.js';
import type { IdMapping } from './bundle/spec-types.js';

export interface Caller {
  euid: number;
  egid: number;
  /** the caller's user namespace is not the host's (its uid_map is not the full identity map) */
  inUserNamespace: boolean;
  /** euid != 0, or in a user namespace: cgroups, devices and limits are what a user may touch */
  rootless: boolean;
}

/** runc's RunningInUserNS: any uid_map but "0 0 4294967295" means a user namespace below the host's. */
export function isIdentityUidMap(uidMap: string): boolean {
  const lines = uidMap.trim().split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) return false;
  const [inside, outside, size] = lines[0].trim().split(/\s+/).map(Number);
  return inside === 0 && outside === 0 && size === 4294967295;
}

export function readCaller(procRoot = '/proc'): Caller {
  const euid = process.geteuid?.() ?? 0;
  const egid = process.getegid?.() ?? 0;
  let inUserNamespace = false;
  try {
    inUserNamespace = !isIdentityUidMap(readFileSync(`${procRoot}/self/uid_map`, 'utf8'));
  } catch {
    // a kernel without user namespaces has no uid_map: the host's namespace is the only one
  }
  return { euid, egid, inUserNamespace, rootless: euid !== 0 || inUserNamespace };
}

let cached: Caller | undefined;

/** The caller of this process, read once. */
export function caller(): Caller {
  cached ??= readCaller();
  return cached;
}

/**
 * runc's shouldHonorXDGRuntimeDir: a non-root caller's state lives in $XDG_RUNTIME_DIR; so does
 * that of root in a user namespace unless $USER says "root" (root of the host keeps /run, even
 * with XDG_RUNTIME_DIR=/run/user/0 set by a login).
 */
export function honorsXdgRuntimeDir(who: Caller, env: NodeJS.ProcessEnv): boolean {
  if (!env.XDG_RUNTIME_DIR) return false;
  if (who.euid !== 0) return true;
  if (!who.inUserNamespace) return false;
  return env.USER === undefined || env.USER !== 'root';
}

/**
 * runc's rule for "setgroups deny": a caller that is not root maps its gids itself, which the
 * kernel allows only for its own gid alone and only after setgroups is denied; any other mapping
 * goes through newgidmap, which keeps setgroups allowed.
 */
export function mapsOwnGidAlone(who: Caller, gidMappings: readonly IdMapping[]): boolean {
  return who.euid !== 0 && gidMappings.length === 1 && gidMappings[0].containerID === 0 && gidMappings[0].hostID === who.egid && gidMappings[0].size === 1;
}

/** A rootless caller's own limits, which its containers cannot exceed; undefined for the host's root. */
export function readCallerLimits(who: Caller, setgroupsDenied: boolean, procRoot = '/proc'): CallerLimits | undefined {
  if (!who.rootless) return undefined;
  return {
    hardLimits: parseHardLimits(readFileSync(`${procRoot}/self/limits`, 'utf8')),
    oomScoreAdj: Number(readFileSync(`${procRoot}/self/oom_score_adj`, 'utf8').trim()),
    setgroupsDenied,
  };
}

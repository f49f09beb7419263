/**
 * What a rootless caller may not ask of the kernel, checked before anything is made so the error
 * names the field instead of the helper's EPERM: a hard rlimit above the caller's own (raising it
 * needs CAP_SYS_RESOURCE in the host's user namespace), an oom_score_adj below the caller's (the
 * same), supplementary groups where the user namespace denies setgroups(2).
 */
import { configError } from '../errors.js';
import { rlimitNumbers } from '../kernel-tables.js';
import type { Linux, Process } from './spec-types.js';

export interface CallerLimits {
  /** the caller's hard limits by resource number (/proc/self/limits); unlimited is 2^64-1 */
  hardLimits: bigint[];
  /** the caller's /proc/self/oom_score_adj, which the container's init starts with */
  oomScoreAdj: number;
  /** the container's user namespace will have "deny" in its setgroups file */
  setgroupsDenied: boolean;
}

const UNLIMITED = (1n << 64n) - 1n;

/** /proc/self/limits: one line per resource, in the kernel's resource order, after a heading. */
export function parseHardLimits(text: string): bigint[] {
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const hard = line.slice(26).trim().split(/\s+/)[1];
      return hard === 'unlimited' ? UNLIMITED : BigInt(hard);
    });
}

export function checkCallerLimits(proc: Process, limits: CallerLimits): void {
  (proc.rlimits ?? []).forEach((r, i) => {
    const own = limits.hardLimits[rlimitNumbers[r.type]];
    const asked = r.hard >= 2 ** 64 - 1 ? UNLIMITED : BigInt(Math.trunc(r.hard));
    if (own !== undefined && asked > own) {
      throw configError(`/process/rlimits/${i}/hard`, `${r.type} hard limit ${r.hard} is above the caller's own (${own === UNLIMITED ? 'unlimited' : own}); a rootless caller cannot raise it`);
    }
  });
  if (proc.oomScoreAdj !== undefined && proc.oomScoreAdj < limits.oomScoreAdj) {
    throw configError('/process/oomScoreAdj', `${proc.oomScoreAdj} is below the caller's own oom_score_adj (${limits.oomScoreAdj}); a rootless caller cannot lower it`);
  }
  if (limits.setgroupsDenied && proc.user?.additionalGids?.length) {
    throw configError(
      '/process/user/additionalGids',
      "supplementary groups cannot be set: the user namespace maps only the caller's own gid, so setgroups is denied in it (map a range from /etc/subgid in linux.gidMappings)",
    );
  }
}

/** As runc: a caller that is not root gets nowhere without a user namespace mapping it. */
export function checkRootlessNamespaces(linux: Linux, euid: number): void {
  if (euid === 0) return;
  const userNs = (linux.namespaces ?? []).find((n) => n.type === 'user');
  if (!userNs) {
    throw configError('/linux/namespaces', `a rootless container (uid ${euid}) needs a user namespace: add {"type": "user"} with uidMappings and gidMappings (see tsrun spec --rootless)`);
  }
  if (userNs.path) return;
  if (!linux.uidMappings?.length) throw configError('/linux/uidMappings', 'a rootless container needs at least one uid mapping');
  if (!linux.gidMappings?.length) throw configError('/linux/gidMappings', 'a rootless container needs at least one gid mapping');
}

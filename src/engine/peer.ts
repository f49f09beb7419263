/**
 * Whether a door's caller can be served by this engine: the engine runs a command as the caller's
 * own process would only when the two share what a command or its hooks see of the process itself
 * — every namespace, the root directory, the credentials (uid, gid, groups, capabilities, no_new_privs, seccomp), the
 * rlimits and the umask. Anything else (a caller in a container, another user, a tightened shell)
 * is served in-process by the door, exactly as without an engine. Files under /proc/<pid> of the
 * door (SO_PEERCRED's pid, which is blocked on the reply and so alive) are read synchronously:
 * local procfs, no waiting on a process.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const STATUS_FIELDS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp'];

/** What must match, as text, for /proc/<pid> (or self). */
export function processIdentity(proc: string): string {
  const namespaces = readdirSync(`${proc}/ns`)
    .filter((n) => !n.endsWith('_for_children'))
    .sort()
    .map((n) => `${n}=${readlinkSync(`${proc}/ns/${n}`)}`);
  const status = readFileSync(`${proc}/status`, 'utf8')
    .split('\n')
    .filter((l) => STATUS_FIELDS.includes(l.slice(0, l.indexOf(':'))));
  // a chrooted caller shares the mount namespace but not its paths
  return [...namespaces, `root=${readlinkSync(`${proc}/root`)}`, ...status, readFileSync(`${proc}/limits`, 'utf8')].join('\n');
}

/** Why the door's caller (pid, uid, umask) must be served in-process, or undefined when the engine can serve it. */
export function whyInProcess(peer: { pid: number; uid: number; umask: number }, own: string, ownUmask: number): string | undefined {
  if (peer.uid !== 0 || process.getuid?.() !== 0) return `uid ${peer.uid}`;
  if (peer.umask !== ownUmask) return `umask ${peer.umask.toString(8)}`;
  let theirs: string;
  try {
    theirs = processIdentity(`/proc/${peer.pid}`);
  } catch (err) {
    return `caller's /proc: ${(err as Error).message}`;
  }
  return theirs === own ? undefined : 'another namespace, credentials or rlimits';
}

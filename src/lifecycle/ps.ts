/**
 * ps: the processes of a container. --format json is the array of host pids (what containerd
 * reads); the table is ps(1)'s own output (`ps -ef` unless other ps arguments follow the id) cut
 * down to the container's processes, as runc prints it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { currentCall } from '../call.js';
import { TsrunError } from '../errors.js';
import { readRecord } from '../state/store.js';
import { recordedCgroup } from './cgroup.js';

export function containerPids(root: string, id: string): number[] {
  return recordedCgroup(readRecord(root, id)).pids();
}

/** Waits for ps(1) without blocking: the engine serves other calls meanwhile. */
export async function psTable(pids: number[], psArgs: string[]): Promise<string> {
  let out: string;
  try {
    out = (await promisify(execFile)('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8', env: currentCall().env, cwd: currentCall().cwd })).stdout;
  } catch (err) {
    throw new TsrunError(`ps ${psArgs.join(' ')}: ${(err as Error).message}`, { kind: 'usage' });
  }
  const [header, ...lines] = out.split('\n');
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new TsrunError(`ps ${psArgs.join(' ')}: no PID column in its output`, { kind: 'usage' });
  const wanted = new Set(pids.map(String));
  return [header, ...lines.filter((l) => wanted.has(l.trim().split(/\s+/)[pidColumn]))].join('\n') + '\n';
}

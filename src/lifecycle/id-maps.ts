/**
 * The uid and gid maps of a new user namespace, written by tsrun from outside it. A mapping the
 * caller may not write itself (a rootless caller mapping more than its own ids) goes through the
 * setuid newuidmap/newgidmap, which check /etc/subuid and /etc/subgid, as runc falls back to them.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { IdMapping } from '../bundle/spec-types.js';
import { fromSystemError, TsrunError } from '../errors.js';
import { mapsOwnGidAlone, type Caller } from '../rootless.js';

export function writeIdMaps(pid: number, uidMappings: IdMapping[], gidMappings: IdMapping[], who: Caller): void {
  // gid_map may be written by an unprivileged caller only once setgroups is denied
  if (mapsOwnGidAlone(who, gidMappings)) writeProc(pid, 'setgroups', 'deny', "deny setgroups in the container's user namespace");
  writeIdMap(pid, 'uid_map', uidMappings, 'newuidmap', '/linux/uidMappings');
  writeIdMap(pid, 'gid_map', gidMappings, 'newgidmap', '/linux/gidMappings');
}

function writeIdMap(pid: number, file: 'uid_map' | 'gid_map', mappings: IdMapping[], tool: string, pointer: string): void {
  const text = mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
  try {
    writeFileSync(`/proc/${pid}/${file}`, text);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw fromSystemError(err, `write ${file} of the container's user namespace`);
  }
  const args = [String(pid), ...mappings.flatMap((m) => [m.containerID, m.hostID, m.size].map(String))];
  const run = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TsrunError(
      `config.json ${pointer}: write ${file} of the container's user namespace: EPERM, and ${tool} ${missing ? 'is not installed (package uidmap)' : `failed: ${run.error.message}`}; ` +
        "without it a rootless caller can map only its own id",
      { kind: 'config', pointer, code: 'EPERM' },
    );
  }
  if (run.status !== 0) {
    const said = (run.stderr || run.stdout).trim().split('\n').join('; ');
    throw new TsrunError(`config.json ${pointer}: ${tool} ${args.join(' ')} refused the mapping (exit ${run.status}): ${said || 'no output'}`, {
      kind: 'config', pointer, code: 'EPERM',
    });
  }
}

function writeProc(pid: number, file: string, text: string, what: string): void {
  try {
    writeFileSync(`/proc/${pid}/${file}`, text);
  } catch (err) {
    throw fromSystemError(err, what);
  }
}

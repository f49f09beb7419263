/**
 * update: new limits for a running container's cgroup. containerd sends a whole LinuxResources
 * JSON on stdin (`--resources -`), where an absent field means "unchanged"; runc's flags build
 * one from the command line. The cgroup drivers write only what is given.
 */
import { readFileSync } from 'node:fs';
import { withRequiredDevices } from '../bundle/device-policy.js';
import { callerPath, currentCall } from '../call.js';
import type { LinuxResources } from '../bundle/spec-types.js';
import { TsrunError, configError, fromSystemError, stateError, usageError } from '../errors.js';
import { recordedCgroup } from './cgroup.js';
import { withLockedContainer } from './status.js';
import { updateSystemdCgroup } from './systemd-cgroup.js';

export interface UpdateFlags {
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuBurst?: string;
  cpuPeriod?: string;
  cpuRtRuntime?: string;
  cpuRtPeriod?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  blkioWeight?: string;
}

/** "64m", "1G", "-1", "1024" as bytes, the way runc reads memory flags. */
export function parseBytes(flag: string, text: string): number {
  const m = /^(-1|\d+)([kmgt]?)b?$/i.exec(text.trim());
  if (!m) throw usageError(`--${flag}: invalid size ${JSON.stringify(text)}`);
  if (m[1] === '-1') return -1;
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Number(m[1]) * scale;
}

function parseInteger(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw usageError(`--${flag}: invalid number ${JSON.stringify(text)}`);
  return Number(text);
}

/** LinuxResources from runc's update flags (only the ones given). */
export function resourcesFromFlags(f: UpdateFlags): LinuxResources {
  const r: LinuxResources = {};
  const memory: NonNullable<LinuxResources['memory']> = {};
  if (f.memory !== undefined) memory.limit = parseBytes('memory', f.memory);
  if (f.memoryReservation !== undefined) memory.reservation = parseBytes('memory-reservation', f.memoryReservation);
  if (f.memorySwap !== undefined) memory.swap = parseBytes('memory-swap', f.memorySwap);
  if (Object.keys(memory).length) r.memory = memory;
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (f.cpuShares !== undefined) cpu.shares = parseInteger('cpu-share', f.cpuShares);
  if (f.cpuQuota !== undefined) cpu.quota = parseInteger('cpu-quota', f.cpuQuota);
  if (f.cpuBurst !== undefined) cpu.burst = parseInteger('cpu-burst', f.cpuBurst);
  if (f.cpuPeriod !== undefined) cpu.period = parseInteger('cpu-period', f.cpuPeriod);
  if (f.cpuRtRuntime !== undefined) cpu.realtimeRuntime = parseInteger('cpu-rt-runtime', f.cpuRtRuntime);
  if (f.cpuRtPeriod !== undefined) cpu.realtimePeriod = parseInteger('cpu-rt-period', f.cpuRtPeriod);
  if (f.cpusetCpus !== undefined) cpu.cpus = f.cpusetCpus;
  if (f.cpusetMems !== undefined) cpu.mems = f.cpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (f.pidsLimit !== undefined) r.pids = { limit: parseInteger('pids-limit', f.pidsLimit) };
  if (f.blkioWeight !== undefined) r.blockIO = { weight: parseInteger('blkio-weight', f.blkioWeight) };
  return r;
}

/** --resources FILE or - (stdin): a LinuxResources object. */
export function readResourcesFile(file: string): LinuxResources {
  let text: string;
  try {
    text = readFileSync(file === '-' ? currentCall().stdinFd : callerPath(file), 'utf8');
  } catch (err) {
    throw fromSystemError(err, `read ${file === '-' ? 'stdin' : file}`, 'usage');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw configError('', `resources: invalid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw configError('', 'resources: must be a JSON object (the spec\'s linux.resources)');
  }
  // runc's own -r format names the block I/O weight "blkioWeight"; containerd sends the spec's "weight"
  const resources = parsed as LinuxResources & { blockIO?: { blkioWeight?: number } };
  if (resources.blockIO?.blkioWeight !== undefined && resources.blockIO.weight === undefined) {
    const { blkioWeight, ...rest } = resources.blockIO;
    resources.blockIO = { ...rest, weight: blkioWeight };
  }
  return resources;
}

export function updateContainer(root: string, id: string, resources: LinuxResources): Promise<void> {
  return withLockedContainer(root, id, async (record, status) => {
    if (status === 'stopped') throw stateError('container not running');
    try {
      // new device rules get the fixed list create gave the old ones: /dev/null and the ptys stay usable
      const wanted = resources.devices === undefined ? resources : withRequiredDevices(resources);
      const cgroup = recordedCgroup(record);
      if (record.cgroup.systemd) await updateSystemdCgroup(record, cgroup, wanted);
      else cgroup.apply(wanted);
    } catch (err) {
      // pointers from the drivers are into config.json's /linux/resources: say they are ours
      if (err instanceof TsrunError) throw new TsrunError(err.message.replace(/^config\.json \/linux\/resources/, 'resources '), { kind: err.kind, pointer: err.pointer, cause: err });
      throw err;
    }
  });
}

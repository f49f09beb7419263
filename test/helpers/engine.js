// A resident engine of the tests' or the bench's own (TSRUN_ENGINE_DIR=dir): its processes, found by
// the socket path in their argv, and its stop, which leaves nothing of it on the machine.
import fs from 'node:fs';
import { cgroupDirs } from './cgroups.js';
import { removeCgroupTree } from './cleanup.js';
import { allPids, isAlive, procCmdline } from './proc.js';
import { waitFor } from './wait.js';

/** Live processes of the engine serving `dir`. */
export function enginePids(dir) {
	return allPids().filter((pid) => (procCmdline(pid) ?? []).some((a) => a.startsWith(`${dir}/`)) && isAlive(pid));
}

/**
 * Kills the engine serving `dir`, removes the dir and, once the engine is gone, the cgroups it made
 * for itself (src/engine/own-cgroup.ts); best effort: another install's engine may be in them
 * (EBUSY: they stay).
 */
export async function stopEngine(dir) {
	for (const pid of enginePids(dir)) process.kill(pid, 'SIGKILL');
	await waitFor(() => enginePids(dir).length === 0, 10_000, 'engine gone');
	fs.rmSync(dir, { recursive: true, force: true });
	const removed = () => cgroupDirs('/tsrun-engine').every((cgroup) => removeCgroupTree(cgroup).length === 0);
	await waitFor(removed, 3000, 'engine cgroups removed').catch(() => {});
}

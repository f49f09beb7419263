// The fds a container process holds, as the kernel shows them from the host (/proc/<pid>/fd): the
// runtime's fds must not reach the container (the newest runc checks /proc/self/fd inside).
import fs from 'node:fs';
import { waitFor } from './wait.js';

/** fd number → link target of every fd process `pid` holds. */
export function fdsOf(pid) {
	const out = new Map();
	for (const name of fs.readdirSync(`/proc/${pid}/fd`)) {
		let target;
		try {
			target = fs.readlinkSync(`/proc/${pid}/fd/${name}`);
		} catch {
			continue; // closed meanwhile
		}
		out.set(Number(name), target);
	}
	return out;
}

/**
 * The fds of `pid` once it runs `argv0` (the runtime's start can return a moment before the
 * process's execve, while the runtime's own code still holds its fds).
 */
export async function fdsAfterExec(pid, argv0 = 'sleep') {
	await waitFor(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === argv0, 10_000, `process ${pid} runs ${argv0}`);
	return fdsOf(pid);
}

/** The fd numbers `pid` holds once it runs `argv0`, sorted, with their targets for messages. */
export async function fdNumbers(pid, argv0 = 'sleep') {
	const fds = await fdsAfterExec(pid, argv0);
	return { numbers: [...fds.keys()].sort((a, b) => a - b), described: [...fds].map(([n, t]) => `${n} → ${t}`).join(', ') };
}

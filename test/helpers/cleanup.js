// What tests leave behind and its removal: processes, cgroups and mounts of a run, and the cleanup
// of a fixture (t.after), which force-deletes every container under its root, then removes what a
// broken runtime may have left and fails the test if it had to.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { cgroupProcs } from './cgroups.js';
import { allPids, isAlive, mountinfo, procCmdline, readOr } from './proc.js';
import { CGROUP_PARENT, PREFIX, TMP } from './test-run.js';
import { waitFor } from './wait.js';

/** rmdir a cgroup dir and its children, deepest first; returns errors as strings. */
export function removeCgroupTree(dir) {
	const errors = [];
	let entries = [];
	try {
		entries = fs.readdirSync(dir, { withFileTypes: true });
	} catch (err) {
		if (err.code !== 'ENOENT') errors.push(`${dir}: ${err.code}`);
		return errors;
	}
	for (const e of entries) if (e.isDirectory()) errors.push(...removeCgroupTree(path.join(dir, e.name)));
	try {
		fs.rmdirSync(dir);
	} catch (err) {
		if (err.code !== 'ENOENT') errors.push(`rmdir ${dir}: ${err.code}`);
	}
	return errors;
}

/**
 * Processes that belong to tests: in a cgroup under /tsrun-it/<prefix>, or with a command line that
 * mentions a test temp dir (runtimes, hooks). Zombies are not counted (pid 1 here does not reap).
 */
export function testProcesses(prefix = PREFIX) {
	const found = [];
	const tmpMark = path.join(TMP, prefix);
	for (const pid of allPids()) {
		if (pid === process.pid) continue;
		if (!isAlive(pid)) continue;
		const cg = readOr(`/proc/${pid}/cgroup`, '');
		const cmd = (procCmdline(pid) ?? []).join(' ');
		if (cg.includes(`/${CGROUP_PARENT}/${prefix}`) || cmd.includes(tmpMark)) {
			found.push({ pid, cmd, cgroup: cg.split('\n')[0] });
		}
	}
	return found;
}

/** Mounts (in our and pid 1's mount namespace) whose mount point lies under `dirPrefix`. */
export function mountsUnder(dirPrefix) {
	const seen = new Map();
	for (const pid of ['self', '1']) {
		let list = [];
		try {
			list = mountinfo(pid);
		} catch {
			continue;
		}
		for (const m of list) if (m.mountPoint.startsWith(dirPrefix)) seen.set(`${pid}:${m.id}`, m);
	}
	return [...seen.values()];
}

export async function unmountUnder(dirPrefix) {
	const errors = [];
	for (let round = 0; round < 10; round++) {
		const ms = mountsUnder(dirPrefix);
		if (ms.length === 0) break;
		ms.sort((a, b) => b.mountPoint.length - a.mountPoint.length);
		for (const m of ms) {
			const r = await execa('umount', ['-l', m.mountPoint], { reject: false });
			if (r.exitCode !== 0 && round === 9) errors.push(`umount ${m.mountPoint}: ${r.stderr}`);
		}
	}
	return errors;
}

/**
 * delete --force everything fixture `fx` made, then find and remove what is left (processes,
 * cgroups, mounts, state dirs); throw listing the leftovers, so a runtime that leaks fails the test
 * that leaked.
 */
export async function cleanupFixture(fx) {
	const leaks = [];
	const errors = [];
	const ids = new Set([...fx.ids, ...(await fx.listedIds())]);
	for (const id of ids) {
		const r = await fx.run(['delete', '--force', id], { expectExit: null, timeoutMs: 20_000 }).catch((e) => ({
			exitCode: -1,
			stderr: String(e),
		}));
		if (r.exitCode !== 0 && fs.existsSync(path.join(fx.root, id))) {
			leaks.push(`delete --force ${id} exited ${r.exitCode}: ${String(r.stderr).trim()}`);
		}
	}
	for (const fn of fx.deferred.reverse()) {
		try {
			await fn();
		} catch (err) {
			errors.push(`deferred cleanup: ${err.message}`);
		}
	}
	// Processes: in our cgroups, mentioning our dir, or seen as a container pid.
	const stray = () => {
		const found = new Map();
		for (const id of ids) for (const d of fx.cgroupDirsOf(id)) for (const p of cgroupProcs(d)) if (isAlive(p)) found.set(p, `in cgroup ${d}`);
		for (const p of testProcesses(path.basename(fx.dir))) found.set(p.pid, `command ${p.cmd}`);
		for (const [p, st] of fx.pids) if (isAlive(p, st)) found.set(p, 'container pid still alive');
		return found;
	};
	let left = stray();
	if (left.size) {
		// A process may be on its way out (SIGKILL delivered, not reaped yet).
		await waitFor(() => stray().size === 0, 3000).catch(() => {});
		left = stray();
	}
	if (left.size) {
		for (const [pid, why] of left) {
			leaks.push(`process ${pid} (${(procCmdline(pid) ?? []).join(' ')}): ${why}`);
			try {
				process.kill(pid, 'SIGKILL');
			} catch {}
		}
		await waitFor(() => stray().size === 0, 5000).catch(() => errors.push(`processes survive SIGKILL: ${[...stray().keys()]}`));
	}
	for (const id of ids) {
		for (const d of fx.cgroupDirsOf(id)) {
			leaks.push(`cgroup ${d}`);
			errors.push(...removeCgroupTree(d));
		}
	}
	for (const e of fs.readdirSync(fx.root, { withFileTypes: true }).filter((e) => e.isDirectory())) {
		leaks.push(`state dir ${path.join(fx.root, e.name)}`);
	}
	const mounts = mountsUnder(fx.dir);
	for (const m of mounts) leaks.push(`mount ${m.mountPoint} (${m.fsType})`);
	errors.push(...(await unmountUnder(fx.dir)));
	if (mountsUnder(fx.dir).length === 0) {
		// --one-file-system: never follow a bind mount we failed to see into the host.
		const r = await execa('rm', ['-rf', '--one-file-system', fx.dir], { reject: false });
		if (r.exitCode !== 0) errors.push(`rm -rf ${fx.dir}: ${r.stderr}`);
	} else {
		errors.push(`not removing ${fx.dir}: mounts remain`);
	}
	if (leaks.length || errors.length) {
		throw new Error(
			`cleanup of ${fx.dir}:\n` +
				(leaks.length ? `left behind after delete --force:\n  ${leaks.join('\n  ')}\n` : '') +
				(errors.length ? `cleanup errors:\n  ${errors.join('\n  ')}` : ''),
		);
	}
}

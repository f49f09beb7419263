// The host's cgroups as the tests see them: the layout (v1 or v2), the dirs of a cgroupsPath in
// every hierarchy, the pids in a cgroup tree.
import fs from 'node:fs';
import path from 'node:path';
import { readOr } from './proc.js';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** The per-controller dirs of a cgroupsPath that exist now (v1 controllers, name=systemd, unified). */
export function cgroupDirs(cgroupsPath) {
	const rel = cgroupsPath.replace(/^\/+/, '');
	const seen = new Set();
	const out = [];
	let hierarchies = [];
	try {
		hierarchies = fs.readdirSync(CGROUP_ROOT);
	} catch {
		return out;
	}
	// On a pure v2 host the hierarchy is /sys/fs/cgroup itself.
	for (const h of ['.', ...hierarchies]) {
		let real;
		try {
			real = fs.realpathSync(path.join(CGROUP_ROOT, h));
			if (!fs.statSync(real).isDirectory()) continue;
		} catch {
			continue;
		}
		if (seen.has(real)) continue;
		seen.add(real);
		const dir = path.join(real, rel);
		if (fs.existsSync(dir)) out.push(dir);
	}
	return out;
}
/** Is this host's cgroup layout v1 (memory controller mounted at /sys/fs/cgroup/memory)? */
export const isCgroupV1 = fs.existsSync(path.join(CGROUP_ROOT, 'memory/memory.limit_in_bytes'));
/** Is /sys/fs/cgroup a cgroup2 mount (unified layout)? */
export const isCgroupV2 = fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'));

/** Pids in a cgroup dir and all its children. */
export function cgroupProcs(dir) {
	const pids = new Set();
	const walk = (d) => {
		for (const p of (readOr(path.join(d, 'cgroup.procs'), '') ?? '').split('\n')) if (p) pids.add(Number(p));
		let entries = [];
		try {
			entries = fs.readdirSync(d, { withFileTypes: true });
		} catch {
			return;
		}
		for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
	};
	walk(dir);
	return [...pids];
}

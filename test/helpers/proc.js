// Readers and parsers of /proc: status, stat (start time, liveness), cmdline, namespace inodes,
// mountinfo, the host's pids.
import fs from 'node:fs';

/** The text of a file, or `fallback` if it cannot be read (a process gone meanwhile). */
export function readOr(file, fallback = null) {
	try {
		return fs.readFileSync(file, 'utf8');
	} catch {
		return fallback;
	}
}

/** Fields of /proc/<pid>/status (or of such text) as an object: { Uid: '0\t0\t0\t0', CapEff: ..., ... }. */
export function parseStatus(text) {
	const out = {};
	for (const line of text.split('\n')) {
		const i = line.indexOf(':');
		if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
	}
	return out;
}
export function procStatus(pid) {
	const text = readOr(`/proc/${pid}/status`);
	return text === null ? null : parseStatus(text);
}

/** /proc/<pid>/stat fields after the comm: [state, ppid, ...]; starttime is field 22 (index 19 here). */
function procStat(pid) {
	const text = readOr(`/proc/${pid}/stat`);
	if (text === null) return null;
	const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
	return { state: rest[0], ppid: Number(rest[1]), startTime: rest[19] };
}
export function processStartTime(pid) {
	return procStat(pid)?.startTime ?? null;
}

/** True if pid exists, is not a zombie (this VM's pid 1 does not reap) and, if given, started at startTime. */
export function isAlive(pid, startTime) {
	const st = procStat(pid);
	if (!st || st.state === 'Z' || st.state === 'X') return false;
	return startTime === undefined || startTime === null || st.startTime === startTime;
}

export function procCmdline(pid) {
	const raw = readOr(`/proc/${pid}/cmdline`);
	return raw === null ? null : raw.split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
}

/** "net:[4026531840]" → "4026531840"; pid may be 'self'. */
export function nsInode(pid, type) {
	const link = fs.readlinkSync(`/proc/${pid}/ns/${type}`);
	return /\[(\d+)\]/.exec(link)[1];
}
export function hostNs(type) {
	return nsInode('self', type);
}
export function hasNs(type) {
	return fs.existsSync(`/proc/self/ns/${type}`);
}

/** Parse mountinfo text (from /proc/<pid>/mountinfo or from inside a container). */
export function parseMountinfo(text) {
	// Lines that are not mountinfo (other output of the same shell) are skipped.
	return text
		.split('\n')
		.filter((line) => /^\d+ \d+ \d+:\d+ /.test(line) && line.includes(' - '))
		.map((line) => {
			const [pre, post] = line.split(' - ');
			const f = pre.split(' ');
			const p = post.split(' ');
			return {
				id: f[0],
				parent: f[1],
				root: unescapeMount(f[3]),
				mountPoint: unescapeMount(f[4]),
				options: f[5].split(','),
				optional: f.slice(6),
				fsType: p[0],
				source: p[1],
				superOptions: (p[2] ?? '').split(','),
				line,
			};
		});
}
function unescapeMount(s) {
	return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}
export function mountinfo(pid = 'self') {
	return parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

/** All pids on the host (numeric /proc entries). */
export function allPids() {
	return fs
		.readdirSync('/proc')
		.filter((n) => /^\d+$/.test(n))
		.map(Number);
}

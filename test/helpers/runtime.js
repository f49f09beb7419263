// Integration-test harness: each test gets its own temp dir holding `root/` (the runtime's --root) and
// `bundle/` (a copy of a busybox rootfs and a generated config.json), unique container ids and cgroup
// paths, and a cleanup (t.after) that force-deletes every container under its root, then removes
// what a broken runtime may have left (processes, cgroups, mounts) and fails the test if it had to.
//
// The runtime under test is `node bin/tsrun.cjs` unless TSRUN_TEST_RUNTIME (or RUNTIME) names another
// command, e.g. TSRUN_TEST_RUNTIME=runc to check the suite itself against runc.
import { execa } from 'execa';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

export const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const TMP = os.tmpdir();
export const PREFIX = 'tsrun-it-';
export const CGROUP_PARENT = 'tsrun-it';
export const CGROUP_ROOT = '/sys/fs/cgroup';
/** One id per `npm test` run (set by scripts/run-tests.js) so concurrent runs do not see each other. */
export const RUN_ID = process.env.TSRUN_TEST_RUN_ID || crypto.randomBytes(3).toString('hex');
/** Prefix of every temp dir and container id this run creates. */
export const RUN_PREFIX = `${PREFIX}${RUN_ID}-`;

export const isRoot = process.getuid?.() === 0;

function resolveRuntime() {
	const spec = (process.env.TSRUN_TEST_RUNTIME || process.env.RUNTIME || '').trim();
	if (!spec) {
		return { file: process.execPath, args: [path.join(REPO, 'bin/tsrun.cjs')], name: 'tsrun' };
	}
	const parts = spec.split(/\s+/);
	if (parts.length === 1 && /\.[cm]?js$/.test(parts[0])) {
		return { file: process.execPath, args: [path.resolve(parts[0])], name: path.basename(parts[0]).replace(/\.[cm]?js$/, '') };
	}
	return { file: parts[0], args: parts.slice(1), name: path.basename(parts[0]) };
}

/** The runtime under test: `file` + `args` are prepended to every command line. */
export const RUNTIME = resolveRuntime();
export const isRunc = RUNTIME.name === 'runc';
export const isCrun = RUNTIME.name === 'crun';
export const isTsrun = RUNTIME.name === 'tsrun';

/** node:test option for tests runc fails for a known reason: skipped when checking the suite against runc. */
export function notOnRunc(reason) {
	return isRunc ? `runc ${RUNTIME_VERSION}: ${reason}` : false;
}

/** "1.1.5+ds1" for runc, to label tests skipped because of that version's behaviour. */
export const RUNTIME_VERSION = (() => {
	if (!isRunc) return '';
	try {
		const out = execFileSync(RUNTIME.file, [...RUNTIME.args, '--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
		return /runc version (\S+)/.exec(String(out))?.[1] ?? '';
	} catch {
		return '';
	}
})();

// ---------------------------------------------------------------------------------------------
// Polling and /proc

/** Poll fn until it returns something truthy; fail after deadlineMs with the last value or error. */
export async function waitFor(fn, deadlineMs = 10_000, what = '') {
	const end = Date.now() + deadlineMs;
	let last;
	for (let interval = 5; ; interval = Math.min(interval * 2, 100)) {
		try {
			const v = await fn();
			if (v) return v;
			last = v;
		} catch (err) {
			last = err;
		}
		if (Date.now() > end) {
			throw new Error(`waitFor${what ? ` ${what}` : ''}: still false after ${deadlineMs} ms; last: ${util.inspect(last)}`);
		}
		await delay(interval);
	}
}

function readOr(file, fallback = null) {
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

// ---------------------------------------------------------------------------------------------
// The busybox rootfs, built once per run

let rootfsPromise;
/** Path of the shared busybox rootfs (TSRUN_TEST_ROOTFS, or built once into a cache dir). */
export function sharedRootfs() {
	rootfsPromise ??= buildSharedRootfs();
	return rootfsPromise;
}
async function buildSharedRootfs() {
	const given = process.env.TSRUN_TEST_ROOTFS;
	if (given) {
		if (!fs.existsSync(path.join(given, 'bin/busybox'))) throw new Error(`TSRUN_TEST_ROOTFS=${given}: no bin/busybox`);
		return given;
	}
	const script = path.join(REPO, 'scripts/make-rootfs.sh');
	const bb = fs.statSync('/bin/busybox', { throwIfNoEntry: false });
	const key = crypto
		.createHash('sha256')
		.update(fs.readFileSync(script))
		.update(`${bb?.size}:${bb?.mtimeMs}`)
		.digest('hex')
		.slice(0, 12);
	const dest = path.join(TMP, `tsrun-rootfs-cache-${key}`);
	if (fs.existsSync(path.join(dest, '.tsrun-rootfs-complete'))) return dest;
	const tmp = `${dest}.${process.pid}.${crypto.randomBytes(3).toString('hex')}`;
	await execa('bash', [script, tmp]);
	fs.writeFileSync(path.join(tmp, '.tsrun-rootfs-complete'), '');
	try {
		fs.renameSync(tmp, dest);
	} catch {
		// Another test file built it first.
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	return dest;
}

// ---------------------------------------------------------------------------------------------
// config.json

/** A config close to `runc spec` (1.1.x), with terminal false, the given args and a cgroupsPath. */
export function baseConfig({ args = ['true'], cgroupsPath, hostname = 'tsrun' } = {}) {
	const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
	const config = {
		ociVersion: '1.0.2-dev',
		process: {
			terminal: false,
			user: { uid: 0, gid: 0 },
			args,
			env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
			cwd: '/',
			capabilities: {
				bounding: [...caps],
				effective: [...caps],
				permitted: [...caps],
				ambient: [...caps],
			},
			rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
			noNewPrivileges: true,
		},
		root: { path: 'rootfs', readonly: true },
		hostname,
		mounts: [
			{ destination: '/proc', type: 'proc', source: 'proc' },
			{ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
			{
				destination: '/dev/pts',
				type: 'devpts',
				source: 'devpts',
				options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
			},
			{ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
			{ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
			{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
			{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
		],
		linux: {
			resources: { devices: [{ allow: false, access: 'rwm' }] },
			namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
			maskedPaths: [
				'/proc/acpi',
				'/proc/asound',
				'/proc/kcore',
				'/proc/keys',
				'/proc/latency_stats',
				'/proc/timer_list',
				'/proc/timer_stats',
				'/proc/sched_debug',
				'/sys/firmware',
				'/proc/scsi',
			],
			readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
		},
	};
	if (cgroupsPath) config.linux.cgroupsPath = cgroupsPath;
	return config;
}

/** Capability names the tests use for "all caps" (those every kernel since 5.9 knows). */
export const ALL_CAPS = [
	'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
	'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
	'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
	'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
	'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
	'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
	'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];
/** Bit numbers of capabilities, for the hex masks in /proc/<pid>/status. */
export const CAP_BITS = Object.fromEntries(ALL_CAPS.map((name, bit) => [name, bit]));
/** "0000000000000421"-style mask for a set of capability names, as /proc/<pid>/status prints it. */
export function capMask(names) {
	let mask = 0n;
	for (const n of names) mask |= 1n << BigInt(CAP_BITS[n]);
	return mask.toString(16).padStart(16, '0');
}

// ---------------------------------------------------------------------------------------------
// The per-test fixture

let seq = 0;
function uniqueId() {
	seq += 1;
	return `${RUN_PREFIX}${process.pid}-${seq}-${crypto.randomBytes(2).toString('hex')}`;
}

/**
 * Make a fixture for test `t`: temp dir with root/ and bundle/ (rootfs copy + config), unique id.
 * opts.args: process.args for the baseline config; opts.config(cfg, fixture): edit the config.
 */
export async function setup(t, opts = {}) {
	const rootfs = await sharedRootfs();
	const dir = await fsp.mkdtemp(path.join(TMP, RUN_PREFIX));
	const fx = new Fixture(t, dir);
	t.after(() => fx.cleanup());
	await fsp.chmod(dir, 0o755);
	await fsp.mkdir(fx.root, { mode: 0o700 });
	await fsp.mkdir(fx.bundle, { mode: 0o755 });
	await execa('cp', ['-a', rootfs, fx.rootfs]);
	await fsp.rm(path.join(fx.rootfs, '.tsrun-rootfs-complete'), { force: true });
	fx.config = baseConfig({ args: opts.args ?? ['true'], cgroupsPath: fx.cgroupsPath });
	if (opts.config) await opts.config(fx.config, fx);
	return fx;
}

export class Fixture {
	constructor(t, dir) {
		this.t = t;
		this.dir = dir;
		this.root = path.join(dir, 'root');
		this.bundle = path.join(dir, 'bundle');
		this.rootfs = path.join(this.bundle, 'rootfs');
		this.ids = new Set();
		this.id = this.newId();
		this.cgroupsPath = this.cgroupsPathFor(this.id);
		/** pid → start time of every container process seen, checked dead at cleanup. */
		this.pids = new Map();
		this.deferred = [];
		this.ioSeq = 0;
		/** Words put before every runtime command line, e.g. an unshare that mounts cgroup2 first. */
		this.commandPrefix = [];
	}

	newId() {
		const id = uniqueId();
		this.ids.add(id);
		return id;
	}

	cgroupsPathFor(id) {
		return `/${CGROUP_PARENT}/${id}`;
	}

	/** Existing cgroup dirs of container id: its cgroupsPath, and /<id> (a runtime's default path). */
	cgroupDirsOf(id) {
		return [...cgroupDirs(this.cgroupsPathFor(id)), ...cgroupDirs(`/${id}`)];
	}

	/** A path inside the test's temp dir. */
	path(...names) {
		return path.join(this.dir, ...names);
	}

	/** Run fn at cleanup, after the containers are deleted (newest first). */
	defer(fn) {
		this.deferred.push(fn);
	}

	async writeConfig(config = this.config, bundle = this.bundle) {
		await fsp.mkdir(bundle, { recursive: true });
		await fsp.writeFile(path.join(bundle, 'config.json'), JSON.stringify(config, null, '\t'));
	}

	/** Set process.args to `sh -c script`. */
	sh(script) {
		this.config.process.args = ['sh', '-c', script];
		return this;
	}

	/** The runtime's command line for args (with --root unless opts.noRoot). */
	commandLine(args, opts = {}) {
		return [...this.commandPrefix, RUNTIME.file, ...RUNTIME.args, ...(opts.noRoot ? [] : ['--root', opts.root ?? this.root]), ...(opts.global ?? []), ...args];
	}

	/**
	 * Run the runtime. Returns { exitCode, stdout, stderr, command, outFile, errFile }.
	 * opts.expectExit: number (default 0), 'nonzero', or null for any; a mismatch throws with the
	 *   command, status, stdout and stderr.
	 * opts.detached: the runtime's (and so the container's) stdout/stderr go to files in the test dir
	 *   instead of pipes, so a container left running does not hold our pipes open (create, run -d).
	 * opts.extraFds: host fds passed as 3, 4, ... ; opts.input: stdin text; opts.timeoutMs (30 s).
	 */
	async run(args, opts = {}) {
		const [file, ...argv] = this.commandLine(args, opts);
		const extra = opts.extraFds ?? [];
		const stdin = opts.input !== undefined ? 'pipe' : (opts.stdin ?? 'ignore');
		let outFile;
		let errFile;
		let stdio;
		const toClose = [];
		if (opts.detached) {
			const n = ++this.ioSeq;
			outFile = this.path(`io-${n}.out`);
			errFile = this.path(`io-${n}.err`);
			const o = fs.openSync(outFile, 'a');
			const e = fs.openSync(errFile, 'a');
			toClose.push(o, e);
			stdio = [stdin, o, e, ...extra];
		} else {
			stdio = [stdin, 'pipe', 'pipe', ...extra];
		}
		const command = [file, ...argv].map(shellQuote).join(' ');
		let r;
		try {
			r = await execa(file, argv, {
				stdio,
				input: opts.input,
				reject: false,
				timeout: opts.timeoutMs ?? 30_000,
				forceKillAfterDelay: 2000,
				cwd: opts.cwd ?? this.dir,
				env: opts.env,
				stripFinalNewline: false,
			});
		} finally {
			for (const fd of toClose) fs.closeSync(fd);
		}
		const result = {
			command,
			exitCode: r.exitCode,
			signal: r.signal,
			timedOut: r.timedOut,
			stdout: opts.detached ? fs.readFileSync(outFile, 'utf8') : (r.stdout ?? ''),
			stderr: opts.detached ? fs.readFileSync(errFile, 'utf8') : (r.stderr ?? ''),
			outFile,
			errFile,
		};
		const expect = opts.expectExit === undefined ? 0 : opts.expectExit;
		const ok =
			expect === null ||
			(expect === 'nonzero' ? result.exitCode !== 0 && result.exitCode !== undefined : result.exitCode === expect);
		if (!ok) {
			throw new assert.AssertionError({
				message: `${describeRun(result)}\n(expected exit ${expect})`,
				actual: result.exitCode,
				expected: expect,
				operator: 'exitCode',
			});
		}
		return result;
	}

	/** create --bundle; returns the run result plus the container's pid (from state). */
	async create(opts = {}) {
		const id = opts.id ?? this.id;
		this.ids.add(id);
		const bundle = opts.bundle ?? this.bundle;
		if (opts.writeConfig !== false) await this.writeConfig(opts.config ?? this.config, bundle);
		const args = ['create', '--bundle', bundle, ...(opts.args ?? []), id];
		const r = await this.run(args, { detached: true, ...opts.run, expectExit: opts.expectExit });
		if (r.exitCode === 0) {
			r.state = await this.state(id);
			r.pid = r.state.pid;
		}
		return r;
	}

	async start(id = this.id, opts = {}) {
		return this.run(['start', id], opts);
	}

	/** state ID parsed; records the pid for the cleanup's leak check. */
	async state(id = this.id, opts = {}) {
		const r = await this.run(['state', id], opts);
		if (r.exitCode !== 0) return null;
		let st;
		try {
			st = JSON.parse(r.stdout);
		} catch (err) {
			throw new Error(`${describeRun(r)}\nstate output is not JSON: ${err.message}`);
		}
		if (st.pid > 0 && !this.pids.has(st.pid)) this.pids.set(st.pid, processStartTime(st.pid));
		return st;
	}

	async waitStatus(status, id = this.id, deadlineMs = 10_000) {
		return waitFor(async () => {
			const st = await this.state(id);
			return st.status === status && st;
		}, deadlineMs, `state ${id} = ${status}`);
	}

	async kill(id = this.id, signal, opts = {}) {
		return this.run(['kill', id, ...(signal === undefined ? [] : [String(signal)])], opts);
	}

	async delete(id = this.id, opts = {}) {
		return this.run(['delete', ...(opts.force ? ['--force'] : []), id], opts);
	}

	/** `run` in the foreground (pipes); returns the run result; expectExit defaults to 0. */
	async runFg(opts = {}) {
		const id = opts.id ?? this.id;
		this.ids.add(id);
		if (opts.writeConfig !== false) await this.writeConfig(opts.config ?? this.config, opts.bundle ?? this.bundle);
		return this.run(['run', '--bundle', opts.bundle ?? this.bundle, ...(opts.args ?? []), id], {
			timeoutMs: 60_000,
			...opts.run,
			expectExit: opts.expectExit,
		});
	}

	/** Run `sh -c script` in a container built from the current config; returns its stdout. */
	async inside(script, opts = {}) {
		this.sh(script);
		const r = await this.runFg(opts);
		return r.stdout;
	}

	/** Container ids the runtime lists under our root, plus dirs there (for a runtime whose list fails). */
	async listedIds() {
		const ids = new Set();
		const r = await this.run(['list', '-q'], { expectExit: null, timeoutMs: 15_000 }).catch(() => null);
		if (r?.exitCode === 0) for (const l of r.stdout.split('\n')) if (l.trim()) ids.add(l.trim());
		try {
			for (const e of fs.readdirSync(this.root, { withFileTypes: true })) if (e.isDirectory()) ids.add(e.name);
		} catch {}
		return ids;
	}

	/**
	 * delete --force everything, then find and remove what is left (processes, cgroups, mounts, state
	 * dirs); throw listing the leftovers, so a runtime that leaks fails the test that leaked.
	 */
	async cleanup() {
		const leaks = [];
		const errors = [];
		const ids = new Set([...this.ids, ...(await this.listedIds())]);
		for (const id of ids) {
			const r = await this.run(['delete', '--force', id], { expectExit: null, timeoutMs: 20_000 }).catch((e) => ({
				exitCode: -1,
				stderr: String(e),
			}));
			if (r.exitCode !== 0 && fs.existsSync(path.join(this.root, id))) {
				leaks.push(`delete --force ${id} exited ${r.exitCode}: ${String(r.stderr).trim()}`);
			}
		}
		for (const fn of this.deferred.reverse()) {
			try {
				await fn();
			} catch (err) {
				errors.push(`deferred cleanup: ${err.message}`);
			}
		}
		// Processes: in our cgroups, mentioning our dir, or seen as a container pid.
		const stray = () => {
			const found = new Map();
			for (const id of ids) for (const d of this.cgroupDirsOf(id)) for (const p of cgroupProcs(d)) if (isAlive(p)) found.set(p, `in cgroup ${d}`);
			for (const p of testProcesses(path.basename(this.dir))) found.set(p.pid, `command ${p.cmd}`);
			for (const [p, st] of this.pids) if (isAlive(p, st)) found.set(p, 'container pid still alive');
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
			for (const d of this.cgroupDirsOf(id)) {
				leaks.push(`cgroup ${d}`);
				errors.push(...removeCgroupTree(d));
			}
		}
		for (const e of fs.readdirSync(this.root, { withFileTypes: true }).filter((e) => e.isDirectory())) {
			leaks.push(`state dir ${path.join(this.root, e.name)}`);
		}
		const mounts = mountsUnder(this.dir);
		for (const m of mounts) leaks.push(`mount ${m.mountPoint} (${m.fsType})`);
		errors.push(...(await unmountUnder(this.dir)));
		if (mountsUnder(this.dir).length === 0) {
			// --one-file-system: never follow a bind mount we failed to see into the host.
			const r = await execa('rm', ['-rf', '--one-file-system', this.dir], { reject: false });
			if (r.exitCode !== 0) errors.push(`rm -rf ${this.dir}: ${r.stderr}`);
		} else {
			errors.push(`not removing ${this.dir}: mounts remain`);
		}
		if (leaks.length || errors.length) {
			throw new Error(
				`cleanup of ${this.dir}:\n` +
					(leaks.length ? `left behind after delete --force:\n  ${leaks.join('\n  ')}\n` : '') +
					(errors.length ? `cleanup errors:\n  ${errors.join('\n  ')}` : ''),
			);
		}
	}
}

export function describeRun(r) {
	return [
		`$ ${r.command}`,
		`exit: ${r.exitCode}${r.signal ? ` (signal ${r.signal})` : ''}${r.timedOut ? ' (timed out)' : ''}`,
		`stdout: ${indent(r.stdout)}`,
		`stderr: ${indent(r.stderr)}`,
	].join('\n');
}
function indent(s) {
	s = String(s ?? '').replace(/\n$/, '');
	return s.includes('\n') ? `\n  ${s.split('\n').join('\n  ')}` : s;
}
function shellQuote(s) {
	return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** Open a file for a test to pass as an extra fd; closed at cleanup. */
export function openForTest(fx, file, flags = 'r') {
	const fd = fs.openSync(file, flags);
	fx.defer(() => fs.closeSync(fd));
	return fd;
}

/** Skip reason for tests that need root (string) or false. */
export const needsRoot = isRoot ? false : 'integration tests need root';

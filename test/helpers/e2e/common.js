// What the client end-to-end suite (test/e2e/) shares: a temp dir per client named with the run's
// prefix (so zz-leaks.test.js finds what a broken run left), the wrapper script the clients run as
// their runtime, running the clients' commands, the host paths the daemons write outside their own
// dirs, the teardown that removes everything even after a failure, and the kernel-side checks.
import { execa } from 'execa';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cgroupDirs, cgroupProcs } from '../cgroups.js';
import { mountsUnder, removeCgroupTree, testProcesses, unmountUnder } from '../cleanup.js';
import { describeRun } from '../fixture.js';
import { isAlive, readOr } from '../proc.js';
import { RUNTIME } from '../runtime-under-test.js';
import { CGROUP_PARENT, RUN_PREFIX, TMP, isRoot } from '../test-run.js';
import { waitFor } from '../wait.js';

/** The runtime's name in test titles and reports: tsrun, runc, ... */
export const RUNTIME_NAME = RUNTIME.name;

/** node:test skip value for a client's file: not root, TSRUN_TEST_SKIP_E2E, or a missing binary. */
export function e2eSkip(binaries) {
	if (!isRoot) return 'the e2e suite starts daemons and runs containers: needs root';
	if (process.env.TSRUN_TEST_SKIP_E2E) return 'TSRUN_TEST_SKIP_E2E is set';
	const missing = binaries.filter((b) => !which(b));
	return missing.length ? `not installed: ${missing.join(', ')} (scripts/install-e2e-deps.sh)` : false;
}

/** Absolute path of a command on PATH (or the path itself when it has a slash), or null. */
export function which(name) {
	if (name.includes('/')) return fs.existsSync(name) ? name : null;
	for (const d of (process.env.PATH ?? '').split(':')) {
		const p = path.join(d || '.', name);
		try {
			fs.accessSync(p, fs.constants.X_OK);
			if (fs.statSync(p).isFile()) return p;
		} catch {}
	}
	return null;
}

/** A fresh temp dir for one client's daemon, image and containers: /tmp/tsrun-it-<run>-e2e-<client>-XXXXXX. */
export function workdir(client) {
	const dir = fs.mkdtempSync(path.join(TMP, `${RUN_PREFIX}e2e-${client}-`));
	fs.chmodSync(dir, 0o755);
	return dir;
}

/** This run's cgroup parent for a client's containers: /tsrun-it/tsrun-it-<run>-e2e-<client>. */
export function cgroupParent(client) {
	return `/${CGROUP_PARENT}/${RUN_PREFIX}e2e-${client}`;
}

/**
 * dir/runtime: the script a client runs as its OCI runtime. It runs the runtime under test with an
 * absolute node (the daemons' PATH need not have one), with the tests' TSRUN_ENGINE and TSRUN_ENGINE_DIR, logs every call to dir/runtime-calls.log and,
 * when the client passes no --root (podman does not), adds `--root defaultRoot` so the containers'
 * state stays in the temp dir.
 */
export function runtimeWrapper(dir, { defaultRoot } = {}) {
	const file = path.join(dir, 'runtime');
	const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
	const runtime = [RUNTIME.file, ...RUNTIME.args].map(q).join(' ');
	const lines = ['#!/bin/sh', `# tsrun e2e: the runtime under test (${RUNTIME_NAME}) as the client calls it`];
	lines.push(`echo "$(date +%T.%N) $*" >>${q(path.join(dir, 'runtime-calls.log'))}`);
	// daemons do not pass the tests' environment on: the door's engine switch and the run's own
	// engine dir go in the script
	for (const name of ['TSRUN_ENGINE', 'TSRUN_ENGINE_DIR']) if (process.env[name]) lines.push(`export ${name}=${q(process.env[name])}`);
	if (defaultRoot) {
		fs.mkdirSync(defaultRoot, { recursive: true, mode: 0o700 });
		lines.push('for a in "$@"; do case "$a" in --root | --root=*) exec ' + runtime + ' "$@" ;; esac; done');
		lines.push(`exec ${runtime} --root ${q(defaultRoot)} "$@"`);
	} else {
		lines.push(`exec ${runtime} "$@"`);
	}
	fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o755 });
	return file;
}

/**
 * Run a client command. Returns { exitCode, stdout, stderr, command }. opts.expectExit: a number
 * (default 0), 'nonzero' or null (any); a mismatch throws with the command and its output.
 * opts.env is added to the environment; opts.timeoutMs (60 s) kills the command.
 */
export async function runCmd(file, args, opts = {}) {
	const r = await execa(file, args, {
		reject: false,
		timeout: opts.timeoutMs ?? 60_000,
		forceKillAfterDelay: 2000,
		env: opts.env,
		input: opts.input,
		stdin: opts.input === undefined ? 'ignore' : undefined,
		stripFinalNewline: false,
		cwd: opts.cwd,
	});
	const result = {
		command: [file, ...args].join(' '),
		exitCode: r.exitCode,
		signal: r.signal,
		timedOut: r.timedOut,
		stdout: r.stdout ?? '',
		stderr: r.stderr ?? '',
	};
	const expect = opts.expectExit === undefined ? 0 : opts.expectExit;
	const ok = expect === null || (expect === 'nonzero' ? result.exitCode !== 0 && result.exitCode !== undefined : result.exitCode === expect);
	if (!ok) {
		throw new assert.AssertionError({
			message: `${describeRun(result)}\n(expected exit ${expect})${opts.context ? `\n${opts.context()}` : ''}`,
			actual: result.exitCode,
			expected: expect,
			operator: 'exitCode',
		});
	}
	return result;
}

/** The last lines of a log file, for failure messages. */
export function tail(file, lines = 30) {
	const text = readOr(file, '') ?? '';
	return text.split('\n').slice(-lines).join('\n');
}

/**
 * Paths a daemon writes outside its own dirs (/run/containerd/s, /run/docker, /etc/docker/key.json,
 * /var/lib/containers/cache, ...): recorded before it starts; restore() removes what was not there
 * then. A shim socket in a shared dir is removed only when nothing listens on it any more, so
 * another user's daemons on the machine keep theirs.
 */
export class HostPaths {
	constructor(paths) {
		this.before = new Map();
		for (const p of paths) this.before.set(p, this.#entries(p));
	}

	#entries(p) {
		try {
			const st = fs.lstatSync(p);
			return st.isDirectory() ? new Set(fs.readdirSync(p)) : new Set();
		} catch {
			return null;
		}
	}

	restore() {
		const errors = [];
		const listening = listeningUnixSockets();
		// Deepest first, so /run/docker/plugins goes before /run/docker.
		for (const [p, before] of [...this.before].sort((a, b) => b[0].length - a[0].length)) {
			const now = this.#entries(p);
			if (now === null) continue;
			const st = fs.lstatSync(p);
			if (before === null && !st.isDirectory()) {
				fs.rmSync(p, { force: true });
				continue;
			}
			for (const name of now) {
				if (before?.has(name)) continue;
				const child = path.join(p, name);
				// Tracked itself (handled above), or a live socket: our daemons and shims are dead by
				// now, so it is another user's.
				if (this.before.has(child) || listening.has(child)) continue;
				try {
					const cst = fs.lstatSync(child);
					if (cst.isDirectory()) fs.rmdirSync(child);
					else fs.rmSync(child, { force: true });
				} catch (err) {
					if (err.code !== 'ENOENT') errors.push(`remove ${child}: ${err.code}`);
				}
			}
			if (before === null) {
				try {
					fs.rmdirSync(p);
				} catch (err) {
					// ENOTEMPTY: another user's entries (live sockets) appeared meanwhile.
					if (err.code !== 'ENOENT' && err.code !== 'ENOTEMPTY') errors.push(`rmdir ${p}: ${err.code}`);
				}
			}
		}
		return errors;
	}
}

/** Paths of bound unix sockets on the host (/proc/net/unix). */
function listeningUnixSockets() {
	const out = new Set();
	for (const line of (readOr('/proc/net/unix', '') ?? '').split('\n').slice(1)) {
		const f = line.trim().split(/\s+/);
		if (f.length >= 8 && f[7].startsWith('/')) out.add(f[7]);
	}
	return out;
}

/**
 * A daemon in the foreground of a child process, its output in logFile. ready() polls until it
 * answers; stop() sends SIGTERM, then SIGKILL after graceMs.
 */
export class Daemon {
	constructor(name, file, args, { logFile, env }) {
		this.name = name;
		this.logFile = logFile;
		const log = fs.openSync(logFile, 'a');
		this.child = execa(file, args, { stdin: 'ignore', stdout: log, stderr: log, env, reject: false, cleanup: true });
		fs.closeSync(log);
		this.exited = false;
		this.child.then(() => (this.exited = true));
	}

	async ready(probe, deadlineMs = 60_000) {
		await waitFor(
			async () => {
				if (this.exited) throw new Error(`${this.name} exited:\n${tail(this.logFile)}`);
				return probe();
			},
			deadlineMs,
			`${this.name} to answer`,
		).catch((err) => {
			throw new Error(`${err.message}\n--- ${this.logFile}:\n${tail(this.logFile)}`);
		});
	}

	async stop(graceMs = 20_000) {
		if (this.exited) return;
		this.child.kill('SIGTERM');
		const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
		await this.child;
		clearTimeout(timer);
	}
}

/**
 * After a client's tests, even failed ones: stop the daemons, kill what is left of the run in the
 * temp dir or the client's cgroups (shims, conmon, container processes), unmount everything under
 * the dir, remove the cgroups, restore the host paths, remove the dir. Returns the errors.
 */
export async function teardown({ dir, daemons = [], cgroupParents = [], hostPaths, before = [] }) {
	const errors = [];
	for (const fn of before) {
		try {
			await fn();
		} catch (err) {
			errors.push(`teardown: ${err.message}`);
		}
	}
	for (const d of daemons) {
		try {
			await d?.stop();
		} catch (err) {
			errors.push(`stop ${d.name}: ${err.message}`);
		}
	}
	const stray = () => {
		const pids = new Set(testProcesses(path.basename(dir)).map((p) => p.pid));
		for (const parent of cgroupParents) for (const cg of cgroupDirs(parent)) for (const p of cgroupProcs(cg)) if (isAlive(p)) pids.add(p);
		return [...pids];
	};
	let left = stray();
	if (left.length) {
		for (const p of left) {
			try {
				process.kill(p, 'SIGKILL');
			} catch {}
		}
		await waitFor(() => stray().length === 0, 10_000).catch(() => {});
		left = stray();
		if (left.length) errors.push(`processes still alive: ${left.join(' ')}`);
	}
	errors.push(...(await unmountUnder(dir)));
	for (const parent of cgroupParents) {
		for (const cg of cgroupDirs(parent)) {
			await waitFor(() => removeCgroupTree(cg).length === 0, 5000).catch(() => errors.push(...removeCgroupTree(cg)));
		}
	}
	if (hostPaths) errors.push(...hostPaths.restore());
	if (mountsUnder(dir).length === 0) {
		const r = await execa('rm', ['-rf', '--one-file-system', dir], { reject: false });
		if (r.exitCode !== 0) errors.push(`rm -rf ${dir}: ${r.stderr}`);
	} else {
		errors.push(`not removing ${dir}: mounts remain`);
	}
	return errors;
}

/**
 * The teardown of a client's env ({ dir, daemon?, cgroupParent, hostPaths }): first
 * removeContainers() through the client while its daemon still runs, then teardown().
 */
export function teardownEnv(env, removeContainers) {
	return teardown({
		dir: env.dir,
		daemons: env.daemon ? [env.daemon] : [],
		cgroupParents: [env.cgroupParent],
		hostPaths: env.hostPaths,
		before: [
			async () => {
				if (env.daemon?.exited === false || env.daemon === undefined) await removeContainers();
			},
		],
	});
}

/** Mount points under dir now (to compare before a container and after its removal). */
export function mountPoints(dir) {
	return mountsUnder(dir)
		.map((m) => m.mountPoint)
		.sort();
}

/**
 * After a container's removal: its process is dead, its runtime state dir gone from every root,
 * no cgroup dir under the client's parent names it, and the mounts under dir are those there were
 * before it started.
 */
export async function assertGone({ what, pid, startTime, id, runtimeRoots = [], cgroupParent: parent, dir, mountsBefore }) {
	const problems = () => {
		const out = [];
		if (pid && isAlive(pid, startTime)) out.push(`process ${pid} alive`);
		for (const r of runtimeRoots) if (fs.existsSync(path.join(r, id))) out.push(`state dir ${path.join(r, id)}`);
		if (parent) for (const cg of cgroupDirs(parent)) out.push(...findNamed(cg, id).map((d) => `cgroup ${d}`));
		if (mountsBefore) {
			const now = mountPoints(dir);
			const extra = now.filter((m) => !mountsBefore.includes(m));
			out.push(...extra.map((m) => `mount ${m}`));
			out.push(...mountsHolding(id).map((m) => `mount ${m}`));
		}
		return out;
	};
	await waitFor(() => problems().length === 0, 10_000).catch(() => {
		assert.deepEqual(problems(), [], `${what}: left behind`);
	});
}

/** Dirs under root whose name contains part. */
function findNamed(root, part) {
	const out = [];
	const walk = (d) => {
		let entries = [];
		try {
			entries = fs.readdirSync(d, { withFileTypes: true });
		} catch {
			return;
		}
		for (const e of entries) {
			if (!e.isDirectory()) continue;
			const p = path.join(d, e.name);
			if (e.name.includes(part)) out.push(p);
			walk(p);
		}
	};
	walk(root);
	return out;
}

/** Host mount points that name a container id (its rootfs, its /etc/hosts bind, ...). */
function mountsHolding(id) {
	return mountsUnder('/')
		.filter((m) => m.mountPoint.includes(id))
		.map((m) => m.mountPoint);
}

/**
 * Shell run inside a container: its cgroup limits as `mem=... pids=... cpu=<quota> <period>` (v1 or
 * v2; on v2 without a cgroup namespace /sys/fs/cgroup is the host's root, so the container's own
 * dir is found from /proc/self/cgroup).
 */
export const LIMITS_SH = [
	'if [ -f /sys/fs/cgroup/cgroup.controllers ]; then',
	'  d=/sys/fs/cgroup; [ -f $d/memory.max ] || d=$d$(sed -n "s/^0:://p" /proc/self/cgroup)',
	'  echo "mem=$(cat $d/memory.max) pids=$(cat $d/pids.max) cpu=$(cat $d/cpu.max)"',
	'else',
	'  echo "mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) pids=$(cat /sys/fs/cgroup/pids/pids.max)' +
		' cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"',
	'fi',
].join('\n');

/** Is the cgroup of pid frozen, as the kernel shows it (v1 freezer.state, v2 cgroup.freeze)? */
export function isFrozen(pid) {
	const lines = (readOr(`/proc/${pid}/cgroup`, '') ?? '').split('\n');
	const v1 = lines.find((l) => /^\d+:([^:]*,)?freezer(,[^:]*)?:/.test(l));
	if (v1) return (readOr(path.join('/sys/fs/cgroup/freezer', v1.split(':')[2], 'freezer.state'), '') ?? '').trim() === 'FROZEN';
	const v2 = lines.find((l) => l.startsWith('0::'));
	if (!v2) return false;
	const base = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
	return (readOr(path.join(base, v2.slice(3), 'cgroup.freeze'), '') ?? '').trim() === '1';
}

/** Shell run inside a container: the seccomp mode, then `unshare -U` (default profiles deny it without CAP_SYS_ADMIN). */
export const SECCOMP_UNSHARE_SH = 'grep "^Seccomp:" /proc/self/status; unshare -U true && echo unshare-ok';
/** The same with swapon (podman's profile allows unshare but denies swapon with EPERM; the kernel says EINVAL for /dev/null). */
export const SECCOMP_SWAPON_SH = 'grep "^Seccomp:" /proc/self/status; swapon /dev/null';

/** A busybox loop as pid 1 that reports signals: USR1 prints got-usr1, TERM exits 42. */
export const SIGNAL_LOOP_SH = 'trap "echo got-usr1" USR1; trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.2; done';

/**
 * Allocates and touches 64 MiB at once (dd's block buffer): OOM under a 32 MiB limit. The pause
 * first gives a monitor that watches the cgroup for OOM events (conmon) time to start watching.
 */
export const OOM_ARGS = ['sh', '-c', 'sleep 1; exec dd if=/dev/zero of=/dev/null bs=64M count=1'];

/** Shell-quote argv into one command line (for `script -c`). */
export function shellLine(argv) {
	return argv.map((s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Run a client command with a pseudo-terminal as its stdin/stdout (util-linux `script`), for the
 * clients that refuse -t without one (ctr). Output has the terminal's \r\n.
 */
export function runInPty(file, args, opts = {}) {
	return runCmd('script', ['-qefc', shellLine([file, ...args]), '/dev/null'], opts);
}

/**
 * A client command left running (an attached `ctr run`, `ctr events`): its output so far in
 * .output, waitOutput(re) polls for a match, done is its result.
 */
export function background(file, args, opts = {}) {
	const child = execa(file, args, { reject: false, stdin: 'ignore', all: true, env: opts.env, timeout: opts.timeoutMs ?? 120_000, forceKillAfterDelay: 2000 });
	const bg = { output: '', child, done: child };
	child.all.on('data', (d) => (bg.output += d));
	bg.waitOutput = (re, ms = 20_000) => waitFor(() => re.test(bg.output), ms, `output matching ${re} (so far: ${JSON.stringify(bg.output)})`);
	return bg;
}

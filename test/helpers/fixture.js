// The per-test fixture: a temp dir holding `root/` (the runtime's --root) and `bundle/` (a copy of
// the busybox rootfs and a generated config.json), unique container ids and cgroup paths, the
// runtime's commands run against them, and a cleanup registered with t.after (cleanup.js).
import { execa } from 'execa';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { baseConfig } from './base-config.js';
import { cgroupDirs } from './cgroups.js';
import { cleanupFixture } from './cleanup.js';
import { processStartTime } from './proc.js';
import { sharedRootfs } from './rootfs.js';
import { RUNTIME } from './runtime-under-test.js';
import { CGROUP_PARENT, RUN_PREFIX, TMP } from './test-run.js';
import { waitFor } from './wait.js';

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
	t.after(() => cleanupFixture(fx));
	await fsp.chmod(dir, 0o755);
	await fsp.mkdir(fx.root, { mode: 0o700 });
	await fsp.mkdir(fx.bundle, { mode: 0o755 });
	await execa('cp', ['-a', rootfs, fx.rootfs]);
	await fsp.rm(path.join(fx.rootfs, '.tsrun-rootfs-complete'), { force: true });
	fx.config = baseConfig({ args: opts.args ?? ['true'], cgroupsPath: fx.cgroupsPath });
	if (opts.config) await opts.config(fx.config, fx);
	return fx;
}

/** A created and started container running `sleep 1000`: { c, pid }. */
export async function setupRunning(t) {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const { pid } = await c.create();
	await c.start();
	return { c, pid };
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

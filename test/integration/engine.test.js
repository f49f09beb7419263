// The door (build/Release/tsrun) and the resident engine behind it (TSRUN_ENGINE=on): what a
// served call prints and exits with is what the in-process CLI gives; callers the engine must not
// serve (another mount namespace, another uid or umask, TSRUN_ENGINE=off) run in-process; the
// engine's socket, fds and cgroup; concurrent calls; an engine that dies mid-call; idle exit. Each
// test runs its own engine (TSRUN_ENGINE_DIR in its temp dir), stopped at the fixture's cleanup
// before its leak check. tsrun's own mechanism: nothing to compare with runc.
import { execa } from 'execa';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs } from '../helpers/cgroups.js';
import { enginePids, stopEngine } from '../helpers/engine.js';
import { setup } from '../helpers/fixture.js';
import { isAlive } from '../helpers/proc.js';
import { isTsrun } from '../helpers/runtime-under-test.js';
import { REPO, needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const DOOR = path.join(REPO, 'build/Release/tsrun');
const opts = { skip: needsRoot || (!isTsrun && "tsrun's own engine") || (!fs.existsSync(DOOR) && 'door not built'), timeout: 120_000 };
const SERVED = /served by the resident engine/;
const O_CLOEXEC = 0o2000000;

/** An engine of the test's own: its dir, the door's env, its pid; stopped at the fixture's cleanup. */
function engineOf(c, extraEnv = {}) {
	const dir = c.path('engine');
	const env = { TSRUN_ENGINE: 'on', TSRUN_ENGINE_DIR: dir, ...extraEnv };
	let doorCalls = 0;
	const pids = () => enginePids(dir);
	const engine = {
		dir,
		env,
		pids,
		socket: () => fs.readdirSync(dir).find((f) => f.endsWith('.sock')),
		/**
		 * The door with args, as the test's caller (--root added). o.detached: its stdout and stderr go
		 * to a file (a detached container inherits them and would hold a pipe open), read back after.
		 */
		async door(args, o = {}) {
			const file = o.detached ? c.path(`door-${++doorCalls}.out`) : undefined;
			const out = file ? fs.openSync(file, 'w') : undefined;
			try {
				const r = await execa(o.prefix?.[0] ?? DOOR, [...(o.prefix ? [...o.prefix.slice(1), DOOR] : []), '--root', c.root, ...args], {
					env: { ...env, ...o.env },
					reject: false,
					cwd: c.dir,
					input: o.input,
					stdio: out === undefined ? undefined : ['ignore', out, out],
					timeout: 30_000,
				});
				return file ? { ...r, stdout: '', stderr: fs.readFileSync(file, 'utf8') } : r;
			} finally {
				if (out !== undefined) fs.closeSync(out);
			}
		},
		/** once a call is served (the first call starts the engine; a killed one's socket may linger) */
		async started() {
			await waitFor(async () => SERVED.test((await this.door(['--debug', 'list'])).stderr) && this.pids().length === 1, 15_000, 'engine serving');
			return this.pids()[0];
		},
	};
	c.defer(() => stopEngine(dir));
	return engine;
}

/** The same command in-process (node bin/tsrun.cjs), for comparison. */
function inProcess(c, args, o = {}) {
	return execa(process.execPath, [path.join(REPO, 'bin/tsrun.cjs'), '--root', c.root, ...args], { reject: false, cwd: c.dir, input: o.input });
}

test('engine: start, state, list, ps, pause, resume, update, kill and delete through the door print and exit as in-process', opts, async (t) => {
	const c = await setup(t);
	const engine = engineOf(c);
	c.sh('sleep 600');
	const { pid } = await c.create();
	await engine.started();
	const started = await engine.door(['--debug', 'start', c.id]);
	assert.equal(started.exitCode, 0, started.stderr);
	assert.match(started.stderr, SERVED);
	assert.equal((await c.state()).status, 'running');
	for (const args of [['state', c.id], ['list', '--format', 'json'], ['list'], ['ps', '--format', 'json', c.id], ['state', 'no-such'], ['kill', 'no-such'], ['features']]) {
		const [served, local] = [await engine.door(['--debug', ...args]), await inProcess(c, args)];
		assert.match(served.stderr, SERVED, `${args.join(' ')} served by the engine: ${served.stderr}`);
		assert.equal(served.exitCode, local.exitCode, args.join(' '));
		assert.equal(served.stdout, local.stdout, args.join(' '));
		const errors = (text) => text.replace(/time="[^"]+" /g, '').split('\n').filter((l) => /level=error/.test(l));
		assert.deepEqual(errors(served.stderr), errors(local.stderr), args.join(' '));
	}
	const table = await engine.door(['ps', c.id]);
	assert.match(table.stdout, new RegExp(`^\\S+\\s+${pid}\\s`, 'm'), 'ps(1) row of the init');
	assert.equal((await engine.door(['pause', c.id])).exitCode, 0);
	assert.equal((await c.state()).status, 'paused');
	assert.equal((await engine.door(['resume', c.id])).exitCode, 0);
	assert.equal((await c.state()).status, 'running');
	// update --resources - reads the caller's stdin, through the fd the door sent
	const upd = await engine.door(['--debug', 'update', '--resources', '-', c.id], { input: JSON.stringify({ pids: { limit: 77 } }) });
	assert.equal(upd.exitCode, 0, upd.stderr);
	assert.match(upd.stderr, SERVED);
	const limit = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^\d+:pids:(.*)$/m)?.[1];
	if (limit !== undefined) assert.equal(fs.readFileSync(`/sys/fs/cgroup/pids${limit}/pids.max`, 'utf8').trim(), '77');
	assert.equal((await engine.door(['kill', c.id, 'KILL'])).exitCode, 0);
	await waitFor(() => !isAlive(pid), 10_000, 'init killed by the served kill');
	const del = await engine.door(['--debug', 'delete', c.id]);
	assert.equal(del.exitCode, 0, del.stderr);
	assert.match(del.stderr, SERVED);
	assert.ok(!fs.existsSync(path.join(c.root, c.id)), 'state dir removed');
});

test('engine: run and exec are served, and what they start is the caller\'s own: the init a descendant of the door, the hooks its children in its cgroup', opts, async (t) => {
	const c = await setup(t);
	const engine = engineOf(c);
	await engine.started();
	const hookOut = c.path('hook');
	// the hook's parent and cgroup, as the kernel shows them
	c.config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `{ echo "PPid: $PPID"; cat /proc/self/cgroup; } > ${hookOut}`] }] };
	c.sh('echo ready; sleep 600');
	await c.writeConfig();
	c.ids.add(c.id);
	const run = execa(DOOR, ['--root', c.root, '--debug', 'run', '--bundle', c.bundle, c.id], { env: engine.env, reject: false, cwd: c.dir });
	const st = await c.waitStatus('running');
	const parentOf = (pid) => Number(/^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
	// the init's parent is the tsrun-init that stays with a foreground process, the door's child
	assert.equal(parentOf(parentOf(st.pid)), run.pid, 'the init descends from the door');
	const hook = fs.readFileSync(hookOut, 'utf8');
	assert.equal(Number(/^PPid:\s+(\d+)$/m.exec(hook)[1]), run.pid, 'the hook is the door\'s child');
	const cgroupLines = (text) => text.split('\n').filter((l) => /^\d+:/.test(l)).sort();
	assert.deepEqual(cgroupLines(hook), cgroupLines(fs.readFileSync('/proc/self/cgroup', 'utf8')), 'the hook is in the caller\'s cgroups');
	assert.doesNotMatch(hook, /tsrun-engine/);

	const exec = await engine.door(['--debug', 'exec', c.id, 'sh', '-c', 'echo exec-out; exit 5']);
	assert.equal(exec.exitCode, 5, exec.stderr);
	assert.equal(exec.stdout, 'exec-out'); // execa drops the final newline
	assert.match(exec.stderr, SERVED);
	await c.kill(c.id, 'KILL');
	const r = await run;
	assert.equal(r.exitCode, 137, r.stderr);
	assert.match(r.stdout, /^ready/);
	assert.match(r.stderr, SERVED);
	assert.deepEqual([...(await c.listedIds())], [], 'the foreground run deleted its container');
});

test('engine: nothing accumulates over many served calls: its open fds are what they were', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const engine = engineOf(c);
	const enginePid = await engine.started();
	const fds = () => fs.readdirSync(`/proc/${enginePid}/fd`).length;
	const hookOut = c.path('hooks');
	const hook = { path: '/bin/sh', args: ['sh', '-c', `cat >> ${hookOut}`] };
	c.config.hooks = { prestart: [hook], poststart: [hook], poststop: [hook] };
	await c.writeConfig();
	c.ids.add(c.id);
	const ok = async (args) => {
		const r = await engine.door(['--debug', ...args], { detached: args[0] === 'run' || args.includes('--detach') });
		assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
		assert.match(r.stderr, SERVED, args.join(' '));
	};
	// one round first: whatever the engine loads or opens once is not a leak
	const round = async (i) => {
		const id = `${c.id}-${i}`;
		c.ids.add(id);
		await ok(['run', '--detach', '--bundle', c.bundle, id]);
		await ok(['exec', id, 'true']);
		await ok(['exec', '--detach', id, 'true']);
		await ok(['pause', id]);
		await ok(['resume', id]);
		await ok(['kill', id, 'KILL']);
		await waitFor(async () => JSON.parse((await engine.door(['state', id])).stdout).status === 'stopped', 10_000, 'stopped');
		await ok(['delete', id]);
	};
	await round(0);
	const before = fds();
	for (let i = 1; i <= 5; i++) await round(i);
	assert.equal(fds(), before, `the engine's fds: ${fs.readdirSync(`/proc/${enginePid}/fd`).map((fd) => { try { return fs.readlinkSync(`/proc/${enginePid}/fd/${fd}`); } catch { return '?'; } }).join(' ')}`);
	assert.equal(fs.readFileSync(hookOut, 'utf8').split('"ociVersion"').length - 1, 18, 'every hook ran');
});

test('engine: its socket is 0600 in a 0700 dir, every fd it holds is close-on-exec, and it has a cgroup of its own', opts, async (t) => {
	const c = await setup(t);
	const engine = engineOf(c);
	const pid = await engine.started();
	assert.equal(fs.statSync(engine.dir).mode & 0o777, 0o700);
	const sock = fs.statSync(path.join(engine.dir, engine.socket()));
	assert.ok(sock.isSocket());
	assert.equal(sock.mode & 0o777, 0o600);
	// a call leaves nothing open behind: the fds it was sent are closed after the reply
	await engine.door(['state', 'no-such']);
	const fds = fs.readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => fd > 2);
	for (const fd of fds) {
		const flags = Number.parseInt(/^flags:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))[1], 8);
		assert.ok(flags & O_CLOEXEC, `engine fd ${fd} (${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}) is close-on-exec`);
	}
	const ours = fs.readFileSync('/proc/self/cgroup', 'utf8');
	const its = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
	assert.ok(its.length > 0 && its.every((l) => l.endsWith('/tsrun-engine')), `engine cgroups: ${its.join(', ')} (ours: ${ours})`);
});

test('engine: a caller in another mount namespace, another uid or umask, or with TSRUN_ENGINE=off runs in-process', opts, async (t) => {
	const c = await setup(t);
	const engine = engineOf(c);
	await engine.started();
	const served = await engine.door(['--debug', 'list']);
	assert.match(served.stderr, SERVED);
	const cases = [
		['unshare -m', { prefix: ['unshare', '-m'] }],
		['uid 65534', { prefix: ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'] }],
		['umask 077', { prefix: ['sh', '-c', 'umask 077; exec "$0" "$@"'] }],
		['TSRUN_ENGINE=off', { env: { TSRUN_ENGINE: 'off' } }],
	];
	for (const [what, o] of cases) {
		const r = await engine.door(['--debug', 'list'], o);
		assert.doesNotMatch(r.stderr, SERVED, what);
		// in-process --debug shows Node's phases: the call ran there
		assert.match(r.stderr, /phase main/, `${what}: ran in-process: ${r.stderr}`);
	}
});

test('engine: an engine killed half-way through a create fails that create, and delete --force leaves nothing of it', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const engine = engineOf(c);
	const enginePid = await engine.started();
	const marker = c.path('hook-pid');
	c.config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${marker}.tmp && mv ${marker}.tmp ${marker}; exec sleep 30`] }] };
	await c.writeConfig();
	c.ids.add(c.id);
	const create = engine.door(['create', '--bundle', c.bundle, c.id]);
	await waitFor(() => fs.existsSync(marker), 20_000, 'the createRuntime hook running');
	const during = await c.state();
	assert.equal(during.status, 'creating');
	assert.ok(isAlive(during.pid), 'the init exists while its create runs');
	process.kill(enginePid, 'SIGKILL');
	const r = await create;
	assert.equal(r.exitCode, 1);
	assert.match(r.stderr, /the tsrun engine exited during the call/);
	process.kill(Number(fs.readFileSync(marker, 'utf8')), 'SIGKILL'); // the hook, the door's child, outlives it
	assert.equal((await c.state()).status, 'stopped', 'a create whose engine died is not "creating"');
	await c.delete(c.id, { force: true });
	await waitFor(() => !isAlive(during.pid), 10_000, 'the init gone');
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
	assert.equal(fs.existsSync(path.join(c.root, c.id)), false, 'the state dir gone');
});

test('engine: a call waiting for a container lock does not stall others; an engine killed mid-call fails that call, changes nothing, and the next call is served again', opts, async (t) => {
	const c = await setup(t);
	const engine = engineOf(c);
	c.sh('sleep 600');
	const { pid } = await c.create();
	const enginePid = await engine.started();
	// hold the container's lock as another tsrun would
	const holder = execa('flock', ['--exclusive', '--no-fork', path.join(c.root, c.id), 'sleep', '600'], { reject: false });
	const ino = fs.statSync(path.join(c.root, c.id)).ino;
	await waitFor(() => fs.readFileSync('/proc/locks', 'utf8').includes(`:${ino} `), 5000, 'lock held');
	const waiting = engine.door(['--debug', 'kill', c.id, 'KILL']);
	// the engine answers others meanwhile
	for (let i = 0; i < 5; i++) {
		const st = await engine.door(['--debug', 'state', c.id]);
		assert.equal(st.exitCode, 0);
		assert.match(st.stderr, SERVED);
	}
	assert.ok(isAlive(pid), 'kill still waits for the lock');
	process.kill(enginePid, 'SIGKILL');
	await waitFor(() => !isAlive(enginePid), 5000);
	const r = await waiting;
	// a served call is never run a second time in-process: its first run may have done part of it
	assert.equal(r.exitCode, 1, r.stderr);
	assert.match(r.stderr, /the tsrun engine exited during the call/);
	holder.kill('SIGKILL');
	await holder;
	assert.ok(isAlive(pid), 'the kill that waited for the lock never ran');
	assert.equal((await c.state()).status, 'created');
	// the next door finds no engine and starts one; the call after is served by it
	await engine.started();
	const again = await engine.door(['--debug', 'kill', c.id, 'KILL']);
	assert.equal(again.exitCode, 0, again.stderr);
	assert.match(again.stderr, SERVED);
	await waitFor(() => !isAlive(pid), 10_000, 'init killed by the served kill');
});

test('engine: it exits after its idle time and removes its socket; the next call starts it again', opts, async (t) => {
	const c = await setup(t);
	const engine = engineOf(c, { TSRUN_ENGINE_IDLE_MS: '2000' });
	const first = await engine.started();
	await waitFor(() => !isAlive(first) && engine.socket() === undefined, 15_000, 'idle engine gone with its socket');
	const second = await engine.started();
	assert.notEqual(second, first);
});

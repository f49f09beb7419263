// process.terminal: the pty the init allocates inside the container, handed over a console socket
// (create --console-socket, as containerd and podman do) or kept by a foreground `run`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fdsAfterExec } from '../helpers/fds.js';
import { setup } from '../helpers/fixture.js';
import { isTsrun, notOnRunc } from '../helpers/runtime-under-test.js';
import { isRoot, REPO } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: !isRoot && 'needs root' };
/** `run` in the foreground with a terminal: runc 1.1 wants the caller's own /dev/tty for it. */
const foregroundPty = { ...opts, skip: opts.skip || (!isTsrun && 'runc 1.1 needs /dev/tty for a foreground terminal') };

test('run: terminal true in the foreground gives the process a pty as its stdio and returns its status', { ...opts, skip: opts.skip || notOnRunc('run -t in the foreground opens the caller\'s /dev/tty, which the test runner has not') }, async (t) => {
	const c = await setup(t);
	c.config.process.terminal = true;
	c.sh('tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; readlink /dev/console >/dev/null 2>&1; ls -l /dev/console; exit 3');
	const r = await c.runFg({ expectExit: 3 });
	assert.match(r.stdout, /^\/dev\/pts\/0\r?$/m);
	assert.match(r.stdout, /all-ttys/);
	assert.match(r.stdout, /^c.* 136, +0 .*\/dev\/console/m, 'the pty is bound on /dev/console');
});

test('create: --console-socket receives the pty master; the container writes to it', { ...opts, skip: opts.skip || (!isTsrun && 'uses tsrun\'s addon to receive the fd') }, async (t) => {
	const require = createRequire(import.meta.url);
	const native = require(`${REPO}/build/Release/tsrun_native.node`);
	const c = await setup(t);
	c.config.process.terminal = true;
	c.sh('echo through-the-pty; sleep 1');
	const sock = c.path('console.sock');
	const master = native.receiveFd(sock, 20_000);
	await c.create({ args: ['--console-socket', sock] });
	const fd = await master;
	t.after(() => fs.closeSync(fd));
	await c.start();
	let out = '';
	const buf = Buffer.alloc(4096);
	const deadline = Date.now() + 10_000;
	while (!out.includes('through-the-pty') && Date.now() < deadline) {
		try {
			const n = fs.readSync(fd, buf);
			if (n === 0) break;
			out += buf.toString('utf8', 0, n);
		} catch (err) {
			if (err.code !== 'EAGAIN') throw err;
		}
	}
	assert.match(out, /through-the-pty/);
});

/** A console socket in the test dir served by tsrun's addon (any runtime may send to it); closes the master at cleanup. */
function consoleSocket(c, t, name = 'console.sock') {
	const require = createRequire(import.meta.url);
	const native = require(`${REPO}/build/Release/tsrun_native.node`);
	const path = c.path(name);
	const master = native.receiveFd(path, 20_000);
	t.after(async () => fs.closeSync(await master));
	return { path, master };
}

test('create and exec -d with a terminal (--console-socket): the process holds only fds 0, 1 and 2, all the pty', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.process.terminal = true;
	const init = consoleSocket(c, t);
	const { pid } = await c.create({ args: ['--console-socket', init.path] });
	await init.master;
	await c.start();
	const inInit = await fdsAfterExec(pid);
	assert.deepEqual([...inInit.keys()].sort(), [0, 1, 2], `init: ${[...inInit]}`);
	assert.ok([...inInit.values()].every((target) => /^\/dev\/pts\/\d+$/.test(target)), `init: ${[...inInit]}`);
	const ex = consoleSocket(c, t, 'exec-console.sock');
	await c.run(['exec', '--tty', '--detach', '--console-socket', ex.path, '--pid-file', c.path('exec.pid'), c.id, 'sleep', '1000'], { detached: true });
	await ex.master;
	const inExec = await fdsAfterExec(Number(fs.readFileSync(c.path('exec.pid'), 'utf8')));
	assert.deepEqual([...inExec.keys()].sort(), [0, 1, 2], `exec -t: ${[...inExec]}`);
	assert.ok([...inExec.values()].every((target) => /^\/dev\/pts\/\d+$/.test(target)), `exec -t: ${[...inExec]}`);
});

test('run -t and exec -t in the foreground: the process holds only fds 0, 1 and 2', { ...opts, skip: opts.skip || notOnRunc('run -t and exec -t in the foreground open the caller\'s /dev/tty, which the test runner has not') }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.process.terminal = true;
	await c.writeConfig();
	const fg = c.run(['run', '--bundle', c.bundle, c.id], { detached: true, expectExit: null, timeoutMs: 60_000 });
	const { pid } = await c.waitStatus('running');
	const inRun = await fdsAfterExec(pid);
	assert.deepEqual([...inRun.keys()].sort(), [0, 1, 2], `run -t: ${[...inRun]}`);
	const ex = c.run(['exec', '--tty', '--pid-file', c.path('exec.pid'), c.id, 'sleep', '1000'], { detached: true, expectExit: null });
	await waitFor(() => fs.existsSync(c.path('exec.pid')) && fs.readFileSync(c.path('exec.pid'), 'utf8').trim(), 10_000, 'exec pid file');
	const execPid = Number(fs.readFileSync(c.path('exec.pid'), 'utf8'));
	const inExec = await fdsAfterExec(execPid);
	process.kill(execPid, 'SIGKILL');
	await ex;
	assert.deepEqual([...inExec.keys()].sort(), [0, 1, 2], `exec -t: ${[...inExec]}`);
	await c.kill(c.id, 'KILL');
	await fg;
});

test('create: terminal true without --console-socket is refused and leaves nothing', opts, async (t) => {
	const c = await setup(t);
	c.config.process.terminal = true;
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /console socket/);
	assert.deepEqual(fs.readdirSync(c.root), []);
});

test('run: process.consoleSize sizes the pty before the process starts', foregroundPty, async (t) => {
	const c = await setup(t);
	c.config.process.terminal = true;
	c.config.process.consoleSize = { height: 10, width: 110 };
	c.sh('stty size');
	const r = await c.runFg();
	assert.match(r.stdout, /^10 110\r?$/m);
});

test('run: the pty belongs to the process user', foregroundPty, async (t) => {
	const c = await setup(t);
	c.config.process.terminal = true;
	c.config.process.user = { uid: 1000, gid: 1000 };
	c.sh('stat -c "%u:%g" "$(tty)"');
	const r = await c.runFg();
	assert.match(r.stdout, /^1000:1000\r?$/m);
});

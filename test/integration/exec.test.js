// exec: a new process in a running container — its namespaces, cgroup, user, environment and exit
// status, as the kernel shows them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { cgroupDirs, cgroupProcs, isCgroupV1 } from '../helpers/cgroups.js';
import { fdNumbers, fdsAfterExec } from '../helpers/fds.js';
import { setup, setupRunning } from '../helpers/fixture.js';
import { SIGNAL_REPORTER, checkForwarding, foreground } from '../helpers/foreground.js';
import { isAlive, nsInode, parseStatus } from '../helpers/proc.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 60_000 };

test('exec: the process joins every namespace of the container and its cgroup', opts, async (t) => {
	const { c, pid } = await setupRunning(t);
	const pidFile = c.path('exec.pid');
	await c.run(['exec', '--detach', '--pid-file', pidFile, c.id, 'sleep', '1000'], { detached: true });
	const execPid = Number(fs.readFileSync(pidFile, 'utf8'));
	assert.ok(isAlive(execPid));
	for (const ns of ['pid', 'net', 'mnt', 'ipc', 'uts', 'cgroup']) {
		assert.equal(nsInode(execPid, ns), nsInode(pid, ns), `${ns} namespace`);
	}
	const [procsDir] = cgroupDirs(c.cgroupsPath).filter((d) => !isCgroupV1 || d.includes('/pids/'));
	assert.ok(cgroupProcs(procsDir).includes(execPid), 'in the container\'s cgroup');
	// delete --force takes the exec'd process along with the init
	await c.delete(c.id, { force: true });
	await waitFor(() => !isAlive(execPid), 10_000, 'exec process gone');
});

test('exec: in the foreground it returns the process\'s output and exit status', opts, async (t) => {
	const { c } = await setupRunning(t);
	const r = await c.run(['exec', c.id, 'sh', '-c', 'echo pid=$$; echo err >&2; exit 7'], { expectExit: 7 });
	assert.match(r.stdout, /^pid=\d+\n$/);
	assert.notEqual(r.stdout, 'pid=1\n', 'not the init');
	assert.equal(r.stderr, 'err\n');
});

test('exec: in the foreground the signals the runtime gets go to the exec\'d process, and its exit status is exec\'s', opts, async (t) => {
	const { c } = await setupRunning(t);
	await checkForwarding(assert, await foreground(c, ['exec', c.id, 'sh', '-c', SIGNAL_REPORTER], 'ready'));
});

test('exec: --env, --cwd and --user apply on top of the container\'s process', opts, async (t) => {
	const { c } = await setupRunning(t);
	const r = await c.run(['exec', '--env', 'FOO=bar', '--env', 'PATH=/bin', '--cwd', '/tmp', '--user', '1000:1000', c.id, 'sh', '-c', 'echo "$FOO $PATH $(pwd)"; cat /proc/self/status']);
	assert.match(r.stdout, /^bar \/bin \/tmp\n/);
	const st = parseStatus(r.stdout.slice(r.stdout.indexOf('\n') + 1));
	assert.match(st.Uid, /^1000\s+1000\s+1000\s+1000$/);
	assert.match(st.Gid, /^1000\s+1000\s+1000\s+1000$/);
});

test('exec: --env overrides a variable of the container\'s env: one entry, the last value (as runc)', opts, async (t) => {
	const { c } = await setupRunning(t);
	const r = await c.run(['exec', '--env', 'TERM=dumb', '--env', 'NEW=1', '--env', 'NEW=2', c.id, 'env']);
	const lines = r.stdout.split('\n');
	assert.deepEqual(lines.filter((l) => l.startsWith('TERM=')), ['TERM=dumb']);
	assert.deepEqual(lines.filter((l) => l.startsWith('NEW=')), ['NEW=2']);
	assert.ok(lines.some((l) => l.startsWith('PATH=/usr/local/sbin')), 'the container\'s PATH is kept');
});

test('exec: without HOME in the env, HOME is the exec user\'s passwd home; --env HOME wins (as runc)', opts, async (t) => {
	const { c } = await setupRunning(t);
	assert.ok(!c.config.process.env.some((e) => e.startsWith('HOME=')));
	const home = async (...flags) => (await c.run(['exec', ...flags, c.id, 'sh', '-c', 'echo "$HOME"'])).stdout;
	assert.equal(await home(), '/root\n');
	assert.equal(await home('--user', '1000:1000'), '/home/user\n');
	assert.equal(await home('--user', '4242'), '/\n', 'a uid /etc/passwd does not know: "/"');
	assert.equal(await home('--user', '1000:1000', '--env', 'HOME=/custom'), '/custom\n');
	const file = c.path('process.json');
	fs.writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo "$HOME"'], env: ['PATH=/bin'], cwd: '/', user: { uid: 1000, gid: 1000 } }));
	assert.equal((await c.run(['exec', '--process', file, c.id])).stdout, '/home/user\n', 'process.json too');
});

test('exec: a cwd the exec user cannot reach is entered before the user switch, as runc (--user 1000 in /root, --user 0 in a dir of uid 42)', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	fs.chmodSync(`${c.rootfs}/root`, 0o700);
	c.config.process.cwd = '/root';
	await c.create();
	await c.start();
	const r = await c.run(['exec', '--user', '1000:1000', c.id, 'sh', '-c', 'pwd; id -u']);
	assert.equal(r.stdout, '/root\n1000\n');
	// runc's own test (cwd.bats): the container's user owns a 0700 cwd, root without
	// CAP_DAC_OVERRIDE in its capabilities execs there.
	const d = await setup(t, { args: ['sleep', '1000'] });
	fs.mkdirSync(`${d.rootfs}/home/u42`);
	fs.chownSync(`${d.rootfs}/home/u42`, 42, 42);
	fs.chmodSync(`${d.rootfs}/home/u42`, 0o700);
	d.config.process.user = { uid: 42, gid: 42 };
	d.config.process.cwd = '/home/u42';
	await d.create();
	await d.start();
	const r0 = await d.run(['exec', '--user', '0', d.id, 'sh', '-c', 'pwd; id -u']);
	assert.equal(r0.stdout, '/home/u42\n0\n');
});

test('exec: the exec\'d process holds only fds 0, 1 and 2 (foreground and detached), with --preserve-fds 1 also fd 3', opts, async (t) => {
	const { c } = await setupRunning(t);
	const pidOf = async (name) => {
		const file = c.path(name);
		await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim(), 10_000, `${name} written`);
		return Number(fs.readFileSync(file, 'utf8'));
	};
	const fg = c.run(['exec', '--pid-file', c.path('fg.pid'), c.id, 'sleep', '1000'], { detached: true, expectExit: null });
	const fgPid = await pidOf('fg.pid');
	const inFg = await fdNumbers(fgPid);
	process.kill(fgPid, 'SIGKILL');
	await fg;
	assert.deepEqual(inFg.numbers, [0, 1, 2], `exec: ${inFg.described}`);
	await c.run(['exec', '--detach', '--pid-file', c.path('d.pid'), c.id, 'sleep', '1000'], { detached: true });
	const detached = await fdNumbers(await pidOf('d.pid'));
	assert.deepEqual(detached.numbers, [0, 1, 2], `exec -d: ${detached.described}`);
	fs.writeFileSync(c.path('kept'), 'kept\n');
	const kept = fs.openSync(c.path('kept'), 'r');
	const notPassed = fs.openSync(c.path('kept'), 'r');
	t.after(() => [kept, notPassed].forEach((fd) => fs.closeSync(fd)));
	await c.run(['exec', '--detach', '--preserve-fds', '1', '--pid-file', c.path('p.pid'), c.id, 'sleep', '1000'], { detached: true, extraFds: [kept, notPassed] });
	const preserved = await fdsAfterExec(await pidOf('p.pid'));
	assert.deepEqual([...preserved.keys()].sort(), [0, 1, 2, 3], `exec --preserve-fds 1: ${[...preserved]}`);
	assert.equal(preserved.get(3), c.path('kept'));
});

test('exec: --process takes a whole process.json (what containerd and podman send)', opts, async (t) => {
	const { c } = await setupRunning(t);
	const file = c.path('process.json');
	fs.writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo "$X $(pwd)"; grep NoNewPrivs /proc/self/status'], env: ['X=from-json', 'PATH=/bin'], cwd: '/etc', user: { uid: 0, gid: 0 }, noNewPrivileges: true }));
	const r = await c.run(['exec', '--process', file, c.id]);
	assert.match(r.stdout, /^from-json \/etc\nNoNewPrivs:\s+1\n$/);
});

test('exec: --tty gives the process a terminal', { ...opts, skip: opts.skip || notOnRunc('exec -t needs a controlling /dev/tty in the caller') }, async (t) => {
	const { c } = await setupRunning(t);
	const r = await c.run(['exec', '--tty', c.id, 'sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-a-tty']);
	assert.match(r.stdout, /^\/dev\/pts\/\d+\r?$/m);
	assert.match(r.stdout, /stdin-is-a-tty/);
});

test('exec: refused in a stopped container, and in a paused one without --ignore-paused', opts, async (t) => {
	const { c, pid } = await setupRunning(t);
	await c.run(['pause', c.id]);
	// exit 255 (as runc): apart from any status of the process itself
	const paused = await c.run(['exec', c.id, 'true'], { expectExit: 255 });
	assert.match(paused.stderr, /paused/);
	await c.run(['resume', c.id]);
	await c.kill(c.id, 'KILL');
	await waitFor(() => !isAlive(pid), 10_000, 'init gone');
	const stopped = await c.run(['exec', c.id, 'true'], { expectExit: 255 });
	assert.match(stopped.stderr, /stopped/);
});

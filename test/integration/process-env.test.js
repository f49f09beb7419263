// The process as runc sets it up, checked from inside and on the host: process.env (duplicates,
// HOME, PATH), the working directory and the rights it is entered with, and the fds it holds
// (preserved, socket activation, nothing of the runtime's).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fdNumbers, fdsAfterExec } from '../helpers/fds.js';
import { setup } from '../helpers/fixture.js';
import { needsRoot } from '../helpers/test-run.js';
import { inUserNamespace } from '../helpers/userns.js';

const opts = { skip: needsRoot, timeout: 60_000 };

test('run: env is exactly process.env', opts, async (t) => {
	const c = await setup(t);
	c.config.process.env = ['PATH=/bin:/sbin', 'FOO=bar baz', 'EMPTY='];
	const out = await c.inside('env');
	// The shell adds PWD, SHLVL; runc adds HOME from /etc/passwd when the config has none.
	const vars = out.trim().split('\n').filter((l) => !/^(PWD|SHLVL|_)=/.test(l)).sort();
	assert.deepEqual(vars.filter((v) => v !== 'HOME=/root'), ['EMPTY=', 'FOO=bar baz', 'PATH=/bin:/sbin']);
});

test('run: cwd is process.cwd (created if missing)', opts, async (t) => {
	const c = await setup(t);
	c.config.process.cwd = '/home/user';
	assert.equal(await c.inside('pwd'), '/home/user\n');
	c.config.process.cwd = '/new/work/dir';
	c.id = c.newId();
	assert.equal(await c.inside('pwd'), '/new/work/dir\n');
});

test('run: a cwd only the runtime can reach (/root, 0700) is entered before the user switch, as runc', opts, async (t) => {
	const c = await setup(t);
	c.config.process.user = { uid: 1000, gid: 1000 };
	c.config.process.cwd = '/root';
	fs.chmodSync(`${c.rootfs}/root`, 0o700);
	assert.equal(await c.inside('pwd; [ -r . ] || echo unreadable-for-the-user'), '/root\nunreadable-for-the-user\n');
});

/** A user namespace (0 → 100000) over a rootfs it owns, with `dir` owned by host uid `ownerUid`
 * and host gid 0, unmapped there: its root gets no CAP_DAC_OVERRIDE over it, only its owner may
 * enter it. */
async function usernsWithPrivateDir(t, dir, ownerUid) {
	const c = await setup(t);
	await inUserNamespace(c);
	fs.mkdirSync(`${c.rootfs}${dir}`);
	fs.chownSync(`${c.rootfs}${dir}`, ownerUid, 0);
	fs.chmodSync(`${c.rootfs}${dir}`, 0o700);
	c.config.process.user = { uid: 42, gid: 42 };
	c.config.process.cwd = dir;
	return c;
}

test('run: a cwd only the process user can reach is entered after the user switch, as runc', opts, async (t) => {
	const c = await usernsWithPrivateDir(t, '/work', 100042);
	assert.equal(await c.inside('pwd; id -u; ls -d .'), '/work\n42\n.\n');
});

test('run: a cwd neither the runtime nor the process user can reach is an error naming it', opts, async (t) => {
	const c = await usernsWithPrivateDir(t, '/work', 100043);
	c.sh('echo should-not-run');
	const r = await c.runFg({ expectExit: 'nonzero' });
	assert.doesNotMatch(r.stdout, /should-not-run/);
	assert.match(r.stderr, /chdir.*\/work.*permission denied/is);
});

test('create: --preserve-fds 1 passes fd 3 and closes every other host fd', opts, async (t) => {
	const c = await setup(t);
	const secret = c.path('passed-file');
	fs.writeFileSync(secret, 'through-fd-3\n');
	const fd = fs.openSync(secret, 'r');
	// A host fd that must not leak (it would be 4 in the runtime).
	const other = fs.openSync(c.path('not-passed'), 'w');
	t.after(() => {
		fs.closeSync(fd);
		fs.closeSync(other);
	});
	c.sh('cat <&3; ls /proc/self/fd');
	const r = await c.create({ args: ['--preserve-fds', '1'], run: { extraFds: [fd, other] } });
	await c.start();
	await c.waitStatus('stopped');
	const out = fs.readFileSync(r.outFile, 'utf8').split('\n');
	assert.equal(out[0], 'through-fd-3');
	const fds = out.slice(1).filter(Boolean).map(Number).sort((a, b) => a - b);
	// 0, 1, 2, 3 and the one `ls` opens for /proc/self/fd.
	assert.equal(fds.length, 5, `fds inside: ${fds}`);
	assert.deepEqual(fds.slice(0, 4), [0, 1, 2, 3]);
});

test('create: without --preserve-fds only 0, 1, 2 reach the container', opts, async (t) => {
	const c = await setup(t);
	const fd = fs.openSync(c.path('extra'), 'w');
	t.after(() => fs.closeSync(fd));
	c.sh('ls /proc/self/fd');
	const r = await c.create({ run: { extraFds: [fd] } });
	await c.start();
	await c.waitStatus('stopped');
	const fds = fs.readFileSync(r.outFile, 'utf8').split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
	assert.equal(fds.length, 4, `fds inside: ${fds}`);
	assert.deepEqual(fds.slice(0, 3), [0, 1, 2]);
});

test('run: the process holds only fds 0, 1 and 2, in the foreground and detached (run -d)', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await c.writeConfig();
	// In the foreground: the run keeps going while the host looks at the process.
	const fg = c.run(['run', '--bundle', c.bundle, c.id], { detached: true, expectExit: null, timeoutMs: 60_000 });
	const st = await c.waitStatus('running');
	const inFg = await fdNumbers(st.pid);
	assert.deepEqual(inFg.numbers, [0, 1, 2], `run: ${inFg.described}`);
	await c.kill(c.id, 'KILL');
	await fg;
	c.id = c.newId();
	await c.run(['run', '--detach', '--bundle', c.bundle, c.id], { detached: true });
	const detached = await fdNumbers((await c.state()).pid);
	assert.deepEqual(detached.numbers, [0, 1, 2], `run -d: ${detached.described}`);
});

test('run: with socket activation (LISTEN_FDS) and --preserve-fds, the process gets the listen fds, then the preserved ones, and nothing else (as runc)', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const files = ['listen-1', 'listen-2', 'kept', 'not-passed'].map((name) => {
		fs.writeFileSync(c.path(name), `${name}\n`);
		const fd = fs.openSync(c.path(name), 'r');
		t.after(() => fs.closeSync(fd));
		return fd;
	});
	// As systemd starts a socket-activated service: LISTEN_PID is the runtime's own pid.
	c.commandPrefix = ['sh', '-c', 'LISTEN_PID=$$ LISTEN_FDS=2 exec "$@"', 'sh'];
	await c.writeConfig();
	await c.run(['run', '--detach', '--preserve-fds', '1', '--bundle', c.bundle, c.id], { detached: true, extraFds: files });
	const { pid } = await c.state();
	const fds = await fdsAfterExec(pid);
	assert.deepEqual([...fds.keys()].sort(), [0, 1, 2, 3, 4, 5], `fds: ${[...fds]}`);
	assert.deepEqual([3, 4, 5].map((n) => fds.get(n)), [c.path('listen-1'), c.path('listen-2'), c.path('kept')]);
	const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
	assert.ok(env.includes('LISTEN_FDS=2') && env.includes('LISTEN_PID=1'), `env: ${env}`);
});

test('run: without HOME in process.env the process gets its passwd home (runc does this)', opts, async (t) => {
	const c = await setup(t);
	c.config.process.env = c.config.process.env.filter((e) => !e.startsWith('HOME='));
	c.config.process.user = { uid: 1000, gid: 1000 };
	assert.equal(await c.inside('echo "$HOME"'), '/home/user\n');
});

test('run: HOME from process.env is kept', opts, async (t) => {
	const c = await setup(t);
	c.config.process.env = [...c.config.process.env.filter((e) => !e.startsWith('HOME=')), 'HOME=/custom'];
	assert.equal(await c.inside('echo "$HOME"'), '/custom\n');
});

test('run: a name given twice in process.env is passed once, with its last value (as runc)', opts, async (t) => {
	const c = await setup(t);
	c.config.process.env = ['PATH=/bin:/sbin', 'FOO=first', 'BAR=x', 'FOO=last'];
	const out = await c.inside('env');
	assert.deepEqual(out.split('\n').filter((l) => l.startsWith('FOO=')), ['FOO=last']);
});

test('run: an empty HOME in process.env counts as none: the user\'s passwd home is set (as runc)', opts, async (t) => {
	const c = await setup(t);
	c.config.process.env = [...c.config.process.env, 'HOME='];
	c.config.process.user = { uid: 1000, gid: 1000 };
	assert.equal(await c.inside('echo "$HOME"; env | grep -c ^HOME='), '/home/user\n1\n');
});

test('run: without PATH in process.env a bare command name is not found (no default PATH, as runc); a path runs', opts, async (t) => {
	const c = await setup(t);
	c.config.process.env = ['TERM=xterm'];
	c.config.process.args = ['sh', '-c', 'echo ran'];
	const r = await c.runFg({ expectExit: 'nonzero' });
	assert.doesNotMatch(r.stdout, /ran/);
	assert.match(r.stderr, /exec: \\?"sh\\?": executable file not found in \$PATH/);
	c.id = c.newId();
	c.config.process.args = ['/bin/sh', '-c', 'echo ran'];
	assert.equal((await c.runFg()).stdout, 'ran\n');
});

test('create: a process.env entry without "=" is refused', opts, async (t) => {
	const c = await setup(t);
	c.config.process.env = [...c.config.process.env, 'NOVALUE'];
	const r = await c.create({ expectExit: 'nonzero' });
	assert.match(r.stderr, /invalid environment.*NOVALUE/);
});


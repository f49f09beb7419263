// Container escapes, each test written as the attack itself: a malicious bundle, rootfs, hook or
// a process racing the runtime, then a check of the host (its processes, files, namespaces,
// sysctls), not only of the runtime's exit status. README "Attack classes tsrun defends against"
// lists the classes and the test of each.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { mountsUnder } from '../helpers/cleanup.js';
import { setup } from '../helpers/fixture.js';
import { nsInode } from '../helpers/proc.js';
import { isRunc, isTsrun, notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 60_000 };

const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`);

/** A user namespace mapping the container's root to host uid/gid 100000, the rootfs theirs. */
async function inUserNamespace(c) {
	c.config.linux.namespaces.push({ type: 'user' });
	c.config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
	c.config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
	c.config.mounts = c.config.mounts.filter((m) => !['/sys', '/sys/fs/cgroup'].includes(m.destination));
	await execa('chown', ['-R', '100000:100000', c.rootfs]);
}

/** A long-lived helper process (unshare, sleep), killed at cleanup. Resolves once it printed `ready`. */
async function holder(c, argv, ready = 'ready') {
	const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
	c.defer(async () => {
		p.kill('SIGKILL');
		await new Promise((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve() : p.once('exit', resolve)));
	});
	let out = '';
	let err = '';
	p.stdout.on('data', (d) => (out += d));
	p.stderr.on('data', (d) => (err += d));
	await waitFor(() => out.includes(ready) || p.exitCode !== null, 10_000, `${argv.join(' ')} ready`);
	assert.ok(p.exitCode === null, `${argv.join(' ')} exited: ${err}`);
	return p;
}

// --- 1. the caller's process group -------------------------------------------------------------

test('run: a container process that kills process group 0 does not kill the shell that ran the runtime', opts, async (t) => {
	const c = await setup(t);
	c.sh('kill -9 0; sleep 1');
	await c.writeConfig();
	c.ids.add(c.id);
	const cmd = c.commandLine(['run', '--bundle', c.bundle, c.id]).map(shellQuote).join(' ');
	// A session and process group of their own, as a login shell has: the container must not be in it.
	const r = await execa('setsid', ['--wait', 'bash', '-c', `${cmd} >/dev/null 2>&1; echo survived`], { reject: false, timeout: 30_000 });
	assert.match(r.stdout, /survived/, `the calling shell was killed (${r.signal ?? r.exitCode})`);
});

test('exec: a process that kills process group 0 does not kill the shell that ran exec', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await c.create();
	await c.start();
	const cmd = c.commandLine(['exec', c.id, 'sh', '-c', 'kill -9 0; sleep 1']).map(shellQuote).join(' ');
	const r = await execa('setsid', ['--wait', 'bash', '-c', `${cmd} >/dev/null 2>&1; echo survived`], { reject: false, timeout: 30_000 });
	assert.match(r.stdout, /survived/, `the calling shell was killed (${r.signal ?? r.exitCode})`);
	assert.equal((await c.state()).status, 'running');
});

// --- 7. a dumpable stage 0 in the container's user namespace ------------------------------------

test('exec: the container\'s root cannot read the fds, cwd or environ of the runtime process that joined its user namespace', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await inUserNamespace(c);
	// The host's pid namespace (so the joining process is visible) and the host's /proc.
	c.config.linux.namespaces = c.config.linux.namespaces.filter((n) => n.type !== 'pid');
	c.config.mounts = c.config.mounts.map((m) => (m.destination === '/proc' ? { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] } : m));
	const all = ['CAP_SYS_PTRACE', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_KILL', 'CAP_SETUID', 'CAP_SETGID'];
	for (const set of ['bounding', 'effective', 'permitted']) c.config.process.capabilities[set] = all;
	c.config.process.capabilities.ambient = [];
	await c.create();
	await c.start();
	// Every ancestor of the exec'd process up to the host's init: whichever joined our namespaces
	// must not give away its host cwd, fds or environment.
	const probe = [
		'p=$$',
		'while [ "$p" -gt 1 ]; do',
		'  p=$(sed -n "s/^PPid:[[:space:]]*//p" /proc/$p/status)',
		'  [ "$p" -gt 1 ] || break',
		'  echo "pid $p cwd=$(readlink /proc/$p/cwd 2>/dev/null) fds=$(ls /proc/$p/fd 2>/dev/null | wc -l) env=$(tr "\\0" " " </proc/$p/environ 2>/dev/null | wc -c)"',
		'done',
	].join('\n');
	const r = await c.run(['exec', c.id, 'sh', '-c', probe], { expectExit: null });
	const lines = r.stdout.split('\n').filter((l) => l.startsWith('pid '));
	assert.ok(lines.length > 0, r.stdout + r.stderr);
	for (const line of lines) assert.match(line, /cwd= fds=0 env=0$/, `an ancestor is readable from the container: ${line}`);
});

// --- 8. namespace paths resolved in a joined mount namespace -------------------------------------

test('create: namespace paths are all opened in the caller\'s mount namespace, not in a joined one', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const dir = c.path('ns');
	fs.mkdirSync(dir);
	const utsA = await holder(c, ['unshare', '--uts', 'sh', '-c', 'echo ready; exec sleep 1000']);
	const utsB = await holder(c, ['unshare', '--uts', 'sh', '-c', 'echo ready; exec sleep 1000']);
	// On the host, <dir>/uts leads to namespace A; in the mount namespace M the config also joins,
	// a tmpfs over <dir> holds a file of the same name bound to namespace B.
	fs.symlinkSync(`/proc/${utsA.pid}/ns/uts`, path.join(dir, 'uts'));
	const m = await holder(c, [
		'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
		`mount -t tmpfs secc-ns ${dir} && touch ${dir}/uts && mount --bind /proc/${utsB.pid}/ns/uts ${dir}/uts && echo ready && exec sleep 1000`,
	]);
	c.config.hostname = undefined;
	delete c.config.hostname;
	c.config.linux.namespaces = c.config.linux.namespaces.filter((n) => !['mount', 'uts'].includes(n.type));
	c.config.linux.namespaces.push({ type: 'mount', path: `/proc/${m.pid}/ns/mnt` }, { type: 'uts', path: path.join(dir, 'uts') });
	const r = await c.create({ expectExit: null });
	assert.equal(r.exitCode, 0, r.stderr);
	assert.equal(nsInode(r.pid, 'uts'), nsInode(utsA.pid, 'uts'), 'the uts namespace the path names on the host');
	assert.notEqual(nsInode(r.pid, 'uts'), nsInode(utsB.pid, 'uts'), 'not the one the joined mount namespace put there');
});

// --- 9. terminal: true in a user namespace ----------------------------------------------------

test('run: terminal true in a user namespace gets its pty (the console socket is reached with the caller\'s rights)', opts, async (t) => {
	const c = await setup(t);
	await inUserNamespace(c);
	c.config.process.terminal = true;
	c.sh('tty; id -u');
	const r = await c.runFg({ expectExit: null });
	assert.equal(r.exitCode, 0, r.stderr);
	assert.match(r.stdout, /^\/dev\/pts\/0\r?\n0\r?$/m);
});

// --- 12. /proc or /sys of the rootfs a symlink ---------------------------------------------------

for (const [dest, type] of [['/proc', 'proc'], ['/sys', 'sysfs']]) {
	test(`create: a rootfs whose ${dest} is a symlink is refused, and nothing is mounted where it points`, opts, async (t) => {
		const c = await setup(t);
		const rel = dest.slice(1);
		fs.rmSync(path.join(c.rootfs, rel), { recursive: true, force: true });
		fs.mkdirSync(path.join(c.rootfs, 'elsewhere'));
		fs.symlinkSync('/elsewhere', path.join(c.rootfs, rel));
		c.sh(`ls /elsewhere | wc -l`);
		const r = await c.create({ expectExit: null });
		assert.notEqual(r.exitCode, 0, `created a container with ${type} mounted through the symlink`);
		if (!isRunc) assert.match(r.stderr, new RegExp(`filesystem \\\\?"${type}\\\\?" must be mounted on ordinary directory`));
		assert.deepEqual(fs.readdirSync(path.join(c.rootfs, 'elsewhere')), [], 'nothing written where the symlink points');
		assert.deepEqual(mountsUnder(c.rootfs), [], 'no mount left under the rootfs');
	});
}

// --- rootfsPropagation: "unbindable" (a spec MUST) ----------------------------------------------

test('run: rootfsPropagation "unbindable" makes the container\'s / unbindable', { ...opts, skip: opts.skip || notOnRunc('binds the rootfs on itself after making it unbindable: EINVAL') }, async (t) => {
	const c = await setup(t);
	c.config.linux.rootfsPropagation = 'unbindable';
	const out = await c.inside('cat /proc/self/mountinfo');
	const root = out.split('\n').filter((l) => l.split(' ')[4] === '/').pop();
	assert.match(root, / unbindable /, root);
});



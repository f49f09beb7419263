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
import { inUserNamespace } from '../helpers/userns.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 60_000 };

const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`);

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

// --- 3. writes under /proc through whatever the container mounted there ----------------------------

/** A createContainer hook (run in the container's namespaces before pivot_root) running script. */
function createContainerHook(c, script) {
	c.config.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', script] }] };
}

test('create: a sysctl is written to the kernel, not to the host directory the config bound over /proc/sys/kernel', { ...opts, skip: opts.skip || notOnRunc('1.1.5 writes sysctls through the container\'s /proc/sys (CVE-2025-52881, fixed in 1.2.8)') }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const decoy = c.path('decoy-kernel');
	fs.mkdirSync(decoy);
	fs.writeFileSync(path.join(decoy, 'domainname'), 'host-file\n');
	c.config.mounts.push({ destination: '/proc/sys/kernel', type: 'bind', source: decoy, options: ['rbind'] });
	c.config.linux.sysctl = { 'kernel.domainname': 'secc-sysctl' };
	const r = await c.create({ expectExit: null });
	assert.equal(fs.readFileSync(path.join(decoy, 'domainname'), 'utf8'), 'host-file\n', 'the host file was written');
	assert.equal(r.exitCode, 0, r.stderr);
	const { stdout } = await execa('nsenter', ['-t', String(r.pid), '--uts', 'cat', '/proc/sys/kernel/domainname']);
	assert.equal(stdout.trim(), 'secc-sysctl', 'the container\'s uts namespace got the sysctl');
});

// --- 4. maskedPaths and the container's /dev/null ----------------------------------------------

for (const [what, script] of [
	['a symlink to a host file bound read-only', (c) => `rm -f ${c.rootfs}/dev/null && ln -s /hostro/victim ${c.rootfs}/dev/null`],
	['a regular file', (c) => `rm -f ${c.rootfs}/dev/null && echo fake > ${c.rootfs}/dev/null`],
	['missing', (c) => `rm -f ${c.rootfs}/dev/null`],
]) {
	const fixedIn = what !== 'a regular file' ? false : notOnRunc('1.1.5 bind-mounts whatever /dev/null is over masked files (CVE-2025-31133, fixed in 1.2.8)');
	test(`create: masked paths with a /dev/null that is ${what} fail; the masked file does not become a writable host file`, { ...opts, skip: opts.skip || fixedIn }, async (t) => {
		const c = await setup(t);
		const hostro = c.path('hostro');
		fs.mkdirSync(hostro);
		fs.writeFileSync(path.join(hostro, 'victim'), 'host data\n');
		c.config.mounts.push({ destination: '/hostro', type: 'bind', source: hostro, options: ['rbind', 'ro'] });
		c.config.linux.maskedPaths.push('/etc/masked-file');
		fs.writeFileSync(path.join(c.rootfs, 'etc/masked-file'), 'secret\n');
		createContainerHook(c, script(c));
		// If the mask were the host file, bound read-write: write through it.
		c.sh('echo pwned > /etc/masked-file; cat /etc/masked-file');
		const r = await c.runFg({ expectExit: null });
		assert.equal(fs.readFileSync(path.join(hostro, 'victim'), 'utf8'), 'host data\n', 'the read-only host file was written through the mask');
		assert.notEqual(r.exitCode, 0, `ran with a fake /dev/null: ${r.stdout}`);
		if (!isRunc) assert.match(r.stderr, /\/dev\/null/);
	});
}

test('run: a masked path that is a symlink masks what it points to inside the container', opts, async (t) => {
	const c = await setup(t);
	fs.writeFileSync(path.join(c.rootfs, 'etc/secret'), 'secret\n');
	fs.symlinkSync('/etc/secret', path.join(c.rootfs, 'etc/secret-link'));
	c.config.linux.maskedPaths.push('/etc/secret-link');
	const out = await c.inside('cat /etc/secret; echo end');
	assert.equal(out, 'end\n', 'the symlink\'s target is masked, not skipped');
});

// --- 5. /dev/console --------------------------------------------------------------------------

test('run: terminal true with /dev/console made a symlink by a hook fails, and the pty is not mounted where it points', { ...opts, skip: opts.skip || notOnRunc('1.1.5 mounts the pty through a /dev/console symlink (CVE-2025-52565, fixed in 1.2.8)') }, async (t) => {
	const c = await setup(t);
	c.config.process.terminal = true;
	const hostro = c.path('hostro');
	fs.mkdirSync(hostro);
	fs.writeFileSync(path.join(hostro, 'victim'), 'host data\n');
	c.config.mounts.push({ destination: '/hostro', type: 'bind', source: hostro, options: ['rbind', 'ro'] });
	createContainerHook(c, `rm -f ${c.rootfs}/dev/console && ln -s /hostro/victim ${c.rootfs}/dev/console`);
	c.sh('grep -c " /hostro/victim " /proc/self/mountinfo; exit 0');
	const r = await c.runFg({ expectExit: null });
	assert.notEqual(r.exitCode, 0, `the pty went through the symlink: ${r.stdout}`);
	assert.match(r.stderr, /\/dev\/console/);
	assert.equal(fs.readFileSync(path.join(hostro, 'victim'), 'utf8'), 'host data\n');
});

// --- 6. process.cwd through a magic link (CVE-2024-21626) -----------------------------------------

test('run: process.cwd /proc/self/fd/N never leads to a host directory the init holds', { ...opts, timeout: 180_000 }, async (t) => {
	for (let n = 3; n <= 12; n++) {
		const c = await setup(t);
		c.config.process.cwd = `/proc/self/fd/${n}`;
		// The root is read-only: a file can only be made if the cwd is outside the container.
		c.sh('touch secc-cwd-marker 2>/dev/null && echo WROTE; pwd');
		const r = await c.runFg({ expectExit: null });
		assert.doesNotMatch(r.stdout, /WROTE|unreachable/, `cwd fd ${n}: ${r.stdout}`);
		const found = await execa('find', [c.dir, '/run/tsrun', '-name', 'secc-cwd-marker'], { reject: false });
		assert.equal(found.stdout, '', `cwd fd ${n}: a marker on the host`);
	}
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

test('run: terminal true in a user namespace gets its pty (the console socket is reached with the caller\'s rights)', { ...opts, skip: opts.skip || notOnRunc('run -t in the foreground opens the caller\'s /dev/tty, which the test runner has not') }, async (t) => {
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

test('create --no-pivot: a process in a new user namespace cannot mount a fresh procfs that shows what masked paths hide', opts, async (t) => {
	// A new user, mount and pid namespace from inside the container: its copy of the mounts is
	// locked, so the kernel refuses a procfs unless one without locked mounts over its files is in
	// the namespace. The host's procfs below the chroot of --no-pivot is one, unless hidden.
	// An unprivileged user: it may map only itself, which needs no capability.
	const attack = 'unshare -U -m -p -f -r sh -c "mount -t proc proc /secc-proc && echo MOUNTED && wc -c < /secc-proc/timer_list"; echo done';
	const tryIt = async (args) => {
		const c = await setup(t);
		fs.mkdirSync(path.join(c.rootfs, 'secc-proc'));
		c.config.process.user = { uid: 1000, gid: 1000 };
		c.sh(attack);
		const r = await c.create({ args });
		await c.start();
		await c.waitStatus('stopped');
		return fs.readFileSync(r.outFile, 'utf8') + fs.readFileSync(r.errFile, 'utf8');
	};
	const pivoted = await tryIt([]);
	if (/unshare: unshare\(|Operation not permitted|Invalid argument/.test(pivoted) && !/mount:/.test(pivoted)) {
		t.skip(`no user namespace inside the container: ${pivoted.trim()}`);
		return;
	}
	assert.doesNotMatch(pivoted, /MOUNTED/, `control (pivot_root): ${pivoted}`);
	const out = await tryIt(['--no-pivot']);
	assert.match(out, /done/, out);
	assert.doesNotMatch(out, /MOUNTED/, `a fresh procfs was mounted: ${out}`);
});

// --- a config without a mount namespace (a spec MUST: valid) -------------------------------------

test('run: a config without a mount namespace runs, its mounts land below the rootfs only, and delete removes them', { ...opts, skip: opts.skip || notOnRunc('1.1.5 makes the host\'s / rslave without a mount namespace (prepareRoot) and leaves its mounts: not run on a shared host') }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.linux.namespaces = c.config.linux.namespaces.filter((n) => n.type !== 'mount');
	c.config.linux.maskedPaths = [];
	c.config.linux.readonlyPaths = [];
	c.config.root.readonly = false;
	c.config.mounts = c.config.mounts.filter((m) => ['/proc', '/dev', '/dev/pts'].includes(m.destination));
	const hostRoot = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
	// The host is shared: other mounts may come and go meanwhile; ours are the new ones below the test dir.
	const before = new Set(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[0]));
	await c.create();
	await c.start();
	await c.waitStatus('running');
	const mine = mountsUnder(c.rootfs);
	assert.ok(mine.length >= 3, `the container's mounts, in the caller's namespace: ${JSON.stringify(mine)}`);
	const after = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
	const strays = after.filter((l) => !before.has(l.split(' ')[0]) && l.includes(c.dir) && !l.split(' ')[4].startsWith(`${c.rootfs}/`));
	assert.deepEqual(strays, [], 'no mount outside the rootfs');
	assert.equal(after.find((l) => l.split(' ')[4] === '/'), hostRoot, 'the host\'s / untouched (propagation included)');
	const r = await c.run(['exec', c.id, 'true'], { expectExit: null });
	assert.notEqual(r.exitCode, 0, 'exec into a container without a mount namespace is refused (it could not enter its root)');
	await c.kill(c.id, 'KILL');
	await c.waitStatus('stopped');
	await c.delete();
	assert.deepEqual(mountsUnder(c.rootfs), [], 'delete removed the mounts');
});

test('create: without a mount namespace, masked paths or a read-only root are refused (they would change the host\'s mounts)', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.namespaces = c.config.linux.namespaces.filter((n) => n.type !== 'mount');
	const r = await c.create({ expectExit: null });
	assert.notEqual(r.exitCode, 0);
	assert.deepEqual(mountsUnder(c.rootfs), []);
});

// --- rootfsPropagation: "unbindable" (a spec MUST) ----------------------------------------------

test('run: rootfsPropagation "unbindable" makes the container\'s / unbindable', { ...opts, skip: opts.skip || notOnRunc('binds the rootfs on itself after making it unbindable: EINVAL') }, async (t) => {
	const c = await setup(t);
	c.config.linux.rootfsPropagation = 'unbindable';
	const out = await c.inside('cat /proc/self/mountinfo');
	const root = out.split('\n').filter((l) => l.split(' ')[4] === '/').pop();
	assert.match(root, / unbindable /, root);
});

// --- the waiting init stays small -------------------------------------------------------------

test('create: the init of a created container, with every defence above, stays within 1 MiB of RSS', { ...opts, skip: opts.skip || (!isTsrun && 'tsrun\'s own budget') }, async (t) => {
	const c = await setup(t, { args: ['true'] });
	c.config.linux.sysctl = { 'kernel.domainname': 'secc-rss' };
	const { pid } = await c.create();
	const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
	t.diagnostic(`VmRSS ${kb} kB`);
	assert.ok(kb > 0 && kb <= 1024, `VmRSS ${kb} kB`);
});

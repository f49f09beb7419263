// Rootless: the runtime run by an unprivileged user that this file creates (a unique name, its own
// /etc/subuid and /etc/subgid ranges, its XDG_RUNTIME_DIR; all removed after, also on failure),
// with the config the runtime's own `spec --rootless` writes. Every command runs as that user
// (setpriv, env -i); the checks read what the kernel shows from the host and from inside.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { setup } from '../helpers/fixture.js';
import { RootlessUser, rootlessSkipReason } from '../helpers/rootless-user.js';
import { isRunc, isTsrun, notOnRunc, RUNTIME } from '../helpers/runtime-under-test.js';
import { RUN_PREFIX } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const skip = rootlessSkipReason();

/** The mountinfo lines in a container's output, by mount point. */
function mountLines(stdout) {
	const lines = stdout.split('\n').filter((l) => / - /.test(l));
	const line = (dest) => lines.find((l) => l.split(' ')[4] === dest) ?? '';
	return { line, options: (dest) => line(dest).split(' ')[5] ?? '' };
}

/** No such process, or only its zombie (reaped by whoever it was reparented to). */
function gone(pid) {
	try {
		return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	} catch {
		return true;
	}
}
const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => fs.existsSync(p));
/** the runtime's dir under XDG_RUNTIME_DIR when no --root is given */
const stateDirName = isRunc ? 'runc' : RUNTIME.name;

describe('rootless', { skip }, () => {
	let user;
	before(async () => {
		user = await RootlessUser.create();
	});
	after(async () => {
		await user?.remove();
	});

	/** A fixture whose commands run as the user, its dir owned by it, config from `spec --rootless`. */
	async function rootless(t, script, edit) {
		const c = await setup(t);
		c.commandPrefix = user.prefix();
		await user.own(c.dir);
		fs.rmSync(path.join(c.bundle, 'config.json'), { force: true });
		await c.run(['spec', '--rootless', '--bundle', c.bundle], { noRoot: true });
		c.config = JSON.parse(fs.readFileSync(path.join(c.bundle, 'config.json'), 'utf8'));
		c.config.process.terminal = false;
		if (script !== undefined) c.sh(script);
		if (edit) edit(c.config, c);
		return c;
	}

	test('spec --rootless: root mapped to the caller, no network namespace, /sys bound, no resources, no uid=/gid= options', async (t) => {
		const c = await rootless(t);
		const ours = JSON.parse(fs.readFileSync(path.join(c.bundle, 'config.json'), 'utf8'));
		assert.deepEqual(ours.linux.uidMappings, [{ containerID: 0, hostID: user.uid, size: 1 }]);
		assert.deepEqual(ours.linux.gidMappings, [{ containerID: 0, hostID: user.gid, size: 1 }]);
		assert.equal(ours.linux.resources, undefined);
		assert.ok(!ours.linux.namespaces.some((n) => n.type === 'network'));
		assert.ok(ours.linux.namespaces.some((n) => n.type === 'user'));
		assert.deepEqual(ours.mounts.find((m) => m.destination === '/sys'), { source: '/sys', destination: '/sys', type: 'none', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
		for (const m of ours.mounts) assert.ok(!(m.options ?? []).some((o) => /^[ug]id=/.test(o)), `${m.destination} has no uid=/gid= option`);
	});

	test('spec --rootless: field by field runc\'s own, but for the version, the hostname and tsrun\'s cgroup namespace', { skip: !RUNC && 'runc is not installed (scripts/install-e2e-deps.sh installs it)' }, async (t) => {
		const c = await rootless(t);
		const ours = JSON.parse(fs.readFileSync(path.join(c.bundle, 'config.json'), 'utf8'));
		const dir = c.path('runc-spec');
		fs.mkdirSync(dir);
		await user.own(dir);
		await execa(user.prefix()[0], [...user.prefix().slice(1), RUNC, 'spec', '--rootless', '--bundle', dir]);
		const runc = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
		const comparable = (spec) => ({ ...spec, ociVersion: '', hostname: '', linux: { ...spec.linux, namespaces: spec.linux.namespaces.filter((n) => n.type !== 'cgroup') } });
		assert.deepEqual(comparable(ours), comparable(runc));
	});

	test('create, start, state, kill, delete: state in $XDG_RUNTIME_DIR without --root, the init runs as the user on the host and as root inside', async (t) => {
		const c = await rootless(t, 'cat /proc/self/uid_map /proc/self/gid_map > /tmp/maps; exec sleep 300');
		c.config.root.readonly = false;
		const noRoot = { noRoot: true };
		const xdgRoot = path.join(user.runtimeDir, stateDirName);
		c.defer(async () => {
			await c.run(['delete', '--force', c.id], { ...noRoot, expectExit: null });
		});
		await c.writeConfig();
		await c.run(['create', '--bundle', c.bundle, c.id], { ...noRoot, detached: true });
		const st = fs.statSync(xdgRoot);
		assert.equal(st.uid, user.uid);
		assert.equal(st.mode & 0o777, 0o700, `${xdgRoot} is 0700`);
		assert.ok(fs.existsSync(path.join(xdgRoot, c.id)));
		const state = JSON.parse((await c.run(['state', c.id], noRoot)).stdout);
		assert.equal(state.status, 'created');
		await c.run(['start', c.id], noRoot);
		await waitFor(() => fs.existsSync(path.join(c.rootfs, 'tmp/maps')) && fs.readFileSync(path.join(c.rootfs, 'tmp/maps'), 'utf8').split('\n').length > 2, 10_000, 'maps written');
		const maps = fs.readFileSync(path.join(c.rootfs, 'tmp/maps'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
		assert.deepEqual(maps, [[0, user.uid, 1], [0, user.gid, 1]]);
		const status = fs.readFileSync(`/proc/${state.pid}/status`, 'utf8');
		assert.match(status, new RegExp(`^Uid:\\s+${user.uid}\\s+${user.uid}\\s`, 'm'), 'the init is the user on the host');
		assert.notEqual(fs.readlinkSync(`/proc/${state.pid}/ns/user`), fs.readlinkSync('/proc/self/ns/user'), 'in a user namespace of its own');
		assert.equal(JSON.parse((await c.run(['state', c.id], noRoot)).stdout).status, 'running');
		assert.match((await c.run(['list', '-q'], noRoot)).stdout, new RegExp(`^${c.id}$`, 'm'));
		await c.run(['kill', c.id, 'KILL'], noRoot);
		await waitFor(async () => JSON.parse((await c.run(['state', c.id], noRoot)).stdout).status === 'stopped', 10_000, 'stopped');
		await c.run(['delete', c.id], noRoot);
		assert.ok(!fs.existsSync(path.join(xdgRoot, c.id)), 'the state dir is gone');
		await waitFor(() => gone(state.pid), 5000, `pid ${state.pid} gone`);
	});

	test('run: the exit status and output of the process come back; the rootfs is read-only', async (t) => {
		const c = await rootless(t, 'echo out; echo err >&2; id -u; touch /x 2>/dev/null || echo ro-root; exit 3');
		const r = await c.runFg({ expectExit: 3 });
		assert.match(r.stdout, /^out\n0\nro-root\n$/m);
		assert.match(r.stderr, /err/);
	});

	test('run: no --root and no XDG_RUNTIME_DIR is refused naming what to set', { skip: notOnRunc('runc 1.1.5 fails with "permission denied" on /run/runc, naming neither XDG_RUNTIME_DIR nor --root') }, async (t) => {
		const c = await rootless(t, 'true');
		c.commandPrefix = user.prefix({ XDG_RUNTIME_DIR: undefined });
		await c.writeConfig();
		const r = await c.run(['run', '--bundle', c.bundle, c.id], { noRoot: true, expectExit: 1 });
		assert.match(r.stderr, /XDG_RUNTIME_DIR is not set.*--root/);
		const bad = await c.run(['list'], { noRoot: true, expectExit: 1, ...{} });
		assert.match(bad.stderr, /XDG_RUNTIME_DIR/);
	});

	test('exec: a process joins the running container as its root, with its own exit status', async (t) => {
		const c = await rootless(t, 'exec sleep 300');
		const { pid } = await c.create();
		await c.start();
		const r = await c.run(['exec', c.id, 'sh', '-c', 'id -u; cat /proc/1/cmdline | tr "\\0" " "; exit 5'], { expectExit: 5 });
		assert.match(r.stdout, /^0\nsleep 300 $/m);
		const ns = (p, n) => fs.readlinkSync(`/proc/${p}/ns/${n}`);
		assert.notEqual(ns(pid, 'user'), ns('self', 'user'));
		await c.kill(c.id, 'KILL');
		await c.waitStatus('stopped');
		await c.delete();
	});

	test('run -t: the process gets a pty from a terminal the user holds', async (t) => {
		const c = await rootless(t, 'tty; [ -t 0 ] && [ -t 1 ] && echo ttys; exit 4');
		c.config.process.terminal = true;
		await c.writeConfig();
		const line = c.commandLine(['run', '--bundle', c.bundle, c.id]).slice(user.prefix().length).map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(' ');
		const r = await execa(user.prefix()[0], [...user.prefix().slice(1), 'script', '-qefc', line, '/dev/null'], { reject: false, timeout: 60_000, cwd: c.dir });
		assert.equal(r.exitCode, 4, r.stderr);
		assert.match(r.stdout, /\/dev\/pts\/0/);
		assert.match(r.stdout, /ttys/);
	});

	test('mounts: binds read-write and read-only, a tmpfs, device nodes bound from the host', async (t) => {
		const rw = path.join(user.home, `${RUN_PREFIX}rw`);
		const ro = path.join(user.home, `${RUN_PREFIX}ro`);
		t.after(() => {
			fs.rmSync(rw, { recursive: true, force: true });
			fs.rmSync(ro, { recursive: true, force: true });
		});
		for (const d of [rw, ro]) {
			fs.mkdirSync(d, { recursive: true });
			fs.writeFileSync(path.join(d, 'file'), 'host\n');
			await user.own(d);
		}
		const c = await rootless(t, [
			'echo inside > /mnt/rw/new && echo rw-ok',
			'cat /mnt/ro/file; touch /mnt/ro/new 2>/dev/null || echo ro-refused',
			'echo x > /mnt/tmp/f && echo tmpfs-ok',
			'echo > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c',
			'grep -E " /mnt/(ro|rw|tmp) | /dev/null " /proc/self/mountinfo',
		].join('; '), (cfg) => {
			cfg.mounts.push(
				{ destination: '/mnt/rw', type: 'bind', source: rw, options: ['rbind'] },
				{ destination: '/mnt/ro', type: 'bind', source: ro, options: ['rbind', 'ro'] },
				{ destination: '/mnt/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m'] },
			);
		});
		const r = await c.runFg();
		assert.match(r.stdout, /^rw-ok$/m);
		assert.equal(fs.readFileSync(path.join(rw, 'new'), 'utf8'), 'inside\n', 'written through to the host');
		assert.match(r.stdout, /^host\nro-refused$/m);
		assert.match(r.stdout, /^tmpfs-ok$/m);
		assert.match(r.stdout, /^null-ok\n\s*4$/m);
		const info = mountLines(r.stdout);
		assert.match(info.options('/mnt/ro'), /^ro\b/);
		assert.match(info.options('/mnt/rw'), /^rw\b/);
		assert.match(info.line('/dev/null'), / - devtmpfs /, "/dev/null is the host's node, bound");
		assert.ok(!fs.existsSync(path.join(ro, 'new')));
	});

	test('mounts: a read-only bind of a nosuid,nodev,noexec source keeps the flags the kernel locked', { skip: notOnRunc('runc 1.1.5 remounts without the locked flags and gets EPERM (later runc keeps them)') }, async (t) => {
		// a bind of it into the user's mount namespace has those flags locked: the ro remount must
		// carry them or the kernel refuses it
		const locked = path.join(user.base, 'locked');
		fs.mkdirSync(locked);
		await execa('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,size=1m', 'tsrun-rootless', locked]);
		t.after(async () => {
			await execa('umount', [locked], { reject: false });
			fs.rmSync(locked, { recursive: true, force: true });
		});
		fs.writeFileSync(path.join(locked, 'file'), 'host\n');
		await user.own(locked);
		const c = await rootless(t, 'cat /mnt/locked/file; touch /mnt/locked/new 2>/dev/null || echo ro-refused; grep " /mnt/locked " /proc/self/mountinfo', (cfg) => {
			cfg.mounts.push({ destination: '/mnt/locked', type: 'bind', source: locked, options: ['rbind', 'ro'] });
		});
		const r = await c.runFg();
		assert.match(r.stdout, /^host\nro-refused$/m);
		assert.match(mountLines(r.stdout).options('/mnt/locked'), /^ro,nosuid,nodev,noexec\b/);
	});

	test('masked and read-only paths: /proc/keys, /proc/timer_list and /sys/firmware hidden, /proc/sys read-only', async (t) => {
		const masked = ['/proc/keys', '/proc/timer_list'].filter((p) => fs.existsSync(p));
		const c = await rootless(t, [
			...masked.map((p) => `echo "${p} $(wc -c < ${p})"`),
			'echo "/sys/firmware $(ls /sys/firmware | wc -l)"',
			'echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sys-ro',
			'grep -E " /proc/(keys|timer_list|sys) " /proc/self/mountinfo',
		].join('; '));
		const r = await c.runFg();
		for (const p of [...masked, '/sys/firmware']) assert.match(r.stdout, new RegExp(`^${p} 0$`, 'm'), `${p} shows nothing`);
		assert.match(r.stdout, /^sys-ro$/m);
		const { line } = mountLines(r.stdout);
		assert.match(line('/proc/sys'), / ro,/);
		for (const p of masked) assert.ok(line(p), `${p} is covered`);
	});

	test('kill and delete --force: a running container goes with every process, nothing left in the state dir', async (t) => {
		const c = await rootless(t, 'trap "exit 0" TERM; sleep 300 & sleep 300 & wait');
		const { pid } = await c.create();
		await c.start();
		await c.kill(c.id, 'TERM');
		await c.waitStatus('stopped', c.id, 30_000);
		await c.delete();
		await waitFor(() => gone(pid), 20_000, `pid ${pid} gone`);
		const d = await rootless(t, 'exec sleep 300');
		const second = await d.create({ id: d.id });
		await d.start();
		await d.delete(d.id, { force: true });
		await waitFor(() => gone(second.pid), 20_000, `pid ${second.pid} gone`);
		assert.deepEqual(fs.readdirSync(d.root), []);
		await waitFor(() => user.processes().every(gone), 20_000, 'the user runs nothing any more').catch((err) => {
			const left = user.processes().filter((p) => !gone(p)).map((p) => `${p}: ${fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
			throw new Error(`${err.message}: ${left.join('; ')}`);
		});
	});

	test('id maps: a range from /etc/subuid and /etc/subgid goes through newuidmap/newgidmap', async (t) => {
		const c = await rootless(t, 'cat /proc/self/uid_map /proc/self/gid_map; stat -c "%u %g" /tmp/f', (cfg) => {
			cfg.root.readonly = false;
			cfg.linux.uidMappings = [{ containerID: 0, hostID: user.uid, size: 1 }, { containerID: 1, hostID: user.subuid.start, size: user.subuid.count }];
			cfg.linux.gidMappings = [{ containerID: 0, hostID: user.gid, size: 1 }, { containerID: 1, hostID: user.subgid.start, size: user.subgid.count }];
		});
		// owned on the host by the 1000th subordinate id: uid 1000 inside
		fs.writeFileSync(path.join(c.rootfs, 'tmp/f'), '');
		fs.chownSync(path.join(c.rootfs, 'tmp/f'), user.subuid.start + 999, user.subgid.start + 999);
		const r = await c.runFg();
		const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
		assert.deepEqual(lines.slice(0, 2), [[0, user.uid, 1], [1, user.subuid.start, user.subuid.count]]);
		assert.deepEqual(lines.slice(2, 4), [[0, user.gid, 1], [1, user.subgid.start, user.subgid.count]]);
		assert.deepEqual(lines[4], [1000, 1000]);
	});

	test('id maps: a range outside the user\'s /etc/subuid entry is refused, saying what newuidmap said', async (t) => {
		const c = await rootless(t, 'true', (cfg) => {
			cfg.linux.uidMappings = [{ containerID: 0, hostID: user.uid, size: 1 }, { containerID: 1, hostID: user.subuid.start + user.subuid.count, size: 1000 }];
		});
		const r = await c.runFg({ expectExit: 1 });
		assert.match(r.stderr, /newuidmap/);
		if (isTsrun) assert.match(r.stderr, /config\.json \/linux\/uidMappings: newuidmap .* refused the mapping/);
		assert.deepEqual(fs.readdirSync(c.root), []);
	});

	test('cgroups: without limits the container runs in the caller\'s cgroup; a limit that cannot be applied is refused naming it', async (t) => {
		const c = await rootless(t, 'cat /proc/self/cgroup');
		const r = await c.runFg();
		const own = fs.readFileSync('/proc/self/cgroup', 'utf8');
		assert.ok(r.stdout.trim().length > 0);
		if (isTsrun) assert.match(r.stderr, /rootless: no cgroup the user may write/);
		void own;
		const limited = await rootless(t, 'true', (cfg) => {
			cfg.linux.resources = { memory: { limit: 64 * 1024 * 1024 } };
		});
		const refused = await limited.runFg({ expectExit: 1 });
		assert.match(refused.stderr, /memory/);
		if (isTsrun) assert.match(refused.stderr, /\/linux\/resources\/memory/);
		assert.deepEqual(fs.readdirSync(limited.root), []);
	});

	test('--rootless false: cgroups the user may not write are an error again, as for root', async (t) => {
		const c = await rootless(t, 'true');
		await c.writeConfig();
		const r = await c.run(['--rootless', 'false', 'run', '--bundle', c.bundle, c.id], { expectExit: 1 });
		assert.match(r.stderr, /EACCES|permission denied/i);
		assert.match(r.stderr, /cgroup/);
		assert.deepEqual(fs.readdirSync(c.root), []);
	});

	test('refusals: an rlimit above the caller\'s hard limit and an oom_score_adj below its own fail naming the field', async (t) => {
		const hardNofile = Number(/^Max open files\s+\S+\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))[1]);
		const c = await rootless(t, 'true', (cfg) => {
			cfg.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: hardNofile + 1 }];
		});
		const r = await c.runFg({ expectExit: 1 });
		if (isTsrun) assert.match(r.stderr, /\/process\/rlimits\/0\/hard: RLIMIT_NOFILE hard limit/);
		else assert.match(r.stderr, /rlimit|operation not permitted/i);
		const own = Number(fs.readFileSync('/proc/self/oom_score_adj', 'utf8'));
		const o = await rootless(t, 'true', (cfg) => {
			cfg.process.oomScoreAdj = own - 1;
		});
		const refused = await o.runFg({ expectExit: 1 });
		if (isTsrun) assert.match(refused.stderr, /\/process\/oomScoreAdj/);
		else assert.match(refused.stderr, /oom_score_adj|permission denied/i);
		assert.deepEqual(fs.readdirSync(o.root), []);
	});

	test('refusals: additionalGids where the user namespace denies setgroups', { skip: notOnRunc('runc 1.1.5 silently leaves supplementary groups out when rootless') }, async (t) => {
		const c = await rootless(t, 'true', (cfg) => {
			cfg.process.user.additionalGids = [0];
		});
		const r = await c.runFg({ expectExit: 1 });
		assert.match(r.stderr, /\/process\/user\/additionalGids: .*setgroups is denied/);
	});

	test('refusals: a config without a user namespace names /linux/namespaces', async (t) => {
		const c = await rootless(t, 'true', (cfg) => {
			cfg.linux.namespaces = cfg.linux.namespaces.filter((n) => n.type !== 'user');
		});
		const r = await c.runFg({ expectExit: 1 });
		assert.match(r.stderr, /user namespace/);
		if (isTsrun) assert.match(r.stderr, /\/linux\/namespaces/);
	});

	test('sysfs: a sysfs mount without a network namespace of its own becomes the host\'s /sys, read-only', { skip: notOnRunc('runc 1.1.5 fails the sysfs mount with EPERM; the bind fallback came later') }, async (t) => {
		const c = await rootless(t, 'ls /sys/kernel >/dev/null && echo sys-ok; grep " /sys " /proc/self/mountinfo', (cfg) => {
			cfg.mounts = cfg.mounts.map((m) => (m.destination === '/sys' ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] } : m));
		});
		const r = await c.runFg();
		assert.match(r.stdout, /^sys-ok$/m);
		assert.match(r.stdout, / \/sys ro,nosuid,nodev,noexec.* - sysfs /);
	});
});

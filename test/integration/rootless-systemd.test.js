// Rootless under a systemd user session on cgroup v2: the runtime run by an unprivileged user that
// this file creates, whose user manager (user@UID.service, started here and stopped after) owns the
// subtree systemd delegates to it and serves the user's bus at /run/user/UID/bus. Checked: the
// cgroupfs driver's container cgroup in that subtree with the limits written there (and a limit the
// delegation does not hand on refused); `--systemd-cgroup` over the user's bus: a transient scope of
// the user's manager, in its user.slice, with the limits; the same from inside a user namespace as
// rootless podman calls its runtime (uid 0 there). What the kernel and the user's systemd show is
// read from the host. Needs systemd as PID 1 on pure v2 with dbus-user-session: the systemd qemu
// lane (scripts/vm/systemd-lane.sh) runs this file for tsrun and runc and fails if a test skips.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { setup } from '../helpers/fixture.js';
import { RootlessUser, rootlessSkipReason } from '../helpers/rootless-user.js';
import { isRunc, isTsrun, RUNTIME } from '../helpers/runtime-under-test.js';
import { waitFor } from '../helpers/wait.js';

const CG = '/sys/fs/cgroup';
const skip = rootlessSkipReason()
	|| (!fs.existsSync('/run/systemd/system') && 'systemd is not PID 1 here (no /run/systemd/system); scripts/vm/systemd-lane.sh runs these in a guest')
	|| (!fs.existsSync(path.join(CG, 'cgroup.controllers')) && 'not pure cgroup v2: a user\'s systemd instance delegates nothing on v1')
	|| (!fs.existsSync('/usr/lib/systemd/user/dbus.socket') && 'no user bus: dbus-user-session is not installed (scripts/vm/install-vm-deps.sh)')
	|| (!fs.existsSync('/usr/bin/systemd-run') && 'systemd-run is not installed');
/** the TCG guest of the systemd lane is slow, more so on a busy host */
const SLOW = 120_000;
const MiB64 = String(64 * 1024 * 1024);

describe('rootless under a systemd user session (cgroup v2)', { skip }, () => {
	let user;
	let busEnv;
	/** the user manager's own cgroup, e.g. /user.slice/user-1001.slice/user@1001.service */
	let managerCg;
	before(async () => {
		user = await RootlessUser.create();
		const runtimeDir = `/run/user/${user.uid}`;
		busEnv = { XDG_RUNTIME_DIR: runtimeDir, DBUS_SESSION_BUS_ADDRESS: `unix:path=${runtimeDir}/bus` };
		await execa('systemctl', ['start', `user@${user.uid}.service`], { timeout: SLOW });
		await waitFor(() => fs.existsSync(`${runtimeDir}/bus`), 30_000, 'the user bus');
		managerCg = `/user.slice/user-${user.uid}.slice/user@${user.uid}.service`;
		assert.ok(fs.existsSync(path.join(CG, managerCg)), `${managerCg} exists`);
	});
	after(async () => {
		if (user?.uid !== undefined) await execa('systemctl', ['stop', `user@${user.uid}.service`], { reject: false, timeout: SLOW });
		await user?.remove();
	});

	/** systemctl --user of the test user: `show` as an object */
	async function userShow(unit, ...props) {
		const r = await execa(user.prefix(busEnv)[0], [...user.prefix(busEnv).slice(1), 'systemctl', '--user', 'show', unit, ...props.map((p) => `--property=${p}`)], { reject: false });
		return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
	}

	/** A fixture whose commands run as the user with its bus, its config from `spec --rootless`, `sleep 300` with `resources`. */
	async function rootless(t, resources) {
		const c = await setup(t);
		c.commandPrefix = user.prefix(busEnv);
		await user.own(c.dir);
		fs.rmSync(path.join(c.bundle, 'config.json'), { force: true });
		await c.run(['spec', '--rootless', '--bundle', c.bundle], { noRoot: true });
		c.config = JSON.parse(fs.readFileSync(path.join(c.bundle, 'config.json'), 'utf8'));
		c.config.process.terminal = false;
		c.config.process.args = ['sleep', '300'];
		delete c.config.linux.cgroupsPath;
		if (resources) c.config.linux.resources = resources;
		return c;
	}

	/** The runtime as rootless podman runs it: inside a user namespace of the user's, as its uid 0, with no user namespace of the container's own. */
	function asInUserNamespace(c) {
		c.commandPrefix = [...user.prefix(busEnv), 'unshare', '--user', '--map-root-user', '--'];
		c.config.linux.namespaces = c.config.linux.namespaces.filter((n) => n.type !== 'user');
		delete c.config.linux.uidMappings;
		delete c.config.linux.gidMappings;
	}

	const cgroupOf = (pid) => fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().replace(/^0::/, '');
	const cgFile = (cg, name) => fs.readFileSync(path.join(CG, cg, name), 'utf8').trim();

	test('cgroupfs: a caller in the delegated subtree gets the container\'s cgroup beside its own, owned by it, with the limits written', async (t) => {
		const c = await rootless(t, { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 }, cpu: { quota: 50000, period: 100000 } });
		// each command in a scope of the user's manager: the caller's cgroup is in app.slice, the user's
		const inScope = [...user.prefix(busEnv), 'systemd-run', '--user', '--scope', '--quiet', '--'];
		c.commandPrefix = inScope;
		const { pid } = await c.create({ run: { timeoutMs: SLOW } });
		// runc's rule: no cgroupsPath is the id relative to the caller's cgroup, whose parent is taken (v2)
		const cg = cgroupOf(pid);
		assert.equal(cg, `${managerCg}/app.slice/${c.id}`);
		assert.equal(fs.statSync(path.join(CG, cg)).uid, user.uid, 'the user made it');
		assert.equal(cgFile(cg, 'memory.max'), MiB64);
		assert.equal(cgFile(cg, 'pids.max'), '50');
		assert.equal(cgFile(cg, 'cpu.max'), '50000 100000');
		await c.start(c.id, { timeoutMs: SLOW });
		assert.equal((await c.state()).status, 'running');
		c.commandPrefix = user.prefix(busEnv);
		await c.delete(c.id, { force: true, timeoutMs: SLOW });
		assert.ok(!fs.existsSync(path.join(CG, cg)), `${cg} removed`);
		assert.deepEqual(fs.readdirSync(c.root), []);
	});

	test('cgroupfs: a limit whose controller the delegation does not hand on (cpuset) is refused naming it; nothing left', async (t) => {
		const c = await rootless(t, { memory: { limit: 64 * 1024 * 1024 }, cpu: { cpus: '0' } });
		c.commandPrefix = [...user.prefix(busEnv), 'systemd-run', '--user', '--scope', '--quiet', '--'];
		const delegated = fs.readFileSync(path.join(CG, managerCg, 'cgroup.controllers'), 'utf8');
		assert.ok(!/\bcpuset\b/.test(delegated), `user@.service delegates no cpuset here (${delegated.trim()})`);
		const r = await c.runFg({ expectExit: 1, run: { timeoutMs: SLOW } });
		assert.match(r.stderr, /cpuset/);
		if (isTsrun) assert.match(r.stderr, /config\.json \/linux\/resources\/cpu\/cpus: cannot set this limit rootless: the \\?"cpuset\\?" controller is not delegated/);
		assert.ok(!fs.existsSync(path.join(CG, managerCg, 'app.slice', c.id)), 'no cgroup left');
		assert.deepEqual(fs.readdirSync(c.root), []);
	});

	/** create --systemd-cgroup, the unit checked while it lives (user's manager, its user.slice, the limits), update, then gone after delete */
	async function systemdLifecycle(c) {
		const unit = `${isRunc ? 'runc' : RUNTIME.name}-${c.id}.scope`;
		const unitCg = `${managerCg}/user.slice/${unit}`;
		const userPrefix = user.prefix(busEnv);
		c.defer(() => execa(userPrefix[0], [...userPrefix.slice(1), 'systemctl', '--user', 'stop', unit], { reject: false }));
		const { pid } = await c.create({ run: { global: ['--systemd-cgroup'], timeoutMs: SLOW } });
		const show = await userShow(unit, 'ActiveState', 'ControlGroup', 'Slice', 'Delegate', 'MemoryMax', 'TasksMax');
		assert.equal(show.ActiveState, 'active');
		assert.equal(show.ControlGroup, unitCg);
		assert.equal(show.Slice, 'user.slice');
		assert.equal(show.Delegate, 'yes');
		assert.equal(show.MemoryMax, MiB64);
		assert.equal(show.TasksMax, '50');
		assert.equal(cgroupOf(pid), unitCg);
		assert.equal(cgFile(unitCg, 'memory.max'), MiB64);
		assert.equal(cgFile(unitCg, 'pids.max'), '50');
		assert.equal((await userShow(unit, 'LoadState')).LoadState, 'loaded', 'the unit is the user\'s, not the system\'s');
		const system = await execa('systemctl', ['show', unit, '--property=LoadState'], { reject: false });
		assert.equal(system.stdout.trim(), 'LoadState=not-found', 'the system manager has no such unit');
		await c.run(['--systemd-cgroup', 'update', '--pids-limit', '80', c.id], { timeoutMs: SLOW });
		assert.equal((await userShow(unit, 'TasksMax')).TasksMax, '80');
		assert.equal(cgFile(unitCg, 'pids.max'), '80');
		await c.start(c.id, { timeoutMs: SLOW });
		await c.delete(c.id, { force: true, timeoutMs: SLOW });
		await waitFor(async () => (await userShow(unit, 'LoadState')).LoadState === 'not-found', 30_000, `${unit} gone`);
		assert.ok(!fs.existsSync(path.join(CG, unitCg)), `${unitCg} removed`);
		assert.deepEqual(fs.readdirSync(c.root), []);
	}

	test('--systemd-cgroup: a scope of the user\'s manager in its user.slice, reached over the user\'s bus, with the limits; gone after delete', async (t) => {
		const c = await rootless(t, { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } });
		await systemdLifecycle(c);
	});

	test('--systemd-cgroup from inside a user namespace (rootless podman\'s way, uid 0 there): the bus still knows the user', async (t) => {
		const c = await rootless(t, { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } });
		asInUserNamespace(c);
		await systemdLifecycle(c);
	});
});

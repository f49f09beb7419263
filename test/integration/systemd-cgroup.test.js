// The systemd cgroup driver (--systemd-cgroup): each container's cgroup is a transient scope unit.
// Checked against what systemd says (systemctl show) and what the kernel shows (/proc/<pid>/cgroup,
// the unit's cgroup files, device opens from inside). Needs systemd as PID 1: the systemd qemu lane
// (scripts/vm/systemd-lane.sh) runs this file, for tsrun and for runc, and fails if a test skips.
// The one test for a host without systemd runs everywhere: it hides /run/systemd and /run/dbus in
// a private mount namespace first.
import { execa } from 'execa';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setup } from '../helpers/fixture.js';
import { isAlive, readOr } from '../helpers/proc.js';
import { isRunc } from '../helpers/runtime-under-test.js';
import { needsRoot, RUN_ID } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const CG = '/sys/fs/cgroup';
const hasSystemd = fs.existsSync('/run/systemd/system');
const skip = needsRoot || (!hasSystemd && 'systemd is not PID 1 here (no /run/systemd/system); scripts/vm/systemd-lane.sh runs these in a guest');
const v2 = fs.existsSync(path.join(CG, 'cgroup.controllers'));
/** the test run's scope prefix: "<prefix>-<id>.scope" */
const PREFIX = `sdit${RUN_ID}`;
const SD = ['--systemd-cgroup'];
/** the TCG guest of the systemd lane is slow, more so on a busy host: a create there may take 30 s */
const SLOW = 120_000;

async function systemctlShow(unit, ...props) {
	const r = await execa('systemctl', ['show', unit, ...props.map((p) => `--property=${p}`)], { reject: false });
	return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The unit's cgroup dir of a controller: v2 the one dir, v1 the controller's hierarchy. */
function unitDir(cgroupPath, controller) {
	return v2 ? path.join(CG, cgroupPath) : path.join(CG, controller, cgroupPath);
}

function cgFile(cgroupPath, controller, v2File, v1File) {
	return readOr(path.join(unitDir(cgroupPath, controller), v2 ? v2File : v1File), '').trim();
}

/** A fixture whose container lives in the scope "<PREFIX>-<id>.scope" of system.slice. */
async function systemdFixture(t, opts = {}) {
	const fx = await setup(t, opts);
	fx.unit = `${PREFIX}-${fx.id}.scope`;
	fx.cgroupPath = `/system.slice/${fx.unit}`;
	fx.config.linux.cgroupsPath = `system.slice:${PREFIX}:${fx.id}`;
	// whatever a failed test left: the unit stopped (delete --force stops it first)
	fx.defer(async () => {
		await execa('systemctl', ['stop', fx.unit], { reject: false });
		await execa('systemctl', ['reset-failed', fx.unit], { reject: false });
	});
	return fx;
}

async function assertUnitGone(fx) {
	await waitFor(async () => (await systemctlShow(fx.unit, 'LoadState')).LoadState === 'not-found', 10_000, `${fx.unit} gone`);
	for (const c of ['memory', 'pids', 'cpu']) assert.ok(!fs.existsSync(unitDir(fx.cgroupPath, c)), `${unitDir(fx.cgroupPath, c)} removed`);
}

describe('systemd cgroup driver', { skip }, () => {
	test('create --systemd-cgroup: a scope unit in system.slice holds the init, with the resources and org.systemd.property.* annotations as unit properties, and the cgroup files', async (t) => {
		const fx = await systemdFixture(t, { args: ['sleep', '300'] });
		fx.config.annotations = {
			'org.systemd.property.TimeoutStopSec': 'uint64 123',
			'org.systemd.property.CollectMode': "'inactive-or-failed'",
			'org.systemd.property.SendSIGHUP': 'true',
		};
		fx.config.linux.resources = {
			...fx.config.linux.resources,
			memory: { limit: 64 * 1024 * 1024, reservation: 32 * 1024 * 1024 },
			cpu: { shares: 1024, quota: 50000, period: 100000 },
			pids: { limit: 50 },
		};
		const { pid } = await fx.create({ run: { global: SD, timeoutMs: SLOW } });
		const show = await systemctlShow(fx.unit, 'ActiveState', 'ControlGroup', 'Slice', 'Delegate', 'MemoryMax', 'TasksMax', 'DefaultDependencies', 'CPUQuotaPerSecUSec', 'TimeoutStopUSec', 'CollectMode', 'SendSIGHUP');
		assert.equal(show.ActiveState, 'active');
		assert.equal(show.ControlGroup, fx.cgroupPath);
		assert.equal(show.Slice, 'system.slice');
		assert.equal(show.Delegate, 'yes');
		assert.equal(show.DefaultDependencies, 'no');
		assert.equal(show.TasksMax, '50');
		assert.equal(show.CPUQuotaPerSecUSec, '500ms');
		// the annotations: a "Sec" name in seconds becomes "USec", strings and booleans as given
		assert.equal(show.TimeoutStopUSec, '2min 3s');
		assert.equal(show.CollectMode, 'inactive-or-failed');
		assert.equal(show.SendSIGHUP, 'yes');
		if (v2) assert.equal(show.MemoryMax, String(64 * 1024 * 1024));
		const own = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
		if (v2) assert.equal(own.trim(), `0::${fx.cgroupPath}`);
		else for (const c of ['memory', 'pids', 'cpu,cpuacct', 'devices', 'freezer']) assert.match(own, new RegExp(`^\\d+:${c}:${fx.cgroupPath.replace(/\./g, '\\.')}$`, 'm'), c);
		assert.equal(cgFile(fx.cgroupPath, 'memory', 'memory.max', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
		assert.equal(cgFile(fx.cgroupPath, 'memory', 'memory.low', 'memory.soft_limit_in_bytes'), String(32 * 1024 * 1024));
		assert.equal(cgFile(fx.cgroupPath, 'pids', 'pids.max', 'pids.max'), '50');
		if (v2) {
			assert.equal(cgFile(fx.cgroupPath, 'cpu', 'cpu.max'), '50000 100000');
			// shares 1024 → cpu.weight: runc 1.1.5 maps linearly (39), tsrun as the newest runc (100)
			assert.equal(cgFile(fx.cgroupPath, 'cpu', 'cpu.weight'), isRunc ? '39' : '100');
		} else {
			assert.equal(cgFile(fx.cgroupPath, 'cpu', '', 'cpu.cfs_quota_us'), '50000');
			assert.equal(cgFile(fx.cgroupPath, 'cpu', '', 'cpu.shares'), '1024');
		}
		await fx.delete(fx.id, { force: true, timeoutMs: SLOW });
		await assertUnitGone(fx);
	});

	test('create --systemd-cgroup: an empty cgroupsPath is the scope "<runtime>-<id>.scope" in system.slice', async (t) => {
		const fx = await setup(t, { args: ['sleep', '300'] });
		delete fx.config.linux.cgroupsPath;
		const unit = `${isRunc ? 'runc' : 'tsrun'}-${fx.id}.scope`;
		fx.defer(() => execa('systemctl', ['stop', unit], { reject: false }));
		const { pid } = await fx.create({ run: { global: SD, timeoutMs: SLOW } });
		assert.equal((await systemctlShow(unit, 'ActiveState')).ActiveState, 'active');
		assert.match(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`:/system\\.slice/${unit.replace(/\./g, '\\.')}$`, 'm'));
		await fx.delete(fx.id, { force: true, timeoutMs: SLOW });
		assert.equal((await systemctlShow(unit, 'LoadState')).LoadState, 'not-found');
	});

	test('update: a systemd container gets new unit properties and cgroup files', async (t) => {
		const fx = await systemdFixture(t, { args: ['sleep', '300'] });
		fx.config.linux.resources = { ...fx.config.linux.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } };
		await fx.create({ run: { global: SD, timeoutMs: SLOW } });
		await fx.run([...SD, 'update', '--memory', '128M', '--pids-limit', '80', '--cpu-quota', '30000', '--cpu-period', '100000', fx.id], { timeoutMs: SLOW });
		const show = await systemctlShow(fx.unit, 'TasksMax', 'MemoryMax', 'MemoryLimit');
		assert.equal(show.TasksMax, '80');
		assert.equal(v2 ? show.MemoryMax : show.MemoryLimit, String(128 * 1024 * 1024));
		assert.equal(cgFile(fx.cgroupPath, 'memory', 'memory.max', 'memory.limit_in_bytes'), String(128 * 1024 * 1024));
		assert.equal(cgFile(fx.cgroupPath, 'pids', 'pids.max', 'pids.max'), '80');
		assert.equal(v2 ? cgFile(fx.cgroupPath, 'cpu', 'cpu.max') : cgFile(fx.cgroupPath, 'cpu', '', 'cpu.cfs_quota_us'), v2 ? '30000 100000' : '30000');
	});

	test('run --systemd-cgroup: device rules are enforced (a listed /dev/kmsg without a rule cannot be opened, /dev/null can)', async (t) => {
		const fx = await systemdFixture(t);
		fx.config.linux.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }];
		fx.config.linux.resources = { ...fx.config.linux.resources, devices: [{ allow: false, access: 'rwm' }] };
		fx.sh('echo x > /dev/null && echo null-ok; head -c 1 /dev/kmsg >/dev/null 2>&1 && echo kmsg-open || echo kmsg-denied');
		const r = await fx.runFg({ args: [], run: { global: SD, timeoutMs: SLOW } });
		assert.match(r.stdout, /null-ok/);
		assert.match(r.stdout, /kmsg-denied/);
	});

	test('pause, resume, ps and kill --all act on the unit\'s cgroup; delete removes the unit and its cgroup', async (t) => {
		const fx = await systemdFixture(t);
		fx.sh('sleep 300 & sleep 301 & exec sleep 302');
		const { pid } = await fx.create({ run: { global: SD, timeoutMs: SLOW } });
		await fx.start();
		const procs = () => readOr(path.join(unitDir(fx.cgroupPath, 'pids'), 'cgroup.procs'), '').split('\n').filter(Boolean).map(Number);
		await waitFor(() => procs().length >= 3, 10_000, 'three processes in the unit');
		await fx.run(['pause', fx.id]);
		assert.equal((await fx.state()).status, 'paused');
		if (v2) assert.equal(cgFile(fx.cgroupPath, '', 'cgroup.freeze'), '1');
		else assert.equal(cgFile(fx.cgroupPath, 'freezer', '', 'freezer.state'), 'FROZEN');
		await fx.run(['resume', fx.id]);
		assert.equal((await fx.state()).status, 'running');
		if (v2) assert.equal(cgFile(fx.cgroupPath, '', 'cgroup.freeze'), '0');
		else assert.equal(cgFile(fx.cgroupPath, 'freezer', '', 'freezer.state'), 'THAWED');
		const members = procs();
		const ps = JSON.parse((await fx.run(['ps', '--format', 'json', fx.id])).stdout);
		assert.deepEqual([...ps].sort(), [...members].sort(), 'ps lists the unit\'s processes');
		await fx.run(['kill', '--all', fx.id, 'KILL']);
		await waitFor(() => members.every((p) => !isAlive(p)), 10_000, 'all killed');
		assert.ok(!isAlive(pid));
		await fx.waitStatus('stopped');
		await fx.delete(fx.id, { timeoutMs: SLOW });
		await assertUnitGone(fx);
	});

	test('create --systemd-cgroup: a create that fails after the unit started leaves no unit, cgroup or process', async (t) => {
		const fx = await systemdFixture(t, { args: ['sleep', '300'] });
		fx.config.hooks = { createRuntime: [{ path: '/bin/false' }] };
		await fx.create({ run: { global: SD, timeoutMs: SLOW }, expectExit: 'nonzero' });
		await assertUnitGone(fx);
		assert.deepEqual(fs.readdirSync(fx.root), []);
	});
});

test('create --systemd-cgroup without systemd: a clear error, exit 1, nothing left', { skip: needsRoot }, async (t) => {
	const fx = await setup(t, { args: ['true'] });
	fx.config.linux.cgroupsPath = `system.slice:${PREFIX}:${fx.id}`;
	// what sd_booted() and the D-Bus clients look for, hidden
	fx.commandPrefix = ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
		'for d in /run/systemd /run/dbus; do [ -d "$d" ] && mount -t tmpfs none "$d"; done; exec "$@"', 'sh'];
	const r = await fx.create({ run: { global: SD, timeoutMs: SLOW }, expectExit: 1 });
	assert.match(r.stderr, /systemd/);
	if (!isRunc) assert.match(r.stderr, /systemd is not running as init \(no \/run\/systemd\/system\)/);
	assert.deepEqual(fs.readdirSync(fx.root), [], 'no state dir left');
});

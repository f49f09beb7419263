// Attacks on the Node side of tsrun, each written as the attack itself: what is checked is that the
// host is unharmed (a bystander process alive and unsignalled, a foreign cgroup's processes alive, the
// host's kernel log unread), not only that the runtime refuses.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CGROUP_ROOT, cgroupDirs, isCgroupV1, isCgroupV2 } from '../helpers/cgroups.js';
import { removeCgroupTree } from '../helpers/cleanup.js';
import { setup } from '../helpers/fixture.js';
import { isAlive, processStartTime } from '../helpers/proc.js';
import { isTsrun, notOnRunc } from '../helpers/runtime-under-test.js';
import { CGROUP_PARENT, needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 90_000 };
const tsrunOnly = { ...opts, skip: needsRoot || (!isTsrun && 'writes tsrun\'s own state record by hand') };

/**
 * A bystander that notes every catchable signal it gets in `file`, started in `pgid`'s process group
 * (ours by default: the group a runtime started by this test is in too).
 */
function bystander(c, file, { detached = false } = {}) {
	const script = `for s in HUP INT QUIT USR1 USR2 TERM CONT; do trap "echo $s >> ${file}" $s; done; echo ready >> ${file}; while :; do sleep 1; done`;
	const child = spawn('/bin/sh', ['-c', script], { stdio: 'ignore', detached });
	c.defer(() => {
		try {
			process.kill(child.pid, 'SIGKILL');
		} catch {}
	});
	return child;
}

const signalsNoted = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && l !== 'ready') : []);

/** Writes a state record as tsrun keeps it, for a container `id` under c.root. */
function writeRecord(c, id, fields) {
	fs.mkdirSync(path.join(c.root, id), { mode: 0o711 });
	const record = {
		ociVersion: '1.3.0',
		id,
		pid: 0,
		pidStartTime: '',
		bundle: c.bundle,
		rootfs: c.rootfs,
		created: new Date().toISOString(),
		owner: '',
		cgroup: isCgroupV2
			? { version: 2, paths: { '': path.join(CGROUP_ROOT, c.cgroupsPathFor(id)) }, created: [] }
			: { version: 1, paths: Object.fromEntries(['pids', 'freezer'].map((h) => [h, path.join(CGROUP_ROOT, h, c.cgroupsPathFor(id))])), created: [] },
		started: false,
		...fields,
	};
	fs.writeFileSync(path.join(c.root, id, 'state.json'), JSON.stringify(record));
}

test('kill: a record with pid 0 or -1 (a create that had no init yet) never signals the caller\'s process group or every process', tsrunOnly, async (t) => {
	const c = await setup(t);
	const noted = c.path('bystander-signals');
	const by = bystander(c, noted);
	await waitFor(() => fs.existsSync(noted), 5000, 'the bystander ready');
	// "creating" by a live process (the bystander itself stands in for the create), pid still 0
	const creating = { pid: by.pid, startTime: processStartTime(by.pid) };
	const cases = [
		['pid0-creating', { pid: 0, creating }],
		['pid0-stopped', { pid: 0 }],
		['pidm1', { pid: -1, pidStartTime: '1' }],
	];
	for (const [name, fields] of cases) {
		const id = `${c.id}-${name}`;
		c.ids.add(id);
		writeRecord(c, id, fields);
		for (const sig of ['TERM', 'USR1', 'HUP']) {
			const r = await c.kill(id, sig, { expectExit: 1 });
			assert.match(r.stderr, /not running/, `${name} ${sig}: ${r.stderr}`);
		}
	}
	await new Promise((r) => setTimeout(r, 300));
	assert.deepEqual(signalsNoted(noted), [], 'no signal reached the process group tsrun was started in');
	assert.ok(isAlive(by.pid), 'the bystander lives');
	// and the records of a create that died go with delete --force, without signalling anyone
	for (const [name] of cases) await c.delete(`${c.id}-${name}`, { force: true });
	assert.deepEqual(signalsNoted(noted), []);
	assert.ok(isAlive(by.pid));
});

test('kill, delete --force: a recorded pid now held by another process (pid reuse) is never signalled', tsrunOnly, async (t) => {
	const c = await setup(t);
	const noted = c.path('bystander-signals');
	const by = bystander(c, noted, { detached: true });
	await waitFor(() => fs.existsSync(noted), 5000, 'the bystander ready');
	// the record says this pid, but a process that started at another time: the container's init
	// exited and the bystander got its pid
	const id = `${c.id}-reused`;
	c.ids.add(id);
	writeRecord(c, id, { pid: by.pid, pidStartTime: String(Number(processStartTime(by.pid)) - 1), started: true });
	for (const sig of ['TERM', 'USR1', 'KILL']) await c.kill(id, sig, { expectExit: 1 });
	assert.equal((await c.state(id)).status, 'stopped');
	await c.delete(id, { force: true });
	await new Promise((r) => setTimeout(r, 300));
	assert.deepEqual(signalsNoted(noted), []);
	assert.ok(isAlive(by.pid), 'the process that got the pid lives');
});

/** Makes a cgroup dir by hand in every v1 hierarchy (or the v2 one) and puts a sleeping process in it. */
function foreignCgroup(c, rel, roots) {
	const dirs = roots.map((r) => path.join(r, rel));
	for (const d of dirs) fs.mkdirSync(d, { recursive: true });
	const victim = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
	for (const d of dirs) fs.writeFileSync(path.join(d, 'cgroup.procs'), String(victim.pid));
	c.defer(async () => {
		try {
			process.kill(victim.pid, 'SIGKILL');
		} catch {}
		await waitFor(() => dirs.every((d) => !fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').trim()), 5000).catch(() => {});
		for (const d of dirs) removeCgroupTree(d);
	});
	return { victim, dirs };
}

/** v1 hierarchies that hold processes (not the unified one on a hybrid host). */
function v1Roots() {
	return ['pids', 'memory', 'cpu', 'freezer', 'devices'].map((h) => path.join(CGROUP_ROOT, h)).filter((d) => fs.existsSync(path.join(d, 'cgroup.procs')));
}

const V2_ROOT = isCgroupV2 ? CGROUP_ROOT : path.join(CGROUP_ROOT, 'unified');
const hasV2 = fs.existsSync(path.join(V2_ROOT, 'cgroup.controllers'));
/** On a hybrid host the runtime sees cgroup v2 in a private mount namespace (as cgroups-v2-devices.test.js). */
function asV2(c) {
	if (!isCgroupV2) c.commandPrefix = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"', 'sh'];
}

for (const version of [1, 2]) {
	const skip = needsRoot || (version === 1 ? !isCgroupV1 && 'no cgroup v1 hierarchies' : !hasV2 && 'no cgroup2 mount');
	test(`create (cgroup v${version}): a cgroup that already holds processes is refused, naming it; delete --force then leaves them alone`, { ...opts, skip: skip || notOnRunc('1.1 only warns about a non-empty cgroup') }, async (t) => {
		const c = await setup(t, { args: ['sleep', '1000'] });
		if (version === 2) asV2(c);
		const { victim } = foreignCgroup(c, c.cgroupsPath, version === 2 ? [V2_ROOT] : v1Roots());
		const r = await c.create({ expectExit: 1 });
		assert.match(r.stderr, /container's cgroup is not empty: 1 process\(es\) found/, r.stderr);
		if (isTsrun) assert.ok(r.stderr.includes(c.cgroupsPath), `names the cgroup: ${r.stderr}`);
		assert.equal(fs.existsSync(path.join(c.root, c.id)), false, 'no state dir');
		await c.delete(c.id, { force: true });
		await c.run(['kill', '--all', c.id, 'KILL'], { expectExit: 'nonzero' });
		assert.ok(isAlive(victim.pid), 'the process that was in the cgroup first lives');
	});

	test(`create (cgroup v${version}): a pre-existing frozen cgroup is refused, not waited on`, { ...opts, skip: skip || (version === 1 && !fs.existsSync(path.join(CGROUP_ROOT, 'freezer')) && 'no v1 freezer') }, async (t) => {
		const c = await setup(t, { args: ['sleep', '1000'] });
		if (version === 2) asV2(c);
		const dir = path.join(version === 2 ? V2_ROOT : path.join(CGROUP_ROOT, 'freezer'), c.cgroupsPath);
		fs.mkdirSync(dir, { recursive: true });
		c.defer(() => {
			try {
				fs.writeFileSync(path.join(dir, version === 2 ? 'cgroup.freeze' : 'freezer.state'), version === 2 ? '0' : 'THAWED');
			} catch {}
			removeCgroupTree(dir);
		});
		fs.writeFileSync(path.join(dir, version === 2 ? 'cgroup.freeze' : 'freezer.state'), version === 2 ? '1' : 'FROZEN');
		const started = Date.now();
		const r = await c.create({ expectExit: 'nonzero', run: { timeoutMs: 20_000 } });
		assert.ok(!r.timedOut, 'create did not hang');
		assert.ok(Date.now() - started < 15_000);
		assert.match(r.stderr, /container's cgroup unexpectedly frozen/, r.stderr);
		assert.equal(fs.existsSync(path.join(c.root, c.id)), false, 'no state dir');
	});
}

test('run: a config that denies every device but lists /dev/kmsg in linux.devices cannot read the host\'s kernel log', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
	c.config.linux.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o644 }];
	const out = await c.inside('ls -l /dev/kmsg; if msg=$(head -c 64 /dev/kmsg 2>&1 >/dev/null); then echo READ; else echo "DENIED $msg"; fi');
	assert.match(out, /^c.* 1, +11 .*\/dev\/kmsg$/m, `the node is made: ${out}`);
	assert.match(out, /DENIED.*Operation not permitted/, out);
	assert.doesNotMatch(out, /READ/);
});

test('run: a config with no device rules at all still gets a closed device cgroup (runc\'s fixed list)', opts, async (t) => {
	const c = await setup(t);
	delete c.config.linux.resources;
	c.config.linux.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o644 }];
	const out = await c.inside('if msg=$(head -c 64 /dev/kmsg 2>&1 >/dev/null); then echo READ; else echo "DENIED $msg"; fi; echo x > /dev/null && echo NULL-OK');
	assert.match(out, /DENIED.*Operation not permitted/, out);
	assert.match(out, /NULL-OK/, out);
	if (isCgroupV1) {
		const list = await c.inside('cat /sys/fs/cgroup/devices/devices.list');
		assert.deepEqual(list.trim().split('\n').sort(), ['b *:* m', 'c *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 10:200 rwm', 'c 136:* rwm', 'c 5:0 rwm', 'c 5:2 rwm'].sort());
	}
});

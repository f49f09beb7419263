// events: runc's JSON lines. `--stats` once, with runc's field names and values the kernel agrees
// with; the stream every --interval until the container stops; an "oom" event when the kernel kills a
// process of the container for its memory limit. On this host's cgroups and on cgroup v2 through
// helpers/cgroup-v2.js.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isCgroupV1, isCgroupV2 } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';
import { useCgroupV2, V2_ROOT, v2Skip } from '../helpers/cgroup-v2.js';

const skip = needsRoot || (!isCgroupV1 && !isCgroupV2 && 'no cgroup v1 memory controller and no cgroup v2');
const opts = { skip, timeout: 60_000 };
const MiB = 1024 * 1024;

/** `events ARGS ID` in the background: its JSON lines so far, and a promise of its exit. */
function startEvents(c, args) {
	const [file, ...argv] = c.commandLine(['events', ...args, c.id]);
	const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: c.dir });
	let out = '';
	let err = '';
	child.stdout.on('data', (d) => (out += d));
	child.stderr.on('data', (d) => (err += d));
	const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
	c.defer(async () => {
		if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		await exited;
	});
	return {
		exited,
		get stderr() {
			return err;
		},
		events: () => out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)),
	};
}

/** One `events --stats` of the fixture's container, parsed. */
async function statsOnce(c) {
	const r = await c.run(['events', '--stats', c.id]);
	const lines = r.stdout.trim().split('\n');
	assert.equal(lines.length, 1, r.stdout);
	const ev = JSON.parse(lines[0]);
	assert.equal(ev.type, 'stats');
	assert.equal(ev.id, c.id);
	return ev.data;
}

/** What every stats event has, on either cgroup version. */
function checkCommon(data) {
	for (const key of ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt']) assert.ok(key in data, `data.${key}`);
	assert.ok('network_interfaces' in data);
	assert.equal(typeof data.cpu.usage.kernel, 'number');
	assert.equal(typeof data.cpu.usage.user, 'number');
	assert.ok('throttling' in data.cpu);
	for (const e of ['usage', 'swap', 'kernel', 'kernelTCP']) {
		assert.equal(typeof data.memory[e].limit, 'number', `memory.${e}.limit`);
		assert.equal(typeof data.memory[e].failcnt, 'number', `memory.${e}.failcnt`);
	}
	assert.ok(data.pids.current >= 1, `pids.current ${data.pids.current}`);
}

test('events --stats (this host\'s cgroups): runc\'s fields, values as the kernel shows them', opts, async (t) => {
	const c = await setup(t, { args: ['sh', '-c', 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000'] });
	c.config.linux.resources.memory = { limit: 64 * MiB };
	c.config.linux.resources.pids = { limit: 50 };
	await c.create();
	await c.start();
	await c.waitStatus('running');
	await new Promise((r) => setTimeout(r, 300));
	const data = await statsOnce(c);
	checkCommon(data);
	assert.equal(data.pids.current, 1);
	assert.ok(data.cpu.usage.total > 0, `cpu.usage.total ${data.cpu.usage.total}`);
	if (isCgroupV1) {
		assert.equal(data.pids.limit, 50);
		assert.equal(data.memory.usage.limit, 64 * MiB);
		assert.ok(data.memory.usage.usage > 0 && data.memory.usage.usage <= 64 * MiB, `memory usage ${data.memory.usage.usage}`);
		assert.ok(data.memory.usage.max >= data.memory.usage.usage);
		assert.ok('cache' in data.memory.raw && 'rss' in data.memory.raw, Object.keys(data.memory.raw).join(' '));
		assert.equal(data.cpu.usage.percpu.length, fs.readFileSync('/sys/fs/cgroup/cpuacct/cpuacct.usage_percpu', 'utf8').trim().split(/\s+/).length);
		assert.ok(data.cpuset.cpus.length >= 1);
		assert.deepEqual(data.intel_rdt, {});
	} else {
		assert.equal(data.memory.usage.limit, 64 * MiB);
		assert.ok('anon' in data.memory.raw);
	}
});

test('events --stats on cgroup v2: cpu.stat, pids from cgroup.procs without the controller, hugetlb, pressure', { ...opts, skip: skip || v2Skip }, async (t) => {
	const c = useCgroupV2(await setup(t, { args: ['sh', '-c', 'sleep 1000 & sleep 1000'] }));
	await c.create();
	await c.start();
	await waitFor(() => fs.readFileSync(path.join(V2_ROOT, c.cgroupsPath, 'cgroup.procs'), 'utf8').trim().split('\n').length === 2, 5000, 'two processes');
	const data = await statsOnce(c);
	checkCommon(data);
	assert.equal(data.pids.current, 2);
	assert.ok(data.cpu.usage.total > 0, `cpu.usage.total ${data.cpu.usage.total}`);
	const controllers = fs.readFileSync(path.join(V2_ROOT, c.cgroupsPath, 'cgroup.controllers'), 'utf8').split(/\s+/);
	if (controllers.includes('hugetlb') && fs.existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB')) {
		assert.deepEqual(data.hugetlb['2MB'], { failcnt: 0 });
	}
	if (!controllers.includes('memory')) assert.equal(data.memory.usage.limit, 0, 'no memory controller: no memory stats');
	if (fs.existsSync(path.join(V2_ROOT, c.cgroupsPath, 'cpu.pressure')) && !notOnRunc('1.1 has no PSI')) {
		assert.equal(typeof data.cpu.psi.some.avg10, 'number');
	}
});

test('events: a stopped container is an error; so is an interval of 0', opts, async (t) => {
	const c = await setup(t, { args: ['true'] });
	await c.create();
	const r0 = await c.run(['events', '--interval', '0s', c.id], { expectExit: 'nonzero' });
	assert.match(r0.stderr, /interval must be greater than 0/);
	await c.start();
	await c.waitStatus('stopped');
	const r = await c.run(['events', '--stats', c.id], { expectExit: 'nonzero' });
	assert.match(r.stderr, /is not running/);
});

test('events: stats every --interval; the stream ends when the container stops',
	{ ...opts, skip: skip || notOnRunc('1.1 on cgroup v1 streams until the cgroup is removed') }, async (t) => {
		// The container runs until the test has seen two intervals (a Node start takes a second under
		// TCG, so a fixed-length process could end before the stream's second line), then is killed.
		const c = await setup(t, { args: ['sleep', '600'] });
		await c.create();
		await c.start();
		const ev = startEvents(c, ['--interval', '500ms']);
		await waitFor(() => ev.events().length >= 2, 30_000, 'two stats events');
		await c.kill(c.id, 'KILL');
		const exit = await Promise.race([ev.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
		assert.deepEqual(exit, { code: 0, signal: null }, ev.stderr);
		const stats = ev.events();
		assert.ok(stats.length >= 2, `${stats.length} stats events`);
		assert.ok(stats.every((e) => e.type === 'stats' && e.id === c.id));
	});

/** A container that is OOM-killed once: dd's 64 MiB buffer in a 16 MiB cgroup (no swap). */
async function oomOnce(t, c) {
	c.sh('sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$?; sleep 1');
	c.config.linux.resources.memory = { limit: 16 * MiB, swap: 16 * MiB };
	await c.create();
	const ev = startEvents(c, ['--interval', '1s']);
	// the stream must be watching before the container runs: a start, an OOM and a delete through the
	// engine can all be over before a Node process (events runs in-process) has started under TCG
	await waitFor(() => ev.events().length >= 1, 60_000, 'the events stream running');
	await c.start();
	await c.waitStatus('stopped', c.id, 15_000);
	// runc 1.1 on v1 ends its stream when the cgroup goes
	await c.delete();
	const exit = await Promise.race([ev.exited, new Promise((r) => setTimeout(() => r('still running'), 8000))]);
	assert.deepEqual(exit, { code: 0, signal: null }, ev.stderr);
	const out = fs.readFileSync(c.path('io-1.out'), 'utf8');
	assert.match(out, /dd=137/, 'dd was SIGKILLed');
	const ooms = ev.events().filter((e) => e.type === 'oom');
	assert.ok(ooms.length >= 1, JSON.stringify(ev.events().map((e) => e.type)));
	assert.deepEqual(ooms[0], { type: 'oom', id: c.id });
}

test('events: an OOM kill in the container is an "oom" event (this host\'s cgroups)', opts, async (t) => {
	await oomOnce(t, await setup(t));
});

const v2Memory = !v2Skip && fs.readFileSync(path.join(V2_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
test('events: an OOM kill is an "oom" event on cgroup v2', { ...opts, skip: skip || v2Skip || (!v2Memory && 'the cgroup2 hierarchy here has no memory controller (hybrid host)') }, async (t) => {
	await oomOnce(t, useCgroupV2(await setup(t)));
});

// create / start / state / kill / delete / run / list: what the runtime reports and what the kernel shows.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs, cgroupProcs, isCgroupV1 } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { SIGNAL_REPORTER, checkForwarding, foreground } from '../helpers/foreground.js';
import { isAlive, procCmdline } from '../helpers/proc.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 60_000 };

test('create: state is "created", the init pid exists and has not exec-ed the user process', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const r = await c.create();
	const st = r.state;
	assert.equal(st.status, 'created');
	assert.equal(st.id, c.id);
	assert.equal(st.bundle, c.bundle);
	assert.ok(st.ociVersion, 'state has ociVersion');
	assert.ok(Number.isInteger(st.pid) && st.pid > 0, `pid ${st.pid}`);
	assert.ok(fs.existsSync(`/proc/${st.pid}`), `/proc/${st.pid} exists`);
	assert.ok(isAlive(st.pid));
	const cmd = procCmdline(st.pid);
	assert.notDeepEqual(cmd, ['sleep', '1000'], 'the user process must not run before start');
	assert.ok(fs.existsSync(path.join(c.root, c.id)), 'state dir under --root');
});

test('start: the container runs the user process and status becomes "running"', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const { pid } = await c.create();
	await c.start();
	const st = await c.waitStatus('running');
	assert.equal(st.pid, pid, 'same pid after start');
	await waitFor(() => procCmdline(pid)?.join(' ') === 'sleep 1000', 5000, 'exec of sleep');
});

test('start: the container writes to the stdout fd the caller gave create', opts, async (t) => {
	const c = await setup(t);
	c.sh('echo hello-from-container; echo to-stderr >&2');
	const r = await c.create();
	assert.equal(fs.readFileSync(r.outFile, 'utf8'), '', 'nothing before start');
	await c.start();
	await waitFor(() => fs.readFileSync(r.outFile, 'utf8') === 'hello-from-container\n', 5000, 'container stdout');
	await waitFor(() => fs.readFileSync(r.errFile, 'utf8').includes('to-stderr\n'), 5000, 'container stderr');
	await c.waitStatus('stopped');
});

test('kill: KILL stops a running container, delete removes its state dir', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const { pid } = await c.create();
	await c.start();
	await c.waitStatus('running');
	await c.kill(c.id, 'KILL');
	await c.waitStatus('stopped');
	assert.ok(!isAlive(pid), 'init is dead');
	await c.delete();
	assert.ok(!fs.existsSync(path.join(c.root, c.id)), 'state dir gone');
	await c.state(c.id, { expectExit: 1 });
});

for (const sig of ['9', 'KILL', 'SIGKILL']) {
	test(`kill: signal given as "${sig}" kills the container`, opts, async (t) => {
		const c = await setup(t, { args: ['sleep', '1000'] });
		const { pid } = await c.create();
		await c.start();
		await c.kill(c.id, sig);
		await c.waitStatus('stopped');
		assert.ok(!isAlive(pid));
	});
}

test('kill: the default signal is TERM', opts, async (t) => {
	const c = await setup(t);
	// pid 1 of a pid namespace ignores signals without a handler: trap TERM to see it arrive.
	c.sh('trap "echo got-TERM; exit 0" TERM; echo ready; while :; do sleep 0.05; done');
	const r = await c.create();
	await c.start();
	await waitFor(() => fs.readFileSync(r.outFile, 'utf8').includes('ready'), 5000, 'trap installed');
	await c.kill(c.id);
	await waitFor(() => fs.readFileSync(r.outFile, 'utf8').includes('got-TERM'), 5000, 'TERM delivered');
	await c.waitStatus('stopped');
});

test('kill: a stopped container errors "container not running"', opts, async (t) => {
	const c = await setup(t);
	await c.create();
	await c.start();
	await c.waitStatus('stopped');
	const r = await c.kill(c.id, 'KILL', { expectExit: 1 });
	assert.match(r.stderr, /container not running/);
});

test('kill: a created (not started) container can be killed and then deleted', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const { pid } = await c.create();
	await c.kill(c.id, 'KILL');
	await c.waitStatus('stopped');
	assert.ok(!isAlive(pid));
	await c.delete();
});

test('delete: a running container is refused without --force and removed with it', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const { pid } = await c.create();
	await c.start();
	await c.waitStatus('running');
	await c.delete(c.id, { expectExit: 1 });
	assert.ok(isAlive(pid), 'still running after refused delete');
	await c.delete(c.id, { force: true });
	await waitFor(() => !isAlive(pid), 5000, 'init killed');
	assert.ok(!fs.existsSync(path.join(c.root, c.id)));
});

test('delete: --force of a missing id exits 0', opts, async (t) => {
	const c = await setup(t);
	await c.delete('tsrun-it-no-such-container', { force: true, expectExit: 0 });
});

test('delete: a missing id without --force fails with "does not exist"', opts, async (t) => {
	const c = await setup(t);
	const r = await c.delete('tsrun-it-no-such-container', { expectExit: 1 });
	assert.match(r.stderr, /does not exist/);
});

test('state: a missing id exits 1 with "does not exist"', opts, async (t) => {
	const c = await setup(t);
	const r = await c.run(['state', 'tsrun-it-no-such-container'], { expectExit: 1 });
	assert.match(r.stderr, /does not exist/);
});

test('start: a missing id exits 1 with "does not exist"', opts, async (t) => {
	const c = await setup(t);
	const r = await c.start('tsrun-it-no-such-container', { expectExit: 1 });
	assert.match(r.stderr, /does not exist/);
});

test('kill: a missing id exits 1 with "does not exist"', opts, async (t) => {
	const c = await setup(t);
	const r = await c.kill('tsrun-it-no-such-container', 'KILL', { expectExit: 1 });
	assert.match(r.stderr, /does not exist/);
});

test('start: a running container cannot be started again', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await c.create();
	await c.start();
	await c.waitStatus('running');
	await c.start(c.id, { expectExit: 1 });
});

test('create: a duplicate id fails and leaves the first container alone', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const { pid } = await c.create();
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /already exists/);
	const st = await c.state();
	assert.equal(st.status, 'created');
	assert.equal(st.pid, pid);
	assert.ok(isAlive(pid));
});

test('create: --pid-file holds the bare pid without a newline', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const pidFile = c.path('container.pid');
	const { pid } = await c.create({ args: ['--pid-file', pidFile] });
	assert.equal(fs.readFileSync(pidFile, 'utf8'), String(pid));
});

test('create: a relative --pid-file is relative to the caller\'s cwd', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const { pid } = await c.create({ args: ['--pid-file', 'rel.pid'] });
	assert.equal(fs.readFileSync(c.path('rel.pid'), 'utf8'), String(pid));
});

test('create: without --bundle the bundle is the current directory', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await c.writeConfig();
	c.ids.add(c.id);
	await c.run(['create', c.id], { detached: true, cwd: c.bundle });
	const st = await c.state();
	assert.equal(st.status, 'created');
	assert.equal(st.bundle, c.bundle);
});

test('run: returns the container\'s exit code', opts, async (t) => {
	const c = await setup(t);
	c.sh('echo out; exit 3');
	const r = await c.runFg({ expectExit: 3 });
	assert.equal(r.stdout, 'out\n');
});

test('run: returns 137 when the container is killed with SIGKILL', opts, async (t) => {
	const c = await setup(t);
	c.config.process.args = ['sleep', '1000'];
	const pending = c.runFg({ expectExit: 137 });
	const st = await waitFor(async () => {
		const s = await c.state(c.id, { expectExit: null });
		return s?.status === 'running' && s;
	}, 10_000, 'running');
	await c.kill(c.id, 'KILL');
	const r = await pending;
	assert.equal(r.exitCode, 137);
	assert.ok(!isAlive(st.pid));
});

test('run: exits 128+15 when the container dies of TERM', opts, async (t) => {
	const c = await setup(t);
	// pid 1 of a pid namespace ignores TERM without a handler: share the host's pid namespace so the
	// shell can die of its own TERM.
	c.config.process.args = ['sh', '-c', 'kill -TERM $$; sleep 5; exit 9'];
	c.config.linux.namespaces = c.config.linux.namespaces.filter((n) => n.type !== 'pid');
	const r = await c.runFg({ expectExit: null });
	assert.equal(r.exitCode, 143, `exit ${r.exitCode}`);
});

test('run: in the foreground the signals the runtime gets go to the container\'s process, and its exit status is the run\'s', opts, async (t) => {
	const c = await setup(t);
	c.sh(SIGNAL_REPORTER);
	await c.writeConfig();
	c.ids.add(c.id);
	await checkForwarding(assert, await foreground(c, ['run', '--bundle', c.bundle, c.id], 'ready'));
});

test('run: --detach returns at once and leaves the container running', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const pidFile = c.path('run.pid');
	await c.writeConfig();
	await c.run(['run', '--detach', '--bundle', c.bundle, '--pid-file', pidFile, c.id], { detached: true });
	const st = await c.waitStatus('running');
	assert.equal(fs.readFileSync(pidFile, 'utf8'), String(st.pid));
	assert.equal(procCmdline(st.pid).join(' '), 'sleep 1000');
});

test('run: the container inherits stdin', opts, async (t) => {
	const c = await setup(t, { args: ['cat'] });
	const r = await c.runFg({ run: { input: 'piped-in\n' } });
	assert.equal(r.stdout, 'piped-in\n');
});

test('list: shows containers with their status; -q prints ids; --format json parses', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const { pid } = await c.create();
	const id2 = c.newId();
	const b2 = c.path('bundle2');
	fs.mkdirSync(b2);
	const cfg2 = structuredClone(c.config);
	cfg2.root.path = c.rootfs;
	cfg2.linux.cgroupsPath = c.cgroupsPathFor(id2);
	await c.create({ id: id2, bundle: b2, config: cfg2 });
	await c.start(id2);
	await c.waitStatus('running', id2);

	const q = await c.run(['list', '-q']);
	assert.deepEqual(q.stdout.trim().split('\n').sort(), [c.id, id2].sort());

	const table = await c.run(['list']);
	const lines = table.stdout.trim().split('\n');
	assert.match(lines[0], /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER/);
	const row = lines.find((l) => l.startsWith(`${c.id} `));
	assert.ok(row, `row for ${c.id} in\n${table.stdout}`);
	assert.match(row, new RegExp(`^${c.id}\\s+${pid}\\s+created\\s+${c.bundle}\\s`));

	const js = await c.run(['list', '--format', 'json']);
	const arr = JSON.parse(js.stdout);
	assert.ok(Array.isArray(arr));
	const byId = Object.fromEntries(arr.map((e) => [e.id, e]));
	assert.equal(byId[c.id].status, 'created');
	assert.equal(byId[c.id].pid, pid);
	assert.equal(byId[c.id].bundle, c.bundle);
	assert.equal(byId[id2].status, 'running');
	assert.ok(byId[id2].created, 'created timestamp');
});

test('list: an empty or missing --root lists nothing and exits 0', opts, async (t) => {
	const c = await setup(t);
	const r = await c.run(['list', '-q']);
	assert.equal(r.stdout.trim(), '');
	const r2 = await c.run(['list', '--format', 'json'], { root: c.path('no-such-root') });
	assert.ok(['null', '[]'].includes(r2.stdout.trim()), `got ${r2.stdout}`);
});

test('kill: --all signals every process in the container\'s cgroup, even once the init is gone', opts, async (t) => {
	// Without a pid namespace the init's death does not take its children along: only --all does.
	const c = await setup(t, { args: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'] });
	c.config.linux.namespaces = c.config.linux.namespaces.filter((ns) => ns.type !== 'pid');
	const { pid } = await c.create();
	await c.start();
	// v1: the pids hierarchy's dir; v2: the one dir
	const [pidsDir] = cgroupDirs(c.cgroupsPath).filter((d) => !isCgroupV1 || d.includes('/pids/'));
	assert.ok(pidsDir, 'the pids cgroup of the container');
	const alive = () => cgroupProcs(pidsDir).filter((p) => isAlive(p));
	await waitFor(() => alive().length === 3, 10_000, 'init and two sleeps in the cgroup');
	await c.kill(c.id, 'KILL');
	await waitFor(() => !isAlive(pid), 10_000, 'the init gone');
	assert.equal(alive().length, 2, 'the sleeps outlive the init');
	await c.run(['kill', '--all', c.id, 'KILL']);
	await waitFor(() => alive().length === 0, 10_000, 'every process gone');
	await c.delete();
});

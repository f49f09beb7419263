// A create killed half-way (kill -9, OOM, a crashing client) must not strand anything: its record
// says so, and delete --force removes the init, the cgroup and the state dir.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { cgroupDirs, cgroupProcs } from '../helpers/cgroups.js';
import { mountsUnder } from '../helpers/cleanup.js';
import { setup } from '../helpers/fixture.js';
import { isAlive, procCmdline } from '../helpers/proc.js';
import { isTsrun, viaEngine } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot || (!isTsrun && 'the "creating" record is tsrun\'s'), timeout: 60_000 };

test('delete --force: a create killed with SIGKILL during its createRuntime hook leaves nothing behind', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const marker = c.path('hook-pid');
	c.config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${marker}.tmp && mv ${marker}.tmp ${marker}; exec sleep 30`] }] };
	await c.writeConfig();
	c.ids.add(c.id);
	const [file, ...argv] = c.commandLine(['create', '--bundle', c.bundle, c.id]);
	const create = execa(file, argv, { reject: false, stdio: 'ignore', cwd: c.dir });
	await waitFor(() => fs.existsSync(marker), 20_000, 'the createRuntime hook running');
	const hookPid = Number(fs.readFileSync(marker, 'utf8'));

	const during = await c.state();
	assert.equal(during.status, 'creating');
	assert.ok(isAlive(during.pid), 'the init exists while its create runs');
	assert.ok(cgroupDirs(c.cgroupsPath).length > 0, 'and so does its cgroup');

	create.kill('SIGKILL');
	await create;
	process.kill(hookPid, 'SIGKILL'); // the hook outlives its parent
	if (viaEngine) {
		// the engine serving that create ends it at once (the caller is gone) and undoes it: the
		// record is "stopped" until then
		const st = await c.run(['state', c.id], { expectExit: null });
		if (st.exitCode === 0) assert.equal(JSON.parse(st.stdout).status, 'stopped', 'a create that died is not "creating"');
		else assert.match(st.stderr, /does not exist/);
	} else {
		assert.equal((await c.state()).status, 'stopped', 'a create that died is not "creating"');
	}

	await c.delete(c.id, { force: true });
	await waitFor(() => !isAlive(during.pid), 10_000, 'the init gone');
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
	assert.equal(fs.existsSync(path.join(c.root, c.id)), false, 'the state dir gone');
});

/** Processes whose cwd is under the test's dir: a helper or an init orphaned before it pivoted. */
function processesIn(dir) {
	const found = [];
	for (const e of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
		let cwd;
		try {
			cwd = fs.readlinkSync(`/proc/${e}/cwd`);
		} catch {
			continue;
		}
		if ((cwd === dir || cwd.startsWith(`${dir}/`)) && isAlive(Number(e))) found.push(Number(e));
	}
	return found;
}

/** What a container id left: its state dir, cgroup dirs, processes in them or in our dir, mounts under our dir. */
function leftovers(c, id) {
	const left = [];
	if (fs.existsSync(path.join(c.root, id))) left.push('state dir');
	for (const d of c.cgroupDirsOf(id)) left.push(`cgroup ${d} (${cgroupProcs(d).join(' ')})`);
	for (const p of processesIn(c.dir)) left.push(`process ${p} (${(procCmdline(p) ?? []).join(' ')})`);
	for (const m of mountsUnder(c.dir)) left.push(`mount ${m.mountPoint}`);
	return left;
}

/**
 * Runs the runtime with TSRUN_STOP_AT_PHASE=phase, waits for it to stop itself there, kills it with
 * SIGKILL. Returns false if it finished without reaching the phase.
 */
async function killAtPhase(c, args, phase) {
	const [file, ...argv] = c.commandLine(args);
	const child = execa(file, argv, { reject: false, stdio: 'ignore', cwd: c.dir, env: { TSRUN_STOP_AT_PHASE: phase } });
	let reached = false;
	const done = child.then(() => true);
	await Promise.race([
		done,
		waitFor(() => fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') && (reached = true), 30_000, `${args[0]} reaching ${phase}`),
	]);
	child.kill('SIGKILL');
	await child;
	return reached;
}

const CREATE_PHASES = ['create: start', 'create: config loaded and validated', 'create: planned', 'create: recorded', 'create: cgroup made', 'create: cgroup ready', 'helper spawned', 'process cloned', 'create: init recorded', 'create: init in its cgroup', 'create: runtime hooks run', 'create: init ready', 'create: created recorded'];
const START_PHASES = ['start: locked', 'start: init released', 'start: recorded'];
const DELETE_PHASES = ['delete: locked', 'delete: init killed', 'delete: processes and cgroup gone', 'delete: poststop hooks run'];

test('kill -9 of create at each of its phases, then delete --force: no process, mount, cgroup or state dir left', { ...opts, timeout: 240_000 }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.hooks = { createRuntime: [{ path: '/bin/true' }] };
	for (const phase of CREATE_PHASES) {
		const id = c.newId();
		const config = structuredClone(c.config);
		config.linux.cgroupsPath = c.cgroupsPathFor(id);
		await c.writeConfig(config);
		assert.ok(await killAtPhase(c, ['create', '--bundle', c.bundle, id], phase), `create reached ${phase}`);
		const st = await c.state(id, { expectExit: null });
		if (st) assert.notEqual(st.status, 'creating', `${phase}: a create that died is not "creating"`);
		await c.delete(id, { force: true });
		await waitFor(() => leftovers(c, id).length === 0, 5000).catch(() => {});
		assert.deepEqual(leftovers(c, id), [], `after kill -9 at "${phase}" and delete --force`);
	}
});

test('kill -9 of start and of delete at each of their phases, then delete --force: nothing left', { ...opts, timeout: 240_000 }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.hooks = { poststart: [{ path: '/bin/true' }], poststop: [{ path: '/bin/true' }] };
	for (const [command, phase] of [...START_PHASES.map((p) => ['start', p]), ...DELETE_PHASES.map((p) => ['delete', p])]) {
		const id = c.newId();
		const config = structuredClone(c.config);
		config.linux.cgroupsPath = c.cgroupsPathFor(id);
		await c.create({ id, config });
		if (command === 'delete') await c.start(id);
		const args = command === 'start' ? ['start', id] : ['delete', '--force', id];
		assert.ok(await killAtPhase(c, args, phase), `${command} reached ${phase}`);
		await c.delete(id, { force: true });
		await waitFor(() => leftovers(c, id).length === 0, 5000).catch(() => {});
		assert.deepEqual(leftovers(c, id), [], `after kill -9 at "${phase}" and delete --force`);
	}
});

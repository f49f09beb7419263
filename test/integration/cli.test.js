// runc's command line in its corners: help requests, unknown commands, --version, list and state
// JSON as runc prints them. Checked against runc too (TSRUN_TEST_RUNTIME=runc).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setup } from '../helpers/fixture.js';
import { isRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot, timeout: 60_000 };

test('cli: -h, --help, CMD -h, help CMD and h CMD print help and exit 0', opts, async (t) => {
	const c = await setup(t);
	for (const args of [['-h'], ['--help'], ['state', '-h'], ['state', '--help'], ['help', 'state'], ['exec', '-h'], ['help'], ['h'], ['h', 'create']]) {
		const r = await c.run(args, { noRoot: true });
		assert.ok(r.stdout.length > 40, `${args.join(' ')}: help on stdout`);
	}
	const state = await c.run(['help', 'state'], { noRoot: true });
	assert.match(state.stdout, /state/);
});

test("cli: an unknown command, with or without -h, is runc's 'No help topic', exit 3", opts, async (t) => {
	const c = await setup(t);
	for (const args of [['foo', '-h'], ['foo'], ['help', 'foo']]) {
		const r = await c.run(args, { noRoot: true, expectExit: 3 });
		assert.match(r.stderr, /No help topic for 'foo'/);
	}
});

test('cli: --version prints the version, commit and spec lines', opts, async (t) => {
	const c = await setup(t);
	const r = await c.run(['--version'], { noRoot: true });
	assert.match(r.stdout, /^\S+ version \S+\ncommit: \S+\nspec: \d+\.\d+\.\d+/);
	if (!isRunc) assert.match(r.stdout, /^libseccomp: \d+\.\d+\.\d+$/m);
});

test("cli: list --format json and state use runc's field order; an empty list is null", opts, async (t) => {
	const c = await setup(t);
	const empty = await c.run(['list', '--format', 'json']);
	assert.equal(empty.stdout.trim(), 'null');
	c.config.annotations = { 'org.example': 'x' };
	c.sh('sleep 60');
	await c.create({ detached: true });
	const order = ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'annotations', 'owner'];
	const [listed] = JSON.parse((await c.run(['list', '--format', 'json'])).stdout);
	assert.deepEqual(Object.keys(listed), order);
	assert.equal(listed.owner, 'root');
	assert.equal(typeof listed.pid, 'number');
	const state = JSON.parse((await c.run(['state', c.id])).stdout);
	assert.deepEqual(Object.keys(state), order);
	assert.equal((await c.run(['list', '-q'])).stdout, `${c.id}\n`);
});

test('run --keep: the exited container stays, stopped, with its cgroup, until delete', opts, async (t) => {
	const c = await setup(t);
	c.sh('exit 3');
	const r = await c.runFg({ args: ['--keep'], expectExit: 3 });
	assert.equal(r.exitCode, 3);
	const state = JSON.parse((await c.run(['state', c.id])).stdout);
	assert.equal(state.status, 'stopped');
	assert.ok(c.cgroupDirsOf(c.id).length > 0, 'the cgroup is kept');
	await c.run(['delete', c.id]);
	assert.deepEqual(c.cgroupDirsOf(c.id), [], 'delete removes it');
	assert.equal((await c.run(['list', '-q'])).stdout, '');
});

test('run --no-subreaper: accepted, the container runs and its status comes back', opts, async (t) => {
	const c = await setup(t);
	c.sh('echo ran; exit 4');
	const r = await c.runFg({ args: ['--no-subreaper'], expectExit: 4 });
	assert.equal(r.stdout, 'ran\n');
});

test('cli: a relative --root is taken from the working directory (create, state, list, delete)', opts, async (t) => {
	const c = await setup(t);
	await c.writeConfig();
	// c.dir is the working directory of every command; root/ is the fixture's --root.
	const rel = { noRoot: true, global: ['--root', 'root'] };
	await c.run(['create', '--bundle', c.bundle, c.id], { ...rel, detached: true });
	const st = JSON.parse((await c.run(['state', c.id], rel)).stdout);
	assert.equal(st.status, 'created');
	assert.ok(fs.existsSync(path.join(c.root, c.id)), 'state dir under <cwd>/root');
	assert.match((await c.run(['list', '-q'], rel)).stdout, new RegExp(`^${c.id}$`, 'm'));
	await c.run(['delete', '--force', c.id], rel);
	assert.equal(fs.existsSync(path.join(c.root, c.id)), false);
});

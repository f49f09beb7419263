// OCI hooks: order, the state on stdin, the namespaces they run in, failures and timeouts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs } from '../helpers/cgroups.js';
import { testProcesses } from '../helpers/cleanup.js';
import { setup } from '../helpers/fixture.js';
import { hostNs, isAlive, nsInode } from '../helpers/proc.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 60_000 };

// Runs with the host's /bin/sh (dash) and with busybox sh inside the container.
const RECORD = [
	'name=$1; out=$2',
	'cat > "$out/$name.state"',
	'echo "$name mnt=$(readlink /proc/self/ns/mnt) pid=$(readlink /proc/self/ns/pid) net=$(readlink /proc/self/ns/net) uts=$(readlink /proc/self/ns/uts) var=$HOOKVAR" >> "$out/order"',
].join('\n');

function recordHook(name, outDir) {
	return { path: '/bin/sh', args: ['sh', '-c', RECORD, 'sh', name, outDir], env: ['HOOKVAR=set-by-config', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'] };
}

/** Hook lines recorded so far: [{ name, mnt, pid, net, uts, var, state }]. */
function readHooks(outDir) {
	const order = fs.existsSync(path.join(outDir, 'order')) ? fs.readFileSync(path.join(outDir, 'order'), 'utf8') : '';
	return order
		.split('\n')
		.filter(Boolean)
		.map((line) => {
			const [name, ...kv] = line.split(' ');
			const rec = { name };
			for (const f of kv) {
				const [k, v] = f.split('=');
				rec[k] = /\[(\d+)\]/.exec(v)?.[1] ?? v;
			}
			rec.state = JSON.parse(fs.readFileSync(path.join(outDir, `${name}.state`), 'utf8'));
			return rec;
		});
}

/** A fixture whose config has all six hooks recording into <dir>/hooks-out. */
async function setupRecording(t) {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const out = c.path('hooks-out');
	fs.mkdirSync(out);
	// startContainer runs inside the container after pivot_root: it writes through a bind mount.
	c.config.mounts.push({ destination: '/hooks-out', type: 'bind', source: out, options: ['bind'] });
	c.config.hooks = {
		prestart: [recordHook('prestart', out)],
		createRuntime: [recordHook('createRuntime', out)],
		createContainer: [recordHook('createContainer', out)],
		startContainer: [recordHook('startContainer', '/hooks-out')],
		poststart: [recordHook('poststart', out)],
		poststop: [recordHook('poststop', out)],
	};
	return { c, out };
}

const names = (hooks) => hooks.map((h) => h.name);

test('create: hooks run in the spec\'s order: create, then start, then delete', { ...opts, skip: needsRoot || notOnRunc('runs poststart hooks during create') }, async (t) => {
	const { c, out } = await setupRecording(t);
	await c.create();
	assert.deepEqual(names(readHooks(out)), ['prestart', 'createRuntime', 'createContainer'], 'after create');
	await c.start();
	await c.waitStatus('running');
	assert.deepEqual(names(readHooks(out)), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart'], 'after start');
	await c.kill(c.id, 'KILL');
	await c.waitStatus('stopped');
	await c.delete();
	const hooks = readHooks(out);
	assert.deepEqual(names(hooks), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
	assert.equal(hooks.find((h) => h.name === 'poststart').state.status, 'running', 'poststart sees "running"');
});

test('create: each hook gets the state on stdin and runs in the namespaces the spec names', opts, async (t) => {
	const { c, out } = await setupRecording(t);
	const { pid } = await c.create();
	const host = { mnt: hostNs('mnt'), pid: hostNs('pid'), net: hostNs('net'), uts: hostNs('uts') };
	const ctr = { mnt: nsInode(pid, 'mnt'), pid: nsInode(pid, 'pid'), net: nsInode(pid, 'net'), uts: nsInode(pid, 'uts') };
	await c.start();
	await c.waitStatus('running');
	await c.kill(c.id, 'KILL');
	await c.waitStatus('stopped');
	await c.delete();
	const hooks = readHooks(out);
	assert.deepEqual(names(hooks).sort(), ['createContainer', 'createRuntime', 'poststart', 'poststop', 'prestart', 'startContainer'], 'each hook ran once');
	const by = Object.fromEntries(hooks.map((h) => [h.name, h]));

	for (const h of hooks) {
		assert.equal(h.state.id, c.id, `${h.name} state.id`);
		assert.equal(h.state.bundle, c.bundle, `${h.name} state.bundle`);
		assert.ok(h.state.ociVersion, `${h.name} state.ociVersion`);
		assert.equal(h.var, 'set-by-config', `${h.name} env from the config`);
	}
	for (const name of ['prestart', 'createRuntime', 'poststart']) {
		assert.equal(by[name].state.pid, pid, `${name} state.pid is the container's`);
	}
	// runc passes the pid as seen in the container's pid namespace (1) to the hooks run inside it.
	for (const name of ['createContainer', 'startContainer']) {
		assert.ok([pid, 1].includes(by[name].state.pid), `${name} state.pid ${by[name].state.pid}`);
	}
	// Status as runc reports it: "creating" until create returns, then created, stopped.
	assert.equal(by.prestart.state.status, 'creating');
	assert.equal(by.createRuntime.state.status, 'creating');
	assert.equal(by.createContainer.state.status, 'creating');
	assert.equal(by.startContainer.state.status, 'created');
	assert.equal(by.poststop.state.status, 'stopped');

	for (const name of ['prestart', 'createRuntime', 'poststart', 'poststop']) {
		assert.equal(by[name].mnt, host.mnt, `${name} runs in the runtime's mount namespace`);
		assert.equal(by[name].net, host.net, `${name} runs in the runtime's network namespace`);
	}
	for (const name of ['createContainer', 'startContainer']) {
		assert.equal(by[name].mnt, ctr.mnt, `${name} runs in the container's mount namespace`);
		assert.notEqual(by[name].mnt, host.mnt);
	}
	assert.equal(by.startContainer.pid, ctr.pid, 'startContainer in the container pid namespace');
	assert.equal(by.startContainer.net, ctr.net, 'startContainer in the container network namespace');
	assert.equal(by.startContainer.uts, ctr.uts, 'startContainer in the container uts namespace');
});

test('create: a failing createRuntime hook fails create and leaves no state dir, cgroup or process', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo hook-failing >&2; exit 7'] }] };
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /hook/i);
	assert.ok(!fs.existsSync(path.join(c.root, c.id)), 'no state dir');
	assert.deepEqual(cgroupDirs(c.cgroupsPath), [], 'no cgroup');
	assert.deepEqual(testProcesses(c.id).map((p) => p.pid), [], 'no process in the container cgroup');
	await c.state(c.id, { expectExit: 1 });
});

test('create: a hook that outlives its timeout is killed and create fails', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const marker = c.path('hook-started');
	c.config.hooks = {
		createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${marker}; exec sleep 100`], timeout: 1 }],
	};
	const t0 = Date.now();
	await c.create({ expectExit: 1 });
	const tookMs = Date.now() - t0;
	assert.ok(tookMs < 15_000, `create took ${tookMs} ms`);
	const hookPid = Number(fs.readFileSync(marker, 'utf8'));
	await waitFor(() => !isAlive(hookPid), 5000, 'hook killed');
	assert.ok(!fs.existsSync(path.join(c.root, c.id)), 'no state dir');
	assert.deepEqual(cgroupDirs(c.cgroupsPath), [], 'no cgroup');
});

test('start: a failing poststart hook is a warning; the next hook runs and the container keeps running (runtime.md)', { ...opts, skip: needsRoot || notOnRunc('runs poststart hooks during create and fails on them') }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const after = c.path('second-hook-ran');
	c.config.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }, { path: '/bin/sh', args: ['sh', '-c', `touch ${after}`] }] };
	await c.create();
	const r = await c.start();
	assert.match(r.stderr, /level=warning.*poststart hook #0.*exit status 3/, r.stderr);
	assert.ok(fs.existsSync(after), 'the remaining poststart hook ran');
	assert.equal((await c.state()).status, 'running');
});

test('delete: a failing poststop hook is only logged; the next hook runs and delete succeeds', { ...opts, skip: needsRoot || notOnRunc('stops at the first failing poststop hook') }, async (t) => {
	const c = await setup(t);
	const after = c.path('second-hook-ran');
	c.config.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }, { path: '/bin/sh', args: ['sh', '-c', `touch ${after}`] }] };
	await c.create();
	await c.start();
	await c.waitStatus('stopped');
	await c.delete();
	assert.ok(!fs.existsSync(path.join(c.root, c.id)));
	assert.ok(fs.existsSync(after), 'the remaining poststop hook ran');
});

test('run: hooks get exactly the configured env and args', opts, async (t) => {
	const c = await setup(t);
	const out = c.path('env-out');
	c.config.hooks = {
		// busybox picks its applet from argv[0]: "sh" here proves args[0] is passed as argv[0].
		createRuntime: [{ path: '/bin/busybox', args: ['sh', '-c', `{ echo "$0 $1"; env | sort; } > ${out}`, 'zero', 'one'], env: ['A=1', 'B=two words'] }],
	};
	await c.runFg();
	const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
	assert.equal(lines[0], 'zero one');
	// busybox sh adds PWD, SHLVL and a default PATH when there is none.
	const env = lines.slice(1).filter((l) => !/^(PWD|SHLVL|_|PATH)=/.test(l));
	assert.deepEqual(env, ['A=1', 'B=two words']);
});

// src/call.ts: each call sees its own output, cwd, log settings and exit status through every
// await, the process's own when there is none; a shared (engine) call waits for a held container
// lock without blocking the event loop.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { callerPath, currentCall, runAsCall } from '../../dist/call.js';
import { configureLog, log } from '../../dist/log.js';
import { ContainerLock } from '../../dist/state/store.js';

function fakeCall(name, shared = true) {
	const lines = [];
	let logConfig = { format: 'text', debug: false };
	return {
		lines,
		call: {
			out: (t) => lines.push(`${name} out ${t}`),
			err: (t) => lines.push(`${name} err ${t}`),
			env: { NAME: name },
			cwd: `/${name}`,
			stdinFd: 0,
			get log() {
				return logConfig;
			},
			set log(next) {
				logConfig = next;
			},
			exitCode: undefined,
			shared,
			startMs: 0,
		},
	};
}

test('call: concurrent calls keep their own output, cwd, --debug and exit status across awaits', async () => {
	const a = fakeCall('a');
	const b = fakeCall('b');
	const body = (debug, code) => async () => {
		configureLog({ format: 'text', debug });
		await new Promise((resolve) => setTimeout(resolve, 5));
		log.debug('dbg');
		currentCall().out(currentCall().env.NAME);
		currentCall().exitCode = code;
		return callerPath('rel');
	};
	const [pa, pb] = await Promise.all([runAsCall(a.call, body(true, 3)), runAsCall(b.call, body(false, 4))]);
	assert.deepEqual([pa, pb], ['/a/rel', '/b/rel']);
	assert.equal(a.lines[0].startsWith('a err time='), true);
	assert.match(a.lines[0], /level=debug msg="dbg"/);
	assert.deepEqual(a.lines.slice(1), ['a out a']);
	assert.deepEqual(b.lines, ['b out b'], 'no debug line: b did not ask for one');
	assert.deepEqual([a.call.exitCode, b.call.exitCode], [3, 4]);
	assert.equal(currentCall().cwd, process.cwd(), 'outside a call: the process itself');
	assert.equal(currentCall().shared, false);
});

test('call: a shared call waits for a held container lock while the event loop runs on', async () => {
	const root = mkdtempSync(join(tmpdir(), 'tsrun-unit-'));
	try {
		const held = ContainerLock.createNew(root, 'c1');
		let ticks = 0;
		const timer = setInterval(() => ticks++, 2);
		let acquired = false;
		const waiting = runAsCall(fakeCall('a').call, () => ContainerLock.acquire(root, 'c1', undefined, true)).then((lock) => {
			acquired = true;
			return lock;
		});
		await new Promise((resolve) => setTimeout(resolve, 60));
		assert.equal(acquired, false, 'the lock is still held');
		assert.ok(ticks > 3, `timers ran while it waited (${ticks})`);
		held.release();
		const lock = await waiting;
		clearInterval(timer);
		assert.equal(acquired, true);
		lock.release();
	} finally {
		rmSync(root, { recursive: true, force: true });
	}
});

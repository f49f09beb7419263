// src/engine/door-session.ts: the engine's side of the wire after a door's request
// (addon/door/wire.h), against a socketpair playing the door: what SPAWN, KILL and FORWARD carry,
// how SPAWNED, CHILD_EXIT and SIGNAL are read, and a door that goes away mid-call.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { test } from 'node:test';
import { DoorSession, childExitOf } from '../../dist/engine/door-session.js';
import { native } from '../../dist/native.js';

// addon/door/wire.h
const { SPAWN, KILL, FORWARD, SPAWNED, CHILD_EXIT, SIGNAL } = { SPAWN: 4, KILL: 5, FORWARD: 6, SPAWNED: 16, CHILD_EXIT: 17, SIGNAL: 18 };

/** A session on one end of a socketpair; the other end reads its messages and answers as a door. */
function pair() {
	const [engineEnd, doorEnd] = native.fdPair('socketpair');
	const session = new DoorSession(engineEnd);
	const door = new Socket({ fd: doorEnd, readable: true, writable: true });
	let pending = Buffer.alloc(0);
	const waiting = [];
	const queue = [];
	door.on('data', (data) => {
		pending = Buffer.concat([pending, data]);
		while (pending.length >= 8 && pending.length >= 8 + pending.readUInt32LE(4)) {
			const len = pending.readUInt32LE(4);
			const msg = { type: pending.readUInt32LE(0), body: pending.subarray(8, 8 + len) };
			pending = pending.subarray(8 + len);
			const w = waiting.shift();
			if (w) w(msg);
			else queue.push(msg);
		}
	});
	return {
		session,
		door,
		next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve))),
		answer(type, ...values) {
			const msg = Buffer.alloc(8 + 4 * values.length);
			msg.writeUInt32LE(type, 0);
			msg.writeUInt32LE(4 * values.length, 4);
			values.forEach((v, i) => msg.writeInt32LE(v, 8 + 4 * i));
			door.write(msg);
		},
		close() {
			door.destroy();
			session.close();
		},
	};
}

test('door session: SPAWN names the file, cwd, argv, env and each child fd; SPAWNED and CHILD_EXIT give the pid and the exit', async () => {
	const p = pair();
	try {
		const [r, w] = native.fdPair('pipe');
		const spawning = p.session.spawn({ file: '/bin/x', argv: ['x', '-a'], env: { A: '1' }, cwd: '/tmp', fds: [{ callerFd: 0 }, w, { callerFd: 2 }] });
		const msg = await p.next();
		assert.equal(msg.type, SPAWN);
		const id = msg.body.readUInt32LE(0);
		assert.equal(msg.body.readUInt32LE(4), 3, 'three child fds');
		// the caller's own fds by number, the engine's attached one as -2 - its index
		assert.deepEqual([0, 1, 2].map((i) => msg.body.readInt32LE(8 + 4 * i)), [0, -2, 2]);
		assert.equal(msg.body.readUInt32LE(20), 2, 'argc');
		assert.equal(msg.body.readUInt32LE(24), 1, 'envc');
		assert.deepEqual(msg.body.subarray(28).toString().split('\0'), ['/bin/x', '/tmp', 'x', '-a', 'A=1', '']);
		p.answer(SPAWNED, id, 4242);
		const child = await spawning;
		assert.equal(child.pid, 4242);
		assert.equal(child.exited, undefined);
		child.kill('SIGTERM');
		const kill = await p.next();
		assert.equal(kill.type, KILL);
		assert.deepEqual([kill.body.readUInt32LE(0), kill.body.readInt32LE(4)], [id, constants.signals.SIGTERM]);
		p.answer(CHILD_EXIT, id, 3 << 8);
		assert.deepEqual(await child.exit, { code: 3, signal: null });
		assert.deepEqual(child.exited, { code: 3, signal: null });
		for (const fd of [r, w]) closeSync(fd);
	} finally {
		p.close();
	}
});

test('door session: a SPAWNED with -errno fails the spawn with that code', async () => {
	const p = pair();
	try {
		const spawning = p.session.spawn({ file: '/no/such', argv: ['x'], env: {}, fds: [{ callerFd: 0 }] });
		const msg = await p.next();
		p.answer(SPAWNED, msg.body.readUInt32LE(0), -constants.errno.ENOENT);
		await assert.rejects(spawning, (err) => err.code === 'ENOENT' && err.path === '/no/such');
	} finally {
		p.close();
	}
});

test('door session: FORWARD carries the signals as a mask, SIGNAL reaches the handler, and giving them back sends 0', async () => {
	const p = pair();
	try {
		const seen = [];
		const off = p.session.onSignals(['SIGTERM', 'SIGHUP'], (sig) => seen.push(sig));
		const on = await p.next();
		assert.equal(on.type, FORWARD);
		assert.equal(on.body.readBigUInt64LE(0), (1n << BigInt(constants.signals.SIGTERM - 1)) | (1n << BigInt(constants.signals.SIGHUP - 1)));
		p.answer(SIGNAL, constants.signals.SIGHUP);
		await new Promise((resolve) => setTimeout(resolve, 50));
		assert.deepEqual(seen, ['SIGHUP']);
		off();
		const back = await p.next();
		assert.equal(back.type, FORWARD);
		assert.equal(back.body.readBigUInt64LE(0), 0n);
	} finally {
		p.close();
	}
});

test('door session: a door gone mid-call ends what waited on it, and the session says so', async () => {
	const p = pair();
	const spawning = p.session.spawn({ file: '/bin/x', argv: ['x'], env: {}, fds: [] });
	const msg = await p.next();
	p.answer(SPAWNED, msg.body.readUInt32LE(0), 77);
	const child = await spawning;
	p.door.destroy();
	assert.deepEqual(await child.exit, { code: null, signal: null });
	assert.equal(p.session.gone, true);
	await assert.rejects(p.session.spawn({ file: '/bin/x', argv: ['x'], env: {}, fds: [] }), (err) => err.code === 'ESRCH');
	p.session.close();
});

test('door session: raw wait statuses as child_process reports them', () => {
	assert.deepEqual(childExitOf(0), { code: 0, signal: null });
	assert.deepEqual(childExitOf(7 << 8), { code: 7, signal: null });
	assert.deepEqual(childExitOf(constants.signals.SIGKILL), { code: null, signal: 'SIGKILL' });
	assert.deepEqual(childExitOf(constants.signals.SIGSEGV | 0x80), { code: null, signal: 'SIGSEGV' });
});

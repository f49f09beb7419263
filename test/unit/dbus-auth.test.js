// The rootless systemd driver's own D-Bus authentication (src/cgroups/dbus-auth.ts), against a
// SASL server on a unix socket that behaves as dbus-daemon does: EXTERNAL without an identity is
// answered with an empty challenge, and a claimed uid that is not the socket's is rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../helpers/wait.js';
import { authenticateExternal, AuthenticatedStream, uidOutside, unixSocketOf } from '../../dist/cgroups/dbus-auth.js';

test('dbus-auth: a uid outside the user namespace from uid_map; unix socket addresses', () => {
	assert.equal(uidOutside('         0       1001          1\n         1     100000      65536\n', 0), 1001);
	assert.equal(uidOutside('0 1001 1\n1 100000 65536\n', 5), 100004);
	assert.equal(uidOutside('0 1001 1\n', 7), undefined);
	assert.equal(unixSocketOf('unix:path=/run/user/1001/bus'), '/run/user/1001/bus');
	assert.equal(unixSocketOf('unix:path=/run/user/1001/bus,guid=abc'), '/run/user/1001/bus');
	assert.equal(unixSocketOf('tcp:host=x,port=1;unix:abstract=/tmp/dbus-x'), '\0/tmp/dbus-x');
	assert.equal(unixSocketOf('unix:path=/tmp/a%20b'), '/tmp/a b');
	assert.equal(unixSocketOf('tcp:host=x,port=1'), undefined);
});

/** A SASL server: `socketUid` is the uid "the kernel reports"; `emptyIdentity` whether it takes EXTERNAL without one. */
function saslServer(t, { socketUid, emptyIdentity }) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-sasl-'));
	const sock = path.join(dir, 'bus');
	const seen = [];
	const conns = [];
	const server = net.createServer((c) => {
		conns.push(c);
		let buf = '';
		let authed = false;
		c.on('data', (d) => {
			buf += d.toString('latin1');
			if (authed) {
				seen.push(`msg:${buf}`);
				buf = '';
				c.write('reply');
				return;
			}
			buf = buf.replace(/^\0/, '');
			let i;
			while (!authed && (i = buf.indexOf('\r\n')) >= 0) {
				const line = buf.slice(0, i);
				buf = buf.slice(i + 2);
				seen.push(line);
				const id = /^AUTH EXTERNAL ([0-9a-f]+)$/.exec(line);
				if (line === 'AUTH EXTERNAL') c.write(emptyIdentity ? 'DATA\r\n' : 'REJECTED EXTERNAL\r\n');
				else if (line === 'DATA') c.write('OK 0123456789abcdef\r\n');
				else if (id) c.write(Buffer.from(id[1], 'hex').toString() === String(socketUid) ? 'OK 0123456789abcdef\r\n' : 'REJECTED EXTERNAL\r\n');
				else if (line === 'BEGIN') authed = true;
				else c.write('ERROR\r\n');
			}
		});
	});
	t.after(() => {
		server.close();
		for (const c of conns) c.destroy();
		fs.rmSync(dir, { recursive: true, force: true });
	});
	return new Promise((resolve) => server.listen(sock, () => resolve({ sock, seen })));
}

function connect(t, sock) {
	return new Promise((resolve, reject) => {
		const s = net.createConnection(sock, () => resolve(s));
		s.once('error', reject);
		t.after(() => s.destroy());
	});
}

/** until the server has read what was sent */
const settled = (seen, n) => waitFor(() => seen.length >= n, 10_000, `${n} lines at the server`);

test('dbus-auth: EXTERNAL without an identity first; a bus that wants one gets the uid outside the namespace', async (t) => {
	const plain = await saslServer(t, { socketUid: 1001, emptyIdentity: true });
	const s1 = await connect(t, plain.sock);
	assert.equal(await authenticateExternal(s1, [1001, 0]), '0123456789abcdef');
	await settled(plain.seen, 3);
	assert.deepEqual(plain.seen, ['AUTH EXTERNAL', 'DATA', 'BEGIN']);
	s1.destroy();

	const strict = await saslServer(t, { socketUid: 1001, emptyIdentity: false });
	const s2 = await connect(t, strict.sock);
	assert.equal(await authenticateExternal(s2, [1001, 0]), '0123456789abcdef');
	await settled(strict.seen, 3);
	assert.deepEqual(strict.seen, ['AUTH EXTERNAL', `AUTH EXTERNAL ${Buffer.from('1001').toString('hex')}`, 'BEGIN']);
	s2.destroy();

	const s3 = await connect(t, strict.sock);
	await assert.rejects(authenticateExternal(s3, [0]), /the bus refused EXTERNAL authentication \(as the socket's owner: REJECTED EXTERNAL; as uid 0: REJECTED EXTERNAL\)/);
	s3.destroy();
});

test('dbus-auth: the library\'s own handshake is answered locally; what follows its BEGIN reaches the bus', async (t) => {
	const bus = await saslServer(t, { socketUid: 1001, emptyIdentity: true });
	const socket = await connect(t, bus.sock);
	const guid = await authenticateExternal(socket, []);
	const stream = new AuthenticatedStream(socket, guid);
	const got = [];
	stream.on('data', (d) => got.push(d.toString('latin1')));
	stream.write('\0');
	stream.write('AUTH EXTERNAL 30\r\n');
	await waitFor(() => got.length >= 1, 10_000, 'the local OK');
	assert.deepEqual(got, [`OK ${guid}\r\n`], 'answered here');
	stream.write('BEGIN\r\n');
	stream.write('hello');
	await settled(bus.seen, 4);
	await waitFor(() => got.length >= 2, 10_000, 'the bus\'s reply');
	assert.deepEqual(bus.seen, ['AUTH EXTERNAL', 'DATA', 'BEGIN', 'msg:hello'], 'the library\'s AUTH and BEGIN never reach the bus');
	assert.deepEqual(got.slice(1), ['reply']);
	stream.destroy();
});

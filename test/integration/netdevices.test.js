// linux.netDevices: a host network device moved into the container's network namespace, renamed,
// its permanent address kept and its link up; gone from the host meanwhile.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { execa } from 'execa';
import { setup } from '../helpers/fixture.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot || notOnRunc('netDevices came in runc 1.3'), timeout: 60_000 };

test('run: linux.netDevices moves a host device in, renamed, with its address, and up', opts, async (t) => {
	const c = await setup(t);
	const tag = crypto.randomBytes(3).toString('hex');
	const [inside, peer] = [`tsrun-${tag}a`, `tsrun-${tag}b`];
	await execa('ip', ['link', 'add', inside, 'type', 'veth', 'peer', 'name', peer]);
	t.after(() => execa('ip', ['link', 'del', peer], { reject: false })); // takes its pair along
	// 192.0.2.0/24 is TEST-NET-1: an address on a link no packet ever leaves
	await execa('ip', ['addr', 'add', '192.0.2.7/24', 'dev', inside]);
	c.config.linux.netDevices = { [inside]: { name: 'ceth0' } };
	const out = await c.inside('ip -o addr show dev ceth0; ip -o link show dev ceth0');
	assert.match(out, /inet 192\.0\.2\.7\/24/);
	assert.match(out, /<[^>]*\bUP\b[^>]*>/);
	const host = await execa('ip', ['link', 'show', inside], { reject: false });
	assert.notEqual(host.exitCode, 0, 'the device left the host while the container had it');
});

test('create: a netDevices entry naming no host device fails and leaves nothing', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.netDevices = { 'tsrun-none0': {} };
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /find network device \\?"tsrun-none0\\?" on the host: no such device/);
});

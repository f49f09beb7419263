// CVE-2019-5736: nothing in a container may reach the host's tsrun-init through /proc/<pid>/exe.
// Between clone and execve the init is still the helper's image, visible to startContainer hooks and
// to containers that join its pid namespace; the helper re-executes from a sealed memfd copy of
// itself, so the link leads to an immutable anonymous file. Each test checks the kernel's view: the
// link as the host reads it, the seals (writes refused with EPERM), and the host binary's sha256.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ALL_CAPS, CAP_BITS } from '../helpers/capabilities.js';
import { setup } from '../helpers/fixture.js';
import { procCmdline, procStatus } from '../helpers/proc.js';
import { isTsrun } from '../helpers/runtime-under-test.js';
import { needsRoot, REPO } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot || (!isTsrun && 'checks how tsrun-init runs itself'), timeout: 60_000 };

const HELPER = path.join(REPO, 'build/Release/tsrun-init');
const MEMFD_LINK = '/memfd:tsrun-init (deleted)';

function sha256(file) {
	return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every capability the host has, so the attacker passes ptrace_may_access on the non-dumpable
 *  init: what stops the write must be the memfd, not a missing CAP_SYS_PTRACE. */
function allCaps(config) {
	const bounding = BigInt(`0x${procStatus('self').CapBnd}`);
	const caps = ALL_CAPS.filter((name) => (bounding >> BigInt(CAP_BITS[name])) & 1n);
	config.process.capabilities = Object.fromEntries(
		['bounding', 'effective', 'permitted', 'inheritable', 'ambient'].map((set) => [set, [...caps]]),
	);
}

/** A host dir bind-mounted at /attack, where the attacker reports what it managed. */
function attackDir(c, config = c.config) {
	const dir = c.path('attack');
	fs.mkdirSync(dir, { recursive: true });
	config.mounts.push({ destination: '/attack', type: 'bind', source: dir, options: ['rbind', 'rw'] });
	return dir;
}

function readOr(file, fallback = '') {
	try {
		return fs.readFileSync(file, 'utf8');
	} catch {
		return fallback;
	}
}

// busybox sh. WRITE_ALL_EXES: write through every /proc/<pid>/exe while the init waits (the window
// CVE-2019-5736 needs). HOLD_EXE, then WRITE_HELD_EXE: keep the init's executable open, wait until
// the init has exec'd (ETXTBSY gone), then write through /proc/self/fd/3, which is how the CVE's
// payload finally overwrote runc. HOLD_EXE runs before the init can exec: in the hook's own shell,
// not in the background job (that could start after the exec).
const WRITE_ALL_EXES = `
readlink /proc/1/exe > /attack/link
for p in /proc/[0-9]*; do if echo x > $p/exe; then echo "$p" >> /attack/wrote; fi; done 2>> /attack/errors
`;
const HOLD_EXE = `
exec 3< /proc/1/exe || exit 1
was=$(readlink /proc/1/exe)
touch /attack/ready
`;
const WRITE_HELD_EXE = `
while [ "$(readlink /proc/1/exe)" = "$was" ] || [ ! -e /attack/go ]; do sleep 0.05; done
if echo x > /proc/self/fd/3; then echo wrote > /attack/late; else echo refused > /attack/late; fi 2>> /attack/late-errors
sha256sum /proc/self/fd/3 > /attack/copy-sha.tmp && mv /attack/copy-sha.tmp /attack/copy-sha
`;

/** What the attacker wrote to /attack, asserted: the link it saw, and no write went through. */
function assertRefused(dir, helperSha) {
	assert.equal(readOr(path.join(dir, 'link')).trim(), MEMFD_LINK, 'the attacker reads /proc/1/exe as the memfd');
	assert.equal(readOr(path.join(dir, 'wrote')), '', `writes through /proc/<pid>/exe succeeded; errors:\n${readOr(path.join(dir, 'errors'))}`);
	assert.match(readOr(path.join(dir, 'errors')), /\/proc\/1\/exe.*(busy|denied|not permitted)/i, 'the write to the init was attempted and refused');
	assert.equal(readOr(path.join(dir, 'late')).trim(), 'refused', `write through a held fd after the init's exec: ${readOr(path.join(dir, 'late-errors'))}`);
	// The copy the attacker held is intact too: the seals, not just ETXTBSY, refused the write.
	assert.equal(readOr(path.join(dir, 'copy-sha')).split(/\s/)[0], helperSha, 'the memfd copy is unchanged');
	assert.equal(sha256(HELPER), helperSha, 'host tsrun-init unchanged');
}

test('create: the waiting init runs from a sealed memfd copy of tsrun-init, not the host file', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const before = sha256(HELPER);
	const { pid } = await c.create();

	assert.equal(procCmdline(pid)[0], HELPER, 'the init was started from this build');
	assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), MEMFD_LINK);
	const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
	assert.ok(!maps.includes(HELPER), `the host binary is not mapped:\n${maps}`);
	assert.ok(maps.includes(MEMFD_LINK), `the image is mapped from the memfd:\n${maps}`);
	for (const flags of [fs.constants.O_WRONLY, fs.constants.O_RDWR | fs.constants.O_TRUNC]) {
		assert.throws(() => fs.openSync(`/proc/${pid}/exe`, flags), { code: 'ETXTBSY' }, `open /proc/${pid}/exe with flags ${flags}`);
	}

	// The CVE's second half from the host's side: hold the file, let the init exec, write.
	const held = fs.openSync(`/proc/${pid}/exe`, 'r');
	c.defer(() => fs.closeSync(held));
	assert.equal(crypto.createHash('sha256').update(fs.readFileSync(`/proc/self/fd/${held}`)).digest('hex'), before, 'the copy is exact');
	await c.start();
	await waitFor(() => fs.readlinkSync(`/proc/${pid}/exe`) !== MEMFD_LINK, 10_000, 'init execs the container process');
	const w = fs.openSync(`/proc/self/fd/${held}`, fs.constants.O_WRONLY);
	try {
		assert.throws(() => fs.writeSync(w, 'x'), { code: 'EPERM' }, 'F_SEAL_WRITE');
		assert.throws(() => fs.ftruncateSync(w, 0), { code: 'EPERM' }, 'F_SEAL_SHRINK');
		assert.throws(() => fs.ftruncateSync(w, 1 << 24), { code: 'EPERM' }, 'F_SEAL_GROW');
	} finally {
		fs.closeSync(w);
	}
	assert.equal(sha256(HELPER), before, 'host tsrun-init unchanged');
});

test('start: a startContainer hook cannot write tsrun-init through /proc/1/exe', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	allCaps(c.config);
	const dir = attackDir(c);
	// The hook returns at once; its background half waits for the init's exec, as a real payload would.
	c.config.hooks = {
		startContainer: [{ path: '/bin/sh', args: ['sh', '-c', `${WRITE_ALL_EXES}${HOLD_EXE}(touch /attack/go; ${WRITE_HELD_EXE}) </dev/null >/dev/null 2>/attack/background-errors &`] }],
	};
	const before = sha256(HELPER);
	const { pid } = await c.create();
	assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), MEMFD_LINK);
	await c.start();
	await waitFor(() => fs.existsSync(path.join(dir, 'copy-sha')), 10_000, 'the hook\'s late write').catch((err) => {
		throw new Error(`${err.message}; its stderr: ${readOr(path.join(dir, 'background-errors'))}`);
	});
	assertRefused(dir, before);
});

test('create: a container joining the pid namespace of a created one cannot write tsrun-init through /proc/<pid>/exe', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const before = sha256(HELPER);
	const first = await c.create();
	assert.equal(fs.readlinkSync(`/proc/${first.pid}/exe`), MEMFD_LINK);

	const id2 = c.newId();
	const cfg2 = structuredClone(c.config);
	cfg2.linux.cgroupsPath = c.cgroupsPathFor(id2);
	cfg2.root.path = c.rootfs;
	cfg2.linux.namespaces = cfg2.linux.namespaces.map((n) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${first.pid}/ns/pid` } : n));
	allCaps(cfg2);
	const dir = attackDir(c, cfg2);
	cfg2.process.args = ['sh', '-c', WRITE_ALL_EXES + HOLD_EXE + WRITE_HELD_EXE];

	// Created and started, not `run`: a foreground stage 0 would keep executing the helper and its
	// ETXTBSY would hide a missing seal.
	await c.create({ id: id2, bundle: c.path('bundle2'), config: cfg2 });
	await c.start(id2);
	await waitFor(() => fs.existsSync(path.join(dir, 'ready')), 10_000, 'the second container holds /proc/1/exe');
	assert.equal(fs.readlinkSync(`/proc/${first.pid}/exe`), MEMFD_LINK, 'the first init still waits');

	await c.start();
	await waitFor(() => fs.readlinkSync(`/proc/${first.pid}/exe`) !== MEMFD_LINK, 10_000, 'the first init execs');
	fs.writeFileSync(path.join(dir, 'go'), '');
	await waitFor(() => fs.existsSync(path.join(dir, 'copy-sha')), 10_000, 'the second container\'s late write');
	assertRefused(dir, before);
});

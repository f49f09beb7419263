// linux.resources.devices on cgroup v2: the rules become an eBPF program attached to the container's
// cgroup, and the kernel enforces it. Checked from inside (opening allowed and denied device nodes) and
// from the host (BPF_PROG_QUERY on the cgroup directory, through the addon).
//
// On a hybrid host (v1 controllers, cgroup2 at /sys/fs/cgroup/unified) each runtime command runs in a
// private mount namespace with cgroup2 mounted at /sys/fs/cgroup, so the runtime takes the host for
// pure v2; the cgroup it makes is a real cgroup2 directory, seen here under /sys/fs/cgroup/unified.
// The namespace ends with the command, and the mount with it.
//
// The device nodes use a major no driver has registered: an open the filter lets through reaches the
// kernel's lookup and fails with ENXIO ("No such device or address"); one it stops fails with EPERM.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { native } from '../../dist/native.js';
import { setup } from '../helpers/fixture.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { useCgroupV2, v2Dir, v2Skip } from '../helpers/cgroup-v2.js';

const opts = { skip: v2Skip, timeout: 90_000 };

/** A major of /proc/devices' "Character devices" or "Block devices" no driver holds (LANANA's local range). */
function freeMajor(section) {
	const text = fs.readFileSync('/proc/devices', 'utf8');
	const part = text.split(/\n\s*\n/).find((p) => p.startsWith(section)) ?? '';
	const used = new Set(part.split('\n').slice(1).map((l) => Number.parseInt(l, 10)));
	const free = [120, 121, 122, 123, 124, 125, 126, 127, 60, 61, 62, 63].find((m) => !used.has(m));
	if (free === undefined) throw new Error(`no free ${section} major in 60-63, 120-127`);
	return free;
}
const C = freeMajor('Character devices');
const B = freeMajor('Block devices');

/** A fixture whose runtime sees cgroup v2, with CAP_MKNOD and the test's device rules after the base config's deny-all. */
async function v2Setup(t, { args, devices }) {
	const c = useCgroupV2(await setup(t, { args }));
	for (const set of ['bounding', 'effective', 'permitted']) c.config.process.capabilities[set].push('CAP_MKNOD');
	c.config.linux.resources.devices.push(...devices);
	return c;
}

const RULES = [
	{ allow: true, type: 'c', major: C, minor: 1, access: 'rw' },
	{ allow: true, type: 'c', major: C, minor: 3, access: 'r' },
];
/** What RULES (and the defaults every container gets) let through. */
const RULES_VERDICTS = {
	'null rw': 'allowed',
	'c1 r': 'allowed',
	'c1 rw': 'allowed',
	'c2 r': 'denied',
	'c2 w': 'denied',
	'c3 r': 'allowed',
	'c3 w': 'denied',
	'c3 rw': 'denied',
	'b1 r': 'denied',
};

/**
 * Makes the nodes (if missing) and opens each: "name: ok" or "name: <the shell's error>". Its stderr
 * goes to stdout rather than to /dev/null, which is a device too.
 */
const CHECKS = [
	['null rw', 'true <> /dev/null'],
	['c1 r', 'true < /dev/devf-c1'],
	['c1 rw', 'true <> /dev/devf-c1'],
	['c2 r', 'true < /dev/devf-c2'],
	['c2 w', 'true > /dev/devf-c2'],
	['c3 r', 'true < /dev/devf-c3'],
	['c3 w', 'true > /dev/devf-c3'],
	['c3 rw', 'true <> /dev/devf-c3'],
	['b1 r', 'true < /dev/devf-b1'],
];
const checkScript = [
	`for spec in "c ${C} 1" "c ${C} 2" "c ${C} 3" "b ${B} 1"; do set -- $spec`,
	'  [ -e /dev/devf-$1$3 ] || mknod /dev/devf-$1$3 $1 $2 $3 || echo "mknod $spec: failed"',
	'done',
	'check() { if msg=$( (eval "$2") 2>&1 ); then echo "$1: ok"; else echo "$1: $msg"; fi; }',
	...CHECKS.map(([name, cmd]) => `check '${name}' '${cmd}'`),
].join('\n');

/** "allowed" when the open got past the filter (success, or the missing driver's ENXIO), "denied" on EPERM. */
function verdicts(out) {
	const seen = {};
	for (const line of out.split('\n')) {
		const m = /^([\w ]+): (.*)$/.exec(line);
		if (!m) continue;
		const msg = m[2];
		seen[m[1]] = msg === 'ok' || /No such device/.test(msg) ? 'allowed' : /Operation not permitted/.test(msg) ? 'denied' : msg;
	}
	return seen;
}

/** ids of the device programs attached to the container's cgroup (BPF_PROG_QUERY). */
function attachedPrograms(c) {
	const fd = fs.openSync(v2Dir(c), 'r');
	try {
		return native.bpfQueryCgroupDevice(fd);
	} finally {
		fs.closeSync(fd);
	}
}

test('run: on cgroup v2 the device rules hold inside the container; an open needs all its access granted', opts, async (t) => {
	const c = await v2Setup(t, { devices: RULES });
	const out = await c.inside(`cat /proc/self/cgroup\n${checkScript}`);
	// the v2 filter, not a v1 devices cgroup, is what decides
	assert.match(out, new RegExp(`^0::${c.cgroupsPath}$`, 'm'), out);
	assert.doesNotMatch(out, /^\d+:devices:\/./m, out);
	assert.doesNotMatch(out, /mknod .*failed/, 'mknod of any device is allowed (c *:* m, b *:* m)');
	assert.deepEqual(verdicts(out), RULES_VERDICTS, out);
});

test('run: on cgroup v2 a later deny punches a hole in an earlier wildcard allow (the last match wins)',
	{ ...opts, skip: opts.skip || notOnRunc('refuses to "punch a hole in an existing wildcard rule"') }, async (t) => {
		const c = await v2Setup(t, {
			devices: [
				{ allow: true, type: 'c', major: C, access: 'r' },
				{ allow: false, type: 'c', major: C, minor: 2, access: 'r' },
				{ allow: true, type: 'c', major: C, minor: 1, access: 'rw' },
			],
		});
		const out = await c.inside(checkScript);
		assert.deepEqual(verdicts(out), { ...RULES_VERDICTS, 'c2 r': 'denied', 'c3 r': 'allowed' }, out);
	});

/** A started container with RULES whose cgroup holds one device program; returns the fixture and the program's id. */
async function startedWithOneProgram(t) {
	const c = await v2Setup(t, { args: ['sleep', '1000'], devices: RULES });
	await c.create();
	const attached = attachedPrograms(c);
	assert.equal(attached.length, 1, `programs attached after create: ${attached}`);
	await c.start();
	return { c, id: attached[0] };
}

test('create: one device program stays attached to the container\'s cgroup after the runtime exits, and exec is held to it', opts, async (t) => {
	const { c, id } = await startedWithOneProgram(t);
	const r = await c.run(['exec', c.id, 'sh', '-c', checkScript]);
	assert.deepEqual(verdicts(r.stdout), RULES_VERDICTS, r.stdout);
	assert.deepEqual(attachedPrograms(c), [id]);
});

test('update: new device rules attach a new program in place of the old one',
	{ ...opts, skip: opts.skip || notOnRunc('update leaves the device rules as create set them') }, async (t) => {
		const { c, id } = await startedWithOneProgram(t);
		const devices = [
			{ allow: false, access: 'rwm' },
			{ allow: true, type: 'c', access: 'm' },
			{ allow: true, type: 'b', access: 'm' },
			{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
			{ allow: true, type: 'c', major: C, minor: 3, access: 'rw' },
		];
		await c.run(['update', '--resources', '-', c.id], { input: JSON.stringify({ devices }) });
		const updated = attachedPrograms(c);
		assert.equal(updated.length, 1, `programs attached after update: ${updated}`);
		assert.notEqual(updated[0], id, 'a new program replaced the one create attached');
		const r = await c.run(['exec', c.id, 'sh', '-c', checkScript]);
		assert.deepEqual(verdicts(r.stdout), {
			...RULES_VERDICTS,
			'c1 r': 'denied',
			'c1 rw': 'denied',
			'c3 w': 'allowed',
			'c3 rw': 'allowed',
		}, r.stdout);
	});

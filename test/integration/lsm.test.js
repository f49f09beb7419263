// AppArmor and SELinux labels as runc applies them. On a host without the LSM (this CI host has
// neither) a config or an exec that names a profile or a label fails, as with runc 1.1.5 (and the
// newest runc: it writes the profile whatever the host, and the kernel refuses it); a mount label
// goes into the mounts' options, so the kernel refuses it there too, except on an mqueue mount,
// which runc retries without it. Where the host has the LSM, the label is checked from inside.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { setup, setupRunning } from '../helpers/fixture.js';
import { isAlive } from '../helpers/proc.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot, timeout: 60_000 };

/** runc's apparmor.IsEnabled */
const hostHasAppArmor = (() => {
	try {
		return fs.existsSync('/sys/kernel/security/apparmor') && fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
	} catch {
		return false;
	}
})();
/** go-selinux's GetEnabled, near enough: a selinuxfs mounted */
const hostHasSelinux = /^\S+ \S+ selinuxfs /m.test(fs.readFileSync('/proc/self/mounts', 'utf8'));
const withoutAppArmor = { ...opts, skip: opts.skip || (hostHasAppArmor && 'the host has AppArmor: this checks a host without it') };
const withoutSelinux = { ...opts, skip: opts.skip || (hostHasSelinux && 'the host has SELinux: this checks a host without it') };

const SELINUX_LABEL = 'system_u:system_r:container_t:s0:c1,c2';
const MOUNT_LABEL = 'system_u:object_r:container_file_t:s0:c1,c2';

/** A run that must fail before the process starts, leaving no container behind. */
async function refused(c, pattern) {
	c.sh('echo the-process-ran');
	const r = await c.runFg({ expectExit: 1 });
	assert.doesNotMatch(r.stdout, /the-process-ran/);
	assert.match(r.stderr, pattern);
	await c.run(['state', c.id], { expectExit: 'nonzero' });
	return r;
}

test('run: process.apparmorProfile on a host without AppArmor fails before the process starts (as runc)', withoutAppArmor, async (t) => {
	const c = await setup(t);
	c.config.process.apparmorProfile = 'tsrun-test-profile';
	await refused(c, /apparmor/i);
});

test('run: process.selinuxLabel on a host without SELinux fails before the process starts (as runc)', withoutSelinux, async (t) => {
	const c = await setup(t);
	c.config.process.selinuxLabel = SELINUX_LABEL;
	await refused(c, /selinux label .*is specified in config, but selinux is disabled or not supported/i);
});

test('run: an empty apparmorProfile and selinuxLabel are none (as runc)', opts, async (t) => {
	const c = await setup(t);
	c.config.process.apparmorProfile = '';
	c.config.process.selinuxLabel = '';
	c.config.linux.mountLabel = '';
	assert.match(await c.inside('echo ran'), /^ran$/m);
});

test('run: linux.mountLabel on a host without SELinux: the kernel refuses the context= option of the /dev tmpfs (as runc)', withoutSelinux, async (t) => {
	const c = await setup(t);
	c.config.linux.mountLabel = MOUNT_LABEL;
	await refused(c, /\/dev\b.*invalid argument/i);
});

test('run: linux.mountLabel on a host without SELinux: mqueue is mounted without it (runc\'s fallback), masked directories get it', withoutSelinux, async (t) => {
	const c = await setup(t);
	c.config.linux.mountLabel = MOUNT_LABEL;
	c.config.mounts = c.config.mounts.filter((m) => m.destination === '/proc' || m.destination === '/dev/mqueue');
	const masked = c.config.linux.maskedPaths;
	c.config.linux.maskedPaths = [];
	const out = await c.inside('grep " /dev/mqueue " /proc/self/mountinfo');
	assert.match(out, / \/dev\/mqueue .* - mqueue mqueue rw$/m);
	assert.doesNotMatch(out, /context=/);
	// the tmpfs over a masked directory carries the label too, so here it fails (/proc/acpi, a
	// directory where the kernel has ACPI; /sys/firmware always is one)
	c.config.linux.maskedPaths = masked;
	c.config.mounts.push({ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] });
	c.id = c.newId();
	await refused(c, /invalid argument/i);
});

test('exec: --apparmor and --process-label on a host without the LSM fail; the container runs on', { ...opts, skip: opts.skip || ((hostHasAppArmor || hostHasSelinux) && 'the host has AppArmor or SELinux') }, async (t) => {
	const { c, pid } = await setupRunning(t);
	const a = await c.run(['exec', '--apparmor', 'tsrun-test-profile', c.id, 'echo', 'the-process-ran'], { expectExit: 255 });
	assert.match(a.stderr, /apparmor/i);
	const s = await c.run(['exec', '--process-label', SELINUX_LABEL, c.id, 'echo', 'the-process-ran'], { expectExit: 255 });
	assert.match(s.stderr, /selinux label .*is specified in config, but selinux is disabled or not supported/i);
	for (const r of [a, s]) assert.doesNotMatch(r.stdout, /the-process-ran/);
	const file = c.path('process.json');
	fs.writeFileSync(file, JSON.stringify({ ...c.config.process, args: ['echo', 'the-process-ran'], apparmorProfile: 'tsrun-test-profile' }));
	await c.run(['exec', '--process', file, c.id], { expectExit: 255 });
	assert.ok(isAlive(pid));
	const ok = await c.run(['exec', c.id, 'echo', 'the-process-ran']);
	assert.match(ok.stdout, /the-process-ran/);
});

test('run: process.apparmorProfile "unconfined" is the process\'s profile where the host has AppArmor', { ...opts, skip: opts.skip || (!hostHasAppArmor && 'the host has no AppArmor') }, async (t) => {
	const c = await setup(t);
	c.config.process.apparmorProfile = 'unconfined';
	assert.match(await c.inside('cat /proc/self/attr/current'), /^unconfined/);
});

test('run: process.selinuxLabel is the process\'s label where the host has SELinux (the caller\'s own label)', { ...opts, skip: opts.skip || (!hostHasSelinux && 'the host has no SELinux') }, async (t) => {
	const c = await setup(t);
	const label = fs.readFileSync('/proc/self/attr/current', 'utf8').replace(/\0?\n?$/, '');
	c.config.process.selinuxLabel = label;
	assert.equal((await c.inside('cat /proc/self/attr/current')).replace(/\0?\n?$/, ''), label);
});

test('features: linux.apparmor and linux.selinux enabled: the runtime supports them, whatever the host has (as runc)', opts, async (t) => {
	const c = await setup(t);
	const f = JSON.parse((await c.run(['features'])).stdout);
	assert.deepEqual(f.linux.apparmor, { enabled: true });
	assert.deepEqual(f.linux.selinux, { enabled: true });
});

// Bundles the runtime must accept or refuse: bad configs, `spec` output, runc's default config;
// and the informational commands (features, --version).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { cgroupDirs } from '../helpers/cgroups.js';
import { testProcesses } from '../helpers/cleanup.js';
import { setup } from '../helpers/fixture.js';
import { isRunc, notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot, timeout: 60_000 };
const RUNC = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].find((p) => fs.existsSync(p));

/** Nothing of a failed create remains: no state dir, cgroup or process. */
function assertNothingLeft(c) {
	assert.ok(!fs.existsSync(path.join(c.root, c.id)), 'no state dir');
	assert.deepEqual(cgroupDirs(c.cgroupsPath), [], 'no cgroup');
	assert.deepEqual(testProcesses(c.id), [], 'no process');
}

test('create: a relative process.cwd is refused, naming the field, and leaves nothing', opts, async (t) => {
	const c = await setup(t);
	c.config.process.cwd = 'relative/dir';
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /cwd/i);
	if (!isRunc) assert.match(r.stderr, /\/process\/cwd/, 'JSON pointer to the field');
	assertNothingLeft(c);
});

test('create: a config that is not JSON is refused and leaves nothing', opts, async (t) => {
	const c = await setup(t);
	fs.writeFileSync(path.join(c.bundle, 'config.json'), '{"ociVersion": "1.0.2", ');
	const r = await c.create({ writeConfig: false, expectExit: 1 });
	assert.match(r.stderr, /config\.json|JSON|unexpected/i);
	assertNothingLeft(c);
});

test('create: a missing config.json is refused', opts, async (t) => {
	const c = await setup(t);
	const r = await c.create({ writeConfig: false, expectExit: 1 });
	assert.match(r.stderr, /config\.json/);
	assertNothingLeft(c);
});

test('create: a wrongly typed field is refused naming its JSON pointer', { ...opts, skip: needsRoot || (isRunc && 'runc does not report JSON pointers') }, async (t) => {
	const c = await setup(t);
	c.config.process.user.uid = 'root';
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /\/process\/user\/uid/);
	assertNothingLeft(c);
});

test('create: a missing root filesystem fails and leaves nothing', opts, async (t) => {
	const c = await setup(t);
	c.config.root.path = 'no-such-rootfs';
	await c.create({ expectExit: 1 });
	assertNothingLeft(c);
});

test('create: an invalid container id is refused', opts, async (t) => {
	const c = await setup(t);
	await c.writeConfig();
	for (const bad of ['../escape', 'a/b', '..']) {
		const r = await c.run(['create', '--bundle', c.bundle, bad], { expectExit: 1, detached: true });
		assert.match(r.stderr, /invalid|id/i, bad);
	}
	assert.deepEqual(fs.readdirSync(c.root), []);
	assert.ok(!fs.existsSync(path.join(c.dir, 'escape')));
});

test('spec: writes a config.json that run accepts once args are set', opts, async (t) => {
	const c = await setup(t);
	const r = await c.run(['spec'], { cwd: c.bundle });
	assert.equal(r.exitCode, 0);
	const spec = JSON.parse(fs.readFileSync(path.join(c.bundle, 'config.json'), 'utf8'));
	assert.equal(spec.root.path, 'rootfs');
	assert.ok(Array.isArray(spec.process.args));
	assert.ok(spec.linux.namespaces.some((n) => n.type === 'mount'));
	// A second spec refuses to overwrite.
	await c.run(['spec'], { cwd: c.bundle, expectExit: 1 });
	spec.process.terminal = false;
	spec.process.args = ['sh', '-c', 'echo from-spec-bundle; hostname'];
	spec.linux.cgroupsPath = c.cgroupsPath;
	const out = await c.runFg({ config: spec });
	assert.match(out.stdout, /^from-spec-bundle\n/);
});

test('spec: --bundle writes into that directory', opts, async (t) => {
	const c = await setup(t);
	const dir = c.path('other-bundle');
	fs.mkdirSync(dir);
	await c.run(['spec', '--bundle', dir]);
	assert.ok(fs.existsSync(path.join(dir, 'config.json')));
});

test('spec: --rootless writes user namespace mappings', { ...opts, timeout: 20_000 }, async (t) => {
	const c = await setup(t);
	await c.run(['spec', '--rootless'], { cwd: c.bundle });
	const spec = JSON.parse(fs.readFileSync(path.join(c.bundle, 'config.json'), 'utf8'));
	assert.ok(spec.linux.namespaces.some((n) => n.type === 'user'));
	assert.ok(spec.linux.uidMappings?.length > 0);
});

test('run: runc spec\'s default config runs unchanged (terminal false, args set)', { ...opts, skip: needsRoot || (!RUNC && 'runc not installed') }, async (t) => {
	const c = await setup(t);
	await execa(RUNC, ['spec'], { cwd: c.bundle });
	const spec = JSON.parse(fs.readFileSync(path.join(c.bundle, 'config.json'), 'utf8'));
	spec.process.terminal = false;
	spec.process.args = ['sh', '-c', 'echo from-runc-spec; cat /proc/self/status | grep -E "^(NoNewPrivs|CapEff)"'];
	// No cgroupsPath: the runtime picks its default; cleanup also looks at /<id>.
	const r = await c.runFg({ config: spec });
	assert.match(r.stdout, /^from-runc-spec\n/);
	assert.match(r.stdout, /NoNewPrivs:\s+1/);
	assert.deepEqual(cgroupDirs(`/${c.id}`), [], 'default cgroup removed after run');
});

test('run: runc spec\'s default config runs byte-for-byte unchanged (terminal, interactive sh fed on stdin)', { ...opts, skip: needsRoot || (!RUNC && 'runc not installed') || notOnRunc('run with a terminal needs a controlling /dev/tty in the caller') }, async (t) => {
	const c = await setup(t);
	await execa(RUNC, ['spec'], { cwd: c.bundle });
	const r = await c.run(['run', '--bundle', c.bundle, c.id], {
		input: 'echo from-$(hostname); exit 7\n',
		timeoutMs: 60_000,
		expectExit: 7,
	});
	c.ids.add(c.id);
	assert.match(r.stdout, /from-runc/);
	assert.deepEqual(cgroupDirs(`/${c.id}`), [], 'default cgroup removed after run');
});

test('features: prints the OCI features JSON', opts, async (t) => {
	const c = await setup(t);
	const r = await c.run(['features']);
	const f = JSON.parse(r.stdout);
	assert.match(f.ociVersionMin, /^1\.0\./);
	assert.match(f.ociVersionMax, /^1\./);
	for (const h of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) assert.ok(f.hooks.includes(h), h);
	for (const o of ['bind', 'rbind', 'ro', 'nosuid', 'nodev', 'noexec']) assert.ok(f.mountOptions.includes(o), o);
	for (const n of ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup']) assert.ok(f.linux.namespaces.includes(n), n);
	assert.ok(f.linux.capabilities.includes('CAP_SYS_ADMIN'));
});

test('--version: prints "<name> version X" and the spec version', opts, async (t) => {
	const c = await setup(t);
	const r = await c.run(['--version'], { noRoot: true });
	assert.match(r.stdout, /^\S+ version \S+/);
	assert.match(r.stdout, /^spec: 1\.\d+\.\d+/m);
});

// linux.namespaces, hostname, domainname: compare /proc/<pid>/ns/* of the container with the host's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isCgroupV1 } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { hasNs, hostNs, nsInode, procStatus } from '../helpers/proc.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot, RUN_ID } from '../helpers/test-run.js';
import { inUserNamespace } from '../helpers/userns.js';

const opts = { skip: needsRoot, timeout: 60_000 };
const HAS_IP = ['/usr/sbin/ip', '/usr/bin/ip', '/sbin/ip', '/bin/ip'].some((p) => fs.existsSync(p));

const ALL = ['pid', 'net', 'mnt', 'ipc', 'uts', 'cgroup'];
const SPEC_NAME = { pid: 'pid', net: 'network', mnt: 'mount', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup', user: 'user', time: 'time' };

test('create: each requested namespace is new, the others are the host\'s', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.linux.namespaces = ALL.map((n) => ({ type: SPEC_NAME[n] }));
	const { pid } = await c.create();
	for (const n of ALL) assert.notEqual(nsInode(pid, n), hostNs(n), `${n} namespace is new`);
	assert.equal(nsInode(pid, 'user'), hostNs('user'), 'user namespace is the host\'s');
});

test('create: without a namespace entry the container shares the host\'s', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	// mount is needed for the rootfs; everything else is shared.
	c.config.linux.namespaces = [{ type: 'mount' }];
	c.config.mounts = c.config.mounts.filter((m) => !['/sys', '/sys/fs/cgroup', '/dev/mqueue'].includes(m.destination));
	delete c.config.hostname;
	const { pid } = await c.create();
	for (const n of ['pid', 'net', 'ipc', 'uts', 'cgroup']) assert.equal(nsInode(pid, n), hostNs(n), `${n} shared`);
	assert.notEqual(nsInode(pid, 'mnt'), hostNs('mnt'));
});

test('run: in a new pid namespace the process is pid 1', opts, async (t) => {
	const c = await setup(t);
	assert.equal(await c.inside('echo $$'), '1\n');
});

test('create: a user namespace gets the uid_map and gid_map of the config', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.linux.namespaces.push({ type: 'user' });
	c.config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
	c.config.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
	// sysfs and cgroupfs need more care in a user namespace; not what this test is about.
	c.config.mounts = c.config.mounts.filter((m) => !['/sys', '/sys/fs/cgroup'].includes(m.destination));
	// The mapped root must be able to reach the rootfs.
	await execa('chown', ['-R', '100000:200000', c.rootfs]);
	const { pid } = await c.create();
	assert.notEqual(nsInode(pid, 'user'), hostNs('user'));
	assert.equal(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), '0 100000 65536');
	assert.equal(fs.readFileSync(`/proc/${pid}/gid_map`, 'utf8').trim().split(/\s+/).join(' '), '0 200000 65536');
	await c.start();
	await c.waitStatus('running');
	const st = procStatus(pid);
	assert.match(st.Uid, /^100000\s/, 'host view of the container root');
	assert.match(st.Gid, /^200000\s/);
});

test('run: inside a user namespace the process sees uid 0 mapped', opts, async (t) => {
	const c = await setup(t);
	await inUserNamespace(c);
	const out = await c.inside('id -u; cat /proc/self/uid_map');
	const [uid, map] = out.trim().split('\n');
	assert.equal(uid, '0');
	assert.equal(map.trim().split(/\s+/).join(' '), '0 100000 65536');
});

/** Host dirs `names` in the test dir, each 0700 and root's (so a user namespace's root, host uid
 * 100000, cannot search them), holding an open dir/foo.txt; dir is bound at /tmp/<name>. */
function inaccessibleBinds(c, names) {
	return names.map((name) => {
		fs.mkdirSync(c.path(name, 'dir'), { recursive: true, mode: 0o755 });
		fs.chmodSync(c.path(name), 0o700);
		fs.writeFileSync(c.path(name, 'dir', 'foo.txt'), `${name}\n`);
		return { destination: `/tmp/${name}`, type: 'bind', source: c.path(name, 'dir'), options: ['bind'] };
	});
}

test('run: in a user namespace, bind sources its root cannot reach are mounted (opened before joining it)', opts, async (t) => {
	const c = await setup(t);
	await inUserNamespace(c);
	c.config.mounts.push(...inaccessibleBinds(c, ['mount-1', 'mount-2']));
	assert.equal(await c.inside('cat /tmp/mount-1/foo.txt /tmp/mount-2/foo.txt'), 'mount-1\nmount-2\n');
	// The init's own credentials could not have opened them.
	assert.equal(fs.statSync(c.path('mount-1')).mode & 0o777, 0o700);
});

test('exec: in a user namespace, bind sources its root cannot reach are there for an exec\'d process too', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await inUserNamespace(c);
	c.config.mounts.push(...inaccessibleBinds(c, ['mount-1', 'mount-2']));
	await c.create();
	await c.start();
	const r = await c.run(['exec', c.id, 'cat', '/tmp/mount-1/foo.txt', '/tmp/mount-2/foo.txt']);
	assert.equal(r.stdout, 'mount-1\nmount-2\n');
});

test('run: in a user namespace without a cgroup namespace, bind mounts listed before and after the cgroupfs mount work', { ...opts, skip: opts.skip || (!isCgroupV1 && 'cgroup v1 only: its cgroupfs mount is a set of binds') }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await inUserNamespace(c, { keep: ['/sys', '/sys/fs/cgroup'] });
	// Both unreachable for the namespace's root, so each comes from its own opened source; the
	// cgroupfs mount in between becomes several binds of its own.
	const [before, after] = inaccessibleBinds(c, ['mount-1', 'mount-2']);
	const at = c.config.mounts.findIndex((m) => m.destination === '/sys/fs/cgroup');
	c.config.mounts.splice(at, 0, before);
	c.config.mounts.push(after);
	assert.ok(!c.config.linux.namespaces.some((n) => n.type === 'cgroup'));
	const { pid } = await c.create();
	await c.start();
	// Real cgroupfs: the container's own cgroup, listing its init.
	const r = await c.run(['exec', c.id, 'cat', '/sys/fs/cgroup/pids/tasks', '/sys/fs/cgroup/memory/tasks', '/tmp/mount-1/foo.txt', '/tmp/mount-2/foo.txt']);
	const lines = r.stdout.trim().split('\n');
	assert.deepEqual(lines.slice(-2), ['mount-1', 'mount-2']);
	assert.equal(lines.filter((l) => l === '1').length, 2, `the init (pid 1 inside) in both tasks files: ${r.stdout}`);
	assert.ok(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(c.cgroupsPath));
});

test('run: in a user namespace, a bind of an unreachable read-only host mount stays read-only for the container\'s root', opts, async (t) => {
	const c = await setup(t);
	await inUserNamespace(c);
	const [bind] = inaccessibleBinds(c, ['ro-host']);
	// The host's mount of the source is read-only: the kernel locks that on the container's copy.
	await execa('mount', ['--bind', bind.source, bind.source]);
	c.defer(() => execa('umount', ['-l', bind.source]));
	await execa('mount', ['-o', 'remount,bind,ro', bind.source]);
	c.config.mounts.push(bind);
	for (const set of ['bounding', 'effective', 'permitted']) c.config.process.capabilities[set].push('CAP_SYS_ADMIN');
	const out = await c.inside('cat /tmp/ro-host/foo.txt; mount -o remount,bind,rw /tmp/ro-host 2>/dev/null && echo remounted-rw || echo remount-refused; touch /tmp/ro-host/new 2>/dev/null && echo writable || echo read-only');
	assert.equal(out, 'ro-host\nremount-refused\nread-only\n');
	assert.ok(!fs.existsSync(path.join(bind.source, 'new')));
});

test('create: a time namespace applies timeOffsets', { ...opts, skip: needsRoot || (!hasNs('time') && 'no time namespace') || notOnRunc('no time namespace support before 1.2') }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.linux.namespaces.push({ type: 'time' });
	c.config.linux.timeOffsets = { monotonic: { secs: 86400 * 7, nanosecs: 0 }, boottime: { secs: 86400 * 3, nanosecs: 0 } };
	const { pid } = await c.create();
	assert.notEqual(nsInode(pid, 'time'), hostNs('time'));
	const offsets = fs.readFileSync(`/proc/${pid}/timens_offsets`, 'utf8');
	assert.match(offsets, /monotonic\s+604800\s+0/);
	assert.match(offsets, /boottime\s+259200\s+0/);
});

test('run: inside a time namespace /proc/uptime is shifted by the boottime offset', { ...opts, skip: needsRoot || (!hasNs('time') && 'no time namespace') || notOnRunc('no time namespace support before 1.2') }, async (t) => {
	const c = await setup(t);
	c.config.linux.namespaces.push({ type: 'time' });
	c.config.linux.timeOffsets = { boottime: { secs: 86400 * 3, nanosecs: 0 } };
	const out = await c.inside('cat /proc/uptime');
	const up = Number(out.split(' ')[0]);
	const hostUp = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
	assert.ok(up - hostUp > 86400 * 3 - 60, `container uptime ${up} vs host ${hostUp}`);
});

test('create: a namespace path joins an existing network namespace (ip netns)', { ...opts, skip: needsRoot || (!HAS_IP && 'no ip command (iproute2)') }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const name = `tsrun-it-${RUN_ID}-${process.pid}-${Date.now() % 100000}`;
	await execa('ip', ['netns', 'add', name]);
	c.defer(() => execa('ip', ['netns', 'del', name]));
	const nsPath = `/run/netns/${name}`;
	const want = String(fs.statSync(nsPath).ino);
	c.config.linux.namespaces = c.config.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: nsPath } : n));
	const { pid } = await c.create();
	assert.equal(nsInode(pid, 'net'), want);
});

test('create: a namespace path joins another container\'s uts namespace', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	c.config.hostname = 'first-container';
	const first = await c.create();
	const id2 = c.newId();
	const cfg2 = structuredClone(c.config);
	cfg2.linux.cgroupsPath = c.cgroupsPathFor(id2);
	delete cfg2.hostname; // the hostname belongs to the namespace we join
	cfg2.root.path = c.rootfs;
	cfg2.linux.namespaces = cfg2.linux.namespaces.map((n) => (n.type === 'uts' ? { type: 'uts', path: `/proc/${first.pid}/ns/uts` } : n));
	const second = await c.create({ id: id2, bundle: c.path('bundle2'), config: cfg2 });
	assert.equal(nsInode(second.pid, 'uts'), nsInode(first.pid, 'uts'));
	assert.notEqual(nsInode(second.pid, 'uts'), hostNs('uts'));
});

test('run: hostname sets uname -n in the uts namespace', opts, async (t) => {
	const c = await setup(t);
	c.config.hostname = 'tsrun-test-host';
	assert.equal(await c.inside('uname -n; hostname'), 'tsrun-test-host\ntsrun-test-host\n');
	assert.notEqual(fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), 'tsrun-test-host');
});

test('run: domainname sets /proc/sys/kernel/domainname', { ...opts, skip: needsRoot || notOnRunc('domainname is ignored before 1.2') }, async (t) => {
	const c = await setup(t);
	c.config.ociVersion = '1.2.0';
	c.config.domainname = 'tsrun.example';
	assert.equal(await c.inside('cat /proc/sys/kernel/domainname'), 'tsrun.example\n');
	assert.notEqual(fs.readFileSync('/proc/sys/kernel/domainname', 'utf8').trim(), 'tsrun.example');
});

test('create: hostname without a uts namespace is a config error', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.namespaces = c.config.linux.namespaces.filter((n) => n.type !== 'uts');
	c.config.hostname = 'nope';
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /hostname|uts/i);
});

// process.* and linux.sysctl: what the container's process sees in /proc/self.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { capMask } from '../helpers/capabilities.js';
import { setup } from '../helpers/fixture.js';
import { parseStatus } from '../helpers/proc.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot, timeout: 60_000 };
/** For process fields runc added in 1.2 (scheduler, ioPriority, execCPUAffinity). */
const since12 = { ...opts, skip: needsRoot || notOnRunc('scheduler, ioPriority and execCPUAffinity came in runc 1.2') };

test('run: linux.sysctl sets net.ipv4.ip_forward in a new network namespace', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
	assert.equal(await c.inside('cat /proc/sys/net/ipv4/ip_forward'), '1\n');
});

test('run: linux.sysctl sets kernel.shm_rmid_forced in a new ipc namespace', opts, async (t) => {
	const c = await setup(t);
	const host = fs.readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim();
	const want = host === '1' ? '0' : '1';
	c.config.linux.sysctl = { 'kernel.shm_rmid_forced': want };
	assert.equal(await c.inside('cat /proc/sys/kernel/shm_rmid_forced'), `${want}\n`);
	assert.equal(fs.readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim(), host, 'host value unchanged');
});

test('create: a network sysctl without a network namespace is refused', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.namespaces = c.config.linux.namespaces.filter((n) => n.type !== 'network');
	c.config.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
	await c.create({ expectExit: 1 });
});

test('run: process.rlimits show in /proc/self/limits', opts, async (t) => {
	const c = await setup(t);
	c.config.process.rlimits = [
		{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 },
		{ type: 'RLIMIT_NPROC', soft: 77, hard: 88 },
		{ type: 'RLIMIT_CORE', soft: 0, hard: 0 },
	];
	const out = await c.inside('cat /proc/self/limits');
	assert.match(out, /^Max open files\s+512\s+1000\s+files/m);
	assert.match(out, /^Max processes\s+77\s+88\s+processes/m);
	assert.match(out, /^Max core file size\s+0\s+0\s+bytes/m);
});

test('run: process.user uid, gid, additionalGids and umask', opts, async (t) => {
	const c = await setup(t);
	c.config.process.user = { uid: 1000, gid: 1000, additionalGids: [65534, 4242], umask: 0o027 };
	const out = await c.inside('cat /proc/self/status; echo "umask $(umask)"');
	const st = parseStatus(out);
	assert.equal(st.Uid.split(/\s+/).join(' '), '1000 1000 1000 1000');
	assert.equal(st.Gid.split(/\s+/).join(' '), '1000 1000 1000 1000');
	const groups = st.Groups.split(/\s+/).filter(Boolean).map(Number);
	// additionalGids exactly (runc does not add the primary gid; tolerate it if a runtime does).
	assert.deepEqual(groups.filter((g) => g !== 1000).sort((x, y) => x - y), [4242, 65534], `Groups: ${st.Groups}`);
	assert.match(out, /^umask 0027$/m);
});

test('run: the default umask is 0022', opts, async (t) => {
	const c = await setup(t);
	assert.equal(await c.inside('umask'), '0022\n');
});

test('run: capabilities: each of the five sets is applied as configured', opts, async (t) => {
	const c = await setup(t);
	const bounding = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SYS_ADMIN'];
	const permitted = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'];
	const effective = ['CAP_CHOWN', 'CAP_KILL'];
	const inheritable = ['CAP_KILL', 'CAP_NET_BIND_SERVICE'];
	const ambient = ['CAP_KILL', 'CAP_NET_BIND_SERVICE'];
	c.config.process.capabilities = { bounding, permitted, effective, inheritable, ambient };
	c.config.process.noNewPrivileges = true;
	const st = parseStatus(await c.inside('cat /proc/self/status'));
	assert.equal(st.CapBnd, capMask(bounding), 'CapBnd');
	assert.equal(st.CapInh, capMask(inheritable), 'CapInh');
	assert.equal(st.CapAmb, capMask(ambient), 'CapAmb');
	// The kernel's rule for uid 0 exec-ing a file without file caps: P' = bounding | inheritable, E' = P',
	// and with no_new_privs no more than the permitted set held before exec.
	const rootSet = [...new Set([...bounding, ...inheritable])].filter((x) => permitted.includes(x));
	assert.equal(st.CapPrm, capMask(rootSet), 'CapPrm');
	assert.equal(st.CapEff, capMask(rootSet), 'CapEff');
});

test('run: capabilities of a non-root user are exactly the configured sets', opts, async (t) => {
	const c = await setup(t);
	const set = ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'];
	c.config.process.user = { uid: 1000, gid: 1000 };
	c.config.process.capabilities = {
		bounding: [...set, 'CAP_CHOWN'],
		permitted: set,
		effective: set,
		inheritable: set,
		ambient: set,
	};
	const st = parseStatus(await c.inside('cat /proc/self/status'));
	assert.equal(st.CapBnd, capMask([...set, 'CAP_CHOWN']), 'CapBnd');
	assert.equal(st.CapPrm, capMask(set), 'CapPrm');
	assert.equal(st.CapEff, capMask(set), 'CapEff');
	assert.equal(st.CapInh, capMask(set), 'CapInh');
	assert.equal(st.CapAmb, capMask(set), 'CapAmb');
});

test('run: no capabilities at all for a non-root user', opts, async (t) => {
	const c = await setup(t);
	c.config.process.user = { uid: 1000, gid: 1000 };
	c.config.process.capabilities = { bounding: [], permitted: [], effective: [], inheritable: [], ambient: [] };
	const st = parseStatus(await c.inside('cat /proc/self/status'));
	for (const k of ['CapBnd', 'CapPrm', 'CapEff', 'CapInh', 'CapAmb']) assert.equal(st[k], '0000000000000000', k);
});

test('run: noNewPrivileges sets NoNewPrivs', opts, async (t) => {
	const c = await setup(t);
	c.config.process.noNewPrivileges = true;
	assert.match(await c.inside('cat /proc/self/status'), /^NoNewPrivs:\s+1$/m);
	c.config.process.noNewPrivileges = false;
	c.id = c.newId();
	assert.match(await c.inside('cat /proc/self/status'), /^NoNewPrivs:\s+0$/m);
});

test('run: oomScoreAdj sets /proc/self/oom_score_adj', opts, async (t) => {
	const c = await setup(t);
	c.config.process.oomScoreAdj = 345;
	assert.equal(await c.inside('cat /proc/self/oom_score_adj'), '345\n');
});

test('run: args are exec-ed as given (no shell), found via PATH', opts, async (t) => {
	const c = await setup(t);
	c.config.process.args = ['echo', 'a  b', '$HOME', '*'];
	const r = await c.runFg();
	assert.equal(r.stdout, 'a  b $HOME *\n');
});

test('run: a missing executable fails with exit status != 0 and names it', opts, async (t) => {
	const c = await setup(t);
	c.config.process.args = ['/no/such/binary'];
	const r = await c.runFg({ expectExit: 'nonzero' });
	assert.match(r.stderr, /no\/such\/binary/);
});

test('run: linux.personality LINUX32 makes uname report a 32-bit machine', { ...opts, skip: opts.skip || (process.arch !== 'x64' && 'needs x86_64') }, async (t) => {
	const c = await setup(t);
	c.config.linux.personality = { domain: 'LINUX32' };
	assert.equal(await c.inside('uname -m'), 'i686\n');
});

/** Fields of /proc/self/stat after the command name: [state, ppid, ...] (field 3 is index 0). */
function statFields(text) {
	return text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
}

test('run: process.scheduler sets the policy and nice value the process runs with', since12, async (t) => {
	const c = await setup(t);
	c.config.process.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
	const f = statFields(await c.inside('cat /proc/self/stat'));
	assert.equal(f[16], '7', 'nice (field 19)');
	assert.equal(f[38], '3', 'policy (field 41) SCHED_BATCH');
});

test('run: process.scheduler SCHED_RR with a real-time priority', since12, async (t) => {
	const c = await setup(t);
	c.config.process.scheduler = { policy: 'SCHED_RR', priority: 5 };
	// With RT group scheduling (cgroup v1 cpu.rt_runtime_us) a new cgroup has no real-time budget,
	// and can get one only from a parent that has one: the root's (the cleanup removes /<id> too).
	if (fs.existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us')) {
		c.config.linux.cgroupsPath = `/${c.id}`;
		c.config.linux.resources = { ...c.config.linux.resources, cpu: { realtimeRuntime: 10000, realtimePeriod: 1000000 } };
	}
	const f = statFields(await c.inside('cat /proc/self/stat'));
	assert.equal(f[38], '2', 'policy SCHED_RR');
	assert.equal(f[37], '5', 'rt_priority (field 40)');
});

test('run: process.ioPriority sets the I/O scheduling class', since12, async (t) => {
	const c = await setup(t);
	c.config.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
	assert.match(await c.inside('ionice -p $$'), /best-effort: prio 6/);
	c.config.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
	assert.match(await c.inside('ionice -p $$', { id: c.newId() }), /idle/);
});

test('run: process.execCPUAffinity final is the CPU set the process runs on', { ...since12, skip: since12.skip || (os.availableParallelism() < 2 && 'needs 2 CPUs') }, async (t) => {
	const c = await setup(t);
	c.config.process.execCPUAffinity = { initial: '0', final: '1' };
	assert.match(await c.inside('grep Cpus_allowed_list /proc/self/status'), /Cpus_allowed_list:\s+1\n/);
});

test('run: linux.memoryPolicy sets the NUMA policy of the process\'s memory', { ...since12, skip: since12.skip || (!fs.existsSync('/proc/self/numa_maps') && 'no NUMA support') }, async (t) => {
	const c = await setup(t);
	c.config.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0' };
	// numa_maps shows each mapping's policy; the process's own default is the policy set
	assert.match(await c.inside('cat /proc/self/numa_maps'), /^[0-9a-f]+ interleave:0 /m);
});

test('run: without process.capabilities the process has no capability at all', opts, async (t) => {
	const c = await setup(t);
	delete c.config.process.capabilities;
	const st = parseStatus(await c.inside('cat /proc/self/status'));
	for (const set of ['CapBnd', 'CapEff', 'CapPrm', 'CapInh', 'CapAmb']) assert.equal(st[set], '0000000000000000', set);
});

// linux.seccomp: the filter is in force in the container (the kernel's view: Seccomp mode in
// /proc/self/status, errno values, argument filters, actions), in exec'd processes too, and
// SCMP_ACT_NOTIFY hands its listener to an agent (a small C program built by the test) that
// answers for the container.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setup } from '../helpers/fixture.js';
import { parseStatus } from '../helpers/proc.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { REPO, needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 60_000 };

const EPERM_TEXT = /Operation not permitted/;

/** A profile allowing everything but what `syscalls` says. */
function allowAllBut(syscalls, extra = {}) {
	return { defaultAction: 'SCMP_ACT_ALLOW', syscalls, ...extra };
}

test('run: a seccomp filter is in force (Seccomp: 2) and SCMP_ACT_ERRNO returns errnoRet', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.seccomp = allowAllBut([
		{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 95 /* EOPNOTSUPP */ },
		{ names: ['rmdir'], action: 'SCMP_ACT_ERRNO' },
	]);
	const out = await c.inside('grep -E "^Seccomp(_filters)?:" /proc/self/status; mkdir /tmp/x 2>&1; mkdir /tmp; rmdir /tmp 2>&1; true');
	const st = parseStatus(out);
	assert.equal(st.Seccomp, '2', out);
	assert.match(out, /mkdir: can't create directory '\/tmp\/x': Operation not supported/);
	assert.match(out, /rmdir: '\/tmp': Operation not permitted/, 'errnoRet defaults to EPERM');
});

test('run: seccomp argument filters (SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ) match only the given values', opts, async (t) => {
	const c = await setup(t);
	c.config.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
	// chmod(path, mode) has the mode as argument 1, fchmodat(dirfd, path, mode) as argument 2.
	const mode = (index, value, op = 'SCMP_CMP_EQ', valueTwo) => ({ index, value, op, ...(valueTwo !== undefined ? { valueTwo } : {}) });
	c.config.linux.seccomp = allowAllBut([
		{ names: ['chmod'], action: 'SCMP_ACT_ERRNO', args: [mode(1, 0o777)] },
		{ names: ['fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO', args: [mode(2, 0o777)] },
		// any mode with the setuid bit: (mode & 04000) == 04000
		{ names: ['chmod'], action: 'SCMP_ACT_ERRNO', args: [mode(1, 0o4000, 'SCMP_CMP_MASKED_EQ', 0o4000)] },
		{ names: ['fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO', args: [mode(2, 0o4000, 'SCMP_CMP_MASKED_EQ', 0o4000)] },
	]);
	const out = await c.inside(
		'touch /tmp/f; chmod 755 /tmp/f && echo "755 ok"; chmod 777 /tmp/f 2>&1; chmod 4755 /tmp/f 2>&1; stat -c %a /tmp/f',
	);
	assert.match(out, /^755 ok$/m);
	assert.match(out, /chmod: \/tmp\/f: Operation not permitted[\s\S]*chmod: \/tmp\/f: Operation not permitted/);
	assert.match(out, /^755$/m, 'neither refused chmod changed the mode');
});

test('run: SCMP_ACT_KILL_PROCESS kills the process with SIGSYS', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.seccomp = allowAllBut([{ names: ['uname'], action: 'SCMP_ACT_KILL_PROCESS' }]);
	c.sh('uname -a; echo survived');
	const r = await c.runFg({ expectExit: null });
	assert.equal(r.exitCode, 128 + 31, `SIGSYS: ${r.stdout}${r.stderr}`);
	assert.doesNotMatch(r.stdout, /survived/);
});

test('run: an allow-list profile (defaultAction ERRNO) lets only what it names through', opts, async (t) => {
	const c = await setup(t);
	// Everything busybox sh, echo and cat need, and nothing to make directories with.
	const allowed = [
		'execve', 'brk', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'mprotect', 'mmap',
		'munmap', 'read', 'write', 'writev', 'close', 'openat', 'open', 'fstat', 'newfstatat', 'stat', 'lstat', 'statx',
		'getpid', 'getppid', 'getuid', 'geteuid', 'getgid', 'getegid', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn',
		'ioctl', 'fcntl', 'dup2', 'dup3', 'wait4', 'clone', 'clone3', 'vfork', 'fork', 'exit', 'exit_group', 'getcwd', 'uname',
		'readlink', 'access', 'faccessat', 'faccessat2', 'lseek', 'getrandom', 'sigaltstack', 'pipe', 'pipe2', 'getdents64',
		'futex', 'madvise', 'setpgid', 'getpgrp', 'prctl', 'capget', 'capset', 'setgroups', 'setresuid', 'setresgid',
		'poll', 'ppoll', 'select', 'pselect6', 'chdir', 'fchdir', 'umask', 'getrlimit', 'sysinfo', 'times',
		// what a runtime may still do after loading the filter (runc checks /proc/self/fd with fstatfs)
		'fstatfs', 'statfs', 'close_range', 'sched_yield', 'nanosleep', 'tgkill', 'gettid', 'epoll_pwait', 'epoll_ctl',
		'epoll_create1', 'sched_getaffinity', 'mincore', 'clock_gettime', 'getdents', 'fchown', 'unlinkat', 'socket',
		'connect', 'sendmsg', 'recvmsg', 'sendto', 'recvfrom', 'setsockopt', 'getsockopt',
	];
	c.config.linux.seccomp = {
		defaultAction: 'SCMP_ACT_ERRNO',
		defaultErrnoRet: 38, // ENOSYS
		architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
		syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }],
	};
	const out = await c.inside('echo hello; cat /proc/self/status | grep ^Seccomp:; mkdir /tmp/nope 2>&1; true');
	assert.match(out, /^hello$/m);
	assert.match(out, /^Seccomp:\s+2$/m);
	assert.match(out, /mkdir: can't create directory '\/tmp\/nope': Function not implemented/);
});

test('run: without no_new_privs the filter still lands (loaded while privileged) for a non-root user', opts, async (t) => {
	const c = await setup(t);
	c.config.process.noNewPrivileges = false;
	c.config.process.user = { uid: 1000, gid: 1000 };
	c.config.linux.seccomp = allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }]);
	const out = await c.inside('grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; mkdir /tmp/x 2>&1; true');
	const st = parseStatus(out);
	assert.equal(st.Seccomp, '2');
	assert.equal(st.NoNewPrivs, '0');
	assert.match(out, EPERM_TEXT);
});

test('exec: a process exec\'d into the container gets the container\'s filter', opts, async (t) => {
	const c = await setup(t);
	c.config.linux.seccomp = allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }]);
	c.sh('sleep 60');
	await c.create({ detached: true });
	await c.start();
	const r = await c.run(['exec', c.id, 'sh', '-c', 'grep ^Seccomp: /proc/self/status; mkdir /tmp/y 2>&1; true']);
	assert.match(r.stdout, /^Seccomp:\s+2$/m);
	assert.match(r.stdout, /Permission denied/);
});

test('create: errnoRet on an action that takes none is refused (the spec: print an error and fail)', { ...opts, skip: needsRoot || notOnRunc('runc 1.1 ignores errnoRet on such actions') }, async (t) => {
	const c = await setup(t);
	c.config.linux.seccomp = allowAllBut([{ names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 1 }]);
	await c.create({ expectExit: 1 });
});

test('create: SCMP_ACT_NOTIFY without a listenerPath is refused', { ...opts, skip: needsRoot || notOnRunc('runc 1.1 accepts it; the notified syscall then fails with ENOSYS') }, async (t) => {
	const c = await setup(t);
	c.config.linux.seccomp = allowAllBut([{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }]);
	const r = await c.create({ expectExit: 1 });
	assert.match(r.stderr, /listenerPath/);
});

/** Builds test/native/seccomp_agent.c into the test dir. */
function buildAgent(c) {
	const exe = c.path('seccomp-agent');
	execFileSync('gcc', ['-std=gnu11', '-O1', '-o', exe, path.join(REPO, 'test/native/seccomp_agent.c')]);
	return exe;
}

test('run: SCMP_ACT_NOTIFY sends the listener fd and the container process state to listenerPath', opts, async (t) => {
	const c = await setup(t);
	const agentExe = buildAgent(c);
	const sock = c.path('agent.sock');
	const stateFile = c.path('agent-state.json');
	const agent = spawn(agentExe, [sock, stateFile], { stdio: ['ignore', 'pipe', 'inherit'] });
	c.defer(() => agent.kill('SIGKILL'));
	await new Promise((resolve, reject) => {
		agent.stdout.once('data', resolve);
		agent.once('exit', (code) => reject(new Error(`agent exited ${code}`)));
	});
	c.config.linux.seccomp = allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }], {
		listenerPath: sock,
		listenerMetadata: 'tsrun-test-metadata',
	});
	// The agent answers "success" without making the directory.
	c.sh('mkdir /tmp/notified && echo "mkdir said yes"; test -d /tmp/notified && echo exists || echo absent');
	const r = await c.runFg();
	assert.match(r.stdout, /^mkdir said yes$/m);
	assert.match(r.stdout, /^absent$/m);
	await waitFor(() => fs.existsSync(stateFile), 5000, 'the agent saved the state');
	const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
	assert.deepEqual(state.fds, ['seccompFd']);
	assert.equal(state.metadata, 'tsrun-test-metadata');
	assert.equal(state.state.id, c.id);
	assert.equal(state.state.status, 'creating');
	assert.equal(state.state.pid, state.pid);
	assert.ok(state.pid > 0);
	assert.equal(state.state.bundle, c.bundle);
	assert.ok(Number(fs.readFileSync(`${stateFile}.count`, 'utf8')) >= 1, 'the agent answered');
});

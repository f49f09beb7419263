// containerd + containerd-shim-runc-v2 + ctr, with the runtime under test as `--runc-binary`:
// a private containerd (test/helpers/e2e/containerd.js), the busybox image imported as an OCI
// archive, and what ctr can do with a container, checked against what the kernel shows.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAlive, processStartTime } from '../helpers/proc.js';
import { waitFor } from '../helpers/wait.js';
import {
	assertGone,
	background,
	e2eSkip,
	isFrozen,
	LIMITS_SH,
	mountPoints,
	OOM_ARGS,
	RUNTIME_NAME,
	runInPty,
	SECCOMP_UNSHARE_SH,
	SIGNAL_LOOP_SH,
} from '../helpers/e2e/common.js';
import { CTR_IMAGE, startContainerd } from '../helpers/e2e/containerd.js';

const skip = e2eSkip(['containerd', 'containerd-shim-runc-v2', 'ctr', 'script']);

describe(`containerd (ctr --runc-binary ${RUNTIME_NAME})`, { skip, concurrency: 1, timeout: 300_000 }, () => {
	let env;
	let seq = 0;
	/** A new container name, deleted at teardown if a test leaves it. */
	const name = (what) => {
		const n = `${what}-${++seq}`;
		env.containers.add(n);
		return n;
	};
	const run = (n, flags, args, opts) => env.ctr(['run', ...env.runFlags(n), ...flags, CTR_IMAGE, n, ...args], opts);
	const runDetached = async (n, flags, args) => {
		await run(n, ['-d', ...flags], args);
		const pid = await taskPid(n);
		return { pid, startTime: processStartTime(pid) };
	};
	const taskPid = async (n) => {
		const r = await env.ctr(['task', 'ls']);
		const line = r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === n);
		assert.ok(line, `task ${n} not in:\n${r.stdout}`);
		return Number(line.split(/\s+/)[1]);
	};
	const taskStatus = async (n) => {
		const r = await env.ctr(['task', 'ls']);
		return r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === n)?.split(/\s+/)[2];
	};
	/** task delete --force, container delete; then nothing of it may be left. */
	const remove = async (n, pid, startTime, mountsBefore) => {
		await env.ctr(['task', 'delete', '--force', n], { expectExit: null });
		await env.ctr(['container', 'delete', n]);
		env.containers.delete(n);
		await assertGone({ what: n, pid, startTime, id: n, runtimeRoots: env.runtimeRoots(), cgroupParent: env.cgroupParent, dir: env.dir, mountsBefore });
	};

	before(async () => {
		env = await startContainerd();
	});
	after(async () => {
		const errors = env ? await env.teardown() : [];
		assert.deepEqual(errors, [], 'containerd teardown');
	});

	it('run: stdout, exit code, env, cwd; run --rm leaves nothing', async () => {
		const n = name('run');
		const before = mountPoints(env.dir);
		const r = await run(n, ['--rm', '--env', 'FOO=bar', '--cwd', '/tmp'], ['sh', '-c', 'echo out; echo "$FOO $(pwd) $(id -u)"; exit 7'], { expectExit: 7 });
		assert.equal(r.stdout, 'out\nbar /tmp 0\n');
		env.containers.delete(n);
		await assertGone({ what: n, id: n, runtimeRoots: env.runtimeRoots(), cgroupParent: env.cgroupParent, dir: env.dir, mountsBefore: before });
	});

	it('run -t: the process has a terminal', async () => {
		const n = name('tty');
		const r = await runInPty(env.ctrBin, env.ctrArgv(['run', ...env.runFlags(n), '--rm', '-t', CTR_IMAGE, n, 'sh', '-c', 'test -t 0 && test -t 1 && echo is-a-tty; tty']));
		assert.match(r.stdout, /is-a-tty\r*\n\/dev\/pts\/\d+/);
		env.containers.delete(n);
	});

	it('--read-only: the rootfs refuses writes', async () => {
		const r = await run(name('ro'), ['--rm', '--read-only'], ['sh', '-c', 'touch /new-file'], { expectExit: 1 });
		assert.match(r.stderr, /Read-only file system/);
		await run(name('rw'), ['--rm'], ['touch', '/new-file']);
	});

	it('bind mounts: a host file read inside, a file written inside seen on the host, :ro refused', async () => {
		const host = path.join(env.dir, 'bind');
		fs.mkdirSync(host);
		fs.writeFileSync(path.join(host, 'in.txt'), 'from-host\n');
		const r = await run(name('bind'), ['--rm', '--mount', `type=bind,src=${host},dst=/data,options=rbind:rw`], ['sh', '-c', 'cat /data/in.txt; echo from-container >/data/out.txt']);
		assert.equal(r.stdout, 'from-host\n');
		assert.equal(fs.readFileSync(path.join(host, 'out.txt'), 'utf8'), 'from-container\n');
		const ro = await run(name('bind-ro'), ['--rm', '--mount', `type=bind,src=${host},dst=/data,options=rbind:ro`], ['sh', '-c', 'cat /data/in.txt; touch /data/x'], {
			expectExit: 1,
		});
		assert.equal(ro.stdout, 'from-host\n');
		assert.match(ro.stderr, /Read-only file system/);
	});

	it('run -d, task exec (exit code, -t, env), task ps, task metrics, task delete --force', async () => {
		const n = name('detached');
		const before = mountPoints(env.dir);
		const { pid, startTime } = await runDetached(n, [], ['sleep', '1000']);
		assert.equal(await taskStatus(n), 'RUNNING');
		const ex = await env.ctr(['task', 'exec', '--exec-id', 'e1', n, 'sh', '-c', 'echo in-exec; exit 5'], { expectExit: 5 });
		assert.equal(ex.stdout, 'in-exec\n');
		const cwd = await env.ctr(['task', 'exec', '--exec-id', 'e2', '--cwd', '/tmp', n, 'pwd']);
		assert.equal(cwd.stdout, '/tmp\n');
		const tty = await runInPty(env.ctrBin, env.ctrArgv(['task', 'exec', '-t', '--exec-id', 'e3', n, 'tty']));
		assert.match(tty.stdout, /\/dev\/pts\/\d+/);
		const ps = await env.ctr(['task', 'ps', n]);
		assert.match(ps.stdout, new RegExp(`^${pid}\\s`, 'm'));
		const metrics = await env.ctr(['task', 'metrics', n]);
		assert.match(metrics.stdout, /memory\.usage(_in_bytes)?\s+\d+/);
		assert.match(metrics.stdout, /pids\.current\s+[1-9]/);
		await remove(n, pid, startTime, before);
	});

	it('limits: --memory-limit and --cpus are the cgroup files read inside', async () => {
		const cgroupMount = ['--mount', 'type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec'];
		const r = await run(name('limits'), ['--rm', '--memory-limit', String(64 << 20), '--cpus', '0.5', ...cgroupMount], ['sh', '-c', LIMITS_SH]);
		assert.match(r.stdout.trim(), /^mem=67108864 pids=max cpu=50000 100000$/);
	});

	it('task pause / resume: the cgroup is frozen, then thawed', async () => {
		const n = name('pause');
		const { pid, startTime } = await runDetached(n, [], ['sleep', '1000']);
		await env.ctr(['task', 'pause', n]);
		assert.equal(await taskStatus(n), 'PAUSED');
		assert.equal(isFrozen(pid), true, 'frozen after pause');
		await env.ctr(['task', 'resume', n]);
		assert.equal(await taskStatus(n), 'RUNNING');
		assert.equal(isFrozen(pid), false, 'thawed after resume');
		await env.ctr(['task', 'exec', '--exec-id', 'after-resume', n, 'true']);
		await remove(n, pid, startTime, null);
	});

	it('task kill: USR1 reaches the trap, TERM ends it with the trap status, KILL is 137', async () => {
		const n = name('signals');
		const fg = background(env.ctrBin, env.ctrArgv(['run', ...env.runFlags(n), '--rm', CTR_IMAGE, n, 'sh', '-c', SIGNAL_LOOP_SH]));
		await fg.waitOutput(/ready/);
		await env.ctr(['task', 'kill', '-s', 'USR1', n]);
		await fg.waitOutput(/got-usr1/);
		await env.ctr(['task', 'kill', '-s', 'TERM', n]);
		assert.equal((await fg.done).exitCode, 42, fg.output);
		assert.match(fg.output, /got-term/);
		env.containers.delete(n);

		const k = name('sigkill');
		const fg2 = background(env.ctrBin, env.ctrArgv(['run', ...env.runFlags(k), '--rm', CTR_IMAGE, k, 'sleep', '1000']));
		await waitFor(async () => (await taskStatus(k)) === 'RUNNING', 20_000, `${k} running`);
		await env.ctr(['task', 'kill', '-s', 'KILL', k]);
		assert.equal((await fg2.done).exitCode, 137, fg2.output);
		env.containers.delete(k);
	});

	it('OOM: a process over --memory-limit is killed (137) and containerd publishes /tasks/oom', async () => {
		const n = name('oom');
		const events = background(env.ctrBin, env.ctrArgv(['events']));
		try {
			await new Promise((r) => setTimeout(r, 300));
			await run(n, ['--rm', '--memory-limit', String(32 << 20)], OOM_ARGS, { expectExit: 137 });
			await events.waitOutput(/\/tasks\/oom/, 10_000);
			assert.match(events.output, new RegExp(`/tasks/oom.*${n}`));
		} finally {
			events.child.kill('SIGTERM');
			await events.done;
		}
		env.containers.delete(n);
	});

	it('--seccomp: the default profile is in force (Seccomp: 2, unshare gets EPERM); without it unshare works', async () => {
		const r = await run(name('seccomp'), ['--rm', '--seccomp'], ['sh', '-c', SECCOMP_UNSHARE_SH], { expectExit: 1 });
		assert.match(r.stdout, /^Seccomp:\s+2$/m);
		assert.match(r.stderr, /Operation not permitted/);
		const u = await run(name('no-seccomp'), ['--rm'], ['sh', '-c', SECCOMP_UNSHARE_SH]);
		assert.match(u.stdout, /^Seccomp:\s+0$/m);
		assert.match(u.stdout, /unshare-ok/);
	});

	it('a container killed from outside is reaped: no zombie process of it stays', async () => {
		const n = name('reap');
		const { pid, startTime } = await runDetached(n, [], ['sleep', '1000']);
		process.kill(pid, 'SIGKILL');
		await waitFor(async () => (await taskStatus(n)) === 'STOPPED', 20_000, `${n} stopped`);
		assert.equal(isAlive(pid, startTime), false);
		await remove(n, pid, startTime, null);
	});
});

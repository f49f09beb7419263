// The scenarios docker and podman share (their CLIs agree on run/exec/top/stats/update/pause/
// restart/stop/kill/inspect/rm), as one node:test suite per engine. An engine is what
// startDocker()/startPodman() return: cli(args, opts), image, runFlags, runtimeRoots(), dir,
// cgroupParent, containers (removed at teardown) and teardown(); `spec` says where they differ.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAlive, processStartTime } from '../proc.js';
import { waitFor } from '../wait.js';
import { assertGone, isFrozen, LIMITS_SH, mountPoints, OOM_ARGS, SIGNAL_LOOP_SH } from './common.js';

/**
 * spec: { title, skip, start: async () => engine,
 *   seccomp: { flags, script, denied: RegExp (stderr under the profile), allowed: RegExp (output unconfined) },
 *   update: { flags, expect } (the limits after `update`, as LIMITS_SH prints them),
 *   oomReported(engine): where the client's own OOMKilled cannot say so, what does (oomBefore(engine) first) }
 */
export function engineScenarios(spec) {
	describe(spec.title, { skip: spec.skip, concurrency: 1, timeout: 420_000 }, () => {
		let e;
		let seq = 0;
		const name = (what) => {
			const n = `e2e-${what}-${++seq}`;
			e.containers.add(n);
			return n;
		};
		const cli = (args, opts) => e.cli(args, opts);
		const run = (flags, args, opts) => cli(['run', ...e.runFlags, ...flags, e.image, ...args], opts);
		const inspect = async (n, format) => (await cli(['inspect', '-f', format, n])).stdout.trim();
		/** run -d; returns the container's id and its pid 1 (with its start time, for liveness checks). */
		const runDetached = async (n, flags, args) => {
			await run(['-d', '--name', n, ...flags], args);
			const [id, pid] = (await inspect(n, '{{.Id}} {{.State.Pid}}')).split(' ');
			return { id, pid: Number(pid), startTime: processStartTime(Number(pid)) };
		};
		const status = (n) => inspect(n, '{{.State.Status}}');
		const exitCode = (n) => inspect(n, '{{.State.ExitCode}}');
		const logs = async (n) => {
			const r = await cli(['logs', n]);
			return r.stdout + r.stderr;
		};
		const waitLogs = (n, re) => waitFor(async () => re.test(await logs(n)), 20_000, `logs of ${n} matching ${re}`);
		/** rm -f, then nothing of the container may be left. */
		const removeChecked = async (n, c, mountsBefore) => {
			await cli([...e.rmForce, n]);
			e.containers.delete(n);
			await assertGone({ what: n, ...c, runtimeRoots: e.runtimeRoots(), cgroupParent: e.cgroupParent, dir: e.dir, mountsBefore });
		};

		before(async () => {
			e = await spec.start();
		});
		after(async () => {
			const errors = e ? await e.teardown() : [];
			assert.deepEqual(errors, [], 'teardown');
		});

		it('run: stdout, stderr, exit code, env, cwd, user, hostname', async () => {
			const r = await run(
				['--rm', '-e', 'FOO=bar', '-w', '/tmp', '-u', '1000:1000', '--hostname', 'e2e-host'],
				['sh', '-c', 'echo out; echo err >&2; echo "$FOO $(pwd) $(id -u):$(id -g) $(hostname)"; exit 7'],
				{ expectExit: 7 },
			);
			assert.equal(r.stdout, 'out\nbar /tmp 1000:1000 e2e-host\n');
			assert.match(r.stderr, /^err$/m);
		});

		it('run -t: the process has a terminal', async () => {
			const r = await run(['--rm', '-t'], ['sh', '-c', 'test -t 0 && test -t 1 && echo is-a-tty; tty']);
			assert.match(r.stdout, /is-a-tty\r*\n\/dev\/pts\/\d+/);
		});

		it('--read-only: the rootfs refuses writes', async () => {
			const r = await run(['--rm', '--read-only'], ['sh', '-c', 'touch /new-file'], { expectExit: 1 });
			assert.match(r.stderr, /Read-only file system/);
			await run(['--rm'], ['touch', '/new-file']);
		});

		it('bind mounts: a host file read inside, a file written inside seen on the host, :ro refused', async () => {
			const host = path.join(e.dir, 'bind');
			fs.mkdirSync(host, { recursive: true });
			fs.writeFileSync(path.join(host, 'in.txt'), 'from-host\n');
			const r = await run(['--rm', '-v', `${host}:/data`], ['sh', '-c', 'cat /data/in.txt; echo from-container >/data/out.txt']);
			assert.equal(r.stdout, 'from-host\n');
			assert.equal(fs.readFileSync(path.join(host, 'out.txt'), 'utf8'), 'from-container\n');
			const ro = await run(['--rm', '-v', `${host}:/data:ro`], ['sh', '-c', 'cat /data/in.txt; touch /data/x'], { expectExit: 1 });
			assert.equal(ro.stdout, 'from-host\n');
			assert.match(ro.stderr, /Read-only file system/);
		});

		it('run -d, exec (exit code, -t, env/cwd/user), top, stats; rm -f leaves no process, state dir, cgroup or mount', async () => {
			const n = name('detached');
			const mountsBefore = mountPoints(e.dir);
			const c = await runDetached(n, [], ['sleep', '1000']);
			assert.equal(await status(n), 'running');
			const ex = await cli(['exec', n, 'sh', '-c', 'echo in-exec; exit 5'], { expectExit: 5 });
			assert.equal(ex.stdout, 'in-exec\n');
			const tty = await cli(['exec', '-t', n, 'tty']);
			assert.match(tty.stdout, /^\/dev\/pts\/\d+/);
			const ee = await cli(['exec', '-e', 'X=1', '-w', '/tmp', '-u', '1000', n, 'sh', '-c', 'echo "$X $(pwd) $(id -u)"']);
			assert.equal(ee.stdout, '1 /tmp 1000\n');
			const top = await cli(['top', n]);
			assert.match(top.stdout, /sleep 1000/);
			const stats = await cli(['stats', '--no-stream', '--format', '{{.PIDs}} {{.MemUsage}}', n]);
			assert.match(stats.stdout.trim(), /^[1-9]\d* \d/);
			await removeChecked(n, c, mountsBefore);
		});

		it('limits: memory, pids and cpu are the cgroup files read inside', async () => {
			const r = await run(['--rm', '-m', '64m', '--pids-limit', '50', '--cpus', '0.5'], ['sh', '-c', LIMITS_SH]);
			assert.equal(r.stdout.trim(), 'mem=67108864 pids=50 cpu=50000 100000');
		});

		it('update: the limits of a running container change, as read inside', async () => {
			const n = name('update');
			const c = await runDetached(n, ['-m', '64m', '--memory-swap', '128m', '--pids-limit', '50', '--cpus', '0.5'], ['sleep', '1000']);
			await cli(['update', ...spec.update.flags, n]);
			const r = await cli(['exec', n, 'sh', '-c', LIMITS_SH]);
			assert.equal(r.stdout.trim(), spec.update.expect);
			await removeChecked(n, c, null);
		});

		it('pause / unpause: the cgroup is frozen, then thawed', async () => {
			const n = name('pause');
			const c = await runDetached(n, [], ['sleep', '1000']);
			await cli(['pause', n]);
			assert.equal(await status(n), 'paused');
			assert.equal(isFrozen(c.pid), true, 'frozen after pause');
			await cli(['unpause', n]);
			assert.equal(await status(n), 'running');
			assert.equal(isFrozen(c.pid), false, 'thawed after unpause');
			await cli(['exec', n, 'true']);
			await removeChecked(n, c, null);
		});

		it('restart: a new container process replaces the old one', async () => {
			const n = name('restart');
			const c = await runDetached(n, [], ['sleep', '1000']);
			await cli(['restart', '-t', '1', n]);
			assert.equal(await status(n), 'running');
			const pid2 = Number(await inspect(n, '{{.State.Pid}}'));
			assert.notEqual(pid2, c.pid);
			assert.equal(isAlive(c.pid, c.startTime), false, 'old process gone');
			assert.equal(isAlive(pid2), true, 'new process alive');
			await removeChecked(n, { id: c.id, pid: pid2, startTime: processStartTime(pid2) }, null);
		});

		it('stop: TERM first (the trap exits 42); a process that ignores it is KILLed after the timeout (137)', async () => {
			const n = name('stop-term');
			const c = await runDetached(n, [], ['sh', '-c', SIGNAL_LOOP_SH]);
			await waitLogs(n, /ready/);
			let t0 = Date.now();
			await cli(['stop', '-t', '20', n]);
			assert.ok(Date.now() - t0 < 15_000, `stop took ${Date.now() - t0} ms: TERM was not delivered`);
			assert.equal(await exitCode(n), '42');
			assert.match(await logs(n), /got-term/);
			await removeChecked(n, c, null);

			const k = name('stop-kill');
			const ck = await runDetached(k, [], ['sleep', '1000']); // pid 1 without a TERM handler: TERM does nothing
			t0 = Date.now();
			await cli(['stop', '-t', '2', k]);
			const took = Date.now() - t0;
			assert.ok(took >= 1900, `stop took ${took} ms, less than its timeout`);
			assert.equal(await exitCode(k), '137');
			await removeChecked(k, ck, null);
		});

		it('kill: USR1 reaches the trap; KILL ends it with 137', async () => {
			const n = name('kill');
			const c = await runDetached(n, [], ['sh', '-c', SIGNAL_LOOP_SH]);
			await waitLogs(n, /ready/);
			await cli(['kill', '-s', 'USR1', n]);
			await waitLogs(n, /got-usr1/);
			assert.equal(await status(n), 'running');
			await cli(['kill', '-s', 'KILL', n]);
			const w = await cli(['wait', n]);
			assert.equal(w.stdout.trim(), '137');
			await removeChecked(n, c, null);
		});

		it('OOM: a process over its memory limit is killed (137) and reported OOMKilled', async () => {
			const n = name('oom');
			spec.oomBefore?.(e);
			await run(['--name', n, '-m', '32m', '--memory-swap', '32m'], OOM_ARGS, { expectExit: 137 });
			if (spec.oomReported) assert.equal(spec.oomReported(e), true, 'OOM reported');
			else assert.equal(await inspect(n, '{{.State.OOMKilled}}'), 'true');
			await cli([...e.rmForce, n]);
			e.containers.delete(n);
		});

		it("seccomp: the client's default profile is in force (Seccomp: 2, a denied syscall gets EPERM); unconfined it is not", async () => {
			const s = spec.seccomp;
			const r = await run(['--rm', ...s.flags], ['sh', '-c', s.script], { expectExit: null });
			assert.match(r.stdout, /^Seccomp:\s+2$/m);
			assert.match(r.stderr, s.denied);
			const u = await run(['--rm', '--security-opt', 'seccomp=unconfined', ...s.flags], ['sh', '-c', s.script], { expectExit: null });
			assert.match(u.stdout, /^Seccomp:\s+0$/m);
			assert.match(u.stdout + u.stderr, s.allowed);
		});
	});
}

#!/usr/bin/env node
// npm run bench: whole-process timings of tsrun next to `node -e 0` and, when installed, runc and crun.
//
//   state                 `state ID` of a running container
//   run /bin/true         `run` in the foreground, container exits at once
//   create+start+delete   the three commands back to back (delete --force: the container may still run)
//   N runs back to back   N foreground `run /bin/true` one after the other (--seq N, default 100): total s
//   created init RSS      VmRSS of a created, not started container's init (/proc/<pid>/status)
//   peak RSS              of the runtime process itself (/usr/bin/time -f %M)
//
// "tsrun" is the tsrun command, the door (build/Release/tsrun), with a resident engine of the
// bench's own (TSRUN_ENGINE_DIR in the bench's dir, warmed before the first round): a call costs
// the door's start, a socket round trip and what the engine and the kernel do. "tsrun-node" is the
// same CLI run in-process by Node (node bin/tsrun.cjs, what TSRUN_ENGINE=off gives).
//
// Samples are interleaved (runtime order shuffled each round) so drift hits all alike; medians of
// >= 20 runs. Options: --runs N (BENCH_RUNS), --only tsrun,runc (BENCH_ONLY). Needs root.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseConfig } from '../test/helpers/base-config.js';
import { enginePids, stopEngine } from '../test/helpers/engine.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const argValue = (name) => {
	const i = args.indexOf(name);
	return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Math.max(20, Number(argValue('--runs') ?? process.env.BENCH_RUNS ?? 20));
const RSS_RUNS = 5;
const SEQ_RUNS = Math.max(1, Number(argValue('--seq') ?? process.env.BENCH_SEQ ?? 100));
const ONLY = (argValue('--only') ?? process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);

if (process.getuid() !== 0) {
	console.error('bench: needs root (containers): sudo npm run bench');
	process.exit(1);
}

const which = (cmd) => {
	for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
		const p = path.join(dir, cmd);
		try {
			fs.accessSync(p, fs.constants.X_OK);
			return p;
		} catch {}
	}
	return null;
};

function ensureTimeTool() {
	if (fs.existsSync('/usr/bin/time')) return '/usr/bin/time';
	if (which('apt-get')) {
		console.error('bench: installing `time` for peak RSS');
		spawnSync('apt-get', ['install', '-y', 'time'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
	}
	return fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-bench-'));
let activeRuntimes = [];
// Runtimes' stderr goes to this file, never to a pipe: a detached container inherits the runtime's
// stdio and would hold a pipe open (spawnSync would wait for it forever).
const logFile = path.join(work, 'runtime-stderr.log');
const logFd = fs.openSync(logFile, 'a');
const logTail = () => fs.readFileSync(logFile, 'utf8').trim().split('\n').at(-1) ?? '';
const cleanups = [];
let crunNs = null;

/**
 * crun picks cgroup v2 when /sys/fs/cgroup/unified is a cgroup2 mount (hybrid host) and then fails on
 * the v1 controllers. Give it a persistent mount namespace where a tmpfs hides that mount (the real
 * one is untouched) and enter it with nsenter for each command (its cost is measured and shown).
 */
function setupCrunNamespace() {
	let fstype = '';
	try {
		fstype = execFileSync('stat', ['-f', '-c', '%T', '/sys/fs/cgroup/unified'], { encoding: 'utf8' }).trim();
	} catch {}
	if (fstype !== 'cgroup2fs') return null;
	const dir = path.join(work, 'crun-ns');
	fs.mkdirSync(dir);
	// A namespace file can only be bind-mounted onto a private mount.
	execFileSync('mount', ['--bind', dir, dir]);
	cleanups.push(() => spawnSync('umount', ['-l', dir]));
	execFileSync('mount', ['--make-private', dir]);
	const nsFile = path.join(dir, 'mnt');
	fs.writeFileSync(nsFile, '');
	execFileSync('unshare', [`--mount=${nsFile}`, '--propagation', 'private', 'mount', '-t', 'tmpfs', 'tsrun-bench-hide-unified', '/sys/fs/cgroup/unified']);
	cleanups.push(() => spawnSync('umount', [nsFile]));
	return nsFile;
}

const door = path.join(repo, 'build/Release/tsrun');
const engineDir = path.join(work, 'engine');

function runtimes() {
	const list = [];
	if (fs.existsSync(door)) list.push({ name: 'tsrun', cmd: [door], env: { ...process.env, TSRUN_ENGINE: 'on', TSRUN_ENGINE_DIR: engineDir } });
	list.push({ name: 'tsrun-node', cmd: [process.execPath, path.join(repo, 'bin/tsrun.cjs')] });
	const runc = which('runc');
	if (runc) list.push({ name: 'runc', cmd: [runc] });
	const crun = which('crun');
	if (crun) {
		crunNs ??= setupCrunNamespace();
		list.push({ name: 'crun', cmd: crunNs ? ['nsenter', `--mount=${crunNs}`, crun] : [crun], note: crunNs ? 'via nsenter' : '' });
	}
	return list.filter((r) => ONLY.length === 0 || ONLY.includes(r.name));
}

/** Wall time of one whole process in ms; rejects on non-zero exit. */
function timeProcess(cmd, { allowFail = false, env } = {}) {
	return new Promise((resolve, reject) => {
		const t0 = process.hrtime.bigint();
		const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', logFd], env });
		child.on('error', reject);
		child.on('exit', (code, signal) => {
			const ms = Number(process.hrtime.bigint() - t0) / 1e6;
			if ((code !== 0 || signal) && !allowFail) reject(new Error(`${cmd.join(' ')}: exit ${code ?? signal}: ${logTail()}`));
			else resolve(ms);
		});
	});
}

/** Peak RSS (KiB) of a whole process via /usr/bin/time -f %M. */
function peakRss(timeTool, cmd, env) {
	// time writes its line to -o, so the runtime's (inherited) stderr can stay on the log file.
	const out = path.join(work, 'time.out');
	const r = spawnSync(timeTool, ['-o', out, '-f', 'TSRUN-BENCH-RSS %M', ...cmd], { stdio: ['ignore', 'ignore', logFd], env });
	const m = /TSRUN-BENCH-RSS (\d+)/.exec(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '');
	if (r.status !== 0 || !m) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${logTail()}`);
	return Number(m[1]);
}

const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	const n = s.length;
	return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const shuffle = (xs) => {
	const a = [...xs];
	for (let i = a.length - 1; i > 0; i--) {
		const j = Math.floor(Math.random() * (i + 1));
		[a[i], a[j]] = [a[j], a[i]];
	}
	return a;
};

function makeBundle() {
	const rootfs = path.join(work, 'rootfs');
	execFileSync('bash', [path.join(repo, 'scripts/make-rootfs.sh'), rootfs], { stdio: ['ignore', 'ignore', 'inherit'] });
	// The integration tests' runc-like baseline, without the cgroup mount and cgroup namespace (the
	// same work for every runtime on this host).
	const config = (argv) => {
		const c = baseConfig({ args: argv, hostname: 'bench' });
		c.root.path = rootfs;
		c.mounts = c.mounts.filter((m) => m.type !== 'cgroup');
		return c;
	};
	const bundles = {};
	for (const [name, argv] of [['true', ['/bin/true']], ['sleep', ['sleep', '1000000']]]) {
		const dir = path.join(work, `bundle-${name}`);
		fs.mkdirSync(dir);
		fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config(argv), null, '\t'));
		bundles[name] = dir;
	}
	return bundles;
}

async function main() {
	const timeTool = ensureTimeTool();
	const bundles = makeBundle();
	const rts = (activeRuntimes = runtimes());
	let seq = 0;
	for (const rt of rts) {
		rt.root = path.join(work, `root-${rt.name}`);
		rt.base = [...rt.cmd, '--root', rt.root];
		rt.newId = () => `tsrun-bench-${rt.name}-${process.pid}-${++seq}`;
		rt.failed = null;
	}
	const exec = (rt, ...a) => {
		const r = spawnSync(rt.base[0], [...rt.base.slice(1), ...a], { stdio: ['ignore', 'ignore', logFd], timeout: 60_000, env: rt.env });
		if (r.status !== 0) throw new Error(`${rt.name} ${a.join(' ')}: exit ${r.status ?? r.signal}: ${logTail()}`);
	};
	const stateOf = (rt, id) => {
		const r = spawnSync(rt.base[0], [...rt.base.slice(1), 'state', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', logFd], timeout: 60_000, env: rt.env });
		if (r.status !== 0) throw new Error(`${rt.name} state ${id}: exit ${r.status ?? r.signal}: ${logTail()}`);
		return JSON.parse(r.stdout);
	};

	// One running container per runtime for `state`.
	for (const rt of rts) {
		try {
			rt.stateId = rt.newId();
			exec(rt, 'run', '--detach', '--bundle', bundles.sleep, rt.stateId);
			exec(rt, 'state', rt.stateId);
		} catch (err) {
			rt.failed = `setup: ${err.message}`;
		}
	}
	const live = () => rts.filter((r) => !r.failed);
	// the engine starts on a first call and serves from the next: warm it as a client's first call would
	const engineRt = rts.find((r) => r.name === 'tsrun' && !r.failed);
	if (engineRt) {
		const deadline = Date.now() + 20_000;
		while (!(fs.existsSync(engineDir) && fs.readdirSync(engineDir).some((f) => f.endsWith('.sock'))) && Date.now() < deadline) {
			exec(engineRt, 'list');
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		exec(engineRt, 'state', engineRt.stateId);
	}

	const samples = {}; // op → name → [ms]
	const add = (op, name, v) => ((samples[op] ??= {})[name] ??= []).push(v);
	const guard = async (rt, fn) => {
		if (rt.failed) return;
		try {
			await fn();
		} catch (err) {
			rt.failed = err.message.split('\n')[0];
		}
	};

	process.stderr.write(`bench: ${RUNS} rounds over ${['node -e 0', ...rts.map((r) => r.name)].join(', ')}\n`);
	const nsenterBase = crunNs ? ['nsenter', `--mount=${crunNs}`, '/bin/true'] : null;
	for (let round = 0; round < RUNS; round++) {
		process.stderr.write(`\rround ${round + 1}/${RUNS}`);
		for (const who of shuffle(['node', ...live().map((r) => r.name), ...(nsenterBase ? ['nsenter'] : [])])) {
			if (who === 'node') {
				const ms = await timeProcess([process.execPath, '-e', '0']);
				for (const op of ['state', 'run /bin/true']) add(op, 'node -e 0', ms);
				add('create+start+delete', 'node -e 0', ms + (await timeProcess([process.execPath, '-e', '0'])) + (await timeProcess([process.execPath, '-e', '0'])));
				continue;
			}
			if (who === 'nsenter') {
				add('nsenter overhead', 'nsenter', await timeProcess(nsenterBase));
				continue;
			}
			const rt = rts.find((r) => r.name === who);
			await guard(rt, async () => {
				const t = (cmd) => timeProcess(cmd, { env: rt.env });
				add('state', rt.name, await t([...rt.base, 'state', rt.stateId]));
				const runId = rt.newId();
				add('run /bin/true', rt.name, await t([...rt.base, 'run', '--bundle', bundles.true, runId]));
				const id = rt.newId();
				let ms = await t([...rt.base, 'create', '--bundle', bundles.true, id]);
				ms += await t([...rt.base, 'start', id]);
				ms += await t([...rt.base, 'delete', '--force', id]);
				add('create+start+delete', rt.name, ms);
			});
		}
	}
	process.stderr.write('\n');

	// N runs back to back, one runtime after the other (interleaving would hide what a warm engine keeps)
	const backToBack = {}; // name → total ms
	let engineUse; // the engine's fds and RSS before and after its N runs: what a warm engine keeps
	for (const rt of shuffle(live())) {
		process.stderr.write(`${SEQ_RUNS} runs back to back: ${rt.name}\n`);
		await guard(rt, async () => {
			const before = rt === engineRt ? engineFootprint() : undefined;
			let total = 0;
			for (let i = 0; i < SEQ_RUNS; i++) total += await timeProcess([...rt.base, 'run', '--bundle', bundles.true, rt.newId()], { env: rt.env });
			backToBack[rt.name] = total;
			if (before) engineUse = { before, after: engineFootprint() };
		});
	}

	// Peak RSS of the runtime processes, and VmRSS of a created container's init.
	const rss = {}; // op → name → KiB
	const initRss = {};
	if (timeTool) {
		const nodeRss = median(Array.from({ length: RSS_RUNS }, () => peakRss(timeTool, [process.execPath, '-e', '0'])));
		for (const op of ['state', 'run /bin/true', 'create+start+delete']) (rss[op] ??= {})['node -e 0'] = nodeRss;
	}
	for (const rt of live()) {
		await guard(rt, async () => {
			if (timeTool) {
				(rss.state ??= {})[rt.name] = median(Array.from({ length: RSS_RUNS }, () => peakRss(timeTool, [...rt.base, 'state', rt.stateId], rt.env)));
				(rss['run /bin/true'] ??= {})[rt.name] = median(
					Array.from({ length: RSS_RUNS }, () => peakRss(timeTool, [...rt.base, 'run', '--bundle', bundles.true, rt.newId()], rt.env)),
				);
				const creates = [];
				for (let i = 0; i < RSS_RUNS; i++) {
					const id = rt.newId();
					creates.push(peakRss(timeTool, [...rt.base, 'create', '--bundle', bundles.true, id], rt.env));
					exec(rt, 'delete', '--force', id);
				}
				(rss['create+start+delete'] ??= {})[rt.name] = median(creates);
			}
			const kib = [];
			for (let i = 0; i < RSS_RUNS; i++) {
				const id = rt.newId();
				exec(rt, 'create', '--bundle', bundles.sleep, id);
				const pid = stateOf(rt, id).pid;
				const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
				kib.push(Number(m[1]));
				exec(rt, 'delete', '--force', id);
			}
			initRss[rt.name] = median(kib);
		});
	}

	report(samples, rss, initRss, rts, backToBack);
	if (engineUse) {
		const { before, after } = engineUse;
		console.log(`\nthe engine over its ${SEQ_RUNS} runs: open fds ${before.fds} -> ${after.fds}, VmRSS ${before.rssMiB.toFixed(1)} -> ${after.rssMiB.toFixed(1)} MiB`);
	}
}

/** The bench's engine: its open fds and VmRSS (one engine: the door starts at most one per dir). */
function engineFootprint() {
	const pid = enginePids(engineDir)[0];
	if (pid === undefined) return { fds: NaN, rssMiB: NaN };
	const rss = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return { fds: fs.readdirSync(`/proc/${pid}/fd`).length, rssMiB: Number(rss?.[1] ?? NaN) / 1024 };
}


function report(samples, rss, initRss, rts, seq) {
	const names = ['node -e 0', ...rts.filter((r) => samples.state?.[r.name]).map((r) => r.name)];
	const rows = [['operation', 'process', 'median ms', 'min ms', 'peak RSS MiB', '× node -e 0', '× runc']];
	for (const op of ['state', 'run /bin/true', 'create+start+delete']) {
		const base = median(samples[op]?.['node -e 0'] ?? []);
		const runc = median(samples[op]?.runc ?? []);
		for (const n of names) {
			const xs = samples[op]?.[n];
			if (!xs?.length) continue;
			const m = median(xs);
			const r = rss[op]?.[n];
			rows.push([
				op,
				n === 'node -e 0' && op === 'create+start+delete' ? 'node -e 0 (×3)' : `${n}${rts.find((x) => x.name === n)?.note ? ` (${rts.find((x) => x.name === n).note})` : ''}`,
				m.toFixed(1),
				Math.min(...xs).toFixed(1),
				r ? (r / 1024).toFixed(1) : '-',
				n === 'node -e 0' ? '1.00' : (m / base).toFixed(2),
				Number.isNaN(runc) ? '-' : (m / runc).toFixed(2),
			]);
		}
	}
	if (samples['nsenter overhead']) {
		const xs = samples['nsenter overhead'].nsenter;
		rows.push(['(crun cost of nsenter)', 'nsenter /bin/true', median(xs).toFixed(1), Math.min(...xs).toFixed(1), '-', '-', '-']);
	}
	const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
	const line = (r) => r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
	console.log(`\ntsrun bench: ${RUNS} runs each, medians (${os.cpus().length} CPUs, Node ${process.version}, ${os.release()})\n`);
	console.log(line(rows[0]));
	console.log(widths.map((w) => '-'.repeat(w)).join('  '));
	for (const r of rows.slice(1)) console.log(line(r));

	console.log(`\n${SEQ_RUNS} runs of /bin/true back to back (incl. delete), total`);
	for (const [n, ms] of Object.entries(seq)) {
		console.log(`  ${n.padEnd(12)} ${(ms / 1000).toFixed(2).padStart(7)} s${seq.runc ? `  × runc ${(ms / seq.runc).toFixed(2)}` : ''}`);
	}

	console.log('\ncreated (not started) container: VmRSS of its init process');
	const runcInit = initRss.runc;
	for (const [n, kib] of Object.entries(initRss)) {
		console.log(`  ${n.padEnd(12)} ${(kib / 1024).toFixed(2).padStart(6)} MiB${runcInit ? `  × runc ${(kib / runcInit).toFixed(2)}` : ''}`);
	}
	for (const rt of rts) if (rt.failed) console.log(`\n${rt.name}: FAILED (${rt.failed})`);
}

async function cleanup() {
	for (const name of fs.existsSync(work) ? fs.readdirSync(work) : []) {
		if (!name.startsWith('root-')) continue;
		const rtName = name.slice('root-'.length);
		const rt = activeRuntimes.find((r) => r.name === rtName);
		const root = path.join(work, name);
		if (!rt) continue;
		for (const id of fs.readdirSync(root)) {
			spawnSync(rt.cmd[0], [...rt.cmd.slice(1), '--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: 30_000, env: rt.env });
		}
	}
	// the bench's own engine (it would leave by itself after its idle time), and its cgroups
	await stopEngine(engineDir).catch((err) => console.error(`bench: stopping its engine: ${err.message}`));
	// Cgroups a runtime failed to remove (default cgroup path is /<id>).
	for (const h of fs.existsSync('/sys/fs/cgroup') ? ['.', ...fs.readdirSync('/sys/fs/cgroup')] : []) {
		const dir = path.join('/sys/fs/cgroup', h);
		let entries = [];
		try {
			entries = fs.readdirSync(dir);
		} catch {
			continue;
		}
		for (const e of entries) {
			if (e.startsWith(`tsrun-bench-`) && e.includes(`-${process.pid}-`)) {
				try {
					fs.rmdirSync(path.join(dir, e));
				} catch {}
			}
		}
	}
	for (const fn of cleanups.reverse()) fn();
	fs.closeSync(logFd);
	spawnSync('rm', ['-rf', '--one-file-system', work]);
}

let failed = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => cleanup().then(() => process.exit(130)));
try {
	await main();
} catch (err) {
	console.error(`bench: ${err.stack ?? err}`);
	failed = true;
} finally {
	await cleanup();
}
process.exitCode = failed ? 1 : 0;

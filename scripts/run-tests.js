#!/usr/bin/env node
// `npm test`: unit tests (parallel, no root), then integration tests (real containers; root only;
// two files at a time), then the client end-to-end suite (test/e2e: containerd, podman and dockerd
// started by the tests with the runtime under test; root only; one client at a time), then the leak
// check alone. node:test prints each summary; exit 1 on failure.
//
// tsrun's integration and e2e suites run twice: through the door and the resident engine (the tsrun
// command; an engine of the run's own, stopped at the end) and in-process (TSRUN_ENGINE=off).
//
// Environment: TSRUN_ENGINE=on|off runs them one way only; TSRUN_TEST_RUNTIME=runc runs them
// against another runtime;
// TSRUN_TEST_CONCURRENCY (default 2) sets how many integration files run at once,
// TSRUN_TEST_E2E_CONCURRENCY (default 1) how many clients; TSRUN_TEST_TIMEOUT_MS (default 240000) is
// the per-test timeout of the integration suite (node:test applies it to each file as a whole too,
// and lifecycle.test.js takes a minute alone: a loaded machine must not cut it off); TSRUN_TEST_SKIP_UNIT, TSRUN_TEST_SKIP_INTEGRATION
// and TSRUN_TEST_SKIP_E2E leave out a part (the qemu lanes run only the integration suite:
// scripts/vm/).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopEngine } from '../test/helpers/engine.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const extraArgs = process.argv.slice(2); // e.g. --test-name-pattern=...

function testFiles(dir, filter = () => true) {
	const abs = path.join(repo, dir);
	if (!fs.existsSync(abs)) return [];
	const out = [];
	for (const e of fs.readdirSync(abs, { withFileTypes: true, recursive: true })) {
		const full = path.join(e.parentPath ?? e.path, e.name);
		if (e.isFile() && /\.test\.[cm]?js$/.test(e.name) && filter(full)) out.push(path.relative(repo, full));
	}
	return out.sort();
}

function nodeTest(title, files, { concurrency, env = {}, timeoutMs } = {}) {
	console.log(`\n### ${title}: ${files.length} file(s)\n`);
	const args = ['--test', '--test-reporter=spec'];
	if (concurrency) args.push(`--test-concurrency=${concurrency}`);
	if (timeoutMs) args.push(`--test-timeout=${timeoutMs}`);
	const r = spawnSync(process.execPath, [...args, ...extraArgs, ...files], {
		cwd: repo,
		stdio: 'inherit',
		env: { ...process.env, ...env },
	});
	if (r.error) console.error(`${title}: ${r.error.message}`);
	return r.status === 0;
}

const results = [];


const unit = testFiles('test/unit');
if (process.env.TSRUN_TEST_SKIP_UNIT) console.log('\n### unit tests: SKIPPED (TSRUN_TEST_SKIP_UNIT is set)');
else if (unit.length) results.push(['unit', nodeTest('unit tests', unit)]);
else console.log('\n### unit tests: none found in test/unit');

const isRoot = process.getuid?.() === 0;
if (!isRoot) {
	console.log('\n### integration tests: SKIPPED (they run real containers and need root: sudo npm test)');
	console.log('\n### e2e tests: SKIPPED (they start containerd, podman and dockerd and need root)');
} else if (process.env.TSRUN_TEST_SKIP_INTEGRATION && process.env.TSRUN_TEST_SKIP_E2E) {
	console.log('\n### integration and e2e tests: SKIPPED (TSRUN_TEST_SKIP_INTEGRATION and TSRUN_TEST_SKIP_E2E are set)');
} else {
	const runId = process.env.TSRUN_TEST_RUN_ID || crypto.randomBytes(3).toString('hex');
	// One busybox rootfs for the whole run; each test copies it into its own bundle.
	const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), `tsrun-rootfs-${runId}-`));
	let ok = true;
	try {
		const mk = spawnSync('bash', [path.join(repo, 'scripts/make-rootfs.sh'), path.join(rootfs, 'rootfs')], { stdio: 'inherit' });
		if (mk.status !== 0) {
			console.error('make-rootfs.sh failed; cannot run the integration and e2e tests');
			results.push(['rootfs', false]);
			ok = null;
		} else {
			const env = { TSRUN_TEST_RUN_ID: runId, TSRUN_TEST_ROOTFS: path.join(rootfs, 'rootfs') };
			const runtime = process.env.TSRUN_TEST_RUNTIME || 'tsrun';
			const isLeakCheck = (f) => path.basename(f).startsWith('zz-leaks');
			// tsrun's suites run twice: through the door with the resident engine (the tsrun command)
			// and in-process (TSRUN_ENGINE=off); a TSRUN_ENGINE given picks one
			const modes = process.env.TSRUN_ENGINE ? [process.env.TSRUN_ENGINE] : process.env.TSRUN_TEST_RUNTIME ? [undefined] : ['on', 'off'];
			for (const mode of modes) {
				const label = mode === undefined ? `runtime: ${runtime}` : mode === 'off' ? 'tsrun in-process, TSRUN_ENGINE=off' : 'tsrun through the engine';
				const suffix = modes.length > 1 ? (mode === 'off' ? ' (in-process)' : ' (engine)') : '';
				// the run's own engine, stopped after its stages: never a user's, never left behind
				const engineDir = `/run/tsrun-engine-test-${runId}`;
				const modeEnv = mode === undefined ? env : { ...env, TSRUN_ENGINE: mode, ...(mode === 'off' ? {} : { TSRUN_ENGINE_DIR: engineDir }) };
				try {
					if (process.env.TSRUN_TEST_SKIP_INTEGRATION) {
						console.log('\n### integration tests: SKIPPED (TSRUN_TEST_SKIP_INTEGRATION is set)');
					} else {
						const files = testFiles('test/integration', (f) => !isLeakCheck(f));
						const concurrency = Number(process.env.TSRUN_TEST_CONCURRENCY || 2);
						const passed = nodeTest(`integration tests (${label})`, files, { concurrency, env: modeEnv, timeoutMs: Number(process.env.TSRUN_TEST_TIMEOUT_MS || 240_000) });
						results.push([`integration${suffix}`, passed]);
					}
					if (process.env.TSRUN_TEST_SKIP_E2E) {
						console.log('\n### e2e tests: SKIPPED (TSRUN_TEST_SKIP_E2E is set)');
					} else {
						const files = testFiles('test/e2e');
						const concurrency = Number(process.env.TSRUN_TEST_E2E_CONCURRENCY || 1);
						const passed = nodeTest(`e2e tests: containerd, podman, dockerd (${label})`, files, { concurrency, env: modeEnv, timeoutMs: 600_000 });
						results.push([`e2e${suffix}`, passed]);
					}
				} finally {
					await stopEngine(engineDir).catch((err) => console.error(`stopping the run's engine: ${err.message}`));
				}
			}
			// What either stage left on the machine (temp dirs, cgroups, processes, mounts of this run).
			const leaks = testFiles('test/integration', isLeakCheck);
			if (leaks.length) ok = nodeTest('leak check', leaks, { concurrency: 1, env });
		}
	} finally {
		fs.rmSync(rootfs, { recursive: true, force: true });
	}
	if (ok !== null) results.push(['leak check', ok]);
}

console.log(`\n### summary: ${results.map(([n, ok]) => `${n} ${ok ? 'passed' : 'FAILED'}`).join(', ') || 'nothing ran'}`);
process.exitCode = results.every(([, ok]) => ok) ? 0 : 1;

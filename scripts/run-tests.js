#!/usr/bin/env node
// `npm test`: unit tests (parallel, no root), then integration tests (real containers; root only;
// two files at a time), then the client end-to-end suite (test/e2e: containerd, podman and dockerd
// started by the tests with the runtime under test; root only; one client at a time), then the leak
// check alone. node:test prints each summary; exit 1 on failure.
//
// Environment: TSRUN_TEST_RUNTIME=runc runs the integration and e2e suites against another runtime;
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
			if (process.env.TSRUN_TEST_SKIP_INTEGRATION) {
				console.log('\n### integration tests: SKIPPED (TSRUN_TEST_SKIP_INTEGRATION is set)');
			} else {
				const files = testFiles('test/integration', (f) => !isLeakCheck(f));
				const concurrency = Number(process.env.TSRUN_TEST_CONCURRENCY || 2);
				const passed = nodeTest(`integration tests (runtime: ${runtime})`, files, { concurrency, env, timeoutMs: Number(process.env.TSRUN_TEST_TIMEOUT_MS || 240_000) });
				results.push(['integration', passed]);
			}
			if (process.env.TSRUN_TEST_SKIP_E2E) {
				console.log('\n### e2e tests: SKIPPED (TSRUN_TEST_SKIP_E2E is set)');
			} else {
				const files = testFiles('test/e2e');
				const concurrency = Number(process.env.TSRUN_TEST_E2E_CONCURRENCY || 1);
				const passed = nodeTest(`e2e tests: containerd, podman, dockerd (runtime: ${runtime})`, files, { concurrency, env, timeoutMs: 600_000 });
				results.push(['e2e', passed]);
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

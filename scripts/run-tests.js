#!/usr/bin/env node
// `npm test`: unit tests (parallel, no root), then integration tests (real containers; root only;
// two files at a time), then the leak check alone. node:test prints each summary; exit 1 on failure.
//
// Environment: TSRUN_TEST_RUNTIME=runc runs the integration suite against another runtime;
// TSRUN_TEST_CONCURRENCY (default 2) sets how many integration files run at once;
// TSRUN_TEST_TIMEOUT_MS (default 120000) is the per-test timeout of the integration suite;
// TSRUN_TEST_SKIP_UNIT / TSRUN_TEST_SKIP_INTEGRATION leave out one part (the qemu lanes run only
// the integration suite: scripts/vm/).
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
} else if (process.env.TSRUN_TEST_SKIP_INTEGRATION) {
	console.log('\n### integration tests: SKIPPED (TSRUN_TEST_SKIP_INTEGRATION is set)');
} else {
	const runId = process.env.TSRUN_TEST_RUN_ID || crypto.randomBytes(3).toString('hex');
	// One busybox rootfs for the whole run; each test copies it into its own bundle.
	const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), `tsrun-rootfs-${runId}-`));
	let ok = true;
	try {
		const mk = spawnSync('bash', [path.join(repo, 'scripts/make-rootfs.sh'), path.join(rootfs, 'rootfs')], { stdio: 'inherit' });
		if (mk.status !== 0) {
			console.error('make-rootfs.sh failed; cannot run integration tests');
			ok = false;
		} else {
			const env = { TSRUN_TEST_RUN_ID: runId, TSRUN_TEST_ROOTFS: path.join(rootfs, 'rootfs') };
			const isLeakCheck = (f) => path.basename(f).startsWith('zz-leaks');
			const files = testFiles('test/integration', (f) => !isLeakCheck(f));
			const concurrency = Number(process.env.TSRUN_TEST_CONCURRENCY || 2);
			ok = nodeTest(`integration tests (runtime: ${process.env.TSRUN_TEST_RUNTIME || 'tsrun'})`, files, { concurrency, env, timeoutMs: Number(process.env.TSRUN_TEST_TIMEOUT_MS || 120_000) });
			const leaks = testFiles('test/integration', isLeakCheck);
			if (leaks.length) ok = nodeTest('leak check', leaks, { concurrency: 1, env }) && ok;
		}
	} finally {
		fs.rmSync(rootfs, { recursive: true, force: true });
	}
	results.push(['integration', ok]);
}

console.log(`\n### summary: ${results.map(([n, ok]) => `${n} ${ok ? 'passed' : 'FAILED'}`).join(', ') || 'nothing ran'}`);
process.exitCode = results.every(([, ok]) => ok) ? 0 : 1;

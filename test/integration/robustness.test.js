// Concurrent callers: commands racing on one container never see a torn state, lose the container or
// signal anything outside it. (Malformed configs through create: malformed-create-*.test.js.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cgroupDirs } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { isAlive } from '../helpers/proc.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot, timeout: 240_000 };

test('state/kill/delete: 24 racing commands on one container never see a torn state; one delete wins', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	await c.create();
	await c.start();
	const runs = [];
	for (let i = 0; i < 8; i++) {
		runs.push(c.run(['state', c.id], { expectExit: null }));
		runs.push(c.run(['kill', c.id, '0'], { expectExit: null }));
		runs.push(c.run(['delete', '--force', c.id], { expectExit: null }));
	}
	const results = await Promise.all(runs);
	for (const r of results) {
		if (r.command.includes(' state ') && r.exitCode === 0) {
			const st = JSON.parse(r.stdout); // never half-written
			assert.equal(st.id, c.id);
		} else if (r.exitCode !== 0) {
			assert.match(r.stderr, /does not exist|not running/, r.stderr);
		}
	}
	assert.ok(results.filter((r) => r.command.includes(' delete ')).every((r) => r.exitCode === 0), 'delete --force of a gone container exits 0');
	assert.equal(fs.existsSync(path.join(c.root, c.id)), false);
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
});

test('state/kill/exec/delete --force: 100 concurrent calls on one container: no torn state, no lost container, no stray signal', { ...opts, timeout: 180_000, skip: opts.skip || notOnRunc('an exec racing delete --force fails half-way with setns errors (exec takes no lock)') }, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	// a bystander in the process group every runtime call below starts in: it notes any signal
	const noted = c.path('bystander-signals');
	const script = `for s in HUP INT QUIT USR1 USR2 TERM; do trap "echo $s >> ${noted}" $s; done; : > ${noted}.ready; while :; do sleep 1; done`;
	const by = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
	c.defer(() => {
		try {
			process.kill(by.pid, 'SIGKILL');
		} catch {}
	});
	await waitFor(() => fs.existsSync(`${noted}.ready`), 5000, 'the bystander ready');
	await c.create();
	await c.start();
	const init = (await c.state()).pid;
	const kinds = [
		...Array(30).fill(['state', c.id]),
		...Array(20).fill(['kill', c.id, 'TERM']),
		...Array(5).fill(['kill', '--all', c.id, 'USR1']),
		...Array(30).fill(['exec', c.id, 'true']),
		...Array(15).fill(['delete', '--force', c.id]),
	];
	// interleaved so that every kind runs throughout
	const order = kinds.map((k, i) => [((i * 37) % kinds.length), k]).sort((a, b) => a[0] - b[0]).map(([, k]) => k);
	const results = await Promise.all(order.map((args) => c.run(args, { expectExit: null, timeoutMs: 60_000 })));
	const bad = [];
	for (const r of results) {
		const cmd = r.command.split(' ').find((w) => ['state', 'kill', 'exec', 'delete'].includes(w));
		const errLines = r.stderr.trim().split('\n').filter((l) => l && !/level=warning/.test(l));
		if (r.timedOut) bad.push(`timed out: ${r.command}`);
		if (/\n\s+at /.test(r.stderr)) bad.push(`stack trace: ${r.command}\n${r.stderr}`);
		if (cmd === 'state' && r.exitCode === 0) {
			let st;
			try {
				st = JSON.parse(r.stdout);
			} catch {
				bad.push(`torn state: ${r.stdout}`);
				continue;
			}
			if (st.id !== c.id || !['running', 'stopped'].includes(st.status)) bad.push(`state: ${r.stdout}`);
			if (st.status === 'running' && st.pid !== init) bad.push(`state pid ${st.pid}, init ${init}`);
		} else if (cmd === 'delete') {
			if (r.exitCode !== 0) bad.push(`delete --force exited ${r.exitCode}: ${r.stderr}`);
		} else if (cmd === 'exec' && [0, 137].includes(r.exitCode)) {
			// ran, or was killed by a delete --force that came after it joined
		} else if (r.exitCode !== 0) {
			if (errLines.length !== 1 || !/does not exist|not running|stopped|cannot exec/.test(errLines[0])) bad.push(`${r.command}: exit ${r.exitCode}: ${r.stderr}`);
		}
	}
	assert.deepEqual(bad, []);
	await new Promise((r) => setTimeout(r, 300));
	assert.deepEqual((fs.existsSync(noted) ? fs.readFileSync(noted, 'utf8') : '').split('\n').filter(Boolean), [], 'no signal reached the callers\' process group');
	assert.ok(isAlive(by.pid), 'the bystander lives');
	// the container is gone as a whole: no state, no process, no cgroup
	assert.equal(fs.existsSync(path.join(c.root, c.id)), false);
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
	assert.equal(isAlive(init), false, 'the init is gone');
});

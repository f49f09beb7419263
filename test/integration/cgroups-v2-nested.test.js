// A nested linux.cgroupsPath on cgroup v2: the runtime makes every missing ancestor and hands the
// controllers the resources need down through each one's cgroup.subtree_control; an ancestor that
// holds processes cannot hand any on (cgroup v2's no-internal-process rule), and the error names it.
// The controller used is hugetlb, the one a hybrid host's cgroup2 hierarchy has.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setup } from '../helpers/fixture.js';
import { notOnRunc } from '../helpers/runtime-under-test.js';
import { waitFor } from '../helpers/wait.js';
import { useCgroupV2, V2_ROOT, v2Skip } from '../helpers/cgroup-v2.js';

const read = (file) => fs.readFileSync(file, 'utf8').trim();
const hasHugetlb = !v2Skip && read(path.join(V2_ROOT, 'cgroup.controllers')).split(/\s+/).includes('hugetlb')
	&& fs.existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB');
const skip = v2Skip || (!hasHugetlb && 'needs the hugetlb controller in cgroup2 and 2 MB pages');
const opts = { skip, timeout: 60_000 };

/** A fixture whose container lives at /tsrun-it/<id>/<nested> with a 2 MB huge page limit. */
async function nestedSetup(t, nested) {
	const c = useCgroupV2(await setup(t, { args: ['true'] }));
	c.config.linux.cgroupsPath = `${c.cgroupsPath}/${nested}`;
	c.config.linux.resources.hugepageLimits = [{ pageSize: '2MB', limit: 4 * 2 * 1024 * 1024 }];
	return c;
}

test('create: a nested cgroupsPath gets its ancestors, each handing hugetlb on',
	{ ...opts, skip: skip || notOnRunc('leaves the ancestor cgroups it made behind') }, async (t) => {
		const c = await nestedSetup(t, 'a/b/ctr');
		await c.create();
		const leaf = path.join(V2_ROOT, c.config.linux.cgroupsPath);
		assert.equal(read(path.join(leaf, 'hugetlb.2MB.max')), String(8 * 1024 * 1024));
		for (const rel of ['a', 'a/b']) {
			assert.ok(read(path.join(V2_ROOT, c.cgroupsPath, rel, 'cgroup.subtree_control')).split(/\s+/).includes('hugetlb'), rel);
		}
		await c.start();
		await c.waitStatus('stopped');
		await c.delete();
		assert.ok(!fs.existsSync(path.join(V2_ROOT, c.cgroupsPath)), 'the ancestors it made are gone with it');
	});

test('create: an ancestor holding processes is an error that names it', { ...opts, skip: skip || notOnRunc('ignores failed cgroup.subtree_control writes in the ancestors') }, async (t) => {
	const c = await nestedSetup(t, 'busy/ctr');
	const busy = path.join(V2_ROOT, c.cgroupsPath, 'busy');
	fs.mkdirSync(busy, { recursive: true });
	const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
	c.defer(async () => {
		sleeper.kill('SIGKILL');
		await new Promise((r) => (sleeper.exitCode !== null || sleeper.signalCode !== null ? r() : sleeper.once('exit', r)));
		await waitFor(() => read(path.join(busy, 'cgroup.procs')) === '', 5000, 'busy cgroup empty');
		fs.rmdirSync(busy);
		fs.rmdirSync(path.dirname(busy));
	});
	fs.writeFileSync(path.join(busy, 'cgroup.procs'), String(sleeper.pid));
	const r = await c.create({ expectExit: 'nonzero' });
	// the log line quotes the message's quotes
	assert.match(r.stderr, new RegExp(`\\\\?"hugetlb\\\\?" controller .*busy/cgroup.subtree_control\\\\?": it holds processes \\(${sleeper.pid}\\)`), r.stderr);
	assert.ok(!fs.existsSync(path.join(busy, 'ctr')), 'nothing of the container is left');
});

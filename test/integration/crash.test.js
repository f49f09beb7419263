// A create killed half-way (kill -9, OOM, a crashing client) must not strand anything: its record
// says so, and delete --force removes the init, the cgroup and the state dir.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { cgroupDirs } from '../helpers/cgroups.js';
import { setup } from '../helpers/fixture.js';
import { isAlive } from '../helpers/proc.js';
import { isTsrun } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';
import { waitFor } from '../helpers/wait.js';

const opts = { skip: needsRoot || (!isTsrun && 'the "creating" record is tsrun\'s'), timeout: 60_000 };

test('delete --force: a create killed with SIGKILL during its createRuntime hook leaves nothing behind', opts, async (t) => {
	const c = await setup(t, { args: ['sleep', '1000'] });
	const marker = c.path('hook-pid');
	c.config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${marker}.tmp && mv ${marker}.tmp ${marker}; exec sleep 30`] }] };
	await c.writeConfig();
	c.ids.add(c.id);
	const [file, ...argv] = c.commandLine(['create', '--bundle', c.bundle, c.id]);
	const create = execa(file, argv, { reject: false, stdio: 'ignore', cwd: c.dir });
	await waitFor(() => fs.existsSync(marker), 20_000, 'the createRuntime hook running');
	const hookPid = Number(fs.readFileSync(marker, 'utf8'));

	const during = await c.state();
	assert.equal(during.status, 'creating');
	assert.ok(isAlive(during.pid), 'the init exists while its create runs');
	assert.ok(cgroupDirs(c.cgroupsPath).length > 0, 'and so does its cgroup');

	create.kill('SIGKILL');
	await create;
	process.kill(hookPid, 'SIGKILL'); // the hook outlives its parent
	assert.equal((await c.state()).status, 'stopped', 'a create that died is not "creating"');

	await c.delete(c.id, { force: true });
	await waitFor(() => !isAlive(during.pid), 10_000, 'the init gone');
	assert.deepEqual(cgroupDirs(c.cgroupsPath), []);
	assert.equal(fs.existsSync(path.join(c.root, c.id)), false, 'the state dir gone');
});

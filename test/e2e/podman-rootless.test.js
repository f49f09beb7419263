// Rootless podman with the runtime under test as --runtime: podman run by an unprivileged user that
// this file creates (test/helpers/rootless-user.js: its own subuid/subgid ranges, which podman maps
// with newuidmap), vfs storage and config in the user's temp dir, no network. podman passes the
// runtime no --root, so the state lives where the runtime puts it for a rootless caller:
// $XDG_RUNTIME_DIR/<runtime>, which must be empty once the containers are gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { e2eSkip, runCmd, runtimeWrapper, tail, which } from '../helpers/e2e/common.js';
import { rootfsTar } from '../helpers/e2e/image.js';
import { writePodmanConfig } from '../helpers/e2e/podman.js';
import { sharedRootfs } from '../helpers/rootfs.js';
import { RootlessUser, rootlessSkipReason } from '../helpers/rootless-user.js';
import { isRunc, RUNTIME } from '../helpers/runtime-under-test.js';
import { waitFor } from '../helpers/wait.js';

const IMAGE = 'localhost/tsrun-e2e-rootless:latest';
const skip = e2eSkip(['podman', 'conmon']) || rootlessSkipReason();

describe(`rootless podman (--runtime ${RUNTIME.name})`, { skip }, () => {
	let user;
	let dir;
	let podman;
	const stateDir = () => path.join(user.runtimeDir, isRunc ? 'runc' : RUNTIME.name);

	before(async () => {
		user = await RootlessUser.create();
		dir = path.join(user.base, 'podman');
		for (const d of ['', 'graph', 'run', 'tmp', 'config']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
		writePodmanConfig(dir, { driver: 'vfs' });
		const runtime = runtimeWrapper(dir);
		const layer = await rootfsTar(await sharedRootfs(), dir);
		await user.own(user.base);
		const words = user.prefix({ XDG_CONFIG_HOME: path.join(dir, 'config'), CONTAINERS_CONF: path.join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf') });
		const global = ['--root', `${dir}/graph`, '--runroot', `${dir}/run`, '--tmpdir', `${dir}/tmp`, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', runtime];
		podman = (args, opts = {}) =>
			runCmd(words[0], [...words.slice(1), which('podman'), ...global, ...args], {
				cwd: dir,
				...opts,
				context: () => `--- runtime calls:\n${tail(path.join(dir, 'runtime-calls.log'), 10)}`,
			});
		await podman(['import', '--change', 'CMD ["sh"]', layer, IMAGE], { timeoutMs: 180_000 });
	});

	after(async () => {
		if (podman) {
			await podman(['rm', '--all', '--force', '--time', '0'], { expectExit: null, timeoutMs: 60_000 }).catch(() => {});
			await podman(['system', 'reset', '--force'], { expectExit: null, timeoutMs: 60_000 }).catch(() => {});
		}
		await user?.remove();
	});

	test('run: stdout, exit codes, root inside mapped to the user and its subordinate ids', async () => {
		const r = await podman(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'echo hi; id -u; cat /proc/self/uid_map']);
		const lines = r.stdout.trim().split('\n').map((l) => l.trim());
		assert.equal(lines[0], 'hi');
		assert.equal(lines[1], '0');
		const maps = lines.slice(2).map((l) => l.split(/\s+/).map(Number));
		assert.deepEqual(maps[0], [0, user.uid, 1], 'root inside is the user');
		assert.ok(maps.some((m) => m[1] === user.subuid.start), 'the rest are its subordinate ids');
		await podman(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'exit 7'], { expectExit: 7 });
		await podman(['run', '--rm', '--network', 'none', IMAGE, 'no-such-command'], { expectExit: 127 });
	});

	test('run -d, exec, rm -f: the exec\'s status comes back; removal leaves no process and no state', async () => {
		const id = (await podman(['run', '-d', '--network', 'none', IMAGE, 'sleep', '300'])).stdout.trim();
		const pid = Number((await podman(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim());
		assert.ok(pid > 0);
		assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+\d+/m);
		const e = await podman(['exec', id, 'sh', '-c', 'echo in-exec; exit 3'], { expectExit: 3 });
		assert.match(e.stdout, /in-exec/);
		assert.ok(fs.existsSync(path.join(stateDir(), id)), `the state is in ${stateDir()}`);
		await podman(['rm', '--force', '--time', '0', id]);
		await waitFor(() => !isAlive(pid), 10_000, `container pid ${pid} gone`);
		assert.ok(!fs.existsSync(path.join(stateDir(), id)));
	});

	test('stop: the TERM trap\'s status is the container\'s exit code', async () => {
		const id = (await podman(['run', '-d', '--network', 'none', IMAGE, 'sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.2; done'])).stdout.trim();
		await waitFor(async () => (await podman(['logs', id])).stdout.includes('ready'), 15_000, 'container ready');
		await podman(['stop', '--time', '20', id], { timeoutMs: 60_000 });
		assert.equal((await podman(['inspect', '--format', '{{.State.ExitCode}}', id])).stdout.trim(), '42');
		await podman(['rm', id]);
	});

	test('afterwards: nothing left under the user\'s runtime state dir', async () => {
		await waitFor(() => !fs.existsSync(stateDir()) || fs.readdirSync(stateDir()).length === 0, 10_000, `${stateDir()} empty`);
	});
});

function isAlive(pid) {
	try {
		return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	} catch {
		return false;
	}
}


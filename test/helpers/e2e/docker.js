// A private dockerd for the e2e suite: --data-root, --exec-root, --pidfile, the API socket and an
// empty --config-file in the temp dir, the cgroupfs driver, no bridge and no iptables rules (so
// containers run with --network none), the runtime under test added as runtime "e2e" and this
// run's --cgroup-parent. dockerd starts its own containerd under the exec root; what both still
// write outside it (/run/containerd/s shim sockets, /run/docker, /etc/docker/key.json, ...) is
// removed after.
import fs from 'node:fs';
import path from 'node:path';
import { sharedRootfs } from '../rootfs.js';
import { cgroupParent, Daemon, HostPaths, runCmd, runtimeWrapper, tail, teardownEnv, which, workdir } from './common.js';
import { IMAGE_ENV, rootfsTar } from './image.js';

export const DOCKER_IMAGE = 'tsrun-e2e:latest';

export async function startDocker() {
	const dir = workdir('docker');
	const exec = path.join(dir, 'exec');
	const sock = path.join(dir, 'docker.sock');
	const env = {
		dir,
		cgroupParent: cgroupParent('docker'),
		runtime: runtimeWrapper(dir),
		hostPaths: new HostPaths([
			'/run/containerd/s',
			'/run/containerd/fifo',
			'/run/containerd',
			'/run/docker/plugins',
			'/run/docker',
			'/etc/docker/key.json',
			'/etc/docker',
			'/opt/containerd/bin',
			'/opt/containerd/lib',
			'/opt/containerd',
		]),
		daemon: null,
		containers: new Set(),
	};
	fs.writeFileSync(path.join(dir, 'daemon.json'), '{}\n');
	fs.mkdirSync(path.join(dir, 'client'));
	// The docker.io client matches the daemon; another docker earlier on PATH may not.
	const docker = which('/usr/bin/docker') ?? which('docker');
	const clientEnv = { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: path.join(dir, 'client') };
	env.docker = (args, opts = {}) =>
		runCmd(docker, args, {
			...opts,
			env: { ...clientEnv, ...opts.env },
			context: () => `--- dockerd log:\n${tail(path.join(dir, 'dockerd.log'), 15)}\n--- runtime calls:\n${tail(path.join(dir, 'runtime-calls.log'), 10)}`,
		});
	env.runFlags = ['--runtime', 'e2e', '--network', 'none'];
	/** The runtime's --root dirs dockerd's shims use: <exec-root>/runtime-NAME/NAMESPACE. */
	env.runtimeRoots = () => {
		const out = [];
		for (const r of fs.existsSync(exec) ? fs.readdirSync(exec) : []) {
			if (!r.startsWith('runtime-')) continue;
			for (const ns of fs.readdirSync(path.join(exec, r))) out.push(path.join(exec, r, ns));
		}
		return out;
	};
	env.teardown = () =>
		teardownEnv(env, async () => {
			if (env.containers.size) await env.docker(['rm', '--force', ...env.containers], { expectExit: null, timeoutMs: 60_000 });
		});
	try {
		env.daemon = new Daemon(
			'dockerd',
			which('dockerd'),
			[
				'--config-file', path.join(dir, 'daemon.json'),
				'--data-root', path.join(dir, 'data'),
				'--exec-root', exec,
				'--pidfile', path.join(dir, 'dockerd.pid'),
				'-H', `unix://${sock}`,
				'--iptables=false',
				'--ip6tables=false',
				'--bridge=none',
				'--exec-opt', 'native.cgroupdriver=cgroupfs',
				'--cgroup-parent', env.cgroupParent,
				'--add-runtime', `e2e=${env.runtime}`,
			],
			{ logFile: path.join(dir, 'dockerd.log') },
		);
		await env.daemon.ready(async () => (await env.docker(['version'], { expectExit: null, timeoutMs: 5000 })).exitCode === 0);
		const layer = await rootfsTar(await sharedRootfs(), dir);
		const changes = ['--change', 'CMD ["sh"]', ...IMAGE_ENV.flatMap((e) => ['--change', `ENV ${e}`])];
		await env.docker(['import', ...changes, layer, DOCKER_IMAGE], { timeoutMs: 120_000 });
	} catch (err) {
		const errors = await env.teardown();
		if (errors.length) err.message += `\nteardown: ${errors.join('; ')}`;
		throw err;
	}
	return env;
}

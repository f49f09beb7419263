// A private containerd for the e2e suite: its own config (CRI plugin disabled, /opt plugin in the
// temp dir), root, state and sockets under the temp dir; ctr runs the image with
// `--runc-binary <wrapper> --runc-root <dir>/runc-root`, fifos and cgroups of the run's own.
import fs from 'node:fs';
import path from 'node:path';
import { sharedRootfs } from '../rootfs.js';
import { cgroupParent, Daemon, HostPaths, runCmd, runtimeWrapper, tail, teardownEnv, which, workdir } from './common.js';
import { ociArchive, rootfsTar } from './image.js';

export const CTR_IMAGE = 'docker.io/library/tsrun-e2e:latest';
export const CTR_NAMESPACE = 'tsrun-e2e';

export async function startContainerd() {
	const dir = workdir('containerd');
	const env = {
		dir,
		cgroupParent: cgroupParent('containerd'),
		runtime: runtimeWrapper(dir),
		runcRoot: path.join(dir, 'runc-root'),
		address: path.join(dir, 'containerd.sock'),
		hostPaths: new HostPaths(['/run/containerd/s', '/run/containerd/fifo', '/run/containerd', '/opt/containerd/bin', '/opt/containerd/lib', '/opt/containerd']),
		daemon: null,
		containers: new Set(),
	};
	const config = path.join(dir, 'containerd.toml');
	fs.writeFileSync(
		config,
		[
			'version = 2',
			`root = "${dir}/root"`,
			`state = "${dir}/state"`,
			'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
			'[grpc]',
			`  address = "${env.address}"`,
			'[ttrpc]',
			`  address = "${env.address}.ttrpc"`,
			'[debug]',
			'  address = ""',
			'[plugins."io.containerd.internal.v1.opt"]',
			`  path = "${dir}/opt"`,
			'',
		].join('\n'),
	);
	const ctr = which('ctr');
	env.ctrBin = ctr;
	env.ctrArgv = (args) => ['--address', env.address, '--namespace', CTR_NAMESPACE, ...args];
	/** ctr against this containerd; failures show the daemon's log and the runtime's calls. */
	env.ctr = (args, opts = {}) =>
		runCmd(ctr, env.ctrArgv(args), {
			...opts,
			context: () => `--- containerd log:\n${tail(path.join(dir, 'containerd.log'), 15)}\n--- runtime calls:\n${tail(path.join(dir, 'runtime-calls.log'), 10)}`,
		});
	/** The words before the image in `ctr run` for container `name`: our runtime, root, fifos, cgroup. */
	env.runFlags = (name) => ['--runc-binary', env.runtime, '--runc-root', env.runcRoot, '--fifo-dir', path.join(dir, 'fifo'), '--cgroup', `${env.cgroupParent}/${name}`];
	env.runtimeRoots = () => [path.join(env.runcRoot, CTR_NAMESPACE)];
	env.teardown = () =>
		teardownEnv(env, async () => {
			for (const name of env.containers) {
				await env.ctr(['task', 'delete', '--force', name], { expectExit: null, timeoutMs: 20_000 });
				await env.ctr(['container', 'delete', name], { expectExit: null, timeoutMs: 20_000 });
			}
		});
	try {
		env.daemon = new Daemon('containerd', which('containerd'), ['--config', config, '--address', env.address, '--root', `${dir}/root`, '--state', `${dir}/state`], {
			logFile: path.join(dir, 'containerd.log'),
		});
		await env.daemon.ready(async () => (await env.ctr(['version'], { expectExit: null, timeoutMs: 5000 })).exitCode === 0);
		const layer = await rootfsTar(await sharedRootfs(), dir);
		const archive = await ociArchive(layer, dir, CTR_IMAGE);
		await env.ctr(['images', 'import', archive], { timeoutMs: 120_000 });
	} catch (err) {
		const errors = await env.teardown();
		if (errors.length) err.message += `\nteardown: ${errors.join('; ')}`;
		throw err;
	}
	return env;
}

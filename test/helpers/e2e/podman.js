// podman + conmon for the e2e suite: storage (graph root, run root, tmp dir) and its own
// storage.conf and containers.conf (CONTAINERS_STORAGE_CONF, CONTAINERS_CONF) in the temp dir,
// cgroupfs, a file events backend, the runtime under test as --runtime. podman gives the runtime no
// --root for some calls (delete), so the wrapper adds one in the temp dir. This host has no
// CAP_SYS_RESOURCE in the bounding set: podman's default NOFILE/NPROC of 1048576 cannot be set, so
// containers.conf sets lower default ulimits.
import fs from 'node:fs';
import path from 'node:path';
import { sharedRootfs } from '../rootfs.js';
import { cgroupParent, HostPaths, runCmd, runtimeWrapper, tail, teardownEnv, which, workdir } from './common.js';
import { rootfsTar } from './image.js';

export const PODMAN_IMAGE = 'localhost/tsrun-e2e:latest';

/**
 * dir/storage.conf and dir/containers.conf (for CONTAINERS_STORAGE_CONF and CONTAINERS_CONF): the
 * storage driver and its dirs under dir, no network namespace, cgroupfs, a file events log.
 */
export function writePodmanConfig(dir, { driver, containers = [], engine = [], more = [] }) {
	fs.writeFileSync(path.join(dir, 'storage.conf'), ['[storage]', `driver = "${driver}"`, `graphroot = "${dir}/graph"`, `runroot = "${dir}/run"`, ''].join('\n'));
	fs.writeFileSync(
		path.join(dir, 'containers.conf'),
		[
			'[containers]',
			...containers,
			'netns = "none"',
			'[engine]',
			'cgroup_manager = "cgroupfs"',
			'events_logger = "file"',
			`events_logfile_path = "${dir}/events.log"`,
			`tmp_dir = "${dir}/tmp"`,
			...engine,
			...more,
			'',
		].join('\n'),
	);
}

export async function startPodman() {
	const dir = workdir('podman');
	const runtimeRoot = path.join(dir, 'runtime-root');
	const env = {
		dir,
		cgroupParent: cgroupParent('podman'),
		runtimeRoot,
		runtime: runtimeWrapper(dir, { defaultRoot: runtimeRoot }),
		// podman keeps a blob-info cache for root there whatever its storage config says.
		hostPaths: new HostPaths(['/var/lib/containers/cache/blob-info-cache-v1.boltdb', '/var/lib/containers/cache', '/var/lib/containers']),
		containers: new Set(),
	};
	for (const d of ['graph', 'run', 'tmp', 'cni', 'volumes']) fs.mkdirSync(path.join(dir, d), { mode: 0o700 });
	writePodmanConfig(dir, {
		driver: 'overlay',
		containers: ['default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]'],
		engine: [`volume_path = "${dir}/volumes"`],
		more: ['[network]', `network_config_dir = "${dir}/cni"`],
	});
	const podman = which('podman');
	const procEnv = { CONTAINERS_CONF: path.join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf') };
	env.global = [
		'--root', `${dir}/graph`,
		'--runroot', `${dir}/run`,
		'--tmpdir', `${dir}/tmp`,
		'--cgroup-manager', 'cgroupfs',
		'--events-backend', 'file',
		'--runtime', env.runtime,
	];
	env.podmanBin = podman;
	env.procEnv = procEnv;
	env.podman = (args, opts = {}) =>
		runCmd(podman, [...env.global, ...args], {
			// conmon writes its `oom` file into its (podman's) working directory.
			cwd: dir,
			...opts,
			env: { ...procEnv, ...opts.env },
			context: () => `--- runtime calls:\n${tail(path.join(dir, 'runtime-calls.log'), 10)}`,
		});
	/** The words after `podman run` every container gets: no network, this run's cgroup parent. */
	env.runFlags = ['--network', 'none', '--cgroup-parent', env.cgroupParent];
	env.teardown = () =>
		teardownEnv(env, async () => {
			if (env.containers.size) await env.podman(['rm', '--force', '--time', '0', ...env.containers], { expectExit: null, timeoutMs: 60_000 });
			// Unmounts the storage's overlay mounts (the teardown unmounts whatever is left).
			await env.podman(['system', 'reset', '--force'], { expectExit: null, timeoutMs: 60_000 });
		});
	try {
		const layer = await rootfsTar(await sharedRootfs(), dir);
		await env.podman(['import', '--change', 'CMD ["sh"]', layer, PODMAN_IMAGE], { timeoutMs: 120_000 });
	} catch (err) {
		const errors = await env.teardown();
		if (errors.length) err.message += `\nteardown: ${errors.join('; ')}`;
		throw err;
	}
	return env;
}

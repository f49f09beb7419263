// dockerd (with its own containerd) and the runtime under test added as runtime "e2e": private data
// root, exec root, pid file and socket (test/helpers/e2e/docker.js), cgroupfs, no bridge, no
// iptables, containers with --network none; the busybox image from `docker import`; the scenarios
// podman shares (test/helpers/e2e/engine-scenarios.js). docker's seccomp profile denies unshare
// without CAP_SYS_ADMIN (EPERM); unconfined, unshare -U works.
import { e2eSkip, RUNTIME_NAME, SECCOMP_UNSHARE_SH } from '../helpers/e2e/common.js';
import { DOCKER_IMAGE, startDocker } from '../helpers/e2e/docker.js';
import { engineScenarios } from '../helpers/e2e/engine-scenarios.js';

engineScenarios({
	title: `docker (dockerd --add-runtime e2e=${RUNTIME_NAME})`,
	skip: e2eSkip(['dockerd', 'docker', 'containerd', 'containerd-shim-runc-v2']),
	start: async () => {
		const env = await startDocker();
		return { ...env, cli: env.docker, image: DOCKER_IMAGE, rmForce: ['rm', '--force'] };
	},
	seccomp: { flags: [], script: SECCOMP_UNSHARE_SH, denied: /unshare: unshare\(0x10000000\): Operation not permitted/, allowed: /unshare-ok/ },
	update: { flags: ['-m', '96m', '--memory-swap', '192m', '--pids-limit', '80', '--cpus', '1'], expect: 'mem=100663296 pids=80 cpu=100000 100000' },
});

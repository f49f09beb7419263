// podman + conmon with the runtime under test as --runtime: private storage and config
// (test/helpers/e2e/podman.js), the busybox image from `podman import`, the scenarios docker shares
// (test/helpers/e2e/engine-scenarios.js). podman's seccomp profile allows unshare but denies swapon
// with EPERM even with CAP_SYS_ADMIN, where the kernel would say EINVAL for /dev/null.
import { isCgroupV2 } from '../helpers/cgroups.js';
import { e2eSkip, RUNTIME_NAME, SECCOMP_SWAPON_SH } from '../helpers/e2e/common.js';
import { engineScenarios } from '../helpers/e2e/engine-scenarios.js';
import { PODMAN_IMAGE, startPodman } from '../helpers/e2e/podman.js';

engineScenarios({
	title: `podman (--runtime ${RUNTIME_NAME})`,
	skip: e2eSkip(['podman', 'conmon']),
	start: async () => {
		const env = await startPodman();
		return { ...env, cli: env.podman, image: PODMAN_IMAGE, runtimeRoots: () => [env.runtimeRoot], rmForce: ['rm', '--force', '--time', '0'] };
	},
	seccomp: { flags: ['--cap-add', 'SYS_ADMIN'], script: SECCOMP_SWAPON_SH, denied: /swapon: \/dev\/null: Operation not permitted/, allowed: /swapon: \/dev\/null: Invalid argument/ },
	// podman 4.3's update has no --pids-limit.
	// conmon 2.1.6 on a cgroup v1 host registers an eventfd on memory.oom_control but never reports
	// the OOM kill (checked with runc too); on v2 it watches memory.events.
	oomKilledReported: isCgroupV2,
	oomKilledWhyNot: 'conmon does not report OOM kills on cgroup v1 (not with runc either); exit 137 checked',
	update: { flags: ['-m', '96m', '--memory-swap', '192m', '--cpus', '1'], expect: 'mem=100663296 pids=50 cpu=100000 100000' },
});

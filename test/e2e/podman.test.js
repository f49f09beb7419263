// podman + conmon with the runtime under test as --runtime: private storage and config
// (test/helpers/e2e/podman.js), the busybox image from `podman import`, the scenarios docker shares
// (test/helpers/e2e/engine-scenarios.js). podman's seccomp profile allows unshare but denies swapon
// with EPERM even with CAP_SYS_ADMIN, where the kernel would say EINVAL for /dev/null.
import fs from 'node:fs';
import path from 'node:path';
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
	// conmon 2.1.6 sees the OOM kill but writes its `oom` file into its working directory (podman's),
	// where podman 4.3 does not look, so .State.OOMKilled stays false (with runc too): the file is
	// checked instead, podman running in the temp dir.
	oomBefore: (e) => fs.rmSync(path.join(e.dir, 'oom'), { force: true }),
	oomReported: (e) => fs.existsSync(path.join(e.dir, 'oom')),
	update: { flags: ['-m', '96m', '--memory-swap', '192m', '--cpus', '1'], expect: 'mem=100663296 pids=50 cpu=100000 100000' },
});

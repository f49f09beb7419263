// cgroup v2 for integration tests on any host: on a hybrid host (v1 controllers, cgroup2 at
// /sys/fs/cgroup/unified) each runtime command runs in a private mount namespace with cgroup2 mounted
// at /sys/fs/cgroup, so the runtime takes the host for pure v2. The cgroup it makes is a real cgroup2
// directory, seen here under /sys/fs/cgroup/unified; the namespace ends with the command.
import fs from 'node:fs';
import path from 'node:path';
import { CGROUP_ROOT, isCgroupV2 } from './cgroups.js';
import { needsRoot } from './test-run.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const UNIFIED = path.join(CGROUP_ROOT, 'unified');
export const isHybrid = !isCgroupV2 && fs.existsSync(UNIFIED) && fs.statfsSync(UNIFIED).type === CGROUP2_SUPER_MAGIC;
/** Where the container's cgroup2 directory is, seen from here. */
export const V2_ROOT = isCgroupV2 ? CGROUP_ROOT : UNIFIED;
const hasUnshare = ['/usr/bin/unshare', '/bin/unshare'].some((p) => fs.existsSync(p));

/** Why cgroup v2 tests cannot run here, or false. */
export const v2Skip =
	needsRoot ||
	(!isCgroupV2 && !isHybrid && 'no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified') ||
	(isHybrid && !hasUnshare && 'needs unshare(1) to give the runtime a cgroup2 /sys/fs/cgroup');

/** Makes every runtime command of fixture `c` see cgroup v2 at /sys/fs/cgroup; returns `c`. */
export function useCgroupV2(c) {
	if (isHybrid) {
		c.commandPrefix = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"', 'sh'];
	}
	return c;
}

/** The container's cgroup2 directory as seen from here. */
export function v2Dir(c) {
	return path.join(V2_ROOT, c.cgroupsPath);
}

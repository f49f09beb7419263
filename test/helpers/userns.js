// A fixture's config moved into a user namespace whose root is host uid/gid 100000.
import { execa } from 'execa';

export const USERNS_HOST_ID = 100000;

/**
 * Adds a user namespace mapping container ids 0..65535 to host 100000.., and gives the rootfs to
 * that root. opts.keep: destinations of /sys mounts to keep (sysfs and cgroupfs need more care in
 * a user namespace, and most tests are about something else).
 */
export async function inUserNamespace(c, opts = {}) {
	const keep = new Set(opts.keep ?? []);
	c.config.linux.namespaces.push({ type: 'user' });
	c.config.linux.uidMappings = [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }];
	c.config.linux.gidMappings = [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }];
	c.config.mounts = c.config.mounts.filter((m) => keep.has(m.destination) || !['/sys', '/sys/fs/cgroup'].includes(m.destination));
	await execa('chown', ['-R', `${USERNS_HOST_ID}:${USERNS_HOST_ID}`, c.rootfs]);
}

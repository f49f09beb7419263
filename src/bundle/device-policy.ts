/**
 * Devices: the nodes a container's /dev gets (the defaults and linux.devices) and the device cgroup
 * rules that let it use them.
 */
import { parseDeviceRule } from '../cgroups/common.js';
import { configError } from '../errors.js';
import { S_IFBLK, S_IFCHR, S_IFIFO } from '../kernel-tables.js';
import { containerPath } from './container-path.js';
import type { LinuxDevice, LinuxDeviceCgroup, LinuxResources, Spec } from './spec-types.js';

export interface PlanDevice {
  path: string;
  type: number;
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

/** The nodes every container gets in /dev (unless /dev is bound from elsewhere), as runc. */
const defaultDevices: [string, number, number][] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
];

function devicePlan(dev: LinuxDevice, pointer: string): PlanDevice {
  const type = dev.type === 'b' ? S_IFBLK : dev.type === 'p' ? S_IFIFO : S_IFCHR;
  if (dev.type !== 'p' && (dev.major === undefined || dev.minor === undefined)) {
    throw configError(pointer, `device ${dev.path} of type ${dev.type} needs major and minor`);
  }
  return {
    path: containerPath(dev.path),
    type,
    major: dev.major ?? 0,
    minor: dev.minor ?? 0,
    mode: (dev.fileMode ?? 0o666) & 0o7777,
    uid: dev.uid ?? 0,
    gid: dev.gid ?? 0,
  };
}

/**
 * The nodes and links of the container's /dev: the defaults (unless the whole /dev is bound from
 * elsewhere or linux.devices gives the same path), then linux.devices in order.
 */
export function devNodes(configDevices: LinuxDevice[], devIsBound: boolean) {
  const devices: PlanDevice[] = [];
  const symlinks: { target: string; path: string }[] = [];
  const configured = new Set(configDevices.map((d) => containerPath(d.path)));
  if (!devIsBound) {
    for (const [path, major, minor] of defaultDevices) {
      if (!configured.has(path)) devices.push({ path, type: S_IFCHR, major, minor, mode: 0o666, uid: 0, gid: 0 });
    }
    symlinks.push(
      { target: '/proc/self/fd', path: '/dev/fd' },
      { target: '/proc/self/fd/0', path: '/dev/stdin' },
      { target: '/proc/self/fd/1', path: '/dev/stdout' },
      { target: '/proc/self/fd/2', path: '/dev/stderr' },
      { target: 'pts/ptmx', path: '/dev/ptmx' },
    );
  }
  configDevices.forEach((d, i) => devices.push(devicePlan(d, `/linux/devices/${i}`)));
  return { devices, symlinks };
}

/**
 * Device cgroup rules as the kernel gets them: deny everything (the v1 driver writes "a" to
 * devices.deny first; the v2 program denies what no rule allows), the config's own rules, then
 * the devices every container needs: mknod of anything (creating /dev requires it), the default
 * /dev nodes, ptys and /dev/net/tun. That is runc's fixed list (libcontainer/specconv
 * AllowedDevices; runc 1.1 gives no rule for /dev/console, 5:1, either).
 *
 * linux.devices entries get their node in /dev but no rule: access is what resources.devices says.
 * Allowing them here would let a config that denies everything still read /dev/kmsg or a host disk
 * by listing it. A config with no device rules at all gets the fixed list alone, as with runc: the
 * device cgroup is never left open.
 */
const alwaysAllowedDevices: LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  ...defaultDevices.map(([, major, minor]): LinuxDeviceCgroup => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export function cgroupResources(spec: Spec): LinuxResources {
  return withRequiredDevices(spec.linux?.resources ?? {});
}

/** The resources with runc's fixed list after their device rules (also for an update that gives rules). */
export function withRequiredDevices(resources: LinuxResources): LinuxResources {
  return { ...resources, devices: [...(resources.devices ?? []), ...alwaysAllowedDevices] };
}

/** Checks linux.resources.devices as the cgroup drivers will read them, before anything exists. */
export function checkDeviceRules(resources: LinuxResources | undefined): void {
  (resources?.devices ?? []).forEach((rule, i) => parseDeviceRule(rule, `/linux/resources/devices/${i}`));
}

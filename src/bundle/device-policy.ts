/**
 * Devices: the nodes a container's /dev gets (the defaults and linux.devices) and the device cgroup
 * rules that let it use them.
 */
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
 * Device cgroup rules as the kernel gets them: the config's own rules, then an allow rule for each
 * linux.devices entry, then the devices every container needs (the default /dev nodes, ptys,
 * /dev/net/tun and mknod of anything, which creating /dev requires), as runc does.
 */
const alwaysAllowedDevices: LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  ...defaultDevices.map(([, major, minor]): LinuxDeviceCgroup => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export function cgroupResources(spec: Spec): LinuxResources | undefined {
  const resources = spec.linux?.resources;
  const devices = spec.linux?.devices ?? [];
  if (!resources?.devices && !devices.length) return resources;
  return {
    ...resources,
    devices: [
      ...(resources?.devices ?? []),
      ...devices.map((d): LinuxDeviceCgroup => ({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: 'rwm' })),
      ...alwaysAllowedDevices,
    ],
  };
}

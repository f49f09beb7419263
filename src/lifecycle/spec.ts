/** spec: writes a starter config.json, shaped like `runc spec` (and its --rootless variant). */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateError, fromSystemError } from '../errors.js';
import type { Spec } from '../bundle/spec-types.js';
import { DEFAULT_PATH } from '../bundle/process-plan.js';
import { SPEC_VERSION } from '../version.js';

const defaultCaps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function defaultSpec(rootless: boolean, uid = process.getuid?.() ?? 0, gid = process.getgid?.() ?? 0): Spec {
  const spec: Spec = {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: [`PATH=${DEFAULT_PATH}`, 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...defaultCaps],
        effective: [...defaultCaps],
        permitted: [...defaultCaps],
        ambient: [...defaultCaps],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'tsrun',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  if (rootless) toRootless(spec, uid, gid);
  return spec;
}

/**
 * What runc's `spec --rootless` changes (specconv.ToRootless): no network namespace (a new one
 * would have no usable device), a user namespace mapping root to the caller's uid and gid, the
 * host's /sys bound read-only (a new sysfs needs a network namespace of the container's own), no
 * uid=/gid= mount options (those ids are not mapped), and no linux.resources (a user may write
 * no cgroup limits on most hosts).
 */
function toRootless(spec: Spec, uid: number, gid: number): void {
  const linux = spec.linux!;
  delete linux.resources;
  linux.namespaces = [...linux.namespaces!.filter((n) => n.type !== 'network'), { type: 'user' }];
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  spec.mounts = spec.mounts!.map((m) => {
    if (m.destination === '/sys') return { source: '/sys', destination: '/sys', type: 'none', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    if (!m.options) return m;
    return { ...m, options: m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid=')) };
  });
}

export function writeSpec(bundleDir: string, rootless: boolean): string {
  const file = join(bundleDir, 'config.json');
  if (existsSync(file)) throw stateError('File config.json exists. Remove it first.');
  try {
    writeFileSync(file, JSON.stringify(defaultSpec(rootless), null, '\t'));
  } catch (err) {
    throw fromSystemError(err, `write ${file}`);
  }
  return file;
}

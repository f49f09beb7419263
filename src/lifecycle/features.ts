/**
 * features: what this build of tsrun recognises (runtime-spec features.md). It must be honest:
 * clients such as containerd and dockerd decide from it what they may ask for.
 */
import { capabilityNumbers, memoryPolicyFlags, memoryPolicyModes, namespaceFlags } from '../kernel-tables.js';
import { SPEC_VERSION, SPEC_VERSION_MIN, TSRUN_VERSION } from '../version.js';

const mountOptions = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'lazytime', 'loud', 'mand', 'noatime',
  'nodev', 'nodiratime', 'noexec', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow',
  'private', 'rbind', 'relatime', 'remount', 'ro', 'rprivate', 'rshared', 'rslave', 'runbindable', 'rw', 'shared',
  'silent', 'slave', 'strictatime', 'suid', 'symfollow', 'sync', 'tmpcopyup', 'unbindable',
];

export function features(): object {
  return {
    ociVersionMin: SPEC_VERSION_MIN,
    ociVersionMax: SPEC_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions,
    linux: {
      namespaces: Object.keys(namespaceFlags).sort(),
      capabilities: Object.keys(capabilityNumbers),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
      netDevices: { enabled: true },
      memoryPolicy: { modes: Object.keys(memoryPolicyModes), flags: Object.keys(memoryPolicyFlags) },
    },
    annotations: { 'io.github.tsrun.version': TSRUN_VERSION },
  };
}

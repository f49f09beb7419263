/**
 * features: what this build of tsrun recognises (runtime-spec features.md). It must be honest:
 * clients such as containerd and dockerd decide from it what they may ask for.
 */
import { capabilityNumbers, memoryPolicyFlags, memoryPolicyModes, namespaceFlags } from '../kernel-tables.js';
import { execFileSync } from 'node:child_process';
import { seccompFilterFlags, seccompOperators } from '../bundle/seccomp-plan.js';
import { initHelperPath } from '../native.js';
import { SPEC_VERSION, SPEC_VERSION_MIN, TSRUN_VERSION } from '../version.js';

const mountOptions = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'lazytime', 'loud', 'mand', 'noatime',
  'nodev', 'nodiratime', 'noexec', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow',
  'private', 'rbind', 'relatime', 'remount', 'ro', 'rprivate', 'rshared', 'rslave', 'runbindable', 'rw', 'shared',
  'silent', 'slave', 'strictatime', 'suid', 'symfollow', 'sync', 'tmpcopyup', 'unbindable',
];

/**
 * What the helper's libseccomp and this kernel support, asked of tsrun-init itself (the library
 * is linked into it, not into Node): architectures, actions, and the filter flags the kernel takes.
 */
function seccompFeatures(): object {
  const probed = JSON.parse(execFileSync(initHelperPath(), ['--seccomp-features'], { encoding: 'utf8' })) as {
    archs: string[];
    actions: string[];
    supportedFlags: string[];
  };
  return {
    enabled: true,
    actions: probed.actions,
    operators: Object.keys(seccompOperators),
    archs: probed.archs,
    knownFlags: Object.keys(seccompFilterFlags),
    supportedFlags: probed.supportedFlags,
  };
}

export function features(): object {
  return {
    ociVersionMin: SPEC_VERSION_MIN,
    ociVersionMax: SPEC_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions,
    linux: {
      namespaces: Object.keys(namespaceFlags).sort(),
      capabilities: Object.keys(capabilityNumbers),
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: true, rdma: false },
      seccomp: seccompFeatures(),
      // As runc: whether tsrun can apply them (the spec: irrelevant to what this host has).
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
      netDevices: { enabled: true },
      memoryPolicy: { modes: Object.keys(memoryPolicyModes), flags: Object.keys(memoryPolicyFlags) },
    },
    annotations: {
      'io.github.tsrun.version': TSRUN_VERSION,
      // what a rootless caller gets (README "Rootless"): features.md leaves this to annotations
      'io.github.tsrun.rootless': 'true',
      'io.github.tsrun.rootless.cgroup': 'writable hierarchies only (v2: the subtree a systemd user session delegates, its controllers only); none without, and then a limit is refused; no device rules; --systemd-cgroup: the user\'s systemd instance over its bus (v2)',
      'io.github.tsrun.rootless.idmap': 'the caller\'s own uid/gid directly (setgroups denied), other ranges through newuidmap/newgidmap',
      'io.github.tsrun.rootless.mounts': 'device nodes bound from the host; locked bind flags kept on remount; sysfs without an own network namespace bound from the host',
    },
  };
}

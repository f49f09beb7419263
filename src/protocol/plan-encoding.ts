/**
 * A ContainerPlan or ExecPlan as the Plan payload tsrun-init reads: one record per setting, laid
 * out as records.ts declares (RecordWriter checks every field is given).
 */
import type { ContainerPlan } from '../bundle/plan.js';
import type { ExecPlan, ProcessPlan } from '../bundle/process-plan.js';
import { RecordWriter } from './codec.js';
import { CpuAffinityWhen, HookKind, MountKind, RootfsFlag } from './protocol.js';

/** The records of the process itself, for create and exec alike. */
function encodeProcess(w: RecordWriter, plan: ProcessPlan): void {
  for (const r of plan.rlimits) w.add('Rlimit', { resource: r.resource, soft: r.soft, hard: r.hard });
  w.add('User', { uid: plan.uid, gid: plan.gid, umask: plan.umask, groups: plan.additionalGids });
  w.add('Capabilities', plan.capabilities);
  if (plan.noNewPrivileges) w.add('NoNewPrivileges');
  if (plan.oomScoreAdj !== undefined) w.add('OomScoreAdj', { value: plan.oomScoreAdj });
  w.add('Cwd', { path: plan.cwd });
  w.add('Args', { args: plan.args });
  w.add('Env', { env: plan.env });
  w.add('PreserveFds', { count: plan.preserveFds });
  if (plan.consoleSocket) w.add('ConsoleSocket', { path: plan.consoleSocket });
  if (plan.consoleSize) w.add('ConsoleSize', plan.consoleSize);
  if (plan.apparmorProfile) w.add('ApparmorProfile', { profile: plan.apparmorProfile });
  if (plan.selinuxLabel) w.add('SelinuxLabel', { label: plan.selinuxLabel });
  if (plan.ioPriority) w.add('IoPriority', plan.ioPriority);
  if (plan.scheduler) w.add('Scheduler', plan.scheduler);
  if (plan.cpuAffinity.initial) w.add('CpuAffinity', { when: CpuAffinityWhen.Initial, list: plan.cpuAffinity.initial });
  if (plan.cpuAffinity.final) w.add('CpuAffinity', { when: CpuAffinityWhen.Final, list: plan.cpuAffinity.final });
  const seccomp = plan.seccomp;
  if (seccomp) {
    w.add('Seccomp', { defaultAction: seccomp.defaultAction, flags: seccomp.flags });
    for (const arch of seccomp.architectures) w.add('SeccompArch', arch);
    for (const rule of seccomp.rules) w.add('SeccompRule', rule);
    if (seccomp.listener) w.add('SeccompListener', { path: seccomp.listener.path });
  }
}

/** The Plan payload of a create. */
export function encodePlan(plan: ContainerPlan, opts: { stateDir: string; stage0Wait: boolean; debug?: boolean }): Buffer {
  const w = new RecordWriter();
  if (opts.debug) w.add('Debug');
  w.add('Namespaces', { flags: plan.newNamespaces });
  for (const ns of plan.joinNamespaces) w.add('NsPath', ns);
  for (const line of plan.timeOffsets) w.add('TimeOffset', { line });
  if (plan.hostname) w.add('Hostname', { name: plan.hostname });
  if (plan.domainname) w.add('Domainname', { name: plan.domainname });
  w.add('Rootfs', { path: plan.rootfs });
  let rootFlags = 0;
  if (plan.readonlyRoot) rootFlags |= RootfsFlag.Readonly;
  if (plan.readonlyDev) rootFlags |= RootfsFlag.ReadonlyDev;
  if (plan.noPivot) rootFlags |= RootfsFlag.NoPivot;
  if (plan.userNamespace) rootFlags |= RootfsFlag.BindDevices;
  w.add('RootfsFlags', { flags: rootFlags, propagation: plan.rootPropagation });
  for (const m of plan.mounts) {
    const kind = (m.bind ? MountKind.Bind : 0) | (m.createFile ? MountKind.CreateFile : 0) | (m.labeled ? MountKind.Label : 0);
    w.add('Mount', { ...m, kind, recAttrSet: m.recAttrSet ?? 0, recAttrClr: m.recAttrClr ?? 0 });
  }
  if (plan.mountLabel) w.add('MountLabel', { label: plan.mountLabel });
  for (const d of plan.devices) w.add('Device', d);
  for (const s of plan.symlinks) w.add('Symlink', { target: s.target, linkpath: s.path });
  for (const path of plan.maskedPaths) w.add('MaskedPath', { path });
  for (const path of plan.readonlyPaths) w.add('ReadonlyPath', { path });
  for (const [key, value] of plan.sysctl) w.add('Sysctl', { key, value });
  encodeProcess(w, plan);
  w.add('StateDir', { path: opts.stateDir });
  const hooks = [
    ...plan.createContainerHooks.map((h) => ({ kind: HookKind.CreateContainer, h })),
    ...plan.startContainerHooks.map((h) => ({ kind: HookKind.StartContainer, h })),
  ];
  for (const { kind, h } of hooks) w.add('Hook', { kind, timeoutS: h.timeoutSec, path: h.path, args: h.args, env: h.env });
  if (plan.personality !== undefined) w.add('Personality', { persona: plan.personality });
  if (opts.stage0Wait) w.add('Stage0Wait');
  if (plan.loopbackUp) w.add('LoopbackUp');
  if (plan.sessionKeyring) w.add('SessionKeyring', { name: plan.sessionKeyring });
  for (const [hostName, containerName] of plan.netDevices) w.add('NetDevice', { hostName, containerName });
  if (plan.memoryPolicy) w.add('MemoryPolicy', plan.memoryPolicy);
  if (plan.hostMountNamespace) w.add('HostMountNamespace');
  return w.bytes();
}

/** The Plan payload of an exec: join, then set up only the process (ExecMode). */
export function encodeExecPlan(plan: ExecPlan, opts: { stage0Wait: boolean; debug?: boolean }): Buffer {
  const w = new RecordWriter();
  if (opts.debug) w.add('Debug');
  w.add('ExecMode');
  for (const ns of plan.joinNamespaces) w.add('NsPath', ns);
  encodeProcess(w, plan);
  if (opts.stage0Wait) w.add('Stage0Wait');
  return w.bytes();
}

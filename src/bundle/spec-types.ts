/**
 * config.json of OCI runtime-spec 1.3.0 (Linux/POSIX parts), as accepted by schemas/config.schema.json.
 * Property names are the spec's exactly. A value of this type has passed `validateConfig`, so required
 * fields are present and enums hold; semantic checks (paths exist, ids map) are left to the planner.
 *
 * Integers: the spec's int64/uint64 arrive as JS numbers; values above 2^53 (e.g. RLIM_INFINITY
 * 18446744073709551615) lose precision and read as 2^64. Callers that write them to the kernel must
 * treat a value >= 2^64 - 1 as "unlimited"/max, not do arithmetic on it.
 *
 * Unknown properties are kept by the validator and ignored (config.md "Extensibility"); they are not
 * typed here.
 */

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export type RlimitType =
  | 'RLIMIT_AS'
  | 'RLIMIT_CORE'
  | 'RLIMIT_CPU'
  | 'RLIMIT_DATA'
  | 'RLIMIT_FSIZE'
  | 'RLIMIT_LOCKS'
  | 'RLIMIT_MEMLOCK'
  | 'RLIMIT_MSGQUEUE'
  | 'RLIMIT_NICE'
  | 'RLIMIT_NOFILE'
  | 'RLIMIT_NPROC'
  | 'RLIMIT_RSS'
  | 'RLIMIT_RTPRIO'
  | 'RLIMIT_RTTIME'
  | 'RLIMIT_SIGPENDING'
  | 'RLIMIT_STACK';

export type SchedulerPolicy =
  | 'SCHED_OTHER'
  | 'SCHED_FIFO'
  | 'SCHED_RR'
  | 'SCHED_BATCH'
  | 'SCHED_ISO'
  | 'SCHED_IDLE'
  | 'SCHED_DEADLINE';

export type SchedulerFlag =
  | 'SCHED_FLAG_RESET_ON_FORK'
  | 'SCHED_FLAG_RECLAIM'
  | 'SCHED_FLAG_DL_OVERRUN'
  | 'SCHED_FLAG_KEEP_POLICY'
  | 'SCHED_FLAG_KEEP_PARAMS'
  | 'SCHED_FLAG_UTIL_CLAMP_MIN'
  | 'SCHED_FLAG_UTIL_CLAMP_MAX';

export type IOPriorityClass = 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';

/** `u` is an unbuffered char device, `p` a FIFO (no major/minor). */
export type LinuxDeviceType = 'c' | 'b' | 'u' | 'p';

/** cgroup device rule type; `a` = all. */
export type LinuxDeviceCgroupType = 'a' | 'c' | 'b';

/**
 * The spec lists shared, slave, private, unbindable; the recursive spellings are accepted too because
 * Docker and runc clients send `rslave`/`rshared`/`rprivate`.
 */
export type RootfsPropagation =
  | 'shared'
  | 'slave'
  | 'private'
  | 'unbindable'
  | 'rshared'
  | 'rslave'
  | 'rprivate'
  | 'runbindable';

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type SeccompArch =
  | 'SCMP_ARCH_X86'
  | 'SCMP_ARCH_X86_64'
  | 'SCMP_ARCH_X32'
  | 'SCMP_ARCH_ARM'
  | 'SCMP_ARCH_AARCH64'
  | 'SCMP_ARCH_MIPS'
  | 'SCMP_ARCH_MIPS64'
  | 'SCMP_ARCH_MIPS64N32'
  | 'SCMP_ARCH_MIPSEL'
  | 'SCMP_ARCH_MIPSEL64'
  | 'SCMP_ARCH_MIPSEL64N32'
  | 'SCMP_ARCH_PPC'
  | 'SCMP_ARCH_PPC64'
  | 'SCMP_ARCH_PPC64LE'
  | 'SCMP_ARCH_S390'
  | 'SCMP_ARCH_S390X'
  | 'SCMP_ARCH_PARISC'
  | 'SCMP_ARCH_PARISC64'
  | 'SCMP_ARCH_RISCV64'
  | 'SCMP_ARCH_LOONGARCH64'
  | 'SCMP_ARCH_M68K'
  | 'SCMP_ARCH_SH'
  | 'SCMP_ARCH_SHEB';

export type SeccompFlag =
  | 'SECCOMP_FILTER_FLAG_TSYNC'
  | 'SECCOMP_FILTER_FLAG_LOG'
  | 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'
  | 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV';

export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export type MemoryPolicyMode =
  | 'MPOL_DEFAULT'
  | 'MPOL_BIND'
  | 'MPOL_INTERLEAVE'
  | 'MPOL_WEIGHTED_INTERLEAVE'
  | 'MPOL_PREFERRED'
  | 'MPOL_PREFERRED_MANY'
  | 'MPOL_LOCAL';

export type MemoryPolicyFlag = 'MPOL_F_NUMA_BALANCING' | 'MPOL_F_RELATIVE_NODES' | 'MPOL_F_STATIC_NODES';

export type PersonalityDomain = 'LINUX' | 'LINUX32';

/** Time namespace clocks (time_namespaces(7)); the only keys of `linux.timeOffsets`. */
export type TimeClock = 'monotonic' | 'boottime';

export interface Spec {
  /** SemVer, major 1 (1.0.0 … 1.3.0, pre-releases such as 1.0.2-dev included) */
  ociVersion: string;
  /** optional in the schema; `create` requires it (see planner) */
  root?: Root;
  mounts?: Mount[];
  /** optional in the schema; required by `create`/`start` */
  process?: Process;
  hostname?: string;
  domainname?: string;
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Root {
  /** absolute, or relative to the bundle directory */
  path: string;
  readonly?: boolean;
}

export interface Mount {
  /** SHOULD be absolute; a relative one is deprecated and means relative to "/" */
  destination: string;
  source?: string;
  options?: string[];
  type?: string;
  /** both or neither (the schema enforces it) */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface ConsoleSize {
  height: number;
  width: number;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: ConsoleSize;
  /** absolute */
  cwd: string;
  env?: string[];
  /** at least one entry */
  args: string[];
  /** Windows only; accepted and ignored */
  commandLine?: string;
  rlimits?: Rlimit[];
  apparmorProfile?: string;
  capabilities?: Capabilities;
  noNewPrivileges?: boolean;
  /** -1000 … 1000 */
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: IOPriority;
  execCPUAffinity?: ExecCPUAffinity;
  /** absent means uid 0, gid 0 */
  user?: User;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  /** Windows only; accepted and ignored */
  username?: string;
}

/** Each set lists names such as CAP_CHOWN; unknown names are warned about, not rejected. */
export interface Capabilities {
  effective?: string[];
  bounding?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface Rlimit {
  type: RlimitType;
  /** uint64 */
  soft: number;
  /** uint64 */
  hard: number;
}

export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  /** nanoseconds */
  runtime?: number;
  deadline?: number;
  /** nanoseconds */
  period?: number;
}

export interface IOPriority {
  class: IOPriorityClass;
  /** 0 (highest) … 7 (lowest) */
  priority: number;
}

export interface ExecCPUAffinity {
  /** cpu list such as "0-3,7" */
  initial?: string;
  final?: string;
}

export interface Hook {
  /** absolute */
  path: string;
  args?: string[];
  env?: string[];
  /** seconds, >= 1 */
  timeout?: number;
}

export interface Hooks {
  /** deprecated, runs before createRuntime */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export interface Linux {
  namespaces?: LinuxNamespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  timeOffsets?: Partial<Record<TimeClock, TimeOffset>>;
  devices?: LinuxDevice[];
  /** keyed by host interface name */
  netDevices?: Record<string, LinuxNetDevice>;
  cgroupsPath?: string;
  resources?: LinuxResources;
  intelRdt?: LinuxIntelRdt;
  memoryPolicy?: LinuxMemoryPolicy;
  sysctl?: Record<string, string>;
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: RootfsPropagation;
  /** absolute paths */
  maskedPaths?: string[];
  /** absolute paths */
  readonlyPaths?: string[];
  mountLabel?: string;
  personality?: LinuxPersonality;
}

export interface LinuxNamespace {
  type: NamespaceType;
  /** absolute path of an existing namespace to join; absent means create a new one */
  path?: string;
}

/** uint32 each */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface TimeOffset {
  /** int64 */
  secs?: number;
  /** uint32 */
  nanosecs?: number;
}

export interface LinuxDevice {
  type: LinuxDeviceType;
  /** absolute path inside the container */
  path: string;
  /** required unless type is "p" */
  major?: number;
  minor?: number;
  /** decimal mode bits, e.g. 438 = 0o666 */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface LinuxNetDevice {
  /** name inside the container; absent keeps the host name */
  name?: string;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  pids?: LinuxPids;
  /** keyed by device name */
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 file name → content */
  unified?: Record<string, string>;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** absent means "a" */
  type?: LinuxDeviceCgroupType;
  /** absent means any (`*`) */
  major?: number;
  minor?: number;
  /** composition of r, w, m */
  access?: string;
}

/** Bytes, or -1 for unlimited. */
export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  /** 0 … 100 */
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  /** microseconds */
  quota?: number;
  /** microseconds */
  burst?: number;
  /** microseconds */
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  /** at least one of weight, leafWeight */
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** e.g. "2MB", "64KB", "1GB" (base 1024) */
  pageSize: string;
  /** bytes */
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxPids {
  /** -1 = no limit; 0 is a real limit */
  limit?: number;
}

/** At least one of the two. */
export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxIntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  /** starts with "MB:" */
  memBwSchema?: string;
  /** one line each, no newlines */
  schemata?: string[];
  enableMonitoring?: boolean;
}

export interface LinuxMemoryPolicy {
  mode: MemoryPolicyMode;
  nodes?: string;
  flags?: MemoryPolicyFlag[];
}

export interface LinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface LinuxSyscall {
  /** at least one */
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: SeccompArch[];
  flags?: SeccompFlag[];
  listenerPath?: string;
  /** only with listenerPath */
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export interface LinuxPersonality {
  domain: PersonalityDomain;
  /** no flags are defined yet; the schema rejects any */
  flags?: string[];
}

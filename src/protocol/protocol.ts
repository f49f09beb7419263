/**
 * The one definition of the create handshake between `tsrun` (Node) and `tsrun-init`, the
 * static helper the container is born from. `addon/init/protocol.h` is generated from this file
 * by `scripts/gen-protocol-h.js`; a unit test fails when the two drift apart.
 *
 * Why a helper at all: Node is multi-threaded, so it must never fork into a container (after
 * fork only async-signal-safe calls are allowed, and setns into mount/user namespaces fails in a
 * threaded process). Node computes everything (a ContainerPlan, flattened into records below);
 * the helper only applies it, in the order the runtime spec gives.
 *
 * Wire format, both directions, over a SOCK_STREAM socketpair (the helper's `--sync-fd N`):
 *
 *   frame  = u32 payloadLength | u16 type | u16 zero | payload      (little endian, cap 4 MiB)
 *   record = u16 tag | u16 zero | u32 length | value                 (PLAN and CONTINUE payloads)
 *   value fields are packed in the order listed for each tag: u32/i32/u64 are little endian,
 *   `str` is bytes ending in one NUL, `strs` is u32 count followed by that many `str`.
 *
 * Order of a create (N = Node, 0 = helper stage 0 "tsrun:[0:parent]", 1 = init "tsrun:[1:init]"):
 *
 *   0 → N  Hello{version}
 *   N → 0  Plan{records}
 *          0: setns() each NsPath in order (user first); oom_score_adj (inherited: once the
 *             init is non-dumpable in a user namespace it may not write its own); the initial
 *             execCPUAffinity (inherited);
 *             unshare(CLONE_NEWTIME) and write TimeOffset lines;
 *             clone(namespaces minus NEWTIME/NEWCGROUP) → 1
 *   0 → N  Pid{host pid of 1}        (0 then exits, unless the plan has Stage0Wait)
 *          N: cgroups (create, limits, add pid), uid/gid maps, prestart + createRuntime hooks
 *   N → 1  Continue{HookState records}
 *          1: in a created or joined user namespace setresuid/setresgid(0) (the maps exist
 *             now; files it creates would otherwise fail with EOVERFLOW); a new session keyring
 *             unless --no-new-keyring (so no key of the caller's session is reachable);
 *             unshare(CLONE_NEWCGROUP); lo up; netDevices moved in (through a netlink socket
 *             stage 0 opened in the host's namespace), addresses kept, set up; hostname; rootfs propagation; bind rootfs;
 *             mounts in order; devices; symlinks; cwd created (before a read-only root);
 *             createContainer hooks; exec.fifo opened O_PATH; pivot_root; sysctl (before
 *             /proc/sys turns read-only); masked/readonly paths; root readonly; terminal;
 *             rlimits; personality; I/O priority, scheduler (while still privileged) and
 *             NUMA memory policy;
 *             user, capabilities, no_new_privs; resolve the executable
 *   1 → N  Ready                     (N records state "created" and exits)
 *          1: reopen exec.fifo O_WRONLY via /proc/self/fd (the state dir may not be searchable
 *             by the container user; without /proc, openat on the state dir fd): blocks until
 *             `tsrun start` reads it; startContainer hooks; the final execCPUAffinity;
 *             execve(process.args). A failure after Ready is written to
 *             the fifo as "E<message>" (start reports it); success writes nothing: the
 *             fifo closes on exec (O_CLOEXEC) and start reads EOF.
 *   0 → N  Exit{wait status}         (only with Stage0Wait: stage 0 is init's parent and reaps it)
 *
 * `tsrun exec` uses the same messages with an ExecMode plan: stage 0 connects the console socket
 * and joins the container's namespaces (NsPath; user first), clones the process; Node adds it to
 * the container's cgroup and sends Continue; the process sets up its terminal, rlimits, scheduling,
 * user and capabilities, sends Ready and execs at once (no exec.fifo, no mounts, no hooks).
 *
 *   Error{errno, step, message} and Log{level, message} may come from 0 or 1 at any time; after
 *   Error the sender exits 1. EOF without Ready means the helper died: Node reports its status.
 */

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
export const FRAME_HEADER_BYTES = 8;
export const RECORD_HEADER_BYTES = 8;

/** Frame types. */
export const Msg = {
  Hello: 1, // 0→N  u32 version
  Plan: 2, // N→0  records
  Pid: 3, // 0→N  u32 pid
  Continue: 4, // N→1  records (HookState)
  Ready: 5, // 1→N  empty
  Exit: 6, // 0→N  i32 wait status (Stage0Wait only)
  Error: 7, // 0/1→N  i32 errno, str step, str message
  Log: 8, // 0/1→N  u32 level (LogLevel), str message
} as const;
export type MsgType = (typeof Msg)[keyof typeof Msg];

export const LogLevel = { Debug: 0, Info: 1, Warn: 2 } as const;

/** Plan and Continue record tags, with the packed layout of each value. */
export const Tag = {
  Namespaces: 1, // u32 CLONE_NEW* flags of namespaces to create (NEWTIME/NEWCGROUP handled apart)
  NsPath: 2, // u32 CLONE_NEW* type, str path: setns() into it, in record order
  TimeOffset: 3, // str "monotonic|boottime SECS NANOS" written to /proc/self/timens_offsets
  Hostname: 4, // str
  Domainname: 5, // str
  Rootfs: 6, // str absolute host path of the root filesystem
  RootfsFlags: 7, // u32 RootfsFlag bits, u64 propagation flags for "/" (MS_SLAVE|MS_REC default)
  Mount: 8, // u64 flags, u64 propagation, u32 MountKind bits, str source, str destination, str type, str data
  Device: 9, // u32 type (S_IFCHR|S_IFBLK|S_IFIFO), u32 major, u32 minor, u32 permission mode, u32 uid, u32 gid, str path
  Symlink: 10, // str target, str linkpath (in the container; an existing linkpath is left alone)
  MaskedPath: 11, // str path
  ReadonlyPath: 12, // str path
  Sysctl: 13, // str key (dotted), str value
  Rlimit: 14, // u32 resource, u32 zero, u64 soft, u64 hard
  User: 15, // u32 uid, u32 gid, i32 umask (-1 = leave), u32 count, u32 gids[count]
  Capabilities: 16, // u64 bounding, u64 effective, u64 permitted, u64 inheritable, u64 ambient
  NoNewPrivileges: 17, // empty
  OomScoreAdj: 18, // i32
  Cwd: 19, // str
  Args: 20, // strs
  Env: 21, // strs ("KEY=value")
  StateDir: 22, // str host path of the directory holding exec.fifo
  PreserveFds: 23, // u32 n: fds 3..3+n-1 pass into the container, every other fd >= 3 is closed
  Hook: 24, // u32 HookKind, u32 timeout seconds (0 = none), str path, strs args, strs env
  Personality: 25, // u32 persona for personality(2)
  Stage0Wait: 26, // empty: stage 0 stays init's parent, reaps it and sends Exit
  LoopbackUp: 27, // empty: bring "lo" up in the new network namespace
  HookState: 28, // u32 HookKind, str state JSON given on the hook's stdin
  ConsoleSocket: 29, // str path of the AF_UNIX socket that receives the pty master (terminal: true)
  SessionKeyring: 30, // str name: the init joins a new session keyring (absent with --no-new-keyring)
  IoPriority: 31, // u32 class (IOPRIO_CLASS_*: 1 RT, 2 BE, 3 IDLE), u32 priority
  Scheduler: 32, // u32 policy (SCHED_*), i32 nice, u32 priority, u64 flags, u64 runtime, u64 deadline, u64 period
  CpuAffinity: 33, // u32 CpuAffinityWhen, str CPU list ("0-3,7"): sched_setaffinity
  MemoryPolicy: 34, // u32 mode (MPOL_*), u32 flags (MPOL_F_*), str node list ("" for none): set_mempolicy
  NetDevice: 35, // str host name, str name in the container ("" = the same): moved into the new netns
  ExecMode: 36, // empty: `tsrun exec` — join the container (NsPath), set up only the process, no fifo
} as const;
export type TagType = (typeof Tag)[keyof typeof Tag];

export const RootfsFlag = {
  Readonly: 1, // root.readonly: remount "/" read-only at the end
  NoPivot: 2, // --no-pivot: MS_MOVE + chroot instead of pivot_root
  BindDevices: 4, // bind-mount device nodes from the host instead of mknod (user namespace)
} as const;

export const MountKind = {
  Bind: 1, // MS_BIND (with MS_REC from flags), then a MS_REMOUNT|MS_BIND pass for the other flags
  CreateFile: 2, // destination is created as an empty file, not a directory (bind of a file)
} as const;

export const HookKind = { CreateContainer: 1, StartContainer: 2 } as const;

/** execCPUAffinity: Initial is set by stage 0 before clone; Final by the init right before exec. */
export const CpuAffinityWhen = { Initial: 1, Final: 2 } as const;

/** Linux clone flags used by Namespaces / NsPath. */
export const CloneFlag = {
  NEWTIME: 0x00000080,
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

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
 *   value  = the record's fields packed in the order records.ts declares them
 *
 * Order of a create (N = Node, 0 = helper stage 0 "tsrun:[0:parent]", 1 = init "tsrun:[1:init]").
 * A helper step is named by its function (addon/init/steps.h without "tsrun_", or a step of
 * main.c's own), in the order main.c runs it: test/unit/create-order.test.js walks main.c and fails
 * when this list and the code disagree.
 *
 *   0 → N  Hello{version}
 *   N → 0  Plan{records}
 *        (every /proc access of 0, 1 and x goes through addon/init/procfs.c: a procfs
 *        checked to be the kernel's and uncovered; 0 makes one first thing, 1 and x their own)
 *     0  lsm_probe                    with ApparmorProfile, SelinuxLabel or MountLabel: whether the
 *                                     host has AppArmor and SELinux, from its own /sys and /proc; a
 *                                     profile or label it cannot apply is refused (as runc)
 *     0  set_oom_score_adj            inherited: once init is non-dumpable in a user namespace it
 *                                     may not write its own
 *     0  console_connect              with ConsoleSocket: the host's socket, with the caller's
 *                                     credentials (a user namespace's init may not reach it)
 *     0  open_state_fds               the state dir and exec.fifo as O_PATH fds, while stage 0 still
 *                                     has the host's credentials and mount namespace
 *     0  set_cpu_affinity(INITIAL)    the initial execCPUAffinity (inherited)
 *     0  netdev_open_host_socket      a netlink socket in the host's namespace, for netDevices
 *     0  seccomp_connect_listener     with SCMP_ACT_NOTIFY: the listenerPath socket, by host path
 *     0  join_namespaces              setns() each NsPath in order (user first)
 *     0  enter_time_namespace         unshare(CLONE_NEWTIME), write the TimeOffset lines
 *     0  clone_init                   clone(namespaces minus NEWTIME/NEWCGROUP) → 1; with a new
 *                                     user namespace, 0 then joins 1's mount namespace, opens every
 *                                     bind source there with the host's credentials (O_PATH) and
 *                                     sends the fds to 1 over a socketpair (addon/init/bindsrc.c)
 *   0 → N  Pid{host pid of 1}         (0 then exits, unless the plan has Stage0Wait)
 *          N: cgroups (create, limits, add pid), uid/gid maps, prestart + createRuntime hooks
 *   N → 1  Continue{HookState records}
 *     1  become_userns_root           setresuid/setresgid(0) in a created or joined user namespace
 *                                     (the maps exist now; files it creates would otherwise fail
 *                                     with EOVERFLOW)
 *     1  unshare_cgroup_namespace
 *     1  loopback_up                  with LoopbackUp
 *     1  move_net_devices             through stage 0's netlink socket; addresses kept, set up
 *     1  set_hostname                 and the domainname
 *     1  join_session_keyring         unless --no-new-keyring: no key of the caller's session is
 *                                     reachable; with SelinuxLabel the keyring takes it (keycreate)
 *     1  prepare_rootfs               rootfs propagation, bind the rootfs (neither with
 *                                     HostMountNamespace: no mount namespace, mounts land in the
 *                                     caller's, below the rootfs)
 *     1  mount_all                    mounts in order; a bind source 1 cannot stat is bound from
 *                                     0's fd (as runc), and the fds are closed after the last mount
 *     1  create_devices
 *     1  create_symlinks
 *     1  create_cwd                   before the root may turn read-only (as runc)
 *     1  run_hooks(CREATE_CONTAINER)
 *     1  pivot_root                   (MS_MOVE + chroot with --no-pivot, after hiding the host's
 *                                     procfs and sysfs; a chroot with HostMountNamespace)
 *     1  console_setup                the pty on /dev/console before "/" may turn read-only
 *     1  apply_sysctls                before /proc/sys turns read-only
 *     1  mask_paths
 *     1  readonly_paths
 *     1  readonly_root
 *     1  mounts_done
 *     1  set_rlimits
 *     1  set_personality
 *     1  set_io_priority              I/O priority and scheduler while still privileged
 *     1  set_scheduler
 *     1  set_memory_policy
 *     1  set_exec_labels              "exec <profile>" to attr/apparmor/exec (or attr/exec), the
 *                                     SELinux label to attr/exec: what execve applies
 *     1  load_seccomp(BEFORE_USER)    without no_new_privs: while it still has CAP_SYS_ADMIN; the
 *                                     listener fd and SeccompState go to the listener socket
 *     1  set_user                     user, capabilities, no_new_privs
 *     1  find_executable              resolve process.args[0] in the container's PATH
 *   1 → N  Ready                      (N records state "created" and exits)
 *     1  open_fifo                    exec.fifo O_WRONLY through /proc/self/fd (the state dir may
 *                                     not be searchable by the container user; without /proc,
 *                                     openat on the state dir fd): blocks until `tsrun start`
 *     1  run_hooks(START_CONTAINER)
 *     1  set_cpu_affinity(FINAL)
 *     1  load_seccomp(BEFORE_EXEC)    with no_new_privs: the last step before execve
 *     1  exec                         execve(process.args). A failure after Ready is written to
 *                                     the fifo as "E<message>" (start reports it); success writes
 *                                     "0" and the fifo closes on exec (O_CLOEXEC)
 *   0 → N  Exit{wait status}          (only with Stage0Wait: stage 0 is init's parent and reaps it)
 *
 * `tsrun exec` uses the same messages with an ExecMode plan (x = its stage 0 and its process):
 * no exec.fifo, no mounts, no hooks; Node adds the process to the container's cgroup before
 * Continue.
 *
 *     x  lsm_probe
 *     x  set_oom_score_adj
 *     x  console_connect              the host's socket, before joining the container
 *     x  open_state_fds               (nothing to do: an exec has no fifo)
 *     x  set_cpu_affinity(INITIAL)
 *     x  netdev_open_host_socket      (nothing to do: an exec moves no devices)
 *     x  seccomp_connect_listener
 *     x  join_namespaces              the container's, user first
 *     x  enter_time_namespace         (nothing to do: joined, not created)
 *     x  clone_init                   → the process, which after Continue runs:
 *     x  become_userns_root
 *     x  console_setup
 *     x  set_rlimits
 *     x  set_personality
 *     x  set_io_priority
 *     x  set_scheduler
 *     x  set_memory_policy
 *     x  set_exec_labels
 *     x  load_seccomp(BEFORE_USER)
 *     x  set_user
 *     x  find_executable
 *     x  set_cpu_affinity(FINAL)      after Ready
 *     x  load_seccomp(BEFORE_EXEC)
 *     x  exec
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

/** Plan and Continue records: their tags, fields and layouts are declared in records.ts. */
export { Tag, type TagType } from './records.js';

export const RootfsFlag = {
  Readonly: 1, // root.readonly: remount "/" read-only at the end
  NoPivot: 2, // --no-pivot: MS_MOVE + chroot instead of pivot_root
  BindDevices: 4, // bind-mount device nodes from the host instead of mknod (user namespace)
  ReadonlyDev: 8, // a /dev mount asked read-only: mounted rw for its nodes and /dev/pts, remounted ro at the end
} as const;

export const MountKind = {
  Bind: 1, // MS_BIND (with MS_REC from flags), then a MS_REMOUNT|MS_BIND pass for the other flags
  CreateFile: 2, // destination is created as an empty file, not a directory (bind of a file)
  Label: 4, // linux.mountLabel goes into its data as context="..." (as runc: not proc, sysfs, binds, cgroup2)
} as const;

export const HookKind = { CreateContainer: 1, StartContainer: 2 } as const;

/** execCPUAffinity: Initial is set by stage 0 before clone; Final by the init right before exec. */
export const CpuAffinityWhen = { Initial: 1, Final: 2 } as const;

/**
 * Every record of the Plan and Continue frames, declared once. Both sides are derived from this
 * table: the TypeScript encoder (plan-encoding.ts through RecordWriter, typed by RecordValue) and
 * the helper's decoder (scripts/gen-protocol.js writes addon/init/records.h and records.c, the
 * structs and descriptor tables that addon/init/plan.c walks). A unit test fails when the
 * generated C is stale, and another encodes every record here, decodes it with the generated C
 * and compares (with a field added in the test, so a new field cannot be missed by one side).
 *
 * Adding a field is one line here, then its use: fill it in plan-encoding.ts, read it in C as
 * `plan-><record>.<field>` (or the element of `plan-><record>s` for repeated records).
 *
 * A record is stored in the helper's `struct tsrun_plan` according to `store`:
 *   flag   no fields; `bool <record>`
 *   one    at most once; `<record>` (the field itself when there is one, else a struct
 *          `tsrun_<record>`) and `bool has_<record>`
 *   many   any number, in order; `<record>s` (array of the field or of `struct tsrun_<record>`)
 *          and `size_t n_<record>s`
 *   keyed  once per value of its first field (an enum); the second field is stored at
 *          `<record>[key]`, with `bool has_<record>[key]`
 * Names are snake_case in C (`hostName` → `host_name`, `OomScoreAdj` → `oom_score_adj`).
 *
 * Field kinds (all little endian): u32, i32, u64; `pad32` (a u32 that is always 0); `str` (bytes
 * ending in one NUL); `strs` (u32 count, then that many `str`; C: NULL-terminated `char **` and
 * `size_t n_<field>`); `u32s`, `u64s` (u32 count, then that many u32 or u64; C: `uint32_t *` or
 * `uint64_t *` and `size_t n_<field>`).
 */

export type FieldKind = 'u32' | 'i32' | 'u64' | 'pad32' | 'str' | 'strs' | 'u32s' | 'u64s';
export type Store = 'flag' | 'one' | 'many' | 'keyed';
export type Frame = 'plan' | 'continue';

export interface FieldDecl {
  readonly name: string;
  readonly kind: FieldKind;
  /** u32 fields: the value must be one of this enum's (an export of protocol.ts, by name) */
  readonly oneOf?: string;
  /** u32 fields: the largest value accepted */
  readonly max?: number;
}

export interface RecordDecl {
  readonly tag: number;
  readonly store: Store;
  readonly frame: Frame;
  readonly fields: readonly FieldDecl[];
  /** what the record means, for the generated C and for readers */
  readonly doc: string;
}

type F = readonly [name: string, kind: FieldKind, check?: { oneOf?: string; max?: number }];

function rec<const S extends Store, const Fs extends readonly F[]>(tag: number, store: S, doc: string, fields: Fs, frame: Frame = 'plan') {
  return {
    tag,
    store,
    frame,
    doc,
    fields: fields.map(([name, kind, check]) => ({ name, kind, ...check })),
    // Kept for the types only: RecordValue reads the field tuple back from here.
    shape: undefined as unknown as Fs,
  };
}

export const records = {
  Namespaces: rec(1, 'one', 'CLONE_NEW* flags of the namespaces to create (NEWTIME/NEWCGROUP are handled apart)', [['flags', 'u32']]),
  NsPath: rec(2, 'many', 'setns() into path, in record order (user first)', [['type', 'u32'], ['path', 'str']]),
  TimeOffset: rec(3, 'many', '"monotonic|boottime SECS NANOS", written to /proc/self/timens_offsets', [['line', 'str']]),
  Hostname: rec(4, 'one', 'the container hostname', [['name', 'str']]),
  Domainname: rec(5, 'one', 'the container NIS domain name', [['name', 'str']]),
  Rootfs: rec(6, 'one', 'absolute host path of the root filesystem', [['path', 'str']]),
  RootfsFlags: rec(7, 'one', 'RootfsFlag bits, and the propagation flags for "/" (0: MS_SLAVE|MS_REC)', [['flags', 'u32'], ['propagation', 'u64']]),
  Mount: rec(8, 'many', 'one mount, in order; kind holds MountKind bits', [
    ['flags', 'u64'], ['propagation', 'u64'], ['kind', 'u32'],
    ['source', 'str'], ['destination', 'str'], ['type', 'str'], ['data', 'str'],
    // MOUNT_ATTR_* set and cleared on the whole tree (mount_setattr AT_RECURSIVE): "rro" and friends
    ['recAttrSet', 'u32'], ['recAttrClr', 'u32'],
  ]),
  Device: rec(9, 'many', 'a device node: type S_IFCHR|S_IFBLK|S_IFIFO, permission mode, owner', [
    ['type', 'u32'], ['major', 'u32'], ['minor', 'u32'], ['mode', 'u32'], ['uid', 'u32'], ['gid', 'u32'], ['path', 'str'],
  ]),
  Symlink: rec(10, 'many', 'a symlink in the container (an existing linkpath is left alone)', [['target', 'str'], ['linkpath', 'str']]),
  MaskedPath: rec(11, 'many', 'a path hidden from the container', [['path', 'str']]),
  ReadonlyPath: rec(12, 'many', 'a path made read-only', [['path', 'str']]),
  Sysctl: rec(13, 'many', 'a sysctl (dotted key) written in the container', [['key', 'str'], ['value', 'str']]),
  Rlimit: rec(14, 'many', 'setrlimit(resource)', [['resource', 'u32'], ['pad', 'pad32'], ['soft', 'u64'], ['hard', 'u64']]),
  User: rec(15, 'one', 'the process credentials; umask -1 leaves it', [['uid', 'u32'], ['gid', 'u32'], ['umask', 'i32'], ['groups', 'u32s']]),
  Capabilities: rec(16, 'one', 'the five capability sets, in CAP_* bit order', [
    ['bounding', 'u64'], ['effective', 'u64'], ['permitted', 'u64'], ['inheritable', 'u64'], ['ambient', 'u64'],
  ]),
  NoNewPrivileges: rec(17, 'flag', 'PR_SET_NO_NEW_PRIVS before exec', []),
  OomScoreAdj: rec(18, 'one', 'written to /proc/self/oom_score_adj by stage 0', [['value', 'i32']]),
  Cwd: rec(19, 'one', 'the working directory in the container', [['path', 'str']]),
  Args: rec(20, 'one', 'argv of the process', [['args', 'strs']]),
  Env: rec(21, 'one', 'the environment ("KEY=value")', [['env', 'strs']]),
  StateDir: rec(22, 'one', 'host path of the directory holding exec.fifo', [['path', 'str']]),
  PreserveFds: rec(23, 'one', 'fds 3..3+count-1 pass into the container; every other fd >= 3 is closed', [['count', 'u32', { max: 1 << 20 }]]),
  Hook: rec(24, 'many', 'a createContainer or startContainer hook (timeout 0 = none)', [
    ['kind', 'u32', { oneOf: 'HookKind' }], ['timeoutS', 'u32'], ['path', 'str'], ['args', 'strs'], ['env', 'strs'],
  ]),
  Personality: rec(25, 'one', 'persona for personality(2)', [['persona', 'u32']]),
  Stage0Wait: rec(26, 'flag', 'stage 0 stays the init\'s parent, reaps it and sends Exit', []),
  LoopbackUp: rec(27, 'flag', 'bring "lo" up in the new network namespace', []),
  HookState: rec(28, 'keyed', 'the state JSON given on a hook\'s stdin, per HookKind', [['kind', 'u32', { oneOf: 'HookKind' }], ['json', 'str']], 'continue'),
  ConsoleSocket: rec(29, 'one', 'path of the AF_UNIX socket that receives the pty master (terminal: true)', [['path', 'str']]),
  SessionKeyring: rec(30, 'one', 'the init joins a new session keyring of this name (absent with --no-new-keyring)', [['name', 'str']]),
  IoPriority: rec(31, 'one', 'ioprio_set: class IOPRIO_CLASS_* (1 RT, 2 BE, 3 IDLE) and priority', [['class', 'u32'], ['priority', 'u32']]),
  Scheduler: rec(32, 'one', 'sched_setattr: policy SCHED_*, nice, priority, flags, deadline parameters', [
    ['policy', 'u32'], ['nice', 'i32'], ['priority', 'u32'], ['flags', 'u64'], ['runtime', 'u64'], ['deadline', 'u64'], ['period', 'u64'],
  ]),
  CpuAffinity: rec(33, 'keyed', 'sched_setaffinity to a CPU list ("0-3,7"), per CpuAffinityWhen', [['when', 'u32', { oneOf: 'CpuAffinityWhen' }], ['list', 'str']]),
  MemoryPolicy: rec(34, 'one', 'set_mempolicy: mode MPOL_*, flags MPOL_F_*, node list ("" for none)', [['mode', 'u32'], ['flags', 'u32'], ['nodes', 'str']]),
  NetDevice: rec(35, 'many', 'a host network device moved into the new netns, renamed unless containerName is ""', [['hostName', 'str'], ['containerName', 'str']]),
  ExecMode: rec(36, 'flag', '`tsrun exec`: join the container (NsPath), set up only the process, no fifo', []),
  Seccomp: rec(37, 'one', 'a seccomp filter: the default SECCOMP_RET_* action (errno or trace data included) and SECCOMP_FILTER_FLAG_* bits', [
    ['defaultAction', 'u32'], ['flags', 'u32'],
  ]),
  SeccompArch: rec(38, 'many', 'an architecture the filter also covers: its libseccomp name and its index in linux.seccomp.architectures', [
    ['index', 'u32'], ['name', 'str'],
  ]),
  SeccompRule: rec(39, 'many', 'one libseccomp rule: action, syscall name, comparisons as (index, op SCMP_CMP_*, value, valueTwo) groups', [
    ['action', 'u32'], ['syscall', 'str'], ['args', 'u64s'],
  ]),
  SeccompListener: rec(40, 'one', 'SCMP_ACT_NOTIFY: the unix socket that receives the listener fd and the container process state', [
    ['path', 'str'],
  ]),
  SeccompState: rec(41, 'one', 'the container process state JSON sent with the listener fd', [['json', 'str']], 'continue'),
  ConsoleSize: rec(42, 'one', 'process.consoleSize of a terminal: the pty is given this size before the process starts', [['rows', 'u32'], ['cols', 'u32']]),
  HostMountNamespace: rec(43, 'flag', 'no mount namespace in the config: mounts land in the caller\'s namespace, under the rootfs, and the init chroots (without it, a plan with no mount namespace is refused)', []),
  Debug: rec(44, 'flag', 'tsrun runs with --debug: the helper reports each stage it reaches as a Log debug line', []),
  ApparmorProfile: rec(45, 'one', 'process.apparmorProfile: "exec <profile>" goes to the process\'s attr/apparmor/exec (or attr/exec) before execve', [['profile', 'str']]),
  SelinuxLabel: rec(46, 'one', 'process.selinuxLabel: written to attr/exec before execve, and to attr/keycreate around joining the session keyring', [['label', 'str']]),
  MountLabel: rec(47, 'one', 'linux.mountLabel: the SELinux context= option of the mounts marked MountKind.Label and of the tmpfs over masked directories', [['label', 'str']]),
} satisfies Record<string, RecordDecl>;

export type RecordName = keyof typeof records;

type FieldValue<K extends FieldKind> = K extends 'u32' | 'i32'
  ? number
  : K extends 'u64'
    ? bigint | number
    : K extends 'str'
      ? string
      : K extends 'strs'
        ? readonly string[]
        : K extends 'u32s'
          ? readonly number[]
          : K extends 'u64s'
            ? readonly (bigint | number)[]
            : never;

/** The value RecordWriter.add takes for a record: one property per field (pad32 fields excluded). */
export type RecordValue<N extends RecordName> = {
  [E in (typeof records)[N]['shape'][number] as E[1] extends 'pad32' ? never : E[0]]: FieldValue<E[1]>;
};

/** Record names whose value is empty (flags), for RecordWriter.add's one-argument form. */
export type FlagRecord = { [N in RecordName]: (typeof records)[N]['store'] extends 'flag' ? N : never }[RecordName];

/** Tag numbers by record name. */
export const Tag = Object.fromEntries(Object.entries(records).map(([name, r]) => [name, r.tag])) as {
  readonly [N in RecordName]: (typeof records)[N]['tag'];
};
export type TagType = (typeof Tag)[RecordName];

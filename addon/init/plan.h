/* The decoded PLAN and CONTINUE records (layouts in src/protocol/protocol.ts). Strings point into
 * the frame buffer they were decoded from, which therefore lives as long as the plan. */
#ifndef TSRUN_PLAN_H
#define TSRUN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sync.h"

struct tsrun_ns_path { uint32_t type; const char *path; };
struct tsrun_mount {
  uint64_t flags, propagation;
  uint32_t kind;
  const char *source, *destination, *type, *data;
};
struct tsrun_device { uint32_t type, major, minor, mode, uid, gid; const char *path; };
struct tsrun_symlink { const char *target, *linkpath; };
struct tsrun_sysctl { const char *key, *value; };
struct tsrun_rlimit { uint32_t resource; uint64_t soft, hard; };
struct tsrun_net_device { const char *host_name, *container_name; };
struct tsrun_hook {
  uint32_t kind, timeout_s;
  const char *path;
  char **args; /* NULL-terminated; args[0] is argv0 */
  char **env;  /* NULL-terminated */
};

/* Caps are in CAP_* bit order: index into caps[] with these. */
enum { TSRUN_CAP_BOUNDING, TSRUN_CAP_EFFECTIVE, TSRUN_CAP_PERMITTED, TSRUN_CAP_INHERITABLE,
       TSRUN_CAP_AMBIENT, TSRUN_CAP_SETS };

struct tsrun_plan {
  uint32_t namespaces;
  size_t n_ns_paths, n_time_offsets, n_mounts, n_devices, n_symlinks, n_masked, n_readonly,
      n_sysctls, n_rlimits, n_hooks;
  struct tsrun_ns_path *ns_paths;
  const char **time_offsets;
  const char *hostname, *domainname, *rootfs;
  bool has_rootfs_flags;
  uint32_t rootfs_flags;
  uint64_t rootfs_propagation;
  struct tsrun_mount *mounts;
  struct tsrun_device *devices;
  struct tsrun_symlink *symlinks;
  const char **masked_paths, **readonly_paths;
  struct tsrun_sysctl *sysctls;
  struct tsrun_rlimit *rlimits;
  bool has_user;
  uint32_t uid, gid;
  int32_t umask;
  uint32_t n_groups;
  gid_t *groups;
  bool has_caps;
  uint64_t caps[TSRUN_CAP_SETS];
  bool no_new_privileges;
  bool has_oom_score_adj;
  int32_t oom_score_adj;
  const char *cwd;
  char **args, **env; /* NULL-terminated */
  size_t n_args;
  const char *state_dir;
  uint32_t preserve_fds;
  struct tsrun_hook *hooks;
  bool has_personality;
  uint32_t personality;
  bool stage0_wait, loopback_up;
  const char *console_socket;
  const char *session_keyring; /* NULL with --no-new-keyring */
  bool has_io_priority;
  uint32_t io_class, io_priority;
  bool has_scheduler;
  struct tsrun_scheduler {
    uint32_t policy, priority;
    int32_t nice;
    uint64_t flags, runtime, deadline, period;
  } scheduler;
  const char *cpu_affinity[3]; /* by TSRUN_AFFINITY_INITIAL / _FINAL; NULL when not given */
  bool has_memory_policy;
  uint32_t mempolicy_mode, mempolicy_flags;
  const char *mempolicy_nodes; /* "" for none */
  bool exec_mode; /* tsrun exec: join a running container, no rootfs work */
  struct tsrun_net_device *net_devices;
  size_t n_net_devices;
  /* From CONTINUE: the state JSON per HookKind (index 1 and 2). */
  const char *hook_state[3];
  /* Which singleton tags were seen, to reject duplicates. */
  uint64_t seen;
};

enum tsrun_frame_kind { TSRUN_FRAME_PLAN, TSRUN_FRAME_CONTINUE };

/* Decodes the records of a PLAN or CONTINUE payload into *plan (which starts zeroed; a CONTINUE
 * is decoded into the plan already holding the PLAN). Tags that do not belong to the frame kind,
 * unknown tags, truncated or oversized values and duplicates of single records are errors. */
int tsrun_plan_decode(struct tsrun_plan *plan, enum tsrun_frame_kind kind, char *buf, size_t len,
                      tsrun_error_t *err);
/* Created by the plan (Namespaces) or joined (NsPath): CLONE_NEW* `type`. */
bool tsrun_plan_has_namespace(const struct tsrun_plan *plan, uint32_t type);
/* What init cannot do without (rootfs, args, state dir), and the namespaces that keep its
 * hostname, mount and network changes off the host. */
int tsrun_plan_check_init(const struct tsrun_plan *plan, tsrun_error_t *err);
void tsrun_plan_free(struct tsrun_plan *plan);
const char *tsrun_tag_name(uint32_t tag);

#endif

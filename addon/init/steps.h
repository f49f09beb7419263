/* The steps of stage 0 and init, one group per file; each fails at its origin via tsrun_fail. */
#ifndef TSRUN_STEPS_H
#define TSRUN_STEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plan.h"

/* namespaces.c */
void tsrun_join_namespaces(const struct tsrun_plan *plan);
void tsrun_enter_time_namespace(const struct tsrun_plan *plan);
pid_t tsrun_clone_init(const struct tsrun_plan *plan);
void tsrun_unshare_cgroup_namespace(const struct tsrun_plan *plan);
void tsrun_loopback_up(void);
void tsrun_set_hostname(const struct tsrun_plan *plan);
void tsrun_join_session_keyring(const struct tsrun_plan *plan);
void tsrun_apply_sysctls(const struct tsrun_plan *plan);
void tsrun_become_userns_root(const struct tsrun_plan *plan);

/* mounts.c */
void tsrun_prepare_rootfs(const struct tsrun_plan *plan);
void tsrun_mount_all(const struct tsrun_plan *plan);
void tsrun_create_devices(const struct tsrun_plan *plan);
void tsrun_create_symlinks(const struct tsrun_plan *plan);
void tsrun_create_cwd(const struct tsrun_plan *plan);
void tsrun_pivot_root(const struct tsrun_plan *plan);
void tsrun_mask_paths(const struct tsrun_plan *plan);
void tsrun_readonly_paths(const struct tsrun_plan *plan);
void tsrun_readonly_root(const struct tsrun_plan *plan);
/* Closes the root fd the mount steps resolve paths in. */
void tsrun_mounts_done(void);
/* Bind-mounts source (a host path) onto a file inside the current root, creating it. */
void tsrun_bind_onto_file(const char *step, const char *source, const char *unsafe_dest);
/* Bind-mounts the pty (an fd) on /dev/console, created as a file, never through a symlink. */
void tsrun_bind_console(int pty);

/* process.c */
void tsrun_set_oom_score_adj(const struct tsrun_plan *plan);
void tsrun_set_rlimits(const struct tsrun_plan *plan);
void tsrun_set_personality(const struct tsrun_plan *plan);
void tsrun_set_scheduler(const struct tsrun_plan *plan);
void tsrun_set_io_priority(const struct tsrun_plan *plan);
void tsrun_set_cpu_affinity(const struct tsrun_plan *plan, uint32_t when);
void tsrun_set_memory_policy(const struct tsrun_plan *plan);
void tsrun_netdev_open_host_socket(const struct tsrun_plan *plan);
void tsrun_move_net_devices(const struct tsrun_plan *plan);
void tsrun_set_user(const struct tsrun_plan *plan);
/* PATH lookup as runc does it; writes the path to run into out. */
int tsrun_find_executable(const char *name, char *const *env, char *out, size_t out_size,
                          tsrun_error_t *err);
__attribute__((noreturn)) void tsrun_exec(const struct tsrun_plan *plan, const char *path);

/* lsm.c */
/* Stage 0, in the host's namespaces: whether the host has AppArmor and SELinux (with a profile
 * or label in the plan), and a label it cannot apply refused. */
void tsrun_lsm_probe(const struct tsrun_plan *plan);
/* The process: the AppArmor profile and SELinux label its execve takes. */
void tsrun_set_exec_labels(const struct tsrun_plan *plan);

/* hooks.c */
void tsrun_run_hooks(const struct tsrun_plan *plan, uint32_t kind);

/* seccomp.c */
enum tsrun_seccomp_when { TSRUN_SECCOMP_BEFORE_USER, TSRUN_SECCOMP_BEFORE_EXEC };
/* With SCMP_ACT_NOTIFY: the listenerPath socket, connected (else -1). */
int tsrun_seccomp_connect_listener(const struct tsrun_plan *plan);
/* Loads the filter at `when` if that is its moment (BEFORE_EXEC with no_new_privs, else
 * BEFORE_USER), sending the listener fd over listener_sock, which it then closes. */
void tsrun_load_seccomp(const struct tsrun_plan *plan, enum tsrun_seccomp_when when, int listener_sock);

/* terminal.c */
int tsrun_console_connect(const struct tsrun_plan *plan);
void tsrun_console_setup(const struct tsrun_plan *plan, int sock, bool bind_console);

#endif

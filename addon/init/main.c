/* tsrun-init: the helper a container is born from. Stage 0 joins and creates namespaces and
 * clones init; init applies the rest of the plan and execs the container process. The order and
 * every message are those of src/protocol/protocol.ts. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "inroot.h"
#include "procfs.h"
#include "protocol.h"
#include "seccomp.h"
#include "selfexec.h"
#include "steps.h"

static void put_u32(unsigned char *p, uint32_t v)
{
  p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = (v >> 24) & 0xff;
}

static void send_u32(const char *step, uint16_t type, uint32_t v)
{
  unsigned char b[4];
  put_u32(b, v);
  if (tsrun_send(type, b, sizeof(b)) < 0)
    tsrun_fail(step, errno, "send to tsrun");
}

static const char *msg_name(uint16_t type)
{
  static const char *const names[] = {
    [TSRUN_MSG_HELLO] = "Hello", [TSRUN_MSG_PLAN] = "Plan", [TSRUN_MSG_PID] = "Pid",
    [TSRUN_MSG_CONTINUE] = "Continue", [TSRUN_MSG_READY] = "Ready", [TSRUN_MSG_EXIT] = "Exit",
    [TSRUN_MSG_ERROR] = "Error", [TSRUN_MSG_LOG] = "Log",
  };
  if (type < sizeof(names) / sizeof(names[0]) && names[type])
    return names[type];
  return "an unknown message";
}

/* Reads the one frame this stage expects; EOF means Node gave up on us: leave without a word. */
static char *expect_frame(const char *step, uint16_t want, uint32_t *len)
{
  tsrun_error_t err;
  uint16_t type;
  char *payload;
  int r = tsrun_recv(&type, &payload, len, &err);
  if (r < 0)
    tsrun_fail_error(step, &err);
  if (r == 0)
    _exit(1);
  if (type != want) {
    free(payload);
    tsrun_fail(step, EPROTO, "expected %s during %s, got %s (%u)", msg_name(want), step,
               msg_name(type), type);
  }
  return payload;
}

static int parse_sync_fd(int argc, char **argv)
{
  char *end;
  if (argc != 3 || strcmp(argv[1], "--sync-fd") != 0) {
    fprintf(stderr, "usage: tsrun-init --sync-fd N | --seccomp-features\n");
    exit(2);
  }
  errno = 0;
  long fd = strtol(argv[2], &end, 10);
  if (errno || *end || end == argv[2] || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0) {
    fprintf(stderr, "tsrun-init: bad --sync-fd \"%s\"\n", argv[2]);
    exit(2);
  }
  /* Keep it out of hooks and the container even if PreserveFds would cover it. */
  fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  return (int)fd;
}

static bool same_fifo(int a, int b)
{
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino && S_ISFIFO(sa.st_mode);
}

/* Reopens the O_PATH fd of exec.fifo for writing (blocks until `tsrun start` reads) through its
 * magic link in the verified procfs, never through the container's /proc, and checks the
 * result is still our fifo. */
static int open_fifo(int fifo_path, tsrun_error_t *err)
{
  int fd = tsrun_fd_reopen(fifo_path, O_WRONLY, err);
  if (fd >= 0 && !same_fifo(fd, fifo_path)) {
    close(fd);
    return tsrun_error(err, EXDEV, "\"exec.fifo\" reopened as another file");
  }
  return fd;
}

/* exec.fifo as an O_PATH fd, opened by stage 0 while it still has the host's credentials and
 * mount namespace: in a user namespace the init is no longer host root and may not search the
 * state dir's parents, and a joined mount namespace would not even show them. The state dir
 * itself is closed at once: the init carries no host directory fd (CVE-2024-21626). */
static int fifo_path_fd = -1;

static void open_state_fds(const struct tsrun_plan *plan)
{
  if (plan->exec_mode)
    return; /* an exec has no fifo to wait on */
  cleanup_close int state_dir = open(plan->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (state_dir < 0)
    tsrun_fail("state", errno, "open state dir \"%s\"", plan->state_dir);
  fifo_path_fd = openat(state_dir, "exec.fifo", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fifo_path_fd < 0)
    tsrun_fail("state", errno, "open \"%s/exec.fifo\"", plan->state_dir);
}

/* The listenerPath socket of a notifying seccomp filter, connected by stage 0 (host path). */
static int seccomp_listener = -1;

/* The --console-socket of a create or an exec, connected by stage 0: its path is the host's,
 * and stage 0 still has the caller's credentials and mount namespace. The init of a user
 * namespace is no longer host root when it could connect (EACCES on a socket only root may
 * reach), and an exec's process has joined the container's mount namespace. */
static int console_sock = -1;

/* The first steps of the cloned process, init or exec: name it, keep it out of reach until
 * execve, wait for Node's Continue (cgroup joined, id maps written) and become root of its user
 * namespace. */
static void begin_process(struct tsrun_plan *plan, const char *name)
{
  tsrun_error_t err;
  /* The procfs stage 0 used shows stage 0's pid namespace: ours is made anew (procfs.h). */
  tsrun_procfs_reset();
  prctl(PR_SET_NAME, name, 0, 0, 0);
  /* Inherited from stage 0, which cleared it first thing; checked again because everything the
   * container could reach through our /proc files (host fds, the sealed binary) is still here
   * until execve resets it (CVE-2016-9962). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    tsrun_fail("init", errno, "clear dumpable");
  /* A session of its own, always (as runc): the container must not be able to signal the
   * process group of whoever ran tsrun (kill(0, ...) from inside reaches it otherwise), nor
   * read from or stop on the caller's terminal. The pty, when there is one, becomes the
   * controlling terminal of this session in console_setup. */
  if (setsid() < 0)
    tsrun_fail("init", errno, "setsid");
  /* Directories and files made during setup get 0755/0644 whatever Node's umask is; without a
   * umask in the plan the process keeps 022, runc's default. */
  umask(0022);
  uint32_t len;
  char *cont = expect_frame("continue", TSRUN_MSG_CONTINUE, &len);
  if (tsrun_plan_decode(plan, TSRUN_FRAME_CONTINUE, cont, len, &err) < 0)
    tsrun_fail_error("continue", &err);
  tsrun_become_userns_root(plan);
  tsrun_log(TSRUN_LOG_DEBUG, "%s: continue received; in the container's namespaces", name);
}

/* The process's own settings, while still privileged, then the user switch; resolves the
 * executable into `exe`, reports Ready and lets go of the sync socket. */
static void finish_process(const struct tsrun_plan *plan, char *exe, size_t exe_size)
{
  tsrun_error_t err;
  tsrun_set_rlimits(plan);
  tsrun_set_personality(plan);
  tsrun_set_io_priority(plan);
  tsrun_set_scheduler(plan);
  tsrun_set_memory_policy(plan);
  /* As runc: the labels before the seccomp filter of a process without no_new_privs and the
   * user switch; execve applies them. */
  tsrun_set_exec_labels(plan);
  tsrun_load_seccomp(plan, TSRUN_SECCOMP_BEFORE_USER, seccomp_listener);
  tsrun_set_user(plan);
  if (tsrun_find_executable(plan->args[0], plan->env, exe, exe_size, &err) < 0)
    tsrun_fail_error("exec", &err);
  tsrun_log(TSRUN_LOG_DEBUG, "process set up (uid %u, gid %u); ready to run \"%s\"", plan->user.uid,
            plan->user.gid, exe);
  if (tsrun_send(TSRUN_MSG_READY, NULL, 0) < 0)
    tsrun_fail("ready", errno, "send ready");
  tsrun_sync_close();
}

__attribute__((noreturn)) static void run_init(struct tsrun_plan *plan)
{
  char exe[PATH_MAX];

  begin_process(plan, "tsrun:[1:init]");
  /* Now, in the new mount namespace that still shows the host's /proc: after pivot_root a new
   * procfs instance could be refused (the container's /proc has masks on it), and the one made
   * here stays reachable by fd. */
  tsrun_error_t perr;
  if (tsrun_procfs_root(&perr) < 0)
    tsrun_fail_error("procfs", &perr);
  tsrun_unshare_cgroup_namespace(plan);
  if (plan->loopback_up)
    tsrun_loopback_up();
  tsrun_move_net_devices(plan);
  tsrun_set_hostname(plan);
  tsrun_join_session_keyring(plan);

  tsrun_prepare_rootfs(plan);
  tsrun_mount_all(plan);
  tsrun_create_devices(plan);
  tsrun_create_symlinks(plan);
  tsrun_create_cwd(plan); /* before the root may become read-only, as runc */
  tsrun_run_hooks(plan, TSRUN_HOOK_CREATE_CONTAINER);

  /* fifo_path_fd was opened by stage 0 (see open_state_fds), and so was the console socket
   * (console_sock). */
  cleanup_close int fifo_path = fifo_path_fd;
  int console = console_sock;

  tsrun_pivot_root(plan);
  /* The pty goes on /dev/console before "/" may turn read-only (as runc). */
  if (console >= 0)
    tsrun_console_setup(plan, console, true);
  /* Sysctls before the masked and read-only paths (as runc): "/proc/sys" is read-only by
   * default, and writing a sysctl after that remount fails with EROFS. */
  tsrun_apply_sysctls(plan);
  tsrun_mask_paths(plan);
  tsrun_readonly_paths(plan);
  tsrun_readonly_root(plan);
  tsrun_mounts_done();
  tsrun_log(TSRUN_LOG_DEBUG, "init: rootfs \"%s\" ready (%zu mounts, %zu masked, %zu read-only paths)",
            plan->rootfs, plan->n_mounts, plan->n_masked_paths, plan->n_readonly_paths);
  finish_process(plan, exe, sizeof(exe));

  /* Blocks until `tsrun start` opens the fifo for reading. */
  tsrun_error_t err;
  int fifo = open_fifo(fifo_path, &err);
  if (fifo < 0)
    tsrun_fail("start", err.errnum, "open \"exec.fifo\": %s", err.msg);
  tsrun_sync_set_fifo(fifo);
  tsrun_procfs_reset();
  close(fifo_path);
  fifo_path = -1;

  tsrun_run_hooks(plan, TSRUN_HOOK_START_CONTAINER);
  tsrun_set_cpu_affinity(plan, TSRUN_AFFINITY_FINAL);
  tsrun_load_seccomp(plan, TSRUN_SECCOMP_BEFORE_EXEC, seccomp_listener);
  /* "0": everything before execve went well; start takes a bare EOF for an init that died. */
  tsrun_sync_fifo_started();
  tsrun_exec(plan, exe);
}


/* `tsrun exec`: a process joining a running container, set up like the init's last steps. */
__attribute__((noreturn)) static void run_exec(struct tsrun_plan *plan)
{
  char exe[PATH_MAX];

  begin_process(plan, "tsrun:[1:exec]");
  if (console_sock >= 0)
    tsrun_console_setup(plan, console_sock, false);
  finish_process(plan, exe, sizeof(exe));
  tsrun_set_cpu_affinity(plan, TSRUN_AFFINITY_FINAL);
  tsrun_load_seccomp(plan, TSRUN_SECCOMP_BEFORE_EXEC, seccomp_listener);
  tsrun_exec(plan, exe);
}

int main(int argc, char **argv)
{
  struct tsrun_plan plan;
  tsrun_error_t err;

  /* Before anything else, and again in the sealed copy (execve makes a process dumpable): while
   * stage 0 joins the container's namespaces (a user namespace above all) it holds host fds and
   * runs with the caller's cwd, and a dumpable process there could be ptraced or have its
   * /proc/<pid>/fd, cwd and environ opened by the container's root (CVE-2016-9962). Its clone,
   * the init, inherits the setting. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    perror("tsrun-init: clear dumpable");
    return 1;
  }

  /* Then: every later step, the init's wait for `tsrun start` included, must run from
   * the sealed copy (CVE-2019-5736), and the sync fd must still be inherited across the exec. */
  if (tsrun_exec_sealed_self(argv, &err) < 0) {
    char line[1024];
    tsrun_format_errno(line, sizeof(line), err.msg, err.errnum);
    fprintf(stderr, "tsrun-init: protect the helper binary: %s\n", line);
    return 1;
  }

  if (argc == 2 && strcmp(argv[1], "--seccomp-features") == 0) {
    tsrun_seccomp_features(stdout);
    return 0;
  }
  memset(&plan, 0, sizeof(plan));
  tsrun_sync_set_fd(parse_sync_fd(argc, argv));
  prctl(PR_SET_NAME, "tsrun:[0:parent]", 0, 0, 0);

  send_u32("hello", TSRUN_MSG_HELLO, TSRUN_PROTOCOL_VERSION);
  uint32_t len;
  char *buf = expect_frame("plan", TSRUN_MSG_PLAN, &len); /* lives as long as the plan */
  if (tsrun_plan_decode(&plan, TSRUN_FRAME_PLAN, buf, len, &err) < 0 ||
      tsrun_plan_check_init(&plan, &err) < 0)
    tsrun_fail_error("plan", &err);
  tsrun_log_set_debug(plan.debug);
  tsrun_log(TSRUN_LOG_DEBUG, "stage 0[%d]: %s plan: new namespaces 0x%x, %zu to join, %zu mounts, %zu rules of seccomp",
            (int)getpid(), plan.exec_mode ? "exec" : "create", plan.namespaces, plan.n_ns_paths,
            plan.n_mounts, plan.n_seccomp_rules);
  /* Stage 0's procfs, made while it is still in the host's namespaces (procfs.h). */
  if (tsrun_procfs_root(&err) < 0)
    tsrun_fail_error("procfs", &err);
  tsrun_lsm_probe(&plan);

  /* Here, not in init: the score is inherited by the clone, and init cannot write its own
   * /proc file once it is non-dumpable inside a user namespace (the file belongs to the host's
   * root, unmapped there). Lowering it needs the host privileges stage 0 still has. */
  tsrun_set_oom_score_adj(&plan);
  console_sock = tsrun_console_connect(&plan);
  open_state_fds(&plan);
  tsrun_set_cpu_affinity(&plan, TSRUN_AFFINITY_INITIAL);
  tsrun_netdev_open_host_socket(&plan);
  seccomp_listener = tsrun_seccomp_connect_listener(&plan);
  tsrun_join_namespaces(&plan);
  for (size_t i = 0; i < plan.n_ns_paths; i++)
    tsrun_log(TSRUN_LOG_DEBUG, "stage 0: joined namespace 0x%x at \"%s\"", plan.ns_paths[i].type,
              plan.ns_paths[i].path);
  tsrun_enter_time_namespace(&plan);
  pid_t pid = tsrun_clone_init(&plan);
  if (pid == 0) {
    if (plan.exec_mode)
      run_exec(&plan);
    run_init(&plan);
  }

  if (fifo_path_fd >= 0)
    close(fifo_path_fd);
  if (console_sock >= 0)
    close(console_sock);
  if (seccomp_listener >= 0)
    close(seccomp_listener);
  tsrun_log(TSRUN_LOG_DEBUG, "stage 0: cloned the %s process %d", plan.exec_mode ? "exec'd" : "init", (int)pid);
  send_u32("pid", TSRUN_MSG_PID, (uint32_t)pid);
  if (!plan.stage0_wait)
    _exit(0);

  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      tsrun_fail("wait", errno, "wait for init %d", pid);
  send_u32("exit", TSRUN_MSG_EXIT, (uint32_t)status);
  return 0;
}

/* The process the container runs: oom score, rlimits, personality, cwd, user and capabilities,
 * the executable's lookup (with runc's messages) and the final execve. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "inroot.h"
#include "procfs.h"
#include "protocol.h"
#include "steps.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

void tsrun_set_oom_score_adj(const struct tsrun_plan *plan)
{
  if (!plan->has_oom_score_adj)
    return;
  char buf[16];
  tsrun_error_t err;
  snprintf(buf, sizeof(buf), "%d", plan->oom_score_adj);
  if (tsrun_procfs_write("self/oom_score_adj", buf, &err) < 0)
    tsrun_fail("oom_score_adj", err.errnum, "oom_score_adj %d: %s", plan->oom_score_adj, err.msg);
}

static const char *rlimit_name(uint32_t resource)
{
  static const char *const names[] = {
    [RLIMIT_CPU] = "RLIMIT_CPU", [RLIMIT_FSIZE] = "RLIMIT_FSIZE", [RLIMIT_DATA] = "RLIMIT_DATA",
    [RLIMIT_STACK] = "RLIMIT_STACK", [RLIMIT_CORE] = "RLIMIT_CORE", [RLIMIT_RSS] = "RLIMIT_RSS",
    [RLIMIT_NPROC] = "RLIMIT_NPROC", [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
    [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK", [RLIMIT_AS] = "RLIMIT_AS", [RLIMIT_LOCKS] = "RLIMIT_LOCKS",
    [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING", [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE",
    [RLIMIT_NICE] = "RLIMIT_NICE", [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO", [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
  };
  if (resource < sizeof(names) / sizeof(names[0]) && names[resource])
    return names[resource];
  return "unknown";
}

void tsrun_set_rlimits(const struct tsrun_plan *plan)
{
  for (size_t i = 0; i < plan->n_rlimits; i++) {
    const struct tsrun_rlimit *l = &plan->rlimits[i];
    struct rlimit rl = { .rlim_cur = l->soft, .rlim_max = l->hard };
    if (setrlimit((int)l->resource, &rl) < 0)
      tsrun_fail("rlimits", errno, "setrlimit %s (%u) soft %llu hard %llu",
                 rlimit_name(l->resource), l->resource, (unsigned long long)l->soft,
                 (unsigned long long)l->hard);
  }
}

void tsrun_set_personality(const struct tsrun_plan *plan)
{
  if (plan->has_personality && personality(plan->personality) < 0)
    tsrun_fail("personality", errno, "personality 0x%x", plan->personality);
}

/* setgroups(2) is refused in a user namespace whose setgroups file says "deny"; an empty list is
 * then what we have anyway. */
static bool setgroups_denied(void)
{
  char buf[16] = "";
  tsrun_error_t err;
  cleanup_close int fd = tsrun_procfs_open("self/setgroups", O_RDONLY, &err);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  return n > 0 && strncmp(buf, "deny", 4) == 0;
}

static void set_capabilities(const struct tsrun_plan *plan)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(plan->capabilities.effective >> (32 * i));
    data[i].permitted = (uint32_t)(plan->capabilities.permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(plan->capabilities.inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0)
    tsrun_fail("capabilities", errno, "capset effective 0x%llx permitted 0x%llx",
               (unsigned long long)plan->capabilities.effective,
               (unsigned long long)plan->capabilities.permitted);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    tsrun_fail("capabilities", errno, "clear ambient capabilities");
  for (int c = 0; c < 64; c++) {
    if (!(plan->capabilities.ambient & (1ull << c)))
      continue;
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
      break; /* beyond the kernel's last capability */
    /* The kernel refuses (EPERM) an ambient capability that is not also inheritable and
     * permitted; runc's own default config asks for exactly that, and runc skips it with a
     * warning, so do the same rather than fail the container. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) {
      if (errno != EPERM)
        tsrun_fail("capabilities", errno, "raise ambient capability %d", c);
      tsrun_log(TSRUN_LOG_DEBUG, "ambient capability %d skipped: not in the inheritable and permitted sets", c);
    }
  }
}

/* chdir into process.cwd as it resolves inside the container's root, by fd: never through a
 * magic link such as /proc/self/fd/N, which could name a host directory fd the init holds
 * (CVE-2024-21626). getcwd then proves the cwd is below the root: the kernel reports a
 * directory outside it as unreachable. Returns -1 with *err (its errnum EACCES or EPERM when
 * only the permissions of the current credentials were in the way). */
static int enter_cwd(const char *cwd, tsrun_error_t *err)
{
  cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return tsrun_error(err, errno, "open \"/\"");
  tsrun_error_t resolve;
  cleanup_close int fd = tsrun_open_in_root(root, cwd, TSRUN_CREATE_NONE, false, &resolve);
  if (fd < 0)
    return tsrun_error(err, resolve.errnum, "chdir \"%s\": %s", cwd, resolve.msg);
  struct stat st;
  if (fstat(fd, &st) < 0)
    return tsrun_error(err, errno, "chdir \"%s\"", cwd);
  if (!S_ISDIR(st.st_mode))
    return tsrun_error(err, ENOTDIR, "chdir \"%s\"", cwd);
  if (fchdir(fd) < 0)
    return tsrun_error(err, errno, "chdir \"%s\"", cwd);
  char here[PATH_MAX];
  errno = 0;
  if (getcwd(here, sizeof(here)) == NULL || here[0] != '/')
    tsrun_fail("cwd", errno ? errno : EXDEV, "cwd \"%s\" is not inside the container's root", cwd);
  return 0;
}

static bool is_permission_error(const tsrun_error_t *err)
{
  return err->errnum == EACCES || err->errnum == EPERM;
}

void tsrun_set_user(const struct tsrun_plan *plan)
{
  /* The cwd as runc enters it: first with the init's own credentials, which may reach a
   * directory the user cannot (exec --user 1000 with cwd /root); on a permission error again
   * once the ids are the user's, which may reach one root cannot (a directory of the user's
   * whose group is unmapped in the user namespace). Only when both fail is it an error. */
  tsrun_error_t cwd_err;
  bool cwd_pending = plan->cwd != NULL;
  if (cwd_pending) {
    if (enter_cwd(plan->cwd, &cwd_err) == 0)
      cwd_pending = false;
    else if (!is_permission_error(&cwd_err))
      tsrun_fail_error("cwd", &cwd_err);
  }
  if (plan->has_capabilities) {
    /* PR_CAPBSET_READ fails with EINVAL past the kernel's cap_last_cap: the same bound as
     * /proc/sys/kernel/cap_last_cap without needing /proc in the container. */
    for (int c = 0; c < 64; c++) {
      int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
      if (r < 0)
        break;
      if (r == 1 && !(plan->capabilities.bounding & (1ull << c)) &&
          prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
        tsrun_fail("capabilities", errno, "drop capability %d from the bounding set", c);
    }
    /* Keep the permitted set across the uid change; capset below trims it to the config. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
      tsrun_fail("capabilities", errno, "set keepcaps");
  }
  if (plan->has_user) {
    if (setgroups(plan->user.n_groups, plan->user.groups) < 0 &&
        !(errno == EPERM && plan->user.n_groups == 0 && setgroups_denied()))
      tsrun_fail("user", errno, "setgroups (%zu groups)", plan->user.n_groups);
    if (setresgid(plan->user.gid, plan->user.gid, plan->user.gid) < 0)
      tsrun_fail("user", errno, "setresgid %u", plan->user.gid);
    if (setresuid(plan->user.uid, plan->user.uid, plan->user.uid) < 0)
      tsrun_fail("user", errno, "setresuid %u", plan->user.uid);
  }
  /* Before capset: the second try has what runc's has, the permitted set kept across the uid
   * change and, for uid 0, the effective one too. */
  if (cwd_pending && enter_cwd(plan->cwd, &cwd_err) < 0)
    tsrun_fail_error("cwd", &cwd_err);
  if (plan->has_capabilities) {
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
      tsrun_fail("capabilities", errno, "clear keepcaps");
    set_capabilities(plan);
  }
  if (plan->has_user && plan->user.umask >= 0)
    umask((mode_t)plan->user.umask);
  if (plan->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    tsrun_fail("no_new_privileges", errno, "set no_new_privs");
}

/* The process's own PATH, NULL without one: then, as runc (Go's LookPath with PATH unset), a
 * name without a slash is found nowhere; no default is made up. */
static const char *env_path(char *const *env)
{
  for (; env && *env; env++)
    if (strncmp(*env, "PATH=", 5) == 0)
      return *env + 5;
  return NULL;
}

int tsrun_find_executable(const char *name, char *const *env, char *out, size_t out_size,
                          tsrun_error_t *err)
{
  struct stat st;
  if (strchr(name, '/')) {
    if (stat(name, &st) < 0)
      return tsrun_error(err, errno, "exec: \"%s\": stat %s", name, name);
    if (snprintf(out, out_size, "%s", name) >= (int)out_size)
      return tsrun_error(err, ENAMETOOLONG, "exec: \"%s\"", name);
    return 0;
  }
  const char *p = env_path(env);
  while (p != NULL) {
    const char *end = strchrnul(p, ':');
    int dl = (int)(end - p);
    /* An empty PATH entry means the current directory, as in a shell. */
    int n = dl ? snprintf(out, out_size, "%.*s/%s", dl, p, name)
               : snprintf(out, out_size, "./%s", name);
    if (n > 0 && (size_t)n < out_size && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
        access(out, X_OK) == 0)
      return 0;
    if (*end == '\0')
      break;
    p = end + 1;
  }
  return tsrun_error(err, 0, "exec: \"%s\": executable file not found in $PATH", name);
}

static void mark_cloexec_from(unsigned int first)
{
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return;
  struct rlimit rl;
  unsigned long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                          ? rl.rlim_cur : 1024 * 1024;
  for (unsigned long fd = first; fd < max; fd++) {
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC))
      fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

/* The home directory of `uid` in the container's /etc/passwd, into `out`; "/" when there is none. */
static void passwd_home(uid_t uid, char *out, size_t out_size)
{
  snprintf(out, out_size, "/");
  cleanup_close int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return;
  static char buf[65536];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n <= 0)
    return;
  buf[n] = '\0';
  for (char *line = buf, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    /* name:password:uid:gid:gecos:home:shell */
    char *field[7] = { 0 };
    int count = 0;
    for (char *f = line; f && count < 7; count++) {
      field[count] = f;
      f = strchr(f, ':');
      if (f)
        *f++ = '\0';
    }
    if (count < 6 || field[2][0] == '\0')
      continue;
    char *end;
    unsigned long id = strtoul(field[2], &end, 10);
    if (*end == '\0' && id == uid) {
      if (field[5][0])
        snprintf(out, out_size, "%s", field[5]);
      return;
    }
  }
}

/* Images rely on HOME, and runc sets it when the config does not: the user's home directory from
 * the container's /etc/passwd, else "/". */
static char **env_with_home(char **env)
{
  size_t n = 0;
  for (; env && env[n]; n++)
    if (strncmp(env[n], "HOME=", 5) == 0)
      return env;
  static char home[PATH_MAX + 6];
  memcpy(home, "HOME=", 5);
  passwd_home(getuid(), home + 5, sizeof(home) - 5);
  char **out = calloc(n + 2, sizeof(char *));
  if (out == NULL)
    tsrun_fail("exec", ENOMEM, "environment");
  for (size_t i = 0; i < n; i++)
    out[i] = env[i];
  out[n] = home;
  return out;
}

void tsrun_exec(const struct tsrun_plan *plan, const char *path)
{
  char **env = env_with_home(plan->env);
  mark_cloexec_from(3 + plan->preserve_fds);
  execve(path, plan->args, env);
  tsrun_fail("exec", errno, "exec \"%s\"", path);
}

/* AppArmor and SELinux labels (see lsm.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "lsm.h"
#include "procfs.h"
#include "protocol.h"
#include "steps.h"

#ifndef SELINUX_MAGIC
#define SELINUX_MAGIC 0xf97cff8c
#endif

static bool kernel_is_selinuxfs(int fd)
{
  struct statfs sfs;
  return fstatfs(fd, &sfs) == 0 && sfs.f_type == SELINUX_MAGIC && !(sfs.f_flags & ST_RDONLY);
}

const struct tsrun_lsm_env tsrun_lsm_kernel = {
  .proc_open = tsrun_procfs_open,
  .sysfs = "/sys",
  .is_selinuxfs = kernel_is_selinuxfs,
};

/* Reads the start of a file below sysfs (NUL-terminated, possibly empty); -1 when unreadable. */
static ssize_t read_sysfs(const struct tsrun_lsm_env *env, const char *rel, char *buf, size_t size)
{
  char path[PATH_MAX];
  if (snprintf(path, sizeof(path), "%s/%s", env->sysfs, rel) >= (int)sizeof(path))
    return -1;
  cleanup_close int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, size - 1);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return n;
}

static bool apparmor_enabled(const struct tsrun_lsm_env *env)
{
  char path[PATH_MAX], buf[8];
  struct stat st;
  if (snprintf(path, sizeof(path), "%s/kernel/security/apparmor", env->sysfs) >= (int)sizeof(path) ||
      stat(path, &st) < 0)
    return false;
  return read_sysfs(env, "module/apparmor/parameters/enabled", buf, sizeof(buf)) > 0 && buf[0] == 'Y';
}

static bool selinux_enabled(const struct tsrun_lsm_env *env)
{
  char path[PATH_MAX];
  if (snprintf(path, sizeof(path), "%s/fs/selinux", env->sysfs) >= (int)sizeof(path))
    return false;
  cleanup_close int fs = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fs < 0 || !env->is_selinuxfs(fs))
    return false;
  /* A process the policy left unlabeled ("kernel") is on a host whose policy is not loaded. */
  tsrun_error_t err;
  cleanup_close int cur = env->proc_open("thread-self/attr/current", O_RDONLY, &err);
  if (cur < 0)
    return false;
  char label[256];
  ssize_t n = read(cur, label, sizeof(label) - 1);
  if (n < 0)
    return false;
  while (n > 0 && (label[n - 1] == '\0' || label[n - 1] == '\n'))
    n--;
  label[n] = '\0';
  return strcmp(label, "kernel") != 0;
}

void tsrun_lsm_detect(const struct tsrun_lsm_env *env, struct tsrun_lsm_host *host)
{
  host->apparmor = apparmor_enabled(env);
  host->selinux = selinux_enabled(env);
}

int tsrun_lsm_check(const struct tsrun_lsm_host *host, const char *apparmor_profile,
                    const char *selinux_label, tsrun_error_t *err)
{
  if (apparmor_profile && apparmor_profile[0] && !host->apparmor)
    return tsrun_error(err, 0,
                       "/process/apparmorProfile: apparmor profile \"%s\" is specified in config, but apparmor is not enabled on this host",
                       apparmor_profile);
  if (selinux_label && selinux_label[0] && !host->selinux)
    return tsrun_error(err, 0,
                       "/process/selinuxLabel: selinux label \"%s\" is specified in config, but selinux is disabled or not supported",
                       selinux_label);
  return 0;
}

/* Puts `what "<subject>": ` in front of err's message (it is both the source and the result). */
static int wrap_error(tsrun_error_t *err, const char *what, const char *subject)
{
  char inner[sizeof(err->msg)];
  snprintf(inner, sizeof(inner), "%s", err->msg);
  return tsrun_error(err, err->errnum, "%s \"%s\": %s", what, subject, inner);
}

/* One write of value (len bytes, 0 resets the attribute) to a procfs attribute file. */
static int write_attr(const struct tsrun_lsm_env *env, const char *path, const char *value, size_t len,
                      tsrun_error_t *err)
{
  cleanup_close int fd = env->proc_open(path, O_WRONLY, err);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, value, len);
  if (n != (ssize_t)len)
    return tsrun_error(err, n < 0 ? errno : EIO, "write \"/proc/%s\"", path);
  return 0;
}

/* runc's changeOnExec (libapparmor's aa_change_onexec): the AppArmor directory of attr/ where
 * the kernel has one (kernels where LSMs can stack), else attr/exec itself, in that order. */
static int apparmor_change_onexec(const struct tsrun_lsm_env *env, const char *profile, tsrun_error_t *err)
{
  char value[4096];
  int n = snprintf(value, sizeof(value), "exec %s", profile);
  if (n < 0 || (size_t)n >= sizeof(value))
    return tsrun_error(err, ENAMETOOLONG, "apparmor profile \"%.64s...\"", profile);
  const char *path = "thread-self/attr/apparmor/exec";
  cleanup_close int probe = env->proc_open(path, O_PATH, err);
  if (probe < 0) {
    if (err->errnum != ENOENT)
      return -1;
    path = "thread-self/attr/exec";
  }
  if (write_attr(env, path, value, (size_t)n, err) < 0)
    return wrap_error(err, "apply apparmor profile", profile);
  return 0;
}

int tsrun_lsm_set_exec(const struct tsrun_lsm_env *env, const struct tsrun_lsm_host *host,
                       const char *apparmor_profile, const char *selinux_label, tsrun_error_t *err)
{
  if (tsrun_lsm_check(host, apparmor_profile, selinux_label, err) < 0)
    return -1;
  if (apparmor_profile && apparmor_profile[0] && apparmor_change_onexec(env, apparmor_profile, err) < 0)
    return -1;
  if (selinux_label && selinux_label[0] &&
      write_attr(env, "thread-self/attr/exec", selinux_label, strlen(selinux_label), err) < 0)
    return wrap_error(err, "set process label", selinux_label);
  return 0;
}

int tsrun_lsm_set_keycreate(const struct tsrun_lsm_env *env, const struct tsrun_lsm_host *host,
                            const char *label, tsrun_error_t *err)
{
  if (!host->selinux)
    return 0;
  if (!label)
    label = "";
  /* As go-selinux: a kernel without the file has no keyring labels; a reset may be refused. */
  if (write_attr(env, "thread-self/attr/keycreate", label, strlen(label), err) < 0 &&
      err->errnum != ENOENT && !(label[0] == '\0' && err->errnum == EACCES))
    return wrap_error(err, "set keyring label", label);
  return 0;
}

int tsrun_lsm_mount_data(const char *data, const char *label, char *buf, size_t size, tsrun_error_t *err)
{
  /* The kernel takes a quoted value as one option, commas included (MCS categories "c1,c2");
   * nothing can quote a quote. */
  if (strchr(label, '"'))
    return tsrun_error(err, EINVAL, "mount label \"%s\" has a '\"'", label);
  int n = data[0] ? snprintf(buf, size, "%s,context=\"%s\"", data, label)
                  : snprintf(buf, size, "context=\"%s\"", label);
  if (n < 0 || (size_t)n >= size)
    return tsrun_error(err, E2BIG, "mount options with context \"%s\"", label);
  return 0;
}

int tsrun_lsm_label_dir(const struct tsrun_lsm_host *host, int fd, const char *label, tsrun_error_t *err)
{
  if (!host->selinux)
    return 0;
  cleanup_close int dir = tsrun_fd_reopen(fd, O_RDONLY | O_DIRECTORY, err);
  if (dir < 0)
    return -1;
  if (fsetxattr(dir, "security.selinux", label, strlen(label), 0) < 0)
    return tsrun_error(err, errno, "set label \"%s\"", label);
  return 0;
}

/* What stage 0 found, inherited by the process it clones. */
static struct tsrun_lsm_host host_lsm;

const struct tsrun_lsm_host *tsrun_lsm_host(void)
{
  return &host_lsm;
}

void tsrun_lsm_probe(const struct tsrun_plan *plan)
{
  if (!plan->apparmor_profile && !plan->selinux_label && !plan->mount_label)
    return;
  tsrun_error_t err;
  tsrun_lsm_detect(&tsrun_lsm_kernel, &host_lsm);
  if (tsrun_lsm_check(&host_lsm, plan->apparmor_profile, plan->selinux_label, &err) < 0)
    tsrun_fail_error("lsm", &err);
  tsrun_log(TSRUN_LOG_DEBUG, "stage 0: apparmor %s, selinux %s on this host",
            host_lsm.apparmor ? "enabled" : "not enabled", host_lsm.selinux ? "enabled" : "not enabled");
}

void tsrun_set_exec_labels(const struct tsrun_plan *plan)
{
  tsrun_error_t err;
  if (tsrun_lsm_set_exec(&tsrun_lsm_kernel, &host_lsm, plan->apparmor_profile, plan->selinux_label, &err) < 0)
    tsrun_fail_error("lsm", &err);
}

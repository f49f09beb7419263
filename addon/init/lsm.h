/* AppArmor and SELinux labels, applied as runc applies them. Whether the host has each LSM is
 * decided once, by stage 0 in the host's mount namespace (the container's /sys and /proc are the
 * container's to fake); the labels are written later by the process itself, through the verified
 * procfs, to its own /proc/thread-self/attr files. Where the files live is a parameter (struct
 * tsrun_lsm_env), so a unit test can point the decisions and the writes at a temporary tree. */
#ifndef TSRUN_LSM_H
#define TSRUN_LSM_H

#include <stdbool.h>
#include <stddef.h>

#include "sync.h"

struct tsrun_lsm_env {
  /* Opens a path below procfs ("thread-self/attr/exec") with open(2) flags; -1 with *err. */
  int (*proc_open)(const char *path, int flags, tsrun_error_t *err);
  /* The host's sysfs, a directory path ("/sys"). */
  const char *sysfs;
  /* fd, a directory, is a selinuxfs mounted read-write. */
  bool (*is_selinuxfs)(int fd);
};

/* The kernel's: the verified procfs (procfs.h), /sys, SELINUX_MAGIC checked with fstatfs. */
extern const struct tsrun_lsm_env tsrun_lsm_kernel;

struct tsrun_lsm_host {
  /* runc's apparmor.IsEnabled: <sysfs>/kernel/security/apparmor exists and
   * <sysfs>/module/apparmor/parameters/enabled starts with 'Y' */
  bool apparmor;
  /* go-selinux's GetEnabled: <sysfs>/fs/selinux is a read-write selinuxfs and the process's
   * label (attr/current) is not "kernel" */
  bool selinux;
};

/* What stage 0's tsrun_lsm_probe (steps.h) found on this host, inherited by its clone. */
const struct tsrun_lsm_host *tsrun_lsm_host(void);

void tsrun_lsm_detect(const struct tsrun_lsm_env *env, struct tsrun_lsm_host *host);

/* A profile or label (NULL or "": none) the host cannot apply is refused, as runc refuses it
 * (where it would write, the kernel answers EINVAL): -1 with *err naming the field, nothing
 * written. */
int tsrun_lsm_check(const struct tsrun_lsm_host *host, const char *apparmor_profile,
                    const char *selinux_label, tsrun_error_t *err);

/* The labels the next execve takes: "exec <profile>" to attr/apparmor/exec (attr/exec on kernels
 * without the per-LSM directory), the SELinux label to attr/exec. NULL: nothing written. */
int tsrun_lsm_set_exec(const struct tsrun_lsm_env *env, const struct tsrun_lsm_host *host,
                       const char *apparmor_profile, const char *selinux_label, tsrun_error_t *err);

/* attr/keycreate: the label of keyrings the process creates (label NULL or "" resets it). Only
 * with SELinux enabled, and no error where the kernel has no such file, as go-selinux. */
int tsrun_lsm_set_keycreate(const struct tsrun_lsm_env *env, const struct tsrun_lsm_host *host,
                            const char *label, tsrun_error_t *err);

/* Mount options `data` with the SELinux context of `label` appended as runc formats it
 * (`context="<label>"`), into buf; -1 with *err when it does not fit or label has a quote. */
int tsrun_lsm_mount_data(const char *data, const char *label, char *buf, size_t size,
                         tsrun_error_t *err);

/* The label of the directory fd (an O_PATH fd) names, as security.selinux: runc's fallback for
 * an mqueue mount the kernel would not label. Nothing without SELinux. */
int tsrun_lsm_label_dir(const struct tsrun_lsm_host *host, int fd, const char *label,
                        tsrun_error_t *err);

#endif

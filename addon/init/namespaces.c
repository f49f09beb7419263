/* Namespaces: stage 0 joins (setns) and creates (clone) them; init finishes the ones that must be
 * made from inside (cgroup namespace after Node placed us in the cgroup) and configures them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bindsrc.h"
#include "cleanup.h"
#include "lsm.h"
#include "procfs.h"
#include "protocol.h"
#include "steps.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

void tsrun_join_namespaces(const struct tsrun_plan *plan)
{
  /* Every path is opened before the first setns (as runc's nsexec): once a mount namespace is
   * joined, a later path would be resolved in that namespace's tree, which the container's
   * owner controls, and could name a namespace the config never asked for. */
  cleanup_free int *fds = calloc(plan->n_ns_paths ? plan->n_ns_paths : 1, sizeof(int));
  if (fds == NULL)
    tsrun_fail("setns", ENOMEM, "namespace fds");
  size_t opened = 0;
  for (; opened < plan->n_ns_paths; opened++) {
    const struct tsrun_ns_path *ns = &plan->ns_paths[opened];
    fds[opened] = open(ns->path, O_RDONLY | O_CLOEXEC);
    if (fds[opened] < 0) {
      int e = errno;
      while (opened > 0)
        close(fds[--opened]);
      tsrun_fail("setns", e, "open namespace \"%s\"", ns->path);
    }
  }
  for (size_t i = 0; i < plan->n_ns_paths; i++) {
    if (setns(fds[i], (int)plan->ns_paths[i].type) < 0)
      tsrun_fail("setns", errno, "setns \"%s\"", plan->ns_paths[i].path);
    close(fds[i]);
  }
}

void tsrun_enter_time_namespace(const struct tsrun_plan *plan)
{
  if (!(plan->namespaces & CLONE_NEWTIME))
    return;
  /* The new time namespace is for our children; its offsets can be set until one enters it. */
  if (unshare(CLONE_NEWTIME) < 0)
    tsrun_fail("timens", errno, "unshare time namespace");
  if (plan->n_time_offsets == 0)
    return;
  tsrun_error_t err;
  cleanup_close int fd = tsrun_procfs_open("self/timens_offsets", O_WRONLY, &err);
  if (fd < 0)
    tsrun_fail_error("timens", &err);
  for (size_t i = 0; i < plan->n_time_offsets; i++) {
    char line[256];
    int n = snprintf(line, sizeof(line), "%s\n", plan->time_offsets[i]);
    if (n < 0 || (size_t)n >= sizeof(line))
      tsrun_fail("timens", EINVAL, "time offset \"%s\" too long", plan->time_offsets[i]);
    if (write(fd, line, (size_t)n) != n)
      tsrun_fail("timens", errno, "write time offset \"%s\"", plan->time_offsets[i]);
  }
}

pid_t tsrun_clone_init(const struct tsrun_plan *plan)
{
  unsigned long flags = plan->namespaces & ~(uint32_t)(CLONE_NEWTIME | CLONE_NEWCGROUP);
  /* Without a new stack the child runs on a copy of ours, like fork(); fine in a single-threaded
   * process, and unlike fork() it can create the namespaces (a new pid namespace needs clone). */
  tsrun_bind_sources_open_channel(plan);
  long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    tsrun_fail("clone", errno, "clone init (flags 0x%lx)", flags);
  /* The init's user namespace exists now, and so does the mount namespace where the bind
   * sources its root may not reach are opened for it. */
  if (pid == 0)
    tsrun_bind_sources_child();
  else
    tsrun_bind_sources_send(plan, (pid_t)pid);
  return (pid_t)pid;
}

void tsrun_become_userns_root(const struct tsrun_plan *plan)
{
  if (!tsrun_plan_has_namespace(plan, CLONE_NEWUSER))
    return;
  /* We still carry the host's ids, unmapped in the namespace: files we create would fail with
   * EOVERFLOW. Node wrote the maps before Continue, so the namespace's root exists now. */
  if (setresgid(0, 0, 0) < 0)
    tsrun_fail("userns", errno, "setresgid to the user namespace's root");
  if (setresuid(0, 0, 0) < 0)
    tsrun_fail("userns", errno, "setresuid to the user namespace's root");
}

void tsrun_unshare_cgroup_namespace(const struct tsrun_plan *plan)
{
  /* Only now: Node has moved us into the container's cgroup, which becomes the namespace root. */
  if ((plan->namespaces & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    tsrun_fail("cgroupns", errno, "unshare cgroup namespace");
}

void tsrun_loopback_up(void)
{
  cleanup_close int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    tsrun_fail("network", errno, "socket for \"lo\"");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
    tsrun_fail("network", errno, "get flags of \"lo\"");
  if (ifr.ifr_flags & IFF_UP)
    return;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
    tsrun_fail("network", errno, "bring \"lo\" up");
}

/* A fresh session keyring, so the container cannot reach keys of the session that ran tsrun.
 * Kernels without keyrings (ENOSYS) or that forbid them to us (EACCES/EPERM under some
 * seccomp profiles) run the container with the inherited one, as runc does. */
void tsrun_join_session_keyring(const struct tsrun_plan *plan)
{
  if (plan->session_keyring == NULL)
    return;
  tsrun_error_t err;
  /* The new keyring takes the process label, as with runc (SELinux hosts only); reset after. */
  if (plan->selinux_label && tsrun_lsm_set_keycreate(&tsrun_lsm_kernel, tsrun_lsm_host(), plan->selinux_label, &err) < 0)
    tsrun_fail_error("keyring", &err);
  long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, plan->session_keyring, 0, 0, 0);
  int saved = errno;
  if (plan->selinux_label && tsrun_lsm_set_keycreate(&tsrun_lsm_kernel, tsrun_lsm_host(), NULL, &err) < 0)
    tsrun_fail_error("keyring", &err);
  if (id < 0) {
    if (saved == ENOSYS || saved == EACCES || saved == EPERM)
      return;
    tsrun_fail("keyring", saved, "join session keyring \"%s\"", plan->session_keyring);
  }
  /* possessor: all; user: view, read, search, link; nothing for group and other (as runc) */
  if (syscall(SYS_keyctl, KEYCTL_SETPERM, id, 0x3f1b0000, 0, 0) < 0)
    tsrun_fail("keyring", errno, "set permissions of session keyring \"%s\"", plan->session_keyring);
}

void tsrun_set_hostname(const struct tsrun_plan *plan)
{
  if (plan->hostname && sethostname(plan->hostname, strlen(plan->hostname)) < 0)
    tsrun_fail("hostname", errno, "sethostname \"%s\"", plan->hostname);
  if (plan->domainname && setdomainname(plan->domainname, strlen(plan->domainname)) < 0)
    tsrun_fail("hostname", errno, "setdomainname \"%s\"", plan->domainname);
}

void tsrun_apply_sysctls(const struct tsrun_plan *plan)
{
  for (size_t i = 0; i < plan->n_sysctls; i++) {
    const struct tsrun_sysctl *s = &plan->sysctls[i];
    char path[PATH_MAX];
    tsrun_error_t err;
    int n = snprintf(path, sizeof(path), "sys/%s", s->key);
    if (n < 0 || (size_t)n >= sizeof(path) || s->key[0] == '\0')
      tsrun_fail("sysctl", EINVAL, "sysctl \"%s\"", s->key);
    /* Every dot becomes a slash, so no ".." can survive and leave /proc/sys. */
    for (char *p = path + strlen("sys/"); *p; p++)
      if (*p == '.')
        *p = '/';
    /* Through the verified procfs, never the container's /proc/sys: a mount the config put over
     * /proc/sys/kernel (a host directory) would receive the write. */
    if (tsrun_procfs_write(path, s->value, &err) < 0)
      tsrun_fail("sysctl", err.errnum, "sysctl \"%s\": %s", s->key, err.msg);
  }
}

/* Bind sources a new user namespace's root cannot reach (a 0700 host directory of root's): stage 0
 * opens them for the init, as runc's host side does. It joins the init's new mount namespace right
 * after the clone, opens every bind source there with the host's credentials (O_PATH) and sends the
 * fds over a socketpair made before the clone. Opened inside that namespace, each fd names a mount
 * of it, so a bind from the fd is an ordinary bind in the container's namespace: the attributes the
 * kernel locked on the host's mounts (read-only, nosuid, ...) stay locked, which a clone made in
 * the host's namespace (open_tree) would not keep. The init uses an fd only where it cannot stat
 * the source itself (as runc), and closes them all once the mounts are made. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bindsrc.h"
#include "cleanup.h"
#include "procfs.h"
#include "protocol.h"

/* Fds per message: the kernel's SCM_MAX_FD is 253. */
enum { BATCH = 250 };

/* Stage 0's end [0] and the init's end [1]; -1 when no fds are handed over. */
static int channel[2] = { -1, -1 };
/* The init's received fds, one per mount of the plan (-1: none). */
static int *source_fds;
static size_t n_source_fds;

static bool wants_sources(const struct tsrun_plan *plan)
{
  /* A created user namespace only: after joining one, stage 0 has no more rights on the host
   * than the init. */
  if (plan->exec_mode || !(plan->namespaces & CLONE_NEWUSER) || !(plan->namespaces & CLONE_NEWNS))
    return false;
  for (size_t i = 0; i < plan->n_mounts; i++)
    if (plan->mounts[i].kind & TSRUN_MOUNT_BIND)
      return true;
  return false;
}

void tsrun_bind_sources_open_channel(const struct tsrun_plan *plan)
{
  if (!wants_sources(plan))
    return;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) < 0)
    tsrun_fail("clone", errno, "socketpair for the bind sources");
}

void tsrun_bind_sources_child(void)
{
  if (channel[0] >= 0)
    close(channel[0]);
  channel[0] = -1;
}

static void send_batch(const uint32_t *indexes, const int *fds, size_t n)
{
  struct iovec iov = { .iov_base = (void *)indexes, .iov_len = n * sizeof(uint32_t) };
  union {
    char buf[CMSG_SPACE(BATCH * sizeof(int))];
    struct cmsghdr align;
  } ctrl;
  memset(&ctrl, 0, sizeof(ctrl));
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
                        .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(n * sizeof(int));
  memcpy(CMSG_DATA(c), fds, n * sizeof(int));
  ssize_t r;
  while ((r = sendmsg(channel[0], &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    ;
  if (r < 0)
    tsrun_fail("clone", errno, "send the bind sources to the init");
}

static void close_all(int *fds, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
}

/* The mount namespace file in `ns_dir` ("self/ns", "<pid>/ns") of the verified procfs: the
 * "mnt" link is a magic link, which the procfs lookups never follow, so it is opened from its
 * directory (it can only lead to an nsfs inode). */
static int open_mount_ns(const char *ns_dir)
{
  tsrun_error_t err;
  cleanup_close int dir = tsrun_procfs_open(ns_dir, O_PATH | O_DIRECTORY, &err);
  if (dir < 0)
    tsrun_fail_error("clone", &err);
  int fd = openat(dir, "mnt", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    tsrun_fail("clone", errno, "open \"/proc/%s/mnt\"", ns_dir);
  return fd;
}

void tsrun_bind_sources_send(const struct tsrun_plan *plan, pid_t init)
{
  if (channel[0] < 0)
    return;
  close(channel[1]);
  channel[1] = -1;
  char pid_ns_dir[32];
  snprintf(pid_ns_dir, sizeof(pid_ns_dir), "%d/ns", (int)init);
  cleanup_close int own = open_mount_ns("self/ns");
  cleanup_close int theirs = open_mount_ns(pid_ns_dir);
  if (setns(theirs, CLONE_NEWNS) < 0)
    tsrun_fail("clone", errno, "join the init's mount namespace to open the bind sources");
  uint32_t indexes[BATCH];
  int fds[BATCH];
  size_t n = 0;
  for (size_t i = 0; i < plan->n_mounts; i++) {
    if (!(plan->mounts[i].kind & TSRUN_MOUNT_BIND))
      continue;
    /* One it cannot open either is left to the init, whose own error then names it. */
    int fd = open(plan->mounts[i].source, O_PATH | O_CLOEXEC);
    if (fd < 0)
      continue;
    indexes[n] = (uint32_t)i;
    fds[n++] = fd;
    if (n == BATCH) {
      send_batch(indexes, fds, n);
      close_all(fds, n);
      n = 0;
    }
  }
  if (n > 0)
    send_batch(indexes, fds, n);
  close_all(fds, n);
  if (setns(own, CLONE_NEWNS) < 0)
    tsrun_fail("clone", errno, "return to the caller's mount namespace");
  close(channel[0]);
  channel[0] = -1;
}

/* Reads every batch stage 0 sent, up to its close. */
static void receive_all(size_t n_mounts)
{
  source_fds = malloc((n_mounts ? n_mounts : 1) * sizeof(int));
  if (source_fds == NULL)
    tsrun_fail("mount", ENOMEM, "bind source fds");
  n_source_fds = n_mounts;
  for (size_t i = 0; i < n_mounts; i++)
    source_fds[i] = -1;
  for (;;) {
    uint32_t indexes[BATCH];
    union {
      char buf[CMSG_SPACE(BATCH * sizeof(int))];
      struct cmsghdr align;
    } ctrl;
    struct iovec iov = { .iov_base = indexes, .iov_len = sizeof(indexes) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
                          .msg_controllen = sizeof(ctrl.buf) };
    ssize_t r;
    while ((r = recvmsg(channel[1], &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
      ;
    if (r < 0)
      tsrun_fail("mount", errno, "receive the bind sources from stage 0");
    if (r == 0)
      break;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    size_t n = (size_t)r / sizeof(uint32_t);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
        c->cmsg_len != CMSG_LEN(n * sizeof(int)))
      tsrun_fail("mount", EPROTO, "bind sources: a message of %zd bytes without its fds", r);
    int fds[BATCH];
    memcpy(fds, CMSG_DATA(c), n * sizeof(int));
    for (size_t k = 0; k < n; k++) {
      if (indexes[k] >= n_mounts || source_fds[indexes[k]] >= 0) {
        close_all(fds + k, n - k);
        tsrun_fail("mount", EPROTO, "bind sources: bad mount index %u", indexes[k]);
      }
      source_fds[indexes[k]] = fds[k];
    }
  }
}

void tsrun_bind_sources_receive(const struct tsrun_plan *plan)
{
  if (channel[1] < 0)
    return;
  receive_all(plan->n_mounts);
  close(channel[1]);
  channel[1] = -1;
}

int tsrun_bind_source_fd(size_t mount_index)
{
  return mount_index < n_source_fds ? source_fds[mount_index] : -1;
}

void tsrun_bind_sources_close(void)
{
  close_all(source_fds, n_source_fds);
  free(source_fds);
  source_fds = NULL;
  n_source_fds = 0;
}

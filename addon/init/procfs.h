/* The one way tsrun-init reaches /proc: a procfs checked to be the kernel's and not covered by
 * anything the container mounted. Every write under /proc (sysctls, oom_score_adj, time
 * offsets) and every /proc/self/fd magic link (mounts by fd, the exec fifo, in-root checks) goes
 * through it, never through the path "/proc" of whatever root we are in (CVE-2019-16884,
 * CVE-2025-52881: a bind mount over /proc/sys/kernel would otherwise receive a kernel.* write).
 *
 * The procfs is, in this order of preference: a private instance (fsopen("proc") + fsmount, which
 * nothing can have mounted over), a clone of the /proc mount alone (open_tree OPEN_TREE_CLONE,
 * without the mounts on top of it), or /proc itself. Each is checked to be procfs
 * (PROC_SUPER_MAGIC) with its root inode (1); paths below it are opened with openat2
 * RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS, or without openat2 by a walk that
 * checks every component is on the same procfs mount and follows no link but the procfs root's
 * own "self" and "thread-self". */
#ifndef TSRUN_PROCFS_H
#define TSRUN_PROCFS_H

#include <stdbool.h>
#include <stddef.h>

#include "sync.h"

/* The verified procfs root (an O_PATH directory fd, cached), or -1 with *err. Its "self" is the
 * caller when the caller made it: a process in another pid namespace must reset it first. */
int tsrun_procfs_root(tsrun_error_t *err);

/* Drops the cached procfs (a clone's first step: the one it inherited shows its parent's pid
 * namespace). */
void tsrun_procfs_reset(void);

/* Opens `path` (relative: "sys/kernel/hostname", "self/oom_score_adj") below the verified procfs
 * with open(2) flags (O_CLOEXEC is added). Returns the fd or -1 with *err. */
int tsrun_procfs_open(const char *path, int flags, tsrun_error_t *err);

/* Writes value to `path` below the verified procfs; -1 with *err. */
int tsrun_procfs_write(const char *path, const char *value, tsrun_error_t *err);

/* The verified procfs's "thread-self/fd" directory (O_PATH, cached): the fd magic links of the
 * calling thread, relative to a procfs no container mount covers. */
int tsrun_procfs_fd_dir(tsrun_error_t *err);

/* mount(2) with the source and/or the target named by fds (src_fd/dst_fd, -1 for none: then the
 * source is the string src), resolved through the verified procfs's fd magic links. Returns
 * mount's result with errno. */
int tsrun_mount_fds(const char *src, int src_fd, int dst_fd, const char *type, unsigned long flags,
                    const void *data);

/* readlink of fd's magic link in the verified procfs: the path of what fd names. */
int tsrun_fd_readlink(int fd, char *buf, size_t size, tsrun_error_t *err);

/* Reopens fd (an O_PATH fd) with `flags` through its magic link in the verified procfs. */
int tsrun_fd_reopen(int fd, int flags, tsrun_error_t *err);

/* Test hook: pretend the kernel has neither fsopen nor open_tree (use /proc itself, checked). */
extern bool tsrun_procfs_no_private;

#endif

/* A procfs the container cannot have covered (see procfs.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "inroot.h"
#include "procfs.h"

#define PROC_ROOT_INO 1
#define MAX_PROC_LINKS 8

bool tsrun_procfs_no_private;

static int proc_root = -1;
static int proc_fd_dir = -1;
static unsigned long long proc_mnt_id;

/* The mount id of fd (statx), 0 when the kernel cannot tell (before 5.8). */
static unsigned long long mount_id(int fd)
{
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0 ||
      !(stx.stx_mask & STATX_MNT_ID))
    return 0;
  return stx.stx_mnt_id;
}

static bool on_procfs(int fd)
{
  struct statfs sfs;
  return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

/* fd is the root of a procfs: the kernel's filesystem, at its root inode. */
static int check_root(int fd, const char *what, tsrun_error_t *err)
{
  struct stat st;
  if (!on_procfs(fd))
    return tsrun_error(err, EXDEV, "%s is not a procfs", what);
  if (fstat(fd, &st) < 0)
    return tsrun_error(err, errno, "stat %s", what);
  if (!S_ISDIR(st.st_mode) || st.st_ino != PROC_ROOT_INO)
    return tsrun_error(err, EXDEV, "%s is not the root of a procfs (inode %llu)", what,
                       (unsigned long long)st.st_ino);
  return 0;
}

/* A procfs instance of our own: nothing is mounted on it, and its pids are our pid namespace's. */
static int private_instance(void)
{
  cleanup_close int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
  if (fs < 0)
    return -1;
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  /* As restrictive as any procfs mount the kernel compares it with (mnt_too_revealing). */
  return (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

/* A copy of the /proc mount alone: the mounts on top of it (masks, binds) are not cloned. */
static int cloned_mount(void)
{
  return (int)syscall(SYS_open_tree, AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
}

int tsrun_procfs_root(tsrun_error_t *err)
{
  if (proc_root >= 0)
    return proc_root;
  int fd = -1;
  const char *what = "/proc";
  if (!tsrun_procfs_no_private) {
    fd = private_instance();
    what = "a new procfs instance";
    if (fd < 0) {
      fd = cloned_mount();
      what = "a clone of the /proc mount";
    }
  }
  if (fd < 0) {
    /* Without the new mount API, or where the kernel refuses both (a user namespace that owns
     * no pid namespace, a /proc with locked mounts on it): /proc itself, and the walk below
     * refuses to cross any mount on top of it. */
    fd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    what = "\"/proc\"";
    if (fd < 0)
      return tsrun_error(err, errno, "open \"/proc\"");
  }
  if (check_root(fd, what, err) < 0) {
    close(fd);
    return -1;
  }
  proc_root = fd;
  proc_mnt_id = mount_id(fd);
  return proc_root;
}

void tsrun_procfs_reset(void)
{
  if (proc_fd_dir >= 0)
    close(proc_fd_dir);
  if (proc_root >= 0)
    close(proc_root);
  proc_fd_dir = proc_root = -1;
  proc_mnt_id = 0;
}

/* A component opened by the walk is on the procfs mount we checked, not on something over it. */
static int check_component(int fd, const char *path, tsrun_error_t *err)
{
  struct stat st, root_st;
  if (!on_procfs(fd))
    return tsrun_error(err, EXDEV, "\"/proc/%s\" is not on procfs (covered by a mount)", path);
  if (proc_mnt_id) {
    if (mount_id(fd) != proc_mnt_id)
      return tsrun_error(err, EXDEV, "\"/proc/%s\" is covered by a mount", path);
  } else if (fstat(fd, &st) < 0 || fstat(proc_root, &root_st) < 0 || st.st_dev != root_st.st_dev) {
    return tsrun_error(err, EXDEV, "\"/proc/%s\" is covered by a mount", path);
  }
  return 0;
}

/* The procfs root's own symlinks ("self" -> "<pid>", "thread-self" -> "<pid>/task/<tid>") are
 * the only links the walk follows: plain relative names, no "..", never a magic link. */
static bool plain_proc_link(const char *target)
{
  if (target[0] == '\0' || target[0] == '/')
    return false;
  for (const char *p = target; *p; p++)
    if (!(*p == '/' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
      return false;
  return strstr(target, "..") == NULL;
}

/* openat2's guarantees by hand: one component at a time, O_NOFOLLOW, each checked. */
static int walk_open(int root, const char *path, int flags, tsrun_error_t *err)
{
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
    return tsrun_error(err, ENAMETOOLONG, "\"/proc/%s\"", path);
  cleanup_close int dir = fcntl(root, F_DUPFD_CLOEXEC, 3);
  if (dir < 0)
    return tsrun_error(err, errno, "\"/proc/%s\"", path);
  bool at_root = true;
  int links = 0;
  char *p = buf;
  for (;;) {
    while (*p == '/')
      p++;
    char *end = strchrnul(p, '/');
    bool last = true;
    for (char *q = end; *q; q++)
      if (*q != '/') {
        last = false;
        break;
      }
    *end = '\0';
    if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
      return tsrun_error(err, EINVAL, "\"/proc/%s\": bad component", path);
    struct stat st;
    int fd = openat(dir, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
      /* Only "self" or "thread-self" at the root: splice its target in front of the rest. */
      char target[64], rest[PATH_MAX];
      ssize_t n = at_root && links < MAX_PROC_LINKS ? readlinkat(fd, "", target, sizeof(target) - 1) : -1;
      close(fd);
      if (n >= 0)
        target[n] = '\0';
      if (n < 0 || !plain_proc_link(target))
        return tsrun_error(err, ELOOP, "\"/proc/%s\": a link below the procfs root is not followed", path);
      snprintf(rest, sizeof(rest), "%s/%s", target, last ? "" : end + 1);
      snprintf(buf, sizeof(buf), "%s", rest);
      p = buf;
      links++;
      continue;
    }
    if (fd >= 0 && last && flags != O_PATH) {
      /* The file itself, opened as asked: checked again below, as it is now. */
      close(fd);
      fd = openat(dir, p, flags | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
      return tsrun_error(err, errno, "open \"/proc/%s\"", path);
    if (check_component(fd, path, err) < 0) {
      close(fd);
      return -1;
    }
    if (last)
      return fd;
    close(dir);
    dir = fd;
    at_root = false;
    p = end + 1;
  }
}

int tsrun_procfs_open(const char *path, int flags, tsrun_error_t *err)
{
  int root = tsrun_procfs_root(err);
  if (root < 0)
    return -1;
  struct open_how how = {
    .flags = (unsigned long long)(flags | O_CLOEXEC),
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
  };
  int fd = tsrun_inroot_no_openat2 ? -1 : (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
  if (fd >= 0)
    return fd;
  if (!tsrun_inroot_no_openat2 && errno != ENOSYS) {
    if (errno == EXDEV)
      return tsrun_error(err, errno, "open \"/proc/%s\": covered by a mount", path);
    return tsrun_error(err, errno, "open \"/proc/%s\"", path);
  }
  return walk_open(root, path, flags, err);
}

int tsrun_procfs_write(const char *path, const char *value, tsrun_error_t *err)
{
  cleanup_close int fd = tsrun_procfs_open(path, O_WRONLY, err);
  if (fd < 0)
    return -1;
  size_t len = strlen(value);
  ssize_t n = write(fd, value, len);
  if (n != (ssize_t)len)
    return tsrun_error(err, n < 0 ? errno : EIO, "write \"/proc/%s\"", path);
  return 0;
}

int tsrun_procfs_fd_dir(tsrun_error_t *err)
{
  if (proc_fd_dir >= 0)
    return proc_fd_dir;
  int fd = tsrun_procfs_open("thread-self/fd", O_PATH | O_DIRECTORY, err);
  if (fd < 0)
    return -1;
  proc_fd_dir = fd;
  return fd;
}

int tsrun_mount_fds(const char *src, int src_fd, int dst_fd, const char *type, unsigned long flags,
                    const void *data)
{
  tsrun_error_t err;
  int dir = tsrun_procfs_fd_dir(&err);
  if (dir < 0) {
    errno = err.errnum ? err.errnum : ENOENT;
    return -1;
  }
  /* mount(2) takes names, not fds: from inside the verified fd directory, "N" is fd N's magic
   * link, so neither name passes through a /proc the container could have replaced. */
  cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0)
    return -1;
  char src_name[16], dst_name[16];
  if (src_fd >= 0) {
    snprintf(src_name, sizeof(src_name), "%d", src_fd);
    src = src_name;
  }
  snprintf(dst_name, sizeof(dst_name), "%d", dst_fd);
  if (fchdir(dir) < 0)
    return -1;
  int r = mount(src, dst_name, type, flags, data);
  int saved = errno;
  if (fchdir(cwd) < 0 && r == 0) {
    saved = errno;
    r = -1;
  }
  errno = saved;
  return r;
}

int tsrun_fd_readlink(int fd, char *buf, size_t size, tsrun_error_t *err)
{
  int dir = tsrun_procfs_fd_dir(err);
  if (dir < 0)
    return -1;
  char name[16];
  snprintf(name, sizeof(name), "%d", fd);
  ssize_t n = readlinkat(dir, name, buf, size - 1);
  if (n < 0)
    return tsrun_error(err, errno, "readlink fd %d", fd);
  buf[n] = '\0';
  return 0;
}

int tsrun_fd_reopen(int fd, int flags, tsrun_error_t *err)
{
  int dir = tsrun_procfs_fd_dir(err);
  if (dir < 0)
    return -1;
  char name[16];
  snprintf(name, sizeof(name), "%d", fd);
  int r;
  while ((r = openat(dir, name, flags | O_CLOEXEC)) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return tsrun_error(err, errno, "reopen fd %d", fd);
  return r;
}

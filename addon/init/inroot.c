#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "inroot.h"
#include "procfs.h"

#define MAX_DEPTH 256
#define MAX_SYMLINKS 40 /* the kernel's own limit */

bool tsrun_inroot_no_openat2;

static int fast_open(int rootfd, const char *path, bool nofollow_last)
{
  struct open_how how = {
    .flags = O_PATH | O_CLOEXEC | (nofollow_last ? O_NOFOLLOW : 0),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  if (tsrun_inroot_no_openat2) {
    errno = ENOSYS;
    return -1;
  }
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* A symlink of procfs below its root (/proc/<pid>/fd/N, cwd, root, exe, ns/...): its "target"
 * is whatever the process holds, maybe a host fd (CVE-2024-21626), so the walk never follows
 * one, as RESOLVE_NO_MAGICLINKS. The procfs root's own links ("self", "mounts") are plain. */
static bool is_magic_link(int link, int dir)
{
  struct statfs sfs;
  struct stat st;
  if (fstatfs(link, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
    return false;
  return fstat(dir, &st) < 0 || st.st_ino != 1;
}

struct walk {
  int fds[MAX_DEPTH]; /* fds[0..depth-1] are the directories below the root, owned */
  int depth;
};

static void walk_release(struct walk *w)
{
  while (w->depth > 0)
    close(w->fds[--w->depth]);
}

static int walk_top(struct walk *w, int rootfd)
{
  return w->depth ? w->fds[w->depth - 1] : rootfd;
}

/* Creates the missing component `name` in dir: a directory, or for the last component of a
 * CREATE_FILE walk an empty file. EEXIST is fine: someone made it between our two looks, and the
 * caller opens it again with O_NOFOLLOW. */
static int create_component(int dir, const char *name, bool as_file)
{
  if (!as_file)
    return mkdirat(dir, name, 0755) < 0 && errno != EEXIST ? -1 : 0;
  int fd = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno == EEXIST ? 0 : -1;
  close(fd);
  return 0;
}

static int walk_open(int rootfd, const char *unsafe_path, enum tsrun_create create,
                     bool nofollow_last, tsrun_error_t *err)
{
  struct walk w = { .depth = 0 };
  int links = 0;
  /* rest holds what is left to resolve; a symlink's target is spliced in front of it. */
  cleanup_free char *rest = strdup(unsafe_path);
  if (rest == NULL)
    return tsrun_error(err, ENOMEM, "resolve \"%s\"", unsafe_path);
  char *p = rest;

  for (;;) {
    while (*p == '/')
      p++;
    if (*p == '\0')
      break;
    char *end = strchrnul(p, '/');
    char saved = *end;
    *end = '\0';
    char *comp = p;
    char *after = end;
    if (saved) {
      after = end + 1;
      while (*after == '/')
        after++;
    }
    bool is_last = *after == '\0';

    if (strcmp(comp, ".") == 0) {
      p = after;
      continue;
    }
    if (strcmp(comp, "..") == 0) {
      /* The root's parent is the root, as for RESOLVE_IN_ROOT. */
      if (w.depth > 0)
        close(w.fds[--w.depth]);
      p = after;
      continue;
    }
    int dir = walk_top(&w, rootfd);
    int fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create != TSRUN_CREATE_NONE) {
      if (create_component(dir, comp, is_last && create == TSRUN_CREATE_FILE) < 0) {
        walk_release(&w);
        return tsrun_error(err, errno, "create \"%s\" for \"%s\"", comp, unsafe_path);
      }
      fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      walk_release(&w);
      return tsrun_error(err, errno, "open \"%s\"", unsafe_path);
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
      close(fd);
      walk_release(&w);
      return tsrun_error(err, errno, "stat \"%s\"", unsafe_path);
    }
    if (S_ISLNK(st.st_mode) && !(is_last && nofollow_last)) {
      if (is_magic_link(fd, dir)) {
        close(fd);
        walk_release(&w);
        return tsrun_error(err, ELOOP, "resolve \"%s\": \"%s\" is a procfs magic link", unsafe_path,
                           comp);
      }
      char target[PATH_MAX];
      ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
      close(fd);
      if (n < 0 || ++links > MAX_SYMLINKS) {
        walk_release(&w);
        return tsrun_error(err, n < 0 ? errno : ELOOP, "resolve \"%s\"", unsafe_path);
      }
      target[n] = '\0';
      if (target[0] == '/')
        walk_release(&w); /* absolute targets restart at the root, not the host's "/" */
      size_t tl = (size_t)n, al = strlen(after);
      char *next = malloc(tl + 1 + al + 1);
      if (next == NULL) {
        walk_release(&w);
        return tsrun_error(err, ENOMEM, "resolve \"%s\"", unsafe_path);
      }
      memcpy(next, target, tl);
      next[tl] = '/';
      memcpy(next + tl + 1, after, al + 1);
      free(rest);
      rest = p = next;
      continue;
    }
    if (!is_last && !S_ISDIR(st.st_mode)) {
      close(fd);
      walk_release(&w);
      return tsrun_error(err, ENOTDIR, "open \"%s\"", unsafe_path);
    }
    if (w.depth == MAX_DEPTH) {
      close(fd);
      walk_release(&w);
      return tsrun_error(err, ENAMETOOLONG, "open \"%s\"", unsafe_path);
    }
    w.fds[w.depth++] = fd;
    p = after;
  }

  int result;
  if (w.depth == 0) {
    result = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  } else {
    result = w.fds[--w.depth];
  }
  int saved = errno;
  walk_release(&w);
  if (result < 0)
    return tsrun_error(err, saved, "open \"%s\"", unsafe_path);
  return result;
}

int tsrun_open_in_root(int rootfd, const char *unsafe_path, enum tsrun_create create,
                       bool nofollow_last, tsrun_error_t *err)
{
  int fd = fast_open(rootfd, unsafe_path, nofollow_last);
  if (fd >= 0)
    return fd;
  /* ENOENT with creation asked, or an old kernel: the walk does both, and is as safe. EXDEV/EAGAIN
   * (a racing rename seen by RESOLVE_IN_ROOT) are left to the walk too. */
  if (errno == ENOSYS || errno == EAGAIN || errno == EXDEV ||
      (errno == ENOENT && create != TSRUN_CREATE_NONE))
    return walk_open(rootfd, unsafe_path, create, nofollow_last, err);
  return tsrun_error(err, errno, "open \"%s\"", unsafe_path);
}

int tsrun_open_parent_in_root(int rootfd, const char *unsafe_path, char *name, size_t name_size,
                              tsrun_error_t *err)
{
  size_t len = strlen(unsafe_path);
  while (len > 0 && unsafe_path[len - 1] == '/')
    len--;
  size_t start = len;
  while (start > 0 && unsafe_path[start - 1] != '/')
    start--;
  size_t nl = len - start;
  if (nl == 0 || nl >= name_size || (nl == 1 && unsafe_path[start] == '.') ||
      (nl == 2 && unsafe_path[start] == '.' && unsafe_path[start + 1] == '.'))
    return tsrun_error(err, EINVAL, "path \"%s\" has no last component", unsafe_path);
  memcpy(name, unsafe_path + start, nl);
  name[nl] = '\0';
  cleanup_free char *parent = strndup(unsafe_path, start);
  if (parent == NULL)
    return tsrun_error(err, ENOMEM, "open parent of \"%s\"", unsafe_path);
  return tsrun_open_in_root(rootfd, parent[0] ? parent : "/", TSRUN_CREATE_DIR, false, err);
}

int tsrun_check_in_root(int fd, const char *root_path, const char *unsafe_path,
                        tsrun_error_t *err)
{
  char real[PATH_MAX];
  tsrun_error_t rerr;
  if (tsrun_fd_readlink(fd, real, sizeof(real), &rerr) < 0)
    return tsrun_error(err, rerr.errnum, "%s, for \"%s\"", rerr.msg, unsafe_path);
  size_t rl = strlen(root_path);
  while (rl > 1 && root_path[rl - 1] == '/')
    rl--;
  if (rl == 1 && root_path[0] == '/')
    return 0;
  if (strncmp(real, root_path, rl) == 0 && (real[rl] == '\0' || real[rl] == '/'))
    return 0;
  return tsrun_error(err, EXDEV, "\"%s\" resolved to \"%s\", outside the rootfs", unsafe_path,
                     real);
}

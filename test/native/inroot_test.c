/* In-root resolution: symlinks and ".." must never lead out of a temporary root, with openat2 and
 * with the O_NOFOLLOW walk it falls back to. Also the PATH lookup and its runc-style messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../addon/init/inroot.h"
#include "../../addon/init/procfs.h"
#include "../../addon/init/steps.h"
#include "test.h"

static char root[256]; /* short, so the paths built from it cannot truncate */

static void mk(const char *rel, const char *link_target)
{
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s/%s", root, rel);
  if (link_target) {
    if (symlink(link_target, p) < 0) { perror(p); exit(2); }
  } else if (mkdir(p, 0755) < 0) {
    perror(p); exit(2);
  }
}

static void touch(const char *rel, mode_t mode)
{
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s/%s", root, rel);
  int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) { perror(p); exit(2); }
  close(fd);
}

/* Where an fd points, relative to the root ("" for the root itself), or NULL when outside. */
static const char *where(int fd, char *buf, size_t size)
{
  char link[64], real[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, real, sizeof(real) - 1);
  if (n < 0) return NULL;
  real[n] = '\0';
  size_t rl = strlen(root);
  if (strncmp(real, root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0')) {
    snprintf(buf, size, "OUTSIDE:%s", real);
    return buf;
  }
  snprintf(buf, size, "%s", real + rl);
  return buf;
}

static void expect(const char *path, enum tsrun_create create, bool nofollow, const char *want)
{
  tsrun_error_t err = {0};
  char got[PATH_MAX];
  int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = tsrun_open_in_root(rootfd, path, create, nofollow, &err);
  const char *mode = tsrun_inroot_no_openat2 ? "walk" : "openat2";
  if (want == NULL) {
    CHECK(fd < 0, "[%s] \"%s\" resolved to %s, expected an error", mode, path,
          fd >= 0 ? where(fd, got, sizeof(got)) : "");
  } else {
    CHECK(fd >= 0, "[%s] \"%s\": %s (errno %d)", mode, path, err.msg, err.errnum);
    if (fd >= 0) {
      const char *w = where(fd, got, sizeof(got));
      CHECK(w && strcmp(w, want) == 0, "[%s] \"%s\" resolved to \"%s\", want \"%s\"", mode, path,
            w ? w : "?", want);
      CHECK(tsrun_check_in_root(fd, root, path, &err) == 0, "[%s] check_in_root \"%s\": %s", mode,
            path, err.msg);
    }
  }
  if (fd >= 0) close(fd);
  close(rootfd);
}

static void test_resolution(void)
{
  expect("/etc/passwd", TSRUN_CREATE_NONE, false, "/etc/passwd");
  expect("etc//passwd", TSRUN_CREATE_NONE, false, "/etc/passwd");
  expect("/", TSRUN_CREATE_NONE, false, "");
  expect("/../../..", TSRUN_CREATE_NONE, false, "");
  expect("/a/../../../etc", TSRUN_CREATE_NONE, false, "/etc");
  expect("/abs-etc/passwd", TSRUN_CREATE_NONE, false, "/etc/passwd");   /* "/etc" is the root's */
  expect("/up/etc/passwd", TSRUN_CREATE_NONE, false, "/etc/passwd");    /* "../../.." stops at root */
  expect("/a/up2", TSRUN_CREATE_NONE, false, "");
  expect("/chain", TSRUN_CREATE_NONE, false, "/etc/passwd");
  expect("/loop", TSRUN_CREATE_NONE, false, NULL);
  expect("/chain", TSRUN_CREATE_NONE, true, "/chain");                   /* the link itself */
  expect("/etc/passwd/x", TSRUN_CREATE_NONE, false, NULL);              /* ENOTDIR */
  expect("/missing", TSRUN_CREATE_NONE, false, NULL);

  /* Creation follows links inside the root and makes what is missing there. */
  expect("/abs-etc/new/deeper", TSRUN_CREATE_DIR, false, "/etc/new/deeper");
  expect("/up/made-file", TSRUN_CREATE_FILE, false, "/made-file");
  expect("/dangling", TSRUN_CREATE_FILE, false, "/target-of-dangling");
  struct stat st;
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s/made-file", root);
  CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode), "made-file is a regular file");
  snprintf(p, sizeof(p), "%s/etc/new/deeper", root);
  CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == (0755 & ~0022),
        "deeper is a 0755 directory");
  /* Nothing was created outside the root. */
  CHECK(access("/made-file", F_OK) < 0 && access("/target-of-dangling", F_OK) < 0 &&
        access("/etc/new", F_OK) < 0, "created outside the root");
}

static void test_parent(void)
{
  tsrun_error_t err;
  char name[256], got[PATH_MAX];
  int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = tsrun_open_parent_in_root(rootfd, "/up/dev/null", name, sizeof(name), &err);
  CHECK(fd >= 0 && strcmp(name, "null") == 0, "parent of /up/dev/null: %s", err.msg);
  if (fd >= 0) {
    const char *w = where(fd, got, sizeof(got));
    CHECK(w && strcmp(w, "/dev") == 0, "parent resolved to %s", w ? w : "?");
    close(fd);
  }
  fd = tsrun_open_parent_in_root(rootfd, "/..", name, sizeof(name), &err);
  CHECK(fd < 0, "\"/..\" has no name to create");
  fd = tsrun_open_parent_in_root(rootfd, "/x/", name, sizeof(name), &err);
  CHECK(fd >= 0 && strcmp(name, "x") == 0, "trailing slash: %s", err.msg);
  if (fd >= 0) close(fd);
  close(rootfd);
}

static void test_path_lookup(void)
{
  tsrun_error_t err;
  char out[PATH_MAX], path_env[PATH_MAX + 8];
  snprintf(path_env, sizeof(path_env), "PATH=%s/nobin:%s/bin", root, root);
  char *env[] = { "A=1", path_env, NULL };

  int r = tsrun_find_executable("tool", env, out, sizeof(out), &err);
  char want[PATH_MAX];
  snprintf(want, sizeof(want), "%s/bin/tool", root);
  CHECK(r == 0 && strcmp(out, want) == 0, "tool: %s / %s", out, err.msg);

  r = tsrun_find_executable("noexec", env, out, sizeof(out), &err);
  CHECK(r < 0 && err.errnum == 0 &&
        strcmp(err.msg, "exec: \"noexec\": executable file not found in $PATH") == 0,
        "noexec: \"%s\"", err.msg);

  r = tsrun_find_executable("adir", env, out, sizeof(out), &err);
  CHECK(r < 0, "a directory is not an executable");

  r = tsrun_find_executable("/no/such/bin", env, out, sizeof(out), &err);
  CHECK(r < 0 && err.errnum == ENOENT &&
        strcmp(err.msg, "exec: \"/no/such/bin\": stat /no/such/bin") == 0, "abs: \"%s\"", err.msg);

  r = tsrun_find_executable("./rel/x", env, out, sizeof(out), &err);
  CHECK(r < 0 && err.errnum == ENOENT, "relative with slash is stat'ed as is");

  /* Without PATH in env nothing is searched (as runc: no default list), even for sh. */
  char *noenv[] = { NULL };
  r = tsrun_find_executable("sh", noenv, out, sizeof(out), &err);
  CHECK(r < 0 && strcmp(err.msg, "exec: \"sh\": executable file not found in $PATH") == 0,
        "no PATH: \"%s\"", err.msg);
}

/* A cwd or mount target of "/proc/self/fd/N" must not lead to what fd N holds (CVE-2024-21626):
 * neither openat2 nor the walk follows a procfs magic link, even with the host's "/" as root. */
static void test_magic_links(void)
{
  int outside = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", outside);
  for (int walk = 0; walk <= 1; walk++) {
    tsrun_inroot_no_openat2 = walk;
    tsrun_error_t err = {0};
    int fd = tsrun_open_in_root(slash, path, TSRUN_CREATE_NONE, false, &err);
    CHECK(fd < 0 && err.errnum == ELOOP, "[%s] \"%s\" was followed (fd %d, errno %d)",
          walk ? "walk" : "openat2", path, fd, err.errnum);
    if (fd >= 0) close(fd);
    /* The procfs root's own "self" is plain, and followed. */
    fd = tsrun_open_in_root(slash, "/proc/self/status", TSRUN_CREATE_NONE, false, &err);
    CHECK(fd >= 0, "[%s] /proc/self/status: %s", walk ? "walk" : "openat2", err.msg);
    if (fd >= 0) close(fd);
  }
  tsrun_inroot_no_openat2 = false;
  close(outside);
  close(slash);
}

/* The verified procfs: reads and the fd directory work, with and without openat2 and a private
 * instance; nothing leaves it and no magic link below it is followed. */
static void test_procfs(void)
{
  for (int mode = 0; mode < 4; mode++) {
    tsrun_inroot_no_openat2 = mode & 1;
    tsrun_procfs_no_private = mode & 2;
    tsrun_procfs_reset();
    tsrun_error_t err = {0};
    char buf[64] = "";
    int fd = tsrun_procfs_open("sys/kernel/ostype", O_RDONLY, &err);
    CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && strncmp(buf, "Linux", 5) == 0,
          "[mode %d] sys/kernel/ostype: %s", mode, err.msg);
    if (fd >= 0) close(fd);
    fd = tsrun_procfs_open("self/status", O_RDONLY, &err);
    CHECK(fd >= 0, "[mode %d] self/status: %s", mode, err.msg);
    if (fd >= 0) close(fd);
    fd = tsrun_procfs_open("self/cwd", O_PATH, &err);
    CHECK(fd < 0, "[mode %d] the magic link self/cwd was followed", mode);
    if (fd >= 0) close(fd);
    fd = tsrun_procfs_open("../etc/passwd", O_RDONLY, &err);
    CHECK(fd < 0, "[mode %d] ../etc/passwd opened from the procfs", mode);
    if (fd >= 0) close(fd);
    int probe = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    char link[PATH_MAX];
    CHECK(tsrun_fd_readlink(probe, link, sizeof(link), &err) == 0 && strcmp(link, root) == 0,
          "[mode %d] readlink of an fd: %s", mode, err.msg);
    close(probe);
  }
  tsrun_inroot_no_openat2 = false;
  tsrun_procfs_no_private = false;
  tsrun_procfs_reset();
}

int main(void)
{
  snprintf(root, sizeof(root), "/tmp/c-helper-native-XXXXXX");
  if (mkdtemp(root) == NULL) { perror("mkdtemp"); return 2; }
  char *r = realpath(root, NULL);
  snprintf(root, sizeof(root), "%s", r);
  free(r);
  umask(0022);
  mk("etc", NULL); touch("etc/passwd", 0644); mk("a", NULL); mk("dev", NULL); mk("bin", NULL);
  mk("bin/adir", NULL); touch("bin/tool", 0755); touch("bin/noexec", 0644);
  mk("abs-etc", "/etc"); mk("up", "../../.."); mk("a/up2", "../../../../.."); mk("chain", "abs-etc/passwd");
  mk("loop", "loop"); mk("dangling", "/target-of-dangling");
  test_resolution();
  tsrun_inroot_no_openat2 = true;
  /* Fresh names for the creating cases, which the first pass made already. */
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof(cmd), "rm -rf %s/made-file %s/etc/new %s/target-of-dangling", root, root, root);
  if (system(cmd) != 0) return 2;
  test_resolution();
  test_parent();
  tsrun_inroot_no_openat2 = false;
  test_parent();
  test_path_lookup();
  test_magic_links();
  test_procfs();
  snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
  if (system(cmd) != 0) return 2;
  return TEST_REPORT("inroot");
}

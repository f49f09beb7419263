/* AppArmor and SELinux decisions and writes (lsm.c) against a fake tree: a temporary directory
 * with the sysfs and procfs files the helper reads and writes, so what was written (and that
 * nothing was, where the host lacks the LSM) can be read back. The helper's own runs use the
 * verified procfs and the real /sys (tsrun_lsm_kernel); only the tree differs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../addon/init/lsm.h"
#include "test.h"

static char root[256];
static int fake_proc = -1;
static bool fake_selinuxfs;

static void path_of(char *buf, size_t size, const char *rel)
{
  snprintf(buf, size, "%s/%s", root, rel);
}

static void mkdirs(const char *rel)
{
  char p[PATH_MAX], *s;
  path_of(p, sizeof(p), rel);
  for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
    *s = '\0';
    mkdir(p, 0755);
    *s = '/';
  }
  mkdir(p, 0755);
}

static void put(const char *rel, const char *content, size_t len)
{
  char p[PATH_MAX];
  path_of(p, sizeof(p), rel);
  int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, content, len) != (ssize_t)len) { perror(p); exit(2); }
  close(fd);
}

static const char *get(const char *rel)
{
  static char buf[512];
  char p[PATH_MAX];
  path_of(p, sizeof(p), rel);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "(missing)";
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = '\0';
  return buf;
}

static void rm(const char *rel)
{
  char p[PATH_MAX];
  path_of(p, sizeof(p), rel);
  if (remove(p) < 0) { perror(p); exit(2); }
}

/* Like an attr file: each open for writing and write replaces the value (a write of 0 bytes
 * resets it), hence O_TRUNC on the fake's regular files. */
static int fake_proc_open(const char *path, int flags, tsrun_error_t *err)
{
  if ((flags & O_ACCMODE) == O_WRONLY)
    flags |= O_TRUNC;
  int fd = openat(fake_proc, path, flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return tsrun_error(err, errno, "open \"/proc/%s\"", path);
  return fd;
}

static bool fake_is_selinuxfs(int fd)
{
  (void)fd;
  return fake_selinuxfs;
}

static struct tsrun_lsm_env env = { .proc_open = fake_proc_open, .is_selinuxfs = fake_is_selinuxfs };
static char sysfs[PATH_MAX];

/* A host with neither LSM: attr files that say "-" until written. */
static void reset_tree(void)
{
  char cmd[PATH_MAX + 16];
  /* proc itself stays: fake_proc holds it */
  snprintf(cmd, sizeof(cmd), "rm -rf '%s/sys' '%s/proc/thread-self'", root, root);
  if (system(cmd) != 0) exit(2);
  mkdirs("sys/module");
  mkdirs("sys/fs");
  mkdirs("proc/thread-self/attr/apparmor");
  put("proc/thread-self/attr/current", "kernel", 6);
  put("proc/thread-self/attr/exec", "-", 1);
  put("proc/thread-self/attr/keycreate", "-", 1);
  put("proc/thread-self/attr/apparmor/exec", "-", 1);
  fake_selinuxfs = false;
}

static void with_apparmor(const char *enabled)
{
  mkdirs("sys/kernel/security/apparmor");
  mkdirs("sys/module/apparmor/parameters");
  put("sys/module/apparmor/parameters/enabled", enabled, strlen(enabled));
}

static void with_selinux(const char *current, size_t len)
{
  mkdirs("sys/fs/selinux");
  fake_selinuxfs = true;
  put("proc/thread-self/attr/current", current, len);
}

static struct tsrun_lsm_host detect(void)
{
  struct tsrun_lsm_host host = { .apparmor = true, .selinux = true };
  tsrun_lsm_detect(&env, &host);
  return host;
}

static void test_neither(void)
{
  reset_tree();
  struct tsrun_lsm_host host = detect();
  CHECK(!host.apparmor && !host.selinux, "an empty tree has no LSM");
  tsrun_error_t err = {0};
  CHECK(tsrun_lsm_set_exec(&env, &host, "docker-default", NULL, &err) == -1,
        "a profile without AppArmor is refused: %s", err.msg);
  CHECK(strncmp(err.msg, "/process/apparmorProfile: ", 26) == 0 && strstr(err.msg, "\"docker-default\"") &&
            strstr(err.msg, "not enabled"), "%s", err.msg);
  CHECK(tsrun_lsm_set_exec(&env, &host, NULL, "system_u:system_r:container_t:s0", &err) == -1,
        "a label without SELinux is refused");
  CHECK(strncmp(err.msg, "/process/selinuxLabel: ", 23) == 0 && strstr(err.msg, "selinux is disabled or not supported"),
        "runc's words: %s", err.msg);
  CHECK(tsrun_lsm_set_keycreate(&env, &host, "system_u:system_r:container_t:s0", &err) == 0, "keycreate: skipped");
  CHECK(tsrun_lsm_set_exec(&env, &host, NULL, NULL, &err) == 0, "nothing asked, nothing refused");
  CHECK(tsrun_lsm_set_exec(&env, &host, "", "", &err) == 0, "\"\" is none, as runc");
  CHECK(strcmp(get("proc/thread-self/attr/exec"), "-") == 0, "attr/exec untouched: %s", get("proc/thread-self/attr/exec"));
  CHECK(strcmp(get("proc/thread-self/attr/apparmor/exec"), "-") == 0, "attr/apparmor/exec untouched");
  CHECK(strcmp(get("proc/thread-self/attr/keycreate"), "-") == 0, "attr/keycreate untouched");
  CHECK(tsrun_lsm_label_dir(&host, -1, "x", &err) == 0, "no SELinux: no file label either");
}

static void test_apparmor(void)
{
  tsrun_error_t err = {0};
  reset_tree();
  with_apparmor("Y\n");
  struct tsrun_lsm_host host = detect();
  CHECK(host.apparmor && !host.selinux, "securityfs dir and enabled=Y: AppArmor");
  CHECK(tsrun_lsm_set_exec(&env, &host, "docker-default", NULL, &err) == 0, "%s", err.msg);
  CHECK(strcmp(get("proc/thread-self/attr/apparmor/exec"), "exec docker-default") == 0,
        "the per-LSM file first: %s", get("proc/thread-self/attr/apparmor/exec"));
  CHECK(strcmp(get("proc/thread-self/attr/exec"), "-") == 0, "attr/exec left alone");

  rm("proc/thread-self/attr/apparmor/exec");
  rm("proc/thread-self/attr/apparmor");
  CHECK(tsrun_lsm_set_exec(&env, &host, "unconfined", NULL, &err) == 0, "%s", err.msg);
  CHECK(strcmp(get("proc/thread-self/attr/exec"), "exec unconfined") == 0,
        "older kernels: attr/exec: %s", get("proc/thread-self/attr/exec"));
  CHECK(tsrun_lsm_set_exec(&env, &host, NULL, "system_u:system_r:container_t:s0", &err) == -1,
        "AppArmor alone: an SELinux label is still refused");

  reset_tree();
  with_apparmor("N\n");
  CHECK(!detect().apparmor, "enabled=N: no AppArmor");
  reset_tree();
  with_apparmor("");
  CHECK(!detect().apparmor, "an empty enabled file: no AppArmor");
  reset_tree();
  mkdirs("sys/module/apparmor/parameters");
  put("sys/module/apparmor/parameters/enabled", "Y", 1);
  CHECK(!detect().apparmor, "enabled=Y without securityfs's apparmor directory: no AppArmor (as runc)");
}

static void test_selinux(void)
{
  tsrun_error_t err = {0};
  const char *label = "system_u:system_r:container_t:s0:c1,c2";
  reset_tree();
  with_selinux("system_u:system_r:unconfined_t:s0\n", 34);
  struct tsrun_lsm_host host = detect();
  CHECK(host.selinux && !host.apparmor, "selinuxfs and a labeled process: SELinux");
  CHECK(tsrun_lsm_set_exec(&env, &host, NULL, label, &err) == 0, "%s", err.msg);
  CHECK(strcmp(get("proc/thread-self/attr/exec"), label) == 0, "attr/exec: %s", get("proc/thread-self/attr/exec"));
  CHECK(strcmp(get("proc/thread-self/attr/apparmor/exec"), "-") == 0, "no AppArmor write");
  CHECK(tsrun_lsm_set_keycreate(&env, &host, label, &err) == 0, "%s", err.msg);
  CHECK(strcmp(get("proc/thread-self/attr/keycreate"), label) == 0, "keycreate: %s", get("proc/thread-self/attr/keycreate"));
  CHECK(tsrun_lsm_set_keycreate(&env, &host, NULL, &err) == 0, "%s", err.msg);
  CHECK(strcmp(get("proc/thread-self/attr/keycreate"), "") == 0, "keycreate reset by an empty write");
  CHECK(tsrun_lsm_set_exec(&env, &host, "docker-default", label, &err) == -1, "SELinux alone: a profile is refused");
  rm("proc/thread-self/attr/keycreate");
  CHECK(tsrun_lsm_set_keycreate(&env, &host, label, &err) == 0, "a kernel without attr/keycreate: nothing to do");
  CHECK(strcmp(get("proc/thread-self/attr/keycreate"), "(missing)") == 0, "and nothing made");

  reset_tree();
  with_selinux("kernel\0", 7);
  CHECK(!detect().selinux, "a process labeled \"kernel\": no policy loaded, no SELinux");
  reset_tree();
  with_selinux("system_u:system_r:unconfined_t:s0", 33);
  fake_selinuxfs = false;
  CHECK(!detect().selinux, "/sys/fs/selinux that is no selinuxfs: no SELinux");
  reset_tree();
  with_selinux("system_u:system_r:unconfined_t:s0", 33);
  rm("sys/fs/selinux");
  CHECK(!detect().selinux, "no /sys/fs/selinux: no SELinux");

  reset_tree();
  with_selinux("system_u:system_r:unconfined_t:s0", 33);
  with_apparmor("Y");
  host = detect();
  CHECK(host.selinux && host.apparmor, "both");
  CHECK(tsrun_lsm_set_exec(&env, &host, "p", label, &err) == 0, "%s", err.msg);
  CHECK(strcmp(get("proc/thread-self/attr/apparmor/exec"), "exec p") == 0, "AppArmor's own file");
  CHECK(strcmp(get("proc/thread-self/attr/exec"), label) == 0, "SELinux's");
}

static void test_mount_data(void)
{
  char buf[64];
  tsrun_error_t err = {0};
  CHECK(tsrun_lsm_mount_data("mode=755,size=65536k", "s:o:t:s0:c1,c2", buf, sizeof(buf), &err) == 0 &&
            strcmp(buf, "mode=755,size=65536k,context=\"s:o:t:s0:c1,c2\"") == 0, "%s", buf);
  CHECK(tsrun_lsm_mount_data("", "s:o:t:s0", buf, sizeof(buf), &err) == 0 && strcmp(buf, "context=\"s:o:t:s0\"") == 0, "%s", buf);
  CHECK(tsrun_lsm_mount_data("", "a\"b", buf, sizeof(buf), &err) == -1 && err.errnum == EINVAL, "a quote cannot be quoted");
  CHECK(tsrun_lsm_mount_data("mode=755", "a-label-much-longer-than-the-buffer-it-is-written-into-xxxxxxxx", buf,
                             sizeof(buf), &err) == -1 && err.errnum == E2BIG, "too long: %s", err.msg);
}

int main(void)
{
  snprintf(root, sizeof(root), "%s/lsm-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(root)) { perror("mkdtemp"); return 2; }
  snprintf(sysfs, sizeof(sysfs), "%s/sys", root);
  env.sysfs = sysfs;
  char proc[PATH_MAX];
  snprintf(proc, sizeof(proc), "%s/proc", root);
  mkdir(proc, 0755);
  fake_proc = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fake_proc < 0) { perror(proc); return 2; }

  test_neither();
  test_apparmor();
  test_selinux();
  test_mount_data();

  close(fake_proc);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  if (system(cmd) != 0) return 2;
  return TEST_REPORT("lsm");
}

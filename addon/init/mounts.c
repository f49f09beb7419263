/* The container's filesystem: rootfs propagation and self-bind, config mounts, devices and symlinks
 * (all resolved inside the rootfs and mounted through /proc/self/fd/N, so a symlink planted in the
 * rootfs cannot redirect a mount onto the host), pivot_root, masked and read-only paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "inroot.h"
#include "protocol.h"
#include "steps.h"

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

/* The root that container paths resolve in: the rootfs until pivot_root, "/" afterwards. */
static int root_fd = -1;
static char root_path[PATH_MAX];

static void set_root(const char *step, const char *path)
{
  if (root_fd >= 0)
    close(root_fd);
  root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    tsrun_fail(step, errno, "open rootfs \"%s\"", path);
  snprintf(root_path, sizeof(root_path), "%s", path);
}

/* Resolves a container path to an fd checked to be inside the root, or returns -1 with *err. */
static int open_checked(const char *unsafe_path, enum tsrun_create create, bool nofollow_last,
                        tsrun_error_t *err)
{
  cleanup_close int fd = tsrun_open_in_root(root_fd, unsafe_path, create, nofollow_last, err);
  if (fd < 0)
    return -1;
  if (tsrun_check_in_root(fd, root_path, unsafe_path, err) < 0)
    return -1;
  return tsrun_steal_fd(&fd);
}

/* Flags the kernel locks on a mount made in a less privileged user namespace: a bind remount
 * that leaves them out fails with EPERM, so they are carried over from the mount as it is. */
static unsigned long locked_flags(const char *target)
{
  struct statvfs sv;
  unsigned long flags = 0;
  if (statvfs(target, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

static int bind_remount(const char *target, unsigned long flags)
{
  flags |= MS_REMOUNT | MS_BIND;
  if (mount(NULL, target, NULL, flags, NULL) == 0)
    return 0;
  if (errno != EPERM)
    return -1;
  unsigned long extra = locked_flags(target);
  if ((flags | extra) == flags) {
    errno = EPERM;
    return -1;
  }
  return mount(NULL, target, NULL, flags | extra, NULL);
}

/* Undoes the octal escapes of /proc/self/mountinfo (" " is "\040") in place. */
static void unescape_mountinfo(char *s)
{
  char *out = s;
  for (char *in = s; *in; in++) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' &&
        in[3] >= '0' && in[3] <= '7') {
      *out++ = (char)((in[1] - '0') << 6 | (in[2] - '0') << 3 | (in[3] - '0'));
      in += 3;
    } else {
      *out++ = *in;
    }
  }
  *out = '\0';
}

/* pivot_root refuses a new root whose parent mount is shared; with rootfsPropagation "shared" it
 * can be, so the mount holding the rootfs directory is made private (only in our namespace). */
static void make_parent_private(const char *rootfs)
{
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL)
    tsrun_fail("rootfs", errno, "open \"/proc/self/mountinfo\"");
  char *line = NULL, best[PATH_MAX] = "";
  size_t cap = 0, best_len = 0;
  bool best_shared = false;
  while (getline(&line, &cap, f) > 0) {
    char mnt[PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
      continue;
    unescape_mountinfo(mnt);
    size_t ml = strlen(mnt);
    bool covers = strcmp(mnt, "/") == 0 ||
                  (strncmp(rootfs, mnt, ml) == 0 && (rootfs[ml] == '/' || rootfs[ml] == '\0'));
    if (!covers || (ml < best_len && best_len))
      continue;
    /* Optional fields sit between the mount options and " - ". */
    char *dash = strstr(line, " - ");
    char *shared = strstr(line, " shared:");
    snprintf(best, sizeof(best), "%s", mnt);
    best_len = ml;
    best_shared = shared != NULL && (dash == NULL || shared < dash);
  }
  free(line);
  fclose(f);
  if (best_shared && mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
    tsrun_fail("rootfs", errno, "make \"%s\" private", best);
}

void tsrun_prepare_rootfs(const struct tsrun_plan *plan)
{
  char real[PATH_MAX];
  unsigned long prop = plan->rootfs_flags.propagation ? plan->rootfs_flags.propagation : MS_SLAVE | MS_REC;
  if (!tsrun_plan_has_namespace(plan, CLONE_NEWNS))
    tsrun_fail("rootfs", EINVAL, "refusing to set up the rootfs without a mount namespace");
  /* "unbindable" is for the container's "/" (set after pivot_root): applied to the tree now it
   * would make the rootfs impossible to bind on itself (EINVAL). Until then the tree is a slave
   * of the host's, as by default. */
  if (prop & MS_UNBINDABLE)
    prop = MS_SLAVE | MS_REC;
  if (mount(NULL, "/", NULL, prop, NULL) < 0)
    tsrun_fail("rootfs", errno, "set propagation of \"/\" (0x%lx)", prop);
  if (realpath(plan->rootfs, real) == NULL)
    tsrun_fail("rootfs", errno, "resolve rootfs \"%s\"", plan->rootfs);
  make_parent_private(real);
  /* A mount of its own: pivot_root needs one, and mounts made below stay off the host's tree. */
  if (mount(real, real, NULL, MS_BIND | MS_REC, NULL) < 0)
    tsrun_fail("rootfs", errno, "bind rootfs \"%s\" on itself", real);
  set_root("rootfs", real); /* opened after the bind, so the fd sees the new mount */
}

static void mount_one(const struct tsrun_mount *m)
{
  tsrun_error_t err;
  char target[64];
  bool is_bind = m->kind & TSRUN_MOUNT_BIND;
  enum tsrun_create create = TSRUN_CREATE_DIR;
  struct stat st;
  if ((m->kind & TSRUN_MOUNT_CREATE_FILE) ||
      (is_bind && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode)))
    create = TSRUN_CREATE_FILE;

  /* procfs and sysfs land exactly where the config says, never where the image points: a
   * rootfs whose /proc or /sys is a symlink (to /tmp/x, or to a path another mount then covers)
   * would put the kernel's files somewhere the masked and read-only paths do not reach
   * (CVE-2019-16884, CVE-2019-19921). As runc: the destination must be a plain directory. */
  bool kernel_fs = !is_bind && (strcmp(m->type, "proc") == 0 || strcmp(m->type, "sysfs") == 0);
  cleanup_close int fd = open_checked(m->destination, create, kernel_fs, &err);
  if (fd < 0)
    tsrun_fail("mount", err.errnum, "mount \"%s\" on \"%s\": %s", m->source, m->destination,
               err.msg);
  if (kernel_fs && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)))
    tsrun_fail("mount", S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR,
               "filesystem \"%s\" must be mounted on ordinary directory \"%s\"", m->type,
               m->destination);
  tsrun_fd_path(target, sizeof(target), fd);
  const char *src = m->source[0] ? m->source : m->type;
  if (is_bind) {
    if (mount(src, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
      tsrun_fail("mount", errno, "bind \"%s\" on \"%s\"", m->source, m->destination);
  } else if (mount(src, target, m->type, m->flags & ~(uint64_t)PROPAGATION_FLAGS,
                   m->data[0] ? m->data : NULL) < 0) {
    tsrun_fail("mount", errno, "mount \"%s\" on \"%s\"", m->source, m->destination);
  }
  unsigned long rest = m->flags & ~(uint64_t)(MS_BIND | MS_REC | MS_REMOUNT | PROPAGATION_FLAGS);
  if ((!is_bind || rest == 0) && m->propagation == 0)
    return;
  /* The fd names the directory under the new mount; later passes must reach the mount itself. */
  close(fd);
  fd = open_checked(m->destination, TSRUN_CREATE_NONE, false, &err);
  if (fd < 0)
    tsrun_fail("mount", err.errnum, "reopen \"%s\": %s", m->destination, err.msg);
  tsrun_fd_path(target, sizeof(target), fd);
  if (is_bind && rest && bind_remount(target, rest) < 0)
    tsrun_fail("mount", errno, "remount \"%s\" with flags 0x%lx", m->destination, rest);
  if (m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
    tsrun_fail("mount", errno, "set propagation of \"%s\" (0x%llx)", m->destination,
               (unsigned long long)m->propagation);
}

void tsrun_mount_all(const struct tsrun_plan *plan)
{
  for (size_t i = 0; i < plan->n_mounts; i++)
    mount_one(&plan->mounts[i]);
}

void tsrun_bind_onto_file(const char *step, const char *source, const char *unsafe_dest)
{
  tsrun_error_t err;
  char target[64];
  cleanup_close int fd = open_checked(unsafe_dest, TSRUN_CREATE_FILE, false, &err);
  if (fd < 0)
    tsrun_fail(step, err.errnum, "bind \"%s\" on \"%s\": %s", source, unsafe_dest, err.msg);
  tsrun_fd_path(target, sizeof(target), fd);
  if (mount(source, target, NULL, MS_BIND, NULL) < 0)
    tsrun_fail(step, errno, "bind \"%s\" on \"%s\"", source, unsafe_dest);
}

static void make_device(const struct tsrun_device *d)
{
  tsrun_error_t err;
  char name[NAME_MAX + 1], proc[64];
  if (d->type != S_IFCHR && d->type != S_IFBLK && d->type != S_IFIFO)
    tsrun_fail("devices", EINVAL, "device \"%s\": bad type 0%o", d->path, d->type);
  cleanup_close int dir = tsrun_open_parent_in_root(root_fd, d->path, name, sizeof(name), &err);
  if (dir < 0 || tsrun_check_in_root(dir, root_path, d->path, &err) < 0)
    tsrun_fail("devices", err.errnum, "device \"%s\": %s", d->path, err.msg);
  if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
    tsrun_fail("devices", errno, "remove existing \"%s\"", d->path);
  mode_t perm = d->mode & 07777;
  if (mknodat(dir, name, d->type | perm, makedev(d->major, d->minor)) < 0)
    tsrun_fail("devices", errno, "mknod \"%s\"", d->path);
  cleanup_close int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    tsrun_fail("devices", errno, "open \"%s\"", d->path);
  if (fchownat(fd, "", d->uid, d->gid, AT_EMPTY_PATH) < 0)
    tsrun_fail("devices", errno, "chown \"%s\" to %u:%u", d->path, d->uid, d->gid);
  /* mknod applied the umask; chmod sets the mode the config asked for. */
  tsrun_fd_path(proc, sizeof(proc), fd);
  if (chmod(proc, perm) < 0)
    tsrun_fail("devices", errno, "chmod \"%s\" to 0%o", d->path, perm);
}

void tsrun_create_devices(const struct tsrun_plan *plan)
{
  for (size_t i = 0; i < plan->n_devices; i++) {
    const struct tsrun_device *d = &plan->devices[i];
    if (plan->rootfs_flags.flags & TSRUN_ROOTFS_BIND_DEVICES)
      tsrun_bind_onto_file("devices", d->path, d->path); /* a user namespace may not mknod */
    else
      make_device(d);
  }
}

void tsrun_create_symlinks(const struct tsrun_plan *plan)
{
  for (size_t i = 0; i < plan->n_symlinks; i++) {
    const struct tsrun_symlink *s = &plan->symlinks[i];
    tsrun_error_t err;
    char name[NAME_MAX + 1];
    cleanup_close int dir =
        tsrun_open_parent_in_root(root_fd, s->linkpath, name, sizeof(name), &err);
    if (dir < 0 || tsrun_check_in_root(dir, root_path, s->linkpath, &err) < 0)
      tsrun_fail("symlinks", err.errnum, "symlink \"%s\": %s", s->linkpath, err.msg);
    if (symlinkat(s->target, dir, name) < 0 && errno != EEXIST)
      tsrun_fail("symlinks", errno, "symlink \"%s\" to \"%s\"", s->linkpath, s->target);
  }
}

void tsrun_create_cwd(const struct tsrun_plan *plan)
{
  if (plan->cwd == NULL)
    return;
  tsrun_error_t err;
  /* As root and before "/" may turn read-only: the user might not be allowed to make it later. */
  cleanup_close int fd = open_checked(plan->cwd, TSRUN_CREATE_DIR, false, &err);
  if (fd < 0)
    tsrun_fail("cwd", err.errnum, "create cwd \"%s\": %s", plan->cwd, err.msg);
}

void tsrun_pivot_root(const struct tsrun_plan *plan)
{
  if (chdir(root_path) < 0)
    tsrun_fail("pivot_root", errno, "chdir \"%s\"", root_path);
  if (plan->rootfs_flags.flags & TSRUN_ROOTFS_NO_PIVOT) {
    if (mount(root_path, "/", NULL, MS_MOVE, NULL) < 0)
      tsrun_fail("pivot_root", errno, "move \"%s\" to \"/\"", root_path);
    if (chroot(".") < 0)
      tsrun_fail("pivot_root", errno, "chroot \"%s\"", root_path);
  } else {
    /* pivot_root(".", ".") stacks the old root on top of the new one; detaching it then drops
     * it without a temporary directory in the rootfs. Slave first so the detach stays here.
     * Both act on the old root only through a cwd inside it: "." after the pivot is still the
     * new root, and a recursive MS_SLAVE there would strip the propagation of every container
     * mount (a "shared" bind would end up private). */
    cleanup_close int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (old_root < 0)
      tsrun_fail("pivot_root", errno, "open the old root");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
      tsrun_fail("pivot_root", errno, "pivot_root \"%s\"", root_path);
    if (fchdir(old_root) < 0)
      tsrun_fail("pivot_root", errno, "change to the old root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
      tsrun_fail("pivot_root", errno, "make old root a slave");
    if (umount2(".", MNT_DETACH) < 0)
      tsrun_fail("pivot_root", errno, "detach old root");
  }
  if (chdir("/") < 0)
    tsrun_fail("pivot_root", errno, "chdir \"/\"");
  /* rootfsPropagation is the propagation of the container's "/" itself: pivot_root needed it
   * unshared, so "shared" is set only now. Not recursive: mounts that asked for their own
   * propagation keep it. */
  unsigned long prop = plan->rootfs_flags.propagation ? plan->rootfs_flags.propagation : MS_SLAVE | MS_REC;
  if (mount(NULL, "/", NULL, prop & ~(unsigned long)MS_REC, NULL) < 0)
    tsrun_fail("pivot_root", errno, "set propagation of the container's \"/\" (0x%lx)", prop);
  set_root("pivot_root", "/");
}

void tsrun_mask_paths(const struct tsrun_plan *plan)
{
  for (size_t i = 0; i < plan->n_masked_paths; i++) {
    const char *path = plan->masked_paths[i];
    tsrun_error_t err;
    char target[64];
    struct stat st;
    cleanup_close int fd = open_checked(path, TSRUN_CREATE_NONE, true, &err);
    if (fd < 0 && err.errnum == ENOENT)
      continue;
    if (fd < 0)
      tsrun_fail("masked paths", err.errnum, "mask \"%s\": %s", path, err.msg);
    if (fstat(fd, &st) < 0)
      tsrun_fail("masked paths", errno, "stat \"%s\"", path);
    if (S_ISLNK(st.st_mode)) {
      /* Masking the link's target could hide a file the config never named. */
      tsrun_log(TSRUN_LOG_WARN, "masked path \"%s\" is a symlink: not masked", path);
      continue;
    }
    tsrun_fd_path(target, sizeof(target), fd);
    if (S_ISDIR(st.st_mode)) {
      if (mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL) < 0)
        tsrun_fail("masked paths", errno, "mask \"%s\" with tmpfs", path);
    } else if (mount("/dev/null", target, NULL, MS_BIND, NULL) < 0) {
      tsrun_fail("masked paths", errno, "mask \"%s\" with \"/dev/null\"", path);
    }
  }
}

void tsrun_readonly_paths(const struct tsrun_plan *plan)
{
  for (size_t i = 0; i < plan->n_readonly_paths; i++) {
    const char *path = plan->readonly_paths[i];
    tsrun_error_t err;
    char target[64];
    cleanup_close int fd = open_checked(path, TSRUN_CREATE_NONE, false, &err);
    if (fd < 0 && err.errnum == ENOENT)
      continue;
    if (fd < 0)
      tsrun_fail("readonly paths", err.errnum, "readonly \"%s\": %s", path, err.msg);
    tsrun_fd_path(target, sizeof(target), fd);
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
      tsrun_fail("readonly paths", errno, "bind \"%s\" on itself", path);
    close(fd);
    fd = open_checked(path, TSRUN_CREATE_NONE, false, &err);
    if (fd < 0)
      tsrun_fail("readonly paths", err.errnum, "reopen \"%s\": %s", path, err.msg);
    tsrun_fd_path(target, sizeof(target), fd);
    if (bind_remount(target, MS_RDONLY | MS_REC) < 0)
      tsrun_fail("readonly paths", errno, "remount \"%s\" read-only", path);
  }
}

void tsrun_readonly_root(const struct tsrun_plan *plan)
{
  if ((plan->rootfs_flags.flags & TSRUN_ROOTFS_READONLY) && bind_remount("/", MS_RDONLY) < 0)
    tsrun_fail("rootfs", errno, "remount \"/\" read-only");
}

void tsrun_mounts_done(void)
{
  if (root_fd >= 0)
    close(root_fd);
  root_fd = -1;
}

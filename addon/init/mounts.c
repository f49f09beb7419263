/* The container's filesystem: rootfs propagation and self-bind, config mounts, devices and symlinks
 * (all resolved inside the rootfs and mounted by fd through the verified procfs, procfs.h, so
 * neither a symlink planted in the rootfs nor a mount over the container's /proc can redirect a
 * mount onto the host), pivot_root, masked and read-only paths, /dev/console. */
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

#include "bindsrc.h"
#include "cleanup.h"
#include "inroot.h"
#include "lsm.h"
#include "procfs.h"
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
static unsigned long locked_flags(int target)
{
  struct statvfs sv;
  unsigned long flags = 0;
  if (fstatvfs(target, &sv) < 0)
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

static int bind_remount(int target, unsigned long flags)
{
  flags |= MS_REMOUNT | MS_BIND;
  if (tsrun_mount_fds(NULL, -1, target, NULL, flags, NULL) == 0)
    return 0;
  if (errno != EPERM)
    return -1;
  unsigned long extra = locked_flags(target);
  if ((flags | extra) == flags) {
    errno = EPERM;
    return -1;
  }
  return tsrun_mount_fds(NULL, -1, target, NULL, flags | extra, NULL);
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

/* Our mount namespace's mountinfo, read through the verified procfs. */
static FILE *open_mountinfo(const char *step)
{
  tsrun_error_t err;
  int fd = tsrun_procfs_open("thread-self/mountinfo", O_RDONLY, &err);
  if (fd < 0)
    tsrun_fail_error(step, &err);
  FILE *f = fdopen(fd, "re");
  if (f == NULL)
    tsrun_fail(step, errno, "read \"/proc/thread-self/mountinfo\"");
  return f;
}

/* pivot_root refuses a new root whose parent mount is shared; with rootfsPropagation "shared" it
 * can be, so the mount holding the rootfs directory is made private (only in our namespace). */
static void make_parent_private(const char *rootfs)
{
  FILE *f = open_mountinfo("rootfs");
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
  if (!tsrun_plan_has_namespace(plan, CLONE_NEWNS)) {
    if (!plan->host_mount_namespace)
      tsrun_fail("rootfs", EINVAL, "refusing to set up the rootfs without a mount namespace");
    /* Node asked for it (check_init): the mounts go below the rootfs in the caller's namespace;
     * nothing of the host's tree is re-propagated or bound. */
    if (realpath(plan->rootfs, real) == NULL)
      tsrun_fail("rootfs", errno, "resolve rootfs \"%s\"", plan->rootfs);
    set_root("rootfs", real);
    return;
  }
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

/* "rro" and friends: the attributes on the mount at fd and on every mount below it. */
static void set_recursive_attrs(int fd, const struct tsrun_mount *m)
{
  struct mount_attr attr = { .attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr };
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) == 0)
    return;
  if (errno == ENOSYS)
    tsrun_fail("mount", errno, "recursive mount options on \"%s\" need Linux 5.12", m->destination);
  tsrun_fail("mount", errno, "set recursive attributes of \"%s\"", m->destination);
}

/* A filesystem mount with data (the config's, or tmpfs_mode_data's); one marked MountKind.Label
 * gets linux.mountLabel as its SELinux context (as runc, whatever the host: without SELinux the
 * kernel refuses the option). An mqueue the kernel will not label (older kernels) is mounted
 * without the option and its root labeled as a file, runc's fallback: *label_root says so. */
static int mount_fs(const char *src, int fd, const struct tsrun_mount *m, const char *data,
                    const char *label, bool *label_root)
{
  unsigned long flags = m->flags & ~(uint64_t)PROPAGATION_FLAGS;
  *label_root = false;
  if (!label || !(m->kind & TSRUN_MOUNT_LABEL))
    return tsrun_mount_fds(src, -1, fd, m->type, flags, data);
  char labeled[PATH_MAX];
  tsrun_error_t err;
  if (tsrun_lsm_mount_data(data ? data : "", label, labeled, sizeof(labeled), &err) < 0)
    tsrun_fail("mount", err.errnum, "mount \"%s\" on \"%s\": %s", m->source, m->destination, err.msg);
  int r = tsrun_mount_fds(src, -1, fd, m->type, flags, labeled);
  if (r == 0 || strcmp(m->type, "mqueue") != 0)
    return r;
  r = tsrun_mount_fds(src, -1, fd, m->type, flags, data);
  *label_root = r == 0;
  return r;
}

/* A tmpfs over a directory that exists keeps that directory's mode unless the config says
 * mode= (the newest runc: "mode=<its mode>" goes first in the data, so a later mode= wins); over a
 * new directory it gets the kernel's default, 1777. Returns the data to mount with (malloc'ed),
 * or NULL to use the config's as is. */
static char *tmpfs_mode_data(const struct tsrun_mount *m)
{
  tsrun_error_t err;
  struct stat st;
  cleanup_close int existing = open_checked(m->destination, TSRUN_CREATE_NONE, false, &err);
  if (existing < 0 || fstat(existing, &st) < 0 || !S_ISDIR(st.st_mode))
    return NULL;
  size_t size = strlen(m->data) + 16;
  char *data = malloc(size);
  if (data == NULL)
    tsrun_fail("mount", ENOMEM, "tmpfs options of \"%s\"", m->destination);
  snprintf(data, size, "mode=%04o%s%s", (unsigned)(st.st_mode & 07777), m->data[0] ? "," : "", m->data);
  return data;
}

static void mount_one(const struct tsrun_mount *m, size_t index, const char *label)
{
  tsrun_error_t err;
  bool is_bind = m->kind & TSRUN_MOUNT_BIND;
  enum tsrun_create create = TSRUN_CREATE_DIR;
  struct stat st;
  /* A source we cannot stat ourselves (a user namespace's root before a 0700 host directory) is
   * bound from the fd stage 0 opened for it, if it could (bindsrc.c); as runc does. */
  int source_fd = -1;
  bool have_source = false;
  if (is_bind) {
    have_source = stat(m->source, &st) == 0;
    if (!have_source && (source_fd = tsrun_bind_source_fd(index)) >= 0)
      have_source = fstat(source_fd, &st) == 0;
  }
  if ((m->kind & TSRUN_MOUNT_CREATE_FILE) || (have_source && !S_ISDIR(st.st_mode)))
    create = TSRUN_CREATE_FILE;

  /* procfs and sysfs land exactly where the config says, never where the image points: a
   * rootfs whose /proc or /sys is a symlink (to /tmp/x, or to a path another mount then covers)
   * would put the kernel's files somewhere the masked and read-only paths do not reach
   * (CVE-2019-16884, CVE-2019-19921). As runc: the destination must be a plain directory. */
  bool kernel_fs = !is_bind && (strcmp(m->type, "proc") == 0 || strcmp(m->type, "sysfs") == 0);
  /* Looked at before the destination may be created below. */
  cleanup_free char *tmpfs_data = NULL;
  const char *data = m->data[0] ? m->data : NULL;
  if (!is_bind && strcmp(m->type, "tmpfs") == 0 && (tmpfs_data = tmpfs_mode_data(m)) != NULL)
    data = tmpfs_data;
  cleanup_close int fd = open_checked(m->destination, create, kernel_fs, &err);
  if (fd < 0)
    tsrun_fail("mount", err.errnum, "mount \"%s\" on \"%s\": %s", m->source, m->destination,
               err.msg);
  if (kernel_fs && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)))
    tsrun_fail("mount", S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR,
               "filesystem \"%s\" must be mounted on ordinary directory \"%s\"", m->type,
               m->destination);
  const char *src = m->source[0] ? m->source : m->type;
  bool label_root = false;
  if (is_bind) {
    if (tsrun_mount_fds(source_fd >= 0 ? NULL : src, source_fd, fd, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
      tsrun_fail("mount", errno, "bind \"%s\" on \"%s\"", m->source, m->destination);
  } else if (mount_fs(src, fd, m, data, label, &label_root) < 0) {
    bool labeled = label && (m->kind & TSRUN_MOUNT_LABEL);
    tsrun_fail("mount", errno, "mount \"%s\" on \"%s\"%s%s%s", m->source, m->destination,
               labeled ? " with linux.mountLabel \"" : "", labeled ? label : "",
               !labeled ? "" : tsrun_lsm_host()->selinux ? "\"" : "\" (selinux is not enabled on this host)");
  }
  if (label_root) {
    cleanup_close int root = open_checked(m->destination, TSRUN_CREATE_NONE, false, &err);
    if (root < 0 || tsrun_lsm_label_dir(tsrun_lsm_host(), root, label, &err) < 0)
      tsrun_fail("mount", err.errnum, "label \"%s\": %s", m->destination, err.msg);
  }
  unsigned long rest = m->flags & ~(uint64_t)(MS_BIND | MS_REC | MS_REMOUNT | PROPAGATION_FLAGS);
  bool recursive_attrs = m->rec_attr_set || m->rec_attr_clr;
  if ((!is_bind || rest == 0) && m->propagation == 0 && !recursive_attrs)
    return;
  /* The fd names the directory under the new mount; later passes must reach the mount itself. */
  close(fd);
  fd = open_checked(m->destination, TSRUN_CREATE_NONE, false, &err);
  if (fd < 0)
    tsrun_fail("mount", err.errnum, "reopen \"%s\": %s", m->destination, err.msg);
  if (is_bind && rest && bind_remount(fd, rest) < 0)
    tsrun_fail("mount", errno, "remount \"%s\" with flags 0x%lx", m->destination, rest);
  if (m->propagation && tsrun_mount_fds(NULL, -1, fd, NULL, m->propagation, NULL) < 0)
    tsrun_fail("mount", errno, "set propagation of \"%s\" (0x%llx)", m->destination,
               (unsigned long long)m->propagation);
  if (recursive_attrs)
    set_recursive_attrs(fd, m);
}

void tsrun_mount_all(const struct tsrun_plan *plan)
{
  tsrun_bind_sources_receive(plan);
  for (size_t i = 0; i < plan->n_mounts; i++)
    mount_one(&plan->mounts[i], i, plan->mount_label);
  tsrun_bind_sources_close();
}

void tsrun_bind_onto_file(const char *step, const char *source, const char *unsafe_dest)
{
  tsrun_error_t err;
  cleanup_close int fd = open_checked(unsafe_dest, TSRUN_CREATE_FILE, false, &err);
  if (fd < 0)
    tsrun_fail(step, err.errnum, "bind \"%s\" on \"%s\": %s", source, unsafe_dest, err.msg);
  if (tsrun_mount_fds(source, -1, fd, NULL, MS_BIND, NULL) < 0)
    tsrun_fail(step, errno, "bind \"%s\" on \"%s\"", source, unsafe_dest);
}

void tsrun_bind_console(int pty)
{
  tsrun_error_t err;
  char name[NAME_MAX + 1];
  struct stat st;
  /* The target is made here, never followed: an image or a hook that put a symlink at
   * /dev/console (to a procfs file, to a path a later mask or read-only remount would have
   * covered) must not get the pty mounted over what it points to (CVE-2025-52565). */
  cleanup_close int dir = tsrun_open_parent_in_root(root_fd, "/dev/console", name, sizeof(name), &err);
  if (dir < 0 || tsrun_check_in_root(dir, root_path, "/dev/console", &err) < 0)
    tsrun_fail("terminal", err.errnum, "\"/dev/console\": %s", err.msg);
  int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    int made = openat(dir, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0666);
    if (made < 0)
      tsrun_fail("terminal", errno, "create \"/dev/console\"");
    close(made);
    fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0)
    tsrun_fail("terminal", errno, "open \"/dev/console\"");
  cleanup_close int target = fd;
  if (fstat(target, &st) < 0)
    tsrun_fail("terminal", errno, "stat \"/dev/console\"");
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
    tsrun_fail("terminal", S_ISLNK(st.st_mode) ? ELOOP : EINVAL,
               "\"/dev/console\" is %s, not a file or a device: refusing to mount the pty on it",
               S_ISLNK(st.st_mode) ? "a symlink" : "neither");
  if (tsrun_mount_fds(NULL, pty, target, NULL, MS_BIND, NULL) < 0)
    tsrun_fail("terminal", errno, "bind the pty on \"/dev/console\"");
}

static void make_device(const struct tsrun_device *d)
{
  tsrun_error_t err;
  char name[NAME_MAX + 1], fd_name[16];
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
  int fd_dir = tsrun_procfs_fd_dir(&err);
  if (fd_dir < 0)
    tsrun_fail_error("devices", &err);
  snprintf(fd_name, sizeof(fd_name), "%d", fd);
  if (fchmodat(fd_dir, fd_name, perm, 0) < 0)
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

static bool path_below(const char *path, const char *dir)
{
  size_t dl = strlen(dir);
  if (dl == 1 && dir[0] == '/')
    return true;
  return strncmp(path, dir, dl) == 0 && (path[dl] == '/' || path[dl] == '\0');
}

/* --no-pivot leaves the host's tree in the container's mount namespace, only out of reach of
 * its chroot. A process that makes a user, mount and pid namespace of its own gets a copy where
 * the masks on the container's /proc are locked, and the kernel would then refuse it a fresh
 * procfs (mnt_too_revealing) — unless another procfs without locked mounts over its files is in
 * the namespace: the host's, below the chroot, would let it mount one without the masks. So, as runc does,
 * every procfs and sysfs outside the rootfs is detached, or covered by an empty read-only tmpfs
 * where the kernel keeps it locked. */
static void hide_host_kernel_fs(const char *rootfs)
{
  FILE *f = open_mountinfo("pivot_root");
  /* On the heap: the init stays resident while it waits for start (RSS budget). */
  enum { MAX_HIDDEN = 64 };
  char (*hidden)[PATH_MAX] = malloc(MAX_HIDDEN * sizeof(*hidden));
  char *line = NULL;
  size_t cap = 0, n_hidden = 0;
  if (hidden == NULL)
    tsrun_fail("pivot_root", ENOMEM, "hide the host's procfs and sysfs");
  while (getline(&line, &cap, f) > 0) {
    char mnt[PATH_MAX], type[64];
    const char *dash = strstr(line, " - ");
    if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
        sscanf(dash + 3, "%63s", type) != 1)
      continue;
    if (strcmp(type, "proc") != 0 && strcmp(type, "sysfs") != 0)
      continue;
    unescape_mountinfo(mnt);
    if (path_below(mnt, rootfs))
      continue;
    bool done = false;
    for (size_t i = 0; i < n_hidden && !done; i++)
      done = path_below(mnt, hidden[i]); /* went with a mount above it */
    if (done)
      continue;
    if (umount2(mnt, MNT_DETACH) < 0) {
      if (errno != EINVAL && errno != EPERM)
        tsrun_fail("pivot_root", errno, "detach the host's %s at \"%s\"", type, mnt);
      if (mount("tmpfs", mnt, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        tsrun_fail("pivot_root", errno, "cover the host's %s at \"%s\"", type, mnt);
    }
    if (n_hidden < MAX_HIDDEN)
      snprintf(hidden[n_hidden++], PATH_MAX, "%s", mnt);
  }
  free(hidden);
  free(line);
  fclose(f);
}

void tsrun_pivot_root(const struct tsrun_plan *plan)
{
  if (chdir(root_path) < 0)
    tsrun_fail("pivot_root", errno, "chdir \"%s\"", root_path);
  if (!tsrun_plan_has_namespace(plan, CLONE_NEWNS)) {
    /* The caller's mount namespace: no pivot_root or MS_MOVE of its tree, a chroot (as runc). */
    if (chroot(".") < 0 || chdir("/") < 0)
      tsrun_fail("pivot_root", errno, "chroot \"%s\"", root_path);
    set_root("pivot_root", "/");
    return;
  }
  if (plan->rootfs_flags.flags & TSRUN_ROOTFS_NO_PIVOT) {
    hide_host_kernel_fs(root_path);
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

/* The container's /dev/null, opened once for every masked file: it must be the null device
 * (char 1:3). A missing one, or one the image or a hook replaced by a file, a fifo or a symlink
 * (to /proc/sys/kernel/core_pattern, to a host file bound read-only), is an error: bound over a
 * masked path it would expose or make writable what the mask was to hide (CVE-2025-31133). */
static int open_dev_null(void)
{
  tsrun_error_t err;
  struct stat st;
  int fd = open_checked("/dev/null", TSRUN_CREATE_NONE, true, &err);
  if (fd < 0)
    tsrun_fail("masked paths", err.errnum, "masked paths need \"/dev/null\": %s", err.msg);
  if (fstat(fd, &st) < 0)
    tsrun_fail("masked paths", errno, "stat \"/dev/null\"");
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
    tsrun_fail("masked paths", EINVAL,
               "\"/dev/null\" is not the null device (mode 0%o, device %u:%u): refusing to mask with it",
               st.st_mode, major(st.st_rdev), minor(st.st_rdev));
  return fd;
}

void tsrun_mask_paths(const struct tsrun_plan *plan)
{
  if (plan->n_masked_paths == 0)
    return;
  cleanup_close int dev_null = open_dev_null();
  for (size_t i = 0; i < plan->n_masked_paths; i++) {
    const char *path = plan->masked_paths[i];
    tsrun_error_t err;
    struct stat st;
    /* A symlink is followed inside the root, as runc does: what it leads to is masked. */
    cleanup_close int fd = open_checked(path, TSRUN_CREATE_NONE, false, &err);
    if (fd < 0 && err.errnum == ENOENT)
      continue;
    if (fd < 0)
      tsrun_fail("masked paths", err.errnum, "mask \"%s\": %s", path, err.msg);
    if (fstat(fd, &st) < 0)
      tsrun_fail("masked paths", errno, "stat \"%s\"", path);
    if (S_ISDIR(st.st_mode)) {
      /* labeled, as runc's */
      char data[PATH_MAX] = "";
      if (plan->mount_label && tsrun_lsm_mount_data("", plan->mount_label, data, sizeof(data), &err) < 0)
        tsrun_fail("masked paths", err.errnum, "mask \"%s\": %s", path, err.msg);
      if (tsrun_mount_fds("tmpfs", -1, fd, "tmpfs", MS_RDONLY, data[0] ? data : NULL) < 0)
        tsrun_fail("masked paths", errno, "mask \"%s\" with tmpfs%s", path,
                   plan->mount_label ? " labeled with linux.mountLabel" : "");
    } else if (tsrun_mount_fds(NULL, dev_null, fd, NULL, MS_BIND, NULL) < 0) {
      tsrun_fail("masked paths", errno, "mask \"%s\" with \"/dev/null\"", path);
    }
  }
}

void tsrun_readonly_paths(const struct tsrun_plan *plan)
{
  for (size_t i = 0; i < plan->n_readonly_paths; i++) {
    const char *path = plan->readonly_paths[i];
    tsrun_error_t err;
    cleanup_close int fd = open_checked(path, TSRUN_CREATE_NONE, false, &err);
    if (fd < 0 && err.errnum == ENOENT)
      continue;
    if (fd < 0)
      tsrun_fail("readonly paths", err.errnum, "readonly \"%s\": %s", path, err.msg);
    if (tsrun_mount_fds(NULL, fd, fd, NULL, MS_BIND | MS_REC, NULL) < 0)
      tsrun_fail("readonly paths", errno, "bind \"%s\" on itself", path);
    close(fd);
    fd = open_checked(path, TSRUN_CREATE_NONE, false, &err);
    if (fd < 0)
      tsrun_fail("readonly paths", err.errnum, "reopen \"%s\": %s", path, err.msg);
    if (bind_remount(fd, MS_RDONLY | MS_REC) < 0)
      tsrun_fail("readonly paths", errno, "remount \"%s\" read-only", path);
  }
}

void tsrun_readonly_root(const struct tsrun_plan *plan)
{
  if (plan->rootfs_flags.flags & TSRUN_ROOTFS_READONLY_DEV) {
    /* Keeping the flags it has (nosuid, noexec, ...): a bind remount sets them all anew. */
    cleanup_close int dev = open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dev < 0 || bind_remount(dev, locked_flags(dev) | MS_RDONLY) < 0)
      tsrun_fail("rootfs", errno, "remount \"/dev\" read-only");
  }
  if (!(plan->rootfs_flags.flags & TSRUN_ROOTFS_READONLY))
    return;
  cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || bind_remount(root, MS_RDONLY) < 0)
    tsrun_fail("rootfs", errno, "remount \"/\" read-only");
}

void tsrun_mounts_done(void)
{
  if (root_fd >= 0)
    close(root_fd);
  root_fd = -1;
}

/* Run tsrun-init from a sealed copy of itself (CVE-2019-5736). Between clone and the container's
 * execve the init is still this binary, and a process in the container (a startContainer hook, or
 * another container sharing its pid namespace) can open /proc/<init>/exe. If that link led to the
 * host's file, a write through it (once the init has exec'd and released ETXTBSY) would replace
 * tsrun-init for every later container. So, before anything else, the helper copies itself into a
 * memfd, seals it against every change and re-executes from it: /proc/<pid>/exe then names an
 * anonymous, immutable file, and the host path is never reachable from the container. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "selfexec.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3; older kernels reject it with EINVAL */
#endif

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

/* The seals, not a marker in argv or environ, decide: a marker proves nothing about what
 * /proc/self/exe points at, the seals are the property we need. */
static int is_sealed(int fd)
{
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS;
}

/* *fd is -1 on success when the kernel has no memfd_create (before 3.17): nothing to protect
 * with, so we run as we are and say nothing. */
static int make_memfd(int *fd, tsrun_error_t *err)
{
  /* MFD_EXEC: with vm.memfd_noexec=1 (6.3+) a memfd is otherwise sealed non-executable and the
   * fexecve below would fail with EACCES. Kernels before 6.3 do not know the flag. */
  *fd = memfd_create("tsrun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (*fd < 0 && errno == EINVAL)
    *fd = memfd_create("tsrun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (*fd >= 0 || errno == ENOSYS)
    return 0;
  if (errno == EACCES)
    return tsrun_error(err, errno, "memfd_create: executable memfds are refused (vm.memfd_noexec=2?)");
  return tsrun_error(err, errno, "memfd_create");
}

static int copy_all(int dst, int src, off_t size, tsrun_error_t *err)
{
  off_t done = 0;
  while (done < size) {
    /* sendfile, not copy_file_range: since 5.19 that one refuses a copy between two different
     * filesystems (EXDEV), and the binary never lives on the memfd's internal tmpfs. */
    ssize_t n = sendfile(dst, src, NULL, (size_t)(size - done));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return tsrun_error(err, errno, "copy \"/proc/self/exe\" into a memfd (sendfile)");
    }
    if (n == 0)
      return tsrun_error(err, EIO, "copy \"/proc/self/exe\" into a memfd: short by %lld bytes",
                         (long long)(size - done));
    done += n;
  }
  return 0;
}

int tsrun_exec_sealed_self(char **argv, tsrun_error_t *err)
{
  cleanup_close int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0)
    return tsrun_error(err, errno, "open \"/proc/self/exe\"");
  if (is_sealed(exe))
    return 0;

  cleanup_close int mem = -1;
  if (make_memfd(&mem, err) < 0)
    return -1;
  if (mem < 0)
    return 0;

  struct stat st;
  if (fstat(exe, &st) < 0)
    return tsrun_error(err, errno, "fstat \"/proc/self/exe\"");
  if (copy_all(mem, exe, st.st_size, err) < 0)
    return -1;
  if (fcntl(mem, F_ADD_SEALS, REQUIRED_SEALS) < 0)
    return tsrun_error(err, errno, "seal the memfd copy of tsrun-init (F_ADD_SEALS)");
  /* Checked here, not only after the exec: a copy that does not pass is_sealed() would be
   * copied again by the new image, forever. */
  if (!is_sealed(mem))
    return tsrun_error(err, EPERM, "the memfd copy of tsrun-init lacks its seals after F_ADD_SEALS");

  /* Same argv, same (empty) environ; the sync socket and preserved fds are not close-on-exec
   * yet (parse_sync_fd runs after us), the memfd and exe fds are. fexecve of an O_CLOEXEC fd
   * works for an ELF binary: the kernel holds the file before it closes the fd. */
  fexecve(mem, argv, environ);
  return tsrun_error(err, errno, "fexecve the sealed memfd copy of tsrun-init");
}

/* Scope-exit release of fds and buffers (crun style): a function may return early anywhere and
 * nothing leaks. Ownership moves out by resetting the variable to -1 / NULL before returning. */
#ifndef TSRUN_CLEANUP_H
#define TSRUN_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void tsrun_close_fd(int *fd)
{
  if (*fd >= 0) {
    int saved = errno; /* the caller may be about to report the errno of the real failure */
    close(*fd);
    errno = saved;
  }
}

static inline void tsrun_free_ptr(void *p)
{
  int saved = errno;
  free(*(void **)p);
  errno = saved;
}

#define cleanup_close __attribute__((cleanup(tsrun_close_fd)))
#define cleanup_free __attribute__((cleanup(tsrun_free_ptr)))

/* Hand an fd out of a cleanup_close variable. */
static inline int tsrun_steal_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

#endif

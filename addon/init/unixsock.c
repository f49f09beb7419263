#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "sync.h"
#include "unixsock.h"

int tsrun_unix_connect(const char *step, const char *what, const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof(addr.sun_path))
    tsrun_fail(step, ENAMETOOLONG, "%s \"%s\"", what, path);
  strcpy(addr.sun_path, path);
  cleanup_close int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    tsrun_fail(step, errno, "socket for %s \"%s\"", what, path);
  if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    tsrun_fail(step, errno, "connect %s \"%s\"", what, path);
  return tsrun_steal_fd(&sock);
}

void tsrun_unix_send_fd(const char *step, const char *what, int sock, const void *data, size_t len, int fd)
{
  struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctrl;
  memset(&ctrl, 0, sizeof(ctrl));
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
                        .msg_controllen = sizeof(ctrl.buf) };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    ;
  if (n < 0)
    tsrun_fail(step, errno, "send to %s", what);
  /* The rest, if the socket took only part (the fd went with the first bytes). */
  for (size_t sent = (size_t)n; sent < len; sent += (size_t)n) {
    while ((n = send(sock, (const char *)data + sent, len - sent, MSG_NOSIGNAL)) < 0 && errno == EINTR)
      ;
    if (n < 0)
      tsrun_fail(step, errno, "send to %s", what);
  }
}

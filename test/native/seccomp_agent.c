/* A seccomp notify agent for the integration tests: listens on argv[1], takes one connection,
 * saves the container process state it is sent to argv[2] (the listener fd arrives with it by
 * SCM_RIGHTS), then answers every notification with success (return value 0, no errno) without
 * doing the syscall, until the filter's processes are gone. Answered notifications are counted in
 * argv[2].count. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* Whether buf holds one whole JSON object: runtimes need not close the connection after it (runc
 * 1.1 keeps it open), so the end of the object is the end of the state. */
static int complete_object(const char *buf, size_t len)
{
  int depth = 0, in_string = 0;
  for (size_t i = 0; i < len; i++) {
    char c = buf[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '{') {
      depth++;
    } else if (c == '}' && --depth == 0) {
      return 1;
    }
  }
  return 0;
}

static void die(const char *what)
{
  perror(what);
  exit(1);
}

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: seccomp_agent SOCKET STATE_FILE\n");
    return 2;
  }
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", argv[1]);
  if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(srv, 1) < 0)
    die("listen");
  printf("ready\n");
  fflush(stdout);
  int conn = accept(srv, NULL, NULL);
  if (conn < 0)
    die("accept");

  static char state[65536];
  size_t len = 0;
  int listener = -1;
  for (;;) {
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctrl;
    struct iovec iov = { .iov_base = state + len, .iov_len = sizeof(state) - 1 - len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf) };
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0)
      die("recvmsg");
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      memcpy(&listener, CMSG_DATA(c), sizeof(int));
    if (n == 0)
      break; /* the runtime closed the connection after the state */
    len += (size_t)n;
    if (complete_object(state, len))
      break;
  }
  close(conn);
  FILE *f = fopen(argv[2], "w");
  if (f == NULL)
    die(argv[2]);
  fprintf(f, "%.*s", (int)len, state);
  fclose(f);
  if (listener < 0) {
    fprintf(stderr, "no listener fd received\n");
    return 1;
  }

  struct seccomp_notif_sizes sizes;
  if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
    die("SECCOMP_GET_NOTIF_SIZES");
  struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
  struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
  int answered = 0;
  for (;;) {
    struct pollfd p = { .fd = listener, .events = POLLIN };
    if (poll(&p, 1, 30000) <= 0 || (p.revents & (POLLHUP | POLLERR)))
      break; /* every process of the filter is gone (or nothing for 30 s) */
    memset(req, 0, sizes.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
      if (errno == EINTR || errno == ENOENT)
        continue;
      break;
    }
    memset(resp, 0, sizes.seccomp_notif_resp);
    resp->id = req->id;
    resp->val = 0;
    resp->error = 0;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0)
      answered++;
    char count[4096];
    snprintf(count, sizeof(count), "%s.count", argv[2]);
    FILE *cf = fopen(count, "w");
    if (cf) {
      fprintf(cf, "%d\n", answered);
      fclose(cf);
    }
  }
  return 0;
}

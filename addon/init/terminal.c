/* terminal: true. The pty is made inside the container (its devpts, after pivot_root) and its
 * master handed to the --console-socket listener; the socket is connected before pivot_root,
 * while its host path still resolves. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "inroot.h"
#include "steps.h"

int tsrun_console_connect(const struct tsrun_plan *plan)
{
  if (plan->console_socket == NULL)
    return -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(plan->console_socket) >= sizeof(addr.sun_path))
    tsrun_fail("terminal", ENAMETOOLONG, "console socket \"%s\"", plan->console_socket);
  strcpy(addr.sun_path, plan->console_socket);
  cleanup_close int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    tsrun_fail("terminal", errno, "socket for \"%s\"", plan->console_socket);
  if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    tsrun_fail("terminal", errno, "connect console socket \"%s\"", plan->console_socket);
  return tsrun_steal_fd(&sock);
}

static void send_master(int sock, int master)
{
  static const char name[] = "/dev/ptmx";
  struct iovec iov = { .iov_base = (void *)name, .iov_len = sizeof(name) - 1 };
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
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  ssize_t n;
  while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    ;
  if (n < 0)
    tsrun_fail("terminal", errno, "send pty master to the console socket");
}

static int open_peer(int master)
{
  /* TIOCGPTPEER opens the slave through the master, immune to a swapped /dev/pts entry. */
  int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0)
    return fd;
  unsigned int n;
  char path[64];
  if (ioctl(master, TIOCGPTN, &n) < 0)
    tsrun_fail("terminal", errno, "get pty number");
  snprintf(path, sizeof(path), "/dev/pts/%u", n);
  fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    tsrun_fail("terminal", errno, "open \"%s\"", path);
  return fd;
}

void tsrun_console_setup(int sock, bool bind_console)
{
  cleanup_close int sock_fd = sock;
  cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    tsrun_fail("terminal", errno, "open \"/dev/ptmx\"");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    tsrun_fail("terminal", errno, "unlock pty");
  cleanup_close int slave = open_peer(master);
  send_master(sock_fd, master);
  close(master);
  master = -1;
  char source[64];
  tsrun_fd_path(source, sizeof(source), slave);
  if (bind_console)
    tsrun_bind_onto_file("terminal", source, "/dev/console");
  if (setsid() < 0)
    tsrun_fail("terminal", errno, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    tsrun_fail("terminal", errno, "set controlling terminal");
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0)
      tsrun_fail("terminal", errno, "dup2 pty onto fd %d", fd);
  if (slave <= 2)
    slave = -1; /* it is one of the stdio fds now: keep it open */
}

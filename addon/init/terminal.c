/* terminal: true. The pty is made inside the container (its devpts, after pivot_root) and its
 * master handed to the --console-socket listener; the socket is connected by stage 0, while
 * its host path still resolves with the caller's credentials. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "inroot.h"
#include "steps.h"
#include "unixsock.h"

int tsrun_console_connect(const struct tsrun_plan *plan)
{
  if (plan->console_socket == NULL)
    return -1;
  return tsrun_unix_connect("terminal", "console socket", plan->console_socket);
}

static void send_master(int sock, int master)
{
  static const char name[] = "/dev/ptmx";
  tsrun_unix_send_fd("terminal", "the console socket", sock, name, sizeof(name) - 1, master);
}

static int open_peer(int master)
{
  /* TIOCGPTPEER (4.13) opens the slave through the master: no path under /dev/pts, which the
   * container's image or a racing process could have swapped for a symlink, is ever opened. */
  int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    tsrun_fail("terminal", errno, "open the pty's peer (TIOCGPTPEER)");
  return fd;
}

void tsrun_console_setup(const struct tsrun_plan *plan, int sock, bool bind_console)
{
  cleanup_close int sock_fd = sock;
  cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    tsrun_fail("terminal", errno, "open \"/dev/ptmx\"");
  unsigned int ptn;
  if (ioctl(master, TIOCGPTN, &ptn) < 0)
    tsrun_fail("terminal", errno, "\"/dev/ptmx\" is not a pty multiplexer");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    tsrun_fail("terminal", errno, "unlock pty");
  if (plan->has_console_size) {
    /* Before the client gets the master: the process starts at the size it asked for. */
    struct winsize ws = { .ws_row = (unsigned short)plan->console_size.rows,
                          .ws_col = (unsigned short)plan->console_size.cols };
    if (ioctl(master, TIOCSWINSZ, &ws) < 0)
      tsrun_fail("terminal", errno, "set the console size %ux%u", plan->console_size.rows,
                 plan->console_size.cols);
  }
  cleanup_close int slave = open_peer(master);
  /* The process's own terminal, as runc gives it: owned by its user (still root here to do it). */
  if (plan->has_user && fchown(slave, plan->user.uid, plan->user.gid) < 0)
    tsrun_fail("terminal", errno, "chown the pty to %u:%u", plan->user.uid, plan->user.gid);
  send_master(sock_fd, master);
  close(master);
  master = -1;
  if (bind_console)
    tsrun_bind_console(slave);
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    tsrun_fail("terminal", errno, "set controlling terminal");
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0)
      tsrun_fail("terminal", errno, "dup2 pty onto fd %d", fd);
  if (slave <= 2)
    slave = -1; /* it is one of the stdio fds now: keep it open */
}

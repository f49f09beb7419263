/* createContainer and startContainer hooks, run by init inside the container's namespaces: the
 * state JSON on stdin, stdout/stderr shared with the container, an optional timeout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "protocol.h"
#include "steps.h"

#define NO_PIDFD_POLL_MS 10

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

__attribute__((noreturn)) static void exec_hook(const struct tsrun_hook *h, int in, int errpipe)
{
  static char *const no_env[] = { NULL };
  char *argv0[] = { (char *)h->path, NULL };
  if (in != 0 && dup2(in, 0) < 0)
    goto fail;
  if (in == 0 && fcntl(0, F_SETFD, 0) < 0)
    goto fail;
  execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ? h->env : no_env);
fail:;
  int e = errno;
  (void)!write(errpipe, &e, sizeof(e));
  _exit(127);
}

static void kill_and_reap(pid_t pid)
{
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

static void run_hook(const struct tsrun_hook *h, const char *what, const char *state)
{
  int in[2], ep[2];
  if (pipe2(in, O_CLOEXEC) < 0)
    tsrun_fail("hooks", errno, "%s hook \"%s\": pipe", what, h->path);
  cleanup_close int in_r = in[0], in_w = in[1];
  if (pipe2(ep, O_CLOEXEC) < 0)
    tsrun_fail("hooks", errno, "%s hook \"%s\": pipe", what, h->path);
  cleanup_close int ep_r = ep[0], ep_w = ep[1];

  pid_t pid = fork();
  if (pid < 0)
    tsrun_fail("hooks", errno, "%s hook \"%s\": fork", what, h->path);
  if (pid == 0)
    exec_hook(h, in_r, ep_w);
  close(in_r);
  in_r = -1;
  close(ep_w);
  ep_w = -1;

  int exec_errno = 0;
  ssize_t n;
  while ((n = read(ep_r, &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
    ;
  if (n == (ssize_t)sizeof(exec_errno)) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    tsrun_fail("hooks", exec_errno, "%s hook \"%s\": exec", what, h->path);
  }

  /* A hook that exits without reading its stdin must give EPIPE, not SIGPIPE the init. The
   * disposition is restored before anything else runs, so the container never inherits it. */
  struct sigaction ign = { .sa_handler = SIG_IGN }, old;
  sigaction(SIGPIPE, &ign, &old);
  fcntl(in_w, F_SETFL, O_NONBLOCK);
  cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  long long deadline = h->timeout_s ? now_ms() + h->timeout_s * 1000LL : 0;
  size_t off = 0, len = strlen(state);
  int status = 0;
  for (;;) {
    if (in_w >= 0 && off == len) {
      close(in_w);
      in_w = -1;
    }
    if (pidfd < 0) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid)
        break;
    }
    int timeout = -1;
    if (deadline) {
      long long left = deadline - now_ms();
      if (left <= 0) {
        sigaction(SIGPIPE, &old, NULL);
        kill_and_reap(pid);
        tsrun_fail("hooks", 0, "%s hook \"%s\": timed out after %us", what, h->path,
                   h->timeout_s);
      }
      timeout = (int)left;
    }
    if (pidfd < 0 && (timeout < 0 || timeout > NO_PIDFD_POLL_MS))
      timeout = NO_PIDFD_POLL_MS;
    struct pollfd fds[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = in_w, .events = POLLOUT } };
    int r = poll(fds, 2, timeout);
    if (r < 0 && errno != EINTR) {
      int e = errno;
      sigaction(SIGPIPE, &old, NULL);
      kill_and_reap(pid);
      tsrun_fail("hooks", e, "%s hook \"%s\": poll", what, h->path);
    }
    if (r > 0 && in_w >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_w, state + off, len - off);
      if (w > 0)
        off += (size_t)w;
      else if (w < 0 && errno != EAGAIN && errno != EINTR)
        off = len; /* EPIPE: the hook does not want its state; let it finish */
    }
    if (r > 0 && pidfd >= 0 && (fds[0].revents & POLLIN)) {
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
      break;
    }
  }
  sigaction(SIGPIPE, &old, NULL);
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    tsrun_fail("hooks", 0, "%s hook \"%s\": exit status %d", what, h->path, WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    tsrun_fail("hooks", 0, "%s hook \"%s\": killed by signal %d", what, h->path,
               WTERMSIG(status));
}

void tsrun_run_hooks(const struct tsrun_plan *plan, uint32_t kind)
{
  const char *what = kind == TSRUN_HOOK_CREATE_CONTAINER ? "createContainer" : "startContainer";
  for (size_t i = 0; i < plan->n_hooks; i++) {
    if (plan->hooks[i].kind != kind)
      continue;
    if (plan->hook_state[kind] == NULL)
      tsrun_fail("hooks", EPROTO, "%s hook \"%s\": no HookState in continue", what,
                 plan->hooks[i].path);
    run_hook(&plan->hooks[i], what, plan->hook_state[kind]);
  }
}

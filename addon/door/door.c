/* The tsrun executable when built as the door (build/Release/tsrun). Unless TSRUN_ENGINE=off it hands
 * the call (argv, env, cwd, umask and its stdio fds) to the resident engine (src/engine/) over a
 * root-only unix socket, does what the engine asks of the caller's own process — start a child
 * (tsrun-init, a hook) with the fds it names, signal it, report its exit, forward the signals the
 * door gets during a foreground run or exec — and exits with the status the engine sends
 * (addon/door/wire.h). So the container's init is still the caller's descendant, in the caller's
 * cgroup, with its rlimits and oom score: what a subreaper (containerd-shim, conmon) relies on.
 * With TSRUN_ENGINE=off, for a caller that is not root, and whenever the engine is not running or
 * declines, it execs Node with the JS CLI (bin/tsrun.cjs), exactly what the CLI does without a
 * door. A missing engine is started in the background for the next call: starting Node costs more
 * than running in-process.
 * Kept tiny and static: what every call pays is this program's start-up. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire.h"

#ifndef TSRUN_NODE_PATH
#define TSRUN_NODE_PATH "/usr/bin/node"
#endif
#define DEFAULT_ENGINE_DIR "/run/tsrun-engine"

extern char** environ;

/* The checkout or install this door belongs to: two levels above build/Release/tsrun. */
static char repo[PATH_MAX];

static void find_repo(void) {
  ssize_t n = readlink("/proc/self/exe", repo, sizeof(repo) - 1);
  if (n <= 0) {
    perror("tsrun: readlink /proc/self/exe");
    exit(1);
  }
  repo[n] = '\0';
  for (int up = 0; up < 3; up++) {
    char* slash = strrchr(repo, '/');
    if (slash == NULL) break;
    *slash = '\0';
  }
}

/* Runs the command in this process's place: Node with the JS CLI, as without a door. */
static void in_process(int argc, char** argv) {
  char cli[PATH_MAX + 32];
  snprintf(cli, sizeof(cli), "%s/bin/tsrun.cjs", repo);
  char** args = calloc((size_t)argc + 2, sizeof(char*));
  if (args == NULL) exit(1);
  args[0] = (char*)"node";
  args[1] = cli;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execv(TSRUN_NODE_PATH, args);
  fprintf(stderr, "tsrun: exec %s: %s\n", TSRUN_NODE_PATH, strerror(errno));
  exit(1);
}

/* FNV-1a of the install's path: one engine per install, so a door never talks to another build's engine. */
static uint64_t install_hash(void) {
  uint64_t h = 14695981039346656037ULL;
  for (const char* p = repo; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  return h;
}

static const char* engine_dir(void) {
  const char* dir = getenv("TSRUN_ENGINE_DIR");
  return dir && dir[0] == '/' ? dir : DEFAULT_ENGINE_DIR;
}

/* <engine dir>/<install hash>.sock; false if it does not fit a sockaddr_un. */
static int engine_socket_path(char* out, size_t size) {
  int len = snprintf(out, size, "%s/%016llx.sock", engine_dir(), (unsigned long long)install_hash());
  return len > 0 && (size_t)len < size;
}

/* Starts the engine detached (its own session, stdio on /dev/null, no fd of ours), not waiting for it. */
static void start_engine(const char* socket_path) {
  char js[PATH_MAX + 32];
  snprintf(js, sizeof(js), "%s/dist/engine/main.js", repo);
  char idle[64] = "";
  const char* idle_ms = getenv("TSRUN_ENGINE_IDLE_MS");
  if (idle_ms && strlen(idle_ms) < 20) snprintf(idle, sizeof(idle), "TSRUN_ENGINE_IDLE_MS=%s", idle_ms);
  char* env[] = {(char*)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", idle[0] ? idle : NULL, NULL};
  pid_t child = fork();
  if (child < 0) return;
  if (child == 0) {
    setsid();
    if (fork() != 0) _exit(0);
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || chdir("/") < 0) _exit(127);
    for (int fd = 0; fd < 3; fd++) dup2(null, fd);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    umask(022);
    char* args[] = {(char*)"node", js, (char*)socket_path, NULL};
    execve(TSRUN_NODE_PATH, args, env);
    _exit(127);
  }
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
  }
}

static int write_all(int fd, const char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The request's strings: cwd, argv[1..], environ, each NUL-terminated. */
static char* payload_of(int argc, char** argv, uint32_t* len, uint32_t* envc) {
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == NULL) return NULL;
  size_t total = strlen(cwd) + 1;
  for (int i = 1; i < argc; i++) total += strlen(argv[i]) + 1;
  *envc = 0;
  for (char** e = environ; *e; e++, (*envc)++) total += strlen(*e) + 1;
  if (total > TSRUN_DOOR_MAX_PAYLOAD) return NULL;
  char* buf = malloc(total);
  if (buf == NULL) return NULL;
  char* at = stpcpy(buf, cwd) + 1;
  for (int i = 1; i < argc; i++) at = stpcpy(at, argv[i]) + 1;
  for (char** e = environ; *e; e++) at = stpcpy(at, *e) + 1;
  *len = (uint32_t)total;
  return buf;
}

/* Sends the call; -1 when the engine cannot take it (the caller then runs it in-process). */
static int send_request(int sock, int argc, char** argv) {
  for (int fd = 0; fd < TSRUN_DOOR_NFDS; fd++) {
    if (fcntl(fd, F_GETFD) < 0) return -1; /* a closed stdio fd cannot be sent */
  }
  struct tsrun_door_request req = {TSRUN_DOOR_MAGIC, TSRUN_DOOR_VERSION, 0, (uint32_t)(argc - 1), 0, 0};
  mode_t mask = umask(0);
  umask(mask);
  req.umask = (uint32_t)mask;
  char* payload = payload_of(argc, argv, &req.payload_len, &req.envc);
  if (payload == NULL) return -1;
  int fds[TSRUN_DOOR_NFDS] = {0, 1, 2};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(fds))];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec iov = {&req, sizeof(req)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(fds));
  memcpy(CMSG_DATA(c), fds, sizeof(fds));
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  int rc = -1;
  if (n >= 0 && write_all(sock, (const char*)&req + n, sizeof(req) - (size_t)n) == 0 &&
      write_all(sock, payload, req.payload_len) == 0)
    rc = 0;
  free(payload);
  return rc;
}

/* Reads exactly `len` bytes; -1 at EOF or on an error. */
static int read_all(int fd, void* buf, size_t len) {
  for (char* at = buf; len > 0;) {
    ssize_t n = read(fd, at, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    at += n;
    len -= (size_t)n;
  }
  return 0;
}

/* A message to the engine. One that cannot be sent is dropped: the engine has ended the call (its
 * EXIT may still be unread) or died (the connection's end says so). */
static void tell(int sock, uint32_t type, const void* payload, uint32_t len) {
  char buf[sizeof(struct tsrun_door_msg) + 16];
  if (len > sizeof(buf) - sizeof(struct tsrun_door_msg)) return;
  struct tsrun_door_msg head = {type, len};
  memcpy(buf, &head, sizeof(head));
  memcpy(buf + sizeof(head), payload, len);
  (void)write_all(sock, buf, sizeof(head) + len);
}

/* A process the engine had the door start: the door's child, as it would be the in-process CLI's. */
struct child {
  uint32_t id;
  int pidfd; /* -1: a free slot */
};

/* One served call: the connection, the children, the signals forwarded. */
struct session {
  int sock;
  int serving;
  struct child children[TSRUN_DOOR_MAX_CHILDREN];
  sigset_t caller_mask; /* what the door was started with, and its children get */
  int sigfd;            /* -1 until the engine asks for signals */
};

static uint32_t u32_at(const char* p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

static void died_mid_call(void) {
  fprintf(stderr, "tsrun: the tsrun engine exited during the call\n");
  exit(1);
}

/* A message the engine of this very build would never send. */
static void malformed(const char* what) {
  fprintf(stderr, "tsrun: malformed message from the tsrun engine: %s\n", what);
  exit(1);
}

/* In the child: fd i becomes fd_map[i]'s source, everything else closes at exec; exec or report errno. */
static void exec_child(const struct session* s, const int32_t* fd_map, uint32_t nfds, const int* received, int nreceived,
                       const char* file, const char* cwd, char** argv, char** envp, int errfd) {
  sigprocmask(SIG_SETMASK, &s->caller_mask, NULL);
  int moved = fcntl(errfd, F_DUPFD_CLOEXEC, (int)nfds); /* out of the targets' way */
  if (moved >= 0) errfd = moved;
  int high[TSRUN_DOOR_MAX_SPAWN_FDS * 4];
  for (uint32_t i = 0; i < nfds; i++) {
    int src = fd_map[i] >= 0 ? fd_map[i] : fd_map[i] <= -2 && -2 - fd_map[i] < nreceived ? received[-2 - fd_map[i]] : -1;
    /* above every target first: a source may be another target's number */
    high[i] = src < 0 ? -1 : fcntl(src, F_DUPFD_CLOEXEC, (int)nfds);
    if (src >= 0 && high[i] < 0) goto fail;
  }
  for (uint32_t i = 0; i < nfds; i++) {
    if (high[i] < 0) close((int)i);
    else if (dup2(high[i], (int)i) < 0) goto fail;
  }
  if (syscall(SYS_close_range, nfds, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0) {
    for (int fd = (int)nfds; fd < 1024; fd++)
      if (fd != errfd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (cwd[0] && chdir(cwd) < 0) goto fail;
  execve(file, argv, envp);
fail:;
  int err = errno;
  ssize_t ignored = write(errfd, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}

/* SPAWN: start the child, answer SPAWNED with its pid or -errno. */
static void spawn(struct session* s, const char* p, uint32_t len, const int* received, int nreceived) {
  const char* end = p + len;
  if (len < 8) malformed("spawn");
  uint32_t id = u32_at(p), nfds = u32_at(p + 4);
  if (nfds > TSRUN_DOOR_MAX_SPAWN_FDS * 4 || (size_t)(end - p) < 16 + 4 * (size_t)nfds) malformed("spawn fds");
  int32_t fd_map[TSRUN_DOOR_MAX_SPAWN_FDS * 4];
  memcpy(fd_map, p + 8, 4 * nfds);
  const char* at = p + 8 + 4 * nfds;
  uint32_t argc = u32_at(at), envc = u32_at(at + 4);
  at += 8;
  if (argc == 0 || argc > 65536 || envc > 65536) malformed("spawn argv");
  char** argv = calloc(argc + 1, sizeof(char*));
  char** envp = calloc(envc + 1, sizeof(char*));
  const char* strings[2];
  if (argv == NULL || envp == NULL) malformed("spawn: out of memory");
  for (uint32_t i = 0; i < 2 + argc + envc; i++) {
    const char* nul = memchr(at, '\0', (size_t)(end - at));
    if (at >= end || nul == NULL) malformed("spawn strings");
    if (i < 2) strings[i] = at;
    else if (i < 2 + argc) argv[i - 2] = (char*)at;
    else envp[i - 2 - argc] = (char*)at;
    at = nul + 1;
  }
  int32_t answer[2] = {(int32_t)id, 0};
  int slot = -1;
  for (int i = 0; i < TSRUN_DOOR_MAX_CHILDREN && slot < 0; i++)
    if (s->children[i].pidfd < 0) slot = i;
  int errpipe[2];
  if (slot < 0) {
    answer[1] = -EAGAIN;
  } else if (pipe2(errpipe, O_CLOEXEC) < 0) {
    answer[1] = -errno;
  } else {
    pid_t pid = fork();
    if (pid == 0) exec_child(s, fd_map, nfds, received, nreceived, strings[0], strings[1], argv, envp, errpipe[1]);
    close(errpipe[1]);
    int err = 0;
    if (pid < 0) {
      err = errno;
    } else {
      ssize_t n;
      do {
        n = read(errpipe[0], &err, sizeof(err));
      } while (n < 0 && errno == EINTR);
      if (n != (ssize_t)sizeof(err)) err = 0;
    }
    close(errpipe[0]);
    int pidfd = err == 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
    if (err == 0 && pidfd < 0) {
      err = errno;
      kill(pid, SIGKILL);
    }
    if (err != 0) {
      if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
      answer[1] = -err;
    } else {
      fcntl(pidfd, F_SETFD, FD_CLOEXEC);
      s->children[slot] = (struct child){id, pidfd};
      answer[1] = pid;
    }
  }
  free(argv);
  free(envp);
  tell(s->sock, TSRUN_DOOR_SPAWNED, answer, sizeof(answer));
}

/* FORWARD: block the engine's signals and read them from a signalfd, or give them back. */
static void forward(struct session* s, uint64_t mask) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig <= 64; sig++)
    if ((mask >> (sig - 1)) & 1 && sig != SIGKILL && sig != SIGSTOP) sigaddset(&set, sig);
  if (mask == 0) {
    if (s->sigfd >= 0) close(s->sigfd);
    s->sigfd = -1;
    sigprocmask(SIG_SETMASK, &s->caller_mask, NULL);
    return;
  }
  int fd = signalfd(s->sigfd, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd >= 0) s->sigfd = fd;
  sigset_t blocked = s->caller_mask;
  for (int sig = 1; sig <= 64; sig++)
    if (sigismember(&set, sig) == 1) sigaddset(&blocked, sig);
  sigprocmask(SIG_SETMASK, &blocked, NULL);
}

/* One message from the engine; returns its exit status for EXIT, -1 to go on, -2 for FALLBACK. */
static int handle_message(struct session* s) {
  struct tsrun_door_msg head;
  int received[TSRUN_DOOR_MAX_SPAWN_FDS];
  int nreceived = 0;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(received))];
  } control;
  struct iovec iov = {&head, sizeof(head)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
  ssize_t n;
  do {
    n = recvmsg(s->sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  } while (n < 0 && errno == EINTR);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count && nreceived < TSRUN_DOOR_MAX_SPAWN_FDS; i++) memcpy(&received[nreceived++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (n != (ssize_t)sizeof(head) || (msg.msg_flags & MSG_CTRUNC)) {
    if (!s->serving) return -2;
    died_mid_call();
  }
  if (head.len > TSRUN_DOOR_MAX_PAYLOAD) malformed("length");
  char* payload = malloc(head.len + 1);
  if (payload == NULL || read_all(s->sock, payload, head.len) < 0) died_mid_call();
  int result = -1;
  switch (head.type) {
    case TSRUN_DOOR_EXIT:
      if (head.len < 4) malformed("exit");
      result = (int)(u32_at(payload) & 0xff);
      break;
    case TSRUN_DOOR_FALLBACK:
      result = -2;
      break;
    case TSRUN_DOOR_SERVING:
      s->serving = 1;
      break;
    case TSRUN_DOOR_SPAWN:
      spawn(s, payload, head.len, received, nreceived);
      break;
    case TSRUN_DOOR_KILL:
      if (head.len < 8) malformed("kill");
      for (int i = 0; i < TSRUN_DOOR_MAX_CHILDREN; i++)
        if (s->children[i].pidfd >= 0 && s->children[i].id == u32_at(payload))
          syscall(SYS_pidfd_send_signal, s->children[i].pidfd, (int)u32_at(payload + 4), NULL, 0);
      break;
    case TSRUN_DOOR_FORWARD: {
      if (head.len < 8) malformed("forward");
      uint64_t mask;
      memcpy(&mask, payload, sizeof(mask));
      forward(s, mask);
      break;
    }
    default:
      malformed("type");
  }
  for (int i = 0; i < nreceived; i++) close(received[i]);
  free(payload);
  return result;
}

/* A child's pidfd is readable: reap it and tell the engine its raw wait status. */
static void reap(struct session* s, struct child* c) {
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  int r;
  do {
    r = (int)syscall(SYS_waitid, 3 /* P_PIDFD */, c->pidfd, &info, WEXITED, NULL);
  } while (r < 0 && errno == EINTR);
  int32_t status = 0;
  if (info.si_code == CLD_EXITED) status = (info.si_status & 0xff) << 8;
  else if (info.si_code == CLD_KILLED) status = info.si_status & 0x7f;
  else if (info.si_code == CLD_DUMPED) status = (info.si_status & 0x7f) | 0x80;
  close(c->pidfd);
  c->pidfd = -1;
  int32_t answer[2] = {(int32_t)c->id, status};
  tell(s->sock, TSRUN_DOOR_CHILD_EXIT, answer, sizeof(answer));
}

static void relay_signals(struct session* s) {
  struct signalfd_siginfo info;
  while (read(s->sigfd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
    int32_t sig = (int32_t)info.ssi_signo;
    tell(s->sock, TSRUN_DOOR_SIGNAL, &sig, sizeof(sig));
  }
}

/* Serves the engine until it says EXIT (exits with it) or FALLBACK / declines (returns). */
static void serve_session(int sock) {
  struct session s = {.sock = sock, .serving = 0, .sigfd = -1};
  for (int i = 0; i < TSRUN_DOOR_MAX_CHILDREN; i++) s.children[i].pidfd = -1;
  sigprocmask(SIG_SETMASK, NULL, &s.caller_mask);
  for (;;) {
    struct pollfd fds[2 + TSRUN_DOOR_MAX_CHILDREN];
    struct child* owner[2 + TSRUN_DOOR_MAX_CHILDREN];
    nfds_t n = 0;
    fds[n] = (struct pollfd){sock, POLLIN, 0};
    owner[n++] = NULL;
    if (s.sigfd >= 0) {
      fds[n] = (struct pollfd){s.sigfd, POLLIN, 0};
      owner[n++] = NULL;
    }
    for (int i = 0; i < TSRUN_DOOR_MAX_CHILDREN; i++) {
      if (s.children[i].pidfd < 0) continue;
      fds[n] = (struct pollfd){s.children[i].pidfd, POLLIN, 0};
      owner[n++] = &s.children[i];
    }
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      died_mid_call();
    }
    /* children and signals first: what they tell must reach the engine before it ends the call
     * (an EXIT already sent is read all the same, below) */
    for (nfds_t i = 1; i < n; i++) {
      if (!fds[i].revents) continue;
      if (owner[i] != NULL) reap(&s, owner[i]);
      else relay_signals(&s);
    }
    if (fds[0].revents) {
      int result = handle_message(&s);
      if (result >= 0) exit(result);
      if (result == -2) {
        sigprocmask(SIG_SETMASK, &s.caller_mask, NULL);
        return;
      }
    }
  }
}

/* Serves the call through the engine if it can; returns only when the call is to run in-process. */
static void through_engine(int argc, char** argv) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (!engine_socket_path(addr.sun_path, sizeof(addr.sun_path))) return;
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return;
  if (connect(sock, (struct sockaddr*)&addr, sizeof(addr)) < 0) {
    int err = errno;
    close(sock);
    if (err == ENOENT || err == ECONNREFUSED) start_engine(addr.sun_path);
    return;
  }
  if (send_request(sock, argc, argv) == 0) serve_session(sock);
  close(sock);
}

/* Whether this process is the host's root: uid 0 in the initial user namespace, whose uid_map is the
 * whole identity range. A root inside a user namespace (rootless podman calls its runtime so) could
 * not make the engine's directory under /run: it runs in-process at once. */
static int host_root(void) {
  if (geteuid() != 0) return 0;
  int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char map[256];
  ssize_t n = read(fd, map, sizeof(map) - 1);
  close(fd);
  if (n <= 0) return 0;
  map[n] = '\0';
  unsigned long inside, outside, count;
  char tail;
  return sscanf(map, " %lu %lu %lu %c", &inside, &outside, &count, &tail) == 3 && inside == 0 && outside == 0 &&
         count == 4294967295UL;
}

int main(int argc, char** argv) {
  find_repo();
  /* the engine serves the host's root alone (src/engine/peer.ts): others run in-process at once */
  const char* mode = getenv("TSRUN_ENGINE");
  if ((mode == NULL || strcmp(mode, "off") != 0) && host_root()) through_engine(argc, argv);
  in_process(argc, argv);
  return 1;
}

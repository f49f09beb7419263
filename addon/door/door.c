/* The tsrun executable when built as the door (build/Release/tsrun). With TSRUN_ENGINE=on it hands
 * the call (argv, env, cwd, umask and its stdio fds) to the resident engine (src/engine/) over a
 * root-only unix socket and exits with the status the engine replies; otherwise, and whenever the
 * engine is not running, declines or goes away without a reply, it execs Node with the JS CLI
 * (bin/tsrun.cjs), exactly what the tsrun command does without a door. A missing engine is
 * started in the background for the next call: starting Node costs more than running in-process.
 * Kept tiny and static: what every call pays is this program's start-up. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The engine's reply; -1 when it closed without one. */
static int read_reply(int sock, struct tsrun_door_reply* reply) {
  size_t got = 0;
  while (got < sizeof(*reply)) {
    ssize_t n = read(sock, (char*)reply + got, sizeof(*reply) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
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
  struct tsrun_door_reply reply;
  if (send_request(sock, argc, argv) < 0 || read_reply(sock, &reply) < 0) {
    close(sock);
    return;
  }
  close(sock);
  if (reply.type == TSRUN_DOOR_EXIT) exit(reply.value & 0xff);
}

int main(int argc, char** argv) {
  find_repo();
  const char* mode = getenv("TSRUN_ENGINE");
  if (mode != NULL && strcmp(mode, "on") == 0) through_engine(argc, argv);
  in_process(argc, argv);
  return 1;
}

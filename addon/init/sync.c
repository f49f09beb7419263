/* Framing over the sync socket and the helper's single error channel. Before Ready every failure
 * becomes an Error frame (Node appends strerror); after Ready the socket is gone and the failure is
 * written to the exec fifo as "E<message>: <strerror>" for `tsrun start` to report. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "protocol.h"
#include "sync.h"

static int sync_fd = -1;
static int fifo_fd = -1;
static int after_ready;

int tsrun_error(tsrun_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  va_end(ap);
  err->errnum = errnum;
  return -1;
}

void tsrun_sync_set_fd(int fd) { sync_fd = fd; }
int tsrun_sync_fd(void) { return sync_fd; }

void tsrun_sync_close(void)
{
  after_ready = 1;
  if (sync_fd >= 0)
    close(sync_fd);
  sync_fd = -1;
}

void tsrun_sync_set_fifo(int fd) { fifo_fd = fd; }


static int write_all(int fd, const void *buf, size_t len, int is_socket)
{
  const char *p = buf;
  while (len > 0) {
    /* MSG_NOSIGNAL: a vanished Node must give EPIPE, not kill the helper with SIGPIPE (an
     * ignored SIGPIPE would be inherited by the container across execve). */
    ssize_t n = is_socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void tsrun_sync_fifo_started(void)
{
  /* A start that went away must not SIGPIPE us: the container carries on as if started. */
  struct sigaction ign = { .sa_handler = SIG_IGN }, old;
  sigaction(SIGPIPE, &ign, &old);
  if (fifo_fd >= 0)
    (void)write_all(fifo_fd, "0", 1, 0);
  sigaction(SIGPIPE, &old, NULL);
}

static int read_all(int fd, void *buf, size_t len, size_t *got)
{
  char *p = buf;
  *got = 0;
  while (*got < len) {
    ssize_t n = read(fd, p + *got, len - *got);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0)
      return 0;
    *got += (size_t)n;
  }
  return 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
  p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = (v >> 24) & 0xff;
}

int tsrun_send(uint16_t type, const void *payload, size_t len)
{
  unsigned char hdr[TSRUN_FRAME_HEADER_BYTES];
  if (sync_fd < 0) {
    errno = EBADF;
    return -1;
  }
  if (len > TSRUN_MAX_FRAME_BYTES) {
    errno = EMSGSIZE;
    return -1;
  }
  put_u32(hdr, (uint32_t)len);
  hdr[4] = type & 0xff; hdr[5] = type >> 8; hdr[6] = 0; hdr[7] = 0;
  /* One buffer, one send: Log frames from stage 0 and init never interleave mid-frame. */
  cleanup_free unsigned char *frame = malloc(sizeof(hdr) + len);
  if (frame == NULL)
    return -1;
  memcpy(frame, hdr, sizeof(hdr));
  if (len)
    memcpy(frame + sizeof(hdr), payload, len);
  return write_all(sync_fd, frame, sizeof(hdr) + len, 1);
}

int tsrun_recv(uint16_t *type, char **payload, uint32_t *len, tsrun_error_t *err)
{
  unsigned char hdr[TSRUN_FRAME_HEADER_BYTES];
  size_t got;
  *payload = NULL;
  if (read_all(sync_fd, hdr, sizeof(hdr), &got) < 0)
    return tsrun_error(err, errno, "read sync socket");
  if (got == 0)
    return 0;
  if (got < sizeof(hdr))
    return tsrun_error(err, EPROTO, "truncated frame header (%zu bytes)", got);
  uint32_t n = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
  if (hdr[6] || hdr[7])
    return tsrun_error(err, EPROTO, "frame header: nonzero reserved field");
  if (n > TSRUN_MAX_FRAME_BYTES)
    return tsrun_error(err, EMSGSIZE, "frame of %u bytes exceeds %u", n, TSRUN_MAX_FRAME_BYTES);
  cleanup_free char *buf = malloc((size_t)n + 1);
  if (buf == NULL)
    return tsrun_error(err, ENOMEM, "frame of %u bytes", n);
  if (read_all(sync_fd, buf, n, &got) < 0)
    return tsrun_error(err, errno, "read sync socket");
  if (got < n)
    return tsrun_error(err, EPROTO, "truncated frame: %zu of %u bytes", got, n);
  buf[n] = '\0';
  *type = hdr[4] | hdr[5] << 8;
  *len = n;
  *payload = buf;
  buf = NULL;
  return 1;
}

void tsrun_format_errno(char *buf, size_t size, const char *msg, int errnum)
{
  if (errnum == 0) {
    snprintf(buf, size, "%s", msg);
    return;
  }
  char reason[128];
  snprintf(reason, sizeof(reason), "%s", strerror(errnum));
  reason[0] = (char)tolower((unsigned char)reason[0]);
  snprintf(buf, size, "%s: %s", msg, reason);
}

static void send_error(const char *step, int errnum, const char *msg)
{
  size_t sl = strlen(step) + 1, ml = strlen(msg) + 1;
  char payload[4 + 64 + 1024];
  if (sl > 64) sl = 64;
  if (ml > 1024) ml = 1024;
  put_u32((unsigned char *)payload, (uint32_t)errnum);
  memcpy(payload + 4, step, sl);
  payload[4 + sl - 1] = '\0';
  memcpy(payload + 4 + sl, msg, ml);
  payload[4 + sl + ml - 1] = '\0';
  (void)tsrun_send(TSRUN_MSG_ERROR, payload, 4 + sl + ml);
}

__attribute__((noreturn)) static void fail_with(const char *step, int errnum, const char *msg)
{
  if (after_ready) {
    char line[1200];
    line[0] = 'E';
    tsrun_format_errno(line + 1, sizeof(line) - 2, msg, errnum);
    size_t n = strlen(line);
    line[n++] = '\n';
    if (fifo_fd >= 0)
      (void)write_all(fifo_fd, line, n, 0);
    else
      (void)write_all(2, line + 1, n - 1, 0); /* nobody to tell but the container's stderr */
  } else if (sync_fd >= 0) {
    send_error(step, errnum, msg);
  } else {
    char line[1200];
    tsrun_format_errno(line, sizeof(line) - 1, msg, errnum);
    fprintf(stderr, "tsrun-init: %s: %s\n", step, line);
  }
  _exit(1);
}

void tsrun_fail(const char *step, int errnum, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fail_with(step, errnum, msg);
}

void tsrun_fail_error(const char *step, const tsrun_error_t *err)
{
  fail_with(step, err->errnum, err->msg);
}

static bool debug_enabled;

void tsrun_log_set_debug(bool on)
{
  debug_enabled = on;
}

void tsrun_log(uint32_t level, const char *fmt, ...)
{
  char payload[4 + 1024];
  va_list ap;
  if (sync_fd < 0 || (level == TSRUN_LOG_DEBUG && !debug_enabled))
    return;
  va_start(ap, fmt);
  vsnprintf(payload + 4, sizeof(payload) - 4, fmt, ap);
  va_end(ap);
  put_u32((unsigned char *)payload, level);
  (void)tsrun_send(TSRUN_MSG_LOG, payload, 4 + strlen(payload + 4) + 1);
}

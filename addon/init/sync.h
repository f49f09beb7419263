/* The sync socket (framing of src/protocol/protocol.ts) and the error/log channel of the helper. */
#ifndef TSRUN_SYNC_H
#define TSRUN_SYNC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A failure described where it happened, for code that must not exit (plan decoding, path
 * resolution: they are unit tested). The caller passes it to tsrun_fail_error. */
typedef struct {
  int errnum;     /* positive errno, 0 when the message says it all */
  char msg[512];
} tsrun_error_t;

/* Fills *err and returns -1, so callers write `return tsrun_error(err, errno, ...)`. */
int tsrun_error(tsrun_error_t *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void tsrun_sync_set_fd(int fd);
int tsrun_sync_fd(void);
/* After Ready the sync socket is closed: failures go to the exec fifo as "E<message>". */
void tsrun_sync_close(void);
void tsrun_sync_set_fifo(int fd);
/* Tells `tsrun start` that the init got as far as execve. */
void tsrun_sync_fifo_started(void);

int tsrun_send(uint16_t type, const void *payload, size_t len);
/* Reads one frame into a malloc'ed buffer (NUL-terminated one past len for safety).
 * Returns 1 with a frame, 0 on EOF before the first byte, -1 with *err filled. */
int tsrun_recv(uint16_t *type, char **payload, uint32_t *len, tsrun_error_t *err);

__attribute__((noreturn, format(printf, 3, 4)))
void tsrun_fail(const char *step, int errnum, const char *fmt, ...);
__attribute__((noreturn))
void tsrun_fail_error(const char *step, const tsrun_error_t *err);
/* Debug lines go to Node only when it asked for them (the Debug record: tsrun --debug). */
__attribute__((format(printf, 2, 3)))
void tsrun_log(uint32_t level, const char *fmt, ...);
void tsrun_log_set_debug(bool on);

/* Formats "msg: strerror" (lowercase) into buf; what the fifo and stderr carry. */
void tsrun_format_errno(char *buf, size_t size, const char *msg, int errnum);

#endif

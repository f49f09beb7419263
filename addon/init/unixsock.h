/* The AF_UNIX sockets of a client the helper hands fds to (--console-socket, the seccomp
 * listenerPath): connect by host path, send bytes with one fd (SCM_RIGHTS). */
#ifndef TSRUN_UNIXSOCK_H
#define TSRUN_UNIXSOCK_H

#include <stddef.h>

/* A connected SOCK_STREAM socket (close-on-exec); fails the step on any error. */
int tsrun_unix_connect(const char *step, const char *what, const char *path);
/* Sends data with fd attached to the first (and only) sendmsg; fails the step on any error. */
void tsrun_unix_send_fd(const char *step, const char *what, int sock, const void *data, size_t len, int fd);

#endif

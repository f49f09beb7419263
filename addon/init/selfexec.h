/* Re-execution of tsrun-init from a sealed memfd copy of itself (see selfexec.c). */
#ifndef TSRUN_SELFEXEC_H
#define TSRUN_SELFEXEC_H

#include "sync.h"

/* Returns 0 when already running from a sealed memfd, or when the kernel has no memfd_create
 * (nothing to protect with); otherwise re-executes and does not return, or returns -1 with *err.
 * Must run before any fd that has to survive is made close-on-exec. */
int tsrun_exec_sealed_self(char **argv, tsrun_error_t *err);

#endif

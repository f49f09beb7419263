/* Bind sources opened by stage 0, with the host's credentials, in the init's new mount namespace
 * (bindsrc.c): for a created user namespace whose root may not reach them. */
#ifndef TSRUN_BINDSRC_H
#define TSRUN_BINDSRC_H

#include <stddef.h>
#include <sys/types.h>

#include "plan.h"

/* Stage 0, before the clone: the socketpair the fds go through, when the plan needs it. */
void tsrun_bind_sources_open_channel(const struct tsrun_plan *plan);
/* The clone, first thing: drop stage 0's end. */
void tsrun_bind_sources_child(void);
/* Stage 0, after the clone: join the init's mount namespace, open every bind source there (one
 * that fails is left to the init), send the fds, return to its own namespace, close the channel. */
void tsrun_bind_sources_send(const struct tsrun_plan *plan, pid_t init);
/* The init, before its mounts: every fd stage 0 sent, by mount index. */
void tsrun_bind_sources_receive(const struct tsrun_plan *plan);
/* The fd for plan->mounts[mount_index] (O_PATH), or -1. */
int tsrun_bind_source_fd(size_t mount_index);
/* The init, once the mounts are made: no host directory fd stays open. */
void tsrun_bind_sources_close(void);

#endif

/* Resolving container paths (`unsafe` until resolved) inside a root directory fd, never leaving
 * it: openat2(RESOLVE_IN_ROOT) when the kernel has it, else a walk that opens one component at a
 * time with O_NOFOLLOW and expands symlinks itself against a stack of fds (the kernel's ".." is
 * never used, so a racing rename cannot walk us out of the root). Neither follows a procfs magic
 * link (/proc/self/fd/N, cwd, root: RESOLVE_NO_MAGICLINKS, and the walk's own check). */
#ifndef TSRUN_INROOT_H
#define TSRUN_INROOT_H

#include <stdbool.h>
#include <stddef.h>

#include "sync.h"

/* Feature probe override: tests set it to exercise the walk on kernels that have openat2. */
extern bool tsrun_inroot_no_openat2;

enum tsrun_create {
  TSRUN_CREATE_NONE, /* everything must exist */
  TSRUN_CREATE_DIR,  /* create missing directories, the last one too (mode 0755) */
  TSRUN_CREATE_FILE, /* create missing parent directories and the last as an empty file */
};

/* Returns an O_PATH|O_CLOEXEC fd for unsafe_path inside rootfd, or -1 with *err filled.
 * nofollow_last: a symlink as the last component is returned itself, not followed. */
int tsrun_open_in_root(int rootfd, const char *unsafe_path, enum tsrun_create create,
                       bool nofollow_last, tsrun_error_t *err);

/* Opens (creating as needed) the parent directory of unsafe_path inside rootfd and copies the
 * last component into name; for operations that work on a name (mknodat, symlinkat). A path
 * whose last component is "/", "." or ".." has no name and is an error. */
int tsrun_open_parent_in_root(int rootfd, const char *unsafe_path, char *name, size_t name_size,
                              tsrun_error_t *err);

/* Fails unless the file behind fd is root_path or below it (by its magic link in the verified
 * procfs, procfs.h). */
int tsrun_check_in_root(int fd, const char *root_path, const char *unsafe_path,
                        tsrun_error_t *err);

#endif

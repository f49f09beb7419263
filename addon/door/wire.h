/* What the door (addon/door/door.c) and the resident engine (src/engine/, the addon's
 * engineAccept) say to each other over the engine's unix socket. One request: this header, with
 * the caller's fds 0, 1 and 2 attached (SCM_RIGHTS), then `payload_len` bytes of NUL-terminated
 * strings: the cwd, `argc` arguments (without argv[0]), `envc` environment entries. One reply: a
 * struct tsrun_door_reply, after which the engine closes the connection; a connection closed
 * without a reply means "not served" and the door runs the command in-process. The engine reads
 * the caller's uid, gid and pid from SO_PEERCRED, never from the request. */
#ifndef TSRUN_DOOR_WIRE_H
#define TSRUN_DOOR_WIRE_H

#include <stdint.h>

#define TSRUN_DOOR_MAGIC 0x44525354u /* "TSRD" */
#define TSRUN_DOOR_VERSION 1u
#define TSRUN_DOOR_MAX_PAYLOAD (4u << 20)
#define TSRUN_DOOR_NFDS 3

struct tsrun_door_request {
  uint32_t magic;
  uint32_t version;
  uint32_t umask;
  uint32_t argc;
  uint32_t envc;
  uint32_t payload_len;
};

enum tsrun_door_reply_type {
  /* the command ran in the engine: exit with `value` */
  TSRUN_DOOR_EXIT = 1,
  /* the engine will not serve this call (another namespace, uid, a command it does not serve):
   * run it in-process */
  TSRUN_DOOR_FALLBACK = 2,
};

struct tsrun_door_reply {
  uint32_t type;
  int32_t value;
};

#endif

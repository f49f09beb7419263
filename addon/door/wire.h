/* What the door (addon/door/door.c) and the resident engine (src/engine/) say to each other over
 * the engine's unix socket.
 *
 * The door opens with one request: a struct tsrun_door_request with the caller's fds 0, 1 and 2
 * attached (SCM_RIGHTS), then `payload_len` bytes of NUL-terminated strings: the cwd, `argc`
 * arguments (without argv[0]), `envc` environment entries. The engine reads the caller's uid, gid
 * and pid from SO_PEERCRED, never from the request.
 *
 * Then messages both ways, each a struct tsrun_door_msg and `len` payload bytes (little-endian
 * u32/i32 fields; strings NUL-terminated). The engine answers FALLBACK (the door runs the command
 * in-process) or SERVING; a served call then asks the door for what must be the caller's own doing
 * (SPAWN a process as its child, KILL one, FORWARD its signals) and ends with EXIT, after which
 * the engine closes the connection. A connection closed before SERVING means "not served" (the
 * door runs the command in-process); closed after it, the engine died mid-call and the door says
 * so and fails. */
#ifndef TSRUN_DOOR_WIRE_H
#define TSRUN_DOOR_WIRE_H

#include <stdint.h>

#define TSRUN_DOOR_MAGIC 0x44525354u /* "TSRD" */
#define TSRUN_DOOR_VERSION 2u
#define TSRUN_DOOR_MAX_PAYLOAD (4u << 20)
#define TSRUN_DOOR_NFDS 3
/* fds one SPAWN may attach, and the most children a call may have at once */
#define TSRUN_DOOR_MAX_SPAWN_FDS 8
#define TSRUN_DOOR_MAX_CHILDREN 32

struct tsrun_door_request {
  uint32_t magic;
  uint32_t version;
  uint32_t umask;
  uint32_t argc;
  uint32_t envc;
  uint32_t payload_len;
};

struct tsrun_door_msg {
  uint32_t type;
  uint32_t len;
};

enum tsrun_door_msg_type {
  /* engine → door. i32 status: the command ran in the engine, exit with it */
  TSRUN_DOOR_EXIT = 1,
  /* engine → door. The engine will not serve this call (another namespace, uid, a command it does
   * not serve): run it in-process */
  TSRUN_DOOR_FALLBACK = 2,
  /* engine → door. The engine runs the call: from now on a closed connection is its failure */
  TSRUN_DOOR_SERVING = 3,
  /* engine → door. u32 id, u32 nfds, i32 fd_map[nfds], u32 argc, u32 envc, then the strings
   * file, cwd ("" for the door's own), argv[argc] (argv[0] first), env[envc]. Child fd i gets
   * fd_map[i]: >= 0 the door's own fd of that number, -1 none (closed), -2-k the k-th fd attached
   * to this message (SCM_RIGHTS). Answered with SPAWNED, later CHILD_EXIT. */
  TSRUN_DOOR_SPAWN = 4,
  /* engine → door. u32 id, i32 signal: sent to that child through the door's pidfd (nothing once
   * it is reaped) */
  TSRUN_DOOR_KILL = 5,
  /* engine → door. u64 mask (bit n-1 for signal n): the signals the door gets from now on go to
   * the engine as SIGNAL instead of their default action; 0 gives them back */
  TSRUN_DOOR_FORWARD = 6,

  /* door → engine. u32 id, i32 pid, or -errno when the child could not be started */
  TSRUN_DOOR_SPAWNED = 16,
  /* door → engine. u32 id, i32 raw wait status: the child exited and the door reaped it */
  TSRUN_DOOR_CHILD_EXIT = 17,
  /* door → engine. i32 signal: the door received it (see FORWARD) */
  TSRUN_DOOR_SIGNAL = 18,
};

#endif

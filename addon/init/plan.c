/* Decoding of PLAN and CONTINUE records. Every read is bounds-checked against the record's value:
 * a short value, a string without its NUL, leftover bytes or an unknown tag is an error naming
 * the tag, never a crash. No allocation is sized by an untrusted count before that count is known
 * to fit in the bytes that remain. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "protocol.h"

/* tsrun_error always returns -1; saying so here lets the compiler see outputs are set on 0. */
#define FAIL(...) (tsrun_error(__VA_ARGS__), -1)

struct reader {
  char *p;
  size_t left;
  const char *tag;
  tsrun_error_t *err;
};

static const char *const tag_names[] = {
  [TSRUN_TAG_NAMESPACES] = "Namespaces", [TSRUN_TAG_NS_PATH] = "NsPath",
  [TSRUN_TAG_TIME_OFFSET] = "TimeOffset", [TSRUN_TAG_HOSTNAME] = "Hostname",
  [TSRUN_TAG_DOMAINNAME] = "Domainname", [TSRUN_TAG_ROOTFS] = "Rootfs",
  [TSRUN_TAG_ROOTFS_FLAGS] = "RootfsFlags", [TSRUN_TAG_MOUNT] = "Mount",
  [TSRUN_TAG_DEVICE] = "Device", [TSRUN_TAG_SYMLINK] = "Symlink",
  [TSRUN_TAG_MASKED_PATH] = "MaskedPath", [TSRUN_TAG_READONLY_PATH] = "ReadonlyPath",
  [TSRUN_TAG_SYSCTL] = "Sysctl", [TSRUN_TAG_RLIMIT] = "Rlimit", [TSRUN_TAG_USER] = "User",
  [TSRUN_TAG_CAPABILITIES] = "Capabilities", [TSRUN_TAG_NO_NEW_PRIVILEGES] = "NoNewPrivileges",
  [TSRUN_TAG_OOM_SCORE_ADJ] = "OomScoreAdj", [TSRUN_TAG_CWD] = "Cwd", [TSRUN_TAG_ARGS] = "Args",
  [TSRUN_TAG_ENV] = "Env", [TSRUN_TAG_STATE_DIR] = "StateDir",
  [TSRUN_TAG_PRESERVE_FDS] = "PreserveFds", [TSRUN_TAG_HOOK] = "Hook",
  [TSRUN_TAG_PERSONALITY] = "Personality", [TSRUN_TAG_STAGE0_WAIT] = "Stage0Wait",
  [TSRUN_TAG_LOOPBACK_UP] = "LoopbackUp", [TSRUN_TAG_HOOK_STATE] = "HookState",
  [TSRUN_TAG_CONSOLE_SOCKET] = "ConsoleSocket", [TSRUN_TAG_SESSION_KEYRING] = "SessionKeyring",
  [TSRUN_TAG_IO_PRIORITY] = "IoPriority", [TSRUN_TAG_SCHEDULER] = "Scheduler",
  [TSRUN_TAG_CPU_AFFINITY] = "CpuAffinity", [TSRUN_TAG_MEMORY_POLICY] = "MemoryPolicy",
  [TSRUN_TAG_NET_DEVICE] = "NetDevice", [TSRUN_TAG_EXEC_MODE] = "ExecMode",
};

const char *tsrun_tag_name(uint32_t tag)
{
  if (tag < sizeof(tag_names) / sizeof(tag_names[0]) && tag_names[tag])
    return tag_names[tag];
  return NULL;
}

static int short_value(struct reader *r, const char *what)
{
  return FAIL(r->err, EPROTO, "plan record %s: truncated %s", r->tag, what);
}

static int rd_u32(struct reader *r, uint32_t *v)
{
  if (r->left < 4)
    return short_value(r, "u32");
  const unsigned char *p = (const unsigned char *)r->p;
  *v = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
  r->p += 4;
  r->left -= 4;
  return 0;
}

static int rd_i32(struct reader *r, int32_t *v)
{
  uint32_t u;
  if (rd_u32(r, &u) < 0)
    return -1;
  memcpy(v, &u, sizeof(*v));
  return 0;
}

static int rd_u64(struct reader *r, uint64_t *v)
{
  uint32_t lo, hi;
  if (r->left < 8)
    return short_value(r, "u64");
  if (rd_u32(r, &lo) < 0 || rd_u32(r, &hi) < 0)
    return -1;
  *v = (uint64_t)hi << 32 | lo;
  return 0;
}

static int rd_str(struct reader *r, const char **s)
{
  char *nul = memchr(r->p, '\0', r->left);
  if (nul == NULL)
    return short_value(r, "string (no NUL)");
  *s = r->p;
  r->left -= (size_t)(nul - r->p) + 1;
  r->p = nul + 1;
  return 0;
}

/* strs: u32 count, then count strings; the result is a NULL-terminated array. */
static int rd_strs(struct reader *r, char ***out, size_t *count)
{
  uint32_t n;
  if (rd_u32(r, &n) < 0)
    return -1;
  if (n > r->left) /* each string takes at least its NUL */
    return FAIL(r->err, EPROTO, "plan record %s: %u strings in %zu bytes", r->tag, n,
                       r->left);
  char **v = calloc((size_t)n + 1, sizeof(char *));
  if (v == NULL)
    return FAIL(r->err, ENOMEM, "plan record %s", r->tag);
  for (uint32_t i = 0; i < n; i++) {
    if (rd_str(r, (const char **)&v[i]) < 0) {
      free(v);
      return -1;
    }
  }
  free(*out); /* never set twice (duplicates are rejected), but stay leak-free */
  *out = v;
  if (count)
    *count = n;
  return 0;
}

/* Grows an array by one zeroed element, returning it. */
static void *push(void *arrp, size_t *n, size_t size, tsrun_error_t *err, const char *tag)
{
  void **arr = arrp;
  void *grown = realloc(*arr, (*n + 1) * size);
  if (grown == NULL) {
    tsrun_error(err, ENOMEM, "plan record %s", tag);
    return NULL;
  }
  *arr = grown;
  void *elem = (char *)grown + *n * size;
  memset(elem, 0, size);
  (*n)++;
  return elem;
}

static int decode_one(struct tsrun_plan *plan, uint32_t tag, struct reader *r)
{
  tsrun_error_t *err = r->err;
#define PUSH(arr, n) push(&plan->arr, &plan->n, sizeof(*plan->arr), err, r->tag)
  switch (tag) {
  case TSRUN_TAG_NAMESPACES:
    return rd_u32(r, &plan->namespaces);
  case TSRUN_TAG_NS_PATH: {
    struct tsrun_ns_path *ns = PUSH(ns_paths, n_ns_paths);
    return ns == NULL || rd_u32(r, &ns->type) < 0 || rd_str(r, &ns->path) < 0 ? -1 : 0;
  }
  case TSRUN_TAG_TIME_OFFSET: {
    const char **s = PUSH(time_offsets, n_time_offsets);
    return s == NULL ? -1 : rd_str(r, s);
  }
  case TSRUN_TAG_HOSTNAME:
    return rd_str(r, &plan->hostname);
  case TSRUN_TAG_DOMAINNAME:
    return rd_str(r, &plan->domainname);
  case TSRUN_TAG_ROOTFS:
    return rd_str(r, &plan->rootfs);
  case TSRUN_TAG_ROOTFS_FLAGS:
    plan->has_rootfs_flags = true;
    return rd_u32(r, &plan->rootfs_flags) < 0 ? -1 : rd_u64(r, &plan->rootfs_propagation);
  case TSRUN_TAG_MOUNT: {
    struct tsrun_mount *m = PUSH(mounts, n_mounts);
    if (m == NULL || rd_u64(r, &m->flags) < 0 || rd_u64(r, &m->propagation) < 0 ||
        rd_u32(r, &m->kind) < 0 || rd_str(r, &m->source) < 0 || rd_str(r, &m->destination) < 0 ||
        rd_str(r, &m->type) < 0 || rd_str(r, &m->data) < 0)
      return -1;
    return 0;
  }
  case TSRUN_TAG_DEVICE: {
    struct tsrun_device *d = PUSH(devices, n_devices);
    if (d == NULL || rd_u32(r, &d->type) < 0 || rd_u32(r, &d->major) < 0 ||
        rd_u32(r, &d->minor) < 0 || rd_u32(r, &d->mode) < 0 || rd_u32(r, &d->uid) < 0 ||
        rd_u32(r, &d->gid) < 0 || rd_str(r, &d->path) < 0)
      return -1;
    return 0;
  }
  case TSRUN_TAG_SYMLINK: {
    struct tsrun_symlink *s = PUSH(symlinks, n_symlinks);
    return s == NULL || rd_str(r, &s->target) < 0 || rd_str(r, &s->linkpath) < 0 ? -1 : 0;
  }
  case TSRUN_TAG_MASKED_PATH: {
    const char **s = PUSH(masked_paths, n_masked);
    return s == NULL ? -1 : rd_str(r, s);
  }
  case TSRUN_TAG_READONLY_PATH: {
    const char **s = PUSH(readonly_paths, n_readonly);
    return s == NULL ? -1 : rd_str(r, s);
  }
  case TSRUN_TAG_SYSCTL: {
    struct tsrun_sysctl *s = PUSH(sysctls, n_sysctls);
    return s == NULL || rd_str(r, &s->key) < 0 || rd_str(r, &s->value) < 0 ? -1 : 0;
  }
  case TSRUN_TAG_RLIMIT: {
    struct tsrun_rlimit *l = PUSH(rlimits, n_rlimits);
    uint32_t zero;
    if (l == NULL || rd_u32(r, &l->resource) < 0 || rd_u32(r, &zero) < 0 ||
        rd_u64(r, &l->soft) < 0 || rd_u64(r, &l->hard) < 0)
      return -1;
    return 0;
  }
  case TSRUN_TAG_USER: {
    uint32_t n;
    plan->has_user = true;
    if (rd_u32(r, &plan->uid) < 0 || rd_u32(r, &plan->gid) < 0 || rd_i32(r, &plan->umask) < 0 ||
        rd_u32(r, &n) < 0)
      return -1;
    if (n > r->left / 4)
      return FAIL(err, EPROTO, "plan record User: %u gids in %zu bytes", n, r->left);
    plan->groups = calloc(n ? n : 1, sizeof(gid_t));
    if (plan->groups == NULL)
      return FAIL(err, ENOMEM, "plan record User");
    for (uint32_t i = 0; i < n; i++) {
      uint32_t g;
      if (rd_u32(r, &g) < 0)
        return -1;
      plan->groups[i] = g;
    }
    plan->n_groups = n;
    return 0;
  }
  case TSRUN_TAG_CAPABILITIES:
    plan->has_caps = true;
    for (int i = 0; i < TSRUN_CAP_SETS; i++)
      if (rd_u64(r, &plan->caps[i]) < 0)
        return -1;
    return 0;
  case TSRUN_TAG_NO_NEW_PRIVILEGES:
    plan->no_new_privileges = true;
    return 0;
  case TSRUN_TAG_OOM_SCORE_ADJ:
    plan->has_oom_score_adj = true;
    return rd_i32(r, &plan->oom_score_adj);
  case TSRUN_TAG_CWD:
    return rd_str(r, &plan->cwd);
  case TSRUN_TAG_ARGS:
    return rd_strs(r, &plan->args, &plan->n_args);
  case TSRUN_TAG_ENV:
    return rd_strs(r, &plan->env, NULL);
  case TSRUN_TAG_STATE_DIR:
    return rd_str(r, &plan->state_dir);
  case TSRUN_TAG_PRESERVE_FDS:
    if (rd_u32(r, &plan->preserve_fds) < 0)
      return -1;
    if (plan->preserve_fds > 1u << 20)
      return FAIL(err, EPROTO, "plan record PreserveFds: %u fds", plan->preserve_fds);
    return 0;
  case TSRUN_TAG_HOOK: {
    struct tsrun_hook *h = PUSH(hooks, n_hooks);
    if (h == NULL || rd_u32(r, &h->kind) < 0 || rd_u32(r, &h->timeout_s) < 0 ||
        rd_str(r, &h->path) < 0 || rd_strs(r, &h->args, NULL) < 0 || rd_strs(r, &h->env, NULL) < 0)
      return -1;
    if (h->kind != TSRUN_HOOK_CREATE_CONTAINER && h->kind != TSRUN_HOOK_START_CONTAINER)
      return FAIL(err, EPROTO, "plan record Hook: unknown hook kind %u", h->kind);
    return 0;
  }
  case TSRUN_TAG_PERSONALITY:
    plan->has_personality = true;
    return rd_u32(r, &plan->personality);
  case TSRUN_TAG_STAGE0_WAIT:
    plan->stage0_wait = true;
    return 0;
  case TSRUN_TAG_LOOPBACK_UP:
    plan->loopback_up = true;
    return 0;
  case TSRUN_TAG_HOOK_STATE: {
    uint32_t kind;
    const char *json;
    if (rd_u32(r, &kind) < 0 || rd_str(r, &json) < 0)
      return -1;
    if (kind != TSRUN_HOOK_CREATE_CONTAINER && kind != TSRUN_HOOK_START_CONTAINER)
      return FAIL(err, EPROTO, "plan record HookState: unknown hook kind %u", kind);
    if (plan->hook_state[kind])
      return FAIL(err, EPROTO, "plan record HookState: kind %u given twice", kind);
    plan->hook_state[kind] = json;
    return 0;
  }
  case TSRUN_TAG_CONSOLE_SOCKET:
    return rd_str(r, &plan->console_socket);
  case TSRUN_TAG_SESSION_KEYRING:
    return rd_str(r, &plan->session_keyring);
  case TSRUN_TAG_IO_PRIORITY:
    plan->has_io_priority = true;
    return rd_u32(r, &plan->io_class) < 0 ? -1 : rd_u32(r, &plan->io_priority);
  case TSRUN_TAG_SCHEDULER: {
    struct tsrun_scheduler *s = &plan->scheduler;
    plan->has_scheduler = true;
    if (rd_u32(r, &s->policy) < 0 || rd_i32(r, &s->nice) < 0 || rd_u32(r, &s->priority) < 0 ||
        rd_u64(r, &s->flags) < 0 || rd_u64(r, &s->runtime) < 0 || rd_u64(r, &s->deadline) < 0)
      return -1;
    return rd_u64(r, &s->period);
  }
  case TSRUN_TAG_EXEC_MODE:
    plan->exec_mode = true;
    return 0;
  case TSRUN_TAG_NET_DEVICE: {
    struct tsrun_net_device *d = PUSH(net_devices, n_net_devices);
    if (d == NULL || rd_str(r, &d->host_name) < 0)
      return -1;
    return rd_str(r, &d->container_name);
  }
  case TSRUN_TAG_MEMORY_POLICY:
    plan->has_memory_policy = true;
    if (rd_u32(r, &plan->mempolicy_mode) < 0 || rd_u32(r, &plan->mempolicy_flags) < 0)
      return -1;
    return rd_str(r, &plan->mempolicy_nodes);
  case TSRUN_TAG_CPU_AFFINITY: {
    uint32_t when;
    const char *list;
    if (rd_u32(r, &when) < 0 || rd_str(r, &list) < 0)
      return -1;
    if (when != TSRUN_AFFINITY_INITIAL && when != TSRUN_AFFINITY_FINAL)
      return FAIL(err, EPROTO, "plan record CpuAffinity: unknown kind %u", when);
    if (plan->cpu_affinity[when])
      return FAIL(err, EPROTO, "plan record CpuAffinity: kind %u given twice", when);
    plan->cpu_affinity[when] = list;
    return 0;
  }
  }
#undef PUSH
  return FAIL(err, EPROTO, "plan: unknown record tag %u", tag);
}

/* Tags that may appear many times; any other tag twice is a Node bug worth stopping for. */
static bool is_repeatable(uint32_t tag)
{
  switch (tag) {
  case TSRUN_TAG_NS_PATH: case TSRUN_TAG_TIME_OFFSET: case TSRUN_TAG_MOUNT: case TSRUN_TAG_DEVICE:
  case TSRUN_TAG_SYMLINK: case TSRUN_TAG_MASKED_PATH: case TSRUN_TAG_READONLY_PATH:
  case TSRUN_TAG_SYSCTL: case TSRUN_TAG_RLIMIT: case TSRUN_TAG_HOOK: case TSRUN_TAG_HOOK_STATE:
  case TSRUN_TAG_CPU_AFFINITY: /* once per kind, checked when decoded */
  case TSRUN_TAG_NET_DEVICE:
    return true;
  }
  return false;
}

int tsrun_plan_decode(struct tsrun_plan *plan, enum tsrun_frame_kind kind, char *buf, size_t len,
                      tsrun_error_t *err)
{
  const char *frame = kind == TSRUN_FRAME_PLAN ? "plan" : "continue";
  size_t off = 0;
  while (off < len) {
    const unsigned char *h = (const unsigned char *)buf + off;
    if (len - off < TSRUN_RECORD_HEADER_BYTES)
      return FAIL(err, EPROTO, "%s: truncated record header at byte %zu", frame, off);
    uint32_t tag = h[0] | h[1] << 8;
    uint32_t vlen = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
    const char *name = tsrun_tag_name(tag);
    off += TSRUN_RECORD_HEADER_BYTES;
    if (name == NULL)
      return FAIL(err, EPROTO, "%s: unknown record tag %u", frame, tag);
    if (h[2] || h[3])
      return FAIL(err, EPROTO, "%s record %s: nonzero reserved field", frame, name);
    if (vlen > len - off)
      return FAIL(err, EPROTO, "%s record %s: value of %u bytes overruns the frame", frame,
                         name, vlen);
    bool is_continue_tag = tag == TSRUN_TAG_HOOK_STATE;
    if (is_continue_tag != (kind == TSRUN_FRAME_CONTINUE))
      return FAIL(err, EPROTO, "%s: record %s does not belong here", frame, name);
    if (!is_repeatable(tag)) {
      if (plan->seen & (1ull << tag))
        return FAIL(err, EPROTO, "%s: record %s given twice", frame, name);
      plan->seen |= 1ull << tag;
    }
    struct reader r = { .p = buf + off, .left = vlen, .tag = name, .err = err };
    if (decode_one(plan, tag, &r) < 0)
      return -1;
    if (r.left != 0)
      return FAIL(err, EPROTO, "%s record %s: %zu trailing bytes", frame, name, r.left);
    off += vlen;
  }
  return 0;
}

/* Created by the plan, or joined through one of its NsPath records. */
bool tsrun_plan_has_namespace(const struct tsrun_plan *plan, uint32_t type)
{
  if (plan->namespaces & type)
    return true;
  for (size_t i = 0; i < plan->n_ns_paths; i++)
    if (plan->ns_paths[i].type == type)
      return true;
  return false;
}

int tsrun_plan_check_init(const struct tsrun_plan *plan, tsrun_error_t *err)
{
  if (plan->exec_mode) {
    /* Joining, not making: nothing may be created, and the container's mount namespace is a must. */
    if (plan->namespaces != 0 || plan->rootfs || plan->n_mounts || plan->hostname || plan->loopback_up)
      return FAIL(err, EINVAL, "plan: exec creates nothing");
    if (plan->n_args == 0 || plan->args[0][0] == '\0')
      return FAIL(err, EINVAL, "plan: missing process args");
    if (!tsrun_plan_has_namespace(plan, CLONE_NEWNS))
      return FAIL(err, EINVAL, "plan: exec must join the container's mount namespace");
    return 0;
  }
  if (plan->rootfs == NULL || plan->rootfs[0] != '/')
    return FAIL(err, EINVAL, "plan: missing absolute rootfs");
  if (plan->n_args == 0 || plan->args[0][0] == '\0')
    return FAIL(err, EINVAL, "plan: missing process args");
  if (plan->state_dir == NULL || plan->state_dir[0] != '/')
    return FAIL(err, EINVAL, "plan: missing absolute state dir");
  /* Node checks these against config.json already; here they guard the host itself, whose
   * hostname, mounts and network would otherwise be changed by a plan without the namespace. */
  if (!tsrun_plan_has_namespace(plan, CLONE_NEWNS))
    return FAIL(err, EINVAL, "plan: no mount namespace");
  if ((plan->hostname || plan->domainname) && !tsrun_plan_has_namespace(plan, CLONE_NEWUTS))
    return FAIL(err, EINVAL, "plan: hostname without a uts namespace");
  if ((plan->loopback_up || plan->n_net_devices) && !(plan->namespaces & CLONE_NEWNET))
    return FAIL(err, EINVAL, "plan: network setup without a new network namespace");
  return 0;
}

void tsrun_plan_free(struct tsrun_plan *plan)
{
  free(plan->ns_paths);
  free(plan->time_offsets);
  free(plan->mounts);
  free(plan->devices);
  free(plan->symlinks);
  free(plan->masked_paths);
  free(plan->readonly_paths);
  free(plan->sysctls);
  free(plan->rlimits);
  free(plan->groups);
  free(plan->args);
  free(plan->env);
  for (size_t i = 0; i < plan->n_hooks; i++) {
    free(plan->hooks[i].args);
    free(plan->hooks[i].env);
  }
  free(plan->hooks);
  memset(plan, 0, sizeof(*plan));
}

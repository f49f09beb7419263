/* Plan decoding: well-formed records, string lists, and every way a frame can lie about sizes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../addon/init/plan.h"
#include "../../addon/init/protocol.h"
#include "test.h"

struct buf { char data[4096]; size_t len; };

static void put(struct buf *b, const void *p, size_t n) { memcpy(b->data + b->len, p, n); b->len += n; }
static void u16(struct buf *b, uint16_t v) { put(b, &v, 2); }
static void u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void str(struct buf *b, const char *s) { put(b, s, strlen(s) + 1); }

/* Appends a record whose value is v. */
static void rec(struct buf *b, uint16_t tag, const struct buf *v)
{
  u16(b, tag); u16(b, 0); u32(b, (uint32_t)v->len); put(b, v->data, v->len);
}

/* Decoded strings point into their buffer: buffers live until the end of the run. */
static char *buffers[256];
static int n_buffers;

static char *keep(char *p)
{
  if (n_buffers < 256) buffers[n_buffers++] = p;
  return p;
}

static int decode(struct buf *b, enum tsrun_frame_kind kind, struct tsrun_plan *plan, tsrun_error_t *err)
{
  memset(plan, 0, sizeof(*plan));
  memset(err, 0, sizeof(*err));
  /* A copy of exactly len bytes: reading past it is caught by ASan/valgrind runs. */
  char *copy = keep(malloc(b->len ? b->len : 1));
  memcpy(copy, b->data, b->len);
  return tsrun_plan_decode(plan, kind, copy, b->len, err);
}

/* Packs the value of one field read from elem, as the descriptor tables lay it out: the test
 * names members, never byte layouts (those are declared once, in src/protocol/records.ts). */
static void put_field(struct buf *v, const struct tsrun_field_desc *f, const char *elem)
{
  const void *at = elem + f->offset;
  switch (f->kind) {
  case TSRUN_FIELD_U32: case TSRUN_FIELD_I32: put(v, at, 4); break;
  case TSRUN_FIELD_U64: put(v, at, 8); break;
  case TSRUN_FIELD_PAD32: u32(v, 0); break;
  case TSRUN_FIELD_STR: str(v, *(const char *const *)at); break;
  case TSRUN_FIELD_STRS: {
    size_t n = *(const size_t *)(elem + f->count_offset);
    u32(v, (uint32_t)n);
    for (size_t i = 0; i < n; i++) str(v, (*(char *const *const *)at)[i]);
    break;
  }
  case TSRUN_FIELD_U32S: case TSRUN_FIELD_U64S: {
    size_t n = *(const size_t *)(elem + f->count_offset);
    u32(v, (uint32_t)n);
    put(v, *(const void *const *)at, (f->kind == TSRUN_FIELD_U32S ? 4 : 8) * n);
    break;
  }
  }
}

/* Appends record `tag` taken from src: a "one" record from the plan, element i of a "many". */
static void enc(struct buf *b, uint32_t tag, const struct tsrun_plan *src, size_t i)
{
  const struct tsrun_record_desc *d = &tsrun_records[tag];
  const char *elem = (const char *)src + d->offset;
  struct buf v = {0};
  if (d->store == TSRUN_STORE_MANY)
    elem = *(const char *const *)elem + i * d->elem_size;
  for (size_t k = 0; k < d->n_fields; k++) put_field(&v, &d->fields[k], elem);
  rec(b, (uint16_t)tag, &v);
}

static void test_full_plan(void)
{
  struct buf b = {0}, v;
  struct tsrun_plan plan;
  tsrun_error_t err;

  struct tsrun_ns_path ns[] = { { 0x10000000, "/proc/1/ns/user" }, { 0x40000000, "/run/netns/x" } };
  struct tsrun_mount mount = { .flags = 0x1000, .kind = TSRUN_MOUNT_BIND, .source = "/src", .destination = "/dst", .type = "", .data = "", .fallback_source = "" };
  char *args[] = { "sh", "-c", "echo hi", NULL }, *env[] = { NULL };
  char *hook_args[] = { "hook", NULL }, *hook_env[] = { "A=b", NULL };
  struct tsrun_hook hook = { .kind = TSRUN_HOOK_START_CONTAINER, .timeout_s = 3, .path = "/bin/hook", .args = hook_args, .n_args = 1, .env = hook_env, .n_env = 1 };
  uint32_t groups[] = { 5, 6 };
  struct tsrun_rlimit rlimit = { .resource = 7, .soft = 1024, .hard = 2048 };
  struct tsrun_plan src = {
    .namespaces = 0x20020000, .ns_paths = ns, .n_ns_paths = 2, .rootfs = "/rootfs", .mounts = &mount, .n_mounts = 1,
    .args = args, .n_args = 3, .env = env, .n_env = 0,
    .user = { .uid = 1000, .gid = 100, .umask = -1, .groups = groups, .n_groups = 2 },
    .state_dir = "/run/x", .rlimits = &rlimit, .n_rlimits = 1, .hooks = &hook, .n_hooks = 1,
  };
  enc(&b, TSRUN_TAG_NAMESPACES, &src, 0);
  enc(&b, TSRUN_TAG_NS_PATH, &src, 0);
  enc(&b, TSRUN_TAG_NS_PATH, &src, 1);
  enc(&b, TSRUN_TAG_ROOTFS, &src, 0);
  enc(&b, TSRUN_TAG_MOUNT, &src, 0);
  enc(&b, TSRUN_TAG_ARGS, &src, 0);
  enc(&b, TSRUN_TAG_ENV, &src, 0);
  enc(&b, TSRUN_TAG_USER, &src, 0);
  v = (struct buf){0}; rec(&b, TSRUN_TAG_NO_NEW_PRIVILEGES, &v);
  enc(&b, TSRUN_TAG_STATE_DIR, &src, 0);
  enc(&b, TSRUN_TAG_RLIMIT, &src, 0);
  enc(&b, TSRUN_TAG_HOOK, &src, 0);

  int r = decode(&b, TSRUN_FRAME_PLAN, &plan, &err);
  CHECK(r == 0, "decode failed: %s", err.msg);
  CHECK(plan.namespaces == 0x20020000, "namespaces %x", plan.namespaces);
  CHECK(plan.n_ns_paths == 2 && strcmp(plan.ns_paths[1].path, "/run/netns/x") == 0, "ns paths");
  CHECK(plan.n_mounts == 1 && strcmp(plan.mounts[0].destination, "/dst") == 0 &&
        plan.mounts[0].kind == TSRUN_MOUNT_BIND && plan.mounts[0].flags == 0x1000, "mount");
  CHECK(plan.n_args == 3 && strcmp(plan.args[2], "echo hi") == 0 && plan.args[3] == NULL, "args");
  CHECK(plan.env != NULL && plan.env[0] == NULL, "empty env is an empty list");
  CHECK(plan.has_user && plan.user.uid == 1000 && plan.user.umask == -1 && plan.user.n_groups == 2 &&
        plan.user.groups[1] == 6, "user");
  CHECK(plan.no_new_privileges, "nnp");
  CHECK(plan.n_rlimits == 1 && plan.rlimits[0].hard == 2048, "rlimit");
  CHECK(plan.n_hooks == 1 && strcmp(plan.hooks[0].args[0], "hook") == 0 &&
        strcmp(plan.hooks[0].env[0], "A=b") == 0 && plan.hooks[0].timeout_s == 3, "hook");
  CHECK(tsrun_plan_check_init(&plan, &err) == 0, "check: %s", err.msg);

  /* The checks that keep the host's own hostname, mounts and network out of reach. */
  struct tsrun_plan bad = plan;
  bad.hostname = "box";
  CHECK(tsrun_plan_check_init(&bad, &err) == -1 && strstr(err.msg, "uts"), "hostname without uts: %s", err.msg);
  bad = plan;
  bad.loopback_up = true;
  CHECK(tsrun_plan_check_init(&bad, &err) == -1 && strstr(err.msg, "network"), "lo without netns: %s", err.msg);
  bad = plan;
  bad.namespaces = 0x20000000; /* pid only: no mount namespace created or joined */
  CHECK(tsrun_plan_check_init(&bad, &err) == -1 && strstr(err.msg, "mount"), "no mount ns: %s", err.msg);
  bad.ns_paths[0].type = 0x00020000; /* a joined mount namespace is enough */
  CHECK(tsrun_plan_check_init(&bad, &err) == 0, "joined mount ns: %s", err.msg);
  bad.ns_paths[0].type = 0x10000000;
  /* Without one only when Node asks (HostMountNamespace), and then nothing that remounts. */
  bad.host_mount_namespace = true;
  bad.n_masked_paths = bad.n_readonly_paths = 0;
  bad.rootfs_flags.flags = 0;
  bad.rootfs_flags.propagation = 0;
  CHECK(tsrun_plan_check_init(&bad, &err) == 0, "host mount ns asked for: %s", err.msg);
  bad.rootfs_flags.flags = TSRUN_ROOTFS_READONLY;
  CHECK(tsrun_plan_check_init(&bad, &err) == -1, "host mount ns with a read-only root");
  bad.rootfs_flags.flags = 0;
  bad.rootfs_flags.propagation = 0x40000; /* MS_PRIVATE */
  CHECK(tsrun_plan_check_init(&bad, &err) == -1, "host mount ns with a root propagation");
  bad.rootfs_flags.propagation = 0;
  bad.namespaces = plan.namespaces;
  CHECK(tsrun_plan_check_init(&bad, &err) == -1, "host mount ns flag with a mount namespace");
  bad = plan;

  /* CONTINUE adds hook state to the same plan. */
  struct buf c = {0};
  v = (struct buf){0}; u32(&v, TSRUN_HOOK_START_CONTAINER); str(&v, "{\"id\":1}");
  rec(&c, TSRUN_TAG_HOOK_STATE, &v);
  char *copy = keep(malloc(c.len));
  memcpy(copy, c.data, c.len);
  r = tsrun_plan_decode(&plan, TSRUN_FRAME_CONTINUE, copy, c.len, &err);
  CHECK(r == 0 && strcmp(plan.hook_state[TSRUN_HOOK_START_CONTAINER], "{\"id\":1}") == 0,
        "continue: %s", err.msg);
  tsrun_plan_free(&plan);
}

/* Expects the payload to be rejected with a message containing want. */
static void expect_error(struct buf *b, enum tsrun_frame_kind kind, const char *want, const char *what)
{
  struct tsrun_plan plan;
  tsrun_error_t err;
  int r = decode(b, kind, &plan, &err);
  CHECK(r == -1, "%s: accepted", what);
  CHECK(r == 0 || strstr(err.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err.msg, want);
  tsrun_plan_free(&plan);
}

static void test_malformed(void)
{
  struct buf b, v;

  b = (struct buf){0}; u16(&b, TSRUN_TAG_ROOTFS); u16(&b, 0); u32(&b, 4);
  expect_error(&b, TSRUN_FRAME_PLAN, "overruns", "value longer than the frame");

  b = (struct buf){0}; u16(&b, TSRUN_TAG_ROOTFS); u16(&b, 0);
  expect_error(&b, TSRUN_FRAME_PLAN, "truncated record header", "half a header");

  b = (struct buf){0}; v = (struct buf){0}; put(&v, "abc", 3); rec(&b, TSRUN_TAG_ROOTFS, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "no NUL", "string without NUL");

  b = (struct buf){0}; v = (struct buf){0}; u32(&v, 1); u32(&v, 2); rec(&b, TSRUN_TAG_NAMESPACES, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "trailing", "extra bytes");

  b = (struct buf){0}; v = (struct buf){0}; u16(&v, 1); rec(&b, TSRUN_TAG_NAMESPACES, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "truncated u32", "short u32");

  b = (struct buf){0}; v = (struct buf){0}; u32(&v, 0x7fffffff); str(&v, "a"); rec(&b, TSRUN_TAG_ARGS, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "strings in", "huge string count");

  b = (struct buf){0}; v = (struct buf){0}; u32(&v, 3); str(&v, "a"); str(&v, "b"); rec(&b, TSRUN_TAG_ARGS, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "no NUL", "fewer strings than counted");

  b = (struct buf){0}; v = (struct buf){0}; u32(&v, 0); u32(&v, 0); u32(&v, 0); u32(&v, 0x40000000);
  rec(&b, TSRUN_TAG_USER, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "groups: 1073741824 values in", "huge gid count");

  b = (struct buf){0}; v = (struct buf){0}; rec(&b, 999, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "unknown record tag 999", "unknown tag");

  b = (struct buf){0}; v = (struct buf){0}; str(&v, "/a"); rec(&b, TSRUN_TAG_ROOTFS, &v); rec(&b, TSRUN_TAG_ROOTFS, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "Rootfs given twice", "duplicate singleton");

  b = (struct buf){0}; v = (struct buf){0}; u32(&v, 1); str(&v, "{}"); rec(&b, TSRUN_TAG_HOOK_STATE, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "does not belong", "HookState in a plan");

  b = (struct buf){0}; v = (struct buf){0}; str(&v, "/a"); rec(&b, TSRUN_TAG_ROOTFS, &v);
  expect_error(&b, TSRUN_FRAME_CONTINUE, "does not belong", "plan record in continue");

  b = (struct buf){0}; v = (struct buf){0}; u32(&v, 9); str(&v, "{}"); rec(&b, TSRUN_TAG_HOOK_STATE, &v);
  expect_error(&b, TSRUN_FRAME_CONTINUE, "is not a HookKind", "bad hook kind");

  b = (struct buf){0}; v = (struct buf){0}; str(&v, "/a"); rec(&b, TSRUN_TAG_ROOTFS, &v);
  b.data[2] = 1;
  expect_error(&b, TSRUN_FRAME_PLAN, "reserved", "nonzero reserved field");

  /* Truncating a good Mount record at every length must fail cleanly, never crash. */
  v = (struct buf){0}; u64(&v, 1); u64(&v, 2); u32(&v, 0); str(&v, "proc"); str(&v, "/proc");
  str(&v, "proc"); str(&v, "");
  for (size_t cut = 0; cut < v.len; cut++) {
    struct buf t = {0}, tv = {0};
    put(&tv, v.data, cut);
    rec(&t, TSRUN_TAG_MOUNT, &tv);
    expect_error(&t, TSRUN_FRAME_PLAN, "Mount", "truncated mount");
  }

  /* A plan without args or rootfs decodes but cannot start an init. */
  struct tsrun_plan plan;
  tsrun_error_t err;
  memset(&plan, 0, sizeof(plan));
  CHECK(tsrun_plan_check_init(&plan, &err) == -1 && strstr(err.msg, "rootfs"), "empty plan: %s", err.msg);
}

int main(void)
{
  test_full_plan();
  test_malformed();
  while (n_buffers > 0) free(buffers[--n_buffers]);
  return TEST_REPORT("plan");
}

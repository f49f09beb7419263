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

static void test_full_plan(void)
{
  struct buf b = {0}, v;
  struct tsrun_plan plan;
  tsrun_error_t err;

  v = (struct buf){0}; u32(&v, 0x20020000); rec(&b, TSRUN_TAG_NAMESPACES, &v);
  v = (struct buf){0}; u32(&v, 0x10000000); str(&v, "/proc/1/ns/user"); rec(&b, TSRUN_TAG_NS_PATH, &v);
  v = (struct buf){0}; u32(&v, 0x40000000); str(&v, "/run/netns/x"); rec(&b, TSRUN_TAG_NS_PATH, &v);
  v = (struct buf){0}; str(&v, "/rootfs"); rec(&b, TSRUN_TAG_ROOTFS, &v);
  v = (struct buf){0}; u64(&v, 0x1000); u64(&v, 0); u32(&v, TSRUN_MOUNT_BIND); str(&v, "/src");
  str(&v, "/dst"); str(&v, ""); str(&v, ""); rec(&b, TSRUN_TAG_MOUNT, &v);
  v = (struct buf){0}; u32(&v, 3); str(&v, "sh"); str(&v, "-c"); str(&v, "echo hi"); rec(&b, TSRUN_TAG_ARGS, &v);
  v = (struct buf){0}; u32(&v, 0); rec(&b, TSRUN_TAG_ENV, &v);
  v = (struct buf){0}; u32(&v, 1000); u32(&v, 100); u32(&v, (uint32_t)-1); u32(&v, 2); u32(&v, 5); u32(&v, 6);
  rec(&b, TSRUN_TAG_USER, &v);
  v = (struct buf){0}; rec(&b, TSRUN_TAG_NO_NEW_PRIVILEGES, &v);
  v = (struct buf){0}; str(&v, "/run/x"); rec(&b, TSRUN_TAG_STATE_DIR, &v);
  v = (struct buf){0}; u32(&v, 7); u32(&v, 0); u64(&v, 1024); u64(&v, 2048); rec(&b, TSRUN_TAG_RLIMIT, &v);
  v = (struct buf){0}; u32(&v, TSRUN_HOOK_START_CONTAINER); u32(&v, 3); str(&v, "/bin/hook");
  u32(&v, 1); str(&v, "hook"); u32(&v, 1); str(&v, "A=b"); rec(&b, TSRUN_TAG_HOOK, &v);

  int r = decode(&b, TSRUN_FRAME_PLAN, &plan, &err);
  CHECK(r == 0, "decode failed: %s", err.msg);
  CHECK(plan.namespaces == 0x20020000, "namespaces %x", plan.namespaces);
  CHECK(plan.n_ns_paths == 2 && strcmp(plan.ns_paths[1].path, "/run/netns/x") == 0, "ns paths");
  CHECK(plan.n_mounts == 1 && strcmp(plan.mounts[0].destination, "/dst") == 0 &&
        plan.mounts[0].kind == TSRUN_MOUNT_BIND && plan.mounts[0].flags == 0x1000, "mount");
  CHECK(plan.n_args == 3 && strcmp(plan.args[2], "echo hi") == 0 && plan.args[3] == NULL, "args");
  CHECK(plan.env != NULL && plan.env[0] == NULL, "empty env is an empty list");
  CHECK(plan.has_user && plan.uid == 1000 && plan.umask == -1 && plan.n_groups == 2 &&
        plan.groups[1] == 6, "user");
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
  expect_error(&b, TSRUN_FRAME_PLAN, "gids in", "huge gid count");

  b = (struct buf){0}; v = (struct buf){0}; rec(&b, 999, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "unknown record tag 999", "unknown tag");

  b = (struct buf){0}; v = (struct buf){0}; str(&v, "/a"); rec(&b, TSRUN_TAG_ROOTFS, &v); rec(&b, TSRUN_TAG_ROOTFS, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "Rootfs given twice", "duplicate singleton");

  b = (struct buf){0}; v = (struct buf){0}; u32(&v, 1); str(&v, "{}"); rec(&b, TSRUN_TAG_HOOK_STATE, &v);
  expect_error(&b, TSRUN_FRAME_PLAN, "does not belong", "HookState in a plan");

  b = (struct buf){0}; v = (struct buf){0}; str(&v, "/a"); rec(&b, TSRUN_TAG_ROOTFS, &v);
  expect_error(&b, TSRUN_FRAME_CONTINUE, "does not belong", "plan record in continue");

  b = (struct buf){0}; v = (struct buf){0}; u32(&v, 9); str(&v, "{}"); rec(&b, TSRUN_TAG_HOOK_STATE, &v);
  expect_error(&b, TSRUN_FRAME_CONTINUE, "unknown hook kind", "bad hook kind");

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

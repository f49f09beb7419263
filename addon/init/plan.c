/* Decoding of PLAN and CONTINUE records, driven by the descriptor tables generated from
 * src/protocol/records.ts (records.c): no record's layout is written here. Every read is
 * bounds-checked against the record's value: a short value, a string without its NUL, leftover
 * bytes or an unknown tag is an error naming the tag, never a crash. No allocation is sized by an
 * untrusted count before that count is known to fit in the bytes that remain. */
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

static const struct tsrun_record_desc *record_desc(uint32_t tag)
{
  if (tag <= TSRUN_MAX_TAG && tsrun_records[tag].name)
    return &tsrun_records[tag];
  return NULL;
}

const char *tsrun_tag_name(uint32_t tag)
{
  const struct tsrun_record_desc *d = record_desc(tag);
  return d ? d->name : NULL;
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

/* A u32 count, then count items of at least min_size bytes each: the count is checked against
 * the bytes that remain before anything is allocated for it. */
static int rd_count(struct reader *r, const struct tsrun_field_desc *f, size_t min_size, uint32_t *n)
{
  if (rd_u32(r, n) < 0)
    return -1;
  if (*n > r->left / min_size)
    return FAIL(r->err, EPROTO, "plan record %s: %s: %u %s in %zu bytes", r->tag, f->name, *n,
                f->kind == TSRUN_FIELD_STRS ? "strings" : "values", r->left);
  return 0;
}

/* strs: the result is a NULL-terminated array, its length stored at count. */
static int rd_strs(struct reader *r, const struct tsrun_field_desc *f, char ***out, size_t *count)
{
  uint32_t n;
  if (rd_count(r, f, 1, &n) < 0) /* each string takes at least its NUL */
    return -1;
  char **v = calloc((size_t)n + 1, sizeof(char *));
  if (v == NULL)
    return FAIL(r->err, ENOMEM, "plan record %s", r->tag);
  for (uint32_t i = 0; i < n; i++) {
    if (rd_str(r, (const char **)&v[i]) < 0) {
      free(v);
      return -1;
    }
  }
  *out = v;
  *count = n;
  return 0;
}

/* u32s and u64s: a count, then that many numbers of `size` bytes. */
static int rd_numbers(struct reader *r, const struct tsrun_field_desc *f, size_t size, void **out,
                      size_t *count)
{
  uint32_t n;
  if (rd_count(r, f, size, &n) < 0)
    return -1;
  char *v = calloc(n ? n : 1, size);
  if (v == NULL)
    return FAIL(r->err, ENOMEM, "plan record %s", r->tag);
  for (uint32_t i = 0; i < n; i++) {
    int rc = size == 4 ? rd_u32(r, (uint32_t *)(void *)(v + i * size))
                       : rd_u64(r, (uint64_t *)(void *)(v + i * size));
    if (rc < 0) {
      free(v);
      return -1;
    }
  }
  *out = v;
  *count = n;
  return 0;
}

/* A u32 within the field's limit and enum. */
static int rd_checked_u32(struct reader *r, const struct tsrun_field_desc *f, uint32_t *v)
{
  if (rd_u32(r, v) < 0)
    return -1;
  if (*v > f->max)
    return FAIL(r->err, EPROTO, "plan record %s: %s %u exceeds %u", r->tag, f->name, *v, f->max);
  if (f->one_of == NULL)
    return 0;
  for (size_t i = 0; i < f->n_one_of_values; i++)
    if (f->one_of_values[i] == *v)
      return 0;
  return FAIL(r->err, EPROTO, "plan record %s: %s %u is not a %s", r->tag, f->name, *v, f->one_of);
}

/* Reads one field into elem + its offset (lists also store their count). */
static int read_field(struct reader *r, const struct tsrun_field_desc *f, char *elem)
{
  void *at = elem + f->offset;
  uint32_t u;
  uint64_t q;
  switch (f->kind) {
  case TSRUN_FIELD_U32:
  case TSRUN_FIELD_I32:
    if (rd_checked_u32(r, f, &u) < 0)
      return -1;
    memcpy(at, &u, sizeof(u)); /* int32_t and uint32_t share their representation */
    return 0;
  case TSRUN_FIELD_U64:
    if (rd_u64(r, &q) < 0)
      return -1;
    memcpy(at, &q, sizeof(q));
    return 0;
  case TSRUN_FIELD_PAD32:
    if (rd_u32(r, &u) < 0)
      return -1;
    return u == 0 ? 0 : FAIL(r->err, EPROTO, "plan record %s: nonzero %s", r->tag, f->name);
  case TSRUN_FIELD_STR:
    return rd_str(r, at);
  case TSRUN_FIELD_STRS:
    return rd_strs(r, f, at, (size_t *)(elem + f->count_offset));
  case TSRUN_FIELD_U32S:
    return rd_numbers(r, f, 4, at, (size_t *)(elem + f->count_offset));
  case TSRUN_FIELD_U64S:
    return rd_numbers(r, f, 8, at, (size_t *)(elem + f->count_offset));
  }
  return FAIL(r->err, EPROTO, "plan record %s: field %s of unknown kind", r->tag, f->name);
}

/* Grows the array at *arrp by one zeroed element, returning it. */
static char *push(void *arrp, size_t *n, size_t size, struct reader *r)
{
  char **arr = arrp;
  char *grown = realloc(*arr, (*n + 1) * size);
  if (grown == NULL) {
    tsrun_error(r->err, ENOMEM, "plan record %s", r->tag);
    return NULL;
  }
  *arr = grown;
  char *elem = grown + *n * size;
  memset(elem, 0, size);
  (*n)++;
  return elem;
}

/* Finds where the record's fields go (see struct tsrun_record_desc) and reads them there. */
static int decode_one(struct tsrun_plan *plan, const struct tsrun_record_desc *d, struct reader *r)
{
  char *base = (char *)plan;
  char *elem = base + d->offset;
  size_t first = 0;
  switch (d->store) {
  case TSRUN_STORE_FLAG:
    *(bool *)elem = true;
    return 0;
  case TSRUN_STORE_ONE:
    *(bool *)(base + d->has_offset) = true;
    break;
  case TSRUN_STORE_MANY:
    elem = push(base + d->offset, (size_t *)(base + d->has_offset), d->elem_size, r);
    if (elem == NULL)
      return -1;
    break;
  case TSRUN_STORE_KEYED: {
    uint32_t key;
    if (rd_checked_u32(r, &d->fields[0], &key) < 0)
      return -1;
    if (key >= d->n_keys)
      return FAIL(r->err, EPROTO, "plan record %s: %s %u out of range", r->tag, d->fields[0].name, key);
    bool *has = (bool *)(base + d->has_offset) + key;
    if (*has)
      return FAIL(r->err, EPROTO, "plan record %s: %s %u given twice", r->tag, d->fields[0].name, key);
    *has = true;
    elem += key * d->elem_size;
    first = 1;
    break;
  }
  }
  for (size_t i = first; i < d->n_fields; i++)
    if (read_field(r, &d->fields[i], elem) < 0)
      return -1;
  return 0;
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
    const struct tsrun_record_desc *d = record_desc(tag);
    off += TSRUN_RECORD_HEADER_BYTES;
    if (d == NULL)
      return FAIL(err, EPROTO, "%s: unknown record tag %u", frame, tag);
    if (h[2] || h[3])
      return FAIL(err, EPROTO, "%s record %s: nonzero reserved field", frame, d->name);
    if (vlen > len - off)
      return FAIL(err, EPROTO, "%s record %s: value of %u bytes overruns the frame", frame,
                  d->name, vlen);
    if (d->in_continue != (kind == TSRUN_FRAME_CONTINUE))
      return FAIL(err, EPROTO, "%s: record %s does not belong here", frame, d->name);
    /* Any single record twice is a Node bug worth stopping for. */
    if (d->store == TSRUN_STORE_ONE || d->store == TSRUN_STORE_FLAG) {
      if (plan->seen[tag])
        return FAIL(err, EPROTO, "%s: record %s given twice", frame, d->name);
      plan->seen[tag] = true;
    }
    struct reader r = { .p = buf + off, .left = vlen, .tag = d->name, .err = err };
    if (decode_one(plan, d, &r) < 0)
      return -1;
    if (r.left != 0)
      return FAIL(err, EPROTO, "%s record %s: %zu trailing bytes", frame, d->name, r.left);
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
   * hostname, mounts and network would otherwise be changed by a plan without the namespace. A
   * plan without a mount namespace is run only when Node says so (HostMountNamespace), and then
   * may only add mounts below the rootfs: nothing that remounts, masks or re-propagates. */
  bool own_mount_ns = tsrun_plan_has_namespace(plan, CLONE_NEWNS);
  if (!own_mount_ns && !plan->host_mount_namespace)
    return FAIL(err, EINVAL, "plan: no mount namespace");
  if (own_mount_ns && plan->host_mount_namespace)
    return FAIL(err, EINVAL, "plan: HostMountNamespace with a mount namespace");
  if (plan->host_mount_namespace &&
      (plan->n_masked_paths || plan->n_readonly_paths || plan->rootfs_flags.propagation ||
       (plan->rootfs_flags.flags & (TSRUN_ROOTFS_READONLY | TSRUN_ROOTFS_NO_PIVOT))))
    return FAIL(err, EINVAL,
                "plan: without a mount namespace, no masked or read-only paths, read-only root, "
                "root propagation or --no-pivot");
  if ((plan->hostname || plan->domainname) && !tsrun_plan_has_namespace(plan, CLONE_NEWUTS))
    return FAIL(err, EINVAL, "plan: hostname without a uts namespace");
  if ((plan->loopback_up || plan->n_net_devices) && !(plan->namespaces & CLONE_NEWNET))
    return FAIL(err, EINVAL, "plan: network setup without a new network namespace");
  return 0;
}

/* Frees the lists a field allocated in one element. */
static void free_fields(const struct tsrun_record_desc *d, char *elem)
{
  for (size_t i = 0; i < d->n_fields; i++) {
    const struct tsrun_field_desc *f = &d->fields[i];
    if (f->kind == TSRUN_FIELD_STRS || f->kind == TSRUN_FIELD_U32S || f->kind == TSRUN_FIELD_U64S)
      free(*(void **)(elem + f->offset));
  }
}

void tsrun_plan_free(struct tsrun_plan *plan)
{
  char *base = (char *)plan;
  for (uint32_t tag = 0; tag <= TSRUN_MAX_TAG; tag++) {
    const struct tsrun_record_desc *d = record_desc(tag);
    if (d == NULL)
      continue;
    if (d->store == TSRUN_STORE_ONE)
      free_fields(d, base + d->offset);
    if (d->store == TSRUN_STORE_MANY) {
      char *arr = *(char **)(base + d->offset);
      size_t n = *(size_t *)(base + d->has_offset);
      for (size_t i = 0; i < n; i++)
        free_fields(d, arr + i * d->elem_size);
      free(arr);
    }
  }
  memset(plan, 0, sizeof(*plan));
}

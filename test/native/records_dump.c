/* Decodes a PLAN payload (argv[1]) and a CONTINUE payload (argv[2]) with the helper's decoder and
 * prints every record it holds as JSON, walking the generated descriptor tables: the other half of
 * test/unit/records.test.js, which encodes with the TypeScript side and compares. Built against
 * whatever records.h/records.c the test generated, so it names no record itself. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  char *buf = malloc(1 << 20);
  *len = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

static void json_str(const char *s)
{
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", *s);
    else
      putchar(*s);
  }
  putchar('"');
}

static void field_value(const struct tsrun_field_desc *f, const char *elem)
{
  const void *at = elem + f->offset;
  switch (f->kind) {
  case TSRUN_FIELD_U32: printf("%" PRIu32, *(const uint32_t *)at); break;
  case TSRUN_FIELD_I32: printf("%" PRId32, *(const int32_t *)at); break;
  case TSRUN_FIELD_U64: printf("\"%" PRIu64 "\"", *(const uint64_t *)at); break;
  case TSRUN_FIELD_PAD32: break;
  case TSRUN_FIELD_STR: json_str(*(const char *const *)at); break;
  case TSRUN_FIELD_STRS: {
    char *const *v = *(char *const *const *)at;
    size_t n = *(const size_t *)(elem + f->count_offset);
    putchar('[');
    for (size_t i = 0; i < n; i++) {
      if (i)
        putchar(',');
      json_str(v[i]);
    }
    printf("]%s", v[n] == NULL ? "" : "NOT-NULL-TERMINATED");
    break;
  }
  case TSRUN_FIELD_U32S: {
    const uint32_t *v = *(const uint32_t *const *)at;
    size_t n = *(const size_t *)(elem + f->count_offset);
    putchar('[');
    for (size_t i = 0; i < n; i++)
      printf("%s%" PRIu32, i ? "," : "", v[i]);
    putchar(']');
    break;
  }
  case TSRUN_FIELD_U64S: {
    const uint64_t *v = *(const uint64_t *const *)at;
    size_t n = *(const size_t *)(elem + f->count_offset);
    putchar('[');
    for (size_t i = 0; i < n; i++)
      printf("%s\"%" PRIu64 "\"", i ? "," : "", v[i]);
    putchar(']');
    break;
  }
  }
}

static void fields_object(const struct tsrun_record_desc *d, size_t first, const char *elem)
{
  int n = 0;
  putchar('{');
  for (size_t i = first; i < d->n_fields; i++) {
    if (d->fields[i].kind == TSRUN_FIELD_PAD32)
      continue;
    printf("%s\"%s\":", n++ ? "," : "", d->fields[i].name);
    field_value(&d->fields[i], elem);
  }
  putchar('}');
}

/* Decodes both payloads into plan; on failure prints {"error": message} and returns -1. */
static int decode_both(struct tsrun_plan *plan, char *p, size_t plen, char *c, size_t clen)
{
  tsrun_error_t err;
  if (tsrun_plan_decode(plan, TSRUN_FRAME_PLAN, p, plen, &err) < 0 ||
      tsrun_plan_decode(plan, TSRUN_FRAME_CONTINUE, c, clen, &err) < 0) {
    printf("{\"error\":");
    json_str(err.msg);
    printf("}\n");
    return -1;
  }
  return 0;
}

static void dump(const struct tsrun_plan *plan);

int main(int argc, char **argv)
{
  struct tsrun_plan plan;
  size_t plen, clen;
  if (argc != 3)
    return 2;
  memset(&plan, 0, sizeof(plan));
  char *p = slurp(argv[1], &plen);
  char *c = slurp(argv[2], &clen);
  int r = decode_both(&plan, p, plen, c, clen);
  if (r == 0)
    dump(&plan);
  tsrun_plan_free(&plan);
  free(p);
  free(c);
  return r == 0 ? 0 : 1;
}

static void dump(const struct tsrun_plan *plan)
{
  const char *base = (const char *)plan;
  int n = 0;
  putchar('{');
  for (uint32_t tag = 0; tag <= TSRUN_MAX_TAG; tag++) {
    const struct tsrun_record_desc *d = &tsrun_records[tag];
    if (d->name == NULL)
      continue;
    switch (d->store) {
    case TSRUN_STORE_FLAG:
      if (*(const bool *)(base + d->offset))
        printf("%s\"%s\":true", n++ ? "," : "", d->name);
      break;
    case TSRUN_STORE_ONE:
      if (*(const bool *)(base + d->has_offset)) {
        printf("%s\"%s\":", n++ ? "," : "", d->name);
        fields_object(d, 0, base + d->offset);
      }
      break;
    case TSRUN_STORE_MANY: {
      const char *arr = *(const char *const *)(base + d->offset);
      size_t count = *(const size_t *)(base + d->has_offset);
      if (count == 0)
        break;
      printf("%s\"%s\":[", n++ ? "," : "", d->name);
      for (size_t i = 0; i < count; i++) {
        if (i)
          putchar(',');
        fields_object(d, 0, arr + i * d->elem_size);
      }
      putchar(']');
      break;
    }
    case TSRUN_STORE_KEYED: {
      int k = 0;
      for (size_t key = 0; key < d->n_keys; key++) {
        if (!((const bool *)(base + d->has_offset))[key])
          continue;
        printf("%s", k++ ? "," : n++ ? ",\"" : "\"");
        if (k == 1)
          printf("%s\":{", d->name);
        printf("\"%zu\":", key);
        fields_object(d, 1, base + d->offset + key * d->elem_size);
      }
      if (k)
        putchar('}');
      break;
    }
    }
  }
  printf("}\n");
}

/* linux.seccomp: the filter is built with libseccomp (linked statically), exported as classic BPF
 * and loaded with seccomp(2) ourselves, so every SECCOMP_FILTER_FLAG_* the kernel has can be
 * passed (libseccomp 2.5 knows only some) and SCMP_ACT_NOTIFY gets its listener fd from
 * SECCOMP_FILTER_FLAG_NEW_LISTENER. The listener fd goes, with the container process state Node
 * wrote, to listenerPath: connected by stage 0 while the host's path still resolves, and inherited
 * by the process that loads the filter. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "seccomp.h"
#include "protocol.h"
#include "steps.h"
#include "unixsock.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

int tsrun_seccomp_connect_listener(const struct tsrun_plan *plan)
{
  if (!plan->has_seccomp_listener)
    return -1;
  return tsrun_unix_connect("seccomp", "seccomp listener", plan->seccomp_listener);
}

/* libseccomp reports failures as negative errnos. */
static void check(int rc, const char *fmt, const char *arg)
{
  if (rc < 0) {
    char what[256];
    snprintf(what, sizeof(what), fmt, arg);
    tsrun_fail("seccomp", -rc, "%s", what);
  }
}

static scmp_filter_ctx build(const struct tsrun_plan *plan)
{
  scmp_filter_ctx ctx = seccomp_init(plan->seccomp.default_action);
  if (ctx == NULL)
    tsrun_fail("seccomp", EINVAL, "seccomp_init: default action 0x%x", plan->seccomp.default_action);
  for (size_t i = 0; i < plan->n_seccomp_archs; i++) {
    const struct tsrun_seccomp_arch *a = &plan->seccomp_archs[i];
    uint32_t token = seccomp_arch_resolve_name(a->name);
    if (token == 0)
      tsrun_fail("seccomp", EINVAL, "/linux/seccomp/architectures/%u: %s is not known to libseccomp %u.%u.%u",
                 a->index, a->name, SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
    int rc = seccomp_arch_add(ctx, token);
    if (rc != -EEXIST) /* the native architecture is always there */
      check(rc, "add architecture %s", a->name);
  }
  for (size_t i = 0; i < plan->n_seccomp_rules; i++) {
    const struct tsrun_seccomp_rule *r = &plan->seccomp_rules[i];
    int nr = seccomp_syscall_resolve_name(r->syscall);
    if (nr == __NR_SCMP_ERROR) {
      /* Profiles name syscalls newer than this host's libseccomp: skipped, as runc does. */
      tsrun_log(TSRUN_LOG_DEBUG, "seccomp: skipping unknown syscall %s", r->syscall);
      continue;
    }
    struct scmp_arg_cmp cmp[6];
    size_t n = r->n_args / 4;
    if (r->n_args % 4 || n > 6)
      tsrun_fail("seccomp", EPROTO, "rule for %s: %zu comparison words", r->syscall, r->n_args);
    for (size_t k = 0; k < n; k++) {
      const uint64_t *c = &r->args[4 * k];
      cmp[k] = (struct scmp_arg_cmp){ .arg = (unsigned)c[0], .op = (enum scmp_compare)c[1],
                                      .datum_a = c[2], .datum_b = c[3] };
    }
    check(seccomp_rule_add_array(ctx, r->action, nr, (unsigned)n, cmp), "add rule for %s", r->syscall);
  }
  return ctx;
}

/* The filter as classic BPF: libseccomp 2.5 exports to an fd only. */
static struct sock_fprog export_bpf(scmp_filter_ctx ctx)
{
  cleanup_close int fd = memfd_create("tsrun-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    tsrun_fail("seccomp", errno, "memfd for the filter");
  check(seccomp_export_bpf(ctx, fd), "export the filter%s", "");
  struct stat st;
  if (fstat(fd, &st) < 0)
    tsrun_fail("seccomp", errno, "stat the exported filter");
  size_t size = (size_t)st.st_size;
  if (size == 0 || size % sizeof(struct sock_filter) || size / sizeof(struct sock_filter) > BPF_MAXINSNS)
    tsrun_fail("seccomp", E2BIG, "the filter has %zu bytes", size);
  struct sock_filter *insns = malloc(size);
  if (insns == NULL)
    tsrun_fail("seccomp", ENOMEM, "filter of %zu bytes", size);
  if (pread(fd, insns, size, 0) != (ssize_t)size)
    tsrun_fail("seccomp", errno ? errno : EIO, "read the exported filter");
  return (struct sock_fprog){ .len = (unsigned short)(size / sizeof(struct sock_filter)), .filter = insns };
}

/* One container process state per connection, then the connection is closed (the spec). */
static void send_listener(const struct tsrun_plan *plan, int sock, int listener)
{
  if (sock < 0 || !plan->has_seccomp_state)
    tsrun_fail("seccomp", EPROTO, "a notifying filter without its listener socket and state");
  tsrun_unix_send_fd("seccomp", "the seccomp listener", sock, plan->seccomp_state,
                     strlen(plan->seccomp_state), listener);
}

void tsrun_load_seccomp(const struct tsrun_plan *plan, enum tsrun_seccomp_when when, int listener_sock)
{
  /* Without no_new_privs loading needs CAP_SYS_ADMIN: before the user switch drops it. With it,
   * as late as possible, so the profile need not allow what the helper itself still does. */
  if (!plan->has_seccomp || (when == TSRUN_SECCOMP_BEFORE_EXEC) != plan->no_new_privileges)
    return;
  scmp_filter_ctx ctx = build(plan);
  struct sock_fprog prog = export_bpf(ctx);
  seccomp_release(ctx);
  unsigned long flags = plan->seccomp.flags;
  if (plan->has_seccomp_listener)
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  else
    flags &= ~(unsigned long)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV; /* meaningless without a listener */
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  int saved = errno;
  free(prog.filter);
  if (rc < 0)
    tsrun_fail("seccomp", saved, "load the filter (flags 0x%lx)", flags);
  if (plan->has_seccomp_listener) {
    cleanup_close int listener = (int)rc;
    cleanup_close int sock = listener_sock;
    send_listener(plan, sock, listener);
  }
}

static const char *const spec_archs[] = {
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
};

static const struct { const char *name; uint32_t action; } spec_actions[] = {
  { "SCMP_ACT_KILL", SCMP_ACT_KILL }, { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
  { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD }, { "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
  { "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0) }, { "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0) },
  { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW }, { "SCMP_ACT_LOG", SCMP_ACT_LOG },
  { "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY },
};

static const struct { const char *name; unsigned long flag, with; } spec_flags[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC, 0 },
  { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG, 0 },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW, 0 },
  /* the kernel takes it only with a listener */
  { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, SECCOMP_FILTER_FLAG_NEW_LISTENER },
};

static void json_list_start(FILE *out, const char *key, bool first)
{
  fprintf(out, "%s\"%s\":[", first ? "" : ",", key);
}

void tsrun_seccomp_features(FILE *out)
{
  int n = 0;
  const struct scmp_version *v = seccomp_version();
  fprintf(out, "{\"libseccomp\":\"%u.%u.%u\",", v->major, v->minor, v->micro);
  json_list_start(out, "archs", true);
  for (size_t i = 0; i < sizeof(spec_archs) / sizeof(spec_archs[0]); i++) {
    char name[32];
    size_t k = 0;
    for (const char *p = spec_archs[i] + strlen("SCMP_ARCH_"); *p && k + 1 < sizeof(name); p++)
      name[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    name[k] = '\0';
    if (seccomp_arch_resolve_name(name) != 0)
      fprintf(out, "%s\"%s\"", n++ ? "," : "", spec_archs[i]);
  }
  fputc(']', out);
  n = 0;
  json_list_start(out, "actions", false);
  for (size_t i = 0; i < sizeof(spec_actions) / sizeof(spec_actions[0]); i++) {
    uint32_t action = spec_actions[i].action;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0)
      fprintf(out, "%s\"%s\"", n++ ? "," : "", spec_actions[i].name);
  }
  fputc(']', out);
  n = 0;
  json_list_start(out, "supportedFlags", false);
  for (size_t i = 0; i < sizeof(spec_flags) / sizeof(spec_flags[0]); i++) {
    /* A NULL program: EFAULT once the flags are accepted, EINVAL when the kernel lacks one. */
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, spec_flags[i].flag | spec_flags[i].with, NULL);
    if (rc < 0 && errno == EFAULT)
      fprintf(out, "%s\"%s\"", n++ ? "," : "", spec_flags[i].name);
  }
  fputs("]}\n", out);
}

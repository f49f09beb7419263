/* process.scheduler, process.ioPriority and process.execCPUAffinity: how the container's process
 * is scheduled. Set while the init still has its privileges (a real-time policy, a lower nice or
 * the RT I/O class need CAP_SYS_NICE), and inherited across execve. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"
#include "protocol.h"
#include "steps.h"
#include "sync.h"

/* The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0): glibc 2.36 has no wrapper for it. */
struct sched_attr_v0 {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

void tsrun_set_scheduler(const struct tsrun_plan *plan)
{
  if (!plan->has_scheduler)
    return;
  const struct tsrun_scheduler *s = &plan->scheduler;
  struct sched_attr_v0 attr = {
    .size = sizeof(attr),
    .sched_policy = s->policy,
    .sched_flags = s->flags,
    .sched_nice = s->nice,
    .sched_priority = s->priority,
    .sched_runtime = s->runtime,
    .sched_deadline = s->deadline,
    .sched_period = s->period,
  };
  if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
    tsrun_fail("scheduler", errno, "sched_setattr policy %u nice %d priority %u", s->policy, s->nice,
               s->priority);
}

void tsrun_set_io_priority(const struct tsrun_plan *plan)
{
  if (!plan->has_io_priority)
    return;
  /* IOPRIO_PRIO_VALUE(class, data): class in the top 3 of 16 bits. */
  int value = (int)(plan->io_priority.class << 13 | plan->io_priority.priority);
  if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) < 0)
    tsrun_fail("ioPriority", errno, "ioprio_set class %u priority %u", plan->io_priority.class, plan->io_priority.priority);
}

/* "0-3,7" into a bit mask of `bits` bits (CPUs or NUMA nodes); -1 when malformed or too large. */
static int parse_id_list(const char *list, unsigned long *mask, size_t bits)
{
  memset(mask, 0, bits / 8);
  const char *p = list;
  if (*p == '\0')
    return -1;
  for (;;) {
    char *end;
    errno = 0;
    unsigned long first = strtoul(p, &end, 10);
    if (end == p || errno)
      return -1;
    unsigned long last = first;
    if (*end == '-') {
      p = end + 1;
      last = strtoul(p, &end, 10);
      if (end == p || errno || last < first)
        return -1;
    }
    if (last >= bits)
      return -1;
    for (unsigned long c = first; c <= last; c++)
      mask[c / (8 * sizeof(long))] |= 1UL << (c % (8 * sizeof(long)));
    if (*end == '\0')
      return 0;
    if (*end != ',')
      return -1;
    p = end + 1;
  }
}

/* Initial: by stage 0 before clone, so the init starts there. Final: right before execve; without a
 * final list, an initial one is undone by allowing every CPU (the kernel keeps the cgroup's cpuset). */
void tsrun_set_cpu_affinity(const struct tsrun_plan *plan, uint32_t when)
{
  const char *list = plan->cpu_affinity[when];
  cpu_set_t set;
  if (list == NULL) {
    if (when != TSRUN_AFFINITY_FINAL || plan->cpu_affinity[TSRUN_AFFINITY_INITIAL] == NULL)
      return;
    memset(&set, 0xff, sizeof(set));
  } else if (parse_id_list(list, (unsigned long *)&set, CPU_SETSIZE) < 0) {
    tsrun_fail("execCPUAffinity", EINVAL, "CPU list \"%s\"", list);
  }
  if (sched_setaffinity(0, sizeof(set), &set) < 0 && !(list == NULL && errno == EINVAL))
    tsrun_fail("execCPUAffinity", errno, "sched_setaffinity \"%s\"", list ? list : "all");
}

#define MAX_NUMA_NODES 1024

void tsrun_set_memory_policy(const struct tsrun_plan *plan)
{
  if (!plan->has_memory_policy)
    return;
  unsigned long nodes[MAX_NUMA_NODES / (8 * sizeof(long))];
  const char *list = plan->memory_policy.nodes;
  bool have_nodes = list && *list;
  if (have_nodes && parse_id_list(list, nodes, MAX_NUMA_NODES) < 0)
    tsrun_fail("memoryPolicy", EINVAL, "node list \"%s\"", list);
  /* maxnode counts one past the last bit the kernel reads (set_mempolicy(2)). */
  if (syscall(SYS_set_mempolicy, (int)(plan->memory_policy.mode | plan->memory_policy.flags),
              have_nodes ? nodes : NULL, have_nodes ? (unsigned long)MAX_NUMA_NODES + 1 : 0) < 0)
    tsrun_fail("memoryPolicy", errno, "set_mempolicy mode %u flags 0x%x nodes \"%s\"",
               plan->memory_policy.mode, plan->memory_policy.flags, have_nodes ? list : "");
}

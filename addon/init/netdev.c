/* linux.netDevices: existing host network devices moved into the container's network namespace,
 * renamed if asked, with their permanent global addresses kept (the kernel drops addresses on a
 * namespace move) and set up. Stage 0 opens a netlink socket in the host's namespace before the
 * clone; the init, already in its own namespace, uses it to see and move the host's devices and a
 * socket of its own to configure them on arrival. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "plan.h"
#include "steps.h"
#include "sync.h"

#define MAX_ADDRS 32
#define REQ_BYTES 1024

static int host_netlink = -1;

struct nl_req {
  struct nlmsghdr h;
  char body[REQ_BYTES];
};

struct saved_addr {
  struct ifaddrmsg ifa;
  unsigned char local[16], address[16], broadcast[4];
  bool has_local, has_address, has_broadcast;
  uint32_t flags;
};

void tsrun_netdev_open_host_socket(const struct tsrun_plan *plan)
{
  if (plan->n_net_devices == 0)
    return;
  host_netlink = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (host_netlink < 0)
    tsrun_fail("netDevices", errno, "open a netlink socket in the host network namespace");
}

static void add_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
  struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(rta), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends a request that wants an ack; returns 0 or -errno. */
static int nl_ack(int fd, struct nlmsghdr *h)
{
  static uint32_t seq;
  h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  h->nlmsg_seq = ++seq;
  if (send(fd, h, h->nlmsg_len, 0) < 0)
    return -errno;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != h->nlmsg_seq || r->nlmsg_type != NLMSG_ERROR)
        continue;
      return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
    }
  }
}

/* The index of device `name` in the namespace of netlink socket `fd`; -errno when absent. */
static int link_index(int fd, const char *name)
{
  struct nl_req req = { 0 };
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.h.nlmsg_seq = 1;
  add_attr(&req.h, IFLA_IFNAME, name, strlen(name) + 1);
  if (send(fd, &req, req.h.nlmsg_len, 0) < 0)
    return -errno;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
    ;
  if (n < 0)
    return -errno;
  for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n)) {
    if (r->nlmsg_type == NLMSG_ERROR)
      return ((struct nlmsgerr *)NLMSG_DATA(r))->error ? ((struct nlmsgerr *)NLMSG_DATA(r))->error : -ENODEV;
    if (r->nlmsg_type == RTM_NEWLINK)
      return ((struct ifinfomsg *)NLMSG_DATA(r))->ifi_index;
  }
  return -ENODEV;
}

/* The permanent, global-scope addresses of device `index` (what the spec says must survive). */
static size_t permanent_addrs(int fd, int index, struct saved_addr *out, const char *dev)
{
  struct nl_req req = { 0 };
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  req.h.nlmsg_type = RTM_GETADDR;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 2;
  if (send(fd, &req, req.h.nlmsg_len, 0) < 0)
    tsrun_fail("netDevices", errno, "list the addresses of \"%s\"", dev);
  size_t count = 0;
  static char buf[32768];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      tsrun_fail("netDevices", errno, "list the addresses of \"%s\"", dev);
    }
    for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_type == NLMSG_DONE)
        return count;
      if (r->nlmsg_type == NLMSG_ERROR)
        tsrun_fail("netDevices", -((struct nlmsgerr *)NLMSG_DATA(r))->error, "list the addresses of \"%s\"", dev);
      if (r->nlmsg_type != RTM_NEWADDR)
        continue;
      struct ifaddrmsg *ifa = NLMSG_DATA(r);
      if ((int)ifa->ifa_index != index || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
        continue;
      struct saved_addr a = { .ifa = *ifa, .flags = ifa->ifa_flags };
      size_t alen = ifa->ifa_family == AF_INET6 ? 16 : 4;
      int left = (int)IFA_PAYLOAD(r);
      for (struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
        if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) >= 4)
          memcpy(&a.flags, RTA_DATA(rta), 4);
        else if (rta->rta_type == IFA_LOCAL && RTA_PAYLOAD(rta) == alen)
          a.has_local = true, memcpy(a.local, RTA_DATA(rta), alen);
        else if (rta->rta_type == IFA_ADDRESS && RTA_PAYLOAD(rta) == alen)
          a.has_address = true, memcpy(a.address, RTA_DATA(rta), alen);
        else if (rta->rta_type == IFA_BROADCAST && RTA_PAYLOAD(rta) == 4)
          a.has_broadcast = true, memcpy(a.broadcast, RTA_DATA(rta), 4);
      }
      if (!(a.flags & IFA_F_PERMANENT))
        continue;
      if (count == MAX_ADDRS)
        tsrun_fail("netDevices", E2BIG, "\"%s\" has more than %d addresses", dev, MAX_ADDRS);
      out[count++] = a;
    }
  }
}

static void move_one(const struct tsrun_net_device *d, int netns, int local)
{
  const char *target = d->container_name[0] ? d->container_name : d->host_name;
  int index = link_index(host_netlink, d->host_name);
  if (index < 0)
    tsrun_fail("netDevices", -index, "find network device \"%s\" on the host", d->host_name);
  struct saved_addr addrs[MAX_ADDRS];
  size_t n_addrs = permanent_addrs(host_netlink, index, addrs, d->host_name);

  struct nl_req req = { 0 };
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  req.h.nlmsg_type = RTM_NEWLINK;
  ((struct ifinfomsg *)NLMSG_DATA(&req.h))->ifi_index = index;
  uint32_t fd = (uint32_t)netns;
  add_attr(&req.h, IFLA_NET_NS_FD, &fd, sizeof(fd));
  add_attr(&req.h, IFLA_IFNAME, target, strlen(target) + 1);
  int rc = nl_ack(host_netlink, &req.h);
  if (rc < 0)
    tsrun_fail("netDevices", -rc, "move network device \"%s\" into the container as \"%s\"", d->host_name, target);

  /* A "%d" template is named by the kernel; the index survives the move when it is free, as it is
   * in a namespace this new. */
  int new_index = strstr(target, "%d") ? index : link_index(local, target);
  if (new_index < 0)
    tsrun_fail("netDevices", -new_index, "find \"%s\" in the container", target);
  for (size_t i = 0; i < n_addrs; i++) {
    struct saved_addr *a = &addrs[i];
    struct nl_req add = { 0 };
    add.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    add.h.nlmsg_type = RTM_NEWADDR;
    add.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    struct ifaddrmsg *ifa = NLMSG_DATA(&add.h);
    *ifa = a->ifa;
    ifa->ifa_index = (unsigned)new_index;
    size_t alen = a->ifa.ifa_family == AF_INET6 ? 16 : 4;
    if (a->has_local)
      add_attr(&add.h, IFA_LOCAL, a->local, alen);
    if (a->has_address)
      add_attr(&add.h, IFA_ADDRESS, a->address, alen);
    if (a->has_broadcast)
      add_attr(&add.h, IFA_BROADCAST, a->broadcast, 4);
    add_attr(&add.h, IFA_FLAGS, &a->flags, sizeof(a->flags));
    rc = nl_ack(local, &add.h);
    if (rc < 0 && rc != -EEXIST)
      tsrun_fail("netDevices", -rc, "restore an address of \"%s\" in the container", target);
  }
  struct nl_req up = { 0 };
  up.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  up.h.nlmsg_type = RTM_NEWLINK;
  struct ifinfomsg *ifi = NLMSG_DATA(&up.h);
  ifi->ifi_index = new_index;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  rc = nl_ack(local, &up.h);
  if (rc < 0)
    tsrun_fail("netDevices", -rc, "set \"%s\" up in the container", target);
}

void tsrun_move_net_devices(const struct tsrun_plan *plan)
{
  if (plan->n_net_devices == 0)
    return;
  cleanup_close int netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (netns < 0)
    tsrun_fail("netDevices", errno, "open the container's network namespace");
  cleanup_close int local = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (local < 0)
    tsrun_fail("netDevices", errno, "open a netlink socket in the container");
  for (size_t i = 0; i < plan->n_net_devices; i++)
    move_one(&plan->net_devices[i], netns, local);
  close(host_netlink);
  host_netlink = -1;
}

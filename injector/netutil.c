/*
 * Small helpers of the network drivers: the test seam, libnl sockets and
 * messages, the guards' questions about the live system, and the qdisc
 * support probe.
 */
#include <errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/route.h>
#include <netlink/route/tc.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "injector_int.h"

/* ---- seam ---- */

static int seam_fail_at;
static int seam_calls;
static void (*seam_hook)(const char *what, void *arg);
static void *seam_hook_arg;

void injector_seam_hook(void (*fn)(const char *what, void *arg), void *arg)
{
	seam_hook = fn;
	seam_hook_arg = arg;
}

int injector_seam_fail_at(int n)
{
	int calls = seam_calls;

	seam_fail_at = n;
	seam_calls = 0;
	return calls;
}

int inj_seam_check(const char *what)
{
	if (seam_hook)
		seam_hook(what, seam_hook_arg);
	seam_calls++;
	return seam_fail_at > 0 && seam_calls == seam_fail_at ? -EIO : 0;
}

/* ---- libnl ---- */

int inj_rtnl_open(struct nl_sock **out, struct fd_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int rc;

	if (!sk)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc < 0) {
		nl_socket_free(sk);
		return fd_error_set(err, FD_ERR_ENV, -EIO, "rtnetlink: %s", nl_geterror(rc));
	}
	*out = sk;
	return 0;
}

const char *inj_nl_error(int nlerr)
{
	return nl_geterror(nlerr < 0 ? nlerr : -nlerr);
}

/* ---- guards ---- */

bool inj_in_host_netns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self) < 0)
		return true; /* cannot tell: assume the worst */
	if (stat("/proc/1/ns/net", &init) == 0)
		return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
	/* pid 1 out of reach (containers): recent kernels give the initial
	 * namespace a fixed inode number (PROC_NET_INIT_INO). */
	return self.st_ino == 0xEFFFFFF9U;
}

struct default_route_search {
	int ifindex;
	bool found;
};

static void nexthop_check(struct rtnl_nexthop *nh, void *arg)
{
	struct default_route_search *s = arg;

	if (rtnl_route_nh_get_ifindex(nh) == s->ifindex)
		s->found = true;
}

static void route_check(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(r);

	if (dst && nl_addr_get_prefixlen(dst) == 0 && rtnl_route_get_type(r) == RTN_UNICAST)
		rtnl_route_foreach_nexthop(r, nexthop_check, arg);
}

int inj_link_has_default_route(int ifindex)
{
	struct default_route_search s = { .ifindex = ifindex };
	struct nl_cache *cache = NULL;
	struct nl_sock *sk = NULL;
	int rc = inj_rtnl_open(&sk, NULL);

	if (rc < 0)
		return rc;
	rc = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache);
	if (rc == 0) {
		nl_cache_foreach(cache, route_check, &s);
		nl_cache_free(cache);
		rc = s.found;
	} else {
		rc = -EIO;
	}
	nl_socket_free(sk);
	return rc;
}

/* ---- qdisc support probe ---- */

static int try_qdisc(const char *kind)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	struct nl_sock *sk = NULL;
	int rc;

	if (!q || inj_rtnl_open(&sk, NULL) < 0)
		return 2;
	rtnl_tc_set_ifindex(TC_CAST(q), 1); /* lo of the private namespace */
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_kind(TC_CAST(q), kind);
	if (strcmp(kind, "tbf") == 0) {
		rtnl_qdisc_tbf_set_rate(q, 125000, 10000, 0);
		rtnl_qdisc_tbf_set_limit(q, 10000);
	} else if (strcmp(kind, "netem") == 0) {
		rtnl_netem_set_delay(q, 1000);
	}
	rc = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	nl_socket_free(sk);
	if (rc == 0)
		return 0;
	/* The kernel answers ENOENT for an unknown qdisc kind; libnl calls it
	 * "Object not found". */
	return rc == -NLE_OBJ_NOTFOUND ? 1 : 2;
}

int inj_qdisc_kind_supported(const char *kind)
{
	pid_t pid;
	int status;

	/* A throwaway network namespace: creating the qdisc there proves
	 * support (and loads the module) without touching anything real. */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(2);
		_exit(try_qdisc(kind));
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -EIO;
	switch (WEXITSTATUS(status)) {
	case 0:
		return 1;
	case 1:
		return 0;
	default:
		return -EIO;
	}
}

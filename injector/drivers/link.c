/*
 * link-down: clears IFF_UP on a link. The journal keeps whether the link
 * was up, so revert brings it back up only if it was: a link somebody else
 * had downed stays down.
 *
 * IPv6: by default the kernel deletes a link's static IPv6 addresses when
 * it goes down (net.ipv6.conf.LINK.keep_addr_on_down = 0), and bringing it
 * up does not give them back. So for the fault's duration the link keeps
 * its addresses (the sysctl is set to 1), and revert puts the old value
 * back once the link is up again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_time.h"
#include "injector_int.h"

struct link_state {
	const struct scenario_fault *f;
	int ifindex;
	bool was_up;
	int keep_addr; /* keep_addr_on_down before the fault; -1 without IPv6 */
};

static void keep_addr_path(const char *link, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/sys/net/ipv6/conf/%s/keep_addr_on_down", link);
}

/* The link's keep_addr_on_down, -1 when it has no IPv6. /proc/sys/net
 * shows the network namespace of the calling process. */
static int keep_addr_get(const char *link)
{
	char path[128], buf[16] = "";
	int fd, v = -1;

	keep_addr_path(link, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = atoi(buf);
	close(fd);
	return v;
}

static int keep_addr_set(const char *link, int v, struct fd_error *err)
{
	char path[128], buf[16];
	int fd, n, rc = 0;

	keep_addr_path(link, path, sizeof(path));
	n = snprintf(buf, sizeof(buf), "%d\n", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "link %s: setting %s: %s", link, path,
				  strerror(errno));
	if (fd >= 0)
		close(fd);
	/* The link is gone (its namespace or peer went): nothing to keep. */
	return rc == -ENOENT ? 0 : rc;
}

int inj_link_lookup(const struct scenario_fault *f, const struct driver_ctx *ctx,
		    int *ifindex, bool *up, struct fd_error *err)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	int rc;

	if (!f->link || !*f->link)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "fault %s: no link given", f->id);
	rc = inj_rtnl_open(&sk, err);
	if (rc < 0)
		return rc;
	rc = rtnl_link_get_kernel(sk, 0, f->link, &link);
	nl_socket_free(sk);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, -ENODEV, "fault %s: link \"%s\": %s", f->id,
				    f->link, nl_geterror(rc));
	*ifindex = rtnl_link_get_ifindex(link);
	*up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
	rc = 0;
	if (!ctx->force && (rtnl_link_get_flags(link) & IFF_LOOPBACK) &&
	    inj_in_host_netns())
		rc = fd_error_set(err, FD_ERR_INPUT, -EPERM,
				  "fault %s: link \"%s\" is the host's loopback (guarded; use --force or scope the drill to a namespace)",
				  f->id, f->link);
	else if (!ctx->force && inj_link_has_default_route(*ifindex) > 0)
		rc = fd_error_set(err, FD_ERR_INPUT, -EPERM,
				  "fault %s: link \"%s\" carries the default route (guarded; use --force)",
				  f->id, f->link);
	rtnl_link_put(link);
	return rc;
}

static int link_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			void **state, struct fd_error *err)
{
	struct link_state *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	s->f = f;
	rc = inj_link_lookup(f, ctx, &s->ifindex, &s->was_up, err);
	if (rc < 0) {
		free(s);
		return rc;
	}
	s->keep_addr = keep_addr_get(f->link);
	*state = s;
	return 0;
}

static void link_describe(const void *state, char *buf, size_t len)
{
	const struct link_state *s = state;
	char dur[32];

	snprintf(buf, len, "link %s down%s for %s", s->f->link,
		 s->was_up ? "" : " (already down: nothing to do)",
		 fd_duration_format(s->f->duration_ns, dur, sizeof(dur)));
}

static json_t *link_spec(const void *state)
{
	const struct link_state *s = state;

	return json_pack("{s:s, s:i, s:b, s:i}", "link", s->f->link, "ifindex", s->ifindex,
			 "was_up", s->was_up, "keep_addr_on_down", s->keep_addr);
}

static int set_up(int ifindex, const char *name, bool up, struct fd_error *err)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL, *change = NULL;
	int rc = inj_rtnl_open(&sk, err);

	if (rc < 0)
		return rc;
	rc = rtnl_link_get_kernel(sk, ifindex, NULL, &link);
	if (rc < 0) {
		/* The link is gone (its namespace or peer went): nothing to undo. */
		rc = rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? 0 :
			fd_error_set(err, FD_ERR_ENV, -EIO, "link %s: %s", name, nl_geterror(rc));
		goto out;
	}
	change = rtnl_link_alloc();
	if (!change) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto out;
	}
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	rc = inj_seam_check(up ? "link up" : "link down");
	if (rc == 0)
		rc = rtnl_link_change(sk, link, change, 0);
	else
		rc = -NLE_FAILURE;
	if (rc < 0)
		rc = fd_error_set(err, FD_ERR_ENV, -EIO, "setting link %s %s: %s", name,
				  up ? "up" : "down", nl_geterror(rc));
out:
	rtnl_link_put(change);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return rc;
}

static int link_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	struct link_state *s = state;
	int rc;

	(void)ctx;
	if (!s->was_up)
		return 0;
	rc = s->keep_addr == 0 ? keep_addr_set(s->f->link, 1, err) : 0;
	if (rc == 0)
		rc = set_up(s->ifindex, s->f->link, false, err);
	if (rc < 0 && s->keep_addr == 0) {
		struct fd_error ignored = { 0 };

		keep_addr_set(s->f->link, 0, &ignored);
	}
	if (rc < 0)
		fd_error_prefix(err, "fault %s", s->f->id);
	return rc;
}

static int link_revert(const json_t *spec, struct fd_error *err)
{
	const char *name = json_string_value(json_object_get(spec, "link"));
	json_int_t ifindex = json_integer_value(json_object_get(spec, "ifindex"));
	json_t *keep = json_object_get(spec, "keep_addr_on_down");
	int rc;

	if (!name || ifindex <= 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "link fault: malformed journal spec");
	if (!json_is_true(json_object_get(spec, "was_up")))
		return 0;
	rc = set_up((int)ifindex, name, true, err);
	/* Only once the link is up: addresses kept so far stay. */
	if (rc == 0 && json_is_integer(keep) && json_integer_value(keep) == 0)
		rc = keep_addr_set(name, 0, err);
	return rc;
}

static void link_free(void *state)
{
	free(state);
}

const struct injector_driver driver_link_down = {
	.name = "link-down",
	.kind = FAULT_LINK_DOWN,
	.kernel_expires = false,
	.revert_text = "link up",
	.guards = INJ_GUARD_LINK,
	.prepare = link_prepare,
	.describe = link_describe,
	.spec = link_spec,
	.apply = link_apply,
	.revert = link_revert,
	.free_state = link_free,
};

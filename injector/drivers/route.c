/*
 * blackhole-route, unreachable-route, prohibit-route: one route of that type
 * per collapsed target prefix, in the main table, with firedrill's own
 * protocol number so that nobody mistakes them for configured routes.
 *
 * Routes are added with NLM_F_EXCL: an existing route to the same prefix
 * is never replaced (the fault fails instead, naming it), so revert deletes
 * exactly the routes this fault added and nothing else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"
#include "injector_int.h"

#define FD_RTPROT 0xfd /* "fd": unassigned in /etc/iproute2/rt_protos */

struct route_state {
	const struct scenario_fault *f;
	uint8_t type;
	struct inj_targets t;
	size_t n_added;
};

static const char *type_name(uint8_t type)
{
	return type == RTN_BLACKHOLE ? "blackhole" : type == RTN_UNREACHABLE ? "unreachable" :
									      "prohibit";
}

/* The route type from the fault's own kind. */
static uint8_t kind_type(enum fault_kind kind)
{
	return kind == FAULT_BLACKHOLE_ROUTE ? RTN_BLACKHOLE :
	       kind == FAULT_UNREACHABLE_ROUTE ? RTN_UNREACHABLE : RTN_PROHIBIT;
}

static int route_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			 void **state, struct fd_error *err)
{
	struct route_state *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	s->f = f;
	s->type = kind_type(f->kind);
	rc = inj_targets_resolve(f, ctx, &s->t, err);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*state = s;
	return 0;
}

static void route_describe(const void *state, char *buf, size_t len)
{
	const struct route_state *s = state;
	char dur[32], first[FD_CIDR_STRLEN] = "";

	if (s->t.n)
		fd_cidr_format(&s->t.cidrs[0], first, sizeof(first));
	snprintf(buf, len, "%s route to %zu prefix%s (%s%s) for %s", type_name(s->type), s->t.n,
		 s->t.n == 1 ? "" : "es", first, s->t.n > 1 ? ", ..." : "",
		 fd_duration_format(s->f->duration_ns, dur, sizeof(dur)));
}

static json_t *route_spec(const void *state)
{
	const struct route_state *s = state;
	json_t *o = json_object(), *routes = json_array();

	if (!o || !routes) {
		json_decref(o);
		json_decref(routes);
		return NULL;
	}
	for (size_t i = 0; i < s->t.n; i++) {
		char buf[FD_CIDR_STRLEN];

		json_array_append_new(routes, json_string(fd_cidr_format(&s->t.cidrs[i], buf,
									sizeof(buf))));
	}
	json_object_set_new(o, "type", json_string(type_name(s->type)));
	json_object_set_new(o, "table", json_integer(RT_TABLE_MAIN));
	json_object_set_new(o, "protocol", json_integer(FD_RTPROT));
	json_object_set_new(o, "routes", routes);
	json_object_set_new(o, "hosts", json_incref(s->t.hosts));
	return o;
}

static struct rtnl_route *route_build(uint8_t type, const struct fd_cidr *c)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct nl_addr *dst;

	if (!r)
		return NULL;
	dst = nl_addr_build(c->family, c->addr, c->family == AF_INET ? 4 : 16);
	if (!dst) {
		rtnl_route_put(r);
		return NULL;
	}
	nl_addr_set_prefixlen(dst, c->prefix_len);
	rtnl_route_set_family(r, (uint8_t)c->family);
	rtnl_route_set_dst(r, dst);
	rtnl_route_set_type(r, type);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_protocol(r, FD_RTPROT);
	rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
	nl_addr_put(dst);
	return r;
}

/* Deletes one of our routes; a route already gone is success. */
static int route_del(struct nl_sock *sk, uint8_t type, const struct fd_cidr *c)
{
	struct rtnl_route *r = route_build(type, c);
	int rc;

	if (!r)
		return -NLE_NOMEM;
	rc = inj_seam_check("route delete");
	if (rc == 0)
		rc = rtnl_route_delete(sk, r, 0);
	else
		rc = -NLE_FAILURE;
	rtnl_route_put(r);
	return rc == -NLE_OBJ_NOTFOUND ? 0 : rc;
}

static int route_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	struct route_state *s = state;
	struct nl_sock *sk = NULL;
	char buf[FD_CIDR_STRLEN];
	int rc = inj_rtnl_open(&sk, err);

	(void)ctx;
	if (rc < 0)
		return rc;
	for (s->n_added = 0; s->n_added < s->t.n; s->n_added++) {
		const struct fd_cidr *c = &s->t.cidrs[s->n_added];
		struct rtnl_route *r = route_build(s->type, c);

		if (!r) {
			rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
			break;
		}
		rc = inj_seam_check("route add");
		if (rc == 0)
			rc = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_EXCL);
		else
			rc = -NLE_FAILURE;
		rtnl_route_put(r);
		if (rc < 0) {
			rc = fd_error_set(err, FD_ERR_ENV, -EIO, "fault %s: adding %s route %s: %s",
					  s->f->id, type_name(s->type),
					  fd_cidr_format(c, buf, sizeof(buf)),
					  rc == -NLE_EXIST ? "a route to it already exists" :
							     nl_geterror(rc));
			break;
		}
	}
	if (rc < 0) {
		/* Leave nothing of this fault behind. */
		while (s->n_added > 0)
			route_del(sk, s->type, &s->t.cidrs[--s->n_added]);
	}
	nl_socket_free(sk);
	return rc;
}

static int type_parse(const char *name, uint8_t *type)
{
	if (name && strcmp(name, "blackhole") == 0)
		*type = RTN_BLACKHOLE;
	else if (name && strcmp(name, "unreachable") == 0)
		*type = RTN_UNREACHABLE;
	else if (name && strcmp(name, "prohibit") == 0)
		*type = RTN_PROHIBIT;
	else
		return -EINVAL;
	return 0;
}

static int route_revert(const json_t *spec, struct fd_error *err)
{
	json_t *routes = json_object_get(spec, "routes"), *v;
	struct nl_sock *sk = NULL;
	uint8_t type;
	size_t i;
	int rc, first = 0;

	if (type_parse(json_string_value(json_object_get(spec, "type")), &type) < 0 ||
	    !json_is_array(routes))
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "route fault: malformed journal spec");
	rc = inj_rtnl_open(&sk, err);
	if (rc < 0)
		return rc;
	json_array_foreach(routes, i, v) {
		struct fd_cidr c;

		if (!json_string_value(v) || fd_cidr_parse(json_string_value(v), &c) < 0)
			continue;
		rc = route_del(sk, type, &c);
		if (rc < 0 && first == 0)
			first = fd_error_set(err, FD_ERR_ENV, -EIO, "deleting %s route %s: %s",
					     type_name(type), json_string_value(v), nl_geterror(rc));
	}
	nl_socket_free(sk);
	return first;
}

static void route_free(void *state)
{
	struct route_state *s = state;

	if (!s)
		return;
	inj_targets_free(&s->t);
	free(s);
}

#define ROUTE_DRIVER(var, nm, k)                                                             \
	const struct injector_driver var = {                                                  \
		.name = nm, .kind = k, .kernel_expires = false,                               \
		.revert_text = "delete the routes", .guards = INJ_GUARD_CIDRS,                \
		.prepare = route_prepare,                                                     \
		.describe = route_describe, .spec = route_spec, .apply = route_apply,        \
		.revert = route_revert, .free_state = route_free,                             \
	}

ROUTE_DRIVER(driver_blackhole_route, "blackhole-route", FAULT_BLACKHOLE_ROUTE);
ROUTE_DRIVER(driver_unreachable_route, "unreachable-route", FAULT_UNREACHABLE_ROUTE);
ROUTE_DRIVER(driver_prohibit_route, "prohibit-route", FAULT_PROHIBIT_ROUTE);

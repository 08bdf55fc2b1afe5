/*
 * delay, loss (netem) and rate (tbf): a root qdisc with firedrill's own
 * handle (fd00:) on one link.
 *
 * Only a link whose root qdisc is the kernel's default (handle 0:) is
 * touched: a qdisc somebody configured is never replaced, and revert
 * deletes the root qdisc only if it is still ours (handle and kind), which
 * brings the default back.
 *
 * Kernel support is probed at prepare time in a throwaway namespace: with
 * sch_netem missing the kernel answers ENOENT, which libnl words as "Object
 * not found"; we say "kernel lacks sch_netem" before anything is applied.
 */
#include <errno.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"
#include "injector_int.h"

#define FD_QDISC_HANDLE 0xfd000000U /* fd00: (TC_HANDLE overflows int here) */

struct qdisc_state {
	const struct scenario_fault *f;
	const char *qkind; /* "netem" or "tbf" */
	int ifindex;
};

static int root_qdisc(struct nl_sock *sk, int ifindex, struct rtnl_qdisc **out)
{
	struct nl_cache *cache = NULL;
	struct rtnl_qdisc *q;
	int rc = rtnl_qdisc_alloc_cache(sk, &cache);

	if (rc < 0)
		return rc;
	q = rtnl_qdisc_get_by_parent(cache, ifindex, TC_H_ROOT);
	nl_cache_free(cache);
	*out = q; /* a reference of its own, or NULL */
	return 0;
}

static int qdisc_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			 void **state, const char *qkind, struct fd_error *err)
{
	struct qdisc_state *s = calloc(1, sizeof(*s));
	struct rtnl_qdisc *root = NULL;
	struct nl_sock *sk = NULL;
	bool up;
	int rc;

	if (!s)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	s->f = f;
	s->qkind = qkind;
	rc = inj_link_lookup(f, ctx, &s->ifindex, &up, err);
	if (rc < 0)
		goto fail;
	rc = inj_qdisc_kind_supported(qkind);
	if (rc == 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -ENOTSUP,
				  "fault %s: kernel lacks sch_%s (the %s fault needs it; the kernel answered \"Object not found\" for qdisc kind %s)",
				  f->id, qkind, scenario_fault_kind_name(f->kind), qkind);
		goto fail;
	}
	rc = inj_rtnl_open(&sk, err);
	if (rc < 0)
		goto fail;
	rc = root_qdisc(sk, s->ifindex, &root);
	nl_socket_free(sk);
	if (rc < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -EIO, "fault %s: reading qdiscs of %s: %s", f->id,
				  f->link, nl_geterror(rc));
		goto fail;
	}
	if (root && rtnl_tc_get_handle(TC_CAST(root)) != 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -EBUSY,
				  "fault %s: link %s already has a configured root qdisc (%s %x:); firedrill only replaces the kernel's default",
				  f->id, f->link, rtnl_tc_get_kind(TC_CAST(root)),
				  rtnl_tc_get_handle(TC_CAST(root)) >> 16);
		rtnl_qdisc_put(root);
		goto fail;
	}
	rtnl_qdisc_put(root);
	*state = s;
	return 0;
fail:
	free(s);
	return rc;
}

static int delay_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			 void **state, struct fd_error *err)
{
	if (f->delay_ns <= 0)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "fault %s: delay must be > 0", f->id);
	return qdisc_prepare(f, ctx, state, "netem", err);
}

static int loss_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			void **state, struct fd_error *err)
{
	if (!(f->loss_percent > 0 && f->loss_percent <= 100))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "fault %s: loss must be in (0, 100]",
				    f->id);
	return qdisc_prepare(f, ctx, state, "netem", err);
}

static int rate_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			void **state, struct fd_error *err)
{
	if (f->rate_bps < 8 || f->rate_bps / 8 > INT32_MAX)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "fault %s: rate %llu bit/s is out of range", f->id,
				    (unsigned long long)f->rate_bps);
	return qdisc_prepare(f, ctx, state, "tbf", err);
}

static void qdisc_describe(const void *state, char *buf, size_t len)
{
	const struct qdisc_state *s = state;
	const struct scenario_fault *f = s->f;
	char dur[32], a[32], b[32];

	fd_duration_format(f->duration_ns, dur, sizeof(dur));
	if (f->kind == FAULT_DELAY)
		snprintf(buf, len, "delay %s%s%s on %s for %s",
			 fd_duration_format(f->delay_ns, a, sizeof(a)), f->jitter_ns ? " +/- " : "",
			 f->jitter_ns ? fd_duration_format(f->jitter_ns, b, sizeof(b)) : "", f->link,
			 dur);
	else if (f->kind == FAULT_LOSS)
		snprintf(buf, len, "lose %g%% of packets on %s for %s", f->loss_percent, f->link, dur);
	else
		snprintf(buf, len, "limit %s to %llu bit/s for %s", f->link,
			 (unsigned long long)f->rate_bps, dur);
}

static json_t *qdisc_spec(const void *state)
{
	const struct qdisc_state *s = state;

	return json_pack("{s:s, s:i, s:s, s:i}", "link", s->f->link, "ifindex", s->ifindex,
			 "qdisc", s->qkind, "handle", (json_int_t)FD_QDISC_HANDLE);
}

static struct rtnl_qdisc *qdisc_build(const struct qdisc_state *s)
{
	const struct scenario_fault *f = s->f;
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();

	if (!q)
		return NULL;
	rtnl_tc_set_ifindex(TC_CAST(q), s->ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), FD_QDISC_HANDLE);
	if (rtnl_tc_set_kind(TC_CAST(q), s->qkind) < 0) {
		rtnl_qdisc_put(q);
		return NULL;
	}
	if (f->kind == FAULT_DELAY) {
		rtnl_netem_set_delay(q, (int)(f->delay_ns / 1000));
		if (f->jitter_ns)
			rtnl_netem_set_jitter(q, (int)(f->jitter_ns / 1000));
	} else if (f->kind == FAULT_LOSS) {
		/* libnl takes netem's raw 32-bit probability, not a percentage. */
		uint32_t p = f->loss_percent >= 100 ? UINT32_MAX :
			     (uint32_t)(f->loss_percent / 100.0 * (double)UINT32_MAX);

		rtnl_netem_set_loss(q, (int)p);
	} else {
		int rate = (int)(f->rate_bps / 8);
		int burst = rate / 250 > 3200 ? rate / 250 : 3200; /* 4 ms worth, >= 2 MTUs */

		rtnl_qdisc_tbf_set_rate(q, rate, burst, 0);
		rtnl_qdisc_tbf_set_limit_by_latency(q, 50000);
	}
	return q;
}

static int qdisc_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	struct qdisc_state *s = state;
	struct rtnl_qdisc *q = NULL;
	struct nl_sock *sk = NULL;
	int rc;

	(void)ctx;
	rc = inj_rtnl_open(&sk, err);
	if (rc < 0)
		return rc;
	q = qdisc_build(s);
	if (!q) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "fault %s: building the %s qdisc",
				  s->f->id, s->qkind);
		goto out;
	}
	rc = inj_seam_check("qdisc add");
	if (rc == 0)
		rc = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	else
		rc = -NLE_FAILURE;
	if (rc == -NLE_OBJ_NOTFOUND)
		rc = fd_error_set(err, FD_ERR_ENV, -ENOTSUP, "fault %s: kernel lacks sch_%s (%s)",
				  s->f->id, s->qkind, nl_geterror(rc));
	else if (rc < 0)
		rc = fd_error_set(err, FD_ERR_ENV, -EIO, "fault %s: adding %s qdisc on %s: %s",
				  s->f->id, s->qkind, s->f->link, nl_geterror(rc));
out:
	rtnl_qdisc_put(q);
	nl_socket_free(sk);
	return rc;
}

static int qdisc_revert(const json_t *spec, struct fd_error *err)
{
	const char *kind = json_string_value(json_object_get(spec, "qdisc"));
	const char *link = json_string_value(json_object_get(spec, "link"));
	json_int_t ifindex = json_integer_value(json_object_get(spec, "ifindex"));
	struct rtnl_qdisc *root = NULL;
	struct nl_sock *sk = NULL;
	int rc;

	if (!kind || !link || ifindex <= 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "qdisc fault: malformed journal spec");
	rc = inj_rtnl_open(&sk, err);
	if (rc < 0)
		return rc;
	rc = root_qdisc(sk, (int)ifindex, &root);
	if (rc < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -EIO, "reading qdiscs of %s: %s", link,
				  nl_geterror(rc));
		goto out;
	}
	/* Ours only: our handle and kind; anything else is left alone. */
	if (root && rtnl_tc_get_handle(TC_CAST(root)) == FD_QDISC_HANDLE &&
	    strcmp(rtnl_tc_get_kind(TC_CAST(root)), kind) == 0) {
		rc = inj_seam_check("qdisc delete");
		if (rc == 0)
			rc = rtnl_qdisc_delete(sk, root);
		else
			rc = -NLE_FAILURE;
		if (rc == -NLE_OBJ_NOTFOUND)
			rc = 0;
		if (rc < 0)
			rc = fd_error_set(err, FD_ERR_ENV, -EIO, "deleting %s qdisc on %s: %s", kind,
					  link, nl_geterror(rc));
	}
out:
	rtnl_qdisc_put(root);
	nl_socket_free(sk);
	return rc;
}

static void qdisc_free(void *state)
{
	free(state);
}

#define QDISC_DRIVER(var, nm, k, prep)                                                       \
	const struct injector_driver var = {                                                  \
		.name = nm, .kind = k, .kernel_expires = false, .prepare = prep,              \
		.revert_text = "delete the qdisc", .guards = INJ_GUARD_LINK,                  \
		.describe = qdisc_describe, .spec = qdisc_spec, .apply = qdisc_apply,        \
		.revert = qdisc_revert, .free_state = qdisc_free,                             \
	}

QDISC_DRIVER(driver_delay, "delay", FAULT_DELAY, delay_prepare);
QDISC_DRIVER(driver_loss, "loss", FAULT_LOSS, loss_prepare);
QDISC_DRIVER(driver_rate, "rate", FAULT_RATE, rate_prepare);

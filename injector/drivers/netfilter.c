/*
 * drop and reject: prefixes (literal, resolved hosts, provider lists) with
 * optional protocol and ports, egress (daddr) or ingress (saddr).
 *
 * apply() only stages the fault into the injection's one nft batch
 * (ctx->nft); the core commits the batch once for all drop/reject faults.
 * The kernel ends these faults by itself: element timeouts at the max
 * duration, and the owner-flagged table when its holder dies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"
#include "injector_int.h"

struct nf_state {
	const struct scenario_fault *f;
	bool reject;
	struct inj_targets t;
};

static const char *proto_name(enum fault_protocol p)
{
	return p == PROTOCOL_TCP ? "tcp" : p == PROTOCOL_UDP ? "udp" : "any";
}

static int nf_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
		      void **state, struct fd_error *err)
{
	struct nf_state *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	s->f = f;
	s->reject = f->kind == FAULT_REJECT;
	rc = inj_targets_resolve(f, ctx, &s->t, err);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*state = s;
	return 0;
}

static void nf_describe(const void *state, char *buf, size_t len)
{
	const struct nf_state *s = state;
	const struct scenario_fault *f = s->f;
	char ports[128] = "", dur[32], what[160] = "";
	size_t off = 0;

	for (size_t i = 0; i < f->targets.n_ports && off + 8 < sizeof(ports); i++)
		off += (size_t)snprintf(ports + off, sizeof(ports) - off, "%s%u", i ? "," : "/",
					f->targets.ports[i]);
	if (f->targets.prefix_list)
		snprintf(what, sizeof(what), " (%s %s%s)",
			 f->targets.prefix_list->service ? f->targets.prefix_list->service : "any service",
			 f->targets.prefix_list->region ? f->targets.prefix_list->region : "any region",
			 f->targets.prefix_list->include_global ? " + GLOBAL" : "");
	snprintf(buf, len, "%s %s %s%s %s %zu prefixes%s [%zu v4, %zu v6] for %s",
		 s->reject ? "reject" : "drop",
		 f->direction == DIRECTION_EGRESS ? "egress" : "ingress",
		 proto_name(f->targets.protocol), ports,
		 f->direction == DIRECTION_EGRESS ? "to" : "from", s->t.n, what, s->t.n_v4,
		 s->t.n_v6, fd_duration_format(f->duration_ns, dur, sizeof(dur)));
}

static json_t *nf_spec(const void *state)
{
	const struct nf_state *s = state;
	const struct scenario_fault *f = s->f;
	json_t *o = json_object(), *ports = json_array(), *cidrs = json_array();

	if (!o || !ports || !cidrs) {
		json_decref(o);
		json_decref(ports);
		json_decref(cidrs);
		return NULL;
	}
	for (size_t i = 0; i < f->targets.n_ports; i++)
		json_array_append_new(ports, json_integer(f->targets.ports[i]));
	/* The journal keeps what people need to see; a provider list's
	 * thousands of prefixes are summarised by count. */
	for (size_t i = 0; i < s->t.n && i < 64; i++) {
		char buf[FD_CIDR_STRLEN];

		json_array_append_new(cidrs, json_string(fd_cidr_format(&s->t.cidrs[i], buf,
								       sizeof(buf))));
	}
	json_object_set_new(o, "table", json_string("inet " INJ_NFT_TABLE));
	json_object_set_new(o, "action", json_string(s->reject ? "reject" : "drop"));
	json_object_set_new(o, "direction",
			    json_string(f->direction == DIRECTION_EGRESS ? "egress" : "ingress"));
	json_object_set_new(o, "protocol", json_string(proto_name(f->targets.protocol)));
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "prefixes", json_integer((json_int_t)s->t.n));
	json_object_set_new(o, "cidrs", cidrs);
	json_object_set_new(o, "hosts", json_incref(s->t.hosts));
	if (f->targets.prefix_list) {
		const struct scenario_prefix_list *pl = f->targets.prefix_list;

		json_object_set_new(o, "prefix_list",
				    json_pack("{s:s, s:s?, s:s?, s:b}", "file", pl->file,
					      "service", pl->service, "region", pl->region,
					      "include_global", pl->include_global));
	}
	json_object_set_new(o, "timeout_ms", json_integer(f->duration_ns / FD_NS_PER_MS));
	return o;
}

static int nf_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	struct nf_state *s = state;
	const struct scenario_fault *f = s->f;
	struct inj_nft_fault nf = {
		.fault_id = f->id,
		.reject = s->reject,
		.direction = f->direction,
		.protocol = f->targets.protocol,
		.ports = f->targets.ports,
		.n_ports = f->targets.n_ports,
		.cidrs = s->t.cidrs,
		.n_cidrs = s->t.n,
		.timeout_ms = (uint64_t)(f->duration_ns + FD_NS_PER_MS - 1) / FD_NS_PER_MS,
	};

	if (!ctx->nft)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				    "fault %s: no nft batch to stage into", f->id);
	return inj_nft_stage(ctx->nft, &nf, err);
}

/* From another process: deleting the table works once its holder is gone
 * (the kernel already removed it then) or if it was never owned. */
static int nf_revert(const json_t *spec, struct fd_error *err)
{
	int rc;

	(void)spec;
	rc = inj_nft_table_delete(err);
	if (rc == -EPERM)
		return fd_error_set(err, FD_ERR_ENV, -EBUSY,
				    "table inet %s is held by its firedrill holder process; it goes when the holder reverts or exits",
				    INJ_NFT_TABLE);
	return rc;
}

static void nf_free(void *state)
{
	struct nf_state *s = state;

	if (!s)
		return;
	inj_targets_free(&s->t);
	free(s);
}

const struct injector_driver driver_drop = {
	.name = "drop",
	.kind = FAULT_DROP,
	.kernel_expires = true,
	.revert_text = "delete the nft table",
	.guards = INJ_GUARD_CIDRS,
	.prepare = nf_prepare,
	.describe = nf_describe,
	.spec = nf_spec,
	.apply = nf_apply,
	.revert = nf_revert,
	.free_state = nf_free,
};

const struct injector_driver driver_reject = {
	.name = "reject",
	.kind = FAULT_REJECT,
	.kernel_expires = true,
	.revert_text = "delete the nft table",
	.guards = INJ_GUARD_CIDRS,
	.prepare = nf_prepare,
	.describe = nf_describe,
	.spec = nf_spec,
	.apply = nf_apply,
	.revert = nf_revert,
	.free_state = nf_free,
};

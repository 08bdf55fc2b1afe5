/*
 * The drill's verdict arithmetic: objectives, outcome ranking, steady-state
 * and stop-if-failing decisions over probe states. Pure functions of their
 * arguments, so the unit tests can check them with synthetic samples.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "drill.h"
#include "drill_internal.h"
#include "fd_time.h"

static const char *const phase_names[DRILL_PHASE_COUNT] = {
	[DRILL_PHASE_SETUP] = "setup",
	[DRILL_PHASE_STEADY_STATE] = "steady-state",
	[DRILL_PHASE_INJECT] = "inject",
	[DRILL_PHASE_WATCH] = "watch",
	[DRILL_PHASE_READBACK] = "readback",
	[DRILL_PHASE_REVERT] = "revert",
	[DRILL_PHASE_FAILBACK] = "failback",
	[DRILL_PHASE_COOL_DOWN] = "cool-down",
	[DRILL_PHASE_DONE] = "done",
};

void drill_textf(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!len)
		return;
	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

const char *drill_phase_name(enum drill_phase p)
{
	if ((unsigned)p >= DRILL_PHASE_COUNT)
		return "?";
	return phase_names[p];
}

bool drill_objectives_met(const struct scenario *s, const struct drill_iteration *it,
			  char *why, size_t why_len)
{
	char a[32], b[32];

	if (why_len)
		why[0] = '\0';
	if (it->outcome != OUTCOME_RECOVERED || !it->has_rto) {
		snprintf(why, why_len, "%s", it->outcome == OUTCOME_NOT_HEALTHY ? "not healthy before the drill"
					      : it->outcome == OUTCOME_ABORTED ? "aborted"
					      : it->outcome == OUTCOME_ERROR ? "error"
					      : "not recovered");
		return false;
	}
	if (s->has_rto_objective && it->rto_ns > s->rto_objective_ns) {
		snprintf(why, why_len, "RTO %s over objective %s",
			 fd_duration_format(it->rto_ns, a, sizeof(a)),
			 fd_duration_format(s->rto_objective_ns, b, sizeof(b)));
		return false;
	}
	if (s->has_rpo_objective && !it->has_rpo) {
		snprintf(why, why_len, "RPO objective set but RPO not measured");
		return false;
	}
	if (s->has_rpo_objective && it->rpo_ns > s->rpo_objective_ns) {
		snprintf(why, why_len, "RPO %s over objective %s",
			 fd_duration_format(it->rpo_ns, a, sizeof(a)),
			 fd_duration_format(s->rpo_objective_ns, b, sizeof(b)));
		return false;
	}
	return true;
}

static int outcome_rank(enum drill_outcome o)
{
	switch (o) {
	case OUTCOME_RECOVERED:
		return 1;
	case OUTCOME_NOT_RECOVERED:
		return 2;
	case OUTCOME_NOT_HEALTHY:
		return 3;
	case OUTCOME_ABORTED:
		return 4;
	case OUTCOME_ERROR:
		return 5;
	case OUTCOME_RUNNING:
		break;
	}
	return 0;
}

enum drill_outcome drill_outcome_worse(enum drill_outcome a, enum drill_outcome b)
{
	return outcome_rank(a) >= outcome_rank(b) ? a : b;
}

char *drill_rto_text(const struct drill_iteration *it, char *buf, size_t len)
{
	char v[32], b[32];

	if (it->has_rto_bounds)
		return fd_bounded_format(it->rto_ns, it->rto_late_ns, it->rto_early_ns, buf, len);
	drill_textf(buf, len, "%s (+%s)", fd_duration_format(it->rto_ns, v, sizeof(v)),
		    fd_duration_format(it->error_bound_ns, b, sizeof(b)));
	return buf;
}

const char *drill_outcome_name(enum drill_outcome o)
{
	switch (o) {
	case OUTCOME_RUNNING:
		return "running";
	case OUTCOME_RECOVERED:
		return "recovered";
	case OUTCOME_NOT_RECOVERED:
		return "not-recovered";
	case OUTCOME_ABORTED:
		return "aborted";
	case OUTCOME_NOT_HEALTHY:
		return "not-healthy";
	case OUTCOME_ERROR:
		return "error";
	}
	return "unknown";
}

int64_t drill_steady_window_ns(const struct scenario *s)
{
	int64_t interval = 0, timeout = 0, w;

	if (s->n_steady_state == 0)
		return 0;
	for (size_t i = 0; i < s->n_steady_state; i++) {
		const struct scenario_probe *p = &s->probes[s->steady_state[i]];

		if (p->interval_ns > interval)
			interval = p->interval_ns;
		if (p->timeout_ns > timeout)
			timeout = p->timeout_ns;
	}
	w = 3 * interval + timeout;
	if (w < FD_NS_PER_S)
		w = FD_NS_PER_S;
	if (w > 30 * FD_NS_PER_S)
		w = 30 * FD_NS_PER_S;
	return w;
}

int drill_track_sample(struct probe_track *t, bool ok, int64_t sent_mono_ns)
{
	bool changed;

	if (t->seen && sent_mono_ns < t->last_sent_ns)
		return 0;
	changed = !t->seen || t->ok != ok;
	if (!ok && (!t->seen || t->ok))
		t->failing_since_ns = sent_mono_ns;
	t->seen = true;
	t->ok = ok;
	t->last_sent_ns = sent_mono_ns;
	if (!changed)
		return 0;
	return ok ? 1 : -1;
}

int64_t drill_failing_for_ns(const struct scenario *s, const struct probe_track *tracks,
			     size_t probe, int64_t now_mono_ns)
{
	const struct probe_track *t = &tracks[probe];
	enum probe_kind k = s->probes[probe].kind;
	int64_t until = k == PROBE_LOG || k == PROBE_PCAP ? now_mono_ns : t->last_sent_ns;

	if (!t->seen || t->ok || until < t->failing_since_ns)
		return 0;
	return until - t->failing_since_ns;
}

bool drill_stop_if_tripped(const struct scenario *s, const struct probe_track *tracks,
			   int64_t now_mono_ns, size_t *which)
{
	for (size_t i = 0; i < s->n_stop_if; i++) {
		const struct probe_track *t = &tracks[s->stop_if[i].probe];

		if (t->seen && !t->ok &&
		    drill_failing_for_ns(s, tracks, s->stop_if[i].probe, now_mono_ns) >=
		    s->stop_if[i].for_ns) {
			*which = i;
			return true;
		}
	}
	return false;
}

bool drill_steady_ok(const struct scenario *s, const struct probe_track *tracks)
{
	for (size_t i = 0; i < s->n_steady_state; i++) {
		const struct probe_track *t = &tracks[s->steady_state[i]];

		if (!t->seen || !t->ok)
			return false;
	}
	return true;
}

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	case IPPROTO_SCTP: return "sctp";
	default:
		drill_textf(buf, len, "proto %u", (unsigned)p);
		return buf;
	}
}

char *drill_flow_format(const struct drill_flow *f, char *buf, size_t len)
{
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?", pn[16];
	bool v6 = f->family == AF_INET6;

	inet_ntop(v6 ? AF_INET6 : AF_INET, f->src, src, sizeof(src));
	inet_ntop(v6 ? AF_INET6 : AF_INET, f->dst, dst, sizeof(dst));
	if (f->dport)
		drill_textf(buf, len, "%s %s -> %s%s%s:%u", proto_name(f->protocol, pn, sizeof(pn)), src,
			    v6 ? "[" : "", dst, v6 ? "]" : "", (unsigned)f->dport);
	else
		drill_textf(buf, len, "%s %s -> %s", proto_name(f->protocol, pn, sizeof(pn)), src, dst);
	return buf;
}

char *drill_flow_sender(const struct drill_flow *f, char *buf, size_t len)
{
	char owner[512];

	fd_flow_owner_format(&f->owner, owner, sizeof(owner));
	drill_textf(buf, len, "%s %s", f->owner.pid ? "from" : "sender", owner);
	return buf;
}

void drill_flow_row(const struct drill_flow *f, int64_t iteration_id, struct store_flow *out)
{
	int af = f->family == AF_INET6 ? AF_INET6 : AF_INET;
	char pn[16];

	memset(out, 0, sizeof(*out));
	out->iteration_id = iteration_id;
	drill_textf(out->fault_id, sizeof(out->fault_id), "%s", f->fault_id);
	drill_textf(out->protocol, sizeof(out->protocol), "%s", proto_name(f->protocol, pn, sizeof(pn)));
	inet_ntop(af, f->src, out->src, sizeof(out->src));
	inet_ntop(af, f->dst, out->dst, sizeof(out->dst));
	out->dport = f->dport;
	drill_flow_format(f, out->flow, sizeof(out->flow));
	out->packets = (int64_t)f->packets;
	out->has_first_seen = f->first_seen_mono_ns != 0;
	out->first_seen_ms = (double)f->since_t0_ns / (double)FD_NS_PER_MS;
	out->owner = f->owner;
}

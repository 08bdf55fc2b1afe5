/*
 * The summary model both reports (and `firedrill history`) share: what a
 * drill's iterations add up to, its objectives, the change lines of a
 * series, the evidence verdict. Built from store rows; renderers read it and
 * nothing here renders.
 */
#include "report_priv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int report_summarize(const struct store_iteration *its, size_t n, struct report_summary *out)
{
	double *v = malloc((n + 1) * sizeof(*v));
	size_t k = 0, m = 0;

	memset(out, 0, sizeof(*out));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (rp_iteration_rto(&its[i], &v[k]))
			k++;
		if (its[i].error_bound_ms > out->error_bound_ms)
			out->error_bound_ms = its[i].error_bound_ms;
		out->lost_writes += its[i].lost_writes;
		out->n_recovered += its[i].outcome == STORE_OUTCOME_RECOVERED;
		out->n_met += its[i].objectives_met;
	}
	if (k) {
		double med = rp_median(v, k);

		out->rto_not_recovered = isinf(med);
		out->rto_median = (struct report_value){ !isinf(med), isinf(med) ? 0 : med };
	}
	for (size_t i = 0; i < n; i++)
		if (its[i].has_rpo)
			v[m++] = its[i].rpo_ms;
	if (m)
		out->rpo_median = (struct report_value){ true, rp_median(v, m) };
	out->pass_rate = n ? (double)out->n_met / (double)n : 0;
	free(v);
	return 0;
}

void rp_drill_stats(struct report_drill *d)
{
	/* On -ENOMEM the summary is zeroed: nothing is claimed. */
	(void)report_summarize(d->iterations, d->n_iterations, &d->sum);
}

void report_objectives_of(const struct store_drill *d, struct report_objectives *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->objectives_recorded) {
		out->unknown = true;
		return;
	}
	if (d->has_rto_objective)
		out->rto = (struct report_value){ true, (double)d->rto_objective_ns / 1e6 };
	if (d->has_rpo_objective)
		out->rpo = (struct report_value){ true, (double)d->rpo_objective_ns / 1e6 };
	snprintf(out->criterion, sizeof(out->criterion), "%s", d->recovery_criterion);
}

static const char *med_text(const struct report_drill *d, bool rto, char *buf, size_t len)
{
	if (rto && d->sum.rto_not_recovered)
		return "not recovered";
	return rp_value(rto ? &d->sum.rto_median : &d->sum.rpo_median, "-", buf, len);
}

char *rp_change_line(const struct report_series *s, bool rto, char *buf, size_t len)
{
	const struct report_drill *first = &s->drills[0], *last = &s->drills[s->n_drills - 1];
	char a[32], b[32], pct[32];
	const struct report_value *c = rto ? &last->rto_change_first_pct : &last->rpo_change_first_pct;

	if (s->n_drills == 1) {
		snprintf(buf, len, "%s %s (one drill)", rto ? "RTO" : "RPO", med_text(first, rto, a, sizeof(a)));
		return buf;
	}
	snprintf(buf, len, "%s %s -> %s%s%s%s", rto ? "RTO" : "RPO",
		 med_text(first, rto, a, sizeof(a)), med_text(last, rto, b, sizeof(b)),
		 c->has ? ", " : "", rp_pct(c, pct, sizeof(pct)),
		 c->has ? " since first drill" : "");
	return buf;
}

char *report_trend_headline(const struct report_series *s, char *buf, size_t len)
{
	char rto[128], rpo[128];

	if (!s->n_drills) {
		snprintf(buf, len, "no drills");
		return buf;
	}
	rp_change_line(s, true, rto, sizeof(rto));
	rp_change_line(s, false, rpo, sizeof(rpo));
	snprintf(buf, len, "%s; %s", rto, rpo);
	return buf;
}

int rp_event_iteration(const struct report_evidence *ev, const struct store_event *e)
{
	for (size_t i = 0; e->iteration_id && i < ev->n_iterations; i++)
		if (ev->iterations[i].it.id == e->iteration_id)
			return ev->iterations[i].it.number;
	return 0;
}

const char *rp_event_iteration_text(const struct report_evidence *ev, const struct store_event *e,
				    char *buf, size_t len)
{
	int n = rp_event_iteration(ev, e);

	if (n > 0)
		snprintf(buf, len, "%d", n);
	else
		snprintf(buf, len, "drill");
	return buf;
}

int rp_evidence_summary(const struct report_evidence *ev, struct report_drill *out)
{
	memset(out, 0, sizeof(*out));
	out->info = ev->drill;
	out->objectives = ev->objectives;
	out->iterations = calloc(ev->n_iterations + 1, sizeof(*out->iterations));
	if (!out->iterations)
		return -ENOMEM;
	for (size_t i = 0; i < ev->n_iterations; i++)
		out->iterations[i] = ev->iterations[i].it;
	out->n_iterations = ev->n_iterations;
	rp_drill_stats(out);
	return 0;
}

static const char *objective_text(const struct report_objectives *o, bool rto, char *buf,
				  size_t len)
{
	const struct report_value *obj = rto ? &o->rto : &o->rpo;

	if (o->unknown)
		return "objective unknown";
	if (!obj->has)
		return "no objective";
	snprintf(buf, len, "objective ");
	rp_dur(obj->ms, buf + strlen(buf), len - strlen(buf));
	return buf;
}

static const char *verdict_word(const struct report_evidence *ev, const struct report_drill *s)
{
	switch (ev->drill.outcome) {
	case STORE_OUTCOME_RUNNING:
		return "INCOMPLETE (still running or died)";
	case STORE_OUTCOME_ABORTED:
		return "INCOMPLETE (aborted)";
	case STORE_OUTCOME_NOT_HEALTHY:
		return "INCOMPLETE (not healthy before the drill; nothing injected)";
	case STORE_OUTCOME_ERROR:
		return "INCOMPLETE (ended by an error)";
	default:
		break;
	}
	if (s->n_iterations && (size_t)s->sum.n_met == s->n_iterations && ev->drill.objectives_met)
		return "PASS";
	return "FAIL";
}

char *report_evidence_verdict(const struct report_evidence *ev, char *buf, size_t len)
{
	struct report_drill s;
	char rto[32], rpo[32], bound[32], ro[48], po[48];

	if (rp_evidence_summary(ev, &s) < 0) {
		snprintf(buf, len, "verdict unavailable (out of memory)");
		return buf;
	}
	snprintf(buf, len,
		 "%s: %d/%zu iterations met objectives, %d/%zu recovered; median RTO %s (%s, "
		 "error bound %s), median RPO %s (%s), %lld acknowledged writes lost",
		 verdict_word(ev, &s), s.sum.n_met, s.n_iterations, s.sum.n_recovered, s.n_iterations,
		 s.sum.rto_not_recovered ? "not recovered" :
		 rp_value(&s.sum.rto_median, "not measured", rto, sizeof(rto)),
		 objective_text(&ev->objectives, true, ro, sizeof(ro)),
		 rp_dur(s.sum.error_bound_ms, bound, sizeof(bound)),
		 rp_value(&s.sum.rpo_median, "not measured", rpo, sizeof(rpo)),
		 objective_text(&ev->objectives, false, po, sizeof(po)), (long long)s.sum.lost_writes);
	free(s.iterations);
	return buf;
}

void rp_evidence_who(const struct report_evidence *ev, struct rp_who *w)
{
	const struct store_drill *d = &ev->drill;
	size_t n = 0;

	snprintf(w->id, sizeof(w->id), "%lld", (long long)d->id);
	w->f[n++] = (struct rp_field){ "drill", w->id };
	w->f[n++] = (struct rp_field){ "scenario", d->scenario_name };
	w->f[n++] = (struct rp_field){ "environment", d->environment };
	w->f[n++] = (struct rp_field){ "operator", d->operator_name };
	w->f[n++] = (struct rp_field){ "host", d->host };
	w->f[n++] = (struct rp_field){ "started (UTC)",
				       rp_time(d->started_real_ns, w->started, sizeof(w->started)) };
	w->f[n++] = (struct rp_field){ "ended (UTC)",
				       rp_time(d->ended_real_ns, w->ended, sizeof(w->ended)) };
	w->f[n++] = (struct rp_field){ "outcome", store_outcome_name(d->outcome) };
	w->f[n++] = (struct rp_field){ "firedrill version (drill)", d->tool_version };
	w->f[n++] = (struct rp_field){ "firedrill version (report)", ev->tool_version };
	w->f[n++] = (struct rp_field){ "note", d->note };
	w->f[n++] = (struct rp_field){ "store row hash", d->hash };
	w->n = n;
}

int rp_part_section(enum rp_part p)
{
	switch (p) {
	case RP_PART_SCOPE: return RP_SEC_SCOPE;
	case RP_PART_PARTICIPANTS: return RP_SEC_PARTICIPANTS;
	case RP_PART_INTEGRITY: return RP_SEC_INTEGRITY;
	case RP_PART_DEVIATIONS: return RP_SEC_DEVIATIONS;
	case RP_PART_FINDINGS: return RP_SEC_FINDINGS;
	case RP_PART_ACTIONS: return RP_SEC_ACTIONS;
	case RP_PART_RETESTS: return RP_SEC_RETESTS;
	case RP_PART_LESSONS: return RP_SEC_LESSONS;
	case RP_PART_CONTROLS: return RP_SEC_CONTROLS;
	case RP_PART_SIGNOFF: return RP_SEC_SIGNOFF;
	case RP_PART_FLOWS: return RP_SEC_FLOWS;
	default: return -1;
	}
}

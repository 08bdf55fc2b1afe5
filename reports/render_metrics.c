/*
 * Metrics renderer: the trend model as Prometheus text exposition format
 * (version 0.0.4, which the node_exporter textfile collector and the
 * Pushgateway read, and which OpenMetrics parsers accept for gauges), for
 * `firedrill report metrics` (docs/reports.md, "Metrics").
 *
 * One sample per scenario x environment and metric, labelled {scenario,
 * environment} only: the label set is bounded by the scenarios a team
 * keeps, never by drills (no drill ids, operators or times as labels).
 * Values are in base units: seconds, timestamps in seconds since the epoch.
 * A value a series does not have (not recovered, no RPO measured, no
 * objective, never proven) is left out, never written as 0 or NaN, so that
 * an alert on it cannot fire on a missing number. Label values are escaped
 * as the format says (\\, \", \n) after invalid UTF-8 and control bytes are
 * made visible (rp_sanitize).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report_priv.h"

/* What one metric family reads off a series; false: no sample for it. */
typedef bool (*metric_fn)(const struct report_series *s, double *v);

static const struct report_drill *last(const struct report_series *s)
{
	return s->n_drills ? &s->drills[s->n_drills - 1] : NULL;
}

static bool m_rto(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d ? d->sum.rto_median.ms / 1000.0 : 0;
	return d && d->sum.rto_median.has;
}

static bool m_recovered(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d && d->sum.rto_median.has ? 1 : 0;
	return d != NULL;
}

static bool m_rpo(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d ? d->sum.rpo_median.ms / 1000.0 : 0;
	return d && d->sum.rpo_median.has;
}

static bool m_rto_objective(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d ? d->objectives.rto.ms / 1000.0 : 0;
	return d && !d->objectives.unknown && d->objectives.rto.has;
}

static bool m_rpo_objective(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d ? d->objectives.rpo.ms / 1000.0 : 0;
	return d && !d->objectives.unknown && d->objectives.rpo.has;
}

static bool m_met(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d && d->n_iterations && d->sum.n_met == (int)d->n_iterations ? 1 : 0;
	return d != NULL;
}

static bool m_error_bound(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d ? d->sum.error_bound_ms / 1000.0 : 0;
	return d && d->sum.rto_median.has;
}

static bool m_lost(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d ? (double)d->sum.lost_writes : 0;
	return d && d->sum.rpo_median.has;
}

static bool m_drilled(const struct report_series *s, double *v)
{
	const struct report_drill *d = last(s);

	*v = d ? (double)d->info.started_real_ns / 1e9 : 0;
	return d != NULL;
}

static bool m_proven(const struct report_series *s, double *v)
{
	*v = (double)s->freshness.rec.last_proven_real_ns / 1e9;
	return s->freshness.rec.proven;
}

static bool m_prove_every(const struct report_series *s, double *v)
{
	*v = (double)s->freshness.prove_every_ns / 1e9;
	return s->freshness.prove_every_ns > 0;
}

static bool m_stale(const struct report_series *s, double *v)
{
	*v = report_freshness_fails(&s->freshness) ? 1 : 0;
	return true;
}

static bool m_open_actions(const struct report_series *s, double *v)
{
	*v = (double)s->n_open_actions;
	return true;
}

static bool m_overdue_actions(const struct report_series *s, double *v)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_open_actions; i++)
		n += s->open_actions[i].past_due;
	*v = (double)n;
	return true;
}

static bool m_drills(const struct report_series *s, double *v)
{
	*v = (double)s->n_drills;
	return true;
}

static bool m_pass_rate(const struct report_series *s, double *v)
{
	*v = s->pass_rate;
	return s->n_iterations > 0;
}

static const struct {
	const char *name;
	metric_fn fn;
	const char *help;
} families[] = {
	{ "firedrill_last_rto_seconds", m_rto, "Median RTO of the last drill (absent when not recovered)." },
	{ "firedrill_last_recovered", m_recovered, "1 when the last drill's median iteration recovered." },
	{ "firedrill_last_rto_error_bound_seconds", m_error_bound, "How far the last drill's RTO may be off (probe resolution)." },
	{ "firedrill_last_rpo_seconds", m_rpo, "Median RPO of the last drill (absent when not measured)." },
	{ "firedrill_last_lost_writes", m_lost, "Acknowledged writes lost in the last drill (canary)." },
	{ "firedrill_rto_objective_seconds", m_rto_objective, "The RTO objective the last drill was judged by." },
	{ "firedrill_rpo_objective_seconds", m_rpo_objective, "The RPO objective the last drill was judged by." },
	{ "firedrill_last_objectives_met", m_met, "1 when every iteration of the last drill met its objectives." },
	{ "firedrill_last_drilled_timestamp_seconds", m_drilled, "When the last drill started (UNIX time)." },
	{ "firedrill_last_proven_timestamp_seconds", m_proven, "When the last drill that recovered with its objectives met ended (absent: never proven)." },
	{ "firedrill_prove_every_seconds", m_prove_every, "The scenario's prove-every period (absent: none)." },
	{ "firedrill_plan_stale", m_stale, "1 when the plan is stale: not proven within prove-every, or changed since its last proof." },
	{ "firedrill_open_actions", m_open_actions, "Open remediation actions filed on the scenario's drills." },
	{ "firedrill_overdue_actions", m_overdue_actions, "Open remediation actions past their due date." },
	{ "firedrill_drills", m_drills, "Finished drills recorded for the scenario and environment." },
	{ "firedrill_pass_rate", m_pass_rate, "Share of all recorded iterations that met their objectives (0-1)." },
};

/* A label value: sanitized, then \ " and newline escaped. */
static int put_label(FILE *out, const char *name, const char *value)
{
	char *clean = rp_sanitize(value, true);

	if (!clean)
		return -1;
	fprintf(out, "%s=\"", name);
	for (const char *p = clean; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputc('"', out);
	free(clean);
	return 0;
}

static void put_value(FILE *out, double v)
{
	/* whole numbers print without a fraction; times keep their milliseconds */
	fprintf(out, " %.13g\n", v);
}

int rp_trend_metrics(const struct report_trend *t, FILE *out, struct fd_error *err)
{
	size_t stale = 0;

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", families[f].name, families[f].help,
			families[f].name);
		for (size_t i = 0; i < t->n_series; i++) {
			const struct report_series *s = &t->series[i];
			double v;

			if (!families[f].fn(s, &v))
				continue;
			fprintf(out, "%s{", families[f].name);
			if (put_label(out, "scenario", s->scenario) < 0 ||
			    (fputc(',', out), put_label(out, "environment", s->environment) < 0))
				return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "metrics: out of memory");
			fputc('}', out);
			put_value(out, v);
		}
	}
	for (size_t i = 0; i < t->n_series; i++)
		stale += report_freshness_fails(&t->series[i].freshness);
	fputs("# HELP firedrill_stale_plans Scenario x environment pairs whose plan is stale.\n"
	      "# TYPE firedrill_stale_plans gauge\n", out);
	fprintf(out, "firedrill_stale_plans %zu\n", stale);
	fputs("# HELP firedrill_scenarios Scenario x environment pairs with a recorded drill.\n"
	      "# TYPE firedrill_scenarios gauge\n", out);
	fprintf(out, "firedrill_scenarios %zu\n", t->n_series);
	fputs("# HELP firedrill_metrics_generated_timestamp_seconds When these metrics were written (UNIX time).\n"
	      "# TYPE firedrill_metrics_generated_timestamp_seconds gauge\n"
	      "firedrill_metrics_generated_timestamp_seconds", out);
	put_value(out, (double)t->generated_real_ns / 1e9);
	return 0;
}

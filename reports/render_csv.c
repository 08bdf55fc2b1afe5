/*
 * CSV renderer: one row per iteration, RFC 4180 (CRLF line ends, fields
 * quoted when they hold a comma, quote or line break, quotes doubled).
 * Durations are milliseconds; an absent value is an empty field, and a
 * not-recovered iteration has an empty rto_ms and outcome "not-recovered".
 */
#include "report_priv.h"

#define CRLF "\r\n"

static void field(FILE *out, const char *s)
{
	rp_put_csv(out, s);
	fputc(',', out);
}

static void ms(FILE *out, bool has, double v)
{
	if (has)
		fprintf(out, "%.3f", v);
	fputc(',', out);
}

static void iteration_row(FILE *out, const struct report_drill *d, const struct store_iteration *it)
{
	char b[40];

	field(out, d->info.scenario_name);
	field(out, d->info.environment);
	fprintf(out, "%lld,", (long long)d->info.id);
	field(out, rp_time(d->info.started_real_ns, b, sizeof(b)));
	field(out, d->info.operator_name);
	fprintf(out, "%d,", it->number);
	field(out, it->t0_real_ns ? rp_time(it->t0_real_ns, b, sizeof(b)) : "");
	field(out, store_outcome_name(it->outcome));
	ms(out, it->has_rto, it->rto_ms);
	ms(out, it->has_rpo, it->rpo_ms);
	ms(out, it->has_detect, it->detect_ms);
	ms(out, it->has_first_success, it->first_success_ms);
	ms(out, true, it->error_bound_ms);
	fprintf(out, "%lld,%lld,%lld,", (long long)it->writes_acked,
		(long long)it->writes_acked_outage, (long long)it->lost_writes);
	ms(out, d->objectives.rto.has, d->objectives.rto.ms);
	ms(out, d->objectives.rpo.has, d->objectives.rpo.ms);
	fprintf(out, "%s,", it->objectives_met ? "true" : "false");
	rp_put_csv(out, it->detail);
	fputc(',', out);
	ms(out, it->has_rto_bounds, it->rto_early_ms);
	if (it->has_rto_bounds) /* the last field: no separator after it */
		fprintf(out, "%.3f", it->rto_late_ms);
	fputs(CRLF, out);
}

int rp_trend_csv(const struct report_trend *t, FILE *out, struct fd_error *err)
{
	fputs("scenario,environment,drill_id,drill_started,operator,iteration,t0,outcome,"
	      "rto_ms,rpo_ms,detect_ms,first_success_ms,error_bound_ms,writes_acked,"
	      "writes_acked_outage,lost_writes,rto_objective_ms,rpo_objective_ms,"
	      "objectives_met,detail,rto_early_ms,rto_late_ms" CRLF, out);
	for (size_t i = 0; i < t->n_series; i++)
		for (size_t d = 0; d < t->series[i].n_drills; d++) {
			const struct report_drill *dr = &t->series[i].drills[d];

			for (size_t k = 0; k < dr->n_iterations; k++)
				iteration_row(out, dr, &dr->iterations[k]);
		}
	(void)err;
	return 0;
}

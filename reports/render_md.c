/*
 * Markdown renderer (GitHub-flavoured tables), for a wiki page or a pull
 * request. Untrusted text goes through rp_put_md(): pipes, backticks and
 * emphasis characters are backslash-escaped and markup becomes entities, so
 * a probe detail can neither break a table nor inject HTML.
 */
#include "report_priv.h"

#include <stdlib.h>
#include <string.h>

#include "fd_config.h"

static void cell(FILE *out, const char *s)
{
	fputs(" ", out);
	rp_put_md(out, s);
	fputs(" |", out);
}

static void drill_row(FILE *out, const struct report_drill *d)
{
	char b[64];

	fprintf(out, "| %lld |", (long long)d->info.id);
	cell(out, rp_time(d->info.started_real_ns, b, sizeof(b)));
	cell(out, d->info.operator_name);
	fprintf(out, " %zu |", d->n_iterations);
	cell(out, d->sum.rto_not_recovered ? "not recovered" : rp_value(&d->sum.rto_median, "-", b, sizeof(b)));
	cell(out, rp_pct(&d->rto_change_prev_pct, b, sizeof(b)));
	cell(out, rp_pct(&d->rto_change_first_pct, b, sizeof(b)));
	cell(out, rp_value(&d->sum.rpo_median, "-", b, sizeof(b)));
	fprintf(out, " %lld | %d/%zu |", (long long)d->sum.lost_writes, d->sum.n_met, d->n_iterations);
	fprintf(out, " %s%s%s |\n", d->rto_regression ? "**RTO regression** " : "",
		d->rpo_regression ? "**RPO regression**" : "",
		d->scenario_changed ? " plan changed" : "");
}

static void laps_table(FILE *out, const struct report_series *s)
{
	char b[32];

	if (!s->n_steps)
		return;
	fputs("\n### Runbook steps (median lap)\n\n| step | first drill | latest drill | change |\n"
	      "|---|---:|---:|---:|\n", out);
	for (size_t k = 0; k < s->n_steps; k++) {
		const struct report_value *a = &s->drills[0].lap_medians[k];
		const struct report_value *z = &s->drills[s->n_drills - 1].lap_medians[k];
		struct report_value pct = { a->has && z->has && a->ms > 0, 0 };

		if (pct.has)
			pct.ms = (z->ms - a->ms) / a->ms * 100;
		fputs("|", out);
		cell(out, s->steps[k]);
		cell(out, rp_value(a, "-", b, sizeof(b)));
		cell(out, rp_value(z, "-", b, sizeof(b)));
		cell(out, rp_pct(&pct, b, sizeof(b)));
		fputs("\n", out);
	}
}

static void md_table(FILE *out, struct rp_table *tp, const char *heading);

static void series_md(FILE *out, const struct report_series *s)
{
	struct rp_table t;
	char line[256];

	fputs("\n## ", out);
	rp_put_md(out, s->scenario);
	fputs(" in ", out);
	rp_put_md(out, s->environment);
	/* The change lines are our own words and numbers: no untrusted text. */
	fprintf(out, "\n\n**%s**  \n", rp_change_line(s, true, line, sizeof(line)));
	fprintf(out, "**%s**\n\n", rp_change_line(s, false, line, sizeof(line)));
	if (rp_freshness_shown(s))
		fprintf(out, "Freshness: %s%s%s.\n\n", report_freshness_fails(&s->freshness) ? "**" : "",
			report_freshness_line(&s->freshness, line, sizeof(line)),
			report_freshness_fails(&s->freshness) ? "**" : "");
	fprintf(out, "%zu drills, %d iterations, pass rate %.0f%% (%d/%d met objectives).\n\n",
		s->n_drills, s->n_iterations, s->pass_rate * 100, s->n_met, s->n_iterations);
	fputs("| drill | started (UTC) | operator | iterations | median RTO | vs previous | vs first "
	      "| median RPO | lost writes | met | flags |\n"
	      "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n", out);
	for (size_t d = 0; d < s->n_drills; d++)
		drill_row(out, &s->drills[d]);
	laps_table(out, s);
	if (rp_open_actions_table(s, &t) == 0)
		md_table(out, &t, "\n### ");
	if (rp_series_people_table(s, &t) == 0)
		md_table(out, &t, "\n### ");
	if (rp_series_flows_table(s, &t) == 0)
		md_table(out, &t, "\n### ");
}

int rp_trend_md(const struct report_trend *t, FILE *out, struct fd_error *err)
{
	char b[40];

	fprintf(out, "# Drill trend report\n\nGenerated %s by firedrill %s.\n",
		rp_time(t->generated_real_ns, b, sizeof(b)), FD_VERSION);
	if (!t->n_series)
		fputs("\nNo drills recorded for this selection.\n", out);
	for (size_t i = 0; i < t->n_series; i++)
		series_md(out, &t->series[i]);
	(void)err;
	return 0;
}

static void kv(FILE *out, const char *k, const char *v)
{
	fprintf(out, "| %s |", k);
	cell(out, v);
	fputs("\n", out);
}

static void md_who(FILE *out, const struct report_evidence *ev)
{
	struct rp_who w;

	fputs("\n## Who, when, where\n\n| | |\n|---|---|\n", out);
	rp_evidence_who(ev, &w);
	for (size_t i = 0; i < w.n; i++)
		kv(out, w.f[i].label, w.f[i].value);
}

static void md_objectives(FILE *out, const struct report_evidence *ev)
{
	struct report_drill s;
	char o[32], m[32], e[32];

	if (rp_evidence_summary(ev, &s) < 0)
		return;
	fputs("\n## Objectives against measured values\n\n| | objective | measured (median) "
	      "| error bound |\n|---|---:|---:|---:|\n", out);
	fprintf(out, "| RTO | %s | %s | %s |\n", rp_objective(&ev->objectives, true, "none", o, sizeof(o)),
		s.sum.rto_not_recovered ? "not recovered" : rp_value(&s.sum.rto_median, "not measured", m, sizeof(m)),
		rp_dur(s.sum.error_bound_ms, e, sizeof(e)));
	fprintf(out, "| RPO | %s | %s | |\n", rp_objective(&ev->objectives, false, "none", o, sizeof(o)),
		rp_value(&s.sum.rpo_median, "not measured", m, sizeof(m)));
	fputs("\nRecovery criterion: ", out);
	rp_put_md(out, ev->objectives.unknown ? "unknown (drill recorded before objectives were stored)" :
		  ev->objectives.criterion);
	fputs("\n", out);
	free(s.iterations);
}

static const char *opt(bool has, double ms, char *b, size_t len)
{
	return has ? rp_dur(ms, b, len) : "-";
}

static void md_iterations(FILE *out, const struct report_evidence *ev)
{
	char b[64];

	fputs("\n## Iterations\n\n| # | T0 (UTC) | outcome | RTO | RPO | detect | writes acked | lost "
	      "| objectives | detail |\n|---:|---|---|---:|---:|---:|---:|---:|---|---|\n", out);
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;

		fprintf(out, "| %d |", it->number);
		cell(out, rp_time(it->t0_real_ns, b, sizeof(b)));
		cell(out, store_outcome_name(it->outcome));
		cell(out, it->has_rto ? rp_rto(it, b, sizeof(b)) :
			  it->outcome == STORE_OUTCOME_NOT_RECOVERED ? "not recovered" : "-");
		cell(out, opt(it->has_rpo, it->rpo_ms, b, sizeof(b)));
		cell(out, opt(it->has_detect, it->detect_ms, b, sizeof(b)));
		fprintf(out, " %lld | %lld | %s |", (long long)it->writes_acked,
			(long long)it->lost_writes, it->objectives_met ? "met" : "**missed**");
		cell(out, it->detail);
		fputs("\n", out);
	}
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct report_evidence_iteration *ei = &ev->iterations[i];

		if (!ei->n_laps && !ei->n_probes)
			continue;
		fprintf(out, "\n### Iteration %d\n\n", ei->it.number);
		if (ei->n_laps)
			fputs("| step | lap | result | detail |\n|---|---:|---|---|\n", out);
		for (size_t k = 0; k < ei->n_laps; k++) {
			fputs("|", out);
			cell(out, ei->laps[k].name);
			cell(out, rp_lap_ended(&ei->laps[k]) ?
				  rp_dur(ei->laps[k].duration_ms, b, sizeof(b)) : "not ended");
			cell(out, ei->laps[k].ok ? "ok" : "failed");
			cell(out, ei->laps[k].detail);
			fputs("\n", out);
		}
		if (ei->n_probes)
			fputs("\n| probe | samples | ok | latency p50 | latency p99 |\n|---|---:|---:|---:|---:|\n", out);
		for (size_t k = 0; k < ei->n_probes; k++) {
			char p99[32];

			fputs("|", out);
			cell(out, ei->probes[k].probe);
			fprintf(out, " %lld | %lld | %s | %s |\n", (long long)ei->probes[k].samples,
				(long long)ei->probes[k].ok,
				rp_dur(ei->probes[k].latency_p50_ms, b, sizeof(b)),
				rp_dur(ei->probes[k].latency_p99_ms, p99, sizeof(p99)));
		}
	}
}

static void md_fault_evidence(FILE *out, const struct report_evidence *ev)
{
	bool held, any = false;
	char num[16];

	fputs("\n## Fault evidence\n\n", out);
	for (size_t i = 0; i < ev->n_events; i++) {
		const struct store_event *e = &ev->events[i];

		if (!rp_fault_evidence(e, &held))
			continue;
		if (!any)
			fputs("| iteration | evidence probe | held | what it saw |\n|---:|---|---|---|\n",
			      out);
		any = true;
		fputs("|", out);
		cell(out, rp_event_iteration_text(ev, e, num, sizeof(num)));
		cell(out, e->subject);
		fputs(held ? " yes |" : " **NO** |", out);
		cell(out, e->detail);
		fputs("\n", out);
	}
	if (!any)
		fputs(RP_NO_FAULT_EVIDENCE "\n", out);
}

static void md_timeline(FILE *out, const struct report_evidence *ev)
{
	char b[40], num[16];

	fputs("\n## Timeline\n\n| time (UTC) | iteration | event | subject | detail |\n"
	      "|---|---:|---|---|---|\n", out);
	for (size_t i = 0; i < ev->n_events; i++) {
		const struct store_event *e = &ev->events[i];

		fputs("|", out);
		cell(out, rp_time(e->real_ns, b, sizeof(b)));
		cell(out, rp_event_iteration_text(ev, e, num, sizeof(num)));
		cell(out, e->kind);
		cell(out, e->subject);
		cell(out, e->detail);
		fputs("\n", out);
	}
}

/* A fence longer than any backtick run in the text, so the text cannot close it. */
static void fenced(FILE *out, const char *text)
{
	char *clean = rp_sanitize(text, true);
	size_t run = 0, longest = 0;

	if (!clean)
		return;
	for (const char *c = clean; *c; c++) {
		run = *c == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	for (size_t i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
		fputc('`', out);
	fprintf(out, "yaml\n%s%s", clean, clean[0] && clean[strlen(clean) - 1] != '\n' ? "\n" : "");
	for (size_t i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
		fputc('`', out);
	fputc('\n', out);
	free(clean);
}

/* A record-book section (evidence_tables.c); flagged rows in bold. */
static void md_table(FILE *out, struct rp_table *tp, const char *heading)
{
	struct rp_table t = *tp;
	bool cols = true;

	if (!t.n_rows && !t.empty) {
		rp_table_free(tp);
		return;
	}
	fputs(heading, out);
	rp_put_md(out, t.title);
	fputs("\n\n", out);
	if (!t.n_rows) {
		rp_put_md(out, t.empty);
		fputs("\n", out);
	}
	cols = t.cols[0][0] != '\0';
	if (t.n_rows)
		fputs("|", out);
	for (size_t c = 0; t.n_rows && c < t.n_cols; c++)
		cell(out, cols ? t.cols[c] : "");
	for (size_t c = 0; t.n_rows && c < t.n_cols; c++)
		fputs(c ? "---|" : "\n|---|", out);
	for (size_t r = 0; r < t.n_rows; r++) {
		fputs("\n|", out);
		for (size_t c = 0; c < t.n_cols; c++) {
			fputs(rp_table_flagged(&t, r, c) ? " **" : " ", out);
			rp_put_md(out, t.cells[r * t.n_cols + c]);
			fputs(rp_table_flagged(&t, r, c) ? "** |" : " |", out);
		}
	}
	if (t.n_rows)
		fputs("\n", out);
	if (t.note) {
		fputs("\n", out);
		rp_put_md(out, t.note);
		fputs("\n", out);
	}
	rp_table_free(tp);
}

static void md_section(FILE *out, const struct report_evidence *ev, enum rp_section s)
{
	struct rp_table t;

	if (rp_evidence_table(ev, s, &t) == 0)
		md_table(out, &t, "\n## ");

}

static void md_scenario(FILE *out, const struct report_evidence *ev)
{
	fputs("\n## Scenario\n\nsha256 `", out);
	rp_put_md(out, ev->scenario_sha256);
	fprintf(out, "` %s\n\n", ev->scenario_hash_ok ? "(matches the stored text)" :
		"(**DOES NOT match the stored text**)");
	fenced(out, ev->scenario_text);
}

static void md_part(FILE *out, const struct report_evidence *ev, enum rp_part p)
{
	int s = rp_part_section(p);

	if (s >= 0) {
		md_section(out, ev, (enum rp_section)s);
		return;
	}
	switch (p) {
	case RP_PART_WHO: md_who(out, ev); break;
	case RP_PART_OBJECTIVES: md_objectives(out, ev); break;
	case RP_PART_ITERATIONS: md_iterations(out, ev); break; /* with its laps and probes */
	case RP_PART_FAULTS: md_fault_evidence(out, ev); break;
	case RP_PART_TIMELINE: md_timeline(out, ev); break;
	case RP_PART_SCENARIO: md_scenario(out, ev); break;
	default: break; /* charts: none in Markdown; laps: with the iterations */
	}
}

int rp_evidence_md(const struct report_evidence *ev, FILE *out, struct fd_error *err)
{
	char verdict[512], b[40];

	fputs("# Disaster-recovery exercise evidence: ", out);
	rp_put_md(out, ev->drill.scenario_name);
	fprintf(out, "\n\nDrill %lld, report generated %s by firedrill %s.\n\n**Verdict:** ",
		(long long)ev->drill.id, rp_time(ev->generated_real_ns, b, sizeof(b)), FD_VERSION);
	rp_put_md(out, report_evidence_verdict(ev, verdict, sizeof(verdict)));
	fputs("\n", out);
	for (enum rp_part p = 0; p < RP_PART_N; p++)
		md_part(out, ev, p);
	(void)err;
	return 0;
}

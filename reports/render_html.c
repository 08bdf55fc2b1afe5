/*
 * HTML renderer: one self-contained file. Inline CSS and inline SVG only:
 * no script, no font, no image or stylesheet fetched from anywhere, so the
 * file opens offline, passes a strict Content-Security-Policy and prints.
 * Every untrusted string goes through rp_put_html().
 */
#include "report_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fd_config.h"

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
	"color:#1b1f24;max-width:1100px;margin:24px auto;padding:0 16px}"
	"h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 6px;border-bottom:2px solid #1b1f24}"
	"h3{font-size:15px;margin:18px 0 6px}"
	".meta{color:#57606a;font-size:13px}"
	".headline{font-size:18px;font-weight:600;margin:8px 0}"
	".verdict{font-size:17px;font-weight:600;padding:10px 14px;border:2px solid;margin:12px 0}"
	".pass{color:#116329;border-color:#116329}.fail{color:#a40e26;border-color:#a40e26}"
	".warn{color:#9a6700;border-color:#9a6700}"
	"table{border-collapse:collapse;margin:8px 0;font-size:13px}"
	"th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}"
	"th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"td.t{white-space:nowrap}"
	".flag{color:#a40e26;font-weight:600}.good{color:#116329}.flagrow td{background:#fff1f0}"
	"pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;border:1px solid #d0d7de;"
	"padding:8px;font-size:12px}"
	"svg{display:block;margin:6px 0 14px;max-width:100%;height:auto}"
	"svg text{font:11px system-ui,sans-serif;fill:#1b1f24}"
	"code{font-size:12px}"
	"@media print{body{margin:0;max-width:none}h2{break-before:auto}"
	"svg,table,.verdict{break-inside:avoid}th{background:none}pre{background:none}}";

static void head(FILE *out, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
	      out);
	rp_put_html(out, title, false);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
}

static void td_text(FILE *out, const char *s)
{
	fputs("<td>", out);
	rp_put_html(out, s, false);
	fputs("</td>", out);
}

static void td_time(FILE *out, const char *s)
{
	fputs("<td class=\"t\">", out);
	rp_put_html(out, s, false);
	fputs("</td>", out);
}

static void td_num(FILE *out, const char *s)
{
	fputs("<td class=\"n\">", out);
	rp_put_html(out, s, false);
	fputs("</td>", out);
}

/* ---- charts ------------------------------------------------------------- */

#define CW 1000.0 /* chart width */
#define ML 96.0   /* left margin: tick labels, "not recovered" */
#define MR 16.0
#define MT 34.0   /* top: the "not recovered" strip */
#define MB 44.0

static void objective_line(FILE *out, const struct rp_axis *a, const struct report_value *obj)
{
	char buf[32];
	double y;

	if (!obj->has)
		return;
	y = rp_axis_y(a, obj->ms);
	fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#a40e26\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" style=\"fill:#a40e26\">objective %s</text>\n",
		ML, y, CW - MR, y, CW - MR - 2, y - 4, rp_dur(obj->ms, buf, sizeof(buf)));
}

static bool iteration_value(const struct store_iteration *it, bool rto, double *ms)
{
	if (rto)
		return rp_iteration_rto(it, ms);
	*ms = it->rpo_ms;
	return it->has_rpo;
}

static double chart_max(const struct report_series *s, bool rto)
{
	double max = 0, v;

	for (size_t d = 0; d < s->n_drills; d++) {
		const struct report_drill *dr = &s->drills[d];
		const struct report_value *obj = rto ? &dr->objectives.rto : &dr->objectives.rpo;

		if (obj->has)
			max = fmax(max, obj->ms);
		for (size_t i = 0; i < dr->n_iterations; i++)
			if (iteration_value(&dr->iterations[i], rto, &v) && isfinite(v))
				max = fmax(max, v);
	}
	return max > 0 ? max * 1.12 : 1000;
}

/* Objective line of the latest drill; earlier ones differ only if the scenario changed. */
static const struct report_value *series_objective(const struct report_series *s, bool rto)
{
	const struct report_drill *last = &s->drills[s->n_drills - 1];

	return rto ? &last->objectives.rto : &last->objectives.rpo;
}

static void drill_label(FILE *out, const struct report_drill *d, double x)
{
	char when[40];

	rp_time(d->info.started_real_ns, when, sizeof(when));
	when[10] = '\0';
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>"
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" style=\"fill:#57606a\">#%lld</text>\n",
		x, 0.0, when, x, 13.0, (long long)d->info.id);
}

static void iteration_point(FILE *out, const struct store_iteration *it, double x, double y,
			    double v, bool rto, double strip_y)
{
	char buf[32];

	if (isinf(v)) {
		fprintf(out, "<path d=\"M%.1f %.1fl6 6m0 -6l-6 6\" transform=\"translate(-3 -3)\" "
			"stroke=\"#a40e26\" stroke-width=\"2\"><title>iteration %d: not recovered</title></path>\n",
			x, strip_y, it->number);
		return;
	}
	fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" stroke=\"#1b1f24\" "
		"stroke-width=\"0.5\"><title>iteration %d: %s %s</title></circle>\n",
		x, y, it->objectives_met ? "#2da44e" : "#d4a72c", it->number, rto ? "RTO" : "RPO",
		rp_dur(v, buf, sizeof(buf)));
}

/* Where the scenario's text changed from the previous drill: a dashed line before its band. */
static void plan_changed_marker(FILE *out, const struct rp_axis *a, double x)
{
	fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8250df\" "
		"stroke-width=\"1.2\" stroke-dasharray=\"4 3\"><title>scenario text changed from the "
		"previous drill</title></line><text x=\"%.1f\" y=\"%.1f\" style=\"fill:#8250df\">plan "
		"changed</text>\n", x, a->top, x, a->bottom, x + 3, a->top + 24);
}

/*
 * RTO or RPO of every iteration, drills side by side as bands, the
 * objective as a dashed line, each drill's median as a bar across its band.
 * Not-recovered iterations are crosses in a strip above the plot, never a
 * number on the axis.
 */
static void chart_iterations(FILE *out, const struct report_series *s, bool rto)
{
	const double h = 300, strip_y = 16;
	struct rp_axis a = { MT, h - MB, chart_max(s, rto) };
	size_t total = 0, label_every;
	double slot, x = ML, v;

	for (size_t d = 0; d < s->n_drills; d++)
		total += s->drills[d].n_iterations + 1;
	slot = (CW - ML - MR) / (double)(total ? total : 1);
	label_every = s->n_drills / 12 + 1;
	fprintf(out, "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		"aria-label=\"%s per iteration across drills\" xmlns=\"http://www.w3.org/2000/svg\">\n",
		CW, h, CW, h, rto ? "RTO" : "RPO");
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" style=\"fill:#a40e26\">%s</text>\n",
		ML - 6, strip_y + 4, rto ? "not recovered" : "");
	rp_axis_grid(out, &a, ML, CW - MR);
	for (size_t d = 0; d < s->n_drills; d++) {
		const struct report_drill *dr = &s->drills[d];
		double w = slot * (double)(dr->n_iterations + 1);
		const struct report_value *med = rto ? &dr->sum.rto_median : &dr->sum.rpo_median;

		if (d % 2)
			fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f6f8fa\"/>\n",
				x, a.top, w, a.bottom - a.top);
		if (med->has)
			fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#0969da\" "
				"stroke-width=\"2.5\"><title>median</title></line>\n",
				x + slot * 0.3, rp_axis_y(&a, med->ms), x + w - slot * 0.3, rp_axis_y(&a, med->ms));
		for (size_t i = 0; i < dr->n_iterations; i++)
			if (iteration_value(&dr->iterations[i], rto, &v))
				iteration_point(out, &dr->iterations[i], x + slot * ((double)i + 1),
						isfinite(v) ? rp_axis_y(&a, v) : 0, v, rto, strip_y);
		if (d % label_every == 0) {
			fprintf(out, "<g transform=\"translate(0 %.1f)\">", h - MB + 16);
			drill_label(out, dr, x + w / 2);
			fputs("</g>", out);
		}
		if (dr->rto_regression && rto)
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" style=\"fill:#a40e26;"
				"font-weight:600\">regression</text>\n", x + w / 2, a.top + 12);
		if (dr->scenario_changed)
			plan_changed_marker(out, &a, x);
		x += w;
	}
	objective_line(out, &a, series_objective(s, rto));
	fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1b1f24\"/>\n",
		ML, a.bottom, CW - MR, a.bottom);
	fputs("</svg>\n", out);
}

/* One runbook step: its median lap per drill as bars. */
static void chart_lap(FILE *out, const struct report_series *s, size_t k)
{
	const double h = 170;
	struct rp_axis a = { 14, h - 36, 0 };
	double slot = (CW - ML - MR) / (double)s->n_drills, x = ML;
	size_t label_every = s->n_drills / 12 + 1;
	char buf[32];

	for (size_t d = 0; d < s->n_drills; d++)
		if (s->drills[d].lap_medians[k].has)
			a.max_ms = fmax(a.max_ms, s->drills[d].lap_medians[k].ms);
	a.max_ms = a.max_ms > 0 ? a.max_ms * 1.15 : 1000;
	fprintf(out, "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		"aria-label=\"lap time per drill\" xmlns=\"http://www.w3.org/2000/svg\">\n", CW, h, CW, h);
	rp_axis_grid(out, &a, ML, CW - MR);
	for (size_t d = 0; d < s->n_drills; d++, x += slot) {
		const struct report_value *m = &s->drills[d].lap_medians[k];

		if (m->has) {
			double y = rp_axis_y(&a, m->ms);

			fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#0969da\">"
				"<title>%s</title></rect>\n", x + slot * 0.2, y, slot * 0.6, a.bottom - y,
				rp_dur(m->ms, buf, sizeof(buf)));
			if (s->n_drills <= 24)
				fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
					x + slot / 2, y - 3, buf);
		}
		if (d % label_every == 0) {
			fprintf(out, "<g transform=\"translate(0 %.1f)\">", a.bottom + 14);
			drill_label(out, &s->drills[d], x + slot / 2);
			fputs("</g>", out);
		}
	}
	fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1b1f24\"/>\n</svg>\n",
		ML, a.bottom, CW - MR, a.bottom);
}

/* ---- trend -------------------------------------------------------------- */

static void drill_row(FILE *out, const struct report_drill *d)
{
	char b[64];

	fprintf(out, "<tr><td class=\"n\">%lld</td><td class=\"t\">%s</td>", (long long)d->info.id,
		rp_time(d->info.started_real_ns, b, sizeof(b)));
	td_text(out, d->info.operator_name);
	fprintf(out, "<td class=\"n\">%zu</td>", d->n_iterations);
	td_num(out, d->sum.rto_not_recovered ? "not recovered" : rp_value(&d->sum.rto_median, "-", b, sizeof(b)));
	td_num(out, rp_pct(&d->rto_change_prev_pct, b, sizeof(b)));
	td_num(out, rp_pct(&d->rto_change_first_pct, b, sizeof(b)));
	td_num(out, rp_value(&d->sum.rpo_median, "-", b, sizeof(b)));
	td_num(out, rp_pct(&d->rpo_change_prev_pct, b, sizeof(b)));
	fprintf(out, "<td class=\"n\">%lld</td>", (long long)d->sum.lost_writes);
	td_num(out, rp_dur(d->sum.error_bound_ms, b, sizeof(b)));
	fprintf(out, "<td class=\"n\">%d/%zu</td><td>", d->sum.n_met, d->n_iterations);
	if (d->rto_regression)
		fputs("<span class=\"flag\">RTO regression</span> ", out);
	if (d->rpo_regression)
		fputs("<span class=\"flag\">RPO regression</span>", out);
	if (d->scenario_changed)
		fputs(" plan changed", out);
	fputs("</td></tr>\n", out);
}

static void laps_section(FILE *out, const struct report_series *s)
{
	char b[32];

	if (!s->n_steps)
		return;
	fputs("<h3>Runbook steps: median lap per drill</h3>\n<table><tr><th>step</th>", out);
	for (size_t d = 0; d < s->n_drills && s->n_drills <= 12; d++)
		fprintf(out, "<th>#%lld</th>", (long long)s->drills[d].info.id);
	fputs("<th>first</th><th>latest</th></tr>\n", out);
	for (size_t k = 0; k < s->n_steps; k++) {
		fputs("<tr>", out);
		td_text(out, s->steps[k]);
		for (size_t d = 0; d < s->n_drills && s->n_drills <= 12; d++)
			td_num(out, rp_value(&s->drills[d].lap_medians[k], "-", b, sizeof(b)));
		td_num(out, rp_value(&s->drills[0].lap_medians[k], "-", b, sizeof(b)));
		td_num(out, rp_value(&s->drills[s->n_drills - 1].lap_medians[k], "-", b, sizeof(b)));
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
	for (size_t k = 0; k < s->n_steps; k++) {
		fputs("<h3>Step: ", out);
		rp_put_html(out, s->steps[k], false);
		fputs("</h3>\n", out);
		chart_lap(out, s, k);
	}
}

static void html_table(FILE *out, struct rp_table *tp, int level);

static void series_section(FILE *out, const struct report_series *s)
{
	struct rp_table t;
	char line[256], b1[32], b2[32];
	int regressions = 0;

	for (size_t d = 0; d < s->n_drills; d++)
		regressions += s->drills[d].rto_regression + s->drills[d].rpo_regression;
	fputs("<section>\n<h2>", out);
	rp_put_html(out, s->scenario, false);
	fputs(" <span class=\"meta\">in</span> ", out);
	rp_put_html(out, s->environment, false);
	fputs("</h2>\n<p class=\"headline\">", out);
	rp_put_html(out, rp_change_line(s, true, line, sizeof(line)), false);
	fputs("<br>", out);
	rp_put_html(out, rp_change_line(s, false, line, sizeof(line)), false);
	fprintf(out, "</p>\n<p>%zu drills, %d iterations, pass rate %.0f%% (%d/%d met objectives)",
		s->n_drills, s->n_iterations, s->pass_rate * 100, s->n_met, s->n_iterations);
	if (regressions)
		fprintf(out, ", <span class=\"flag\">%d regression%s</span>", regressions,
			regressions == 1 ? "" : "s");
	fprintf(out, ". Objectives: RTO %s, RPO %s.</p>\n",
		rp_value(series_objective(s, true), "none", b1, sizeof(b1)),
		rp_value(series_objective(s, false), "none", b2, sizeof(b2)));
	if (rp_freshness_shown(s)) {
		/* our own words and dates: nothing untrusted */
		fprintf(out, "<p class=\"%s\">Freshness: ", report_freshness_fails(&s->freshness) ? "flag" :
			s->freshness.status == REPORT_FRESH ? "good" : "meta");
		rp_put_html(out, report_freshness_line(&s->freshness, line, sizeof(line)), false);
		fputs("</p>\n", out);
	}
	fputs("<h3>RTO per iteration (dots), median per drill (bars), objective (dashed)</h3>\n", out);
	chart_iterations(out, s, true);
	fputs("<h3>RPO per iteration</h3>\n", out);
	chart_iterations(out, s, false);
	fputs("<h3>Drills</h3>\n<table><tr><th>drill</th><th>started (UTC)</th><th>operator</th>"
	      "<th>iterations</th><th>median RTO</th><th>vs previous</th><th>vs first</th>"
	      "<th>median RPO</th><th>vs previous</th><th>lost writes</th><th>error bound</th>"
	      "<th>met</th><th>flags</th></tr>\n", out);
	for (size_t d = 0; d < s->n_drills; d++)
		drill_row(out, &s->drills[d]);
	fputs("</table>\n", out);
	laps_section(out, s);
	if (rp_open_actions_table(s, &t) == 0)
		html_table(out, &t, 3);
	if (rp_series_people_table(s, &t) == 0)
		html_table(out, &t, 3);
	if (rp_series_flows_table(s, &t) == 0)
		html_table(out, &t, 3);
	fputs("</section>\n", out);
}

int rp_trend_html(const struct report_trend *t, FILE *out, struct fd_error *err)
{
	char b1[40], b2[40], b3[40];

	head(out, "firedrill trend report");
	fprintf(out, "<h1>Drill trend report</h1>\n<p class=\"meta\">generated %s by firedrill %s",
		rp_time(t->generated_real_ns, b1, sizeof(b1)), FD_VERSION);
	if (t->scenario_filter[0]) {
		fputs(" &middot; scenario ", out);
		rp_put_html(out, t->scenario_filter, false);
	}
	if (t->environment_filter[0]) {
		fputs(" &middot; environment ", out);
		rp_put_html(out, t->environment_filter, false);
	}
	if (t->since_real_ns || t->until_real_ns)
		fprintf(out, " &middot; from %s to %s", rp_time(t->since_real_ns, b2, sizeof(b2)),
			rp_time(t->until_real_ns, b3, sizeof(b3)));
	fputs("</p>\n", out);
	if (!t->n_series)
		fputs("<p>No drills recorded for this selection.</p>\n", out);
	for (size_t i = 0; i < t->n_series; i++)
		series_section(out, &t->series[i]);
	fputs("</body>\n</html>\n", out);
	(void)err;
	return 0;
}

/* ---- evidence ----------------------------------------------------------- */

static void kv(FILE *out, const char *k, const char *v)
{
	fprintf(out, "<tr><th>%s</th>", k);
	td_text(out, v);
	fputs("</tr>\n", out);
}

static void evidence_who(FILE *out, const struct report_evidence *ev)
{
	struct rp_who w;

	fputs("<h2>Who, when, where</h2>\n<table>\n", out);
	rp_evidence_who(ev, &w);
	for (size_t i = 0; i < w.n; i++)
		kv(out, w.f[i].label, w.f[i].value);
	fputs("</table>\n", out);
}

static void objective_row(FILE *out, const char *name, const struct report_objectives *o,
			  bool rto, const struct report_value *med, bool not_recovered, double bound)
{
	const struct report_value *obj = rto ? &o->rto : &o->rpo;
	char b[32];
	bool met = obj->has && med->has && med->ms <= obj->ms;

	fprintf(out, "<tr><th>%s</th>", name);
	td_num(out, rp_objective(o, rto, "none", b, sizeof(b)));
	td_num(out, not_recovered ? "not recovered" : rp_value(med, "not measured", b, sizeof(b)));
	td_num(out, bound >= 0 ? rp_dur(bound, b, sizeof(b)) : "-");
	fprintf(out, "<td class=\"%s\">%s</td></tr>\n", met ? "good" : "flag",
		o->unknown ? "objective unknown" : !obj->has ? "no objective" : met ? "met" : "missed");
}

static void evidence_objectives(FILE *out, const struct report_evidence *ev,
				const struct report_drill *sum)
{
	fputs("<h2>Objectives against measured values</h2>\n<table><tr><th></th><th>objective</th>"
	      "<th>measured (median)</th><th>error bound</th><th></th></tr>\n", out);
	objective_row(out, "RTO", &ev->objectives, true, &sum->sum.rto_median, sum->sum.rto_not_recovered,
		      sum->sum.error_bound_ms);
	/* The bound is the probe interval's: it applies to RTO only. */
	objective_row(out, "RPO", &ev->objectives, false, &sum->sum.rpo_median, false, -1);
	fputs("</table>\n<p class=\"meta\">Recovery criterion: ", out);
	rp_put_html(out, ev->objectives.unknown ? "unknown (drill recorded before objectives were stored)" :
		    ev->objectives.criterion, false);
	fputs("</p>\n<p class=\"meta\">A sample-based RTO is late by at most the error bound "
	      "(the probe interval).</p>\n", out);
}

/* The charts the PDF draws too (chart_svg.c): one SVG each, the same bytes. */
static void evidence_charts(FILE *out, const struct report_evidence *ev,
			    const struct report_drill *sum)
{
	for (int rto = 1; rto >= 0; rto--) {
		if (!rp_evidence_chart_has(ev, rto))
			continue;
		fprintf(out, "<h3>%s</h3>\n", rp_evidence_chart_title(rto));
		rp_svg_evidence_chart(out, ev, sum, rto);
	}
}

static void optional_ms(FILE *out, bool has, double ms)
{
	char b[32];

	td_num(out, has ? rp_dur(ms, b, sizeof(b)) : "-");
}

static void evidence_iterations(FILE *out, const struct report_evidence *ev)
{
	char b[64];

	fputs("<h2>Iterations</h2>\n<table><tr><th>#</th><th>T0 (UTC)</th><th>outcome</th>"
	      "<th>RTO</th><th>RPO</th><th>detect</th><th>first success</th><th>failback</th>"
	      "<th>writes acked</th><th>acked in outage</th><th>lost</th><th>error bound</th>"
	      "<th>objectives</th><th>detail</th></tr>\n", out);
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;

		fprintf(out, "<tr><td class=\"n\">%d</td>", it->number);
		td_time(out, rp_time(it->t0_real_ns, b, sizeof(b)));
		td_text(out, store_outcome_name(it->outcome));
		if (it->has_rto)
			td_num(out, rp_rto(it, b, sizeof(b)));
		else
			td_num(out, it->outcome == STORE_OUTCOME_NOT_RECOVERED ? "not recovered" : "-");
		optional_ms(out, it->has_rpo, it->rpo_ms);
		optional_ms(out, it->has_detect, it->detect_ms);
		optional_ms(out, it->has_first_success, it->first_success_ms);
		optional_ms(out, it->has_failback, it->failback_ms);
		fprintf(out, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>",
			(long long)it->writes_acked, (long long)it->writes_acked_outage,
			(long long)it->lost_writes);
		optional_ms(out, true, it->error_bound_ms);
		fprintf(out, "<td class=\"%s\">%s</td>", it->objectives_met ? "good" : "flag",
			it->objectives_met ? "met" : "missed");
		td_text(out, it->detail);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void evidence_laps_probes(FILE *out, const struct report_evidence *ev)
{
	char b[32];

	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct report_evidence_iteration *ei = &ev->iterations[i];

		fprintf(out, "<h3>Iteration %d: runbook steps and probes</h3>\n", ei->it.number);
		if (ei->n_laps) {
			fputs("<table><tr><th>step</th><th>kind</th><th>lap</th><th>result</th><th>detail</th></tr>\n", out);
			for (size_t k = 0; k < ei->n_laps; k++) {
				fputs("<tr>", out);
				td_text(out, ei->laps[k].name);
				td_text(out, ei->laps[k].manual ? "manual" : "command");
				td_num(out, rp_lap_ended(&ei->laps[k]) ?
				       rp_dur(ei->laps[k].duration_ms, b, sizeof(b)) : "not ended");
				td_text(out, ei->laps[k].ok ? "ok" : "failed");
				td_text(out, ei->laps[k].detail);
				fputs("</tr>\n", out);
			}
			fputs("</table>\n", out);
		}
		if (ei->n_probes) {
			fputs("<table><tr><th>probe</th><th>samples</th><th>ok</th><th>ok %</th>"
			      "<th>latency p50</th><th>latency p99</th></tr>\n", out);
			for (size_t k = 0; k < ei->n_probes; k++) {
				const struct store_probe_stats *p = &ei->probes[k];

				fputs("<tr>", out);
				td_text(out, p->probe);
				fprintf(out, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%.1f</td>",
					(long long)p->samples, (long long)p->ok,
					p->samples ? 100.0 * (double)p->ok / (double)p->samples : 0.0);
				td_num(out, rp_dur(p->latency_p50_ms, b, sizeof(b)));
				td_num(out, rp_dur(p->latency_p99_ms, b, sizeof(b)));
				fputs("</tr>\n", out);
			}
			fputs("</table>\n", out);
		}
	}
}

static void evidence_faults(FILE *out, const struct report_evidence *ev)
{
	bool held, any = false;
	char num[16];

	fputs("<h2>Fault evidence</h2>\n", out);
	for (size_t i = 0; i < ev->n_events; i++) {
		const struct store_event *e = &ev->events[i];

		if (!rp_fault_evidence(e, &held))
			continue;
		if (!any)
			fputs("<table><tr><th>iteration</th><th>evidence probe</th><th>held</th>"
			      "<th>what it saw</th></tr>\n", out);
		any = true;
		fputs("<tr>", out);
		td_num(out, rp_event_iteration_text(ev, e, num, sizeof(num)));
		td_text(out, e->subject);
		fputs(held ? "<td class=\"good\">yes</td>" : "<td class=\"flag\">NO</td>", out);
		td_text(out, e->detail);
		fputs("</tr>\n", out);
	}
	fputs(any ? "</table>\n" : "<p>" RP_NO_FAULT_EVIDENCE "</p>\n", out);
}

/* A table of evidence_tables.c under an h2 (h3 in a trend series), then freed;
 * flagged rows in the warning colour. Nothing when empty with nothing to say. */
static void html_table(FILE *out, struct rp_table *tp, int level)
{
	struct rp_table t = *tp;

	if (!t.n_rows && !t.empty) {
		rp_table_free(tp);
		return;
	}
	fprintf(out, "<h%d>", level);
	rp_put_html(out, t.title, false);
	fprintf(out, "</h%d>\n", level);
	if (!t.n_rows) {
		fputs("<p>", out);
		rp_put_html(out, t.empty, false);
		fputs("</p>\n", out);
	} else {
		fputs("<table>", out);
		for (size_t c = 0; c < t.n_cols && t.cols[0][0]; c++) {
			fputs(c ? "<th>" : "<tr><th>", out);
			rp_put_html(out, t.cols[c], false);
			fputs("</th>", out);
		}
		fputs(t.cols[0][0] ? "</tr>\n" : "\n", out);
		for (size_t r = 0; r < t.n_rows; r++) {
			fputs(t.flags[r] && t.flag_col < 0 ? "<tr class=\"flagrow\">" : "<tr>", out);
			for (size_t c = 0; c < t.n_cols; c++) {
				if (t.flag_col >= 0 && rp_table_flagged(&t, r, c))
					fputs("<td class=\"flag\">", out);
				else
					fputs("<td>", out);
				rp_put_html(out, t.cells[r * t.n_cols + c], false);
				fputs("</td>", out);
			}
			fputs("</tr>\n", out);
		}
		fputs("</table>\n", out);
	}
	if (t.note) {
		fputs("<p class=\"meta\">", out);
		rp_put_html(out, t.note, false);
		fputs("</p>\n", out);
	}
	rp_table_free(tp);
}

static void evidence_section(FILE *out, const struct report_evidence *ev, enum rp_section s)
{
	struct rp_table t;

	if (rp_evidence_table(ev, s, &t) == 0)
		html_table(out, &t, 2);
}

static void evidence_timeline(FILE *out, const struct report_evidence *ev)
{
	char b[40], rel[32], num[16];
	int64_t base = ev->n_events ? ev->events[0].mono_ns : 0;

	fputs("<h2>Timeline</h2>\n<table><tr><th>time (UTC)</th><th>+</th><th>iteration</th>"
	      "<th>event</th><th>subject</th><th>detail</th></tr>\n", out);
	for (size_t i = 0; i < ev->n_events; i++) {
		const struct store_event *e = &ev->events[i];

		fputs("<tr>", out);
		td_time(out, rp_time(e->real_ns, b, sizeof(b)));
		td_num(out, rp_dur((double)(e->mono_ns - base) / 1e6, rel, sizeof(rel)));
		td_num(out, rp_event_iteration_text(ev, e, num, sizeof(num)));
		td_text(out, e->kind);
		td_text(out, e->subject);
		td_text(out, e->detail);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void evidence_scenario(FILE *out, const struct report_evidence *ev)
{
	fputs("<h2>Scenario</h2>\n<p>sha256 <code>", out);
	rp_put_html(out, ev->scenario_sha256, false);
	fprintf(out, "</code> %s</p>\n<pre>", ev->scenario_hash_ok ?
		"<span class=\"good\">(matches the stored text)</span>" :
		"<span class=\"flag\">(DOES NOT match the stored text)</span>");
	rp_put_html(out, ev->scenario_text, true);
	fputs("</pre>\n", out);
}

/* One part of the report (enum rp_part's order); sum NULL when it could not be built. */
static void evidence_part(FILE *out, const struct report_evidence *ev,
			  const struct report_drill *sum, enum rp_part p)
{
	int s = rp_part_section(p);

	if (s >= 0) {
		evidence_section(out, ev, (enum rp_section)s);
		return;
	}
	switch (p) {
	case RP_PART_WHO: evidence_who(out, ev); break;
	case RP_PART_OBJECTIVES: if (sum) evidence_objectives(out, ev, sum); break;
	case RP_PART_CHARTS: if (sum) evidence_charts(out, ev, sum); break;
	case RP_PART_ITERATIONS: evidence_iterations(out, ev); break;
	case RP_PART_LAPS: evidence_laps_probes(out, ev); break;
	case RP_PART_FAULTS: evidence_faults(out, ev); break;
	case RP_PART_TIMELINE: evidence_timeline(out, ev); break;
	case RP_PART_SCENARIO: evidence_scenario(out, ev); break;
	default: break;
	}
}

int rp_evidence_html(const struct report_evidence *ev, FILE *out, struct fd_error *err)
{
	struct report_drill sum = { 0 };
	char verdict[512], title[256];
	bool has_sum;

	sum.iterations = NULL;
	report_evidence_verdict(ev, verdict, sizeof(verdict));
	snprintf(title, sizeof(title), "firedrill evidence: drill %lld", (long long)ev->drill.id);
	head(out, title);
	fputs("<h1>Disaster-recovery exercise evidence: ", out);
	rp_put_html(out, ev->drill.scenario_name, false);
	fprintf(out, "</h1>\n<p class=\"meta\">drill %lld &middot; report generated %s by firedrill %s</p>\n",
		(long long)ev->drill.id, rp_time(ev->generated_real_ns, title, sizeof(title)),
		FD_VERSION);
	fprintf(out, "<p class=\"verdict %s\">", strncmp(verdict, "PASS", 4) == 0 ? "pass" :
		strncmp(verdict, "FAIL", 4) == 0 ? "fail" : "warn");
	rp_put_html(out, verdict, false);
	fputs("</p>\n", out);
	has_sum = rp_evidence_summary(ev, &sum) == 0;
	for (enum rp_part p = 0; p < RP_PART_N; p++)
		evidence_part(out, ev, has_sum ? &sum : NULL, p);
	free(sum.iterations);
	fputs("</body>\n</html>\n", out);
	(void)err;
	return 0;
}

/*
 * PDF renderer (evidence reports): the HTML evidence report's sections, in
 * its order, set on A4 or Letter pages through the layout layer in
 * pdf_layout.c. One small function per section; a new section is one more
 * function here calling rp_pdf_heading / _paragraph / _kv / _table_* /
 * _code / _svg, and one line in body().
 *
 * Every page's footer carries the drill's store row hash (the hash the
 * other formats print as "store row hash"), and so does the document's
 * Keywords entry, in the clear: `firedrill verify --seal SEAL report.pdf`
 * finds it there. The creation date is the report's generated time, so the
 * same model renders to the same bytes.
 */
#include "report_priv.h"

#include <stdlib.h>
#include <string.h>

#include "fd_config.h"

struct evidence_pdf {
	const struct report_evidence *ev;
	const struct report_drill *sum; /* NULL when the summary could not be built */
	char verdict[512];
};

static enum rp_pdf_tone verdict_tone(const char *verdict)
{
	if (strncmp(verdict, "PASS", 4) == 0)
		return RP_PDF_GOOD;
	if (strncmp(verdict, "FAIL", 4) == 0)
		return RP_PDF_FLAG;
	return RP_PDF_WARN;
}

static void section_title(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	char title[256], when[40], line[256];

	snprintf(title, sizeof(title), "Disaster-recovery exercise evidence: %s", e->ev->drill.scenario_name);
	rp_pdf_heading(pdf, 0, title);
	snprintf(line, sizeof(line), "drill %lld \u00b7 report generated %s by firedrill %s",
		 (long long)e->ev->drill.id, rp_time(e->ev->generated_real_ns, when, sizeof(when)),
		 FD_VERSION);
	rp_pdf_paragraph(pdf, line, RP_PDF_META);
	rp_pdf_boxed(pdf, e->verdict, verdict_tone(e->verdict));
}

static void section_who(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	struct rp_who w;

	rp_pdf_heading(pdf, 1, "Who, when, where");
	rp_evidence_who(e->ev, &w);
	rp_pdf_kv(pdf, w.f, w.n);
}

static void objective_row(struct rp_pdf *pdf, const char *name, const struct report_objectives *o,
			  bool rto, const struct report_value *med, bool not_recovered, double bound)
{
	const struct report_value *obj = rto ? &o->rto : &o->rpo;
	bool met = obj->has && med->has && med->ms <= obj->ms;
	char ob[32], mb[32], bb[32];
	const char *cells[] = {
		name,
		rp_objective(o, rto, "none", ob, sizeof(ob)),
		not_recovered ? "not recovered" : rp_value(med, "not measured", mb, sizeof(mb)),
		bound >= 0 ? rp_dur(bound, bb, sizeof(bb)) : "-",
		o->unknown ? "objective unknown" : !obj->has ? "no objective" : met ? "met" : "missed",
	};
	const enum rp_pdf_tone tones[] = {
		RP_PDF_NORMAL, RP_PDF_NORMAL, RP_PDF_NORMAL, RP_PDF_NORMAL, met ? RP_PDF_GOOD : RP_PDF_FLAG,
	};

	rp_pdf_table_row(pdf, cells, tones);
}

static void section_objectives(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	static const struct rp_pdf_col cols[] = {
		{ "", 1, RP_PDF_LEFT },
		{ "objective", 2, RP_PDF_RIGHT },
		{ "measured (median)", 2, RP_PDF_RIGHT },
		{ "error bound", 2, RP_PDF_RIGHT },
		{ "", 2, RP_PDF_LEFT },
	};
	const struct report_evidence *ev = e->ev;

	rp_pdf_heading(pdf, 1, "Objectives against measured values");
	if (!e->sum) {
		rp_pdf_paragraph(pdf, "The measured values could not be summarized (out of memory).",
				 RP_PDF_FLAG);
		return;
	}
	rp_pdf_table_begin(pdf, cols, sizeof(cols) / sizeof(cols[0]));
	objective_row(pdf, "RTO", &ev->objectives, true, &e->sum->sum.rto_median,
		      e->sum->sum.rto_not_recovered, e->sum->sum.error_bound_ms);
	/* The bound is the probe interval's: it applies to RTO only. */
	objective_row(pdf, "RPO", &ev->objectives, false, &e->sum->sum.rpo_median, false, -1);
	rp_pdf_table_end(pdf);
	{
		char line[320];

		snprintf(line, sizeof(line), "Recovery criterion: %s", ev->objectives.unknown ?
			 "unknown (drill recorded before objectives were stored)" : ev->objectives.criterion);
		rp_pdf_paragraph(pdf, line, RP_PDF_META);
	}
	rp_pdf_paragraph(pdf, "A sample-based RTO is late by at most the error bound (the probe interval).",
			 RP_PDF_META);
}

/* The SVG the HTML report inlines (chart_svg.c), drawn by librsvg. */
static void section_charts(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	for (int rto = 1; e->sum && rto >= 0; rto--) {
		char *svg = NULL;
		size_t len = 0;
		FILE *mem;

		if (!rp_evidence_chart_has(e->ev, rto))
			continue;
		mem = open_memstream(&svg, &len);
		if (!mem)
			continue;
		rp_svg_evidence_chart(mem, e->ev, e->sum, rto);
		if (fclose(mem) == 0)
			rp_pdf_svg(pdf, rp_evidence_chart_title(rto), svg, len);
		free(svg);
	}
}

static const char *optional_ms(bool has, double ms, char *buf, size_t len)
{
	return has ? rp_dur(ms, buf, len) : "-";
}

/*
 * The HTML's one table of 14 columns, as two (a page is narrower than a
 * screen): what each iteration measured, then its timings and writes.
 */
static void section_iterations(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	static const struct rp_pdf_col measured[] = {
		{ "#", 24, RP_PDF_RIGHT },
		{ "T0 (UTC)", 118, RP_PDF_LEFT },
		{ "outcome", 62, RP_PDF_LEFT },
		{ "RTO", 104, RP_PDF_RIGHT },
		{ "RPO", 46, RP_PDF_RIGHT },
		{ "objectives", 50, RP_PDF_LEFT },
		{ "detail", 107, RP_PDF_LEFT },
	};
	static const struct rp_pdf_col timings[] = {
		{ "#", 24, RP_PDF_RIGHT },
		{ "detect", 60, RP_PDF_RIGHT },
		{ "first success", 64, RP_PDF_RIGHT },
		{ "failback", 60, RP_PDF_RIGHT },
		{ "writes acked", 64, RP_PDF_RIGHT },
		{ "acked in outage", 76, RP_PDF_RIGHT },
		{ "lost", 50, RP_PDF_RIGHT },
		{ "error bound", 64, RP_PDF_RIGHT },
	};
	const struct report_evidence *ev = e->ev;

	rp_pdf_heading(pdf, 1, "Iterations");
	rp_pdf_table_begin(pdf, measured, sizeof(measured) / sizeof(measured[0]));
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;
		char num[16], t0[40], rto[64], rpo[32];
		const char *cells[] = {
			num, rp_time(it->t0_real_ns, t0, sizeof(t0)), store_outcome_name(it->outcome),
			it->has_rto ? rp_rto(it, rto, sizeof(rto)) :
			it->outcome == STORE_OUTCOME_NOT_RECOVERED ? "not recovered" : "-",
			optional_ms(it->has_rpo, it->rpo_ms, rpo, sizeof(rpo)),
			it->objectives_met ? "met" : "missed", it->detail,
		};
		const enum rp_pdf_tone tones[] = {
			RP_PDF_NORMAL, RP_PDF_NORMAL, RP_PDF_NORMAL, RP_PDF_NORMAL, RP_PDF_NORMAL,
			it->objectives_met ? RP_PDF_GOOD : RP_PDF_FLAG, RP_PDF_NORMAL,
		};

		snprintf(num, sizeof(num), "%d", it->number);
		rp_pdf_table_row(pdf, cells, tones);
	}
	rp_pdf_table_end(pdf);
	rp_pdf_table_begin(pdf, timings, sizeof(timings) / sizeof(timings[0]));
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;
		char num[16], det[32], fs[32], fb[32], acked[24], outage[24], lost[24], bound[32];
		const char *cells[] = {
			num, optional_ms(it->has_detect, it->detect_ms, det, sizeof(det)),
			optional_ms(it->has_first_success, it->first_success_ms, fs, sizeof(fs)),
			optional_ms(it->has_failback, it->failback_ms, fb, sizeof(fb)),
			acked, outage, lost, rp_dur(it->error_bound_ms, bound, sizeof(bound)),
		};

		snprintf(num, sizeof(num), "%d", it->number);
		snprintf(acked, sizeof(acked), "%lld", (long long)it->writes_acked);
		snprintf(outage, sizeof(outage), "%lld", (long long)it->writes_acked_outage);
		snprintf(lost, sizeof(lost), "%lld", (long long)it->lost_writes);
		rp_pdf_table_row(pdf, cells, NULL);
	}
	rp_pdf_table_end(pdf);
}

static void iteration_laps(struct rp_pdf *pdf, const struct report_evidence_iteration *ei)
{
	static const struct rp_pdf_col cols[] = {
		{ "step", 150, RP_PDF_LEFT },
		{ "kind", 55, RP_PDF_LEFT },
		{ "lap", 60, RP_PDF_RIGHT },
		{ "result", 45, RP_PDF_LEFT },
		{ "detail", 201, RP_PDF_LEFT },
	};

	rp_pdf_table_begin(pdf, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t k = 0; k < ei->n_laps; k++) {
		const struct store_lap *l = &ei->laps[k];
		char lap[32];
		const char *cells[] = {
			l->name, l->manual ? "manual" : "command",
			rp_lap_ended(l) ? rp_dur(l->duration_ms, lap, sizeof(lap)) : "not ended",
			l->ok ? "ok" : "failed", l->detail,
		};

		rp_pdf_table_row(pdf, cells, NULL);
	}
	rp_pdf_table_end(pdf);
}

static void iteration_probes(struct rp_pdf *pdf, const struct report_evidence_iteration *ei)
{
	static const struct rp_pdf_col cols[] = {
		{ "probe", 170, RP_PDF_LEFT },
		{ "samples", 60, RP_PDF_RIGHT },
		{ "ok", 60, RP_PDF_RIGHT },
		{ "ok %", 50, RP_PDF_RIGHT },
		{ "latency p50", 85, RP_PDF_RIGHT },
		{ "latency p99", 86, RP_PDF_RIGHT },
	};

	rp_pdf_table_begin(pdf, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t k = 0; k < ei->n_probes; k++) {
		const struct store_probe_stats *p = &ei->probes[k];
		char samples[24], ok[24], pct[16], p50[32], p99[32];
		const char *cells[] = {
			p->probe, samples, ok, pct, rp_dur(p->latency_p50_ms, p50, sizeof(p50)),
			rp_dur(p->latency_p99_ms, p99, sizeof(p99)),
		};

		snprintf(samples, sizeof(samples), "%lld", (long long)p->samples);
		snprintf(ok, sizeof(ok), "%lld", (long long)p->ok);
		snprintf(pct, sizeof(pct), "%.1f",
			 p->samples ? 100.0 * (double)p->ok / (double)p->samples : 0.0);
		rp_pdf_table_row(pdf, cells, NULL);
	}
	rp_pdf_table_end(pdf);
}

static void section_laps_probes(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	for (size_t i = 0; i < e->ev->n_iterations; i++) {
		const struct report_evidence_iteration *ei = &e->ev->iterations[i];
		char h[64];

		snprintf(h, sizeof(h), "Iteration %d: runbook steps and probes", ei->it.number);
		rp_pdf_heading(pdf, 2, h);
		if (ei->n_laps)
			iteration_laps(pdf, ei);
		if (ei->n_probes)
			iteration_probes(pdf, ei);
	}
}

static void section_faults(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	static const struct rp_pdf_col cols[] = {
		{ "iteration", 50, RP_PDF_RIGHT },
		{ "evidence probe", 120, RP_PDF_LEFT },
		{ "held", 40, RP_PDF_LEFT },
		{ "what it saw", 301, RP_PDF_LEFT },
	};
	const struct report_evidence *ev = e->ev;
	bool held, any = false;

	rp_pdf_heading(pdf, 1, "Fault evidence");
	for (size_t i = 0; i < ev->n_events; i++) {
		const struct store_event *ev_i = &ev->events[i];
		char num[16];

		if (!rp_fault_evidence(ev_i, &held))
			continue;
		if (!any)
			rp_pdf_table_begin(pdf, cols, sizeof(cols) / sizeof(cols[0]));
		any = true;
		{
			const char *cells[] = {
				rp_event_iteration_text(ev, ev_i, num, sizeof(num)), ev_i->subject,
				held ? "yes" : "NO", ev_i->detail,
			};
			const enum rp_pdf_tone tones[] = {
				RP_PDF_NORMAL, RP_PDF_NORMAL, held ? RP_PDF_GOOD : RP_PDF_FLAG, RP_PDF_NORMAL,
			};

			rp_pdf_table_row(pdf, cells, tones);
		}
	}
	if (any)
		rp_pdf_table_end(pdf);
	else
		rp_pdf_paragraph(pdf, RP_NO_FAULT_EVIDENCE, RP_PDF_NORMAL);
}

static void section_timeline(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	static const struct rp_pdf_col cols[] = {
		{ "time (UTC)", 118, RP_PDF_LEFT },
		{ "+", 40, RP_PDF_RIGHT },
		{ "iteration", 46, RP_PDF_RIGHT },
		{ "event", 66, RP_PDF_LEFT },
		{ "subject", 86, RP_PDF_LEFT },
		{ "detail", 155, RP_PDF_LEFT },
	};
	const struct report_evidence *ev = e->ev;
	int64_t base = ev->n_events ? ev->events[0].mono_ns : 0;

	rp_pdf_heading(pdf, 1, "Timeline");
	rp_pdf_table_begin(pdf, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < ev->n_events; i++) {
		const struct store_event *ev_i = &ev->events[i];
		char when[40], rel[32], num[16];
		const char *cells[] = {
			rp_time(ev_i->real_ns, when, sizeof(when)),
			rp_dur((double)(ev_i->mono_ns - base) / 1e6, rel, sizeof(rel)),
			rp_event_iteration_text(ev, ev_i, num, sizeof(num)), ev_i->kind, ev_i->subject,
			ev_i->detail,
		};

		rp_pdf_table_row(pdf, cells, NULL);
	}
	rp_pdf_table_end(pdf);
}

static void section_scenario(struct rp_pdf *pdf, const struct evidence_pdf *e)
{
	char line[160];

	rp_pdf_heading(pdf, 1, "Scenario");
	snprintf(line, sizeof(line), "sha256 %s %s", e->ev->scenario_sha256,
		 e->ev->scenario_hash_ok ? "(matches the stored text)" : "(DOES NOT match the stored text)");
	rp_pdf_paragraph(pdf, line, e->ev->scenario_hash_ok ? RP_PDF_GOOD : RP_PDF_FLAG);
	rp_pdf_code(pdf, e->ev->scenario_text ? e->ev->scenario_text : "");
}

/* The sections, in the HTML report's order. */
/* A column's share of the width: its longest text, within bounds. */
static double col_weight(const struct rp_table *t, size_t c)
{
	size_t w = strlen(t->cols[c]);

	for (size_t r = 0; r < t->n_rows; r++) {
		size_t len = strlen(t->cells[r * t->n_cols + c]);

		w = len > w ? len : w;
	}
	return (double)(w < 10 ? 10 : w > 60 ? 60 : w);
}

/* A record-book section (evidence_tables.c); flagged rows in red. */
static void section_book(struct rp_pdf *pdf, const struct evidence_pdf *e, enum rp_section s)
{
	struct rp_pdf_col cols[RP_COLS_MAX];
	enum rp_pdf_tone tones[RP_COLS_MAX];
	struct rp_table t;

	if (rp_evidence_table(e->ev, s, &t) < 0 || (!t.n_rows && !t.empty)) {
		rp_table_free(&t);
		return;
	}
	rp_pdf_heading(pdf, 1, t.title);
	if (!t.n_rows)
		rp_pdf_paragraph(pdf, t.empty, RP_PDF_NORMAL);
	if (t.n_rows && t.n_rows <= 8 && !t.cols[0][0] && t.n_cols == 2) {
		struct rp_field f[8]; /* label, value: no column titles */

		for (size_t r = 0; r < t.n_rows; r++)
			f[r] = (struct rp_field){ t.cells[2 * r], t.cells[2 * r + 1] };
		rp_pdf_kv(pdf, f, t.n_rows);
		rp_table_free(&t);
		return;
	}
	for (size_t c = 0; t.n_rows && c < t.n_cols; c++)
		cols[c] = (struct rp_pdf_col){ t.cols[c], col_weight(&t, c), RP_PDF_LEFT };
	if (t.n_rows)
		rp_pdf_table_begin(pdf, cols, t.n_cols);
	for (size_t r = 0; r < t.n_rows; r++) {
		for (size_t c = 0; c < t.n_cols; c++)
			tones[c] = rp_table_flagged(&t, r, c) ? RP_PDF_FLAG : RP_PDF_NORMAL;
		rp_pdf_table_row(pdf, (const char *const *)&t.cells[r * t.n_cols], tones);
	}
	if (t.n_rows)
		rp_pdf_table_end(pdf);
	if (t.note)
		rp_pdf_paragraph(pdf, t.note, RP_PDF_META);
	rp_table_free(&t);
}

static void body(struct rp_pdf *pdf, const void *ctx)
{
	const struct evidence_pdf *e = ctx;

	section_title(pdf, e);
	for (enum rp_part p = 0; p < RP_PART_N; p++) {
		int s = rp_part_section(p);

		if (s >= 0) {
			section_book(pdf, e, (enum rp_section)s);
			continue;
		}
		switch (p) {
		case RP_PART_WHO: section_who(pdf, e); break;
		case RP_PART_OBJECTIVES: section_objectives(pdf, e); break;
		case RP_PART_CHARTS: section_charts(pdf, e); break;
		case RP_PART_ITERATIONS: section_iterations(pdf, e); break;
		case RP_PART_LAPS: section_laps_probes(pdf, e); break;
		case RP_PART_FAULTS: section_faults(pdf, e); break;
		case RP_PART_TIMELINE: section_timeline(pdf, e); break;
		case RP_PART_SCENARIO: section_scenario(pdf, e); break;
		default: break;
		}
	}
}

int rp_evidence_pdf(const struct report_evidence *ev, const struct report_options *opt, FILE *out,
		    struct fd_error *err)
{
	struct report_drill sum = { 0 };
	struct evidence_pdf e = { .ev = ev };
	char title[256], subject[320], keywords[160], footer[160], creator[64];
	const char *hash = ev->drill.hash[0] ? ev->drill.hash : NULL;
	int r;

	report_evidence_verdict(ev, e.verdict, sizeof(e.verdict));
	if (rp_evidence_summary(ev, &sum) == 0)
		e.sum = &sum;
	snprintf(title, sizeof(title), "firedrill evidence: drill %lld (%s)", (long long)ev->drill.id,
		 ev->drill.scenario_name);
	snprintf(subject, sizeof(subject), "Disaster-recovery exercise evidence: %s in %s",
		 ev->drill.scenario_name, ev->drill.environment);
	snprintf(keywords, sizeof(keywords), "firedrill-evidence drill %lld store-row-hash %s",
		 (long long)ev->drill.id, hash ? hash : "none");
	snprintf(footer, sizeof(footer), "firedrill evidence, drill %lld \u00b7 store row hash %s",
		 (long long)ev->drill.id, hash ? hash : "none (the drill is not sealed yet)");
	snprintf(creator, sizeof(creator), "firedrill %s", FD_VERSION);
	r = rp_pdf_write(out, &(struct rp_pdf_doc){
				 .paper = opt->paper,
				 .title = title,
				 .author = ev->drill.operator_name,
				 .subject = subject,
				 .keywords = keywords,
				 .creator = creator,
				 .created_real_ns = ev->generated_real_ns,
				 .footer = footer,
			 }, body, &e, err);
	free(sum.iterations);
	return r;
}

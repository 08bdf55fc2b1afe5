/*
 * Internal to reports/: escaping, number and time formatting shared by the
 * renderers. Nothing here is part of the module's contract.
 */
#ifndef FD_REPORT_PRIV_H
#define FD_REPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

/*
 * Returns a malloc'd copy of s that is valid UTF-8 with every control byte
 * (and, unless keep_newlines, also \n \r \t) and every invalid byte written
 * as a visible "\xNN". NULL in gives "". NULL only when out of memory.
 */
char *rp_sanitize(const char *s, bool keep_newlines);

/* Text escaped for HTML/XML element content and attribute values. */
void rp_put_html(FILE *out, const char *s, bool keep_newlines);
/* Text for a Markdown table cell or inline text: | ` * _ [ ] < > \ # escaped. */
void rp_put_md(FILE *out, const char *s);
/* One RFC 4180 field (quoted when needed; leading = + - @ neutralised with '). */
void rp_put_csv(FILE *out, const char *s);

/* Humane duration of ms ("850 ms", "42.3 s", "1h05m"; 0 is "0 s"). */
char *rp_dur(double ms, char *buf, size_t len);
/* An iteration's RTO with both sides of its bound, "81 ms (-30/+20 ms)";
 * an iteration recorded before the two sides were, with "(+bound)". */
char *rp_rto(const struct store_iteration *it, char *buf, size_t len);
/* Humane duration or "not recovered" / "-" when absent. */
char *rp_value(const struct report_value *v, const char *absent, char *buf, size_t len);
/* An objective: "unknown" for drills recorded before objectives were stored, else rp_value. */
char *rp_objective(const struct report_objectives *o, bool rto, const char *absent, char *buf,
		   size_t len);
/* ISO 8601 UTC, or "-" for 0. */
char *rp_time(int64_t real_ns, char *buf, size_t len);
/* "+12%", "-68%", "-0.4%", or "" when absent. */
char *rp_pct(const struct report_value *v, char *buf, size_t len);

/* Median of v[0..n) (sorted in place; +INFINITY allowed). n > 0. */
double rp_median(double *v, size_t n);

/* The store_iteration's RTO as a chart/median value; false when excluded. */
bool rp_iteration_rto(const struct store_iteration *it, double *ms);

/* Fills medians, bound, counts and pass rate of d from d->iterations. */
void rp_drill_stats(struct report_drill *d);

/*
 * Summary of an evidence drill as a trend drill (medians, counts);
 * out->iterations is malloc'd, the caller frees it.
 */
int rp_evidence_summary(const struct report_evidence *ev, struct report_drill *out);

/*
 * The "who, when, where" rows of an evidence report, in order: the one
 * field list the html and md renderers both print. Values borrow ev or w.
 */
struct rp_field {
	const char *label;
	const char *value;
};
struct rp_who {
	struct rp_field f[12];
	size_t n;
	char id[32], started[64], ended[64];
};
void rp_evidence_who(const struct report_evidence *ev, struct rp_who *w);

/* A lap that ended has a duration; one cut short by an abort has none. */
static inline bool rp_lap_ended(const struct store_lap *l)
{
	return l->ended_mono_ns != 0 || l->duration_ms > 0;
}

/*
 * Whether a trend shows the series' freshness line: it has a prove-every,
 * or its plan changed since last proven (else, as before freshness, none).
 */
bool rp_freshness_shown(const struct report_series *s);

/* Writes one line "X -> Y, -68% since first drill" for RTO or RPO. */
char *rp_change_line(const struct report_series *s, bool rto, char *buf, size_t len);

/*
 * An "evidence" event: what an evidence probe (pcap expect: none) saw from
 * T0 to revert; held says whether the fault held (docs/drill.md).
 */
bool rp_fault_evidence(const struct store_event *e, bool *held);
/*
 * An event's iteration as reports label it: its number (iterations.number,
 * 1-based), never its row id; 0 for a drill-level event.
 */
int rp_event_iteration(const struct report_evidence *ev, const struct store_event *e);
/* The same as text: "2", or "drill" for a drill-level event. */
const char *rp_event_iteration_text(const struct report_evidence *ev, const struct store_event *e,
				    char *buf, size_t len);
#define RP_NO_FAULT_EVIDENCE \
	"The scenario has no evidence probe (pcap with expect: none): that the faults " \
	"held is shown only by the probes failing and the blackholed flows in the timeline."

/* Shared per-format writers (render_*.c). */
int rp_trend_html(const struct report_trend *t, FILE *out, struct fd_error *err);
int rp_trend_md(const struct report_trend *t, FILE *out, struct fd_error *err);
int rp_trend_json(const struct report_trend *t, FILE *out, struct fd_error *err);
int rp_trend_csv(const struct report_trend *t, FILE *out, struct fd_error *err);
int rp_trend_junit(const struct report_trend *t, FILE *out, struct fd_error *err);
int rp_trend_metrics(const struct report_trend *t, FILE *out, struct fd_error *err);
int rp_evidence_html(const struct report_evidence *ev, FILE *out, struct fd_error *err);
int rp_evidence_md(const struct report_evidence *ev, FILE *out, struct fd_error *err);
int rp_evidence_json(const struct report_evidence *ev, FILE *out, struct fd_error *err);
int rp_evidence_pdf(const struct report_evidence *ev, const struct report_options *opt, FILE *out,
		    struct fd_error *err);

/*
 * Charts as self-contained SVG (chart_svg.c), drawn inline by the HTML
 * renderer and into the PDF by librsvg: the same picture in both.
 */
/* A "nice" tick step in ms so that about five ticks span max_ms. */
double rp_tick_step(double max_ms);

/* A chart's value axis (SVG units): values 0..max_ms from bottom up to top. */
struct rp_axis {
	double top, bottom, max_ms;
};

/* The y of value ms on axis a. */
double rp_axis_y(const struct rp_axis *a, double ms);
/* Its grid: a ruled line and a duration label per tick, from x left to right. */
void rp_axis_grid(FILE *out, const struct rp_axis *a, double left, double right);
/*
 * One drill's iterations as bars (RTO when rto, else RPO): green met, amber
 * missed, a cross in the strip above the plot for not recovered, the
 * objective dashed, the median solid. Writes nothing when no iteration has
 * a value to draw (returns false).
 */
bool rp_svg_evidence_chart(FILE *out, const struct report_evidence *ev,
			   const struct report_drill *sum, bool rto);
/* Whether that chart has anything to draw, and its heading. */
bool rp_evidence_chart_has(const struct report_evidence *ev, bool rto);
const char *rp_evidence_chart_title(bool rto);

/* ---- PDF layout (pdf_layout.c) -------------------------------------------
 *
 * A small flow layout over cairo and pango: the caller adds blocks from top
 * to bottom (headings, paragraphs, tables, code, SVG images) and the layer
 * breaks pages, repeats a table's header after a break, and puts a footer
 * (the document's footer text, "page N of M") on every page. Text is set
 * with pango_layout_set_text (never markup) after rp_sanitize, so untrusted
 * strings can carry nothing but characters. Every font is embedded (cairo
 * subsets them).
 *
 * rp_pdf_write() calls body twice: once to count the pages, once to draw
 * them; body must draw the same thing both times (read only its model).
 * Errors inside body are remembered by the rp_pdf and returned by
 * rp_pdf_write, so the block functions return nothing.
 */
struct rp_pdf;

struct rp_pdf_doc {
	enum report_paper paper;
	const char *title;    /* metadata; untrusted text is sanitized here */
	const char *author;
	const char *subject;
	const char *keywords;
	const char *creator;
	int64_t created_real_ns; /* the PDF's creation date (reproducible bytes) */
	const char *footer;      /* left of every page's footer */
};

enum rp_pdf_tone {
	RP_PDF_NORMAL,
	RP_PDF_META,  /* smaller, grey */
	RP_PDF_GOOD,  /* green */
	RP_PDF_FLAG,  /* red, bold */
	RP_PDF_WARN,  /* amber */
};

enum rp_pdf_align {
	RP_PDF_LEFT,
	RP_PDF_RIGHT,
};

struct rp_pdf_col {
	const char *title;
	double weight;       /* share of the text width, relative to the other columns */
	enum rp_pdf_align align;
};

int rp_pdf_write(FILE *out, const struct rp_pdf_doc *doc,
		 void (*body)(struct rp_pdf *pdf, const void *ctx), const void *ctx,
		 struct fd_error *err);

/* Level 0: the document title; 1: a section (also a PDF outline entry); 2: a subsection.
 * A heading never ends a page: it moves to the next one with room below it. */
void rp_pdf_heading(struct rp_pdf *pdf, int level, const char *text);
/* Wrapped text; may run across pages. */
void rp_pdf_paragraph(struct rp_pdf *pdf, const char *text, enum rp_pdf_tone tone);
/* A paragraph in a box ruled in its tone (the verdict), kept on one page. */
void rp_pdf_boxed(struct rp_pdf *pdf, const char *text, enum rp_pdf_tone tone);
/* Label/value rows (labels shaded, bold). */
void rp_pdf_kv(struct rp_pdf *pdf, const struct rp_field *f, size_t n);
/* A table: begin, rows, end. Its header row repeats after a page break;
 * a row taller than what is left of the page moves to the next page, or is
 * split between lines when taller than a page. tones may be NULL. */
void rp_pdf_table_begin(struct rp_pdf *pdf, const struct rp_pdf_col *cols, size_t n);
void rp_pdf_table_row(struct rp_pdf *pdf, const char *const *cells, const enum rp_pdf_tone *tones);
void rp_pdf_table_end(struct rp_pdf *pdf);
/* Monospace, shaded, wrapped at any character, newlines and tabs kept; runs across pages. */
void rp_pdf_code(struct rp_pdf *pdf, const char *text);
/* An SVG document drawn (vector) at the text width, or smaller to fit a page,
 * under a subsection heading title (NULL: none) kept on the same page. */
void rp_pdf_svg(struct rp_pdf *pdf, const char *title, const char *svg, size_t len);
/* Vertical space in points (ignored at the top of a page). */
void rp_pdf_space(struct rp_pdf *pdf, double pt);

/* jansson helpers: a sanitized string, a number or null. */
#include <jansson.h>
json_t *rp_json_str(const char *s);
json_t *rp_json_value(const struct report_value *v);
json_t *rp_json_time(int64_t real_ns);

/* evidence_book.c: participants, findings, notes, actions, sign-offs, the
 * previous drill, deviations and data integrity of ev (its drill, events and
 * iterations loaded); freed by rp_evidence_book_free. */
int rp_evidence_book_load(struct store *st, struct report_evidence *ev, struct fd_error *err);
void rp_evidence_book_free(struct report_evidence *ev);

/* ---- the record-book sections as tables (evidence_tables.c) ------------- */

#define RP_COLS_MAX 8

/* A section: its title, columns, rows of plain (unescaped) text, a flag per
 * row (to be marked: missing, failed, past due). */
struct rp_table {
	const char *title;
	const char *cols[RP_COLS_MAX];
	size_t n_cols;
	char **cells;      /* n_rows * n_cols */
	bool *flags;       /* n_rows */
	int flag_col;      /* the one column a flag marks; -1: the whole row */
	size_t n_rows;
	const char *empty; /* said instead of an empty table; NULL: leave the section out */
	const char *note;  /* a line after the table, or NULL */
};

/* The record-book sections (placed among the other parts by enum rp_part). */
enum rp_section {
	RP_SEC_SCOPE,
	RP_SEC_PARTICIPANTS,
	RP_SEC_INTEGRITY,
	RP_SEC_DEVIATIONS,
	RP_SEC_FINDINGS,
	RP_SEC_ACTIONS,
	RP_SEC_RETESTS,
	RP_SEC_LESSONS,
	RP_SEC_CONTROLS,
	RP_SEC_SIGNOFF,
	RP_SEC_FLOWS,
};

/* Whether cell (r, c) of t is to be marked. */
static inline bool rp_table_flagged(const struct rp_table *t, size_t r, size_t c)
{
	return t->flags[r] && (t->flag_col < 0 || (size_t)t->flag_col == c);
}

/*
 * The parts of an evidence report in the one order every renderer lays
 * them out (report_model.c). A part whose rp_part_section() is not -1 is a
 * table of evidence_tables.c; the others each renderer draws itself (and
 * may leave out: Markdown has no charts).
 */
enum rp_part {
	RP_PART_WHO,
	RP_PART_SCOPE,
	RP_PART_PARTICIPANTS,
	RP_PART_OBJECTIVES,
	RP_PART_CHARTS,
	RP_PART_ITERATIONS,
	RP_PART_INTEGRITY,
	RP_PART_LAPS,
	RP_PART_FAULTS,
	RP_PART_FLOWS,
	RP_PART_DEVIATIONS,
	RP_PART_TIMELINE,
	RP_PART_FINDINGS,
	RP_PART_ACTIONS,
	RP_PART_RETESTS,
	RP_PART_LESSONS,
	RP_PART_CONTROLS,
	RP_PART_SIGNOFF,
	RP_PART_SCENARIO,
	RP_PART_N,
};

/* The record-book section part p shows, or -1 when the renderer draws p itself. */
int rp_part_section(enum rp_part p);

/* Builds section s of ev into t (rp_table_free); 0 or -ENOMEM (t freed). */
int rp_evidence_table(const struct report_evidence *ev, enum rp_section s, struct rp_table *t);
void rp_table_free(struct rp_table *t);
/* A trend series' open actions; the drills that recorded participants or retested actions. */
int rp_open_actions_table(const struct report_series *s, struct rp_table *t);
int rp_series_people_table(const struct report_series *s, struct rp_table *t);
/* A series' blackholed flows: per drill, each flow once, with who sent it. */
int rp_series_flows_table(const struct report_series *s, struct rp_table *t);

/* ---- keys (sign.c), shared with sign-offs (signoff.c) ------------------- */

#define RP_SECRET_TAG "firedrill-ed25519-secret "
#define RP_PUBLIC_TAG "firedrill-ed25519-public "

/* Reads "TAG BASE64\n" from path into key (exactly key_len bytes). */
int rp_read_key(const char *path, const char *tag, unsigned char *key, size_t key_len,
		struct fd_error *err);
/* The first 16 hex digits of sha256(pk): how a key is named to people. */
void rp_key_id(const unsigned char pk[32], char id[17]);

#endif

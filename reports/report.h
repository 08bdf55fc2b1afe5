/*
 * report: what firedrill tells. Trend reports (drill-over-drill improvement
 * per scenario x environment) and evidence reports (one drill, for an
 * auditor), rendered as HTML, Markdown, JSON, CSV or JUnit XML (evidence
 * also as PDF), and signed
 * with Ed25519 (libsodium) as a detached sidecar signature.
 *
 * reports/ reads only through store/store.h. The models below are plain
 * read-only structures owned by their top-level object: a caller (and the
 * unit tests) may also build a trend from hand-made store structs with
 * report_trend_build(), without any database.
 *
 * Rules every renderer keeps:
 *  - "not recovered" is never shown or drawn as a number;
 *  - durations through fd_duration_format() ("850 ms", "42.3 s", "1h05m"),
 *    wall times as ISO 8601 UTC ("...Z");
 *  - every string that came from a scenario, a probe or a system under test
 *    is escaped for the output format, control bytes and invalid UTF-8 are
 *    shown as visible "\xNN".
 */
#ifndef FD_REPORT_H
#define FD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fd_error.h"
#include "store.h"

enum report_format {
	REPORT_HTML,
	REPORT_MARKDOWN,
	REPORT_JSON,
	REPORT_CSV,
	REPORT_JUNIT,
	REPORT_PDF, /* evidence reports only */
	REPORT_METRICS, /* trend only: Prometheus text format (report metrics) */
};

/* "html", "md", "json", "csv", "junit", "pdf", "metrics" (also "markdown", "xml", "prom"). */
int report_format_parse(const char *name, enum report_format *out);
/* From a file name's extension (.html .htm .md .json .csv .xml .pdf .prom); -EINVAL if none. */
int report_format_from_path(const char *path, enum report_format *out);
const char *report_format_name(enum report_format f);

/* Page size of paged formats (PDF): ISO A4 (595 x 842 pt) or US Letter (612 x 792 pt). */
enum report_paper {
	REPORT_PAPER_A4,
	REPORT_PAPER_LETTER,
};

/* "a4" or "letter"; -EINVAL otherwise. */
int report_paper_parse(const char *name, enum report_paper *out);

/* How to render, beyond the format. All zero is the default (A4). */
struct report_options {
	enum report_paper paper;
};

/* "2026-11-26", "2026-11-26T03:15:30Z", "2026-11-26T03:15:30.5+01:00" -> ns. */
int report_parse_time(const char *s, int64_t *real_ns);

/* A measured value that may be absent (not recovered, not measured). */
struct report_value {
	bool has;
	double ms;
};

/*
 * A drill's objectives, read from its store row (never from the YAML).
 * unknown: the drill was recorded before the store kept objectives (schema
 * version 1), so rto/rpo say nothing; reports show "unknown", not "none".
 */
struct report_objectives {
	struct report_value rto; /* has=false: the scenario sets no RTO objective */
	struct report_value rpo;
	bool unknown;
	char criterion[256];     /* recovery criterion as text; "" when unknown */
};

/* The objectives recorded with drill d. */
void report_objectives_of(const struct store_drill *d, struct report_objectives *out);

/*
 * What a drill's iterations add up to: the one summary rule shared by the
 * trend and evidence reports and `firedrill history` (docs/reports.md).
 * Median RTO ranks a not-recovered iteration above every number; when the
 * median falls on one it is "not recovered" (rto_median.has=false,
 * rto_not_recovered=true). Iterations that never injected (not healthy,
 * aborted, error) say nothing about recovery and are left out of it.
 */
struct report_summary {
	struct report_value rto_median;
	bool rto_not_recovered;
	struct report_value rpo_median; /* over iterations that measured RPO */
	double error_bound_ms;          /* the largest of its iterations */
	int64_t lost_writes;            /* sum over iterations */
	int n_recovered;
	int n_met;                      /* iterations that met their objectives */
	double pass_rate;               /* n_met / n, 0..1 */
};

/* Returns 0, or -ENOMEM (out is then zeroed). */
int report_summarize(const struct store_iteration *its, size_t n, struct report_summary *out);

/* ---- freshness ---------------------------------------------------------- */

/*
 * Whether each scenario has been proven lately (docs/reports.md,
 * "Freshness"). Proven: a finished drill that recovered with its
 * objectives met. Days are whole days, floored, counted to a `now` the
 * caller passes in; a clock behind the data is "unknown", never a
 * negative age.
 */
enum report_freshness_status {
	REPORT_FRESH,             /* proven within its prove-every */
	REPORT_STALE,             /* last proven longer ago than prove-every, or never proven */
	REPORT_PLAN_CHANGED,      /* the current text differs from the last proven drill's */
	REPORT_NO_PERIOD,         /* no prove-every: listed, never stale */
	REPORT_NEVER_DRILLED,     /* a scenario file with no drill of its name x environment */
	REPORT_FRESHNESS_UNKNOWN, /* now is before the newest drill: the clock is behind */
};

/* "fresh", "stale", "plan changed, not yet proven", "no period", "never drilled", "unknown". */
const char *report_freshness_status_name(enum report_freshness_status s);

/*
 * A scenario file given to `firedrill freshness FILE`: its current text's
 * hash and prove-every (cli/ loads the file; reports/ never parses YAML).
 * All borrowed.
 */
struct report_plan_file {
	const char *path;
	const char *scenario;
	const char *environment;
	const char *sha256;
	int64_t prove_every_ns; /* 0: none */
};

struct report_freshness {
	char scenario[128];
	char environment[128];
	char path[1024];            /* the file given; "" for a row from the store alone */
	struct store_freshness rec; /* what the store holds; rec.n_drills 0: never drilled */
	char current_sha256[65];    /* the file's text, else the newest drill's */
	int64_t prove_every_ns;     /* the file's, else the newest drill's; 0: none */
	bool plan_changed;          /* current_sha256 differs from the last proven drill's */
	bool has_days_drilled;      /* false: never drilled, or the clock is behind */
	int64_t days_since_drilled;
	bool has_days_proven;
	int64_t days_since_proven;
	enum report_freshness_status status;
	char reason[256];           /* the status in a sentence */
};

/* Whole days from from_ns to to_ns, floored; -1 when to_ns is before from_ns. */
int64_t report_days_between(int64_t from_ns, int64_t to_ns);

/*
 * The freshness of rec (NULL: nothing in the store) at now_real_ns; file
 * (may be NULL) replaces the newest drill's text and prove-every with the
 * file's. Pure arithmetic: no store, no clock.
 */
void report_freshness_eval(const struct store_freshness *rec, const struct report_plan_file *file,
			   int64_t now_real_ns, struct report_freshness *out);

/* A CI gate fails on it: stale, or plan changed and not yet proven. */
bool report_freshness_fails(const struct report_freshness *f);

/*
 * Rows at now_real_ns: with no files, one per scenario x environment in
 * the store (environment NULL = all); with files, one per file, matched
 * to the store by its scenario name and environment. *out is malloc'd.
 */
int report_freshness_load(struct store *st, const char *environment,
			  const struct report_plan_file *files, size_t n_files, int64_t now_real_ns,
			  struct report_freshness **out, size_t *n, struct fd_error *err);

/*
 * One line for people: "last proven 2026-09-01 (97 days ago), prove every
 * 90 days: STALE". Returns buf.
 */
char *report_freshness_line(const struct report_freshness *f, char *buf, size_t len);

/* ---- trend -------------------------------------------------------------- */

/* What the trend builder needs of one drill (all borrowed by the builder). */
struct report_drill_input {
	const struct store_drill *drill;
	struct report_objectives objectives;
	const struct store_iteration *iterations;
	size_t n_iterations;
	const struct store_lap *laps; /* laps of all its iterations */
	size_t n_laps;
	const struct store_flow *flows; /* its blackholed flows (schema 6); may be NULL */
	size_t n_flows;
};

struct report_drill {
	struct store_drill info;
	struct report_objectives objectives;
	struct store_iteration *iterations; /* by number */
	size_t n_iterations;

	struct report_summary sum;          /* report_summarize of its iterations */

	/* Percent changes of the medians (has=false when either side lacks a number). */
	struct report_value rto_change_prev_pct;
	struct report_value rto_change_first_pct;
	struct report_value rpo_change_prev_pct;
	struct report_value rpo_change_first_pct;
	/* Worse than the previous drill by more than the error bound. */
	bool rto_regression;
	bool rpo_regression;

	struct report_value *lap_medians; /* [series->n_steps], per step name */

	/* Its scenario text (sha256) differs from the previous drill's in the
	 * series (both recorded). */
	bool scenario_changed;

	/* The actions (of any drill) this drill closed as their retest (report_trend_load). */
	struct report_action *retested;
	size_t n_retested;

	/* Its blackholed flows with who sent them, by iteration (a copy of the input's). */
	struct store_flow *flows;
	size_t n_flows;
};

struct report_series {
	char scenario[128];
	char environment[128];
	struct report_drill *drills; /* oldest first */
	size_t n_drills;
	char **steps;                /* runbook step names in first-seen order */
	size_t n_steps;
	int n_iterations;
	int n_met;
	double pass_rate;
	/* From the series' own drills at the trend's generated time. */
	struct report_freshness freshness;
	/* The open remediation actions filed on its drills (report_trend_load). */
	struct report_action *open_actions;
	size_t n_open_actions;
};

struct report_trend {
	struct report_series *series; /* sorted by scenario, then environment */
	size_t n_series;
	int64_t generated_real_ns;
	int64_t since_real_ns; /* the filter, 0 = unbounded */
	int64_t until_real_ns;
	char scenario_filter[128];
	char environment_filter[128];
};

/* Builds a trend from borrowed inputs (any order; grouped and sorted here). */
int report_trend_build(const struct report_drill_input *in, size_t n,
		       struct report_trend **out, struct fd_error *err);
/* Reads drills matching f from the store and builds their trend. */
int report_trend_load(struct store *st, const struct store_filter *f,
		      struct report_trend **out, struct fd_error *err);
void report_trend_free(struct report_trend *t);

/* HTML, Markdown, JSON, CSV or JUnit XML (PDF: -EINVAL, FD_ERR_INPUT). */
int report_trend_write(const struct report_trend *t, enum report_format fmt,
		       FILE *out, struct fd_error *err);

/*
 * The freshness of series s from its own drills (finished ones; none
 * filtered out by the trend's since/until are seen) at now_real_ns. The
 * trend builder fills s->freshness with it at the generated time.
 */
void report_series_freshness(const struct report_series *s, int64_t now_real_ns,
			     struct report_freshness *out);

/* "RTO 2h05m -> 40m, -68% since first drill" (series with >= 1 drill). */
char *report_trend_headline(const struct report_series *s, char *buf, size_t len);

/* ---- evidence ----------------------------------------------------------- */

struct report_evidence_iteration {
	struct store_iteration it;
	struct store_lap *laps;
	size_t n_laps;
	struct store_probe_stats *probes;
	size_t n_probes;
};

/* One "ROLE=NAME" of the drill's participants; name "" when nobody filled it. */
struct report_participant {
	char role[64];
	char name[128];
};

/* A departure from the plan, found in the timeline and the laps. */
struct report_deviation {
	int64_t real_ns;
	int iteration;     /* 0: drill-level */
	char kind[128];    /* "step failed", "step not ended", "aborted", "not recovered", ... */
	char what[1200];
};

/* What one iteration shows of the data: canary writes and their read-back. */
struct report_integrity {
	int iteration;
	bool measured;        /* the scenario measured RPO (canary or query) */
	bool has_rpo;
	double rpo_ms;
	int64_t writes_acked, writes_acked_outage, lost_writes;
	char read_back[1100];  /* the read-back's own words: lost, mismatched, unknown */
};

/* One control of the mapping (controls.json), judged against this drill. */
struct report_control {
	char id[32];
	char name[96];        /* "SOC 2 A1.3" */
	char text[512];       /* the control in our own words */
	char shows[1024];     /* what this drill shows for it, "; "-joined */
	char missing[1024];   /* what is missing, "; "-joined ("" when nothing) */
};

struct report_evidence {
	struct store_drill drill;
	struct report_objectives objectives;
	char *scenario_text;
	char scenario_sha256[65];
	bool scenario_hash_ok; /* the stored text still hashes to scenario_sha256 */
	struct report_evidence_iteration *iterations;
	size_t n_iterations;
	struct store_event *events;
	size_t n_events;
	struct store_flow *flows;   /* blackholed flows with who sent them (schema 6) */
	size_t n_flows;
	int64_t generated_real_ns;
	char tool_version[64]; /* the firedrill writing the report */

	/* what people recorded beside the figures (schema 5) */
	struct report_participant *participants;
	size_t n_participants;
	struct store_record *findings;      /* most severe first, then in order filed */
	size_t n_findings;
	struct store_record *notes;         /* lessons learned */
	size_t n_notes;
	struct report_action *actions;      /* filed on this drill, with their state */
	size_t n_actions;
	struct report_action *retested;     /* other drills' actions this drill closed as retest */
	size_t n_retested;
	struct report_signoff_check *signoffs;
	size_t n_signoffs;
	/* derived from the timeline, laps and iterations */
	struct report_deviation *deviations;
	size_t n_deviations;
	struct report_integrity *integrity; /* one per iteration */
	/* the previous drill of the same scenario and environment (0: none) */
	int64_t previous_drill_id;
	int64_t previous_started_real_ns;
	/* report_evidence_controls(): the mapping asked for (--controls) */
	struct report_control *controls;
	size_t n_controls;
};

int report_evidence_load(struct store *st, int64_t drill_id,
			 struct report_evidence **out, struct fd_error *err);
void report_evidence_free(struct report_evidence *ev);

/*
 * Adds the control mapping: ids is a comma-separated list of control ids
 * ("soc2,iso27001", or "all"), mapping_path a controls file (NULL: the one
 * built in, docs/controls.md). An unknown id is an FD_ERR_INPUT error that
 * lists the known ones.
 */
int report_evidence_controls(struct report_evidence *ev, const char *ids,
			     const char *mapping_path, struct fd_error *err);

/* HTML, Markdown, JSON or PDF (-EINVAL, FD_ERR_INPUT for the other formats). */
int report_evidence_write(const struct report_evidence *ev, enum report_format fmt,
			  FILE *out, struct fd_error *err);
/* The same with options (opt NULL: the defaults). */
int report_evidence_write_opts(const struct report_evidence *ev, enum report_format fmt,
			       const struct report_options *opt, FILE *out, struct fd_error *err);

/* "PASS: recovered in 41.2 s (objective 5m00s), RPO 0 ms, 3/3 iterations met". */
char *report_evidence_verdict(const struct report_evidence *ev, char *buf, size_t len);


/* ---- the record book: findings, actions, sign-offs (records.c, signoff.c) -- */

/* An action with its state, as `firedrill actions` and the reports show it. */
struct report_action {
	struct store_record action;
	bool closed;
	struct store_record closing; /* when closed: who, when, the retest drill */
	bool past_due;               /* open, and a whole day or more after its due date (UTC) */
	int64_t days_overdue;        /* when past_due */
	char scenario[128];          /* of the drill it was filed on */
	char environment[128];
};

struct report_actions_filter {
	int64_t drill_id;       /* 0: every drill */
	bool open_only;
	const char *owner;      /* NULL: anyone */
	const char *scenario;   /* NULL: every scenario */
	const char *environment;
	int64_t now_real_ns;    /* "today" for past-due; 0: the clock */
};

/* The actions f selects, oldest first, each with its closing (if any). */
int report_actions_load(struct store *st, const struct report_actions_filter *f,
			struct report_action **out, size_t *n, struct fd_error *err);

/*
 * Whole days from the start (00:00 UTC) of due ("YYYY-MM-DD") to now: 0 on
 * the due day itself, 1 the day after (past due). -EINVAL for a malformed
 * date.
 */
int report_days_since_due(const char *due, int64_t now_real_ns, int64_t *days);

/* One record as JSON (keys in docs/reports.md); caller owns it. */
struct json_t;
struct json_t *report_record_json(const struct store_record *r);
/* Who sent a blackholed flow as JSON (reports and `run --json`); caller owns it. */
struct json_t *report_flow_owner_json(const struct fd_flow_owner *o);
/* The action's record plus state, past_due, days_overdue, scenario, environment, closed. */
struct json_t *report_action_json(const struct report_action *a);

/*
 * Adds name's sign-off to a finished drill: an Ed25519 signature (secret key
 * at key_path) over a statement naming the drill's sealed row hash (which
 * covers all its evidence) and the head of the record book at that moment
 * (its findings, actions and notes so far). out gets the stored record.
 * -EBUSY while the drill runs.
 */
FD_MUST_CHECK int report_signoff(struct store *st, int64_t drill_id, const char *name,
				 const char *role, const char *key_path, struct store_record *out,
				 struct fd_error *err);

/* A sign-off, checked against the store as it is now. */
struct report_signoff_check {
	struct store_record rec;
	bool ok;                /* every check below passed */
	bool key_match;         /* signed by the --pubkey given (true when none was) */
	int64_t records_seq;    /* the record book entries the sign-off covers */
	char what[512];         /* what is wrong, in words ("" when ok) */
};

/* The sign-offs of drill_id (0: all), each checked; pubkey_path may be NULL. */
int report_signoffs_check(struct store *st, int64_t drill_id, const char *pubkey_path,
			  struct report_signoff_check **out, size_t *n, struct fd_error *err);

/* ---- signatures --------------------------------------------------------- */

/*
 * Key files (docs/reports.md): one line each,
 *   PREFIX.key  "firedrill-ed25519-secret BASE64(64-byte libsodium secret key)\n", mode 0600
 *   PREFIX.pub  "firedrill-ed25519-public BASE64(32-byte public key)\n"
 */
FD_MUST_CHECK int report_keygen(const char *prefix, struct fd_error *err);

/*
 * Signs the bytes of report_path with the secret key file; writes the
 * detached signature to report_path + ".sig" (format in docs/reports.md).
 * ev (NULL for a trend report) binds the signature to the drill's and its
 * iterations' row hashes in the store's chain; st (may be NULL) adds the
 * heads of the store's chains (store_chain_head), so a store later cut
 * back or rewritten is noticed.
 */
FD_MUST_CHECK int report_sign_file(const char *report_path, const char *key_path,
		     const struct report_evidence *ev, struct store *st, struct fd_error *err);

/*
 * The same for a trend report: the signature binds the trend's filter
 * (scenario, environment, since, until) and every drill it covers with its
 * iterations' row hashes, so verify with a store names a covered row that
 * changed since signing. A drill recorded later is not a change.
 */
FD_MUST_CHECK int report_sign_trend_file(const char *report_path, const char *key_path,
			   const struct report_trend *t, struct store *st, struct fd_error *err);

/*
 * Seals a finished drill: writes to seal_path the signed drill and
 * iteration row hashes and the chain heads (`firedrill run --sign`). The
 * drill's row hash covers its sealed evidence, so the seal binds every row
 * the drill's figures rest on. -EBUSY when the drill is still running.
 */
FD_MUST_CHECK int report_seal_drill(const char *seal_path, const char *key_path, struct store *st,
		      int64_t drill_id, struct fd_error *err);

enum report_verify_status {
	REPORT_VERIFY_OK,
	REPORT_VERIFY_BAD_SIGNATURE, /* the .sig itself was altered, or another key */
	REPORT_VERIFY_REPORT_CHANGED, /* the report's bytes differ from what was signed */
	REPORT_VERIFY_WRONG_KEY,      /* signed, but not by --pubkey */
	REPORT_VERIFY_CHAIN_BROKEN,   /* store_verify_chain failed */
	REPORT_VERIFY_STORE_CHANGED,  /* the signed drill/iteration rows differ in the store */
};

struct report_verify_result {
	enum report_verify_status status;
	char key_id[17];      /* first 16 hex of sha256(public key) */
	int64_t drill_id;
	bool legacy_seal; /* the drill was sealed before evidence seals (drill and iteration rows only) */
	char signed_at[40];
	char what[FD_ERROR_MSG_MAX]; /* what was altered, in words */
	/* A signed trend report (report_sign_trend_file): the filter in words,
	 * and how many drills the signature covers. */
	bool trend;
	size_t n_drills;
	char covers[512];
};

/*
 * Checks report_path against report_path.sig: the signature (with pubkey_path
 * when given, else the key embedded in the .sig), the report's bytes, and,
 * when st is not NULL, the store's chain and the signed rows. Returns 0 when
 * the check ran (result->status says how it went), or a negative code when it
 * could not run (missing or malformed files: FD_ERR_ENV / FD_ERR_INPUT).
 */
FD_MUST_CHECK int report_verify_file(const char *report_path, const char *pubkey_path,
		       struct store *st, struct report_verify_result *result,
		       struct fd_error *err);

/*
 * Checks a drill seal (report_seal_drill): its signature (pubkey_path as
 * above), and when st is not NULL that the store still verifies and holds
 * the sealed rows; when report_path is not NULL, that the report shows the
 * sealed drill's row hash (it was made from the sealed drill).
 */
FD_MUST_CHECK int report_verify_seal(const char *seal_path, const char *report_path, const char *pubkey_path,
		       struct store *st, struct report_verify_result *result,
		       struct fd_error *err);

#endif

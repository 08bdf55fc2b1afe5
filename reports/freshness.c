/*
 * freshness.c: whether each scenario has been proven lately (issue 13,
 * docs/reports.md "Freshness"). Plans rot as the software under them
 * changes; a scenario that recovered with its objectives met a year ago
 * says little about today.
 *
 * The arithmetic, in one place for `firedrill freshness` and the trend:
 *  - ages are whole days, floored, from a drill's start to `now` (passed
 *    in, never read here, so tests and CI can pin it);
 *  - stale when the last proof is more than prove-every days old: proven
 *    exactly prove-every days ago (floored) is still fresh, the next day
 *    is stale. prove-every is a whole number of days (the loader refuses
 *    anything else), so the comparison is exact;
 *  - never proven (with a prove-every) is stale;
 *  - the plan changed when the current text (a file given, else the newest
 *    drill's) differs from the last proven drill's; a known text is never
 *    compared with an unrecorded one;
 *  - a clock behind the data (now before the newest drill) makes the row
 *    "unknown": a negative age would read as "proven in the future".
 */
#include "report_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_NS (INT64_C(86400) * 1000000000)

static const char *const status_names[] = {
	[REPORT_FRESH] = "fresh",
	[REPORT_STALE] = "stale",
	[REPORT_PLAN_CHANGED] = "plan changed, not yet proven",
	[REPORT_NO_PERIOD] = "no period",
	[REPORT_NEVER_DRILLED] = "never drilled",
	[REPORT_FRESHNESS_UNKNOWN] = "unknown",
};

const char *report_freshness_status_name(enum report_freshness_status s)
{
	return (size_t)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

int64_t report_days_between(int64_t from_ns, int64_t to_ns)
{
	if (to_ns < from_ns)
		return -1;
	/* both are ns since 1970 (>= 0 in any store): the difference cannot overflow */
	return (to_ns - from_ns) / DAY_NS;
}

bool report_freshness_fails(const struct report_freshness *f)
{
	return f->status == REPORT_STALE || f->status == REPORT_PLAN_CHANGED;
}

static void day_of(int64_t real_ns, char *buf, size_t len)
{
	char iso[40];

	rp_time(real_ns, iso, sizeof(iso));
	snprintf(buf, len, "%.10s", iso); /* "2026-09-01" */
}

static const char *plural(int64_t n)
{
	return n == 1 ? "" : "s";
}

/* The status and its sentence, once the ages are known. */
static void judge(struct report_freshness *f)
{
	int64_t period = f->prove_every_ns / DAY_NS;
	const struct store_freshness *r = &f->rec;

	if (!f->prove_every_ns) {
		f->status = REPORT_NO_PERIOD;
		snprintf(f->reason, sizeof(f->reason), "no prove-every: never stale%s",
			 !r->proven ? " (never proven)" :
			 f->plan_changed ? " (plan changed since last proven)" : "");
	} else if (!r->proven) {
		f->status = REPORT_STALE;
		snprintf(f->reason, sizeof(f->reason), "never proven in %lld drill%s",
			 (long long)r->n_drills, plural(r->n_drills));
	} else if (f->days_since_proven > period) {
		f->status = REPORT_STALE;
		snprintf(f->reason, sizeof(f->reason),
			 "last proven %lld day%s ago, more than %lld day%s%s",
			 (long long)f->days_since_proven, plural(f->days_since_proven),
			 (long long)period, plural(period),
			 f->plan_changed ? " (and the plan changed since)" : "");
	} else if (f->plan_changed) {
		f->status = REPORT_PLAN_CHANGED;
		snprintf(f->reason, sizeof(f->reason),
			 "%s text %.12s differs from the last proven drill's %.12s",
			 f->path[0] ? "the file's" : "the newest drill's", f->current_sha256,
			 r->last_proven_sha256);
	} else {
		f->status = REPORT_FRESH;
		snprintf(f->reason, sizeof(f->reason), "proven %lld day%s ago, due within %lld day%s",
			 (long long)f->days_since_proven, plural(f->days_since_proven),
			 (long long)(period - f->days_since_proven),
			 plural(period - f->days_since_proven));
	}
}

void report_freshness_eval(const struct store_freshness *rec, const struct report_plan_file *file,
			   int64_t now_real_ns, struct report_freshness *out)
{
	struct report_freshness *f = out;
	const struct store_freshness *r = &f->rec;

	memset(f, 0, sizeof(*f));
	if (rec)
		f->rec = *rec;
	snprintf(f->scenario, sizeof(f->scenario), "%s", file ? file->scenario : r->scenario);
	snprintf(f->environment, sizeof(f->environment), "%s",
		 file ? file->environment : r->environment);
	snprintf(f->path, sizeof(f->path), "%s", file && file->path ? file->path : "");
	snprintf(f->current_sha256, sizeof(f->current_sha256), "%s",
		 file ? file->sha256 : r->last_drilled_sha256);
	f->prove_every_ns = file ? file->prove_every_ns : r->prove_every_ns;
	if (r->n_drills == 0) {
		f->status = REPORT_NEVER_DRILLED;
		snprintf(f->reason, sizeof(f->reason), "no finished drill of this scenario in this environment");
		return;
	}
	f->plan_changed = r->proven && f->current_sha256[0] && r->last_proven_sha256[0] &&
			  strcmp(f->current_sha256, r->last_proven_sha256) != 0;
	f->days_since_drilled = report_days_between(r->last_drilled_real_ns, now_real_ns);
	f->days_since_proven = r->proven ? report_days_between(r->last_proven_real_ns, now_real_ns) : 0;
	if (f->days_since_drilled < 0 || f->days_since_proven < 0) {
		char now[40], last[40];

		f->days_since_drilled = f->days_since_proven = 0;
		f->status = REPORT_FRESHNESS_UNKNOWN;
		snprintf(f->reason, sizeof(f->reason),
			 "the clock (%s) is behind the newest drill (%s): ages cannot be told",
			 rp_time(now_real_ns, now, sizeof(now)),
			 rp_time(r->last_drilled_real_ns, last, sizeof(last)));
		return;
	}
	f->has_days_drilled = true;
	f->has_days_proven = r->proven;
	judge(f);
}

char *report_freshness_line(const struct report_freshness *f, char *buf, size_t len)
{
	char day[16], period[48] = "no prove-every";
	const char *verdict;

	if (f->prove_every_ns)
		snprintf(period, sizeof(period), "prove every %lld day%s",
			 (long long)(f->prove_every_ns / DAY_NS), plural(f->prove_every_ns / DAY_NS));
	switch (f->status) {
	case REPORT_FRESH:
		verdict = "fresh";
		break;
	case REPORT_STALE:
		verdict = "STALE";
		break;
	case REPORT_PLAN_CHANGED:
		verdict = "plan changed since last proven";
		break;
	case REPORT_NO_PERIOD:
		verdict = f->plan_changed ? "plan changed since last proven" : "never stale";
		break;
	case REPORT_NEVER_DRILLED:
		snprintf(buf, len, "never drilled, %s", period);
		return buf;
	default:
		snprintf(buf, len, "freshness unknown: %s", f->reason);
		return buf;
	}
	if (f->has_days_proven) {
		day_of(f->rec.last_proven_real_ns, day, sizeof(day));
		snprintf(buf, len, "last proven %s (%lld day%s ago), %s: %s", day,
			 (long long)f->days_since_proven, plural(f->days_since_proven), period, verdict);
	} else {
		snprintf(buf, len, "never proven, %s: %s", period, verdict);
	}
	return buf;
}

static const struct store_freshness *find_rec(const struct store_freshness *recs, size_t n,
					      const char *scenario, const char *environment)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(recs[i].scenario, scenario) == 0 &&
		    strcmp(recs[i].environment, environment) == 0)
			return &recs[i];
	return NULL;
}

int report_freshness_load(struct store *st, const char *environment,
			  const struct report_plan_file *files, size_t n_files, int64_t now_real_ns,
			  struct report_freshness **out, size_t *n, struct fd_error *err)
{
	struct store_freshness *recs = NULL;
	size_t n_recs = 0, rows;
	int r;

	*out = NULL;
	*n = 0;
	/* a file names its own environment (the caller applies --env to it) */
	r = store_list_freshness(st, n_files ? NULL : environment, &recs, &n_recs, err);
	if (r < 0)
		return r;
	rows = n_files ? n_files : n_recs;
	*out = calloc(rows + 1, sizeof(**out));
	if (!*out) {
		free(recs);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < rows; i++) {
		if (n_files)
			report_freshness_eval(find_rec(recs, n_recs, files[i].scenario,
						       files[i].environment),
					      &files[i], now_real_ns, &(*out)[i]);
		else
			report_freshness_eval(&recs[i], NULL, now_real_ns, &(*out)[i]);
	}
	*n = rows;
	free(recs);
	return 0;
}

void report_series_freshness(const struct report_series *s, int64_t now_real_ns,
			     struct report_freshness *out)
{
	struct store_freshness rec = { 0 };

	snprintf(rec.scenario, sizeof(rec.scenario), "%s", s->scenario);
	snprintf(rec.environment, sizeof(rec.environment), "%s", s->environment);
	/* oldest first: the last finished drill is the newest, as in store_list_freshness */
	for (size_t i = 0; i < s->n_drills; i++) {
		const struct store_drill *d = &s->drills[i].info;

		if (d->outcome == STORE_OUTCOME_RUNNING)
			continue;
		rec.n_drills++;
		rec.last_drill_id = d->id;
		rec.last_drilled_real_ns = d->started_real_ns;
		snprintf(rec.last_drilled_sha256, sizeof(rec.last_drilled_sha256), "%s",
			 d->scenario_sha256);
		rec.prove_every_ns = d->prove_every_ns;
		if (d->outcome == STORE_OUTCOME_RECOVERED && d->objectives_met) {
			rec.proven = true;
			rec.last_proven_drill_id = d->id;
			rec.last_proven_real_ns = d->started_real_ns;
			snprintf(rec.last_proven_sha256, sizeof(rec.last_proven_sha256), "%s",
				 d->scenario_sha256);
		}
	}
	report_freshness_eval(&rec, NULL, now_real_ns, out);
}

bool rp_freshness_shown(const struct report_series *s)
{
	return s->freshness.prove_every_ns > 0 || s->freshness.plan_changed;
}

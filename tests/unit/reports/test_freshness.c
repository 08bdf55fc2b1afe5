/*
 * Freshness arithmetic (reports/freshness.c): whole days floored, the
 * prove-every boundary (proven exactly 90 days ago is fresh, 91 is stale),
 * never proven, a changed plan (the newest drill's or a file's text), a
 * clock behind the data, no period, and the trend's per-series freshness
 * and per-drill "scenario changed".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

#define S INT64_C(1000000000)
#define DAY (INT64_C(86400) * S)
/* 2026-09-01T00:00:00Z */
#define SEPT1 (INT64_C(1788220800) * S)

static const char SHA_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char SHA_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/* Two drills: proven on 2026-09-01 with text A, the newest (not proven) a day later. */
static struct store_freshness record(const char *newest_sha, int64_t prove_every)
{
	struct store_freshness r = {
		.n_drills = 2, .last_drill_id = 2, .last_drilled_real_ns = SEPT1 + DAY,
		.prove_every_ns = prove_every, .proven = true, .last_proven_drill_id = 1,
		.last_proven_real_ns = SEPT1,
	};

	snprintf(r.scenario, sizeof(r.scenario), "region-drop");
	snprintf(r.environment, sizeof(r.environment), "prod");
	snprintf(r.last_drilled_sha256, sizeof(r.last_drilled_sha256), "%s", newest_sha);
	snprintf(r.last_proven_sha256, sizeof(r.last_proven_sha256), "%s", SHA_A);
	return r;
}

static void test_days_between(void **state)
{
	(void)state;
	assert_int_equal(report_days_between(SEPT1, SEPT1), 0);
	assert_int_equal(report_days_between(SEPT1, SEPT1 + DAY - 1), 0); /* floored */
	assert_int_equal(report_days_between(SEPT1, SEPT1 + DAY), 1);
	assert_int_equal(report_days_between(SEPT1, SEPT1 + 97 * DAY + 5 * 3600 * S), 97);
	assert_int_equal(report_days_between(SEPT1, SEPT1 - 1), -1); /* never negative days */
}

/* Proven exactly 90 days ago (floored) is fresh; from the 91st day it is stale. */
static void test_boundary(void **state)
{
	struct store_freshness r = record(SHA_A, 90 * DAY);
	struct report_freshness f;

	(void)state;
	report_freshness_eval(&r, NULL, SEPT1 + 90 * DAY, &f);
	assert_int_equal(f.status, REPORT_FRESH);
	assert_int_equal(f.days_since_proven, 90);
	assert_string_equal(f.reason, "proven 90 days ago, due within 0 days");
	report_freshness_eval(&r, NULL, SEPT1 + 91 * DAY - 1, &f);
	assert_int_equal(f.status, REPORT_FRESH); /* 90 days and 23:59:59.999999999 */
	assert_false(report_freshness_fails(&f));
	report_freshness_eval(&r, NULL, SEPT1 + 91 * DAY, &f);
	assert_int_equal(f.status, REPORT_STALE);
	assert_true(report_freshness_fails(&f));
	assert_int_equal(f.days_since_proven, 91);
	assert_int_equal(f.days_since_drilled, 90);
	assert_string_equal(f.reason, "last proven 91 days ago, more than 90 days");
	/* the same day as the proof */
	report_freshness_eval(&r, NULL, SEPT1 + DAY, &f);
	assert_int_equal(f.status, REPORT_FRESH);
	assert_int_equal(f.days_since_drilled, 0);
	assert_int_equal(f.days_since_proven, 1);
}

static void test_line(void **state)
{
	struct store_freshness r = record(SHA_A, 90 * DAY);
	struct report_freshness f;
	char line[256];

	(void)state;
	report_freshness_eval(&r, NULL, SEPT1 + 97 * DAY + 3600 * S, &f);
	assert_string_equal(report_freshness_line(&f, line, sizeof(line)),
			    "last proven 2026-09-01 (97 days ago), prove every 90 days: STALE");
	report_freshness_eval(&r, NULL, SEPT1 + DAY, &f);
	assert_string_equal(report_freshness_line(&f, line, sizeof(line)),
			    "last proven 2026-09-01 (1 day ago), prove every 90 days: fresh");
	r = record(SHA_B, 90 * DAY);
	report_freshness_eval(&r, NULL, SEPT1 + 10 * DAY, &f);
	assert_string_equal(report_freshness_line(&f, line, sizeof(line)),
			    "last proven 2026-09-01 (10 days ago), prove every 90 days: "
			    "plan changed since last proven");
}

static void test_never_proven(void **state)
{
	struct store_freshness r = record(SHA_A, 30 * DAY);
	struct report_freshness f;
	char line[256];

	(void)state;
	r.proven = false;
	r.last_proven_real_ns = 0;
	r.last_proven_sha256[0] = '\0';
	report_freshness_eval(&r, NULL, SEPT1 + 2 * DAY, &f);
	assert_int_equal(f.status, REPORT_STALE);
	assert_true(report_freshness_fails(&f));
	assert_false(f.has_days_proven);
	assert_true(f.has_days_drilled);
	assert_int_equal(f.days_since_drilled, 1);
	assert_false(f.plan_changed); /* nothing proven to differ from */
	assert_string_equal(f.reason, "never proven in 2 drills");
	assert_string_equal(report_freshness_line(&f, line, sizeof(line)),
			    "never proven, prove every 30 days: STALE");
}

static void test_plan_changed(void **state)
{
	struct store_freshness r = record(SHA_B, 90 * DAY);
	struct report_freshness f;

	(void)state;
	report_freshness_eval(&r, NULL, SEPT1 + 10 * DAY, &f);
	assert_int_equal(f.status, REPORT_PLAN_CHANGED);
	assert_true(f.plan_changed);
	assert_true(report_freshness_fails(&f));
	assert_string_equal(report_freshness_status_name(f.status), "plan changed, not yet proven");
	assert_string_equal(f.reason, "the newest drill's text bbbbbbbbbbbb differs from the last "
				      "proven drill's aaaaaaaaaaaa");
	/* overdue as well: stale says more, and the reason keeps the change */
	report_freshness_eval(&r, NULL, SEPT1 + 100 * DAY, &f);
	assert_int_equal(f.status, REPORT_STALE);
	assert_true(f.plan_changed);
	assert_string_equal(f.reason, "last proven 100 days ago, more than 90 days "
				      "(and the plan changed since)");
	/* an unrecorded text is never a change */
	r.last_drilled_sha256[0] = '\0';
	report_freshness_eval(&r, NULL, SEPT1 + 10 * DAY, &f);
	assert_int_equal(f.status, REPORT_FRESH);
	assert_false(f.plan_changed);
}

/* A scenario file given: its text and prove-every replace the newest drill's. */
static void test_files(void **state)
{
	struct store_freshness r = record(SHA_B, 0);
	struct report_plan_file file = { .path = "s/region.yaml", .scenario = "region-drop",
					 .environment = "prod", .sha256 = SHA_A,
					 .prove_every_ns = 30 * DAY };
	struct report_freshness f;

	(void)state;
	/* the file is back at the proven text: fresh, whatever was drilled since */
	report_freshness_eval(&r, &file, SEPT1 + 3 * DAY, &f);
	assert_int_equal(f.status, REPORT_FRESH);
	assert_int_equal(f.prove_every_ns, 30 * DAY);
	assert_string_equal(f.path, "s/region.yaml");
	/* its current text was never drilled */
	file.sha256 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
	report_freshness_eval(&r, &file, SEPT1 + 3 * DAY, &f);
	assert_int_equal(f.status, REPORT_PLAN_CHANGED);
	assert_non_null(strstr(f.reason, "the file's text cccccccccccc"));
	/* nothing in the store for its name x environment */
	report_freshness_eval(NULL, &file, SEPT1, &f);
	assert_int_equal(f.status, REPORT_NEVER_DRILLED);
	assert_false(report_freshness_fails(&f));
	assert_string_equal(f.scenario, "region-drop");
	assert_string_equal(f.environment, "prod");
	assert_false(f.has_days_drilled);
}

/* A clock behind the data: unknown with a reason, never a negative age. */
static void test_clock_skew(void **state)
{
	struct store_freshness r = record(SHA_A, 90 * DAY);
	struct report_freshness f;
	char line[256];

	(void)state;
	/* after the proof, before the newest drill */
	report_freshness_eval(&r, NULL, SEPT1 + 3600 * S, &f);
	assert_int_equal(f.status, REPORT_FRESHNESS_UNKNOWN);
	assert_false(f.has_days_drilled);
	assert_false(f.has_days_proven);
	assert_int_equal(f.days_since_drilled, 0);
	assert_false(report_freshness_fails(&f));
	assert_string_equal(f.reason, "the clock (2026-09-01T01:00:00.000Z) is behind the newest "
				      "drill (2026-09-02T00:00:00.000Z): ages cannot be told");
	assert_non_null(strstr(report_freshness_line(&f, line, sizeof(line)), "freshness unknown"));
	report_freshness_eval(&r, NULL, 0, &f);
	assert_int_equal(f.status, REPORT_FRESHNESS_UNKNOWN);
}

static void test_no_period(void **state)
{
	struct store_freshness r = record(SHA_B, 0);
	struct report_freshness f;
	char line[256];

	(void)state;
	report_freshness_eval(&r, NULL, SEPT1 + 3000 * DAY, &f);
	assert_int_equal(f.status, REPORT_NO_PERIOD);
	assert_false(report_freshness_fails(&f)); /* listed, never stale */
	assert_int_equal(f.days_since_proven, 3000);
	assert_string_equal(f.reason, "no prove-every: never stale (plan changed since last proven)");
	assert_string_equal(report_freshness_line(&f, line, sizeof(line)),
			    "last proven 2026-09-01 (3000 days ago), no prove-every: "
			    "plan changed since last proven");
	r.proven = false;
	report_freshness_eval(&r, NULL, SEPT1 + 3000 * DAY, &f);
	assert_int_equal(f.status, REPORT_NO_PERIOD);
	assert_string_equal(f.reason, "no prove-every: never stale (never proven)");
}

/* The trend: "scenario changed" per drill, and each series' freshness from its own drills. */
static void test_trend_series(void **state)
{
	struct store_drill d[4] = { 0 };
	struct report_drill_input in[4];
	struct report_trend *t = NULL;
	struct report_freshness f;
	struct fd_error err = { 0 };
	const char *shas[4] = { SHA_A, SHA_A, SHA_B, "" };

	(void)state;
	for (int i = 0; i < 4; i++) {
		d[i].id = i + 1;
		snprintf(d[i].scenario_name, sizeof(d[i].scenario_name), "region-drop");
		snprintf(d[i].environment, sizeof(d[i].environment), "prod");
		snprintf(d[i].scenario_sha256, sizeof(d[i].scenario_sha256), "%s", shas[i]);
		d[i].started_real_ns = SEPT1 + i * DAY;
		d[i].outcome = i < 2 ? STORE_OUTCOME_RECOVERED : STORE_OUTCOME_NOT_RECOVERED;
		d[i].objectives_met = i < 2;
		d[i].prove_every_ns = 30 * DAY;
		in[i] = (struct report_drill_input){ .drill = &d[i] };
	}
	d[3].outcome = STORE_OUTCOME_RUNNING; /* running: proves nothing, is not the newest */
	assert_int_equal(report_trend_build(in, 4, &t, &err), 0);
	assert_int_equal(t->n_series, 1);
	assert_false(t->series[0].drills[0].scenario_changed); /* the first has no previous */
	assert_false(t->series[0].drills[1].scenario_changed);
	assert_true(t->series[0].drills[2].scenario_changed);
	assert_false(t->series[0].drills[3].scenario_changed); /* unrecorded text */
	/* built at the generated time (now): drilled in 2026, so stale or unknown, never fresh */
	assert_int_not_equal(t->series[0].freshness.status, REPORT_FRESH);
	report_series_freshness(&t->series[0], SEPT1 + 5 * DAY, &f);
	assert_int_equal(f.status, REPORT_PLAN_CHANGED);
	assert_int_equal(f.rec.n_drills, 3);
	assert_int_equal(f.rec.last_drill_id, 3);
	assert_int_equal(f.rec.last_proven_drill_id, 2);
	assert_int_equal(f.days_since_proven, 4);
	report_series_freshness(&t->series[0], SEPT1 + 32 * DAY, &f);
	assert_int_equal(f.status, REPORT_STALE);
	report_trend_free(t);
}

/* Renders t as fmt into a malloc'd string. */
static char *render(const struct report_trend *t, enum report_format fmt)
{
	struct fd_error err = { 0 };
	char *doc = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&doc, &len);

	assert_non_null(out);
	assert_int_equal(report_trend_write(t, fmt, out, &err), 0);
	fclose(out);
	return doc;
}

/*
 * The renderers: the freshness line per series, "plan changed" on the drill
 * whose text changed (a marker in the HTML charts, a flag in the tables, a
 * boolean in JSON), and nothing new for a series without either.
 */
static void test_trend_renderers(void **state)
{
	struct store_drill d[4] = { 0 };
	struct report_drill_input in[4];
	struct report_trend *t = NULL;
	struct fd_error err = { 0 };
	const char *shas[4] = { SHA_A, SHA_B, SHA_B, SHA_A };
	char *doc;
	json_t *j;

	(void)state;
	for (int i = 0; i < 4; i++) {
		d[i].id = i + 1;
		snprintf(d[i].scenario_name, sizeof(d[i].scenario_name), i < 3 ? "region-drop" : "quiet");
		snprintf(d[i].environment, sizeof(d[i].environment), "prod");
		snprintf(d[i].scenario_sha256, sizeof(d[i].scenario_sha256), "%s", shas[i]);
		d[i].started_real_ns = SEPT1 + i * DAY;
		d[i].outcome = i < 2 ? STORE_OUTCOME_RECOVERED : STORE_OUTCOME_NOT_RECOVERED;
		d[i].objectives_met = i < 2;
		d[i].prove_every_ns = i < 3 ? 90 * DAY : 0;
		in[i] = (struct report_drill_input){ .drill = &d[i] };
	}
	assert_int_equal(report_trend_build(in, 4, &t, &err), 0);
	assert_int_equal(t->n_series, 2);
	t->generated_real_ns = SEPT1 + 98 * DAY + 3600 * S; /* drill 2 proven 97 days before */
	for (size_t i = 0; i < t->n_series; i++)
		report_series_freshness(&t->series[i], t->generated_real_ns, &t->series[i].freshness);
	assert_string_equal(t->series[1].scenario, "region-drop");

	doc = render(t, REPORT_HTML);
	assert_non_null(strstr(doc, "<p class=\"flag\">Freshness: last proven 2026-09-02 (97 days ago), "
				    "prove every 90 days: STALE</p>"));
	assert_non_null(strstr(doc, "previous drill</title></line><text"));
	assert_non_null(strstr(doc, "plan changed</text>"));
	assert_non_null(strstr(doc, " plan changed</td></tr>"));
	/* one series with one change: one marker in each of its two charts, none in "quiet" */
	{
		size_t n = 0;

		for (const char *p = doc; (p = strstr(p, "plan changed</text>")); p++)
			n++;
		assert_int_equal(n, 2);
	}
	/* "quiet" (no prove-every, nothing proven) has no freshness line */
	assert_null(strstr(strstr(doc, "Freshness:") + 1, "Freshness:"));
	free(doc);

	doc = render(t, REPORT_MARKDOWN);
	assert_non_null(strstr(doc, "Freshness: **last proven 2026-09-02 (97 days ago), prove every "
				    "90 days: STALE**."));
	assert_non_null(strstr(doc, "| 2 | 2026-09-02T00:00:00.000Z |"));
	assert_non_null(strstr(doc, " plan changed |\n| 3 |"));
	/* "quiet" (first: sorted by name): no prove-every, nothing proven, no freshness line */
	assert_true(strstr(doc, "## quiet") < strstr(doc, "Freshness:"));
	assert_null(strstr(strstr(doc, "Freshness:") + 1, "Freshness:"));
	free(doc);

	doc = render(t, REPORT_JSON);
	j = json_loads(doc, 0, NULL);
	assert_non_null(j);
	{
		json_t *rd = json_array_get(json_object_get(j, "series"), 1);
		json_t *f = json_object_get(rd, "freshness");
		json_t *drills = json_object_get(rd, "drills");
		json_t *quiet = json_object_get(json_array_get(json_object_get(j, "series"), 0),
						"freshness");

		assert_string_equal(json_string_value(json_object_get(f, "status")), "stale");
		assert_true(json_is_true(json_object_get(f, "fails")));
		assert_int_equal(json_integer_value(json_object_get(f, "days_since_proven")), 97);
		assert_int_equal(json_integer_value(json_object_get(f, "prove_every_ms")),
				 INT64_C(7776000000));
		assert_string_equal(json_string_value(json_object_get(f, "last_proven")),
				    "2026-09-02T00:00:00.000Z");
		assert_true(json_is_false(json_object_get(json_array_get(drills, 0), "scenario_changed")));
		assert_true(json_is_true(json_object_get(json_array_get(drills, 1), "scenario_changed")));
		assert_true(json_is_false(json_object_get(json_array_get(drills, 2), "scenario_changed")));
		assert_string_equal(json_string_value(json_object_get(quiet, "status")), "no period");
		assert_true(json_is_null(json_object_get(quiet, "prove_every_ms")));
	}
	json_decref(j);
	free(doc);
	report_trend_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days_between),
		cmocka_unit_test(test_boundary),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_never_proven),
		cmocka_unit_test(test_plan_changed),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_clock_skew),
		cmocka_unit_test(test_no_period),
		cmocka_unit_test(test_trend_series),
		cmocka_unit_test(test_trend_renderers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

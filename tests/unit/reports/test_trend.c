/*
 * Trend arithmetic and every renderer on a fixed, hand-made model: medians,
 * changes, regressions with the error bound, not-recovered handling, golden
 * substrings, and escaping of hostile strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

#define HOSTILE "<script>alert(\"x\")</script> 'q' a|b `c` \x1b[31m \xff\xfe end"

struct fixture {
	struct store_drill drills[3];
	struct store_iteration its[3][3];
	struct store_lap laps[3][2];
	struct report_drill_input in[3];
};

static void iteration(struct store_iteration *it, int n, enum store_outcome o, double rto_ms,
		      double rpo_ms, bool met)
{
	memset(it, 0, sizeof(*it));
	it->id = n;
	it->number = n;
	it->outcome = o;
	it->has_rto = o == STORE_OUTCOME_RECOVERED;
	it->rto_ms = it->has_rto ? rto_ms : 0;
	it->has_rpo = o == STORE_OUTCOME_RECOVERED;
	it->rpo_ms = rpo_ms;
	it->error_bound_ms = 500;
	it->objectives_met = met;
	it->writes_acked = 100;
	it->lost_writes = rpo_ms > 0 ? 3 : 0;
	it->t0_real_ns = INT64_C(1764126930) * 1000000000 + n;
	snprintf(it->detail, sizeof(it->detail), "%s", HOSTILE);
}

/*
 * Drill 1: RTO 7500000, 7200000, 7700000 ms-ish (2h05m median), missed.
 * Drill 2: recovered 40m, 41m, and one not recovered -> median 41m.
 * Drill 3: two not recovered of three -> median "not recovered", a regression.
 */
static struct fixture *make_fixture(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const double rto[3][3] = {
		{ 7500000, 7200000, 7700000 }, { 2400000, 2460000, 0 }, { 2000000, 0, 0 },
	};
	const enum store_outcome out[3][3] = {
		{ STORE_OUTCOME_RECOVERED, STORE_OUTCOME_RECOVERED, STORE_OUTCOME_RECOVERED },
		{ STORE_OUTCOME_RECOVERED, STORE_OUTCOME_RECOVERED, STORE_OUTCOME_NOT_RECOVERED },
		{ STORE_OUTCOME_RECOVERED, STORE_OUTCOME_NOT_RECOVERED, STORE_OUTCOME_NOT_RECOVERED },
	};

	for (int d = 0; d < 3; d++) {
		struct store_drill *dr = &f->drills[d];

		dr->id = d + 1;
		snprintf(dr->scenario_name, sizeof(dr->scenario_name), "region-outage");
		snprintf(dr->environment, sizeof(dr->environment), "staging");
		snprintf(dr->operator_name, sizeof(dr->operator_name), "%s", HOSTILE);
		dr->started_real_ns = (INT64_C(1764126930) + d * 86400) * 1000000000;
		dr->outcome = STORE_OUTCOME_RECOVERED;
		for (int i = 0; i < 3; i++)
			iteration(&f->its[d][i], i + 1, out[d][i], rto[d][i], d == 0 ? 30000 : 0,
				  d > 0 && out[d][i] == STORE_OUTCOME_RECOVERED);
		for (int k = 0; k < 2; k++) {
			struct store_lap *l = &f->laps[d][k];

			l->iteration_id = 1;
			l->step = k;
			snprintf(l->name, sizeof(l->name), k ? "Swap DNS" : "Restore <db>");
			l->duration_ms = (k ? 60000 : 600000) / (d + 1);
			l->ok = true;
		}
		f->in[d] = (struct report_drill_input){
			.drill = dr, .iterations = f->its[d], .n_iterations = 3,
			.laps = f->laps[d], .n_laps = 2,
			.objectives = { { true, 300000 }, { true, 10000 } },
		};
	}
	return f;
}

static int setup(void **state)
{
	*state = make_fixture();
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static struct report_trend *build(struct fixture *f, size_t n)
{
	struct report_trend *t = NULL;
	struct fd_error err = { 0 };

	/* Inputs in reverse order: the builder sorts oldest first. */
	struct report_drill_input rev[3];
	for (size_t i = 0; i < n; i++)
		rev[i] = f->in[n - 1 - i];
	assert_int_equal(report_trend_build(rev, n, &t, &err), 0);
	return t;
}

static char *render(const struct report_trend *t, enum report_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct fd_error err = { 0 };

	assert_non_null(out);
	assert_int_equal(report_trend_write(t, fmt, out, &err), 0);
	fclose(out);
	return buf;
}

static void test_medians_and_changes(void **state)
{
	struct report_trend *t = build(*state, 3);
	const struct report_series *s;

	assert_int_equal(t->n_series, 1);
	s = &t->series[0];
	assert_int_equal(s->n_drills, 3);
	assert_int_equal(s->drills[0].info.id, 1);
	assert_true(s->drills[0].sum.rto_median.has);
	assert_float_equal(s->drills[0].sum.rto_median.ms, 7500000, 1e-6);
	/* 2400000, 2460000, +inf: the median is the middle number. */
	assert_true(s->drills[1].sum.rto_median.has);
	assert_float_equal(s->drills[1].sum.rto_median.ms, 2460000, 1e-6);
	assert_float_equal(s->drills[1].rto_change_first_pct.ms, (2460000.0 - 7500000) / 7500000 * 100, 1e-9);
	assert_false(s->drills[1].rto_regression);
	/* Two of three not recovered: the median is not a number. */
	assert_false(s->drills[2].sum.rto_median.has);
	assert_true(s->drills[2].sum.rto_not_recovered);
	assert_false(s->drills[2].rto_change_prev_pct.has);
	assert_true(s->drills[2].rto_regression);
	assert_int_equal(s->drills[1].sum.n_recovered, 2);
	assert_float_equal(s->drills[1].sum.pass_rate, 2.0 / 3, 1e-9);
	assert_int_equal(s->n_met, 3);
	/* Laps: runbook order, medians per drill. */
	assert_int_equal(s->n_steps, 2);
	assert_string_equal(s->steps[0], "Restore <db>");
	assert_float_equal(s->drills[2].lap_medians[0].ms, 200000, 1e-6);
	report_trend_free(t);
}

static void test_regression_error_bound(void **state)
{
	struct fixture *f = *state;
	struct report_trend *t;

	/* Drill 2 worse than drill 1 by 400 ms, within the 500 ms bound: no regression. */
	for (int i = 0; i < 3; i++) {
		iteration(&f->its[0][i], i + 1, STORE_OUTCOME_RECOVERED, 10000, 0, true);
		iteration(&f->its[1][i], i + 1, STORE_OUTCOME_RECOVERED, 10400, 0, true);
	}
	t = build(f, 2);
	assert_false(t->series[0].drills[1].rto_regression);
	report_trend_free(t);
	/* By 600 ms: beyond the bound. */
	for (int i = 0; i < 3; i++)
		iteration(&f->its[1][i], i + 1, STORE_OUTCOME_RECOVERED, 10600, 0, true);
	t = build(f, 2);
	assert_true(t->series[0].drills[1].rto_regression);
	assert_float_equal(t->series[0].drills[1].rto_change_prev_pct.ms, 6.0, 1e-9);
	report_trend_free(t);
}

static void test_headline(void **state)
{
	struct report_trend *t = build(*state, 2);
	char line[256];

	report_trend_headline(&t->series[0], line, sizeof(line));
	assert_non_null(strstr(line, "RTO 2h05m -> 41m00s, -67% since first drill"));
	report_trend_free(t);
	t = build(*state, 3);
	report_trend_headline(&t->series[0], line, sizeof(line));
	assert_non_null(strstr(line, "RTO 2h05m -> not recovered"));
	report_trend_free(t);
}

static void test_series_grouping(void **state)
{
	struct fixture *f = *state;
	struct report_trend *t;

	snprintf(f->drills[1].environment, sizeof(f->drills[1].environment), "prod");
	t = build(f, 3);
	assert_int_equal(t->n_series, 2);
	assert_string_equal(t->series[0].environment, "prod");
	assert_int_equal(t->series[1].n_drills, 2);
	report_trend_free(t);
}

static void assert_no_raw_hostile(const char *doc)
{
	assert_null(strstr(doc, "<script>"));
	assert_null(strstr(doc, "\x1b"));
	assert_null(strstr(doc, "\xff"));
}

static void test_html(void **state)
{
	struct report_trend *t = build(*state, 3);
	char *doc = render(t, REPORT_HTML);

	assert_non_null(strstr(doc, "<!DOCTYPE html>"));
	assert_non_null(strstr(doc, "<svg"));
	assert_non_null(strstr(doc, "objective 5m00s"));
	assert_non_null(strstr(doc, "not recovered"));
	assert_non_null(strstr(doc, "RTO regression"));
	assert_non_null(strstr(doc, "Restore &lt;db&gt;"));
	assert_non_null(strstr(doc, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &#39;q&#39;"));
	assert_non_null(strstr(doc, "\\x1B[31m \\xFF\\xFE end"));
	assert_null(strstr(doc, "<script"));
	/* Nothing fetched: the only URL is the SVG namespace name. */
	for (const char *p = doc; (p = strstr(p, "http://")); p++)
		assert_int_equal(strncmp(p, "http://www.w3.org/2000/svg", 26), 0);
	assert_null(strstr(doc, "https://"));
	assert_null(strstr(doc, "@import"));
	assert_no_raw_hostile(doc);
	free(doc);
	report_trend_free(t);
}

static void test_markdown(void **state)
{
	struct report_trend *t = build(*state, 3);
	char *doc = render(t, REPORT_MARKDOWN);

	assert_non_null(strstr(doc, "# Drill trend report"));
	assert_non_null(strstr(doc, "| median RTO |"));
	assert_non_null(strstr(doc, "\\|b \\`c\\`"));
	assert_non_null(strstr(doc, "&lt;script&gt;"));
	assert_non_null(strstr(doc, "not recovered"));
	assert_no_raw_hostile(doc);
	free(doc);
	report_trend_free(t);
}

static void test_json(void **state)
{
	struct report_trend *t = build(*state, 3);
	char *doc = render(t, REPORT_JSON);
	json_error_t jerr;
	json_t *root = json_loads(doc, 0, &jerr), *d3;

	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "schema")), "firedrill-trend");
	assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
	d3 = json_array_get(json_object_get(json_array_get(json_object_get(root, "series"), 0), "drills"), 2);
	assert_true(json_is_null(json_object_get(d3, "rto_median_ms")));
	assert_true(json_is_true(json_object_get(d3, "rto_median_not_recovered")));
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(d3, "iterations"), 1), "rto_ms")));
	assert_string_equal(json_string_value(json_object_get(d3, "operator")),
			    "<script>alert(\"x\")</script> 'q' a|b `c` \\x1B[31m \\xFF\\xFE end");
	json_decref(root);
	free(doc);
	report_trend_free(t);
}

static void test_csv(void **state)
{
	struct report_trend *t = build(*state, 3);
	char *doc = render(t, REPORT_CSV);
	size_t rows = 0;

	for (const char *p = doc; (p = strstr(p, "\r\n")); p += 2)
		rows++;
	assert_int_equal(rows, 1 + 9);
	assert_non_null(strstr(doc, "scenario,environment,drill_id"));
	/* Quotes doubled, field quoted. */
	assert_non_null(strstr(doc, "\"<script>alert(\"\"x\"\")</script>"));
	/* A not-recovered iteration: empty rto_ms. */
	assert_non_null(strstr(doc, ",not-recovered,,,"));
	/* CSV is not markup: <script> stays text, but no control or invalid byte. */
	assert_null(strstr(doc, "\x1b"));
	assert_null(strstr(doc, "\xff"));
	free(doc);
	report_trend_free(t);
}

static void test_csv_formula(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	struct fixture *f = *state;
	struct report_trend *t;

	snprintf(f->drills[0].operator_name, sizeof(f->drills[0].operator_name), "=cmd|' /C calc'!A0");
	t = build(f, 1);
	free(buf);
	buf = render(t, REPORT_CSV);
	assert_non_null(strstr(buf, "\"'=cmd|' /C calc'!A0\""));
	(void)len;
	free(buf);
	report_trend_free(t);
}

static void test_junit(void **state)
{
	struct report_trend *t = build(*state, 3);
	char *doc = render(t, REPORT_JUNIT);

	assert_non_null(strstr(doc, "<testsuites name=\"firedrill"));
	assert_non_null(strstr(doc, "tests=\"9\" failures=\"6\" errors=\"0\""));
	assert_non_null(strstr(doc, "<testcase name=\"drill 2 iteration 1\" classname=\"firedrill.region-outage.staging\" time=\"2400.000\"/>"));
	assert_non_null(strstr(doc, "<failure type=\"not-recovered\""));
	assert_non_null(strstr(doc, "<failure type=\"objectives-missed\" message=\"objectives missed: RTO 2h05m"));
	assert_non_null(strstr(doc, "&lt;script&gt;"));
	assert_no_raw_hostile(doc);
	free(doc);
	report_trend_free(t);
}

/*
 * Objectives come from the drill row: recorded ones exactly, and a drill
 * recorded before the store kept them (objectives_recorded false) has them
 * "unknown" in every format, never "none".
 */
static void test_objectives_from_drill_row(void **state)
{
	struct fixture *f = *state;
	struct store_drill *dr = &f->drills[1];
	struct report_trend *t;
	json_t *root, *obj;
	char *doc;

	dr->objectives_recorded = true;
	dr->has_rto_objective = true;
	dr->rto_objective_ns = INT64_C(90) * 1000000000;
	snprintf(dr->recovery_criterion, sizeof(dr->recovery_criterion), "all of [api] stable 1.0 s within 1m00s");
	report_objectives_of(dr, &f->in[1].objectives);
	assert_false(f->in[1].objectives.unknown);
	assert_true(f->in[1].objectives.rto.has);
	assert_float_equal(f->in[1].objectives.rto.ms, 90000, 1e-9);
	assert_false(f->in[1].objectives.rpo.has);
	report_objectives_of(&f->drills[0], &f->in[0].objectives); /* never recorded */
	assert_true(f->in[0].objectives.unknown);
	assert_false(f->in[0].objectives.rto.has);
	t = build(f, 3);
	doc = render(t, REPORT_JSON);
	root = json_loads(doc, 0, NULL);
	assert_non_null(root);
	obj = json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(root, "series"), 0),
							   "drills"), 0), "objectives");
	assert_true(json_is_false(json_object_get(obj, "known")));
	assert_true(json_is_null(json_object_get(obj, "rto_ms")));
	obj = json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(root, "series"), 0),
							   "drills"), 1), "objectives");
	assert_true(json_is_true(json_object_get(obj, "known")));
	assert_float_equal(json_real_value(json_object_get(obj, "rto_ms")), 90000, 1e-9);
	assert_string_equal(json_string_value(json_object_get(obj, "recovery_criterion")),
			    "all of [api] stable 1.0 s within 1m00s");
	json_decref(root);
	free(doc);
	doc = render(t, REPORT_JUNIT);
	/* drill 1 recovered without meeting its objectives: the message says they are unknown */
	assert_non_null(strstr(doc, "(objective unknown), RPO"));
	free(doc);
	report_trend_free(t);
}

/* Prometheus text: one sample per family and series, base units, escaped labels. */
static void test_metrics(void **state)
{
	struct fixture *f = *state;
	struct report_trend *t;
	char *doc;

	for (int d = 0; d < 3; d++)
		snprintf(f->drills[d].environment, sizeof(f->drills[d].environment),
			 "st\"ag\\e\nx\x1b");
	t = build(f, 3);
	doc = render(t, REPORT_METRICS);
	/* the label value: quote, backslash and newline escaped, the ESC byte made visible */
	assert_non_null(strstr(doc, "firedrill_rto_objective_seconds{scenario=\"region-outage\","
				    "environment=\"st\\\"ag\\\\e\\nx\\\\x1B\"} 300\n"));
	/* the last drill's median is "not recovered": no RTO sample, recovered 0 */
	assert_null(strstr(doc, "firedrill_last_rto_seconds{"));
	assert_non_null(strstr(doc, "firedrill_last_recovered{scenario=\"region-outage\""));
	assert_non_null(strstr(doc, "\"} 0\n# HELP firedrill_last_rto_error_bound_seconds"));
	assert_non_null(strstr(doc, "firedrill_rpo_objective_seconds{scenario=\"region-outage\","));
	assert_non_null(strstr(doc, "firedrill_drills{scenario=\"region-outage\","));
	assert_non_null(strstr(doc, "\"} 3\n# HELP firedrill_pass_rate"));
	assert_non_null(strstr(doc, "firedrill_scenarios 1\n"));
	assert_non_null(strstr(doc, "# TYPE firedrill_plan_stale gauge\n"));
	/* bounded labels: no drill ids, operators or times */
	assert_null(strstr(doc, "drill_id"));
	assert_null(strstr(doc, "operator"));
	assert_no_raw_hostile(doc);
	assert_null(strstr(doc, "\x1b"));
	free(doc);
	report_trend_free(t);
}

static void test_formats_and_times(void **state)
{
	enum report_format f;
	int64_t ns;

	(void)state;
	assert_int_equal(report_format_from_path("/tmp/x.report.md", &f), 0);
	assert_int_equal(f, REPORT_MARKDOWN);
	assert_int_equal(report_format_from_path("out.xml", &f), 0);
	assert_int_equal(f, REPORT_JUNIT);
	assert_int_not_equal(report_format_from_path("out.d/report", &f), 0);
	assert_int_equal(report_parse_time("2025-11-26", &ns), 0);
	assert_true(ns == INT64_C(1764115200) * 1000000000);
	assert_int_equal(report_parse_time("2025-11-26T01:00:00+01:00", &ns), 0);
	assert_true(ns == INT64_C(1764115200) * 1000000000);
	assert_int_equal(report_parse_time("2025-11-26T00:00:00.5Z", &ns), 0);
	assert_true(ns == INT64_C(1764115200) * 1000000000 + 500000000);
	assert_int_not_equal(report_parse_time("yesterday", &ns), 0);
}

static void test_empty(void **state)
{
	struct report_trend *t = NULL;
	struct fd_error err = { 0 };
	enum report_format fmts[] = { REPORT_HTML, REPORT_MARKDOWN, REPORT_JSON, REPORT_CSV, REPORT_JUNIT };

	(void)state;
	assert_int_equal(report_trend_build(NULL, 0, &t, &err), 0);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		free(render(t, fmts[i]));
	report_trend_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_medians_and_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regression_error_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_headline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_grouping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_html, setup, teardown),
		cmocka_unit_test_setup_teardown(test_markdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv_formula, setup, teardown),
		cmocka_unit_test_setup_teardown(test_junit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_objectives_from_drill_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test(test_formats_and_times),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Evidence renderers on a hand-made model: every section an auditor needs,
 * the verdict, and hostile strings from scenarios and probes escaped.
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

#define HOSTILE "<script>alert('x')</script>\"|`\x01\x1b\xc0\xaf"

static struct report_evidence *make(bool recovered)
{
	struct report_evidence *ev = calloc(1, sizeof(*ev));

	ev->drill.id = 42;
	snprintf(ev->drill.scenario_name, sizeof(ev->drill.scenario_name), "s3-outage");
	snprintf(ev->drill.environment, sizeof(ev->drill.environment), "staging");
	snprintf(ev->drill.operator_name, sizeof(ev->drill.operator_name), "alice");
	snprintf(ev->drill.host, sizeof(ev->drill.host), "drill-host-1");
	snprintf(ev->drill.tool_version, sizeof(ev->drill.tool_version), "0.1.0");
	snprintf(ev->drill.note, sizeof(ev->drill.note), "%s", HOSTILE);
	snprintf(ev->drill.hash, sizeof(ev->drill.hash), "%064d", 7);
	ev->drill.started_real_ns = INT64_C(1764126930123) * 1000000;
	ev->drill.ended_real_ns = ev->drill.started_real_ns + INT64_C(300) * 1000000000;
	ev->drill.outcome = recovered ? STORE_OUTCOME_RECOVERED : STORE_OUTCOME_NOT_RECOVERED;
	ev->drill.objectives_met = recovered;
	ev->objectives.rto = (struct report_value){ true, 300000 };
	ev->objectives.rpo = (struct report_value){ true, 30000 };
	ev->scenario_text = strdup("name: s3-outage\ndescription: \"" HOSTILE "\"\n```\n");
	snprintf(ev->scenario_sha256, sizeof(ev->scenario_sha256), "%064d", 1);
	ev->generated_real_ns = ev->drill.ended_real_ns;
	snprintf(ev->tool_version, sizeof(ev->tool_version), "0.1.0");

	ev->n_iterations = 1;
	ev->iterations = calloc(1, sizeof(*ev->iterations));
	struct store_iteration *it = &ev->iterations[0].it;
	it->id = 3; /* row id != number: reports label iterations by number */
	it->number = 1;
	it->outcome = ev->drill.outcome;
	it->has_rto = recovered;
	it->rto_ms = 41200;
	it->has_rpo = recovered;
	it->rpo_ms = 0;
	it->writes_acked = 120;
	it->error_bound_ms = 100;
	it->has_rto_bounds = recovered;
	it->rto_early_ms = 20;
	it->rto_late_ms = 100;
	it->objectives_met = recovered;
	snprintf(it->detail, sizeof(it->detail), "%s", HOSTILE);

	ev->iterations[0].n_laps = 1;
	ev->iterations[0].laps = calloc(1, sizeof(struct store_lap));
	snprintf(ev->iterations[0].laps[0].name, 256, "Swap | DNS <now>");
	ev->iterations[0].laps[0].duration_ms = 850;
	ev->iterations[0].laps[0].ok = true;
	ev->iterations[0].n_probes = 1;
	ev->iterations[0].probes = calloc(1, sizeof(struct store_probe_stats));
	snprintf(ev->iterations[0].probes[0].probe, 64, "api");
	ev->iterations[0].probes[0].samples = 400;
	ev->iterations[0].probes[0].ok = 380;
	ev->iterations[0].probes[0].latency_p50_ms = 12;

	ev->n_events = 3;
	ev->events = calloc(3, sizeof(*ev->events));
	snprintf(ev->events[0].kind, 32, "fault-applied");
	snprintf(ev->events[0].subject, 128, "s3");
	snprintf(ev->events[0].detail, 1024, "drop 52.216.0.0/15 %s", HOSTILE);
	ev->events[0].real_ns = ev->drill.started_real_ns;
	snprintf(ev->events[1].kind, 32, "probe-up");
	snprintf(ev->events[1].subject, 128, "api");
	ev->events[1].real_ns = ev->drill.started_real_ns + 41200000000;
	ev->events[1].mono_ns = 41200000000;
	ev->events[2].iteration_id = 3;
	snprintf(ev->events[2].kind, 32, "evidence");
	snprintf(ev->events[2].subject, 128, "s3-answers");
	snprintf(ev->events[2].detail, 1024, "%s",
		 recovered ? "held: no packet matched 'src net 52.216.0.0/15' on eth0 from T0 to "
			     "revert (50 s); 12 matched before T0"
			   : "NOT HELD: 3 packets matched 'src net 52.216.0.0/15' on eth0");
	ev->events[2].real_ns = ev->drill.started_real_ns + 50000000000;
	ev->events[2].mono_ns = 50000000000;
	return ev;
}

static char *render(const struct report_evidence *ev, enum report_format fmt, int want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct fd_error err = { 0 };

	assert_int_equal(report_evidence_write(ev, fmt, out, &err), want);
	fclose(out);
	return buf;
}

static void assert_clean(const char *doc)
{
	assert_null(strstr(doc, "<script>"));
	assert_null(strstr(doc, "\x01"));
	assert_null(strstr(doc, "\x1b"));
	assert_null(strstr(doc, "\xc0"));
}

static void test_verdict(void **state)
{
	struct report_evidence *ev = make(true);
	char v[512];

	(void)state;
	report_evidence_verdict(ev, v, sizeof(v));
	assert_string_equal(v, "PASS: 1/1 iterations met objectives, 1/1 recovered; median RTO 41.2 s "
			       "(objective 5m00s, error bound 100 ms), median RPO 0 s (objective 30.0 s), "
			       "0 acknowledged writes lost");
	report_evidence_free(ev);
	ev = make(false);
	report_evidence_verdict(ev, v, sizeof(v));
	assert_non_null(strstr(v, "FAIL: 0/1 iterations met objectives, 0/1 recovered; median RTO not recovered"));
	report_evidence_free(ev);
}

static void test_html(void **state)
{
	struct report_evidence *ev = make(true);
	char *doc = render(ev, REPORT_HTML, 0);

	(void)state;
	assert_non_null(strstr(doc, "<h1>Disaster-recovery exercise evidence: s3-outage</h1>"));
	assert_non_null(strstr(doc, "<td>alice</td>"));
	assert_non_null(strstr(doc, "<td>drill-host-1</td>"));
	assert_non_null(strstr(doc, "2025-11-26T03:15:30.123Z"));
	assert_non_null(strstr(doc, "class=\"verdict pass\">PASS"));
	assert_non_null(strstr(doc, "41.2 s"));
	assert_non_null(strstr(doc, "<td class=\"n\">41.2 s (-100/+20 ms)</td>")); /* both sides */
	assert_non_null(strstr(doc, "Swap | DNS &lt;now&gt;"));
	assert_non_null(strstr(doc, "fault-applied"));
	assert_non_null(strstr(doc, "<h2>Fault evidence</h2>"));
	assert_non_null(strstr(doc, "<tr><td class=\"n\">1</td><td>s3-answers</td><td class=\"good\">yes</td>"));
	assert_null(strstr(doc, "<td class=\"n\">3</td>")); /* the row id is never a label */
	assert_non_null(strstr(doc, "<td class=\"n\">drill</td><td>fault-applied</td>"));
	assert_non_null(strstr(doc, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;|`\\x01\\x1B\\xC0\\xAF"));
	assert_non_null(strstr(doc, "DOES NOT match"));
	assert_clean(doc);
	free(doc);
	report_evidence_free(ev);
}

static void test_markdown(void **state)
{
	struct report_evidence *ev = make(false);
	char *doc = render(ev, REPORT_MARKDOWN, 0);

	(void)state;
	assert_non_null(strstr(doc, "**Verdict:** FAIL"));
	assert_non_null(strstr(doc, "Swap \\| DNS &lt;now&gt;"));
	assert_non_null(strstr(doc, "| not recovered |"));
	assert_non_null(strstr(doc, "## Fault evidence"));
	assert_non_null(strstr(doc, "| 1 | s3-answers | **NO** | NOT HELD: 3 packets"));
	assert_null(strstr(doc, "| 3 | s3-answers"));
	assert_non_null(strstr(doc, "| 1 | evidence | s3-answers |")); /* timeline */
	/* The scenario's own ``` cannot close the fence around it. */
	assert_non_null(strstr(doc, "````yaml\nname: s3-outage"));
	/* Inside the code fence markup is inert text; everywhere before it, escaped. */
	*strstr(doc, "````yaml") = '\0';
	assert_clean(doc);
	free(doc);
	report_evidence_free(ev);
}

static void test_json(void **state)
{
	struct report_evidence *ev = make(false);
	char *doc = render(ev, REPORT_JSON, 0);
	json_t *root = json_loads(doc, 0, NULL), *it;

	(void)state;
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "schema")), "firedrill-evidence");
	assert_true(json_is_null(json_object_get(json_object_get(root, "measured"), "rto_median_ms")));
	it = json_array_get(json_object_get(root, "iterations"), 0);
	assert_true(json_is_null(json_object_get(it, "rto_ms")));
	assert_true(json_is_null(json_object_get(it, "rto_early_ms"))); /* no RTO, no bound */
	assert_true(json_is_null(json_object_get(it, "rto_late_ms")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "drill"), "operator")), "alice");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(root, "scenario"), "text")),
			       "\\x01\\x1B\\xC0\\xAF"));
	assert_int_equal(json_array_size(json_object_get(root, "events")), 3);
	it = json_array_get(json_object_get(root, "fault_evidence"), 0);
	assert_string_equal(json_string_value(json_object_get(it, "probe")), "s3-answers");
	assert_true(json_is_false(json_object_get(it, "held")));
	assert_int_equal(json_integer_value(json_object_get(it, "iteration")), 1);
	it = json_array_get(json_object_get(root, "events"), 2);
	assert_int_equal(json_integer_value(json_object_get(it, "iteration")), 1);
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(root, "events"), 0),
						 "iteration")));
	json_decref(root);
	free(doc);
	report_evidence_free(ev);
}

/* A recovered iteration: its RTO with both sides, in Markdown and JSON. */
static void test_rto_bounds(void **state)
{
	struct report_evidence *ev = make(true);
	char *md = render(ev, REPORT_MARKDOWN, 0), *doc = render(ev, REPORT_JSON, 0);
	json_t *root = json_loads(doc, 0, NULL), *it;

	(void)state;
	assert_non_null(strstr(md, "| 41.2 s (-100/+20 ms) |"));
	assert_non_null(root);
	it = json_array_get(json_object_get(root, "iterations"), 0);
	assert_true(json_real_value(json_object_get(it, "rto_early_ms")) == 20);
	assert_true(json_real_value(json_object_get(it, "rto_late_ms")) == 100);
	json_decref(root);
	free(doc);
	free(md);
	report_evidence_free(ev);
}

/* Blackholed flows: who sent them (a process name is anyone's to choose:
 * escaped), or why that is unknown, in HTML, Markdown and JSON. */
static void test_flows(void **state)
{
	struct report_evidence *ev = make(true);
	struct store_flow *f = calloc(2, sizeof(*f));
	char *html, *md, *doc;
	json_t *root, *a;

	(void)state;
	ev->flows = f;
	ev->n_flows = 2;
	for (int i = 0; i < 2; i++) {
		f[i].iteration = 1;
		snprintf(f[i].fault_id, sizeof(f[i].fault_id), "s3");
		snprintf(f[i].flow, sizeof(f[i].flow), "tcp 10.0.0.1 -> 52.216.0.%d:443", i + 1);
		f[i].dport = 443;
		f[i].packets = 5;
	}
	f[0].has_first_seen = true;
	f[0].first_seen_ms = 54;
	f[0].owner = (struct fd_flow_owner){ .pid = 77, .holders = 1, .has_uid = true, .uid = 1000 };
	snprintf(f[0].owner.comm, sizeof(f[0].owner.comm), "<b>x</b>|\x1b");
	snprintf(f[0].owner.container_name, sizeof(f[0].owner.container_name), "registry");
	snprintf(f[1].owner.why, sizeof(f[1].owner.why), "forwarded traffic (not originated here)");
	html = render(ev, REPORT_HTML, 0);
	md = render(ev, REPORT_MARKDOWN, 0);
	doc = render(ev, REPORT_JSON, 0);
	assert_non_null(strstr(html, "<h2>Blackholed flows (hidden dependencies)</h2>"));
	assert_non_null(strstr(html, "<td>pid 77 (&lt;b&gt;x&lt;/b&gt;|\\x1B, uid 1000, container registry)</td>"));
	assert_non_null(strstr(html, "<td>unknown: forwarded traffic (not originated here)</td>"));
	assert_non_null(strstr(html, "<td>T0+54 ms</td>"));
	assert_non_null(strstr(md, "| 1 | tcp 10.0.0.1 -&gt; 52.216.0.2:443 | s3 | 5 | - | unknown: forwarded traffic (not originated here) |"));
	assert_non_null(strstr(md, "pid 77 (&lt;b&gt;x&lt;/b&gt;\\|\\\\x1B, uid 1000, container registry)"));
	root = json_loads(doc, 0, NULL);
	assert_non_null(root);
	a = json_object_get(root, "blackholed_flows");
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(a, 0), "sender"), "pid")), 77);
	assert_true(json_is_null(json_object_get(json_object_get(json_array_get(a, 1), "sender"), "pid")));
	assert_true(json_is_null(json_object_get(json_object_get(json_array_get(a, 1), "sender"), "uid")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(a, 1), "sender"),
							      "unknown")),
			    "forwarded traffic (not originated here)");
	json_decref(root);
	free(doc);
	free(md);
	free(html);
	report_evidence_free(ev);
}

static char *render_pdf(const struct report_evidence *ev, enum report_paper paper, size_t *len)
{
	struct report_options opt = { .paper = paper };
	struct fd_error err = { 0 };
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	assert_int_equal(report_evidence_write_opts(ev, REPORT_PDF, &opt, out, &err), 0);
	fclose(out);
	assert_true(*len > 1000);
	assert_memory_equal(buf, "%PDF-", 5);
	return buf;
}

/*
 * PDF bytes depend on the model only: two renders are identical, a later
 * generated time changes them, the paper sets the MediaBox, and the drill's
 * row hash is in the clear (Keywords) for verify --seal.
 */
static void test_pdf(void **state)
{
	struct report_evidence *ev = make(true);
	size_t n1 = 0, n2 = 0, n3 = 0, n4 = 0;
	char *a = render_pdf(ev, REPORT_PAPER_A4, &n1), *b = render_pdf(ev, REPORT_PAPER_A4, &n2);
	char *letter = render_pdf(ev, REPORT_PAPER_LETTER, &n3), *later;

	(void)state;
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	assert_non_null(memmem(a, n1, "/MediaBox [ 0 0 595.276 841.89 ]", 32));
	assert_non_null(memmem(letter, n3, "/MediaBox [ 0 0 612 792 ]", 25));
	assert_non_null(memmem(a, n1, ev->drill.hash, 64));
	assert_non_null(memmem(a, n1, "/CreationDate (20251126032030Z)", 31));
	ev->generated_real_ns += INT64_C(1000000000);
	later = render_pdf(ev, REPORT_PAPER_A4, &n4);
	assert_true(n4 != n1 || memcmp(a, later, n1) != 0);
	assert_non_null(memmem(later, n4, "/CreationDate (20251126032031Z)", 31));
	free(later);
	free(letter);
	free(b);
	free(a);
	report_evidence_free(ev);
}

/* A trend has no PDF: a clear input error, not "unknown format". */
static void test_pdf_trend(void **state)
{
	struct report_trend *t = NULL;
	struct fd_error err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(report_trend_build(NULL, 0, &t, &err), 0);
	assert_int_equal(report_trend_write(t, REPORT_PDF, out, &err), -22);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	assert_non_null(strstr(err.msg, "pdf is for evidence reports"));
	fclose(out);
	free(buf);
	report_trend_free(t);
}

static void test_bad_format(void **state)
{
	struct report_evidence *ev = make(true);

	(void)state;
	free(render(ev, REPORT_CSV, -22));
	report_evidence_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_rto_bounds),
		cmocka_unit_test(test_flows),
		cmocka_unit_test(test_bad_format),
		cmocka_unit_test(test_pdf),
		cmocka_unit_test(test_pdf_trend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

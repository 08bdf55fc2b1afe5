/*
 * The control mapping (reports/controls.c, docs/controls.md) on hand-made
 * evidence models: each check's "shows" and "missing" words, the month
 * arithmetic of the frequency check, and the mapping file's errors (an
 * unknown control id, an unknown check, a malformed requirement). Each
 * check is judged alone through a one-control mapping file written here, so
 * the tests go through the same public call as `report evidence --controls`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define SEC INT64_C(1000000000)

static int64_t at(int y, int mon, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = 10 };

	return (int64_t)timegm(&tm) * SEC;
}

/* A drill that shows everything: scope, objectives met, a participant, a
 * timeline, data checked, a lesson, a good sign-off, a previous drill 11
 * months before. Each test takes something away. */
static struct report_evidence *make(void)
{
	struct report_evidence *ev = calloc(1, sizeof(*ev));
	struct store_iteration *it;

	ev->drill.id = 9;
	snprintf(ev->drill.scenario_name, sizeof(ev->drill.scenario_name), "region-a-down");
	snprintf(ev->drill.environment, sizeof(ev->drill.environment), "staging");
	snprintf(ev->drill.description, sizeof(ev->drill.description), "region A loses its network");
	snprintf(ev->drill.scope_rationale, sizeof(ev->drill.scope_rationale), "the largest single risk");
	ev->drill.started_real_ns = at(2026, 3, 15);
	ev->drill.ended_real_ns = ev->drill.started_real_ns + 300 * SEC;
	ev->drill.outcome = STORE_OUTCOME_RECOVERED;
	ev->drill.objectives_met = true;
	ev->objectives.rto = (struct report_value){ true, 300000 };
	ev->objectives.rpo = (struct report_value){ true, 30000 };
	snprintf(ev->objectives.criterion, sizeof(ev->objectives.criterion), "web stable 2.0 s");
	ev->generated_real_ns = ev->drill.ended_real_ns;

	ev->n_iterations = 1;
	ev->iterations = calloc(1, sizeof(*ev->iterations));
	it = &ev->iterations[0].it;
	it->id = 4;
	it->number = 1;
	it->outcome = STORE_OUTCOME_RECOVERED;
	it->has_rto = true;
	it->rto_ms = 41200;
	it->has_rpo = true;
	it->objectives_met = true;
	it->writes_acked = 120;
	it->has_failback = true;
	it->failback_ms = 9000;

	ev->n_events = 2;
	ev->events = calloc(2, sizeof(*ev->events));
	snprintf(ev->events[0].kind, sizeof(ev->events[0].kind), "fault-applied");
	ev->events[0].real_ns = ev->drill.started_real_ns;
	snprintf(ev->events[1].kind, sizeof(ev->events[1].kind), "probe-up");
	ev->events[1].real_ns = ev->drill.started_real_ns + 41 * SEC;

	ev->participants = calloc(4, sizeof(*ev->participants));
	ev->n_participants = 1;
	snprintf(ev->participants[0].role, sizeof(ev->participants[0].role), "incident-commander");
	snprintf(ev->participants[0].name, sizeof(ev->participants[0].name), "alice");

	ev->findings = calloc(4, sizeof(*ev->findings));
	ev->notes = calloc(1, sizeof(*ev->notes));
	ev->n_notes = 1;
	snprintf(ev->notes[0].text, sizeof(ev->notes[0].text), "DNS TTLs were longer than we thought");
	ev->actions = calloc(4, sizeof(*ev->actions));
	ev->retested = calloc(1, sizeof(*ev->retested));
	ev->signoffs = calloc(2, sizeof(*ev->signoffs));
	ev->n_signoffs = 1;
	ev->signoffs[0].ok = true;
	snprintf(ev->signoffs[0].rec.author, sizeof(ev->signoffs[0].rec.author), "carol");
	snprintf(ev->signoffs[0].rec.author_role, sizeof(ev->signoffs[0].rec.author_role), "approver");
	ev->signoffs[0].rec.created_real_ns = at(2026, 3, 16);
	ev->deviations = calloc(2, sizeof(*ev->deviations));
	ev->integrity = calloc(1, sizeof(*ev->integrity));
	ev->integrity[0] = (struct report_integrity){ .iteration = 1, .measured = true, .has_rpo = true,
						     .writes_acked = 120 };
	ev->previous_drill_id = 5;
	ev->previous_started_real_ns = at(2025, 4, 20);
	return ev;
}

static char mapping[64];

/* A mapping of one control "t" whose requires list is reqs (JSON). */
static const char *write_mapping(const char *reqs)
{
	int fd;
	FILE *f;

	snprintf(mapping, sizeof(mapping), "/tmp/fd-controls-XXXXXX");
	fd = mkstemp(mapping);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "{\"version\": 1, \"controls\": [{\"id\": \"t\", \"name\": \"T\", "
		   "\"text\": \"a test control\", \"requires\": [%s]}]}\n", reqs);
	fclose(f);
	return mapping;
}

/* What check spec (a JSON requirement) says of ev. */
static const struct report_control *judge(struct report_evidence *ev, const char *spec)
{
	struct fd_error err = { 0 };
	int rc = report_evidence_controls(ev, "t", write_mapping(spec), &err);

	unlink(mapping);
	if (rc)
		fail_msg("%s", err.msg);
	assert_int_equal(ev->n_controls, 1);
	return &ev->controls[0];
}

#define assert_has(hay, needle)                                                               \
	do {                                                                                   \
		if (!strstr((hay), (needle)))                                                  \
			fail_msg("\"%s\" not in \"%s\"", (needle), (hay));                     \
	} while (0)

static void test_participants(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c = judge(ev, "\"participants\"");

	(void)state;
	assert_string_equal(c->shows, "participants: incident-commander alice");
	assert_string_equal(c->missing, "");

	ev->n_participants = 2; /* the scenario's team: expects a scribe nobody filled */
	snprintf(ev->participants[1].role, sizeof(ev->participants[1].role), "scribe");
	c = judge(ev, "\"participants\"");
	assert_string_equal(c->missing, "expected role scribe not filled");

	ev->n_participants = 0;
	c = judge(ev, "\"participants\"");
	assert_string_equal(c->missing, "no participants recorded");
	assert_string_equal(c->shows, "");
	report_evidence_free(ev);
}

static void test_actions(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c;
	struct report_action *a = &ev->actions[0];

	(void)state;
	c = judge(ev, "\"actions\"");
	assert_string_equal(c->shows, "no critical or high finding needed an action");
	assert_string_equal(c->missing, "");

	ev->n_findings = 2;
	ev->findings[0] = (struct store_record){ .id = 3, .kind = STORE_RECORD_FINDING };
	snprintf(ev->findings[0].severity, sizeof(ev->findings[0].severity), "high");
	ev->findings[1] = (struct store_record){ .id = 4, .kind = STORE_RECORD_FINDING };
	snprintf(ev->findings[1].severity, sizeof(ev->findings[1].severity), "low");
	c = judge(ev, "\"actions\"");
	assert_string_equal(c->missing, "finding 3 (high) has no remediation action");

	/* an action that names no finding does not cover it, and is pointed out */
	ev->n_actions = 1;
	a->action.id = 7;
	snprintf(a->action.owner, sizeof(a->action.owner), "bob");
	snprintf(a->action.due, sizeof(a->action.due), "2026-04-01");
	snprintf(a->action.text, sizeof(a->action.text), "shorten the DNS TTL");
	c = judge(ev, "\"actions\"");
	assert_has(c->missing, "finding 3 (high) has no remediation action");
	assert_has(c->missing, "1 action names no finding");

	a->action.finding_id = 3; /* firedrill action DRILL --finding 3 */
	c = judge(ev, "\"actions\"");
	assert_string_equal(c->missing, "");
	assert_string_equal(c->shows, "1 action filed (0 closed, 1 open); "
				      "every critical or high finding has an action");

	/* an action of another finding does not cover it */
	a->action.finding_id = 4;
	c = judge(ev, "\"actions\"");
	assert_has(c->missing, "finding 3 (high) has no remediation action");

	a->action.finding_id = 3;
	a->past_due = true;
	a->days_overdue = 12;
	c = judge(ev, "\"actions\"");
	assert_string_equal(c->missing, "action 7 (bob) is 12 days past its due date 2026-04-01");

	a->past_due = false;
	a->action.due[0] = '\0';
	c = judge(ev, "\"actions\"");
	assert_string_equal(c->missing, "action 7 has no due date");
	report_evidence_free(ev);
}

static void test_signoff(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c = judge(ev, "\"signoff\"");

	(void)state;
	assert_string_equal(c->shows, "signed off by carol (approver) on 2026-03-16");
	assert_string_equal(c->missing, "");

	ev->signoffs[0].ok = false;
	snprintf(ev->signoffs[0].what, sizeof(ev->signoffs[0].what), "the drill changed after signing");
	c = judge(ev, "\"signoff\"");
	assert_string_equal(c->shows, "");
	assert_string_equal(c->missing, "the sign-off by carol does not verify: the drill changed "
					"after signing; no valid sign-off");

	ev->n_signoffs = 0;
	c = judge(ev, "\"signoff\"");
	assert_string_equal(c->missing, "no sign-off");
	report_evidence_free(ev);
}

static const char freq[] = "{\"check\": \"frequency\", \"max_age_days\": 365}";

static void test_frequency(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c = judge(ev, freq);

	(void)state;
	/* 2025-04-20 -> 2026-03-15: 10 whole months (the 15th is before the 20th) */
	assert_string_equal(c->shows, "annual frequency: the previous exercise of this scenario was "
				      "10 months before this one (drill 5 on 2025-04-20, within 365 days)");
	assert_string_equal(c->missing, "");

	ev->previous_started_real_ns = at(2025, 1, 10); /* 14 months and 5 days */
	c = judge(ev, freq);
	assert_string_equal(c->shows, "");
	assert_string_equal(c->missing, "annual frequency: the previous exercise of this scenario was "
					"14 months ago (drill 5 on 2025-01-10: 429 days, more than 365)");

	ev->previous_drill_id = 0;
	ev->previous_started_real_ns = 0;
	c = judge(ev, freq);
	assert_string_equal(c->missing, "annual frequency: no previous exercise of this scenario in "
					"staging on record");
	report_evidence_free(ev);
}

/* Whole months by the calendar: a day of the month not yet reached does not count. */
static void test_frequency_months(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c;

	(void)state;
	ev->drill.started_real_ns = at(2025, 2, 28);
	ev->previous_started_real_ns = at(2025, 1, 31);
	c = judge(ev, "{\"check\": \"frequency\", \"max_age_days\": 30}");
	assert_has(c->shows, "monthly frequency: the previous exercise of this scenario was 28 days "
			     "before this one");

	ev->drill.started_real_ns = at(2025, 3, 1);
	c = judge(ev, "{\"check\": \"frequency\", \"max_age_days\": 30}");
	assert_has(c->shows, "was 1 month before this one");

	ev->drill.started_real_ns = at(2026, 1, 31); /* 12 months, but 365 days is not over */
	c = judge(ev, freq);
	assert_has(c->shows, "was 12 months before this one (drill 5 on 2025-01-31, within 365 days)");

	ev->drill.started_real_ns = at(2026, 2, 1);
	c = judge(ev, "{\"check\": \"frequency\", \"max_age_days\": 100}");
	assert_has(c->missing, "100-day frequency: the previous exercise of this scenario was 12 months "
			       "ago (drill 5 on 2025-01-31: 366 days, more than 100)");
	report_evidence_free(ev);
}

static void test_scope_objectives(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c = judge(ev, "\"scope\", \"objectives\"");

	(void)state;
	assert_string_equal(c->shows, "scenario region-a-down in environment staging; "
				      "scope stated (see Scope); why this scope stated (see Scope); "
				      "RTO objective 5m00s; RPO objective 30.0 s; "
				      "recovery criterion: web stable 2.0 s");
	assert_string_equal(c->missing, "");

	ev->drill.scope_rationale[0] = '\0';
	ev->objectives.rpo.has = false;
	c = judge(ev, "\"scope\", \"objectives\"");
	assert_string_equal(c->missing, "no scope rationale recorded (the scenario's scope-rationale:); "
					"no RPO objective set");
	ev->objectives.unknown = true;
	c = judge(ev, "\"objectives\"");
	assert_has(c->missing, "objectives unknown");
	report_evidence_free(ev);
}

static void test_measured_recovery(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c = judge(ev, "\"measured\", \"recovery\"");
	struct store_iteration *it = &ev->iterations[0].it;

	(void)state;
	assert_string_equal(c->shows, "1 of 1 iterations measured RTO against the objectives: 1 met, "
				      "0 missed; median RTO 41.2 s, median RPO 0 s; recovered within "
				      "the objectives in 1 of 1 iterations");
	assert_string_equal(c->missing, "");

	it->rto_ms = 400000;
	it->objectives_met = false;
	c = judge(ev, "\"recovery\"");
	assert_string_equal(c->missing, "iteration 1 recovered in 6m40s, over the RTO objective 5m00s");

	it->has_rto = false;
	it->outcome = STORE_OUTCOME_NOT_RECOVERED;
	c = judge(ev, "\"recovery\"");
	assert_string_equal(c->missing, "iteration 1 did not recover");

	it->outcome = STORE_OUTCOME_NOT_HEALTHY;
	snprintf(it->detail, sizeof(it->detail), "api down before the drill");
	c = judge(ev, "\"measured\", \"recovery\"");
	assert_string_equal(c->missing, "iteration 1 did not test recovery (not-healthy: api down before "
					"the drill); recovery was never tested: no iteration broke the "
					"system and watched it recover");

	ev->n_iterations = 0;
	c = judge(ev, "\"measured\"");
	assert_string_equal(c->missing, "no iteration ran: nothing was measured");
	ev->n_iterations = 1;
	report_evidence_free(ev);
}

static void test_switchover(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c = judge(ev, "\"switchover\"");

	(void)state;
	assert_has(c->shows, "switched back to the primary (failback) in 1 of 1 iterations, longest 9.0 s");
	assert_string_equal(c->missing, "");
	ev->iterations[0].it.has_failback = false;
	c = judge(ev, "\"switchover\"");
	assert_string_equal(c->missing, "no switch back to the primary (failback) measured");
	report_evidence_free(ev);
}

static void test_timeline_integrity(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c = judge(ev, "\"timeline\", \"data-integrity\"");

	(void)state;
	assert_string_equal(c->shows, "timeline of 2 timestamped events, 2026-03-15T10:00:00.000Z to "
				      "2026-03-15T10:00:41.000Z; no deviation from the plan; data "
				      "checked in 1 of 1 iterations: 120 acknowledged writes, 0 lost");
	assert_string_equal(c->missing, "");

	ev->n_deviations = 1;
	ev->deviations[0] = (struct report_deviation){ .real_ns = at(2026, 3, 15) + 60 * SEC,
						       .iteration = 1 };
	snprintf(ev->deviations[0].kind, sizeof(ev->deviations[0].kind), "read-back failed");
	snprintf(ev->deviations[0].what, sizeof(ev->deviations[0].what), "canary row 17 missing");
	ev->integrity[0].lost_writes = 3;
	c = judge(ev, "\"timeline\", \"data-integrity\"");
	assert_has(c->shows, "1 deviation from the plan, each dated; read-back failed (iteration 1) "
			     "at 2026-03-15T10:01:00.000Z");
	assert_string_equal(c->missing, "iteration 1 lost 3 acknowledged writes; iteration 1: read-back "
					"failed: canary row 17 missing");

	ev->integrity[0].measured = false;
	ev->n_events = 0;
	ev->drill.ended_real_ns = 0;
	c = judge(ev, "\"timeline\", \"data-integrity\"");
	assert_has(c->missing, "no timeline recorded; the drill has no end time");
	assert_has(c->missing, "no data-integrity check: the scenario measures no RPO");
	report_evidence_free(ev);
}

static void test_findings_lessons_retest(void **state)
{
	struct report_evidence *ev = make();
	const struct report_control *c = judge(ev, "\"findings\", \"lessons\", \"retest\"");

	(void)state;
	assert_string_equal(c->shows, "no finding recorded: objectives met without deviation; "
				      "1 lesson learned recorded, the first: DNS TTLs were longer than "
				      "we thought; no action of this drill needs a retest");
	assert_string_equal(c->missing, "");

	ev->drill.objectives_met = false;
	ev->n_notes = 0;
	ev->n_actions = 2;
	ev->actions[0].action.id = 7;
	ev->actions[1].action.id = 8;
	ev->actions[1].closed = true;
	ev->actions[1].closing.retest_drill_id = 11;
	ev->n_retested = 1;
	ev->retested[0].action.id = 2;
	ev->retested[0].action.drill_id = 4;
	c = judge(ev, "\"findings\", \"lessons\", \"retest\"");
	assert_string_equal(c->missing, "no finding recorded, though the drill did not meet its "
					"objectives; no lessons learned recorded; action 7 is open: "
					"not yet retested");
	assert_string_equal(c->shows, "this drill retested action 2 of drill 4; action 8 closed, "
				      "retested by drill 11");

	ev->actions[1].closing.retest_drill_id = 0;
	ev->n_findings = 1;
	ev->findings[0] = (struct store_record){ .id = 3, .kind = STORE_RECORD_FINDING };
	snprintf(ev->findings[0].severity, sizeof(ev->findings[0].severity), "critical");
	c = judge(ev, "\"findings\", \"retest\"");
	assert_has(c->shows, "1 finding ranked by severity: 1 critical");
	assert_has(c->missing, "finding 3 (critical) has no root cause");
	assert_has(c->missing, "action 8 was closed without a retest drill");
	report_evidence_free(ev);
}

/* A list longer than the field ends in "; ..." rather than mid-word. */
static void test_cut(void **state)
{
	struct report_evidence *ev = make();
	char spec[2000] = "";
	const struct report_control *c;

	(void)state;
	for (int i = 0; i < 40; i++)
		strcat(spec, i ? ", \"scope\"" : "\"scope\"");
	ev->drill.description[0] = '\0';
	c = judge(ev, spec);
	assert_true(strlen(c->missing) < sizeof(c->missing));
	assert_true(strlen(c->missing) > sizeof(c->missing) - 100);
	assert_non_null(strstr(c->missing, "; ..."));
	assert_string_equal(strstr(c->missing, "; ..."), "; ...");
	report_evidence_free(ev);
}

static void test_builtin(void **state)
{
	static const char *const ids[] = { "soc2", "iso27001", "iso22301", "nist-cp4", "dora",
					   "hipaa", "pci" };
	struct report_evidence *ev = make(), *ev2 = make();
	struct fd_error err = { 0 };
	char path[1024];
	const char *src = getenv("FD_SOURCE_ROOT");

	(void)state;
	/* every control's checks exist, or the file would not load */
	if (report_evidence_controls(ev, "all", NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ev->n_controls, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_string_equal(ev->controls[i].id, ids[i]);
		assert_true(ev->controls[i].name[0] && ev->controls[i].text[0]);
		assert_true(ev->controls[i].shows[0]);
	}
	assert_string_equal(ev->controls[0].name, "SOC 2 A1.3");
	assert_string_equal(ev->controls[0].missing, ""); /* make() shows everything SOC 2 asks */

	/* the file in the tree (installed to datadir) is the one built in */
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/reports/controls.json", src);
	if (report_evidence_controls(ev2, "all", path, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ev2->n_controls, ev->n_controls);
	for (size_t i = 0; i < ev->n_controls; i++)
		assert_memory_equal(&ev->controls[i], &ev2->controls[i], sizeof(ev->controls[i]));

	/* picked in the order asked, each once, spaces allowed */
	if (report_evidence_controls(ev, "dora, soc2,dora", NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ev->n_controls, 2);
	assert_string_equal(ev->controls[0].id, "dora");
	assert_string_equal(ev->controls[1].id, "soc2");
	report_evidence_free(ev);
	report_evidence_free(ev2);
}

static void test_unknown_id(void **state)
{
	struct report_evidence *ev = make();
	struct fd_error err = { 0 };

	(void)state;
	assert_int_not_equal(report_evidence_controls(ev, "soc2,sox", NULL, &err), 0);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	assert_string_equal(err.msg, "unknown control \"sox\" (known in built-in controls.json: soc2, "
				     "iso27001, iso22301, nist-cp4, dora, hipaa, pci; or all)");
	assert_null(ev->controls);
	assert_int_not_equal(report_evidence_controls(ev, "soc2,,pci", NULL, &err), 0);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	assert_int_not_equal(report_evidence_controls(ev, "", NULL, &err), 0);
	report_evidence_free(ev);
}

/* What a mapping file with requires [reqs] is refused for. */
static void assert_refused(const char *reqs, const char *want)
{
	struct report_evidence *ev = make();
	struct fd_error err = { 0 };
	const char *path = write_mapping(reqs);

	assert_int_not_equal(report_evidence_controls(ev, "t", path, &err), 0);
	unlink(path);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	assert_has(err.msg, path);
	assert_has(err.msg, want);
	report_evidence_free(ev);
}

static void test_bad_file(void **state)
{
	struct report_evidence *ev = make();
	struct fd_error err = { 0 };
	FILE *f;

	(void)state;
	assert_refused("\"scope\", \"particpants\"",
		       "control \"t\": unknown check \"particpants\" (known: scope, objectives,");
	assert_refused("\"frequency\"", "control \"t\": check \"frequency\" needs max_age_days");
	assert_refused("{\"check\": \"scope\", \"max_age_days\": 3}",
		       "check \"scope\" takes no max_age_days");
	assert_refused("{\"check\": \"frequency\", \"max_age\": 3}", "unknown key \"max_age\"");
	assert_refused("{\"check\": \"frequency\", \"max_age_days\": 0}", "max_age_days must be");
	assert_refused("", "\"requires\" must be a non-empty list");
	assert_refused("\"scope\",", ":1:"); /* jansson's line:column */

	/* a typo in a control's keys drops no requirement silently */
	snprintf(mapping, sizeof(mapping), "/tmp/fd-controls-XXXXXX");
	f = fdopen(mkstemp(mapping), "w");
	fputs("{\"version\": 1, \"controls\": [{\"id\": \"t\", \"name\": \"T\", \"text\": \"x\", "
	      "\"require\": [\"scope\"]}]}", f);
	fclose(f);
	assert_int_not_equal(report_evidence_controls(ev, "t", mapping, &err), 0);
	assert_has(err.msg, "control \"t\": unknown key \"require\"");

	f = fopen(mapping, "w");
	fputs("{\"version\": 2, \"controls\": []}", f);
	fclose(f);
	assert_int_not_equal(report_evidence_controls(ev, "t", mapping, &err), 0);
	assert_has(err.msg, "\"version\" must be 1");

	f = fopen(mapping, "w");
	fputs("{\"version\": 1, \"controls\": [{\"id\": \"t\", \"name\": \"T\", \"text\": \"x\", "
	      "\"requires\": [\"scope\"]}, {\"id\": \"t\", \"name\": \"U\", \"text\": \"y\", "
	      "\"requires\": [\"scope\"]}]}", f);
	fclose(f);
	assert_int_not_equal(report_evidence_controls(ev, "t", mapping, &err), 0);
	assert_has(err.msg, "control \"t\" twice");
	unlink(mapping);

	assert_int_not_equal(report_evidence_controls(ev, "t", "/nonexistent/controls.json", &err), 0);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	assert_has(err.msg, "/nonexistent/controls.json");
	report_evidence_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_participants),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_signoff),
		cmocka_unit_test(test_frequency),
		cmocka_unit_test(test_frequency_months),
		cmocka_unit_test(test_scope_objectives),
		cmocka_unit_test(test_measured_recovery),
		cmocka_unit_test(test_switchover),
		cmocka_unit_test(test_timeline_integrity),
		cmocka_unit_test(test_findings_lessons_retest),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_unknown_id),
		cmocka_unit_test(test_bad_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Objectives, outcome ranking, steady-state and stop-if-failing decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drill.h"
#include "drill_internal.h"
#include "fd_time.h"

#define MS FD_NS_PER_MS

static struct scenario_probe probes[3] = {
	{ .id = (char *)"api", .interval_ns = 100 * MS, .timeout_ns = 1000 * MS },
	{ .id = (char *)"db", .interval_ns = 500 * MS, .timeout_ns = 200 * MS },
	{ .id = (char *)"smoke", .interval_ns = 20000 * MS, .timeout_ns = 30000 * MS },
};

static void base(struct scenario *s)
{
	memset(s, 0, sizeof(*s));
	s->probes = probes;
	s->n_probes = 3;
}

static struct drill_iteration recovered(int64_t rto_ms, bool has_rpo, int64_t rpo_ms)
{
	struct drill_iteration it = { 0 };

	it.outcome = OUTCOME_RECOVERED;
	it.has_rto = true;
	it.rto_ns = rto_ms * MS;
	it.has_rpo = has_rpo;
	it.rpo_ns = rpo_ms * MS;
	return it;
}

static void objectives_no_objectives(void **state)
{
	struct scenario s;
	struct drill_iteration it = recovered(123456, false, 0);
	char why[128];

	(void)state;
	base(&s);
	assert_true(drill_objectives_met(&s, &it, why, sizeof(why)));
	assert_string_equal(why, "");
}

static void objectives_rto(void **state)
{
	struct scenario s;
	struct drill_iteration it = recovered(5000, false, 0);
	char why[128];

	(void)state;
	base(&s);
	s.has_rto_objective = true;
	s.rto_objective_ns = 5000 * MS;
	assert_true(drill_objectives_met(&s, &it, why, sizeof(why))); /* equal is met */
	it.rto_ns = 5000 * MS + MS / 2;
	assert_false(drill_objectives_met(&s, &it, why, sizeof(why)));
	assert_non_null(strstr(why, "RTO"));
}

static void objectives_rpo(void **state)
{
	struct scenario s;
	struct drill_iteration it = recovered(100, true, 300);
	char why[128];

	(void)state;
	base(&s);
	s.has_rpo_objective = true;
	s.rpo_objective_ns = 300 * MS;
	assert_true(drill_objectives_met(&s, &it, why, sizeof(why)));
	it.rpo_ns = 301 * MS;
	assert_false(drill_objectives_met(&s, &it, why, sizeof(why)));
	assert_non_null(strstr(why, "RPO"));
	/* an RPO objective nothing measured is not met */
	it.has_rpo = false;
	it.rpo_ns = 0;
	assert_false(drill_objectives_met(&s, &it, why, sizeof(why)));
	assert_non_null(strstr(why, "not measured"));
}

static void objectives_need_recovery(void **state)
{
	struct scenario s;
	struct drill_iteration it = { 0 };
	char why[128];

	(void)state;
	base(&s);
	it.outcome = OUTCOME_NOT_RECOVERED;
	assert_false(drill_objectives_met(&s, &it, why, sizeof(why)));
	assert_string_equal(why, "not recovered");
	it.outcome = OUTCOME_NOT_HEALTHY;
	assert_false(drill_objectives_met(&s, &it, why, sizeof(why)));
	it.outcome = OUTCOME_ABORTED;
	assert_false(drill_objectives_met(&s, &it, why, sizeof(why)));
	/* recovered without an RTO is a contradiction: never "met" */
	it.outcome = OUTCOME_RECOVERED;
	it.has_rto = false;
	assert_false(drill_objectives_met(&s, &it, why, sizeof(why)));
}

static void outcome_ranking(void **state)
{
	(void)state;
	assert_int_equal(drill_outcome_worse(OUTCOME_RECOVERED, OUTCOME_NOT_RECOVERED),
			 OUTCOME_NOT_RECOVERED);
	assert_int_equal(drill_outcome_worse(OUTCOME_NOT_RECOVERED, OUTCOME_RECOVERED),
			 OUTCOME_NOT_RECOVERED);
	assert_int_equal(drill_outcome_worse(OUTCOME_ABORTED, OUTCOME_NOT_HEALTHY), OUTCOME_ABORTED);
	assert_int_equal(drill_outcome_worse(OUTCOME_ERROR, OUTCOME_ABORTED), OUTCOME_ERROR);
	assert_int_equal(drill_outcome_worse(OUTCOME_RECOVERED, OUTCOME_RECOVERED), OUTCOME_RECOVERED);
}

static void phase_names(void **state)
{
	(void)state;
	assert_string_equal(drill_phase_name(DRILL_PHASE_STEADY_STATE), "steady-state");
	assert_string_equal(drill_phase_name(DRILL_PHASE_COOL_DOWN), "cool-down");
	for (int p = 0; p < DRILL_PHASE_COUNT; p++)
		assert_non_null(drill_phase_name((enum drill_phase)p));
	assert_string_equal(drill_phase_name(DRILL_PHASE_COUNT), "?");
}

static void steady_window(void **state)
{
	struct scenario s;
	size_t ss[2] = { 0, 1 }, slow[1] = { 2 };

	(void)state;
	base(&s);
	assert_int_equal(drill_steady_window_ns(&s), 0);
	s.steady_state = ss;
	s.n_steady_state = 2;
	/* 3 x 500 ms + 1 s */
	assert_int_equal(drill_steady_window_ns(&s), 2500 * MS);
	s.steady_state = slow;
	s.n_steady_state = 1;
	assert_int_equal(drill_steady_window_ns(&s), 30 * FD_NS_PER_S);
}

static void track_changes(void **state)
{
	struct probe_track t = { 0 };

	(void)state;
	assert_int_equal(drill_track_sample(&t, true, 10), 1); /* first sample is a change */
	assert_int_equal(drill_track_sample(&t, true, 20), 0);
	assert_int_equal(drill_track_sample(&t, false, 30), -1);
	assert_int_equal(t.failing_since_ns, 30);
	assert_int_equal(drill_track_sample(&t, false, 40), 0);
	assert_int_equal(t.failing_since_ns, 30); /* start of the failing run */
	assert_int_equal(drill_track_sample(&t, true, 50), 1);
	assert_int_equal(drill_track_sample(&t, false, 60), -1);
	assert_int_equal(t.failing_since_ns, 60);
	/* An older sample answering late (sent at 55, healthy) changes nothing. */
	assert_int_equal(drill_track_sample(&t, true, 55), 0);
	assert_false(t.ok);
	assert_int_equal(t.last_sent_ns, 60);
	assert_int_equal(t.failing_since_ns, 60);
	/* Nor a late failure after a newer healthy sample. */
	assert_int_equal(drill_track_sample(&t, true, 70), 1);
	assert_int_equal(drill_track_sample(&t, false, 65), 0);
	assert_true(t.ok);
}

static void stop_if(void **state)
{
	struct scenario s;
	struct probe_track tr[3] = { 0 };
	struct scenario_stop_if si[1] = { { .probe = 1, .for_ns = 2000 * MS } };
	size_t which = 99;

	(void)state;
	base(&s);
	s.stop_if = si;
	s.n_stop_if = 1;
	assert_false(drill_stop_if_tripped(&s, tr, 5000 * MS, &which)); /* never seen */
	drill_track_sample(&tr[1], true, 0);
	drill_track_sample(&tr[1], false, 1000 * MS);
	/* Send order: the samples must show 2 s of failure, not the clock. */
	assert_false(drill_stop_if_tripped(&s, tr, 3500 * MS, &which));
	drill_track_sample(&tr[1], false, 2999 * MS);
	assert_false(drill_stop_if_tripped(&s, tr, 3500 * MS, &which));
	drill_track_sample(&tr[1], false, 3000 * MS);
	assert_true(drill_stop_if_tripped(&s, tr, 3500 * MS, &which));
	assert_int_equal(which, 0);
	assert_int_equal(drill_failing_for_ns(&s, tr, 1, 3500 * MS), 2000 * MS);
	drill_track_sample(&tr[1], true, 3100 * MS);
	assert_false(drill_stop_if_tripped(&s, tr, 9000 * MS, &which));
	/* for: 0 trips on the first failure */
	si[0].for_ns = 0;
	drill_track_sample(&tr[1], false, 9100 * MS);
	assert_true(drill_stop_if_tripped(&s, tr, 9100 * MS, &which));
	/* other probes failing do not matter */
	drill_track_sample(&tr[1], true, 9200 * MS);
	drill_track_sample(&tr[0], false, 9200 * MS);
	assert_false(drill_stop_if_tripped(&s, tr, 99000 * MS, &which));
}

static void steady_ok(void **state)
{
	struct scenario s;
	struct probe_track tr[3] = { 0 };
	size_t ss[2] = { 0, 1 };

	(void)state;
	base(&s);
	assert_true(drill_steady_ok(&s, tr)); /* no steady-state probes */
	s.steady_state = ss;
	s.n_steady_state = 2;
	assert_false(drill_steady_ok(&s, tr));
	drill_track_sample(&tr[0], true, 1);
	assert_false(drill_steady_ok(&s, tr));
	drill_track_sample(&tr[1], false, 1);
	assert_false(drill_steady_ok(&s, tr));
	drill_track_sample(&tr[1], true, 2);
	assert_true(drill_steady_ok(&s, tr));
	drill_track_sample(&tr[2], false, 3); /* not a steady-state probe */
	assert_true(drill_steady_ok(&s, tr));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(objectives_no_objectives),
		cmocka_unit_test(objectives_rto),
		cmocka_unit_test(objectives_rpo),
		cmocka_unit_test(objectives_need_recovery),
		cmocka_unit_test(outcome_ranking),
		cmocka_unit_test(phase_names),
		cmocka_unit_test(steady_window),
		cmocka_unit_test(track_changes),
		cmocka_unit_test(stop_if),
		cmocka_unit_test(steady_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

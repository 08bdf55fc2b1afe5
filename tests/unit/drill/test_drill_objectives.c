/* What a drill stores of its scenario's objectives (drill_objectives_fill). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drill_internal.h"
#include "fd_time.h"

static void objectives_and_criterion(void **state)
{
	struct scenario_probe probes[] = { { .id = (char *)"web" }, { .id = (char *)"db" },
					   { .id = (char *)"unused" } };
	size_t recovery[] = { 0, 1 };
	struct scenario s = {
		.probes = probes, .n_probes = 3,
		.has_rto_objective = true, .rto_objective_ns = 300 * FD_NS_PER_S,
		.recovery = { .mode = CRITERION_ALL, .probes = recovery, .n_probes = 2,
			      .stable_for_ns = 2 * FD_NS_PER_S, .timeout_ns = 300 * FD_NS_PER_S },
	};
	struct store_drill d = { 0 };
	char buf[8];

	(void)state;
	drill_objectives_fill(&s, &d);
	assert_true(d.objectives_recorded);
	assert_true(d.has_rto_objective);
	assert_int_equal(d.rto_objective_ns, 300 * FD_NS_PER_S);
	assert_false(d.has_rpo_objective); /* none set: absent, not 0 */
	assert_string_equal(d.recovery_criterion, "all of [web, db] stable 2.0 s within 5m00s");
	assert_int_equal(d.prove_every_ns, 0); /* no prove-every: none recorded */

	s.recovery.mode = CRITERION_ANY;
	s.recovery.n_probes = 1;
	s.has_rpo_objective = true;
	s.rpo_objective_ns = 1500 * FD_NS_PER_MS;
	s.prove_every_ns = 30 * SCENARIO_DAY_NS;
	memset(&d, 0, sizeof(d));
	drill_objectives_fill(&s, &d);
	assert_int_equal(d.prove_every_ns, 30 * SCENARIO_DAY_NS);
	assert_true(d.has_rpo_objective);
	assert_int_equal(d.rpo_objective_ns, 1500 * FD_NS_PER_MS);
	assert_string_equal(d.recovery_criterion, "any of [web] stable 2.0 s within 5m00s");
	/* A short buffer truncates, terminated. */
	assert_string_equal(drill_criterion_text(&s, &s.recovery, buf, sizeof(buf)), "any of ");
}

/* team: roles come first with who fills them ("ROLE=" when nobody); other
 * --role roles follow in the order given; a lap's sender is found by name. */
static void participants(void **state)
{
	char *team[] = { (char *)"incident-commander", (char *)"scribe" };
	const char *roles[] = { "observer=dana", "incident-commander=alice",
				"incident-commander=erin" };
	struct scenario s = { .team = team, .n_team = 2, .description = (char *)"region A\n",
			      .scope_rationale = (char *)"largest customer region" };
	struct drill_opts o = { .lap_tty_fd = -1 };
	struct store_drill d = { 0 };
	struct fd_error err = { 0 };
	char role[64];

	(void)state;
	o.roles = roles;
	o.n_roles = 3;
	drill_scope_fill(&s, &o, &d);
	assert_string_equal(d.participants, "incident-commander=alice\nscribe=\nobserver=dana\n"
					    "incident-commander=erin\n");
	assert_string_equal(d.description, "region A");
	assert_string_equal(d.scope_rationale, "largest customer region");
	assert_string_equal(drill_role_of(d.participants, "alice", role, sizeof(role)),
			    "incident-commander");
	assert_string_equal(drill_role_of(d.participants, "dana", role, sizeof(role)), "observer");
	assert_string_equal(drill_role_of(d.participants, "ali", role, sizeof(role)), "");
	assert_string_equal(drill_role_of(d.participants, "", role, sizeof(role)), "");

	assert_int_equal(drill_role_check("scribe=bob", &err), 0);
	assert_int_equal(drill_role_check("scribe", &err), -EINVAL);
	assert_int_equal(drill_role_check("=bob", &err), -EINVAL);
	assert_int_equal(drill_role_check("Scribe=bob", &err), -EINVAL);
	assert_int_equal(drill_role_check("scribe=", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "expected a name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(objectives_and_criterion),
		cmocka_unit_test(participants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * seed_store PATH [more]: a store with one finished drill of two
 * iterations (recovered in 4.2 s, then not recovered), for the CLI test
 * (test_cli.sh). Everything goes through the store API. Drill 1 records no
 * objectives, as a drill migrated from schema version 1.
 *
 * With "more", a second drill follows (scenario cli-more, iterations
 * 1..3: not recovered, 1 s, 3 s) whose iteration row ids (3, 4, 5) differ
 * from their numbers, with objectives recorded and an evidence event in
 * iteration 1.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

#define TEXT "name: cli-test\nobjectives:\n  rto: 5m\n"

static int put_scenario(struct store *st, const char *name, const char *text, int64_t *id,
			struct fd_error *err)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char sha[65];

	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(sha, sizeof(sha), h, sizeof(h));
	return store_put_scenario(st, name, sha, text, id, err);
}

static int add_iteration(struct store *st, const struct store_drill *d, int number,
			 enum store_outcome o, double rto_ms, bool evidence, struct fd_error *err)
{
	struct store_iteration it = { .drill_id = d->id, .number = number };
	int r = store_begin_iteration(st, &it, err);

	it.outcome = o;
	it.has_rto = o == STORE_OUTCOME_RECOVERED;
	it.rto_ms = rto_ms;
	it.objectives_met = o == STORE_OUTCOME_RECOVERED;
	it.t0_real_ns = d->started_real_ns + number;
	if (r == 0 && evidence) {
		struct store_event ev = { .drill_id = d->id, .iteration_id = it.id, .mono_ns = number,
					  .real_ns = d->started_real_ns + number };

		snprintf(ev.kind, sizeof(ev.kind), "evidence");
		snprintf(ev.subject, sizeof(ev.subject), "answers");
		snprintf(ev.detail, sizeof(ev.detail), "held: no packet matched");
		r = store_add_event(st, &ev, err);
	}
	if (r == 0)
		r = store_finish_iteration(st, &it, err);
	return r;
}

static int seed_first(struct store *st, struct fd_error *err)
{
	struct store_drill d = { .iterations_planned = 2, .started_real_ns = INT64_C(1764126930000000000) };
	int r;

	snprintf(d.scenario_name, sizeof(d.scenario_name), "cli-test");
	snprintf(d.environment, sizeof(d.environment), "test");
	snprintf(d.operator_name, sizeof(d.operator_name), "ci");
	r = put_scenario(st, "cli-test", TEXT, &d.scenario_id, err);
	if (r == 0)
		r = store_begin_drill(st, &d, err);
	if (r == 0)
		r = add_iteration(st, &d, 1, STORE_OUTCOME_RECOVERED, 4200, false, err);
	if (r == 0)
		r = add_iteration(st, &d, 2, STORE_OUTCOME_NOT_RECOVERED, 0, false, err);
	if (r == 0)
		r = store_finish_drill(st, d.id, STORE_OUTCOME_NOT_RECOVERED, false, d.started_real_ns + 1, err);
	return r;
}

static int seed_more(struct store *st, struct fd_error *err)
{
	struct store_drill d = { .iterations_planned = 3, .started_real_ns = INT64_C(1764127000000000000),
				 .objectives_recorded = true, .has_rto_objective = true,
				 .rto_objective_ns = INT64_C(120000000000) };
	int r;

	snprintf(d.scenario_name, sizeof(d.scenario_name), "cli-more");
	snprintf(d.environment, sizeof(d.environment), "test");
	snprintf(d.operator_name, sizeof(d.operator_name), "ci");
	snprintf(d.recovery_criterion, sizeof(d.recovery_criterion), "all of [api] stable 1s within 2m");
	r = put_scenario(st, "cli-more", "name: cli-more\n", &d.scenario_id, err);
	if (r == 0)
		r = store_begin_drill(st, &d, err);
	if (r == 0)
		r = add_iteration(st, &d, 1, STORE_OUTCOME_NOT_RECOVERED, 0, true, err);
	if (r == 0)
		r = add_iteration(st, &d, 2, STORE_OUTCOME_RECOVERED, 1000, false, err);
	if (r == 0)
		r = add_iteration(st, &d, 3, STORE_OUTCOME_RECOVERED, 3000, false, err);
	if (r == 0)
		r = store_finish_drill(st, d.id, STORE_OUTCOME_NOT_RECOVERED, false, d.started_real_ns + 1, err);
	return r;
}

int main(int argc, char **argv)
{
	struct fd_error err = { 0 };
	struct store *st = NULL;
	int r;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "more") != 0) || sodium_init() < 0)
		return 2;
	r = store_open(argv[1], &st, &err);
	if (r == 0)
		r = seed_first(st, &err);
	if (r == 0 && argc == 3)
		r = seed_more(st, &err);
	store_close(st);
	if (r)
		fprintf(stderr, "seed_store: %s\n", err.msg);
	return r ? 1 : 0;
}

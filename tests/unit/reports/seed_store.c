/*
 * seed_store PATH: a store with one finished drill of two iterations, for
 * the CLI test (test_cli.sh). Everything goes through the store API.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

#define TEXT "name: cli-test\nobjectives:\n  rto: 5m\n"

int main(int argc, char **argv)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	struct store_drill d = { .iterations_planned = 2, .started_real_ns = INT64_C(1764126930000000000) };
	struct fd_error err = { 0 };
	struct store *st = NULL;
	char sha[65];
	int r;

	if (argc != 2 || sodium_init() < 0)
		return 2;
	crypto_hash_sha256(h, (const unsigned char *)TEXT, strlen(TEXT));
	sodium_bin2hex(sha, sizeof(sha), h, sizeof(h));
	snprintf(d.scenario_name, sizeof(d.scenario_name), "cli-test");
	snprintf(d.environment, sizeof(d.environment), "test");
	snprintf(d.operator_name, sizeof(d.operator_name), "ci");
	r = store_open(argv[1], &st, &err);
	if (r == 0)
		r = store_put_scenario(st, "cli-test", sha, TEXT, &d.scenario_id, &err);
	if (r == 0)
		r = store_begin_drill(st, &d, &err);
	for (int i = 1; i <= 2 && r == 0; i++) {
		struct store_iteration it = { .drill_id = d.id, .number = i };

		r = store_begin_iteration(st, &it, &err);
		it.outcome = i == 1 ? OUTCOME_RECOVERED : OUTCOME_NOT_RECOVERED;
		it.has_rto = i == 1;
		it.rto_ms = 4200;
		it.objectives_met = i == 1;
		it.t0_real_ns = d.started_real_ns + i;
		if (r == 0)
			r = store_finish_iteration(st, &it, &err);
	}
	if (r == 0)
		r = store_finish_drill(st, d.id, OUTCOME_NOT_RECOVERED, false, d.started_real_ns + 1, &err);
	store_close(st);
	if (r)
		fprintf(stderr, "seed_store: %s\n", err.msg);
	return r ? 1 : 0;
}

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
 *
 * seed_store PATH fresh DIR: drills for `firedrill freshness` (no
 * iterations), each scenario's text also written to DIR/NAME.yaml (the
 * newest text drilled), all started relative to 2026-09-01T00:00:00Z (T):
 *   fresh-one   prod     T         recovered, met, prove-every 90d
 *   fresh-one   staging  T         recovered, objectives missed (never proven)
 *   stale-one   prod     T - 100d  recovered, met, prove-every 90d
 *   changed-one prod     T         recovered, met, text v1, prove-every 90d
 *   changed-one prod     T + 1d    not recovered, text v2 (the file's)
 *   nop         dr       T         not recovered, no prove-every
 * and a running drill of stale-one (left out).
 * With "long", the second drill (scenario pdf-long) is one for paged
 * reports: 6 iterations (one not recovered) with laps, probe samples and
 * RPO, a timeline of some 200 events, a long scenario text, and untrusted
 * strings (markup, an ESC byte, invalid UTF-8) in names and details; its
 * iteration 2 has two blackholed flows, one sent by a known process in a
 * container, one whose socket was closed before it could be looked up.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
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

#define FRESH_T INT64_C(1788220800000000000) /* 2026-09-01T00:00:00Z */
#define FRESH_DAY (INT64_C(86400) * 1000000000)

/* A valid scenario (firedrill freshness FILE loads it): name, environment, extra lines. */
static void fresh_text(char *buf, size_t len, const char *name, const char *env, const char *extra)
{
	snprintf(buf, len,
		 "name: %s\nenvironment: %s\n%s"
		 "probes:\n  - id: p\n    tcp: { host: 127.0.0.1, port: 80 }\n"
		 "faults:\n  - id: f\n    kind: drop\n    duration: 5m\n"
		 "    targets: { cidrs: [10.0.0.0/8] }\n"
		 "recovery:\n  all: [p]\n  timeout: 5m\n", name, env, extra);
}

static int fresh_drill(struct store *st, const char *dir, const char *name, const char *env,
		       const char *extra, int64_t start, enum store_outcome o, bool met,
		       int64_t prove_every, struct fd_error *err)
{
	struct store_drill d = { .started_real_ns = start, .prove_every_ns = prove_every,
				 .objectives_recorded = true, .iterations_planned = 1 };
	char text[1024], path[4096];
	FILE *f;
	int r;

	fresh_text(text, sizeof(text), name, env, extra);
	snprintf(d.scenario_name, sizeof(d.scenario_name), "%s", name);
	snprintf(d.environment, sizeof(d.environment), "%s", env);
	snprintf(d.operator_name, sizeof(d.operator_name), "ci");
	r = put_scenario(st, name, text, &d.scenario_id, err);
	if (r == 0)
		r = store_begin_drill(st, &d, err);
	if (r == 0 && o != STORE_OUTCOME_RUNNING)
		r = store_finish_drill(st, d.id, o, met, start + 1, err);
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0) {
		if (f)
			fclose(f);
		return fd_error_set(err, FD_ERR_ENV, -1, "%s: cannot write", path);
	}
	return fclose(f) == 0 ? 0 : fd_error_set(err, FD_ERR_ENV, -1, "%s: cannot write", path);
}

static int seed_fresh(struct store *st, const char *dir, struct fd_error *err)
{
	const int64_t t = FRESH_T, day = FRESH_DAY;
	const char *p90 = "prove-every: 90d\n";
	int r;

	r = fresh_drill(st, dir, "stale-one", "prod", p90, t - 100 * day, STORE_OUTCOME_RECOVERED,
			true, 90 * day, err);
	if (r == 0)
		r = fresh_drill(st, dir, "stale-one", "prod", p90, t + 2 * day, STORE_OUTCOME_RUNNING,
				false, 90 * day, err);
	if (r == 0)
		r = fresh_drill(st, dir, "fresh-one", "staging", p90, t, STORE_OUTCOME_RECOVERED,
				false, 90 * day, err);
	/* last: DIR/fresh-one.yaml is the prod text */
	if (r == 0)
		r = fresh_drill(st, dir, "fresh-one", "prod", p90, t, STORE_OUTCOME_RECOVERED,
				true, 90 * day, err);
	if (r == 0)
		r = fresh_drill(st, dir, "changed-one", "prod", p90, t, STORE_OUTCOME_RECOVERED, true,
				90 * day, err);
	if (r == 0)
		r = fresh_drill(st, dir, "changed-one", "prod", "prove-every: 90d\ndescription: v2\n",
				t + day, STORE_OUTCOME_NOT_RECOVERED, false, 90 * day, err);
	if (r == 0)
		r = fresh_drill(st, dir, "nop", "dr", "", t, STORE_OUTCOME_NOT_RECOVERED, false, 0, err);
	return r;
}

static int long_iteration(struct store *st, const struct store_drill *d, int number,
			  struct fd_error *err)
{
	struct store_iteration it = { .drill_id = d->id, .number = number };
	int64_t t0 = d->started_real_ns + (int64_t)number * INT64_C(60000000000);
	bool recovered = number != 4;
	int r = store_begin_iteration(st, &it, err);

	for (int k = 0; r == 0 && k < 32; k++) {
		struct store_event ev = { .drill_id = d->id, .iteration_id = it.id,
					  .mono_ns = (int64_t)number * INT64_C(60000000000) + k * INT64_C(700000000),
					  .real_ns = t0 + k * INT64_C(700000000) };
		static const char *const kinds[] = { "phase", "probe-down", "probe-up", "lap", "note" };

		snprintf(ev.kind, sizeof(ev.kind), "%s", k == 3 ? "fault-applied" : kinds[k % 5]);
		snprintf(ev.subject, sizeof(ev.subject), k % 7 == 0 ? "<b>api</b> \x1b[31m" : "api-%d", k);
		snprintf(ev.detail, sizeof(ev.detail),
			 k == 3 ? "blackhole 10.0.0.0/8 203.0.113.0/24 198.51.100.0/24 via nft table "
				  "firedrill, set s3_v4 (%d elements); a long detail that must wrap inside "
				  "its cell without running into the next column or off the page \xff\xfe" :
			 "sample %d answered in %d ms (status 200)", k, 10 + k);
		r = store_add_event(st, &ev, err);
	}
	if (r == 0 && number == 2) {
		struct store_event ev = { .drill_id = d->id, .iteration_id = it.id,
					  .mono_ns = (int64_t)number * INT64_C(60000000000) + INT64_C(30000000000),
					  .real_ns = t0 + INT64_C(30000000000) };

		snprintf(ev.kind, sizeof(ev.kind), "evidence");
		snprintf(ev.subject, sizeof(ev.subject), "s3-answers");
		snprintf(ev.detail, sizeof(ev.detail), "held: no packet matched");
		r = store_add_event(st, &ev, err);
	}
	if (r == 0 && number == 2) {
		struct store_flow f[2] = { { .iteration_id = it.id, .dport = 443, .packets = 12,
					     .has_first_seen = true, .first_seen_ms = 54 },
					   { .iteration_id = it.id, .dport = 5432, .packets = 3 } };

		for (int k = 0; k < 2; k++) {
			snprintf(f[k].fault_id, sizeof(f[k].fault_id), "s3");
			snprintf(f[k].protocol, sizeof(f[k].protocol), "tcp");
			snprintf(f[k].src, sizeof(f[k].src), "10.250.1.1");
			snprintf(f[k].dst, sizeof(f[k].dst), "10.66.1.%d", k + 1);
			snprintf(f[k].flow, sizeof(f[k].flow), "tcp 10.250.1.1 -> 10.66.1.%d:%d", k + 1,
				 f[k].dport);
		}
		f[0].owner = (struct fd_flow_owner){ .pid = 4242, .holders = 1, .has_uid = true,
						     .uid = 1000 };
		snprintf(f[0].owner.comm, sizeof(f[0].owner.comm), "registry");
		snprintf(f[0].owner.cmd, sizeof(f[0].owner.cmd), "/bin/registry");
		snprintf(f[0].owner.container, sizeof(f[0].owner.container), "%s",
			 "4f2a1b3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708");
		f[1].owner = (struct fd_flow_owner){ .has_uid = true, .uid = 0 };
		snprintf(f[1].owner.why, sizeof(f[1].owner.why), "socket already closed");
		r = store_add_flows(st, f, 2, err);
	}
	for (int k = 0; r == 0 && k < 3; k++) {
		static const char *const names[] = { "promote replica in region b", "flip DNS <weight>",
						     "warm caches" };
		struct store_lap lap = { .iteration_id = it.id, .step = k, .manual = k == 1,
					 .started_mono_ns = 1, .ended_mono_ns = 2,
					 .duration_ms = 1500.0 * (k + 1) + number * 10, .ok = true };

		snprintf(lap.name, sizeof(lap.name), "%s", names[k]);
		snprintf(lap.detail, sizeof(lap.detail), k == 1 ? "operator typed \"done\" | ok" : "exit 0");
		r = store_add_lap(st, &lap, err);
	}
	if (r == 0) {
		struct store_sample s[40];

		for (int k = 0; k < 40; k++) {
			s[k] = (struct store_sample){ .iteration_id = it.id, .mono_ns = k, .ok = k % 4 != 0,
						      .latency_ns = (10 + k) * INT64_C(1000000) };
			snprintf(s[k].probe, sizeof(s[k].probe), k % 2 ? "api" : "db-write");
		}
		r = store_add_samples(st, s, 40, err);
	}
	it.outcome = recovered ? STORE_OUTCOME_RECOVERED : STORE_OUTCOME_NOT_RECOVERED;
	it.has_rto = recovered;
	it.rto_ms = 30000.0 + number * 7000;
	it.has_rto_bounds = recovered;
	it.rto_early_ms = 100;
	it.rto_late_ms = 2000;
	it.error_bound_ms = 2000;
	it.has_rpo = true;
	it.rpo_ms = number == 5 ? 2600 : 300.0 * number;
	it.writes_acked = 1000 + number;
	it.writes_acked_outage = 200;
	it.has_detect = true;
	it.detect_ms = 1800;
	it.has_first_success = recovered;
	it.first_success_ms = it.rto_ms - 1000;
	it.objectives_met = recovered && it.rpo_ms <= 2000;
	if (!recovered)
		snprintf(it.detail, sizeof(it.detail), "not recovered within 2m00s: api still failing");
	it.t0_real_ns = t0;
	if (r == 0)
		r = store_finish_iteration(st, &it, err);
	return r;
}

static int seed_long(struct store *st, struct fd_error *err)
{
	struct store_drill d = { .iterations_planned = 6, .started_real_ns = INT64_C(1764127000000000000),
				 .objectives_recorded = true, .has_rto_objective = true,
				 .rto_objective_ns = INT64_C(75000000000), .has_rpo_objective = true,
				 .rpo_objective_ns = INT64_C(2000000000) };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f)
		return -1;
	fputs("name: pdf-long\ndescription: >\n  A drill with a long timeline, for paged reports. "
	      "<script>alert(1)</script> & \"quotes\"\n", f);
	for (int i = 0; i < 90; i++)
		fprintf(f, "# line %d: %s\n", i, i == 40 ? "a very long comment line that goes on and on "
			"without a single break so that the code block must wrap it at the page's edge "
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" :
			i == 41 ? "\tindented with a tab" : "probes, faults and steps");
	fclose(f);
	snprintf(d.scenario_name, sizeof(d.scenario_name), "pdf-long");
	snprintf(d.environment, sizeof(d.environment), "staging <eu>");
	snprintf(d.operator_name, sizeof(d.operator_name), "ci");
	snprintf(d.note, sizeof(d.note), "lab tuning: rto 30s \xff");
	snprintf(d.recovery_criterion, sizeof(d.recovery_criterion), "all of [api] stable 1s within 2m");
	r = put_scenario(st, "pdf-long", text, &d.scenario_id, err);
	free(text);
	if (r == 0)
		r = store_begin_drill(st, &d, err);
	for (int n = 1; r == 0 && n <= 6; n++)
		r = long_iteration(st, &d, n, err);
	if (r == 0)
		r = store_finish_drill(st, d.id, STORE_OUTCOME_NOT_RECOVERED, false,
				       d.started_real_ns + INT64_C(420000000000), err);
	return r;
}

int main(int argc, char **argv)
{
	struct fd_error err = { 0 };
	struct store *st = NULL;
	bool fresh = argc == 4 && strcmp(argv[2], "fresh") == 0;
	int r;

	if (argc < 2 || argc > 4 ||
	    (argc == 3 && strcmp(argv[2], "more") != 0 && strcmp(argv[2], "long") != 0) ||
	    (argc == 4 && !fresh) || sodium_init() < 0)
		return 2;
	r = store_open(argv[1], &st, &err);
	if (r == 0 && fresh)
		r = seed_fresh(st, argv[3], &err);
	else if (r == 0)
		r = seed_first(st, &err);
	if (r == 0 && argc == 3)
		r = strcmp(argv[2], "long") == 0 ? seed_long(st, &err) : seed_more(st, &err);
	store_close(st);
	if (r)
		fprintf(stderr, "seed_store: %s\n", err.msg);
	return r ? 1 : 0;
}

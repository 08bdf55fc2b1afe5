/*
 * Unit tests of store/: each test gets a fresh temporary directory and
 * database; raw SQL (the sqlite3 API) plays the tamperer and checks what
 * people will see with the sqlite3 shell.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/fdt-store-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/firedrill.db", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	const char *suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[160];

	store_close(fx->st);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", fx->path, suffix[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static struct store *open_store(struct fixture *fx)
{
	struct fd_error err = { 0 };
	int rc = store_open(fx->path, &fx->st, &err);

	if (rc)
		fail_msg("store_open: %s", err.msg);
	return fx->st;
}

/* Runs SQL on its own connection (the "sqlite3 shell"). */
static void raw_exec(const char *path, const char *fmt, ...)
{
	sqlite3 *db = NULL;
	char *sql, *emsg = NULL;
	va_list ap;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &emsg) != SQLITE_OK)
		fail_msg("raw sql \"%s\": %s", sql, emsg);
	sqlite3_free(sql);
	sqlite3_close(db);
}

/* First column of the first row as text ("NULL" for NULL). */
static void raw_query(const char *path, char *out, size_t n, const char *fmt, ...)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *sql;
	va_list ap;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	if (sqlite3_column_type(s, 0) == SQLITE_NULL)
		snprintf(out, n, "NULL");
	else
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_free(sql);
	sqlite3_close(db);
}

/* Takes a store back to what version 5 had (before migration 6). */
static void undo_v6(const char *path)
{
	raw_exec(path, "DROP TABLE flows");
}

/* Takes a store back to what version 4 had (before migrations 5 and 6). */
static void undo_v5(const char *path)
{
	undo_v6(path);
	raw_exec(path, "DROP VIEW findings");
	raw_exec(path, "DROP VIEW actions");
	raw_exec(path, "DROP VIEW signoffs");
	raw_exec(path, "DROP TABLE records");
	raw_exec(path, "ALTER TABLE drills DROP COLUMN description");
	raw_exec(path, "ALTER TABLE drills DROP COLUMN scope_rationale");
	raw_exec(path, "ALTER TABLE drills DROP COLUMN participants");
	raw_exec(path, "ALTER TABLE drills DROP COLUMN prove_every_ns");
}

static int64_t begin_drill(struct store *st, const char *scenario, const char *env, int pid)
{
	struct store_drill d = { 0 };
	struct fd_error err = { 0 };

	snprintf(d.scenario_name, sizeof(d.scenario_name), "%s", scenario);
	snprintf(d.environment, sizeof(d.environment), "%s", env);
	snprintf(d.operator_name, sizeof(d.operator_name), "alice");
	snprintf(d.tool_version, sizeof(d.tool_version), "0.1.0");
	d.iterations_planned = 2;
	d.holder_pid = pid;
	if (store_begin_drill(st, &d, &err))
		fail_msg("store_begin_drill: %s", err.msg);
	assert_true(d.id > 0);
	assert_string_equal(d.hash, "");
	return d.id;
}

static int64_t begin_iteration(struct store *st, int64_t drill, int number)
{
	struct store_iteration it = { .drill_id = drill, .number = number };
	struct fd_error err = { 0 };

	if (store_begin_iteration(st, &it, &err))
		fail_msg("store_begin_iteration: %s", err.msg);
	return it.id;
}

static void finish_recovered(struct store *st, int64_t id, double rto)
{
	struct store_iteration it = {
		.id = id, .outcome = STORE_OUTCOME_RECOVERED, .t0_real_ns = 1700000000000000000,
		.t0_mono_ns = 5000, .has_rto = true, .rto_ms = rto, .has_rpo = true,
		.rpo_ms = 120.5, .writes_acked = 40, .writes_acked_outage = 7, .lost_writes = 2,
		.has_detect = true, .detect_ms = 250, .has_first_success = true,
		.first_success_ms = rto - 100, .error_bound_ms = 200, .objectives_met = true,
		.has_rto_bounds = true, .rto_early_ms = 30.5, .rto_late_ms = 200,
	};
	struct fd_error err = { 0 };

	if (store_finish_iteration(st, &it, &err))
		fail_msg("store_finish_iteration: %s", err.msg);
	assert_int_equal(strlen(it.hash), 64);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_open_migrate_reopen(void **state)
{
	struct fixture *fx = *state;
	char v[64];


	open_store(fx);
	assert_int_equal(store_schema_version(fx->st), 6);
	store_close(fx->st);
	fx->st = NULL;
	open_store(fx);
	assert_int_equal(store_schema_version(fx->st), 6);
	raw_query(fx->path, v, sizeof(v), "SELECT count(*) FROM pragma_table_info('iterations')"
		  " WHERE name IN ('rto_early_ms', 'rto_late_ms')");
	assert_string_equal(v, "2");
	raw_query(fx->path, v, sizeof(v), "PRAGMA journal_mode");
	assert_string_equal(v, "wal");
	raw_query(fx->path, v, sizeof(v), "PRAGMA application_id");
	assert_string_equal(v, "1178882609");
	raw_query(fx->path, v, sizeof(v), "SELECT count(*) FROM sqlite_schema WHERE name IN "
		  "('scenarios','drills','iterations','events','samples','laps','faults','flows')");
	assert_string_equal(v, "8");
}

/* The objectives are stored with the drill and read back exactly (schema version 3). */
static void test_drill_objectives(void **state)
{
	struct fixture *fx = *state;
	struct store_drill d = { 0 }, got;
	struct fd_error err = { 0 };

	open_store(fx);
	snprintf(d.scenario_name, sizeof(d.scenario_name), "objectives");
	snprintf(d.environment, sizeof(d.environment), "test");
	d.objectives_recorded = true;
	d.has_rto_objective = true;
	d.rto_objective_ns = INT64_C(300000000001);
	snprintf(d.recovery_criterion, sizeof(d.recovery_criterion), "all of [a, b] stable 2s within 5m");
	assert_int_equal(store_begin_drill(fx->st, &d, &err), 0);
	assert_int_equal(store_get_drill(fx->st, d.id, &got, &err), 0);
	assert_true(got.objectives_recorded);
	assert_true(got.has_rto_objective);
	assert_int_equal(got.rto_objective_ns, INT64_C(300000000001));
	assert_false(got.has_rpo_objective); /* the scenario set none: absent, not 0 */
	assert_string_equal(got.recovery_criterion, "all of [a, b] stable 2s within 5m");
	assert_int_equal(got.prove_every_ns, 0); /* no prove-every: NULL, read as 0 */

	/* schema version 5: prove-every, stored with the drill */
	d.id = 0;
	d.prove_every_ns = INT64_C(90) * 86400 * 1000000000;
	assert_int_equal(store_begin_drill(fx->st, &d, &err), 0);
	assert_int_equal(store_get_drill(fx->st, d.id, &got, &err), 0);
	assert_int_equal(got.prove_every_ns, INT64_C(90) * 86400 * 1000000000);
}

/*
 * A version-4 store (made here by dropping the version-5 column) migrates,
 * its sealed drill reads prove-every 0 and still verifies (a NULL column
 * added later is left out of the hash).
 */
static void test_migrate_v4_prove_every(void **state)
{
	struct fixture *fx = *state;
	struct store_drill got;
	struct fd_error err = { 0 };
	char v[64];
	int64_t id;

	open_store(fx);
	id = begin_drill(fx->st, "old", "prod", 0);
	assert_int_equal(store_finish_drill(fx->st, id, STORE_OUTCOME_RECOVERED, true, 0, &err), 0);
	store_close(fx->st);
	fx->st = NULL;
	undo_v5(fx->path);
	raw_exec(fx->path, "PRAGMA user_version = 4");
	open_store(fx);
	assert_int_equal(store_schema_version(fx->st), 6);
	raw_query(fx->path, v, sizeof(v), "SELECT count(*) FROM pragma_table_info('drills')"
		  " WHERE name = 'prove_every_ns'");
	assert_string_equal(v, "1");
	assert_int_equal(store_get_drill(fx->st, id, &got, &err), 0);
	assert_int_equal(got.prove_every_ns, 0);
	if (store_verify_chain(fx->st, &err) != 0)
		fail_msg("a drill sealed before version 5 no longer verifies: %s", err.msg);
	/* a period of 0 or less is refused by the column's check */
	{
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(db, "UPDATE drills SET prove_every_ns = 0", NULL,
						  NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
}

/*
 * A version-2 store (made here by dropping the version-3 columns) migrates,
 * keeps its drill, and that drill's objectives read as not recorded.
 */
static void test_migrate_v2_objectives_unknown(void **state)
{
	struct fixture *fx = *state;
	struct store_drill got;
	struct fd_error err = { 0 };
	int64_t id;

	open_store(fx);
	id = begin_drill(fx->st, "old", "prod", 0);
	store_close(fx->st);
	fx->st = NULL;
	undo_v5(fx->path);
	raw_exec(fx->path, "ALTER TABLE drills DROP COLUMN recovery_criterion");
	raw_exec(fx->path, "ALTER TABLE drills DROP COLUMN rpo_objective_ns");
	raw_exec(fx->path, "ALTER TABLE drills DROP COLUMN rto_objective_ns");
	raw_exec(fx->path, "ALTER TABLE drills DROP COLUMN objectives_recorded");
	/* and the version-4 seal columns, which come after */
	raw_exec(fx->path, "ALTER TABLE events DROP COLUMN seal");
	raw_exec(fx->path, "ALTER TABLE samples DROP COLUMN seal");
	raw_exec(fx->path, "ALTER TABLE laps DROP COLUMN seal");
	raw_exec(fx->path, "ALTER TABLE faults DROP COLUMN seal");
	raw_exec(fx->path, "ALTER TABLE scenarios DROP COLUMN seal");
	raw_exec(fx->path, "ALTER TABLE drills DROP COLUMN evidence");
	raw_exec(fx->path, "ALTER TABLE iterations DROP COLUMN evidence");
	raw_exec(fx->path, "PRAGMA user_version = 2");
	open_store(fx);
	assert_int_equal(store_schema_version(fx->st), 6);
	assert_int_equal(store_get_drill(fx->st, id, &got, &err), 0);
	assert_string_equal(got.scenario_name, "old");
	assert_false(got.objectives_recorded);
	assert_false(got.has_rto_objective);
	assert_string_equal(got.recovery_criterion, "");
}

/* A finished drill for the freshness read; o RUNNING leaves it running. */
static int64_t fresh_drill(struct store *st, const char *scenario, const char *env, int64_t start_s,
			   char sha, enum store_outcome o, bool met, int64_t prove_every_ns)
{
	struct store_drill d = { .started_real_ns = start_s * 1000000000,
				 .prove_every_ns = prove_every_ns };
	struct fd_error err = { 0 };

	snprintf(d.scenario_name, sizeof(d.scenario_name), "%s", scenario);
	snprintf(d.environment, sizeof(d.environment), "%s", env);
	memset(d.scenario_sha256, sha, 64);
	d.scenario_sha256[64] = '\0';
	if (store_begin_drill(st, &d, &err))
		fail_msg("store_begin_drill: %s", err.msg);
	if (o != STORE_OUTCOME_RUNNING &&
	    store_finish_drill(st, d.id, o, met, d.started_real_ns + 1, &err))
		fail_msg("store_finish_drill: %s", err.msg);
	return d.id;
}

static void sha_of(char *out, char c)
{
	memset(out, c, 64);
	out[64] = '\0';
}

/*
 * store_list_freshness: per scenario x environment, the newest finished
 * drill and the newest proven one (recovered and objectives met), running
 * drills left out, ties on the start broken by id, the environment filter.
 */
static void test_freshness(void **state)
{
	struct fixture *fx = *state;
	struct store_freshness *f = NULL;
	struct fd_error err = { 0 };
	const int64_t day = INT64_C(86400) * 1000000000;
	char sha[65];
	size_t n = 0;
	int64_t a1, a2, b2;

	open_store(fx);
	a1 = fresh_drill(fx->st, "a", "prod", 100, 'a', STORE_OUTCOME_RECOVERED, true, 0);
	a2 = fresh_drill(fx->st, "a", "prod", 200, 'b', STORE_OUTCOME_NOT_RECOVERED, false, 30 * day);
	fresh_drill(fx->st, "a", "prod", 300, 'c', STORE_OUTCOME_RUNNING, false, 0);
	/* recovered, but objectives missed: not proven */
	fresh_drill(fx->st, "a", "staging", 150, 'd', STORE_OUTCOME_RECOVERED, false, 0);
	/* met but not recovered cannot happen in a drill; the store still asks for both */
	fresh_drill(fx->st, "a", "staging", 160, 'd', STORE_OUTCOME_ABORTED, true, 0);
	fresh_drill(fx->st, "b", "prod", 50, 'e', STORE_OUTCOME_RECOVERED, true, 0);
	b2 = fresh_drill(fx->st, "b", "prod", 50, 'f', STORE_OUTCOME_RECOVERED, true, 90 * day);

	assert_int_equal(store_list_freshness(fx->st, NULL, &f, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(f[0].scenario, "a");
	assert_string_equal(f[0].environment, "prod");
	assert_int_equal(f[0].n_drills, 2); /* the running drill is left out */
	assert_int_equal(f[0].last_drill_id, a2);
	assert_int_equal(f[0].last_drilled_real_ns, 200 * INT64_C(1000000000));
	sha_of(sha, 'b');
	assert_string_equal(f[0].last_drilled_sha256, sha);
	assert_int_equal(f[0].prove_every_ns, 30 * day);
	assert_true(f[0].proven);
	assert_int_equal(f[0].last_proven_drill_id, a1);
	assert_int_equal(f[0].last_proven_real_ns, 100 * INT64_C(1000000000));
	sha_of(sha, 'a');
	assert_string_equal(f[0].last_proven_sha256, sha);

	assert_string_equal(f[1].environment, "staging");
	assert_false(f[1].proven);
	assert_int_equal(f[1].last_proven_real_ns, 0);
	assert_string_equal(f[1].last_proven_sha256, "");
	assert_int_equal(f[1].prove_every_ns, 0);

	assert_string_equal(f[2].scenario, "b");
	assert_int_equal(f[2].last_drill_id, b2); /* same start: the later id */
	assert_int_equal(f[2].last_proven_drill_id, b2);
	assert_int_equal(f[2].prove_every_ns, 90 * day);
	free(f);

	assert_int_equal(store_list_freshness(fx->st, "staging", &f, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].scenario, "a");
	assert_string_equal(f[0].environment, "staging");
	free(f);
	assert_int_equal(store_list_freshness(fx->st, "nowhere", &f, &n, &err), 0);
	assert_int_equal(n, 0);
	free(f);
}

static void test_refuses_foreign_and_newer(void **state)
{
	struct fixture *fx = *state;
	struct fd_error err = { 0 };

	raw_exec(fx->path, "CREATE TABLE shopping (item TEXT)");
	assert_int_not_equal(store_open(fx->path, &fx->st, &err), 0);
	assert_null(fx->st);
	assert_int_equal(err.kind, FD_ERR_ENV);
	assert_non_null(strstr(err.msg, "not a firedrill store"));

	raw_exec(fx->path, "DROP TABLE shopping");
	open_store(fx);
	store_close(fx->st);
	fx->st = NULL;
	raw_exec(fx->path, "PRAGMA user_version = 99");
	assert_int_not_equal(store_open(fx->path, &fx->st, &err), 0);
	assert_int_equal(err.kind, FD_ERR_ENV);
	assert_non_null(strstr(err.msg, "newer firedrill"));
}

static void test_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	int64_t scen = 0, again = 0;
	char *text = NULL, sha[65];

	assert_int_equal(store_put_scenario(st, "region-drop", NULL, "name: region-drop\n", &scen, &err), 0);
	assert_int_equal(store_put_scenario(st, "region-drop", NULL, "name: region-drop\n", &again, &err), 0);
	assert_int_equal(scen, again);
	assert_int_equal(store_get_scenario_text(st, scen, &text, sha, &err), 0);
	assert_string_equal(text, "name: region-drop\n");
	free(text);
	assert_int_equal(store_put_scenario(st, "x", "00", "other", &again, &err), -EINVAL);

	struct store_drill d = { .scenario_id = scen, .iterations_planned = 2 };
	snprintf(d.environment, sizeof(d.environment), "staging");
	snprintf(d.operator_name, sizeof(d.operator_name), "alice");
	snprintf(d.note, sizeof(d.note), "lab tuning: fast failover");
	assert_int_equal(store_begin_drill(st, &d, &err), 0);
	assert_string_equal(d.scenario_name, "region-drop");
	assert_int_equal(d.holder_pid, getpid());

	int64_t it1 = begin_iteration(st, d.id, 1);
	struct store_event ev = { .drill_id = d.id, .iteration_id = it1 };
	snprintf(ev.kind, sizeof(ev.kind), "fault-applied");
	snprintf(ev.subject, sizeof(ev.subject), "drop-east");
	assert_int_equal(store_add_event(st, &ev, &err), 0);
	struct store_event ev2 = { .drill_id = d.id };
	snprintf(ev2.kind, sizeof(ev2.kind), "phase");
	snprintf(ev2.subject, sizeof(ev2.subject), "revert");
	assert_int_equal(store_add_event(st, &ev2, &err), 0);
	/* Recorded last, dated between the two (a probe-up dated by its send). */
	struct store_event ev3 = { .drill_id = d.id, .iteration_id = it1,
				   .mono_ns = ev.mono_ns + 1 };
	snprintf(ev3.kind, sizeof(ev3.kind), "probe-up");
	assert_true(ev2.mono_ns > ev3.mono_ns);
	assert_int_equal(store_add_event(st, &ev3, &err), 0);

	struct store_sample smp[5];
	memset(smp, 0, sizeof(smp));
	for (int i = 0; i < 5; i++) {
		smp[i].iteration_id = it1;
		snprintf(smp[i].probe, sizeof(smp[i].probe), "%s", i < 4 ? "api" : "db");
		smp[i].mono_ns = 1000 + i;
		smp[i].ok = i != 1;
		smp[i].latency_ns = (i + 1) * 1000000;
	}
	assert_int_equal(store_add_samples(st, smp, 5, &err), 0);
	struct store_lap lap = { .iteration_id = it1, .step = 0, .manual = true,
				 .started_mono_ns = 10, .ended_mono_ns = 20, .duration_ms = 1500, .ok = true };
	snprintf(lap.name, sizeof(lap.name), "promote replica");
	assert_int_equal(store_add_lap(st, &lap, &err), 0);
	finish_recovered(st, it1, 4200.25);

	int64_t it2 = begin_iteration(st, d.id, 2);
	struct store_iteration nr = { .id = it2, .outcome = STORE_OUTCOME_NOT_RECOVERED,
				      .writes_acked = 10, .error_bound_ms = 200 };
	snprintf(nr.detail, sizeof(nr.detail), "no stable window within 5m");
	assert_int_equal(store_finish_iteration(st, &nr, &err), 0);
	assert_int_equal(store_finish_drill(st, d.id, STORE_OUTCOME_NOT_RECOVERED, false, 0, &err), 0);

	struct store_drill got;
	assert_int_equal(store_get_drill(st, d.id, &got, &err), 0);
	assert_string_equal(got.scenario_name, "region-drop");
	assert_string_equal(got.scenario_sha256, sha);
	assert_string_equal(got.environment, "staging");
	assert_string_equal(got.note, "lab tuning: fast failover");
	assert_int_equal(got.outcome, STORE_OUTCOME_NOT_RECOVERED);
	assert_int_equal(strlen(got.hash), 64);
	assert_true(got.ended_real_ns >= got.started_real_ns);

	struct store_iteration *its = NULL;
	size_t n = 0;
	assert_int_equal(store_list_iterations(st, d.id, &its, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(its[0].outcome, STORE_OUTCOME_RECOVERED);
	assert_true(its[0].has_rto);
	assert_true(its[0].rto_ms == 4200.25);
	assert_true(its[0].has_rto_bounds);
	assert_true(its[0].rto_early_ms == 30.5);
	assert_true(its[0].rto_late_ms == 200);
	assert_int_equal(its[0].lost_writes, 2);
	assert_int_equal(its[0].writes_acked_outage, 7);
	assert_true(its[0].objectives_met);
	assert_false(its[1].has_rto);
	assert_false(its[1].has_rpo);
	assert_false(its[1].has_detect);
	assert_false(its[1].has_rto_bounds); /* not recovered: no bound of an RTO */
	assert_string_equal(its[1].detail, "no stable window within 5m");
	free(its);

	struct store_event *evs = NULL;
	assert_int_equal(store_list_events(st, d.id, &evs, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(evs[0].subject, "drop-east");
	assert_int_equal(evs[0].iteration_id, it1);
	assert_string_equal(evs[1].kind, "probe-up"); /* event-time order, not insertion */
	assert_int_equal(evs[2].iteration_id, 0);
	free(evs);

	struct store_lap *laps = NULL;
	assert_int_equal(store_list_laps(st, it1, &laps, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(laps[0].name, "promote replica");
	assert_true(laps[0].manual);
	assert_true(laps[0].duration_ms == 1500);
	free(laps);

	struct store_probe_stats *ps = NULL;
	assert_int_equal(store_probe_stats(st, it1, &ps, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ps[0].probe, "api");
	assert_int_equal(ps[0].samples, 4);
	assert_int_equal(ps[0].ok, 3);
	assert_true(ps[0].latency_p50_ms == 3.0); /* ok latencies 1, 3, 4 ms */
	assert_true(ps[0].latency_p99_ms == 4.0);
	free(ps);

	assert_int_equal(store_verify_chain(st, &err), 0);
}

static void test_null_semantics(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	int64_t drill = begin_drill(st, "s", "dev", 0);
	int64_t it1 = begin_iteration(st, drill, 1), it2 = begin_iteration(st, drill, 2);
	char v[64];

	finish_recovered(st, it1, 1000);
	struct store_iteration nr = { .id = it2, .outcome = STORE_OUTCOME_NOT_RECOVERED, .writes_acked = 3 };
	assert_int_equal(store_finish_iteration(st, &nr, &err), 0);

	raw_query(fx->path, v, sizeof(v), "SELECT typeof(rto_ms) FROM iterations WHERE id = %lld", (long long)it1);
	assert_string_equal(v, "real");
	raw_query(fx->path, v, sizeof(v),
		  "SELECT quote(rto_ms) || quote(rpo_ms) || quote(lost_writes) || quote(detect_ms)"
		  " || quote(first_success_ms) || quote(failback_ms) || quote(t0_utc)"
		  " FROM iterations WHERE id = %lld", (long long)it2);
	assert_string_equal(v, "NULLNULLNULLNULLNULLNULLNULL");
	raw_query(fx->path, v, sizeof(v), "SELECT writes_acked FROM iterations WHERE id = %lld", (long long)it2);
	assert_string_equal(v, "3");
	raw_query(fx->path, v, sizeof(v), "SELECT outcome FROM iterations WHERE id = %lld", (long long)it2);
	assert_string_equal(v, "not-recovered");
	raw_query(fx->path, v, sizeof(v), "SELECT count(*) FROM drill_iterations WHERE rto_ms IS NULL");
	assert_string_equal(v, "1");
	/* A running drill has no end and no verdict yet. */
	raw_query(fx->path, v, sizeof(v), "SELECT quote(ended_utc) || quote(objectives_met) FROM drills");
	assert_string_equal(v, "NULLNULL");
}

static void test_sealed_rows_are_final(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	int64_t drill = begin_drill(st, "s", "dev", 0);
	int64_t it = begin_iteration(st, drill, 1);

	finish_recovered(st, it, 10);
	struct store_iteration again = { .id = it, .outcome = STORE_OUTCOME_RECOVERED };
	assert_int_not_equal(store_finish_iteration(st, &again, &err), 0);
	assert_int_equal(err.kind, FD_ERR_INTERNAL);
	assert_non_null(strstr(err.msg, "already finished"));
	struct store_iteration running = { .id = it, .outcome = STORE_OUTCOME_RUNNING };
	assert_int_equal(store_finish_iteration(st, &running, &err), -EINVAL);

	/* An iteration still open when the drill finishes is sealed as aborted. */
	begin_iteration(st, drill, 2);
	assert_int_equal(store_finish_drill(st, drill, STORE_OUTCOME_RECOVERED, true, 0, &err), 0);
	assert_int_not_equal(store_finish_drill(st, drill, STORE_OUTCOME_RECOVERED, true, 0, &err), 0);
	char v[64];
	raw_query(fx->path, v, sizeof(v), "SELECT outcome FROM iterations WHERE number = 2");
	assert_string_equal(v, "aborted");
	assert_int_equal(store_verify_chain(st, &err), 0);
}

static void test_journal(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	struct store_fault *act = NULL;
	size_t n = 0;
	char spec[] = "{\"table\":\"firedrill\",\"cidrs\":[\"10.250.0.0/24\"]}";
	struct store_fault f = { .spec = spec, .holder_pid = 4242, .max_duration_ns = 60000000000 };

	snprintf(f.fault_id, sizeof(f.fault_id), "drop-east");
	snprintf(f.kind, sizeof(f.kind), "drop");
	snprintf(f.netns, sizeof(f.netns), "fdt-store");
	assert_int_equal(store_journal_plan(st, &f, &err), 0);
	assert_true(f.id > 0);

	assert_int_equal(store_journal_list_active(st, &act, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(act[0].state, JOURNAL_PLANNED);
	assert_string_equal(act[0].spec, spec);
	assert_string_equal(act[0].netns, "fdt-store");
	assert_int_equal(act[0].drill_id, 0);
	store_faults_free(act, n);

	assert_int_equal(store_journal_set_spec(st, f.id, "{\"resolved\":[\"10.250.0.1\"]}", &err), 0);
	assert_int_equal(store_journal_set_spec(st, f.id, "{not json", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not valid JSON"));
	assert_int_equal(store_journal_set_state(st, f.id, JOURNAL_APPLIED, 1000000000, "set of 1", &err), 0);
	assert_int_equal(store_journal_list_active(st, &act, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(act[0].state, JOURNAL_APPLIED);
	assert_int_equal(act[0].applied_real_ns, 1000000000);
	assert_int_equal(act[0].expires_real_ns, 61000000000);
	assert_string_equal(act[0].spec, "{\"resolved\":[\"10.250.0.1\"]}");
	store_faults_free(act, n);

	assert_int_equal(store_journal_set_state(st, f.id, JOURNAL_REVERTED, 2000000000, "table deleted", &err), 0);
	assert_int_equal(store_journal_set_state(st, f.id, JOURNAL_REVERTED, 3000000000, "already gone", &err), 0);
	assert_int_equal(store_journal_list_active(st, &act, &n, &err), 0);
	assert_int_equal(n, 0);
	store_faults_free(act, n);
	assert_int_equal(store_journal_set_state(st, f.id, JOURNAL_APPLIED, 0, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cannot go from reverted to applied"));

	char v[128];
	raw_query(fx->path, v, sizeof(v), "SELECT reverted_real_ns || ' ' || detail FROM faults");
	assert_string_equal(v, "2000000000 set of 1\ntable deleted\nalready gone");

	struct store_fault bad = { .spec = (char *)"[1, 2" };
	snprintf(bad.fault_id, sizeof(bad.fault_id), "b");
	snprintf(bad.kind, sizeof(bad.kind), "exec");
	assert_int_equal(store_journal_plan(st, &bad, &err), -EINVAL);
	assert_int_equal(store_journal_list_active(st, &act, &n, &err), 0);
	assert_int_equal(n, 0);
	store_faults_free(act, n);
}

static void make_chain(struct store *st, int64_t *drill, int64_t *it1, int64_t *it2)
{
	struct fd_error err = { 0 };

	*drill = begin_drill(st, "chain", "dev", 0);
	*it1 = begin_iteration(st, *drill, 1);
	finish_recovered(st, *it1, 4000);
	*it2 = begin_iteration(st, *drill, 2);
	finish_recovered(st, *it2, 3000);
	assert_int_equal(store_finish_drill(st, *drill, STORE_OUTCOME_RECOVERED, true, 0, &err), 0);
	assert_int_equal(store_verify_chain(st, &err), 0);
}

static void test_chain_tamper_content(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	int64_t drill, it1, it2;
	char want[64];

	make_chain(st, &drill, &it1, &it2);
	raw_exec(fx->path, "UPDATE iterations SET rto_ms = 900.0 WHERE id = %lld", (long long)it1);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	snprintf(want, sizeof(want), "iterations row %lld ", (long long)it1);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "rto_ms (now 900)"));
	assert_null(strstr(err.msg, "outcome"));
}

static void test_chain_tamper_link(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	int64_t drill, it1, it2;
	char want[80];

	make_chain(st, &drill, &it1, &it2);
	/* Rewrite row 1 completely, hash and digests included: row 2's link breaks. */
	raw_exec(fx->path, "UPDATE iterations SET hash = '%s' WHERE id = %lld",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", (long long)it1);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	snprintf(want, sizeof(want), "iterations row %lld: prev_hash does not match row %lld's hash",
		 (long long)it2, (long long)it1);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "its hash column was changed"));
}

static void test_chain_tamper_drill_and_unseal(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	int64_t drill, it1, it2;
	char want[80];

	make_chain(st, &drill, &it1, &it2);
	raw_exec(fx->path, "UPDATE drills SET outcome = 'recovered', objectives_met = 1, "
		 "operator = 'mallory' WHERE id = %lld", (long long)drill);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	snprintf(want, sizeof(want), "drills row %lld ", (long long)drill);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "operator (now \"mallory\")"));

	raw_exec(fx->path, "UPDATE drills SET operator = 'alice' WHERE id = %lld", (long long)drill);
	assert_int_equal(store_verify_chain(st, &err), 0);
	raw_exec(fx->path, "UPDATE iterations SET chain_seq = NULL, hash = NULL WHERE id = %lld",
		 (long long)it2);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	snprintf(want, sizeof(want), "iterations row %lld: outcome \"recovered\" but not in the hash chain",
		 (long long)it2);
	assert_non_null(strstr(err.msg, want));
}

static void test_chain_scenario_text(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	int64_t scen;

	assert_int_equal(store_put_scenario(st, "s", NULL, "rto: 5m\n", &scen, &err), 0);
	raw_exec(fx->path, "UPDATE scenarios SET content = 'rto: 50m' WHERE id = %lld", (long long)scen);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "scenarios row 1: content no longer hashes"));
}

/* ---- sealed evidence --------------------------------------------------------- */

static void add_event(struct store *st, int64_t drill, int64_t it, const char *kind,
		      const char *detail)
{
	struct store_event ev = { .drill_id = drill, .iteration_id = it };
	struct fd_error err = { 0 };

	snprintf(ev.kind, sizeof(ev.kind), "%s", kind);
	snprintf(ev.detail, sizeof(ev.detail), "%s", detail);
	if (store_add_event(st, &ev, &err))
		fail_msg("store_add_event: %s", err.msg);
}

static void add_samples(struct store *st, int64_t it, int n, int failing)
{
	struct store_sample smp[8] = { 0 };
	struct fd_error err = { 0 };

	for (int i = 0; i < n; i++) {
		smp[i] = (struct store_sample){ .iteration_id = it, .mono_ns = 1000 + i,
						.ok = i != failing, .latency_ns = 2000000 + i };
		snprintf(smp[i].probe, sizeof(smp[i].probe), "web");
	}
	if (store_add_samples(st, smp, (size_t)n, &err))
		fail_msg("store_add_samples: %s", err.msg);
}

static void add_lap(struct store *st, int64_t it, int step)
{
	struct store_lap lap = { .iteration_id = it, .step = step, .started_mono_ns = 10,
				 .ended_mono_ns = 2500010, .duration_ms = 2.5, .ok = true };
	struct fd_error err = { 0 };

	snprintf(lap.name, sizeof(lap.name), "step %d", step);
	if (store_add_lap(st, &lap, &err))
		fail_msg("store_add_lap: %s", err.msg);
}

static void add_fault(struct store *st, int64_t drill)
{
	struct store_fault f = { .drill_id = drill, .spec = (char *)"{\"table\":\"fd\"}" };
	struct fd_error err = { 0 };

	snprintf(f.fault_id, sizeof(f.fault_id), "drop-east");
	snprintf(f.kind, sizeof(f.kind), "drop");
	assert_int_equal(store_journal_plan(st, &f, &err), 0);
	assert_int_equal(store_journal_set_state(st, f.id, JOURNAL_APPLIED, 1000000000, "set", &err), 0);
	assert_int_equal(store_journal_set_state(st, f.id, JOURNAL_REVERTED, 2000000000, "gone", &err), 0);
}

/*
 * Drill 1 (scenario 1) with events 1..3, fault 1; iteration 1: samples 1..4
 * (2 failing), laps 1..2; iteration 2: samples 5..6. Verifies intact.
 */
static void make_evidence(const char *path)
{
	struct store_drill d = { .iterations_planned = 2 };
	struct fd_error err = { 0 };
	struct store *st = NULL;
	int64_t scen, it1, it2;

	assert_int_equal(store_open(path, &st, &err), 0);
	assert_int_equal(store_put_scenario(st, "ev", NULL, "rto: 5m\n", &scen, &err), 0);
	d.scenario_id = scen;
	snprintf(d.environment, sizeof(d.environment), "dev");
	if (store_begin_drill(st, &d, &err))
		fail_msg("store_begin_drill: %s", err.msg);
	add_event(st, d.id, 0, "phase", "steady");
	add_fault(st, d.id);
	it1 = begin_iteration(st, d.id, 1);
	add_event(st, d.id, it1, "probe-down", "timeout");
	add_samples(st, it1, 3, 1);
	add_lap(st, it1, 0);
	add_samples(st, it1, 1, -1); /* a second batch continues the sequence */
	add_lap(st, it1, 1);
	finish_recovered(st, it1, 4000);
	it2 = begin_iteration(st, d.id, 2);
	add_samples(st, it2, 2, -1);
	finish_recovered(st, it2, 3000);
	add_event(st, d.id, 0, "phase", "done");
	assert_int_equal(store_finish_drill(st, d.id, STORE_OUTCOME_RECOVERED, true, 0, &err), 0);
	if (store_verify_chain(st, &err))
		fail_msg("fresh evidence does not verify: %s", err.msg);
	store_close(st);
}

struct tamper {
	const char *sql;
	const char *want[2]; /* substrings verify must name */
};

static const struct tamper tampers[] = {
	{ "UPDATE events SET detail = 'forged' WHERE id = 2",
	  { "events row 2 (drill 1): changed after sealing: detail (now \"forged\")" } },
	{ "DELETE FROM events WHERE id = 2",
	  { "events: 1 row(s) of drill 1 removed after sealing (sealed positions 2..2, before row 3)" } },
	{ "INSERT INTO events (drill_id, mono_ns, real_ns, utc, kind) VALUES (1, 1, 1, 'x', 'note')",
	  { "events row 4 (drill 1): not in the sealed evidence (inserted after sealing)" } },
	{ "UPDATE samples SET ok = 1 WHERE id = 2",
	  { "samples row 2 (iteration 1 of drill 1): changed after sealing: ok (now 1)" } },
	{ "DELETE FROM samples WHERE id = 4",
	  { "samples: 1 row(s) of iteration 1 of drill 1 removed after sealing (sealed positions "
	    "4..4, after row 3)" } },
	{ "INSERT INTO samples (iteration_id, probe, mono_ns, ok) VALUES (1, 'web', 1, 1)",
	  { "samples row 7 (iteration 1 of drill 1): not in the sealed evidence" } },
	{ "UPDATE laps SET duration_ms = 1.0 WHERE id = 1",
	  { "laps row 1 (iteration 1 of drill 1): changed after sealing: duration_ms (now 1)" } },
	{ "DELETE FROM laps WHERE id = 1",
	  { "laps: 1 row(s) of iteration 1 of drill 1 removed after sealing (sealed positions "
	    "1..1, before row 2)" } },
	{ "INSERT INTO laps (iteration_id, step, name, manual, ok) VALUES (1, 2, 'extra', 0, 1)",
	  { "laps row 3 (iteration 1 of drill 1): not in the sealed evidence" } },
	{ "UPDATE faults SET applied_real_ns = 500000000 WHERE id = 1",
	  { "faults row 1 (drill 1): changed after sealing: applied_real_ns (now 500000000)" } },
	{ "DELETE FROM faults WHERE id = 1",
	  { "faults: 1 row(s) of drill 1 removed after sealing (sealed positions 1..1, none left)" } },
	{ "INSERT INTO faults (drill_id, fault_id, kind, state, planned_real_ns, planned_utc)"
	  " VALUES (1, 'x', 'drop', 'reverted', 1, 'x')",
	  { "faults row 2 (drill 1): not in the sealed evidence" } },
	{ "UPDATE scenarios SET content = 'rto: 50m' WHERE id = 1",
	  { "scenarios row 1 (drill 1): changed after sealing: content (now \"rto: 50m\")",
	    "scenarios row 1: content no longer hashes" } },
	{ "DELETE FROM scenarios WHERE id = 1",
	  { "scenarios: 1 row(s) of drill 1 removed after sealing" } },
	{ "INSERT INTO scenarios (name, sha256, content, first_seen_real_ns, first_seen_utc)"
	  " VALUES ('x', '" "0000000000000000000000000000000000000000000000000000000000000000"
	  "', 'x', 1, 'x')",
	  { "scenarios row 2: no seal: inserted by hand" } },
	{ "UPDATE drills SET note = 'all fine' WHERE id = 1",
	  { "drills row 1 (chain entry 1): content does not match its hash: changed after "
	    "sealing: note (now \"all fine\")" } },
	{ "DELETE FROM drills WHERE id = 1",
	  { "drills row 1 removed: 3 events row(s) still name it (first: row 1)",
	    "drills row 1 removed: 2 iterations row(s) still name it" } },
	{ "INSERT INTO drills (scenario, started_real_ns, started_utc, outcome)"
	  " VALUES ('x', 1, 'x', 'recovered')",
	  { "drills row 2: outcome \"recovered\" but not in the hash chain" } },
	{ "UPDATE iterations SET rto_ms = 900.0 WHERE id = 1",
	  { "iterations row 1 (chain entry 1): content does not match its hash: changed after "
	    "sealing: rto_ms (now 900)" } },
	/* columns added after the chain (schema 2, 3): covered too */
	{ "UPDATE drills SET rto_objective_ns = 3600000000000 WHERE id = 1",
	  { "drills row 1 (chain entry 1): content does not match its hash: changed after "
	    "sealing: rto_objective_ns (was NULL, now 3600000000000)" } },
	{ "UPDATE drills SET prove_every_ns = 7776000000000000 WHERE id = 1",
	  { "drills row 1 (chain entry 1): content does not match its hash: changed after "
	    "sealing: prove_every_ns (was NULL, now 7776000000000000)" } },
	{ "UPDATE drills SET recovery_criterion = 'any of [web]' WHERE id = 1",
	  { "drills row 1 (chain entry 1): content does not match its hash: changed after "
	    "sealing: recovery_criterion (was NULL, now \"any of [web]\")" } },
	{ "UPDATE iterations SET rto_late_ms = 0.5 WHERE id = 1",
	  { "iterations row 1 (chain entry 1): content does not match its hash: changed after "
	    "sealing: rto_late_ms (now 0.5)" } },
	{ "UPDATE iterations SET rto_early_ms = NULL WHERE id = 2",
	  { "iterations row 2 (chain entry 2): content does not match its hash: changed after "
	    "sealing: rto_early_ms (now NULL)" } },
	{ "UPDATE iterations SET evidence = NULL WHERE id = 2",
	  { "iterations row 2 (chain entry 2): content does not match its hash: changed after "
	    "sealing: evidence (now NULL)" } },
	{ "DELETE FROM iterations WHERE id = 1",
	  { "iterations: chain entries 1..1 are missing before row 2",
	    "iterations row 1 removed: 4 samples row(s) still name it (first: row 1)" } },
	{ "INSERT INTO iterations (drill_id, number, started_real_ns, started_utc)"
	  " VALUES (1, 3, 1, 'x')",
	  { "iterations row 3: not sealed, but its drill 1 is" } },
};

/* Each covered table edited, a row removed, a row inserted: verify names each. */
static void test_evidence_tamper(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(tampers) / sizeof(tampers[0]); i++) {
		struct fd_error err = { 0 };
		char path[192];

		snprintf(path, sizeof(path), "%s/tamper-%zu.db", fx->dir, i);
		make_evidence(path);
		raw_exec(path, "%s", tampers[i].sql);
		assert_int_equal(store_open(path, &fx->st, &err), 0);
		assert_int_equal(store_verify_chain(fx->st, &err), -EBADMSG);
		for (size_t j = 0; j < 2 && tampers[i].want[j]; j++)
			if (!strstr(err.msg, tampers[i].want[j]))
				fail_msg("after \"%s\": verify said \"%s\", not \"%s\"", tampers[i].sql,
					 err.msg, tampers[i].want[j]);
		store_close(fx->st);
		fx->st = NULL;
		for (const char *sfx = ""; sfx; sfx = *sfx ? (sfx[1] == 'w' ? "-shm" : NULL) : "-wal") {
			char p[224];

			snprintf(p, sizeof(p), "%s%s", path, sfx);
			unlink(p);
		}
	}
}

/* A store written by version 1 migrates; its rows verify under the older scheme. */
static void test_evidence_legacy(void **state)
{
	struct fixture *fx = *state;
	struct fd_error err = { 0 };
	struct store *st;
	char *sql = NULL, v[64];
	size_t len = 0;
	FILE *f = fopen(STORE_V1_SQL, "r");
	sqlite3 *db = NULL;

	assert_non_null(f);
	assert_true(getdelim(&sql, &len, '\0', f) > 0);
	fclose(f);
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(sql);

	st = open_store(fx);
	assert_true(store_schema_version(st) >= 2);
	if (store_verify_chain(st, &err))
		fail_msg("a version-1 store does not verify after migrating: %s", err.msg);
	raw_query(fx->path, v, sizeof(v), "SELECT count(*) FROM drills WHERE evidence IS NULL");
	assert_string_equal(v, "1"); /* sealed under the older scheme: drills and iterations only */
	{
		bool sealed = true;

		assert_int_equal(store_evidence_sealed(st, 1, &sealed, &err), 0);
		assert_false(sealed);
	}

	/* its chained rows are still checked ... */
	raw_exec(fx->path, "UPDATE iterations SET rto_ms = 1.0 WHERE id = 1");
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "iterations row 1 (chain entry 1): content does not match "
				       "its hash: changed after sealing: rto_ms (now 1)"));
	raw_exec(fx->path, "UPDATE iterations SET rto_ms = 1234.5 WHERE id = 1");
	assert_int_equal(store_verify_chain(st, &err), 0);
	/* ... its timeline was never sealed (docs/store.md says so) ... */
	raw_exec(fx->path, "UPDATE samples SET ok = 1 WHERE id = 1");
	assert_int_equal(store_verify_chain(st, &err), 0);
	/* ... and its scenario was sealed by the migration */
	raw_exec(fx->path, "UPDATE scenarios SET name = 'other' WHERE id = 1");
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "scenarios row 1 (sealed on its own): changed after sealing: "
				       "name (now \"other\")"));
	raw_exec(fx->path, "UPDATE scenarios SET name = 'legacy' WHERE id = 1");

	/* a drill recorded after the migration is sealed whole, in the same store */
	make_chain(st, &(int64_t){ 0 }, &(int64_t){ 0 }, &(int64_t){ 0 });
	{
		bool sealed = false;

		assert_int_equal(store_evidence_sealed(st, 2, &sealed, &err), 0);
		assert_true(sealed);
	}
	add_samples(st, 2, 1, -1); /* iteration 2 is sealed: this row was not there */
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	if (!strstr(err.msg, "samples row 3 (iteration 1 of drill 2): inserted after sealing (position 1, 0 sealed)"))
		fail_msg("%s", err.msg);
}

/* Runs a .sql file (a store written by an older version) into path. */
static void load_sql(const char *path, const char *sql_path)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = fopen(sql_path, "r");
	sqlite3 *db = NULL;

	assert_non_null(f);
	assert_true(getdelim(&sql, &len, '\0', f) > 0);
	fclose(f);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(sql);
}

/* Two flows: one whose sender is known, one whose is not. */
static void two_flows(int64_t iteration_id, struct store_flow f[2])
{
	memset(f, 0, 2 * sizeof(*f));
	for (int i = 0; i < 2; i++) {
		f[i].iteration_id = iteration_id;
		snprintf(f[i].fault_id, sizeof(f[i].fault_id), "s3");
		snprintf(f[i].protocol, sizeof(f[i].protocol), "tcp");
		snprintf(f[i].src, sizeof(f[i].src), "10.250.1.1");
		snprintf(f[i].dst, sizeof(f[i].dst), "10.66.1.%d", i + 1);
		f[i].dport = 443;
		snprintf(f[i].flow, sizeof(f[i].flow), "tcp 10.250.1.1 -> 10.66.1.%d:443", i + 1);
		f[i].packets = 3 + i;
	}
	f[0].has_first_seen = true;
	f[0].first_seen_ms = 54.25;
	f[0].owner = (struct fd_flow_owner){ .pid = 4242, .holders = 1, .has_uid = true, .uid = 1000 };
	snprintf(f[0].owner.comm, sizeof(f[0].owner.comm), "registry");
	snprintf(f[0].owner.cmd, sizeof(f[0].owner.cmd), "/usr/bin/registry");
	snprintf(f[0].owner.container, sizeof(f[0].owner.container), "%s",
		 "4f2a1b3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708");
	snprintf(f[0].owner.container_name, sizeof(f[0].owner.container_name), "registry");
	f[1].owner = (struct fd_flow_owner){ .has_uid = true, .uid = 0 };
	snprintf(f[1].owner.why, sizeof(f[1].owner.why), "socket already closed");
}

/*
 * Flows (schema 6): read back as written, with the owner known or why not;
 * sealed into the iteration's evidence, so that a changed owner, a removed
 * or an added flow is found by verify.
 */
static void test_flows(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	struct store_flow in[2], *out = NULL;
	int64_t drill = begin_drill(st, "flows", "dev", 0), it = begin_iteration(st, drill, 1);
	size_t n = 0;
	char v[64];

	two_flows(it, in);
	assert_int_equal(store_add_flows(st, in, 2, &err), 0);
	finish_recovered(st, it, 900);
	assert_int_equal(store_finish_drill(st, drill, STORE_OUTCOME_RECOVERED, true, 0, &err), 0);
	assert_int_equal(store_list_flows(st, drill, &out, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].iteration, 1);
	assert_string_equal(out[0].flow, "tcp 10.250.1.1 -> 10.66.1.1:443");
	assert_int_equal(out[0].dport, 443);
	assert_int_equal(out[0].packets, 3);
	assert_true(out[0].has_first_seen);
	assert_true(out[0].first_seen_ms == 54.25);
	assert_int_equal(out[0].owner.pid, 4242);
	assert_int_equal(out[0].owner.uid, 1000);
	assert_string_equal(out[0].owner.comm, "registry");
	assert_string_equal(out[0].owner.cmd, "/usr/bin/registry");
	assert_string_equal(out[0].owner.container_name, "registry");
	assert_string_equal(out[0].owner.why, "");
	assert_int_equal(out[1].owner.pid, 0);
	assert_true(out[1].owner.has_uid);
	assert_int_equal(out[1].owner.uid, 0);
	assert_false(out[1].has_first_seen);
	assert_string_equal(out[1].owner.why, "socket already closed");
	free(out);
	raw_query(fx->path, v, sizeof(v), "SELECT owner_unknown IS NULL FROM flows WHERE owner_pid = 4242");
	assert_string_equal(v, "1");
	if (store_verify_chain(st, &err) != 0)
		fail_msg("flows as written do not verify: %s", err.msg);

	/* the owner changed after sealing */
	raw_exec(fx->path, "UPDATE flows SET owner_comm = 'curl' WHERE owner_pid = 4242");
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	if (!strstr(err.msg, "flows row 1 (iteration 1 of drill 1): changed after sealing: owner_comm (now \"curl\")"))
		fail_msg("%s", err.msg);
	raw_exec(fx->path, "UPDATE flows SET owner_comm = 'registry' WHERE owner_pid = 4242");
	assert_int_equal(store_verify_chain(st, &err), 0);
	/* a guessed owner for the unknown one */
	raw_exec(fx->path, "UPDATE flows SET owner_unknown = NULL, owner_pid = 7 WHERE id = 2");
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "flows row 2"));
	assert_non_null(strstr(err.msg, "owner_pid (now 7)"));
	raw_exec(fx->path, "UPDATE flows SET owner_unknown = 'socket already closed', owner_pid = NULL"
		 " WHERE id = 2");
	assert_int_equal(store_verify_chain(st, &err), 0);
	/* added after sealing, then removed */
	two_flows(it, in);
	assert_int_equal(store_add_flows(st, in, 1, &err), 0);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	if (!strstr(err.msg, "flows row 3 (iteration 1 of drill 1): inserted after sealing (position 3, 2 sealed)"))
		fail_msg("%s", err.msg);
	raw_exec(fx->path, "DELETE FROM flows WHERE id = 3");
	assert_int_equal(store_verify_chain(st, &err), 0);
	raw_exec(fx->path, "DELETE FROM flows WHERE id = 2");
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	if (!strstr(err.msg, "flows: 1 row(s) of iteration 1 of drill 1 removed after sealing"))
		fail_msg("%s", err.msg);
	/* a row that says neither who nor why is refused by the table */
	raw_query(fx->path, v, sizeof(v), "SELECT count(*) FROM flows");
	assert_string_equal(v, "1");
	{
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(db, "UPDATE flows SET owner_pid = NULL", NULL, NULL,
						  NULL), SQLITE_OK);
		sqlite3_close(db);
	}
}

/*
 * A store written by version 5 (tests/unit/store/store_v5.sql: a sealed
 * iteration whose evidence has no entry for flows) migrates to 6 and still
 * verifies; a flow added to that iteration now is named as inserted after
 * sealing; a drill recorded after the migration seals its flows.
 */
static void test_migrate_v5_flows(void **state)
{
	struct fixture *fx = *state;
	struct fd_error err = { 0 };
	struct store_flow in[2], *out = NULL;
	struct store *st;
	size_t n = 7;
	char v[256];
	int64_t drill, it;

	load_sql(fx->path, STORE_V5_SQL);
	raw_query(fx->path, v, sizeof(v), "PRAGMA user_version");
	assert_string_equal(v, "5");
	raw_query(fx->path, v, sizeof(v), "SELECT evidence FROM iterations WHERE id = 1");
	assert_null(strstr(v, "flows="));
	st = open_store(fx);
	assert_int_equal(store_schema_version(st), 6);
	raw_query(fx->path, v, sizeof(v), "SELECT count(*) FROM pragma_table_info('flows')"
		  " WHERE name LIKE 'owner_%%'");
	assert_string_equal(v, "8");
	if (store_verify_chain(st, &err) != 0)
		fail_msg("a version-5 store does not verify after migrating: %s", err.msg);
	assert_int_equal(store_list_flows(st, 1, &out, &n, &err), 0);
	assert_int_equal(n, 0); /* its flows are in its timeline only */
	free(out);
	raw_query(fx->path, v, sizeof(v), "SELECT count(*) FROM events WHERE kind = 'blackholed-flow'");
	assert_string_equal(v, "1");
	/* its other evidence is still checked */
	raw_exec(fx->path, "UPDATE laps SET name = 'other' WHERE id = 1");
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "laps row 1 (iteration 1 of drill 1): changed after sealing"));
	raw_exec(fx->path, "UPDATE laps SET name = 'failover' WHERE id = 1");
	assert_int_equal(store_verify_chain(st, &err), 0);

	/* a drill after the migration: its flows are sealed */
	drill = begin_drill(st, "after", "dev", 0);
	it = begin_iteration(st, drill, 1);
	two_flows(it, in);
	assert_int_equal(store_add_flows(st, in, 2, &err), 0);
	finish_recovered(st, it, 800);
	assert_int_equal(store_finish_drill(st, drill, STORE_OUTCOME_RECOVERED, true, 0, &err), 0);
	raw_query(fx->path, v, sizeof(v), "SELECT evidence LIKE '%%flows=2:%%' FROM iterations WHERE id = %lld",
		  (long long)it);
	assert_string_equal(v, "1");
	assert_int_equal(store_verify_chain(st, &err), 0);

	/* a flow slipped into the old iteration, sealed before flows were */
	two_flows(1, in);
	assert_int_equal(store_add_flows(st, in, 1, &err), 0);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	if (!strstr(err.msg, "flows row 3 (iteration 1 of drill 1): inserted after sealing (position 1, 0 sealed)"))
		fail_msg("%s", err.msg);
}

/* A pid that existed and is gone (reaped). */
static int dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static void test_abort_stale(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	int marked = -1;
	char v[256];

	int64_t live = begin_drill(st, "s", "dev", 0);
	int64_t dead = begin_drill(st, "s", "dev", dead_pid());
	int64_t it = begin_iteration(st, dead, 1);
	finish_recovered(st, it, 700);
	int64_t open_it = begin_iteration(st, dead, 2);
	struct store_event ev = { .drill_id = dead, .real_ns = 1800000000000000000 };
	snprintf(ev.kind, sizeof(ev.kind), "probe-down");
	assert_int_equal(store_add_event(st, &ev, &err), 0);
	int64_t reused = begin_drill(st, "s", "dev", 0);
	/* Same pid as ours, another start time: the pid was reused. */
	raw_exec(fx->path, "UPDATE drills SET holder_start = holder_start + 1 WHERE id = %lld",
		 (long long)reused);

	assert_int_equal(store_abort_stale_drills(st, &marked, &err), 0);
	assert_int_equal(marked, 2);
	raw_query(fx->path, v, sizeof(v), "SELECT group_concat(id || ':' || outcome, ' ') FROM "
		  "(SELECT id, outcome FROM drills ORDER BY id)");
	char want[256];
	snprintf(want, sizeof(want), "%lld:running %lld:aborted %lld:aborted", (long long)live,
		 (long long)dead, (long long)reused);
	assert_string_equal(v, want);
	raw_query(fx->path, v, sizeof(v), "SELECT outcome || ' ' || detail FROM iterations WHERE id = %lld",
		  (long long)open_it);
	assert_non_null(strstr(v, "aborted aborted: holder process"));
	raw_query(fx->path, v, sizeof(v), "SELECT outcome FROM iterations WHERE id = %lld", (long long)it);
	assert_string_equal(v, "recovered");
	/* Partial data kept; the end is the last thing observed. */
	raw_query(fx->path, v, sizeof(v), "SELECT ended_real_ns FROM drills WHERE id = %lld", (long long)dead);
	assert_string_equal(v, "1800000000000000000");
	assert_int_equal(store_verify_chain(st, &err), 0);

	assert_int_equal(store_abort_stale_drills(st, &marked, &err), 0);
	assert_int_equal(marked, 0);
	assert_int_equal(store_finish_drill(st, live, STORE_OUTCOME_RECOVERED, true, 0, &err), 0);
}

/* WAL + synchronous=NORMAL: a SIGKILLed writer loses nothing it committed. */
static void test_sigkill_keeps_events(void **state)
{
	struct fixture *fx = *state;
	struct fd_error err = { 0 };
	struct store_event *evs = NULL;
	size_t n = 0;
	int status = 0, marked = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct store *st = NULL;
		struct store_event ev = { 0 };

		if (store_open(fx->path, &st, &err))
			_exit(1);
		ev.drill_id = begin_drill(st, "s", "dev", 0);
		snprintf(ev.kind, sizeof(ev.kind), "probe-down");
		if (store_add_event(st, &ev, &err))
			_exit(1);
		raise(SIGKILL);
		_exit(1);
	}
	assert_true(pid > 0);
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	open_store(fx);
	assert_int_equal(store_list_events(fx->st, 1, &evs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(evs[0].kind, "probe-down");
	free(evs);
	assert_int_equal(store_abort_stale_drills(fx->st, &marked, &err), 0);
	assert_int_equal(marked, 1);
}

static void test_list_filter_limit(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	struct store_drill *ds = NULL;
	size_t n = 0;

	for (int i = 0; i < 5; i++)
		begin_drill(st, i % 2 ? "odd" : "even", i < 3 ? "staging" : "prod", 0);
	struct store_filter f = { .scenario = "even" };
	assert_int_equal(store_list_drills(st, &f, &ds, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_true(ds[0].id < ds[1].id && ds[1].id < ds[2].id);
	free(ds);
	f = (struct store_filter){ .environment = "staging", .limit = 2 };
	assert_int_equal(store_list_drills(st, &f, &ds, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ds[0].id, 2);
	assert_int_equal(ds[1].id, 3);
	free(ds);
	assert_int_equal(store_list_drills(st, NULL, &ds, &n, &err), 0);
	assert_int_equal(n, 5);
	free(ds);
}

static void test_read_only(void **state)
{
	struct fixture *fx = *state;
	struct fd_error err = { 0 };
	int status = 0;
	char missing[160];
	pid_t pid;

	snprintf(missing, sizeof(missing), "%s/missing.db", fx->dir);
	assert_int_equal(store_open_readonly(missing, &fx->st, &err), -ENOENT);
	assert_int_not_equal(access(missing, F_OK), 0);

	open_store(fx);
	begin_drill(fx->st, "s", "dev", 0);
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(chmod(fx->path, 0444), 0);
	assert_int_equal(chmod(fx->dir, 0555), 0);

	/* Root ignores file modes: the child gives up root to see them. */
	pid = fork();
	if (pid == 0) {
		struct store *st = NULL;
		struct store_drill *ds = NULL;
		size_t n = 0;
		int rc;

		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		rc = store_open(fx->path, &st, &err);
		if (rc == 0 || err.kind != FD_ERR_ENV || !strstr(err.msg, "read-only")) {
			printf("store_open on a read-only file: rc %d kind %d: %s\n", rc, err.kind, err.msg);
			fflush(stdout);
			_exit(1);
		}
		rc = store_open_readonly(fx->path, &st, &err);
		if (rc == 0)
			rc = store_list_drills(st, NULL, &ds, &n, &err);
		store_close(st);
		free(ds);
		if (rc || n != 1) {
			printf("store_open_readonly: rc %d n %zu: %s\n", rc, n, err.msg);
			fflush(stdout);
			_exit(1);
		}
		_exit(0);
	}
	assert_true(pid > 0);
	waitpid(pid, &status, 0);
	chmod(fx->dir, 0700);
	chmod(fx->path, 0644);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_names(void **state)
{
	enum store_outcome o;

	(void)state;
	for (int i = STORE_OUTCOME_RUNNING; i <= STORE_OUTCOME_ERROR; i++) {
		assert_int_equal(store_outcome_parse(store_outcome_name((enum store_outcome)i), &o), 0);
		assert_int_equal(o, i);
	}
	assert_string_equal(store_outcome_name(STORE_OUTCOME_NOT_RECOVERED), "not-recovered");
	assert_int_equal(store_outcome_parse("recoverd", &o), -EINVAL);
	assert_string_equal(store_journal_state_name(JOURNAL_REVERTED), "reverted");
}

/* ---- the journal's batches (moved from the injector's unit tests) ---- */

static void journal_row(struct store_fault *r, const char *id, const char *spec)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->fault_id, sizeof(r->fault_id), "%s", id);
	snprintf(r->kind, sizeof(r->kind), "drop");
	r->spec = (char *)spec;
	r->max_duration_ns = 60 * 1000000000LL;
}

static size_t journal_active(struct store *st)
{
	struct store_fault *rows = NULL;
	struct fd_error e = { 0 };
	size_t n = 0;

	assert_int_equal(store_journal_list_active(st, &rows, &n, &e), 0);
	store_faults_free(rows, n);
	return n;
}

static void test_journal_batches(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct store_fault rows[3];
	struct fd_error e = { 0 };
	int64_t ids[3];
	const char *specs[3] = { "{\"v\":2}", NULL, NULL };
	struct store_fault *active = NULL;
	size_t n = 0;

	/* A bad row (spec not JSON) rolls the whole plan back. */
	journal_row(&rows[0], "a", "{}");
	journal_row(&rows[1], "b", "not json");
	assert_int_not_equal(store_journal_plan_all(st, rows, 2, &e), 0);
	assert_int_equal(rows[0].id, 0);
	assert_int_equal(journal_active(st), 0);

	journal_row(&rows[0], "a", "{}");
	journal_row(&rows[1], "b", "{}");
	journal_row(&rows[2], "c", "{}");
	assert_int_equal(store_journal_plan_all(st, rows, 3, &e), 0);
	assert_int_equal(journal_active(st), 3);
	for (int i = 0; i < 3; i++)
		ids[i] = rows[i].id;
	/* c fails; then a and b are applied together (a with a new spec), and
	 * a batch holding an illegal step (c: failed -> reverted) changes nothing. */
	assert_int_equal(store_journal_set_states(st, &ids[2], NULL, 1, JOURNAL_FAILED, 0, "x", &e), 0);
	assert_int_equal(store_journal_set_states(st, ids, specs, 2, JOURNAL_APPLIED, 0, NULL, &e), 0);
	assert_int_not_equal(store_journal_set_states(st, ids, NULL, 3, JOURNAL_REVERTED, 0, "r", &e), 0);
	assert_int_equal(store_journal_list_active(st, &active, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(active[0].state, JOURNAL_APPLIED);
	assert_string_equal(active[0].spec, "{\"v\":2}");
	assert_true(active[0].expires_real_ns > active[0].applied_real_ns);
	store_faults_free(active, n);
	assert_int_equal(store_journal_set_states(st, ids, NULL, 2, JOURNAL_REVERTED, 0, "r", &e), 0);
	assert_int_equal(journal_active(st), 0);
}

/* ---- the record book ------------------------------------------------------- */

static int64_t add_rec(struct store *st, struct store_record *r, int want_rc)
{
	struct fd_error err = { 0 };

	assert_int_equal(store_add_record(st, r, &err), want_rc);
	return want_rc ? 0 : r->id;
}

static void test_records(void **state)
{
	struct fixture *fx = *state;
	struct store *st = open_store(fx);
	struct fd_error err = { 0 };
	struct store_record *list = NULL;
	int64_t drill = begin_drill(st, "s1", "staging", 0), retest = begin_drill(st, "s1", "staging", 0);
	struct store_record f = { .drill_id = drill, .kind = STORE_RECORD_FINDING,
				  .severity = "high", .root_cause = "TTL 300 s",
				  .text = "DNS failover took 4 minutes", .author = "bob",
				  .author_role = "scribe" };
	struct store_record a = { .drill_id = drill, .kind = STORE_RECORD_ACTION, .owner = "carol",
				  .due = "2027-01-31", .text = "lower the TTL to 30 s" };
	struct store_record c = { .drill_id = drill, .kind = STORE_RECORD_ACTION_CLOSED };
	struct store_record bad = f;
	size_t n = 0;
	char got[80];

	add_rec(st, &f, 0);
	assert_int_equal(f.chain_seq, 1);
	assert_int_equal(strlen(f.hash), 64);
	add_rec(st, &a, 0);
	assert_int_equal(a.chain_seq, 2);

	/* what cannot be recorded is refused, and nothing is written */
	snprintf(bad.severity, sizeof(bad.severity), "urgent");
	add_rec(st, &bad, -EINVAL);
	bad = a;
	snprintf(bad.due, sizeof(bad.due), "2027-02-30");
	add_rec(st, &bad, -EINVAL);
	bad = a;
	bad.owner[0] = '\0';
	add_rec(st, &bad, -EINVAL);
	bad = f;
	bad.drill_id = 999;
	add_rec(st, &bad, -ENOENT);
	c.action_id = f.id; /* a finding is not an action */
	add_rec(st, &c, -ENOENT);
	c.action_id = a.id;
	c.retest_drill_id = 999;
	add_rec(st, &c, -ENOENT);
	c.retest_drill_id = retest;
	add_rec(st, &c, 0);
	c.id = 0;
	assert_int_equal(store_add_record(st, &c, &err), -EALREADY);
	assert_non_null(strstr(err.msg, "already closed"));

	assert_int_equal(store_list_records(st, drill, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].kind, STORE_RECORD_FINDING);
	assert_string_equal(list[0].root_cause, "TTL 300 s");
	assert_string_equal(list[0].author_role, "scribe");
	assert_int_equal(list[2].kind, STORE_RECORD_ACTION_CLOSED);
	assert_int_equal(list[2].action_id, a.id);
	assert_int_equal(list[2].retest_drill_id, retest);
	free(list);
	raw_query(fx->path, got, sizeof(got), "SELECT state || ' ' || retest_drill_id FROM actions");
	snprintf(bad.text, sizeof(bad.text), "closed %lld", (long long)retest);
	assert_string_equal(got, bad.text);
	assert_int_equal(store_verify_chain(st, &err), 0);

	/* the book is append-only: an edit and a removal are both named */
	raw_exec(fx->path, "UPDATE records SET severity = 'low' WHERE id = %lld", (long long)f.id);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	snprintf(got, sizeof(got), "records row %lld ", (long long)f.id);
	assert_non_null(strstr(err.msg, got));
	assert_non_null(strstr(err.msg, "severity (now \"low\")"));
	raw_exec(fx->path, "UPDATE records SET severity = 'high' WHERE id = %lld", (long long)f.id);
	assert_int_equal(store_verify_chain(st, &err), 0);
	raw_exec(fx->path, "DELETE FROM records WHERE id = %lld", (long long)a.id);
	assert_int_equal(store_verify_chain(st, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "records: chain entries 2..2 are missing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_migrate_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drill_objectives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2_objectives_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v4_prove_every, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freshness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_foreign_and_newer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_rows_are_final, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_tamper_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_tamper_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_tamper_drill_and_unseal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_scenario_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evidence_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evidence_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v5_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_keeps_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filter_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_batches, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

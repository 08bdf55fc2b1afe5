/*
 * Keys, signatures and verify against a real temporary store: sign then
 * verify ok; one changed byte in the report, an altered .sig, another key,
 * and a tampered store row are each detected and named; the same for a
 * signed trend report, which binds its filter and the drills it covers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

/* A valid scenario, so reports read its objectives back from the store. */
#define SCENARIO_TEXT \
	"name: sign-test\nobjectives:\n  rto: 5m\n  rpo: 30s\n" \
	"faults:\n  - id: f\n    kind: drop\n    duration: 1m\n    targets:\n      cidrs: [10.250.9.0/24]\n" \
	"probes:\n  - id: api\n    interval: 100ms\n    tcp: { host: 10.250.9.1, port: 80 }\n" \
	"recovery:\n  all: [api]\n  stable-for: 1s\n  timeout: 1m\n"

struct ctx {
	char dir[64];
	char path[128];
	struct store *st;
	int64_t drill_id;
};

static void path_in(const struct ctx *c, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", c->dir, name);
}

static void seed_store(struct ctx *c)
{
	struct fd_error err = { 0 };
	struct store_drill d = { 0 };
	int64_t scenario_id = 0;
	unsigned char h[crypto_hash_sha256_BYTES];
	char sha[65];

	crypto_hash_sha256(h, (const unsigned char *)SCENARIO_TEXT, strlen(SCENARIO_TEXT));
	sodium_bin2hex(sha, sizeof(sha), h, sizeof(h));
	if (store_put_scenario(c->st, "sign-test", sha, SCENARIO_TEXT, &scenario_id, &err) < 0)
		fail_msg("store_put_scenario: %s", err.msg);
	d.scenario_id = scenario_id;
	snprintf(d.scenario_name, sizeof(d.scenario_name), "sign-test");
	snprintf(d.environment, sizeof(d.environment), "test");
	snprintf(d.operator_name, sizeof(d.operator_name), "<b>mallory</b>");
	snprintf(d.host, sizeof(d.host), "localhost");
	snprintf(d.tool_version, sizeof(d.tool_version), "0.1.0");
	d.started_real_ns = INT64_C(1764126930) * 1000000000;
	d.iterations_planned = 2;
	d.objectives_recorded = true; /* as drill_objectives_fill records SCENARIO_TEXT's */
	d.has_rto_objective = true;
	d.rto_objective_ns = INT64_C(300) * 1000000000;
	d.has_rpo_objective = true;
	d.rpo_objective_ns = INT64_C(30) * 1000000000;
	assert_int_equal(store_begin_drill(c->st, &d, &err), 0);
	c->drill_id = d.id;
	for (int i = 1; i <= 2; i++) {
		struct store_iteration it = { .drill_id = d.id, .number = i };
		struct store_lap lap = { .step = 0, .duration_ms = 1500.0 * i, .ok = true,
					 .started_mono_ns = 1, .ended_mono_ns = 2 };
		struct store_event ev = { .drill_id = d.id, .mono_ns = i, .real_ns = d.started_real_ns + i };

		assert_int_equal(store_begin_iteration(c->st, &it, &err), 0);
		lap.iteration_id = it.id;
		snprintf(lap.name, sizeof(lap.name), "restore");
		assert_int_equal(store_add_lap(c->st, &lap, &err), 0);
		ev.iteration_id = it.id;
		snprintf(ev.kind, sizeof(ev.kind), "probe-up");
		snprintf(ev.subject, sizeof(ev.subject), "api");
		assert_int_equal(store_add_event(c->st, &ev, &err), 0);
		it.outcome = STORE_OUTCOME_RECOVERED;
		it.has_rto = true;
		it.rto_ms = 1000.0 * i;
		it.has_rpo = true;
		it.error_bound_ms = 100;
		it.objectives_met = true;
		it.t0_real_ns = d.started_real_ns + i;
		assert_int_equal(store_finish_iteration(c->st, &it, &err), 0);
	}
	assert_int_equal(store_finish_drill(c->st, d.id, STORE_OUTCOME_RECOVERED, true,
					    d.started_real_ns + 1000, &err), 0);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct fd_error err = { 0 };

	snprintf(c->dir, sizeof(c->dir), "/tmp/fdt-reports-XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	path_in(c, "store.db", c->path, sizeof(c->path));
	if (store_open(c->path, &c->st, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err.msg);
		return -1;
	}
	seed_store(c);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[128];

	store_close(c->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
	if (system(cmd) != 0)
		return -1;
	free(c);
	return 0;
}

/* Writes the evidence HTML for the seeded drill to name; signs it when key. */
static void write_report(struct ctx *c, const char *name, const char *key)
{
	struct report_evidence *ev = NULL;
	struct fd_error err = { 0 };
	char path[192];
	FILE *f;

	path_in(c, name, path, sizeof(path));
	assert_int_equal(report_evidence_load(c->st, c->drill_id, &ev, &err), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(report_evidence_write(ev, REPORT_HTML, f, &err), 0);
	fclose(f);
	if (key)
		assert_int_equal(report_sign_file(path, key, ev, c->st, &err), 0);
	report_evidence_free(ev);
}

static void keygen(struct ctx *c, const char *prefix, char *key, char *pub)
{
	struct fd_error err = { 0 };
	char p[192];

	path_in(c, prefix, p, sizeof(p));
	assert_int_equal(report_keygen(p, &err), 0);
	snprintf(key, 200, "%s.key", p);
	snprintf(pub, 200, "%s.pub", p);
}

static void verify(struct ctx *c, const char *name, const char *pub, struct store *st,
		   struct report_verify_result *res)
{
	struct fd_error err = { 0 };
	char path[192];

	path_in(c, name, path, sizeof(path));
	assert_int_equal(report_verify_file(path, pub, st, res, &err), 0);
}

static void test_keygen(void **state)
{
	struct ctx *c = *state;
	char key[200], pub[200], line[128];
	struct stat sb;
	struct fd_error err = { 0 };
	FILE *f;

	keygen(c, "k", key, pub);
	assert_int_equal(stat(key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	f = fopen(pub, "r");
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(strncmp(line, "firedrill-ed25519-public ", 25), 0);
	/* Never overwrites an existing key. */
	key[strlen(key) - 4] = '\0';
	assert_int_not_equal(report_keygen(key, &err), 0);
}

static void test_sign_verify_ok(void **state)
{
	struct ctx *c = *state;
	struct report_verify_result res;
	char key[200], pub[200];

	keygen(c, "k", key, pub);
	write_report(c, "r.html", key);
	verify(c, "r.html", pub, c->st, &res);
	assert_int_equal(res.status, REPORT_VERIFY_OK);
	assert_string_equal(res.what, "");
	assert_int_equal(res.drill_id, c->drill_id);
	/* Without --pubkey: the embedded key, same result. */
	verify(c, "r.html", NULL, NULL, &res);
	assert_int_equal(res.status, REPORT_VERIFY_OK);
}

static void flip_byte(const char *path, long at)
{
	FILE *f = fopen(path, "r+");
	int ch;

	assert_non_null(f);
	fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
	ch = fgetc(f);
	fseek(f, -1, SEEK_CUR);
	fputc(ch == 'a' ? 'b' : 'a', f);
	fclose(f);
}

static void test_report_tamper(void **state)
{
	struct ctx *c = *state;
	struct report_verify_result res;
	char key[200], pub[200], path[192];

	keygen(c, "k", key, pub);
	write_report(c, "r.html", key);
	path_in(c, "r.html", path, sizeof(path));
	flip_byte(path, 100); /* in the first lines */
	verify(c, "r.html", pub, c->st, &res);
	assert_int_equal(res.status, REPORT_VERIFY_REPORT_CHANGED);
	assert_non_null(strstr(res.what, "the report text changed: first in lines 1-20"));
}

static void test_sig_tamper_and_wrong_key(void **state)
{
	struct ctx *c = *state;
	struct report_verify_result res;
	char key[200], pub[200], key2[200], pub2[200], sig[200];

	keygen(c, "k", key, pub);
	keygen(c, "other", key2, pub2);
	write_report(c, "r.html", key);
	verify(c, "r.html", pub2, NULL, &res);
	assert_int_equal(res.status, REPORT_VERIFY_WRONG_KEY);
	assert_non_null(strstr(res.what, "not by the given public key"));
	path_in(c, "r.html.sig", sig, sizeof(sig));
	flip_byte(sig, 30); /* inside the report-sha256 line */
	verify(c, "r.html", pub, NULL, &res);
	assert_int_equal(res.status, REPORT_VERIFY_BAD_SIGNATURE);
	assert_non_null(strstr(res.what, "signature mismatch"));
}

static void test_chain_tamper(void **state)
{
	struct ctx *c = *state;
	struct report_verify_result res;
	char key[200], pub[200];
	sqlite3 *db;

	keygen(c, "k", key, pub);
	write_report(c, "r.html", key);
	assert_int_equal(sqlite3_open(c->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE iterations SET rto_ms = 1 WHERE number = 2",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	verify(c, "r.html", pub, c->st, &res);
	assert_int_equal(res.status, REPORT_VERIFY_CHAIN_BROKEN);
	assert_non_null(strstr(res.what, "store hash chain broken"));
	printf("# chain tamper reported as: %s\n", res.what);
}

/* The two edits: a signed report no longer verifies, and says which row. */
static void test_evidence_rows_tamper(void **state)
{
	static const struct {
		const char *sql, *want;
	} edits[] = {
		{ "UPDATE events SET detail = 'forged' WHERE id = 1",
		  "events row 1 (drill 1): changed after sealing: detail (now \"forged\")" },
		{ "UPDATE laps SET ok = 0 WHERE id = 2",
		  "laps row 2 (iteration 2 of drill 1): changed after sealing: ok (now 0)" },
		{ "DELETE FROM events WHERE id = 2",
		  "events: 1 row(s) of drill 1 removed after sealing (sealed positions 2..2, after row 1)" },
	};
	struct ctx *c = *state;
	char key[200], pub[200];

	keygen(c, "k", key, pub);
	write_report(c, "r.html", key);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		struct report_verify_result res;
		sqlite3 *db;

		assert_int_equal(sqlite3_open(c->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, edits[i].sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		verify(c, "r.html", pub, c->st, &res);
		assert_int_equal(res.status, REPORT_VERIFY_CHAIN_BROKEN);
		if (!strstr(res.what, edits[i].want))
			fail_msg("after \"%s\": %s", edits[i].sql, res.what);
	}
}

/* run --sign's seal: verifies, binds a report made later, fails after an edit. */
static void test_seal(void **state)
{
	struct ctx *c = *state;
	struct report_verify_result res;
	struct fd_error err = { 0 };
	char key[200], pub[200], seal[192], report[192], other[200], opub[200];
	sqlite3 *db;

	keygen(c, "k", key, pub);
	keygen(c, "o", other, opub);
	path_in(c, "drill.seal", seal, sizeof(seal));
	path_in(c, "later.html", report, sizeof(report));
	assert_int_equal(report_seal_drill(seal, key, c->st, c->drill_id, &err), 0);
	write_report(c, "later.html", NULL);
	assert_int_equal(report_verify_seal(seal, report, pub, c->st, &res, &err), 0);
	assert_int_equal(res.status, REPORT_VERIFY_OK);
	assert_int_equal(res.drill_id, c->drill_id);
	assert_int_equal(report_verify_seal(seal, NULL, opub, c->st, &res, &err), 0);
	assert_int_equal(res.status, REPORT_VERIFY_WRONG_KEY);

	assert_int_equal(sqlite3_open(c->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE laps SET duration_ms = 1 WHERE id = 1", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(report_verify_seal(seal, report, pub, c->st, &res, &err), 0);
	assert_int_equal(res.status, REPORT_VERIFY_CHAIN_BROKEN);
	assert_non_null(strstr(res.what, "laps row 1 (iteration 1 of drill 1): changed after "
					 "sealing: duration_ms (now 1)"));
	/* a running drill has nothing sealed to sign */
	{
		struct store_drill d = { 0 };

		snprintf(d.scenario_name, sizeof(d.scenario_name), "running");
		assert_int_equal(store_begin_drill(c->st, &d, &err), 0);
		assert_int_equal(report_seal_drill(seal, key, c->st, d.id, &err), -EBUSY);
		assert_non_null(strstr(err.msg, "still running"));
	}
}

static void test_missing_files(void **state)
{
	struct ctx *c = *state;
	struct report_verify_result res;
	struct fd_error err = { 0 };
	char path[192];

	write_report(c, "unsigned.html", NULL);
	path_in(c, "unsigned.html", path, sizeof(path));
	assert_int_not_equal(report_verify_file(path, NULL, NULL, &res, &err), 0);
	assert_int_equal(err.kind, FD_ERR_ENV);
	assert_non_null(strstr(err.msg, "unsigned.html.sig"));
}

static void test_trend_from_store(void **state)
{
	struct ctx *c = *state;
	struct store_filter f = { .scenario = "sign-test" };
	struct report_trend *t = NULL;
	struct fd_error err = { 0 };
	const struct report_drill *d;

	assert_int_equal(report_trend_load(c->st, &f, &t, &err), 0);
	assert_int_equal(t->n_series, 1);
	assert_int_equal(t->series[0].n_drills, 1);
	d = &t->series[0].drills[0];
	assert_int_equal(d->n_iterations, 2);
	assert_float_equal(d->sum.rto_median.ms, 1500, 1e-9);
	assert_true(d->objectives.rto.has);
	assert_float_equal(d->objectives.rto.ms, 300000, 1e-9);
	assert_float_equal(d->objectives.rpo.ms, 30000, 1e-9);
	assert_int_equal(t->series[0].n_steps, 1);
	assert_float_equal(d->lap_medians[0].ms, 2250, 1e-9);
	assert_string_equal(t->scenario_filter, "sign-test");
	report_trend_free(t);
	f.scenario = "no-such-scenario";
	assert_int_equal(report_trend_load(c->st, &f, &t, &err), 0);
	assert_int_equal(t->n_series, 0);
	report_trend_free(t);
}

/* Writes the trend (filter: the seeded scenario) to name and signs it. */
static void write_trend(struct ctx *c, const char *name, const char *key)
{
	struct store_filter f = { .scenario = "sign-test" };
	struct report_trend *t = NULL;
	struct fd_error err = { 0 };
	char path[192];
	FILE *out;

	path_in(c, name, path, sizeof(path));
	assert_int_equal(report_trend_load(c->st, &f, &t, &err), 0);
	out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(report_trend_write(t, REPORT_MARKDOWN, out, &err), 0);
	fclose(out);
	assert_int_equal(report_sign_trend_file(path, key, t, c->st, &err), 0);
	report_trend_free(t);
}

static void replace_in_file(const char *path, const char *from, const char *to)
{
	char *buf = calloc(1, 1 << 16), *at;
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	at = strstr(buf, from);
	assert_non_null(at);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(buf, 1, (size_t)(at - buf), f);
	fputs(to, f);
	fputs(at + strlen(from), f);
	fclose(f);
	free(buf);
}

static void test_trend_sign(void **state)
{
	struct ctx *c = *state;
	struct report_verify_result res;
	char key[200], pub[200], path[192], sig[200];
	sqlite3 *db;

	keygen(c, "k", key, pub);
	write_trend(c, "t.md", key);
	verify(c, "t.md", pub, c->st, &res);
	assert_int_equal(res.status, REPORT_VERIFY_OK);
	assert_true(res.trend);
	assert_int_equal(res.n_drills, 1);
	assert_int_equal(res.drill_id, 0);
	assert_non_null(strstr(res.covers, "scenario sign-test"));
	assert_non_null(strstr(res.covers, "environment any"));
	printf("# trend covers: %s\n", res.covers);

	/* the report's text */
	path_in(c, "t.md", path, sizeof(path));
	replace_in_file(path, "sign-test", "sign-TEST");
	verify(c, "t.md", pub, c->st, &res);
	assert_int_equal(res.status, REPORT_VERIFY_REPORT_CHANGED);

	/* the filter in the .sig: the signature no longer holds */
	write_trend(c, "t.md", key);
	snprintf(sig, sizeof(sig), "%s.sig", path);
	replace_in_file(sig, "filter-scenario sign-test", "filter-scenario other");
	verify(c, "t.md", pub, c->st, &res);
	assert_int_equal(res.status, REPORT_VERIFY_BAD_SIGNATURE);

	/* a covered drill dropped from the .sig: the same */
	write_trend(c, "t.md", key);
	replace_in_file(sig, "trend-drill ", "trend-drilx ");
	verify(c, "t.md", pub, c->st, &res);
	assert_int_equal(res.status, REPORT_VERIFY_BAD_SIGNATURE);

	/* a covered iteration rewritten in the store */
	write_trend(c, "t.md", key);
	assert_int_equal(sqlite3_open(c->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE iterations SET rto_ms = 1 WHERE number = 2",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	verify(c, "t.md", pub, c->st, &res);
	assert_int_not_equal(res.status, REPORT_VERIFY_OK);
	printf("# trend store tamper reported as: %s\n", res.what);
	/* without the store the signature and text still hold */
	verify(c, "t.md", pub, NULL, &res);
	assert_int_equal(res.status, REPORT_VERIFY_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keygen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_verify_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sig_tamper_and_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evidence_rows_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trend_from_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trend_sign, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

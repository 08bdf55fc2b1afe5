/*
 * bench_store: what evidence seals (store_chain.c) cost where the store is
 * hot. Samples go in as drill_flush_samples writes them (batches of 256,
 * one transaction each; 100 probes at 10 Hz are 1000 a second), events one
 * transaction each. The baseline in the same invocation inserts the same
 * rows with the statements the store used before seals (no fd_seal, no
 * seal column, no position) on its own connection to a store of the same
 * schema. Also timed: sealing an iteration of N samples at
 * store_finish_iteration (its evidence digest reads them back) and
 * store_verify_chain over it. Medians of --runs runs, sealed and baseline
 * alternating which goes first. Prints figures; never fails on time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define BATCH 256 /* SAMPLE_BATCH in drill/drill_internal.h */
#define RUNS_MAX 31

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, msg);
	exit(1);
}

static void remove_db(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[256];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

static void fill(struct store_sample *b, int64_t it, int from, int n)
{
	for (int i = 0; i < n; i++) {
		int k = from + i;

		memset(&b[i], 0, sizeof(b[i]));
		b[i].iteration_id = it;
		snprintf(b[i].probe, sizeof(b[i].probe), "probe-%02d", k % 100);
		b[i].mono_ns = 1000000000LL + (int64_t)k * 1000000;
		b[i].ok = k % 50 != 0;
		b[i].latency_ns = 800000 + k % 977;
	}
}

/* A fresh store at path with a running drill and iteration (their ids). */
static struct store *fresh(const char *path, int64_t *drill, int64_t *it)
{
	struct fd_error err = { 0 };
	struct store *st = NULL;
	struct store_drill d = { .iterations_planned = 1 };
	struct store_iteration i = { .number = 1 };

	remove_db(path);
	if (store_open(path, &st, &err))
		die("store_open", err.msg);
	snprintf(d.scenario_name, sizeof(d.scenario_name), "bench");
	if (store_begin_drill(st, &d, &err))
		die("store_begin_drill", err.msg);
	i.drill_id = d.id;
	if (store_begin_iteration(st, &i, &err))
		die("store_begin_iteration", err.msg);
	*drill = d.id;
	*it = i.id;
	return st;
}

struct run {
	double sample_ns, event_us, finish_ms, verify_ms;
};

static void sealed_run(const char *path, int n_samples, int n_events, struct run *r)
{
	struct store_sample b[BATCH];
	struct fd_error err = { 0 };
	struct store_iteration it = { .outcome = STORE_OUTCOME_RECOVERED, .error_bound_ms = 100 };
	int64_t drill;
	struct store *st = fresh(path, &drill, &it.id);
	double t;

	t = now_ms();
	for (int k = 0; k < n_samples; k += BATCH) {
		int n = n_samples - k < BATCH ? n_samples - k : BATCH;

		fill(b, it.id, k, n);
		if (store_add_samples(st, b, (size_t)n, &err))
			die("store_add_samples", err.msg);
	}
	r->sample_ns = (now_ms() - t) * 1e6 / n_samples;
	t = now_ms();
	for (int k = 0; k < n_events; k++) {
		struct store_event ev = { .drill_id = drill, .iteration_id = it.id, .mono_ns = k + 1,
					  .real_ns = 1 };

		snprintf(ev.kind, sizeof(ev.kind), "probe-up");
		snprintf(ev.subject, sizeof(ev.subject), "probe-%02d", k % 100);
		if (store_add_event(st, &ev, &err))
			die("store_add_event", err.msg);
	}
	r->event_us = (now_ms() - t) * 1e3 / n_events;
	t = now_ms();
	if (store_finish_iteration(st, &it, &err))
		die("store_finish_iteration", err.msg);
	r->finish_ms = now_ms() - t;
	t = now_ms();
	if (store_verify_chain(st, &err))
		die("store_verify_chain", err.msg);
	r->verify_ms = now_ms() - t;
	store_close(st);
	remove_db(path);
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sql, sqlite3_errmsg(db));
}

/* The same rows through the statements the store used before seals. */
static void baseline_run(const char *path, int n_samples, int n_events, struct run *r)
{
	static const char ins_sample[] =
		"INSERT INTO samples (iteration_id, probe, mono_ns, ok, latency_ns, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	static const char ins_event[] =
		"INSERT INTO events (drill_id, iteration_id, mono_ns, real_ns, utc, kind, subject, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	struct store_sample b[BATCH];
	sqlite3_stmt *s = NULL, *e = NULL;
	int64_t drill, it;
	sqlite3 *db = NULL;
	double t;

	store_close(fresh(path, &drill, &it));
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("sqlite3_open", path);
	sqlite3_busy_timeout(db, 5000);
	exec_or_die(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
	if (sqlite3_prepare_v2(db, ins_sample, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, ins_event, -1, &e, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));
	t = now_ms();
	for (int k = 0; k < n_samples; k += BATCH) {
		int n = n_samples - k < BATCH ? n_samples - k : BATCH;

		fill(b, it, k, n);
		exec_or_die(db, "BEGIN IMMEDIATE");
		for (int i = 0; i < n; i++) {
			sqlite3_bind_int64(s, 1, b[i].iteration_id);
			sqlite3_bind_text(s, 2, b[i].probe, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 3, b[i].mono_ns);
			sqlite3_bind_int(s, 4, b[i].ok);
			sqlite3_bind_int64(s, 5, b[i].latency_ns);
			sqlite3_bind_null(s, 6);
			if (sqlite3_step(s) != SQLITE_DONE)
				die("insert sample", sqlite3_errmsg(db));
			sqlite3_reset(s);
		}
		exec_or_die(db, "COMMIT");
	}
	r->sample_ns = (now_ms() - t) * 1e6 / n_samples;
	t = now_ms();
	for (int k = 0; k < n_events; k++) {
		char subject[16];

		snprintf(subject, sizeof(subject), "probe-%02d", k % 100);
		exec_or_die(db, "BEGIN IMMEDIATE");
		sqlite3_bind_int64(e, 1, drill);
		sqlite3_bind_int64(e, 2, it);
		sqlite3_bind_int64(e, 3, k + 1);
		sqlite3_bind_int64(e, 4, 1);
		sqlite3_bind_text(e, 5, "1970-01-01T00:00:00.000Z", -1, SQLITE_STATIC);
		sqlite3_bind_text(e, 6, "probe-up", -1, SQLITE_STATIC);
		sqlite3_bind_text(e, 7, subject, -1, SQLITE_STATIC);
		sqlite3_bind_null(e, 8);
		if (sqlite3_step(e) != SQLITE_DONE)
			die("insert event", sqlite3_errmsg(db));
		sqlite3_reset(e);
		exec_or_die(db, "COMMIT");
	}
	r->event_us = (now_ms() - t) * 1e3 / n_events;
	sqlite3_finalize(s);
	sqlite3_finalize(e);
	sqlite3_close(db);
	remove_db(path);
}

int main(int argc, char **argv)
{
	int n_samples = 60000, n_events = 2000, runs = 7;
	double ss[RUNS_MAX], bs[RUNS_MAX], se[RUNS_MAX], be[RUNS_MAX], fin[RUNS_MAX], ver[RUNS_MAX];
	char path[64];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--samples") == 0)
			n_samples = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--events") == 0)
			n_events = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--runs") == 0)
			runs = atoi(argv[i + 1]);
	}
	if (n_samples < 1 || n_events < 1 || runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: bench_store [--samples N] [--events N] [--runs 1..%d]\n",
			RUNS_MAX);
		return 2;
	}
	snprintf(path, sizeof(path), "/tmp/fd-bench-store-%d.db", (int)getpid());
	printf("bench_store: %d samples (batches of %d) and %d events per run, %d runs\n",
	       n_samples, BATCH, n_events, runs);
	for (int r = 0; r < runs; r++) {
		struct run a = { 0 }, b = { 0 };

		if (r % 2) {
			baseline_run(path, n_samples, n_events, &b);
			sealed_run(path, n_samples, n_events, &a);
		} else {
			sealed_run(path, n_samples, n_events, &a);
			baseline_run(path, n_samples, n_events, &b);
		}
		printf("run %d: sample %.0f ns sealed / %.0f ns baseline, event %.1f us / %.1f us, "
		       "finish %.1f ms, verify %.1f ms\n", r + 1, a.sample_ns, b.sample_ns, a.event_us,
		       b.event_us, a.finish_ms, a.verify_ms);
		ss[r] = a.sample_ns;
		bs[r] = b.sample_ns;
		se[r] = a.event_us;
		be[r] = b.event_us;
		fin[r] = a.finish_ms;
		ver[r] = a.verify_ms;
	}
	double ms = median(ss, runs), mb = median(bs, runs), es = median(se, runs),
	       eb = median(be, runs);
	printf("median per sample: sealed %.0f ns, baseline %.0f ns (x%.2f, +%.0f ns)\n", ms, mb,
	       ms / mb, ms - mb);
	printf("  at 100 probes x 10 Hz (1000 samples/s): %.2f ms of store time a second sealed, "
	       "%.2f baseline\n", ms * 1000 / 1e6, mb * 1000 / 1e6);
	printf("median per event: sealed %.1f us, baseline %.1f us (x%.2f)\n", es, eb, es / eb);
	printf("median store_finish_iteration over %d samples: %.1f ms; store_verify_chain: %.1f ms\n",
	       n_samples, median(fin, runs), median(ver, runs));
	return 0;
}

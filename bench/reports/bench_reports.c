/*
 * bench_reports: trend report generation over a store of N iterations.
 *
 *   bench_reports [--iterations N] [--per-drill K] [--runs R] [--db PATH] [--keep]
 *
 * Fills a fresh store through the store API (N iterations, K per drill, a
 * two-step runbook with laps, a few events and samples per iteration), then
 * times, for each format, loading the trend from the store and rendering it
 * to /dev/null: the median of R runs, plus load-only as the baseline. Prints
 * figures; never passes or fails on time. --keep leaves the database (also a
 * realistic input for looking at reports: scripts/render-report.sh).
 */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fd_time.h"
#include "report.h"
#include "store.h"

/* A valid scenario; its objectives go into each drill row, as drill_objectives_fill does. */
#define SCENARIO_TEXT \
	"name: region-failover\n" \
	"description: The primary region goes dark; traffic must move to the standby region.\n" \
	"environment: staging\n" \
	"iterations: 5\n" \
	"objectives:\n" \
	"  rto: 5m\n" \
	"  rpo: 30s\n" \
	"scope:\n" \
	"  netns: fdt-example\n" \
	"faults:\n" \
	"  - id: primary-region\n" \
	"    kind: drop\n" \
	"    duration: 20m\n" \
	"    targets:\n" \
	"      cidrs: [10.250.1.0/24]\n" \
	"probes:\n" \
	"  - id: api\n" \
	"    interval: 200ms\n" \
	"    timeout: 1s\n" \
	"    http:\n" \
	"      url: http://10.250.0.1:8080/health\n" \
	"      expect-status: [200]\n" \
	"recovery:\n" \
	"  all: [api]\n" \
	"  stable-for: 10s\n" \
	"  timeout: 15m\n" \
	"  steps:\n" \
	"    - name: Restore datastores in us-west-2\n" \
	"      run: ./runbook/restore-datastores.sh\n" \
	"      timeout: 10m\n" \
	"    - name: Swap API DNS to us-west-2\n" \
	"      manual: true\n"

static double now_ms(void)
{
	return (double)fd_mono_ns() / 1e6;
}

/* CPU time of this process: steadier than wall time on a busy machine. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Deterministic noise so every run builds the same store. */
static double noise(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (double)((*seed >> 8) % 1000) / 1000.0;
}

static int add_iteration(struct store *st, int64_t drill_id, int number, int drill_no,
			 int n_drills, int64_t t0, unsigned *seed, struct fd_error *err)
{
	/* Teams improve: RTO falls from ~9 minutes to ~1 minute across the drills. */
	double progress = (double)drill_no / (double)(n_drills > 1 ? n_drills - 1 : 1);
	double base = 540000.0 * pow(0.12, progress);
	struct store_iteration it = { .drill_id = drill_id, .number = number };
	struct store_lap lap = { .ok = true };
	struct store_event ev = { .drill_id = drill_id };
	struct store_sample smp[4];
	int r;

	r = store_begin_iteration(st, &it, err);
	if (r < 0)
		return r;
	bool recovered = !(drill_no < n_drills / 4 && noise(seed) < 0.15) &&
			 !(drill_no == n_drills * 2 / 3 && noise(seed) < 0.5);
	it.outcome = recovered ? STORE_OUTCOME_RECOVERED : STORE_OUTCOME_NOT_RECOVERED;
	it.t0_real_ns = t0;
	it.has_rto = recovered;
	it.rto_ms = base * (0.8 + 0.4 * noise(seed));
	it.has_rpo = recovered;
	it.rpo_ms = recovered ? floor(45000.0 * pow(0.05, progress) * noise(seed) / 200) * 200 : 0;
	it.writes_acked = 600;
	it.writes_acked_outage = 300;
	it.lost_writes = it.has_rpo ? (int64_t)(it.rpo_ms / 200) : 0;
	it.has_detect = true;
	it.detect_ms = 100 + 200 * noise(seed);
	it.has_first_success = recovered;
	it.first_success_ms = it.rto_ms * 0.9;
	it.error_bound_ms = 200;
	it.objectives_met = recovered && it.rto_ms <= 300000 && it.rpo_ms <= 30000;
	if (!recovered)
		snprintf(it.detail, sizeof(it.detail), "recovery timeout 15m passed without a stable window");
	lap.iteration_id = it.id;
	for (int k = 0; k < 2 && r == 0; k++) {
		lap.step = k;
		lap.manual = k == 1;
		snprintf(lap.name, sizeof(lap.name), k ? "Swap API DNS to us-west-2" :
			 "Restore datastores in us-west-2");
		lap.duration_ms = (k ? 0.25 : 0.6) * base * (0.8 + 0.4 * noise(seed));
		lap.started_mono_ns = t0 + k;
		lap.ended_mono_ns = lap.started_mono_ns + (int64_t)(lap.duration_ms * 1e6);
		r = store_add_lap(st, &lap, err);
	}
	ev.iteration_id = it.id;
	ev.real_ns = t0;
	ev.mono_ns = t0;
	snprintf(ev.kind, sizeof(ev.kind), "fault-applied");
	snprintf(ev.subject, sizeof(ev.subject), "primary-region");
	snprintf(ev.detail, sizeof(ev.detail), "drop 10.250.1.0/24 egress");
	if (r == 0)
		r = store_add_event(st, &ev, err);
	for (int i = 0; i < 4; i++)
		smp[i] = (struct store_sample){ .iteration_id = it.id, .mono_ns = t0 + i * 100000000,
						.ok = i > 1, .latency_ns = 3000000 + i * 100000 };
	for (int i = 0; i < 4; i++)
		snprintf(smp[i].probe, sizeof(smp[i].probe), "api");
	if (r == 0)
		r = store_add_samples(st, smp, 4, err);
	return r == 0 ? store_finish_iteration(st, &it, err) : r;
}

static int fill(struct store *st, int n_iterations, int per_drill, struct fd_error *err)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	int n_drills = (n_iterations + per_drill - 1) / per_drill, done = 0, r;
	int64_t scenario_id = 0, start = INT64_C(1767225600) * FD_NS_PER_S; /* 2026-01-01 */
	unsigned seed = 42;
	char sha[65];

	crypto_hash_sha256(h, (const unsigned char *)SCENARIO_TEXT, strlen(SCENARIO_TEXT));
	sodium_bin2hex(sha, sizeof(sha), h, sizeof(h));
	r = store_put_scenario(st, "region-failover", sha, SCENARIO_TEXT, &scenario_id, err);
	for (int d = 0; d < n_drills && r == 0; d++) {
		struct store_drill dr = { .scenario_id = scenario_id, .iterations_planned = per_drill,
					  .objectives_recorded = true,
					  .has_rto_objective = true, .rto_objective_ns = 300 * FD_NS_PER_S,
					  .has_rpo_objective = true, .rpo_objective_ns = 30 * FD_NS_PER_S };
		int64_t t = start + (int64_t)d * 7 * 86400 * FD_NS_PER_S;

		snprintf(dr.scenario_name, sizeof(dr.scenario_name), "region-failover");
		snprintf(dr.scenario_sha256, sizeof(dr.scenario_sha256), "%s", sha);
		snprintf(dr.environment, sizeof(dr.environment), "staging");
		snprintf(dr.operator_name, sizeof(dr.operator_name), d % 2 ? "alice" : "bob");
		snprintf(dr.host, sizeof(dr.host), "drill-runner-1");
		snprintf(dr.tool_version, sizeof(dr.tool_version), "0.1.0");
		dr.started_real_ns = t;
		r = store_begin_drill(st, &dr, err);
		for (int i = 0; i < per_drill && done < n_iterations && r == 0; i++, done++)
			r = add_iteration(st, dr.id, i + 1, d, n_drills, t + (int64_t)i * 600 * FD_NS_PER_S,
					  &seed, err);
		if (r == 0)
			r = store_finish_drill(st, dr.id, STORE_OUTCOME_RECOVERED, false,
					       t + (int64_t)per_drill * 600 * FD_NS_PER_S, err);
	}
	return r;
}

/* Wall and CPU ms to load the trend and (unless fmt < 0) render it to /dev/null. */
static void time_once(struct store *st, int fmt, FILE *sink, double *wall, double *cpu)
{
	struct store_filter f = { 0 };
	struct report_trend *t = NULL;
	struct fd_error err = { 0 };
	double t0 = now_ms(), c0 = cpu_ms();

	if (report_trend_load(st, &f, &t, &err) < 0) {
		fprintf(stderr, "bench_reports: %s\n", err.msg);
		exit(1);
	}
	if (fmt >= 0 && report_trend_write(t, (enum report_format)fmt, sink, &err) < 0) {
		fprintf(stderr, "bench_reports: %s\n", err.msg);
		exit(1);
	}
	report_trend_free(t);
	*wall = now_ms() - t0;
	*cpu = cpu_ms() - c0;
}

static double median(double *v, int runs)
{
	qsort(v, (size_t)runs, sizeof(v[0]), cmp_double);
	return runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
}

static void measure(struct store *st, int fmt, int runs, FILE *sink, const char *note)
{
	double wall[64], cpu[64];

	for (int i = 0; i < runs; i++)
		time_once(st, fmt, sink, &wall[i], &cpu[i]);
	printf("  %-6s %8.1f ms wall %8.1f ms cpu%s\n",
	       fmt < 0 ? "load" : report_format_name((enum report_format)fmt), median(wall, runs),
	       median(cpu, runs), note);
}

int main(int argc, char **argv)
{
	int n = 10000, per_drill = 100, runs = 7;
	const char *db = NULL;
	char tmpl[] = "/tmp/fd-bench-reports-XXXXXX", path[128];
	bool keep = false;
	struct store *st = NULL;
	struct fd_error err = { 0 };
	FILE *sink;
	double fill_ms;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (strcmp(argv[i], "--per-drill") == 0 && i + 1 < argc)
			per_drill = atoi(argv[++i]);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else {
			fprintf(stderr, "usage: bench_reports [--iterations N] [--per-drill K] [--runs R] "
				"[--db PATH] [--keep]\n");
			return 2;
		}
	}
	if (n < 1 || per_drill < 1 || runs < 1 || runs > 64 || sodium_init() < 0)
		return 2;
	if (!db) {
		if (!mkdtemp(tmpl))
			return 3;
		snprintf(path, sizeof(path), "%s/bench.db", tmpl);
		db = path;
	} else {
		unlink(db);
	}
	fill_ms = now_ms();
	if (store_open(db, &st, &err) < 0 || fill(st, n, per_drill, &err) < 0) {
		fprintf(stderr, "bench_reports: %s\n", err.msg);
		return 3;
	}
	fill_ms = now_ms() - fill_ms;
	sink = fopen("/dev/null", "w");
	printf("store: %d iterations in %d drills of %d (filled in %.0f ms): %s\n", n,
	       (n + per_drill - 1) / per_drill, per_drill, fill_ms, db);
	printf("trend report over all of it, median of %d runs (load from the store + render):\n", runs);
	measure(st, -1, runs, sink, "  (baseline: read the store, build the model)");
	for (int f = REPORT_HTML; f <= REPORT_JUNIT; f++)
		measure(st, f, runs, sink, "");
	fclose(sink);
	store_close(st);
	if (!keep) {
		unlink(db);
		if (db == path) {
			char side[160];

			snprintf(side, sizeof(side), "%s-wal", db);
			unlink(side);
			snprintf(side, sizeof(side), "%s-shm", db);
			unlink(side);
			rmdir(tmpl);
		}
	}
	return 0;
}

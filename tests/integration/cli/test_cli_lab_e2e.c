/*
 * End to end, as root: the built-in lab, `firedrill run` on the library's
 * lab scenarios, and the store checked against the lab's ground truth.
 *
 *  1. lab up, lab-region-a-blackhole without its failback (the failback
 *     step's `lab reset` empties the truth log): exit 0, one recovered
 *     iteration whose RTO lies within the scorer's error bound of the lab's
 *     failover (with a margin for request latency), lost writes equal to the
 *     lab's record, RPO within a canary interval of the truth, no firedrill
 *     nft table left.
 *  2. lab-region-a-blackhole as shipped, --iterations 3: exit 0, three
 *     recovered iterations, each with its own RTO and failback time, region
 *     A primary again at the end, nothing left applied.
 *  3. lab reset --no-controller, lab-no-failover: exit 1, recorded
 *     "not recovered" with no RTO, nothing left applied.
 *  4. lab down: no fdlab namespace left.
 *
 * Exit 77 (skip) when not root. Never fails on speed: only on wrong numbers
 * and on leftovers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_time.h"
#include "fdtest.h"
#include "lab.h"
#include "store.h"

#define MS FD_NS_PER_MS

static char dir[256];
static char exe[1024], src[1024], db[1100];

/* Runs before fdtest removes dir (atexit handlers run in reverse order). */
static void cleanup(void)
{
	fdt_sh("%s lab down >/dev/null 2>&1", exe);
}

/* The iterations of the newest drill (want of them, or fails). */
static int newest_iterations(struct store_iteration *out, size_t want, struct store_drill *drill)
{
	struct store *st = NULL;
	struct store_drill *d = NULL;
	struct store_iteration *it = NULL;
	struct store_filter f = { 0 };
	size_t nd = 0, ni = 0;
	struct fd_error e;
	int rc = -1;

	if (store_open_readonly(db, &st, &e) < 0 || store_list_drills(st, &f, &d, &nd, &e) < 0 || nd == 0 ||
	    store_list_iterations(st, d[nd - 1].id, &it, &ni, &e) < 0 || ni != want) {
		fprintf(stderr, "store: %s (drills %zu, iterations %zu, want %zu)\n", e.msg, nd, ni,
			want);
		goto out;
	}
	*drill = d[nd - 1];
	memcpy(out, it, want * sizeof(*out));
	rc = 0;
out:
	free(d);
	free(it);
	store_close(st);
	return rc;
}

static int newest_iteration(struct store_iteration *out, struct store_drill *drill)
{
	return newest_iterations(out, 1, drill);
}

static int active_faults(void)
{
	struct store *st = NULL;
	struct store_fault *f = NULL;
	size_t n = 0;
	struct fd_error e;

	if (store_open(db, &st, &e) < 0)
		return -1;
	if (store_journal_list_active(st, &f, &n, &e) < 0)
		n = 999;
	store_faults_free(f, n == 999 ? 0 : n);
	store_close(st);
	return (int)n;
}

static void no_firedrill_table(void)
{
	char out[4096];

	fdt_capture(out, sizeof(out), "ip netns exec " LAB_NETNS_CLIENT " nft list tables 2>&1");
	FDT_CHECK(!strstr(out, "firedrill"), "nft tables left in %s: %s", LAB_NETNS_CLIENT, out);
	FDT_CHECK(active_faults() == 0, "the journal still has active faults");
}

/* RPO of the truth: ack time of the newest lost write minus that of the
 * newest acknowledged write before it that survived. */
static int64_t truth_rpo(const struct lab_truth *t)
{
	const struct lab_write *newest_lost = NULL;
	int64_t survived = 0;

	for (size_t i = 0; i < t->n_lost; i++)
		if (!newest_lost || t->lost[i].ack_mono_ns > newest_lost->ack_mono_ns)
			newest_lost = &t->lost[i];
	if (!newest_lost)
		return 0;
	for (size_t i = 0; i < t->n_acked; i++) {
		bool lost = false;

		for (size_t j = 0; j < t->n_lost; j++)
			lost = lost || strcmp(t->acked[i].key, t->lost[j].key) == 0;
		if (!lost && t->acked[i].ack_mono_ns < newest_lost->ack_mono_ns &&
		    t->acked[i].ack_mono_ns > survived)
			survived = t->acked[i].ack_mono_ns;
	}
	return survived ? newest_lost->ack_mono_ns - survived : 0;
}

/* A dry run of the scenario passes (its steady-state check; nothing injected). */
static bool lab_healthy(void *scenario)
{
	return fdt_sh("%s --db %s/preflight.db run %s/scenarios/library/%s --dry-run -q >/dev/null 2>&1",
		      exe, dir, src, (const char *)scenario) == 0;
}

/* The lab's services answer a moment after `lab up`/`lab reset` return. */
static void wait_healthy(const char *scenario)
{
	if (!fdt_wait_until(lab_healthy, (void *)scenario, 30000, 250))
		fprintf(stderr, "the lab did not become healthy; the drill will say so\n");
}

static void drill_recovers(void)
{
	struct store_iteration it;
	struct store_drill d;
	struct lab_truth *t = NULL;
	struct fd_error e;
	int64_t rto, bound, lo, hi, rpo_truth;

	FDT_CHECK(fdt_sh("%s lab up", exe) == 0, "lab up");
	wait_healthy("lab-region-a-blackhole.yaml");
	/* the same scenario without failback: the truth log survives the run */
	FDT_CHECK(fdt_sh("sed '/^failback:/,/^$/d' %s/scenarios/library/lab-region-a-blackhole.yaml "
			 ">%s/lab-region-a-blackhole.yaml && ! grep -q '^failback:' %s/lab-region-a-blackhole.yaml",
			 src, dir, dir) == 0, "scenario without failback");
	FDT_CHECK(fdt_sh("%s --db %s run %s/lab-region-a-blackhole.yaml --json -q </dev/null >%s/run1.json",
		 exe, db, dir, dir) == 0, "run lab-region-a-blackhole should exit 0");
	if (newest_iteration(&it, &d) < 0) {
		fdt_failures++;
		return;
	}
	FDT_CHECK(strcmp(d.scenario_name, "lab-region-a-blackhole") == 0, "scenario %s", d.scenario_name);
	/* The objectives went into the drill row when it started (docs/store.md). */
	FDT_CHECK(d.objectives_recorded && d.has_rto_objective && d.rto_objective_ns == 5 * FD_NS_PER_S &&
		  d.has_rpo_objective && d.rpo_objective_ns == FD_NS_PER_S,
		  "objectives in the drill row: recorded %d, rto %lld ns, rpo %lld ns", d.objectives_recorded,
		  (long long)d.rto_objective_ns, (long long)d.rpo_objective_ns);
	FDT_CHECK(strcmp(d.recovery_criterion, "all of [frontdoor] stable 1.0 s within 30.0 s") == 0,
		  "recovery criterion \"%s\"", d.recovery_criterion);
	/* No --operator: the invoking user, never "unknown" (fd_operator_name). */
	FDT_CHECK(d.operator_name[0] && strcmp(d.operator_name, "unknown") != 0, "operator \"%s\"",
		  d.operator_name);
	FDT_CHECK(it.outcome == STORE_OUTCOME_RECOVERED, "outcome %s", store_outcome_name(it.outcome));
	FDT_CHECK(it.has_rto, "no RTO");
	FDT_CHECK(it.objectives_met && d.objectives_met, "objectives not met: %s", it.detail);
	if (lab_truth_read(NULL, &t, &e) < 0) {
		FDT_CHECK(0, "lab truth: %s", e.msg);
		return;
	}
	FDT_CHECK(t->switched_mono_ns > 0 && t->first_ok_mono_ns > 0, "the lab saw no failover");
	rto = (int64_t)(it.rto_ms * (double)MS);
	bound = (int64_t)(it.error_bound_ms * (double)MS);
	/* A probe sent just before the switch may be forwarded after it (its
	 * latency), and the first ok sample is late by at most one interval. */
	lo = t->switched_mono_ns - it.t0_mono_ns - 100 * MS;
	hi = t->first_ok_mono_ns - it.t0_mono_ns + bound + 100 * MS;
	fprintf(stderr, "RTO measured %.1f ms, truth switched %.1f ms / first ok %.1f ms, bound %.1f ms\n",
		it.rto_ms, (double)(t->switched_mono_ns - it.t0_mono_ns) / 1e6,
		(double)(t->first_ok_mono_ns - it.t0_mono_ns) / 1e6, it.error_bound_ms);
	FDT_CHECK(rto >= lo && rto <= hi, "RTO %.1f ms outside [%.1f, %.1f] ms", it.rto_ms, (double)lo / 1e6,
	      (double)hi / 1e6);
	FDT_CHECK(it.has_rpo, "no RPO measured");
	FDT_CHECK(it.lost_writes == (int64_t)t->n_lost, "lost writes %lld, the lab lost %zu",
	      (long long)it.lost_writes, t->n_lost);
	rpo_truth = truth_rpo(t);
	fprintf(stderr, "RPO measured %.1f ms, truth %.1f ms; lost %lld / truth %zu; acked %lld / truth %zu\n",
		it.rpo_ms, (double)rpo_truth / 1e6, (long long)it.lost_writes, t->n_lost,
		(long long)it.writes_acked, t->n_acked);
	FDT_CHECK(llabs((long long)((int64_t)(it.rpo_ms * (double)MS) - rpo_truth)) <= 100 * MS,
	      "RPO %.1f ms vs truth %.1f ms", it.rpo_ms, (double)rpo_truth / 1e6);
	lab_truth_free(t);
	no_firedrill_table();
}

/*
 * The event lines `firedrill run` printed ("[1/1] 03:15:30.123 probe-down
 * frontdoor: ...") come in the order the events happened (UTC, to the ms;
 * a line after midnight may follow one before it).
 */
static void run_lines_in_order(const char *path)
{
	char line[2048], prev[16] = "", cur[16];
	unsigned a, b;
	size_t n = 0;
	FILE *f = fopen(path, "r");

	FDT_CHECK(f != NULL, "cannot read %s", path);
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "[%u/%u] %12[0-9:.]", &a, &b, cur) != 3 || strlen(cur) != 12)
			continue;
		FDT_CHECK(strcmp(cur, prev) >= 0 || (strncmp(prev, "23:", 3) == 0 &&
						     strncmp(cur, "00:", 3) == 0),
			  "run output: %s after %s: %s", cur, prev, line);
		snprintf(prev, sizeof(prev), "%s", cur);
		n++;
	}
	if (f)
		fclose(f);
	FDT_CHECK(n >= 5, "run output: only %zu timed event lines in %s", n, path);
}

/* Three iterations, each failed back by the scenario's `lab reset` step. */
static void drill_three_iterations(void)
{
	struct store_iteration it[3];
	struct store_drill d;

	FDT_CHECK(fdt_sh("%s lab reset", exe) == 0, "lab reset");
	wait_healthy("lab-region-a-blackhole.yaml");
	FDT_CHECK(fdt_sh("%s --db %s run %s/scenarios/library/lab-region-a-blackhole.yaml --iterations 3 "
			 "</dev/null >%s/run3.txt 2>&1", exe, db, src, dir) == 0,
		  "run lab-region-a-blackhole --iterations 3 should exit 0");
	if (newest_iterations(it, 3, &d) < 0) {
		fdt_failures++;
		return;
	}
	for (int i = 0; i < 3; i++) {
		fprintf(stderr, "iteration %d: %s, RTO %.1f ms, failback %.1f ms\n", it[i].number,
			store_outcome_name(it[i].outcome), it[i].rto_ms, it[i].failback_ms);
		FDT_CHECK(it[i].number == i + 1, "iteration %d numbered %d", i + 1, it[i].number);
		FDT_CHECK(it[i].outcome == STORE_OUTCOME_RECOVERED, "iteration %d: %s (%s)", i + 1,
			  store_outcome_name(it[i].outcome), it[i].detail);
		FDT_CHECK(it[i].has_rto && it[i].rto_ms > 0, "iteration %d: no RTO", i + 1);
		FDT_CHECK(it[i].has_failback, "iteration %d: no failback time", i + 1);
		FDT_CHECK(i == 0 || it[i].t0_real_ns > it[i - 1].t0_real_ns,
			  "iteration %d: T0 not after the previous one", i + 1);
	}
	FDT_CHECK(d.outcome == STORE_OUTCOME_RECOVERED && d.objectives_met, "drill %s, objectives %s",
		  store_outcome_name(d.outcome), d.objectives_met ? "met" : "missed");
	FDT_CHECK(lab_healthy("lab-region-a-blackhole.yaml"), "region A not primary after the drill");
	no_firedrill_table();
}

static void drill_not_recovered(void)
{
	char path[600];
	struct store_iteration it;
	struct store_drill d;

	FDT_CHECK(fdt_sh("%s lab reset --no-controller", exe) == 0, "lab reset --no-controller");
	wait_healthy("lab-no-failover.yaml");
	FDT_CHECK(fdt_sh("%s --db %s run %s/scenarios/library/lab-no-failover.yaml </dev/null >%s/run2.txt 2>&1",
		 exe, db, src, dir) == 1, "run lab-no-failover should exit 1");
	if (newest_iteration(&it, &d) < 0) {
		fdt_failures++;
		return;
	}
	FDT_CHECK(strcmp(d.scenario_name, "lab-no-failover") == 0, "scenario %s", d.scenario_name);
	FDT_CHECK(it.outcome == STORE_OUTCOME_NOT_RECOVERED, "outcome %s", store_outcome_name(it.outcome));
	FDT_CHECK(!it.has_rto, "a not-recovered iteration has an RTO (%.1f ms)", it.rto_ms);
	FDT_CHECK(!it.objectives_met && !d.objectives_met, "objectives met without recovery");
	FDT_CHECK(d.outcome == STORE_OUTCOME_NOT_RECOVERED, "drill outcome %s", store_outcome_name(d.outcome));
	snprintf(path, sizeof(path), "%s/run2.txt", dir);
	run_lines_in_order(path);
	no_firedrill_table();
}

int main(void)
{
	const char *b = getenv("FD_BUILD_ROOT"), *s = getenv("FD_SOURCE_ROOT");
	char out[4096];

	if (!fdt_need_root())
		return FDT_SKIP;
	if (!b || !s || fdt_tmpdir(dir, sizeof(dir), "fdt-cli-e2e") < 0) {
		fprintf(stderr, "FD_BUILD_ROOT and FD_SOURCE_ROOT must be set\n");
		return 1;
	}
	snprintf(exe, sizeof(exe), "%s/cli/firedrill", b);
	snprintf(src, sizeof(src), "%s", s);
	snprintf(db, sizeof(db), "%s/e2e.db", dir);
	setenv("FIREDRILL_RUN_DIR", dir, 1);
	/* The failback step runs "$FIREDRILL" lab reset: the CLI exports its own
	 * path, so no firedrill on PATH is needed (as for `firedrill demo` from
	 * the build tree, which once failed back with "firedrill: not found"). */
	fdt_trace = true;
	atexit(cleanup);

	drill_recovers();
	drill_three_iterations();
	drill_not_recovered();
	FDT_CHECK(fdt_sh("%s lab down", exe) == 0, "lab down");
	fdt_capture(out, sizeof(out), "ip netns list");
	FDT_CHECK(!strstr(out, "fdlab-"), "namespaces left: %s", out);
	if (fdt_failures)
		fdt_sh("cat %s/run2.txt; cat %s/run3.txt; cat %s/run1.json", dir, dir, dir);
	return fdt_finish();
}

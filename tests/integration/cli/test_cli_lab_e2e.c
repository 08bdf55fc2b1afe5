/*
 * End to end, as root: the built-in lab, `firedrill run` on the library's
 * lab scenarios, and the store checked against the lab's ground truth.
 *
 *  1. lab up, lab-region-a-blackhole: exit 0, one recovered iteration whose
 *     RTO lies within the scorer's error bound of the lab's failover (with
 *     a margin for request latency), lost writes equal to the lab's record,
 *     RPO within a canary interval of the truth, no firedrill nft table left.
 *  2. lab reset --no-controller, lab-no-failover: exit 1, recorded
 *     "not recovered" with no RTO, nothing left applied.
 *  3. lab down: no fdlab namespace left.
 *
 * Exit 77 (skip) when not root. Never fails on speed: only on wrong numbers
 * and on leftovers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_time.h"
#include "lab.h"
#include "store.h"

#define MS FD_NS_PER_MS

static char dir[] = "/tmp/fdt-cli-e2e-XXXXXX";
static char exe[1024], src[1024], db[1100];
static int failures;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			failures++;                                        \
		}                                                          \
	} while (0)

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fprintf(stderr, "+ %s\n", cmd);
	st = system(cmd);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	fprintf(stderr, "  exit %d\n", st);
	return st;
}

/* Output of a command (first 4 KiB). */
static void capture(char *out, size_t len, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	pclose(p);
}

static void cleanup(void)
{
	sh("%s lab down >/dev/null 2>&1", exe);
	sh("rm -rf %s", dir);
}

/* The one iteration of the newest drill. */
static int newest_iteration(struct store_iteration *out, struct store_drill *drill)
{
	struct store *st = NULL;
	struct store_drill *d = NULL;
	struct store_iteration *it = NULL;
	struct store_filter f = { 0 };
	size_t nd = 0, ni = 0;
	struct fd_error e;
	int rc = -1;

	if (store_open_readonly(db, &st, &e) < 0 || store_list_drills(st, &f, &d, &nd, &e) < 0 || nd == 0 ||
	    store_list_iterations(st, d[nd - 1].id, &it, &ni, &e) < 0 || ni != 1) {
		fprintf(stderr, "store: %s (drills %zu, iterations %zu)\n", e.msg, nd, ni);
		goto out;
	}
	*drill = d[nd - 1];
	*out = it[0];
	rc = 0;
out:
	free(d);
	free(it);
	store_close(st);
	return rc;
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

	capture(out, sizeof(out), "ip netns exec " LAB_NETNS_CLIENT " nft list tables 2>&1");
	CHECK(!strstr(out, "firedrill"), "nft tables left in %s: %s", LAB_NETNS_CLIENT, out);
	CHECK(active_faults() == 0, "the journal still has active faults");
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

/* The lab's services answer a moment after `lab up`/`lab reset` return:
 * wait with a dry run (the steady-state check, nothing injected). */
static void wait_healthy(const char *scenario)
{
	for (int i = 0; i < 20; i++) {
		if (sh("%s --db %s/preflight.db run %s/scenarios/library/%s --dry-run -q >/dev/null 2>&1",
		       exe, dir, src, scenario) == 0)
			return;
		usleep(250000);
	}
	fprintf(stderr, "the lab did not become healthy; the drill will say so\n");
}

static void drill_recovers(void)
{
	struct store_iteration it;
	struct store_drill d;
	struct lab_truth *t = NULL;
	struct fd_error e;
	int64_t rto, bound, lo, hi, rpo_truth;

	CHECK(sh("%s lab up", exe) == 0, "lab up");
	wait_healthy("lab-region-a-blackhole.yaml");
	CHECK(sh("%s --db %s run %s/scenarios/library/lab-region-a-blackhole.yaml --json -q </dev/null >%s/run1.json",
		 exe, db, src, dir) == 0, "run lab-region-a-blackhole should exit 0");
	if (newest_iteration(&it, &d) < 0) {
		failures++;
		return;
	}
	CHECK(strcmp(d.scenario_name, "lab-region-a-blackhole") == 0, "scenario %s", d.scenario_name);
	CHECK(it.outcome == OUTCOME_RECOVERED, "outcome %s", store_outcome_name(it.outcome));
	CHECK(it.has_rto, "no RTO");
	CHECK(it.objectives_met && d.objectives_met, "objectives not met: %s", it.detail);
	if (lab_truth_read(NULL, &t, &e) < 0) {
		CHECK(0, "lab truth: %s", e.msg);
		return;
	}
	CHECK(t->switched_mono_ns > 0 && t->first_ok_mono_ns > 0, "the lab saw no failover");
	rto = (int64_t)(it.rto_ms * (double)MS);
	bound = (int64_t)(it.error_bound_ms * (double)MS);
	/* A probe sent just before the switch may be forwarded after it (its
	 * latency), and the first ok sample is late by at most one interval. */
	lo = t->switched_mono_ns - it.t0_mono_ns - 100 * MS;
	hi = t->first_ok_mono_ns - it.t0_mono_ns + bound + 100 * MS;
	fprintf(stderr, "RTO measured %.1f ms, truth switched %.1f ms / first ok %.1f ms, bound %.1f ms\n",
		it.rto_ms, (double)(t->switched_mono_ns - it.t0_mono_ns) / 1e6,
		(double)(t->first_ok_mono_ns - it.t0_mono_ns) / 1e6, it.error_bound_ms);
	CHECK(rto >= lo && rto <= hi, "RTO %.1f ms outside [%.1f, %.1f] ms", it.rto_ms, (double)lo / 1e6,
	      (double)hi / 1e6);
	CHECK(it.has_rpo, "no RPO measured");
	CHECK(it.lost_writes == (int64_t)t->n_lost, "lost writes %lld, the lab lost %zu",
	      (long long)it.lost_writes, t->n_lost);
	rpo_truth = truth_rpo(t);
	fprintf(stderr, "RPO measured %.1f ms, truth %.1f ms; lost %lld / truth %zu; acked %lld / truth %zu\n",
		it.rpo_ms, (double)rpo_truth / 1e6, (long long)it.lost_writes, t->n_lost,
		(long long)it.writes_acked, t->n_acked);
	CHECK(llabs((long long)((int64_t)(it.rpo_ms * (double)MS) - rpo_truth)) <= 100 * MS,
	      "RPO %.1f ms vs truth %.1f ms", it.rpo_ms, (double)rpo_truth / 1e6);
	lab_truth_free(t);
	no_firedrill_table();
}

static void drill_not_recovered(void)
{
	struct store_iteration it;
	struct store_drill d;

	CHECK(sh("%s lab reset --no-controller", exe) == 0, "lab reset --no-controller");
	wait_healthy("lab-no-failover.yaml");
	CHECK(sh("%s --db %s run %s/scenarios/library/lab-no-failover.yaml </dev/null >%s/run2.txt 2>&1",
		 exe, db, src, dir) == 1, "run lab-no-failover should exit 1");
	if (newest_iteration(&it, &d) < 0) {
		failures++;
		return;
	}
	CHECK(strcmp(d.scenario_name, "lab-no-failover") == 0, "scenario %s", d.scenario_name);
	CHECK(it.outcome == OUTCOME_NOT_RECOVERED, "outcome %s", store_outcome_name(it.outcome));
	CHECK(!it.has_rto, "a not-recovered iteration has an RTO (%.1f ms)", it.rto_ms);
	CHECK(!it.objectives_met && !d.objectives_met, "objectives met without recovery");
	CHECK(d.outcome == OUTCOME_NOT_RECOVERED, "drill outcome %s", store_outcome_name(d.outcome));
	no_firedrill_table();
}

int main(void)
{
	const char *b = getenv("FD_BUILD_ROOT"), *s = getenv("FD_SOURCE_ROOT");
	char out[4096];

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root (network namespaces)\n");
		return 77;
	}
	if (!b || !s || !mkdtemp(dir)) {
		fprintf(stderr, "FD_BUILD_ROOT and FD_SOURCE_ROOT must be set\n");
		return 1;
	}
	snprintf(exe, sizeof(exe), "%s/cli/firedrill", b);
	snprintf(src, sizeof(src), "%s", s);
	snprintf(db, sizeof(db), "%s/e2e.db", dir);
	setenv("FIREDRILL_RUN_DIR", dir, 1);
	atexit(cleanup);

	drill_recovers();
	drill_not_recovered();
	CHECK(sh("%s lab down", exe) == 0, "lab down");
	capture(out, sizeof(out), "ip netns list");
	CHECK(!strstr(out, "fdlab-"), "namespaces left: %s", out);
	if (failures)
		sh("cat %s/run2.txt; cat %s/run1.json", dir, dir);
	fprintf(stderr, "%s (%d failure%s)\n", failures ? "FAILED" : "ok", failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}

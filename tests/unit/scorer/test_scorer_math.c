/*
 * Unit tests of the scorer's arithmetic with synthetic samples: the probe
 * schedule, the recovery window, RPO and lost-write accounting, templates
 * and timestamp parsing. No clock, no network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fd_time.h"
#include "scenario.h"
#include "scorer_int.h"

#define MS FD_NS_PER_MS
#define T0 (1000 * FD_NS_PER_S)
/* Far enough past every window that the horizon covers all samples. */
#define LATER (T0 + 3600 * FD_NS_PER_S)

/* ---- schedule ------------------------------------------------------------ */

static void sched_no_drift(void **state)
{
	struct sched s;
	int64_t start = 123456789, now, late;
	int i;

	(void)state;
	scorer_sched_init(&s, start, 10 * MS);
	for (i = 0; i < 10000; i++) {
		/* Jittery sends, each up to 9.9 ms late: the grid must not move. */
		now = s.next_ns + (int64_t)((unsigned)(i * 7919) % 9900) * 1000;
		late = scorer_sched_fire(&s, now);
		assert_true(late >= 0 && late < 10 * MS);
	}
	assert_int_equal(s.next_ns, start + 10000 * 10 * MS);
	assert_int_equal(s.skipped, 0);
}

static void sched_stall_skips(void **state)
{
	struct sched s;
	int64_t late;

	(void)state;
	scorer_sched_init(&s, 0, 10 * MS);
	scorer_sched_fire(&s, 0);
	/* The loop stalled 35 ms past the point due at 10 ms. */
	late = scorer_sched_fire(&s, 45 * MS);
	assert_int_equal(late, 35 * MS);
	assert_int_equal(s.next_ns, 50 * MS);
	assert_int_equal(s.skipped, 3);
}

/* recovery.resolution: 250 ms -> 5 ms -> 250 ms without leaving either grid. */
static void sched_restep_grid(void **state)
{
	struct sched s;
	int64_t start = 1000 * MS;

	(void)state;
	scorer_sched_init(&s, start, 250 * MS);
	scorer_sched_fire(&s, start);
	scorer_sched_fire(&s, start + 250 * MS + 100);
	/* Switched at 307.3 ms after start: the next 5 ms point, 310 ms. */
	scorer_sched_restep(&s, 5 * MS, start + 307300000);
	assert_int_equal(s.next_ns, start + 310 * MS);
	scorer_sched_fire(&s, start + 310 * MS);
	assert_int_equal(s.next_ns, start + 315 * MS);
	/* Back to 250 ms at 401 ms: the coarse grid's next point, 500 ms. */
	scorer_sched_restep(&s, 250 * MS, start + 401 * MS);
	assert_int_equal(s.next_ns, start + 500 * MS);
	/* Switched in the very instant a point was sent: that point is not sent twice. */
	scorer_sched_fire(&s, start + 500 * MS);
	scorer_sched_restep(&s, 5 * MS, start + 500 * MS);
	assert_int_equal(s.next_ns, start + 505 * MS);
	/* Before the (phase-shifted) first point: the first point. */
	scorer_sched_init(&s, start, 250 * MS);
	scorer_sched_restep(&s, 5 * MS, start - 40 * MS);
	assert_int_equal(s.next_ns, start);
	assert_int_equal(s.skipped, 0);
}

static void lateness_percentiles(void **state)
{
	struct lateness l = { 0 };
	struct scorer_lateness st;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		scorer_lateness_add(&l, i < 990 ? 100 : 5000000);
	scorer_lateness_summary(&l, &st);
	assert_int_equal(st.sends, 1000);
	assert_int_equal(st.p50_ns, 100);
	assert_int_equal(st.p99_ns, 5000000);
	assert_int_equal(st.max_ns, 5000000);
	free(l.ring);
}

/* ---- recovery window ----------------------------------------------------- */

struct fixture {
	struct scenario s;
	struct scenario_probe probes[3];
	size_t idx[3];
	struct scenario_criterion c;
};

static void fixture_init(struct fixture *f, enum criterion_mode mode, size_t n,
			 int64_t stable_for)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 3; i++) {
		f->probes[i].kind = PROBE_HTTP;
		f->probes[i].interval_ns = 10 * MS;
		f->probes[i].timeout_ns = 1000 * MS;
		f->idx[i] = i;
	}
	f->probes[1].interval_ns = 50 * MS;
	f->s.probes = f->probes;
	f->s.n_probes = 3;
	f->c.mode = mode;
	f->c.probes = f->idx;
	f->c.n_probes = n;
	f->c.stable_for_ns = stable_for;
	f->c.timeout_ns = 600 * FD_NS_PER_S;
}

static void feed(struct recovery_watch *w, size_t probe, int64_t at_ms, bool ok)
{
	struct scorer_sample s = { .probe = probe, .sent_mono_ns = T0 + at_ms * MS, .ok = ok };

	scorer_watch_feed(w, &s);
}

/* Probe p fails every 10 ms from 0 until down_ms, then answers up to end_ms. */
static void feed_outage(struct recovery_watch *w, size_t p, int64_t down_ms, int64_t end_ms)
{
	int64_t t;

	for (t = 0; t < end_ms; t += 10)
		feed(w, p, t, t >= down_ms);
}

static void window_simple(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 1, 100 * MS);
	w = scorer_watch_new(&f.c, &f.s, T0);
	assert_non_null(w);
	feed(w, 0, -10, true); /* healthy at T0: it can detect */
	feed_outage(w, 0, 500, 1000);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_true(r.recovered);
	assert_int_equal(r.rto_ns, 500 * MS);
	assert_true(r.has_detect);
	assert_int_equal(r.detect_ns, 0);
	assert_int_equal(r.first_success_ns, 500 * MS);
	/* latency 0: never early; late by up to the gap to the failing 490 ms */
	assert_int_equal(r.rto_early_ns, 0);
	assert_int_equal(r.rto_late_ns, 10 * MS);
	assert_int_equal(r.error_bound_ns, 10 * MS);
	scorer_watch_free(w);
}

static void feed_lat(struct recovery_watch *w, size_t probe, int64_t at_ms, bool ok,
		     int64_t lat_ms)
{
	struct scorer_sample s = { .probe = probe, .sent_mono_ns = T0 + at_ms * MS, .ok = ok,
				   .latency_ns = lat_ms * MS };

	scorer_watch_feed(w, &s);
}

/* Early by the healthy sample's latency, late by the gap actually sampled. */
static void window_two_sided(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 1, 100 * MS);
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed_lat(w, 0, 0, false, 500);
	feed_lat(w, 0, 10, false, 500);
	feed_lat(w, 0, 13, false, 500); /* a finer gap near recovery: 13 -> 16 */
	feed_lat(w, 0, 16, true, 30);
	for (int64_t t = 26; t < 400; t += 10)
		feed_lat(w, 0, t, true, 1);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 16 * MS);
	assert_int_equal(r.rto_early_ns, 30 * MS);
	assert_int_equal(r.rto_late_ns, 3 * MS);
	assert_int_equal(r.error_bound_ns, 30 * MS);
	scorer_watch_free(w);

	/* Healthy at the first sample after T0: late by up to the whole span from T0. */
	w = scorer_watch_new(&f.c, &f.s, T0);
	for (int64_t t = 7; t < 400; t += 10)
		feed_lat(w, 0, t, true, 2);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 7 * MS);
	assert_int_equal(r.rto_early_ns, 2 * MS);
	assert_int_equal(r.rto_late_ns, 7 * MS);
	scorer_watch_free(w);
}

/* Only a probe healthy at T0 detects; recovery.detect names one. */
static void detect_needs_healthy_at_t0(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;

	(void)state;
	fixture_init(&f, CRITERION_ANY, 2, 0);
	f.probes[0].id = (char *)"a";
	f.probes[1].id = (char *)"b";
	f.probes[2].id = (char *)"c";
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 0, -20, false); /* a: failing before T0, fails at 5 ms: not a detection */
	feed(w, 0, 5, false);
	feed(w, 1, -30, false); /* b: healthy at T0 (newest by send), an older failure late */
	feed(w, 1, -5, true);
	feed(w, 1, -10, false);
	feed(w, 1, 40, false);
	feed(w, 1, 90, false);
	scorer_watch_done(w, LATER, &r);
	assert_true(r.has_detect);
	assert_int_equal(r.detect_ns, 40 * MS);
	scorer_watch_free(w);

	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 0, -20, false);
	feed(w, 0, 5, false);
	scorer_watch_done(w, LATER, &r);
	assert_false(r.has_detect);
	assert_string_equal(r.detect_why, "no criterion probe was healthy at T0");
	scorer_watch_free(w);

	/* recovery.detect: c, not in the criterion */
	f.c.has_detect = true;
	f.c.detect_probe = 2;
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 1, -10, true);
	feed(w, 1, 3, false); /* b is not the detect probe */
	feed(w, 2, -10, true);
	feed(w, 2, 25, false);
	scorer_watch_done(w, LATER, &r);
	assert_true(r.has_detect);
	assert_int_equal(r.detect_ns, 25 * MS);
	scorer_watch_free(w);

	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 2, -10, false);
	feed(w, 2, 25, false);
	scorer_watch_done(w, LATER, &r);
	assert_false(r.has_detect);
	assert_string_equal(r.detect_why, "probe c was already failing at T0");
	scorer_watch_free(w);

	/* Sent before T0 and answered after it (failing): it may have seen the
	 * fault, so it says nothing about T0; the one answered before does. */
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 2, -20, true);
	feed_lat(w, 2, -5, false, 10);
	feed(w, 2, 25, false);
	scorer_watch_done(w, LATER, &r);
	assert_true(r.has_detect);
	assert_int_equal(r.detect_ns, 25 * MS);
	scorer_watch_free(w);
}

static void window_not_before_horizon(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 1, 100 * MS);
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed_outage(w, 0, 500, 1000);
	/* A sample sent at 550 ms could still be in flight until its 1 s timeout. */
	assert_false(scorer_watch_done(w, T0 + 700 * MS, &r));
	assert_false(r.recovered);
	assert_true(r.has_first_success);
	assert_int_equal(r.first_success_ns, 500 * MS);
	assert_true(scorer_watch_done(w, T0 + 1800 * MS, &r));
	assert_int_equal(r.rto_ns, 500 * MS);
	scorer_watch_free(w);
}

static void window_flapping(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;
	int64_t t;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 1, 100 * MS);
	w = scorer_watch_new(&f.c, &f.s, T0);
	/* ok 200..250, fail 260, ok 300..380, fail 390, ok from 400 on. */
	for (t = 0; t < 1000; t += 10) {
		bool ok = (t >= 200 && t < 260) || (t >= 300 && t < 390) || t >= 400;

		feed(w, 0, t, ok);
	}
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 400 * MS);
	assert_int_equal(r.first_success_ns, 200 * MS);
	scorer_watch_free(w);
}

static void window_stable_exactly_met(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 1, 100 * MS);
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 0, 0, false);
	feed(w, 0, 100, true);
	feed(w, 0, 200, false); /* held exactly 100 ms */
	feed(w, 0, 300, true);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 100 * MS);
	scorer_watch_free(w);

	/* One nanosecond more is not met by that run; the next one holds. */
	fixture_init(&f, CRITERION_ALL, 1, 100 * MS + 1);
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 0, 0, false);
	feed(w, 0, 100, true);
	feed(w, 0, 200, false);
	feed(w, 0, 300, true);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 300 * MS);
	scorer_watch_free(w);
}

static void window_all_vs_any(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 2, 50 * MS);
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed_outage(w, 0, 300, 2000);
	feed_outage(w, 1, 700, 2000);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 700 * MS);
	assert_int_equal(r.rto_late_ns, 10 * MS); /* probe 1 as sampled here: 690 -> 700 */
	scorer_watch_free(w);

	fixture_init(&f, CRITERION_ANY, 2, 50 * MS);
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed_outage(w, 0, 300, 2000);
	feed_outage(w, 1, 700, 2000);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 300 * MS);
	scorer_watch_free(w);
}

static void window_out_of_order(void **state)
{
	struct recovery_result r1, r2;
	struct recovery_watch *w1, *w2;
	int64_t order[100];
	struct fixture f;
	int i, j;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 1, 100 * MS);
	w1 = scorer_watch_new(&f.c, &f.s, T0);
	w2 = scorer_watch_new(&f.c, &f.s, T0);
	for (i = 0; i < 100; i++)
		order[i] = i * 10;
	for (i = 99; i > 0; i--) { /* deterministic shuffle */
		int64_t tmp;

		j = (i * 7 + 3) % (i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < 100; i++) {
		bool ok = (order[i] >= 400 && order[i] != 450) || order[i] == 200;

		feed(w1, 0, order[i], ok);
	}
	feed_outage(w2, 0, 460, 1000);
	feed(w2, 0, 200, true); /* same samples, in send order */
	feed(w2, 0, 400, true);
	feed(w2, 0, 410, true);
	feed(w2, 0, 420, true);
	feed(w2, 0, 430, true);
	feed(w2, 0, 440, true);
	assert_true(scorer_watch_done(w1, LATER, &r1));
	assert_true(scorer_watch_done(w2, LATER, &r2));
	assert_int_equal(r1.rto_ns, 460 * MS);
	assert_int_equal(r2.rto_ns, r1.rto_ns);
	assert_int_equal(r1.first_success_ns, 200 * MS);

	/* A late, failing sample older than a window already settled: rescan. */
	feed(w2, 0, 500, false);
	assert_true(scorer_watch_done(w2, LATER, &r2));
	assert_int_equal(r2.rto_ns, 510 * MS);
	scorer_watch_free(w1);
	scorer_watch_free(w2);
}

static void window_never_recovers(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 2, 100 * MS);
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed_outage(w, 0, 100, 5000);
	feed_outage(w, 1, 1000000, 5000); /* never healthy */
	assert_false(scorer_watch_done(w, LATER, &r));
	assert_false(scorer_watch_done(w, LATER + FD_NS_PER_S, &r));
	assert_false(r.recovered);
	assert_int_equal(r.rto_ns, 0);
	assert_false(r.has_first_success);
	scorer_watch_free(w);
}

static void window_ignores_pre_t0(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 1, 0);
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 0, -10, true); /* healthy before the fault says nothing about after */
	assert_false(scorer_watch_done(w, LATER, &r));
	feed(w, 0, 20, true);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 20 * MS);
	assert_false(r.has_detect);
	scorer_watch_free(w);
}

/*
 * recovery.resolution: the bound is the send gap that ended the failure.
 * Probes 0 (10 ms) and 1 (50 ms) under "all", resolution 2 ms.
 */
static void window_resolution_gap(void **state)
{
	struct recovery_result r;
	struct recovery_watch *w;
	struct fixture f;
	int64_t t;

	(void)state;
	fixture_init(&f, CRITERION_ALL, 2, 0);
	f.c.resolution_ns = 2 * MS;
	w = scorer_watch_new(&f.c, &f.s, T0);
	/* Both fail from T0; probe 0 recovers at 100 ms, probe 1 at 201.5 ms
	 * (its previous, failing, sample at 199.5 ms: gap 2 ms). */
	for (t = 0; t < 300; t += 2)
		feed(w, 0, t, t >= 100);
	for (t = 1; t < 199; t += 2)
		feed(w, 1, t, false);
	feed(w, 1, 199, false);
	feed(w, 1, 201, true);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 201 * MS);
	assert_int_equal(r.error_bound_ns, 2 * MS);
	scorer_watch_free(w);

	/* A flap after a healthy sample: the failing one came at the coarse step
	 * (50 ms after the previous sample) and recovery follows 30 ms later,
	 * before the probe was switched back: the bound is that 30 ms gap. */
	fixture_init(&f, CRITERION_ALL, 1, 100 * MS);
	f.c.resolution_ns = 2 * MS;
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 0, 0, false);
	feed(w, 0, 2, true);
	feed(w, 0, 52, false);
	feed(w, 0, 82, true);
	feed(w, 0, 300, true);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.rto_ns, 82 * MS);
	assert_int_equal(r.error_bound_ns, 30 * MS);
	scorer_watch_free(w);

	/* Healthy from the first sample after T0 (sent 7 ms after it): 7 ms. */
	fixture_init(&f, CRITERION_ANY, 1, 0);
	f.c.resolution_ns = 2 * MS;
	w = scorer_watch_new(&f.c, &f.s, T0);
	feed(w, 0, 7, true);
	assert_true(scorer_watch_done(w, LATER, &r));
	assert_int_equal(r.error_bound_ns, 7 * MS);
	scorer_watch_free(w);
}

/* ---- RPO ----------------------------------------------------------------- */

static void writes_init(struct canary_write *w, size_t n)
{
	size_t i;

	memset(w, 0, n * sizeof(*w));
	for (i = 0; i < n; i++) {
		w[i].seq = (int64_t)i + 1;
		w[i].sent_ns = T0 - 1000 * MS + (int64_t)i * 200 * MS;
		w[i].ack_ns = w[i].sent_ns + 5 * MS;
		w[i].done = w[i].acked = w[i].read_done = w[i].survived = true;
	}
}

static void rpo_none_lost(void **state)
{
	struct canary_write w[10];
	struct rpo_result r;

	(void)state;
	writes_init(w, 10);
	scorer_rpo_compute(w, 10, T0, &r);
	assert_true(r.has_rpo);
	assert_int_equal(r.rpo_ns, 0);
	assert_int_equal(r.lost_writes, 0);
	assert_int_equal(r.writes_sent, 10);
	assert_int_equal(r.writes_acked, 10);
	assert_int_equal(r.writes_acked_outage, 5); /* seq 6..10 acked after T0 */
}

static void rpo_tail_lost(void **state)
{
	struct canary_write w[10];
	struct rpo_result r;

	(void)state;
	writes_init(w, 10);
	w[7].survived = w[8].survived = w[9].survived = false;
	w[9].acked = false; /* never acknowledged: not counted as lost */
	w[9].survived = false;
	scorer_rpo_compute(w, 10, T0, &r);
	assert_true(r.has_rpo);
	assert_int_equal(r.lost_writes, 2);
	assert_int_equal(r.writes_acked, 9);
	assert_int_equal(r.rpo_ns, w[8].ack_ns - w[6].ack_ns);
}

static void rpo_gaps(void **state)
{
	struct canary_write w[10];
	struct rpo_result r;

	(void)state;
	writes_init(w, 10);
	w[2].survived = w[3].survived = false;
	w[7].survived = false;
	scorer_rpo_compute(w, 10, T0, &r);
	assert_int_equal(r.lost_writes, 3);
	/* Newest lost is seq 8; newest survivor acknowledged before it is seq 7. */
	assert_int_equal(r.rpo_ns, w[7].ack_ns - w[6].ack_ns);
}

static void rpo_all_lost(void **state)
{
	struct canary_write w[4];
	struct rpo_result r;
	size_t i;

	(void)state;
	writes_init(w, 4);
	for (i = 0; i < 4; i++)
		w[i].survived = false;
	scorer_rpo_compute(w, 4, T0, &r);
	assert_true(r.has_rpo);
	assert_int_equal(r.lost_writes, 4);
	assert_int_equal(r.rpo_ns, w[3].ack_ns - w[0].sent_ns);
}

static void rpo_no_acked(void **state)
{
	struct canary_write w[5];
	struct rpo_result r;
	size_t i;

	(void)state;
	writes_init(w, 5);
	for (i = 0; i < 5; i++)
		w[i].acked = false;
	scorer_rpo_compute(w, 5, T0, &r);
	assert_false(r.has_rpo);
	assert_int_equal(r.writes_sent, 5);
	assert_int_equal(r.writes_acked, 0);
	assert_int_equal(r.lost_writes, 0);
	scorer_rpo_compute(NULL, 0, T0, &r);
	assert_false(r.has_rpo);
}

static void rpo_unknown_reads(void **state)
{
	struct canary_write w[5];
	struct rpo_result r;

	(void)state;
	writes_init(w, 5);
	w[3].read_done = false; /* read-back never answered */
	scorer_rpo_compute(w, 5, T0, &r);
	assert_false(r.has_rpo);
	assert_non_null(strstr(r.detail, "could not be read back"));
}


static void rpo_mismatched_is_lost(void **state)
{
	struct canary_write w[6];
	struct rpo_result r;

	(void)state;
	writes_init(w, 6);
	/* Seq 5 answered, but with another write's value: lost, and said so. */
	w[4].survived = false;
	w[4].mismatched = true;
	scorer_rpo_compute(w, 6, T0, &r);
	assert_true(r.has_rpo);
	assert_int_equal(r.lost_writes, 1);
	assert_int_equal(r.reads_mismatched, 1);
	assert_int_equal(r.rpo_ns, w[4].ack_ns - w[3].ack_ns);
	assert_non_null(strstr(r.detail, "1 read back with another value"));
}

static void readback_value(void **state)
{
	const char *body = "{\"seq\": 7, \"ts\": 1764127530123, \"data\": {\"items\": "
			   "[{\"v\": \"a\"}, {\"v\": 2.5}]}, \"f\": 1764127530123.0}";
	struct regex_entry re = { 0 };
	char why[160];
	size_t off;
	int ec;

	(void)state;
	assert_true(scorer_canary_value_ok(body, strlen(body), "ts", NULL, "1764127530123", why,
				    sizeof(why)));
	assert_true(scorer_canary_value_ok(body, strlen(body), "$.seq", NULL, "7", why, sizeof(why)));
	assert_true(scorer_canary_value_ok(body, strlen(body), "data.items.0.v", NULL, "a", why,
				    sizeof(why)));
	assert_true(scorer_canary_value_ok(body, strlen(body), "data.items.1.v", NULL, "2.5", why,
				    sizeof(why)));
	assert_true(scorer_canary_value_ok(body, strlen(body), "f", NULL, "1764127530123", why,
				    sizeof(why)));
	/* Someone else's value under our key. */
	assert_false(scorer_canary_value_ok(body, strlen(body), "ts", NULL, "1764127530999", why,
				     sizeof(why)));
	assert_non_null(strstr(why, "read back '1764127530123'"));
	assert_false(scorer_canary_value_ok(body, strlen(body), "data.items.2.v", NULL, "a", why,
				     sizeof(why)));
	assert_non_null(strstr(why, "no value at"));
	assert_false(scorer_canary_value_ok(body, strlen(body), "data", NULL, "a", why, sizeof(why)));
	assert_false(scorer_canary_value_ok("present", 7, "ts", NULL, "1", why, sizeof(why)));
	assert_non_null(strstr(why, "not JSON"));
	assert_false(scorer_canary_value_ok(NULL, 0, "ts", NULL, "1", why, sizeof(why)));
	/* Duplicate keys are refused rather than guessed. */
	assert_false(scorer_canary_value_ok("{\"ts\": 1, \"ts\": 2}", 20, "ts", NULL, "2", why,
				     sizeof(why)));
	/* Whole answer, trimmed (redis-cli GET prints a newline). */
	assert_true(scorer_canary_value_ok(" 42\n", 4, NULL, NULL, "42", why, sizeof(why)));
	assert_false(scorer_canary_value_ok("421\n", 4, NULL, NULL, "42", why, sizeof(why)));
	/* A regex: group 1. */
	re.code = pcre2_compile((PCRE2_SPTR) "ts=(\\d+)", PCRE2_ZERO_TERMINATED, 0, &ec, &off,
				NULL);
	assert_non_null(re.code);
	re.md = pcre2_match_data_create_from_pattern(re.code, NULL);
	assert_non_null(re.md);
	assert_true(scorer_canary_value_ok("seq=3 ts=99 end", 15, NULL, &re, "99", why, sizeof(why)));
	assert_false(scorer_canary_value_ok("seq=3", 5, NULL, &re, "99", why, sizeof(why)));
	assert_non_null(strstr(why, "value-match did not match"));
	pcre2_match_data_free(re.md);
	pcre2_code_free(re.code);
}

static void template_expand(void **state)
{
	char *s;

	(void)state;
	s = scorer_tmpl_expand("/canary/{{seq}}?ts={{ts}}&x={{other}}{{seq}}", 42, 1764127530123);
	assert_string_equal(s, "/canary/42?ts=1764127530123&x={{other}}42");
	free(s);
	s = scorer_tmpl_expand("", 1, 2);
	assert_string_equal(s, "");
	free(s);
}

/* {{t0}} and friends for the RPO query, T0 floored to the microsecond. */
static void template_t0(void **state)
{
	const struct tmpl q = { .has_t0 = true, .t0_real_ns = 1764127530123456789 };
	const struct tmpl c = { .seq = 7, .ts_ms = 99 };
	struct rpo_result r;
	int64_t ns;
	char *s;

	(void)state;
	s = scorer_tmpl_apply("ts < '{{t0}}' or {{t0_unix}} or {{t0_ms}}; {{seq}}{{ts}}", &q);
	assert_string_equal(s, "ts < '2025-11-26T03:25:30.123456Z' or 1764127530.123456 or "
			       "1764127530123; {{seq}}{{ts}}");
	free(s);
	/* A canary request knows no T0: its placeholders stay as written. */
	s = scorer_tmpl_apply("{{seq}}/{{ts}}/{{t0}}", &c);
	assert_string_equal(s, "7/99/{{t0}}");
	free(s);
	/* What {{t0}} writes parses back to T0 or just before it: RPO 0, never negative. */
	s = scorer_tmpl_apply("{{t0_unix}}", &q);
	assert_int_equal(scorer_rpo_parse_timestamp(s, &ns), 0);
	assert_int_equal(ns, 1764127530123456000);
	free(s);
	s = scorer_tmpl_apply("{{t0}}", &q);
	assert_int_equal(scorer_rpo_parse_timestamp(s, &ns), 0);
	assert_int_equal(ns, 1764127530123456000);
	memset(&r, 0, sizeof(r));
	scorer_rpo_from_query(s, q.t0_real_ns, &r);
	assert_true(r.has_rpo);
	assert_true(r.rpo_ns >= 0 && r.rpo_ns < 1000);
	free(s);
}

/* A timestamp after T0 (writers resumed after failover) leaves the RPO unknown. */
static void query_rpo_never_negative(void **state)
{
	const int64_t t0 = 1764127530 * FD_NS_PER_S + 500 * MS;
	struct rpo_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	scorer_rpo_from_query("2025-11-26T03:25:31Z\n", t0, &r);
	assert_false(r.has_rpo);
	assert_non_null(strstr(r.detail, "newest record at 2025-11-26T03:25:31Z is 500 ms"));
	assert_non_null(strstr(r.detail, "500 ms after T0"));
	assert_non_null(strstr(r.detail, "RPO unknown"));
	assert_non_null(strstr(r.detail, "{{t0}}"));
	scorer_rpo_from_query("1764127530.25", t0, &r);
	assert_true(r.has_rpo);
	assert_int_equal(r.rpo_ns, 250 * MS);
	scorer_rpo_from_query("2025-11-26T03:25:30.5Z", t0, &r);
	assert_true(r.has_rpo);
	assert_int_equal(r.rpo_ns, 0);
	scorer_rpo_from_query("yesterday", t0, &r);
	assert_false(r.has_rpo);
	assert_non_null(strstr(r.detail, "neither epoch seconds nor ISO 8601"));
}

static void timestamp_parse(void **state)
{
	int64_t ns;

	(void)state;
	assert_int_equal(scorer_rpo_parse_timestamp(" 1764127530.5\n", &ns), 0);
	assert_int_equal(ns, 1764127530500000000);
	assert_int_equal(scorer_rpo_parse_timestamp("2025-11-26T03:25:30Z", &ns), 0);
	assert_int_equal(ns, 1764127530 * FD_NS_PER_S);
	assert_int_equal(scorer_rpo_parse_timestamp("2025-11-26T03:25:30.25Z", &ns), 0);
	assert_int_equal(ns, 1764127530 * FD_NS_PER_S + 250 * MS);
	assert_int_equal(scorer_rpo_parse_timestamp("2025-11-26 05:25:30+02:00", &ns), 0);
	assert_int_equal(ns, 1764127530 * FD_NS_PER_S);
	assert_int_equal(scorer_rpo_parse_timestamp("2025-11-26 03:25:30+00", &ns), 0);
	assert_int_equal(ns, 1764127530 * FD_NS_PER_S);
	assert_int_not_equal(scorer_rpo_parse_timestamp("yesterday", &ns), 0);
	assert_int_not_equal(scorer_rpo_parse_timestamp("", &ns), 0);
	assert_int_not_equal(scorer_rpo_parse_timestamp("12abc", &ns), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sched_no_drift),
		cmocka_unit_test(sched_stall_skips),
		cmocka_unit_test(lateness_percentiles),
		cmocka_unit_test(sched_restep_grid),
		cmocka_unit_test(window_simple),
		cmocka_unit_test(window_two_sided),
		cmocka_unit_test(detect_needs_healthy_at_t0),
		cmocka_unit_test(window_not_before_horizon),
		cmocka_unit_test(window_flapping),
		cmocka_unit_test(window_stable_exactly_met),
		cmocka_unit_test(window_all_vs_any),
		cmocka_unit_test(window_out_of_order),
		cmocka_unit_test(window_never_recovers),
		cmocka_unit_test(window_ignores_pre_t0),
		cmocka_unit_test(window_resolution_gap),
		cmocka_unit_test(rpo_none_lost),
		cmocka_unit_test(rpo_tail_lost),
		cmocka_unit_test(rpo_gaps),
		cmocka_unit_test(rpo_all_lost),
		cmocka_unit_test(rpo_no_acked),
		cmocka_unit_test(rpo_unknown_reads),
		cmocka_unit_test(rpo_mismatched_is_lost),
		cmocka_unit_test(readback_value),
		cmocka_unit_test(template_expand),
		cmocka_unit_test(template_t0),
		cmocka_unit_test(query_rpo_never_negative),
		cmocka_unit_test(timestamp_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The probe schedule: each probe sends on a fixed grid start + k*interval.
 * Deriving the next due time from the previous due time (not from "now")
 * keeps the schedule from drifting however late individual sends are.
 * Here too: the phases that spread the probes' grids, the outage
 * resolution that changes their step, the sends themselves and the
 * samples they give, delivered in send order.
 */
#include "scorer_int.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"

void scorer_sched_init(struct sched *s, int64_t start_ns, int64_t interval_ns)
{
	s->start_ns = start_ns;
	s->interval_ns = interval_ns > 0 ? interval_ns : 1;
	s->next_ns = start_ns;
	s->skipped = 0;
	s->last_due_ns = INT64_MIN;
}

int64_t scorer_sched_fire(struct sched *s, int64_t now_ns)
{
	int64_t due = s->next_ns;
	int64_t behind;

	s->last_due_ns = due;
	s->next_ns += s->interval_ns;
	if (now_ns >= s->next_ns) {
		/* Stalled past whole intervals: skip them rather than burst. */
		behind = (now_ns - s->next_ns) / s->interval_ns + 1;
		s->skipped += behind;
		s->next_ns += behind * s->interval_ns;
	}
	return now_ns - due;
}

void scorer_sched_restep(struct sched *s, int64_t step_ns, int64_t now_ns)
{
	int64_t next;

	s->interval_ns = step_ns > 0 ? step_ns : 1;
	next = s->start_ns;
	if (now_ns > next)
		next += (now_ns - s->start_ns + s->interval_ns - 1) / s->interval_ns * s->interval_ns;
	if (next <= s->last_due_ns)
		next += ((s->last_due_ns - next) / s->interval_ns + 1) * s->interval_ns;
	s->next_ns = next;
}

void scorer_lateness_add(struct lateness *l, int64_t ns)
{
	if (!l->ring) {
		l->ring = calloc(SCORER_LATENESS_RING, sizeof(*l->ring));
		if (!l->ring)
			return;
	}
	l->ring[l->n % SCORER_LATENESS_RING] = ns;
	l->n++;
	if (ns > l->max_ns)
		l->max_ns = ns;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void scorer_lateness_summary(const struct lateness *l, struct scorer_lateness *out)
{
	size_t n = l->n < SCORER_LATENESS_RING ? l->n : SCORER_LATENESS_RING;
	int64_t *copy;

	memset(out, 0, sizeof(*out));
	out->sends = (int64_t)l->n;
	out->max_ns = l->max_ns;
	if (n == 0 || !l->ring)
		return;
	copy = malloc(n * sizeof(*copy));
	if (!copy)
		return;
	memcpy(copy, l->ring, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp_i64);
	out->p50_ns = copy[n / 2];
	out->p99_ns = copy[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	free(copy);
}

/* Probe phases: see spread_phase(). */
#define SPREAD_SLOT_NS (2 * FD_NS_PER_MS)
#define SPREAD_MAX_PER_SLOT 4

/* ---- outage resolution (recovery.resolution) ----------------------------- */

/*
 * Validation keeps a probe's timeout / resolution at or below
 * SCENARIO_RESOLUTION_MAX_INFLIGHT, which is what is in flight when every
 * request hangs until its timeout. The margin covers completions the loop
 * handles late; the cap only bites beyond it (a grid point is then skipped).
 */
#define FINE_INFLIGHT_MAX (SCENARIO_RESOLUTION_MAX_INFLIGHT + SCENARIO_RESOLUTION_MAX_INFLIGHT / 4)

/* recovery_watch's rule: a sample from before T0 says nothing about the outage. */
static bool res_probe_holds(const struct scorer *sc, const struct probe_rt *pr)
{
	return pr->has_state && pr->state_sent_ns >= sc->outage.t0_ns && pr->state_ok;
}

static bool res_criterion_holds(const struct scorer *sc)
{
	const struct scenario_criterion *c = &sc->s->recovery;
	bool all = true, any = false;

	for (size_t i = 0; i < c->n_probes; i++) {
		bool ok;

		assert(c->probes[i] < sc->n_probes); /* the loader checked each reference */
		ok = res_probe_holds(sc, &sc->probes[c->probes[i]]);

		all = all && ok;
		any = any || ok;
	}
	return c->mode == CRITERION_ALL ? all : any;
}

static void res_set_fine(struct scorer *sc, bool fine)
{
	const struct scenario_criterion *c = &sc->s->recovery;
	int64_t now = fd_mono_ns();

	if (sc->outage.fine == fine)
		return;
	sc->outage.fine = fine;
	sc->outage.switches++;
	for (size_t i = 0; i < c->n_probes; i++) {
		struct probe_rt *pr;

		assert(c->probes[i] < sc->n_probes);
		pr = &sc->probes[c->probes[i]];

		pr->fine = fine;
		scorer_sched_restep(&pr->sched, fine ? c->resolution_ns : pr->p->interval_ns, now);
	}
}

/* After every sample: the criterion as of now picks the step. */
static void res_follow(struct scorer *sc)
{
	if (sc->outage.on)
		res_set_fine(sc, !res_criterion_holds(sc));
}

/* A grid point at the resolution is not sent while the cap is in flight. */
static bool res_capped(struct scorer *sc, const struct probe_rt *pr)
{
	if (!pr->fine || pr->inflight < FINE_INFLIGHT_MAX)
		return false;
	sc->outage.capped++;
	return true;
}

static void res_sent(struct scorer *sc, struct probe_rt *pr)
{
	pr->inflight++;
	if (!pr->fine)
		return;
	sc->outage.fine_sends++;
	if (pr->inflight > sc->outage.max_inflight)
		sc->outage.max_inflight = pr->inflight;
}

void scorer_resolution_start(struct scorer *sc, int64_t t0_mono_ns)
{
	if (!sc || sc->s->recovery.resolution_ns <= 0)
		return;
	sc->outage.on = true;
	sc->outage.t0_ns = t0_mono_ns;
	res_follow(sc);
}

void scorer_resolution_stop(struct scorer *sc)
{
	if (!sc || !sc->outage.on)
		return;
	res_set_fine(sc, false);
	sc->outage.on = false;
}

void scorer_resolution_stats(const struct scorer *sc, struct scorer_resolution_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!sc)
		return;
	out->fine = sc->outage.fine;
	out->fine_sends = sc->outage.fine_sends;
	out->capped = sc->outage.capped;
	out->max_inflight = sc->outage.max_inflight;
	out->switches = sc->outage.switches;
}

/* ---- samples ------------------------------------------------------------- */

void scorer_detail_duration(char *buf, size_t len, const char *what, int64_t ns)
{
	char d[32];

	snprintf(buf, len, "%s %s", what, fd_duration_format(ns, d, sizeof(d)));
}

void scorer_probe_emit(struct scorer *sc, struct probe_rt *pr, int64_t sent_ns, bool ok,
		int64_t latency_ns, const char *detail)
{
	struct scorer_sample smp = {
		.probe = pr->index,
		.sent_mono_ns = sent_ns,
		.ok = ok,
		.latency_ns = latency_ns,
	};

	/* A probe's slot is its index in the table: the sample names the right probe. */
	assert(pr->index < sc->n_probes && pr == &sc->probes[pr->index]);
	snprintf(smp.detail, sizeof(smp.detail), "%s", detail ? detail : "");
	/* Open loop: the state is the newest sample by send time, not by arrival. */
	if (!pr->has_state || sent_ns >= pr->state_sent_ns) {
		pr->has_state = true;
		pr->state_sent_ns = sent_ns;
		pr->state_ok = ok;
	}
	res_follow(sc);
	if (sc->on_sample)
		sc->on_sample(sc->user, &smp);
}

/*
 * A periodic probe's samples reach on_sample in send order. Sends are open
 * loop, so a slow answer (a failing service that takes 500 ms to say 503)
 * completes after the answers to later sends; delivered as they complete,
 * that late failure would read as a new outage after the recovery, and the
 * first healthy answer to arrive would not be the first healthy one sent.
 * Each send waits in its probe's FIFO until every earlier send of that
 * probe has been delivered: a sample is held at most the probe's timeout.
 */
struct probe_pending {
	struct probe_rt *pr;
	struct probe_pending *next;
	bool done;
	struct scorer_sample smp; /* sent_mono_ns set at send; the rest when done */
};

static void pending_release(struct scorer *sc, struct probe_rt *pr)
{
	struct probe_pending *q;

	while ((q = pr->pend_head) && q->done) {
		pr->pend_head = q->next;
		if (!pr->pend_head)
			pr->pend_tail = NULL;
		scorer_probe_emit(sc, pr, q->smp.sent_mono_ns, q->smp.ok, q->smp.latency_ns, q->smp.detail);
		free(q);
	}
}

static void pending_fill(struct probe_pending *q, int64_t sent_ns, bool ok, int64_t latency_ns,
			 const char *detail)
{
	q->done = true;
	q->smp.sent_mono_ns = sent_ns;
	q->smp.ok = ok;
	q->smp.latency_ns = latency_ns;
	snprintf(q->smp.detail, sizeof(q->smp.detail), "%s", detail ? detail : "");
}

static void probe_done(struct scorer *sc, void *cookie, const struct job_result *r)
{
	struct probe_pending *q = cookie;

	/* One completion per send (it may come inside the start, before the send counts). */
	assert(!q->done);
	sc->inflight--;
	q->pr->inflight--;
	pending_fill(q, r->sent_ns, r->ok, r->done_ns - r->sent_ns, r->detail);
	if (!q->pr->starting)
		pending_release(sc, q->pr);
}

static struct probe_pending *pending_push(struct probe_rt *pr, int64_t now)
{
	struct probe_pending *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->pr = pr;
	q->smp.sent_mono_ns = now;
	if (pr->pend_tail)
		pr->pend_tail->next = q;
	else
		pr->pend_head = q;
	pr->pend_tail = q;
	return q;
}

static void pending_free_all(struct probe_rt *pr)
{
	struct probe_pending *q, *n;

	for (q = pr->pend_head; q; q = n) {
		n = q->next;
		free(q);
	}
	pr->pend_head = pr->pend_tail = NULL;
}

static bool probe_periodic(const struct scenario_probe *p)
{
	return p->kind != PROBE_LOG && p->kind != PROBE_PCAP;
}

/* Fresh unless the probe opted into reuse and its newest sample is healthy. */
static enum http_conn probe_conn(const struct probe_rt *pr)
{
	if (!pr->p->http.reuse_connection)
		return HTTP_CONN_FRESH;
	return pr->has_state && pr->state_ok ? HTTP_CONN_REUSE : HTTP_CONN_NEW;
}

static void probe_send(struct scorer *sc, struct probe_rt *pr, int64_t due)
{
	const struct scenario_probe *p = pr->p;
	int64_t sent = fd_mono_ns();
	/* Queued before the start: a job may complete inside it (connection refused). */
	struct probe_pending *q = pending_push(pr, sent);
	char detail[256];
	int rc = -ENOMEM;

	pr->starting = true;
	switch (q ? p->kind : PROBE_LOG) {
	case PROBE_HTTP:
		rc = scorer_http_job_start(sc, pr->place, &p->http, p->timeout_ns, NULL,
				    probe_conn(pr), false, probe_done, q, &sent);
		break;
	case PROBE_TCP:
		rc = scorer_tcp_job_start(sc, pr->place, p->tcp.host, p->tcp.port, p->timeout_ns,
				   probe_done, q, &sent);
		break;
	case PROBE_DNS:
		rc = scorer_dns_job_start(sc, pr->place, p, probe_done, q, &sent);
		break;
	case PROBE_COMMAND:
		rc = scorer_cmd_job_start(sc, pr->place, &p->command, p->timeout_ns, NULL, false,
				   probe_done, q, &sent);
		break;
	default:
		break;
	}
	pr->starting = false;
	scorer_lateness_add(&sc->late, sent - due);
	if (rc == 0) {
		sc->inflight++;
		res_sent(sc, pr);
		if (!q->done)
			q->smp.sent_mono_ns = sent;
		pending_release(sc, pr);
		return;
	}
	/* Could not even send (no fds, no memory): a failing sample, not an error. */
	snprintf(detail, sizeof(detail), "send: %s", strerror(-rc));
	if (!q) {
		scorer_probe_emit(sc, pr, sent, false, 0, detail);
		return;
	}
	pending_fill(q, sent, false, 0, detail);
	pending_release(sc, pr);
}

/*
 * The phase of the k-th of n periodic probes. Their grids are spread over
 * the interval: 100 probes due at the same instant would make the last one
 * late by 99 sends' work, every interval. But not one probe per phase:
 * every phase is a wake-up of its own, and the sends of one phase share
 * it, along with the connects and answers that come back together. Phases
 * are SPREAD_SLOT_NS apart, with at most SPREAD_MAX_PER_SLOT probes each
 * (closer phases when there are more probes than that allows): for 100
 * probes at 10 Hz, 50 wake-ups per interval instead of 100, for about a
 * sixth less CPU (docs/benchmarks.md), and the second send of a slot late
 * by one send's work (~0.1 ms).
 */
static int64_t spread_phase(int64_t interval_ns, size_t n, size_t k)
{
	int64_t slots = interval_ns / SPREAD_SLOT_NS;
	int64_t need = ((int64_t)n + SPREAD_MAX_PER_SLOT - 1) / SPREAD_MAX_PER_SLOT;

	if (slots < need)
		slots = need;
	if (slots > (int64_t)n)
		slots = (int64_t)n;
	/* k < n periodic probes over 1..n slots: every phase inside the first interval. */
	assert(k < n && slots >= 1 && slots <= (int64_t)n);
	return interval_ns / slots * ((int64_t)k % slots);
}

int scorer_start(struct scorer *sc, struct fd_error *err)
{
	int64_t now = fd_mono_ns();
	size_t i, k = 0, n = 0;

	(void)err;
	for (i = 0; i < sc->n_probes; i++)
		n += probe_periodic(sc->probes[i].p);
	for (i = 0; i < sc->n_probes; i++) {
		struct probe_rt *pr = &sc->probes[i];
		int64_t phase = 0;

		if (probe_periodic(pr->p) && n > 1)
			phase = spread_phase(pr->p->interval_ns, n, k++);
		scorer_sched_init(&pr->sched, now + phase, pr->p->interval_ns);
		pr->has_state = false;
		pr->fine = false;
		if (pr->p->kind == PROBE_LOG)
			scorer_log_start(sc, pr);
		else if (pr->p->kind == PROBE_PCAP)
			scorer_pcap_start(sc, pr);
	}
	memset(&sc->outage, 0, sizeof(sc->outage));
	sc->running = true;
	return 0;
}

void scorer_stop(struct scorer *sc)
{
	if (sc)
		sc->running = false;
}

bool scorer_probe_ok(const struct scorer *sc, size_t probe)
{
	if (!sc || probe >= sc->n_probes)
		return false;
	return sc->probes[probe].has_state && sc->probes[probe].state_ok;
}

int64_t scorer_oldest_pending_ns(const struct scorer *sc)
{
	int64_t oldest = INT64_MAX;

	for (size_t i = 0; sc && i < sc->n_probes; i++) {
		const struct probe_pending *q = sc->probes[i].pend_head;

		if (q && q->smp.sent_mono_ns < oldest)
			oldest = q->smp.sent_mono_ns;
	}
	return oldest;
}

int64_t scorer_probe_count(const struct scorer *sc, size_t probe)
{
	if (!sc || probe >= sc->n_probes)
		return 0;
	return sc->probes[probe].count;
}

void scorer_probe_window(struct scorer *sc, size_t probe, int64_t from_ns, int64_t to_ns)
{
	struct probe_rt *pr;

	if (!sc || probe >= sc->n_probes)
		return;
	pr = &sc->probes[probe];
	if (pr->win_from_ns != from_ns)
		pr->win_count = 0;
	pr->win_from_ns = from_ns;
	pr->win_to_ns = to_ns;
}

int64_t scorer_probe_window_count(const struct scorer *sc, size_t probe)
{
	if (!sc || probe >= sc->n_probes)
		return 0;
	return sc->probes[probe].win_count;
}

int64_t scorer_probe_error_bound(const struct scenario_probe *p)
{
	/* pcap timestamps the packet itself (microsecond precision or better). */
	if (p->kind == PROBE_PCAP)
		return 1000;
	return p->interval_ns;
}

void scorer_lateness_stats(const struct scorer *sc, struct scorer_lateness *out)
{
	scorer_lateness_summary(&sc->late, out);
	out->skipped = sc->skipped;
}


/* Probe sends due by *now (advanced past each send); returns the earliest next one. */
int64_t scorer_sched_run(struct scorer *sc, int64_t *now)
{
	int64_t next = INT64_MAX;
	size_t i;

	for (i = 0; sc->running && i < sc->n_probes; i++) {
		struct probe_rt *pr = &sc->probes[i];

		if (!probe_periodic(pr->p))
			continue;
		while (pr->sched.next_ns <= *now) {
			int64_t due = pr->sched.next_ns, before = pr->sched.skipped;

			scorer_sched_fire(&pr->sched, *now);
			sc->skipped += pr->sched.skipped - before;
			if (!res_capped(sc, pr))
				probe_send(sc, pr, due);
			*now = fd_mono_ns();
		}
		if (pr->sched.next_ns < next)
			next = pr->sched.next_ns;
	}
	return next;
}

void scorer_sched_free(struct scorer *sc)
{
	for (size_t i = 0; sc->probes && i < sc->n_probes; i++)
		pending_free_all(&sc->probes[i]);
}

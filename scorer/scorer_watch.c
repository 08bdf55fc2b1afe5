/*
 * recovery_watch: the recovery criterion as arithmetic over samples.
 *
 * The criterion at time t takes, for each criterion probe, its latest sample
 * sent at or before t (only samples sent at or after T0 count: at T0 every
 * probe's state is unknown, which is not healthy). It is a step function that
 * changes only at send times. RTO is the start of the first window in which
 * it held continuously for stable_for, minus T0.
 *
 * Probes are open-loop, so samples arrive out of send order: a request sent
 * at t may complete after one sent at t + interval. A window is confirmed
 * only once no sample sent inside it can still arrive: up to the "horizon"
 * now - (longest criterion probe timeout + slack). Everything before the
 * horizon is final, so it is scanned once and checkpointed; a sample that
 * arrives older than the checkpoint (beyond its timeout) forces a rescan.
 *
 * The window's start carries its two-sided bound (scorer.h): the latency of
 * the sample that made the criterion hold, and the gap back to that probe's
 * sample before it. Time to detect counts only probes healthy at T0: the
 * newest sample each sent and answered before T0 says so.
 */
#include "scorer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"

/* Loop and callback delay a completed sample may still see after its timeout. */
#define WATCH_SLACK_NS (100 * FD_NS_PER_MS)

struct scan_state {
	size_t *idx;        /* per series: samples consumed */
	signed char *state; /* per series: -1 unknown, 0 failing, 1 healthy */
	bool has_ws;
	int64_t ws;         /* start of the current true run */
	int64_t ws_early, ws_late; /* its bound */
	bool has_fs;
	int64_t fs;         /* first time the criterion was true */
	bool recovered;
	int64_t rec_ws;
	int64_t rec_early, rec_late;
};

/* Per scenario probe: its state at T0 and its first failure after. */
struct detect_track {
	bool candidate;     /* may detect: the detect probe, else a criterion probe */
	signed char at_t0;  /* -1 no sample answered before T0, 0 failing, 1 healthy */
	int64_t at_t0_sent; /* send time of the newest sample answered before T0 */
	bool failed;
	int64_t first_fail; /* earliest failing send at or after T0 */
};

struct recovery_watch {
	enum criterion_mode mode;
	int64_t stable_for_ns;
	int64_t t0;
	int64_t error_bound_ns;
	int64_t settle_ns;
	size_t n;
	size_t *probe;              /* series i watches scenario probe probe[i] */
	struct watch_series *series;
	const struct scenario *s;
	bool has_detect_probe;      /* recovery.detect named one */
	size_t detect_probe;
	struct detect_track *det;   /* per scenario probe */
	struct scan_state cp;       /* committed scan, up to cp_limit */
	int64_t cp_limit;
};

static void state_reset(struct recovery_watch *w, struct scan_state *st)
{
	memset(st->idx, 0, w->n * sizeof(*st->idx));
	memset(st->state, -1, w->n * sizeof(*st->state));
	st->has_ws = st->has_fs = st->recovered = false;
	st->ws = st->fs = st->rec_ws = 0;
	st->ws_early = st->ws_late = st->rec_early = st->rec_late = 0;
}

static bool state_alloc(struct recovery_watch *w, struct scan_state *st)
{
	st->idx = calloc(w->n ? w->n : 1, sizeof(*st->idx));
	st->state = calloc(w->n ? w->n : 1, sizeof(*st->state));
	if (!st->idx || !st->state)
		return false;
	state_reset(w, st);
	return true;
}

static void state_free(struct scan_state *st)
{
	free(st->idx);
	free(st->state);
}

static void state_copy(struct recovery_watch *w, struct scan_state *dst,
		       const struct scan_state *src)
{
	memcpy(dst->idx, src->idx, w->n * sizeof(*dst->idx));
	memcpy(dst->state, src->state, w->n * sizeof(*dst->state));
	dst->has_ws = src->has_ws;
	dst->ws = src->ws;
	dst->ws_early = src->ws_early;
	dst->ws_late = src->ws_late;
	dst->rec_early = src->rec_early;
	dst->rec_late = src->rec_late;
	dst->has_fs = src->has_fs;
	dst->fs = src->fs;
	dst->recovered = src->recovered;
	dst->rec_ws = src->rec_ws;
}

static bool detect_init(struct recovery_watch *w, const struct scenario_criterion *c,
			const struct scenario *s)
{
	size_t i;

	w->det = calloc(s->n_probes ? s->n_probes : 1, sizeof(*w->det));
	if (!w->det)
		return false;
	for (i = 0; i < s->n_probes; i++)
		w->det[i].at_t0 = -1;
	w->has_detect_probe = c->has_detect && c->detect_probe < s->n_probes;
	w->detect_probe = c->detect_probe;
	if (w->has_detect_probe)
		w->det[c->detect_probe].candidate = true;
	for (i = 0; !w->has_detect_probe && i < c->n_probes; i++)
		if (c->probes[i] < s->n_probes)
			w->det[c->probes[i]].candidate = true;
	return true;
}

struct recovery_watch *scorer_watch_new(const struct scenario_criterion *c,
					  const struct scenario *s, int64_t t0_mono_ns)
{
	struct recovery_watch *w = calloc(1, sizeof(*w));
	size_t i;

	if (!w)
		return NULL;
	w->mode = c->mode;
	w->stable_for_ns = c->stable_for_ns;
	w->t0 = t0_mono_ns;
	w->s = s;
	w->n = c->n_probes;
	w->probe = calloc(w->n ? w->n : 1, sizeof(*w->probe));
	w->series = calloc(w->n ? w->n : 1, sizeof(*w->series));
	if (!w->probe || !w->series || !state_alloc(w, &w->cp) || !detect_init(w, c, s))
		goto fail;
	for (i = 0; i < w->n; i++) {
		const struct scenario_probe *p = &s->probes[c->probes[i]];
		int64_t bound = scorer_probe_error_bound(p);

		w->probe[i] = c->probes[i];
		/* Log and pcap events are delivered as they are seen, never late. */
		if (p->kind != PROBE_LOG && p->kind != PROBE_PCAP)
			w->series[i].timeout_ns = p->timeout_ns;
		if (w->series[i].timeout_ns > w->settle_ns)
			w->settle_ns = w->series[i].timeout_ns;
		if (bound > w->error_bound_ns)
			w->error_bound_ns = bound;
	}
	w->settle_ns += WATCH_SLACK_NS;
	w->cp_limit = INT64_MIN;
	return w;
fail:
	scorer_watch_free(w);
	return NULL;
}

void scorer_watch_free(struct recovery_watch *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; w->series && i < w->n; i++) {
		free(w->series[i].t);
		free(w->series[i].ok);
		free(w->series[i].lat);
	}
	free(w->series);
	free(w->probe);
	free(w->det);
	state_free(&w->cp);
	free(w);
}

static int series_grow(struct watch_series *ws)
{
	size_t cap = ws->cap ? ws->cap * 2 : 256;
	int64_t *nt = realloc(ws->t, cap * sizeof(*nt)), *nl;
	bool *nok;

	if (!nt)
		return -1;
	ws->t = nt;
	nok = realloc(ws->ok, cap * sizeof(*nok));
	if (!nok)
		return -1;
	ws->ok = nok;
	nl = realloc(ws->lat, cap * sizeof(*nl));
	if (!nl)
		return -1;
	ws->lat = nl;
	ws->cap = cap;
	return 0;
}

static int series_insert(struct watch_series *ws, const struct scorer_sample *s)
{
	size_t pos;

	if (ws->n == ws->cap && series_grow(ws) < 0)
		return -1;
	/* Almost always an append; out-of-order samples move back a little. */
	pos = ws->n;
	while (pos > 0 && ws->t[pos - 1] > s->sent_mono_ns)
		pos--;
	memmove(ws->t + pos + 1, ws->t + pos, (ws->n - pos) * sizeof(*ws->t));
	memmove(ws->ok + pos + 1, ws->ok + pos, (ws->n - pos) * sizeof(*ws->ok));
	memmove(ws->lat + pos + 1, ws->lat + pos, (ws->n - pos) * sizeof(*ws->lat));
	ws->t[pos] = s->sent_mono_ns;
	ws->ok[pos] = s->ok;
	ws->lat[pos] = s->latency_ns > 0 ? s->latency_ns : 0;
	ws->n++;
	return 0;
}

static void detect_feed(struct recovery_watch *w, const struct scorer_sample *s)
{
	struct detect_track *d = &w->det[s->probe];

	if (s->sent_mono_ns < w->t0) {
		/* Only a sample answered before T0 tells the state at T0: one sent
		 * before and answered after may have seen the fault already. */
		if (s->sent_mono_ns + (s->latency_ns > 0 ? s->latency_ns : 0) >= w->t0)
			return;
		if (d->at_t0 < 0 || s->sent_mono_ns >= d->at_t0_sent) {
			d->at_t0 = s->ok ? 1 : 0;
			d->at_t0_sent = s->sent_mono_ns;
		}
		return;
	}
	if (d->candidate && !s->ok && (!d->failed || s->sent_mono_ns < d->first_fail)) {
		d->failed = true;
		d->first_fail = s->sent_mono_ns;
	}
}

void scorer_watch_feed(struct recovery_watch *w, const struct scorer_sample *s)
{
	size_t i;

	if (!w || s->probe >= w->s->n_probes)
		return;
	detect_feed(w, s);
	if (s->sent_mono_ns < w->t0)
		return;
	for (i = 0; i < w->n; i++) {
		if (w->probe[i] != s->probe)
			continue;
		if (series_insert(&w->series[i], s) < 0)
			continue;
		/* Older than what was already settled: rescan from T0. */
		if (s->sent_mono_ns < w->cp_limit) {
			state_reset(w, &w->cp);
			w->cp_limit = INT64_MIN;
		}
	}
}

static bool criterion(const struct recovery_watch *w, const struct scan_state *st)
{
	bool all = true, any = false;
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (st->state[i] == 1)
			any = true;
		else
			all = false;
	}
	return w->mode == CRITERION_ALL ? all : any;
}

/* The earliest unconsumed send time at or after which nothing is consumed. */
static bool next_time(const struct recovery_watch *w, const struct scan_state *st,
		      int64_t *t)
{
	bool found = false;
	size_t i;

	for (i = 0; i < w->n; i++) {
		const struct watch_series *ws = &w->series[i];

		if (st->idx[i] < ws->n && (!found || ws->t[st->idx[i]] < *t)) {
			*t = ws->t[st->idx[i]];
			found = true;
		}
	}
	return found;
}

/* Consumes sample groups sent before limit; stops once a window is found. */
static void scan(const struct recovery_watch *w, struct scan_state *st, int64_t limit)
{
	int64_t t = 0, early, prev;
	size_t i;
	bool c;

	while (!st->recovered && next_time(w, st, &t) && t < limit) {
		if (st->has_ws && t - st->ws >= w->stable_for_ns) {
			st->recovered = true;
			st->rec_ws = st->ws;
			st->rec_early = st->ws_early;
			st->rec_late = st->ws_late;
			return;
		}
		early = 0;
		prev = w->t0;
		for (i = 0; i < w->n; i++) {
			const struct watch_series *ws = &w->series[i];

			while (st->idx[i] < ws->n && ws->t[st->idx[i]] == t) {
				size_t k = st->idx[i];

				/* A probe turning healthy: where the bound of a window starting here comes from. */
				if (ws->ok[k] && st->state[i] != 1) {
					if (ws->lat[k] > early)
						early = ws->lat[k];
					if (k > 0 && ws->t[k - 1] > prev)
						prev = ws->t[k - 1];
				}
				st->state[i] = ws->ok[k] ? 1 : 0;
				st->idx[i]++;
			}
		}
		c = criterion(w, st);
		if (c && !st->has_fs) {
			st->has_fs = true;
			st->fs = t;
		}
		if (c && !st->has_ws) {
			st->has_ws = true;
			st->ws = t;
			st->ws_early = early;
			st->ws_late = t - prev;
		} else if (!c) {
			st->has_ws = false;
		}
	}
	/* No change before limit: the run started at ws held until limit. */
	if (!st->recovered && st->has_ws && limit - st->ws >= w->stable_for_ns &&
	    limit != INT64_MAX) {
		st->recovered = true;
		st->rec_ws = st->ws;
		st->rec_early = st->ws_early;
		st->rec_late = st->ws_late;
	}
}

/* The earliest first failure of a candidate healthy at T0, or why there is none. */
static void detect_result(const struct recovery_watch *w, struct recovery_result *r)
{
	const struct scenario *s = w->s;
	size_t i, healthy = 0;

	for (i = 0; i < s->n_probes; i++) {
		const struct detect_track *d = &w->det[i];

		if (!d->candidate || d->at_t0 != 1)
			continue;
		healthy++;
		if (d->failed && (!r->has_detect || d->first_fail - w->t0 < r->detect_ns)) {
			r->has_detect = true;
			r->detect_ns = d->first_fail - w->t0;
		}
	}
	if (r->has_detect)
		return;
	if (w->has_detect_probe) {
		const struct detect_track *d = &w->det[w->detect_probe];

		snprintf(r->detect_why, sizeof(r->detect_why), "probe %s %s",
			 s->probes[w->detect_probe].id ? s->probes[w->detect_probe].id : "?",
			 d->at_t0 == 0 ? "was already failing at T0" :
			 d->at_t0 < 0 ? "had no sample answered before T0" : "did not fail after T0");
	} else {
		snprintf(r->detect_why, sizeof(r->detect_why), "%s",
			 healthy ? "no criterion probe healthy at T0 failed after it"
				 : "no criterion probe was healthy at T0");
	}
}

bool scorer_watch_done(struct recovery_watch *w, int64_t now_mono_ns,
			 struct recovery_result *r)
{
	struct scan_state tmp = { 0 };
	int64_t horizon;

	memset(r, 0, sizeof(*r));
	if (!w)
		return false;
	r->error_bound_ns = w->error_bound_ns;
	detect_result(w, r);

	horizon = now_mono_ns - w->settle_ns;
	if (horizon > w->cp_limit && !w->cp.recovered) {
		scan(w, &w->cp, horizon);
		w->cp_limit = horizon;
	}
	if (w->cp.recovered) {
		r->recovered = true;
		r->rto_ns = w->cp.rec_ws - w->t0;
		r->rto_early_ns = w->cp.rec_early;
		r->rto_late_ns = w->cp.rec_late;
		r->error_bound_ns = r->rto_early_ns > r->rto_late_ns ? r->rto_early_ns : r->rto_late_ns;
		r->has_first_success = w->cp.has_fs;
		r->first_success_ns = w->cp.fs - w->t0;
		return true;
	}
	/* First success may lie past the horizon: look ahead without committing. */
	if (w->cp.has_fs) {
		r->has_first_success = true;
		r->first_success_ns = w->cp.fs - w->t0;
	} else if (state_alloc(w, &tmp)) {
		state_copy(w, &tmp, &w->cp);
		scan(w, &tmp, INT64_MAX);
		r->has_first_success = tmp.has_fs;
		r->first_success_ns = tmp.has_fs ? tmp.fs - w->t0 : 0;
	}
	state_free(&tmp);
	return false;
}

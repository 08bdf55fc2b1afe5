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
 */
#include "scorer_int.h"

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
	bool has_fs;
	int64_t fs;         /* first time the criterion was true */
	bool recovered;
	int64_t rec_ws;
	int64_t ws_gap;     /* resolution: send gap that ended the run's last failure */
	int64_t rec_gap;
};

struct recovery_watch {
	enum criterion_mode mode;
	int64_t stable_for_ns;
	int64_t t0;
	int64_t error_bound_ns;
	int64_t resolution_ns;      /* recovery.resolution, 0 = off */
	int64_t settle_ns;
	size_t n;
	size_t *probe;              /* series i watches scenario probe probe[i] */
	struct watch_series *series;
	bool has_detect;
	int64_t detect;
	struct scan_state cp;       /* committed scan, up to cp_limit */
	int64_t cp_limit;
};

static void state_reset(struct recovery_watch *w, struct scan_state *st)
{
	memset(st->idx, 0, w->n * sizeof(*st->idx));
	memset(st->state, -1, w->n * sizeof(*st->state));
	st->has_ws = st->has_fs = st->recovered = false;
	st->ws = st->fs = st->rec_ws = 0;
	st->ws_gap = st->rec_gap = 0;
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
	dst->has_fs = src->has_fs;
	dst->fs = src->fs;
	dst->recovered = src->recovered;
	dst->rec_ws = src->rec_ws;
	dst->ws_gap = src->ws_gap;
	dst->rec_gap = src->rec_gap;
}

struct recovery_watch *recovery_watch_new(const struct scenario_criterion *c,
					  const struct scenario *s, int64_t t0_mono_ns)
{
	struct recovery_watch *w = calloc(1, sizeof(*w));
	size_t i;

	if (!w)
		return NULL;
	w->mode = c->mode;
	w->stable_for_ns = c->stable_for_ns;
	w->t0 = t0_mono_ns;
	w->resolution_ns = c->resolution_ns;
	w->n = c->n_probes;
	w->probe = calloc(w->n ? w->n : 1, sizeof(*w->probe));
	w->series = calloc(w->n ? w->n : 1, sizeof(*w->series));
	if (!w->probe || !w->series || !state_alloc(w, &w->cp))
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
	recovery_watch_free(w);
	return NULL;
}

void recovery_watch_free(struct recovery_watch *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; w->series && i < w->n; i++) {
		free(w->series[i].t);
		free(w->series[i].ok);
	}
	free(w->series);
	free(w->probe);
	state_free(&w->cp);
	free(w);
}

static int series_insert(struct watch_series *ws, int64_t t, bool ok)
{
	size_t pos;

	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? ws->cap * 2 : 256;
		int64_t *nt = realloc(ws->t, cap * sizeof(*nt));
		bool *nok;

		if (!nt)
			return -1;
		ws->t = nt;
		nok = realloc(ws->ok, cap * sizeof(*nok));
		if (!nok)
			return -1;
		ws->ok = nok;
		ws->cap = cap;
	}
	/* Almost always an append; out-of-order samples move back a little. */
	pos = ws->n;
	while (pos > 0 && ws->t[pos - 1] > t)
		pos--;
	memmove(ws->t + pos + 1, ws->t + pos, (ws->n - pos) * sizeof(*ws->t));
	memmove(ws->ok + pos + 1, ws->ok + pos, (ws->n - pos) * sizeof(*ws->ok));
	ws->t[pos] = t;
	ws->ok[pos] = ok;
	ws->n++;
	return 0;
}

void recovery_watch_feed(struct recovery_watch *w, const struct scorer_sample *s)
{
	size_t i;

	if (!w || s->sent_mono_ns < w->t0)
		return;
	for (i = 0; i < w->n; i++) {
		if (w->probe[i] != s->probe)
			continue;
		if (series_insert(&w->series[i], s->sent_mono_ns, s->ok) < 0)
			continue;
		if (!s->ok && (!w->has_detect || s->sent_mono_ns < w->detect)) {
			w->has_detect = true;
			w->detect = s->sent_mono_ns;
		}
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

/*
 * With recovery.resolution the late side of the bound is the send gap
 * between a probe's sample that turned it healthy and its previous one
 * (T0 when there is none): the step in force at recovery, widened by any
 * point the loop or the in-flight cap skipped. This is the narrow stand-in
 * until the two-sided bound (issue 11, section 8) computes it for every
 * criterion; without a resolution the bound stays the interval.
 */
static int64_t turn_gap(const struct recovery_watch *w, const struct scan_state *st, size_t i)
{
	const struct watch_series *ws = &w->series[i];
	size_t k = st->idx[i];

	if (!w->resolution_ns || st->state[i] == 1 || !ws->ok[k])
		return 0;
	return ws->t[k] - (k > 0 ? ws->t[k - 1] : w->t0);
}

/* Consumes sample groups sent before limit; stops once a window is found. */
static void scan(const struct recovery_watch *w, struct scan_state *st, int64_t limit)
{
	int64_t t = 0, gap, g;
	size_t i;
	bool c;

	while (!st->recovered && next_time(w, st, &t) && t < limit) {
		if (st->has_ws && t - st->ws >= w->stable_for_ns) {
			st->recovered = true;
			st->rec_ws = st->ws;
			st->rec_gap = st->ws_gap;
			return;
		}
		gap = 0;
		for (i = 0; i < w->n; i++) {
			const struct watch_series *ws = &w->series[i];

			while (st->idx[i] < ws->n && ws->t[st->idx[i]] == t) {
				g = turn_gap(w, st, i);
				if (g > gap)
					gap = g;
				st->state[i] = ws->ok[st->idx[i]] ? 1 : 0;
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
			st->ws_gap = gap;
		} else if (!c) {
			st->has_ws = false;
		}
	}
	/* No change before limit: the run started at ws held until limit. */
	if (!st->recovered && st->has_ws && limit - st->ws >= w->stable_for_ns &&
	    limit != INT64_MAX) {
		st->recovered = true;
		st->rec_ws = st->ws;
		st->rec_gap = st->ws_gap;
	}
}

bool recovery_watch_done(struct recovery_watch *w, int64_t now_mono_ns,
			 struct recovery_result *r)
{
	struct scan_state tmp = { 0 };
	int64_t horizon;

	memset(r, 0, sizeof(*r));
	if (!w)
		return false;
	r->error_bound_ns = w->error_bound_ns;
	r->has_detect = w->has_detect;
	r->detect_ns = w->has_detect ? w->detect - w->t0 : 0;

	horizon = now_mono_ns - w->settle_ns;
	if (horizon > w->cp_limit && !w->cp.recovered) {
		scan(w, &w->cp, horizon);
		w->cp_limit = horizon;
	}
	if (w->cp.recovered) {
		r->recovered = true;
		r->rto_ns = w->cp.rec_ws - w->t0;
		if (w->resolution_ns)
			r->error_bound_ns = w->cp.rec_gap;
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

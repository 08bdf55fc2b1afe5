/*
 * scorer: the loop, the probe schedule, samples, canary writes, read-back
 * and the RPO query.
 *
 * Everything runs on the caller's thread inside scorer_poll() (and the
 * blocking read-back / query): one epoll set, one timerfd armed at the
 * earliest due time with nanosecond resolution (epoll_wait's own timeout
 * is in milliseconds, too coarse for 10 ms probes). The only other threads
 * are the DNS resolver pool (dns.c).
 */
#include "scorer_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fd_time.h"

/* An action built without the loader (tests) has timeout 0: the loader's default. */
#define ACTION_TIMEOUT_NS (5 * FD_NS_PER_S)
/* How long the loop waits for jobs beyond their own timeout. */
#define SETTLE_SLACK_NS FD_NS_PER_S
#define READBACK_PARALLEL 8
/* A read or query that got no answer is tried this often, RETRY_PAUSE_NS apart. */
#define READBACK_TRIES 3
#define RETRY_PAUSE_NS (500 * FD_NS_PER_MS)
/* Probe phases: see spread_phase(). */
#define SPREAD_SLOT_NS (2 * FD_NS_PER_MS)
#define SPREAD_MAX_PER_SLOT 4

/* ---- epoll and timers ---------------------------------------------------- */

int loop_add(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(sc->epfd, EPOLL_CTL_ADD, ev->fd, &e) < 0 ? -errno : 0;
}

int loop_mod(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(sc->epfd, EPOLL_CTL_MOD, ev->fd, &e) < 0 ? -errno : 0;
}

void loop_del(struct scorer *sc, struct watch_ev *ev)
{
	if (ev->fd >= 0)
		epoll_ctl(sc->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}

void loop_defer_free(struct scorer *sc, void *p)
{
	void **n;

	if (!sc) {
		free(p);
		return;
	}
	if (sc->n_grave == sc->cap_grave) {
		sc->cap_grave = sc->cap_grave ? sc->cap_grave * 2 : 64;
		n = realloc(sc->graveyard, sc->cap_grave * sizeof(*n));
		if (!n)
			abort(); /* cannot free safely and cannot leak the event: give up */
		sc->graveyard = n;
	}
	sc->graveyard[sc->n_grave++] = p;
}

static void graveyard_flush(struct scorer *sc)
{
	size_t i;

	for (i = 0; i < sc->n_grave; i++)
		free(sc->graveyard[i]);
	sc->n_grave = 0;
}

void timer_arm(struct scorer *sc, struct tnode *t, int64_t due_ns)
{
	if (t->armed)
		timer_disarm(sc, t);
	t->due_ns = due_ns;
	t->prev = NULL;
	t->next = sc->timers;
	if (sc->timers)
		sc->timers->prev = t;
	sc->timers = t;
	t->armed = true;
}

void timer_disarm(struct scorer *sc, struct tnode *t)
{
	if (!t->armed)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		sc->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->armed = false;
}

/* ---- regexes ------------------------------------------------------------- */

const struct regex_entry *scorer_regex(const struct scorer *sc, const char *pattern)
{
	size_t i;

	for (i = 0; pattern && i < sc->n_rx; i++)
		if (sc->rx[i].pattern == pattern)
			return &sc->rx[i];
	return NULL;
}

bool regex_match(const struct regex_entry *re, const char *s, size_t len, const char **cap,
		 size_t *cap_len)
{
	PCRE2_SIZE *ov;
	int rc, g;

	rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, NULL);
	if (rc <= 0)
		return false;
	if (cap) {
		ov = pcre2_get_ovector_pointer(re->md);
		g = rc > 1 ? 1 : 0;
		*cap = s + ov[2 * g];
		*cap_len = ov[2 * g + 1] - ov[2 * g];
	}
	return true;
}

static int regex_add(struct scorer *sc, const char *pattern, const char *where,
		     struct fd_error *err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	struct regex_entry *n;
	pcre2_match_data *md;
	pcre2_code *re;
	int ec;

	if (!pattern || scorer_regex(sc, pattern))
		return 0;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
	if (!re) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: regex '%s' at offset %zu: %s",
				    where, pattern, (size_t)off, (char *)msg);
	}
	/* Without JIT (not built in, no executable memory) matching is interpreted. */
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	n = md ? realloc(sc->rx, (sc->n_rx + 1) * sizeof(*n)) : NULL;
	if (!n) {
		pcre2_match_data_free(md);
		pcre2_code_free(re);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	sc->rx = n;
	sc->rx[sc->n_rx].pattern = pattern;
	sc->rx[sc->n_rx].code = re;
	sc->rx[sc->n_rx].md = md;
	sc->n_rx++;
	return 0;
}

static int regex_add_action(struct scorer *sc, const struct scenario_action *a,
			    const char *where, struct fd_error *err)
{
	int rc = regex_add(sc, a->http.body_match, where, err);

	return rc < 0 ? rc : regex_add(sc, a->command.stdout_match, where, err);
}

static int compile_regexes(struct scorer *sc, struct fd_error *err)
{
	const struct scenario *s = sc->s;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < s->n_probes; i++) {
		const struct scenario_probe *p = &s->probes[i];

		rc = regex_add(sc, p->http.body_match, p->id, err);
		if (rc == 0)
			rc = regex_add(sc, p->command.stdout_match, p->id, err);
		if (rc == 0)
			rc = regex_add(sc, p->log.match, p->id, err);
		if (rc == 0)
			rc = regex_add(sc, p->log.fail_match, p->id, err);
	}
	if (rc == 0 && s->rpo.has_canary)
		rc = regex_add_action(sc, &s->rpo.canary.write, "rpo.canary.write", err);
	if (rc == 0 && s->rpo.has_canary)
		rc = regex_add_action(sc, &s->rpo.canary.read, "rpo.canary.read", err);
	if (rc == 0 && s->rpo.has_canary)
		rc = regex_add(sc, s->rpo.canary.value_match, "rpo.canary.read.value-match", err);
	if (rc == 0 && s->rpo.has_query)
		rc = regex_add_action(sc, &s->rpo.query.action, "rpo.query", err);
	if (rc == 0 && s->rpo.has_query)
		rc = regex_add(sc, s->rpo.query.value_match, "rpo.query.value-match", err);
	return rc;
}

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
		bool ok = res_probe_holds(sc, &sc->probes[c->probes[i]]);

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
		struct probe_rt *pr = &sc->probes[c->probes[i]];

		pr->fine = fine;
		sched_restep(&pr->sched, fine ? c->resolution_ns : pr->p->interval_ns, now);
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

void detail_duration(char *buf, size_t len, const char *what, int64_t ns)
{
	char d[32];

	snprintf(buf, len, "%s %s", what, fd_duration_format(ns, d, sizeof(d)));
}

void probe_emit(struct scorer *sc, struct probe_rt *pr, int64_t sent_ns, bool ok,
		int64_t latency_ns, const char *detail)
{
	struct scorer_sample smp = {
		.probe = pr->index,
		.sent_mono_ns = sent_ns,
		.ok = ok,
		.latency_ns = latency_ns,
	};

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
		probe_emit(sc, pr, q->smp.sent_mono_ns, q->smp.ok, q->smp.latency_ns, q->smp.detail);
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
		rc = http_job_start(sc, &p->http, p->timeout_ns, NULL, probe_conn(pr), false,
				    probe_done, q, &sent);
		break;
	case PROBE_TCP:
		rc = tcp_job_start(sc, p->tcp.host, p->tcp.port, p->timeout_ns, probe_done, q,
				   &sent);
		break;
	case PROBE_DNS:
		rc = dns_job_start(sc, p, probe_done, q, &sent);
		break;
	case PROBE_COMMAND:
		rc = cmd_job_start(sc, &p->command, p->timeout_ns, NULL, false, probe_done, q,
				   &sent);
		break;
	default:
		break;
	}
	pr->starting = false;
	lateness_add(&sc->late, sent - due);
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
		probe_emit(sc, pr, sent, false, 0, detail);
		return;
	}
	pending_fill(q, sent, false, 0, detail);
	pending_release(sc, pr);
}

/* ---- canary writes ------------------------------------------------------- */

static void canary_done(struct scorer *sc, void *cookie, const struct job_result *r)
{
	struct canary_write *w = &sc->cw[(uintptr_t)cookie];

	sc->inflight--;
	sc->canary_inflight--;
	w->done = true;
	w->acked = r->ok;
	w->ack_ns = r->done_ns;
}

static int64_t action_timeout(const struct scenario_action *a)
{
	return a->timeout_ns > 0 ? a->timeout_ns : ACTION_TIMEOUT_NS;
}

static void action_start(struct scorer *sc, const struct scenario_action *a,
			 const struct tmpl *t, enum http_conn conn, bool keep, job_done_fn done,
			 void *cookie, int64_t *sent, int *rc)
{
	if (a->kind == ACTION_HTTP)
		*rc = http_job_start(sc, &a->http, action_timeout(a), t, conn, keep, done, cookie,
				     sent);
	else
		*rc = cmd_job_start(sc, &a->command, action_timeout(a), t, keep, done, cookie,
				    sent);
}

static void canary_send(struct scorer *sc)
{
	struct canary_write *w;
	struct tmpl t = { 0 };
	int rc;

	if (sc->n_cw == sc->cap_cw) {
		size_t cap = sc->cap_cw ? sc->cap_cw * 2 : 1024;
		struct canary_write *n = realloc(sc->cw, cap * sizeof(*n));

		if (!n)
			return;
		sc->cw = n;
		sc->cap_cw = cap;
	}
	w = &sc->cw[sc->n_cw];
	memset(w, 0, sizeof(*w));
	w->seq = (int64_t)sc->n_cw + 1;
	w->ts_ms = fd_real_ns() / FD_NS_PER_MS;
	t.seq = w->seq;
	t.ts_ms = w->ts_ms;
	action_start(sc, &sc->s->rpo.canary.write, &t, HTTP_CONN_FRESH, false, canary_done,
		     (void *)(uintptr_t)sc->n_cw, &w->sent_ns, &rc);
	sc->n_cw++;
	if (rc < 0) {
		w->done = true;
		return;
	}
	sc->inflight++;
	sc->canary_inflight++;
}

/* ---- the loop ------------------------------------------------------------ */

/* Periodic probe and canary sends due by now; returns the earliest next one. */
static int64_t run_sends(struct scorer *sc, int64_t now)
{
	int64_t next = INT64_MAX;
	size_t i;

	for (i = 0; sc->running && i < sc->n_probes; i++) {
		struct probe_rt *pr = &sc->probes[i];

		if (!probe_periodic(pr->p))
			continue;
		while (pr->sched.next_ns <= now) {
			int64_t due = pr->sched.next_ns, before = pr->sched.skipped;

			sched_fire(&pr->sched, now);
			sc->skipped += pr->sched.skipped - before;
			if (!res_capped(sc, pr))
				probe_send(sc, pr, due);
			now = fd_mono_ns();
		}
		if (pr->sched.next_ns < next)
			next = pr->sched.next_ns;
	}
	if (sc->canary_on) {
		while (sc->canary_sched.next_ns <= now) {
			sched_fire(&sc->canary_sched, now);
			canary_send(sc);
			now = fd_mono_ns();
		}
		if (sc->canary_sched.next_ns < next)
			next = sc->canary_sched.next_ns;
	}
	return next;
}

static int64_t run_due(struct scorer *sc, int64_t now)
{
	int64_t next = run_sends(sc, now);
	struct tnode *t, *tn;

	now = fd_mono_ns();
	for (t = sc->timers; t; t = tn) {
		tn = t->next;
		if (t->due_ns <= now) {
			timer_disarm(sc, t);
			t->fn(sc, t);
			/* The callback may have changed the list: restart. */
			tn = sc->timers;
			now = fd_mono_ns();
			continue;
		}
	}
	for (t = sc->timers; t; t = t->next)
		if (t->due_ns < next)
			next = t->due_ns;
	if (sc->curl_due_ns >= 0 && sc->curl_due_ns <= now) {
		sc->curl_due_ns = -1;
		http_timer_fire(sc);
	}
	if (sc->curl_due_ns >= 0 && sc->curl_due_ns < next)
		next = sc->curl_due_ns;
	return next;
}

/*
 * The timer fired. Not read: the next wait_until() re-arms it (armed is
 * now none), and timerfd_settime() clears the expirations counted since
 * the last setting (timerfd_create(2)), so it is no longer readable. One
 * system call less per expiry, about every other HTTP request at 100 probes.
 */
static void tfd_fired(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	(void)ev;
	(void)events;
	sc->tfd_armed_ns = -1;
}

static int wait_until(struct scorer *sc, int64_t wake, struct fd_error *err)
{
	struct itimerspec its = { 0 };
	struct epoll_event evs[64];
	int i, n;

	/* Woken by a socket with the timer still pending at the same point: keep it. */
	if (wake != sc->tfd_armed_ns) {
		its.it_value.tv_sec = wake / FD_NS_PER_S;
		its.it_value.tv_nsec = wake % FD_NS_PER_S;
		if (timerfd_settime(sc->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
			return fd_error_set(err, FD_ERR_INTERNAL, -errno, "timerfd_settime: %s",
					    strerror(errno));
		sc->tfd_armed_ns = wake;
	}
	n = epoll_wait(sc->epfd, evs, 64, -1);
	if (n < 0 && errno != EINTR)
		return fd_error_set(err, FD_ERR_INTERNAL, -errno, "epoll_wait: %s",
				    strerror(errno));
	/*
	 * Sends first: a send due now must not wait behind the completions of
	 * this batch (their time stamps are taken when curl or the kernel hands
	 * them over, and a few microseconds later only lengthen latency).
	 */
	if (n > 0)
		run_sends(sc, fd_mono_ns());
	for (i = 0; i < n; i++) {
		struct watch_ev *ev = evs[i].data.ptr;

		if (!ev->dead)
			ev->fn(sc, ev, evs[i].events);
	}
	graveyard_flush(sc);
	return 0;
}

int loop_run_until(struct scorer *sc, bool (*done)(struct scorer *), int64_t deadline_ns,
		   struct fd_error *err)
{
	int64_t now, next;
	int rc;

	for (;;) {
		now = fd_mono_ns();
		next = run_due(sc, now);
		if (done && done(sc))
			return 0;
		now = fd_mono_ns();
		if (now >= deadline_ns)
			return done ? -ETIMEDOUT : 0;
		if (next > deadline_ns)
			next = deadline_ns;
		if (next <= now)
			continue;
		rc = wait_until(sc, next, err);
		if (rc < 0)
			return rc;
	}
}

int scorer_poll(struct scorer *sc, int64_t deadline_mono_ns, struct fd_error *err)
{
	return loop_run_until(sc, NULL, deadline_mono_ns, err);
}

/* ---- lifecycle ----------------------------------------------------------- */

static int check_action_env(const struct scenario_action *a, const char *what,
			    struct fd_error *err)
{
	int rc = a->kind == ACTION_HTTP ? http_check_env(&a->http, err) : 0;

	if (rc < 0)
		fd_error_prefix(err, "%s", what);
	return rc;
}

int scorer_check_env(const struct scenario *s, struct fd_error *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->n_probes; i++) {
		if (s->probes[i].kind != PROBE_HTTP)
			continue;
		rc = http_check_env(&s->probes[i].http, err);
		if (rc < 0)
			fd_error_prefix(err, "probe %s", s->probes[i].id);
	}
	if (rc == 0 && s->rpo.has_canary)
		rc = check_action_env(&s->rpo.canary.write, "rpo canary write", err);
	if (rc == 0 && s->rpo.has_canary)
		rc = check_action_env(&s->rpo.canary.read, "rpo canary read", err);
	if (rc == 0 && s->rpo.has_query)
		rc = check_action_env(&s->rpo.query.action, "rpo query", err);
	return rc;
}

int scorer_new(const struct scenario *s, scorer_sample_fn on_sample, void *user,
	       struct scorer **out, struct fd_error *err)
{
	struct scorer *sc = calloc(1, sizeof(*sc));
	size_t i;
	int rc;

	*out = NULL;
	if (!sc)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	sc->s = s;
	sc->on_sample = on_sample;
	sc->user = user;
	sc->curl_due_ns = -1;
	sc->tfd_armed_ns = -1;
	sc->tfd = sc->ino_fd = sc->res_ev.fd = -1;
	sc->epfd = epoll_create1(EPOLL_CLOEXEC);
	sc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sc->epfd < 0 || sc->tfd < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "scorer loop: %s", strerror(errno));
		goto fail;
	}
	sc->tfd_ev.fd = sc->tfd;
	sc->tfd_ev.fn = tfd_fired;
	rc = loop_add(sc, &sc->tfd_ev, EPOLLIN);
	if (rc < 0) {
		fd_error_set(err, FD_ERR_ENV, rc, "scorer loop: %s", strerror(-rc));
		goto fail;
	}
	rc = scorer_check_env(s, err);
	if (rc < 0)
		goto fail;
	rc = compile_regexes(sc, err);
	if (rc < 0)
		goto fail;
	rc = http_init(sc, err);
	if (rc < 0)
		goto fail;
	sc->n_probes = s->n_probes;
	sc->probes = calloc(s->n_probes ? s->n_probes : 1, sizeof(*sc->probes));
	if (!sc->probes) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < s->n_probes; i++) {
		sc->probes[i].p = &s->probes[i];
		sc->probes[i].index = i;
		if (s->probes[i].kind == PROBE_LOG)
			rc = logp_open(sc, &sc->probes[i], err);
		else if (s->probes[i].kind == PROBE_PCAP)
			rc = pcapp_open(sc, &sc->probes[i], err);
		if (rc < 0) {
			fd_error_prefix(err, "probe %s", s->probes[i].id);
			goto fail;
		}
	}
	*out = sc;
	return 0;
fail:
	scorer_free(sc);
	return rc;
}

void scorer_free(struct scorer *sc)
{
	size_t i;

	if (!sc)
		return;
	for (i = 0; sc->probes && i < sc->n_probes; i++) {
		if (sc->probes[i].p->kind == PROBE_LOG)
			logp_close(sc, &sc->probes[i]);
		else if (sc->probes[i].p->kind == PROBE_PCAP)
			pcapp_close(sc, &sc->probes[i]);
	}
	/* Jobs still in flight are dropped without callbacks. */
	http_cleanup(sc);
	while (sc->timers) {
		struct tnode *t = sc->timers;

		timer_disarm(sc, t);
		t->fn(NULL, t); /* NULL scorer: release only */
	}
	resolver_free(sc->res);
	for (i = 0; sc->probes && i < sc->n_probes; i++)
		pending_free_all(&sc->probes[i]);
	graveyard_flush(sc);
	free(sc->graveyard);
	for (i = 0; i < sc->n_rx; i++) {
		pcre2_match_data_free(sc->rx[i].md);
		pcre2_code_free(sc->rx[i].code);
	}
	free(sc->rx);
	free(sc->probes);
	free(sc->cw);
	free(sc->late.ring);
	if (sc->ino_fd >= 0)
		close(sc->ino_fd);
	if (sc->tfd >= 0)
		close(sc->tfd);
	if (sc->epfd >= 0)
		close(sc->epfd);
	free(sc);
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
		sched_init(&pr->sched, now + phase, pr->p->interval_ns);
		pr->has_state = false;
		pr->fine = false;
		if (pr->p->kind == PROBE_LOG)
			logp_start(sc, pr);
		else if (pr->p->kind == PROBE_PCAP)
			pcapp_start(sc, pr);
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
	lateness_stats(&sc->late, out);
	out->skipped = sc->skipped;
}

/* ---- canary and RPO ------------------------------------------------------ */

int scorer_canary_start(struct scorer *sc, struct fd_error *err)
{
	if (!sc->s->rpo.has_canary)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "scenario has no rpo.canary");
	sched_init(&sc->canary_sched, fd_mono_ns(), sc->s->rpo.canary.interval_ns > 0 ?
		   sc->s->rpo.canary.interval_ns : 200 * FD_NS_PER_MS);
	sc->canary_on = true;
	return 0;
}

void scorer_canary_stop(struct scorer *sc)
{
	if (sc)
		sc->canary_on = false;
}

static bool writes_settled(struct scorer *sc)
{
	return sc->canary_inflight == 0;
}

static bool reads_settled(struct scorer *sc)
{
	return sc->reads_inflight == 0;
}

static bool readback_checks(const struct scenario *s)
{
	return s->rpo.canary.expect_value != NULL;
}

static void read_done(struct scorer *sc, void *cookie, const struct job_result *r)
{
	const struct scenario_rpo *rpo = &sc->s->rpo;
	struct canary_write *w = &sc->cw[(uintptr_t)cookie];
	char *want, why[160];

	sc->inflight--;
	sc->reads_inflight--;
	w->read_tries++;
	/* No answer (transport failure, no-answer exit) says nothing about the record: try again. */
	if (!r->answered) {
		snprintf(sc->read_why, sizeof(sc->read_why), "%.150s", r->detail);
		return;
	}
	w->read_done = true;
	w->survived = r->ok;
	if (!r->ok || !readback_checks(sc->s))
		return;
	/* Someone else's value under our key is not our write: lost. */
	want = tmpl_expand(rpo->canary.expect_value, w->seq, w->ts_ms);
	if (!want) {
		w->read_done = false; /* cannot judge: leave it unknown, never guessed */
		return;
	}
	if (!canary_value_ok(r->out, r->out_len, rpo->canary.value_json,
			     scorer_regex(sc, rpo->canary.value_match), want, why, sizeof(why))) {
		w->survived = false;
		w->mismatched = true;
	}
	free(want);
}

/* Acknowledged writes whose read-back got no answer yet. */
static bool reads_left(const struct scorer *sc)
{
	for (size_t i = 0; i < sc->n_cw; i++)
		if (sc->cw[i].acked && !sc->cw[i].read_done)
			return true;
	return false;
}

/* Starts reads for acknowledged writes not yet answered, READBACK_PARALLEL at a time. */
static void readback_fill(struct scorer *sc, size_t *cursor, int pass)
{
	struct tmpl t = { 0 };
	int64_t sent;
	int rc;

	while (sc->reads_inflight < READBACK_PARALLEL && *cursor < sc->n_cw) {
		struct canary_write *w = &sc->cw[*cursor];

		(*cursor)++;
		if (!w->acked || w->read_done || w->read_tries > pass)
			continue;
		t.seq = w->seq;
		t.ts_ms = w->ts_ms;
		action_start(sc, &sc->s->rpo.canary.read, &t, HTTP_CONN_REUSE, readback_checks(sc->s),
			     read_done, (void *)(uintptr_t)(*cursor - 1), &sent, &rc);
		if (rc < 0) {
			w->read_tries++;
			continue;
		}
		sc->inflight++;
		sc->reads_inflight++;
	}
}

int scorer_canary_readback(struct scorer *sc, int64_t t0_mono_ns, struct rpo_result *r,
			   struct fd_error *err)
{
	int64_t bound;
	size_t cursor;
	int pass, rc;

	memset(r, 0, sizeof(*r));
	sc->read_why[0] = '\0';
	if (!sc->s->rpo.has_canary)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "scenario has no rpo.canary");
	sc->canary_on = false;
	/* Writes still in flight finish (ack or timeout) before anything is read. */
	rc = loop_run_until(sc, writes_settled, fd_mono_ns() +
			    action_timeout(&sc->s->rpo.canary.write) + SETTLE_SLACK_NS, err);
	if (rc < 0 && rc != -ETIMEDOUT)
		return rc;
	for (pass = 0; pass < READBACK_TRIES; pass++) {
		if (pass > 0 && !reads_left(sc))
			break;
		rc = pass > 0 ? loop_run_until(sc, NULL, fd_mono_ns() + RETRY_PAUSE_NS, err) : 0;
		if (rc < 0)
			return rc;
		cursor = 0;
		while (cursor < sc->n_cw || sc->reads_inflight > 0) {
			readback_fill(sc, &cursor, pass);
			bound = fd_mono_ns() + action_timeout(&sc->s->rpo.canary.read) +
				SETTLE_SLACK_NS;
			rc = loop_run_until(sc, reads_settled, bound, err);
			if (rc == -ETIMEDOUT)
				return fd_error_set(err, FD_ERR_INTERNAL, rc,
						    "canary read-back: reads did not finish");
			if (rc < 0)
				return rc;
		}
	}
	rpo_compute(sc->cw, sc->n_cw, t0_mono_ns, r);
	if (!r->has_rpo && reads_left(sc) && sc->read_why[0])
		snprintf(r->detail + strlen(r->detail), sizeof(r->detail) - strlen(r->detail),
			 " (%d tries; last: %.120s)", READBACK_TRIES, sc->read_why);
	return 0;
}

static bool query_settled(struct scorer *sc)
{
	return sc->query_done;
}

static void query_done(struct scorer *sc, void *cookie, const struct job_result *jr)
{
	struct rpo_result *r = sc->query_out;
	const struct regex_entry *re = scorer_regex(sc, sc->s->rpo.query.value_match);
	const char *v = jr->out ? jr->out : "";
	size_t vlen = jr->out ? jr->out_len : 0;
	char buf[128];

	(void)cookie;
	sc->inflight--;
	sc->query_done = true;
	if (!r)
		return;
	sc->query_answered = jr->answered;
	if (!jr->answered) {
		snprintf(r->detail, sizeof(r->detail),
			 "rpo query: no answer after %d tries (last: %.160s): RPO unknown",
			 READBACK_TRIES, jr->detail);
		return;
	}
	if (!jr->ok) {
		snprintf(r->detail, sizeof(r->detail), "rpo query failed: %.200s", jr->detail);
		return;
	}
	if (re && !regex_match(re, v, vlen, &v, &vlen)) {
		snprintf(r->detail, sizeof(r->detail), "rpo query: value-match did not match");
		return;
	}
	if (vlen >= sizeof(buf))
		vlen = sizeof(buf) - 1;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	rpo_from_query(buf, sc->query_t0_real_ns, r);
}

/* One query; 0 once it completed (answered or not), <0 when it could not run. */
static int query_once(struct scorer *sc, struct fd_error *err)
{
	const struct tmpl t = { .has_t0 = true, .t0_real_ns = sc->query_t0_real_ns };
	int64_t sent;
	int rc;

	sc->query_done = false;
	sc->query_answered = false;
	action_start(sc, &sc->s->rpo.query.action, &t, HTTP_CONN_REUSE, true, query_done, NULL,
		     &sent, &rc);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "rpo query: %s", strerror(-rc));
	sc->inflight++;
	rc = loop_run_until(sc, query_settled, fd_mono_ns() +
			    action_timeout(&sc->s->rpo.query.action) + SETTLE_SLACK_NS, err);
	if (rc == -ETIMEDOUT)
		return fd_error_set(err, FD_ERR_INTERNAL, rc, "rpo query did not finish");
	return rc < 0 ? rc : 0;
}

int scorer_rpo_query(struct scorer *sc, int64_t t0_real_ns, struct rpo_result *r,
		     struct fd_error *err)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (!sc->s->rpo.has_query)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "scenario has no rpo.query");
	sc->query_out = r;
	sc->query_t0_real_ns = t0_real_ns;
	/* No answer (could not connect, no-answer exit) is tried again, never judged. */
	for (int tries = 0; tries < READBACK_TRIES; tries++) {
		rc = tries > 0 ? loop_run_until(sc, NULL, fd_mono_ns() + RETRY_PAUSE_NS, err) : 0;
		if (rc == 0)
			rc = query_once(sc, err);
		if (rc < 0 || sc->query_answered)
			break;
	}
	sc->query_out = NULL;
	return rc;
}

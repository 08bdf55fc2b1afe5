/*
 * The scorer's event loop: one epoll set, one timerfd armed at the earliest
 * due time with nanosecond resolution (epoll_wait's own timeout is in
 * milliseconds, too coarse for 10 ms probes), deadlines on a list, and a
 * graveyard for objects released during a batch of events.
 *
 * Everything runs on the caller's thread inside scorer_poll() (and the
 * blocking read-back / query). The only other threads are the DNS resolver
 * pool (probe_dns.c). What is sent when is scorer_sched.c's (probes) and
 * scorer_canary.c's (canary writes).
 */
#include "scorer_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fd_time.h"

/* Events handled per epoll_wait. */
#define LOOP_BATCH 64

/* ---- epoll and timers ---------------------------------------------------- */

int scorer_loop_add(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(sc->epfd, EPOLL_CTL_ADD, ev->fd, &e) < 0 ? -errno : 0;
}

int scorer_loop_mod(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(sc->epfd, EPOLL_CTL_MOD, ev->fd, &e) < 0 ? -errno : 0;
}

void scorer_loop_del(struct scorer *sc, struct watch_ev *ev)
{
	if (ev->fd >= 0)
		epoll_ctl(sc->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}

void scorer_loop_defer_free(struct scorer *sc, void *p)
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
	assert(sc->n_grave < sc->cap_grave);
	sc->graveyard[sc->n_grave++] = p;
}

static void graveyard_flush(struct scorer *sc)
{
	size_t i;

	assert(sc->n_grave <= sc->cap_grave);
	for (i = 0; i < sc->n_grave; i++)
		free(sc->graveyard[i]);
	sc->n_grave = 0;
}

void scorer_timer_arm(struct scorer *sc, struct tnode *t, int64_t due_ns)
{
	if (t->armed)
		scorer_timer_disarm(sc, t);
	assert(!t->armed && t != sc->timers);
	t->due_ns = due_ns;
	t->prev = NULL;
	t->next = sc->timers;
	if (sc->timers)
		sc->timers->prev = t;
	sc->timers = t;
	t->armed = true;
}

void scorer_timer_disarm(struct scorer *sc, struct tnode *t)
{
	if (!t->armed)
		return;
	/* An armed node is on the list: the head has no prev, every other one has. */
	assert(t->prev ? t->prev->next == t : sc->timers == t);
	assert(!t->next || t->next->prev == t);
	if (t->prev)
		t->prev->next = t->next;
	else
		sc->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->armed = false;
}

/* ---- the loop ------------------------------------------------------------ */

/* Periodic probe and canary sends due by now; returns the earliest next one. */
static int64_t run_sends(struct scorer *sc, int64_t now)
{
	int64_t next = scorer_sched_run(sc, &now);
	int64_t next_canary = scorer_canary_run(sc, &now);

	return next_canary < next ? next_canary : next;
}

static int64_t run_due(struct scorer *sc, int64_t now)
{
	int64_t next = run_sends(sc, now);
	struct tnode *t, *tn;

	now = fd_mono_ns();
	for (t = sc->timers; t; t = tn) {
		tn = t->next;
		if (t->due_ns <= now) {
			scorer_timer_disarm(sc, t);
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
		scorer_http_timer_fire(sc);
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
	struct epoll_event evs[LOOP_BATCH];
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
	n = epoll_wait(sc->epfd, evs, LOOP_BATCH, -1);
	assert(n <= LOOP_BATCH);
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

int scorer_loop_run_until(struct scorer *sc, bool (*done)(struct scorer *), int64_t deadline_ns,
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
	return scorer_loop_run_until(sc, NULL, deadline_mono_ns, err);
}


/* ---- lifecycle ----------------------------------------------------------- */

int scorer_loop_open(struct scorer *sc, struct fd_error *err)
{
	int rc;

	sc->epfd = epoll_create1(EPOLL_CLOEXEC);
	sc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sc->epfd < 0 || sc->tfd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "scorer loop: %s", strerror(errno));
	sc->tfd_ev.fd = sc->tfd;
	sc->tfd_ev.fn = tfd_fired;
	rc = scorer_loop_add(sc, &sc->tfd_ev, EPOLLIN);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "scorer loop: %s", strerror(-rc));
	return 0;
}

void scorer_loop_flush(struct scorer *sc)
{
	graveyard_flush(sc);
	free(sc->graveyard);
	sc->graveyard = NULL;
	sc->cap_grave = 0;
}

void scorer_loop_close(struct scorer *sc)
{
	if (sc->tfd >= 0)
		close(sc->tfd);
	if (sc->epfd >= 0)
		close(sc->epfd);
	sc->tfd = sc->epfd = -1;
}

/*
 * Name resolution off the loop: a small pool of resolver threads running
 * getaddrinfo(), results handed back through an eventfd.
 *
 * Why not getaddrinfo_a(): its completion arrives by signal or by a thread
 * glibc spawns per notification, and a request it cannot cancel must be
 * waited for (gai_suspend) before its memory can be freed, which would make
 * scorer_free() block on a dead DNS server. With our own pool an abandoned
 * request is simply dropped when its thread returns, and the pool (threads
 * detached, reference counted) outlives the scorer if it has to.
 * Threads are created lazily from the loop's thread, so they resolve in the
 * network namespace the drill entered before starting the scorer. A probe
 * with a place of its own has a pool of its own, made while the loop's
 * thread is inside that namespace (threads start in their creator's).
 */
#include "fd_priv.h"
#include "scorer_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fd_time.h"

#define RESOLVER_THREADS 2

struct resolver;

struct rreq {
	struct rreq *next;
	struct resolver *r;
	char *name;
	int rc;
	struct addrinfo *ai;
	bool abandoned;
	resolve_fn cb;
	void *cookie;
};

struct resolver {
	struct watch_ev ev;  /* its eventfd on the loop; first: the event finds it */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rreq *todo, *todo_tail;
	struct rreq *done;
	int efd;
	int refs;   /* the scorer + each thread */
	bool stop;
};

static void rreq_free(struct rreq *q)
{
	if (q->ai)
		freeaddrinfo(q->ai);
	free(q->name);
	free(q);
}

static void resolver_unref(struct resolver *r)
{
	bool last;

	pthread_mutex_lock(&r->mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (!last)
		return;
	while (r->todo) {
		struct rreq *q = r->todo;

		r->todo = q->next;
		rreq_free(q);
	}
	while (r->done) {
		struct rreq *q = r->done;

		r->done = q->next;
		rreq_free(q);
	}
	close(r->efd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void *resolver_main(void *arg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct resolver *r = arg;
	uint64_t one = 1;
	struct rreq *q;

	fd_priv_drop_all(); /* getaddrinfo needs no capability (per thread) */
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->todo && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		q = r->todo;
		r->todo = q->next;
		if (!r->todo)
			r->todo_tail = NULL;
		if (q->abandoned) {
			rreq_free(q);
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		q->rc = getaddrinfo(q->name, NULL, &hints, &q->ai);
		pthread_mutex_lock(&r->mu);
		if (r->stop) {
			rreq_free(q);
			break;
		}
		q->next = r->done;
		r->done = q;
		if (write(r->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow at our rates; nothing to do */
		}
	}
	pthread_mutex_unlock(&r->mu);
	resolver_unref(r);
	return NULL;
}

static void resolver_event(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct resolver *r = (struct resolver *)ev;
	struct rreq *list, *q, *rev = NULL;
	uint64_t n;

	(void)events;
	if (read(ev->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&r->mu);
	list = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->mu);
	while (list) { /* completion order */
		q = list;
		list = q->next;
		q->next = rev;
		rev = q;
	}
	while (rev) {
		q = rev;
		rev = q->next;
		if (!q->abandoned)
			q->cb(sc, q->cookie, q->rc, q->ai);
		rreq_free(q);
	}
}

/* A pool in *slot, its threads made inside pl (NULL: here). */
static int resolver_start(struct scorer *sc, struct resolver **slot, const struct scorer_place *pl)
{
	struct resolver *r;
	pthread_attr_t attr;
	pthread_t th;
	int i, home, rc = scorer_place_enter(pl, &home);

	if (rc < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r) {
		scorer_place_leave(home);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->refs = 1;
	if (r->efd < 0) {
		rc = -errno;
		resolver_unref(r);
		scorer_place_leave(home);
		return rc;
	}
	*slot = r;
	r->ev.fd = r->efd;
	r->ev.fn = resolver_event;
	scorer_loop_add(sc, &r->ev, EPOLLIN);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < RESOLVER_THREADS; i++) {
		pthread_mutex_lock(&r->mu);
		r->refs++;
		pthread_mutex_unlock(&r->mu);
		if (pthread_create(&th, &attr, resolver_main, r) != 0) {
			pthread_mutex_lock(&r->mu);
			r->refs--;
			pthread_mutex_unlock(&r->mu);
		}
	}
	pthread_attr_destroy(&attr);
	scorer_place_leave(home);
	return 0;
}

void scorer_resolver_free(struct resolver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	resolver_unref(r);
}

struct rreq *scorer_resolver_submit(struct scorer *sc, struct scorer_place *pl, const char *name,
				    resolve_fn cb, void *cookie)
{
	struct resolver **slot = pl ? &pl->res : &sc->res;
	struct resolver *r;
	struct rreq *q;

	if (!*slot && resolver_start(sc, slot, pl) < 0)
		return NULL;
	r = *slot;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->name = strdup(name);
	if (!q->name) {
		free(q);
		return NULL;
	}
	q->cb = cb;
	q->cookie = cookie;
	q->r = r;
	pthread_mutex_lock(&r->mu);
	if (r->todo_tail)
		r->todo_tail->next = q;
	else
		r->todo = q;
	r->todo_tail = q;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return q;
}

void scorer_resolver_abandon(struct rreq *q)
{
	pthread_mutex_lock(&q->r->mu);
	q->abandoned = true;
	pthread_mutex_unlock(&q->r->mu);
}

/* ---- dns probes ---------------------------------------------------------- */

struct dns_job {
	struct tnode timer;
	struct rreq *rq;
	const struct scenario_probe *p;
	int64_t sent_ns;
	job_done_fn done;
	void *cookie;
};

static void dns_finish(struct scorer *sc, struct dns_job *j, bool ok, bool answered,
		       const char *detail)
{
	struct job_result r = { .ok = ok, .answered = answered, .sent_ns = j->sent_ns };

	r.done_ns = fd_mono_ns();
	snprintf(r.detail, sizeof(r.detail), "%s", detail);
	scorer_timer_disarm(sc, &j->timer);
	j->done(sc, j->cookie, &r);
	free(j);
}

static bool addr_expected(const struct scenario_probe *p, const struct addrinfo *ai,
			  char *txt, size_t len)
{
	const uint8_t *a;
	size_t i;

	if (ai->ai_family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
	else if (ai->ai_family == AF_INET6)
		a = (const uint8_t *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	else
		return true;
	inet_ntop(ai->ai_family, a, txt, (socklen_t)len);
	if (p->dns.n_expect_in == 0)
		return true;
	for (i = 0; i < p->dns.n_expect_in; i++)
		if (fd_cidr_contains(&p->dns.expect_in[i], ai->ai_family, a))
			return true;
	return false;
}

/* Healthy when every address of the answer lies inside expect-in: a mixed
 * answer still sends some clients to the old place. */
static void dns_resolved(struct scorer *sc, void *cookie, int rc, const struct addrinfo *ai)
{
	struct dns_job *j = cookie;
	char detail[256], addr[64];
	const struct addrinfo *it;

	j->rq = NULL;
	if (rc != 0) {
		snprintf(detail, sizeof(detail), "dns: %s", gai_strerror(rc));
		dns_finish(sc, j, false, true, detail);
		return;
	}
	for (it = ai; it; it = it->ai_next) {
		if (!addr_expected(j->p, it, addr, sizeof(addr))) {
			snprintf(detail, sizeof(detail), "answer %s not in expect-in", addr);
			dns_finish(sc, j, false, true, detail);
			return;
		}
	}
	addr[0] = '\0';
	if (ai)
		addr_expected(j->p, ai, addr, sizeof(addr));
	snprintf(detail, sizeof(detail), "answer %s", addr);
	dns_finish(sc, j, true, true, detail);
}

static void dns_timeout(struct scorer *sc, struct tnode *t)
{
	struct dns_job *j = (struct dns_job *)t;
	char detail[64];

	if (!sc) {
		free(j); /* the request itself dies with the pool */
		return;
	}
	scorer_resolver_abandon(j->rq);
	j->rq = NULL;
	scorer_detail_duration(detail, sizeof(detail), "dns: timeout after", j->p->timeout_ns);
	dns_finish(sc, j, false, false, detail);
}

int scorer_dns_job_start(struct scorer *sc, struct scorer_place *pl,
		  const struct scenario_probe *p, job_done_fn done, void *cookie, int64_t *sent_ns)
{
	struct dns_job *j;

	*sent_ns = fd_mono_ns();
	if (scorer_place_refused(sc, pl, done, cookie, sent_ns))
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->timer.fn = dns_timeout;
	j->p = p;
	j->sent_ns = *sent_ns;
	j->done = done;
	j->cookie = cookie;
	j->rq = scorer_resolver_submit(sc, pl, p->dns.name, dns_resolved, j);
	if (!j->rq) {
		free(j);
		return -ENOMEM;
	}
	scorer_timer_arm(sc, &j->timer, j->sent_ns + p->timeout_ns);
	return 0;
}

/*
 * tcp probes: a non-blocking connect within the probe's timeout. A host
 * name goes through the resolver pool first; the timeout covers both.
 * Only the first address of the answer is tried, as most clients do. A
 * probe with a place of its own creates its socket in that namespace
 * (scorer_place.c) and resolves there.
 */
#include "scorer_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_time.h"

struct tcp_job {
	struct watch_ev ev;
	struct tnode timer;
	struct rreq *rq;
	const struct scorer_place *pl;
	uint16_t port;
	int64_t sent_ns;
	int64_t timeout_ns;
	job_done_fn done;
	void *cookie;
};

static void tcp_free(struct scorer *sc, struct tcp_job *j)
{
	if (sc && j->rq)
		scorer_resolver_abandon(j->rq);
	if (j->ev.fd >= 0) {
		if (sc)
			scorer_loop_del(sc, &j->ev);
		close(j->ev.fd);
	}
	j->ev.dead = true;
	scorer_loop_defer_free(sc, j);
}

static void tcp_finish(struct scorer *sc, struct tcp_job *j, bool ok, const char *detail)
{
	struct job_result r = { .ok = ok, .answered = true, .sent_ns = j->sent_ns };

	r.done_ns = fd_mono_ns();
	snprintf(r.detail, sizeof(r.detail), "%s", detail);
	scorer_timer_disarm(sc, &j->timer);
	j->done(sc, j->cookie, &r);
	tcp_free(sc, j);
}

static void tcp_event(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct tcp_job *j = (struct tcp_job *)ev;
	socklen_t len = sizeof(int);
	char detail[128];
	int soerr = 0;

	(void)events;
	if (getsockopt(ev->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == 0) {
		tcp_finish(sc, j, true, "connected");
		return;
	}
	snprintf(detail, sizeof(detail), "connect: %s", strerror(soerr));
	tcp_finish(sc, j, false, detail);
}

static void tcp_timeout(struct scorer *sc, struct tnode *t)
{
	struct tcp_job *j = (struct tcp_job *)((char *)t - offsetof(struct tcp_job, timer));
	char detail[64];

	if (!sc) {
		tcp_free(NULL, j);
		return;
	}
	scorer_detail_duration(detail, sizeof(detail), j->rq ? "dns: timeout after" :
			"connect: timeout after", j->timeout_ns);
	tcp_finish(sc, j, false, detail);
}

static void tcp_connect(struct scorer *sc, struct tcp_job *j, const struct addrinfo *ai)
{
	struct sockaddr_storage ss;
	char detail[128];
	int fd;

	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	((struct sockaddr_in *)&ss)->sin_port = htons(j->port); /* same offset for v6 */
	fd = scorer_place_socket(j->pl, ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(detail, sizeof(detail), "socket: %s", strerror(-fd));
		tcp_finish(sc, j, false, detail);
		return;
	}
	j->ev.fd = fd;
	if (connect(fd, (struct sockaddr *)&ss, ai->ai_addrlen) == 0) {
		tcp_finish(sc, j, true, "connected");
		return;
	}
	if (errno != EINPROGRESS) {
		snprintf(detail, sizeof(detail), "connect: %s", strerror(errno));
		tcp_finish(sc, j, false, detail);
		return;
	}
	if (scorer_loop_add(sc, &j->ev, EPOLLOUT) < 0)
		tcp_finish(sc, j, false, "connect: cannot watch socket");
}

static void tcp_resolved(struct scorer *sc, void *cookie, int rc, const struct addrinfo *ai)
{
	struct tcp_job *j = cookie;
	char detail[160];

	j->rq = NULL;
	if (rc != 0 || !ai) {
		snprintf(detail, sizeof(detail), "dns: %s", gai_strerror(rc));
		tcp_finish(sc, j, false, detail);
		return;
	}
	tcp_connect(sc, j, ai);
}

int scorer_tcp_job_start(struct scorer *sc, struct scorer_place *pl, const char *host,
		  uint16_t port, int64_t timeout_ns, job_done_fn done, void *cookie,
		  int64_t *sent_ns)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai = NULL;
	struct tcp_job *j;

	*sent_ns = fd_mono_ns();
	if (scorer_place_refused(sc, pl, done, cookie, sent_ns))
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->pl = pl;
	j->ev.fd = -1;
	j->ev.fn = tcp_event;
	j->timer.fn = tcp_timeout;
	j->port = port;
	j->timeout_ns = timeout_ns;
	j->done = done;
	j->cookie = cookie;
	j->sent_ns = *sent_ns;
	scorer_timer_arm(sc, &j->timer, j->sent_ns + timeout_ns);
	if (getaddrinfo(host, NULL, &hints, &ai) == 0) {
		tcp_connect(sc, j, ai);
		freeaddrinfo(ai);
		return 0;
	}
	j->rq = scorer_resolver_submit(sc, pl, host, tcp_resolved, j);
	if (!j->rq) {
		scorer_timer_disarm(sc, &j->timer);
		free(j);
		return -ENOMEM;
	}
	return 0;
}

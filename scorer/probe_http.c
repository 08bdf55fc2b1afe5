/*
 * HTTP requests on libcurl's multi interface, driven by the scorer's epoll
 * loop through the socket and timer callbacks (no thread per request).
 *
 * Bodies are bounded (SCORER_BODY_MAX): a larger body fails the request with
 * "body too large" instead of growing without limit. Redirects are not
 * followed unless the probe says so, and never to anything but http(s).
 *
 * Probe samples and canary writes each open a fresh TCP connection and
 * close it after the answer (CURLOPT_FRESH_CONNECT + FORBID_REUSE): a health
 * probe must see what a new client sees. A kept-alive connection hides
 * failures that only new connections meet (a listener closed while old
 * connections drain, a load balancer or DNS answer now pointing elsewhere,
 * a TLS handshake the standby fails), and it would keep talking to the old
 * region after a DNS swap. Read-backs and RPO queries may reuse connections.
 *
 * A probe with "connection: reuse" trades that for about half the CPU
 * (docs/benchmarks.md): while its newest sample is healthy it reuses a
 * kept-alive connection; after a failing sample it opens a new one (kept
 * for the next), so the first success after an outage, the one RTO is
 * measured from, is always on a connection opened after the failure. No
 * connection idle for a second or more is reused (CURLOPT_MAXAGE_CONN):
 * one kept across an outage is not, and DNS answers live no longer either.
 *
 * Easy handles are kept, not rebuilt: a finished job goes to an idle list
 * with its options set, and the next request for the same probe takes it
 * back and is only re-added to the multi handle (templated requests are
 * reconfigured). That keeps allocations and option parsing off the send path.
 *
 * A request with a place of its own (scorer_place.c) gets its socket from
 * CURLOPT_OPENSOCKETFUNCTION, created inside that namespace (curl's own
 * close() is right for it). Host names are still resolved by curl in the
 * loop thread's namespace. Such a request always opens a fresh connection
 * and closes it after: curl's pool does not know namespaces, so a kept
 * connection could be handed to a request of another place.
 */
#include "scorer_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "fd_config.h"
#include "fd_time.h"

/* Idle jobs kept for reuse; beyond this they are freed. */
#define HTTP_IDLE_MAX 512
/* An idle job's body buffer larger than this is released. */
#define HTTP_KEEP_BODY ((size_t)64 << 10)

struct http_job {
	struct http_job *prev, *next; /* sc->http_jobs in flight, sc->http_idle when idle */
	CURL *easy;
	struct curl_slist *headers;
	const struct scenario_http *h; /* what easy is configured for */
	const struct scorer_place *pl; /* where its socket is made; NULL: here */
	char place_why[160];           /* the socket could not be made there: why */
	int64_t timeout_ns;
	bool templated;                /* per-request values: reconfigure before reuse */
	int64_t sent_ns;
	bool keep;
	bool too_large;
	char *body;
	size_t len, cap;
	char *post;
	job_done_fn done;
	void *cookie;
	char errbuf[CURL_ERROR_SIZE];
};

struct curl_sock {
	struct watch_ev ev;
};

static void curl_sock_event(struct scorer *sc, struct watch_ev *ev, uint32_t events);

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct scorer *sc = userp;
	struct curl_sock *cs = socketp;
	uint32_t ev = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (cs) {
			scorer_loop_del(sc, &cs->ev);
			curl_multi_assign(sc->multi, s, NULL);
			cs->ev.dead = true;
			scorer_loop_defer_free(sc, cs);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs)
			return -1;
		cs->ev.fd = s;
		cs->ev.fn = curl_sock_event;
		curl_multi_assign(sc->multi, s, cs);
		if (scorer_loop_add(sc, &cs->ev, ev) == -EEXIST)
			scorer_loop_mod(sc, &cs->ev, ev);
		return 0;
	}
	if (scorer_loop_mod(sc, &cs->ev, ev) == -ENOENT)
		scorer_loop_add(sc, &cs->ev, ev);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct scorer *sc = userp;

	(void)multi;
	sc->curl_due_ns = timeout_ms < 0 ? -1 : fd_mono_ns() + timeout_ms * FD_NS_PER_MS;
	return 0;
}

int scorer_http_init(struct scorer *sc, struct fd_error *err)
{
	static bool global_done;

	/* Not thread-safe, and the drill calls it from one thread only. */
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return fd_error_set(err, FD_ERR_ENV, -EIO, "curl_global_init failed");
		global_done = true;
	}
	sc->multi = curl_multi_init();
	if (!sc->multi)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "curl_multi_init failed");
	curl_multi_setopt(sc->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(sc->multi, CURLMOPT_SOCKETDATA, sc);
	curl_multi_setopt(sc->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(sc->multi, CURLMOPT_TIMERDATA, sc);
	return 0;
}

static void job_free(struct http_job *j)
{
	if (!j)
		return;
	if (j->easy)
		curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->headers);
	free(j->body);
	free(j->post);
	free(j);
}

static void job_link(void **list, struct http_job *j)
{
	struct http_job *head = *list;

	j->prev = NULL;
	j->next = head;
	if (head)
		head->prev = j;
	*list = j;
}

static void job_unlink(void **list, struct http_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		*list = j->next;
	if (j->next)
		j->next->prev = j->prev;
}

/* Done with j: keep it for reuse (options set) or free it. */
static void job_put(struct scorer *sc, struct http_job *j)
{
	if (sc->n_http_idle >= HTTP_IDLE_MAX) {
		job_free(j);
		return;
	}
	if (j->cap > HTTP_KEEP_BODY) {
		free(j->body);
		j->body = NULL;
		j->cap = 0;
	}
	j->len = 0;
	job_link(&sc->http_idle, j);
	sc->n_http_idle++;
}

static void job_take(struct scorer *sc, struct http_job *j)
{
	job_unlink(&sc->http_idle, j);
	sc->n_http_idle--;
}

void scorer_http_cleanup(struct scorer *sc)
{
	struct http_job *j;

	if (!sc->multi)
		return;
	while ((j = sc->http_jobs)) {
		job_unlink(&sc->http_jobs, j);
		curl_multi_remove_handle(sc->multi, j->easy);
		job_free(j);
	}
	while ((j = sc->http_idle)) {
		job_take(sc, j);
		job_free(j);
	}
	curl_multi_cleanup(sc->multi);
	sc->multi = NULL;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct http_job *j = userp;
	size_t n = size * nmemb, cap;
	char *nb;

	if (j->len + n > SCORER_BODY_MAX) {
		j->too_large = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (j->len + n + 1 > j->cap) {
		cap = j->cap ? j->cap : 4096;
		while (cap < j->len + n + 1)
			cap *= 2;
		nb = realloc(j->body, cap);
		if (!nb)
			return 0;
		j->body = nb;
		j->cap = cap;
	}
	memcpy(j->body + j->len, ptr, n);
	j->len += n;
	j->body[j->len] = '\0';
	return n;
}

static bool status_ok(const struct scenario_http *h, long status)
{
	size_t i;

	if (h->n_expect_status == 0)
		return status >= 200 && status <= 299;
	for (i = 0; i < h->n_expect_status; i++)
		if (status >= h->expect_status[i].lo && status <= h->expect_status[i].hi)
			return true;
	return false;
}

static void judge(struct scorer *sc, struct http_job *j, CURLcode res, struct job_result *r)
{
	const char *e = j->errbuf[0] ? j->errbuf : curl_easy_strerror(res);
	const struct regex_entry *re = scorer_regex(sc, j->h->body_match);
	int64_t lat = r->done_ns - r->sent_ns;
	char a[32], b[32];
	long status = 0;

	if (j->place_why[0]) {
		snprintf(r->detail, sizeof(r->detail), "%s", j->place_why);
		return;
	}
	if (j->too_large) {
		r->answered = true;
		snprintf(r->detail, sizeof(r->detail), "body too large (> %zu bytes)",
			 SCORER_BODY_MAX);
		return;
	}
	switch (res) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		snprintf(r->detail, sizeof(r->detail), "dns: %.200s", e);
		return;
	case CURLE_COULDNT_CONNECT:
		snprintf(r->detail, sizeof(r->detail), "connect: %.200s", e);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(r->detail, sizeof(r->detail), "timeout: %.200s", e);
		return;
	default:
		snprintf(r->detail, sizeof(r->detail), "%.60s: %.180s", curl_easy_strerror(res), e);
		return;
	}
	r->answered = true;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!status_ok(j->h, status)) {
		snprintf(r->detail, sizeof(r->detail), "status %ld", status);
		return;
	}
	if (re && !scorer_regex_match(re, j->body ? j->body : "", j->len, NULL, NULL)) {
		snprintf(r->detail, sizeof(r->detail), "body mismatch (%zu bytes)", j->len);
		return;
	}
	if (j->h->max_latency_ns > 0 && lat > j->h->max_latency_ns) {
		snprintf(r->detail, sizeof(r->detail), "too slow: %s > %s",
			 fd_duration_format(lat, a, sizeof(a)),
			 fd_duration_format(j->h->max_latency_ns, b, sizeof(b)));
		return;
	}
	r->ok = true;
	snprintf(r->detail, sizeof(r->detail), "status %ld", status);
}

static void check_done(struct scorer *sc)
{
	struct job_result r;
	struct http_job *j;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(sc->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		j = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		memset(&r, 0, sizeof(r));
		r.sent_ns = j->sent_ns;
		r.done_ns = fd_mono_ns();
		judge(sc, j, m->data.result, &r);
		if (j->keep) {
			r.out = j->body;
			r.out_len = j->len;
		}
		curl_multi_remove_handle(sc->multi, j->easy);
		job_unlink(&sc->http_jobs, j);
		j->done(sc, j->cookie, &r);
		job_put(sc, j);
	}
}

static void curl_sock_event(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(sc->multi, ev->fd, flags, &running);
	check_done(sc);
}

void scorer_http_timer_fire(struct scorer *sc)
{
	int running;

	curl_multi_socket_action(sc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(sc);
}

/* The value of a headers-env variable if it can go into a header, else NULL. */
static const char *header_env_value(const struct scenario_header_env *he)
{
	const char *v = getenv(he->env);

	return v && *v && !strpbrk(v, "\r\n") ? v : NULL;
}

int scorer_http_check_env(const struct scenario_http *h, struct fd_error *err)
{
	for (size_t i = 0; i < h->n_headers_env; i++)
		if (!header_env_value(&h->headers_env[i]))
			return fd_error_set(err, FD_ERR_INPUT, -ENOENT,
					    "header %s: environment variable %s is %s",
					    h->headers_env[i].name, h->headers_env[i].env,
					    getenv(h->headers_env[i].env) ?
						    "empty or holds a line break" : "not set");
	return 0;
}

static int add_header(struct http_job *j, const char *line)
{
	struct curl_slist *n = curl_slist_append(j->headers, line);

	if (!n)
		return -ENOMEM;
	j->headers = n;
	return 0;
}

static int set_headers(struct http_job *j, const struct scenario_http *h, const struct tmpl *t)
{
	const char *value;
	char *line;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < h->n_headers; i++) {
		line = t ? scorer_tmpl_apply(h->headers[i], t) : NULL;
		rc = t && !line ? -ENOMEM : add_header(j, line ? line : h->headers[i]);
		free(line);
	}
	for (i = 0; rc == 0 && i < h->n_headers_env; i++) {
		value = header_env_value(&h->headers_env[i]);
		if (!value)
			return -ENOENT; /* checked at scorer_new: unset since */
		if (asprintf(&line, "%s: %s", h->headers_env[i].name, value) < 0)
			return -ENOMEM;
		rc = add_header(j, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	return rc;
}

static int configure(struct http_job *j, const struct scenario_http *h, int64_t timeout_ns,
		     const struct tmpl *t)
{
	const char *method = h->method ? h->method : "GET";
	long ms = (long)((timeout_ns + FD_NS_PER_MS - 1) / FD_NS_PER_MS);
	char *url = t ? scorer_tmpl_apply(h->url, t) : NULL;
	CURL *e = j->easy;
	int rc;

	if (t && !url)
		return -ENOMEM;
	curl_easy_setopt(e, CURLOPT_URL, url ? url : h->url);
	free(url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "firedrill/" FD_VERSION);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, h->follow_redirects ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
	/* A drill may swap DNS: never trust a resolution older than a second. */
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 1L);
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 1L);
	if (h->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	if (h->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || h->body)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (h->body) {
		j->post = t ? scorer_tmpl_apply(h->body, t) : strdup(h->body);
		if (!j->post)
			return -ENOMEM;
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->post);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->post));
	}
	rc = set_headers(j, h, t);
	if (rc < 0)
		return rc;
	if (j->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
	return 0;
}

/*
 * An easy handle ready for (h, timeout): an idle one already set up
 * for exactly that when the request is not templated, else an idle
 * templated one reset and configured, else a new one. A handle set up for
 * another probe is never taken: that probe would then take the next one's,
 * and so on, reconfiguring at every send.
 */
static struct http_job *job_get(struct scorer *sc, const struct scenario_http *h,
				int64_t timeout_ns, const struct tmpl *t, int *rc)
{
	struct http_job *j, *spare = NULL;

	*rc = -ENOMEM;
	for (j = sc->http_idle; j; j = j->next) {
		if (!t && j->h == h && !j->templated && j->timeout_ns == timeout_ns) {
			job_take(sc, j);
			return j;
		}
		if (!spare && j->templated)
			spare = j;
	}
	j = spare;
	if (j) {
		job_take(sc, j);
		curl_easy_reset(j->easy);
		curl_slist_free_all(j->headers);
		free(j->post);
		j->headers = NULL;
		j->post = NULL;
	} else {
		j = calloc(1, sizeof(*j));
		if (!j)
			return NULL;
		j->easy = curl_easy_init();
		if (!j->easy) {
			job_free(j);
			return NULL;
		}
	}
	j->h = NULL;
	*rc = configure(j, h, timeout_ns, t);
	if (*rc < 0) {
		job_free(j);
		return NULL;
	}
	j->h = h;
	j->timeout_ns = timeout_ns;
	j->templated = t != NULL;
	return j;
}

/* CURLOPT_OPENSOCKETFUNCTION of a request with a place: the socket made inside it. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_job *j = clientp;
	int fd = scorer_place_socket(j->pl, a->family, a->socktype, a->protocol);

	(void)purpose;
	if (fd >= 0)
		return fd;
	snprintf(j->place_why, sizeof(j->place_why), "socket in netns %s: %s",
		 j->pl ? j->pl->path : "?", strerror(-fd));
	return CURL_SOCKET_BAD;
}

int scorer_http_job_start(struct scorer *sc, const struct scorer_place *pl,
		   const struct scenario_http *h, int64_t timeout_ns, const struct tmpl *t,
		   enum http_conn conn, bool keep_body, job_done_fn done, void *cookie,
		   int64_t *sent_ns)
{
	int running, rc;
	struct http_job *j;

	*sent_ns = fd_mono_ns();
	if (scorer_place_refused(sc, pl, done, cookie, sent_ns))
		return 0;
	j = job_get(sc, h, timeout_ns, t, &rc);
	if (!j)
		return rc;
	if (pl)
		conn = HTTP_CONN_FRESH; /* curl's pool does not know namespaces */
	curl_easy_setopt(j->easy, CURLOPT_FRESH_CONNECT, conn == HTTP_CONN_REUSE ? 0L : 1L);
	curl_easy_setopt(j->easy, CURLOPT_FORBID_REUSE, conn == HTTP_CONN_FRESH ? 1L : 0L);
	j->pl = pl;
	j->place_why[0] = '\0';
	curl_easy_setopt(j->easy, CURLOPT_OPENSOCKETFUNCTION, pl ? open_socket : NULL);
	curl_easy_setopt(j->easy, CURLOPT_OPENSOCKETDATA, j);
	j->keep = keep_body;
	j->done = done;
	j->cookie = cookie;
	j->len = 0;
	j->too_large = false;
	j->errbuf[0] = '\0';
	j->sent_ns = fd_mono_ns();
	*sent_ns = j->sent_ns;
	if (curl_multi_add_handle(sc->multi, j->easy) != CURLM_OK) {
		job_free(j);
		return -ENOMEM;
	}
	job_link(&sc->http_jobs, j);
	/* Kick it now so the request leaves at its send stamp, not at the next wake. */
	curl_multi_socket_action(sc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(sc);
	return 0;
}

/*
 * The front door and the failover controller (`lab serve --role frontdoor`
 * in fdlab-client, on 10.66.0.1:8080): the role DNS or a global load
 * balancer plays in front of a two-region service.
 *
 * Front door: every request is forwarded (libcurl, connect timeout 500 ms,
 * total 2 s) to the current primary with X-Fdlab-Via: frontdoor, its target
 * (path and query) byte for byte as the client sent it, and the
 * answer relayed with X-Fdlab-Region naming who served it. An upstream that
 * does not answer gives 502 (504 on timeout). A 2xx to a PUT/POST of
 * /kv/KEY is the client's acknowledgement, so it is logged here ("ack").
 * GET /_lab/state answers for the front door itself.
 *
 * Controller: GETs the primary's /health every check interval (timeout one
 * interval, clamped to 100 ms..1 s); after failure-threshold consecutive
 * failures it logs "failed", waits the promotion delay, POSTs /promote to B
 * until B accepts, switches the front door ("switch") and from then on
 * tries to fence A (POST /demote) so it never acknowledges writes again.
 */
#include "lab_int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fd_time.h"

#define FORWARD_CONNECT_MS 500L
#define FORWARD_TOTAL_MS 2000L
#define PROMOTE_RETRY_NS (100 * FD_NS_PER_MS)

struct front {
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* wakes the controller to stop */
	char primary[2];            /* "a" or "b" */
	bool switched;
	bool first_ok;
	bool stopping;
	int failures;
	int truth_fd;
	const char *dir;
	struct lab_config cfg;
};

struct buf {
	char *p;
	size_t len;
	char seq[32];
	char ctype[128];
	char region[8];
};

static const char *url_of(char region)
{
	return region == 'b' ? LAB_URL_B : LAB_URL_A;
}

static void save_state(struct front *st)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	json_t *o;

	lab_path(path, sizeof(path), st->dir, LAB_FILE_FRONT);
	lab_path(tmp, sizeof(tmp), st->dir, LAB_FILE_FRONT ".tmp");
	o = json_pack("{s:s, s:b, s:b}", "primary", st->primary, "switched", st->switched,
		      "controller", !st->cfg.controller_disabled);
	if (o && json_dump_file(o, tmp, JSON_COMPACT) == 0)
		rename(tmp, path);
	json_decref(o);
}

/* ---- forwarding --------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
	struct buf *b = user;
	size_t add = size * n;
	char *np;

	if (b->len + add > LAB_BODY_MAX)
		return 0;
	np = realloc(b->p, b->len + add + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, p, add);
	b->p = np;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), v;

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	for (v = nl + 1; v < len && line[v] == ' '; v++)
		;
	while (len > v && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	snprintf(out, outlen, "%.*s", (int)(len - v), line + v);
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
	struct buf *b = user;

	header_value(p, size * n, "X-Fdlab-Seq", b->seq, sizeof(b->seq));
	header_value(p, size * n, "Content-Type", b->ctype, sizeof(b->ctype));
	header_value(p, size * n, "X-Fdlab-Region", b->region, sizeof(b->region));
	return size * n;
}

/* Forwards req->uri, not MHD's url (decoded, query dropped): no re-encoding. */
static CURLcode forward(char region, const char *method, struct MHD_Connection *c,
			const struct lab_req *req, struct buf *b, long *status)
{
	const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_TYPE);
	struct curl_slist *hdr = NULL;
	char *target, ct[256];
	CURL *h = curl_easy_init();
	CURLcode rc;

	if (!h)
		return CURLE_OUT_OF_MEMORY;
	if (asprintf(&target, "%s%s", url_of(region), req->uri) < 0) {
		curl_easy_cleanup(h);
		return CURLE_OUT_OF_MEMORY;
	}
	hdr = curl_slist_append(hdr, "X-Fdlab-Via: frontdoor");
	hdr = curl_slist_append(hdr, "Expect:");
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdr = curl_slist_append(hdr, ct);
	}
	curl_easy_setopt(h, CURLOPT_URL, target);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* no squashing of /../ either */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, FORWARD_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, FORWARD_TOTAL_MS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, b);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->len);
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	free(target);
	return rc;
}

/* The acknowledgement and first-success lines, at the instant of the answer. */
static void note_answer(struct front *st, char region, const char *url, const char *method,
			long status, const struct buf *b)
{
	int64_t mono = fd_mono_ns(), real = fd_real_ns();
	bool write = strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0;
	bool first = false;

	if (status < 200 || status > 299)
		return;
	if (write && strncmp(url, "/kv/", 4) == 0)
		lab_truth_emit(st->truth_fd, "ack", mono, real,
			       json_pack("{s:s, s:s, s:s, s:I}", "by", "frontdoor",
					 "region", (char[]){ region, 0 }, "key", url + 4,
					 "seq", (json_int_t)strtoll(b->seq, NULL, 10)));
	pthread_mutex_lock(&st->mu);
	if (st->switched && region == st->primary[0] && !st->first_ok) {
		st->first_ok = true;
		first = true;
	}
	pthread_mutex_unlock(&st->mu);
	if (first)
		lab_truth_emit(st->truth_fd, "first-ok", mono, real,
			       json_pack("{s:s, s:s, s:s, s:i}", "region", (char[]){ region, 0 },
					 "method", method, "path", url, "status", (int)status));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct front *st = cls;
	struct lab_req *req = NULL;
	struct buf b = { 0 };
	enum MHD_Result ret;
	long status = 0;
	char region;
	CURLcode rc;

	if (!lab_http_collect(con_cls, upload, upload_size, &req))
		return MHD_YES;
	if (!req)
		return MHD_NO;
	pthread_mutex_lock(&st->mu);
	region = st->primary[0];
	if (strcmp(url, "/_lab/state") == 0) {
		json_t *o = json_pack("{s:s, s:b, s:i, s:b}", "primary", st->primary, "switched",
				      st->switched, "failures", st->failures, "controller",
				      !st->cfg.controller_disabled);

		pthread_mutex_unlock(&st->mu);
		return lab_http_json(c, 200, o, NULL);
	}
	pthread_mutex_unlock(&st->mu);
	if (req->too_big)
		return lab_http_json(c, 413, json_pack("{s:s}", "error", "body too large"), NULL);
	if (!req->uri)
		return lab_http_json(c, 500, json_pack("{s:s}", "error", "out of memory"), NULL);
	/* An absolute-form target (http://host/...) would need parsing: refused. */
	if (req->uri[0] != '/')
		return lab_http_json(c, 400, json_pack("{s:s}", "error", "the target must be a path"),
				     NULL);
	rc = forward(region, method, c, req, &b, &status);
	if (rc != CURLE_OK) {
		ret = lab_http_json(c, rc == CURLE_OPERATION_TIMEDOUT ? 504 : 502,
				    json_pack("{s:s, s:s}", "error", curl_easy_strerror(rc),
					      "upstream", (char[]){ region, 0 }),
				    NULL);
	} else {
		note_answer(st, region, url, method, status, &b);
		ret = lab_http_reply(c, (unsigned)status, *b.ctype ? b.ctype : NULL,
				     b.p ? b.p : "", b.len, "X-Fdlab-Region",
				     *b.region ? b.region : (char[]){ region, 0 });
	}
	free(b.p);
	return ret;
}

/* ---- the controller ----------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	return size * n;
}

/* 2xx from METHOD URL within timeout_ms. */
static bool call(CURL *h, const char *method, const char *url, long timeout_ms)
{
	long status = 0;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	if (curl_easy_perform(h) != CURLE_OK)
		return false;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	return status >= 200 && status <= 299;
}

/* Sleeps until the monotonic instant `until` or stop; returns false on stop. */
static bool wait_until(struct front *st, int64_t until)
{
	struct timespec ts = { .tv_sec = until / FD_NS_PER_S, .tv_nsec = until % FD_NS_PER_S };
	bool go;

	pthread_mutex_lock(&st->mu);
	while (!st->stopping && fd_mono_ns() < until)
		pthread_cond_timedwait(&st->cv, &st->mu, &ts);
	go = !st->stopping;
	pthread_mutex_unlock(&st->mu);
	return go;
}

static void failover(struct front *st, CURL *h)
{
	char url[128];

	lab_truth_emit(st->truth_fd, "failed", fd_mono_ns(), fd_real_ns(),
		       json_pack("{s:s, s:i}", "region", "a", "failures", st->failures));
	if (!wait_until(st, fd_mono_ns() + st->cfg.promotion_delay_ns))
		return;
	snprintf(url, sizeof(url), "%s/promote", LAB_URL_B);
	while (!call(h, "POST", url, 1000))
		if (!wait_until(st, fd_mono_ns() + PROMOTE_RETRY_NS))
			return;
	pthread_mutex_lock(&st->mu);
	st->primary[0] = 'b';
	st->switched = true;
	st->failures = 0;
	save_state(st);
	pthread_mutex_unlock(&st->mu);
	lab_truth_emit(st->truth_fd, "switch", fd_mono_ns(), fd_real_ns(),
		       json_pack("{s:s}", "region", "b"));
}

static void *controller(void *arg)
{
	struct front *st = arg;
	int64_t interval = st->cfg.check_interval_ns, next = fd_mono_ns();
	long timeout_ms = (long)(interval / FD_NS_PER_MS);
	bool a_fenced = false;
	CURL *h = curl_easy_init();
	char url[128];

	if (!h)
		return NULL;
	timeout_ms = timeout_ms < 100 ? 100 : timeout_ms > 1000 ? 1000 : timeout_ms;
	while (wait_until(st, next)) {
		char region;
		bool ok;

		pthread_mutex_lock(&st->mu);
		region = st->primary[0];
		pthread_mutex_unlock(&st->mu);
		snprintf(url, sizeof(url), "%s/health", url_of(region));
		ok = call(h, "GET", url, timeout_ms);
		pthread_mutex_lock(&st->mu);
		st->failures = ok ? 0 : st->failures + 1;
		pthread_mutex_unlock(&st->mu);
		if (!ok && region == 'a' && st->failures >= st->cfg.failure_threshold)
			failover(st, h);
		if (region == 'b' && !a_fenced) {
			snprintf(url, sizeof(url), "%s/demote", LAB_URL_A);
			a_fenced = call(h, "POST", url, timeout_ms);
		}
		next += interval;
		if (next < fd_mono_ns())
			next = fd_mono_ns();
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* ---- the service -------------------------------------------------------- */

int lab_frontdoor_serve(const char *dir, const struct lab_config *cfg, struct fd_error *err)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(LAB_PORT) };
	struct front st = { .primary = "a", .dir = dir, .cfg = *cfg };
	struct MHD_Daemon *d = NULL;
	pthread_condattr_t ca;
	pthread_t ctl;
	bool ctl_running = false;
	int rc = 0;

	st.truth_fd = lab_truth_open(dir);
	if (st.truth_fd < 0)
		return fd_error_set(err, FD_ERR_ENV, st.truth_fd, "lab: opening the truth log in %s: %s",
				    dir, strerror(-st.truth_fd));
	pthread_mutex_init(&st.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st.cv, &ca);
	pthread_condattr_destroy(&ca);
	save_state(&st);
	lab_signals_block();
	inet_pton(AF_INET, LAB_ADDR_FRONTDOOR, &sin.sin_addr);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_POLL | MHD_USE_ERROR_LOG,
			     LAB_PORT, NULL, NULL, handle, &st,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10U,
			     MHD_OPTION_NOTIFY_COMPLETED, lab_http_completed, NULL,
			     MHD_OPTION_URI_LOG_CALLBACK, lab_http_uri, NULL,
			     MHD_OPTION_END);
	if (!d) {
		rc = fd_error_set(err, FD_ERR_ENV, -EADDRNOTAVAIL,
				  "lab: cannot listen on %s:%d", LAB_ADDR_FRONTDOOR, LAB_PORT);
		goto cleanup;
	}
	if (!cfg->controller_disabled) {
		rc = -pthread_create(&ctl, NULL, controller, &st);
		if (rc < 0) {
			fd_error_set(err, FD_ERR_ENV, rc, "lab: controller thread: %s", strerror(-rc));
			goto cleanup;
		}
		ctl_running = true;
	}
	lab_truth_emit(st.truth_fd, "start", fd_mono_ns(), fd_real_ns(),
		       json_pack("{s:s, s:s}", "role", "frontdoor", "primary", "a"));
	lab_proc_ready(NULL);
	lab_signals_wait();
cleanup:
	if (ctl_running) {
		pthread_mutex_lock(&st.mu);
		st.stopping = true;
		pthread_cond_broadcast(&st.cv);
		pthread_mutex_unlock(&st.mu);
		pthread_join(ctl, NULL);
	}
	if (d)
		MHD_stop_daemon(d);
	pthread_cond_destroy(&st.cv);
	pthread_mutex_destroy(&st.mu);
	close(st.truth_fd);
	return rc;
}

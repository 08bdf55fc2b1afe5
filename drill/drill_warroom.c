/*
 * The war room: a page the team watches during a drill, served by the
 * drill process itself (libmicrohttpd), live through Server-Sent Events.
 *
 * Threads. The daemon runs a thread per connection (at most WR_CONNECTIONS)
 * and never touches the drill's state: the drill's thread publishes a
 * snapshot (a JSON text it built, drill_snapshot.c) between slices, and the
 * connection threads only copy the newest one under the mutex. What people
 * press comes back the other way: a connection thread leaves the request in
 * a slot and waits (at most WR_ANSWER_NS) for the drill's thread to apply
 * it between slices (warroom_next_act, warroom_answer). A slow or stalled
 * browser therefore costs a connection thread, never a slice of the
 * scorer's loop.
 *
 * Security. It listens on loopback unless told otherwise (cli: an explicit
 * flag). Every request needs the random token (32 bytes from libsodium, hex),
 * in the query (?token=, which also sets a cookie for the page's own
 * requests) or the cookie fdwr-PORT. Write actions are POSTs of JSON whose
 * Origin must be this server as the browser reached it ("http://" + Host):
 * a page elsewhere can neither read the token nor forge the Origin. The
 * page is one document built into the binary; its Content-Security-Policy
 * allows only its own inline script and style (by hash) and connections to
 * itself, so it fetches nothing from the network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "drill_internal.h"
#include "fd_priv.h"
#include "fd_time.h"
#include "war_room_page.h"

#define WR_CONNECTIONS 64
#define WR_PER_IP 32
#define WR_SLOTS 16
#define WR_ANSWER_NS (5 * FD_NS_PER_S)
#define WR_PING_NS (15 * FD_NS_PER_S)
#define WR_BODY_MAX 8192

enum slot_state { SLOT_FREE, SLOT_PENDING, SLOT_TAKEN, SLOT_ANSWERED };

struct slot {
	enum slot_state state;
	bool orphan; /* its request gave up waiting: free it when answered */
	uint64_t ticket;
	struct drill_act act;
	bool ok;
	char reply[512];
};

struct drill_warroom {
	struct MHD_Daemon *d;
	char addr[64];
	uint16_t port;
	char token[65];
	char cookie[32];           /* "fdwr-PORT" */
	char csp[512];

	pthread_mutex_t mu;
	pthread_cond_t cv;         /* a new snapshot, an answer, closing */
	char *snapshot;            /* the newest, NUL-terminated */
	uint64_t version;
	bool attached;             /* a drill applies acts between its slices */
	bool closing;
	uint64_t next_ticket;
	struct slot slots[WR_SLOTS];
};

/* ---- the drill's side ----------------------------------------------------- */

void warroom_attach(struct drill_warroom *w, bool on)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->attached = on;
	if (!on) /* nobody will apply what is still waiting */
		for (size_t i = 0; i < WR_SLOTS; i++)
			if (w->slots[i].state == SLOT_PENDING || w->slots[i].state == SLOT_TAKEN) {
				w->slots[i].state = w->slots[i].orphan ? SLOT_FREE : SLOT_ANSWERED;
				w->slots[i].orphan = false;
				w->slots[i].ok = false;
				drill_textf(w->slots[i].reply, sizeof(w->slots[i].reply),
					    "the drill ended before it could apply this");
			}
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void warroom_publish(struct drill_warroom *w, char *json)
{
	char *old;

	if (!w || !json) {
		free(json);
		return;
	}
	pthread_mutex_lock(&w->mu);
	old = w->snapshot;
	w->snapshot = json;
	w->version++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	free(old);
}

bool warroom_next_act(struct drill_warroom *w, struct drill_act *a, uint64_t *ticket)
{
	struct slot *oldest = NULL;

	if (!w)
		return false;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < WR_SLOTS; i++)
		if (w->slots[i].state == SLOT_PENDING &&
		    (!oldest || w->slots[i].ticket < oldest->ticket))
			oldest = &w->slots[i];
	if (oldest) {
		oldest->state = SLOT_TAKEN;
		*a = oldest->act;
		*ticket = oldest->ticket;
	}
	pthread_mutex_unlock(&w->mu);
	return oldest != NULL;
}

void warroom_answer(struct drill_warroom *w, uint64_t ticket, bool ok, const char *reply)
{
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < WR_SLOTS; i++)
		if (w->slots[i].state == SLOT_TAKEN && w->slots[i].ticket == ticket) {
			w->slots[i].state = w->slots[i].orphan ? SLOT_FREE : SLOT_ANSWERED;
			w->slots[i].orphan = false;
			w->slots[i].ok = ok;
			drill_textf(w->slots[i].reply, sizeof(w->slots[i].reply), "%s", reply);
		}
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* ---- requests ------------------------------------------------------------- */

static void deadline_in(struct timespec *ts, int64_t ns)
{
	int64_t until = fd_real_ns() + ns;

	ts->tv_sec = until / FD_NS_PER_S;
	ts->tv_nsec = until % FD_NS_PER_S;
}

static bool token_eq(const struct drill_warroom *w, const char *t)
{
	return t && strlen(t) == strlen(w->token) &&
	       sodium_memcmp(t, w->token, strlen(w->token)) == 0;
}

/* The token from the query or the cookie. */
static bool authorized(struct drill_warroom *w, struct MHD_Connection *c, bool *from_query)
{
	const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	const char *k = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, w->cookie);

	*from_query = token_eq(w, q);
	return *from_query || token_eq(w, k);
}

/* The Origin of a write must be this server as the browser reached it. */
static bool same_origin(struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	char want[300];

	if (!origin || !host || strchr(host, '/'))
		return false;
	snprintf(want, sizeof(want), "http://%s", host);
	return strcmp(origin, want) == 0;
}

static void common_headers(struct drill_warroom *w, struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", w->csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Cache-Control", "no-store");
}

static enum MHD_Result send_text(struct drill_warroom *w, struct MHD_Connection *c,
				 unsigned status, const char *ctype, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	common_headers(w, r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_page(struct drill_warroom *w, struct MHD_Connection *c, bool set_cookie)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		sizeof(war_room_page) - 1, (void *)war_room_page, MHD_RESPMEM_PERSISTENT);
	char cookie[160];
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	common_headers(w, r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	if (set_cookie) {
		snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict", w->cookie,
			 w->token);
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* One Server-Sent Events stream: each snapshot as it is published. */
struct stream {
	struct drill_warroom *w;
	uint64_t seen;
	char *pending; /* an event not yet written in full */
	size_t len, off;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct drill_warroom *w = st->w;
	struct timespec ts;
	size_t n;

	(void)pos;
	if (!st->pending) {
		pthread_mutex_lock(&w->mu);
		deadline_in(&ts, WR_PING_NS);
		while (!w->closing && w->version == st->seen &&
		       pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
			;
		if (w->closing) {
			pthread_mutex_unlock(&w->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (w->version != st->seen && w->snapshot) {
			st->seen = w->version;
			st->len = strlen(w->snapshot) + 8;
			st->pending = malloc(st->len + 1);
			if (st->pending)
				snprintf(st->pending, st->len + 1, "data: %s\n\n", w->snapshot);
		}
		pthread_mutex_unlock(&w->mu);
		if (!st->pending) /* nothing new for a while: a comment keeps proxies open */
			return (ssize_t)snprintf(buf, max, ": ping\n\n");
		st->len = strlen(st->pending);
		st->off = 0;
	}
	n = st->len - st->off < max ? st->len - st->off : max;
	memcpy(buf, st->pending + st->off, n);
	st->off += n;
	if (st->off == st->len) {
		free(st->pending);
		st->pending = NULL;
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	free(st->pending);
	free(st);
}

static enum MHD_Result send_events(struct drill_warroom *w, struct MHD_Connection *c)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!st)
		return MHD_NO;
	st->w = w;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
					      stream_free);
	if (!r) {
		free(st);
		return MHD_NO;
	}
	common_headers(w, r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_state(struct drill_warroom *w, struct MHD_Connection *c)
{
	char *copy;
	enum MHD_Result ret;

	pthread_mutex_lock(&w->mu);
	copy = strdup(w->snapshot ? w->snapshot : "{}");
	pthread_mutex_unlock(&w->mu);
	if (!copy)
		return MHD_NO;
	ret = send_text(w, c, MHD_HTTP_OK, "application/json", copy);
	free(copy);
	return ret;
}

/* {"kind": "done", "by": "alice", "text": "...", "severity": "high", "step": 2} */
static int parse_act(const char *body, struct drill_act *a, char *why, size_t len)
{
	json_error_t je;
	json_t *j = json_loads(body, 0, &je), *v;
	const char *kind;

	memset(a, 0, sizeof(*a));
	a->step = -1;
	if (!json_is_object(j)) {
		drill_textf(why, len, "a JSON object, please");
		json_decref(j);
		return -EINVAL;
	}
	kind = json_string_value(json_object_get(j, "kind"));
	if (!kind || drill_act_parse(kind, &a->kind) < 0) {
		drill_textf(why, len, "unknown kind");
		json_decref(j);
		return -EINVAL;
	}
	if ((v = json_object_get(j, "by")) && json_is_string(v))
		drill_textf(a->who, sizeof(a->who), "%s", json_string_value(v));
	if ((v = json_object_get(j, "text")) && json_is_string(v))
		drill_textf(a->text, sizeof(a->text), "%s", json_string_value(v));
	if ((v = json_object_get(j, "severity")) && json_is_string(v))
		drill_textf(a->severity, sizeof(a->severity), "%s", json_string_value(v));
	if ((v = json_object_get(j, "step")) && json_is_integer(v))
		a->step = (long)json_integer_value(v);
	json_decref(j);
	/* one line each: the timeline and the lap socket are line-based */
	for (char *p = a->who; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	for (char *p = a->text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return 0;
}

/* Hands the act to the drill's thread and waits for its answer. */
static enum MHD_Result do_act(struct drill_warroom *w, struct MHD_Connection *c, const char *body)
{
	struct drill_act a;
	struct slot *sl = NULL;
	struct timespec ts;
	char why[160], reply[700];
	json_t *out;
	char *text;
	bool ok = false;
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result ret;

	if (parse_act(body, &a, why, sizeof(why)) < 0)
		return send_text(w, c, MHD_HTTP_BAD_REQUEST, "text/plain", why);
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; w->attached && i < WR_SLOTS && !sl; i++)
		if (w->slots[i].state == SLOT_FREE)
			sl = &w->slots[i];
	if (!w->attached) {
		drill_textf(reply, sizeof(reply), "no drill is running");
		status = MHD_HTTP_CONFLICT;
	} else if (!sl) {
		drill_textf(reply, sizeof(reply), "too many requests waiting");
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	} else {
		sl->state = SLOT_PENDING;
		sl->orphan = false;
		sl->ticket = ++w->next_ticket;
		sl->act = a;
		deadline_in(&ts, WR_ANSWER_NS);
		while (sl->state != SLOT_ANSWERED && !w->closing &&
		       pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
			;
		if (sl->state == SLOT_ANSWERED) {
			ok = sl->ok;
			drill_textf(reply, sizeof(reply), "%s", sl->reply);
			sl->state = SLOT_FREE;
		} else if (sl->state == SLOT_PENDING) {
			drill_textf(reply, sizeof(reply), "the drill did not take it in time: try again");
			sl->state = SLOT_FREE;
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
		} else {
			/* taken, being applied: it will happen; the slot frees itself below */
			drill_textf(reply, sizeof(reply), "taken; the drill is still applying it");
			ok = true;
			status = MHD_HTTP_ACCEPTED;
			sl->orphan = true;
		}
	}
	pthread_mutex_unlock(&w->mu);
	out = json_pack("{s:b, s:s}", "ok", ok, "reply", reply);
	text = out ? json_dumps(out, JSON_COMPACT) : NULL;
	json_decref(out);
	if (!text)
		return MHD_NO;
	if (status == MHD_HTTP_OK && !ok)
		status = 422; /* refused by the drill: reply says why */
	ret = send_text(w, c, status, "application/json", text);
	free(text);
	return ret;
}

struct upload {
	char *buf;
	size_t len;
	bool too_big;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_len, void **state)
{
	struct drill_warroom *w = cls;
	struct upload *up = *state;
	bool from_query;

	(void)version;
	if (!up) {
		/* this connection's own thread: it needs no capability (per thread) */
		fd_priv_drop_all();
		*state = up = calloc(1, sizeof(*up));
		return up ? MHD_YES : MHD_NO;
	}
	if (*data_len) {
		if (!up->too_big && up->len + *data_len <= WR_BODY_MAX) {
			char *p = realloc(up->buf, up->len + *data_len + 1);

			if (!p)
				return MHD_NO;
			memcpy(p + up->len, data, *data_len);
			up->len += *data_len;
			p[up->len] = '\0';
			up->buf = p;
		} else {
			up->too_big = true;
		}
		*data_len = 0;
		return MHD_YES;
	}
	if (!authorized(w, c, &from_query))
		return send_text(w, c, MHD_HTTP_FORBIDDEN, "text/plain; charset=utf-8",
				 "firedrill war room: open the link printed by firedrill run "
				 "(it carries the access token)\n");
	if (strcmp(method, "GET") == 0) {
		if (strcmp(url, "/") == 0)
			return send_page(w, c, from_query);
		if (strcmp(url, "/events") == 0)
			return send_events(w, c);
		if (strcmp(url, "/state") == 0)
			return send_state(w, c);
		return send_text(w, c, MHD_HTTP_NOT_FOUND, "text/plain", "no such page\n");
	}
	if (strcmp(method, "POST") == 0 && strcmp(url, "/act") == 0) {
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);

		if (!same_origin(c))
			return send_text(w, c, MHD_HTTP_FORBIDDEN, "text/plain",
					 "refused: the request's Origin is not this war room\n");
		if (!ct || strncmp(ct, "application/json", 16) != 0)
			return send_text(w, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "text/plain",
					 "application/json, please\n");
		if (up->too_big)
			return send_text(w, c, 413, "text/plain", "too large\n");
		return do_act(w, c, up->buf ? up->buf : "");
	}
	return send_text(w, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "no\n");
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
		    enum MHD_RequestTerminationCode code)
{
	struct upload *up = *state;

	(void)cls, (void)c, (void)code;
	if (up)
		free(up->buf);
	free(up);
	*state = NULL;
}

/* ---- open and close ------------------------------------------------------ */

/* 'sha256-BASE64' of the text between open and close in the page. */
static int inline_hash(const char *open, const char *close, char *out, size_t len)
{
	const char *a = strstr(war_room_page, open), *b;
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];

	if (!a)
		return -EINVAL;
	a += strlen(open);
	b = strstr(a, close);
	if (!b)
		return -EINVAL;
	crypto_hash_sha256(h, (const unsigned char *)a, (unsigned long long)(b - a));
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
	drill_textf(out, len, "'sha256-%s'", b64);
	return 0;
}

int warroom_parse_addr(const char *spec, struct sockaddr_in *sa, bool *loopback,
		       struct fd_error *err)
{
	char host[64];
	const char *colon = spec ? strrchr(spec, ':') : NULL;
	char *end;
	long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (!spec || !*spec) {
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*loopback = true;
		return 0;
	}
	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "--war-room \"%s\": ADDR:PORT, such as 127.0.0.1:8080 (port 0: any)",
				    spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || colon[1] == '\0')
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "--war-room \"%s\": bad port", spec);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "--war-room \"%s\": an IPv4 address, such as 127.0.0.1", spec);
	sa->sin_port = htons((uint16_t)port);
	*loopback = (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
	return 0;
}

int drill_warroom_open(const char *addr, bool allow_public, struct drill_warroom **out,
		       struct fd_error *err)
{
	struct drill_warroom *w = NULL;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	unsigned char raw[32];
	char script[80], style[80];
	sigset_t all, old;
	bool loopback;
	int rc;

	*out = NULL;
	rc = warroom_parse_addr(addr, &sa, &loopback, err);
	if (rc < 0)
		return rc;
	if (!loopback && !allow_public)
		return fd_error_set(err, FD_ERR_INPUT, -EPERM,
				    "--war-room %s is not a loopback address: anyone who can reach it "
				    "and holds the token can abort the drill; say so with "
				    "--war-room-public", addr);
	if (sodium_init() < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "war room: libsodium cannot start");
	if (inline_hash("<script>", "</script>", script, sizeof(script)) < 0 ||
	    inline_hash("<style>", "</style>", style, sizeof(style)) < 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "war room: the page has no script or style");
	w = calloc(1, sizeof(*w));
	if (!w)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(w->token, sizeof(w->token), raw, sizeof(raw));
	drill_textf(w->csp, sizeof(w->csp),
		    "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; "
		    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		    script, style);
	/* The connection threads take no signal: those are the drill's stop flag. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	w->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)WR_CONNECTIONS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)WR_PER_IP,
				/* idle connections go; a stream pings every 15 s */
				MHD_OPTION_CONNECTION_TIMEOUT, 60u,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	info = w->d ? MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info) {
		rc = fd_error_set(err, FD_ERR_ENV, -EADDRINUSE, "war room: cannot listen on %s",
				  addr && *addr ? addr : "127.0.0.1");
		drill_warroom_close(w);
		return rc;
	}
	w->port = info->port;
	inet_ntop(AF_INET, &sa.sin_addr, w->addr, sizeof(w->addr));
	drill_textf(w->cookie, sizeof(w->cookie), "fdwr-%u", (unsigned)w->port);
	*out = w;
	return 0;
}

char *drill_warroom_url(const struct drill_warroom *w, char *buf, size_t len)
{
	drill_textf(buf, len, "http://%s:%u/?token=%s", w->addr, (unsigned)w->port, w->token);
	return buf;
}

void drill_warroom_close(struct drill_warroom *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->closing = true;
	w->attached = false;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->d)
		MHD_stop_daemon(w->d);
	free(w->snapshot);
	sodium_memzero(w->token, sizeof(w->token));
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

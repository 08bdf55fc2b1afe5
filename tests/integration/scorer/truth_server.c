/* See truth_server.h. Test support only. */
#include "truth_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_time.h"

struct truth_server {
	struct MHD_Daemon *d;
	atomic_bool healthy;
	atomic_llong requests;
	atomic_llong connections;
	atomic_llong fail_delay_ns; /* 503s of /health wait this long */
	int64_t healed_ns;          /* when it last became healthy; 0 = never failed */
	int64_t first_ok_conn_ns;   /* opening time of the connection of the first
				       200 /health after healed_ns; 0 = none yet */
	pthread_mutex_t mu;
	int64_t *ack_ns;  /* by seq; 0 = not stored */
	char **body;      /* by seq: the body stored with it (NULL = none) */
	char *huge;
};

/* One request's upload, kept until the request completes. */
struct upload {
	char buf[512];
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								  MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc = MHD_queue_response(c, code, r);

	MHD_destroy_response(r);
	return rc;
}

static ssize_t drip(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)max;
	usleep(100000);
	buf[0] = 'x';
	return 1;
}

static enum MHD_Result canary_get(struct truth_server *t, struct MHD_Connection *c,
				  long long seq)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	char *copy = NULL;
	bool known;

	pthread_mutex_lock(&t->mu);
	known = t->ack_ns[seq] != 0;
	if (known && t->body[seq])
		copy = strdup(t->body[seq]);
	pthread_mutex_unlock(&t->mu);
	if (!known)
		return reply(c, 404, "missing");
	if (!copy)
		return reply(c, 200, "present");
	r = MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
	rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result canary(struct truth_server *t, struct MHD_Connection *c,
			      const char *method, const char *url, const struct upload *up)
{
	long long seq = atoll(url + strlen("/canary/"));
	char *copy;

	if (seq <= 0 || seq >= TRUTH_MAX_SEQ)
		return reply(c, 400, "bad seq");
	if (strcmp(method, "GET") == 0)
		return canary_get(t, c, seq);
	if (!atomic_load(&t->healthy))
		return reply(c, 503, "down");
	copy = up && up->len ? strndup(up->buf, up->len) : NULL;
	pthread_mutex_lock(&t->mu);
	t->ack_ns[seq] = fd_mono_ns();
	free(t->body[seq]);
	t->body[seq] = copy;
	pthread_mutex_unlock(&t->mu);
	return reply(c, 200, "stored");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

/* Each connection's context is the CLOCK_MONOTONIC ns it was accepted at. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct truth_server *t = cls;
	int64_t *opened;

	(void)c;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
		return;
	}
	opened = malloc(sizeof(*opened));
	if (opened)
		*opened = fd_mono_ns();
	*socket_context = opened;
	atomic_fetch_add(&t->connections, 1);
}

static enum MHD_Result health(struct truth_server *t, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	const int64_t *opened;

	int64_t delay = atomic_load(&t->fail_delay_ns);

	if (!atomic_load(&t->healthy)) {
		if (delay > 0) /* decided now, told later: a slow failure */
			usleep((useconds_t)(delay / 1000));
		return reply(c, 503, "down");
	}
	pthread_mutex_lock(&t->mu);
	if (t->healed_ns && !t->first_ok_conn_ns) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		opened = ci ? ci->socket_context : NULL;
		t->first_ok_conn_ns = opened ? *opened : -1;
	}
	pthread_mutex_unlock(&t->mu);
	return reply(c, 200, "ok");
}

static bool auth_ok(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

	return v && strcmp(v, TRUTH_AUTH) == 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	static const unsigned char bin[256] = { 0 };
	struct truth_server *t = cls;
	struct upload *up = *con_cls;
	struct MHD_Response *r;
	enum MHD_Result rc;
	size_t take;

	(void)version;
	/* First call: headers only; then the upload in pieces (kept up to 512 bytes). */
	if (!up) {
		*con_cls = calloc(1, sizeof(struct upload));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		take = *upload_size;
		if (take > sizeof(up->buf) - up->len)
			take = sizeof(up->buf) - up->len;
		memcpy(up->buf + up->len, upload, take);
		up->len += take;
		*upload_size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&t->requests, 1);
	if (strcmp(url, "/health") == 0)
		return health(t, c);
	if (strcmp(url, "/auth") == 0)
		return auth_ok(c) ? reply(c, 200, "ok") : reply(c, 401, "who are you");
	if (strncmp(url, "/canary/", 8) == 0)
		return canary(t, c, method, url, up);
	if (strcmp(url, "/huge") == 0) {
		r = MHD_create_response_from_buffer(2u << 20, t->huge, MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/drip") == 0) {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1, drip, NULL, NULL);
	} else if (strcmp(url, "/binary") == 0) {
		r = MHD_create_response_from_buffer(sizeof(bin), (void *)bin,
						    MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/redirect") == 0) {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Location", "http://127.0.0.2:9/");
		rc = MHD_queue_response(c, 302, r);
		MHD_destroy_response(r);
		return rc;
	} else {
		return reply(c, 404, "no such path");
	}
	rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return rc;
}

struct truth_server *truth_server_start(bool threaded, uint16_t *port)
{
	struct truth_server *t = calloc(1, sizeof(*t));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *di;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (!t)
		return NULL;
	t->ack_ns = calloc(TRUTH_MAX_SEQ, sizeof(*t->ack_ns));
	t->body = calloc(TRUTH_MAX_SEQ, sizeof(*t->body));
	t->huge = malloc(2u << 20);
	if (!t->ack_ns || !t->body || !t->huge)
		goto fail;
	memset(t->huge, 'h', 2u << 20);
	pthread_mutex_init(&t->mu, NULL);
	atomic_store(&t->healthy, true);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	flags |= threaded ? MHD_USE_THREAD_PER_CONNECTION : MHD_USE_EPOLL;
	t->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, t,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, t,
				MHD_OPTION_END);
	if (!t->d)
		goto fail;
	di = MHD_get_daemon_info(t->d, MHD_DAEMON_INFO_BIND_PORT);
	*port = di ? di->port : 0;
	return t;
fail:
	free(t->ack_ns);
	free(t->body);
	free(t->huge);
	free(t);
	return NULL;
}

void truth_server_stop(struct truth_server *t)
{
	if (!t)
		return;
	MHD_stop_daemon(t->d);
	pthread_mutex_destroy(&t->mu);
	for (size_t i = 0; i < TRUTH_MAX_SEQ; i++)
		free(t->body[i]);
	free(t->body);
	free(t->ack_ns);
	free(t->huge);
	free(t);
}

bool truth_server_overwrite(struct truth_server *t, int64_t seq, const char *body)
{
	char *copy = strdup(body);
	bool known;

	if (!copy || seq <= 0 || seq >= TRUTH_MAX_SEQ) {
		free(copy);
		return false;
	}
	pthread_mutex_lock(&t->mu);
	known = t->ack_ns[seq] != 0;
	if (known) {
		free(t->body[seq]);
		t->body[seq] = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&t->mu);
	free(copy);
	return known;
}

int64_t truth_server_set_healthy(struct truth_server *t, bool healthy)
{
	int64_t now;

	pthread_mutex_lock(&t->mu);
	atomic_store(&t->healthy, healthy);
	now = fd_mono_ns();
	if (healthy) {
		t->healed_ns = now;
		t->first_ok_conn_ns = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return now;
}

void truth_server_set_fail_delay(struct truth_server *t, int64_t delay_ns)
{
	atomic_store(&t->fail_delay_ns, delay_ns);
}

int64_t truth_server_connections(struct truth_server *t)
{
	return atomic_load(&t->connections);
}

int64_t truth_server_first_ok_conn_ns(struct truth_server *t)
{
	int64_t v;

	pthread_mutex_lock(&t->mu);
	v = t->first_ok_conn_ns;
	pthread_mutex_unlock(&t->mu);
	return v;
}

int64_t truth_server_ack_ns(struct truth_server *t, int64_t seq)
{
	int64_t v;

	if (seq <= 0 || seq >= TRUTH_MAX_SEQ)
		return 0;
	pthread_mutex_lock(&t->mu);
	v = t->ack_ns[seq];
	pthread_mutex_unlock(&t->mu);
	return v;
}

int64_t truth_server_forget(struct truth_server *t, int64_t from_ns, int64_t to_ns,
			    int64_t *newest_seq, int64_t *newest_ack_ns)
{
	int64_t n = 0, s;

	*newest_seq = 0;
	*newest_ack_ns = 0;
	pthread_mutex_lock(&t->mu);
	for (s = 1; s < TRUTH_MAX_SEQ; s++) {
		if (t->ack_ns[s] && t->ack_ns[s] >= from_ns && t->ack_ns[s] < to_ns) {
			if (t->ack_ns[s] > *newest_ack_ns) {
				*newest_ack_ns = t->ack_ns[s];
				*newest_seq = s;
			}
			t->ack_ns[s] = 0;
			n++;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

int64_t truth_server_requests(struct truth_server *t)
{
	return atomic_load(&t->requests);
}

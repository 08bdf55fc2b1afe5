/*
 * The webhook receiver of fdt_hook.h: one libmicrohttpd daemon, a thread per
 * connection, the kept requests behind one mutex.
 */
#include "fdt_hook.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fdt_hook {
	struct MHD_Daemon *d;
	uint16_t port;
	unsigned status;
	unsigned delay_ms;
	size_t fail_next;
	unsigned fail_status;
	pthread_mutex_t mu;
	size_t n;
	struct fdt_hook_post posts[FDT_HOOK_MAX];
};

/* A request's body, collected across the handler's calls. */
struct upload {
	char *buf;
	size_t len;
};

static bool append(struct upload *up, const char *data, size_t len)
{
	char *p = realloc(up->buf, up->len + len + 1);

	if (!p)
		return false;
	memcpy(p + up->len, data, len);
	up->len += len;
	p[up->len] = '\0';
	up->buf = p;
	return true;
}

/* Keeps the request; returns the status to answer it with. */
static unsigned keep(struct fdt_hook *h, struct MHD_Connection *c, const char *url,
		     struct upload *up)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Firedrill-Signature");
	struct fdt_hook_post *p;
	unsigned status;

	pthread_mutex_lock(&h->mu);
	status = h->status;
	if (h->fail_next) {
		h->fail_next--;
		status = h->fail_status;
	}
	if (h->n < FDT_HOOK_MAX) {
		p = &h->posts[h->n++];
		p->body = up->buf ? up->buf : strdup("");
		up->buf = NULL;
		snprintf(p->ctype, sizeof(p->ctype), "%s", ct ? ct : "");
		snprintf(p->path, sizeof(p->path), "%s", url);
		snprintf(p->signature, sizeof(p->signature), "%s", sig ? sig : "");
		p->status = status;
	}
	pthread_mutex_unlock(&h->mu);
	return status;
}

void fdt_hook_fail_next(struct fdt_hook *h, size_t n, unsigned status)
{
	pthread_mutex_lock(&h->mu);
	h->fail_next = n;
	h->fail_status = status;
	pthread_mutex_unlock(&h->mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_len, void **state)
{
	struct fdt_hook *h = cls;
	struct upload *up = *state;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned status;

	if (!up) {
		*state = calloc(1, sizeof(struct upload));
		return *state ? MHD_YES : MHD_NO;
	}
	if (*data_len) {
		if (!append(up, data, *data_len))
			return MHD_NO;
		*data_len = 0;
		return MHD_YES;
	}
	status = keep(h, c, url, up);
	if (h->delay_ms)
		usleep(h->delay_ms * 1000);
	r = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
		    enum MHD_RequestTerminationCode code)
{
	struct upload *up = *state;

	if (up)
		free(up->buf);
	free(up);
	*state = NULL;
}

struct fdt_hook *fdt_hook_start(unsigned status, unsigned delay_ms)
{
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;
	struct fdt_hook *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	h->status = status;
	h->delay_ms = delay_ms;
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &lo,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
	info = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info) {
		fdt_hook_stop(h);
		return NULL;
	}
	h->port = info->port;
	return h;
}

uint16_t fdt_hook_port(const struct fdt_hook *h)
{
	return h->port;
}

size_t fdt_hook_count(struct fdt_hook *h)
{
	size_t n;

	pthread_mutex_lock(&h->mu);
	n = h->n;
	pthread_mutex_unlock(&h->mu);
	return n;
}

bool fdt_hook_get(struct fdt_hook *h, size_t i, struct fdt_hook_post *out)
{
	bool have;

	pthread_mutex_lock(&h->mu);
	have = i < h->n;
	if (have) {
		*out = h->posts[i];
		out->body = strdup(h->posts[i].body);
		have = out->body != NULL;
	}
	pthread_mutex_unlock(&h->mu);
	return have;
}

void fdt_hook_clear(struct fdt_hook *h)
{
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++)
		free(h->posts[i].body);
	h->n = 0;
	pthread_mutex_unlock(&h->mu);
}

void fdt_hook_stop(struct fdt_hook *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	fdt_hook_clear(h);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

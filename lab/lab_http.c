/*
 * What the kv servers and the front door share: body collection across
 * libmicrohttpd's repeated handler calls, replies, the signal wait.
 */
#include "lab_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lab_path(char *buf, size_t len, const char *dir, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void *lab_http_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct lab_req *r = calloc(1, sizeof(*r));

	if (r && !(r->uri = strdup(uri))) {
		free(r);
		r = NULL;
	}
	return r;
}

const char *lab_http_query(const struct lab_req *req)
{
	const char *q = req->uri ? strchr(req->uri, '?') : NULL;

	return q ? q + 1 : "";
}

bool lab_http_collect(void **con_cls, const char *upload, size_t *upload_size,
		      struct lab_req **out)
{
	struct lab_req *r = *con_cls;

	/* First call: headers only (r may come from lab_http_uri already). */
	if (!r || !r->started) {
		if (!r)
			r = calloc(1, sizeof(*r));
		if (!r) {
			*out = NULL;
			return true; /* the caller answers 500 */
		}
		r->started = true;
		*con_cls = r;
		return false;
	}
	if (*upload_size) {
		size_t need = r->len + *upload_size + 1;

		if (need > LAB_BODY_MAX) {
			r->too_big = true;
		} else if (need > r->cap) {
			size_t ncap = r->cap ? r->cap : 1024;
			char *p;

			while (ncap < need)
				ncap *= 2;
			p = realloc(r->body, ncap);
			if (p) {
				r->body = p;
				r->cap = ncap;
			} else {
				r->too_big = true;
			}
		}
		if (!r->too_big) {
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return false;
	}
	*out = r;
	return true;
}

void lab_http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			enum MHD_RequestTerminationCode toe)
{
	struct lab_req *r = *con_cls;

	if (r) {
		free(r->uri);
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

enum MHD_Result lab_http_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			       const void *body, size_t len, const char *hdr_name,
			       const char *hdr_value)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (hdr_name && hdr_value)
		MHD_add_response_header(resp, hdr_name, hdr_value);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result lab_http_json(struct MHD_Connection *c, unsigned status, json_t *obj,
			      const char *region)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	enum MHD_Result ret;

	if (!s)
		ret = lab_http_reply(c, 500, "text/plain", "out of memory\n", 14, NULL, NULL);
	else
		ret = lab_http_reply(c, status, "application/json", s, strlen(s),
				     region ? "X-Fdlab-Region" : NULL, region);
	free(s);
	json_decref(obj);
	return ret;
}

void lab_signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A client that hangs up must not kill the service. */
	signal(SIGPIPE, SIG_IGN);
}

void lab_signals_wait(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigwait(&set, &sig);
}

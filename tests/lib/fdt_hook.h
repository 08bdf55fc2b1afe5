/*
 * fdt_hook: a webhook receiver for tests (tests/lib; link with
 * fdtest_hook_dep). A libmicrohttpd server on 127.0.0.1 of the calling
 * thread's network namespace, on an ephemeral port, that keeps every
 * request it gets (path, Content-Type, body) in arrival order and answers
 * each with a fixed status, optionally after a delay (a slow receiver).
 * Not part of firedrill.
 */
#ifndef FD_TEST_HOOK_H
#define FD_TEST_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDT_HOOK_MAX 16 /* requests kept; later ones are answered, not kept */

struct fdt_hook;

/* One request received. */
struct fdt_hook_post {
	char *body;     /* NUL-terminated ("" when empty); owned by the caller of fdt_hook_get */
	char path[128]; /* the URL path as libmicrohttpd decodes it */
	char ctype[64]; /* Content-Type, "" when absent */
	char signature[96]; /* X-Firedrill-Signature, "" when absent */
	unsigned status;    /* what the receiver answered */
};

/* Starts a receiver answering status after delay_ms; NULL when it cannot listen. */
struct fdt_hook *fdt_hook_start(unsigned status, unsigned delay_ms);

/* Its port on 127.0.0.1. */
uint16_t fdt_hook_port(const struct fdt_hook *h);

/* Requests received (and kept) so far. */
size_t fdt_hook_count(struct fdt_hook *h);

/* A copy of request i (0 = first); false when fewer arrived (or no memory). Free out->body. */
bool fdt_hook_get(struct fdt_hook *h, size_t i, struct fdt_hook_post *out);

/* The next n requests are answered with status instead (a receiver that
 * fails, then recovers). */
void fdt_hook_fail_next(struct fdt_hook *h, size_t n, unsigned status);

/* Forgets the requests received so far. */
void fdt_hook_clear(struct fdt_hook *h);

/* Stops listening and frees everything (NULL is a no-op). */
void fdt_hook_stop(struct fdt_hook *h);

#endif

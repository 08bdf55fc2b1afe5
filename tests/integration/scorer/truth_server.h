/*
 * A small HTTP service with a known truth, for the scorer's tests and
 * benchmarks (libmicrohttpd, loopback of whatever namespace the caller is
 * in). The caller makes it fail and recover and records when; it keeps every
 * acknowledged canary write with the server-side ack time and can forget a
 * chosen set, so lost writes are known exactly.
 *
 *   GET  /health          200 "ok" while healthy, 503 otherwise
 *   PUT  /canary/N        200 and remembered (with its body) while healthy, 503 otherwise
 *   GET  /canary/N        200 and the stored body ("present" if none) when remembered,
 *                         404 when not
 *   GET  /huge            2 MiB body
 *   GET  /drip            one byte every 100 ms, never ends
 *   GET  /redirect        302 to http://127.0.0.2:9/ (another host)
 *   GET  /binary          256 bytes 0x00..0xff
 *   GET  /auth            200 with "Authorization: " TRUTH_AUTH, else 401
 */
#ifndef FD_TRUTH_SERVER_H
#define FD_TRUTH_SERVER_H

#include <stdbool.h>
#include <stdint.h>

struct truth_server;

#define TRUTH_AUTH "Bearer fdt-test-token"

/* threaded: one thread per connection (needed for /drip), else one poll thread. */
struct truth_server *truth_server_start(bool threaded, uint16_t *port);
void truth_server_stop(struct truth_server *t);

/* Returns the CLOCK_MONOTONIC ns at which the flip took effect. */
int64_t truth_server_set_healthy(struct truth_server *t, bool healthy);
/*
 * While unhealthy, GET /health decides "503" when the request arrives and
 * answers it delay_ns later (0: at once). Needs the threaded server: a
 * slow answer must not hold up the others.
 */
void truth_server_set_fail_delay(struct truth_server *t, int64_t delay_ns);

#define TRUTH_MAX_SEQ 100000
/* Server-side ack time of write seq (0 when not acknowledged). */
int64_t truth_server_ack_ns(struct truth_server *t, int64_t seq);
/* Forgets acknowledged writes with ack time in [from, to); returns how many. */
int64_t truth_server_forget(struct truth_server *t, int64_t from_ns, int64_t to_ns,
			    int64_t *newest_seq, int64_t *newest_ack_ns);
int64_t truth_server_requests(struct truth_server *t);
/* TCP connections accepted so far. */
int64_t truth_server_connections(struct truth_server *t);
/*
 * When the connection that carried the first healthy GET /health after the
 * last set_healthy(true) was accepted; 0 while none has, -1 unknown.
 */
int64_t truth_server_first_ok_conn_ns(struct truth_server *t);
/* Replaces the body stored under an acknowledged seq (another writer's value). */
bool truth_server_overwrite(struct truth_server *t, int64_t seq, const char *body);

#endif

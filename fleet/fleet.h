/*
 * fleet: the coordinator's side of a fleet drill (docs/fleet.md), and the
 * protocol both sides speak.
 *
 * The coordinator runs `FIREDRILL agent` on every host that has a fault,
 * through the real ssh (so ssh_config, agents, jump hosts and known_hosts
 * are honoured; BatchMode=yes: nothing ever prompts). The agent speaks
 * line-delimited JSON on ssh's stdin and stdout; one object per line, each
 * with an "op". The agent journals, guards and reverts its own faults
 * (drill/drill_agent.c); this module never touches a fault itself.
 *
 * Life of a fleet:
 *   fleet_open()     ssh to every host with a fault, in parallel; each agent
 *                    says hello with its version, checked against ours
 *   fleet_prepare()  every agent prepares its faults; one that cannot
 *                    refuses the drill (nothing applied anywhere)
 *   fleet_apply_begin() / fleet_apply_end()
 *                    apply sent to all at once; end waits for every
 *                    confirmation (the last one is T0's instant). A host
 *                    that fails makes the others revert.
 *   fleet_tick()     between slices: heartbeats (the lease) and the agents'
 *                    notices; a host silent for a lease is lost
 *   fleet_revert()   every agent reverts; idempotent
 *   fleet_close()    bye; agents end (reverting anything still applied)
 *
 * Only the coordinator's clock is used: an apply instant is when the
 * host's confirmation was read here, so clocks of the hosts never need to
 * agree. A scenario given to fleet_open() must outlive the fleet.
 */
#ifndef FD_FLEET_H
#define FD_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd_error.h"
#include "scenario.h"

/* Bumped when a message changes meaning; the agent's hello carries it. */
#define FLEET_PROTOCOL 1

struct fleet;

struct fleet_opts {
	bool force;              /* the agents allow guarded targets */
	int64_t connect_timeout_ns; /* ssh and hello; 0 = 15 s */
};

/*
 * Something the coordinator learnt about a host while the drill ran, for
 * the timeline: kind is "fleet-partition" (silent for a lease: its agent
 * reverts by itself), "fleet-host-gone" (its ssh ended), "fleet-expired"
 * (the agent reverted by itself: lease or max duration) or
 * "fleet-reverted" (the agent reverted on a signal). mono_ns: when it was
 * seen here.
 */
typedef void (*fleet_notice_fn)(void *user, const char *host, const char *kind,
				const char *detail, int64_t mono_ns);

/* ssh to every host of s->inventory that one of s's faults is on. */
int fleet_open(const struct scenario *s, const struct fleet_opts *o, struct fleet **out,
	       struct fd_error *err);
FD_MUST_CHECK int fleet_prepare(struct fleet *f, struct fd_error *err);
FD_MUST_CHECK int fleet_apply_begin(struct fleet *f, struct fd_error *err);
FD_MUST_CHECK int fleet_apply_end(struct fleet *f, struct fd_error *err);
void fleet_tick(struct fleet *f, int64_t now_mono_ns, fleet_notice_fn fn, void *user);
FD_MUST_CHECK int fleet_revert(struct fleet *f, fleet_notice_fn fn, void *user,
			       struct fd_error *err);
void fleet_close(struct fleet *f); /* NULL ok */

/* The hosts in the session, in inventory order. */
size_t fleet_host_count(const struct fleet *f);
const char *fleet_host_name(const struct fleet *f, size_t h);
/* After prepare: the host's faults and what each does there. */
size_t fleet_fault_count(const struct fleet *f, size_t h);
const char *fleet_fault_id(const struct fleet *f, size_t h, size_t i);
const char *fleet_fault_summary(const struct fleet *f, size_t h, size_t i);
/* After apply_end: when apply was sent and when the confirmation was read
 * (CLOCK_MONOTONIC here), and how long the agent's own apply took. */
int64_t fleet_host_sent_ns(const struct fleet *f, size_t h);
int64_t fleet_host_applied_ns(const struct fleet *f, size_t h);
int64_t fleet_host_apply_took_ns(const struct fleet *f, size_t h);
/* A host lost (partition, ssh gone) during the drill. */
bool fleet_host_lost(const struct fleet *f, size_t h);

/* ---- one command on every host (status, revert --inventory) -------------- */

struct fleet_run_result {
	char host[64];
	int exit_code;    /* the remote command's; 255: ssh itself failed */
	char *out;        /* its stdout (caller frees with fleet_run_results_free) */
	char err[1024];   /* its stderr, trimmed */
};

/*
 * Runs `FIREDRILL ARGS...` (each argument shell-quoted) on every host of
 * inv at once, through ssh; waits up to timeout_ns for all. *res gets one
 * result per host, in inventory order.
 */
int fleet_run_everywhere(const struct scenario_inventory *inv, const char *const *args,
			 int64_t timeout_ns, struct fleet_run_result **res, size_t *n,
			 struct fd_error *err);
void fleet_run_results_free(struct fleet_run_result *res, size_t n);

/* ---- the protocol (both sides) ------------------------------------------- */

/* Lines read from a non-blocking fd, of any length up to 16 MiB. */
struct fleet_lines {
	char *buf;
	size_t len, cap;
	bool eof;
};

/* Reads what the fd has. 0, or a negative errno (the fd failed). */
int fleet_lines_fill(struct fleet_lines *l, int fd);
/* The next complete line (NUL-terminated, newline removed; caller frees),
 * or NULL when none is complete yet. */
char *fleet_lines_next(struct fleet_lines *l);
void fleet_lines_free(struct fleet_lines *l);

/*
 * Writes one message (a JSON object, compact, and a newline) to fd before
 * deadline_mono_ns; never raises SIGPIPE on a socket. Takes no reference.
 * 0, or a negative errno (-ETIMEDOUT when the peer stopped reading).
 */
struct json_t;
int fleet_send(int fd, struct json_t *msg, int64_t deadline_mono_ns);

#endif

/*
 * injector: how to break things. One driver per fault kind behind one small
 * interface (injector/driver.h), a write-ahead journal in the store, and a
 * revert that leaves the machine as it found it. Nothing here measures.
 *
 * Life of an injection:
 *   injector_new()      takes the scenario's faults; nothing touched
 *   injector_prepare()  validates and plans every fault: resolves hosts,
 *                       loads prefix lists, finds pids, checks kernel
 *                       support and guards. Nothing applied; an error here
 *                       means nothing will be.
 *   injector_apply()    journals every fault (PLANNED) before touching it,
 *                       starts the guardian, applies all (all nft changes
 *                       in one atomic batch), marks them APPLIED; if any
 *                       driver fails, rolls back what was applied and
 *                       returns the error naming fault, target and the
 *                       kernel's message. Returns once confirmed applied.
 *   injector_revert()   undoes every applied fault, marks them REVERTED.
 *                       Idempotent.
 *   injector_free()     releases memory; does NOT revert.
 *
 * The caller must already be inside the scope's network namespace
 * (fd_netns_enter) when it calls prepare/apply/revert. A fault with a
 * place of its own (injector_set_fault_place) is the exception: the
 * injector enters that fault's namespace for its work and comes back, so
 * the caller needs CAP_SYS_ADMIN effective too.
 */
#ifndef FD_INJECTOR_H
#define FD_INJECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd_error.h"
#include "fd_owner.h"
#include "scenario.h"
#include "store.h"

struct injector;

struct injector_opts {
	struct store *store;   /* journal; required */
	const char *db_path;   /* the guardian opens its own connection to it */
	int64_t drill_id;      /* 0 outside a drill (`firedrill inject`) */
	bool force;            /* allow guarded targets */
	bool no_guardian;      /* tests only: do not start the guardian */
	/* The faults' namespace when the scope names it otherwise than by
	 * netns: a path (/proc/N/ns/net), at most 63 characters, journaled so
	 * that `firedrill revert` enters it. NULL = s->netns. */
	const char *netns;
	/* A container's main process (scope: {container}), 0 = none: process
	 * faults match only in its cgroup, pause freezes that cgroup. */
	pid_t scope_pid;
};

int injector_new(const struct scenario *s, const struct injector_opts *opts,
		 struct injector **out, struct fd_error *err);
FD_MUST_CHECK int injector_prepare(struct injector *inj, struct fd_error *err);
/*
 * Between applies (a drill's later iterations): prepares every fault again
 * against the system as it is now, so that a restarted service's new pid, a
 * host name's new addresses and a changed prefix list are what the next
 * apply targets. The summaries then describe the new targets. An error
 * leaves the injector unprepared (apply refuses).
 */
FD_MUST_CHECK int injector_resolve(struct injector *inj, struct fd_error *err);
/* A container's scope resolved again (a new pid, a new namespace): the
 * path the next apply journals (as injector_opts.netns). */
int injector_set_netns(struct injector *inj, const char *netns, struct fd_error *err);
/* ... and its new main process (injector_opts.scope_pid) for the next resolve. */
void injector_set_scope_pid(struct injector *inj, pid_t pid);
/* Fault i's own place (`netns:`, `netns-path:`, `pid:` or `container:` on
 * the fault, resolved): netns is a /run/netns name or a namespace file
 * (journaled, at most 63 characters; NULL: the scope's again), pid its
 * container's main process (0: none; process faults then match in that
 * container's cgroup, pause freezes it). Not while applied; a container
 * that restarted is set again before the next resolve. */
int injector_set_fault_place(struct injector *inj, size_t i, const char *netns, pid_t pid,
			     struct fd_error *err);
/* The drill row the journal rows name; set once it exists (prepare runs
 * before it, so that a refused fault leaves no drill row). */
void injector_set_drill(struct injector *inj, int64_t drill_id);
FD_MUST_CHECK int injector_apply(struct injector *inj, struct fd_error *err);
FD_MUST_CHECK int injector_revert(struct injector *inj, struct fd_error *err);
void injector_free(struct injector *inj);

/*
 * Fills the drivers' part of a plan (scenarios/scenario_plan.h): each
 * fault's revert text from its driver row, and the guards the row names,
 * checked against the model alone (prepare checks them again with what
 * only it can see). -ENOMEM, or -EINVAL for a kind without a driver.
 */
struct scenario_plan;
int injector_plan_describe(struct scenario_plan *p);

/* After prepare: one line per fault, saying exactly what it does
 * ("drop egress tcp/443 to 41 prefixes (S3 us-east-1) for 15m"). */
size_t injector_fault_count(const struct injector *inj);
const char *injector_fault_summary(const struct injector *inj, size_t i);
const char *injector_fault_id(const struct injector *inj, size_t i);

/*
 * `firedrill revert`: reverts every journal row still PLANNED or APPLIED,
 * entering each row's network namespace as needed. Idempotent: a fault the
 * kernel already expired, or one reverted twice, counts as reverted.
 */
FD_MUST_CHECK int injector_revert_journal(struct store *st, int *n_reverted, struct fd_error *err);

/*
 * `firedrill revert --sandbox`: as injector_revert_journal, but only the
 * rows whose namespace is the one netns names (injector_row_in_netns), the
 * caller already inside it (a sandbox joined: no way back out of its user
 * namespace, so no other place can be entered). Other rows are left alone.
 */
FD_MUST_CHECK int injector_revert_journal_in(struct store *st, const char *netns, int *n_reverted,
					     struct fd_error *err);

/* Whether the row's network namespace is the one netns names: the same
 * namespace however reached (/proc/N/ns/net of any of its processes, a
 * /run/netns name). False when either is gone or the row has none. */
bool injector_row_in_netns(const struct store_fault *row, const char *netns);

/*
 * The start of a drill: reverts, like injector_revert_journal, only the
 * rows still PLANNED or APPLIED whose holder is dead (its pid gone, or now
 * a process that started after the row was planned); rows of a live holder
 * (a `firedrill inject --detach` still holding) are left alone. fn (may be
 * NULL) is called for each row reverted, with the note written to it.
 */
typedef void (*injector_row_fn)(const struct store_fault *row, const char *note, void *arg);
FD_MUST_CHECK int injector_revert_orphans(struct store *st, injector_row_fn fn, void *arg, int *n_reverted,
			    struct fd_error *err);

/* ---- added by the injector core (additive) ------------------------------ */

/* A flow that hit a drop/reject fault (read from nfnetlink_log): the drill
 * lists these as hidden dependencies. Its owner is who sent its first
 * packet, looked up when the flow was first read (docs/injector.md). */
struct injector_flow {
	int family;         /* AF_INET or AF_INET6 */
	uint8_t src[16];
	uint8_t dst[16];
	uint8_t protocol;   /* IPPROTO_* */
	uint16_t dport;     /* host order; 0 when not TCP/UDP */
	uint64_t packets;
	char fault_id[64];
	struct fd_flow_owner owner;
};

/* An fd to poll (readable = flows to read), or -1 without drop/reject faults. */
int injector_flow_fd(const struct injector *inj);
/* Drains the log socket into the flow list; never blocks. */
int injector_read_flows(struct injector *inj);
/* The distinct flows seen so far (valid until the next read or free). */
size_t injector_blackholed_flows(const struct injector *inj,
				 const struct injector_flow **flows);

/* After apply: CLOCK_MONOTONIC ns at which the longest fault's max duration ends. */
int64_t injector_deadline_mono_ns(const struct injector *inj);
/* After apply: whether any of this injection's journal rows is still
 * PLANNED/APPLIED (false once `firedrill revert` or the guardian undid them). */
FD_MUST_CHECK int injector_still_applied(struct injector *inj, bool *applied, struct fd_error *err);

/* Tests only: make the Nth kernel-changing call fail with -EIO (0 disarms).
 * Returns how many checked calls happened since the last arming. */
int injector_seam_fail_at(int n);
/* Tests only: fn runs before every kernel-changing call (what names it:
 * "route add", "link down", ...); NULL removes it. A test kills or pauses
 * the holder there to reach the instants between (and inside) applies. */
void injector_seam_hook(void (*fn)(const char *what, void *arg), void *arg);

#endif

/*
 * drill: the conductor. For each iteration of a scenario:
 *
 *   steady-state -> canary lead-in -> inject (T0) -> watch + runbook steps
 *   -> RPO read-back -> revert -> failback watch -> cool-down
 *
 * and every event (phase changes, faults applied/reverted, probe up/down,
 * laps) goes to the store's timeline as it happens. The drill enters the
 * scenario's network namespace after opening the store and before any
 * socket or nft context exists, and leaves it again before returning.
 *
 * Only one drill may run per scope at a time: drill_run() holds an flock on
 * RUNDIR/scope-NAME.lock (NAME = the scenario's netns, or "host").
 *
 * Manual runbook steps are marked done by Enter on the operator's terminal
 * (opts.lap_tty_fd) or by `firedrill lap` from another shell, which talks to
 * the drill over a unix socket RUNDIR/lap-HASH.sock keyed by the store path
 * (docs/drill.md). RUNDIR is $FIREDRILL_RUN_DIR, else /run/firedrill when
 * writable, else $XDG_RUNTIME_DIR/firedrill, else /tmp/firedrill-UID.
 */
#ifndef FD_DRILL_H
#define FD_DRILL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd_error.h"
#include "scenario.h"
#include "store.h"

enum drill_phase {
	DRILL_PHASE_SETUP,
	DRILL_PHASE_STEADY_STATE,
	DRILL_PHASE_INJECT,
	DRILL_PHASE_WATCH,
	DRILL_PHASE_READBACK,
	DRILL_PHASE_REVERT,
	DRILL_PHASE_FAILBACK,
	DRILL_PHASE_COOL_DOWN,
	DRILL_PHASE_DONE,
	DRILL_PHASE_COUNT
};

/* "steady-state", "inject", ...: the names used in the store's timeline. */
const char *drill_phase_name(enum drill_phase p);

enum drill_outcome {
	OUTCOME_RUNNING,       /* still going, or died without finishing */
	OUTCOME_RECOVERED,     /* recovered within the timeout */
	OUTCOME_NOT_RECOVERED, /* timeout passed without a stable window */
	OUTCOME_ABORTED,       /* stopped: stop-if-failing, signal, crash found later */
	OUTCOME_NOT_HEALTHY,   /* steady state failed: nothing injected */
	OUTCOME_ERROR,         /* an environment or internal error ended it */
};

/* "recovered", "not-recovered", ...: also the store's words for them. */
const char *drill_outcome_name(enum drill_outcome o);

/* A snapshot handed to the progress callback; valid only during the call. */
struct drill_progress {
	const struct scenario *scenario;
	unsigned iteration;        /* 1-based */
	unsigned iterations;
	enum drill_phase phase;
	int64_t phase_elapsed_ns;
	bool has_t0;
	int64_t since_t0_ns;       /* valid when has_t0 */
	const bool *probe_seen;    /* per scenario probe: any sample yet */
	const bool *probe_ok;      /* per scenario probe: latest sample ok */
	const char *step;          /* runbook step in progress, NULL when none */
	bool step_manual;
	/* Non-NULL when this call reports an event ("fault applied: ..."); NULL
	 * for the periodic refresh (about every 200 ms). Events come in the
	 * order they happened, a little after (a probe transition is dated by
	 * its sample's send and known only when every earlier send answered). */
	const char *event;
	int64_t event_real_ns;     /* with event: when it happened (wall clock) */
};

typedef void (*drill_progress_fn)(void *user, const struct drill_progress *p);

/*
 * The war room (docs/war-room.md): a live page of the drill, served from its
 * own threads (libmicrohttpd, Server-Sent Events) on addr ("ADDR:PORT";
 * NULL or "" = 127.0.0.1 on a port chosen now). A non-loopback address
 * needs allow_public. Open it before drill_run() (in the namespace the
 * browser reaches: the drill enters the scenario's later) and hand it over
 * in drill_opts.war_room; one war room may serve several drills in turn
 * (the demo). Every request needs its random token: drill_warroom_url()
 * gives the link with it ("http://127.0.0.1:PORT/?token=HEX").
 */
struct drill_warroom;

int drill_warroom_open(const char *addr, bool allow_public, struct drill_warroom **out,
		       struct fd_error *err);
char *drill_warroom_url(const struct drill_warroom *w, char *buf, size_t len);
void drill_warroom_close(struct drill_warroom *w); /* NULL ok; ends the streams */

struct drill_opts {
	const char *db_path;        /* required */
	const char *environment;    /* NULL = the scenario's */
	const char *operator_name;  /* NULL = the invoking user (fd_operator_name) */
	unsigned iterations;        /* 0 = the scenario's */
	/* Preflight only: lock, enter the scope, prepare the faults, check the
	 * steady state. Nothing injected, nothing recorded. */
	bool dry_run;
	bool force;                 /* allow guarded targets */
	bool no_guardian;           /* tests only */
	const char *note;           /* stored with the drill (e.g. the lab's tuning) */
	/* Who takes part, "ROLE=NAME" each (run --role; drill_role_check): stored
	 * with the drill beside the roles the scenario's team: expects. */
	const char *const *roles;
	size_t n_roles;
	/* Enter marks the current manual step done when >= 0 (a terminal). */
	int lap_tty_fd;
	/* Set to non-zero (by a signal handler) to abort: revert, record ABORTED. */
	const volatile sig_atomic_t *stop;
	drill_progress_fn progress;
	void *progress_user;
	/* How long the steady-state probes get to be healthy; 0 = derived from
	 * the probes' intervals and timeouts (1 s to 30 s). */
	int64_t steady_window_ns;
	/* The war room to publish to and take presses from; NULL = none. */
	struct drill_warroom *war_room;
	/* A namespace file that is the scope instead of the scenario's (a
	 * sandbox's /proc/N/ns/net, already joined: drill_sandbox_join); the
	 * scenario must then name no scope place. NULL = the scenario's. */
	const char *scope_netns;
	/* The relay that posts the webhooks from outside a joined sandbox
	 * (drill_relay_start); NULL = the drill posts them itself. */
	const struct drill_relay *notify_relay;
};

/* ---- the rootless sandbox (drill_sandbox.c, docs/local.md) ---- */

struct drill_sandbox_info {
	char name[64];
	long pid;            /* this process: its namespaces are the sandbox */
	long child;          /* the command run inside */
	char record[4096];   /* RUNDIR/sandbox-NAME.pid */
};
typedef void (*drill_sandbox_ready_fn)(void *user, const struct drill_sandbox_info *sb);

/*
 * `firedrill sandbox`: makes a user + network namespace (the caller's uid
 * and gid mapped to 0 inside, loopback up) in this process, records its
 * pid as RUNDIR/sandbox-NAME.pid, runs argv inside as a child (ready is
 * called once it started) and waits for it; SIGINT, SIGTERM and SIGHUP go
 * to the child. *status is the child's wait status. FD_ERR_ENV when user
 * namespaces are not available (the error says which setting).
 */
int drill_sandbox_run(const char *name, char *const argv[], drill_sandbox_ready_fn ready,
		      void *user, int *status, struct fd_error *err);

/*
 * `run --sandbox PID|NAME` (and `revert --sandbox`): joins the sandbox's
 * user namespace, then its network namespace, for good (call it
 * single-threaded, before anything else), and writes "/proc/PID/ns/net"
 * into netns: drill_opts.scope_netns.
 * Keeps the run directory of outside in FIREDRILL_RUN_DIR.
 */
int drill_sandbox_join(const char *which, char *netns, size_t len, struct fd_error *err);

/* ---- the webhook relay of a sandboxed drill (drill_relay.c, docs/local.md) ---- */

struct drill_relay;

/*
 * Forks the process that posts a sandboxed drill's webhooks from where
 * firedrill was started (its user and network namespaces, the user's own
 * identity): call it single-threaded, before drill_sandbox_join(). It reads
 * each notify: URL from its variable now; the relay may then only POST,
 * to those URLs, the events each one declared. *out is NULL when no
 * webhook has a URL. Caller has ownership: drill_relay_free().
 */
int drill_relay_start(const struct scenario *s, struct drill_relay **out, struct fd_error *err);
/* Hangs up on the relay and reaps it (it exits on the hangup; killed if
 * not within the webhook timeout). NULL ok. */
void drill_relay_free(struct drill_relay *r);

/* Fills defaults: lap_tty_fd -1, everything else zero. */
void drill_opts_init(struct drill_opts *o);

/* 0 when arg is "ROLE=NAME" with ROLE in [a-z0-9-]+ (at most 63) and a NAME;
 * else -EINVAL with err saying what is wrong (FD_ERR_INPUT). */
int drill_role_check(const char *arg, struct fd_error *err);

/*
 * The role of name in participants ("ROLE=NAME" lines, as stored with the
 * drill) into role (its first role; "" when it has none). Returns role.
 */
char *drill_role_of(const char *participants, const char *name, char *role, size_t len);

/* A flow that hit a drop/reject fault while it was applied: a dependency
 * the scenario's author may not have known about. */
struct drill_flow {
	int family;                 /* AF_INET or AF_INET6 */
	uint8_t src[16];
	uint8_t dst[16];
	uint8_t protocol;           /* IPPROTO_* */
	uint16_t dport;             /* 0 when not TCP/UDP */
	uint64_t packets;           /* dropped during this iteration */
	int64_t first_seen_mono_ns; /* when the drill first read it (slice precision) */
	int64_t since_t0_ns;        /* first seen - T0 */
	char fault_id[64];
	struct fd_flow_owner owner; /* who sent it, or why that is not known */
};

/* "tcp 10.0.0.1 -> 10.0.0.2:443" */
char *drill_flow_format(const struct drill_flow *f, char *buf, size_t len);
/* "from pid 4242 (curl, uid 1000)", "sender unknown: socket already closed (uid 0)" */
char *drill_flow_sender(const struct drill_flow *f, char *buf, size_t len);
/* The store's row of f (its addresses and protocol as text). */
void drill_flow_row(const struct drill_flow *f, int64_t iteration_id, struct store_flow *out);

/*
 * One iteration as the drill measured it, in integer nanoseconds; the store
 * gets it in milliseconds (its rows), the cli prints it. A has_* flag that
 * is false leaves its value 0.
 */
struct drill_iteration {
	int64_t id;                 /* the store's row, 0 for a dry run */
	int number;                 /* 1-based */
	enum drill_outcome outcome;
	int64_t t0_real_ns;         /* wall time of T0 (faults confirmed applied) */
	int64_t t0_mono_ns;
	bool has_rto;               /* false unless recovered */
	int64_t rto_ns;
	/* The two sides of the RTO's bound (scorer.h recovery_result): the true
	 * RTO lies in [rto_ns - rto_late_ns, rto_ns + rto_early_ns]. */
	bool has_rto_bounds;
	int64_t rto_early_ns;
	int64_t rto_late_ns;
	int64_t error_bound_ns;     /* max(early, late) when recovered, else the
				       longest criterion probe interval */
	bool has_rpo;
	int64_t rpo_ns;
	int64_t writes_acked;       /* canary writes acknowledged, whole iteration */
	int64_t writes_acked_outage;/* ... of which during the outage (after T0) */
	int64_t lost_writes;        /* acknowledged writes missing after recovery */
	bool has_detect;
	int64_t detect_ns;          /* first failing sample after T0 */
	bool has_first_success;
	int64_t first_success_ns;
	bool has_failback;
	int64_t failback_ns;
	bool objectives_met;
	char detail[512];           /* why: "not healthy before the drill", abort reason */
};

struct drill_iteration_result {
	struct drill_iteration rec; /* what was measured (outcome, rto_ns, ...) */
	struct store_lap *laps;     /* one per runbook step, in order */
	size_t n_laps;
	struct drill_flow *flows;   /* blackholed flows, in the order first seen */
	size_t n_flows;
};

struct drill_result {
	int64_t drill_id;           /* 0 for a dry run */
	enum drill_outcome outcome; /* the worst iteration outcome */
	bool objectives_met;        /* every iteration met its objectives */
	struct drill_iteration_result *iterations;
	size_t n_iterations;
	char detail[512];           /* why it stopped, when it did */
};

/*
 * Runs the whole drill. Returns 0 when the drill ran to a verdict (even
 * NOT_RECOVERED, NOT_HEALTHY or ABORTED: see res->outcome), or a negative
 * code when it could not run or an error ended it (err says why; a drill
 * already begun is recorded with outcome ERROR and its faults reverted).
 * res is filled in both cases; release it with drill_result_free().
 */
int drill_run(const struct scenario *s, const struct drill_opts *opts,
	      struct drill_result *res, struct fd_error *err);
void drill_result_free(struct drill_result *res);

/*
 * `firedrill inject`: applies every fault of s once (inside s->netns when
 * set) and holds them, with no probes and no iterations, until the longest
 * max duration ends, SIGINT/SIGTERM/SIGHUP (blocked from here on and read
 * from a signalfd: `firedrill revert` sends SIGTERM), or a revert seen in
 * the journal; then reverts. Takes the scope lock drill_run() takes, for as
 * long as the faults are live (a drill or another hold on the scope is
 * refused, naming this one). The callbacks tell the caller what happened;
 * they run in the calling thread, inside the hold.
 */
struct drill_hold_opts {
	const char *db_path;        /* required */
	bool force;                 /* allow guarded targets */
	/* a joined sandbox's netns (inject --sandbox): the scope, with the
	 * scenario naming none and no place of its own; NULL: its scope */
	const char *scope_netns;
	/* once per fault, after all are applied */
	void (*on_applied)(void *user, const char *fault_id, const char *summary);
	/* then once, as the hold begins: netns may be NULL; remaining_ns is the
	 * time to the longest max duration's end */
	void (*on_holding)(void *user, const char *netns, int64_t remaining_ns);
	void *user;
};

struct drill_hold_result {
	bool held;                  /* the faults were applied and held */
	bool reverted;              /* ... and reverted by this hold */
	const char *why;            /* what ended the hold (static text), once held */
	struct drill_flow *flows;   /* blackholed flows (first_seen/since_t0 unset) */
	size_t n_flows;
};

void drill_hold_opts_init(struct drill_hold_opts *o);
/*
 * 0 when the faults were applied, held and reverted. Negative when the hold
 * could not start (nothing applied; res->held false) or the revert failed
 * (res->held true: the guardian keeps watch). Release res with
 * drill_hold_result_free() in both cases.
 */
int drill_hold(const struct scenario *s, const struct drill_hold_opts *o,
	       struct drill_hold_result *res, struct fd_error *err);
void drill_hold_result_free(struct drill_hold_result *res);

/*
 * For a hold in the background: forks a holder in its own session with its
 * stdin, stdout and stderr on /dev/null. In the parent returns the holder's
 * pid and *fd the read end of a pipe; in the holder returns 0 and *fd the
 * write end (what the holder tells its parent). Negative on error.
 * drill_hold_reap() waits for a holder: its exit status, or -1 when it did
 * not exit normally.
 */
pid_t drill_hold_detach(int *fd, struct fd_error *err);
int drill_hold_reap(pid_t pid);

/*
 * `firedrill agent`: one host's part of a fleet drill (docs/fleet.md),
 * conducted by a coordinator over ssh: line-delimited JSON in on in_fd,
 * out on out_fd (fleet/fleet.h). Journals in the store at db_path, holds
 * the scope lock of the host's namespace while prepared, and reverts by
 * itself when the coordinator goes silent for a lease, at EOF, and on
 * SIGINT/SIGTERM/SIGHUP. Returns 0 when it ended with nothing applied.
 */
struct drill_agent_opts {
	const char *db_path;        /* required */
	int in_fd, out_fd;
};

struct drill_agent_result {
	const char *why;            /* what ended it (static text) */
	bool left_applied;          /* a revert failed: the guardian keeps watch */
};

int drill_agent(const struct drill_agent_opts *o, struct drill_agent_result *res,
		struct fd_error *err);

/*
 * `firedrill lap`: asks the drill running on the store at db_path to mark
 * its current manual step done, with an optional note. who (NULL: not
 * said) is the person; the lap is recorded under their role in the drill.
 * On success reply holds the drill's answer ("lap: Swap DNS (2m13s)").
 * -ENOENT when no drill is listening, -EAGAIN when no manual step is
 * waiting (reply says so).
 */
int drill_lap_send(const char *db_path, const char *who, const char *note, char *reply,
		   size_t reply_len, struct fd_error *err);
/*
 * The same, saying what: "done" (or NULL), "failed" or "skipped" (the
 * manual step waiting; note is the reason), or "note" (a note on the
 * timeline, whatever step is waiting). -EAGAIN when the drill refused it.
 */
int drill_lap_send_as(const char *db_path, const char *who, const char *what, const char *note,
		      char *reply, size_t reply_len, struct fd_error *err);

/*
 * The per-scope lock drill_run() takes (RUNDIR/scope-NAME.lock, flock), for
 * other holders of a scope's faults: `firedrill inject` holds it for as long
 * as its faults are live, so a drill or a second inject on that scope is
 * refused (-EBUSY, FD_ERR_ENV) with a message naming the holder's pid and,
 * for holder "inject", how to end it. holder is written into the lock file
 * beside the pid (NULL = a drill). The fd is close-on-exec; the kernel
 * releases the lock when the process dies. Release with drill_scope_release().
 */
int drill_scope_hold(const char *netns, const char *holder, int *fd_out, struct fd_error *err);
void drill_scope_release(int fd, const char *netns); /* -1 is a no-op; removes the lock file */

/* "81 ms (-30/+20 ms)": an iteration's RTO with both sides of its bound, the
 * true RTO lying in [rto - 30 ms, rto + 20 ms] ("81 ms (+50 ms)" without
 * both sides). Returns buf. */
char *drill_rto_text(const struct drill_iteration *it, char *buf, size_t len);

#endif

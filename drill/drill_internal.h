/*
 * drill/'s one private header: nothing here is used outside drill/ and its
 * tests. Two halves:
 *
 * The parts that need no other module's code (the unit tests link them
 * alone, drill_core in meson.build): the pure verdict arithmetic
 * (drill_eval.c), the run directory, scope lock and lap socket
 * (drill_ipc.c), the runbook step runner (drill_steps.c), the webhook
 * sender (drill_notify.c, its POST in drill_post.c, the relay of a
 * sandboxed drill in drill_relay.c) and the objectives (drill_objectives.c).
 *
 * The runner's own state, shared by the files that make up drill_run():
 *
 *   drill.c           setup, the iterations, teardown (the order of a drill)
 *   drill_phases.c    one function per phase of an iteration
 *   drill_timeline.c  events, samples, laps, webhooks, and the slice loop
 *   drill_flows.c     blackholed flows read from the injector's log
 *
 * The runner half only names the injector's and scorer's types; its .c
 * files include injector.h and scorer.h themselves.
 */
#ifndef FD_DRILL_INTERNAL_H
#define FD_DRILL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drill.h"
#include "fd_error.h"
#include "fd_time.h"
#include "scenario.h"
#include "store.h"

/* snprintf that truncates on purpose: detail strings are bounded columns. */
void drill_textf(char *dst, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- verdicts (drill_eval.c) -------------------------------------------- */

/*
 * Objectives met = recovered, and rto <= objective, and rpo <= objective
 * (each only when the scenario sets it). An RPO objective with no measured
 * RPO is not met: nothing proves it. why gets a short reason when not met.
 */
bool drill_objectives_met(const struct scenario *s, const struct drill_iteration *it,
			  char *why, size_t why_len);

/* The worse of two outcomes: error > aborted > not-healthy > not-recovered > recovered. */
enum drill_outcome drill_outcome_worse(enum drill_outcome a, enum drill_outcome b);

/* Time the steady-state probes get: 3 x the longest interval + the longest
 * timeout, clamped to [1 s, 30 s]; 0 when there are no steady-state probes. */
int64_t drill_steady_window_ns(const struct scenario *s);

/* One probe's state as the drill sees it, from its samples, in send order. */
struct probe_track {
	bool seen;
	bool ok;
	int64_t failing_since_ns; /* send time of the first sample of the current failing run */
	int64_t last_sent_ns;     /* send time of the newest sample applied */
	int64_t last_latency_ns;  /* ... and its latency (set by the drill) */
};

/* Feeds one sample; returns +1 when the probe went up, -1 when it went down
 * (the first sample counts as a change), 0 otherwise. A sample sent before
 * the newest one applied (an answer that came late) changes nothing. */
int drill_track_sample(struct probe_track *t, bool ok, int64_t sent_mono_ns);

/*
 * How long probe has been failing as the samples show it: from the send of
 * the first failing sample of the run to the send of the newest (a newer
 * healthy sample may still be in flight); for log and pcap probes, whose
 * events come as they happen, to now. 0 when it is not failing.
 */
int64_t drill_failing_for_ns(const struct scenario *s, const struct probe_track *tracks,
			     size_t probe, int64_t now_mono_ns);

/*
 * stop-if-failing: true when a listed probe has failed continuously for its
 * `for` (drill_failing_for_ns); *which gets the index into s->stop_if.
 */
bool drill_stop_if_tripped(const struct scenario *s, const struct probe_track *tracks,
			   int64_t now_mono_ns, size_t *which);

/* True when every steady-state probe's latest sample is ok. */
bool drill_steady_ok(const struct scenario *s, const struct probe_track *tracks);

/* ---- what people do during a drill ---------------------------------------- */

/*
 * One thing someone did during the drill, from `firedrill lap` (done,
 * failed, skipped, note) or the war room (all of them). The drill's thread
 * applies it between slices (drill_act_apply, drill_slice.c) and records it
 * under who's name and role in the drill.
 */
enum drill_act_kind {
	DRILL_ACT_DONE,    /* the manual step waiting is done (text: a note) */
	DRILL_ACT_FAILED,  /* ... failed (text: the reason, required) */
	DRILL_ACT_SKIPPED, /* ... skipped (text: the reason, required) */
	DRILL_ACT_NOTE,    /* a note on the timeline */
	DRILL_ACT_LAP,     /* a split of the stopwatch on the timeline */
	DRILL_ACT_FINDING, /* a finding on the drill's record book (severity) */
	DRILL_ACT_ABORT,   /* revert now and record the drill aborted (text: why) */
	DRILL_ACT_COUNT
};

struct drill_act {
	enum drill_act_kind kind;
	char who[128];     /* "" when not said */
	char text[512];
	char severity[16]; /* a finding's: critical, high, medium, low */
	long step;         /* the step the presser saw (0-based), -1: whichever waits */
};

const char *drill_act_name(enum drill_act_kind k); /* "done", "failed", ... */
/* 0 and *k for a name drill_act_name gives, else -EINVAL. */
int drill_act_parse(const char *name, enum drill_act_kind *k);

/* ---- the war room's server (drill_warroom.c) ------------------------------ */

struct sockaddr_in;

/* "ADDR:PORT" (IPv4) into sa; NULL or "" = 127.0.0.1, any port. */
int warroom_parse_addr(const char *spec, struct sockaddr_in *sa, bool *loopback,
		       struct fd_error *err);
/* A drill takes presses between its slices while attached. Detaching
 * answers what is still waiting ("the drill ended"). w may be NULL. */
void warroom_attach(struct drill_warroom *w, bool on);
/* The newest state of the drill, a JSON text (ownership passes); every
 * open stream sends it. w may be NULL (json is freed). */
void warroom_publish(struct drill_warroom *w, char *json);
/* The oldest press waiting, and its ticket for warroom_answer(). */
bool warroom_next_act(struct drill_warroom *w, struct drill_act *a, uint64_t *ticket);
void warroom_answer(struct drill_warroom *w, uint64_t ticket, bool ok, const char *reply);

/* ---- run directory, scope lock, lap socket (drill_ipc.c) ---------------- */

/* Creates (0700) and returns the run directory. */
int drill_run_dir(char *buf, size_t len, struct fd_error *err);

/* RUNDIR/lap-HASH.sock, HASH = FNV-1a 64 of the store's absolute path. */
int drill_lap_socket_path(const char *db_path, char *buf, size_t len, struct fd_error *err);

/* flock on RUNDIR/scope-NAME.lock; -EBUSY (FD_ERR_ENV) when another drill
 * holds it, naming its pid. *fd_out is released by drill_scope_unlock(). */
int drill_scope_lock(const char *netns, int *fd_out, struct fd_error *err);
void drill_scope_unlock(int fd, const char *netns); /* also removes the lock file */

struct lap_server;

int lap_server_open(const char *db_path, struct lap_server **out, struct fd_error *err);
/*
 * Non-blocking: when a `firedrill lap` request is waiting, returns 1 and
 * copies its note (may be empty); the caller must answer it with
 * lap_server_reply() before polling again. Returns 0 when none is waiting.
 */
/* A lap request: its sender's name into who ("" when not said) and its note. */
int lap_server_poll(struct lap_server *ls, char *who, size_t who_len, char *note, size_t note_len);
/* The same, the whole request: done (`firedrill lap [NOTE]`), failed,
 * skipped or note, who sent it and its text (act->step is -1). */
int lap_server_next(struct lap_server *ls, struct drill_act *act);
void lap_server_reply(struct lap_server *ls, bool done, const char *text);
void lap_server_close(struct lap_server *ls); /* removes the socket file; NULL ok */

/* ---- runbook steps (drill_steps.c) -------------------------------------- */

struct step_runner;

/* Where a step is. A step ends DONE, FAILED or SKIPPED; NOT_RUN when a
 * failed step before it stopped the runbook (or the runbook was cancelled
 * before it began). */
enum step_state {
	STEP_PENDING,
	STEP_RUNNING,  /* an automated step's command runs, or a manual step waits */
	STEP_DONE,
	STEP_FAILED,
	STEP_SKIPPED,
	STEP_NOT_RUN,
};

const char *step_state_name(enum step_state st); /* "pending", ..., "not-run" */

/* Steps run in order; a step without its own timeout gets default_timeout_ns.
 * A failed step stops the steps after it unless it says on-failure: continue
 * (step_runner_set_stop_on_failure(sr, false): every step runs). netns: n
 * entries, each step's network namespace (a /run/netns name or a namespace
 * file; NULL: here), copied; NULL: every step here. */
struct step_runner *step_runner_new(const struct scenario_step *steps, size_t n,
				    int64_t default_timeout_ns, const char *const *netns);
void step_runner_free(struct step_runner *sr); /* kills a running command */

/* Starts the first step (T0). */
int step_runner_start(struct step_runner *sr, int64_t now_mono_ns, struct fd_error *err);

/*
 * Reaps a finished command, kills a timed-out one, starts the next step.
 * Returns the index of a step that just ended (its lap in *lap), or -1.
 * Call until it returns -1.
 */
long step_runner_tick(struct step_runner *sr, int64_t now_mono_ns, struct store_lap *lap);

void step_runner_set_stop_on_failure(struct step_runner *sr, bool stop);

/* Ends the current manual step as how (STEP_DONE, STEP_FAILED or
 * STEP_SKIPPED) with note as its detail. Returns its index (lap in *lap),
 * -EAGAIN when the current step is not a manual one, -EINVAL for another how. */
long step_runner_mark(struct step_runner *sr, int64_t now_mono_ns, enum step_state how,
		      const char *note, struct store_lap *lap);
/* Step i's state (STEP_PENDING for sr NULL or i out of range). */
enum step_state step_runner_state(const struct step_runner *sr, size_t i);
/* The index of the failed step that stopped the steps after it, or -1. */
long step_runner_stopped_at(const struct step_runner *sr);

/* The step in progress, or NULL (not started, or all done). */
const struct scenario_step *step_runner_current(const struct step_runner *sr, size_t *index);
bool step_runner_finished(const struct step_runner *sr);

/* Ends the runbook early (recovered first, aborted): kills a running
 * command; every step not ended gets ok=false and why. */
void step_runner_cancel(struct step_runner *sr, int64_t now_mono_ns, const char *why);

/* Every step's lap so far, in order (n = the number of steps). */
const struct store_lap *step_runner_laps(const struct step_runner *sr, size_t *n);
/* True when step i started (its lap belongs in the store). */
bool step_runner_started(const struct step_runner *sr, size_t i);

/* ---- webhooks (drill_notify.c) ------------------------------------------ */

/* A failed delivery worth retrying is retried after 0.5 s, 1 s, 2 s, ...,
 * none starting later than 30 s after the first attempt. */
#define NOTIFY_RETRY_FIRST_NS (500 * FD_NS_PER_MS)
#define NOTIFY_RETRY_FOR_NS (30 * FD_NS_PER_S)

/* What a webhook says about one event; fields not known yet stay unset. */
struct notify_msg {
	enum notify_event event;
	const char *scenario;
	const char *environment;
	int64_t drill_id;
	unsigned iteration;      /* 0 for drill-level events (start, end) */
	unsigned iterations;
	const char *outcome;     /* NULL while unknown */
	bool has_rto;
	int64_t rto_ns;
	int64_t error_bound_ns;
	bool has_rpo;
	int64_t rpo_ns;
	int64_t lost_writes;
	int objectives_met;      /* -1 unknown, else 0/1 */
	const char *detail;      /* NULL = none */
	bool has_rto_bounds;     /* both sides of the RTO's bound (scorer.h) */
	int64_t rto_early_ns;
	int64_t rto_late_ns;
};

/* One line for the timeline: "notified start via $HOOK: HTTP 200". Never
 * holds the URL. */
struct notify_report {
	char subject[72];        /* the event name, or "setup" */
	int64_t iteration_id;    /* as passed to notifier_send() */
	int64_t mono_ns;         /* when the request ended */
	bool ok;
	char text[256];
};

struct notifier;

const char *notify_event_name(enum notify_event e);

/*
 * Reads every webhook URL from its environment variable now and starts the
 * sending thread (in the calling thread's network namespace). *out is NULL
 * when the scenario has no notify section. An unset variable is not an
 * error: it becomes a report saying its webhooks are skipped. With a relay
 * (drill_relay_start, run --sandbox), each request goes to the relay, which
 * posts it from outside; NULL: the workers post it themselves.
 */
int notifier_new(const struct scenario *s, int64_t timeout_ns, const struct drill_relay *relay,
		 struct notifier **out, struct fd_error *err);
/* Queues one POST per webhook that wants m->event; never blocks on the
 * network. n may be NULL. */
void notifier_send(struct notifier *n, const struct notify_msg *m, int64_t iteration_id);
/* True when a hook's status message is due (status-every since the last). */
bool notifier_status_due(const struct notifier *n, int64_t now_mono_ns);
/* Queues m (a NOTIFY_STATUS message) for each hook whose status is due. */
void notifier_send_status(struct notifier *n, const struct notify_msg *m, int64_t now_mono_ns);
/* Retries: the first after first_delay_ns, doubling, none starting later
 * than retry_for_ns after the first attempt (tests shorten them). */
void notifier_set_retry(struct notifier *n, int64_t first_delay_ns, int64_t retry_for_ns);
/* Pops the oldest report; false when none is waiting. n may be NULL. */
bool notifier_next_report(struct notifier *n, struct notify_report *out);
/* Waits up to grace_ns for the queue to empty, then abandons what is left
 * (reported as not sent) and stops the thread. */
void notifier_finish(struct notifier *n, int64_t grace_ns);
void notifier_free(struct notifier *n); /* NULL ok; forgets the URLs */

/* One webhook request, as the notifier's workers and the relay post it. */
struct notify_post {
	const char *url;
	const char *event;      /* X-Firedrill-Event */
	const char *body;       /* JSON, sent as is */
	const char *signature;  /* X-Firedrill-Signature ("sha256=HEX"); NULL: unsigned */
	long timeout_ms;
	int (*abort)(void *user); /* non-zero: give up now */
	void *abort_user;
};

/*
 * POSTs p with libcurl's easy handle curl (a CURL *): Content-Type
 * application/json, http and https only, no redirects. Returns curl's code
 * (a CURLcode); on CURLE_OK *status is the HTTP status.
 */
int notify_http_post(void *curl, const struct notify_post *p, long *status);

/* ---- the webhook relay of a sandboxed drill (drill_relay.c) -------------- */

/* The largest request the relay takes: far above any body notify_body()
 * makes (its text fields come from the drill's fixed-size buffers, a few
 * KiB at most) and well under a socket's default send buffer, so that one
 * request is always one datagram. Larger ones are refused. */
#define RELAY_MAX_MSG (64 * 1024)

/* The drill's end of hook i's socket; -1 when the relay has no URL for it. */
int drill_relay_fd(const struct drill_relay *r, size_t hook);
/* The relay's pid (tests). */
pid_t drill_relay_pid(const struct drill_relay *r);
/* Closes the drill's ends, as a crash would (tests; drill_relay_free does it too). */
void drill_relay_hangup(struct drill_relay *r);

/*
 * Has the relay post p (its url is the relay's own, never sent) on socket
 * fd and waits for its answer, or until abort_fd is readable. Returns
 * curl's code as the relay got it (>= 0; *status when CURLE_OK), or a
 * negative errno with why said in why: -ECANCELED (abort_fd), -EMSGSIZE
 * (larger than RELAY_MAX_MSG), -EPIPE (the relay is gone), -EPROTO (the
 * relay refused it, or answered what it should not).
 */
int drill_relay_post(int fd, int abort_fd, const struct notify_post *p, long *status, char *why,
		     size_t len);

/* The JSON body of a webhook. Caller has ownership (free()); NULL on ENOMEM. */
char *notify_body(const struct notify_msg *m, const char *host);
/* The same event as Slack-compatible incoming webhooks take it ({text, blocks}). */
char *notify_body_slack(const struct notify_msg *m, const char *host);

/* ---- objectives (drill_objectives.c) ------------------------------------ */

/*
 * "all of [web, db] stable 2.0 s within 5m00s": the recovery criterion as the
 * reports show it. Returns buf.
 */
char *drill_criterion_text(const struct scenario *s, const struct scenario_criterion *c,
			   char *buf, size_t len);

/* Sets d's objective fields (RTO, RPO, recovery criterion) from s. */
void drill_objectives_fill(const struct scenario *s, struct store_drill *d);
/* The scope (description, scope-rationale) and the participants: each
 * team: role with who fills it (or "ROLE=" when nobody), then the other
 * --role roles in the order given. */
void drill_scope_fill(const struct scenario *s, const struct drill_opts *o, struct store_drill *d);

/* ==== the runner (drill.c, drill_phases.c, drill_timeline.c, drill_flows.c) ==== */

struct injector;
struct fleet;
struct scorer;
struct scorer_sample;
struct recovery_watch;

#define SLICE_NS (50 * FD_NS_PER_MS)
#define REFRESH_NS (200 * FD_NS_PER_MS)
#define SAMPLE_BATCH 256
#define NOTIFY_TIMEOUT_NS (5 * FD_NS_PER_S)
/* At the end, the webhooks still queued get this long before they are dropped. */
#define NOTIFY_GRACE_NS (NOTIFY_TIMEOUT_NS + FD_NS_PER_S)

/* A blackholed flow as the current iteration sees it; index = the injector's. */
struct flow_seen {
	uint64_t base;      /* packets counted before this iteration's injection */
	int64_t first_mono; /* when this iteration first saw it */
	bool seen;
};

/* ==== where the faults apply (drill_scope.c) ==== */

/* A container as its engine's CLI saw it. */
struct drill_container {
	char engine[16];
	char id[128];
	long pid;
	char image[256];
	char netns[64]; /* /proc/PID/ns/net */
};

/* The drill's scope resolved: the namespace file, and the scope lock's name. */
struct drill_place {
	char netns[64];  /* a /run/netns name or a namespace file; "" = the caller's */
	char key[64];    /* the scope lock's name: the netns name, or netns-INODE */
	bool is_container;
	struct drill_container container;
	bool changed;    /* drill_places_refresh: the container restarted (a new netns) */
};

struct drill;
struct scorer_places;
int drill_container_resolve(const char *name, const char *engine, struct drill_container *c,
			    struct fd_error *err);
/* s's scope (or scope_netns, a sandbox's, when not NULL) into p. */
int drill_place_resolve(const struct scenario *s, const char *scope_netns, struct drill_place *p,
			struct fd_error *err);
int drill_place_enter(struct drill *d, struct fd_error *err);
int drill_place_leave(struct drill *d, struct fd_error *err);
int drill_place_refresh(struct drill *d, struct fd_error *err);
void drill_place_note(struct drill *d);
int drill_place_in(struct drill *d, struct fd_error *err);
void drill_place_out(struct drill *d);
/* A container place asked of its engine again (its "container" event): 1
 * when it restarted (p's netns and container now the new ones), 0 when not,
 * negative on error. */
int drill_container_follow(struct drill *d, const char *name, const char *engine,
			   struct drill_place *p, struct fd_error *err);
/* The timeline's "container" event: id, pid, image, "(a new pid: restarted)"
 * when old_pid (0: none known) differs. */
void drill_container_event(struct drill *d, const char *name, const struct drill_container *c,
			   long old_pid);

/* ==== places of their own: a fault's, probe's, step's, action's (drill_places.c) ==== */

struct drill_item_place {
	const struct scenario_place *sp; /* the first item naming it (the same place is one) */
	struct drill_place place;
	int lock_fd; /* a fault's place: its scope lock (drill_places_lock); -1 none */
};

int drill_place_resolve_one(const struct scenario_place *sp, struct drill_place *p,
			    struct fd_error *err);
/* Setup: every distinct place the items name, resolved (a sandbox refuses them). */
int drill_places_resolve(struct drill *d, struct fd_error *err);
/* Each iteration: first, a "container" event per container place; later, each
 * container asked again, .changed set where it has a new pid and namespace. */
int drill_places_refresh(struct drill *d, bool first, struct fd_error *err);
/* The first iteration: a "place" event per probe, step and action with a
 * place of its own ("from container web (/proc/8123/ns/net)"). */
void drill_places_note(struct drill *d);
/* The item's resolved place, or NULL: the scope's. */
const struct drill_place *drill_places_find(const struct drill *d, const struct scenario_place *sp);
/* Where this iteration's probes and RPO actions run, for scorer_new_in:
 * w->probe is the caller's to free(), its strings d's. */
int drill_places_for_scorer(const struct drill *d, struct scorer_places *w, struct fd_error *err);
/* Each step's namespace, for step_runner_new (NULL entries: here); the
 * caller frees the array, the strings are d's. NULL when out of memory. */
const char **drill_places_for_steps(const struct drill *d, const struct scenario_step *steps,
				    size_t n);
/* The faults' places alone into *v (firedrill inject; a drill's come with
 * drill_places_resolve). With scope_netns (a sandbox's) a scenario naming
 * any place of its own is refused. */
int drill_places_resolve_faults(const struct scenario *s, const char *scope_netns,
				struct drill_item_place **v, size_t *n, struct fd_error *err);
/* The scope lock of each fault's place not locked already (scope_key is
 * the scope's, held by the caller); released by drill_places_unlock. */
int drill_places_lock(const struct scenario *s, struct drill_item_place *v, size_t n,
		      const char *scope_key, const char *holder, struct fd_error *err);
void drill_places_unlock(struct drill_item_place *v, size_t n);
/* Each fault of s (the injector's scenario) with a place of its own: its
 * namespace and container pid to the injector (setup, and again after a
 * container restarted). */
int drill_places_set_faults(struct injector *inj, const struct scenario *s,
			    struct drill_item_place *v, size_t n, struct fd_error *err);
void drill_places_free(struct drill *d);

struct drill {
	const struct scenario *s;
	const struct drill_opts *o;
	struct drill_result *res;
	struct store *st;
	struct injector *inj;
	/* a fleet drill: the agents on other hosts, and the scenario's local
	 * share (the faults on this host; NULL when s has no remote fault) */
	struct fleet *fleet;
	struct scenario *local;
	struct lap_server *laps;
	int lock_fd;
	int home_ns;
	struct drill_place place; /* where the faults apply */
	struct drill_item_place *places; /* the items' own places (drill_places.c) */
	size_t n_places;
	unsigned iterations;
	int64_t drill_id;
	const char *environment;
	char participants[1024]; /* as stored with the drill: who laps under which role */
	char operator_name[128];
	struct notifier *notify;
	char notify_error[FD_ERROR_MSG_MAX]; /* the notifier could not start */

	/* the iteration in progress */
	unsigned number;
	int64_t iteration_id;
	struct scorer *sc;
	struct recovery_watch *watch; /* fed every sample; counts those sent from watch_from */
	int64_t watch_from;
	bool has_t0;
	int64_t t0;
	bool applied;
	char no_failback[FD_ERROR_MSG_MAX]; /* why the system did not come back; stops the drill */
	struct step_runner *steps;
	struct probe_track *tracks;
	bool *seen, *ok; /* the tracks, flattened for the progress callback */
	struct store_sample batch[SAMPLE_BATCH];
	size_t n_batch;
	struct flow_seen *flow_seen;
	size_t n_flow_seen;
	struct drill_flow *flows; /* the iteration's blackholed flows, made at revert */
	size_t n_flows;
	/* evidence probes: packets matched before T0 (the capture works), and why
	   the verdict fails when one matched between T0 and revert */
	int64_t *evidence_before;
	char evidence_failed[FD_ERROR_MSG_MAX];
	enum drill_phase phase;
	int64_t phase_start;
	int64_t last_refresh;
	/* the first store error met inside a callback; ends the iteration */
	int fatal_rc;
	struct fd_error fatal_err;
	/* event lines waiting to be told in event-time order (drill_timeline.c) */
	struct told_line *told;
	size_t n_told, cap_told;
	bool draining; /* inside drill_notify_drain (it records events itself) */

	/* someone pressed abort (war room): stops like a signal, says who and why */
	bool abort_requested;
	char abort_why[700];
	/* the manual step whose webhook went out (iteration, step), and whether
	 * this iteration's detection did */
	unsigned manual_told_iter;
	long manual_told_step;
	bool detected_told;
	/* the war room (drill_snapshot.c): recent events and samples, what the
	 * iteration measured so far, when the criterion began to hold */
	struct drill_warroom *warroom; /* o->war_room, NULL without */
	int64_t last_publish;
	bool wr_dirty;
	struct wr_event *wr_events;   /* ring of WR_EVENTS */
	size_t wr_n, wr_head;
	struct wr_sample *wr_samples; /* per probe, a ring of WR_SAMPLES */
	size_t *wr_sample_head, *wr_sample_n;
	int64_t crit_since;
	int64_t watch_end;            /* when the watch ended; 0 while it runs */
	const struct drill_iteration *cur_it; /* the iteration in progress, or last_it */
	struct step_runner *last_steps;       /* the last iteration's runbook, ended */
	struct drill_iteration last_it;
};

static inline bool drill_stop_requested(const struct drill *d)
{
	return (d->o->stop && *d->o->stop) || d->abort_requested;
}

/* Why the drill is stopping: who aborted it and why, or a signal. */
static inline const char *drill_stop_text(const struct drill *d)
{
	return d->abort_requested ? d->abort_why : "interrupted by a signal";
}

/* ---- drill_timeline.c ------------------------------------------------------ */

/* Tells the progress callback; event is NULL for the periodic refresh. */
void drill_tell(struct drill *d, const char *event);
/* Tells every event line still waiting for its turn, and frees the queue. */
void drill_tell_flush(struct drill *d);
/* Appends one event to the timeline (committed at once) and tells the
 * progress callback; mono is when it happened. drill_event_at() uses the
 * iteration in progress, drill_event() also the current time. */
void drill_event_in(struct drill *d, int64_t iteration_id, int64_t mono, const char *kind,
		    const char *subject, const char *detail);
void drill_event_at(struct drill *d, int64_t mono, const char *kind, const char *subject,
		    const char *detail);
void drill_event(struct drill *d, const char *kind, const char *subject, const char *detail);
void drill_set_phase(struct drill *d, enum drill_phase p);
void drill_flush_samples(struct drill *d);
/* The scorer's sample callback (user = the drill). */
void drill_on_sample(void *user, const struct scorer_sample *smp);
void drill_record_lap(struct drill *d, const struct store_lap *lap);
/* Queues the webhooks for one event; it is NULL for drill-level events. */
void drill_notify(struct drill *d, enum notify_event e, const struct drill_iteration *it);
/* The same for an event of the iteration in progress that detail says all of
 * (detected, manual-step, step-failed, aborted, reverted, revert-failed). */
void drill_notify_text(struct drill *d, enum notify_event e, const char *detail);
void drill_notify_drain(struct drill *d);
/* Tells the queued event lines that are final (all: every one). */
void drill_tell_release(struct drill *d, bool all);

/* ---- drill_snapshot.c: the war room's view ---------------------------------- */

#define WR_EVENTS 200
#define WR_SAMPLES 120

int drill_snapshot_init(struct drill *d); /* no-op without a war room */
void drill_snapshot_free(struct drill *d); /* publishes the final state, detaches */
void drill_snapshot_event(struct drill *d, int64_t real_ns, const char *kind, const char *subject,
			  const char *detail);
void drill_snapshot_sample(struct drill *d, size_t probe, int64_t sent_ns, bool ok,
			   int64_t latency_ns);
/* Publishes the state now (force) or when due. */
void drill_snapshot_publish(struct drill *d, bool force);

/* ---- drill_slice.c --------------------------------------------------------- */

/* One slice of probing (up to until) plus the housekeeping between slices. */
int drill_poll_slice(struct drill *d, int64_t until, struct fd_error *err);
/* Applies what someone did (drill_act); *ok and reply say how it went. */
void drill_act_apply(struct drill *d, const struct drill_act *a, bool *ok, char *reply, size_t len);
/* "by alice (incident-commander)": who, under their role in the drill. */
char *drill_who_text(const struct drill *d, const char *who, char *buf, size_t len);

/* ---- drill_flows.c --------------------------------------------------------- */

int drill_flows_begin(struct drill *d);           /* right after apply */
/* The injector's flow as the drill keeps it (no first-seen times). */
struct injector_flow;
void drill_flow_from(const struct injector_flow *f, struct drill_flow *out);
void drill_flows_poll(struct drill *d, int64_t now); /* between slices */
void drill_flows_record(struct drill *d);         /* at revert */

/* ---- drill_fleet.c --------------------------------------------------------- */

/* *local: the scenario the local injector gets (d->s, or its local share). */
int drill_fleet_local(struct drill *d, const struct scenario **local, struct fd_error *err);
/* Every host prepares (after the local prepare, before the drill row). */
int drill_fleet_prepare(struct drill *d, struct fd_error *err);
void drill_fleet_notes(struct drill *d);
int drill_fleet_apply_begin(struct drill *d, struct fd_error *err);
/* Waits for every host; *t0 = the last confirmation (local_ns included). */
int drill_fleet_apply_end(struct drill *d, int64_t local_ns, int64_t *t0, struct fd_error *err);
void drill_fleet_tick(struct drill *d, int64_t now);
int drill_fleet_revert(struct drill *d, struct fd_error *err);
void drill_fleet_close(struct drill *d);

/* ---- drill_phases.c -------------------------------------------------------- */

/* 1 when the steady state holds, 0 when not (why filled), negative on error. */
int drill_probe_until_steady(struct drill *d, char *why, size_t len, struct fd_error *err);
int drill_canary_lead_in(struct drill *d, struct fd_error *err);
int drill_apply_faults(struct drill *d, struct drill_iteration *it, struct fd_error *err);
int drill_watch(struct drill *d, struct drill_iteration *it, struct fd_error *err);
void drill_readback(struct drill *d, struct drill_iteration *it);
int drill_revert_faults(struct drill *d, struct fd_error *err);
int drill_failback(struct drill *d, struct drill_iteration *it, struct fd_error *err);
void drill_cool_down(struct drill *d);

#endif

/*
 * The runner's own state, shared by the files that make up drill_run():
 *
 *   drill.c           setup, the iterations, teardown (the order of a drill)
 *   drill_phases.c    one function per phase of an iteration
 *   drill_timeline.c  events, samples, laps, webhooks, and the slice loop
 *   drill_flows.c     blackholed flows read from the injector's log
 *
 * Nothing here is used outside drill/.
 */
#ifndef FD_DRILL_RUNNER_H
#define FD_DRILL_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drill.h"
#include "drill_internal.h"
#include "fd_time.h"
#include "injector.h"
#include "scorer.h"

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

struct drill {
	const struct scenario *s;
	const struct drill_opts *o;
	struct drill_result *res;
	struct store *st;
	struct injector *inj;
	struct lap_server *laps;
	int lock_fd;
	int home_ns;
	unsigned iterations;
	int64_t drill_id;
	const char *environment;
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
};

static inline bool drill_stop_requested(const struct drill *d)
{
	return d->o->stop && *d->o->stop;
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
void drill_notify(struct drill *d, enum notify_event e, const struct store_iteration *it);
void drill_notify_drain(struct drill *d);
/* One slice of probing (up to until) plus the housekeeping between slices. */
int drill_poll_slice(struct drill *d, int64_t until, struct fd_error *err);

/* ---- drill_flows.c --------------------------------------------------------- */

int drill_flows_begin(struct drill *d);           /* right after apply */
void drill_flows_poll(struct drill *d, int64_t now); /* between slices */
void drill_flows_record(struct drill *d);         /* at revert */

/* ---- drill_phases.c -------------------------------------------------------- */

/* 1 when the steady state holds, 0 when not (why filled), negative on error. */
int drill_probe_until_steady(struct drill *d, char *why, size_t len, struct fd_error *err);
int drill_canary_lead_in(struct drill *d, struct fd_error *err);
int drill_apply_faults(struct drill *d, struct store_iteration *it, struct fd_error *err);
int drill_watch(struct drill *d, struct store_iteration *it, struct fd_error *err);
void drill_readback(struct drill *d, struct store_iteration *it);
int drill_revert_faults(struct drill *d, struct fd_error *err);
int drill_failback(struct drill *d, struct store_iteration *it, struct fd_error *err);
void drill_cool_down(struct drill *d);

#endif

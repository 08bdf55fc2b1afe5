/*
 * scorer: how to watch. Probes on one event loop, the stopwatch, recovery
 * criteria, RTO and RPO. Nothing here breaks anything; nothing here writes
 * the store (samples go to a callback the drill owns).
 *
 * The drill drives time: it calls scorer_poll() with a deadline, repeatedly;
 * probes fire on a fixed schedule (next send = previous scheduled send +
 * interval: no drift) and are open-loop (a slow answer never delays the next
 * send). Every sample is stamped at send on CLOCK_MONOTONIC.
 */
#ifndef FD_SCORER_H
#define FD_SCORER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd_error.h"
#include "scenario.h"

struct scorer;

struct scorer_sample {
	size_t probe;          /* index into scenario->probes */
	int64_t sent_mono_ns;  /* at send; a pcap event carries the packet's own time */
	bool ok;
	int64_t latency_ns;
	char detail[256];      /* why it failed: "connect: Connection refused", "status 503", ... */
};

typedef void (*scorer_sample_fn)(void *user, const struct scorer_sample *s);

/*
 * Every environment variable the scenario's requests read (headers-env) is
 * set and usable, else FD_ERR_INPUT naming the request, header and variable.
 * scorer_new checks it too; a drill calls it first, before opening anything.
 */
int scorer_check_env(const struct scenario *s, struct fd_error *err);

/* Builds every probe of the scenario (curl multi, sockets, pcap handles). */
int scorer_new(const struct scenario *s, scorer_sample_fn on_sample, void *user,
	       struct scorer **out, struct fd_error *err);

/*
 * Where each probe and RPO action runs (docs/scorer.md, "Probe places"): a
 * network namespace, as a name under /run/netns or a namespace file
 * (/proc/N/ns/net), or NULL: the namespace of the thread that runs the
 * scorer. Each file is opened once, at scorer_new_in; one that cannot be
 * opened makes every request of that probe or action fail with the reason
 * ("netns /proc/123/ns/net: No such file or directory"), not the scorer.
 * Entering a namespace needs CAP_SYS_ADMIN in the thread's permitted set;
 * it is made effective only around each entry.
 */
struct scorer_places {
	const char *const *probe;  /* s->n_probes entries, or NULL: every probe here */
	const char *canary_write;
	const char *canary_read;
	const char *query;
};

/* scorer_new, with each probe and action in its place (where NULL: all here). */
int scorer_new_in(const struct scenario *s, const struct scorer_places *where,
		  scorer_sample_fn on_sample, void *user, struct scorer **out,
		  struct fd_error *err);
void scorer_free(struct scorer *sc);

/*
 * Starts (or restarts) probing. The first send of the first probe happens
 * at now; the other probes' first sends are spread over their first
 * interval so that they never all fall due at the same instant.
 */
int scorer_start(struct scorer *sc, struct fd_error *err);
void scorer_stop(struct scorer *sc);

/* Runs the loop until deadline (CLOCK_MONOTONIC ns); returns early never. */
int scorer_poll(struct scorer *sc, int64_t deadline_mono_ns, struct fd_error *err);

/*
 * Samples of one probe reach on_sample in send order: an answer that
 * completes before the answer to an earlier send of the same probe is held
 * until that one has come (at most the probe's timeout). Log and pcap
 * events are delivered as they are read.
 */
/* Latest known state of a probe (false before its first sample): the
 * newest sample by send time, never an older one that answered late. */
bool scorer_probe_ok(const struct scorer *sc, size_t probe);

/* ---- outage resolution (recovery.resolution) ----------------------------- */

/*
 * From t0_mono_ns on, the scorer follows the recovery criterion itself,
 * after every sample: each criterion probe is healthy as of its newest
 * sample by send time sent at or after t0 (none yet: not healthy, as in
 * recovery_watch). While the criterion does not hold, its probes send every
 * recovery.resolution on a grid anchored where their own grid is; once it
 * holds again they return to their interval at the next point of their
 * own grid. Before start and after stop every probe keeps its interval.
 * Nothing happens without recovery.resolution. A probe at the resolution
 * has at most SCENARIO_RESOLUTION_MAX_INFLIGHT * 5/4 requests in flight; a
 * grid point due beyond that is not sent (counted in capped), which widens
 * the send gap and so the bound (docs/scorer.md).
 */
/* After scorer_start (which ends any earlier one). */
void scorer_resolution_start(struct scorer *sc, int64_t t0_mono_ns);
void scorer_resolution_stop(struct scorer *sc);

struct scorer_resolution_stats {
	bool fine;            /* the resolution is in force now */
	int64_t fine_sends;   /* sends at the resolution since scorer_start */
	int64_t capped;       /* grid points at the resolution not sent: cap in flight */
	int64_t max_inflight; /* most requests of one probe in flight while at the resolution */
	int64_t switches;     /* changes to and from the resolution */
};
void scorer_resolution_stats(const struct scorer *sc, struct scorer_resolution_stats *out);

/* ---- recovery criterion (pure arithmetic over samples) ------------------ */

struct recovery_watch;

/* c: the criterion; n_probes: scenario->n_probes; t0: T0 on CLOCK_MONOTONIC. */
struct recovery_watch *scorer_watch_new(const struct scenario_criterion *c,
					  const struct scenario *s, int64_t t0_mono_ns);
void scorer_watch_free(struct recovery_watch *w);
/*
 * Samples of any probe, in any order. Those sent and answered before T0
 * count only for the state each probe was in at T0 (time to detect); the
 * newest by send time wins. A caller that saw samples before it made the watch passes the
 * newest of each probe the same way.
 */
void scorer_watch_feed(struct recovery_watch *w, const struct scorer_sample *s);

/*
 * The criterion is a step function of the samples' send times, so RTO is
 * measured from the send of the sample that made it hold. That sample saw
 * the system somewhere between its send and its answer, and the sample of
 * that probe before it (failing, or T0) saw it down somewhere after its own
 * send. So the true RTO lies in [rto - late, rto + early]:
 *   early: the healthy sample's latency (pcap: 0, the packet's own time);
 *   late:  its send minus the send of that probe's previous sample (or T0),
 *          the interval or whatever finer gap was actually sampled.
 */
struct recovery_result {
	bool recovered;           /* a window of stable_for held */
	int64_t rto_ns;           /* window start - T0; valid only when recovered */
	int64_t rto_early_ns;     /* valid when recovered: true RTO <= rto + early */
	int64_t rto_late_ns;      /* valid when recovered: true RTO >= rto - late */
	bool has_detect;
	int64_t detect_ns;        /* first failure after T0 of a probe healthy at T0 */
	char detect_why[160];     /* when !has_detect: why time to detect is unknown */
	bool has_first_success;
	int64_t first_success_ns; /* criterion first true after T0 */
	/* Recovered: max(early, late); the late side is the send gap that ended
	 * the last failure, so recovery.resolution narrows it. Not recovered: the
	 * longest probe interval in the criterion (pcap: 1 us), the bound an RTO
	 * would have had. */
	int64_t error_bound_ns;
};

/* True once a stable window is complete as of now_mono_ns; fills r either way. */
bool scorer_watch_done(struct recovery_watch *w, int64_t now_mono_ns,
			 struct recovery_result *r);

/* ---- RPO ----------------------------------------------------------------- */

struct rpo_result {
	bool has_rpo;
	int64_t rpo_ns;             /* span of acknowledged data lost (canary), or T0 - newest ts (query) */
	int64_t writes_sent;
	int64_t writes_acked;
	int64_t writes_acked_outage; /* acknowledged after T0 */
	int64_t lost_writes;         /* acknowledged, then missing on read-back */
	char detail[256];
	int64_t reads_mismatched;    /* of lost_writes: read back with another value than written */
};

/* Canary writes on the same loop, at the scenario's interval, from now on. */
int scorer_canary_start(struct scorer *sc, struct fd_error *err);
void scorer_canary_stop(struct scorer *sc);
/* Canary writes sent so far, acknowledged, and still waiting for an answer
 * (the war room's counters); zeros for NULL. */
void scorer_canary_counts(const struct scorer *sc, int64_t *written, int64_t *acked,
			  int64_t *in_flight);
/* Reads back every acknowledged write (blocking, bounded) and computes RPO. */
int scorer_canary_readback(struct scorer *sc, int64_t t0_mono_ns, struct rpo_result *r,
			   struct fd_error *err);
/* rpo.query: asks for the newest timestamp; RPO = T0 (wall) - that. */
int scorer_rpo_query(struct scorer *sc, int64_t t0_real_ns, struct rpo_result *r,
		     struct fd_error *err);

/* ---- additions ------------------------------------------------------------ */

/* Scheduling lateness (actual send - scheduled send) over every probe send. */
struct scorer_lateness {
	int64_t sends;     /* sends measured */
	int64_t skipped;   /* grid points skipped because the loop stalled > 1 interval */
	int64_t p50_ns, p99_ns, max_ns;
};
void scorer_lateness_stats(const struct scorer *sc, struct scorer_lateness *out);

/* Matching packets seen by a pcap probe since scorer_start (0 for other kinds). */
int64_t scorer_probe_count(const struct scorer *sc, size_t probe);

/*
 * A pcap probe counts its matching packets whose capture time lies in
 * [from_ns, to_ns) (CLOCK_MONOTONIC; to_ns INT64_MAX while open). Opening a
 * window at a new from_ns resets the count; moving only to_ns keeps it. A
 * drill counts an evidence probe's packets from T0 to revert with it.
 */
void scorer_probe_window(struct scorer *sc, size_t probe, int64_t from_ns, int64_t to_ns);
int64_t scorer_probe_window_count(const struct scorer *sc, size_t probe);

/*
 * The send time of the oldest sample not yet delivered to on_sample (in
 * flight or held for order), INT64_MAX when none. A sample still to come
 * is sent at or after it: what is dated by send time before it is final.
 */
int64_t scorer_oldest_pending_ns(const struct scorer *sc);

/* The error bound of a probe's samples: its interval (pcap: 1 us). */
int64_t scorer_probe_error_bound(const struct scenario_probe *p);

#endif

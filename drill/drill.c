/*
 * The drill runner: one scenario, N iterations, every one recorded.
 *
 * Time is driven from here: the scorer runs its probe loop only inside
 * scorer_poll(), which the drill calls in short slices (SLICE_NS). Between
 * slices the drill flushes samples to the store, checks stop conditions and
 * signals, advances the runbook and answers lap requests. Samples reach the
 * drill through on_sample() while the scorer polls; that is where probe
 * state changes become timeline events and where the recovery watch is fed.
 *
 * Invariants:
 *  - nothing is applied before the steady state held and the faults were
 *    prepared; whatever was applied is reverted before drill_run() returns,
 *    whatever ended the iteration (recovery, timeout, stop-if, signal,
 *    error);
 *  - an iteration that never recovered has no RTO (has_rto false);
 *  - T0 is taken right after injector_apply() confirmed the faults.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drill.h"
#include "drill_internal.h"
#include "fd_config.h"
#include "fd_netns.h"
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
	struct recovery_watch *watch; /* fed with samples sent at or after watch_from */
	int64_t watch_from;
	bool has_t0;
	int64_t t0;
	bool applied;
	struct step_runner *steps;
	struct probe_track *tracks;
	bool *seen, *ok; /* the tracks, flattened for the progress callback */
	struct store_sample batch[SAMPLE_BATCH];
	size_t n_batch;
	struct flow_seen *flow_seen;
	size_t n_flow_seen;
	struct drill_flow *flows; /* the iteration's blackholed flows, made at revert */
	size_t n_flows;
	enum drill_phase phase;
	int64_t phase_start;
	int64_t last_refresh;
	/* the first store error met inside a callback; ends the iteration */
	int fatal_rc;
	struct fd_error fatal_err;
};

void drill_opts_init(struct drill_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lap_tty_fd = -1;
}

static bool stop_requested(const struct drill *d)
{
	return d->o->stop && *d->o->stop;
}

/* ---- progress and timeline ----------------------------------------------- */

static void report(struct drill *d, const char *event)
{
	struct drill_progress p = { 0 };
	int64_t now = fd_mono_ns();
	size_t idx;

	if (!d->o->progress)
		return;
	for (size_t i = 0; i < d->s->n_probes && d->tracks; i++) {
		d->seen[i] = d->tracks[i].seen;
		d->ok[i] = d->tracks[i].ok;
	}
	p.scenario = d->s;
	p.iteration = d->number;
	p.iterations = d->iterations;
	p.phase = d->phase;
	p.phase_elapsed_ns = now - d->phase_start;
	p.has_t0 = d->has_t0;
	p.since_t0_ns = d->has_t0 ? now - d->t0 : 0;
	p.probe_seen = d->seen;
	p.probe_ok = d->ok;
	const struct scenario_step *st = step_runner_current(d->steps, &idx);
	if (st) {
		p.step = st->name;
		p.step_manual = st->manual;
	}
	p.event = event;
	d->last_refresh = now;
	d->o->progress(d->o->progress_user, &p);
}

static void fatal(struct drill *d, int rc, const struct fd_error *e)
{
	if (d->fatal_rc == 0) {
		d->fatal_rc = rc;
		d->fatal_err = *e;
	}
}

/* Appends one event to the timeline (committed at once) and tells the
 * progress callback. mono is when it happened on CLOCK_MONOTONIC. */
static void event_in(struct drill *d, int64_t iteration_id, int64_t mono, const char *kind,
		     const char *subject, const char *detail)
{
	struct store_event ev = { 0 };
	struct fd_error e;
	char line[1200];
	int rc;

	if (d->drill_id) {
		ev.drill_id = d->drill_id;
		ev.iteration_id = iteration_id;
		ev.mono_ns = mono;
		ev.real_ns = fd_real_ns() - (fd_mono_ns() - mono);
		drill_textf(ev.kind, sizeof(ev.kind), "%s", kind);
		drill_textf(ev.subject, sizeof(ev.subject), "%s", subject ? subject : "");
		drill_textf(ev.detail, sizeof(ev.detail), "%s", detail ? detail : "");
		fd_error_clear(&e);
		rc = store_add_event(d->st, &ev, &e);
		if (rc < 0)
			fatal(d, rc, &e);
	}
	drill_textf(line, sizeof(line), "%s%s%s%s%s", kind, subject && *subject ? " " : "",
		 subject ? subject : "", detail && *detail ? ": " : "", detail ? detail : "");
	report(d, line);
}

static void event_at(struct drill *d, int64_t mono, const char *kind, const char *subject,
		     const char *detail)
{
	event_in(d, d->iteration_id, mono, kind, subject, detail);
}

static void event(struct drill *d, const char *kind, const char *subject, const char *detail)
{
	event_at(d, fd_mono_ns(), kind, subject, detail);
}

static void set_phase(struct drill *d, enum drill_phase p)
{
	d->phase = p;
	d->phase_start = fd_mono_ns();
	event_at(d, d->phase_start, "phase", drill_phase_name(p), NULL);
}

static void flush_samples(struct drill *d)
{
	struct fd_error e;
	int rc;

	if (d->n_batch == 0)
		return;
	if (d->drill_id) {
		fd_error_clear(&e);
		rc = store_add_samples(d->st, d->batch, d->n_batch, &e);
		if (rc < 0)
			fatal(d, rc, &e);
	}
	d->n_batch = 0;
}

static void on_sample(void *user, const struct scorer_sample *smp)
{
	struct drill *d = user;
	const struct scenario_probe *p;
	struct store_sample *out;
	int change;

	if (smp->probe >= d->s->n_probes)
		return;
	p = &d->s->probes[smp->probe];
	if (d->n_batch == SAMPLE_BATCH)
		flush_samples(d);
	out = &d->batch[d->n_batch++];
	memset(out, 0, sizeof(*out));
	out->iteration_id = d->iteration_id;
	drill_textf(out->probe, sizeof(out->probe), "%s", p->id);
	out->mono_ns = smp->sent_mono_ns;
	out->ok = smp->ok;
	out->latency_ns = smp->latency_ns;
	drill_textf(out->detail, sizeof(out->detail), "%s", smp->detail);

	change = drill_track_sample(&d->tracks[smp->probe], smp->ok, smp->sent_mono_ns);
	if (change)
		event_at(d, smp->sent_mono_ns, change > 0 ? "probe-up" : "probe-down", p->id,
			 smp->detail);
	if (d->watch && smp->sent_mono_ns >= d->watch_from)
		recovery_watch_feed(d->watch, smp);
}

/* ---- laps ------------------------------------------------------------------ */

static void record_lap(struct drill *d, const struct store_lap *lap)
{
	struct store_lap l = *lap;
	struct fd_error e;
	char detail[700], dur[32];
	int rc;

	l.iteration_id = d->iteration_id;
	if (d->drill_id) {
		fd_error_clear(&e);
		rc = store_add_lap(d->st, &l, &e);
		if (rc < 0)
			fatal(d, rc, &e);
	}
	drill_textf(detail, sizeof(detail), "%s in %s%s%s", l.ok ? "done" : "failed",
		 fd_duration_format(l.ended_mono_ns - l.started_mono_ns, dur, sizeof(dur)),
		 *l.detail ? ": " : "", l.detail);
	event_at(d, l.ended_mono_ns ? l.ended_mono_ns : fd_mono_ns(), "lap", l.name, detail);
}

static void mark_lap(struct drill *d, const char *note, bool *done, char *reply, size_t len)
{
	struct store_lap lap;
	char dur[32];
	long idx = -EAGAIN;

	if (d->steps && d->phase == DRILL_PHASE_WATCH)
		idx = step_runner_mark(d->steps, fd_mono_ns(), note, &lap);
	*done = idx >= 0;
	if (idx < 0) {
		drill_textf(reply, len, "no manual step is waiting (phase %s)", drill_phase_name(d->phase));
		return;
	}
	record_lap(d, &lap);
	drill_textf(reply, len, "lap %ld \"%s\" done in %s", idx + 1, lap.name,
		 fd_duration_format(lap.ended_mono_ns - lap.started_mono_ns, dur, sizeof(dur)));
}

/* Enter on the terminal and `firedrill lap` requests. */
static void serve_laps(struct drill *d)
{
	char note[512], reply[512], line[256];
	struct pollfd pfd;
	bool done;
	ssize_t n;

	while (d->laps && lap_server_poll(d->laps, note, sizeof(note)) == 1) {
		mark_lap(d, note, &done, reply, sizeof(reply));
		lap_server_reply(d->laps, done, reply);
	}
	if (d->o->lap_tty_fd < 0)
		return;
	pfd = (struct pollfd){ .fd = d->o->lap_tty_fd, .events = POLLIN };
	while (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
		n = read(d->o->lap_tty_fd, line, sizeof(line));
		if (n <= 0)
			break;
		if (memchr(line, '\n', (size_t)n))
			mark_lap(d, "Enter on the terminal", &done, reply, sizeof(reply));
	}
}

static void advance_steps(struct drill *d, int64_t now)
{
	struct store_lap lap;

	if (!d->steps)
		return;
	while (step_runner_tick(d->steps, now, &lap) >= 0)
		record_lap(d, &lap);
}

/* ---- webhooks ------------------------------------------------------------- */

/* Queues the webhooks for one event; it is NULL for drill-level events. */
static void notify(struct drill *d, enum notify_event e, const struct store_iteration *it)
{
	struct notify_msg m = { 0 };

	if (!d->notify)
		return;
	m.event = e;
	m.scenario = d->s->name;
	m.environment = d->environment;
	m.drill_id = d->drill_id;
	m.iterations = d->iterations;
	m.objectives_met = -1;
	if (it) {
		m.iteration = (unsigned)it->number;
		m.outcome = it->outcome == OUTCOME_RUNNING ? NULL : store_outcome_name(it->outcome);
		m.has_rto = it->has_rto;
		m.rto_ms = it->rto_ms;
		m.error_bound_ms = it->error_bound_ms;
		m.has_rpo = it->has_rpo;
		m.rpo_ms = it->rpo_ms;
		m.lost_writes = it->lost_writes;
		if (e == NOTIFY_OBJECTIVES_MISSED)
			m.objectives_met = it->objectives_met;
		m.detail = it->detail;
	} else if (e == NOTIFY_END) {
		m.outcome = store_outcome_name(d->res->outcome);
		m.objectives_met = d->res->objectives_met;
		m.detail = d->res->detail;
	}
	notifier_send(d->notify, &m, it ? it->id : 0);
}

/* The webhooks' outcomes, into the timeline (only this thread writes the store). */
static void notify_drain(struct drill *d)
{
	struct notify_report r;

	if (*d->notify_error && d->drill_id) {
		event(d, "notify", "setup", d->notify_error);
		*d->notify_error = '\0';
	}
	while (notifier_next_report(d->notify, &r))
		event_in(d, r.iteration_id, r.mono_ns, "notify", r.subject, r.text);
}

/* ---- blackholed flows ------------------------------------------------------ */

/*
 * The injector keeps one list of flows for the whole drill; an iteration
 * counts only the packets dropped after its own injection. Called right
 * after apply, before any read: flows still unread then are this
 * iteration's, and the previous revert drained the rest.
 */
static int flows_begin(struct drill *d)
{
	const struct injector_flow *f;
	size_t n = injector_blackholed_flows(d->inj, &f);

	free(d->flow_seen);
	d->flow_seen = calloc(n + 1, sizeof(*d->flow_seen));
	d->n_flow_seen = d->flow_seen ? n : 0;
	if (!d->flow_seen)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		d->flow_seen[i].base = f[i].packets;
	return 0;
}

static void flow_copy(struct drill_flow *out, const struct injector_flow *f,
		      const struct flow_seen *fs, int64_t t0)
{
	memset(out, 0, sizeof(*out));
	out->family = f->family;
	memcpy(out->src, f->src, sizeof(out->src));
	memcpy(out->dst, f->dst, sizeof(out->dst));
	out->protocol = f->protocol;
	out->dport = f->dport;
	out->packets = f->packets - fs->base;
	out->first_seen_mono_ns = fs->first_mono;
	out->since_t0_ns = fs->first_mono - t0;
	drill_textf(out->fault_id, sizeof(out->fault_id), "%s", f->fault_id);
}

/* Reads the flow log between slices (never inside the scorer's loop) and
 * tells the operator about each new flow at once. */
static void flows_poll(struct drill *d, int64_t now)
{
	const struct injector_flow *f;
	struct flow_seen *grown;
	struct drill_flow df;
	char line[200], text[160];
	size_t n;

	if (!d->inj || !d->flow_seen)
		return;
	injector_read_flows(d->inj);
	n = injector_blackholed_flows(d->inj, &f);
	if (n > d->n_flow_seen) {
		grown = realloc(d->flow_seen, n * sizeof(*grown));
		if (!grown)
			return; /* seen on a later slice */
		memset(grown + d->n_flow_seen, 0, (n - d->n_flow_seen) * sizeof(*grown));
		d->flow_seen = grown;
		d->n_flow_seen = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct flow_seen *fs = &d->flow_seen[i];

		if (fs->seen || f[i].packets <= fs->base)
			continue;
		fs->seen = true;
		fs->first_mono = now;
		flow_copy(&df, &f[i], fs, d->t0);
		drill_textf(line, sizeof(line), "blackholed flow %s (fault %s)",
			    drill_flow_format(&df, text, sizeof(text)), df.fault_id);
		report(d, line);
	}
}

/*
 * At revert: one "blackholed-flow" event per distinct flow of this
 * iteration, stamped when it was first seen, with the packets dropped; the
 * list is kept for the result.
 */
static void flows_record(struct drill *d)
{
	const struct injector_flow *f;
	char subject[160], detail[256], dur[32];
	size_t n;

	flows_poll(d, fd_mono_ns());
	n = injector_blackholed_flows(d->inj, &f);
	if (!d->flow_seen || n == 0)
		return;
	free(d->flows);
	d->n_flows = 0;
	d->flows = calloc(n, sizeof(*d->flows));
	if (!d->flows)
		return;
	for (size_t i = 0; i < n && i < d->n_flow_seen; i++) {
		struct drill_flow *df = &d->flows[d->n_flows];

		if (!d->flow_seen[i].seen)
			continue;
		flow_copy(df, &f[i], &d->flow_seen[i], d->t0);
		d->n_flows++;
		drill_textf(detail, sizeof(detail), "%llu packet%s dropped by fault %s, first seen at T0+%s",
			    (unsigned long long)df->packets, df->packets == 1 ? "" : "s", df->fault_id,
			    fd_duration_format(df->since_t0_ns, dur, sizeof(dur)));
		event_at(d, df->first_seen_mono_ns, "blackholed-flow",
			 drill_flow_format(df, subject, sizeof(subject)), detail);
	}
	free(d->flow_seen);
	d->flow_seen = NULL;
	d->n_flow_seen = 0;
}

/* ---- polling --------------------------------------------------------------- */

/* One slice of probing plus the housekeeping between slices. */
static int poll_slice(struct drill *d, int64_t until, struct fd_error *err)
{
	int64_t now = fd_mono_ns(), end = now + SLICE_NS;
	int rc = 0;

	if (end > until)
		end = until;
	if (d->sc) {
		rc = scorer_poll(d->sc, end, err);
	} else if (end > now) {
		struct timespec ts = { .tv_sec = (end - now) / FD_NS_PER_S,
				       .tv_nsec = (end - now) % FD_NS_PER_S };
		nanosleep(&ts, NULL);
	}
	flush_samples(d);
	now = fd_mono_ns();
	if (d->applied)
		flows_poll(d, now);
	advance_steps(d, now);
	serve_laps(d);
	notify_drain(d);
	if (now - d->last_refresh >= REFRESH_NS)
		report(d, NULL);
	if (rc < 0)
		return rc;
	if (d->fatal_rc < 0) {
		*err = d->fatal_err;
		return d->fatal_rc;
	}
	return 0;
}

/* ---- one iteration --------------------------------------------------------- */

static void reset_tracks(struct drill *d)
{
	memset(d->tracks, 0, d->s->n_probes * sizeof(*d->tracks));
}

static const char *first_unhealthy(const struct drill *d, char *buf, size_t len)
{
	for (size_t i = 0; i < d->s->n_steady_state; i++) {
		size_t p = d->s->steady_state[i];

		if (!d->tracks[p].ok) {
			drill_textf(buf, len, "probe %s %s", d->s->probes[p].id,
				 d->tracks[p].seen ? "failing" : "never answered");
			return buf;
		}
	}
	drill_textf(buf, len, "?");
	return buf;
}

/* Returns 1 when healthy, 0 when not (why filled), negative on error. */
static int steady_state(struct drill *d, char *why, size_t len, struct fd_error *err)
{
	int64_t window = d->o->steady_window_ns ? d->o->steady_window_ns : drill_steady_window_ns(d->s);
	int64_t until = fd_mono_ns() + window;
	char who[160];
	int rc;

	set_phase(d, DRILL_PHASE_STEADY_STATE);
	while (!drill_steady_ok(d->s, d->tracks)) {
		if (stop_requested(d)) {
			drill_textf(why, len, "interrupted before injection");
			return 0;
		}
		if (fd_mono_ns() >= until) {
			drill_textf(why, len, "system not healthy before the drill: %s",
				 first_unhealthy(d, who, sizeof(who)));
			return 0;
		}
		rc = poll_slice(d, until, err);
		if (rc < 0)
			return rc;
	}
	return 1;
}

/* Starts the iteration's probes and waits for the steady state (as steady_state()). */
static int probe_until_steady(struct drill *d, char *why, size_t len, struct fd_error *err)
{
	int rc;

	reset_tracks(d);
	rc = scorer_new(d->s, on_sample, d, &d->sc, err);
	if (rc == 0)
		rc = scorer_start(d->sc, err);
	if (rc == 0)
		rc = steady_state(d, why, len, err);
	return rc;
}

/* Canary writes before T0, so the read-back has acknowledged data from
 * before the fault to compare with. */
static int canary_lead_in(struct drill *d, struct fd_error *err)
{
	int64_t lead, until;
	int rc;

	if (!d->s->rpo.has_canary)
		return 0;
	rc = scorer_canary_start(d->sc, err);
	if (rc < 0)
		return rc;
	lead = 3 * d->s->rpo.canary.interval_ns;
	if (lead < 300 * FD_NS_PER_MS)
		lead = 300 * FD_NS_PER_MS;
	if (lead > 2 * FD_NS_PER_S)
		lead = 2 * FD_NS_PER_S;
	until = fd_mono_ns() + lead;
	while (fd_mono_ns() < until) {
		rc = poll_slice(d, until, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int apply_faults(struct drill *d, struct store_iteration *it, struct fd_error *err)
{
	int rc;

	set_phase(d, DRILL_PHASE_INJECT);
	rc = injector_apply(d->inj, err);
	if (rc < 0)
		return rc;
	d->t0 = fd_mono_ns();
	it->t0_real_ns = fd_real_ns();
	it->t0_mono_ns = d->t0;
	d->has_t0 = true;
	d->applied = true;
	if (flows_begin(d) < 0)
		event(d, "note", "blackholed flows", "out of memory: flows are not tracked");
	for (size_t i = 0; i < injector_fault_count(d->inj); i++)
		event_at(d, d->t0, "fault-applied", injector_fault_id(d->inj, i),
			 injector_fault_summary(d->inj, i));
	notify(d, NOTIFY_INJECTED, it);
	return 0;
}

static void fill_recovery(struct store_iteration *it, const struct recovery_result *r)
{
	it->has_rto = r->recovered;
	it->rto_ms = r->recovered ? (double)r->rto_ns / (double)FD_NS_PER_MS : 0;
	it->has_detect = r->has_detect;
	it->detect_ms = (double)r->detect_ns / (double)FD_NS_PER_MS;
	it->has_first_success = r->has_first_success;
	it->first_success_ms = (double)r->first_success_ns / (double)FD_NS_PER_MS;
	it->error_bound_ms = (double)r->error_bound_ns / (double)FD_NS_PER_MS;
}

/*
 * Watches from T0 until the recovery criterion holds, the timeout passes,
 * a stop-if probe trips or a signal arrives. Sets it->outcome.
 */
static int watch(struct drill *d, struct store_iteration *it, struct fd_error *err)
{
	const struct scenario *s = d->s;
	int64_t deadline = d->t0 + s->recovery.timeout_ns, now;
	struct recovery_result rr = { 0 };
	char why[256], dur[32];
	size_t which;
	int rc = 0;

	set_phase(d, DRILL_PHASE_WATCH);
	d->watch = recovery_watch_new(&s->recovery, s, d->t0);
	d->steps = step_runner_new(s->steps, s->n_steps, s->recovery.timeout_ns);
	if (!d->watch || !d->steps) {
		recovery_watch_free(d->watch); /* the steps go with the iteration */
		d->watch = NULL;
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	d->watch_from = d->t0;
	step_runner_start(d->steps, d->t0, err);
	for (;;) {
		rc = poll_slice(d, deadline, err);
		if (rc < 0)
			break;
		now = fd_mono_ns();
		if (recovery_watch_done(d->watch, now, &rr)) {
			it->outcome = OUTCOME_RECOVERED;
			break;
		}
		if (stop_requested(d)) {
			it->outcome = OUTCOME_ABORTED;
			drill_textf(it->detail, sizeof(it->detail), "interrupted by a signal");
			break;
		}
		if (drill_stop_if_tripped(s, d->tracks, now, &which)) {
			it->outcome = OUTCOME_ABORTED;
			drill_textf(it->detail, sizeof(it->detail), "stop-if-failing: probe %s failed for %s",
				 s->probes[s->stop_if[which].probe].id,
				 fd_duration_format(now - d->tracks[s->stop_if[which].probe].failing_since_ns,
						    dur, sizeof(dur)));
			break;
		}
		if (now >= deadline) {
			it->outcome = OUTCOME_NOT_RECOVERED;
			drill_textf(it->detail, sizeof(it->detail), "not recovered within %s",
				 fd_duration_format(s->recovery.timeout_ns, dur, sizeof(dur)));
			break;
		}
	}
	recovery_watch_done(d->watch, fd_mono_ns(), &rr);
	fill_recovery(it, &rr);
	if (rc < 0)
		it->outcome = OUTCOME_ERROR;
	if (!step_runner_finished(d->steps)) {
		drill_textf(why, sizeof(why), "%s before this step ended",
			 it->outcome == OUTCOME_RECOVERED ? "the system recovered"
			 : it->outcome == OUTCOME_NOT_RECOVERED ? "the recovery timeout passed"
			 : "the drill stopped");
		size_t first = 0, n;
		step_runner_current(d->steps, &first);
		step_runner_cancel(d->steps, fd_mono_ns(), why);
		const struct store_lap *laps = step_runner_laps(d->steps, &n);
		for (size_t i = first; i < n; i++)
			if (step_runner_started(d->steps, i))
				record_lap(d, &laps[i]);
	}
	if (it->outcome == OUTCOME_RECOVERED) {
		event(d, "outcome", "recovered",
		      fd_duration_format((int64_t)(it->rto_ms * (double)FD_NS_PER_MS), dur, sizeof(dur)));
		notify(d, NOTIFY_RECOVERED, it);
	} else
		event(d, "outcome", store_outcome_name(it->outcome), it->detail);
	recovery_watch_free(d->watch);
	d->watch = NULL;
	return rc;
}

/* RPO read-back after recovery. A failed read-back leaves the RPO unknown
 * (and says why) but does not end the drill. */
static void readback(struct drill *d, struct store_iteration *it)
{
	struct rpo_result r = { 0 };
	struct fd_error e;
	char detail[512], dur[32];
	int rc = 0;

	if (d->s->rpo.has_canary)
		scorer_canary_stop(d->sc);
	if (it->outcome != OUTCOME_RECOVERED || (!d->s->rpo.has_canary && !d->s->rpo.has_query))
		return;
	set_phase(d, DRILL_PHASE_READBACK);
	fd_error_clear(&e);
	if (d->s->rpo.has_canary)
		rc = scorer_canary_readback(d->sc, d->t0, &r, &e);
	else
		rc = scorer_rpo_query(d->sc, it->t0_real_ns, &r, &e);
	if (rc < 0) {
		event(d, "rpo", "read-back failed", e.msg);
		return;
	}
	it->has_rpo = r.has_rpo;
	it->rpo_ms = (double)r.rpo_ns / (double)FD_NS_PER_MS;
	it->writes_acked = r.writes_acked;
	it->writes_acked_outage = r.writes_acked_outage;
	it->lost_writes = r.lost_writes;
	drill_textf(detail, sizeof(detail), "RPO %s, %lld of %lld acknowledged writes lost%s%s",
		 r.has_rpo ? fd_duration_format(r.rpo_ns, dur, sizeof(dur)) : "unknown",
		 (long long)r.lost_writes, (long long)r.writes_acked, *r.detail ? "; " : "", r.detail);
	event(d, "rpo", "read-back", detail);
}

static int revert_faults(struct drill *d, struct fd_error *err)
{
	int rc;

	if (!d->applied)
		return 0;
	set_phase(d, DRILL_PHASE_REVERT);
	rc = injector_revert(d->inj, err); /* drains the flow log before it undoes */
	flows_record(d);
	if (rc < 0) {
		event(d, "note", "revert failed", err->msg);
		return rc;
	}
	d->applied = false;
	for (size_t i = 0; i < injector_fault_count(d->inj); i++)
		event(d, "fault-reverted", injector_fault_id(d->inj, i), NULL);
	return 0;
}

/* After revert: time until the failback criterion holds (the primary serves again). */
static int failback(struct drill *d, struct store_iteration *it, struct fd_error *err)
{
	const struct scenario *s = d->s;
	struct recovery_result rr = { 0 };
	int64_t from, deadline;
	char dur[32];
	int rc = 0;

	if (!s->has_failback || it->outcome != OUTCOME_RECOVERED)
		return 0;
	set_phase(d, DRILL_PHASE_FAILBACK);
	from = fd_mono_ns();
	deadline = from + s->failback.timeout_ns;
	d->watch = recovery_watch_new(&s->failback, s, from);
	if (!d->watch)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	d->watch_from = from;
	while (!recovery_watch_done(d->watch, fd_mono_ns(), &rr) && fd_mono_ns() < deadline &&
	       !stop_requested(d)) {
		rc = poll_slice(d, deadline, err);
		if (rc < 0)
			break;
	}
	if (rr.recovered) {
		it->has_failback = true;
		it->failback_ms = (double)rr.rto_ns / (double)FD_NS_PER_MS;
		event(d, "outcome", "failed-back", fd_duration_format(rr.rto_ns, dur, sizeof(dur)));
	} else {
		event(d, "outcome", "no-failback", "the failback criterion did not hold in time");
	}
	recovery_watch_free(d->watch);
	d->watch = NULL;
	return rc;
}

static int keep_result(struct drill *d, const struct store_iteration *it)
{
	struct drill_result *res = d->res;
	struct drill_iteration_result *r, *grown;
	const struct store_lap *laps;
	size_t n = 0;

	grown = realloc(res->iterations, (res->n_iterations + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	res->iterations = grown;
	r = &grown[res->n_iterations++];
	memset(r, 0, sizeof(*r));
	r->rec = *it;
	laps = d->steps ? step_runner_laps(d->steps, &n) : NULL;
	if (n) {
		r->laps = calloc(n, sizeof(*r->laps));
		if (!r->laps)
			return -ENOMEM;
		memcpy(r->laps, laps, n * sizeof(*laps));
		for (size_t i = 0; i < n; i++)
			r->laps[i].iteration_id = it->id;
		r->n_laps = n;
	}
	r->flows = d->flows; /* the result owns them now */
	r->n_flows = d->n_flows;
	d->flows = NULL;
	d->n_flows = 0;
	return 0;
}

static void end_iteration(struct drill *d)
{
	flush_samples(d);
	if (d->sc) {
		scorer_stop(d->sc);
		scorer_free(d->sc);
		d->sc = NULL;
	}
	step_runner_free(d->steps);
	d->steps = NULL;
	d->has_t0 = false;
	free(d->flow_seen);
	d->flow_seen = NULL;
	d->n_flow_seen = 0;
	free(d->flows);
	d->flows = NULL;
	d->n_flows = 0;
}

/*
 * One iteration, recorded. Returns 0 with it->outcome set, or a negative
 * code (an error ended it; it->outcome is ERROR and the faults are reverted).
 */
static int run_iteration(struct drill *d, unsigned number, struct store_iteration *it,
			 struct fd_error *err)
{
	struct fd_error e2;
	char why[256];
	int rc, rc2;

	memset(it, 0, sizeof(*it));
	d->number = number;
	d->iteration_id = 0;
	d->fatal_rc = 0;
	it->drill_id = d->drill_id;
	it->number = (int)number;
	it->outcome = OUTCOME_RUNNING;
	rc = store_begin_iteration(d->st, it, err);
	if (rc < 0)
		return rc;
	d->iteration_id = it->id;
	rc = probe_until_steady(d, why, sizeof(why), err);
	if (rc == 0) {
		it->outcome = stop_requested(d) ? OUTCOME_ABORTED : OUTCOME_NOT_HEALTHY;
		drill_textf(it->detail, sizeof(it->detail), "%s", why);
		event(d, "outcome", store_outcome_name(it->outcome), why);
		goto record;
	}
	if (rc == 1)
		rc = canary_lead_in(d, err);
	if (rc == 0)
		rc = apply_faults(d, it, err);
	if (rc == 0)
		rc = watch(d, it, err);
	if (rc == 0 && it->outcome == OUTCOME_RECOVERED)
		readback(d, it);
	rc2 = revert_faults(d, rc < 0 ? &e2 : err);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	if (rc == 0)
		rc = failback(d, it, err);
record:
	if (rc < 0) {
		it->outcome = OUTCOME_ERROR;
		drill_textf(it->detail, sizeof(it->detail), "%s", err->msg);
	}
	flush_samples(d);
	it->objectives_met = drill_objectives_met(d->s, it, why, sizeof(why));
	if (!it->objectives_met && it->outcome == OUTCOME_RECOVERED && !*it->detail)
		drill_textf(it->detail, sizeof(it->detail), "%s", why);
	if (!it->objectives_met)
		notify(d, NOTIFY_OBJECTIVES_MISSED, it);
	fd_error_clear(&e2);
	rc2 = store_finish_iteration(d->st, it, rc < 0 ? &e2 : err);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	if (keep_result(d, it) < 0 && rc == 0)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	end_iteration(d); /* after keep_result: it copies the runbook's laps */
	return rc;
}

static void cool_down(struct drill *d)
{
	int64_t until = fd_mono_ns() + d->s->cool_down_ns;
	struct fd_error e;

	if (d->s->cool_down_ns <= 0)
		return;
	d->iteration_id = 0;
	set_phase(d, DRILL_PHASE_COOL_DOWN);
	while (fd_mono_ns() < until && !stop_requested(d))
		poll_slice(d, until, &e);
}

/* ---- the drill ------------------------------------------------------------- */

static bool has_manual_step(const struct scenario *s)
{
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].manual)
			return true;
	return false;
}

/* Store, lock, scope, injector: everything before the first iteration. */
static int setup(struct drill *d, struct fd_error *err)
{
	const struct scenario *s = d->s;
	struct injector_opts io = { 0 };
	int n_stale = 0, rc;

	d->tracks = calloc(s->n_probes + 1, sizeof(*d->tracks));
	d->seen = calloc(s->n_probes + 1, sizeof(*d->seen));
	d->ok = calloc(s->n_probes + 1, sizeof(*d->ok));
	if (!d->tracks || !d->seen || !d->ok)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	rc = store_open(d->o->db_path, &d->st, err);
	if (rc < 0)
		return rc;
	rc = store_abort_stale_drills(d->st, &n_stale, err);
	if (rc < 0)
		return rc;
	rc = drill_scope_lock(s->netns, &d->lock_fd, err);
	if (rc < 0)
		return rc;
	if (!d->o->dry_run && has_manual_step(s)) {
		rc = lap_server_open(d->o->db_path, &d->laps, err);
		if (rc < 0)
			return rc;
	}
	if (!d->o->dry_run) {
		struct fd_error ne;

		/* Before entering the scope: the sender stays in this namespace. */
		fd_error_clear(&ne);
		if (notifier_new(s, NOTIFY_TIMEOUT_NS, &d->notify, &ne) < 0)
			drill_textf(d->notify_error, sizeof(d->notify_error), "webhooks disabled: %s", ne.msg);
	}
	if (s->netns) {
		d->home_ns = fd_netns_current();
		if (d->home_ns < 0)
			return fd_error_set(err, FD_ERR_ENV, d->home_ns,
					    "cannot open the current network namespace: %s",
					    strerror(-d->home_ns));
		rc = fd_netns_enter(s->netns, err);
		if (rc < 0)
			return rc;
	}
	if (!d->o->dry_run) {
		struct store_drill dr = { 0 };
		int64_t scenario_id = 0;

		rc = store_put_scenario(d->st, s->name, s->sha256, s->text, &scenario_id, err);
		if (rc < 0)
			return rc;
		dr.scenario_id = scenario_id;
		drill_textf(dr.scenario_name, sizeof(dr.scenario_name), "%s", s->name);
		drill_textf(dr.scenario_sha256, sizeof(dr.scenario_sha256), "%s", s->sha256);
		drill_textf(dr.environment, sizeof(dr.environment), "%s", d->environment);
		drill_textf(dr.operator_name, sizeof(dr.operator_name), "%s",
			 d->o->operator_name ? d->o->operator_name : "unknown");
		if (gethostname(dr.host, sizeof(dr.host)) < 0)
			drill_textf(dr.host, sizeof(dr.host), "unknown");
		drill_textf(dr.tool_version, sizeof(dr.tool_version), "firedrill %s", FD_VERSION);
		drill_textf(dr.note, sizeof(dr.note), "%s", d->o->note ? d->o->note : "");
		dr.started_real_ns = fd_real_ns();
		dr.outcome = OUTCOME_RUNNING;
		dr.iterations_planned = (int)d->iterations;
		rc = store_begin_drill(d->st, &dr, err);
		if (rc < 0)
			return rc;
		d->drill_id = dr.id;
		d->res->drill_id = dr.id;
		set_phase(d, DRILL_PHASE_SETUP);
		notify(d, NOTIFY_START, NULL);
		notify_drain(d);
		if (n_stale > 0) {
			char note[96];

			drill_textf(note, sizeof(note), "%d earlier drill(s) left running marked aborted", n_stale);
			event(d, "note", "stale drills", note);
		}
	}
	io.store = d->st;
	io.db_path = d->o->db_path;
	io.drill_id = d->drill_id;
	io.force = d->o->force;
	io.no_guardian = d->o->no_guardian;
	rc = injector_new(s, &io, &d->inj, err);
	if (rc < 0)
		return rc;
	/* Prepared once for every iteration: an error here injects nothing. */
	rc = injector_prepare(d->inj, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; d->drill_id && i < injector_fault_count(d->inj); i++)
		event(d, "note", injector_fault_id(d->inj, i), injector_fault_summary(d->inj, i));
	return 0;
}

/* --dry-run: the steady-state check with nothing injected and nothing recorded. */
static int preflight(struct drill *d, struct fd_error *err)
{
	struct store_iteration it = { 0 };
	char why[256];
	int rc;

	d->number = 1;
	rc = probe_until_steady(d, why, sizeof(why), err);
	if (rc == 0) {
		it.outcome = OUTCOME_NOT_HEALTHY;
		drill_textf(it.detail, sizeof(it.detail), "%s", why);
	} else if (rc == 1) {
		it.outcome = OUTCOME_RECOVERED; /* healthy: the drill could start */
		drill_textf(it.detail, sizeof(it.detail), "preflight: steady state holds");
		rc = 0;
	}
	end_iteration(d);
	if (rc == 0 && keep_result(d, &it) < 0)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	d->res->outcome = it.outcome;
	drill_textf(d->res->detail, sizeof(d->res->detail), "%s", it.detail);
	return rc;
}

static void teardown(struct drill *d)
{
	struct fd_error e;

	end_iteration(d);
	if (d->applied) {
		fd_error_clear(&e);
		revert_faults(d, &e); /* best effort: the guardian covers a failure */
	}
	notifier_free(d->notify);
	injector_free(d->inj);
	lap_server_close(d->laps);
	if (d->home_ns >= 0) {
		fd_error_clear(&e);
		fd_netns_restore(d->home_ns, &e);
		close(d->home_ns);
	}
	drill_scope_unlock(d->lock_fd, d->s->netns);
	store_close(d->st);
	free(d->tracks);
	free(d->seen);
	free(d->ok);
}

static int run_iterations(struct drill *d, struct fd_error *err)
{
	struct drill_result *res = d->res;
	struct store_iteration it;
	int rc = 0;

	res->objectives_met = true;
	res->outcome = OUTCOME_RECOVERED;
	for (unsigned i = 1; i <= d->iterations; i++) {
		rc = run_iteration(d, i, &it, err);
		res->outcome = drill_outcome_worse(res->outcome, it.outcome);
		res->objectives_met = res->objectives_met && it.objectives_met;
		if (rc < 0 || it.outcome == OUTCOME_ABORTED || it.outcome == OUTCOME_NOT_HEALTHY ||
		    it.outcome == OUTCOME_ERROR) {
			drill_textf(res->detail, sizeof(res->detail), "iteration %u: %s", i, it.detail);
			break;
		}
		if (i < d->iterations)
			cool_down(d);
		if (stop_requested(d)) {
			res->outcome = OUTCOME_ABORTED;
			res->objectives_met = false;
			drill_textf(res->detail, sizeof(res->detail), "interrupted by a signal");
			break;
		}
	}
	if (res->n_iterations < d->iterations)
		res->objectives_met = false;
	return rc;
}

int drill_run(const struct scenario *s, const struct drill_opts *opts,
	      struct drill_result *res, struct fd_error *err)
{
	struct drill d = { 0 };
	struct fd_error e2;
	int rc;

	memset(res, 0, sizeof(*res));
	res->outcome = OUTCOME_ERROR;
	d.s = s;
	d.o = opts;
	d.res = res;
	d.lock_fd = -1;
	d.home_ns = -1;
	d.iterations = opts->iterations ? opts->iterations : (s->iterations ? s->iterations : 1);
	d.phase_start = fd_mono_ns();
	d.environment = opts->environment ? opts->environment
			: s->environment ? s->environment : "default";
	if (!opts->db_path)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "drill_run: no store path");

	rc = setup(&d, err);
	if (rc == 0 && opts->dry_run)
		rc = preflight(&d, err);
	else if (rc == 0)
		rc = run_iterations(&d, err);
	if (rc < 0) {
		res->outcome = OUTCOME_ERROR;
		res->objectives_met = false;
		drill_textf(res->detail, sizeof(res->detail), "%s", err->msg);
	}
	if (d.drill_id) {
		d.iteration_id = 0;
		set_phase(&d, DRILL_PHASE_DONE);
		notify(&d, NOTIFY_END, NULL);
		notifier_finish(d.notify, NOTIFY_GRACE_NS);
		notify_drain(&d);
		fd_error_clear(&e2);
		if (store_finish_drill(d.st, d.drill_id, res->outcome, res->objectives_met,
				       fd_real_ns(), rc < 0 ? &e2 : err) < 0 && rc == 0)
			rc = -EIO;
	}
	teardown(&d);
	return rc;
}

void drill_result_free(struct drill_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->n_iterations; i++) {
		free(res->iterations[i].laps);
		free(res->iterations[i].flows);
	}
	free(res->iterations);
	res->iterations = NULL;
	res->n_iterations = 0;
}

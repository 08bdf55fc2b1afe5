/*
 * The drill's timeline: every event goes to the store as it happens (and to
 * the progress callback), samples in batches, laps as they end, webhook
 * outcomes as they come back. Samples reach the drill through
 * drill_on_sample() while the scorer polls (drill_slice.c): that is where
 * probe state changes become events and the recovery watch is fed.
 *
 * Only this thread writes the store; a store error met inside a callback
 * is kept (fatal_rc) and ends the iteration at the next slice.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drill_internal.h"
#include "injector.h"
#include "scorer.h"

/* ---- progress and timeline ----------------------------------------------- */

static void tell_at(struct drill *d, const char *event, int64_t real_ns)
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
	p.event_real_ns = real_ns;
	d->last_refresh = now;
	d->o->progress(d->o->progress_user, &p);
}

void drill_tell(struct drill *d, const char *event)
{
	tell_at(d, event, event ? fd_real_ns() : 0);
}

/*
 * Event lines wait here until nothing dated before them can still come: a
 * probe transition is dated by its sample's send, known only once every
 * earlier send of that probe answered (scorer_oldest_pending_ns); a webhook
 * report is dated when the notifier thread queues it, so the reports taken
 * in after reading the clock cover everything dated before that reading.
 * Every other event is dated when it is recorded.
 */

struct told_line {
	int64_t mono_ns, real_ns;
	char text[1200];
};

void drill_tell_release(struct drill *d, bool all)
{
	int64_t horizon = fd_mono_ns(), pending;
	size_t n = 0;

	if (!d->draining)
		drill_notify_drain(d);
	pending = scorer_oldest_pending_ns(d->sc);

	if (pending < horizon)
		horizon = pending;
	while (n < d->n_told && (all || d->told[n].mono_ns < horizon)) {
		tell_at(d, d->told[n].text, d->told[n].real_ns);
		n++;
	}
	if (n == 0)
		return; /* also when nothing is queued: d->told may be NULL */
	memmove(d->told, d->told + n, (d->n_told - n) * sizeof(*d->told));
	d->n_told -= n;
}

/* Queued in event-time order (stable for equal times); told when final. */
static void tell_queue(struct drill *d, int64_t mono, int64_t real, const char *text)
{
	struct told_line *grown;
	size_t pos;

	if (!d->o->progress)
		return;
	if (d->n_told == d->cap_told) {
		size_t cap = d->cap_told ? d->cap_told * 2 : 32;

		grown = realloc(d->told, cap * sizeof(*grown));
		if (!grown) {
			tell_at(d, text, real); /* out of order beats lost */
			return;
		}
		d->told = grown;
		d->cap_told = cap;
	}
	pos = d->n_told;
	while (pos > 0 && d->told[pos - 1].mono_ns > mono)
		pos--;
	memmove(d->told + pos + 1, d->told + pos, (d->n_told - pos) * sizeof(*d->told));
	d->told[pos].mono_ns = mono;
	d->told[pos].real_ns = real;
	drill_textf(d->told[pos].text, sizeof(d->told[pos].text), "%s", text);
	d->n_told++;
	drill_tell_release(d, false);
}

void drill_tell_flush(struct drill *d)
{
	drill_tell_release(d, true);
	free(d->told);
	d->told = NULL;
	d->n_told = d->cap_told = 0;
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
void drill_event_in(struct drill *d, int64_t iteration_id, int64_t mono, const char *kind,
		     const char *subject, const char *detail)
{
	struct store_event ev = { 0 };
	int64_t real = fd_real_ns() - (fd_mono_ns() - mono);
	struct fd_error e;
	char line[1200];
	int rc;

	if (d->drill_id) {
		ev.drill_id = d->drill_id;
		ev.iteration_id = iteration_id;
		ev.mono_ns = mono;
		ev.real_ns = real;
		drill_textf(ev.kind, sizeof(ev.kind), "%s", kind);
		drill_textf(ev.subject, sizeof(ev.subject), "%s", subject ? subject : "");
		drill_textf(ev.detail, sizeof(ev.detail), "%s", detail ? detail : "");
		fd_error_clear(&e);
		rc = store_add_event(d->st, &ev, &e);
		if (rc < 0)
			fatal(d, rc, &e);
	}
	drill_snapshot_event(d, real, kind, subject, detail);
	drill_textf(line, sizeof(line), "%s%s%s%s%s", kind, subject && *subject ? " " : "",
		 subject ? subject : "", detail && *detail ? ": " : "", detail ? detail : "");
	tell_queue(d, mono, real, line);
}

void drill_event_at(struct drill *d, int64_t mono, const char *kind, const char *subject,
		     const char *detail)
{
	drill_event_in(d, d->iteration_id, mono, kind, subject, detail);
}

void drill_event(struct drill *d, const char *kind, const char *subject, const char *detail)
{
	drill_event_at(d, fd_mono_ns(), kind, subject, detail);
}

void drill_set_phase(struct drill *d, enum drill_phase p)
{
	d->phase = p;
	d->phase_start = fd_mono_ns();
	drill_event_at(d, d->phase_start, "phase", drill_phase_name(p), NULL);
	drill_snapshot_publish(d, true); /* every phase reaches the war room, however short */
}

void drill_flush_samples(struct drill *d)
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

void drill_on_sample(void *user, const struct scorer_sample *smp)
{
	struct drill *d = user;
	const struct scenario_probe *p;
	struct store_sample *out;
	int change;

	if (smp->probe >= d->s->n_probes)
		return;
	p = &d->s->probes[smp->probe];
	if (d->n_batch == SAMPLE_BATCH)
		drill_flush_samples(d);
	out = &d->batch[d->n_batch++];
	memset(out, 0, sizeof(*out));
	out->iteration_id = d->iteration_id;
	drill_textf(out->probe, sizeof(out->probe), "%s", p->id);
	out->mono_ns = smp->sent_mono_ns;
	out->ok = smp->ok;
	out->latency_ns = smp->latency_ns;
	drill_textf(out->detail, sizeof(out->detail), "%s", smp->detail);

	drill_snapshot_sample(d, smp->probe, smp->sent_mono_ns, smp->ok, smp->latency_ns);
	change = drill_track_sample(&d->tracks[smp->probe], smp->ok, smp->sent_mono_ns);
	if (d->tracks[smp->probe].last_sent_ns == smp->sent_mono_ns)
		d->tracks[smp->probe].last_latency_ns = smp->latency_ns;
	if (change) {
		char detail[400], lat[32];

		/* Dated by the send; when the answer came stays in the detail (log and
		 * pcap events are their own time: nothing was sent). */
		if (p->kind == PROBE_LOG || p->kind == PROBE_PCAP)
			drill_textf(detail, sizeof(detail), "%s", smp->detail);
		else
			drill_textf(detail, sizeof(detail), "%s%s(answered after %s)", smp->detail,
				    *smp->detail ? " " : "",
				    fd_duration_format(smp->latency_ns, lat, sizeof(lat)));
		drill_event_at(d, smp->sent_mono_ns, change > 0 ? "probe-up" : "probe-down", p->id,
			       detail);
	}
	/* Detection is the first failing sample sent after T0, as the scorer
	 * counts it: a probe that went down during the inject, before T0, has
	 * no state change after T0 and is detected all the same. */
	if (!smp->ok && d->has_t0 && d->phase == DRILL_PHASE_WATCH && !d->detected_told &&
	    smp->sent_mono_ns >= d->t0 && !scenario_probe_is_evidence(p)) {
		char text[600], at[32];

		d->detected_told = true;
		drill_textf(text, sizeof(text), "probe %s down at T0+%s: %s", p->id,
			    fd_duration_format(smp->sent_mono_ns - d->t0, at, sizeof(at)), smp->detail);
		drill_notify_text(d, NOTIFY_DETECTED, text);
	}
	/* Earlier samples too: the state each probe was in at T0 decides who can detect. */
	if (d->watch)
		scorer_watch_feed(d->watch, smp);
	/* This sample may have been what held the lines back (also inside read-back). */
	if (d->n_told)
		drill_tell_release(d, false);
}

/* ---- laps ------------------------------------------------------------------ */

void drill_record_lap(struct drill *d, const struct store_lap *lap)
{
	struct store_lap l = *lap;
	struct fd_error e;
	char detail[700], dur[32];
	enum step_state st = step_runner_state(d->steps, (size_t)lap->step);
	const char *word = l.ok ? "done" : st == STEP_SKIPPED ? "skipped" : "failed";
	const char *said = l.detail;
	int rc;

	l.iteration_id = d->iteration_id;
	if (d->drill_id) {
		fd_error_clear(&e);
		rc = store_add_lap(d->st, &l, &e);
		if (rc < 0)
			fatal(d, rc, &e);
	}
	if (st == STEP_SKIPPED && strncmp(said, "skipped: ", 9) == 0)
		said += 9; /* the event's first word says it */
	drill_textf(detail, sizeof(detail), "%s in %s%s%s", word,
		 fd_duration_format(l.ended_mono_ns - l.started_mono_ns, dur, sizeof(dur)),
		 *said ? ": " : "", said);
	drill_event_at(d, l.ended_mono_ns ? l.ended_mono_ns : fd_mono_ns(), "lap", l.name, detail);
}

/* ---- webhooks ------------------------------------------------------------- */

/* Queues the webhooks for one event; it is NULL for drill-level events. */
void drill_notify(struct drill *d, enum notify_event e, const struct drill_iteration *it)
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
		m.outcome = it->outcome == OUTCOME_RUNNING ? NULL : drill_outcome_name(it->outcome);
		m.has_rto = it->has_rto;
		m.rto_ns = it->rto_ns;
		m.error_bound_ns = it->error_bound_ns;
		m.has_rto_bounds = it->has_rto && it->has_rto_bounds;
		m.rto_early_ns = it->rto_early_ns;
		m.rto_late_ns = it->rto_late_ns;
		m.has_rpo = it->has_rpo;
		m.rpo_ns = it->rpo_ns;
		m.lost_writes = it->lost_writes;
		if (e == NOTIFY_OBJECTIVES_MISSED)
			m.objectives_met = it->objectives_met;
		m.detail = it->detail;
	} else if (e == NOTIFY_END) {
		m.outcome = drill_outcome_name(d->res->outcome);
		m.objectives_met = d->res->objectives_met;
		m.detail = d->res->detail;
	}
	notifier_send(d->notify, &m, it ? it->id : 0);
}

void drill_notify_text(struct drill *d, enum notify_event e, const char *detail)
{
	struct notify_msg m = { 0 };

	if (!d->notify)
		return;
	m.event = e;
	m.scenario = d->s->name;
	m.environment = d->environment;
	m.drill_id = d->drill_id;
	m.iteration = d->number;
	m.iterations = d->iterations;
	m.objectives_met = -1;
	m.detail = detail;
	if (e == NOTIFY_STATUS)
		notifier_send_status(d->notify, &m, fd_mono_ns());
	else
		notifier_send(d->notify, &m, d->iteration_id);
}

/* The webhooks' outcomes, into the timeline (only this thread writes the store). */
void drill_notify_drain(struct drill *d)
{
	struct notify_report r;

	if (d->draining)
		return;
	d->draining = true;
	if (*d->notify_error && d->drill_id) {
		drill_event(d, "notify", "setup", d->notify_error);
		*d->notify_error = '\0';
	}
	while (notifier_next_report(d->notify, &r))
		drill_event_in(d, r.iteration_id, r.mono_ns, "notify", r.subject, r.text);
	d->draining = false;
}

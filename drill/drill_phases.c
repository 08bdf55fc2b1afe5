/*
 * The phases of one iteration, in order: steady state, canary lead-in,
 * inject (T0), watch (with the runbook), read-back, revert, failback, and
 * the cool-down between iterations. Each phase starts with its `phase`
 * event and leaves its verdict in the iteration record.
 *
 * Invariants:
 *  - nothing is applied before the steady state held;
 *  - an iteration that never recovered has no RTO (has_rto false);
 *  - T0 is taken right after injector_apply() confirmed the faults.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drill_internal.h"
#include "fleet.h"
#include "fd_priv.h"
#include "injector.h"
#include "scorer.h"

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

	drill_set_phase(d, DRILL_PHASE_STEADY_STATE);
	while (!drill_steady_ok(d->s, d->tracks)) {
		if (drill_stop_requested(d)) {
			if (d->abort_requested)
				drill_textf(why, len, "%s (before injection)", d->abort_why);
			else
				drill_textf(why, len, "interrupted before injection");
			return 0;
		}
		if (fd_mono_ns() >= until && d->number > 1) {
			/* after the failback watch and the cool-down */
			drill_textf(why, len, "system not back to steady state after iteration %u: %s",
				    d->number - 1, first_unhealthy(d, who, sizeof(who)));
			return 0;
		}
		if (fd_mono_ns() >= until) {
			drill_textf(why, len, "system not healthy before the drill: %s",
				 first_unhealthy(d, who, sizeof(who)));
			return 0;
		}
		rc = drill_poll_slice(d, until, err);
		if (rc < 0)
			return rc;
	}
	return 1;
}

/* Starts the iteration's probes and waits for the steady state (as steady_state()). */
int drill_probe_until_steady(struct drill *d, char *why, size_t len, struct fd_error *err)
{
	struct scorer_places where;
	int rc;

	reset_tracks(d);
	/* pcap handles open here, each iteration: then only file access stays
	 * effective while probes, libcurl and the store run (fd_priv.h). */
	rc = drill_places_for_scorer(d, &where, err);
	if (rc < 0)
		return rc;
	fd_priv_raise();
	/* each probe and action in its place as this iteration found it */
	rc = scorer_new_in(d->s, &where, drill_on_sample, d, &d->sc, err);
	if (rc == 0)
		rc = scorer_start(d->sc, err);
	fd_priv_lower();
	free((void *)where.probe);
	if (rc == 0)
		rc = steady_state(d, why, len, err);
	return rc;
}

/* Canary writes before T0, so the read-back has acknowledged data from
 * before the fault to compare with. */
int drill_canary_lead_in(struct drill *d, struct fd_error *err)
{
	int64_t lead, until;
	int rc;

	if (!d->s->rpo.has_canary)
		return 0;
	rc = scorer_canary_start(d->sc, err);
	if (rc < 0)
		return rc;
	/* rpo.canary.lead-in, defaulted by the loader (docs/scenarios.md). */
	lead = d->s->rpo.canary.lead_in_ns;
	until = fd_mono_ns() + lead;
	while (fd_mono_ns() < until) {
		rc = drill_poll_slice(d, until, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int drill_apply_faults(struct drill *d, struct drill_iteration *it, struct fd_error *err)
{
	int rc;

	drill_set_phase(d, DRILL_PHASE_INJECT);
	/* Each iteration targets what is there now: a supervisor restarted the
	 * killed service under a new pid, a host name may resolve elsewhere.
	 * The first iteration's plan is the one setup validated. */
	fd_priv_raise();
	rc = drill_place_in(d, err);
	if (rc == 0 && d->number > 1)
		rc = injector_resolve(d->inj, err);
	/* a fleet: every host starts its apply while the local one runs */
	if (rc == 0)
		rc = drill_fleet_apply_begin(d, err);
	/* no local share: no journal transaction to wait for before T0 */
	if (rc == 0 && injector_fault_count(d->inj) > 0)
		rc = injector_apply(d->inj, err);
	drill_place_out(d);
	fd_priv_lower();
	if (rc == 0) {
		int64_t local_ns = fd_mono_ns();

		rc = drill_fleet_apply_end(d, local_ns, &d->t0, err);
		if (rc < 0) {
			struct fd_error e2 = { 0 };

			/* all or none: the hosts rolled back, so do the local faults */
			fd_priv_raise();
			if (injector_revert(d->inj, &e2) < 0)
				drill_event(d, "note", "revert failed", e2.msg);
			fd_priv_lower();
		}
	} else if (d->fleet) {
		struct fd_error e2 = { 0 };

		/* the local apply failed (rolled back): the hosts revert theirs */
		if (fleet_apply_end(d->fleet, &e2) == 0 && fleet_revert(d->fleet, NULL, NULL, &e2) < 0)
			drill_event(d, "note", "fleet revert", e2.msg);
	}
	if (rc < 0)
		return rc;
	it->t0_real_ns = fd_real_ns();
	it->t0_mono_ns = d->t0;
	d->has_t0 = true;
	d->applied = true;
	if (drill_flows_begin(d) < 0)
		drill_event(d, "note", "blackholed flows", "out of memory: flows are not tracked");
	for (size_t i = 0; i < d->s->n_probes; i++) {
		if (!scenario_probe_is_evidence(&d->s->probes[i]))
			continue;
		d->evidence_before[i] = scorer_probe_count(d->sc, i);
		scorer_probe_window(d->sc, i, d->t0, INT64_MAX);
	}
	for (size_t i = 0; i < injector_fault_count(d->inj); i++)
		drill_event_at(d, d->t0, "fault-applied", injector_fault_id(d->inj, i),
			 injector_fault_summary(d->inj, i));
	drill_notify(d, NOTIFY_INJECTED, it);
	return 0;
}

/* What the tracks saw before the watch began: each probe's newest sample. */
static void watch_seed(struct drill *d)
{
	for (size_t i = 0; i < d->s->n_probes; i++) {
		struct scorer_sample smp = { .probe = i };

		if (!d->tracks[i].seen)
			continue;
		smp.sent_mono_ns = d->tracks[i].last_sent_ns;
		smp.latency_ns = d->tracks[i].last_latency_ns;
		smp.ok = d->tracks[i].ok;
		scorer_watch_feed(d->watch, &smp);
	}
}

static void fill_recovery(struct drill_iteration *it, const struct recovery_result *r)
{
	it->has_rto = r->recovered;
	it->rto_ns = r->recovered ? r->rto_ns : 0;
	it->has_rto_bounds = r->recovered;
	it->rto_early_ns = r->recovered ? r->rto_early_ns : 0;
	it->rto_late_ns = r->recovered ? r->rto_late_ns : 0;
	it->has_detect = r->has_detect;
	it->detect_ns = r->detect_ns;
	it->has_first_success = r->has_first_success;
	it->first_success_ns = r->first_success_ns;
	it->error_bound_ns = r->error_bound_ns;
}

/*
 * Watches from T0 until the recovery criterion holds, the timeout passes,
 * a stop-if probe trips or a signal arrives. Sets it->outcome.
 */
int drill_watch(struct drill *d, struct drill_iteration *it, struct fd_error *err)
{
	const struct scenario *s = d->s;
	int64_t deadline = d->t0 + s->recovery.timeout_ns, now;
	struct recovery_result rr = { 0 };
	const char **netns;
	char why[256], dur[32];
	size_t which;
	int rc = 0;

	drill_set_phase(d, DRILL_PHASE_WATCH);
	d->watch_end = 0;
	d->watch = scorer_watch_new(&s->recovery, s, d->t0);
	netns = drill_places_for_steps(d, s->steps, s->n_steps);
	d->steps = netns ? step_runner_new(s->steps, s->n_steps, s->recovery.timeout_ns, netns)
		   : NULL;
	free(netns);
	d->detected_told = false;
	if (!d->watch || !d->steps) {
		scorer_watch_free(d->watch); /* the steps go with the iteration */
		d->watch = NULL;
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	d->watch_from = d->t0;
	watch_seed(d);
	/* recovery.resolution: finer sends while the criterion does not hold. */
	scorer_resolution_start(d->sc, d->t0);
	step_runner_start(d->steps, d->t0, err);
	for (;;) {
		rc = drill_poll_slice(d, deadline, err);
		if (rc < 0)
			break;
		now = fd_mono_ns();
		if (scorer_watch_done(d->watch, now, &rr)) {
			it->outcome = OUTCOME_RECOVERED;
			break;
		}
		if (drill_stop_requested(d)) {
			it->outcome = OUTCOME_ABORTED;
			drill_textf(it->detail, sizeof(it->detail), "%s", drill_stop_text(d));
			break;
		}
		if (drill_stop_if_tripped(s, d->tracks, now, &which)) {
			it->outcome = OUTCOME_ABORTED;
			drill_textf(it->detail, sizeof(it->detail), "stop-if-failing: probe %s failed for %s",
				 s->probes[s->stop_if[which].probe].id,
				 fd_duration_format(drill_failing_for_ns(s, d->tracks,
									 s->stop_if[which].probe, now),
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
	scorer_resolution_stop(d->sc);
	d->watch_end = fd_mono_ns(); /* the war room's stopwatch stops here */
	scorer_watch_done(d->watch, fd_mono_ns(), &rr);
	fill_recovery(it, &rr);
	if (!rr.has_detect)
		drill_event(d, "note", "time to detect unknown", rr.detect_why);
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
				drill_record_lap(d, &laps[i]);
	}
	if (it->outcome == OUTCOME_RECOVERED) {
		drill_event(d, "outcome", "recovered", drill_rto_text(it, why, sizeof(why)));
		drill_notify(d, NOTIFY_RECOVERED, it);
	} else
		drill_event(d, "outcome", drill_outcome_name(it->outcome), it->detail);
	scorer_watch_free(d->watch);
	d->watch = NULL;
	return rc;
}

/* RPO read-back after recovery. A failed read-back leaves the RPO unknown
 * (and says why) but does not end the drill. */
void drill_readback(struct drill *d, struct drill_iteration *it)
{
	struct rpo_result r = { 0 };
	struct fd_error e;
	char detail[512], dur[32];
	int rc = 0;

	if (d->s->rpo.has_canary)
		scorer_canary_stop(d->sc);
	if (it->outcome != OUTCOME_RECOVERED || (!d->s->rpo.has_canary && !d->s->rpo.has_query))
		return;
	drill_set_phase(d, DRILL_PHASE_READBACK);
	fd_error_clear(&e);
	if (d->s->rpo.has_canary)
		rc = scorer_canary_readback(d->sc, d->t0, &r, &e);
	else
		rc = scorer_rpo_query(d->sc, it->t0_real_ns, &r, &e);
	if (rc < 0) {
		drill_event(d, "rpo", "read-back failed", e.msg);
		return;
	}
	it->has_rpo = r.has_rpo;
	it->rpo_ns = r.rpo_ns;
	it->writes_acked = r.writes_acked;
	it->writes_acked_outage = r.writes_acked_outage;
	it->lost_writes = r.lost_writes;
	fd_duration_format(r.rpo_ns, dur, sizeof(dur));
	if (d->s->rpo.has_canary)
		drill_textf(detail, sizeof(detail), "RPO %s, %lld of %lld acknowledged writes lost%s%s",
			    r.has_rpo ? dur : "unknown", (long long)r.lost_writes,
			    (long long)r.writes_acked, *r.detail ? "; " : "", r.detail);
	else /* a query counts no writes: saying "0 of 0 lost" would read as proof */
		drill_textf(detail, sizeof(detail), "RPO %s (query)%s%s", r.has_rpo ? dur : "unknown",
			    *r.detail ? "; " : "", r.detail);
	drill_event(d, "rpo", "read-back", detail);
}

/* How long packets captured before the window closed may take to be read. */
#define EVIDENCE_DRAIN_NS (50 * FD_NS_PER_MS)

static void evidence_record(struct drill *d, size_t i, int64_t end)
{
	const struct scenario_probe *p = &d->s->probes[i];
	int64_t n = scorer_probe_window_count(d->sc, i), before = d->evidence_before[i];
	char span[32], detail[512];

	fd_duration_format(end - d->t0, span, sizeof(span));
	if (n == 0) {
		/* A capture that never matched anything proves little: say which it was. */
		drill_textf(detail, sizeof(detail), "held: no packet matched '%s' on %s from T0 to "
			    "revert (%s); %lld matched before T0%s", p->pcap.filter,
			    p->pcap.interface, span, (long long)before,
			    before ? "" : " (unverified: the capture never matched)");
	} else {
		drill_textf(detail, sizeof(detail), "NOT HELD: %lld packets matched '%s' on %s from "
			    "T0 to revert (%s)", (long long)n, p->pcap.filter, p->pcap.interface,
			    span);
		if (!*d->evidence_failed)
			drill_textf(d->evidence_failed, sizeof(d->evidence_failed),
				    "evidence %s: %lld packets matched while the faults were applied",
				    p->id, (long long)n);
	}
	drill_event(d, "evidence", p->id, detail);
}

/*
 * Evidence probes (pcap, expect: none) count their packets captured from T0
 * until now, just before revert; what was captured in time but not read yet
 * is read first.
 */
static void evidence_close(struct drill *d)
{
	struct fd_error e = { 0 };
	int64_t end = fd_mono_ns();
	bool any = false;

	if (!d->sc || !d->has_t0)
		return;
	for (size_t i = 0; i < d->s->n_probes; i++) {
		if (!scenario_probe_is_evidence(&d->s->probes[i]))
			continue;
		scorer_probe_window(d->sc, i, d->t0, end);
		any = true;
	}
	if (!any)
		return;
	if (scorer_poll(d->sc, end + EVIDENCE_DRAIN_NS, &e) < 0)
		drill_event(d, "note", "evidence", e.msg);
	drill_flush_samples(d);
	for (size_t i = 0; i < d->s->n_probes; i++)
		if (scenario_probe_is_evidence(&d->s->probes[i]))
			evidence_record(d, i, end);
}

/* How long the answers already on their way may hold up the revert. */
#define SETTLE_BEFORE_REVERT_NS (100 * FD_NS_PER_MS)

static bool all_probes_ok(const struct drill *d)
{
	for (size_t i = 0; i < d->s->n_probes; i++)
		if (d->tracks[i].seen && !d->tracks[i].ok)
			return false;
	return true;
}

/*
 * Takes in the answers already on their way, so that the timeline up to
 * the revert can be told as it happens (an event line waits for every
 * earlier send, docs/scorer.md). Only a healthy system, whose answers take
 * milliseconds, and at most SETTLE_BEFORE_REVERT_NS: a revert never waits
 * for a failing probe's timeout.
 */
static void settle_answers(struct drill *d)
{
	int64_t until = fd_mono_ns() + SETTLE_BEFORE_REVERT_NS;
	struct fd_error e;

	if (!d->sc || !all_probes_ok(d))
		return;
	while (scorer_oldest_pending_ns(d->sc) != INT64_MAX && fd_mono_ns() < until) {
		fd_error_clear(&e);
		if (scorer_poll(d->sc, fd_mono_ns() + FD_NS_PER_MS, &e) < 0)
			return;
	}
}

int drill_revert_faults(struct drill *d, struct fd_error *err)
{
	int rc;

	if (!d->applied)
		return 0;
	evidence_close(d);
	settle_answers(d);
	drill_set_phase(d, DRILL_PHASE_REVERT);
	rc = drill_fleet_revert(d, err);
	fd_priv_raise();
	if (drill_place_in(d, rc == 0 ? err : &(struct fd_error){ 0 }) < 0 && rc == 0)
		rc = -1; /* the scope cannot be entered: the guardian reverts there */
	else if (rc == 0)
		rc = injector_revert(d->inj, err); /* drains the flow log before it undoes */
	else if (injector_revert(d->inj, &(struct fd_error){ 0 }) < 0)
		drill_event(d, "note", "revert failed", "the local faults too (the guardian keeps watch)");
	drill_place_out(d);
	fd_priv_lower();
	drill_flows_record(d);
	if (rc < 0) {
		char text[FD_ERROR_MSG_MAX + 64];

		drill_event(d, "note", "revert failed", err->msg);
		drill_textf(text, sizeof(text), "revert failed: %s (the guardian keeps watch; check "
			    "`firedrill status`)", err->msg);
		drill_notify_text(d, NOTIFY_REVERT_FAILED, text);
		return rc;
	}
	d->applied = false;
	for (size_t i = 0; i < injector_fault_count(d->inj); i++)
		drill_event(d, "fault-reverted", injector_fault_id(d->inj, i), NULL);
	{
		char text[96];

		drill_textf(text, sizeof(text), "%zu fault%s reverted", injector_fault_count(d->inj),
			    injector_fault_count(d->inj) == 1 ? "" : "s");
		drill_notify_text(d, NOTIFY_REVERTED, text);
	}
	return 0;
}

/* failback.steps: one "failback-lap" event each (the laps table holds the
 * recovery runbook); a failed one is noted in *failed. */
static void failback_lap(struct drill *d, const struct store_lap *l, bool *failed)
{
	char detail[700], dur[32];

	drill_textf(detail, sizeof(detail), "%s in %s%s%s", l->ok ? "done" : "failed",
		    fd_duration_format(l->ended_mono_ns - l->started_mono_ns, dur, sizeof(dur)),
		    *l->detail ? ": " : "", l->detail);
	drill_event_at(d, l->ended_mono_ns ? l->ended_mono_ns : fd_mono_ns(), "failback-lap",
		       l->name, detail);
	*failed = *failed || !l->ok;
}

/* Runs failback.steps in order, each timed like a runbook step. */
static int failback_steps(struct drill *d, bool *failed, struct fd_error *err)
{
	const struct scenario *s = d->s;
	struct step_runner *sr;
	struct store_lap lap;
	const char **netns;
	int rc;

	if (!s->n_failback_steps)
		return 0;
	netns = drill_places_for_steps(d, s->failback_steps, s->n_failback_steps);
	sr = netns ? step_runner_new(s->failback_steps, s->n_failback_steps, s->failback.timeout_ns,
				     netns) : NULL;
	free(netns);
	if (!sr)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	step_runner_set_stop_on_failure(sr, false); /* the watch decides, not a step */
	rc = step_runner_start(sr, fd_mono_ns(), err);
	while (rc == 0 && !step_runner_finished(sr)) {
		if (drill_stop_requested(d)) {
			size_t first = 0, n;
			const struct store_lap *laps;

			step_runner_current(sr, &first);
			step_runner_cancel(sr, fd_mono_ns(), drill_stop_text(d));
			laps = step_runner_laps(sr, &n);
			for (size_t i = first; i < n; i++)
				if (step_runner_started(sr, i))
					failback_lap(d, &laps[i], failed);
			break;
		}
		rc = drill_poll_slice(d, fd_mono_ns() + SLICE_NS, err);
		while (step_runner_tick(sr, fd_mono_ns(), &lap) >= 0)
			failback_lap(d, &lap, failed);
	}
	step_runner_free(sr);
	return rc;
}

static const char *first_failing(const struct drill *d, const struct scenario_criterion *c,
				 char *buf, size_t len)
{
	for (size_t i = 0; i < c->n_probes; i++) {
		const struct probe_track *t = &d->tracks[c->probes[i]];

		if (!t->ok) {
			drill_textf(buf, len, "probe %s %s", d->s->probes[c->probes[i]].id,
				    t->seen ? "failing" : "never answered");
			return buf;
		}
	}
	drill_textf(buf, len, "its probes never held for stable-for");
	return buf;
}

/*
 * After revert: failback.steps, then the time until the failback criterion
 * holds (the primary serves again). A system that does not come back sets
 * d->no_failback: the drill stops there rather than measure the next
 * iteration against a system that is not the one planned.
 */
int drill_failback(struct drill *d, struct drill_iteration *it, struct fd_error *err)
{
	const struct scenario *s = d->s;
	struct recovery_result rr = { 0 };
	int64_t from, deadline;
	char dur[32], who[160];
	bool step_failed = false;
	int rc = 0;

	if (!s->has_failback || !d->has_t0 ||
	    (it->outcome != OUTCOME_RECOVERED && it->outcome != OUTCOME_NOT_RECOVERED))
		return 0;
	drill_set_phase(d, DRILL_PHASE_FAILBACK);
	from = fd_mono_ns();
	deadline = from + s->failback.timeout_ns;
	d->watch = scorer_watch_new(&s->failback, s, from);
	if (!d->watch)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	d->watch_from = from;
	rc = failback_steps(d, &step_failed, err);
	while (rc == 0 && !scorer_watch_done(d->watch, fd_mono_ns(), &rr) &&
	       fd_mono_ns() < deadline && !drill_stop_requested(d)) {
		rc = drill_poll_slice(d, deadline, err);
	}
	if (rr.recovered) {
		it->has_failback = true;
		it->failback_ns = rr.rto_ns;
		drill_event(d, "outcome", "failed-back", fd_duration_format(rr.rto_ns, dur, sizeof(dur)));
	} else if (rc == 0 && !drill_stop_requested(d)) {
		drill_textf(d->no_failback, sizeof(d->no_failback),
			    "the system did not fail back within %s (%s)%s",
			    fd_duration_format(s->failback.timeout_ns, dur, sizeof(dur)),
			    first_failing(d, &s->failback, who, sizeof(who)),
			    step_failed ? "; a failback step failed" : "");
		drill_event(d, "outcome", "no-failback", d->no_failback);
	}
	scorer_watch_free(d->watch);
	d->watch = NULL;
	return rc;
}

void drill_cool_down(struct drill *d)
{
	int64_t until = fd_mono_ns() + d->s->cool_down_ns;
	struct fd_error e;

	if (d->s->cool_down_ns <= 0)
		return;
	d->iteration_id = 0;
	drill_set_phase(d, DRILL_PHASE_COOL_DOWN);
	while (fd_mono_ns() < until && !drill_stop_requested(d))
		drill_poll_slice(d, until, &e);
}

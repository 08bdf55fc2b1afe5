/*
 * evidence_book.c: the parts of the evidence model that an auditor's
 * frameworks ask for beside the figures: participants, findings (most
 * severe first), lessons, actions with their state, sign-offs (checked),
 * the deviations from the plan and the data-integrity results, all read
 * or derived once here so that every renderer shows the same thing.
 */
#include "report_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int oom(struct fd_error *err)
{
	return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
}

/* "ROLE=NAME\n..." as stored with the drill. */
static int load_participants(struct report_evidence *ev, struct fd_error *err)
{
	const char *p = ev->drill.participants;
	size_t n = 0;

	for (const char *q = p; *q; q++)
		n += *q == '\n';
	ev->participants = calloc(n + 1, sizeof(*ev->participants));
	if (!ev->participants)
		return oom(err);
	while (*p) {
		size_t len = strcspn(p, "\n"), role = strcspn(p, "=");
		struct report_participant *r = &ev->participants[ev->n_participants];

		if (role < len) {
			snprintf(r->role, sizeof(r->role), "%.*s", (int)role, p);
			snprintf(r->name, sizeof(r->name), "%.*s", (int)(len - role - 1), p + role + 1);
			ev->n_participants++;
		}
		p += len + (p[len] == '\n');
	}
	return 0;
}

static int severity_rank(const char *s)
{
	static const char *const order[] = { "critical", "high", "medium", "low" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, order[i]) == 0)
			return i;
	return 4;
}

static int by_severity(const void *a, const void *b)
{
	const struct store_record *x = a, *y = b;
	int d = severity_rank(x->severity) - severity_rank(y->severity);

	return d ? d : (x->id > y->id) - (x->id < y->id);
}

/* Findings and notes of this drill, copied out of its book. */
static int load_book(struct store *st, struct report_evidence *ev, struct fd_error *err)
{
	struct store_record *recs = NULL;
	size_t n = 0;
	int rc = store_list_records(st, ev->drill.id, &recs, &n, err);

	if (rc)
		return rc;
	ev->findings = calloc(n + 1, sizeof(*ev->findings));
	ev->notes = calloc(n + 1, sizeof(*ev->notes));
	if (!ev->findings || !ev->notes) {
		free(recs);
		return oom(err);
	}
	for (size_t i = 0; i < n; i++) {
		if (recs[i].kind == STORE_RECORD_FINDING)
			ev->findings[ev->n_findings++] = recs[i];
		else if (recs[i].kind == STORE_RECORD_NOTE)
			ev->notes[ev->n_notes++] = recs[i];
	}
	qsort(ev->findings, ev->n_findings, sizeof(*ev->findings), by_severity);
	free(recs);
	return 0;
}

/* This drill's actions, and the other drills' actions it closed as their retest. */
static int load_actions(struct store *st, struct report_evidence *ev, struct fd_error *err)
{
	struct report_actions_filter own = { .drill_id = ev->drill.id,
					     .now_real_ns = ev->generated_real_ns };
	struct report_actions_filter all = { .now_real_ns = ev->generated_real_ns };
	struct report_action *list = NULL;
	size_t n = 0;
	int rc = report_actions_load(st, &own, &ev->actions, &ev->n_actions, err);

	if (!rc)
		rc = report_actions_load(st, &all, &list, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (list[i].closed && list[i].closing.retest_drill_id == ev->drill.id &&
		    list[i].action.drill_id != ev->drill.id)
			list[ev->n_retested++] = list[i];
	ev->retested = list;
	return 0;
}

/* The newest drill of the same scenario and environment that started before this one. */
static int load_previous(struct store *st, struct report_evidence *ev, struct fd_error *err)
{
	struct store_filter f = { .scenario = ev->drill.scenario_name,
				  .environment = ev->drill.environment,
				  .until_real_ns = ev->drill.started_real_ns };
	struct store_drill *list = NULL;
	size_t n = 0;
	int rc = store_list_drills(st, &f, &list, &n, err);

	for (size_t i = n; !rc && i-- > 0;)
		if (list[i].id != ev->drill.id) {
			ev->previous_drill_id = list[i].id;
			ev->previous_started_real_ns = list[i].started_real_ns;
			break;
		}
	free(list);
	return rc;
}

/* ---- deviations from the plan --------------------------------------------- */

static void deviation(struct report_evidence *ev, int64_t when, int iteration, const char *kind,
		      const char *what)
{
	struct report_deviation *d = &ev->deviations[ev->n_deviations++];

	d->real_ns = when;
	d->iteration = iteration;
	snprintf(d->kind, sizeof(d->kind), "%s", kind);
	snprintf(d->what, sizeof(d->what), "%s", what);
}

/* The event's words for a departure, or NULL when it is none. */
static const char *event_deviation(const struct store_event *e)
{
	bool held;

	/* an iteration's own outcome comes from its row (iteration_deviations) */
	if (strcmp(e->kind, "outcome") == 0 && strcmp(e->subject, "no-failback") == 0)
		return "did not fail back";
	if (strcmp(e->kind, "note") == 0 && strcmp(e->subject, "revert failed") == 0)
		return "revert failed";
	if (strcmp(e->kind, "rpo") == 0 && strcmp(e->subject, "read-back failed") == 0)
		return "read-back failed";
	if (rp_fault_evidence(e, &held) && !held)
		return "fault did not hold";
	return NULL;
}

/* A lap's wall time: laps are on the monotonic clock, placed by the iteration's T0. */
static int64_t lap_real_ns(const struct store_iteration *it, const struct store_lap *l)
{
	int64_t mono = l->ended_mono_ns ? l->ended_mono_ns : l->started_mono_ns;

	if (!it->t0_real_ns || !it->t0_mono_ns || !mono)
		return it->started_real_ns;
	return it->t0_real_ns + (mono - it->t0_mono_ns);
}

static void lap_deviations(struct report_evidence *ev)
{
	char what[1200];

	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct report_evidence_iteration *ei = &ev->iterations[i];

		for (size_t k = 0; k < ei->n_laps; k++) {
			const struct store_lap *l = &ei->laps[k];
			bool ended = rp_lap_ended(l);

			if (ended && l->ok)
				continue;
			snprintf(what, sizeof(what), "step %d \"%s\"%s%s", l->step + 1, l->name,
				 l->detail[0] ? ": " : "", l->detail);
			deviation(ev, lap_real_ns(&ei->it, l), ei->it.number,
				  ended ? "step failed" : "step not ended", what);
		}
	}
}

/* Iterations that did not recover: not recovered, aborted (stop-if-failing,
 * a signal), not healthy before the fault, an error. */
static void iteration_deviations(struct report_evidence *ev)
{
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;

		if (it->outcome != STORE_OUTCOME_RECOVERED)
			deviation(ev, it->ended_real_ns ? it->ended_real_ns : it->started_real_ns,
				  it->number, store_outcome_name(it->outcome), it->detail);
	}
}

static int by_time(const void *a, const void *b)
{
	const struct report_deviation *x = a, *y = b;

	return (x->real_ns > y->real_ns) - (x->real_ns < y->real_ns);
}

static int derive_deviations(struct report_evidence *ev, struct fd_error *err)
{
	size_t cap = ev->n_events + ev->n_iterations + 1;
	char what[1200];

	for (size_t i = 0; i < ev->n_iterations; i++)
		cap += ev->iterations[i].n_laps;
	ev->deviations = calloc(cap, sizeof(*ev->deviations));
	if (!ev->deviations)
		return oom(err);
	for (size_t i = 0; i < ev->n_events; i++) {
		const struct store_event *e = &ev->events[i];
		const char *kind = event_deviation(e);

		if (kind)
			deviation(ev, e->real_ns, rp_event_iteration(ev, e), kind, e->detail);
	}
	lap_deviations(ev);
	iteration_deviations(ev);
	if (ev->drill.iterations_planned > 0 && ev->n_iterations < (size_t)ev->drill.iterations_planned) {
		snprintf(what, sizeof(what), "%zu of %d planned iterations ran", ev->n_iterations,
			 ev->drill.iterations_planned);
		deviation(ev, ev->drill.ended_real_ns, 0, "iterations cut short", what);
	}
	qsort(ev->deviations, ev->n_deviations, sizeof(*ev->deviations), by_time);
	return 0;
}

/* ---- data integrity --------------------------------------------------------- */

static int derive_integrity(struct report_evidence *ev, struct fd_error *err)
{
	ev->integrity = calloc(ev->n_iterations + 1, sizeof(*ev->integrity));
	if (!ev->integrity)
		return oom(err);
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;
		struct report_integrity *g = &ev->integrity[i];

		g->iteration = it->number;
		g->has_rpo = it->has_rpo;
		g->rpo_ms = it->rpo_ms;
		g->writes_acked = it->writes_acked;
		g->writes_acked_outage = it->writes_acked_outage;
		g->lost_writes = it->lost_writes;
		for (size_t k = 0; k < ev->n_events; k++) {
			const struct store_event *e = &ev->events[k];

			if (strcmp(e->kind, "rpo") == 0 && e->iteration_id == it->id) {
				g->measured = true;
				snprintf(g->read_back, sizeof(g->read_back), "%s", e->detail);
			}
		}
		g->measured = g->measured || it->has_rpo || it->writes_acked > 0;
	}
	return 0;
}

int rp_evidence_book_load(struct store *st, struct report_evidence *ev, struct fd_error *err)
{
	int rc = load_participants(ev, err);

	if (!rc)
		rc = load_book(st, ev, err);
	if (!rc)
		rc = load_actions(st, ev, err);
	if (!rc)
		rc = report_signoffs_check(st, ev->drill.id, NULL, &ev->signoffs, &ev->n_signoffs, err);
	if (!rc)
		rc = load_previous(st, ev, err);
	if (!rc)
		rc = derive_deviations(ev, err);
	if (!rc)
		rc = derive_integrity(ev, err);
	return rc;
}

void rp_evidence_book_free(struct report_evidence *ev)
{
	free(ev->participants);
	free(ev->findings);
	free(ev->notes);
	free(ev->actions);
	free(ev->retested);
	free(ev->signoffs);
	free(ev->deviations);
	free(ev->integrity);
	free(ev->controls);
}

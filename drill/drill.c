/*
 * The drill runner: one scenario, N iterations, every one recorded.
 *
 * This file holds the order of a drill: setup (store, scope lock, lap
 * socket, webhooks, network namespace, drill row, fault preparation), the
 * iterations and their records, and teardown. The phases of an iteration
 * are in drill_phases.c, the timeline and the slice loop in
 * drill_timeline.c, blackholed flows in drill_flows.c (drill_internal.h).
 *
 * Invariant: whatever was applied is reverted before drill_run() returns,
 * whatever ended the iteration (recovery, timeout, stop-if, signal, error).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drill_internal.h"
#include "injector.h"
#include "scorer.h"
#include "fd_config.h"
#include "fd_netns.h"
#include "fd_priv.h"
#include "fd_user.h"

void drill_opts_init(struct drill_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lap_tty_fd = -1;
}

/* ---- one iteration, recorded --------------------------------------------- */

/* The store edge: the drill measures in ns, the row holds ms (REAL) for
 * people, as the store always had them. */
static double ms(int64_t ns)
{
	return (double)ns / (double)FD_NS_PER_MS;
}

static void drill_iteration_row(const struct drill_iteration *it, int64_t drill_id,
			 struct store_iteration *row)
{
	memset(row, 0, sizeof(*row));
	row->id = it->id;
	row->drill_id = drill_id;
	row->number = it->number;
	/* the same words: "recovered" is "recovered" on both sides */
	if (store_outcome_parse(drill_outcome_name(it->outcome), &row->outcome) < 0)
		row->outcome = STORE_OUTCOME_ERROR;
	row->t0_real_ns = it->t0_real_ns;
	row->t0_mono_ns = it->t0_mono_ns;
	row->has_rto = it->has_rto;
	row->rto_ms = ms(it->rto_ns);
	row->has_rto_bounds = it->has_rto_bounds;
	row->rto_early_ms = ms(it->rto_early_ns);
	row->rto_late_ms = ms(it->rto_late_ns);
	row->error_bound_ms = ms(it->error_bound_ns);
	row->has_rpo = it->has_rpo;
	row->rpo_ms = ms(it->rpo_ns);
	row->writes_acked = it->writes_acked;
	row->writes_acked_outage = it->writes_acked_outage;
	row->lost_writes = it->lost_writes;
	row->has_detect = it->has_detect;
	row->detect_ms = ms(it->detect_ns);
	row->has_first_success = it->has_first_success;
	row->first_success_ms = ms(it->first_success_ns);
	row->has_failback = it->has_failback;
	row->failback_ms = ms(it->failback_ns);
	row->objectives_met = it->objectives_met;
	drill_textf(row->detail, sizeof(row->detail), "%s", it->detail);
}


static int keep_result(struct drill *d, const struct drill_iteration *it)
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
	drill_flush_samples(d);
	if (d->sc) {
		scorer_stop(d->sc);
		scorer_free(d->sc);
		d->sc = NULL;
	}
	/* the war room shows the last runbook until the next one starts */
	if (d->steps) {
		step_runner_free(d->last_steps);
		d->last_steps = d->steps;
		d->steps = NULL;
	}
	d->has_t0 = false;
	d->evidence_failed[0] = '\0';
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
static int run_iteration(struct drill *d, unsigned number, struct drill_iteration *it,
			 struct fd_error *err)
{
	struct store_iteration row;
	struct fd_error e2;
	char why[256];
	int rc, rc2;

	memset(it, 0, sizeof(*it));
	d->cur_it = it;
	d->watch_end = 0;
	d->number = number;
	d->iteration_id = 0;
	d->fatal_rc = 0;
	d->no_failback[0] = '\0'; /* read by run_iterations() once it is recorded */
	it->number = (int)number;
	it->outcome = OUTCOME_RUNNING;
	drill_iteration_row(it, d->drill_id, &row);
	rc = store_begin_iteration(d->st, &row, err);
	if (rc < 0)
		return rc;
	it->id = row.id;
	d->iteration_id = it->id;
	/* a container is found again: a restarted one has a new pid and namespace */
	if (number == 1)
		drill_place_note(d);
	if ((number > 1 && drill_place_refresh(d, err) < 0) ||
	    drill_places_refresh(d, number == 1, err) < 0 ||
	    (number > 1 && drill_places_set_faults(d->inj, d->local ? d->local : d->s, d->places,
						   d->n_places, err) < 0)) {
		rc = -1;
		goto record;
	}
	if (number == 1)
		drill_places_note(d);
	rc = drill_probe_until_steady(d, why, sizeof(why), err);
	if (rc == 0) {
		it->outcome = drill_stop_requested(d) ? OUTCOME_ABORTED : OUTCOME_NOT_HEALTHY;
		drill_textf(it->detail, sizeof(it->detail), "%s", why);
		drill_event(d, "outcome", drill_outcome_name(it->outcome), why);
		goto record;
	}
	if (rc == 1)
		rc = drill_canary_lead_in(d, err);
	if (rc == 0)
		rc = drill_apply_faults(d, it, err);
	if (rc == 0)
		rc = drill_watch(d, it, err);
	if (rc == 0 && it->outcome == OUTCOME_RECOVERED)
		drill_readback(d, it);
	rc2 = drill_revert_faults(d, rc < 0 ? &e2 : err);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	if (rc == 0)
		rc = drill_failback(d, it, err);
record:
	if (rc < 0) {
		it->outcome = OUTCOME_ERROR;
		drill_textf(it->detail, sizeof(it->detail), "%s", err->msg);
	}
	drill_flush_samples(d);
	it->objectives_met = drill_objectives_met(d->s, it, why, sizeof(why));
	if (it->objectives_met && *d->evidence_failed) {
		/* the fault did not hold: what was measured is not the drill planned */
		it->objectives_met = false;
		drill_textf(why, sizeof(why), "%s", d->evidence_failed);
	}
	if (it->objectives_met && *d->no_failback) {
		/* the exercise planned a way back and it did not work: also after the last iteration */
		it->objectives_met = false;
		drill_textf(why, sizeof(why), "%s", d->no_failback);
	}
	if (!it->objectives_met && it->outcome == OUTCOME_RECOVERED && !*it->detail)
		drill_textf(it->detail, sizeof(it->detail), "%s", why);
	if (it->outcome == OUTCOME_ABORTED)
		drill_notify_text(d, NOTIFY_ABORTED, it->detail);
	if (!it->objectives_met)
		drill_notify(d, NOTIFY_OBJECTIVES_MISSED, it);
	fd_error_clear(&e2);
	drill_iteration_row(it, d->drill_id, &row);
	rc2 = store_finish_iteration(d->st, &row, rc < 0 ? &e2 : err);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	if (keep_result(d, it) < 0 && rc == 0)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	drill_snapshot_publish(d, true); /* with the runbook's last state */
	d->last_it = *it;
	d->cur_it = &d->last_it;
	end_iteration(d); /* after keep_result: it copies the runbook's laps */
	return rc;
}

/* ---- the drill ------------------------------------------------------------- */

static bool has_manual_step(const struct scenario *s)
{
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].manual)
			return true;
	return false;
}

/*
 * Faults a dead firedrill left behind (its holder and guardian both gone, so
 * no one reverts them: journal rows still PLANNED/APPLIED) are reverted at
 * the start, before this drill prepares its own: the guardian would have
 * done exactly that, the drivers revert idempotently from the journal, and
 * prepare must see the machine as it is without them (a stopped process or
 * a link left down would otherwise be recorded as the state to restore).
 * Rows of a live holder are not touched. A leftover that will not revert
 * refuses the drill. Reported as "reverted-leftover" events once the drill
 * is recorded.
 */
#define LEFTOVERS_LISTED 16

struct leftovers {
	char fault_id[LEFTOVERS_LISTED][64];
	char detail[LEFTOVERS_LISTED][320];
	size_t n;
};

static void note_leftover(const struct store_fault *row, const char *note, void *arg)
{
	struct leftovers *l = arg;

	if (l->n < LEFTOVERS_LISTED) {
		drill_textf(l->fault_id[l->n], sizeof(l->fault_id[0]), "%s", row->fault_id);
		drill_textf(l->detail[l->n], sizeof(l->detail[0]),
			    "%s fault of dead holder pid %d (drill %lld, netns %s): %s", row->kind,
			    row->holder_pid, (long long)row->drill_id,
			    row->netns[0] ? row->netns : "-", note);
	}
	l->n++;
}

/* Before entering the scope: a row's namespace is entered from here. */
static int revert_leftovers(struct drill *d, struct leftovers *l, struct fd_error *err)
{
	struct fd_error e;
	int n = 0, rc;

	fd_error_clear(&e);
	rc = injector_revert_orphans(d->st, note_leftover, l, &n, &e);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc,
				    "a fault left behind by a dead firedrill will not revert (%s); "
				    "nothing injected: run `firedrill revert`, check `firedrill status`",
				    e.msg);
	return 0;
}

static void log_leftovers(struct drill *d, const struct leftovers *l)
{
	for (size_t i = 0; i < l->n && i < LEFTOVERS_LISTED; i++)
		drill_event(d, "reverted-leftover", l->fault_id[i], l->detail[i]);
	if (l->n > LEFTOVERS_LISTED) {
		char more[64];

		drill_textf(more, sizeof(more), "%zu more", l->n - LEFTOVERS_LISTED);
		drill_event(d, "reverted-leftover", "...", more);
	}
}

/* The drill row, its start webhook and the notes of what setup found. */
static int begin_drill(struct drill *d, int n_stale, const struct leftovers *leftovers,
		       struct fd_error *err)
{
	const struct scenario *s = d->s;
	struct store_drill dr = { 0 };
	int64_t scenario_id = 0;
	int rc;

	rc = store_put_scenario(d->st, s->name, s->sha256, s->text, &scenario_id, err);
	if (rc < 0)
		return rc;
	dr.scenario_id = scenario_id;
	drill_textf(dr.scenario_name, sizeof(dr.scenario_name), "%s", s->name);
	drill_textf(dr.scenario_sha256, sizeof(dr.scenario_sha256), "%s", s->sha256);
	drill_textf(dr.environment, sizeof(dr.environment), "%s", d->environment);
	fd_operator_name(d->o->operator_name, dr.operator_name, sizeof(dr.operator_name));
	drill_objectives_fill(s, &dr);
	drill_scope_fill(s, d->o, &dr);
	drill_textf(d->participants, sizeof(d->participants), "%s", dr.participants);
	drill_textf(d->operator_name, sizeof(d->operator_name), "%s", dr.operator_name);
	if (gethostname(dr.host, sizeof(dr.host)) < 0)
		drill_textf(dr.host, sizeof(dr.host), "unknown");
	drill_textf(dr.tool_version, sizeof(dr.tool_version), "firedrill %s", FD_VERSION);
	drill_textf(dr.note, sizeof(dr.note), "%s", d->o->note ? d->o->note : "");
	dr.started_real_ns = fd_real_ns();
	dr.outcome = STORE_OUTCOME_RUNNING;
	dr.iterations_planned = (int)d->iterations;
	rc = store_begin_drill(d->st, &dr, err);
	if (rc < 0)
		return rc;
	d->drill_id = dr.id;
	d->res->drill_id = dr.id;
	drill_set_phase(d, DRILL_PHASE_SETUP);
	drill_notify(d, NOTIFY_START, NULL);
	drill_notify_drain(d);
	if (n_stale > 0) {
		char note[96];

		drill_textf(note, sizeof(note), "%d earlier drill(s) left running marked aborted", n_stale);
		drill_event(d, "note", "stale drills", note);
	}
	log_leftovers(d, leftovers);
	injector_set_drill(d->inj, dr.id);
	return 0;
}

/* Store, lock, scope, injector: everything before the first iteration. */
static int setup(struct drill *d, struct fd_error *err)
{
	const struct scenario *s = d->s;
	struct injector_opts io = { 0 };
	struct leftovers leftovers = { 0 };
	const struct scenario *local = s;
	int n_stale = 0, rc;

	fd_priv_raise(); /* a second drill in this process (the demo) */
	d->tracks = calloc(s->n_probes + 1, sizeof(*d->tracks));
	d->seen = calloc(s->n_probes + 1, sizeof(*d->seen));
	d->ok = calloc(s->n_probes + 1, sizeof(*d->ok));
	d->evidence_before = calloc(s->n_probes + 1, sizeof(*d->evidence_before));
	if (!d->tracks || !d->seen || !d->ok || !d->evidence_before || drill_snapshot_init(d) < 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	rc = store_open(d->o->db_path, &d->st, err);
	if (rc < 0)
		return rc;
	rc = store_abort_stale_drills(d->st, &n_stale, err);
	if (rc < 0)
		return rc;
	rc = drill_place_resolve(s, d->o->scope_netns, &d->place, err);
	if (rc == 0)
		rc = drill_places_resolve(d, err);
	if (rc < 0)
		return rc;
	rc = drill_scope_lock(d->place.key[0] ? d->place.key : NULL, &d->lock_fd, err);
	if (rc == 0) /* each fault's own place too */
		rc = drill_places_lock(s, d->places, d->n_places, d->place.key, NULL, err);
	if (rc < 0)
		return rc;
	if (!d->o->dry_run && has_manual_step(s)) {
		rc = lap_server_open(d->o->db_path, &d->laps, err);
		if (rc < 0)
			return rc;
	}
	if (!d->o->dry_run) {
		rc = revert_leftovers(d, &leftovers, err);
		if (rc < 0)
			return rc;
	}
	if (!d->o->dry_run) {
		struct fd_error ne;

		/* Before entering the scope: the sender stays in this namespace. */
		fd_error_clear(&ne);
		if (notifier_new(s, NOTIFY_TIMEOUT_NS, d->o->notify_relay, &d->notify, &ne) < 0)
			drill_textf(d->notify_error, sizeof(d->notify_error), "webhooks disabled: %s", ne.msg);
	}
	/* probes-from: host: the scope is entered only around the injector */
	rc = drill_place_enter(d, err);
	if (rc < 0)
		return rc;
	/* Validated, guarded and planned before the drill row and the start
	 * webhook: a refused or unpreparable fault leaves no trace. Targets are
	 * resolved again at each iteration's inject (drill_apply_faults). */
	io.store = d->st;
	io.db_path = d->o->db_path;
	io.force = d->o->force;
	io.no_guardian = d->o->no_guardian;
	if (d->place.netns[0] && !s->netns)
		io.netns = d->place.netns;
	if (d->place.is_container)
		io.scope_pid = (pid_t)d->place.container.pid;
	rc = drill_fleet_local(d, &local, err);
	if (rc == 0)
		rc = injector_new(local, &io, &d->inj, err);
	if (rc == 0)
		rc = drill_places_set_faults(d->inj, local, d->places, d->n_places, err);
	if (rc == 0)
		rc = injector_prepare(d->inj, err);
	if (s->probes_from_host && d->place.netns[0]) {
		/* the guardian was spawned in the scope; the rest runs here */
		struct fd_error e;

		fd_error_clear(&e);
		if (drill_place_leave(d, rc < 0 ? &e : err) < 0 && rc == 0)
			rc = -EPERM;
	}
	/* every host prepares too: one that cannot refuses the whole drill */
	if (rc == 0 && !d->o->dry_run)
		rc = drill_fleet_prepare(d, err);
	if (rc < 0)
		return rc;
	if (!d->o->dry_run) {
		rc = begin_drill(d, n_stale, &leftovers, err);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; d->drill_id && i < injector_fault_count(d->inj); i++)
		drill_event(d, "note", injector_fault_id(d->inj, i), injector_fault_summary(d->inj, i));
	if (d->drill_id)
		drill_fleet_notes(d);
	return 0;
}

/* --dry-run: the steady-state check with nothing injected and nothing recorded. */
static int preflight(struct drill *d, struct fd_error *err)
{
	struct drill_iteration it = { 0 };
	char why[256];
	int rc;

	d->number = 1;
	rc = drill_probe_until_steady(d, why, sizeof(why), err);
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
	fd_priv_raise(); /* revert, guardian release, the way home */
	if (d->applied) {
		fd_error_clear(&e);
		drill_revert_faults(d, &e); /* best effort: the guardian covers a failure */
	}
	if (d->s->probes_from_host && drill_place_in(d, &e) < 0)
		fd_error_clear(&e); /* the guardian is released from where it was made */
	drill_snapshot_free(d);
	drill_tell_flush(d);
	notifier_free(d->notify);
	drill_fleet_close(d); /* bye: every agent ends, reverting what it still holds */
	injector_free(d->inj);
	lap_server_close(d->laps);
	if (d->home_ns >= 0) {
		fd_error_clear(&e);
		fd_netns_restore(d->home_ns, &e);
		close(d->home_ns);
	}
	/* The process goes on as it came, minus the permitted capabilities
	 * narrowed away (the demo resets and stops its lab next). */
	drill_scope_unlock(d->lock_fd, d->place.key[0] ? d->place.key : NULL);
	drill_places_free(d);
	store_close(d->st);
	step_runner_free(d->last_steps);
	free(d->tracks);
	free(d->seen);
	free(d->ok);
	free(d->evidence_before);
}

static int run_iterations(struct drill *d, struct fd_error *err)
{
	struct drill_result *res = d->res;
	struct drill_iteration it;
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
		if (*d->no_failback && i < d->iterations) {
			drill_textf(res->detail, sizeof(res->detail), "iteration %u: %s; %u of %u "
				    "iterations run", i, d->no_failback, i, d->iterations);
			break;
		}
		if (i < d->iterations)
			drill_cool_down(d);
		if (drill_stop_requested(d)) {
			res->outcome = OUTCOME_ABORTED;
			res->objectives_met = false;
			drill_textf(res->detail, sizeof(res->detail), "%s", drill_stop_text(d));
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

	/* Before the store is opened: a missing secret leaves no trace. */
	rc = scorer_check_env(s, err);
	if (rc == 0)
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
		drill_set_phase(&d, DRILL_PHASE_DONE);
		drill_notify(&d, NOTIFY_END, NULL);
		notifier_finish(d.notify, NOTIFY_GRACE_NS);
		drill_notify_drain(&d);
		fd_error_clear(&e2);
		enum store_outcome o = STORE_OUTCOME_ERROR;

		/* the store's words are the drill's: mapped by name */
		store_outcome_parse(drill_outcome_name(res->outcome), &o);
		if (store_finish_drill(d.st, d.drill_id, o, res->objectives_met,
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

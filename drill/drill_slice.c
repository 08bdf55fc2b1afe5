/*
 * The slice loop: time is driven from here. The scorer runs its probe loop
 * only inside scorer_poll(), which drill_poll_slice() calls in short slices
 * (SLICE_NS); between slices the drill flushes samples, reads the flow log,
 * advances the runbook, answers lap requests (and the war room's), sends
 * the status webhooks that are due and drains webhook reports.
 * It calls the timeline, the flows and the steps; none of them calls back.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drill_internal.h"
#include "scorer.h"

/* ---- what people do: laps, step outcomes, notes, findings, abort ------------ */

char *drill_who_text(const struct drill *d, const char *who, char *buf, size_t len)
{
	char role[64];

	if (!who || !*who) {
		drill_textf(buf, len, "someone unnamed");
		return buf;
	}
	drill_role_of(d->participants, who, role, sizeof(role));
	drill_textf(buf, len, "by %s%s%s%s", who, *role ? " (" : "", role, *role ? ")" : "");
	return buf;
}

/* "by alice (incident-commander): NOTE": who marked it, under their drill role. */
static void lap_text(const struct drill *d, const char *who, const char *note, char *buf,
		     size_t len)
{
	char by[224];

	if (!who || !*who) {
		drill_textf(buf, len, "%s", note);
		return;
	}
	drill_who_text(d, who, by, sizeof(by));
	drill_textf(buf, len, "%s%s%s", by, *note ? ": " : "", note);
}

/* After a failed step: the runbook stopped? Then say so, and tell the hooks. */
static void step_failed(struct drill *d, const struct store_lap *lap)
{
	char text[900];
	size_t n = 0;
	long at = step_runner_stopped_at(d->steps);

	step_runner_laps(d->steps, &n);
	if (at == lap->step && (size_t)at + 1 < n) {
		drill_textf(text, sizeof(text), "step %d \"%s\" failed: the %zu step%s after it %s not "
			    "run (on-failure: stop)", lap->step + 1, lap->name, n - (size_t)at - 1,
			    n - (size_t)at - 1 == 1 ? "" : "s", n - (size_t)at - 1 == 1 ? "is" : "are");
		drill_event_at(d, lap->ended_mono_ns, "note", "runbook stopped", text);
	}
	drill_textf(text, sizeof(text), "step %d \"%s\" failed: %s%s", lap->step + 1, lap->name,
		    lap->detail, at == lap->step && (size_t)at + 1 < n ? "; the steps after it are not run" : "");
	drill_notify_text(d, NOTIFY_STEP_FAILED, text);
}

/* done, failed or skipped: the manual step waiting (the one the presser saw). */
static void act_step(struct drill *d, const struct drill_act *a, bool *ok, char *reply, size_t len)
{
	static const enum step_state how[] = { [DRILL_ACT_DONE] = STEP_DONE,
					       [DRILL_ACT_FAILED] = STEP_FAILED,
					       [DRILL_ACT_SKIPPED] = STEP_SKIPPED };
	const struct scenario_step *cur = NULL;
	struct store_lap lap;
	char dur[32], text[700], body[640];
	size_t idx = 0;
	long ended;

	*ok = false;
	if (d->steps && d->phase == DRILL_PHASE_WATCH)
		cur = step_runner_current(d->steps, &idx);
	if (!cur || !cur->manual) {
		drill_textf(reply, len, "no manual step is waiting (phase %s)", drill_phase_name(d->phase));
		return;
	}
	if (a->step >= 0 && (size_t)a->step != idx) {
		drill_textf(reply, len, "step %ld is no longer waiting (step %zu \"%s\" is)", a->step + 1,
			    idx + 1, cur->name);
		return;
	}
	if (a->kind != DRILL_ACT_DONE && !*a->text) {
		drill_textf(reply, len, "say why the step %s (a reason is required)",
			    a->kind == DRILL_ACT_FAILED ? "failed" : "is skipped");
		return;
	}
	lap_text(d, a->who, a->text, body, sizeof(body));
	drill_textf(text, sizeof(text), "%s%s", a->kind == DRILL_ACT_SKIPPED ? "skipped: " : "", body);
	ended = step_runner_mark(d->steps, fd_mono_ns(), how[a->kind], text, &lap);
	if (ended < 0) {
		drill_textf(reply, len, "no manual step is waiting (phase %s)", drill_phase_name(d->phase));
		return;
	}
	*ok = true;
	drill_record_lap(d, &lap);
	if (a->kind == DRILL_ACT_FAILED)
		step_failed(d, &lap);
	drill_textf(reply, len, "lap %ld \"%s\" %s in %s", ended + 1, lap.name,
		    a->kind == DRILL_ACT_DONE ? "done" : a->kind == DRILL_ACT_FAILED ? "failed" : "skipped",
		    fd_duration_format(lap.ended_mono_ns - lap.started_mono_ns, dur, sizeof(dur)));
}

static void act_finding(struct drill *d, const struct drill_act *a, bool *ok, char *reply,
			size_t len)
{
	struct store_record r = { .kind = STORE_RECORD_FINDING };
	struct fd_error e;
	char by[224], text[800];

	*ok = false;
	if (!d->drill_id || !*a->text) {
		drill_textf(reply, len, "%s", !d->drill_id ? "no drill is recorded yet"
						   : "what was found? (the text is required)");
		return;
	}
	r.drill_id = d->drill_id;
	drill_textf(r.severity, sizeof(r.severity), "%s", *a->severity ? a->severity : "medium");
	drill_textf(r.text, sizeof(r.text), "%s", a->text);
	drill_textf(r.author, sizeof(r.author), "%s", *a->who ? a->who : d->operator_name);
	drill_role_of(d->participants, r.author, r.author_role, sizeof(r.author_role));
	fd_error_clear(&e);
	if (store_add_record(d->st, &r, &e) < 0) {
		drill_textf(reply, len, "%s", e.msg);
		return;
	}
	*ok = true;
	drill_textf(text, sizeof(text), "%s: %s (finding %lld)", drill_who_text(d, r.author, by, sizeof(by)),
		    r.text, (long long)r.id);
	drill_event(d, "finding", r.severity, text);
	drill_textf(reply, len, "finding %lld recorded (%s)", (long long)r.id, r.severity);
}

void drill_act_apply(struct drill *d, const struct drill_act *a, bool *ok, char *reply, size_t len)
{
	char by[224], text[800], at[32];

	*ok = true;
	switch (a->kind) {
	case DRILL_ACT_DONE:
	case DRILL_ACT_FAILED:
	case DRILL_ACT_SKIPPED:
		act_step(d, a, ok, reply, len);
		return;
	case DRILL_ACT_NOTE:
		if (!*a->text) {
			*ok = false;
			drill_textf(reply, len, "an empty note says nothing");
			return;
		}
		drill_textf(text, sizeof(text), "%s: %s", drill_who_text(d, a->who, by, sizeof(by)), a->text);
		drill_event(d, "note", "war room", text);
		drill_textf(reply, len, "note recorded");
		return;
	case DRILL_ACT_LAP:
		if (d->has_t0)
			drill_textf(at, sizeof(at), "T0+%s", fd_duration_format(fd_mono_ns() - d->t0, by, 32));
		else
			drill_textf(at, sizeof(at), "%s +%s", drill_phase_name(d->phase),
				    fd_duration_format(fd_mono_ns() - d->phase_start, by, 32));
		drill_textf(text, sizeof(text), "%s%s%s", drill_who_text(d, a->who, by, sizeof(by)),
			    *a->text ? ": " : "", a->text);
		drill_event(d, "split", at, text);
		drill_textf(reply, len, "split at %s", at);
		return;
	case DRILL_ACT_FINDING:
		act_finding(d, a, ok, reply, len);
		return;
	case DRILL_ACT_ABORT:
		if (d->abort_requested) {
			drill_textf(reply, len, "already aborting: %s", d->abort_why);
			return;
		}
		drill_textf(d->abort_why, sizeof(d->abort_why), "aborted %s: %s",
			    drill_who_text(d, a->who, by, sizeof(by)), *a->text ? a->text : "no reason given");
		d->abort_requested = true;
		drill_event(d, "abort", *a->who ? a->who : "war room", d->abort_why);
		drill_textf(reply, len, "aborting: the faults are being reverted");
		return;
	default:
		*ok = false;
		drill_textf(reply, len, "unknown request");
		return;
	}
}

/* Enter on the terminal and `firedrill lap` requests. */
static void serve_laps(struct drill *d)
{
	char reply[512], line[256];
	struct drill_act a;
	struct pollfd pfd;
	bool done;
	ssize_t n;

	while (d->laps && lap_server_next(d->laps, &a) == 1) {
		drill_act_apply(d, &a, &done, reply, sizeof(reply));
		lap_server_reply(d->laps, done, reply);
	}
	if (d->o->lap_tty_fd < 0)
		return;
	pfd = (struct pollfd){ .fd = d->o->lap_tty_fd, .events = POLLIN };
	while (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
		n = read(d->o->lap_tty_fd, line, sizeof(line));
		if (n <= 0)
			break;
		if (memchr(line, '\n', (size_t)n)) {
			a = (struct drill_act){ .kind = DRILL_ACT_DONE, .step = -1 };
			drill_textf(a.who, sizeof(a.who), "%s", d->operator_name);
			drill_textf(a.text, sizeof(a.text), "Enter on the terminal");
			drill_act_apply(d, &a, &done, reply, sizeof(reply));
		}
	}
}

/* The war room's presses, then its snapshot when due. */
static void serve_warroom(struct drill *d)
{
	struct drill_act a;
	uint64_t ticket;
	char reply[512];
	bool ok;

	if (!d->warroom)
		return;
	while (warroom_next_act(d->warroom, &a, &ticket)) {
		drill_act_apply(d, &a, &ok, reply, sizeof(reply));
		warroom_answer(d->warroom, ticket, ok, reply);
		d->wr_dirty = true;
	}
	drill_snapshot_publish(d, false);
}

static void advance_steps(struct drill *d, int64_t now)
{
	const struct scenario_step *cur;
	struct store_lap lap;
	size_t idx = 0;

	if (!d->steps)
		return;
	while (step_runner_tick(d->steps, now, &lap) >= 0) {
		drill_record_lap(d, &lap);
		if (step_runner_state(d->steps, (size_t)lap.step) == STEP_FAILED)
			step_failed(d, &lap);
	}
	cur = step_runner_current(d->steps, &idx);
	if (cur && cur->manual &&
	    (d->manual_told_iter != d->number || d->manual_told_step != (long)idx)) {
		char text[400];

		d->manual_told_iter = d->number;
		d->manual_told_step = (long)idx;
		drill_textf(text, sizeof(text), "step %zu \"%s\" is waiting for someone to mark it "
			    "done, failed or skipped", idx + 1, cur->name);
		drill_notify_text(d, NOTIFY_MANUAL_STEP, text);
	}
}

/* Hourly (status-every) while the drill runs: where it is. */
static void status_notify(struct drill *d, int64_t now)
{
	char text[700], t[32], el[32];
	size_t used, idx;
	const struct scenario_step *cur;

	if (!notifier_status_due(d->notify, now))
		return;
	drill_textf(text, sizeof(text), "still running: phase %s for %s", drill_phase_name(d->phase),
		    fd_duration_format(now - d->phase_start, el, sizeof(el)));
	used = strlen(text);
	if (d->has_t0)
		drill_textf(text + used, sizeof(text) - used, ", T0+%s",
			    fd_duration_format(now - d->t0, t, sizeof(t)));
	for (size_t i = 0; d->tracks && i < d->s->n_probes; i++) {
		used = strlen(text);
		drill_textf(text + used, sizeof(text) - used, "%s%s %s", i ? ", " : "; probes ",
			    d->s->probes[i].id, !d->tracks[i].seen ? "?" : d->tracks[i].ok ? "up" : "DOWN");
	}
	cur = step_runner_current(d->steps, &idx);
	if (cur) {
		used = strlen(text);
		drill_textf(text + used, sizeof(text) - used, "; step %zu \"%s\"%s", idx + 1, cur->name,
			    cur->manual ? " waiting" : " running");
	}
	drill_notify_text(d, NOTIFY_STATUS, text);
}

/* ---- polling --------------------------------------------------------------- */

/* One slice of probing plus the housekeeping between slices. */
int drill_poll_slice(struct drill *d, int64_t until, struct fd_error *err)
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
	drill_flush_samples(d);
	now = fd_mono_ns();
	if (d->applied)
		drill_flows_poll(d, now);
	drill_fleet_tick(d, now);
	advance_steps(d, now);
	serve_laps(d);
	serve_warroom(d);
	status_notify(d, now);
	drill_notify_drain(d);
	drill_tell_release(d, false);
	if (now - d->last_refresh >= REFRESH_NS)
		drill_tell(d, NULL);
	if (rc < 0)
		return rc;
	if (d->fatal_rc < 0) {
		*err = d->fatal_err;
		return d->fatal_rc;
	}
	return 0;
}

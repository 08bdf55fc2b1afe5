/*
 * The slice loop: time is driven from here. The scorer runs its probe loop
 * only inside scorer_poll(), which drill_poll_slice() calls in short slices
 * (SLICE_NS); between slices the drill flushes samples, reads the flow log,
 * advances the runbook, answers lap requests and drains webhook reports.
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

/* ---- laps and steps -------------------------------------------------------- */

/* "by alice (incident-commander): NOTE": who marked it, under their drill role. */
static void lap_text(const struct drill *d, const char *who, const char *note, char *buf,
		     size_t len)
{
	char role[64];

	if (!who || !*who) {
		drill_textf(buf, len, "%s", note);
		return;
	}
	drill_role_of(d->participants, who, role, sizeof(role));
	drill_textf(buf, len, "by %s%s%s%s%s%s", who, *role ? " (" : "", role, *role ? ")" : "",
		    *note ? ": " : "", note);
}

static void mark_lap(struct drill *d, const char *who, const char *note, bool *done, char *reply,
		     size_t len)
{
	struct store_lap lap;
	char dur[32], text[600];
	long idx = -EAGAIN;

	lap_text(d, who, note, text, sizeof(text));
	if (d->steps && d->phase == DRILL_PHASE_WATCH)
		idx = step_runner_mark(d->steps, fd_mono_ns(), text, &lap);
	*done = idx >= 0;
	if (idx < 0) {
		drill_textf(reply, len, "no manual step is waiting (phase %s)", drill_phase_name(d->phase));
		return;
	}
	drill_record_lap(d, &lap);
	drill_textf(reply, len, "lap %ld \"%s\" done in %s", idx + 1, lap.name,
		 fd_duration_format(lap.ended_mono_ns - lap.started_mono_ns, dur, sizeof(dur)));
}

/* Enter on the terminal and `firedrill lap` requests. */
static void serve_laps(struct drill *d)
{
	char note[512], reply[512], line[256], who[128];
	struct pollfd pfd;
	bool done;
	ssize_t n;

	while (d->laps && lap_server_poll(d->laps, who, sizeof(who), note, sizeof(note)) == 1) {
		mark_lap(d, who, note, &done, reply, sizeof(reply));
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
			mark_lap(d, d->operator_name, "Enter on the terminal", &done, reply,
				 sizeof(reply));
	}
}

static void advance_steps(struct drill *d, int64_t now)
{
	struct store_lap lap;

	if (!d->steps)
		return;
	while (step_runner_tick(d->steps, now, &lap) >= 0)
		drill_record_lap(d, &lap);
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

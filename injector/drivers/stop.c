/*
 * stop: SIGSTOP to the matched processes for the fault's duration, SIGCONT
 * on revert. Revert works from the journal spec alone (pid + start time per
 * process), so the guardian or `firedrill revert` can resume them; a process
 * gone or replaced by a recycled pid is skipped, and one that was already
 * stopped before the drill is left stopped.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver.h"
#include "fd_time.h"
#include "procmatch.h"

#define STOP_CONFIRM_NS (2 * FD_NS_PER_S)

static int stop_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			void **state, struct fd_error *err)
{
	struct procmatch_fault *pf;
	int rc = procmatch_fault_prepare(f, ctx, &pf, err);

	*state = pf;
	return rc;
}

static void stop_describe(const void *state, char *buf, size_t len)
{
	const struct procmatch_fault *ss = state;
	char dur[32], list[768];

	procmatch_set_format(&ss->procs, list, sizeof(list));
	snprintf(buf, len, "stop (SIGSTOP) %zu process%s for %s: %s", ss->procs.n,
		 ss->procs.n == 1 ? "" : "es",
		 fd_duration_format(ss->duration_ns, dur, sizeof(dur)), list);
}

static json_t *stop_spec(const void *state)
{
	const struct procmatch_fault *ss = state;

	return json_pack("{s:s, s:s, s:o*}", "driver", "stop", "fault", ss->fault_id, "procs",
			 procmatch_set_to_json(&ss->procs));
}

/* Waits (bounded) until every still-running process reports state T, so
 * that "applied" means stopped, not merely signalled. */
static void wait_stopped(const struct procmatch_set *s)
{
	int64_t deadline = fd_mono_ns() + STOP_CONFIRM_NS;
	const struct timespec tick = { 0, 5 * 1000 * 1000 };
	size_t i;

	for (i = 0; i < s->n && fd_mono_ns() < deadline;) {
		struct procmatch_stat st;

		if (procmatch_read_stat(s->procs[i].pid, &st) < 0 ||
		    st.start != s->procs[i].start || st.state == 'T' || st.state == 'Z') {
			i++;
			continue;
		}
		nanosleep(&tick, NULL);
	}
}

static int stop_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	struct procmatch_fault *ss = state;
	int rc;

	rc = procmatch_signal_set(&ss->procs, SIGSTOP, SIGCONT, ss->fault_id, NULL, err);
	if (rc == 0)
		wait_stopped(&ss->procs);
	return rc;
}

static int stop_revert(const json_t *spec, struct fd_error *err)
{
	struct procmatch_set procs = { 0 };
	const char *fault = "?";
	size_t i;
	int rc, first = 0;

	json_unpack((json_t *)spec, "{s?s}", "fault", &fault);
	rc = procmatch_set_from_json(json_object_get(spec, "procs"), &procs, err);
	if (rc < 0) {
		fd_error_prefix(err, "fault %s", fault);
		return rc;
	}
	for (i = 0; i < procs.n; i++) {
		const struct procmatch_proc *p = &procs.procs[i];

		if (p->was_stopped)
			continue;
		rc = procmatch_signal(p->pid, p->start, SIGCONT);
		if (rc == -ESRCH || rc == -ESTALE || rc == 0)
			continue;
		/* Keep resuming the others; report the first failure. */
		if (first == 0)
			first = fd_error_set(err, FD_ERR_ENV, rc,
					     "fault %s: pid %d (%s): sending CONT: %s", fault,
					     (int)p->pid, p->cmdline, strerror(-rc));
	}
	procmatch_set_clear(&procs);
	return first;
}

const struct injector_driver driver_stop = {
	.name = "stop",
	.kind = FAULT_STOP,
	.kernel_expires = false,
	.revert_text = "SIGCONT",
	.guards = INJ_GUARD_PID,
	.prepare = stop_prepare,
	.describe = stop_describe,
	.spec = stop_spec,
	.apply = stop_apply,
	.revert = stop_revert,
	.free_state = procmatch_fault_free,
};

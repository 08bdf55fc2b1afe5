/*
 * kill: sends the scenario's signal (default TERM) to the matched
 * processes. Nothing to revert: the service's recovery is what the drill
 * measures, so revert is a successful no-op.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "procmatch.h"

static int kill_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			void **state, struct fd_error *err)
{
	struct procmatch_fault *pf;
	int rc;

	*state = NULL;
	if (f->signal >= NSIG)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "fault %s: bad signal %d", f->id,
				    f->signal);
	rc = procmatch_fault_prepare(f, ctx, &pf, err);
	*state = pf;
	return rc;
}

static void kill_describe(const void *state, char *buf, size_t len)
{
	const struct procmatch_fault *ks = state;
	char sig[32], list[768];

	procmatch_set_format(&ks->procs, list, sizeof(list));
	snprintf(buf, len, "kill with SIG%s %zu process%s: %s",
		 procmatch_signal_name(ks->signal, sig, sizeof(sig)), ks->procs.n,
		 ks->procs.n == 1 ? "" : "es", list);
}

static json_t *kill_spec(const void *state)
{
	const struct procmatch_fault *ks = state;

	return json_pack("{s:s, s:s, s:i, s:o*}", "driver", "kill", "fault", ks->fault_id,
			 "signal", ks->signal, "procs", procmatch_set_to_json(&ks->procs));
}

static int kill_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	struct procmatch_fault *ks = state;

	return procmatch_signal_set(&ks->procs, ks->signal, 0, ks->fault_id, NULL, err);
}

static int kill_revert(const json_t *spec, struct fd_error *err)
{
	return 0;
}

const struct injector_driver driver_kill = {
	.name = "kill",
	.kind = FAULT_KILL,
	/* Nothing outlives the signal, but the guardian's no-op revert is what
	 * marks the journal row done at the max duration. */
	.kernel_expires = false,
	.revert_text = "none (restarting it is the test)",
	.guards = INJ_GUARD_PID,
	.prepare = kill_prepare,
	.describe = kill_describe,
	.spec = kill_spec,
	.apply = kill_apply,
	.revert = kill_revert,
	.free_state = procmatch_fault_free,
};

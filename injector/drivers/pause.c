/*
 * pause: a container's cgroup frozen, as `podman pause` / `docker pause`
 * do, but journaled and guarded by firedrill: the guardian and `firedrill
 * revert` thaw it if firedrill dies. It is the freeze driver applied to the
 * cgroup of the fault's own container, else the scope's (driver_ctx.scope_pid,
 * its main process): cgroup v2 `cgroup.freeze`, or on v1 and hybrid hosts the
 * freezer controller's `freezer.state` at the container's freezer cgroup
 * (freeze.c picks, and refuses a root cgroup or one holding firedrill).
 * The journal spec is freeze's, so the revert is freeze's thaw.
 */
#include <errno.h>
#include <string.h>

#include "driver.h"

static int pause_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			 void **state, struct fd_error *err)
{
	struct scenario_fault g = *f;

	*state = NULL;
	if (!ctx || ctx->scope_pid <= 0)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "fault %s: pause freezes a container's cgroup; it needs container: "
				    "NAME on the fault or scope: {container: NAME}", f->id);
	memset(&g.process, 0, sizeof(g.process));
	g.process.pid = ctx->scope_pid;
	g.cgroup = NULL;
	return driver_freeze.prepare(&g, ctx, state, err);
}

static void pause_describe(const void *state, char *buf, size_t len)
{
	driver_freeze.describe(state, buf, len);
}

static json_t *pause_spec(const void *state)
{
	return driver_freeze.spec(state);
}

static int pause_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	return driver_freeze.apply(state, ctx, err);
}

static int pause_revert(const json_t *spec, struct fd_error *err)
{
	return driver_freeze.revert(spec, err);
}

static void pause_free(void *state)
{
	driver_freeze.free_state(state);
}

const struct injector_driver driver_pause = {
	.name = "pause",
	.kind = FAULT_PAUSE,
	.kernel_expires = false,
	.revert_text = "thaw the container's cgroup",
	.guards = 0,
	.prepare = pause_prepare,
	.describe = pause_describe,
	.spec = pause_spec,
	.apply = pause_apply,
	.revert = pause_revert,
	.free_state = pause_free,
};

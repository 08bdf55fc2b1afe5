/* Placeholder: the real kill driver follows. */
#include <errno.h>

#include "driver.h"

static int placeholder_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			       void **state, struct fd_error *err)
{
	(void)ctx;
	*state = NULL;
	return fd_error_set(err, FD_ERR_INTERNAL, -ENOSYS, "fault %s: kill driver not implemented yet",
			    f->id);
}

static void placeholder_describe(const void *state, char *buf, size_t len)
{
	(void)state;
	if (len)
		buf[0] = '\0';
}

static json_t *placeholder_spec(const void *state)
{
	(void)state;
	return json_object();
}

static int placeholder_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	return fd_error_set(err, FD_ERR_INTERNAL, -ENOSYS, "kill driver not implemented yet");
}

static int placeholder_revert(const json_t *spec, struct fd_error *err)
{
	return 0;
}

static void placeholder_free(void *state)
{
	(void)state;
}

const struct injector_driver driver_kill = {
	.name = "kill",
	.kind = FAULT_KILL,
	.kernel_expires = false,
	.prepare = placeholder_prepare,
	.describe = placeholder_describe,
	.spec = placeholder_spec,
	.apply = placeholder_apply,
	.revert = placeholder_revert,
	.free_state = placeholder_free,
};

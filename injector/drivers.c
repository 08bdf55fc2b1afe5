/*
 * The one table of fault drivers, indexed by enum fault_kind. A new fault
 * kind is one file in drivers/ plus one row here.
 */
#include <stddef.h>
#include <string.h>

#include "driver.h"

static const struct injector_driver *const drivers[FAULT_KIND_COUNT] = {
	[FAULT_DROP] = &driver_drop,
	[FAULT_REJECT] = &driver_reject,
	[FAULT_BLACKHOLE_ROUTE] = &driver_blackhole_route,
	[FAULT_UNREACHABLE_ROUTE] = &driver_unreachable_route,
	[FAULT_PROHIBIT_ROUTE] = &driver_prohibit_route,
	[FAULT_LINK_DOWN] = &driver_link_down,
	[FAULT_DELAY] = &driver_delay,
	[FAULT_LOSS] = &driver_loss,
	[FAULT_RATE] = &driver_rate,
	[FAULT_KILL] = &driver_kill,
	[FAULT_STOP] = &driver_stop,
	[FAULT_FREEZE] = &driver_freeze,
	[FAULT_EXEC] = &driver_exec,
	[FAULT_PAUSE] = &driver_pause,
};

const struct injector_driver *injector_driver_for(enum fault_kind kind)
{
	if ((unsigned)kind >= FAULT_KIND_COUNT)
		return NULL;
	return drivers[kind];
}

const struct injector_driver *injector_driver_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < FAULT_KIND_COUNT; i++)
		if (drivers[i] && strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

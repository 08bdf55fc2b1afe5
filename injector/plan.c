/*
 * injector_plan_describe: the drivers' part of the plan. The plan object
 * is scenarios/'s (data flows scenarios -> injector); each driver row says
 * how its fault is undone and which guards apply, and the cidr guard is
 * the same function prepare uses (targets.c).
 */
#include <errno.h>
#include <string.h>

#include "driver.h"
#include "injector.h"
#include "injector_int.h"
#include "scenario_plan.h"

static int fault_guards(struct scenario_plan *p, const struct scenario_fault *f, unsigned guards)
{
	/* from the model: a fault in a place of its own or a scoped drill is
	 * taken to be outside the host's namespace (prepare judges inside it) */
	bool host_ns = !scenario_has_scope(p->s) && !scenario_place_set(&f->place);
	char buf[FD_CIDR_STRLEN];
	int rc = 0;

	for (size_t k = 0; (guards & INJ_GUARD_CIDRS) && k < f->targets.n_cidrs && rc == 0; k++) {
		const char *why = inj_guard_cidr(&f->targets.cidrs[k], host_ns);

		if (why)
			rc = scenario_plan_add_guard(p, f->id, fd_cidr_format(&f->targets.cidrs[k], buf,
									      sizeof(buf)), why);
	}
	if (rc == 0 && (guards & INJ_GUARD_LINK) && f->link && host_ns && strcmp(f->link, "lo") == 0)
		rc = scenario_plan_add_guard(p, f->id, "lo", "the host's loopback");
	if (rc == 0 && (guards & INJ_GUARD_PID) && f->process.pid == 1)
		rc = scenario_plan_add_guard(p, f->id, "pid 1", "init");
	return rc;
}

int injector_plan_describe(struct scenario_plan *p)
{
	for (size_t i = 0; i < p->s->n_faults; i++) {
		struct scenario_plan_fault *pf = &p->faults[i];
		const struct injector_driver *d = injector_driver_for(pf->f->kind);

		if (!d)
			return -EINVAL;
		pf->revert = d->revert_text_for ? d->revert_text_for(pf->f) : d->revert_text;
		if (fault_guards(p, pf->f, d->guards) < 0)
			return -ENOMEM;
	}
	return 0;
}

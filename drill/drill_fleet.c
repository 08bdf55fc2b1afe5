/*
 * drill_fleet: a drill whose faults are on other hosts too (docs/fleet.md).
 * The coordinator's side of drill_run(): the local share of the faults
 * goes to the injector as always; the others go to fleet/, which runs an
 * agent on each host over ssh. This file puts the two together:
 *
 *   setup    the local share is a copy of the scenario with only the faults
 *            that are on the local host; every host prepares after the
 *            local faults did, before the drill row exists (a host that
 *            refuses leaves no drill behind and nothing applied anywhere)
 *   inject   apply is sent to every host, the local faults are applied,
 *            then every confirmation is read. T0 is the last confirmation
 *            (the local one included); each host's instant and the spread
 *            go to the timeline
 *   slices   heartbeats and the agents' notices (partition, expiry)
 *   revert   every host, then the local faults (drill_phases.c)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drill_internal.h"
#include "fleet.h"
#include "injector.h"

static bool keep_local(const struct scenario_fault *f, void *arg)
{
	const struct scenario *s = arg;

	for (size_t i = 0; i < s->n_faults; i++)
		if (strcmp(s->faults[i].id, f->id) == 0)
			return scenario_fault_is_local(&s->faults[i]);
	return false;
}

/* A remote name that never met an inventory: refused at its on: item. */
static int check_resolved(const struct scenario *s, struct fd_error *err)
{
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct scenario_fault *f = &s->faults[i];

		for (size_t j = 0; !f->on_resolved && j < f->n_on; j++)
			if (strcmp(f->on[j], "local") != 0)
				return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
						    "%s:%d:%d: error: fault \"%s\": on: \"%s\" needs an inventory "
						    "(hosts: in the scenario, or --inventory FILE)",
						    s->path, f->on_loc[j].line, f->on_loc[j].col, f->id, f->on[j]);
	}
	return 0;
}

int drill_fleet_local(struct drill *d, const struct scenario **local, struct fd_error *err)
{
	int rc;

	*local = d->s;
	if (!scenario_is_fleet(d->s))
		return 0;
	rc = check_resolved(d->s, err);
	if (rc < 0)
		return rc;
	/* the same text read again, so the copy owns all it holds */
	rc = scenario_load_buffer(d->s->path, d->s->text, d->s->text_len, &d->local, err);
	if (rc < 0)
		return rc;
	scenario_keep_faults(d->local, keep_local, (void *)d->s);
	*local = d->local;
	return 0;
}

int drill_fleet_prepare(struct drill *d, struct fd_error *err)
{
	struct fleet_opts fo = { .force = d->o->force };
	int rc;

	if (!d->local)
		return 0;
	rc = fleet_open(d->s, &fo, &d->fleet, err);
	if (rc == 0)
		rc = fleet_prepare(d->fleet, err);
	return rc;
}

void drill_fleet_notes(struct drill *d)
{
	char subject[160];

	for (size_t h = 0; h < fleet_host_count(d->fleet); h++)
		for (size_t i = 0; i < fleet_fault_count(d->fleet, h); i++) {
			drill_textf(subject, sizeof(subject), "%s@%s", fleet_fault_id(d->fleet, h, i),
				    fleet_host_name(d->fleet, h));
			drill_event(d, "note", subject, fleet_fault_summary(d->fleet, h, i));
		}
}

int drill_fleet_apply_begin(struct drill *d, struct fd_error *err)
{
	return d->fleet ? fleet_apply_begin(d->fleet, err) : 0;
}

/* After the local apply (at local_ns): every host's confirmation; T0. */
int drill_fleet_apply_end(struct drill *d, int64_t local_ns, int64_t *t0, struct fd_error *err)
{
	size_t n = fleet_host_count(d->fleet), first = 0, last = 0;
	char detail[400], a[32], b[32], c[32];
	int rc;

	*t0 = local_ns;
	if (!d->fleet)
		return 0;
	rc = fleet_apply_end(d->fleet, err);
	if (rc < 0)
		return rc;
	for (size_t h = 0; h < n; h++) {
		int64_t at = fleet_host_applied_ns(d->fleet, h);

		if (at > *t0)
			*t0 = at;
		if (at < fleet_host_applied_ns(d->fleet, first))
			first = h;
		if (at > fleet_host_applied_ns(d->fleet, last))
			last = h;
	}
	for (size_t h = 0; h < n; h++) {
		int64_t at = fleet_host_applied_ns(d->fleet, h);

		drill_textf(detail, sizeof(detail),
			    "%zu fault(s) confirmed at T0-%s: apply sent at T0-%s, %s on the host",
			    fleet_fault_count(d->fleet, h), fd_duration_format(*t0 - at, a, sizeof(a)),
			    fd_duration_format(*t0 - fleet_host_sent_ns(d->fleet, h), b, sizeof(b)),
			    fd_duration_format(fleet_host_apply_took_ns(d->fleet, h), c, sizeof(c)));
		drill_event_at(d, at, "host-applied", fleet_host_name(d->fleet, h), detail);
	}
	drill_textf(detail, sizeof(detail),
		    "%zu host(s) confirmed within %s (first %s, last %s); T0 is the last confirmation%s%s",
		    n,
		    fd_duration_format(fleet_host_applied_ns(d->fleet, last) -
					       fleet_host_applied_ns(d->fleet, first), a, sizeof(a)),
		    fleet_host_name(d->fleet, first), fleet_host_name(d->fleet, last),
		    d->local && d->local->n_faults ? "; the local faults at T0-" : "",
		    d->local && d->local->n_faults ? fd_duration_format(*t0 - local_ns, b, sizeof(b)) : "");
	drill_event_at(d, *t0, "fleet-spread", "apply", detail);
	for (size_t h = 0; h < n; h++)
		for (size_t i = 0; i < fleet_fault_count(d->fleet, h); i++) {
			char subject[160];

			drill_textf(subject, sizeof(subject), "%s@%s", fleet_fault_id(d->fleet, h, i),
				    fleet_host_name(d->fleet, h));
			drill_event_at(d, *t0, "fault-applied", subject,
				       fleet_fault_summary(d->fleet, h, i));
		}
	return 0;
}

static void on_notice(void *user, const char *host, const char *kind, const char *detail,
		      int64_t mono_ns)
{
	drill_event_at(user, mono_ns, kind, host, detail);
}

void drill_fleet_tick(struct drill *d, int64_t now)
{
	if (d->fleet)
		fleet_tick(d->fleet, now, on_notice, d);
}

int drill_fleet_revert(struct drill *d, struct fd_error *err)
{
	int rc;

	if (!d->fleet)
		return 0;
	rc = fleet_revert(d->fleet, on_notice, d, err);
	if (rc < 0) {
		drill_event(d, "note", "fleet revert", err->msg);
		return rc;
	}
	for (size_t h = 0; h < fleet_host_count(d->fleet); h++)
		for (size_t i = 0; !fleet_host_lost(d->fleet, h) && i < fleet_fault_count(d->fleet, h); i++) {
			char subject[160];

			drill_textf(subject, sizeof(subject), "%s@%s", fleet_fault_id(d->fleet, h, i),
				    fleet_host_name(d->fleet, h));
			drill_event(d, "fault-reverted", subject, NULL);
		}
	return 0;
}

void drill_fleet_close(struct drill *d)
{
	fleet_close(d->fleet);
	d->fleet = NULL;
	scenario_free(d->local);
	d->local = NULL;
}

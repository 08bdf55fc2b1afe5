/*
 * scenario_recovery: how health is judged, with probe references resolved
 * to indices: steady-state (before injecting), stop-if-failing (abort the
 * drill), recovery with its runbook steps, and failback.
 */
#include "scenario_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"

/* ------------------------------------------------ steady state and stop-if */

static int ss_probes(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;

	return scenario_read_probe_refs(c, v, &s->steady_state, &s->n_steady_state);
}

static const struct field steady_fields[] = {
	{ "probes", ss_probes, ALL_KINDS, 0, false },
};

int scenario_read_steady_state(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk_section(c, "steady-state", v, steady_fields, N_ELEM(steady_fields),
				     obj);
}

static int si_probe(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_probe_ref(c, v, &((struct scenario_stop_if *)obj)->probe);
}

static int si_for(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_stop_if *)obj)->for_ns, false);
}

static const struct field stop_if_fields[] = {
	{ "probe", si_probe, ALL_KINDS, 0, false },
	{ "for", si_for, 0, 0, false },
};

static int read_stop_if(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk(c, v, stop_if_fields, N_ELEM(stop_if_fields), obj, ALL_KINDS, NULL,
			     NULL);
}

int scenario_read_stop_if(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = {
		.size = sizeof(struct scenario_stop_if), .item = read_stop_if,
		.what = "a list of {probe, for}", .empty_ok = true, .where = "stop-if-failing",
	};
	struct scenario *s = obj;

	return scenario_read_list(c, v, &spec, (void **)&s->stop_if, &s->n_stop_if);
}

/* ------------------------------------------------------------------- steps */

static int st_name(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_step *)obj)->name);
}

static int st_run(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_step *)obj)->run);
}

static int st_manual(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_bool(c, v, &((struct scenario_step *)obj)->manual);
}

static int st_timeout(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_step *)obj)->timeout_ns, true);
}

static int st_on_failure(struct lctx *c, const struct ynode *v, void *obj)
{
	static const char *const words[] = { "stop", "continue" };
	long w;
	int r = scenario_read_scalar(c, v, "stop or continue");

	if (r)
		return r;
	w = scenario_name_index(v->str, words, N_ELEM(words));
	if (w < 0)
		return scenario_fail_unknown(c, v, "on-failure: unknown value", v->str, words,
					     N_ELEM(words));
	((struct scenario_step *)obj)->on_failure_continue = w == 1;
	return 0;
}

static const struct field step_fields[] = {
	{ "name", st_name, ALL_KINDS, 0, false },
	{ "run", st_run, 0, 0, false },
	{ "manual", st_manual, 0, 0, false },
	{ "timeout", st_timeout, 0, 0, false },
	{ "on-failure", st_on_failure, 0, 0, false },
	SCENARIO_PLACE_FIELDS(0),
};

/* A step without a timeout of its own gets the recovery's (read before the steps). */
static int read_step(struct lctx *c, const struct ynode *map, void *obj)
{
	struct scenario_step *st = obj;
	const struct ynode *name = scenario_map_get(map, "name");
	char saved[sizeof(c->where)];
	int r;

	if (name && name->type == YNODE_SCALAR && !scenario_is_null(name) && name->len <= 64)
		scenario_where_push(c, saved, sizeof(saved), "step \"%s\"", name->str);
	else
		scenario_where_push(c, saved, sizeof(saved), "step #%zu", c->index + 1);
	c->place = &st->place;
	r = scenario_walk(c, map, step_fields, N_ELEM(step_fields), st, ALL_KINDS, NULL, NULL);
	c->place = NULL;
	if (r == 0)
		r = scenario_check_place(c, map, "a step");
	if (r == 0 && st->manual && scenario_place_set(&st->place))
		r = scenario_fail(c, scenario_map_key(map, "manual"),
				  "a manual step is done by a person, not run in a place; drop its %s:",
				  st->place.container ? "container" : st->place.netns ? "netns" :
				  st->place.netns_path ? "netns-path" : "pid");
	if (r == 0 && st->run && st->manual)
		r = scenario_fail(c, map,
				  "has both \"run\" and \"manual: true\"; a step is either automated or manual");
	if (r == 0 && !st->run && !st->manual)
		r = scenario_fail(c, map, "needs run: COMMAND or manual: true");
	if (r == 0 && !st->timeout_ns)
		st->timeout_ns = c->s->recovery.timeout_ns;
	scenario_where_pop(c, saved);
	return r;
}

/* ------------------------------------------------------ recovery, failback */

enum { CRIT_RECOVERY, CRIT_FAILBACK };

static int cr_all(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_criterion *cr = obj;

	cr->mode = CRITERION_ALL;
	return scenario_read_probe_refs(c, v, &cr->probes, &cr->n_probes);
}

static int cr_any(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_criterion *cr = obj;

	cr->mode = CRITERION_ANY;
	return scenario_read_probe_refs(c, v, &cr->probes, &cr->n_probes);
}

static int cr_stable_for(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_criterion *)obj)->stable_for_ns,
				      false);
}

static int cr_timeout(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_criterion *)obj)->timeout_ns, true);
}

/*
 * recovery.resolution applies to probes sampled at an interval, must be
 * finer than each one's interval, and must not keep more than
 * SCENARIO_RESOLUTION_MAX_INFLIGHT requests of one probe in flight when
 * every request hangs until its timeout (a blackhole): the scorer sends
 * open-loop, so the timeout / resolution requests are what an outage costs.
 */
static int check_resolution(struct lctx *c, const struct ynode *v,
			    const struct scenario_criterion *cr)
{
	int64_t res = cr->resolution_ns;
	char a[32], b[32];

	for (size_t i = 0; i < cr->n_probes; i++) {
		const struct scenario_probe *p = &c->s->probes[cr->probes[i]];
		int64_t need = (p->timeout_ns + SCENARIO_RESOLUTION_MAX_INFLIGHT - 1) /
			       SCENARIO_RESOLUTION_MAX_INFLIGHT;

		if (p->kind == PROBE_LOG || p->kind == PROBE_PCAP)
			return scenario_fail(c, v,
					     "resolution: probe \"%s\" is a %s probe: its events are timed as they happen; a resolution applies to probes sampled at an interval",
					     p->id, scenario_probe_kind_name(p->kind));
		if (res >= p->interval_ns)
			return scenario_fail(c, v,
					     "resolution: %s is not finer than probe \"%s\"'s interval (%s)",
					     v->str, p->id,
					     fd_duration_format(p->interval_ns, a, sizeof(a)));
		if (res < need)
			return scenario_fail(c, v,
					     "resolution: %s would keep up to %lld requests of probe \"%s\" in flight when they hang until its timeout (%s); at most %d: use at least %s or a shorter probe timeout",
					     v->str, (long long)((p->timeout_ns + res - 1) / res), p->id,
					     fd_duration_format(p->timeout_ns, a, sizeof(a)),
					     SCENARIO_RESOLUTION_MAX_INFLIGHT,
					     fd_duration_format(need, b, sizeof(b)));
	}
	return 0;
}

/* Read after all/any (table order), so the criterion's probes are known. */
static int cr_resolution(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_criterion *cr = obj;
	int r = scenario_read_duration(c, v, &cr->resolution_ns, true);

	if (r == 0 && cr->resolution_ns < SCENARIO_RESOLUTION_MIN_NS)
		r = scenario_fail(c, v, "resolution: must be at least 1ms, got \"%s\"", v->str);
	return r ? r : check_resolution(c, v, cr);
}

/* A failback step is a command: nobody is waiting at a terminal between
 * iterations. Its default timeout (0 here) is the failback's, applied by
 * the drill, since failback.timeout may come after the steps. */
static int read_failback_step(struct lctx *c, const struct ynode *map, void *obj)
{
	int64_t recovery_timeout = c->s->recovery.timeout_ns;
	const struct ynode *manual = map->type == YNODE_MAP ? scenario_map_get(map, "manual") : NULL;
	int r;

	if (manual)
		return scenario_fail(c, manual, "step #%zu: failback steps are commands "
				     "(\"manual\" is for the recovery runbook only)", c->index + 1);
	if (map->type == YNODE_MAP && scenario_map_get(map, "on-failure"))
		return scenario_fail(c, scenario_map_get(map, "on-failure"),
				     "step #%zu: every failback step runs, whatever the one before "
				     "did (\"on-failure\" is for the recovery runbook only)",
				     c->index + 1);
	if (map->type == YNODE_MAP && !scenario_map_get(map, "run"))
		return scenario_fail(c, map, "step #%zu: needs run: COMMAND", c->index + 1);
	c->s->recovery.timeout_ns = 0; /* read_step's default is the recovery's */
	r = read_step(c, map, obj);
	c->s->recovery.timeout_ns = recovery_timeout;
	return r;
}

/* The steps belong to the scenario, not to the criterion they are read with. */
static int cr_steps(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = {
		.size = sizeof(struct scenario_step), .item = read_step,
		.what = "a list of steps", .empty_ok = true,
	};
	static const struct list_spec failback_spec = {
		.size = sizeof(struct scenario_step), .item = read_failback_step,
		.what = "a list of steps", .empty_ok = true,
	};
	struct scenario *s = c->s;

	if (obj == &s->failback)
		return scenario_read_list(c, v, &failback_spec, (void **)&s->failback_steps,
					  &s->n_failback_steps);
	return scenario_read_list(c, v, &spec, (void **)&s->steps, &s->n_steps);
}

/* recovery.detect: the probe whose first failure after T0 is the detection. */
static int cr_detect(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_criterion *cr = obj;

	cr->has_detect = true;
	return scenario_read_probe_ref(c, v, &cr->detect_probe);
}

static const struct field criterion_fields[] = {
	{ "all", cr_all, 0, 0, false },
	{ "any", cr_any, 0, 0, false },
	{ "resolution", cr_resolution, 0, BIT(CRIT_RECOVERY), false },
	{ "stable-for", cr_stable_for, 0, 0, false },
	{ "timeout", cr_timeout, ALL_KINDS, 0, false },
	{ "steps", cr_steps, 0, BIT(CRIT_RECOVERY) | BIT(CRIT_FAILBACK), false },
	{ "detect", cr_detect, 0, BIT(CRIT_RECOVERY), false },
};

static int read_criterion(struct lctx *c, const struct ynode *v, struct scenario_criterion *cr,
			  int which)
{
	static const char *const modes[] = { "all", "any" };
	const char *name = which == CRIT_RECOVERY ? "recovery" : "failback";
	char saved[sizeof(c->where)];
	int mode = -1, r;

	scenario_where_push(c, saved, sizeof(saved), "%s", name);
	r = scenario_pick_one(c, v, modes, 2, "the criterion is one or the other", &mode);
	if (r == 0)
		r = scenario_walk(c, v, criterion_fields, N_ELEM(criterion_fields), cr, BIT(which),
				  name, NULL);
	if (r == 0 && mode < 0)
		r = scenario_fail(c, v, "needs all: [PROBE...] or any: [PROBE...]");
	scenario_where_pop(c, saved);
	return r;
}

int scenario_read_recovery(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_criterion(c, v, &((struct scenario *)obj)->recovery, CRIT_RECOVERY);
}

int scenario_read_failback(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;

	s->has_failback = true;
	return read_criterion(c, v, &s->failback, CRIT_FAILBACK);
}

/* ------------------------------------------------------------ key tables */

const struct key_table *scenario_tables_recovery(size_t *n)
{
	static const struct key_table tables[] = {
		{ "steady-state", steady_fields, N_ELEM(steady_fields) },
		{ "stop-if", stop_if_fields, N_ELEM(stop_if_fields) },
		{ "step", step_fields, N_ELEM(step_fields) },
		{ "criterion", criterion_fields, N_ELEM(criterion_fields) },
	};

	*n = N_ELEM(tables);
	return tables;
}

/*
 * scenario_faults: the faults: section. The kind is read first because it
 * decides which keys a fault accepts and needs (the K_* kind sets below).
 */
#include "scenario_load.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"
#include "scenario_values.h"

#define K_FILTER (BIT(FAULT_DROP) | BIT(FAULT_REJECT))
#define K_ROUTE (BIT(FAULT_BLACKHOLE_ROUTE) | BIT(FAULT_UNREACHABLE_ROUTE) | BIT(FAULT_PROHIBIT_ROUTE))
#define K_LINK (BIT(FAULT_LINK_DOWN) | BIT(FAULT_DELAY) | BIT(FAULT_LOSS) | BIT(FAULT_RATE))
#define K_PROC (BIT(FAULT_KILL) | BIT(FAULT_STOP) | BIT(FAULT_FREEZE))

static const char *const fault_kind_names[FAULT_KIND_COUNT] = {
	[FAULT_DROP] = "drop",
	[FAULT_REJECT] = "reject",
	[FAULT_BLACKHOLE_ROUTE] = "blackhole-route",
	[FAULT_UNREACHABLE_ROUTE] = "unreachable-route",
	[FAULT_PROHIBIT_ROUTE] = "prohibit-route",
	[FAULT_LINK_DOWN] = "link-down",
	[FAULT_DELAY] = "delay",
	[FAULT_LOSS] = "loss",
	[FAULT_RATE] = "rate",
	[FAULT_KILL] = "kill",
	[FAULT_STOP] = "stop",
	[FAULT_FREEZE] = "freeze",
	[FAULT_EXEC] = "exec",
	[FAULT_PAUSE] = "pause",
};

const char *scenario_fault_kind_name(enum fault_kind k)
{
	return (unsigned)k < FAULT_KIND_COUNT ? fault_kind_names[k] : "?";
}

/* ---------------------------------------------------------------- targets */

static int t_cidrs(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;

	return scenario_read_cidrs(c, v, &t->cidrs, &t->n_cidrs);
}

static int host_item(struct lctx *c, const struct ynode *v, void *out)
{
	return scenario_read_checked(c, v, out, scenario_value_is_host, "a host name",
				     "a host name");
}

static int t_hosts(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;

	return scenario_read_strs(c, v, &t->hosts, &t->n_hosts, host_item);
}

static int pl_file(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_prefix_list *pl = obj;
	int r = scenario_read_scalar(c, v, "a file path");

	if (r)
		return r;
	/* relative to the scenario's folder, so a scenario and its list travel together */
	if (v->str[0] == '/' || !*c->dir)
		return scenario_read_str(c, v, &pl->file);
	if (asprintf(&pl->file, "%s%s", c->dir, v->str) < 0) {
		pl->file = NULL;
		return scenario_nomem(c);
	}
	return 0;
}

static int pl_service(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_prefix_list *)obj)->service);
}

static int pl_region(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_prefix_list *)obj)->region);
}

static int pl_include_global(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_bool(c, v, &((struct scenario_prefix_list *)obj)->include_global);
}

static const struct field prefix_list_fields[] = {
	{ "file", pl_file, ALL_KINDS, 0, false },
	{ "service", pl_service, 0, 0, false },
	{ "region", pl_region, 0, 0, false },
	{ "include-global", pl_include_global, 0, 0, false },
};

static int t_prefix_list(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;

	t->prefix_list = calloc(1, sizeof(*t->prefix_list));
	if (!t->prefix_list)
		return scenario_nomem(c);
	return scenario_walk_section(c, "prefix-list", v, prefix_list_fields,
				     N_ELEM(prefix_list_fields), t->prefix_list);
}

static int t_protocol(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;
	int r = scenario_read_scalar(c, v, "tcp, udp or any");

	if (r)
		return r;
	if (strcmp(v->str, "tcp") == 0)
		t->protocol = PROTOCOL_TCP;
	else if (strcmp(v->str, "udp") == 0)
		t->protocol = PROTOCOL_UDP;
	else if (strcmp(v->str, "any") == 0)
		t->protocol = PROTOCOL_ANY;
	else
		return scenario_fail(c, v, "protocol: expected tcp, udp or any, got \"%s\"", v->str);
	return 0;
}

static int t_ports(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = {
		.size = sizeof(uint16_t), .item = scenario_read_port, .one_ok = true,
		.what = "a list",
	};
	struct scenario_targets *t = obj;

	return scenario_read_list(c, v, &spec, (void **)&t->ports, &t->n_ports);
}

static const struct field targets_fields[] = {
	{ "cidrs", t_cidrs, 0, 0, false },
	{ "hosts", t_hosts, 0, 0, false },
	{ "prefix-list", t_prefix_list, 0, K_FILTER, false },
	{ "protocol", t_protocol, 0, K_FILTER, false },
	{ "ports", t_ports, 0, K_FILTER, false },
};

static int f_targets(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	struct scenario_targets *t = &f->targets;
	char saved[sizeof(c->where)], kind[64];
	int r;

	snprintf(kind, sizeof(kind), "kind \"%s\"", fault_kind_names[f->kind]);
	scenario_where_push(c, saved, sizeof(saved), "targets");
	r = scenario_walk(c, v, targets_fields, N_ELEM(targets_fields), t, BIT(f->kind), kind,
			  NULL);
	if (r == 0 && BIT(f->kind) & K_FILTER && !t->n_cidrs && !t->n_hosts && !t->prefix_list)
		r = scenario_fail(c, v, "needs at least one of cidrs, hosts, prefix-list");
	if (r == 0 && BIT(f->kind) & K_ROUTE && !t->n_cidrs && !t->n_hosts)
		r = scenario_fail(c, v, "needs cidrs or hosts");
	scenario_where_pop(c, saved);
	return r;
}

/* ---------------------------------------------------- the other fault keys */

static int f_fault_id(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = scenario_read_name(c, v, &f->id, 32);

	for (size_t i = 0; r == 0 && i < c->s->n_faults && &c->s->faults[i] != f; i++)
		if (c->s->faults[i].id && strcmp(c->s->faults[i].id, f->id) == 0)
			r = scenario_fail(c, v, "duplicate fault id \"%s\" (first at line %d)", f->id,
					  c->s->faults[i].loc.line);
	return r;
}

/* The kind is read before the walk (fault_kind()); the walk only accepts the key. */
static int f_noop(struct lctx *c, const struct ynode *v, void *obj)
{
	return 0;
}

static int f_fault_duration(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_fault *)obj)->duration_ns, true);
}

static int f_direction(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = scenario_read_scalar(c, v, "egress or ingress");

	if (r)
		return r;
	if (strcmp(v->str, "egress") == 0)
		f->direction = DIRECTION_EGRESS;
	else if (strcmp(v->str, "ingress") == 0)
		f->direction = DIRECTION_INGRESS;
	else
		return scenario_fail(c, v, "direction: expected egress or ingress, got \"%s\"",
				     v->str);
	return 0;
}

static int f_link(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_checked(c, v, &((struct scenario_fault *)obj)->link,
				     scenario_value_is_ifname, "an interface name",
				     "an interface name (1-15 characters, no '/', ':' or spaces)");
}

static int f_delay(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_fault *)obj)->delay_ns, true);
}

static int f_jitter(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_fault *)obj)->jitter_ns, false);
}

static int f_loss(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = scenario_read_scalar(c, v, "a percentage");

	if (r)
		return r;
	if (scenario_value_number(v->str, &f->loss_percent) || f->loss_percent <= 0 ||
	    f->loss_percent > 100)
		return scenario_fail(c, v,
				     "loss: expected a percentage above 0 and at most 100 such as 5%% or 0.5%%, got \"%s\"",
				     v->str);
	return 0;
}

static int f_rate(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = scenario_read_scalar(c, v, "a rate");

	if (r)
		return r;
	if (scenario_value_rate(v->str, &f->rate_bps))
		return scenario_fail(c, v,
				     "rate: expected bits per second such as 500kbit, 10mbit or 1gbit, got \"%s\"",
				     v->str);
	return 0;
}

static int p_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_regex(c, v, &((struct scenario_process *)obj)->match, 0);
}

static int p_pidfile(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_process *)obj)->pidfile);
}

static int p_pid(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_process *p = obj;
	long pid;
	int r = scenario_read_scalar(c, v, "a process id");

	if (r)
		return r;
	if (scenario_value_int(v->str, 1, 4194304, &pid))
		return scenario_fail(c, v, "pid: expected a process id 1-4194304, got \"%s\"",
				     v->str);
	p->pid = (int)pid;
	return 0;
}

static const struct field process_fields[] = {
	{ "match", p_match, 0, 0, false },
	{ "pidfile", p_pidfile, 0, 0, false },
	{ "pid", p_pid, 0, 0, false },
};

static int f_process(struct lctx *c, const struct ynode *v, void *obj)
{
	static const char *const keys[] = { "match", "pidfile", "pid" };
	struct scenario_fault *f = obj;
	char saved[sizeof(c->where)];
	int which = -1, r;

	scenario_where_push(c, saved, sizeof(saved), "process");
	r = scenario_walk(c, v, process_fields, N_ELEM(process_fields), &f->process, ALL_KINDS,
			  NULL, NULL);
	if (r == 0)
		r = scenario_pick_one(c, v, keys, N_ELEM(keys),
				      "give exactly one way to find the process", &which);
	if (r == 0 && which < 0)
		r = scenario_fail(c, v, "needs exactly one of match, pidfile, pid");
	scenario_where_pop(c, saved);
	return r;
}

static int f_signal(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = scenario_read_scalar(c, v, "a signal name");

	if (r)
		return r;
	if (scenario_value_signal(v->str, &f->signal) == 0)
		return 0;
	return scenario_fail_unknown(c, v, "signal: unknown signal",
				     strncasecmp(v->str, "SIG", 3) == 0 ? v->str + 3 : v->str,
				     scenario_signal_names, scenario_n_signal_names);
}

static int f_cgroup(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_fault *)obj)->cgroup);
}

static int f_inject(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_fault *)obj)->inject_cmd);
}

static int f_revert(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_fault *)obj)->revert_cmd);
}

static int f_timeout(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_fault *)obj)->timeout_ns, true);
}

static const struct field fault_fields[] = {
	{ "id", f_fault_id, ALL_KINDS, 0, false },
	{ "kind", f_noop, ALL_KINDS, 0, false },
	{ "duration", f_fault_duration, ALL_KINDS, 0, false },
	{ "direction", f_direction, 0, K_FILTER, false },
	{ "targets", f_targets, K_FILTER | K_ROUTE, K_FILTER | K_ROUTE, false },
	{ "link", f_link, K_LINK, K_LINK, false },
	{ "delay", f_delay, BIT(FAULT_DELAY), BIT(FAULT_DELAY), false },
	{ "jitter", f_jitter, 0, BIT(FAULT_DELAY), false },
	{ "loss", f_loss, BIT(FAULT_LOSS), BIT(FAULT_LOSS), false },
	{ "rate", f_rate, BIT(FAULT_RATE), BIT(FAULT_RATE), false },
	{ "process", f_process, K_PROC, K_PROC, false },
	{ "signal", f_signal, 0, BIT(FAULT_KILL), false },
	{ "cgroup", f_cgroup, 0, BIT(FAULT_FREEZE), false },
	{ "inject", f_inject, BIT(FAULT_EXEC), BIT(FAULT_EXEC), false },
	{ "revert", f_revert, 0, BIT(FAULT_EXEC), false },
	{ "timeout", f_timeout, 0, BIT(FAULT_EXEC), false },
	{ "on", scenario_read_on, 0, 0, false },
	SCENARIO_PLACE_FIELDS(0),
};

/* ------------------------------------------------------------------ faults */

/* The kind decides which keys apply, so it is read before the walk. */
static int fault_kind(struct lctx *c, const struct ynode *map, enum fault_kind *out)
{
	const struct ynode *v = scenario_map_get(map, "kind");
	char list[512];
	long k;
	int r;

	if (!v)
		return scenario_fail(c, map, "missing required key \"kind\" (one of: %s)",
				     scenario_join(fault_kind_names, FAULT_KIND_COUNT, list,
						   sizeof(list)));
	c->key = "kind";
	r = scenario_read_scalar(c, v, "a fault kind");
	if (r)
		return r;
	k = scenario_name_index(v->str, fault_kind_names, FAULT_KIND_COUNT);
	if (k < 0)
		return scenario_fail_unknown(c, v, "unknown kind", v->str, fault_kind_names,
					     FAULT_KIND_COUNT);
	*out = (enum fault_kind)k;
	return 0;
}

/* A place is looked up where firedrill runs; a fault on other hosts takes
 * its namespace from the host's netns: (docs/fleet.md). */
static int place_is_local(struct lctx *c, const struct ynode *map, const struct scenario_fault *f)
{
	for (size_t i = 0; i < f->n_on; i++)
		if (strcmp(f->on[i], "local") != 0)
			return scenario_fail(c, scenario_map_key(map, "on"),
					     "a place (netns, netns-path, pid, container) is found on this "
					     "host; a fault on other hosts (on: %s) takes its host's netns:",
					     f->on[i]);
	return 0;
}

static int read_fault(struct lctx *c, const struct ynode *map, void *obj)
{
	struct scenario_fault *f = obj;
	char saved[sizeof(c->where)], kind[64];
	int r;

	if (map->type != YNODE_MAP)
		return scenario_expect_map(c, map);
	scenario_where_item(c, map, "fault", saved, sizeof(saved));
	f->loc.line = map->line;
	f->loc.col = map->col;
	f->direction = DIRECTION_EGRESS;
	f->targets.protocol = PROTOCOL_ANY;
	r = fault_kind(c, map, &f->kind);
	if (r == 0) {
		snprintf(kind, sizeof(kind), "kind \"%s\"", fault_kind_names[f->kind]);
		c->place = &f->place;
		r = scenario_walk(c, map, fault_fields, N_ELEM(fault_fields), f, BIT(f->kind),
				  kind, NULL);
		c->place = NULL;
	}
	if (r == 0)
		r = scenario_check_place(c, map, "a fault");
	if (r == 0 && scenario_place_set(&f->place))
		r = place_is_local(c, map, f);
	if (r == 0 && f->kind == FAULT_KILL && !f->signal)
		f->signal = SIGTERM;
	if (r == 0 && f->kind == FAULT_EXEC && !f->timeout_ns)
		f->timeout_ns = 60 * FD_NS_PER_S;
	scenario_where_pop(c, saved);
	return r;
}

int scenario_read_faults(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = {
		.size = sizeof(struct scenario_fault), .item = read_fault,
		.what = "a list of faults", .why = " (a drill breaks at least one thing)",
	};
	struct scenario *s = obj;

	return scenario_read_list(c, v, &spec, (void **)&s->faults, &s->n_faults);
}

/* ------------------------------------------------------------ key tables */

const struct key_table *scenario_tables_faults(size_t *n)
{
	static const struct key_table tables[] = {
		{ "fault", fault_fields, N_ELEM(fault_fields) },
		{ "targets", targets_fields, N_ELEM(targets_fields) },
		{ "prefix-list", prefix_list_fields, N_ELEM(prefix_list_fields) },
		{ "process", process_fields, N_ELEM(process_fields) },
	};

	*n = N_ELEM(tables);
	return tables;
}

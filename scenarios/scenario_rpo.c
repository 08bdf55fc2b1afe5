/*
 * scenario_rpo: how data loss is measured. A canary writes records through
 * the service and reads them back (with a check of the value read), a query
 * asks the datastore for its newest timestamp; each is an action: an HTTP
 * request or a command, with a timeout.
 */
#include "scenario_load.h"

#include <stdlib.h>
#include <string.h>

#include "fd_time.h"

#define ACTION_TIMEOUT_DEFAULT (5 * FD_NS_PER_S)

/* Keys an action takes beside its request, per place (NULL-terminated). */
static const char *const write_keys[] = { "timeout", SCENARIO_PLACE_KEY_NAMES, NULL };
static const char *const read_keys[] = { "timeout", "value-json", "value-match", "expect-value",
					 SCENARIO_PLACE_KEY_NAMES, NULL };
static const char *const query_keys[] = { "timeout", "value-match", SCENARIO_PLACE_KEY_NAMES, NULL };

/*
 * An HTTP request (url: ...) or a command (run: ...), written inline, plus
 * its timeout; the other keys of extra are the caller's to read.
 */
static int read_action(struct lctx *c, const struct ynode *v, struct scenario_action *a,
		       const char *const *extra)
{
	static const char *const forms[] = { "url", "run" };
	char saved[sizeof(c->where)];
	const struct ynode *tm;
	int which = -1, r;

	if (v->type != YNODE_MAP)
		return scenario_expect_map(c, v);
	scenario_where_push(c, saved, sizeof(saved), "%s", c->key);
	r = scenario_pick_one(c, v, forms, 2, "an action is an HTTP request or a command", &which);
	if (r == 0 && which < 0)
		r = scenario_fail(c, v, "needs url: (an HTTP request) or run: (a command)");
	if (r == 0 && which == 0) {
		a->kind = ACTION_HTTP;
		r = scenario_read_http(c, v, &a->http, false, extra);
	} else if (r == 0) {
		a->kind = ACTION_COMMAND;
		r = scenario_read_command(c, v, &a->command, extra);
	}
	a->timeout_ns = ACTION_TIMEOUT_DEFAULT;
	tm = r == 0 ? scenario_map_get(v, "timeout") : NULL;
	if (tm) {
		c->key = "timeout";
		r = scenario_read_duration(c, tm, &a->timeout_ns, true);
	}
	if (r == 0)
		r = scenario_read_place_keys(c, v, &a->place);
	if (r == 0)
		r = scenario_check_place(c, v, "an action");
	scenario_where_pop(c, saved);
	return r;
}

/* ------------------------------------------------------------------ canary */

static int can_interval(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_interval(c, v, &((struct scenario_rpo *)obj)->canary.interval_ns);
}

/* Bounded so that the canary's record of writes stays small (10m at 10ms: 60,000). */
#define LEAD_IN_MAX (10 * 60 * FD_NS_PER_S)

static int can_lead_in(struct lctx *c, const struct ynode *v, void *obj)
{
	int64_t *lead = &((struct scenario_rpo *)obj)->canary.lead_in_ns;
	int r = scenario_read_duration(c, v, lead, true);

	if (r == 0 && *lead > LEAD_IN_MAX)
		r = scenario_fail(c, v, "lead-in: at most 10m, got \"%s\"", v->str);
	return r;
}

/* 3 intervals, at least 300ms, at most 2s: enough acknowledged writes before T0. */
static int64_t lead_in_default(int64_t interval_ns)
{
	int64_t lead = 3 * interval_ns;

	if (lead < 300 * FD_NS_PER_MS)
		lead = 300 * FD_NS_PER_MS;
	if (lead > 2 * FD_NS_PER_S)
		lead = 2 * FD_NS_PER_S;
	return lead;
}

static int can_write(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_action(c, v, &((struct scenario_rpo *)obj)->canary.write, write_keys);
}

/* "ts", "data.items.0.ts", "$.ts": dot-separated, no empty part. */
static bool json_path_ok(const char *p)
{
	if (strncmp(p, "$.", 2) == 0)
		p += 2;
	if (*p == '\0' || *p == '.')
		return false;
	for (; *p; p++)
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return false;
	return true;
}

/* The read-back check: value-json or value-match, and expect-value. */
static int read_check(struct lctx *c, const struct ynode *v, struct scenario_rpo *rpo)
{
	const struct ynode *js = scenario_map_get(v, "value-json");
	const struct ynode *vm = scenario_map_get(v, "value-match");
	const struct ynode *ev = scenario_map_get(v, "expect-value");
	char saved[sizeof(c->where)];
	int r = 0;

	scenario_where_push(c, saved, sizeof(saved), "read");
	if (js && vm)
		r = scenario_fail(c, scenario_map_key(v, "value-match"),
				  "value-json and value-match: use one or the other");
	if (r == 0 && js) {
		c->key = "value-json";
		r = scenario_read_str(c, js, &rpo->canary.value_json);
		if (r == 0 && !json_path_ok(js->str))
			r = scenario_fail(c, js,
					  "value-json: expected a dotted path such as ts or data.items.0.ts, got \"%s\"",
					  js->str);
	}
	if (r == 0 && vm) {
		c->key = "value-match";
		r = scenario_read_regex(c, vm, &rpo->canary.value_match, 0);
	}
	if (r == 0 && ev) {
		c->key = "expect-value";
		r = scenario_read_str(c, ev, &rpo->canary.expect_value);
	} else if (r == 0 && (js || vm) && !(rpo->canary.expect_value = strdup("{{ts}}"))) {
		r = scenario_nomem(c);
	}
	scenario_where_pop(c, saved);
	return r;
}

static int can_read(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_rpo *rpo = obj;
	int r = read_action(c, v, &rpo->canary.read, read_keys);

	return r ? r : read_check(c, v, rpo);
}

static const struct field canary_fields[] = {
	{ "interval", can_interval, 0, 0, false },
	{ "lead-in", can_lead_in, 0, 0, false },
	{ "write", can_write, ALL_KINDS, 0, false },
	{ "read", can_read, ALL_KINDS, 0, false },
};

static int rpo_canary(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_rpo *rpo = obj;
	int r;

	rpo->has_canary = true;
	rpo->canary.interval_ns = 200 * FD_NS_PER_MS;
	r = scenario_walk_section(c, "canary", v, canary_fields, N_ELEM(canary_fields), rpo);
	if (r == 0 && rpo->canary.lead_in_ns == 0)
		rpo->canary.lead_in_ns = lead_in_default(rpo->canary.interval_ns);
	return r;
}

/* ------------------------------------------------------------------- query */

static int rpo_query(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_rpo *rpo = obj;
	const struct ynode *vm;
	int r;

	rpo->has_query = true;
	r = read_action(c, v, &rpo->query.action, query_keys);
	vm = r == 0 ? scenario_map_get(v, "value-match") : NULL;
	if (vm) {
		char saved[sizeof(c->where)];

		scenario_where_push(c, saved, sizeof(saved), "query");
		c->key = "value-match";
		r = scenario_read_regex(c, vm, &rpo->query.value_match, 1);
		scenario_where_pop(c, saved);
	}
	return r;
}

static const struct field rpo_fields[] = {
	{ "canary", rpo_canary, 0, 0, false },
	{ "query", rpo_query, 0, 0, false },
};

int scenario_read_rpo(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	char saved[sizeof(c->where)];
	int r;

	scenario_where_push(c, saved, sizeof(saved), "rpo");
	r = scenario_walk(c, v, rpo_fields, N_ELEM(rpo_fields), &s->rpo, ALL_KINDS, NULL, NULL);
	if (r == 0 && !s->rpo.has_canary && !s->rpo.has_query)
		r = scenario_fail(c, v, "needs canary: or query: (how data loss is measured)");
	scenario_where_pop(c, saved);
	return r;
}

/* ------------------------------------------------------------ key tables */

const struct key_table *scenario_tables_rpo(size_t *n)
{
	static const struct key_table tables[] = {
		{ "rpo", rpo_fields, N_ELEM(rpo_fields) },
		{ "canary", canary_fields, N_ELEM(canary_fields) },
	};

	*n = N_ELEM(tables);
	return tables;
}

/*
 * scenario_place: the keys that name a place (docs/local.md): scope's, and
 * each fault's, probe's, runbook step's and canary or query action's own.
 *
 *   netns: NAME            a namespace under /run/netns
 *   netns-path: PATH       any namespace file (/proc/N/ns/net, a bind mount)
 *   pid: N                 the network namespace of that process
 *   container: NAME        a Docker or Podman container, resolved by drill/
 *   engine: podman|docker  with container: which engine's CLI finds it
 *
 * A place is one of the first four. Scope keeps its place in struct
 * scenario's own members (scope.netns and the others, as the rest of the
 * code reads them); an item keeps it in its struct scenario_place. The
 * value readers are shared, so both say the same about the same mistake.
 */
#include "scenario_load.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_values.h"

int scenario_read_netns_path(struct lctx *c, const struct ynode *v, char **out)
{
	int r = scenario_read_scalar(c, v, "the path of a network namespace file");

	if (r == 0 && (v->str[0] != '/' || v->len > 63 || strpbrk(v->str, " \t\n")))
		r = scenario_fail(c, v,
				  "netns-path: expected an absolute path of at most 63 characters such as "
				  "/proc/1234/ns/net or /run/netns/NAME, got \"%s\"", v->str);
	return r ? r : scenario_read_str(c, v, out);
}

int scenario_read_place_pid(struct lctx *c, const struct ynode *v, long *out)
{
	long n;
	int r = scenario_read_scalar(c, v, "a process id");

	if (r)
		return r;
	/* pid 1 would be the host's own namespace when firedrill runs there */
	if (scenario_value_int(v->str, 2, 4194304, &n))
		return scenario_fail(c, v, "pid: expected a process id 2-4194304, got \"%s\"", v->str);
	*out = n;
	return 0;
}

int scenario_read_container(struct lctx *c, const struct ynode *v, char **out)
{
	int r = scenario_read_scalar(c, v, "a container name or id");

	/* what docker and podman accept as a name: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
	if (r == 0 && (v->len > 128 || !v->str[0] || !isalnum((unsigned char)v->str[0]) ||
		       v->str[strspn(v->str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789_.-")]))
		r = scenario_fail(c, v,
				  "container: expected a container name or id ([a-zA-Z0-9][a-zA-Z0-9_.-]*), "
				  "got \"%s\"", v->str);
	return r ? r : scenario_read_str(c, v, out);
}

int scenario_read_engine(struct lctx *c, const struct ynode *v, char **out)
{
	int r = scenario_read_scalar(c, v, "podman or docker");

	if (r == 0 && strcmp(v->str, "podman") != 0 && strcmp(v->str, "docker") != 0)
		r = scenario_fail(c, v, "engine: expected podman or docker, got \"%s\"", v->str);
	return r ? r : scenario_read_str(c, v, out);
}

/* ---- an item's place: the handlers read into c->place --------------------- */

static void place_mark(struct lctx *c, const struct ynode *v)
{
	if (!c->place->loc.line) {
		c->place->loc.line = v->line;
		c->place->loc.col = v->col;
	}
}

int scenario_place_netns(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)obj;
	place_mark(c, v);
	return scenario_read_netns_name(c, v, &c->place->netns);
}

int scenario_place_netns_path(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)obj;
	place_mark(c, v);
	return scenario_read_netns_path(c, v, &c->place->netns_path);
}

int scenario_place_pid(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)obj;
	place_mark(c, v);
	return scenario_read_place_pid(c, v, &c->place->pid);
}

int scenario_place_container(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)obj;
	place_mark(c, v);
	return scenario_read_container(c, v, &c->place->container);
}

int scenario_place_engine(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)obj;
	return scenario_read_engine(c, v, &c->place->engine);
}

const char *const scenario_place_keys[SCENARIO_PLACE_N_KEYS + 1] = {
	SCENARIO_PLACE_KEY_NAMES, NULL,
};

static const field_fn place_fns[SCENARIO_PLACE_N_KEYS] = {
	scenario_place_netns, scenario_place_netns_path, scenario_place_pid,
	scenario_place_container, scenario_place_engine,
};

int scenario_check_place(struct lctx *c, const struct ynode *map, const char *what)
{
	char msg[160];
	int which = -1, r;

	snprintf(msg, sizeof(msg), "%s names one place: a netns, a netns-path, a pid or a container",
		 what);
	r = scenario_pick_one(c, map, scenario_place_keys, 4, msg, &which);
	if (r == 0 && scenario_map_get(map, "engine") && !scenario_map_get(map, "container"))
		r = scenario_fail(c, scenario_map_key(map, "engine"),
				  "%sengine says how to find a container; it needs container:",
				  strcmp(what, "scope") == 0 ? "scope: " : "");
	return r;
}

int scenario_read_place_keys(struct lctx *c, const struct ynode *map, struct scenario_place *p)
{
	struct scenario_place *outer = c->place;
	int r = 0;

	c->place = p;
	for (size_t i = 0; r == 0 && i < SCENARIO_PLACE_N_KEYS; i++) {
		const struct ynode *v = scenario_map_get(map, scenario_place_keys[i]);

		if (!v)
			continue;
		c->key = scenario_place_keys[i];
		r = place_fns[i](c, v, NULL);
	}
	c->place = outer;
	return r;
}

/* ---- the model ------------------------------------------------------------ */

bool scenario_place_set(const struct scenario_place *p)
{
	return p->netns || p->netns_path || p->pid || p->container;
}

const char *scenario_place_describe(const struct scenario_place *p, char *buf, size_t len)
{
	if (p->container)
		snprintf(buf, len, "container %s%s%s", p->container, p->engine ? " via " : "",
			 p->engine ? p->engine : "");
	else if (p->netns)
		snprintf(buf, len, "netns %s", p->netns);
	else if (p->netns_path)
		snprintf(buf, len, "netns-path %s", p->netns_path);
	else if (p->pid)
		snprintf(buf, len, "the namespace of pid %ld", p->pid);
	else if (len)
		buf[0] = '\0';
	return buf;
}

bool scenario_has_places(const struct scenario *s)
{
	for (size_t i = 0; i < s->n_faults; i++)
		if (scenario_place_set(&s->faults[i].place))
			return true;
	for (size_t i = 0; i < s->n_probes; i++)
		if (scenario_place_set(&s->probes[i].place))
			return true;
	for (size_t i = 0; i < s->n_steps; i++)
		if (scenario_place_set(&s->steps[i].place))
			return true;
	for (size_t i = 0; i < s->n_failback_steps; i++)
		if (scenario_place_set(&s->failback_steps[i].place))
			return true;
	return scenario_place_set(&s->rpo.canary.write.place) ||
	       scenario_place_set(&s->rpo.canary.read.place) ||
	       scenario_place_set(&s->rpo.query.action.place);
}

void scenario_place_free(struct scenario_place *p)
{
	free(p->netns);
	free(p->netns_path);
	free(p->container);
	free(p->engine);
	memset(p, 0, sizeof(*p));
}

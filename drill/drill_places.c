/*
 * Places of their own (docs/local.md, "A place per fault, probe and
 * step"): a fault, probe, runbook step or canary action may name a netns,
 * a netns-path, a pid or a container instead of the scope's place. Each
 * distinct place is resolved once at setup (a container asked of its
 * engine, as the scope's is: drill_scope.c) and again at each later
 * iteration, since a restarted container has a new pid and namespace. The
 * items find theirs with drill_places_find(); NULL means the scope's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"
#include "drill_internal.h"
#include "fd_netns.h"
#include "scorer.h"

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool place_same(const struct scenario_place *a, const struct scenario_place *b)
{
	return a->pid == b->pid && str_same(a->netns, b->netns) &&
	       str_same(a->netns_path, b->netns_path) && str_same(a->container, b->container) &&
	       str_same(a->engine, b->engine);
}

static int places_add(struct drill *d, const struct scenario_place *sp, struct fd_error *err)
{
	struct drill_item_place *grown;
	char key[64], where[160];
	int rc;

	if (!scenario_place_set(sp) || drill_places_find(d, sp))
		return 0;
	grown = realloc(d->places, (d->n_places + 1) * sizeof(*grown));
	if (!grown)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	d->places = grown;
	grown[d->n_places].sp = sp;
	drill_textf(where, sizeof(where), "%s:%d", d->s->path ? d->s->path : "scenario",
		    sp->loc.line);
	rc = drill_place_resolve_one(sp, &grown[d->n_places].place, err);
	/* a name is not looked at by the resolver: missing is an error here too */
	if (rc == 0 && sp->netns)
		rc = fd_netns_key(sp->netns, key, sizeof(key), err);
	if (rc < 0) {
		fd_error_prefix(err, "%s", where);
		return rc;
	}
	d->n_places++;
	return 0;
}

int drill_places_resolve(struct drill *d, struct fd_error *err)
{
	const struct scenario *s = d->s;
	const struct scenario_place *each[] = {
		&s->rpo.canary.write.place, &s->rpo.canary.read.place, &s->rpo.query.action.place,
	};
	int rc = 0;

	if (d->o->scope_netns && scenario_has_places(s))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "%s names places of its own (netns, netns-path, pid, container on a "
				    "fault, probe, step or action); in a sandbox the sandbox is the only "
				    "place: drop them", s->path ? s->path : "the scenario");
	for (size_t i = 0; rc == 0 && i < s->n_faults; i++)
		rc = places_add(d, &s->faults[i].place, err);
	for (size_t i = 0; rc == 0 && i < s->n_probes; i++)
		rc = places_add(d, &s->probes[i].place, err);
	for (size_t i = 0; rc == 0 && i < s->n_steps; i++)
		rc = places_add(d, &s->steps[i].place, err);
	for (size_t i = 0; rc == 0 && i < s->n_failback_steps; i++)
		rc = places_add(d, &s->failback_steps[i].place, err);
	for (size_t i = 0; rc == 0 && i < sizeof(each) / sizeof(each[0]); i++)
		rc = places_add(d, each[i], err);
	return rc;
}

const struct drill_place *drill_places_find(const struct drill *d, const struct scenario_place *sp)
{
	if (!scenario_place_set(sp))
		return NULL;
	for (size_t i = 0; i < d->n_places; i++)
		if (place_same(d->places[i].sp, sp))
			return &d->places[i].place;
	return NULL;
}

/* The namespace an item runs in: its own place's; NULL: the drill thread's. */
static const char *item_netns(const struct drill *d, const struct scenario_place *sp)
{
	const struct drill_place *p = drill_places_find(d, sp);

	return p && p->netns[0] ? p->netns : NULL;
}

int drill_places_for_scorer(const struct drill *d, struct scorer_places *w, struct fd_error *err)
{
	const struct scenario *s = d->s;
	const char **probe = calloc(s->n_probes ? s->n_probes : 1, sizeof(*probe));

	memset(w, 0, sizeof(*w));
	if (!probe)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n_probes; i++)
		probe[i] = item_netns(d, &s->probes[i].place);
	w->probe = probe;
	w->canary_write = item_netns(d, &s->rpo.canary.write.place);
	w->canary_read = item_netns(d, &s->rpo.canary.read.place);
	w->query = item_netns(d, &s->rpo.query.action.place);
	return 0;
}

const char **drill_places_for_steps(const struct drill *d, const struct scenario_step *steps,
				    size_t n)
{
	const char **netns = calloc(n ? n : 1, sizeof(*netns));

	for (size_t i = 0; netns && i < n; i++)
		netns[i] = item_netns(d, &steps[i].place);
	return netns;
}

/* A "place" event: "from netns cli (/run/netns/cli)", for the evidence. */
static void place_event(struct drill *d, const char *what, const char *name,
			const struct scenario_place *sp)
{
	const struct drill_place *p = drill_places_find(d, sp);
	char subject[160], desc[160], path[128], text[400];

	if (!p)
		return;
	if (sp->netns_path || fd_netns_path(p->netns, path, sizeof(path), NULL) < 0)
		path[0] = '\0';
	drill_textf(subject, sizeof(subject), "%s%s%s", what, name ? " " : "", name ? name : "");
	drill_textf(text, sizeof(text), "from %s%s%s%s",
		    scenario_place_describe(sp, desc, sizeof(desc)), path[0] ? " (" : "", path,
		    path[0] ? ")" : "");
	drill_event(d, "place", subject, text);
}

void drill_places_note(struct drill *d)
{
	const struct scenario *s = d->s;

	for (size_t i = 0; i < s->n_probes; i++)
		place_event(d, "probe", s->probes[i].id, &s->probes[i].place);
	for (size_t i = 0; i < s->n_steps; i++)
		place_event(d, "step", s->steps[i].name, &s->steps[i].place);
	for (size_t i = 0; i < s->n_failback_steps; i++)
		place_event(d, "failback step", s->failback_steps[i].name,
			    &s->failback_steps[i].place);
	place_event(d, "canary write", NULL, &s->rpo.canary.write.place);
	place_event(d, "canary read", NULL, &s->rpo.canary.read.place);
	place_event(d, "rpo query", NULL, &s->rpo.query.action.place);
}

int drill_places_refresh(struct drill *d, bool first, struct fd_error *err)
{
	for (size_t i = 0; i < d->n_places; i++) {
		struct drill_place *p = &d->places[i].place;
		const struct scenario_place *sp = d->places[i].sp;
		struct drill_container c;
		int rc;

		p->changed = false;
		if (!p->is_container)
			continue;
		if (first) {
			drill_container_event(d, sp->container, &p->container, 0);
			continue;
		}
		rc = drill_container_resolve(sp->container, sp->engine, &c, err);
		if (rc < 0)
			return rc;
		drill_container_event(d, sp->container, &c, p->container.pid);
		if (c.pid != p->container.pid) {
			snprintf(p->netns, sizeof(p->netns), "%s", c.netns);
			p->changed = true;
		}
		p->container = c;
	}
	return 0;
}

void drill_places_free(struct drill *d)
{
	free(d->places);
	d->places = NULL;
	d->n_places = 0;
}

/*
 * Places of their own (docs/local.md, "A place per fault, probe and
 * step"): a fault, probe, runbook step or canary action may name a netns,
 * a netns-path, a pid or a container instead of the scope's place. Each
 * distinct place is resolved once at setup (a container asked of its
 * engine, as the scope's is: drill_scope.c) and again at each later
 * iteration, since a restarted container has a new pid and namespace. The
 * items find theirs with drill_places_find(); NULL means the scope's.
 *
 * A fault's place goes to the injector, which enters it for that fault's
 * work; its namespace is locked as the scope's is (two drills must not
 * break the same namespace at once), for `firedrill inject` too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"
#include "drill_internal.h"
#include "fd_netns.h"
#include "injector.h"
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

static struct drill_item_place *item_find(struct drill_item_place *v, size_t n,
					  const struct scenario_place *sp)
{
	if (!scenario_place_set(sp))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (place_same(v[i].sp, sp))
			return &v[i];
	return NULL;
}

/* sp resolved into v unless there already; path names the scenario in errors. */
static int places_add(const char *path, struct drill_item_place **v, size_t *n,
		      const struct scenario_place *sp, struct fd_error *err)
{
	struct drill_item_place *grown;
	char key[64], where[160];
	int rc;

	if (!scenario_place_set(sp) || item_find(*v, *n, sp))
		return 0;
	grown = realloc(*v, (*n + 1) * sizeof(*grown));
	if (!grown)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	*v = grown;
	grown[*n].sp = sp;
	grown[*n].lock_fd = -1;
	drill_textf(where, sizeof(where), "%s:%d", path ? path : "scenario", sp->loc.line);
	rc = drill_place_resolve_one(sp, &grown[*n].place, err);
	/* a name is not looked at by the resolver: missing is an error here too */
	if (rc == 0 && sp->netns)
		rc = fd_netns_key(sp->netns, key, sizeof(key), err);
	if (rc < 0) {
		fd_error_prefix(err, "%s", where);
		return rc;
	}
	(*n)++;
	return 0;
}

int drill_places_resolve_faults(const struct scenario *s, const char *scope_netns,
				struct drill_item_place **v, size_t *n, struct fd_error *err)
{
	int rc = 0;

	if (scope_netns && scenario_has_places(s)) /* the whole scenario's: probes, steps too */
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "%s names places of its own (netns, netns-path, pid, container on a "
				    "fault, probe, step or action); in a sandbox the sandbox is the only "
				    "place: drop them", s->path ? s->path : "the scenario");
	for (size_t i = 0; rc == 0 && i < s->n_faults; i++)
		rc = places_add(s->path, v, n, &s->faults[i].place, err);
	return rc;
}

int drill_places_resolve(struct drill *d, struct fd_error *err)
{
	const struct scenario *s = d->s;
	const struct scenario_place *each[] = {
		&s->rpo.canary.write.place, &s->rpo.canary.read.place, &s->rpo.query.action.place,
	};
	int rc = 0;

	rc = drill_places_resolve_faults(s, d->o->scope_netns, &d->places, &d->n_places, err);
	for (size_t i = 0; rc == 0 && i < s->n_probes; i++)
		rc = places_add(s->path, &d->places, &d->n_places, &s->probes[i].place, err);
	for (size_t i = 0; rc == 0 && i < s->n_steps; i++)
		rc = places_add(s->path, &d->places, &d->n_places, &s->steps[i].place, err);
	for (size_t i = 0; rc == 0 && i < s->n_failback_steps; i++)
		rc = places_add(s->path, &d->places, &d->n_places, &s->failback_steps[i].place, err);
	for (size_t i = 0; rc == 0 && i < sizeof(each) / sizeof(each[0]); i++)
		rc = places_add(s->path, &d->places, &d->n_places, each[i], err);
	return rc;
}

const struct drill_place *drill_places_find(const struct drill *d, const struct scenario_place *sp)
{
	const struct drill_item_place *it = item_find(d->places, d->n_places, sp);

	return it ? &it->place : NULL;
}

/* Whether key is the scope's or locked already by an earlier item. */
static bool key_held(const struct drill_item_place *v, size_t n, const char *key,
		     const char *scope_key)
{
	if (strcmp(key, scope_key ? scope_key : "") == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (v[i].lock_fd >= 0 && strcmp(v[i].place.key, key) == 0)
			return true;
	return false;
}

int drill_places_lock(const struct scenario *s, struct drill_item_place *v, size_t n,
		      const char *scope_key, const char *holder, struct fd_error *err)
{
	for (size_t i = 0; i < s->n_faults; i++) {
		struct drill_item_place *it = item_find(v, n, &s->faults[i].place);
		int rc;

		if (!it || it->lock_fd >= 0 || key_held(v, n, it->place.key, scope_key))
			continue;
		rc = drill_scope_hold(it->place.key, holder, &it->lock_fd, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void drill_places_unlock(struct drill_item_place *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		drill_scope_release(v[i].lock_fd, v[i].place.key);
		v[i].lock_fd = -1;
	}
}

int drill_places_set_faults(struct injector *inj, const struct scenario *s,
			    struct drill_item_place *v, size_t n, struct fd_error *err)
{
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct drill_item_place *it = item_find(v, n, &s->faults[i].place);
		const struct drill_place *p = it ? &it->place : NULL;
		int rc;

		if (!p)
			continue;
		rc = injector_set_fault_place(inj, i, p->netns,
					      p->is_container ? (pid_t)p->container.pid : 0, err);
		if (rc < 0)
			return rc;
	}
	return 0;
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
		int rc;

		p->changed = false;
		if (!p->is_container)
			continue;
		if (first) {
			drill_container_event(d, sp->container, &p->container, 0);
			continue;
		}
		rc = drill_container_follow(d, sp->container, sp->engine, p, err);
		if (rc < 0)
			return rc;
		p->changed = rc == 1;
	}
	return 0;
}

void drill_places_free(struct drill *d)
{
	drill_places_unlock(d->places, d->n_places);
	free(d->places);
	d->places = NULL;
	d->n_places = 0;
}

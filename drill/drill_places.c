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
#include "injector.h"

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

static int places_add(struct drill_item_place **v, size_t *n, const struct scenario_place *sp,
		      struct fd_error *err)
{
	struct drill_item_place *grown;
	int rc;

	if (!scenario_place_set(sp) || item_find(*v, *n, sp))
		return 0;
	grown = realloc(*v, (*n + 1) * sizeof(*grown));
	if (!grown)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	*v = grown;
	grown[*n].sp = sp;
	grown[*n].lock_fd = -1;
	rc = drill_place_resolve_one(sp, &grown[*n].place, err);
	if (rc < 0)
		return rc;
	(*n)++;
	return 0;
}

int drill_places_resolve_faults(const struct scenario *s, struct drill_item_place **v, size_t *n,
				struct fd_error *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->n_faults; i++)
		rc = places_add(v, n, &s->faults[i].place, err);
	return rc;
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
	rc = drill_places_resolve_faults(s, &d->places, &d->n_places, err);
	for (size_t i = 0; rc == 0 && i < s->n_probes; i++)
		rc = places_add(&d->places, &d->n_places, &s->probes[i].place, err);
	for (size_t i = 0; rc == 0 && i < s->n_steps; i++)
		rc = places_add(&d->places, &d->n_places, &s->steps[i].place, err);
	for (size_t i = 0; rc == 0 && i < s->n_failback_steps; i++)
		rc = places_add(&d->places, &d->n_places, &s->failback_steps[i].place, err);
	for (size_t i = 0; rc == 0 && i < sizeof(each) / sizeof(each[0]); i++)
		rc = places_add(&d->places, &d->n_places, each[i], err);
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
	drill_places_unlock(d->places, d->n_places);
	free(d->places);
	d->places = NULL;
	d->n_places = 0;
}

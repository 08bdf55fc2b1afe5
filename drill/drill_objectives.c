/*
 * The objectives a drill is judged by are stored with the drill when it
 * starts (docs/store.md), so reports never re-read the scenario YAML: a
 * scenario file edited later, or a loader that reads it differently,
 * cannot change what an old drill was held to.
 */
#include "drill_internal.h"

#include <stdio.h>
#include <string.h>

#include "fd_time.h"

static void append(char *buf, size_t len, size_t *at, const char *text)
{
	int n;

	if (*at >= len)
		return;
	n = snprintf(buf + *at, len - *at, "%s", text);
	*at = n < 0 ? len : *at + (size_t)n;
}

char *drill_criterion_text(const struct scenario *s, const struct scenario_criterion *c,
			   char *buf, size_t len)
{
	char stable[32], timeout[32];
	size_t at = 0;

	if (!len)
		return buf;
	*buf = '\0';
	append(buf, len, &at, c->mode == CRITERION_ALL ? "all of [" : "any of [");
	for (size_t i = 0; i < c->n_probes; i++) {
		append(buf, len, &at, i ? ", " : "");
		append(buf, len, &at, s->probes[c->probes[i]].id);
	}
	fd_duration_format(c->stable_for_ns, stable, sizeof(stable));
	fd_duration_format(c->timeout_ns, timeout, sizeof(timeout));
	append(buf, len, &at, "] stable ");
	append(buf, len, &at, stable);
	append(buf, len, &at, " within ");
	append(buf, len, &at, timeout);
	return buf;
}

void drill_objectives_fill(const struct scenario *s, struct store_drill *d)
{
	d->objectives_recorded = true;
	d->has_rto_objective = s->has_rto_objective;
	d->rto_objective_ns = s->has_rto_objective ? s->rto_objective_ns : 0;
	d->has_rpo_objective = s->has_rpo_objective;
	d->rpo_objective_ns = s->has_rpo_objective ? s->rpo_objective_ns : 0;
	drill_criterion_text(s, &s->recovery, d->recovery_criterion, sizeof(d->recovery_criterion));
	d->prove_every_ns = s->prove_every_ns; /* 0: none; `firedrill freshness` never calls it stale */
}


/* What a drill promises, copied into its store row when it starts. */
#ifndef DRILL_OBJECTIVES_H
#define DRILL_OBJECTIVES_H

#include <stddef.h>

#include "scenario.h"
#include "store.h"

/*
 * "all of [web, db] stable 2.0 s within 5m00s": the recovery criterion as the
 * reports show it. Returns buf.
 */
char *drill_criterion_text(const struct scenario *s, const struct scenario_criterion *c,
			   char *buf, size_t len);

/* Sets d's objective fields (RTO, RPO, recovery criterion) from s. */
void drill_objectives_fill(const struct scenario *s, struct store_drill *d);

#endif

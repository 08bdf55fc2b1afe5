/*
 * The plan: one object built from the model, rendered as text
 * (scenario_plan_print) or as JSON (scenario_plan_json), so both say the
 * same thing. The per-fault part that only the fault drivers know (how a
 * fault is reverted, which targets are guarded) is filled in by the
 * injector (injector_plan_describe): data flows scenarios -> injector, so
 * scenarios/ defines the shape and never includes injector/.
 */
#ifndef FD_SCENARIO_PLAN_H
#define FD_SCENARIO_PLAN_H

#include <jansson.h>
#include <stdio.h>

#include "scenario.h"

/* One guarded target: refused at prepare without --force. */
struct scenario_plan_guard {
	const char *fault_id;
	char target[FD_CIDR_STRLEN];
	const char *why; /* "the whole address space", ... (static) */
};

struct scenario_plan_fault {
	const struct scenario_fault *f;
	const char *revert; /* static text from the driver row; NULL = not described */
};

struct scenario_plan {
	const struct scenario *s;
	struct scenario_plan_fault *faults; /* s->n_faults */
	struct scenario_plan_guard *guards;
	size_t n_guards, cap_guards;
	char **warnings; /* what the model alone shows */
	size_t n_warnings;
};

/* The plan of s (which must outlive it), without the drivers' part. */
int scenario_plan_build(const struct scenario *s, struct scenario_plan **out);
int scenario_plan_add_guard(struct scenario_plan *p, const char *fault_id, const char *target,
			    const char *why);
void scenario_plan_free(struct scenario_plan *p);

/* The ordered plan for people, then its guards and warnings. */
void scenario_plan_print(const struct scenario_plan *p, FILE *out);
/* The ordered plan's steps only (no guards and warnings section). */
void scenario_plan_print_steps(const struct scenario_plan *p, FILE *out);
/* The same plan as one JSON object (keys: docs/scenarios.md); NULL when out of memory. */
json_t *scenario_plan_json(const struct scenario_plan *p);

/* Inside scenarios/ only: a fault's body (scenario_plan_fault.c) and the
 * JSON helpers it shares with scenario_plan_json.c. */
void scenario_plan_fault_text(FILE *out, const struct scenario_fault *f);
/* Where a fault applies (on:), text and JSON; nothing for a local-only one. */
void scenario_plan_on_text(FILE *out, const struct scenario *s, const struct scenario_fault *f);
void scenario_plan_on_json(json_t *o, const struct scenario *s, const struct scenario_fault *f);
void scenario_plan_fault_json(json_t *o, const struct scenario_fault *f);
/* An item's own place ("in container db"; JSON "place": {"container": "db"});
 * no text and "place": null when it has none (the scope's). */
void scenario_plan_place_text(FILE *out, const struct scenario_place *sp);
void scenario_plan_place_json(json_t *o, const struct scenario_place *sp);
/* The keys sp names (netns, netns_path, pid, container, engine) into o. */
void scenario_plan_place_keys(json_t *o, const struct scenario_place *sp);
json_t *scenario_plan_ms(int64_t ns); /* whole ms as integers, else a real */
json_t *scenario_plan_str_or_null(const char *s);
json_t *scenario_plan_strings(char *const *v, size_t n);
json_t *scenario_plan_cidrs(const struct fd_cidr *c, size_t n);

#endif

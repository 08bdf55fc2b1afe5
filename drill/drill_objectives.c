/*
 * The objectives a drill is judged by are stored with the drill when it
 * starts (docs/store.md), so reports never re-read the scenario YAML: a
 * scenario file edited later, or a loader that reads it differently,
 * cannot change what an old drill was held to.
 */
#include "drill_internal.h"

#include <errno.h>
#include <stdbool.h>
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


/* ---- scope and participants ------------------------------------------------- */

int drill_role_check(const char *arg, struct fd_error *err)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : 0;

	if (!eq || len == 0 || len > 63 || strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "--role: expected ROLE=NAME with ROLE in lowercase letters, "
				    "digits and dashes, got \"%s\"", arg);
	if (!eq[1] || strpbrk(eq + 1, "\n\r\t"))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "--role %.*s: expected a name after '=' (one line)", (int)len, arg);
	return 0;
}

/* The NAME of the first "ROLE=NAME" in o->roles for the role of len bytes, or NULL. */
static const char *filled_by(const struct drill_opts *o, const char *role, size_t len)
{
	for (size_t i = 0; i < o->n_roles; i++)
		if (strncmp(o->roles[i], role, len) == 0 && o->roles[i][len] == '=')
			return o->roles[i] + len + 1;
	return NULL;
}

static bool in_team(const struct scenario *s, const char *role, size_t len)
{
	for (size_t i = 0; i < s->n_team; i++)
		if (strlen(s->team[i]) == len && strncmp(s->team[i], role, len) == 0)
			return true;
	return false;
}

/* text without the line end a YAML block scalar (`>`, `|`) leaves after it */
static void copy_trimmed(char *dst, size_t len, const char *text)
{
	size_t n;

	snprintf(dst, len, "%s", text ? text : "");
	n = strlen(dst);
	while (n && (dst[n - 1] == '\n' || dst[n - 1] == ' ' || dst[n - 1] == '\t'))
		dst[--n] = '\0';
}

void drill_scope_fill(const struct scenario *s, const struct drill_opts *o, struct store_drill *d)
{
	size_t at = 0;

	copy_trimmed(d->description, sizeof(d->description), s->description);
	copy_trimmed(d->scope_rationale, sizeof(d->scope_rationale), s->scope_rationale);
	d->participants[0] = '\0';
	for (size_t i = 0; i < s->n_team; i++) {
		const char *who = filled_by(o, s->team[i], strlen(s->team[i]));

		append(d->participants, sizeof(d->participants), &at, s->team[i]);
		append(d->participants, sizeof(d->participants), &at, "=");
		append(d->participants, sizeof(d->participants), &at, who ? who : "");
		append(d->participants, sizeof(d->participants), &at, "\n");
	}
	for (size_t i = 0; i < o->n_roles; i++) {
		size_t len = strcspn(o->roles[i], "=");

		/* a team role's first filler is on its team line already */
		if (in_team(s, o->roles[i], len) &&
		    filled_by(o, o->roles[i], len) == o->roles[i] + len + 1)
			continue;
		append(d->participants, sizeof(d->participants), &at, o->roles[i]);
		append(d->participants, sizeof(d->participants), &at, "\n");
	}
}

char *drill_role_of(const char *participants, const char *name, char *role, size_t len)
{
	size_t nlen = strlen(name);

	if (len)
		*role = '\0';
	for (const char *p = participants; p && *p && nlen; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *eq = strchr(p, '='), *end = p + strcspn(p, "\n");

		if (eq && eq < end && (size_t)(end - eq - 1) == nlen && strncmp(eq + 1, name, nlen) == 0) {
			snprintf(role, len, "%.*s", (int)(eq - p), p);
			break;
		}
	}
	return role;
}

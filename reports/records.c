/*
 * records.c: the record book as people read it. An action's state is
 * derived, never stored: it is closed when a closing row names it (the
 * store keeps at most one). "Past due" is counted in whole UTC days from
 * the due date, so an action due today is not yet late anywhere on earth
 * that reads the same report.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fd_time.h"
#include "report.h"
#include "report_priv.h"

#define DAY_NS (86400LL * FD_NS_PER_S)

int report_days_since_due(const char *due, int64_t now_real_ns, int64_t *days)
{
	struct tm tm = { 0 };
	int y, m, d;
	char tail;
	int64_t start_ns, diff;

	if (!due || strlen(due) != 10 || sscanf(due, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	start_ns = (int64_t)timegm(&tm) * FD_NS_PER_S;
	diff = now_real_ns - start_ns;
	/* floor, also before the due date (a negative count: not yet due) */
	*days = diff >= 0 ? diff / DAY_NS : -((-diff + DAY_NS - 1) / DAY_NS);
	return 0;
}

static const struct store_record *closing_of(const struct store_record *recs, size_t n,
					     int64_t action_id)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].kind == STORE_RECORD_ACTION_CLOSED && recs[i].action_id == action_id)
			return &recs[i];
	return NULL;
}

static bool selected(const struct report_actions_filter *f, const struct report_action *a)
{
	if (f->drill_id && a->action.drill_id != f->drill_id)
		return false;
	if (f->open_only && a->closed)
		return false;
	if (f->owner && strcmp(f->owner, a->action.owner) != 0)
		return false;
	if (f->scenario && strcmp(f->scenario, a->scenario) != 0)
		return false;
	return !f->environment || strcmp(f->environment, a->environment) == 0;
}

/* The action at recs[i] with its closing, drill and lateness into a. */
static int fill_action(struct store *st, const struct store_record *recs, size_t n, size_t i,
		       int64_t now, struct report_action *a, struct fd_error *err)
{
	const struct store_record *c = closing_of(recs, n, recs[i].id);
	struct store_drill d;
	int rc;

	memset(a, 0, sizeof(*a));
	a->action = recs[i];
	a->closed = c != NULL;
	if (c)
		a->closing = *c;
	rc = store_get_drill(st, recs[i].drill_id, &d, err);
	if (rc)
		return rc;
	snprintf(a->scenario, sizeof(a->scenario), "%s", d.scenario_name);
	snprintf(a->environment, sizeof(a->environment), "%s", d.environment);
	if (!a->closed && report_days_since_due(a->action.due, now, &a->days_overdue) == 0)
		a->past_due = a->days_overdue >= 1;
	if (!a->past_due)
		a->days_overdue = 0;
	return 0;
}

int report_actions_load(struct store *st, const struct report_actions_filter *f,
			struct report_action **out, size_t *n, struct fd_error *err)
{
	struct store_record *recs = NULL;
	struct report_action *list = NULL;
	size_t n_recs = 0, used = 0;
	int64_t now = f->now_real_ns ? f->now_real_ns : fd_real_ns();
	int rc = store_list_records(st, 0, &recs, &n_recs, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	list = calloc(n_recs ? n_recs : 1, sizeof(*list));
	if (!list) {
		free(recs);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; !rc && i < n_recs; i++) {
		if (recs[i].kind != STORE_RECORD_ACTION)
			continue;
		rc = fill_action(st, recs, n_recs, i, now, &list[used], err);
		if (!rc && selected(f, &list[used]))
			used++;
	}
	free(recs);
	if (rc) {
		free(list);
		return rc;
	}
	*out = list;
	*n = used;
	return 0;
}

/* ---- JSON ------------------------------------------------------------------- */

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, rp_json_str(v));
}

static void set_id(json_t *o, const char *key, int64_t id)
{
	if (id)
		json_object_set_new(o, key, json_integer(id));
}

json_t *report_action_json(const struct report_action *a)
{
	json_t *o = report_record_json(&a->action);

	if (!o)
		return NULL;
	json_object_set_new(o, "state", json_string(a->closed ? "closed" : "open"));
	json_object_set_new(o, "past_due", json_boolean(a->past_due));
	json_object_set_new(o, "days_overdue", json_integer(a->days_overdue));
	json_object_set_new(o, "scenario", rp_json_str(a->scenario));
	json_object_set_new(o, "environment", rp_json_str(a->environment));
	json_object_set_new(o, "closed", a->closed ? report_record_json(&a->closing) : json_null());
	return o;
}

json_t *report_record_json(const struct store_record *r)
{
	json_t *o = json_pack("{s:I, s:I, s:s, s:o, s:I, s:s}", "id", (json_int_t)r->id, "drill",
			      (json_int_t)r->drill_id, "kind", store_record_kind_name(r->kind),
			      "created", rp_json_time(r->created_real_ns), "chain_seq",
			      (json_int_t)r->chain_seq, "hash", r->hash);

	if (!o)
		return NULL;
	set_str(o, "severity", r->severity);
	set_str(o, "root_cause", r->root_cause);
	set_str(o, "owner", r->owner);
	set_str(o, "due", r->due);
	set_id(o, "action", r->action_id);
	set_id(o, "finding", r->finding_id);
	set_id(o, "retest_drill", r->retest_drill_id);
	set_str(o, "text", r->text);
	set_str(o, "author", r->author);
	set_str(o, "role", r->author_role);
	set_str(o, "key_id", r->key_id);
	return o;
}

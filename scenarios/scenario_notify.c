/*
 * scenario_notify: webhooks told about a drill's events. The URL is a
 * secret and a scenario is stored in the database and in evidence reports,
 * so a scenario names the environment variable that holds it, never the URL.
 */
#include "scenario_load.h"

#include <stdlib.h>

#include "scenario_values.h"

static const char *const notify_event_names[] = {
	"start", "injected", "recovered", "objectives-missed", "end",
};

static int n_webhook_env(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_checked(c, v, &((struct scenario_notify *)obj)->webhook_env,
				     scenario_value_is_env_name, "an environment variable name",
				     "the NAME of an environment variable (such as SLACK_WEBHOOK_URL)");
}

static int n_literal_url(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_fail(c, v,
			     "%s: a webhook URL is a secret and a scenario is stored in the database and in evidence reports; put the URL in an environment variable and name it with webhook-env",
			     c->key);
}

static int n_events(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = { .one_ok = true, .what = "a list" };
	struct scenario_notify *n = obj;
	struct ynode *const *items;
	struct ynode *one;
	size_t count;
	int r = scenario_list_items(c, v, &spec, &items, &count, &one);

	for (size_t i = 0; i < count && r == 0; i++) {
		long e;

		r = scenario_read_scalar(c, items[i], "an event name");
		e = r ? -1 : scenario_name_index(items[i]->str, notify_event_names,
						  N_ELEM(notify_event_names));
		if (e >= 0)
			n->events |= 1u << e;
		else if (r == 0)
			r = scenario_fail_unknown(c, items[i], "events: unknown event",
						  items[i]->str, notify_event_names,
						  N_ELEM(notify_event_names));
	}
	return r;
}

static const struct field notify_fields[] = {
	{ "webhook-env", n_webhook_env, ALL_KINDS, 0, false },
	{ "events", n_events, 0, 0, false },
	{ "webhook", n_literal_url, 0, 0, true },
	{ "webhook-url", n_literal_url, 0, 0, true },
	{ "url", n_literal_url, 0, 0, true },
};

/* Without events: every event. */
static int read_notify(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_notify *n = obj;
	int r = scenario_walk(c, v, notify_fields, N_ELEM(notify_fields), n, ALL_KINDS, NULL,
			      NULL);

	if (r == 0 && !n->events)
		n->events = NOTIFY_START | NOTIFY_INJECTED | NOTIFY_RECOVERED |
			    NOTIFY_OBJECTIVES_MISSED | NOTIFY_END;
	return r;
}

int scenario_read_notify(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = {
		.size = sizeof(struct scenario_notify), .item = read_notify,
		.what = "a list of {webhook-env, events}", .empty_ok = true, .where = "notify",
	};
	struct scenario *s = obj;

	return scenario_read_list(c, v, &spec, (void **)&s->notify, &s->n_notify);
}

/* ------------------------------------------------------------ key tables */

const struct key_table *scenario_tables_notify(size_t *n)
{
	static const struct key_table tables[] = {
		{ "notify", notify_fields, N_ELEM(notify_fields) },
	};

	*n = N_ELEM(tables);
	return tables;
}

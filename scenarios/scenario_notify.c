/*
 * scenario_notify: webhooks told about a drill's events. The URL is a
 * secret and a scenario is stored in the database and in evidence reports,
 * so a scenario names the environment variable that holds it, never the URL.
 */
#include "scenario_load.h"

#include <stdlib.h>

#include "scenario_values.h"

/* In enum notify_event's bit order, from scenario_notify_event_name(). */
static const char *notify_event_names[12];

static void name_events(void)
{
	for (size_t i = 0; i < N_ELEM(notify_event_names); i++)
		notify_event_names[i] = scenario_notify_event_name(1u << i);
}

static const char *const notify_format_names[] = { "json", "slack" };

static int n_secret_env(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_checked(c, v, &((struct scenario_notify *)obj)->secret_env,
				     scenario_value_is_env_name, "an environment variable name",
				     "the NAME of an environment variable holding the signing secret");
}

static int n_literal_secret(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)obj;
	return scenario_fail(c, v,
			     "%s: a signing secret must not be written in a scenario (it is stored in the database and in evidence reports); put it in an environment variable and name it with secret-env",
			     c->key);
}

static int n_format(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_notify *n = obj;
	long f;
	int r = scenario_read_scalar(c, v, "json or slack");

	if (r)
		return r;
	f = scenario_name_index(v->str, notify_format_names, N_ELEM(notify_format_names));
	if (f < 0)
		return scenario_fail_unknown(c, v, "format: unknown format", v->str,
					     notify_format_names, N_ELEM(notify_format_names));
	n->format = (enum notify_format)f;
	return 0;
}

static int n_status_every(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_notify *n = obj;
	int r = scenario_read_duration(c, v, &n->status_every_ns, true);

	if (r == 0 && n->status_every_ns < 1000000000)
		r = scenario_fail(c, v, "status-every: at least 1s, got \"%s\"", v->str);
	return r;
}

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

	name_events();
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
	{ "secret-env", n_secret_env, 0, 0, false },
	{ "format", n_format, 0, 0, false },
	{ "status-every", n_status_every, 0, 0, false },
	{ "secret", n_literal_secret, 0, 0, true },
	{ "webhook", n_literal_url, 0, 0, true },
	{ "webhook-url", n_literal_url, 0, 0, true },
	{ "url", n_literal_url, 0, 0, true },
};

/* Without events: every event; without status-every: hourly. */
static int read_notify(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_notify *n = obj;
	int r = scenario_walk(c, v, notify_fields, N_ELEM(notify_fields), n, ALL_KINDS, NULL,
			      NULL);

	if (r == 0 && !n->events)
		n->events = NOTIFY_ALL;
	if (r == 0 && !n->status_every_ns)
		n->status_every_ns = 3600 * INT64_C(1000000000); /* hourly, as DR plans ask */
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

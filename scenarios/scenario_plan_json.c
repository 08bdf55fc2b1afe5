/*
 * scenario_plan_json: the plan as one JSON object, printed by `firedrill
 * plan --json` and `firedrill run --dry-run --json`; its key names are
 * stable and documented in docs/scenarios.md ("The plan as JSON").
 *
 * Durations are milliseconds (numbers, "_ms" keys: integers when whole); absent optional values
 * are null, never left out, so a consumer can rely on every key.
 */
#include <jansson.h>
#include <signal.h>
#include <string.h>

#include "fd_net.h"
#include "fd_time.h"
#include "scenario_plan.h"

/* Whole milliseconds as integers, a sub-millisecond rest as a fraction. */
json_t *scenario_plan_ms(int64_t ns)
{
	if (ns % FD_NS_PER_MS == 0)
		return json_integer((json_int_t)(ns / FD_NS_PER_MS));
	return json_real((double)ns / (double)FD_NS_PER_MS);
}

static json_t *ms_or_null(bool has, int64_t ns)
{
	return has ? scenario_plan_ms(ns) : json_null();
}

json_t *scenario_plan_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *scenario_plan_strings(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *scenario_plan_cidrs(const struct fd_cidr *c, size_t n)
{
	char buf[FD_CIDR_STRLEN];
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(fd_cidr_format(&c[i], buf, sizeof(buf))));
	return a;
}

static json_t *probe_ids(const struct scenario *s, const size_t *idx, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(s->probes[idx[i]].id));
	return a;
}

/* ---- faults ----------------------------------------------------------------- */

static json_t *fault_json(const struct scenario *s, const struct scenario_plan_fault *pf)
{
	const struct scenario_fault *f = pf->f;
	json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:i, s:i}", "id", f->id, "kind",
			      scenario_fault_kind_name(f->kind), "max_duration_ms", scenario_plan_ms(f->duration_ns),
			      "revert", pf->revert ? pf->revert : "?", "line", f->loc.line, "col", f->loc.col);

	if (o) {
		scenario_plan_fault_json(o, f);
		scenario_plan_place_json(o, &f->place);
		scenario_plan_on_json(o, s, f);
	}
	return o;
}

/* ---- guards and warnings ---------------------------------------------------- */

static json_t *guards_json(const struct scenario_plan *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n_guards; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "fault", p->guards[i].fault_id,
						   "target", p->guards[i].target,
						   "refused_without_force", p->guards[i].why));
	return a;
}

static json_t *warnings_json(const struct scenario_plan *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n_warnings; i++)
		json_array_append_new(a, json_string(p->warnings[i]));
	return a;
}

/* ---- probes, actions, criteria ------------------------------------------------ */

static json_t *http_json(const struct scenario_http *h)
{
	json_t *st = json_array(), *henv = json_array();

	for (size_t i = 0; i < h->n_expect_status; i++)
		json_array_append_new(st, json_pack("[i, i]", h->expect_status[i].lo,
						    h->expect_status[i].hi));
	/* the variable's name only: its value is a secret */
	for (size_t i = 0; i < h->n_headers_env; i++)
		json_array_append_new(henv, json_pack("{s:s, s:s}", "name", h->headers_env[i].name,
						      "env", h->headers_env[i].env));
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:s}", "method",
			 h->method, "url", h->url, "headers", scenario_plan_strings(h->headers, h->n_headers),
			 "headers_env", henv, "body",
			 scenario_plan_str_or_null(h->body), "expect_status", st, "body_match",
			 scenario_plan_str_or_null(h->body_match), "max_latency_ms",
			 ms_or_null(h->max_latency_ns > 0, h->max_latency_ns), "ca_file",
			 scenario_plan_str_or_null(h->ca_file), "insecure", h->insecure, "follow_redirects",
			 h->follow_redirects, "connection", h->reuse_connection ? "reuse" : "fresh");
}

static json_t *command_json(const struct scenario_command *c)
{
	json_t *na = json_array();

	for (size_t i = 0; i < c->n_no_answer_exit; i++)
		json_array_append_new(na, json_integer(c->no_answer_exit[i]));
	return json_pack("{s:s, s:o, s:o}", "run", c->run, "stdout_match",
			 scenario_plan_str_or_null(c->stdout_match), "no_answer_exit", na);
}

/* o's "place" ({netns}, {netns_path}, {pid} or {container, engine}) when the
 * item has one of its own; none otherwise, so older plans stay the same. */
static json_t *with_place(json_t *o, const struct scenario_place *pl)
{
	json_t *v = NULL;

	if (!o || !scenario_place_set(pl))
		return o;
	if (pl->netns)
		v = json_pack("{s:s}", "netns", pl->netns);
	else if (pl->netns_path)
		v = json_pack("{s:s}", "netns_path", pl->netns_path);
	else if (pl->pid)
		v = json_pack("{s:I}", "pid", (json_int_t)pl->pid);
	else
		v = json_pack("{s:s, s:o}", "container", pl->container, "engine",
			      scenario_plan_str_or_null(pl->engine));
	json_object_set_new(o, "place", v);
	return o;
}

static json_t *probe_json(const struct scenario_probe *p)
{
	const char *kind = scenario_probe_kind_name(p->kind);
	json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "id", p->id, "kind", kind, "interval_ms",
			      scenario_plan_ms(p->interval_ns), "timeout_ms", scenario_plan_ms(p->timeout_ns));
	json_t *body = NULL;

	if (!o)
		return NULL;
	switch (p->kind) {
	case PROBE_HTTP:
		body = http_json(&p->http);
		break;
	case PROBE_TCP:
		body = json_pack("{s:s, s:i}", "host", p->tcp.host, "port", p->tcp.port);
		break;
	case PROBE_DNS:
		body = json_pack("{s:s, s:o}", "name", p->dns.name, "expect_in",
				 scenario_plan_cidrs(p->dns.expect_in, p->dns.n_expect_in));
		break;
	case PROBE_COMMAND:
		body = command_json(&p->command);
		break;
	case PROBE_LOG:
		body = json_pack("{s:s, s:s, s:o}", "path", p->log.path, "match", p->log.match,
				 "fail_match", scenario_plan_str_or_null(p->log.fail_match));
		break;
	case PROBE_PCAP:
		body = json_pack("{s:s, s:s, s:s}", "interface", p->pcap.interface, "filter",
				 p->pcap.filter, "expect", p->pcap.expect_none ? "none" : "match");
		break;
	case PROBE_KIND_COUNT:
		break;
	}
	if (body)
		json_object_set_new(o, kind, body);
	return with_place(o, &p->place);
}

static json_t *action_json(const struct scenario_action *a)
{
	return with_place(json_pack("{s:s, s:o, s:o}", "kind",
				    a->kind == ACTION_HTTP ? "http" : "command",
				    a->kind == ACTION_HTTP ? "http" : "command",
				    a->kind == ACTION_HTTP ? http_json(&a->http)
							   : command_json(&a->command),
				    "timeout_ms", scenario_plan_ms(a->timeout_ns)),
			  &a->place);
}

static json_t *criterion_json(const struct scenario *s, const struct scenario_criterion *c)
{
	/* detect: null = the first failure of a criterion probe healthy at T0. */
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "mode",
			 c->mode == CRITERION_ALL ? "all" : "any", "probes",
			 probe_ids(s, c->probes, c->n_probes), "stable_for_ms", scenario_plan_ms(c->stable_for_ns),
			 "timeout_ms", scenario_plan_ms(c->timeout_ns), "resolution_ms",
			 ms_or_null(c->resolution_ns > 0, c->resolution_ns), "detect",
			 c->has_detect ? json_string(s->probes[c->detect_probe].id) : json_null());
}

/* The failback criterion plus its steps (a step's timeout defaults to the failback's). */
static json_t *failback_json(const struct scenario *s)
{
	json_t *o = criterion_json(s, &s->failback), *steps = json_array();

	for (size_t i = 0; i < s->n_failback_steps; i++) {
		const struct scenario_step *st = &s->failback_steps[i];

		json_array_append_new(steps, with_place(json_pack("{s:i, s:s, s:s, s:o}", "step",
							(int)i + 1, "name", st->name, "run", st->run,
							"timeout_ms", scenario_plan_ms(st->timeout_ns
							? st->timeout_ns : s->failback.timeout_ns)),
							&st->place));
	}
	json_object_set_new(o, "steps", steps);
	return o;
}

static json_t *rpo_json(const struct scenario_rpo *r)
{
	json_t *canary = json_null(), *query = json_null();

	if (r->has_canary)
		canary = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "interval_ms",
				   scenario_plan_ms(r->canary.interval_ns), "lead_in_ms", scenario_plan_ms(r->canary.lead_in_ns),
				   "write", action_json(&r->canary.write),
				   "read", action_json(&r->canary.read), "value_json",
				   scenario_plan_str_or_null(r->canary.value_json), "value_match",
				   scenario_plan_str_or_null(r->canary.value_match), "expect_value",
				   scenario_plan_str_or_null(r->canary.expect_value));
	if (r->has_query)
		query = json_pack("{s:o, s:o}", "action", action_json(&r->query.action), "value_match",
				  scenario_plan_str_or_null(r->query.value_match));
	return json_pack("{s:o, s:o}", "canary", canary, "query", query);
}

static json_t *notify_json(const struct scenario *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n_notify; i++) {
		json_t *ev = json_array();

		for (unsigned e = 1; e <= NOTIFY_STATUS; e <<= 1)
			if (s->notify[i].events & e)
				json_array_append_new(ev, json_string(scenario_notify_event_name(e)));
		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:s, s:o}", "webhook_env",
						   s->notify[i].webhook_env, "events", ev, "secret_env",
						   scenario_plan_str_or_null(s->notify[i].secret_env),
						   "format", s->notify[i].format == NOTIFY_FORMAT_SLACK ? "slack" : "json",
						   "status_every_ms", scenario_plan_ms(s->notify[i].status_every_ns)));
	}
	return a;
}

json_t *scenario_plan_json(const struct scenario_plan *p)
{
	const struct scenario *s = p->s;
	json_t *faults = json_array(), *probes = json_array(), *stop_if = json_array();
	json_t *steps = json_array(), *plan;

	for (size_t i = 0; i < s->n_faults; i++)
		json_array_append_new(faults, fault_json(p->s, &p->faults[i]));
	for (size_t i = 0; i < s->n_probes; i++)
		json_array_append_new(probes, probe_json(&s->probes[i]));
	for (size_t i = 0; i < s->n_stop_if; i++)
		json_array_append_new(stop_if, json_pack("{s:s, s:o}", "probe",
							 s->probes[s->stop_if[i].probe].id, "for_ms",
							 scenario_plan_ms(s->stop_if[i].for_ns)));
	for (size_t i = 0; i < s->n_steps; i++)
		json_array_append_new(steps, with_place(json_pack("{s:i, s:s, s:b, s:o, s:o, s:s}",
						       "step", (int)i + 1,
						       "name", s->steps[i].name, "manual", s->steps[i].manual,
						       "run", scenario_plan_str_or_null(s->steps[i].run), "timeout_ms",
						       scenario_plan_ms(s->steps[i].timeout_ns), "on_failure",
						       s->steps[i].on_failure_continue ? "continue" : "stop"),
						       &s->steps[i].place));
	plan = json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:i, s:o, s:{s:o, s:o}, s:o, s:{s:o},"
			 " s:o, s:{s:o}, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "plan_version", 1, "scenario", s->name, "path", s->path, "sha256", s->sha256,
			 "description", scenario_plan_str_or_null(s->description), "environment", s->environment,
			 "iterations", (int)s->iterations, "cool_down_ms", scenario_plan_ms(s->cool_down_ns),
			 "objectives", "rto_ms", ms_or_null(s->has_rto_objective, s->rto_objective_ns),
			 "rpo_ms", ms_or_null(s->has_rpo_objective, s->rpo_objective_ns),
			 "prove_every_ms", ms_or_null(s->prove_every_ns > 0, s->prove_every_ns),
			 "scope", "netns", scenario_plan_str_or_null(s->netns),
			 "probes", probes,
			 "steady_state", "probes", probe_ids(s, s->steady_state, s->n_steady_state),
			 "faults", faults, "stop_if_failing", stop_if,
			 "recovery", criterion_json(s, &s->recovery), "runbook", steps,
			 "rpo", rpo_json(&s->rpo),
			 "failback", s->has_failback ? failback_json(s) : json_null(),
			 "notify", notify_json(s), "guards", guards_json(p), "warnings", warnings_json(p),
			 "revert", json_string("every fault, in reverse order"));
	/* keys of schema-5 scenarios, only when used: older plans stay byte-identical */
	if (plan && (s->netns_path || s->scope_pid || s->container || s->probes_from_host)) {
		json_t *scope = json_object_get(plan, "scope");
		/* scope's keys read as a place; netns is in the object already */
		const struct scenario_place sp = {
			.netns_path = s->netns_path, .pid = s->scope_pid, .container = s->container,
			.engine = s->engine,
		};

		scenario_plan_place_keys(scope, &sp);
		json_object_set_new(scope, "probes_from",
				    json_string(s->probes_from_host ? "host" : "scope"));
	}
	if (plan && s->scope_rationale)
		json_object_set_new(plan, "scope_rationale", json_string(s->scope_rationale));
	if (plan && s->n_team) {
		json_t *team = json_array();

		for (size_t k = 0; k < s->n_team; k++)
			json_array_append_new(team, json_string(s->team[k]));
		json_object_set_new(plan, "team", team);
	}
	return plan;
}

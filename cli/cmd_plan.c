/*
 * firedrill plan FILE [--json]: what a drill would do, in order, touching
 * nothing. --json gives the same plan as one JSON object (cli_plan_json,
 * also printed by `firedrill run --dry-run --json`); its key names are
 * stable and documented in docs/scenarios.md ("The plan as JSON").
 *
 * Durations are milliseconds (numbers, "_ms" keys: integers when whole); absent optional values
 * are null, never left out, so a consumer can rely on every key.
 */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fd_net.h"
#include "fd_time.h"
#include "scenario.h"

/* Whole milliseconds as integers, a sub-millisecond rest as a fraction. */
static json_t *ms(int64_t ns)
{
	if (ns % FD_NS_PER_MS == 0)
		return json_integer((json_int_t)(ns / FD_NS_PER_MS));
	return json_real((double)ns / (double)FD_NS_PER_MS);
}

static json_t *ms_or_null(bool has, int64_t ns)
{
	return has ? ms(ns) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *strings(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *cidrs(const struct fd_cidr *c, size_t n)
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

static json_t *targets_json(const struct scenario_fault *f)
{
	static const char *const protos[] = { "any", "tcp", "udp" };
	const struct scenario_targets *t = &f->targets;
	const struct scenario_prefix_list *pl = t->prefix_list;
	json_t *ports = json_array(), *o;

	for (size_t i = 0; i < t->n_ports; i++)
		json_array_append_new(ports, json_integer(t->ports[i]));
	o = json_pack("{s:o, s:o, s:b, s:o, s:s, s:o}", "cidrs", cidrs(t->cidrs, t->n_cidrs),
		      "hosts", strings(t->hosts, t->n_hosts),
		      /* hosts and prefix lists are resolved by the injector, not here */
		      "resolved_at_inject", t->n_hosts > 0 || pl != NULL,
		      "prefix_list", pl ? json_pack("{s:s, s:o, s:o, s:b}", "file", pl->file,
						    "service", str_or_null(pl->service),
						    "region", str_or_null(pl->region),
						    "include_global", pl->include_global)
					: json_null(),
		      "protocol", protos[t->protocol], "ports", ports);
	if (o && (f->kind == FAULT_DROP || f->kind == FAULT_REJECT))
		json_object_set_new(o, "direction",
				    json_string(f->direction == DIRECTION_INGRESS ? "ingress" : "egress"));
	return o;
}

static json_t *process_json(const struct scenario_process *p)
{
	return json_pack("{s:o, s:o, s:o}", "match", str_or_null(p->match), "pidfile",
			 str_or_null(p->pidfile), "pid", p->pid ? json_integer(p->pid) : json_null());
}

static void fault_body(json_t *o, const struct scenario_fault *f)
{
	const char *sig;

	switch (f->kind) {
	case FAULT_DROP:
	case FAULT_REJECT:
	case FAULT_BLACKHOLE_ROUTE:
	case FAULT_UNREACHABLE_ROUTE:
	case FAULT_PROHIBIT_ROUTE:
		json_object_set_new(o, "targets", targets_json(f));
		break;
	case FAULT_LINK_DOWN:
	case FAULT_DELAY:
	case FAULT_LOSS:
	case FAULT_RATE:
		json_object_set_new(o, "link", json_string(f->link));
		if (f->kind == FAULT_DELAY) {
			json_object_set_new(o, "delay_ms", ms(f->delay_ns));
			json_object_set_new(o, "jitter_ms", ms(f->jitter_ns));
		} else if (f->kind == FAULT_LOSS) {
			json_object_set_new(o, "loss_percent", json_real(f->loss_percent));
		} else if (f->kind == FAULT_RATE) {
			json_object_set_new(o, "rate_bps", json_integer((json_int_t)f->rate_bps));
		}
		break;
	case FAULT_KILL:
	case FAULT_STOP:
	case FAULT_FREEZE:
		json_object_set_new(o, "process", process_json(&f->process));
		if (f->kind == FAULT_KILL) {
			sig = sigabbrev_np(f->signal);
			json_object_set_new(o, "signal", sig ? json_sprintf("SIG%s", sig) : json_integer(f->signal));
		} else if (f->kind == FAULT_FREEZE) {
			json_object_set_new(o, "cgroup", str_or_null(f->cgroup));
		}
		break;
	case FAULT_EXEC:
		json_object_set_new(o, "inject_command", json_string(f->inject_cmd));
		json_object_set_new(o, "revert_command", str_or_null(f->revert_cmd));
		json_object_set_new(o, "command_timeout_ms", ms(f->timeout_ns));
		break;
	case FAULT_KIND_COUNT:
		break;
	}
}

static json_t *fault_json(const struct scenario_fault *f)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:i, s:i}", "id", f->id, "kind",
			      scenario_fault_kind_name(f->kind), "max_duration_ms", ms(f->duration_ns),
			      "revert", scenario_fault_revert_text(f), "line", f->loc.line, "col", f->loc.col);

	if (o)
		fault_body(o, f);
	return o;
}

/* ---- guards and warnings ---------------------------------------------------- */

static bool overlaps_loopback(const struct fd_cidr *c)
{
	static const uint8_t v4[16] = { 127 }, v6[16] = { [15] = 1 };
	struct fd_cidr lo4 = { .family = AF_INET, .addr = { 127 }, .prefix_len = 8 };

	if (c->family == AF_INET)
		return fd_cidr_contains(c, AF_INET, v4) || fd_cidr_contains(&lo4, AF_INET, c->addr);
	return fd_cidr_contains(c, AF_INET6, v6);
}

static void add_guard(json_t *guards, const char *fault, const char *target, const char *why)
{
	json_array_append_new(guards, json_pack("{s:s, s:s, s:s}", "fault", fault, "target", target,
						"refused_without_force", why));
}

/*
 * The guards the model alone shows (docs/injector.md, "Guards"); the
 * injector checks them again at prepare, with what only it can see (the
 * default route's link, the host's namespace).
 */
static void guards_json(const struct scenario *s, json_t *guards, json_t *warnings)
{
	char buf[FD_CIDR_STRLEN];

	for (size_t i = 0; i < s->n_faults; i++) {
		const struct scenario_fault *f = &s->faults[i];

		for (size_t k = 0; k < f->targets.n_cidrs; k++) {
			const struct fd_cidr *c = &f->targets.cidrs[k];

			fd_cidr_format(c, buf, sizeof(buf));
			if (fd_cidr_is_default(c))
				add_guard(guards, f->id, buf, "the whole address space");
			else if (!s->netns && overlaps_loopback(c))
				add_guard(guards, f->id, buf, "loopback in the host's namespace");
		}
		if (f->link && !s->netns && strcmp(f->link, "lo") == 0)
			add_guard(guards, f->id, "lo", "the host's loopback");
		if (f->process.pid == 1)
			add_guard(guards, f->id, "pid 1", "init");
		if (f->targets.n_hosts || f->targets.prefix_list)
			json_array_append_new(warnings, json_sprintf(
				"fault %s: hosts and prefix lists are resolved at inject time, "
				"not in this plan", f->id));
		if (f->link && !s->netns)
			json_array_append_new(warnings, json_sprintf(
				"fault %s: a link carrying a default route is refused at prepare "
				"without --force", f->id));
		if (f->kind == FAULT_KILL)
			json_array_append_new(warnings, json_sprintf(
				"fault %s: kill has no revert; the service must come back by itself", f->id));
		if (f->kind == FAULT_EXEC && !f->revert_cmd)
			json_array_append_new(warnings, json_sprintf(
				"fault %s: exec without a revert command", f->id));
	}
	if (!s->netns)
		json_array_append_new(warnings, json_string(
			"no scope.netns: faults apply to the namespace firedrill runs in"));
	if (s->n_steady_state == 0)
		json_array_append_new(warnings, json_string(
			"no steady-state probes: faults are injected without a health check"));
	for (size_t i = 0; i < s->n_probes; i++)
		if (s->probes[i].kind == PROBE_HTTP && s->probes[i].http.insecure)
			json_array_append_new(warnings, json_sprintf(
				"probe %s: TLS is not verified (insecure)", s->probes[i].id));
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
			 h->method, "url", h->url, "headers", strings(h->headers, h->n_headers),
			 "headers_env", henv, "body",
			 str_or_null(h->body), "expect_status", st, "body_match",
			 str_or_null(h->body_match), "max_latency_ms",
			 ms_or_null(h->max_latency_ns > 0, h->max_latency_ns), "ca_file",
			 str_or_null(h->ca_file), "insecure", h->insecure, "follow_redirects",
			 h->follow_redirects, "connection", h->reuse_connection ? "reuse" : "fresh");
}

static json_t *command_json(const struct scenario_command *c)
{
	json_t *na = json_array();

	for (size_t i = 0; i < c->n_no_answer_exit; i++)
		json_array_append_new(na, json_integer(c->no_answer_exit[i]));
	return json_pack("{s:s, s:o, s:o}", "run", c->run, "stdout_match",
			 str_or_null(c->stdout_match), "no_answer_exit", na);
}

static json_t *probe_json(const struct scenario_probe *p)
{
	const char *kind = scenario_probe_kind_name(p->kind);
	json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "id", p->id, "kind", kind, "interval_ms",
			      ms(p->interval_ns), "timeout_ms", ms(p->timeout_ns));
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
				 cidrs(p->dns.expect_in, p->dns.n_expect_in));
		break;
	case PROBE_COMMAND:
		body = command_json(&p->command);
		break;
	case PROBE_LOG:
		body = json_pack("{s:s, s:s, s:o}", "path", p->log.path, "match", p->log.match,
				 "fail_match", str_or_null(p->log.fail_match));
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
	return o;
}

static json_t *action_json(const struct scenario_action *a)
{
	return json_pack("{s:s, s:o, s:o}", "kind", a->kind == ACTION_HTTP ? "http" : "command",
			 a->kind == ACTION_HTTP ? "http" : "command",
			 a->kind == ACTION_HTTP ? http_json(&a->http) : command_json(&a->command),
			 "timeout_ms", ms(a->timeout_ns));
}

static json_t *criterion_json(const struct scenario *s, const struct scenario_criterion *c)
{
	/* detect: null = the first failure of a criterion probe healthy at T0. */
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "mode",
			 c->mode == CRITERION_ALL ? "all" : "any", "probes",
			 probe_ids(s, c->probes, c->n_probes), "stable_for_ms", ms(c->stable_for_ns),
			 "timeout_ms", ms(c->timeout_ns), "resolution_ms",
			 ms_or_null(c->resolution_ns > 0, c->resolution_ns), "detect",
			 c->has_detect ? json_string(s->probes[c->detect_probe].id) : json_null());
}

/* The failback criterion plus its steps (a step's timeout defaults to the failback's). */
static json_t *failback_json(const struct scenario *s)
{
	json_t *o = criterion_json(s, &s->failback), *steps = json_array();

	for (size_t i = 0; i < s->n_failback_steps; i++) {
		const struct scenario_step *st = &s->failback_steps[i];

		json_array_append_new(steps, json_pack("{s:i, s:s, s:s, s:o}", "step", (int)i + 1,
						       "name", st->name, "run", st->run, "timeout_ms",
						       ms(st->timeout_ns ? st->timeout_ns
							  : s->failback.timeout_ns)));
	}
	json_object_set_new(o, "steps", steps);
	return o;
}

static json_t *rpo_json(const struct scenario_rpo *r)
{
	json_t *canary = json_null(), *query = json_null();

	if (r->has_canary)
		canary = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "interval_ms",
				   ms(r->canary.interval_ns), "lead_in_ms", ms(r->canary.lead_in_ns),
				   "write", action_json(&r->canary.write),
				   "read", action_json(&r->canary.read), "value_json",
				   str_or_null(r->canary.value_json), "value_match",
				   str_or_null(r->canary.value_match), "expect_value",
				   str_or_null(r->canary.expect_value));
	if (r->has_query)
		query = json_pack("{s:o, s:o}", "action", action_json(&r->query.action), "value_match",
				  str_or_null(r->query.value_match));
	return json_pack("{s:o, s:o}", "canary", canary, "query", query);
}

static json_t *notify_json(const struct scenario *s)
{
	static const char *const names[] = { "start", "injected", "recovered", "objectives-missed", "end" };
	json_t *a = json_array();

	for (size_t i = 0; i < s->n_notify; i++) {
		json_t *ev = json_array();

		for (size_t e = 0; e < sizeof(names) / sizeof(names[0]); e++)
			if (s->notify[i].events & (1u << e))
				json_array_append_new(ev, json_string(names[e]));
		json_array_append_new(a, json_pack("{s:s, s:o}", "webhook_env", s->notify[i].webhook_env,
						   "events", ev));
	}
	return a;
}

json_t *cli_plan_json(const struct scenario *s)
{
	json_t *faults = json_array(), *probes = json_array(), *stop_if = json_array();
	json_t *steps = json_array(), *guards = json_array(), *warnings = json_array();

	for (size_t i = 0; i < s->n_faults; i++)
		json_array_append_new(faults, fault_json(&s->faults[i]));
	for (size_t i = 0; i < s->n_probes; i++)
		json_array_append_new(probes, probe_json(&s->probes[i]));
	for (size_t i = 0; i < s->n_stop_if; i++)
		json_array_append_new(stop_if, json_pack("{s:s, s:o}", "probe",
							 s->probes[s->stop_if[i].probe].id, "for_ms",
							 ms(s->stop_if[i].for_ns)));
	for (size_t i = 0; i < s->n_steps; i++)
		json_array_append_new(steps, json_pack("{s:i, s:s, s:b, s:o, s:o}", "step", (int)i + 1,
						       "name", s->steps[i].name, "manual", s->steps[i].manual,
						       "run", str_or_null(s->steps[i].run), "timeout_ms",
						       ms(s->steps[i].timeout_ns)));
	guards_json(s, guards, warnings);
	return json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:i, s:o, s:{s:o, s:o}, s:{s:o},"
			 " s:o, s:{s:o}, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "plan_version", 1, "scenario", s->name, "path", s->path, "sha256", s->sha256,
			 "description", str_or_null(s->description), "environment", s->environment,
			 "iterations", (int)s->iterations, "cool_down_ms", ms(s->cool_down_ns),
			 "objectives", "rto_ms", ms_or_null(s->has_rto_objective, s->rto_objective_ns),
			 "rpo_ms", ms_or_null(s->has_rpo_objective, s->rpo_objective_ns),
			 "scope", "netns", str_or_null(s->netns),
			 "probes", probes,
			 "steady_state", "probes", probe_ids(s, s->steady_state, s->n_steady_state),
			 "faults", faults, "stop_if_failing", stop_if,
			 "recovery", criterion_json(s, &s->recovery), "runbook", steps,
			 "rpo", rpo_json(&s->rpo),
			 "failback", s->has_failback ? failback_json(s) : json_null(),
			 "notify", notify_json(s), "guards", guards, "warnings", warnings,
			 "revert", json_string("every fault, in reverse order"));
}

void cli_plan_print(const struct scenario *s, FILE *out)
{
	json_t *o = cli_plan_json(s), *g, *w, *v;
	size_t i;

	scenario_print_plan(s, out);
	if (!o) {
		fprintf(out, "\nguards and warnings: not shown (out of memory)\n");
		return;
	}
	g = json_object_get(o, "guards");
	w = json_object_get(o, "warnings");
	fprintf(out, "\nguards (refused without --force)%s\n", json_array_size(g) ? "" : ": none");
	json_array_foreach(g, i, v) {
		fprintf(out, "  fault %s, target %s: %s\n",
			json_string_value(json_object_get(v, "fault")),
			json_string_value(json_object_get(v, "target")),
			json_string_value(json_object_get(v, "refused_without_force")));
	}
	fprintf(out, "\nwarnings%s\n", json_array_size(w) ? "" : ": none");
	json_array_foreach(w, i, v) {
		fprintf(out, "  %s\n", json_string_value(v));
	}
	json_decref(o);
}

int cli_print_json(json_t *o)
{
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) : NULL;

	if (!text)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

int cmd_plan(struct cli_ctx *ctx, int argc, char **argv)
{
	struct scenario *s = NULL;
	struct fd_error err;
	const char *file = NULL;
	bool json = ctx->json, opts = true;
	int rc = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (opts && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
			cli_print_usage(cli_find_command("plan"), stdout);
			printf("\nLoads and validates FILE, then prints the ordered plan: scope, steady-state\n"
			       "checks, each fault with its targets and max duration, probes, recovery\n"
			       "criterion, runbook steps, RPO method, failback and notifications.\n"
			       "Nothing is resolved, injected or probed.\n\n"
			       "  --json  the plan as one JSON object (keys: docs/scenarios.md)\n\n"
			       "exit: 0 printed, 2 the scenario is invalid, 3 the file cannot be read\n");
			return EXIT_OK;
		} else if (opts && strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (opts && strcmp(argv[i], "--") == 0) {
			opts = false;
		} else if (opts && argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("plan", "unknown option \"%s\"", argv[i]);
		} else if (file) {
			return cli_usage_error("plan", "needs exactly one FILE");
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return cli_usage_error("plan", "needs exactly one FILE");
	if (scenario_load(file, &s, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return fd_error_exit_code(&err);
	}
	if (json) {
		json_t *o = cli_plan_json(s);

		if (cli_print_json(o) < 0) {
			fprintf(stderr, "firedrill: error: out of memory building the plan\n");
			rc = EXIT_INTERNAL;
		}
		json_decref(o);
	} else {
		cli_plan_print(s, stdout);
	}
	scenario_free(s);
	return rc;
}

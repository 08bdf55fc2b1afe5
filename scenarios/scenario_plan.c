/*
 * The plan object (scenario_plan.h) and its text rendering: the model as an
 * ordered, human-readable plan, in the order a drill runs it. It reads the
 * model only; nothing is resolved, opened or touched (hosts and prefix
 * lists are resolved at inject time, so the plan says so instead of
 * guessing).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"
#include "scenario.h"
#include "scenario_plan.h"
#include "scenario_values.h"

static const char *dur(int64_t ns, char *buf, size_t len)
{
	return fd_duration_format(ns, buf, len);
}

static void print_http(FILE *out, const struct scenario_http *h, const char *indent)
{
	char a[32];

	fprintf(out, "%s%s %s, expect status", indent, h->method, h->url);
	for (size_t i = 0; i < h->n_expect_status; i++) {
		if (h->expect_status[i].lo == h->expect_status[i].hi)
			fprintf(out, "%s%u", i ? "," : " ", h->expect_status[i].lo);
		else
			fprintf(out, "%s%u-%u", i ? "," : " ", h->expect_status[i].lo,
				h->expect_status[i].hi);
	}
	fputc('\n', out);
	for (size_t i = 0; i < h->n_headers; i++)
		fprintf(out, "%s  header %s\n", indent, h->headers[i]);
	for (size_t i = 0; i < h->n_headers_env; i++)
		fprintf(out, "%s  header %s: (from $%s)\n", indent, h->headers_env[i].name,
			h->headers_env[i].env);
	if (h->body)
		fprintf(out, "%s  body %s\n", indent, h->body);
	if (h->body_match)
		fprintf(out, "%s  body must match /%s/\n", indent, h->body_match);
	if (h->max_latency_ns)
		fprintf(out, "%s  within %s\n", indent, dur(h->max_latency_ns, a, sizeof(a)));
	if (h->ca_file)
		fprintf(out, "%s  TLS verified against %s\n", indent, h->ca_file);
	if (h->insecure)
		fprintf(out, "%s  TLS not verified (insecure)\n", indent);
	if (h->follow_redirects)
		fprintf(out, "%s  follows redirects\n", indent);
}

static void print_command(FILE *out, const struct scenario_command *c, const char *indent)
{
	fprintf(out, "%s$ %s\n", indent, c->run);
	if (c->stdout_match)
		fprintf(out, "%s  output must match /%s/\n", indent, c->stdout_match);
	fprintf(out, "%s  no answer (not a \"no\"): killed by a signal", indent);
	if (c->n_no_answer_exit)
		fprintf(out, " or exit");
	for (size_t i = 0; i < c->n_no_answer_exit; i++)
		fprintf(out, "%s%d", i ? ", " : " ", c->no_answer_exit[i]);
	fputc('\n', out);
}

/* "INDENTfrom container web" when the item has a place of its own. */
static void print_place(FILE *out, const struct scenario_place *pl, const char *indent)
{
	char buf[160];

	if (scenario_place_set(pl))
		fprintf(out, "%sfrom %s\n", indent, scenario_place_describe(pl, buf, sizeof(buf)));
}

static void print_probe(FILE *out, const struct scenario_probe *p)
{
	char a[32], b[32], buf[FD_CIDR_STRLEN];

	fprintf(out, "  %-12s %-7s every %s, timeout %s\n", p->id, scenario_probe_kind_name(p->kind),
		dur(p->interval_ns, a, sizeof(a)), dur(p->timeout_ns, b, sizeof(b)));
	switch (p->kind) {
	case PROBE_HTTP:
		print_http(out, &p->http, "       ");
		fprintf(out, "         connection %s\n", p->http.reuse_connection
			? "reuse (kept-alive connections while healthy)"
			: "fresh (a new TCP connection per sample)");
		break;
	case PROBE_TCP:
		fprintf(out, "       connect to %s port %u\n", p->tcp.host, p->tcp.port);
		break;
	case PROBE_DNS:
		fprintf(out, "       resolve %s", p->dns.name);
		for (size_t i = 0; i < p->dns.n_expect_in; i++)
			fprintf(out, "%s%s", i ? ", " : "; answers inside ",
				fd_cidr_format(&p->dns.expect_in[i], buf, sizeof(buf)));
		fputc('\n', out);
		break;
	case PROBE_COMMAND:
		print_command(out, &p->command, "       ");
		break;
	case PROBE_LOG:
		fprintf(out, "       follow %s: healthy on /%s/", p->log.path, p->log.match);
		if (p->log.fail_match)
			fprintf(out, ", unhealthy on /%s/", p->log.fail_match);
		fputc('\n', out);
		break;
	case PROBE_PCAP:
		fprintf(out, "       capture on %s: %s; expect %s\n", p->pcap.interface,
			p->pcap.filter,
			p->pcap.expect_none ? "none (evidence: no packet may match from inject to revert)"
					    : "match (a matching packet means healthy)");
		break;
	case PROBE_KIND_COUNT:
		break;
	}
	print_place(out, &p->place, "       ");
}

static void print_probe_list(FILE *out, const struct scenario *s, const size_t *idx, size_t n,
			     const char *sep)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? sep : "", s->probes[idx[i]].id);
}

static void print_criterion(FILE *out, const struct scenario *s, const struct scenario_criterion *c)
{
	char a[32], b[32];

	fprintf(out, "  %s of: ", c->mode == CRITERION_ALL ? "all" : "any");
	print_probe_list(out, s, c->probes, c->n_probes, ", ");
	fprintf(out, "\n  healthy continuously for %s; give up after %s (\"not recovered\")\n",
		dur(c->stable_for_ns, a, sizeof(a)), dur(c->timeout_ns, b, sizeof(b)));
	if (c->resolution_ns)
		fprintf(out, "  while it does not hold after T0, its probes send every %s (resolution: %.0f requests/s each)\n",
			dur(c->resolution_ns, a, sizeof(a)), 1e9 / (double)c->resolution_ns);
	if (c == &s->recovery)
		fprintf(out, "  time to detect: the first failure after T0 of %s%s\n",
			c->has_detect ? "probe " : "a criterion probe healthy at T0",
			c->has_detect ? s->probes[c->detect_probe].id : "");
}

static void print_action(FILE *out, const char *label, const struct scenario_action *a)
{
	char t[32];

	fprintf(out, "    %s (%s, timeout %s):\n", label, a->kind == ACTION_HTTP ? "http" : "command",
		dur(a->timeout_ns, t, sizeof(t)));
	if (a->kind == ACTION_HTTP)
		print_http(out, &a->http, "      ");
	else
		print_command(out, &a->command, "      ");
	print_place(out, &a->place, "      ");
}

static void print_header(FILE *out, const struct scenario *s)
{
	char a[32];

	fprintf(out, "plan for scenario \"%s\" (%s)\n", s->name, s->path);
	fprintf(out, "  sha256 %s\n", s->sha256);
	if (s->description)
		fprintf(out, "  %s%s", s->description,
			s->description[strlen(s->description) ? strlen(s->description) - 1 : 0] == '\n'
				? "" : "\n");
	fprintf(out, "  environment %s; %u iteration%s, cool-down %s between them\n",
		s->environment, s->iterations, s->iterations == 1 ? "" : "s",
		dur(s->cool_down_ns, a, sizeof(a)));
	fprintf(out, "  objectives: RTO %s", s->has_rto_objective ? dur(s->rto_objective_ns, a, sizeof(a)) : "none");
	fprintf(out, ", RPO %s\n", s->has_rpo_objective ? dur(s->rpo_objective_ns, a, sizeof(a)) : "none");
	if (s->prove_every_ns > 0)
		fprintf(out, "  prove every %lld days (%s): stale when not proven for longer "
			"(firedrill freshness)\n", (long long)(s->prove_every_ns / SCENARIO_DAY_NS),
			dur(s->prove_every_ns, a, sizeof(a)));
	if (s->netns_path)
		fprintf(out, "  scope: the network namespace of %s\n", s->netns_path);
	else if (s->scope_pid)
		fprintf(out, "  scope: the network namespace of pid %ld (/proc/%ld/ns/net)\n",
			s->scope_pid, s->scope_pid);
	else if (s->container)
		fprintf(out, "  scope: container %s (%s), its network namespace, "
			"resolved at each iteration\n", s->container,
			s->engine ? s->engine : "engine detected: podman, else docker");
	else
		fprintf(out, "  scope: %s%s\n", s->netns ? "network namespace " : "the current network namespace",
			s->netns ? s->netns : "");
	if (s->probes_from_host)
		fprintf(out, "  probes, canary and steps run from here (probes-from: host), not in the scope\n");
	if (s->scope_rationale)
		fprintf(out, "  scope rationale: %s\n", s->scope_rationale);
	for (size_t i = 0; i < s->n_team; i++)
		fprintf(out, "%s%s%s", i ? ", " : "  team (--role ROLE=NAME): ", s->team[i],
			i + 1 == s->n_team ? "\n" : "");
}

static void print_faults(FILE *out, const struct scenario_plan *p, int *step)
{
	const struct scenario *s = p->s;
	char a[32];

	fprintf(out, "\n%d. inject (journaled before each is applied; T0 when the last is confirmed)\n",
		(*step)++);
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct scenario_fault *f = &s->faults[i];

		fprintf(out, "  %-12s %s, at most %s (line %d, col %d)\n", f->id,
			scenario_fault_kind_name(f->kind), dur(f->duration_ns, a, sizeof(a)), f->loc.line,
			f->loc.col);
		scenario_plan_fault_text(out, f);
		scenario_plan_place_text(out, &f->place);
		scenario_plan_on_text(out, s, f);
		fprintf(out, "       revert: %s\n", p->faults[i].revert ? p->faults[i].revert : "?");
	}
}

/* The read-back value check, or that any successful read counts as survived. */
static void print_readback_check(FILE *out, const struct scenario_rpo *rpo)
{
	if (!rpo->canary.expect_value) {
		fprintf(out, "      no value check: any successful read counts as survived\n");
		return;
	}
	fprintf(out, "      the value read");
	if (rpo->canary.value_json)
		fprintf(out, " at JSON path %s", rpo->canary.value_json);
	else if (rpo->canary.value_match)
		fprintf(out, " by /%s/", rpo->canary.value_match);
	else
		fprintf(out, " (the whole answer, trimmed)");
	fprintf(out, " must equal %s, else the write is lost\n", rpo->canary.expect_value);
}

static void print_rpo(FILE *out, const struct scenario_rpo *rpo, int *step)
{
	char a[32], b[32];

	if (!rpo->has_canary && !rpo->has_query)
		return;
	fprintf(out, "\n%d. RPO\n", (*step)++);
	if (rpo->has_canary) {
		fprintf(out, "  canary writes every %s from %s before T0 through recovery, read back after:\n",
			dur(rpo->canary.interval_ns, a, sizeof(a)),
			dur(rpo->canary.lead_in_ns, b, sizeof(b)));
		print_action(out, "write", &rpo->canary.write);
		print_action(out, "read", &rpo->canary.read);
		print_readback_check(out, rpo);
	}
	if (rpo->has_query) {
		fprintf(out, "  newest timestamp in the recovered datastore%s%s%s:\n",
			rpo->query.value_match ? " (value: /" : "",
			rpo->query.value_match ? rpo->query.value_match : "",
			rpo->query.value_match ? "/)" : "");
		print_action(out, "query", &rpo->query.action);
	}
}

static void print_notify(FILE *out, const struct scenario *s)
{
	char a[32];

	for (size_t i = 0; i < s->n_notify; i++) {
		fprintf(out, "  webhook from $%s on:", s->notify[i].webhook_env);
		for (unsigned e = 1; e <= NOTIFY_STATUS; e <<= 1)
			if (s->notify[i].events & e)
				fprintf(out, " %s", scenario_notify_event_name(e));
		fprintf(out, "\n    body: %s, %s%s, status every %s\n",
			s->notify[i].format == NOTIFY_FORMAT_SLACK ? "slack" : "json",
			s->notify[i].secret_env ? "signed with the secret in $" : "unsigned",
			s->notify[i].secret_env ? s->notify[i].secret_env : "",
			dur(s->notify[i].status_every_ns, a, sizeof(a)));
	}
}

void scenario_plan_print_steps(const struct scenario_plan *p, FILE *out)
{
	const struct scenario *s = p->s;
	char a[32];
	int step = 1;

	print_header(out, s);
	fprintf(out, "\nprobes\n");
	for (size_t i = 0; i < s->n_probes; i++)
		print_probe(out, &s->probes[i]);
	fprintf(out, "\n%d. steady state: ", step++);
	if (s->n_steady_state) {
		print_probe_list(out, s, s->steady_state, s->n_steady_state, ", ");
		fprintf(out, " must be healthy, or nothing is injected\n");
	} else {
		fprintf(out, "no check (nothing listed under steady-state)\n");
	}
	print_faults(out, p, &step);
	for (size_t i = 0; i < s->n_stop_if; i++)
		fprintf(out, "  abort and revert at once if %s fails for %s\n",
			s->probes[s->stop_if[i].probe].id, dur(s->stop_if[i].for_ns, a, sizeof(a)));
	fprintf(out, "\n%d. recovery (RTO = start of the first stable window - T0)\n", step++);
	print_criterion(out, s, &s->recovery);
	for (size_t i = 0; i < s->n_steps; i++) {
		fprintf(out, "  step %zu: %s [%s%s%s], timeout %s%s\n", i + 1, s->steps[i].name,
			s->steps[i].manual ? "manual" : "run: ",
			s->steps[i].manual ? "" : s->steps[i].run, "",
			dur(s->steps[i].timeout_ns, a, sizeof(a)),
			s->steps[i].on_failure_continue ? ", on failure: continue"
			: ", on failure: stop (the steps after it are not run)");
		print_place(out, &s->steps[i].place, "    ");
	}
	print_rpo(out, &s->rpo, &step);
	fprintf(out, "\n%d. revert every fault, in reverse order\n", step++);
	if (s->has_failback) {
		fprintf(out, "\n%d. failback (time until the primary serves again)\n", step++);
		print_criterion(out, s, &s->failback);
		for (size_t i = 0; i < s->n_failback_steps; i++) {
			fprintf(out, "  failback step %zu: %s [run: %s], timeout %s\n", i + 1,
				s->failback_steps[i].name, s->failback_steps[i].run,
				dur(s->failback_steps[i].timeout_ns ? s->failback_steps[i].timeout_ns
				    : s->failback.timeout_ns, a, sizeof(a)));
			print_place(out, &s->failback_steps[i].place, "    ");
		}
	}
	fprintf(out, "\n%d. record the iteration%s\n", step++,
		s->iterations > 1 ? "; cool down, then repeat from 1" : "");
	if (s->n_notify) {
		fprintf(out, "\nnotify\n");
		print_notify(out, s);
	}
}

void scenario_plan_print(const struct scenario_plan *p, FILE *out)
{
	scenario_plan_print_steps(p, out);
	fprintf(out, "\nguards (refused without --force)%s\n", p->n_guards ? "" : ": none");
	for (size_t i = 0; i < p->n_guards; i++)
		fprintf(out, "  fault %s, target %s: %s\n", p->guards[i].fault_id,
			p->guards[i].target, p->guards[i].why);
	fprintf(out, "\nwarnings%s\n", p->n_warnings ? "" : ": none");
	for (size_t i = 0; i < p->n_warnings; i++)
		fprintf(out, "  %s\n", p->warnings[i]);
}

/* The text plan without the drivers' part (tests, fuzzing). */
void scenario_print_plan(const struct scenario *s, FILE *out)
{
	struct scenario_plan *p = NULL;

	if (scenario_plan_build(s, &p) < 0) {
		fprintf(out, "plan: not shown (out of memory)\n");
		return;
	}
	scenario_plan_print_steps(p, out);
	scenario_plan_free(p);
}

/* ---- the plan object ----------------------------------------------------------- */

static int warn(struct scenario_plan *p, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int warn(struct scenario_plan *p, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	char *w;
	int n;

	if (p->n_warnings == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		char **v = realloc(p->warnings, nc * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->warnings = v;
		*cap = nc;
	}
	va_start(ap, fmt);
	n = vasprintf(&w, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	p->warnings[p->n_warnings++] = w;
	return 0;
}

/* What the model alone shows; the drivers' guards come from the injector. */
/* Whether some fault applies where firedrill runs: no scope, and no place
 * of its own. */
static bool fault_where_firedrill_runs(const struct scenario *s)
{
	if (scenario_has_scope(s))
		return false;
	for (size_t i = 0; i < s->n_faults; i++)
		if (!scenario_place_set(&s->faults[i].place))
			return true;
	return false;
}

static int plan_warnings(struct scenario_plan *p)
{
	const struct scenario *s = p->s;
	size_t cap = 0;
	int rc = 0;

	for (size_t i = 0; i < s->n_faults && rc == 0; i++) {
		const struct scenario_fault *f = &s->faults[i];

		if (f->targets.n_hosts || f->targets.prefix_list)
			rc |= warn(p, &cap, "fault %s: hosts and prefix lists are resolved at inject "
				   "time, not in this plan", f->id);
		if (f->link && !scenario_has_scope(s) && !scenario_place_set(&f->place))
			rc |= warn(p, &cap, "fault %s: a link carrying a default route is refused at "
				   "prepare without --force", f->id);
		if (f->kind == FAULT_KILL)
			rc |= warn(p, &cap, "fault %s: kill has no revert; the service must come back "
				   "by itself", f->id);
		if (f->kind == FAULT_EXEC && !f->revert_cmd)
			rc |= warn(p, &cap, "fault %s: exec without a revert command", f->id);
	}
	if (rc == 0 && fault_where_firedrill_runs(s))
		rc = warn(p, &cap, "no scope.netns: faults apply to the namespace firedrill runs in");
	if (rc == 0 && s->n_steady_state == 0)
		rc = warn(p, &cap, "no steady-state probes: faults are injected without a health check");
	for (size_t i = 0; i < s->n_probes && rc == 0; i++)
		if (s->probes[i].kind == PROBE_HTTP && s->probes[i].http.insecure)
			rc = warn(p, &cap, "probe %s: TLS is not verified (insecure)", s->probes[i].id);
	return rc ? -ENOMEM : 0;
}

int scenario_plan_build(const struct scenario *s, struct scenario_plan **out)
{
	struct scenario_plan *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->faults = calloc(s->n_faults ? s->n_faults : 1, sizeof(*p->faults));
	if (!p->faults || plan_warnings(p) < 0) {
		scenario_plan_free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_faults; i++)
		p->faults[i].f = &s->faults[i];
	*out = p;
	return 0;
}

int scenario_plan_add_guard(struct scenario_plan *p, const char *fault_id, const char *target,
			    const char *why)
{
	struct scenario_plan_guard *g;

	if (p->n_guards == p->cap_guards) {
		size_t nc = p->cap_guards ? p->cap_guards * 2 : 8;

		g = realloc(p->guards, nc * sizeof(*g));
		if (!g)
			return -ENOMEM;
		p->guards = g;
		p->cap_guards = nc;
	}
	g = &p->guards[p->n_guards++];
	g->fault_id = fault_id;
	snprintf(g->target, sizeof(g->target), "%s", target);
	g->why = why;
	return 0;
}

void scenario_plan_free(struct scenario_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_warnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	free(p->guards);
	free(p->faults);
	free(p);
}

/*
 * A fault's body in the plan, as text and as JSON, side by side: one table
 * row per fault kind (the one place the plan looks at the kind), so the two
 * renderings cannot drift apart.
 */
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>

#include "fd_time.h"
#include "scenario_plan.h"
#include "scenario_values.h"

static const char *dur(int64_t ns, char *buf, size_t len)
{
	return fd_duration_format(ns, buf, len);
}

static void print_cidrs(FILE *out, const char *label, const struct fd_cidr *c, size_t n)
{
	char buf[FD_CIDR_STRLEN];

	fprintf(out, "%s", label);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", fd_cidr_format(&c[i], buf, sizeof(buf)));
	fputc('\n', out);
}

static void targets_text(FILE *out, const struct scenario_fault *f)
{
	const struct scenario_targets *t = &f->targets;
	static const char *const protos[] = { "any", "tcp", "udp" };

	if (t->n_cidrs)
		print_cidrs(out, "       prefixes: ", t->cidrs, t->n_cidrs);
	if (t->n_hosts) {
		fprintf(out, "       hosts (resolved at inject time):");
		for (size_t i = 0; i < t->n_hosts; i++)
			fprintf(out, " %s", t->hosts[i]);
		fputc('\n', out);
	}
	if (t->prefix_list)
		fprintf(out, "       prefix list: %s, service %s, region %s%s\n", t->prefix_list->file,
			t->prefix_list->service ? t->prefix_list->service : "any",
			t->prefix_list->region ? t->prefix_list->region : "any",
			t->prefix_list->include_global ? " + GLOBAL" : "");
	if (f->kind == FAULT_DROP || f->kind == FAULT_REJECT) {
		fprintf(out, "       %s, protocol %s", f->direction == DIRECTION_INGRESS ? "ingress" : "egress",
			protos[t->protocol]);
		if (t->n_ports) {
			fprintf(out, ", ports");
			for (size_t i = 0; i < t->n_ports; i++)
				fprintf(out, "%s%u", i ? "," : " ", t->ports[i]);
		}
		fputc('\n', out);
	}
}

static void link_text(FILE *out, const struct scenario_fault *f)
{
	char a[32], b[32];

	if (f->kind == FAULT_LINK_DOWN) {
		fprintf(out, "       link %s down\n", f->link);
	} else if (f->kind == FAULT_DELAY) {
		fprintf(out, "       link %s: delay %s", f->link, dur(f->delay_ns, a, sizeof(a)));
		if (f->jitter_ns)
			fprintf(out, " +/- %s", dur(f->jitter_ns, b, sizeof(b)));
		fputc('\n', out);
	} else if (f->kind == FAULT_LOSS) {
		fprintf(out, "       link %s: lose %g%% of packets\n", f->link, f->loss_percent);
	} else {
		fprintf(out, "       link %s: limit to %" PRIu64 " bit/s\n", f->link, f->rate_bps);
	}
}

static void process_text(FILE *out, const struct scenario_fault *f)
{
	const char *sig;

	if (f->process.match)
		fprintf(out, "       process whose cmdline matches /%s/\n", f->process.match);
	else if (f->process.pidfile)
		fprintf(out, "       process named by pidfile %s\n", f->process.pidfile);
	else
		fprintf(out, "       process %d\n", f->process.pid);
	sig = scenario_value_signal_name(f->signal);
	if (f->kind == FAULT_KILL)
		fprintf(out, "       send SIG%s\n", sig ? sig : "?");
	else if (f->kind == FAULT_STOP)
		fprintf(out, "       send SIGSTOP\n");
	else
		fprintf(out, "       freeze cgroup %s\n", f->cgroup ? f->cgroup : "(the process's own)");
}

static void exec_text(FILE *out, const struct scenario_fault *f)
{
	char a[32];

	fprintf(out, "       inject: %s\n       revert command: %s\n       command timeout %s\n",
		f->inject_cmd, f->revert_cmd ? f->revert_cmd : "(none)",
		dur(f->timeout_ns, a, sizeof(a)));
}

static json_t *targets_json(const struct scenario_fault *f)
{
	static const char *const protos[] = { "any", "tcp", "udp" };
	const struct scenario_targets *t = &f->targets;
	const struct scenario_prefix_list *pl = t->prefix_list;
	json_t *ports = json_array(), *o;

	for (size_t i = 0; i < t->n_ports; i++)
		json_array_append_new(ports, json_integer(t->ports[i]));
	o = json_pack("{s:o, s:o, s:b, s:o, s:s, s:o}", "cidrs", scenario_plan_cidrs(t->cidrs, t->n_cidrs),
		      "hosts", scenario_plan_strings(t->hosts, t->n_hosts),
		      /* hosts and prefix lists are resolved by the injector, not here */
		      "resolved_at_inject", t->n_hosts > 0 || pl != NULL,
		      "prefix_list", pl ? json_pack("{s:s, s:o, s:o, s:b}", "file", pl->file,
						    "service", scenario_plan_str_or_null(pl->service),
						    "region", scenario_plan_str_or_null(pl->region),
						    "include_global", pl->include_global)
					: json_null(),
		      "protocol", protos[t->protocol], "ports", ports);
	if (o && (f->kind == FAULT_DROP || f->kind == FAULT_REJECT))
		json_object_set_new(o, "direction",
				    json_string(f->direction == DIRECTION_INGRESS ? "ingress" : "egress"));
	return o;
}

static void targets_json_set(json_t *o, const struct scenario_fault *f)
{
	json_object_set_new(o, "targets", targets_json(f));
}

static void link_json(json_t *o, const struct scenario_fault *f)
{
	json_object_set_new(o, "link", json_string(f->link));
	if (f->kind == FAULT_DELAY) {
		json_object_set_new(o, "delay_ms", scenario_plan_ms(f->delay_ns));
		json_object_set_new(o, "jitter_ms", scenario_plan_ms(f->jitter_ns));
	} else if (f->kind == FAULT_LOSS) {
		json_object_set_new(o, "loss_percent", json_real(f->loss_percent));
	} else if (f->kind == FAULT_RATE) {
		json_object_set_new(o, "rate_bps", json_integer((json_int_t)f->rate_bps));
	}
}

static json_t *process_json(const struct scenario_process *p)
{
	return json_pack("{s:o, s:o, s:o}", "match", scenario_plan_str_or_null(p->match), "pidfile",
			 scenario_plan_str_or_null(p->pidfile), "pid", p->pid ? json_integer(p->pid) : json_null());
}

static void process_json_set(json_t *o, const struct scenario_fault *f)
{
	const char *sig;

	json_object_set_new(o, "process", process_json(&f->process));
	if (f->kind == FAULT_KILL) {
		sig = sigabbrev_np(f->signal);
		json_object_set_new(o, "signal", sig ? json_sprintf("SIG%s", sig) : json_integer(f->signal));
	} else if (f->kind == FAULT_FREEZE) {
		json_object_set_new(o, "cgroup", scenario_plan_str_or_null(f->cgroup));
	}
}

static void exec_json(json_t *o, const struct scenario_fault *f)
{
	json_object_set_new(o, "inject_command", json_string(f->inject_cmd));
	json_object_set_new(o, "revert_command", scenario_plan_str_or_null(f->revert_cmd));
	json_object_set_new(o, "command_timeout_ms", scenario_plan_ms(f->timeout_ns));
}

/* One row per fault kind: how its body reads as text and as JSON. */
static const struct {
	void (*text)(FILE *out, const struct scenario_fault *f);
	void (*json)(json_t *o, const struct scenario_fault *f);
} bodies[FAULT_KIND_COUNT] = {
	[FAULT_DROP] = { targets_text, targets_json_set },
	[FAULT_REJECT] = { targets_text, targets_json_set },
	[FAULT_BLACKHOLE_ROUTE] = { targets_text, targets_json_set },
	[FAULT_UNREACHABLE_ROUTE] = { targets_text, targets_json_set },
	[FAULT_PROHIBIT_ROUTE] = { targets_text, targets_json_set },
	[FAULT_LINK_DOWN] = { link_text, link_json },
	[FAULT_DELAY] = { link_text, link_json },
	[FAULT_LOSS] = { link_text, link_json },
	[FAULT_RATE] = { link_text, link_json },
	[FAULT_KILL] = { process_text, process_json_set },
	[FAULT_STOP] = { process_text, process_json_set },
	[FAULT_FREEZE] = { process_text, process_json_set },
	[FAULT_EXEC] = { exec_text, exec_json },
	[FAULT_PAUSE] = { NULL, NULL }, /* its container (its own or the scope's) is all it names */
};

void scenario_plan_fault_text(FILE *out, const struct scenario_fault *f)
{
	if ((unsigned)f->kind < FAULT_KIND_COUNT && bodies[f->kind].text)
		bodies[f->kind].text(out, f);
}

void scenario_plan_fault_json(json_t *o, const struct scenario_fault *f)
{
	if ((unsigned)f->kind < FAULT_KIND_COUNT && bodies[f->kind].json)
		bodies[f->kind].json(o, f);
}

/* ---- where: on: ------------------------------------------------------------- */

void scenario_plan_on_text(FILE *out, const struct scenario *s, const struct scenario_fault *f)
{
	if (f->n_on == 0)
		return;
	fprintf(out, "       on:");
	if (!f->on_resolved) {
		for (size_t i = 0; i < f->n_on; i++)
			fprintf(out, "%s %s", i ? "," : "", f->on[i]);
		fprintf(out, " (names resolved by --inventory FILE)\n");
		return;
	}
	if (f->on_local)
		fprintf(out, " local%s", f->n_on_hosts ? "," : "");
	for (size_t i = 0; i < f->n_on_hosts; i++) {
		const struct scenario_host *h = &s->inventory.hosts[f->on_hosts[i]];

		fprintf(out, "%s %s (ssh %s%s%s)", i ? "," : "", h->name, h->ssh,
			h->netns ? ", netns " : "", h->netns ? h->netns : "");
	}
	fprintf(out, "\n");
}

void scenario_plan_on_json(json_t *o, const struct scenario *s, const struct scenario_fault *f)
{
	json_t *a;

	if (f->n_on == 0)
		return;
	a = json_array();
	if (!f->on_resolved) {
		for (size_t i = 0; i < f->n_on; i++)
			json_array_append_new(a, json_string(f->on[i]));
	} else {
		if (f->on_local)
			json_array_append_new(a, json_string("local"));
		for (size_t i = 0; i < f->n_on_hosts; i++)
			json_array_append_new(a, json_string(s->inventory.hosts[f->on_hosts[i]].name));
	}
	json_object_set_new(o, "on", a);
}

/* ---- where: a place of its own -------------------------------------------- */

void scenario_plan_place_text(FILE *out, const struct scenario_place *sp)
{
	char buf[256];

	if (scenario_place_set(sp))
		fprintf(out, "       in %s (its own place, not the scope's)\n",
			scenario_place_describe(sp, buf, sizeof(buf)));
}

void scenario_plan_place_keys(json_t *o, const struct scenario_place *sp)
{
	if (sp->netns)
		json_object_set_new(o, "netns", json_string(sp->netns));
	if (sp->netns_path)
		json_object_set_new(o, "netns_path", json_string(sp->netns_path));
	if (sp->pid)
		json_object_set_new(o, "pid", json_integer(sp->pid));
	if (sp->container)
		json_object_set_new(o, "container", json_string(sp->container));
	if (sp->engine)
		json_object_set_new(o, "engine", json_string(sp->engine));
}

void scenario_plan_place_json(json_t *o, const struct scenario_place *sp)
{
	json_t *place;

	if (!scenario_place_set(sp)) {
		json_object_set_new(o, "place", json_null()); /* the scope's */
		return;
	}
	place = json_object();
	scenario_plan_place_keys(place, sp);
	json_object_set_new(o, "place", place);
}

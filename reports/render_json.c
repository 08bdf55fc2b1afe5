/*
 * JSON renderer (jansson). The schema is documented in docs/reports.md;
 * "schema" names the document kind and "version" changes only when a field
 * changes meaning or disappears (new fields may appear at any version).
 * Durations are milliseconds as numbers; an absent value (not recovered,
 * not measured) is null, never a number.
 */
#include "report_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fd_config.h"

#define TREND_SCHEMA_VERSION 1
#define EVIDENCE_SCHEMA_VERSION 2 /* 2: scope, participants, the record book, deviations, integrity */

static json_t *opt_ms(bool has, double ms)
{
	return has ? json_real(ms) : json_null();
}

static json_t *objectives_json(const struct report_objectives *o)
{
	/* Unknown objectives (drills recorded before they were stored) are null, not "none". */
	return json_pack("{s:b, s:o, s:o, s:o}", "known", !o->unknown,
			 "rto_ms", rp_json_value(&o->rto), "rpo_ms", rp_json_value(&o->rpo),
			 "recovery_criterion", *o->criterion ? json_string(o->criterion) : json_null());
}

static json_t *iteration_json(const struct store_iteration *it)
{
	json_t *j = json_pack("{s:I, s:i, s:s, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:f, s:I, s:I, s:I, s:b, s:o, s:o}",
		"id", (json_int_t)it->id, "number", it->number,
		"outcome", store_outcome_name(it->outcome), "t0", rp_json_time(it->t0_real_ns),
		"recovered", it->outcome == STORE_OUTCOME_RECOVERED,
		"rto_ms", opt_ms(it->has_rto, it->rto_ms), "rpo_ms", opt_ms(it->has_rpo, it->rpo_ms),
		"detect_ms", opt_ms(it->has_detect, it->detect_ms),
		"first_success_ms", opt_ms(it->has_first_success, it->first_success_ms),
		"failback_ms", opt_ms(it->has_failback, it->failback_ms),
		"error_bound_ms", it->error_bound_ms,
		"writes_acked", (json_int_t)it->writes_acked,
		"writes_acked_outage", (json_int_t)it->writes_acked_outage,
		"lost_writes", (json_int_t)it->lost_writes,
		"objectives_met", it->objectives_met,
		"detail", rp_json_str(it->detail), "hash", rp_json_str(it->hash));
	/* true RTO in [rto_ms - rto_late_ms, rto_ms + rto_early_ms]; null when not recorded */
	if (j) {
		json_object_set_new(j, "rto_early_ms", opt_ms(it->has_rto_bounds, it->rto_early_ms));
		json_object_set_new(j, "rto_late_ms", opt_ms(it->has_rto_bounds, it->rto_late_ms));
	}
	return j;
}

static json_t *drill_info_json(const struct store_drill *d)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b, s:o, s:o, s:o}",
		"id", (json_int_t)d->id, "scenario", rp_json_str(d->scenario_name),
		"environment", rp_json_str(d->environment), "operator", rp_json_str(d->operator_name),
		"host", rp_json_str(d->host), "tool_version", rp_json_str(d->tool_version),
		"started", rp_json_time(d->started_real_ns), "ended", rp_json_time(d->ended_real_ns),
		"outcome", store_outcome_name(d->outcome), "objectives_met", d->objectives_met,
		"note", rp_json_str(d->note), "scenario_sha256", rp_json_str(d->scenario_sha256), "hash", rp_json_str(d->hash));
}

/* The drill's "ROLE=NAME" lines as [{role, name}], name null when nobody filled the role. */
static json_t *participants_json(const char *text)
{
	json_t *a = json_array();

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n"), role = strcspn(p, "=");
		char r[64], name[128];

		if (role < n) {
			snprintf(r, sizeof(r), "%.*s", (int)role, p);
			snprintf(name, sizeof(name), "%.*s", (int)(n - role - 1), p + role + 1);
			json_array_append_new(a, json_pack("{s:o, s:o}", "role", rp_json_str(r), "name",
							   name[0] ? rp_json_str(name) : json_null()));
		}
		p += n + (p[n] == '\n');
	}
	return a;
}

static json_t *actions_json(const struct report_action *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, report_action_json(&list[i]));
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? rp_json_str(s) : json_null();
}

json_t *report_flow_owner_json(const struct fd_flow_owner *o)
{
	char text[600];
	bool known = o->pid > 0;
	json_t *j = json_pack("{s:b, s:o}", "known", known, "text",
			      rp_json_str(fd_flow_owner_format(o, text, sizeof(text))));

	json_object_set_new(j, "pid", known ? json_integer(o->pid) : json_null());
	json_object_set_new(j, "holders", known ? json_integer(o->holders) : json_null());
	json_object_set_new(j, "uid", o->has_uid ? json_integer(o->uid) : json_null());
	json_object_set_new(j, "comm", str_or_null(known ? o->comm : NULL));
	json_object_set_new(j, "cmd", str_or_null(known ? o->cmd : NULL));
	json_object_set_new(j, "container", str_or_null(known ? o->container : NULL));
	json_object_set_new(j, "container_name", str_or_null(known ? o->container_name : NULL));
	json_object_set_new(j, "unknown", known ? json_null() : rp_json_str(fd_flow_owner_why(o)));
	return j;
}

/* Blackholed flows (store rows): keys in docs/reports.md. */
static json_t *flows_json(const struct store_flow *f, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o}",
			"iteration", f[i].iteration, "flow", rp_json_str(f[i].flow),
			"fault", rp_json_str(f[i].fault_id), "protocol", rp_json_str(f[i].protocol),
			"src", rp_json_str(f[i].src), "dst", rp_json_str(f[i].dst),
			"dport", f[i].dport ? json_integer(f[i].dport) : json_null(),
			"packets", (json_int_t)f[i].packets,
			"first_seen_ms", opt_ms(f[i].has_first_seen, f[i].first_seen_ms),
			"sender", report_flow_owner_json(&f[i].owner)));
	return a;
}

static json_t *trend_drill_json(const struct report_series *s, const struct report_drill *d)
{
	json_t *j = drill_info_json(&d->info), *its = json_array(), *laps = json_array();

	for (size_t i = 0; i < d->n_iterations; i++)
		json_array_append_new(its, iteration_json(&d->iterations[i]));
	for (size_t k = 0; k < s->n_steps; k++)
		json_array_append_new(laps, json_pack("{s:o, s:o}", "step", rp_json_str(s->steps[k]),
						      "median_ms", rp_json_value(&d->lap_medians[k])));
	json_object_set_new(j, "objectives", objectives_json(&d->objectives));
	json_object_set_new(j, "rto_median_ms", rp_json_value(&d->sum.rto_median));
	json_object_set_new(j, "rto_median_not_recovered", json_boolean(d->sum.rto_not_recovered));
	json_object_set_new(j, "rpo_median_ms", rp_json_value(&d->sum.rpo_median));
	json_object_set_new(j, "error_bound_ms", json_real(d->sum.error_bound_ms));
	json_object_set_new(j, "lost_writes", json_integer(d->sum.lost_writes));
	json_object_set_new(j, "recovered", json_integer(d->sum.n_recovered));
	json_object_set_new(j, "met", json_integer(d->sum.n_met));
	json_object_set_new(j, "pass_rate", json_real(d->sum.pass_rate));
	json_object_set_new(j, "rto_change_vs_previous_pct", rp_json_value(&d->rto_change_prev_pct));
	json_object_set_new(j, "rto_change_vs_first_pct", rp_json_value(&d->rto_change_first_pct));
	json_object_set_new(j, "rpo_change_vs_previous_pct", rp_json_value(&d->rpo_change_prev_pct));
	json_object_set_new(j, "rpo_change_vs_first_pct", rp_json_value(&d->rpo_change_first_pct));
	json_object_set_new(j, "rto_regression", json_boolean(d->rto_regression));
	json_object_set_new(j, "rpo_regression", json_boolean(d->rpo_regression));
	json_object_set_new(j, "scenario_changed", json_boolean(d->scenario_changed));
	json_object_set_new(j, "participants", participants_json(d->info.participants));
	json_object_set_new(j, "retested", actions_json(d->retested, d->n_retested));
	json_object_set_new(j, "laps", laps);
	json_object_set_new(j, "iterations", its);
	json_object_set_new(j, "blackholed_flows", flows_json(d->flows, d->n_flows));
	return j;
}

static json_t *int_or_null(bool has, int64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

/* The series' freshness (docs/reports.md, "Freshness"), always present. */
static json_t *freshness_json(const struct report_freshness *f)
{
	const struct store_freshness *r = &f->rec;
	char line[256];

	return json_pack("{s:s, s:s, s:b, s:s, s:b, s:o, s:o, s:o, s:o, s:o}",
		"status", report_freshness_status_name(f->status), "reason", f->reason,
		"fails", report_freshness_fails(f),
		"line", report_freshness_line(f, line, sizeof(line)), "plan_changed", f->plan_changed,
		"last_drilled", r->n_drills ? rp_json_time(r->last_drilled_real_ns) : json_null(),
		"last_proven", r->proven ? rp_json_time(r->last_proven_real_ns) : json_null(),
		"days_since_drilled", int_or_null(f->has_days_drilled, f->days_since_drilled),
		"days_since_proven", int_or_null(f->has_days_proven, f->days_since_proven),
		"prove_every_ms", int_or_null(f->prove_every_ns > 0, f->prove_every_ns / 1000000));
}

static json_t *series_json(const struct report_series *s)
{
	json_t *drills = json_array(), *steps = json_array();
	char line[256];

	for (size_t k = 0; k < s->n_steps; k++)
		json_array_append_new(steps, rp_json_str(s->steps[k]));
	for (size_t d = 0; d < s->n_drills; d++)
		json_array_append_new(drills, trend_drill_json(s, &s->drills[d]));
	return json_pack("{s:o, s:o, s:o, s:i, s:i, s:f, s:o, s:o, s:o, s:o}",
		"scenario", rp_json_str(s->scenario), "environment", rp_json_str(s->environment),
		"headline", rp_json_str(report_trend_headline(s, line, sizeof(line))),
		"iterations", s->n_iterations, "met", s->n_met, "pass_rate", s->pass_rate,
		"steps", steps, "freshness", freshness_json(&s->freshness),
		"open_actions", actions_json(s->open_actions, s->n_open_actions), "drills", drills);
}

static int dump(json_t *root, FILE *out, struct fd_error *err)
{
	int r = 0;

	if (!root)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "building the JSON report failed");
	if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 || fputc('\n', out) == EOF)
		r = fd_error_set(err, FD_ERR_ENV, -EIO, "writing the JSON report failed");
	json_decref(root);
	return r;
}

int rp_trend_json(const struct report_trend *t, FILE *out, struct fd_error *err)
{
	json_t *series = json_array();

	for (size_t i = 0; i < t->n_series; i++)
		json_array_append_new(series, series_json(&t->series[i]));
	return dump(json_pack("{s:s, s:i, s:o, s:s, s:{s:o, s:o, s:o, s:o}, s:o}",
		"schema", "firedrill-trend", "version", TREND_SCHEMA_VERSION,
		"generated", rp_json_time(t->generated_real_ns), "firedrill_version", FD_VERSION,
		"filter", "scenario", t->scenario_filter[0] ? rp_json_str(t->scenario_filter) : json_null(),
		"environment", t->environment_filter[0] ? rp_json_str(t->environment_filter) : json_null(),
		"since", rp_json_time(t->since_real_ns), "until", rp_json_time(t->until_real_ns),
		"series", series), out, err);
}

static json_t *evidence_iteration_json(const struct report_evidence_iteration *ei)
{
	json_t *j = iteration_json(&ei->it), *laps = json_array(), *probes = json_array();

	for (size_t k = 0; k < ei->n_laps; k++) {
		const struct store_lap *l = &ei->laps[k];

		json_array_append_new(laps, json_pack("{s:i, s:o, s:b, s:f, s:b, s:o}",
			"step", l->step, "name", rp_json_str(l->name), "manual", l->manual,
			"duration_ms", l->duration_ms, "ok", l->ok, "detail", rp_json_str(l->detail)));
	}
	for (size_t k = 0; k < ei->n_probes; k++) {
		const struct store_probe_stats *p = &ei->probes[k];

		json_array_append_new(probes, json_pack("{s:o, s:I, s:I, s:f, s:f}",
			"probe", rp_json_str(p->probe), "samples", (json_int_t)p->samples,
			"ok", (json_int_t)p->ok, "latency_p50_ms", p->latency_p50_ms,
			"latency_p99_ms", p->latency_p99_ms));
	}
	json_object_set_new(j, "laps", laps);
	json_object_set_new(j, "probes", probes);
	return j;
}

/* "iteration" is the iteration's number (null: drill-level); iteration_id its row id. */
static json_t *iteration_number_json(const struct report_evidence *ev, const struct store_event *e)
{
	int n = rp_event_iteration(ev, e);

	return n > 0 ? json_integer(n) : json_null();
}

static json_t *event_json(const struct report_evidence *ev, const struct store_event *e)
{
	return json_pack("{s:o, s:I, s:o, s:I, s:o, s:o, s:o}",
		"time", rp_json_time(e->real_ns), "mono_ns", (json_int_t)e->mono_ns,
		"iteration", iteration_number_json(ev, e),
		"iteration_id", (json_int_t)e->iteration_id, "kind", rp_json_str(e->kind),
		"subject", rp_json_str(e->subject), "detail", rp_json_str(e->detail));
}

/* The evidence events, as { iteration_id, probe, held, detail }. */
static json_t *fault_evidence_json(const struct report_evidence *ev)
{
	json_t *a = json_array();
	bool held;

	for (size_t i = 0; i < ev->n_events; i++) {
		const struct store_event *e = &ev->events[i];

		if (rp_fault_evidence(e, &held))
			json_array_append_new(a, json_pack("{s:o, s:I, s:o, s:b, s:o}", "iteration",
							   iteration_number_json(ev, e), "iteration_id",
							   (json_int_t)e->iteration_id, "probe",
							   rp_json_str(e->subject), "held", held,
							   "detail", rp_json_str(e->detail)));
	}
	return a;
}

static json_t *records_json(const struct store_record *r, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, report_record_json(&r[i]));
	return a;
}

static json_t *integrity_json(const struct report_evidence *ev)
{
	json_t *a = json_array();

	for (size_t i = 0; ev->integrity && i < ev->n_iterations; i++) {
		const struct report_integrity *g = &ev->integrity[i];

		json_array_append_new(a, json_pack("{s:i, s:b, s:I, s:I, s:o, s:o, s:o}", "iteration",
			g->iteration, "measured", g->measured, "writes_acked", (json_int_t)g->writes_acked,
			"writes_acked_outage", (json_int_t)g->writes_acked_outage, "lost_writes",
			g->has_rpo ? json_integer(g->lost_writes) : json_null(), "rpo_ms",
			opt_ms(g->has_rpo, g->rpo_ms), "read_back", str_or_null(g->read_back)));
	}
	return a;
}

static json_t *deviations_json(const struct report_evidence *ev)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ev->n_deviations; i++) {
		const struct report_deviation *d = &ev->deviations[i];

		json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:o}", "time", rp_json_time(d->real_ns),
			"iteration", d->iteration ? json_integer(d->iteration) : json_null(),
			"kind", rp_json_str(d->kind), "detail", rp_json_str(d->what)));
	}
	return a;
}

static json_t *signoffs_json(const struct report_evidence *ev)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ev->n_signoffs; i++) {
		const struct report_signoff_check *c = &ev->signoffs[i];
		json_t *o = report_record_json(&c->rec);

		json_object_set_new(o, "ok", json_boolean(c->ok));
		json_object_set_new(o, "problem", str_or_null(c->what));
		json_object_set_new(o, "covers_records", json_integer(c->records_seq));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *controls_json(const struct report_evidence *ev)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ev->n_controls; i++) {
		const struct report_control *c = &ev->controls[i];

		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:o, s:o}", "id", c->id,
			"name", rp_json_str(c->name), "text", rp_json_str(c->text),
			"shows", rp_json_str(c->shows), "missing", str_or_null(c->missing)));
	}
	return a;
}

/* What schema 2 added: the scope, the people, the record book, and what the plan did not foresee. */
static void book_json(const struct report_evidence *ev, json_t *root)
{
	json_object_set_new(root, "scope", json_pack("{s:o, s:o}", "description",
		str_or_null(ev->drill.description), "rationale", str_or_null(ev->drill.scope_rationale)));
	json_object_set_new(root, "participants", participants_json(ev->drill.participants));
	json_object_set_new(root, "data_integrity", integrity_json(ev));
	json_object_set_new(root, "deviations", deviations_json(ev));
	json_object_set_new(root, "findings", records_json(ev->findings, ev->n_findings));
	json_object_set_new(root, "actions", actions_json(ev->actions, ev->n_actions));
	json_object_set_new(root, "retested", actions_json(ev->retested, ev->n_retested));
	json_object_set_new(root, "lessons", records_json(ev->notes, ev->n_notes));
	json_object_set_new(root, "signoffs", signoffs_json(ev));
	if (ev->n_controls)
		json_object_set_new(root, "controls", controls_json(ev));
}

int rp_evidence_json(const struct report_evidence *ev, FILE *out, struct fd_error *err)
{
	json_t *its = json_array(), *events = json_array(), *root;
	struct report_drill s;
	char verdict[512];

	if (rp_evidence_summary(ev, &s) < 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (size_t i = 0; i < ev->n_iterations; i++)
		json_array_append_new(its, evidence_iteration_json(&ev->iterations[i]));
	for (size_t i = 0; i < ev->n_events; i++)
		json_array_append_new(events, event_json(ev, &ev->events[i]));
	free(s.iterations);
	root = json_pack("{s:s, s:i, s:o, s:s, s:o, s:o, s:o, s:{s:o, s:b, s:o, s:o, s:f}, "
			      "s:{s:o, s:b, s:o}, s:o, s:o}",
		"schema", "firedrill-evidence", "version", EVIDENCE_SCHEMA_VERSION,
		"generated", rp_json_time(ev->generated_real_ns), "firedrill_version", ev->tool_version,
		"verdict", rp_json_str(report_evidence_verdict(ev, verdict, sizeof(verdict))),
		"drill", drill_info_json(&ev->drill), "objectives", objectives_json(&ev->objectives),
		"measured", "rto_median_ms", rp_json_value(&s.sum.rto_median),
		"rto_median_not_recovered", s.sum.rto_not_recovered,
		"rpo_median_ms", rp_json_value(&s.sum.rpo_median), "lost_writes", json_integer(s.sum.lost_writes),
		"error_bound_ms", s.sum.error_bound_ms,
		"scenario", "sha256", rp_json_str(ev->scenario_sha256), "sha256_matches_text", ev->scenario_hash_ok,
		"text", rp_json_str(ev->scenario_text),
		"iterations", its, "events", events);
	if (root) {
		json_object_set_new(root, "fault_evidence", fault_evidence_json(ev));
		json_object_set_new(root, "blackholed_flows", flows_json(ev->flows, ev->n_flows));
		book_json(ev, root);
	}
	return dump(root, out, err);
}

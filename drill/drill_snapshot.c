/*
 * What the war room shows, built by the drill's thread: between slices it
 * turns its own state (phase, T0, the iteration's verdict so far, probes,
 * steps, faults, canary, recent events) into one JSON text and publishes it
 * (drill_warroom.c), at most every SNAPSHOT_EVERY_NS unless something
 * happened. The war room's threads only ever see that text. Presses come
 * back through the slice loop (drill_slice.c), which applies them like
 * `firedrill lap` requests.
 *
 * Times in the snapshot are milliseconds (the JSON edge); "ago"/"since"
 * values are relative to the snapshot's own now, so a browser only adds
 * the time since it received it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "drill_internal.h"
#include "injector.h"
#include "scorer.h"

#define SNAPSHOT_EVERY_NS (250 * FD_NS_PER_MS)
#define SNAPSHOT_SOON_NS (25 * FD_NS_PER_MS)

struct wr_event {
	int64_t real_ns;
	unsigned iteration;
	char kind[32];
	char subject[128];
	char detail[400];
};

struct wr_sample {
	int64_t sent_ns;
	int64_t latency_ns;
	bool ok;
};

static double ms(int64_t ns)
{
	return (double)ns / (double)FD_NS_PER_MS;
}

int drill_snapshot_init(struct drill *d)
{
	if (!d->o->war_room)
		return 0;
	d->warroom = d->o->war_room;
	d->wr_events = calloc(WR_EVENTS, sizeof(*d->wr_events));
	d->wr_samples = calloc((d->s->n_probes + 1) * WR_SAMPLES, sizeof(*d->wr_samples));
	d->wr_sample_head = calloc(d->s->n_probes + 1, sizeof(*d->wr_sample_head));
	d->wr_sample_n = calloc(d->s->n_probes + 1, sizeof(*d->wr_sample_n));
	if (!d->wr_events || !d->wr_samples || !d->wr_sample_head || !d->wr_sample_n)
		return -ENOMEM;
	warroom_attach(d->warroom, true);
	return 0;
}

void drill_snapshot_free(struct drill *d)
{
	if (d->warroom) {
		drill_snapshot_publish(d, true); /* the final state stays on the page */
		warroom_attach(d->warroom, false);
	}
	free(d->wr_events);
	free(d->wr_samples);
	free(d->wr_sample_head);
	free(d->wr_sample_n);
	d->wr_events = NULL;
	d->wr_samples = NULL;
	d->warroom = NULL;
}

void drill_snapshot_event(struct drill *d, int64_t real_ns, const char *kind, const char *subject,
			  const char *detail)
{
	struct wr_event *e;

	if (!d->wr_events)
		return;
	e = &d->wr_events[d->wr_head];
	d->wr_head = (d->wr_head + 1) % WR_EVENTS;
	if (d->wr_n < WR_EVENTS)
		d->wr_n++;
	e->real_ns = real_ns;
	e->iteration = d->number;
	drill_textf(e->kind, sizeof(e->kind), "%s", kind);
	drill_textf(e->subject, sizeof(e->subject), "%s", subject ? subject : "");
	drill_textf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
	d->wr_dirty = true;
}

void drill_snapshot_sample(struct drill *d, size_t probe, int64_t sent_ns, bool ok,
			   int64_t latency_ns)
{
	struct wr_sample *s;

	if (!d->wr_samples || probe >= d->s->n_probes)
		return;
	s = &d->wr_samples[probe * WR_SAMPLES + d->wr_sample_head[probe]];
	d->wr_sample_head[probe] = (d->wr_sample_head[probe] + 1) % WR_SAMPLES;
	if (d->wr_sample_n[probe] < WR_SAMPLES)
		d->wr_sample_n[probe]++;
	s->sent_ns = sent_ns;
	s->latency_ns = latency_ns;
	s->ok = ok;
}

/* True when the recovery criterion holds on the latest samples. */
static bool criterion_holds(const struct drill *d)
{
	const struct scenario_criterion *c = &d->s->recovery;
	size_t ok = 0;

	for (size_t i = 0; i < c->n_probes; i++)
		ok += d->tracks[c->probes[i]].seen && d->tracks[c->probes[i]].ok;
	return c->n_probes && (c->mode == CRITERION_ANY ? ok > 0 : ok == c->n_probes);
}

static json_t *team_json(const struct drill *d)
{
	json_t *a = json_array();
	const char *p = d->participants;

	while (p && *p) {
		size_t len = strcspn(p, "\n");
		const char *eq = memchr(p, '=', len);

		if (eq)
			json_array_append_new(a, json_pack("{s:s%, s:s%}", "role", p, (size_t)(eq - p),
							   "name", eq + 1, len - (size_t)(eq - p) - 1));
		p += len;
		if (*p)
			p++;
	}
	return a;
}

static json_t *probes_json(const struct drill *d, int64_t now)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->s->n_probes; i++) {
		json_t *samples = json_array();
		size_t n = d->wr_sample_n[i];

		for (size_t k = 0; k < n; k++) {
			size_t at = (d->wr_sample_head[i] + WR_SAMPLES - n + k) % WR_SAMPLES;
			const struct wr_sample *s = &d->wr_samples[i * WR_SAMPLES + at];

			json_array_append_new(samples, json_pack("[f, b, f]", ms(now - s->sent_ns), s->ok,
								 ms(s->latency_ns)));
		}
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o}", "id", d->s->probes[i].id,
			"kind", scenario_probe_kind_name(d->s->probes[i].kind),
			"state", !d->tracks[i].seen ? "unknown" : d->tracks[i].ok ? "up" : "down",
			"samples", samples));
	}
	return a;
}

static json_t *steps_json(const struct drill *d, int64_t now)
{
	const struct step_runner *sr = d->steps ? d->steps : d->last_steps;
	json_t *a = json_array();
	const struct store_lap *laps = NULL;
	size_t n = 0;

	if (sr)
		laps = step_runner_laps(sr, &n);
	for (size_t i = 0; i < d->s->n_steps; i++) {
		const struct scenario_step *st = &d->s->steps[i];
		enum step_state state = step_runner_state(sr, i);
		json_t *dur = json_null();

		if (laps && i < n && laps[i].started_mono_ns && state != STEP_NOT_RUN)
			dur = json_real(ms((laps[i].ended_mono_ns ? laps[i].ended_mono_ns : now) -
					   laps[i].started_mono_ns));
		json_array_append_new(a, json_pack("{s:i, s:s, s:b, s:s, s:o, s:s, s:s}", "index", (int)i,
			"name", st->name, "manual", st->manual, "state", step_state_name(state),
			"duration_ms", dur, "detail", laps && i < n ? laps[i].detail : "",
			"on_failure", st->on_failure_continue ? "continue" : "stop"));
	}
	return a;
}

static json_t *faults_json(const struct drill *d, int64_t now)
{
	json_t *a = json_array();
	size_t n = d->inj ? injector_fault_count(d->inj) : 0;

	for (size_t i = 0; i < n; i++) {
		const char *id = injector_fault_id(d->inj, i);
		int64_t max = 0;

		for (size_t k = 0; k < d->s->n_faults; k++)
			if (strcmp(d->s->faults[k].id, id) == 0)
				max = d->s->faults[k].duration_ns;
		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:o}", "id", id,
			"summary", injector_fault_summary(d->inj, i), "applied", d->applied,
			"left_ms", d->applied && d->has_t0 ? json_real(ms(max - (now - d->t0))) : json_null()));
	}
	return a;
}

static int newer_first(const void *a, const void *b)
{
	const struct wr_event *x = *(const struct wr_event *const *)a;
	const struct wr_event *y = *(const struct wr_event *const *)b;

	return x->real_ns < y->real_ns ? 1 : x->real_ns > y->real_ns ? -1 : 0;
}

/* Newest first, by when each happened (a probe transition is dated by its
 * sample's send, before it was recorded); blackholed flows gathered from
 * the same events. */
static void timeline_json(const struct drill *d, json_t **events, json_t **flows)
{
	const struct wr_event *order[WR_EVENTS];
	char when[64];

	*events = json_array();
	*flows = json_array();
	for (size_t k = 0; k < d->wr_n; k++)
		order[k] = &d->wr_events[(d->wr_head + WR_EVENTS - 1 - k) % WR_EVENTS];
	if (d->wr_n > 1)
		qsort(order, d->wr_n, sizeof(order[0]), newer_first); /* stable enough: ties are rare */
	for (size_t k = 0; k < d->wr_n; k++) {
		const struct wr_event *e = order[k];

		json_array_append_new(*events, json_pack("{s:s, s:i, s:s, s:s, s:s}", "time",
			fd_time_format_utc(e->real_ns, when, sizeof(when)), "iteration", (int)e->iteration,
			"kind", e->kind, "subject", e->subject, "detail", e->detail));
		if (strcmp(e->kind, "blackholed-flow") == 0 && e->iteration == d->number)
			json_array_append_new(*flows, json_pack("{s:s, s:s}", "flow", e->subject,
								"detail", e->detail));
	}
}

static char *build(struct drill *d, int64_t now)
{
	const struct scenario *s = d->s;
	const struct drill_iteration *it = d->cur_it;
	int64_t written = 0, acked = 0, inflight = 0;
	json_t *root, *events, *flows, *obj;
	char crit[256], rto[96];
	bool holds = d->tracks && criterion_holds(d);
	bool done = d->phase == DRILL_PHASE_DONE;
	char *text;

	if (holds && !d->crit_since)
		d->crit_since = now;
	else if (!holds)
		d->crit_since = 0;
	scorer_canary_counts(d->sc, &written, &acked, &inflight);
	timeline_json(d, &events, &flows);
	obj = json_pack("{s:o, s:o, s:s}",
		"rto_ms", s->has_rto_objective ? json_real(ms(s->rto_objective_ns)) : json_null(),
		"rpo_ms", s->has_rpo_objective ? json_real(ms(s->rpo_objective_ns)) : json_null(),
		"criterion", drill_criterion_text(s, &s->recovery, crit, sizeof(crit)));
	root = json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:s, s:f, s:b, s:o, s:o, s:o}",
		"scenario", s->name, "environment", d->environment,
		"description", s->description ? s->description : "",
		"drill_id", (json_int_t)d->drill_id, "iteration", (int)d->number,
		"iterations", (int)d->iterations, "phase", drill_phase_name(d->phase),
		"phase_ms", ms(now - d->phase_start), "has_t0", d->has_t0,
		"since_t0_ms", d->has_t0 ? json_real(ms((d->watch_end ? d->watch_end : now) - d->t0))
					 : json_null(),
		"watch_running", json_boolean(d->has_t0 && !d->watch_end && d->phase == DRILL_PHASE_WATCH),
		"objectives", obj);
	if (!root)
		return NULL;
	json_object_set_new(root, "operator", json_string(d->operator_name));
	json_object_set_new(root, "team", team_json(d));
	json_object_set_new(root, "recovered", json_boolean(it && it->has_rto));
	json_object_set_new(root, "rto_ms", it && it->has_rto ? json_real(ms(it->rto_ns)) : json_null());
	json_object_set_new(root, "rto_text", json_string(it && it->has_rto ?
		drill_rto_text(it, rto, sizeof(rto)) : ""));
	json_object_set_new(root, "outcome", json_string(done ? drill_outcome_name(d->res->outcome)
		: it && it->outcome != OUTCOME_RUNNING ? drill_outcome_name(it->outcome) : "running"));
	json_object_set_new(root, "detail", json_string(done ? d->res->detail : it ? it->detail : ""));
	json_object_set_new(root, "aborting", json_boolean(d->abort_requested));
	json_object_set_new(root, "abort_why", json_string(d->abort_requested ? d->abort_why : ""));
	json_object_set_new(root, "done", json_boolean(done));
	json_object_set_new(root, "faults", faults_json(d, now));
	json_object_set_new(root, "probes", d->tracks ? probes_json(d, now) : json_array());
	json_object_set_new(root, "criterion", json_pack("{s:b, s:o, s:f}", "holds", holds,
		"held_ms", holds ? json_real(ms(now - d->crit_since)) : json_null(),
		"stable_for_ms", ms(s->recovery.stable_for_ns)));
	json_object_set_new(root, "canary", s->rpo.has_canary ?
		json_pack("{s:I, s:I, s:I}", "written", (json_int_t)written, "acked", (json_int_t)acked,
			  "in_flight", (json_int_t)inflight) : json_null());
	json_object_set_new(root, "steps", steps_json(d, now));
	json_object_set_new(root, "flows", flows);
	json_object_set_new(root, "timeline", events);
	json_object_set_new(root, "now_real_ms", json_real(ms(fd_real_ns())));
	text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(root);
	return text;
}

void drill_snapshot_publish(struct drill *d, bool force)
{
	int64_t now = fd_mono_ns();

	if (!d->warroom)
		return;
	/* something happened: soon (many events in one slice make one snapshot);
	 * else the clocks and charts every SNAPSHOT_EVERY_NS */
	if (!force && now - d->last_publish < (d->wr_dirty ? SNAPSHOT_SOON_NS : SNAPSHOT_EVERY_NS))
		return;
	d->last_publish = now;
	d->wr_dirty = false;
	warroom_publish(d->warroom, build(d, now));
}

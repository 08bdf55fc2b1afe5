/*
 * The trend model: drills grouped per scenario x environment, oldest first,
 * with per-drill medians, changes against the previous and the first drill,
 * regressions and per-step lap medians.
 *
 * Arithmetic rules (docs/reports.md):
 *  - per drill, report_summarize (shared with `firedrill history`);
 *  - a regression is a median worse than the previous drill's by more than
 *    the larger of the two drills' error bounds, or a drill that did not
 *    recover after one that did;
 *  - a drill's scenario changed when its text's sha256 differs from the
 *    previous drill's; the series' freshness (freshness.c) is judged from
 *    its drills at the generated time.
 */
#include "report_priv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"

static int cmp_input(const void *a, const void *b)
{
	const struct report_drill_input *x = *(const struct report_drill_input *const *)a;
	const struct report_drill_input *y = *(const struct report_drill_input *const *)b;
	int c = strcmp(x->drill->scenario_name, y->drill->scenario_name);

	if (c)
		return c;
	c = strcmp(x->drill->environment, y->drill->environment);
	if (c)
		return c;
	if (x->drill->started_real_ns != y->drill->started_real_ns)
		return x->drill->started_real_ns < y->drill->started_real_ns ? -1 : 1;
	return (x->drill->id > y->drill->id) - (x->drill->id < y->drill->id);
}

static int cmp_iteration(const void *a, const void *b)
{
	const struct store_iteration *x = a, *y = b;

	return (x->number > y->number) - (x->number < y->number);
}

static bool same_series(const struct store_drill *a, const struct store_drill *b)
{
	return strcmp(a->scenario_name, b->scenario_name) == 0 &&
	       strcmp(a->environment, b->environment) == 0;
}

static struct report_value change_pct(const struct report_value *cur,
				      const struct report_value *ref)
{
	struct report_value r = { 0 };

	if (!cur->has || !ref->has)
		return r;
	if (ref->ms > 0)
		r = (struct report_value){ true, (cur->ms - ref->ms) / ref->ms * 100.0 };
	else if (cur->ms == 0)
		r = (struct report_value){ true, 0 };
	return r; /* from 0 to something: no finite percentage */
}

static void drill_changes(struct report_drill *d, const struct report_drill *prev,
			  const struct report_drill *first)
{
	double bound = fmax(d->sum.error_bound_ms, prev->sum.error_bound_ms);

	d->rto_change_prev_pct = change_pct(&d->sum.rto_median, &prev->sum.rto_median);
	d->rto_change_first_pct = change_pct(&d->sum.rto_median, &first->sum.rto_median);
	d->rpo_change_prev_pct = change_pct(&d->sum.rpo_median, &prev->sum.rpo_median);
	d->rpo_change_first_pct = change_pct(&d->sum.rpo_median, &first->sum.rpo_median);
	if (prev->sum.rto_median.has)
		d->rto_regression = d->sum.rto_not_recovered ||
				    (d->sum.rto_median.has && d->sum.rto_median.ms - prev->sum.rto_median.ms > bound);
	if (prev->sum.rpo_median.has && d->sum.rpo_median.has)
		d->rpo_regression = d->sum.rpo_median.ms - prev->sum.rpo_median.ms > bound;
}

/* A text recorded on both sides that differs; an unrecorded one tells nothing. */
static bool scenario_changed(const struct store_drill *d, const struct store_drill *prev)
{
	return d->scenario_sha256[0] && prev->scenario_sha256[0] &&
	       strcmp(d->scenario_sha256, prev->scenario_sha256) != 0;
}

static int add_step(struct report_series *s, const char *name)
{
	char **grown;

	for (size_t i = 0; i < s->n_steps; i++)
		if (strcmp(s->steps[i], name) == 0)
			return 0;
	grown = realloc(s->steps, (s->n_steps + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->steps = grown;
	s->steps[s->n_steps] = strdup(name);
	if (!s->steps[s->n_steps])
		return -ENOMEM;
	s->n_steps++;
	return 0;
}

static int cmp_lap_step(const void *a, const void *b)
{
	const struct store_lap *const *x = a, *const *y = b;

	return ((*x)->step > (*y)->step) - ((*x)->step < (*y)->step);
}

/* Step names in runbook order of the first drill that had them. */
static int collect_steps(struct report_series *s, const struct report_drill_input *const *in)
{
	for (size_t d = 0; d < s->n_drills; d++) {
		size_t n = in[d]->n_laps;
		const struct store_lap **order = malloc((n + 1) * sizeof(*order));
		int r = 0;

		if (!order)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			order[i] = &in[d]->laps[i];
		qsort(order, n, sizeof(*order), cmp_lap_step);
		for (size_t i = 0; i < n && r == 0; i++)
			r = add_step(s, order[i]->name);
		free(order);
		if (r)
			return r;
	}
	return 0;
}

static int lap_medians(struct report_series *s, const struct report_drill_input *const *in)
{
	for (size_t d = 0; d < s->n_drills; d++) {
		struct report_drill *dr = &s->drills[d];
		double *v = malloc((in[d]->n_laps + 1) * sizeof(*v));

		dr->lap_medians = calloc(s->n_steps + 1, sizeof(*dr->lap_medians));
		if (!v || !dr->lap_medians) {
			free(v);
			return -ENOMEM;
		}
		for (size_t k = 0; k < s->n_steps; k++) {
			size_t n = 0;

			for (size_t i = 0; i < in[d]->n_laps; i++)
				if (rp_lap_ended(&in[d]->laps[i]) &&
				    strcmp(in[d]->laps[i].name, s->steps[k]) == 0)
					v[n++] = in[d]->laps[i].duration_ms;
			if (n)
				dr->lap_medians[k] = (struct report_value){ true, rp_median(v, n) };
		}
		free(v);
	}
	return 0;
}

static int build_drill(struct report_drill *d, const struct report_drill_input *in)
{
	d->info = *in->drill;
	d->objectives = in->objectives;
	d->iterations = malloc((in->n_iterations + 1) * sizeof(*d->iterations));
	if (!d->iterations)
		return -ENOMEM;
	if (in->n_iterations)
		memcpy(d->iterations, in->iterations, in->n_iterations * sizeof(*d->iterations));
	d->n_iterations = in->n_iterations;
	qsort(d->iterations, d->n_iterations, sizeof(*d->iterations), cmp_iteration);
	if (in->n_flows) {
		d->flows = malloc(in->n_flows * sizeof(*d->flows));
		if (!d->flows)
			return -ENOMEM;
		memcpy(d->flows, in->flows, in->n_flows * sizeof(*d->flows));
		d->n_flows = in->n_flows;
	}
	rp_drill_stats(d);
	return 0;
}

static int build_series(struct report_series *s, const struct report_drill_input *const *in,
			size_t n)
{
	int r;

	snprintf(s->scenario, sizeof(s->scenario), "%s", in[0]->drill->scenario_name);
	snprintf(s->environment, sizeof(s->environment), "%s", in[0]->drill->environment);
	s->drills = calloc(n, sizeof(*s->drills));
	if (!s->drills)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = build_drill(&s->drills[i], in[i]);
		if (r)
			return r;
		s->n_drills++;
		if (i > 0) {
			drill_changes(&s->drills[i], &s->drills[i - 1], &s->drills[0]);
			s->drills[i].scenario_changed = scenario_changed(&s->drills[i].info,
									 &s->drills[i - 1].info);
		}
		s->n_iterations += (int)s->drills[i].n_iterations;
		s->n_met += s->drills[i].sum.n_met;
	}
	s->pass_rate = s->n_iterations ? (double)s->n_met / s->n_iterations : 0;
	r = collect_steps(s, in);
	return r ? r : lap_medians(s, in);
}

int report_trend_build(const struct report_drill_input *in, size_t n,
		       struct report_trend **out, struct fd_error *err)
{
	const struct report_drill_input **order = malloc((n + 1) * sizeof(*order));
	struct report_trend *t = calloc(1, sizeof(*t));
	int r = -ENOMEM;

	if (!order || !t)
		goto cleanup;
	t->generated_real_ns = fd_real_ns();
	t->series = calloc(n + 1, sizeof(*t->series));
	if (!t->series)
		goto cleanup;
	for (size_t i = 0; i < n; i++)
		order[i] = &in[i];
	qsort(order, n, sizeof(*order), cmp_input);
	r = 0;
	for (size_t i = 0; i < n && r == 0;) {
		size_t j = i + 1;

		while (j < n && same_series(order[i]->drill, order[j]->drill))
			j++;
		r = build_series(&t->series[t->n_series], order + i, j - i);
		if (r == 0)
			report_series_freshness(&t->series[t->n_series], t->generated_real_ns,
						&t->series[t->n_series].freshness);
		t->n_series++;
		i = j;
	}
cleanup:
	free(order);
	if (r) {
		report_trend_free(t);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "trend report: out of memory");
	}
	*out = t;
	return 0;
}

void report_trend_free(struct report_trend *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_series; i++) {
		struct report_series *s = &t->series[i];

		for (size_t d = 0; d < s->n_drills; d++) {
			free(s->drills[d].iterations);
			free(s->drills[d].lap_medians);
			free(s->drills[d].retested);
			free(s->drills[d].flows);
		}
		free(s->open_actions);
		free(s->drills);
		for (size_t k = 0; k < s->n_steps; k++)
			free(s->steps[k]);
		free(s->steps);
	}
	free(t->series);
	free(t);
}

/* One stored drill with everything the trend needs; freed by input_free(). */
struct loaded {
	struct report_drill_input in;
	struct store_iteration *its;
	struct store_lap *laps;
	struct store_flow *flows;
};

static void input_free(struct loaded *l)
{
	free(l->its);
	free(l->laps);
	free(l->flows);
}

static int load_laps(struct store *st, struct loaded *l, struct fd_error *err)
{
	size_t cap = 0;

	for (size_t i = 0; i < l->in.n_iterations; i++) {
		struct store_lap *laps = NULL;
		size_t n = 0;
		int r = store_list_laps(st, l->its[i].id, &laps, &n, err);

		if (r < 0)
			return r;
		if (l->in.n_laps + n > cap) {
			size_t ncap = (l->in.n_laps + n) * 2;
			struct store_lap *grown = realloc(l->laps, ncap * sizeof(*grown));

			if (!grown) {
				free(laps);
				return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
			}
			l->laps = grown;
			cap = ncap;
		}
		if (n)
			memcpy(l->laps + l->in.n_laps, laps, n * sizeof(*laps));
		l->in.n_laps += n;
		free(laps);
	}
	l->in.laps = l->laps;
	return 0;
}

static struct report_drill *drill_by_id(struct report_trend *t, int64_t id)
{
	for (size_t i = 0; i < t->n_series; i++)
		for (size_t d = 0; d < t->series[i].n_drills; d++)
			if (t->series[i].drills[d].info.id == id)
				return &t->series[i].drills[d];
	return NULL;
}

static int append_action(struct report_action **arr, size_t *n, const struct report_action *a)
{
	struct report_action *grown = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!grown)
		return -ENOMEM;
	grown[(*n)++] = *a;
	*arr = grown;
	return 0;
}

/* Each series' open actions, and on each retest drill the actions it closed. */
static int attach_actions(struct store *st, struct report_trend *t, struct fd_error *err)
{
	struct report_actions_filter f = { .now_real_ns = t->generated_real_ns };
	struct report_action *all = NULL;
	size_t n = 0;
	int r = report_actions_load(st, &f, &all, &n, err);

	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct report_action *a = &all[i];
		struct report_drill *retest = a->closed ? drill_by_id(t, a->closing.retest_drill_id) : NULL;

		for (size_t k = 0; r == 0 && !a->closed && k < t->n_series; k++) {
			struct report_series *s = &t->series[k];

			if (strcmp(s->scenario, a->scenario) == 0 && strcmp(s->environment, a->environment) == 0)
				r = append_action(&s->open_actions, &s->n_open_actions, a);
		}
		if (r == 0 && retest)
			r = append_action(&retest->retested, &retest->n_retested, a);
	}
	free(all);
	return r == -ENOMEM ? fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory") : r;
}

int report_trend_load(struct store *st, const struct store_filter *f,
		      struct report_trend **out, struct fd_error *err)
{
	struct store_drill *drills = NULL;
	struct loaded *l = NULL;
	struct report_drill_input *in = NULL;
	size_t n = 0, n_loaded = 0;
	int r;

	r = store_read_begin(st, err);
	if (r < 0)
		return r;
	r = store_list_drills(st, f, &drills, &n, err);
	if (r < 0) {
		store_read_end(st);
		return r;
	}
	l = calloc(n + 1, sizeof(*l));
	in = calloc(n + 1, sizeof(*in));
	if (!l || !in) {
		r = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto cleanup;
	}
	for (; n_loaded < n; n_loaded++) {
		struct loaded *x = &l[n_loaded];

		x->in.drill = &drills[n_loaded];
		r = store_list_iterations(st, drills[n_loaded].id, &x->its, &x->in.n_iterations, err);
		if (r < 0)
			goto cleanup;
		x->in.iterations = x->its;
		r = load_laps(st, x, err);
		if (r == 0)
			r = store_list_flows(st, drills[n_loaded].id, &x->flows, &x->in.n_flows, err);
		x->in.flows = x->flows;
		if (r < 0) {
			n_loaded++;
			goto cleanup;
		}
		report_objectives_of(&drills[n_loaded], &x->in.objectives);
		in[n_loaded] = x->in;
	}
	r = report_trend_build(in, n, out, err);
	if (r == 0)
		r = attach_actions(st, *out, err);
	if (r == 0 && f) {
		(*out)->since_real_ns = f->since_real_ns;
		(*out)->until_real_ns = f->until_real_ns;
		snprintf((*out)->scenario_filter, sizeof((*out)->scenario_filter), "%s",
			 f->scenario ? f->scenario : "");
		snprintf((*out)->environment_filter, sizeof((*out)->environment_filter), "%s",
			 f->environment ? f->environment : "");
	}
cleanup:
	store_read_end(st);
	for (size_t i = 0; i < n_loaded; i++)
		input_free(&l[i]);
	free(l);
	free(in);
	free(drills);
	return r;
}

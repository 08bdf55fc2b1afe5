/*
 * Schedule arithmetic: each probe sends on a fixed grid start + k*interval.
 * Deriving the next due time from the previous due time (not from "now")
 * keeps the schedule from drifting however late individual sends are.
 */
#include "scorer_int.h"

#include <stdlib.h>
#include <string.h>

void sched_init(struct sched *s, int64_t start_ns, int64_t interval_ns)
{
	s->start_ns = start_ns;
	s->interval_ns = interval_ns > 0 ? interval_ns : 1;
	s->next_ns = start_ns;
	s->skipped = 0;
	s->last_due_ns = INT64_MIN;
}

int64_t sched_fire(struct sched *s, int64_t now_ns)
{
	int64_t due = s->next_ns;
	int64_t behind;

	s->last_due_ns = due;
	s->next_ns += s->interval_ns;
	if (now_ns >= s->next_ns) {
		/* Stalled past whole intervals: skip them rather than burst. */
		behind = (now_ns - s->next_ns) / s->interval_ns + 1;
		s->skipped += behind;
		s->next_ns += behind * s->interval_ns;
	}
	return now_ns - due;
}

void sched_restep(struct sched *s, int64_t step_ns, int64_t now_ns)
{
	int64_t next;

	s->interval_ns = step_ns > 0 ? step_ns : 1;
	next = s->start_ns;
	if (now_ns > next)
		next += (now_ns - s->start_ns + s->interval_ns - 1) / s->interval_ns * s->interval_ns;
	if (next <= s->last_due_ns)
		next += ((s->last_due_ns - next) / s->interval_ns + 1) * s->interval_ns;
	s->next_ns = next;
}

void lateness_add(struct lateness *l, int64_t ns)
{
	if (!l->ring) {
		l->ring = calloc(LATENESS_RING, sizeof(*l->ring));
		if (!l->ring)
			return;
	}
	l->ring[l->n % LATENESS_RING] = ns;
	l->n++;
	if (ns > l->max_ns)
		l->max_ns = ns;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void lateness_stats(const struct lateness *l, struct scorer_lateness *out)
{
	size_t n = l->n < LATENESS_RING ? l->n : LATENESS_RING;
	int64_t *copy;

	memset(out, 0, sizeof(*out));
	out->sends = (int64_t)l->n;
	out->max_ns = l->max_ns;
	if (n == 0 || !l->ring)
		return;
	copy = malloc(n * sizeof(*copy));
	if (!copy)
		return;
	memcpy(copy, l->ring, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp_i64);
	out->p50_ns = copy[n / 2];
	out->p99_ns = copy[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	free(copy);
}

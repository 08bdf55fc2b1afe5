/*
 * Blackholed flows: what the drop/reject faults cut off, read from the
 * injector's flow log between slices. Each new flow is recorded the moment
 * it is first seen (a crash mid-fault keeps the list) with who sent it, and
 * at revert its packet count, as an event and a row of the store's flows
 * table (docs/drill.md, "Blackholed flows").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drill_internal.h"
#include "fd_priv.h"
#include "injector.h"
#include "scorer.h"

/*
 * The injector keeps one list of flows for the whole drill; an iteration
 * counts only the packets dropped after its own injection. Called right
 * after apply, before any read: flows still unread then are this
 * iteration's, and the previous revert drained the rest.
 */
int drill_flows_begin(struct drill *d)
{
	const struct injector_flow *f;
	size_t n = injector_blackholed_flows(d->inj, &f);

	free(d->flow_seen);
	d->flow_seen = calloc(n + 1, sizeof(*d->flow_seen));
	d->n_flow_seen = d->flow_seen ? n : 0;
	if (!d->flow_seen)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		d->flow_seen[i].base = f[i].packets;
	return 0;
}

void drill_flow_from(const struct injector_flow *f, struct drill_flow *out)
{
	memset(out, 0, sizeof(*out));
	out->family = f->family;
	memcpy(out->src, f->src, sizeof(out->src));
	memcpy(out->dst, f->dst, sizeof(out->dst));
	out->protocol = f->protocol;
	out->dport = f->dport;
	out->packets = f->packets;
	drill_textf(out->fault_id, sizeof(out->fault_id), "%s", f->fault_id);
	out->owner = f->owner;
}

/* ... as this iteration saw it: its packets and when it was first read. */
static void flow_copy(struct drill_flow *out, const struct injector_flow *f,
		      const struct flow_seen *fs, int64_t t0)
{
	drill_flow_from(f, out);
	out->packets = f->packets - fs->base;
	out->first_seen_mono_ns = fs->first_mono;
	out->since_t0_ns = fs->first_mono - t0;
}

/* Reads the flow log between slices (never inside the scorer's loop) and
 * records each new flow at once (timeline and operator). */
void drill_flows_poll(struct drill *d, int64_t now)
{
	const struct injector_flow *f;
	struct flow_seen *grown;
	struct drill_flow df;
	char detail[800], text[160], dur[32], sender[600];
	size_t n;

	if (!d->inj || !d->flow_seen)
		return;
	/* a new flow's sender is searched for in every process's /proc/PID/fd */
	fd_priv_proc_read();
	injector_read_flows(d->inj);
	fd_priv_lower();
	n = injector_blackholed_flows(d->inj, &f);
	if (n > d->n_flow_seen) {
		grown = realloc(d->flow_seen, n * sizeof(*grown));
		if (!grown)
			return; /* seen on a later slice */
		memset(grown + d->n_flow_seen, 0, (n - d->n_flow_seen) * sizeof(*grown));
		d->flow_seen = grown;
		d->n_flow_seen = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct flow_seen *fs = &d->flow_seen[i];

		if (fs->seen || f[i].packets <= fs->base)
			continue;
		fs->seen = true;
		fs->first_mono = now;
		flow_copy(&df, &f[i], fs, d->t0);
		drill_textf(detail, sizeof(detail), "first seen at T0+%s, dropped by fault %s, %s",
			    fd_duration_format(df.since_t0_ns, dur, sizeof(dur)), df.fault_id,
			    drill_flow_sender(&df, sender, sizeof(sender)));
		drill_event_at(d, now, "blackholed-flow", drill_flow_format(&df, text, sizeof(text)),
			       detail);
	}
}

/* The iteration's flows as rows of the store's flows table (sealed with it). */
static void flows_store(struct drill *d)
{
	struct store_flow *rows;
	struct fd_error e = { 0 };

	if (!d->drill_id || !d->iteration_id || d->n_flows == 0)
		return;
	rows = calloc(d->n_flows, sizeof(*rows));
	if (!rows)
		return; /* the events have them */
	for (size_t i = 0; i < d->n_flows; i++)
		drill_flow_row(&d->flows[i], d->iteration_id, &rows[i]);
	if (store_add_flows(d->st, rows, d->n_flows, &e) < 0)
		drill_event(d, "note", "flows not recorded", e.msg);
	free(rows);
}

/*
 * At revert: one "blackholed-flow-total" event per distinct flow of this
 * iteration with the packets dropped, and its row in the flows table; the
 * list is kept for the result.
 */
void drill_flows_record(struct drill *d)
{
	const struct injector_flow *f;
	char subject[160], detail[256];
	size_t n;

	drill_flows_poll(d, fd_mono_ns());
	n = injector_blackholed_flows(d->inj, &f);
	if (!d->flow_seen || n == 0)
		return;
	free(d->flows);
	d->n_flows = 0;
	d->flows = calloc(n, sizeof(*d->flows));
	if (!d->flows)
		return;
	for (size_t i = 0; i < n && i < d->n_flow_seen; i++) {
		struct drill_flow *df = &d->flows[d->n_flows];

		if (!d->flow_seen[i].seen)
			continue;
		flow_copy(df, &f[i], &d->flow_seen[i], d->t0);
		d->n_flows++;
		drill_textf(detail, sizeof(detail), "%llu packet%s dropped by fault %s",
			    (unsigned long long)df->packets, df->packets == 1 ? "" : "s", df->fault_id);
		drill_event(d, "blackholed-flow-total", drill_flow_format(df, subject, sizeof(subject)),
			    detail);
	}
	flows_store(d);
	free(d->flow_seen);
	d->flow_seen = NULL;
	d->n_flow_seen = 0;
}

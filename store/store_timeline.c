/*
 * store_timeline.c: what happened during a drill: events (the timeline,
 * committed one by one as they happen), probe samples (in batches),
 * runbook laps and blackholed flows.
 */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"

int store_add_event(struct store *st, struct store_event *ev, struct fd_error *err)
{
	static const char sql[] =
		"INSERT INTO events (drill_id, iteration_id, mono_ns, real_ns, utc, kind, subject, detail,"
		" seal) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
		" fd_seal('events', ?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8))";
	int64_t ordinal;
	sqlite3_stmt *s;
	int rc;

	if (!ev->real_ns)
		ev->real_ns = fd_real_ns();
	if (!ev->mono_ns)
		ev->mono_ns = fd_mono_ns();
	s = store_tx_stmt(st, sql, &rc, err);
	if (!s)
		return rc;
	rc = store_seal_reserve(st, SEAL_EVENTS, ev->drill_id, 1, &ordinal, err);
	if (rc)
		return store_tx_end(st, rc, err);
	sqlite3_bind_int64(s, 9, ordinal);
	sqlite3_bind_int64(s, 1, ev->drill_id);
	store_bind_i64_nz(s, 2, ev->iteration_id);
	sqlite3_bind_int64(s, 3, ev->mono_ns);
	sqlite3_bind_int64(s, 4, ev->real_ns);
	store_bind_utc(s, 5, ev->real_ns);
	sqlite3_bind_text(s, 6, ev->kind, -1, SQLITE_STATIC);
	store_bind_text(s, 7, ev->subject);
	store_bind_text(s, 8, ev->detail);
	rc = store_step_insert(st, s, &ev->id, "recording an event", err);
	return store_tx_end(st, rc, err);
}

int store_add_samples(struct store *st, const struct store_sample *smp, size_t n,
		      struct fd_error *err)
{
	static const char sql[] =
		"INSERT INTO samples (iteration_id, probe, mono_ns, ok, latency_ns, detail, seal)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, fd_seal('samples', ?7, ?1, ?2, ?3, ?4, ?5, ?6))";
	int64_t ordinal = 0;
	int rc;

	if (n == 0)
		return 0;
	rc = store_tx_begin(st, err);
	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < n; i++) {
		sqlite3_stmt *s;

		if (i == 0 || smp[i].iteration_id != smp[i - 1].iteration_id) {
			size_t run = 1;

			while (i + run < n && smp[i + run].iteration_id == smp[i].iteration_id)
				run++;
			rc = store_seal_reserve(st, SEAL_SAMPLES, smp[i].iteration_id, run, &ordinal, err);
			if (rc)
				break;
		} else if (ordinal) {
			ordinal++;
		}
		s = store_stmt(st, sql, err);
		if (!s) {
			rc = -EIO;
			break;
		}
		sqlite3_bind_int64(s, 1, smp[i].iteration_id);
		sqlite3_bind_text(s, 2, smp[i].probe, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, smp[i].mono_ns);
		sqlite3_bind_int(s, 4, smp[i].ok);
		sqlite3_bind_int64(s, 5, smp[i].latency_ns);
		store_bind_text(s, 6, smp[i].detail);
		sqlite3_bind_int64(s, 7, ordinal);
		rc = store_step_done(st, s, "recording probe samples", err);
	}
	return store_tx_end(st, rc, err);
}

int store_add_lap(struct store *st, const struct store_lap *lap, struct fd_error *err)
{
	static const char sql[] =
		"INSERT INTO laps (iteration_id, step, name, manual, started_mono_ns, ended_mono_ns,"
		" duration_ms, ok, detail, seal) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		" fd_seal('laps', ?10, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9))";
	int64_t ordinal;
	int rc;
	sqlite3_stmt *s = store_tx_stmt(st, sql, &rc, err);

	if (!s)
		return rc;
	rc = store_seal_reserve(st, SEAL_LAPS, lap->iteration_id, 1, &ordinal, err);
	if (rc)
		return store_tx_end(st, rc, err);
	sqlite3_bind_int64(s, 10, ordinal);
	sqlite3_bind_int64(s, 1, lap->iteration_id);
	sqlite3_bind_int(s, 2, lap->step);
	sqlite3_bind_text(s, 3, lap->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, lap->manual);
	store_bind_i64_nz(s, 5, lap->started_mono_ns);
	store_bind_i64_nz(s, 6, lap->ended_mono_ns);
	/* A step that never ended has no duration. */
	store_bind_double_opt(s, 7, lap->ended_mono_ns != 0, lap->duration_ms);
	sqlite3_bind_int(s, 8, lap->ok);
	store_bind_text(s, 9, lap->detail);
	rc = store_step_done(st, s, "recording a lap", err);
	return store_tx_end(st, rc, err);
}

/* The owner's columns from ?first on, in flow_fields' order (store_chain.c). */
static void bind_owner(sqlite3_stmt *s, int first, const struct fd_flow_owner *o)
{
	bool known = o->pid > 0;

	store_bind_i64_nz(s, first, known ? o->pid : 0);
	store_bind_i64_nz(s, first + 1, known ? o->holders : 0);
	if (o->has_uid)
		sqlite3_bind_int64(s, first + 2, o->uid);
	else
		sqlite3_bind_null(s, first + 2);
	store_bind_text(s, first + 3, known ? o->comm : NULL);
	store_bind_text(s, first + 4, known ? o->cmd : NULL);
	store_bind_text(s, first + 5, known ? o->container : NULL);
	store_bind_text(s, first + 6, known ? o->container_name : NULL);
	store_bind_text(s, first + 7, known ? NULL : fd_flow_owner_why(o));
}

int store_add_flows(struct store *st, const struct store_flow *f, size_t n, struct fd_error *err)
{
	static const char sql[] =
		"INSERT INTO flows (iteration_id, fault_id, protocol, src, dst, dport, flow, packets,"
		" first_seen_ms, owner_pid, owner_holders, owner_uid, owner_comm, owner_cmd,"
		" owner_container, owner_container_name, owner_unknown, seal) VALUES (?1, ?2, ?3, ?4,"
		" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, fd_seal('flows', ?18, ?1,"
		" ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17))";
	int64_t ordinal = 0;
	int rc;

	if (n == 0)
		return 0;
	rc = store_tx_begin(st, err);
	for (size_t i = 0; !rc && i < n; i++) {
		sqlite3_stmt *s;

		/* a few rows per iteration: one reservation each is cheap enough */
		rc = store_seal_reserve(st, SEAL_FLOWS, f[i].iteration_id, 1, &ordinal, err);
		s = rc ? NULL : store_stmt(st, sql, err);
		if (!s) {
			rc = rc ? rc : -EIO;
			break;
		}
		sqlite3_bind_int64(s, 1, f[i].iteration_id);
		sqlite3_bind_text(s, 2, f[i].fault_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, f[i].protocol, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, f[i].src, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, f[i].dst, -1, SQLITE_STATIC);
		store_bind_i64_nz(s, 6, f[i].dport);
		sqlite3_bind_text(s, 7, f[i].flow, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 8, f[i].packets);
		store_bind_double_opt(s, 9, f[i].has_first_seen, f[i].first_seen_ms);
		bind_owner(s, 10, &f[i].owner);
		sqlite3_bind_int64(s, 18, ordinal);
		rc = store_step_done(st, s, "recording blackholed flows", err);
	}
	return store_tx_end(st, rc, err);
}

static int read_event(sqlite3_stmt *s, void *elem)
{
	struct store_event *e = elem;

	e->id = sqlite3_column_int64(s, 0);
	e->drill_id = sqlite3_column_int64(s, 1);
	e->iteration_id = sqlite3_column_int64(s, 2);
	e->mono_ns = sqlite3_column_int64(s, 3);
	e->real_ns = sqlite3_column_int64(s, 4);
	store_col_text(s, 5, e->kind, sizeof(e->kind));
	store_col_text(s, 6, e->subject, sizeof(e->subject));
	store_col_text(s, 7, e->detail, sizeof(e->detail));
	return 0;
}

/* In event-time order: a probe transition is dated by its sample's send and
 * recorded when the answer came, after events that happened in between. */
int store_list_events(struct store *st, int64_t drill_id,
		      struct store_event **out, size_t *n, struct fd_error *err)
{
	static const char sql[] =
		"SELECT id, drill_id, coalesce(iteration_id, 0), mono_ns, real_ns, kind, subject, detail"
		" FROM events WHERE drill_id = ?1 ORDER BY mono_ns, id";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s)
		sqlite3_bind_int64(s, 1, drill_id);
	return store_read_rows(st, s, read_event, sizeof(**out), (void **)out, n, NULL,
			       "listing events", err);
}

static int read_lap(sqlite3_stmt *s, void *elem)
{
	struct store_lap *l = elem;

	l->iteration_id = sqlite3_column_int64(s, 0);
	l->step = sqlite3_column_int(s, 1);
	store_col_text(s, 2, l->name, sizeof(l->name));
	l->manual = sqlite3_column_int(s, 3) != 0;
	l->started_mono_ns = sqlite3_column_int64(s, 4);
	l->ended_mono_ns = sqlite3_column_int64(s, 5);
	l->duration_ms = sqlite3_column_double(s, 6);
	l->ok = sqlite3_column_int(s, 7) != 0;
	store_col_text(s, 8, l->detail, sizeof(l->detail));
	return 0;
}

int store_list_laps(struct store *st, int64_t iteration_id,
		    struct store_lap **out, size_t *n, struct fd_error *err)
{
	static const char sql[] =
		"SELECT iteration_id, step, name, manual, coalesce(started_mono_ns, 0),"
		" coalesce(ended_mono_ns, 0), coalesce(duration_ms, 0), ok, detail"
		" FROM laps WHERE iteration_id = ?1 ORDER BY step, id";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s)
		sqlite3_bind_int64(s, 1, iteration_id);
	return store_read_rows(st, s, read_lap, sizeof(**out), (void **)out, n, NULL,
			       "listing laps", err);
}

static int read_flow(sqlite3_stmt *s, void *elem)
{
	struct store_flow *f = elem;
	struct fd_flow_owner *o = &f->owner;

	f->iteration_id = sqlite3_column_int64(s, 0);
	f->iteration = sqlite3_column_int(s, 1);
	store_col_text(s, 2, f->fault_id, sizeof(f->fault_id));
	store_col_text(s, 3, f->protocol, sizeof(f->protocol));
	store_col_text(s, 4, f->src, sizeof(f->src));
	store_col_text(s, 5, f->dst, sizeof(f->dst));
	f->dport = sqlite3_column_int(s, 6);
	store_col_text(s, 7, f->flow, sizeof(f->flow));
	f->packets = sqlite3_column_int64(s, 8);
	f->first_seen_ms = store_col_double_opt(s, 9, &f->has_first_seen);
	o->pid = (pid_t)sqlite3_column_int64(s, 10);
	o->holders = sqlite3_column_int(s, 11);
	o->has_uid = sqlite3_column_type(s, 12) != SQLITE_NULL;
	o->uid = (uint32_t)sqlite3_column_int64(s, 12);
	store_col_text(s, 13, o->comm, sizeof(o->comm));
	store_col_text(s, 14, o->cmd, sizeof(o->cmd));
	store_col_text(s, 15, o->container, sizeof(o->container));
	store_col_text(s, 16, o->container_name, sizeof(o->container_name));
	store_col_text(s, 17, o->why, sizeof(o->why));
	return 0;
}

int store_list_flows(struct store *st, int64_t drill_id, struct store_flow **out, size_t *n,
		     struct fd_error *err)
{
	static const char sql[] =
		"SELECT f.iteration_id, i.number, f.fault_id, f.protocol, f.src, f.dst,"
		" coalesce(f.dport, 0), f.flow, f.packets, f.first_seen_ms, coalesce(f.owner_pid, 0),"
		" coalesce(f.owner_holders, 0), f.owner_uid, f.owner_comm, f.owner_cmd,"
		" f.owner_container, f.owner_container_name, f.owner_unknown"
		" FROM flows f JOIN iterations i ON i.id = f.iteration_id"
		" WHERE i.drill_id = ?1 ORDER BY i.number, f.id";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s)
		sqlite3_bind_int64(s, 1, drill_id);
	return store_read_rows(st, s, read_flow, sizeof(**out), (void **)out, n, NULL,
			       "listing blackholed flows", err);
}

/* ---- probe statistics ------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n-1]. */
static double percentile(const int64_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0.0;
	rank = (size_t)((p / 100.0) * (double)n + 0.999999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1e6;
}

/* Closes the probe group in ps: percentiles of its ok latencies v[0..n-1]. */
static void close_group(struct store_probe_stats *ps, int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	ps->latency_p50_ms = percentile(v, n, 50);
	ps->latency_p99_ms = percentile(v, n, 99);
}

/* One pass in probe order (the samples index), percentiles computed here. */
int store_probe_stats(struct store *st, int64_t iteration_id,
		      struct store_probe_stats **out, size_t *n, struct fd_error *err)
{
	static const char sql[] =
		"SELECT probe, ok, latency_ns FROM samples WHERE iteration_id = ?1 ORDER BY probe";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	struct store_probe_stats *cur = NULL;
	int64_t *lat = NULL;
	size_t cap = 0, nlat = 0, latcap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, iteration_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *probe = (const char *)sqlite3_column_text(s, 0);
		bool ok = sqlite3_column_int(s, 1) != 0;

		if (!cur || strcmp(cur->probe, probe ? probe : "") != 0) {
			if (cur)
				close_group(cur, lat, nlat);
			if (store_grow((void **)out, &cap, *n + 1, sizeof(**out))) {
				rc = SQLITE_NOMEM;
				break;
			}
			cur = &(*out)[(*n)++];
			memset(cur, 0, sizeof(*cur));
			store_col_text(s, 0, cur->probe, sizeof(cur->probe));
			nlat = 0;
		}
		cur->samples++;
		if (!ok)
			continue;
		cur->ok++;
		if (sqlite3_column_type(s, 2) == SQLITE_NULL)
			continue;
		if (store_grow((void **)&lat, &latcap, nlat + 1, sizeof(*lat))) {
			rc = SQLITE_NOMEM;
			break;
		}
		lat[nlat++] = sqlite3_column_int64(s, 2);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE && cur)
		close_group(cur, lat, nlat);
	free(lat);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return store_sql_error(st, err, rc, "reading probe statistics");
	}
	return 0;
}

/*
 * store_journal.c: the write-ahead fault journal (table faults).
 *
 * A fault row is PLANNED before the driver touches anything, APPLIED once
 * the driver confirms, and REVERTED once undone (or FAILED when apply
 * failed and nothing remained). Whatever is PLANNED or APPLIED after a
 * crash is what `firedrill revert` and the guardian must undo; a PLANNED
 * row may be half-applied.
 */
#include "store_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"

static const char *const state_names[] = {
	[JOURNAL_PLANNED] = "planned",
	[JOURNAL_APPLIED] = "applied",
	[JOURNAL_REVERTED] = "reverted",
	[JOURNAL_FAILED] = "failed",
};

#define N_STATES (sizeof(state_names) / sizeof(state_names[0]))

const char *store_journal_state_name(enum journal_state s)
{
	return (size_t)s < N_STATES ? state_names[s] : "unknown";
}

static enum journal_state parse_state(const unsigned char *name)
{
	long i = store_name_index((const char *)name, state_names, N_STATES);

	/* The CHECK constraint makes i < 0 unreachable; treat unknown as still applied. */
	return i < 0 ? JOURNAL_APPLIED : (enum journal_state)i;
}

/* Inserts one PLANNED row inside the caller's transaction. */
static int insert_planned(struct store *st, struct store_fault *f, struct fd_error *err)
{
	static const char sql[] =
		"INSERT INTO faults (drill_id, fault_id, kind, netns, spec, state, planned_real_ns,"
		" planned_utc, max_duration_ns, expires_real_ns, expires_utc, holder_pid, detail, seal)"
		" VALUES (?1, ?2, ?3, ?4, ?5, 'planned', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	sqlite3_stmt *s;
	int64_t ordinal;
	int rc;

	/* the seal holds the row's position until store_seal_refresh writes it whole */
	rc = store_seal_reserve(st, SEAL_FAULTS, f->drill_id, 1, &ordinal, err);
	if (rc)
		return rc;
	if (!f->planned_real_ns)
		f->planned_real_ns = fd_real_ns();
	f->state = JOURNAL_PLANNED;
	s = store_stmt(st, sql, err);
	if (!s)
		return -EIO;
	store_bind_i64_nz(s, 1, f->drill_id);
	sqlite3_bind_text(s, 2, f->fault_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, f->kind, -1, SQLITE_STATIC);
	store_bind_text(s, 4, f->netns);
	store_bind_text(s, 5, f->spec);
	sqlite3_bind_int64(s, 6, f->planned_real_ns);
	store_bind_utc(s, 7, f->planned_real_ns);
	store_bind_i64_nz(s, 8, f->max_duration_ns);
	store_bind_i64_nz(s, 9, f->expires_real_ns);
	store_bind_utc(s, 10, f->expires_real_ns);
	sqlite3_bind_int(s, 11, f->holder_pid);
	store_bind_text(s, 12, f->detail);
	sqlite3_bind_int64(s, 13, ordinal);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_CONSTRAINT_CHECK)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				  "fault \"%s\": journal spec is not valid JSON: %.80s",
				  f->fault_id, f->spec ? f->spec : "");
	else
		rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, "journaling a fault");
	if (!rc)
		f->id = sqlite3_last_insert_rowid(st->db);
	return rc ? rc : store_seal_refresh(st, SEAL_FAULTS, f->id, err);
}

int store_journal_plan(struct store *st, struct store_fault *f, struct fd_error *err)
{
	return store_journal_plan_all(st, f, 1, err);
}

int store_journal_plan_all(struct store *st, struct store_fault *f, size_t n,
			   struct fd_error *err)
{
	int rc = store_tx_begin(st, err);

	for (size_t i = 0; !rc && i < n; i++)
		rc = insert_planned(st, &f[i], err);
	rc = store_tx_end(st, rc, err);
	for (size_t i = 0; rc && i < n; i++)
		f[i].id = 0; /* rolled back: no row exists */
	return rc;
}

struct journal_times {
	enum journal_state state;
	int64_t max_duration, applied, expires, reverted, failed;
	char fault_id[64];
};

static int read_times_row(sqlite3_stmt *s, void *elem)
{
	struct journal_times *t = elem;

	t->state = parse_state(sqlite3_column_text(s, 0));
	t->max_duration = sqlite3_column_int64(s, 1);
	t->applied = sqlite3_column_int64(s, 2);
	t->expires = sqlite3_column_int64(s, 3);
	t->reverted = sqlite3_column_int64(s, 4);
	t->failed = sqlite3_column_int64(s, 5);
	store_col_text(s, 6, t->fault_id, sizeof(t->fault_id));
	return 0;
}

static int read_times(struct store *st, int64_t row, struct journal_times *t,
		      struct fd_error *err)
{
	static const char sql[] =
		"SELECT state, coalesce(max_duration_ns, 0), coalesce(applied_real_ns, 0),"
		" coalesce(expires_real_ns, 0), coalesce(reverted_real_ns, 0),"
		" coalesce(failed_real_ns, 0), fault_id FROM faults WHERE id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (s)
		sqlite3_bind_int64(s, 1, row);
	rc = store_read_row(st, s, read_times_row, t, "reading the journal", err);
	if (rc == -ENOENT)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOENT, "%s: no journal row %lld",
				  st->path, (long long)row);
	return rc;
}

/* Applies the transition to t; -EINVAL when it is not allowed. */
static int transition(struct journal_times *t, enum journal_state to, int64_t when)
{
	/* Callers pass the enum's own values; a row read back is parsed into
	 * them (state_parse), so anything else is a bug, not input. */
	assert((unsigned)to <= JOURNAL_FAILED && (unsigned)t->state <= JOURNAL_FAILED);
	if (t->state == to)
		return 0;
	if (t->state != JOURNAL_PLANNED && !(t->state == JOURNAL_APPLIED && to == JOURNAL_REVERTED))
		return -EINVAL;
	t->state = to;
	if (to == JOURNAL_APPLIED) {
		t->applied = when;
		if (t->max_duration > 0)
			t->expires = when + t->max_duration;
	} else if (to == JOURNAL_REVERTED) {
		t->reverted = when;
	} else if (to == JOURNAL_FAILED) {
		t->failed = when;
	}
	return 0;
}

static int write_times(struct store *st, int64_t row, const struct journal_times *t,
		       const char *detail, struct fd_error *err)
{
	static const char sql[] =
		"UPDATE faults SET state = ?2, applied_real_ns = ?3, applied_utc = ?4,"
		" expires_real_ns = ?5, expires_utc = ?6, reverted_real_ns = ?7, reverted_utc = ?8,"
		" failed_real_ns = ?9, failed_utc = ?10,"
		" detail = CASE WHEN ?11 IS NULL THEN detail"
		" WHEN detail IS NULL OR detail = '' THEN ?11 ELSE detail || char(10) || ?11 END"
		" WHERE id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, row);
	sqlite3_bind_text(s, 2, store_journal_state_name(t->state), -1, SQLITE_STATIC);
	store_bind_i64_nz(s, 3, t->applied);
	store_bind_utc(s, 4, t->applied);
	store_bind_i64_nz(s, 5, t->expires);
	store_bind_utc(s, 6, t->expires);
	store_bind_i64_nz(s, 7, t->reverted);
	store_bind_utc(s, 8, t->reverted);
	store_bind_i64_nz(s, 9, t->failed);
	store_bind_utc(s, 10, t->failed);
	store_bind_text(s, 11, detail);
	return store_step_done(st, s, "updating the journal", err);
}

/* One row's state change inside the caller's transaction. */
static int set_state(struct store *st, int64_t fault_row, enum journal_state s,
		     int64_t when_real_ns, const char *detail, struct fd_error *err)
{
	struct journal_times t;
	enum journal_state from;
	int rc = read_times(st, fault_row, &t, err);

	from = t.state;
	if (!rc && transition(&t, s, when_real_ns))
		rc = fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				  "journal row %lld (fault \"%s\"): cannot go from %s to %s",
				  (long long)fault_row, t.fault_id, store_journal_state_name(from),
				  store_journal_state_name(s));
	if (!rc)
		rc = write_times(st, fault_row, &t, detail, err);
	return rc ? rc : store_seal_refresh(st, SEAL_FAULTS, fault_row, err);
}

int store_journal_set_state(struct store *st, int64_t fault_row, enum journal_state s,
			    int64_t when_real_ns, const char *detail, struct fd_error *err)
{
	return store_journal_set_states(st, &fault_row, NULL, 1, s, when_real_ns, detail, err);
}

/* One row's spec inside the caller's transaction. */
static int set_spec(struct store *st, int64_t fault_row, const char *spec, struct fd_error *err)
{
	static const char sql[] =
		"UPDATE faults SET spec = ?2 WHERE id = ?1 AND state IN ('planned', 'applied')";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, fault_row);
	store_bind_text(s, 2, spec);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_CONSTRAINT_CHECK)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				  "journal row %lld: spec is not valid JSON: %.80s",
				  (long long)fault_row, spec ? spec : "");
	else if (rc != SQLITE_DONE)
		rc = store_sql_error(st, err, rc, "updating a journal spec");
	else if (sqlite3_changes(st->db) == 0)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOENT,
				  "journal row %lld: missing, or already reverted or failed",
				  (long long)fault_row);
	else
		rc = store_seal_refresh(st, SEAL_FAULTS, fault_row, err);
	return rc;
}

int store_journal_set_spec(struct store *st, int64_t fault_row, const char *spec,
			   struct fd_error *err)
{
	int rc = store_tx_begin(st, err);

	if (!rc)
		rc = set_spec(st, fault_row, spec, err);
	return store_tx_end(st, rc, err);
}

int store_journal_set_states(struct store *st, const int64_t *rows, const char *const *specs,
			     size_t n, enum journal_state s, int64_t when_real_ns,
			     const char *detail, struct fd_error *err)
{
	int64_t when = when_real_ns ? when_real_ns : fd_real_ns();
	int rc;

	if ((size_t)s >= N_STATES)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "journal: unknown state %d", (int)s);
	rc = store_tx_begin(st, err);
	for (size_t i = 0; !rc && i < n; i++) {
		if (specs && specs[i])
			rc = set_spec(st, rows[i], specs[i], err);
		if (!rc)
			rc = set_state(st, rows[i], s, when, detail, err);
	}
	return store_tx_end(st, rc, err);
}

static int read_fault(sqlite3_stmt *s, void *elem)
{
	struct store_fault *f = elem;
	const unsigned char *spec = sqlite3_column_text(s, 5);

	f->id = sqlite3_column_int64(s, 0);
	f->drill_id = sqlite3_column_int64(s, 1);
	store_col_text(s, 2, f->fault_id, sizeof(f->fault_id));
	store_col_text(s, 3, f->kind, sizeof(f->kind));
	store_col_text(s, 4, f->netns, sizeof(f->netns));
	f->state = parse_state(sqlite3_column_text(s, 6));
	f->planned_real_ns = sqlite3_column_int64(s, 7);
	f->applied_real_ns = sqlite3_column_int64(s, 8);
	f->expires_real_ns = sqlite3_column_int64(s, 9);
	f->reverted_real_ns = sqlite3_column_int64(s, 10);
	f->holder_pid = sqlite3_column_int(s, 11);
	store_col_text(s, 12, f->detail, sizeof(f->detail));
	f->max_duration_ns = sqlite3_column_int64(s, 13);
	if (spec && !(f->spec = strdup((const char *)spec)))
		return -ENOMEM;
	return 0;
}

static void free_faults(void *arr, size_t n)
{
	store_faults_free(arr, n);
}

int store_journal_list_active(struct store *st, struct store_fault **out, size_t *n,
			      struct fd_error *err)
{
	static const char sql[] =
		"SELECT id, coalesce(drill_id, 0), fault_id, kind, netns, spec, state,"
		" planned_real_ns, coalesce(applied_real_ns, 0), coalesce(expires_real_ns, 0),"
		" coalesce(reverted_real_ns, 0), coalesce(holder_pid, 0), detail,"
		" coalesce(max_duration_ns, 0)"
		" FROM faults WHERE state IN ('planned', 'applied') ORDER BY id";

	return store_read_rows(st, store_stmt(st, sql, err), read_fault, sizeof(**out),
			       (void **)out, n, free_faults, "listing active faults", err);
}

void store_faults_free(struct store_fault *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free(f[i].spec);
	free(f);
}

/*
 * store_records.c: the drill's record book. Findings, actions, the closing
 * of an action, lessons and sign-offs are appended to one table, each row
 * sealed into the "records" hash chain inside the transaction that writes
 * it (store_chain.c), so a row is in the chain from the moment it exists
 * and is never updated: an action is closed by a row of its own, which
 * names the action and, optionally, the retest drill.
 *
 * The checks here are the ones SQL cannot state simply: the closed row is
 * an action, the drill ids exist, a date is a real calendar date. The
 * schema's CHECKs and the one-close-per-action index back them up.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fd_time.h"

static const char *const kind_names[] = {
	[STORE_RECORD_FINDING] = "finding",
	[STORE_RECORD_ACTION] = "action",
	[STORE_RECORD_ACTION_CLOSED] = "action-closed",
	[STORE_RECORD_NOTE] = "note",
	[STORE_RECORD_SIGNOFF] = "signoff",
};

#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

static const char *const severities[] = { "critical", "high", "medium", "low" };

const char *store_record_kind_name(enum store_record_kind k)
{
	return (size_t)k < N_KINDS ? kind_names[k] : "unknown";
}

/* YYYY-MM-DD naming a real day (2026-02-30 is not one). */
static bool valid_date(const char *s)
{
	struct tm tm = { 0 };
	int y, m, d;
	char tail;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return false;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	return timegm(&tm) != (time_t)-1 && tm.tm_mday == d && tm.tm_mon == m - 1;
}

static int exists(struct store *st, const char *sql, int64_t id, bool *yes, struct fd_error *err)
{
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	*yes = rc == SQLITE_ROW;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, "reading");
}

static int check_drill(struct store *st, int64_t id, const char *what, struct fd_error *err)
{
	static const char sql[] = "SELECT 1 FROM drills WHERE id = ?1";
	bool yes = false;
	int rc = exists(st, sql, id, &yes, err);

	if (!rc && !yes)
		rc = fd_error_set(err, FD_ERR_INPUT, -ENOENT, "%s: no drill with id %lld (%s)",
				  st->path, (long long)id, what);
	return rc;
}

/* The action a closing row names: it must be an action, and still open. */
static int check_close(struct store *st, const struct store_record *r, struct fd_error *err)
{
	static const char is_action[] = "SELECT 1 FROM records WHERE id = ?1 AND kind = 'action'";
	static const char closed[] =
		"SELECT 1 FROM records WHERE action_id = ?1 AND kind = 'action-closed'";
	bool yes = false;
	int rc = exists(st, is_action, r->action_id, &yes, err);

	if (!rc && !yes)
		return fd_error_set(err, FD_ERR_INPUT, -ENOENT, "%s: no action with id %lld",
				    st->path, (long long)r->action_id);
	if (!rc)
		rc = exists(st, closed, r->action_id, &yes, err);
	if (!rc && yes)
		return fd_error_set(err, FD_ERR_INPUT, -EALREADY, "action %lld is already closed",
				    (long long)r->action_id);
	if (!rc && r->retest_drill_id)
		rc = check_drill(st, r->retest_drill_id, "the retest", err);
	return rc;
}

/* An action's finding: a finding filed on the same drill. */
static int check_finding(struct store *st, const struct store_record *r, struct fd_error *err)
{
	static const char sql[] =
		"SELECT 1 FROM records WHERE id = ?1 AND kind = 'finding' AND drill_id = ?2";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, r->finding_id);
	sqlite3_bind_int64(s, 2, r->drill_id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return fd_error_set(err, FD_ERR_INPUT, -ENOENT, "drill %lld has no finding with id %lld",
				    (long long)r->drill_id, (long long)r->finding_id);
	return rc == SQLITE_ROW ? 0 : store_sql_error(st, err, rc, "reading the finding");
}

static int check_fields(const struct store_record *r, struct fd_error *err)
{
	if ((size_t)r->kind >= N_KINDS)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "record kind %d", (int)r->kind);
	if (r->kind == STORE_RECORD_FINDING &&
	    store_name_index(r->severity, severities, sizeof(severities) / sizeof(*severities)) < 0)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "severity: expected critical, high, medium or low, got \"%s\"",
				    r->severity);
	if (r->kind == STORE_RECORD_ACTION && !r->owner[0])
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "an action needs an owner");
	if (r->kind == STORE_RECORD_ACTION && !valid_date(r->due))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "due: expected a date as YYYY-MM-DD, got \"%s\"", r->due);
	if (r->kind == STORE_RECORD_SIGNOFF && (!r->author[0] || !r->signature[0] || !r->public_key[0]))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "a sign-off needs a name, a public key and a signature");
	if (!r->text[0] && r->kind != STORE_RECORD_ACTION_CLOSED)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "a %s needs a text",
				    kind_names[r->kind]);
	return 0;
}

static int insert_record(struct store *st, struct store_record *r, struct fd_error *err)
{
	static const char sql[] =
		"INSERT INTO records (drill_id, kind, severity, root_cause, owner, due, action_id,"
		" retest_drill_id, text, author, author_role, created_real_ns, created_utc, key_id,"
		" public_key, signature, finding_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		" ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, r->drill_id);
	sqlite3_bind_text(s, 2, kind_names[r->kind], -1, SQLITE_STATIC);
	store_bind_text(s, 3, r->severity);
	store_bind_text(s, 4, r->root_cause);
	store_bind_text(s, 5, r->owner);
	store_bind_text(s, 6, r->due);
	store_bind_i64_nz(s, 7, r->action_id);
	store_bind_i64_nz(s, 8, r->retest_drill_id);
	sqlite3_bind_text(s, 9, r->text, -1, SQLITE_TRANSIENT);
	store_bind_text(s, 10, r->author);
	store_bind_text(s, 11, r->author_role);
	sqlite3_bind_int64(s, 12, r->created_real_ns);
	store_bind_utc(s, 13, r->created_real_ns);
	store_bind_text(s, 14, r->key_id);
	store_bind_text(s, 15, r->public_key);
	store_bind_text(s, 16, r->signature);
	store_bind_i64_nz(s, 17, r->finding_id);
	return store_step_insert(st, s, &r->id, "recording", err);
}

static int read_seq(struct store *st, struct store_record *r, struct fd_error *err)
{
	static const char sql[] = "SELECT chain_seq FROM records WHERE id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, r->id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r->chain_seq = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : store_sql_error(st, err, rc, "reading the record's seal");
}

int store_add_record(struct store *st, struct store_record *r, struct fd_error *err)
{
	int rc = check_fields(r, err);

	if (rc)
		return rc;
	if (r->kind != STORE_RECORD_ACTION_CLOSED) {
		r->action_id = 0;
		r->retest_drill_id = 0;
	}
	if (r->kind != STORE_RECORD_ACTION)
		r->finding_id = 0;
	if (!r->created_real_ns)
		r->created_real_ns = fd_real_ns();
	rc = store_tx_begin(st, err);
	if (rc)
		return rc;
	rc = check_drill(st, r->drill_id, kind_names[r->kind], err);
	if (!rc && r->kind == STORE_RECORD_ACTION_CLOSED)
		rc = check_close(st, r, err);
	if (!rc && r->finding_id)
		rc = check_finding(st, r, err);
	if (!rc)
		rc = insert_record(st, r, err);
	if (!rc)
		rc = store_chain_seal(st, CHAIN_RECORDS, r->id, r->hash, err);
	if (!rc)
		rc = read_seq(st, r, err);
	return store_tx_end(st, rc, err);
}

/* ---- reading ----------------------------------------------------------------- */

#define RECORD_COLS                                                                       \
	"id, drill_id, kind, severity, root_cause, owner, due, coalesce(action_id, 0),"   \
	" coalesce(retest_drill_id, 0), text, author, author_role, created_real_ns,"     \
	" key_id, public_key, signature, coalesce(chain_seq, 0), hash, coalesce(finding_id, 0)"

static int read_record(sqlite3_stmt *s, void *elem)
{
	struct store_record *r = elem;
	long k = store_name_index((const char *)sqlite3_column_text(s, 2), kind_names, N_KINDS);

	r->id = sqlite3_column_int64(s, 0);
	r->drill_id = sqlite3_column_int64(s, 1);
	r->kind = k < 0 ? STORE_RECORD_NOTE : (enum store_record_kind)k;
	store_col_text(s, 3, r->severity, sizeof(r->severity));
	store_col_text(s, 4, r->root_cause, sizeof(r->root_cause));
	store_col_text(s, 5, r->owner, sizeof(r->owner));
	store_col_text(s, 6, r->due, sizeof(r->due));
	r->action_id = sqlite3_column_int64(s, 7);
	r->retest_drill_id = sqlite3_column_int64(s, 8);
	store_col_text(s, 9, r->text, sizeof(r->text));
	store_col_text(s, 10, r->author, sizeof(r->author));
	store_col_text(s, 11, r->author_role, sizeof(r->author_role));
	r->created_real_ns = sqlite3_column_int64(s, 12);
	store_col_text(s, 13, r->key_id, sizeof(r->key_id));
	store_col_text(s, 14, r->public_key, sizeof(r->public_key));
	store_col_text(s, 15, r->signature, sizeof(r->signature));
	r->chain_seq = sqlite3_column_int64(s, 16);
	store_col_text(s, 17, r->hash, sizeof(r->hash));
	r->finding_id = sqlite3_column_int64(s, 18);
	return 0;
}

int store_list_records(struct store *st, int64_t drill_id, struct store_record **out, size_t *n,
		       struct fd_error *err)
{
	static const char sql[] = "SELECT " RECORD_COLS " FROM records"
				  " WHERE ?1 = 0 OR drill_id = ?1 ORDER BY id";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s)
		sqlite3_bind_int64(s, 1, drill_id);
	return store_read_rows(st, s, read_record, sizeof(**out), (void **)out, n, NULL,
			       "reading records", err);
}

int store_get_record(struct store *st, int64_t id, struct store_record *out, struct fd_error *err)
{
	static const char sql[] = "SELECT " RECORD_COLS " FROM records WHERE id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (s)
		sqlite3_bind_int64(s, 1, id);
	rc = store_read_row(st, s, read_record, out, "reading a record", err);
	if (rc == -ENOENT)
		rc = fd_error_set(err, FD_ERR_INPUT, -ENOENT, "%s: no record with id %lld", st->path,
				  (long long)id);
	return rc;
}

/*
 * store_drill.c: drills and their iterations (writing, reading, and
 * aborting drills whose process died).
 *
 * Unmeasured values are NULL in the database and has_* = false in C:
 * a drill that did not recover has rto_ms NULL, never a number.
 */
#include "fd_proc.h"
#include "store_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_time.h"

static const char *const outcome_names[] = {
	[STORE_OUTCOME_RUNNING] = "running",
	[STORE_OUTCOME_RECOVERED] = "recovered",
	[STORE_OUTCOME_NOT_RECOVERED] = "not-recovered",
	[STORE_OUTCOME_ABORTED] = "aborted",
	[STORE_OUTCOME_NOT_HEALTHY] = "not-healthy",
	[STORE_OUTCOME_ERROR] = "error",
};

#define N_OUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))

const char *store_outcome_name(enum store_outcome o)
{
	return (size_t)o < N_OUTCOMES ? outcome_names[o] : "unknown";
}

int store_outcome_parse(const char *name, enum store_outcome *out)
{
	long i = store_name_index(name, outcome_names, N_OUTCOMES);

	if (i < 0)
		return -EINVAL;
	*out = (enum store_outcome)i;
	return 0;
}

static enum store_outcome col_outcome(sqlite3_stmt *s, int i)
{
	enum store_outcome o = STORE_OUTCOME_ERROR;

	store_outcome_parse((const char *)sqlite3_column_text(s, i), &o);
	return o;
}

/* ---- holder processes ------------------------------------------------------ */

static bool holder_alive(int pid, uint64_t start)
{
	uint64_t now;

	if (pid <= 0)
		return false;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	now = fd_proc_start_ticks(pid);
	/* Without /proc we cannot see pid reuse; the pid exists, so assume alive. */
	return !(now && start && now != start);
}

static void local_host(char *buf, size_t n)
{
	if (gethostname(buf, n) != 0)
		snprintf(buf, n, "?");
	buf[n - 1] = '\0';
}

/* ---- drills ------------------------------------------------------------------ */

/* The scenario's name (unless the drill names it) and hash. */
static int read_scenario_ref(sqlite3_stmt *s, void *elem)
{
	struct store_drill *d = elem;

	if (!d->scenario_name[0])
		store_col_text(s, 0, d->scenario_name, sizeof(d->scenario_name));
	store_col_text(s, 1, d->scenario_sha256, sizeof(d->scenario_sha256));
	return 0;
}

static int resolve_scenario(struct store *st, struct store_drill *d, struct fd_error *err)
{
	static const char sql[] = "SELECT name, sha256 FROM scenarios WHERE id = ?1";
	sqlite3_stmt *s;
	int rc;

	if (!d->scenario_id)
		return 0;
	s = store_stmt(st, sql, err);
	if (s)
		sqlite3_bind_int64(s, 1, d->scenario_id);
	rc = store_read_row(st, s, read_scenario_ref, d, "reading the scenario", err);
	if (rc == -ENOENT)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOENT, "%s: no scenario with id %lld",
				  st->path, (long long)d->scenario_id);
	return rc;
}

static int insert_drill(struct store *st, struct store_drill *d, const char *host,
			struct fd_error *err)
{
	static const char sql[] =
		"INSERT INTO drills (scenario_id, scenario, scenario_sha256, environment, operator,"
		" host, tool_version, started_real_ns, started_utc, outcome, iterations_planned,"
		" note, holder_pid, holder_start, holder_host, objectives_recorded,"
		" rto_objective_ns, rpo_objective_ns, recovery_criterion, prove_every_ns, description,"
		" scope_rationale, participants)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', ?10, ?11, ?12, ?13, ?14,"
		" ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (!s)
		return -EIO;
	store_bind_i64_nz(s, 1, d->scenario_id);
	sqlite3_bind_text(s, 2, d->scenario_name, -1, SQLITE_STATIC);
	store_bind_text(s, 3, d->scenario_sha256);
	sqlite3_bind_text(s, 4, d->environment, -1, SQLITE_STATIC);
	store_bind_text(s, 5, d->operator_name);
	store_bind_text(s, 6, d->host);
	store_bind_text(s, 7, d->tool_version);
	sqlite3_bind_int64(s, 8, d->started_real_ns);
	store_bind_utc(s, 9, d->started_real_ns);
	sqlite3_bind_int(s, 10, d->iterations_planned);
	store_bind_text(s, 11, d->note);
	sqlite3_bind_int(s, 12, d->holder_pid);
	sqlite3_bind_int64(s, 13, (sqlite3_int64)d->holder_start);
	sqlite3_bind_text(s, 14, host, -1, SQLITE_STATIC);
	/* Objectives the caller did not fill stay NULL: unknown, never a guessed "none". */
	if (d->objectives_recorded) {
		sqlite3_bind_int(s, 15, 1);
		if (d->has_rto_objective)
			sqlite3_bind_int64(s, 16, d->rto_objective_ns);
		if (d->has_rpo_objective)
			sqlite3_bind_int64(s, 17, d->rpo_objective_ns);
		store_bind_text(s, 18, d->recovery_criterion);
	}
	if (d->prove_every_ns > 0)
		sqlite3_bind_int64(s, 19, d->prove_every_ns);
	store_bind_text(s, 20, d->description);
	store_bind_text(s, 21, d->scope_rationale);
	store_bind_text(s, 22, d->participants);
	return store_step_insert(st, s, &d->id, "recording the drill", err);
}

int store_begin_drill(struct store *st, struct store_drill *d, struct fd_error *err)
{
	char host[256];
	int rc;

	if (!d->holder_pid)
		d->holder_pid = getpid();
	d->holder_start = fd_proc_start_ticks(d->holder_pid);
	if (!d->started_real_ns)
		d->started_real_ns = fd_real_ns();
	d->outcome = STORE_OUTCOME_RUNNING;
	d->ended_real_ns = 0;
	d->hash[0] = '\0';
	local_host(host, sizeof(host));
	if (!d->host[0])
		snprintf(d->host, sizeof(d->host), "%s", host);
	rc = store_tx_begin(st, err);
	if (rc)
		return rc;
	rc = resolve_scenario(st, d, err);
	if (!rc && !d->scenario_name[0])
		rc = fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				  "store_begin_drill: no scenario_id and no scenario_name");
	if (!rc)
		rc = insert_drill(st, d, host, err);
	return store_tx_end(st, rc, err);
}

/* Sets the final fields of a running drill; -ENOENT/-EALREADY explained in err. */
static int close_drill(struct store *st, int64_t id, enum store_outcome o, bool met,
		       int64_t ended, const char *note_add, struct fd_error *err)
{
	static const char sql[] =
		"UPDATE drills SET outcome = ?2, objectives_met = ?3, ended_real_ns = ?4,"
		" ended_utc = ?5, note = CASE WHEN ?6 IS NULL THEN note"
		" WHEN note IS NULL OR note = '' THEN ?6 ELSE note || char(10) || ?6 END"
		" WHERE id = ?1 AND outcome = 'running' AND chain_seq IS NULL";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, store_outcome_name(o), -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, met);
	sqlite3_bind_int64(s, 4, ended);
	store_bind_utc(s, 5, ended);
	store_bind_text(s, 6, note_add);
	rc = store_step_done(st, s, "finishing the drill", err);
	if (!rc && sqlite3_changes(st->db) == 0)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -EALREADY,
				  "%s: drill %lld does not exist or is already finished",
				  st->path, (long long)id);
	return rc;
}

int store_finish_drill(struct store *st, int64_t drill_id, enum store_outcome o,
		       bool objectives_met, int64_t ended_real_ns, struct fd_error *err)
{
	char hash[65];
	int rc;

	if (o == STORE_OUTCOME_RUNNING || (size_t)o >= N_OUTCOMES)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				    "store_finish_drill: drill %lld: final outcome %d is not final",
				    (long long)drill_id, (int)o);
	rc = store_tx_begin(st, err);
	if (rc)
		return rc;
	rc = close_drill(st, drill_id, o, objectives_met,
			 ended_real_ns ? ended_real_ns : fd_real_ns(), NULL, err);
	if (!rc)
		rc = store_abort_open_iterations(st, drill_id,
						 "the drill finished while this iteration was open", err);
	if (!rc)
		rc = store_chain_seal(st, CHAIN_DRILLS, drill_id, hash, err);
	return store_tx_end(st, rc, err);
}

/* ---- stale drills ----------------------------------------------------------- */

struct stale {
	int64_t id;
	int64_t last_real_ns;
	int pid;
};

/* Running drills of this host whose holder is gone. */
static int find_stale(struct store *st, struct stale **out, size_t *n, struct fd_error *err)
{
	static const char sql[] =
		"SELECT d.id, d.holder_pid, d.holder_start, d.holder_host,"
		" max(d.started_real_ns, coalesce((SELECT max(real_ns) FROM events e"
		"  WHERE e.drill_id = d.id), 0))"
		" FROM drills d WHERE d.outcome = 'running' ORDER BY d.id";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	char host[256], row_host[256];
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!s)
		return -EIO;
	local_host(host, sizeof(host));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int pid = sqlite3_column_int(s, 1);

		store_col_text(s, 3, row_host, sizeof(row_host));
		if (strcmp(row_host, host) != 0 ||
		    holder_alive(pid, (uint64_t)sqlite3_column_int64(s, 2)))
			continue;
		if (store_grow((void **)out, &cap, *n + 1, sizeof(**out))) {
			rc = SQLITE_NOMEM;
			break;
		}
		(*out)[(*n)++] = (struct stale){ sqlite3_column_int64(s, 0),
						  sqlite3_column_int64(s, 4), pid };
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, "looking for stale drills");
	sqlite3_reset(s);
	return rc;
}

static int abort_one(struct store *st, const struct stale *sd, struct fd_error *err)
{
	char note[160], when[40], hash[65];
	int rc;

	fd_time_format_utc(fd_real_ns(), when, sizeof(when));
	snprintf(note, sizeof(note), "aborted: holder process %d was gone when checked at %s",
		 sd->pid, when);
	rc = store_abort_open_iterations(st, sd->id, note, err);
	if (!rc)
		rc = close_drill(st, sd->id, STORE_OUTCOME_ABORTED, false, sd->last_real_ns, note, err);
	if (!rc)
		rc = store_chain_seal(st, CHAIN_DRILLS, sd->id, hash, err);
	return rc;
}

int store_abort_stale_drills(struct store *st, int *n_marked, struct fd_error *err)
{
	struct stale *list = NULL;
	size_t n = 0;
	int rc;

	*n_marked = 0;
	rc = store_tx_begin(st, err);
	if (rc)
		return rc;
	rc = find_stale(st, &list, &n, err);
	for (size_t i = 0; !rc && i < n; i++)
		rc = abort_one(st, &list[i], err);
	rc = store_tx_end(st, rc, err);
	if (!rc)
		*n_marked = (int)n;
	free(list);
	return rc;
}

/* ---- iterations -------------------------------------------------------------- */

int store_abort_open_iterations(struct store *st, int64_t drill_id, const char *detail,
				struct fd_error *err)
{
	static const char sel[] =
		"SELECT id FROM iterations WHERE drill_id = ?1 AND outcome = 'running'"
		" AND chain_seq IS NULL ORDER BY id";
	static const char upd[] =
		"UPDATE iterations SET outcome = 'aborted', objectives_met = 0,"
		" ended_real_ns = ?2, ended_utc = ?3,"
		" detail = CASE WHEN detail IS NULL OR detail = '' THEN ?4"
		" ELSE detail || char(10) || ?4 END WHERE id = ?1";
	int64_t ids[64], now = fd_real_ns();
	size_t n = 0;
	sqlite3_stmt *s;
	int rc;

	/* Batches of 64 ids: a statement must be reset before rows are updated and sealed. */
	do {
		s = store_stmt(st, sel, err);
		if (!s)
			return -EIO;
		sqlite3_bind_int64(s, 1, drill_id);
		for (n = 0; n < 64 && (rc = sqlite3_step(s)) == SQLITE_ROW; n++)
			ids[n] = sqlite3_column_int64(s, 0);
		if (n < 64 && rc != SQLITE_DONE)
			return store_sql_error(st, err, rc, "reading open iterations");
		sqlite3_reset(s);
		for (size_t i = 0; i < n; i++) {
			char hash[65];

			s = store_stmt(st, upd, err);
			if (!s)
				return -EIO;
			sqlite3_bind_int64(s, 1, ids[i]);
			sqlite3_bind_int64(s, 2, now);
			store_bind_utc(s, 3, now);
			sqlite3_bind_text(s, 4, detail, -1, SQLITE_STATIC);
			rc = store_step_done(st, s, "aborting an iteration", err);
			if (!rc)
				rc = store_chain_seal(st, CHAIN_ITERATIONS, ids[i], hash, err);
			if (rc)
				return rc;
		}
	} while (n == 64);
	return 0;
}

int store_begin_iteration(struct store *st, struct store_iteration *it, struct fd_error *err)
{
	static const char sql[] =
		"INSERT INTO iterations (drill_id, number, outcome, started_real_ns, started_utc)"
		" VALUES (?1, ?2, 'running', ?3, ?4)";
	sqlite3_stmt *s;
	int rc;

	if (!it->started_real_ns)
		it->started_real_ns = fd_real_ns();
	it->outcome = STORE_OUTCOME_RUNNING;
	it->hash[0] = '\0';
	s = store_tx_stmt(st, sql, &rc, err);
	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, it->drill_id);
	sqlite3_bind_int(s, 2, it->number);
	sqlite3_bind_int64(s, 3, it->started_real_ns);
	store_bind_utc(s, 4, it->started_real_ns);
	rc = store_step_insert(st, s, &it->id, "recording the iteration", err);
	return store_tx_end(st, rc, err);
}

static int update_iteration(struct store *st, const struct store_iteration *it, struct fd_error *err)
{
	static const char sql[] =
		"UPDATE iterations SET outcome = ?2, ended_real_ns = ?3, ended_utc = ?4,"
		" t0_real_ns = ?5, t0_utc = ?6, t0_mono_ns = ?7, rto_ms = ?8, rpo_ms = ?9,"
		" writes_acked = ?10, writes_acked_outage = ?11, lost_writes = ?12,"
		" detect_ms = ?13, first_success_ms = ?14, error_bound_ms = ?15,"
		" failback_ms = ?16, objectives_met = ?17, detail = ?18"
		" WHERE id = ?1 AND outcome = 'running' AND chain_seq IS NULL";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, it->id);
	sqlite3_bind_text(s, 2, store_outcome_name(it->outcome), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, it->ended_real_ns);
	store_bind_utc(s, 4, it->ended_real_ns);
	store_bind_i64_nz(s, 5, it->t0_real_ns);
	store_bind_utc(s, 6, it->t0_real_ns);
	store_bind_i64_nz(s, 7, it->t0_mono_ns);
	store_bind_double_opt(s, 8, it->has_rto, it->rto_ms);
	store_bind_double_opt(s, 9, it->has_rpo, it->rpo_ms);
	sqlite3_bind_int64(s, 10, it->writes_acked);
	sqlite3_bind_int64(s, 11, it->writes_acked_outage);
	if (it->has_rpo)
		sqlite3_bind_int64(s, 12, it->lost_writes);
	store_bind_double_opt(s, 13, it->has_detect, it->detect_ms);
	store_bind_double_opt(s, 14, it->has_first_success, it->first_success_ms);
	sqlite3_bind_double(s, 15, it->error_bound_ms);
	store_bind_double_opt(s, 16, it->has_failback, it->failback_ms);
	sqlite3_bind_int(s, 17, it->objectives_met);
	store_bind_text(s, 18, it->detail);
	rc = store_step_done(st, s, "finishing the iteration", err);
	if (!rc && sqlite3_changes(st->db) == 0)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -EALREADY,
				  "%s: iteration %lld does not exist or is already finished",
				  st->path, (long long)it->id);
	return rc;
}

static int update_rto_bounds(struct store *st, const struct store_iteration *it,
			     struct fd_error *err)
{
	static const char sql[] =
		"UPDATE iterations SET rto_early_ms = ?2, rto_late_ms = ?3 WHERE id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, it->id);
	store_bind_double_opt(s, 2, it->has_rto_bounds, it->rto_early_ms);
	store_bind_double_opt(s, 3, it->has_rto_bounds, it->rto_late_ms);
	return store_step_done(st, s, "finishing the iteration", err);
}

int store_finish_iteration(struct store *st, struct store_iteration *it, struct fd_error *err)
{
	int rc;

	if (it->outcome == STORE_OUTCOME_RUNNING || (size_t)it->outcome >= N_OUTCOMES)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				    "store_finish_iteration: iteration %lld: outcome %d is not final",
				    (long long)it->id, (int)it->outcome);
	if (!it->ended_real_ns)
		it->ended_real_ns = fd_real_ns();
	rc = store_tx_begin(st, err);
	if (rc)
		return rc;
	rc = update_iteration(st, it, err);
	if (!rc)
		rc = update_rto_bounds(st, it, err);
	if (!rc)
		rc = store_chain_seal(st, CHAIN_ITERATIONS, it->id, it->hash, err);
	return store_tx_end(st, rc, err);
}

/* ---- reading ----------------------------------------------------------------- */

#define DRILL_COLS \
	"id, coalesce(scenario_id, 0), scenario, scenario_sha256, environment, operator, host," \
	" tool_version, started_real_ns, coalesce(ended_real_ns, 0), outcome," \
	" coalesce(objectives_met, 0), coalesce(iterations_planned, 0), note, hash," \
	" coalesce(holder_pid, 0), coalesce(holder_start, 0), coalesce(objectives_recorded, 0)," \
	" rto_objective_ns, rpo_objective_ns, recovery_criterion, coalesce(prove_every_ns, 0)," \
	" description, scope_rationale, participants"

static int read_drill(sqlite3_stmt *s, void *elem)
{
	struct store_drill *d = elem;

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(s, 0);
	d->scenario_id = sqlite3_column_int64(s, 1);
	store_col_text(s, 2, d->scenario_name, sizeof(d->scenario_name));
	store_col_text(s, 3, d->scenario_sha256, sizeof(d->scenario_sha256));
	store_col_text(s, 4, d->environment, sizeof(d->environment));
	store_col_text(s, 5, d->operator_name, sizeof(d->operator_name));
	store_col_text(s, 6, d->host, sizeof(d->host));
	store_col_text(s, 7, d->tool_version, sizeof(d->tool_version));
	d->started_real_ns = sqlite3_column_int64(s, 8);
	d->ended_real_ns = sqlite3_column_int64(s, 9);
	d->outcome = col_outcome(s, 10);
	d->objectives_met = sqlite3_column_int(s, 11) != 0;
	d->iterations_planned = sqlite3_column_int(s, 12);
	store_col_text(s, 13, d->note, sizeof(d->note));
	store_col_text(s, 14, d->hash, sizeof(d->hash));
	d->holder_pid = sqlite3_column_int(s, 15);
	d->holder_start = (uint64_t)sqlite3_column_int64(s, 16);
	d->objectives_recorded = sqlite3_column_int(s, 17) != 0;
	d->has_rto_objective = sqlite3_column_type(s, 18) != SQLITE_NULL;
	d->rto_objective_ns = sqlite3_column_int64(s, 18);
	d->has_rpo_objective = sqlite3_column_type(s, 19) != SQLITE_NULL;
	d->rpo_objective_ns = sqlite3_column_int64(s, 19);
	store_col_text(s, 20, d->recovery_criterion, sizeof(d->recovery_criterion));
	d->prove_every_ns = sqlite3_column_int64(s, 21);
	store_col_text(s, 22, d->description, sizeof(d->description));
	store_col_text(s, 23, d->scope_rationale, sizeof(d->scope_rationale));
	store_col_text(s, 24, d->participants, sizeof(d->participants));
	return 0;
}

int store_get_drill(struct store *st, int64_t drill_id, struct store_drill *out,
		    struct fd_error *err)
{
	static const char sql[] = "SELECT " DRILL_COLS " FROM drills WHERE id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (s)
		sqlite3_bind_int64(s, 1, drill_id);
	rc = store_read_row(st, s, read_drill, out, "reading the drill", err);
	if (rc == -ENOENT)
		rc = fd_error_set(err, FD_ERR_INPUT, -ENOENT, "%s: no drill with id %lld",
				  st->path, (long long)drill_id);
	return rc;
}

static void bind_filter(sqlite3_stmt *s, const struct store_filter *f)
{
	if (f && f->scenario)
		sqlite3_bind_text(s, 1, f->scenario, -1, SQLITE_TRANSIENT);
	if (f && f->environment)
		sqlite3_bind_text(s, 2, f->environment, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, f ? f->since_real_ns : 0);
	sqlite3_bind_int64(s, 4, f ? f->until_real_ns : 0);
	sqlite3_bind_int64(s, 5, f && f->limit ? (sqlite3_int64)f->limit : -1);
}

int store_list_drills(struct store *st, const struct store_filter *f,
		      struct store_drill **out, size_t *n, struct fd_error *err)
{
	/* Newest first so LIMIT keeps the newest; reversed below to oldest first. */
	static const char sql[] =
		"SELECT " DRILL_COLS " FROM drills"
		" WHERE (?1 IS NULL OR scenario = ?1) AND (?2 IS NULL OR environment = ?2)"
		" AND (?3 = 0 OR started_real_ns >= ?3) AND (?4 = 0 OR started_real_ns < ?4)"
		" ORDER BY started_real_ns DESC, id DESC LIMIT ?5";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (s)
		bind_filter(s, f);
	rc = store_read_rows(st, s, read_drill, sizeof(**out), (void **)out, n, NULL,
			     "listing drills", err);
	if (rc)
		return rc;
	for (size_t i = 0; i < *n / 2; i++) {
		struct store_drill tmp = (*out)[i];
		(*out)[i] = (*out)[*n - 1 - i];
		(*out)[*n - 1 - i] = tmp;
	}
	return 0;
}

static int read_iteration(sqlite3_stmt *s, void *elem)
{
	struct store_iteration *it = elem;

	it->id = sqlite3_column_int64(s, 0);
	it->drill_id = sqlite3_column_int64(s, 1);
	it->number = sqlite3_column_int(s, 2);
	it->outcome = col_outcome(s, 3);
	it->started_real_ns = sqlite3_column_int64(s, 4);
	it->ended_real_ns = sqlite3_column_int64(s, 5);
	it->t0_real_ns = sqlite3_column_int64(s, 6);
	it->t0_mono_ns = sqlite3_column_int64(s, 7);
	it->rto_ms = store_col_double_opt(s, 8, &it->has_rto);
	it->rpo_ms = store_col_double_opt(s, 9, &it->has_rpo);
	it->writes_acked = sqlite3_column_int64(s, 10);
	it->writes_acked_outage = sqlite3_column_int64(s, 11);
	it->lost_writes = sqlite3_column_int64(s, 12);
	it->detect_ms = store_col_double_opt(s, 13, &it->has_detect);
	it->first_success_ms = store_col_double_opt(s, 14, &it->has_first_success);
	it->error_bound_ms = sqlite3_column_double(s, 15);
	it->failback_ms = store_col_double_opt(s, 16, &it->has_failback);
	it->objectives_met = sqlite3_column_int(s, 17) != 0;
	store_col_text(s, 18, it->detail, sizeof(it->detail));
	store_col_text(s, 19, it->hash, sizeof(it->hash));
	it->rto_early_ms = store_col_double_opt(s, 20, &it->has_rto_bounds);
	it->rto_late_ms = sqlite3_column_double(s, 21);
	return 0;
}

int store_list_iterations(struct store *st, int64_t drill_id,
			  struct store_iteration **out, size_t *n, struct fd_error *err)
{
	static const char sql[] =
		"SELECT id, drill_id, number, outcome, started_real_ns, ended_real_ns, t0_real_ns,"
		" t0_mono_ns, rto_ms, rpo_ms, writes_acked, writes_acked_outage, lost_writes,"
		" detect_ms, first_success_ms, error_bound_ms, failback_ms, objectives_met,"
		" detail, hash, rto_early_ms, rto_late_ms"
		" FROM iterations WHERE drill_id = ?1 ORDER BY number, id";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s)
		sqlite3_bind_int64(s, 1, drill_id);
	return store_read_rows(st, s, read_iteration, sizeof(**out), (void **)out, n, NULL,
			       "listing iterations", err);
}

/* ---- freshness --------------------------------------------------------------- */

static int read_freshness(sqlite3_stmt *s, void *elem)
{
	struct store_freshness *f = elem;

	store_col_text(s, 0, f->scenario, sizeof(f->scenario));
	store_col_text(s, 1, f->environment, sizeof(f->environment));
	f->n_drills = sqlite3_column_int64(s, 2);
	f->last_drill_id = sqlite3_column_int64(s, 3);
	f->last_drilled_real_ns = sqlite3_column_int64(s, 4);
	store_col_text(s, 5, f->last_drilled_sha256, sizeof(f->last_drilled_sha256));
	f->prove_every_ns = sqlite3_column_int64(s, 6);
	f->proven = sqlite3_column_type(s, 7) != SQLITE_NULL;
	f->last_proven_drill_id = sqlite3_column_int64(s, 7);
	f->last_proven_real_ns = sqlite3_column_int64(s, 8);
	store_col_text(s, 9, f->last_proven_sha256, sizeof(f->last_proven_sha256));
	return 0;
}

int store_list_freshness(struct store *st, const char *environment,
			 struct store_freshness **out, size_t *n, struct fd_error *err)
{
	/*
	 * Per pair: the newest finished drill (rank 1 of all) and the newest
	 * proven one (rank 1 of the proven), ties on the start broken by id.
	 * drills_by_scenario (scenario, environment, started_real_ns) serves
	 * both windows.
	 */
	static const char sql[] =
		"WITH f AS (SELECT id, scenario, environment, started_real_ns, scenario_sha256,"
		"  prove_every_ns, outcome = 'recovered' AND objectives_met = 1 AS proven"
		"  FROM drills WHERE outcome <> 'running' AND (?1 IS NULL OR environment = ?1)),"
		" newest AS (SELECT *, row_number() OVER w AS r, count(*) OVER"
		"  (PARTITION BY scenario, environment) AS n FROM f"
		"  WINDOW w AS (PARTITION BY scenario, environment"
		"  ORDER BY started_real_ns DESC, id DESC)),"
		" proven AS (SELECT *, row_number() OVER (PARTITION BY scenario, environment"
		"  ORDER BY started_real_ns DESC, id DESC) AS r FROM f WHERE proven)"
		" SELECT d.scenario, d.environment, d.n, d.id, d.started_real_ns, d.scenario_sha256,"
		"  coalesce(d.prove_every_ns, 0), p.id, p.started_real_ns, p.scenario_sha256"
		" FROM newest d LEFT JOIN proven p ON p.scenario = d.scenario"
		"  AND p.environment = d.environment AND p.r = 1"
		" WHERE d.r = 1 ORDER BY d.scenario, d.environment";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s && environment)
		sqlite3_bind_text(s, 1, environment, -1, SQLITE_TRANSIENT);
	return store_read_rows(st, s, read_freshness, sizeof(**out), (void **)out, n, NULL,
			       "reading the freshness of the scenarios", err);
}

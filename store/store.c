/*
 * store.c: opening the database, the schema and its migrations, the shared
 * SQL helpers, and the scenarios table.
 *
 * Durability: WAL with synchronous=NORMAL. A commit appends to the WAL
 * with write(2) before sqlite3_step returns, so a process that is killed
 * (SIGKILL, a crash, the OOM killer) right after a store call loses
 * nothing the call committed: the next open replays the WAL. Only a power
 * loss or kernel crash before the OS flushes the WAL can lose the newest
 * transactions (never corrupt the file). That matches the promise
 * "a crash of firedrill loses nothing already observed" without an fsync
 * per event, which would slow the timeline to the disk's flush rate.
 *
 * Schema versions: PRAGMA user_version is the number of migration steps
 * applied; migrations[i] takes version i to i+1 in its own transaction.
 * Future versions only append steps.
 */
#include "store_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_time.h"

/* "FDR1": marks the file as a firedrill store (PRAGMA application_id). */
#define STORE_APPLICATION_ID 0x46445231

#define OUTCOMES "('running','recovered','not-recovered','aborted','not-healthy','error')"

/* Version 0 -> 1: the first schema. One string per statement. */
static const char *const migration_1[] = {
	"PRAGMA application_id = 1178882609;", /* STORE_APPLICATION_ID */
	"CREATE TABLE scenarios ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),"
	"  content TEXT NOT NULL,"
	"  first_seen_real_ns INTEGER NOT NULL,"
	"  first_seen_utc TEXT NOT NULL);",
	"CREATE TABLE drills ("
	"  id INTEGER PRIMARY KEY,"
	"  scenario_id INTEGER REFERENCES scenarios(id),"
	"  scenario TEXT NOT NULL,"
	"  scenario_sha256 TEXT,"
	"  environment TEXT NOT NULL DEFAULT '',"
	"  operator TEXT,"
	"  host TEXT,"
	"  tool_version TEXT,"
	"  started_real_ns INTEGER NOT NULL,"
	"  started_utc TEXT NOT NULL,"
	"  ended_real_ns INTEGER,"
	"  ended_utc TEXT,"
	"  outcome TEXT NOT NULL DEFAULT 'running' CHECK (outcome IN " OUTCOMES "),"
	"  objectives_met INTEGER CHECK (objectives_met IN (0, 1)),"
	"  iterations_planned INTEGER,"
	"  note TEXT,"
	"  holder_pid INTEGER,"
	"  holder_start INTEGER,"
	"  holder_host TEXT,"
	"  chain_seq INTEGER UNIQUE,"
	"  prev_hash TEXT,"
	"  hash TEXT,"
	"  field_digests TEXT);",
	"CREATE INDEX drills_by_scenario ON drills(scenario, environment, started_real_ns);",
	"CREATE INDEX drills_by_started ON drills(started_real_ns);",
	"CREATE INDEX drills_running ON drills(id) WHERE outcome = 'running';",
	"CREATE TABLE iterations ("
	"  id INTEGER PRIMARY KEY,"
	"  drill_id INTEGER NOT NULL REFERENCES drills(id),"
	"  number INTEGER NOT NULL,"
	"  outcome TEXT NOT NULL DEFAULT 'running' CHECK (outcome IN " OUTCOMES "),"
	"  started_real_ns INTEGER NOT NULL,"
	"  started_utc TEXT NOT NULL,"
	"  ended_real_ns INTEGER,"
	"  ended_utc TEXT,"
	"  t0_real_ns INTEGER,"
	"  t0_utc TEXT,"
	"  t0_mono_ns INTEGER,"
	"  rto_ms REAL,"
	"  rpo_ms REAL,"
	"  writes_acked INTEGER,"
	"  writes_acked_outage INTEGER,"
	"  lost_writes INTEGER,"
	"  detect_ms REAL,"
	"  first_success_ms REAL,"
	"  error_bound_ms REAL,"
	"  failback_ms REAL,"
	"  objectives_met INTEGER CHECK (objectives_met IN (0, 1)),"
	"  detail TEXT,"
	"  chain_seq INTEGER UNIQUE,"
	"  prev_hash TEXT,"
	"  hash TEXT,"
	"  field_digests TEXT,"
	"  UNIQUE (drill_id, number));",
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  drill_id INTEGER NOT NULL REFERENCES drills(id),"
	"  iteration_id INTEGER REFERENCES iterations(id),"
	"  mono_ns INTEGER NOT NULL,"
	"  real_ns INTEGER NOT NULL,"
	"  utc TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  subject TEXT,"
	"  detail TEXT);",
	"CREATE INDEX events_by_drill ON events(drill_id, id);",
	"CREATE TABLE samples ("
	"  id INTEGER PRIMARY KEY,"
	"  iteration_id INTEGER NOT NULL REFERENCES iterations(id),"
	"  probe TEXT NOT NULL,"
	"  mono_ns INTEGER NOT NULL,"
	"  ok INTEGER NOT NULL CHECK (ok IN (0, 1)),"
	"  latency_ns INTEGER,"
	"  latency_ms REAL GENERATED ALWAYS AS (latency_ns / 1e6) VIRTUAL,"
	"  detail TEXT);",
	"CREATE INDEX samples_by_iteration ON samples(iteration_id, probe, mono_ns);",
	"CREATE TABLE laps ("
	"  id INTEGER PRIMARY KEY,"
	"  iteration_id INTEGER NOT NULL REFERENCES iterations(id),"
	"  step INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  manual INTEGER NOT NULL CHECK (manual IN (0, 1)),"
	"  started_mono_ns INTEGER,"
	"  ended_mono_ns INTEGER,"
	"  duration_ms REAL,"
	"  ok INTEGER NOT NULL CHECK (ok IN (0, 1)),"
	"  detail TEXT);",
	"CREATE INDEX laps_by_iteration ON laps(iteration_id, step);",
	"CREATE TABLE faults ("
	"  id INTEGER PRIMARY KEY,"
	"  drill_id INTEGER REFERENCES drills(id),"
	"  fault_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  netns TEXT,"
	"  spec TEXT CHECK (spec IS NULL OR json_valid(spec)),"
	"  state TEXT NOT NULL CHECK (state IN ('planned', 'applied', 'reverted', 'failed')),"
	"  planned_real_ns INTEGER NOT NULL,"
	"  planned_utc TEXT NOT NULL,"
	"  applied_real_ns INTEGER,"
	"  applied_utc TEXT,"
	"  max_duration_ns INTEGER,"
	"  expires_real_ns INTEGER,"
	"  expires_utc TEXT,"
	"  reverted_real_ns INTEGER,"
	"  reverted_utc TEXT,"
	"  failed_real_ns INTEGER,"
	"  failed_utc TEXT,"
	"  holder_pid INTEGER,"
	"  detail TEXT);",
	"CREATE INDEX faults_active ON faults(state) WHERE state IN ('planned', 'applied');",
	/* One row per iteration with its drill's context: Grafana's easy path. */
	"CREATE VIEW drill_iterations AS"
	"  SELECT d.id AS drill_id, d.scenario, d.environment, d.operator,"
	"         d.started_utc AS drill_started_utc, i.id AS iteration_id, i.number,"
	"         i.started_real_ns, i.started_utc, i.t0_utc, i.outcome, i.rto_ms, i.rpo_ms,"
	"         i.lost_writes, i.writes_acked, i.writes_acked_outage, i.detect_ms,"
	"         i.first_success_ms, i.error_bound_ms, i.failback_ms, i.objectives_met"
	"  FROM iterations i JOIN drills d ON d.id = i.drill_id;",
	NULL,
};

/* Version 2: both sides of the RTO's bound (scorer.h recovery_result). */
static const char *const migration_2[] = {
	"ALTER TABLE iterations ADD COLUMN rto_early_ms REAL;",
	"ALTER TABLE iterations ADD COLUMN rto_late_ms REAL;",
	NULL,
};

/*
 * Version 2 -> 3: the drill's objectives, copied from the scenario when the
 * drill starts, so reports read them here instead of re-parsing YAML.
 * objectives_recorded is NULL on drills recorded before this step: their
 * objectives are unknown (SQL cannot parse the stored YAML, and guessing
 * is not allowed), and reports say so.
 */
static const char *const migration_3[] = {
	"ALTER TABLE drills ADD COLUMN objectives_recorded INTEGER"
	"  CHECK (objectives_recorded IS NULL OR objectives_recorded = 1);",
	"ALTER TABLE drills ADD COLUMN rto_objective_ns INTEGER CHECK (rto_objective_ns >= 0);",
	"ALTER TABLE drills ADD COLUMN rpo_objective_ns INTEGER CHECK (rpo_objective_ns >= 0);",
	"ALTER TABLE drills ADD COLUMN recovery_criterion TEXT;",
	NULL,
};

/*
 * Version 3 -> 4: evidence seals (store_chain.c). Each timeline, journal
 * and scenario row gets its seal; drills and iterations the digest of their
 * rows, sealed into their chained row. Rows written before stay NULL.
 */
static const char *const migration_4[] = {
	"ALTER TABLE events ADD COLUMN seal TEXT;",
	"ALTER TABLE samples ADD COLUMN seal TEXT;",
	"ALTER TABLE laps ADD COLUMN seal TEXT;",
	"ALTER TABLE faults ADD COLUMN seal TEXT;",
	"ALTER TABLE scenarios ADD COLUMN seal TEXT;",
	"ALTER TABLE drills ADD COLUMN evidence TEXT;",
	"ALTER TABLE iterations ADD COLUMN evidence TEXT;",
	/* scenarios are shared by drills: the ones recorded before are sealed as they are now */
	"UPDATE scenarios SET seal = fd_seal('scenarios', 0, name, sha256, content,"
	" first_seen_real_ns, first_seen_utc);",
	NULL,
};

/*
 * Version 4 -> 5: the drill's prove-every (scenario `prove-every`), copied
 * when the drill starts like the objectives; NULL when the scenario sets
 * none and on drills recorded before (firedrill freshness: no period).
 * And what an auditor files beside the figures. The drill keeps
 * the scenario's scope (description, scope-rationale) and its participants
 * ("ROLE=NAME" lines) as stated when it started. records is an append-only
 * book per drill (findings, actions, their closing, lessons, sign-offs);
 * every row joins its own hash chain when it is written, so none is ever
 * changed or removed unnoticed (store_records.c). The views are for people
 * (sqlite3, Grafana): an action's state is derived from its closing row.
 */
static const char *const migration_5[] = {
	"ALTER TABLE drills ADD COLUMN prove_every_ns INTEGER CHECK (prove_every_ns > 0);",
	"ALTER TABLE drills ADD COLUMN description TEXT;",
	"ALTER TABLE drills ADD COLUMN scope_rationale TEXT;",
	"ALTER TABLE drills ADD COLUMN participants TEXT;",
	"CREATE TABLE records ("
	"  id INTEGER PRIMARY KEY,"
	"  drill_id INTEGER NOT NULL REFERENCES drills(id),"
	"  kind TEXT NOT NULL CHECK (kind IN"
	"    ('finding', 'action', 'action-closed', 'note', 'signoff')),"
	"  severity TEXT CHECK (severity IN ('critical', 'high', 'medium', 'low')),"
	"  root_cause TEXT,"
	"  owner TEXT,"
	"  due TEXT,"
	"  action_id INTEGER REFERENCES records(id),"
	"  finding_id INTEGER REFERENCES records(id),"
	"  retest_drill_id INTEGER REFERENCES drills(id),"
	"  text TEXT NOT NULL,"
	"  author TEXT,"
	"  author_role TEXT,"
	"  created_real_ns INTEGER NOT NULL,"
	"  created_utc TEXT NOT NULL,"
	"  key_id TEXT,"
	"  public_key TEXT,"
	"  signature TEXT,"
	"  chain_seq INTEGER UNIQUE,"
	"  prev_hash TEXT,"
	"  hash TEXT,"
	"  field_digests TEXT);",
	"CREATE INDEX records_by_drill ON records(drill_id, id);",
	"CREATE UNIQUE INDEX records_one_close ON records(action_id) WHERE kind = 'action-closed';",
	"CREATE VIEW findings AS SELECT id, drill_id, severity, root_cause, text, author,"
	"  author_role, created_utc FROM records WHERE kind = 'finding';",
	"CREATE VIEW actions AS SELECT a.id, a.drill_id, a.finding_id, a.owner, a.due, a.text, a.author,"
	"  a.created_utc, CASE WHEN c.id IS NULL THEN 'open' ELSE 'closed' END AS state,"
	"  c.created_utc AS closed_utc, c.retest_drill_id"
	"  FROM records a LEFT JOIN records c ON c.kind = 'action-closed' AND c.action_id = a.id"
	"  WHERE a.kind = 'action';",
	"CREATE VIEW signoffs AS SELECT id, drill_id, author AS name, author_role AS role,"
	"  key_id, created_utc FROM records WHERE kind = 'signoff';",
	NULL,
};

/*
 * Version 5 -> 6: blackholed flows, one row per flow an iteration's
 * drop/reject faults cut off, with who sent it (docs/store.md, "flows"):
 * owner_pid NULL means the process is not known and owner_unknown says
 * why; owner_uid may be known without it. The timeline already has a
 * blackholed-flow event per flow; these rows are the same facts in
 * columns, sealed into their iteration's evidence like its laps.
 */
static const char *const migration_6[] = {
	"CREATE TABLE flows ("
	"  id INTEGER PRIMARY KEY,"
	"  iteration_id INTEGER NOT NULL REFERENCES iterations(id),"
	"  fault_id TEXT NOT NULL,"
	"  protocol TEXT NOT NULL,"
	"  src TEXT NOT NULL,"
	"  dst TEXT NOT NULL,"
	"  dport INTEGER CHECK (dport IS NULL OR dport BETWEEN 1 AND 65535),"
	"  flow TEXT NOT NULL,"
	"  packets INTEGER NOT NULL CHECK (packets >= 0),"
	"  first_seen_ms REAL,"
	"  owner_pid INTEGER CHECK (owner_pid IS NULL OR owner_pid > 0),"
	"  owner_holders INTEGER,"
	"  owner_uid INTEGER CHECK (owner_uid IS NULL OR owner_uid >= 0),"
	"  owner_comm TEXT,"
	"  owner_cmd TEXT,"
	"  owner_container TEXT,"
	"  owner_container_name TEXT,"
	"  owner_unknown TEXT,"
	"  seal TEXT,"
	"  CHECK ((owner_pid IS NULL) = (owner_unknown IS NOT NULL)));",
	"CREATE INDEX flows_by_iteration ON flows(iteration_id, id);",
	NULL,
};

/* migrations[i] takes schema version i to i + 1. Only ever append. */
static const char *const *const migrations[] = {
	migration_1,
	migration_2,
	migration_3,
	migration_4,
	migration_5,
	migration_6,
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- shared helpers ------------------------------------------------------ */

static int errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Problems of the file and its surroundings are the environment's; the rest are ours. */
static enum fd_error_kind kind_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_NOLFS:
	case SQLITE_PROTOCOL:
		return FD_ERR_ENV;
	default:
		return FD_ERR_INTERNAL;
	}
}

static const char *hint_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		return " (the database is read-only to firedrill: it must write the file and "
		       "create FILE-wal and FILE-shm beside it; check the permissions of the "
		       "file and its directory)";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return " (another process held the database longer than the 5 s busy timeout)";
	case SQLITE_FULL:
		return " (the disk is full)";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return " (the file is not a healthy SQLite database)";
	default:
		return "";
	}
}

int store_sql_error(struct store *st, struct fd_error *err, int rc, const char *what)
{
	const char *msg = st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);

	return fd_error_set(err, kind_of(rc), errno_of(rc), "%s: %s: %s%s",
			    st && st->path ? st->path : "store", what, msg, hint_of(rc));
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql, struct fd_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < STORE_STMT_CACHE && st->cache[i].sql; i++) {
		if (st->cache[i].sql == sql) {
			sqlite3_reset(st->cache[i].stmt);
			sqlite3_clear_bindings(st->cache[i].stmt);
			return st->cache[i].stmt;
		}
	}
	if (i == STORE_STMT_CACHE) {
		fd_error_set(err, FD_ERR_INTERNAL, -ENOSPC, "store: statement cache full");
		return NULL;
	}
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->cache[i].stmt, NULL);
	if (rc != SQLITE_OK) {
		store_sql_error(st, err, rc, "preparing a statement");
		return NULL;
	}
	st->cache[i].sql = sql;
	return st->cache[i].stmt;
}

static int exec(struct store *st, const char *sql, const char *what, struct fd_error *err)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_sql_error(st, err, rc, what);
}

int store_tx_begin(struct store *st, struct fd_error *err)
{
	if (st->read_only)
		return fd_error_set(err, FD_ERR_INTERNAL, -EROFS,
				    "%s: opened read-only, cannot write", st->path);
	/* IMMEDIATE takes the write lock now, so the busy timeout applies here, not mid-way. */
	return exec(st, "BEGIN IMMEDIATE", "starting a transaction", err);
}

int store_tx_end(struct store *st, int rc, struct fd_error *err)
{
	if (rc == 0)
		return exec(st, "COMMIT", "committing", err);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int store_read_begin(struct store *st, struct fd_error *err)
{
	return exec(st, "BEGIN DEFERRED", "starting a read snapshot", err);
}

void store_read_end(struct store *st)
{
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
}

int store_step_done(struct store *st, sqlite3_stmt *s, const char *what, struct fd_error *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, what);
}

int store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (!v || !*v)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

int store_bind_i64_nz(sqlite3_stmt *s, int i, int64_t v)
{
	return v ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

int store_bind_double_opt(sqlite3_stmt *s, int i, bool has, double v)
{
	return has ? sqlite3_bind_double(s, i, v) : sqlite3_bind_null(s, i);
}

int store_bind_utc(sqlite3_stmt *s, int i, int64_t real_ns)
{
	char buf[40];

	if (!real_ns)
		return sqlite3_bind_null(s, i);
	fd_time_format_utc(real_ns, buf, sizeof(buf));
	return sqlite3_bind_text(s, i, buf, -1, SQLITE_TRANSIENT);
}

void store_col_text(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	snprintf(dst, n, "%s", v ? (const char *)v : "");
}

double store_col_double_opt(sqlite3_stmt *s, int i, bool *has)
{
	*has = sqlite3_column_type(s, i) != SQLITE_NULL;
	return *has ? sqlite3_column_double(s, i) : 0.0;
}

int store_grow(void **arr, size_t *cap, size_t need, size_t sz)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = reallocarray(*arr, ncap, sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

long store_name_index(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (long)i;
	return -1;
}

sqlite3_stmt *store_tx_stmt(struct store *st, const char *sql, int *rc, struct fd_error *err)
{
	sqlite3_stmt *s;

	*rc = store_tx_begin(st, err);
	if (*rc)
		return NULL;
	s = store_stmt(st, sql, err);
	if (!s)
		*rc = store_tx_end(st, -EIO, err);
	return s;
}

int store_step_insert(struct store *st, sqlite3_stmt *s, int64_t *id, const char *what,
		      struct fd_error *err)
{
	int rc = store_step_done(st, s, what, err);

	if (!rc)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int store_read_row(struct store *st, sqlite3_stmt *s, store_row_fn fn, void *elem,
		   const char *what, struct fd_error *err)
{
	int rc;

	if (!s)
		return -EIO;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = fn(s, elem) ? fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory") : 0;
	else if (rc == SQLITE_DONE)
		rc = -ENOENT;
	else
		rc = store_sql_error(st, err, rc, what);
	sqlite3_reset(s);
	return rc;
}

int store_read_rows(struct store *st, sqlite3_stmt *s, store_row_fn fn, size_t sz, void **out,
		    size_t *n, void (*free_rows)(void *arr, size_t n), const char *what,
		    struct fd_error *err)
{
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!s)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char *elem;

		if (store_grow(out, &cap, *n + 1, sz)) {
			rc = SQLITE_NOMEM;
			break;
		}
		elem = (char *)*out + (*n)++ * sz;
		memset(elem, 0, sz);
		if (fn(s, elem)) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (free_rows)
		free_rows(*out, *n);
	else
		free(*out);
	*out = NULL;
	*n = 0;
	return store_sql_error(st, err, rc, what);
}

/* ---- opening and migrating ----------------------------------------------- */

static int pragma_int(struct store *st, const char *sql, int *out, struct fd_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		rc = store_sql_error(st, err, rc, "reading the database header");
	sqlite3_finalize(s);
	return rc;
}

static int set_wal(struct store *st, struct fd_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *mode = sqlite3_column_text(s, 0);
		rc = mode && strcmp((const char *)mode, "wal") == 0 ? 0 :
		     fd_error_set(err, FD_ERR_ENV, -ENOTSUP,
				  "%s: the file system refused WAL mode (journal mode stayed \"%s\"); "
				  "put the database on a local file system",
				  st->path, mode ? (const char *)mode : "?");
	} else {
		rc = store_sql_error(st, err, rc, "switching to WAL mode");
	}
	sqlite3_finalize(s);
	return rc;
}

static int count_tables(struct store *st, int *n, struct fd_error *err)
{
	return pragma_int(st, "SELECT count(*) FROM sqlite_schema", n, err);
}

/*
 * Refuses files that are not ours or are newer than this build. A fresh
 * empty file is version 0 with no tables.
 */
static int check_identity(struct store *st, int *version, struct fd_error *err)
{
	int app = 0, tables = 0, rc;

	rc = pragma_int(st, "PRAGMA user_version", version, err);
	if (!rc)
		rc = pragma_int(st, "PRAGMA application_id", &app, err);
	if (!rc && *version == 0)
		rc = count_tables(st, &tables, err);
	if (rc)
		return rc;
	if ((app != 0 && app != STORE_APPLICATION_ID) || (*version == 0 && tables > 0) ||
	    (*version > 0 && app != STORE_APPLICATION_ID))
		return fd_error_set(err, FD_ERR_ENV, -EBADMSG,
				    "%s: an SQLite database, but not a firedrill store "
				    "(application_id %d, schema version %d)", st->path, app, *version);
	if (*version > N_MIGRATIONS)
		return fd_error_set(err, FD_ERR_ENV, -EPROTO,
				    "%s: schema version %d was written by a newer firedrill "
				    "(this one knows up to %d); upgrade firedrill", st->path,
				    *version, N_MIGRATIONS);
	return 0;
}

static int migrate(struct store *st, struct fd_error *err)
{
	int version = 0, rc = 0;

	while (!rc) {
		char sql[64];

		rc = store_tx_begin(st, err);
		if (rc)
			break;
		/* Re-read under the write lock: another process may have migrated meanwhile. */
		rc = check_identity(st, &version, err);
		if (!rc && version == N_MIGRATIONS) {
			rc = store_tx_end(st, 0, err);
			break;
		}
		for (const char *const *q = migrations[version]; !rc && q && *q; q++)
			rc = exec(st, *q, "migrating the schema", err);
		if (!rc) {
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
			rc = exec(st, sql, "migrating the schema", err);
		}
		rc = store_tx_end(st, rc, err);
		if (rc)
			fd_error_prefix(err, "schema migration %d -> %d", version, version + 1);
	}
	return rc;
}

/* Opens name (a path or a URI) with flags; path names it in messages. */
static int open_connection(const char *path, const char *name, int flags, struct store **out,
			   struct fd_error *err)
{
	struct store *st;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -EIO, "libsodium failed to initialise");
	st = calloc(1, sizeof(*st));
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	st->read_only = !(flags & SQLITE_OPEN_READWRITE);
	rc = sqlite3_open_v2(name, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = store_sql_error(st, err, rc, "cannot open the database");
		store_close(st);
		return rc;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);
	rc = store_seal_register(st, err);
	if (rc) {
		store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

static int setup_rw(struct store *st, struct fd_error *err)
{
	int version, rc;

	/* A write-protected file opens read-only without complaint; say so now. */
	if (sqlite3_db_readonly(st->db, "main") == 1)
		return fd_error_set(err, FD_ERR_ENV, -EROFS,
				    "%s: the database is read-only (check the permissions of the "
				    "file and its directory; firedrill must write it)", st->path);
	rc = check_identity(st, &version, err);
	if (rc)
		return rc;
	rc = set_wal(st, err);
	if (!rc)
		rc = exec(st, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
			  "setting up the connection", err);
	if (!rc)
		rc = migrate(st, err);
	return rc;
}

int store_open(const char *path, struct store **out, struct fd_error *err)
{
	int rc = open_connection(path, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, out, err);

	if (!rc)
		rc = setup_rw(*out, err);
	if (rc && *out) {
		store_close(*out);
		*out = NULL;
	}
	return rc;
}

/* "file:PATH?immutable=1" with PATH percent-escaped (sqlite3_free). */
static char *immutable_uri(const char *path)
{
	sqlite3_str *q = sqlite3_str_new(NULL);

	sqlite3_str_appendall(q, "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			sqlite3_str_appendf(q, "%%%02X", (unsigned char)*p);
		else
			sqlite3_str_appendchar(q, 1, *p);
	}
	sqlite3_str_appendall(q, "?immutable=1");
	return sqlite3_str_finish(q);
}

/*
 * A WAL database opened read-only still needs PATH-shm; where nobody can
 * create it (read-only directory or medium, e.g. an auditor's copy), no
 * one can be writing either, so the file is read as immutable.
 */
static int connect_readonly(const char *path, struct store **out, int *version,
			    struct fd_error *err)
{
	char *uri;
	int rc = open_connection(path, path, SQLITE_OPEN_READONLY, out, err);

	if (!rc)
		rc = check_identity(*out, version, err);
	if (rc != -ENOENT && rc != -EROFS)
		return rc;
	store_close(*out);
	*out = NULL;
	uri = immutable_uri(path);
	rc = uri ? open_connection(path, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, out, err) :
	     fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	sqlite3_free(uri);
	if (!rc)
		rc = check_identity(*out, version, err);
	return rc;
}

int store_open_readonly(const char *path, struct store **out, struct fd_error *err)
{
	int version = 0, rc;

	*out = NULL;
	if (access(path, F_OK) != 0)
		return fd_error_set(err, FD_ERR_ENV, -ENOENT, "%s: no such database", path);
	rc = connect_readonly(path, out, &version, err);
	if (!rc && version != N_MIGRATIONS)
		rc = fd_error_set(err, FD_ERR_ENV, -EPROTO,
				  "%s: schema version %d, this firedrill reads version %d; "
				  "open it once with a writing command to migrate it",
				  path, version, N_MIGRATIONS);
	if (!rc)
		rc = exec(*out, "PRAGMA foreign_keys = ON", "setting up the connection", err);
	if (rc && *out) {
		store_close(*out);
		*out = NULL;
	}
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < STORE_STMT_CACHE && st->cache[i].sql; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int store_schema_version(struct store *st)
{
	int v = -1;

	if (pragma_int(st, "PRAGMA user_version", &v, NULL))
		return -1;
	return v;
}

/* ---- scenarios ------------------------------------------------------------ */

static void sha256_hex(const char *text, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static int insert_scenario(struct store *st, const char *name, const char *sha,
			   const char *text, int64_t *id, struct fd_error *err)
{
	static const char ins[] =
		"INSERT INTO scenarios (name, sha256, content, first_seen_real_ns, first_seen_utc)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sha256) DO NOTHING";
	static const char sel[] = "SELECT id FROM scenarios WHERE sha256 = ?1";
	int64_t now = fd_real_ns();
	sqlite3_stmt *s = store_stmt(st, ins, err);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, sha, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, now);
	store_bind_utc(s, 5, now);
	rc = store_step_done(st, s, "recording the scenario", err);
	if (rc)
		return rc;
	s = store_stmt(st, sel, err);
	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, sha, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	rc = rc == SQLITE_ROW ? 0 : store_sql_error(st, err, rc, "reading the scenario id");
	sqlite3_reset(s);
	/* a row recorded before seals existed gets its seal when a drill first uses it */
	return rc ? rc : store_seal_refresh(st, SEAL_SCENARIOS, *id, err);
}

int store_put_scenario(struct store *st, const char *name, const char *sha256,
		       const char *text, int64_t *scenario_id, struct fd_error *err)
{
	char computed[65];
	int rc;

	if (!name || !text)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "store_put_scenario: no name or text");
	sha256_hex(text, computed);
	/* The scenario module hashes the same bytes; a mismatch is a bug, not input. */
	if (sha256 && *sha256 && strcmp(sha256, computed) != 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				    "scenario \"%s\": sha256 %s does not match its text (%s)",
				    name, sha256, computed);
	rc = store_tx_begin(st, err);
	if (rc)
		return rc;
	rc = insert_scenario(st, name, computed, text, scenario_id, err);
	return store_tx_end(st, rc, err);
}

int store_get_scenario_text(struct store *st, int64_t scenario_id, char **text,
			    char sha256[65], struct fd_error *err)
{
	static const char sql[] = "SELECT content, sha256 FROM scenarios WHERE id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	*text = NULL;
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, scenario_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *c = sqlite3_column_text(s, 0);
		*text = strdup(c ? (const char *)c : "");
		store_col_text(s, 1, sha256, 65);
		rc = *text ? 0 : fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	} else if (rc == SQLITE_DONE) {
		rc = fd_error_set(err, FD_ERR_INPUT, -ENOENT, "%s: no scenario with id %lld",
				  st->path, (long long)scenario_id);
	} else {
		rc = store_sql_error(st, err, rc, "reading the scenario");
	}
	sqlite3_reset(s);
	return rc;
}

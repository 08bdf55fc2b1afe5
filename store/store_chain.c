/*
 * store_chain.c: the tamper-evidence hash chains of drills and iterations,
 * and the evidence seals of the rows their figures rest on.
 *
 * Each table has its own chain, ordered by chain_seq (1, 2, 3, ...). A row
 * joins its chain when it is finalized ("sealed"): store_finish_drill,
 * store_finish_iteration, or store_abort_stale_drills. Until then its
 * chain columns are NULL and it may still change; once sealed it never
 * changes. Sealing happens inside the write's transaction, so chain order
 * is commit order even with several writers.
 *
 *   hash = sha256("firedrill-chain-v1\n" "table=T\n"
 *                 for each content column, in the order of the lists below:
 *                   NAME "=" VALUE "\n"
 *                 "prev_hash=" PREV "\n")
 *
 * VALUE is typed so that no two different rows serialize alike: "n" for
 * NULL, "i" + decimal for integers, "r" + %.17g for reals (exact for
 * IEEE doubles), "t" + byte length + ":" + bytes for text. PREV is the hash
 * of the previous row in the chain, 64 zeros for the first. Columns added
 * to a list after its first version (from n_v1 on) are left out when NULL,
 * so rows sealed before they existed still verify, and a value set or
 * cleared later still changes the hash.
 *
 * field_digests keeps, per column, the first 16 hex digits of
 * sha256(NAME "=" VALUE "\n"). It is not part of the hash; it only lets
 * verification say which column changed after a row was sealed. If a
 * tamperer also rewrote it, verification still detects the change (the
 * hash) but can no longer name the column, and says so.
 *
 * Evidence (schema version 4). The rows a drill's figures rest on are
 * covered through the chained rows:
 *
 *   a drill's evidence:      its events, its faults (the journal), its scenario
 *   an iteration's evidence: its samples, its laps, its flows (schema 6)
 *
 * Cheap on insert: each such row gets a "seal" as it is written, by the SQL
 * function fd_seal in the INSERT itself: "POSITION:" then 4 hex digits per
 * field (SipHash-2-4 of NAME, NUL, typed VALUE under a fixed public key).
 * POSITION is the row's place in its drill or iteration (1, 2, ...),
 * counted by a cursor in struct store (no count(*) per insert: one max(id)
 * lookup proves nobody else wrote the table). Fault rows are resealed at
 * each state change; scenarios (shared by drills) are sealed once.
 *
 * When the drill or iteration is sealed, its "evidence" column gets, per
 * covered table, "TABLE=COUNT:SHA256" where SHA256 runs over its rows in id
 * order ("firedrill-evidence-v1\n" "table=T\n", then per row id, every
 * field and the seal, typed as in the chain, a REAL holding an integer
 * written as the integer). evidence is a chained column, so the chain (and a
 * signature of the drill's row hash) binds every covered row.
 *
 * Verification recomputes each digest from the table and compares; the row
 * seals name what changed: a field whose digest differs ("changed after
 * sealing"), a position skipped ("removed"), a row without a seal or with a
 * position repeated or past the sealed count ("inserted"). A drill or
 * iteration row whose removal the chain cannot see (the newest) is named
 * by the rows that still point to it. A change that also rewrote the row
 * seals is still detected by the digest, but not located.
 *
 * A table added to the evidence later (flows, schema 6) has no entry in
 * the evidence of rows sealed before it: such a scope verifies while it
 * has none of the table's rows, and any it has were inserted after sealing.
 *
 * Rows sealed before version 4 have evidence NULL: they verify under the
 * older scheme (drills and iterations only); migration 4 sealed existing
 * scenarios as they were then. A fault reverted after its drill was sealed
 * (a crash, then `firedrill revert`) shows as changed after sealing.
 */
#include "store_int.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_TAG "firedrill-chain-v1\n"
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define DIGEST_HEX 16
#define DIGESTS_MAX 2048

static const char *const drill_fields[] = {
	"id", "scenario_id", "scenario", "scenario_sha256", "environment", "operator",
	"host", "tool_version", "started_real_ns", "started_utc", "ended_real_ns",
	"ended_utc", "outcome", "objectives_met", "iterations_planned", "note",
	"holder_pid", "holder_start", "holder_host",
	/* added later: NULL in rows sealed before them, and then left out of the hash */
	"evidence", "objectives_recorded", "rto_objective_ns", "rpo_objective_ns",
	"recovery_criterion", "prove_every_ns", "description", "scope_rationale", "participants",
};

#define DRILL_FIELDS_V1 19

static const char *const iteration_fields[] = {
	"id", "drill_id", "number", "outcome", "started_real_ns", "started_utc",
	"ended_real_ns", "ended_utc", "t0_real_ns", "t0_utc", "t0_mono_ns", "rto_ms",
	"rpo_ms", "writes_acked", "writes_acked_outage", "lost_writes", "detect_ms",
	"first_success_ms", "error_bound_ms", "failback_ms", "objectives_met", "detail",
	/* added later: NULL in rows sealed before them, and then left out of the hash */
	"evidence", "rto_early_ms", "rto_late_ms",
};

#define ITERATION_FIELDS_V1 22

/* Sealed as each row is written (schema 5): every column is there from the start. */
static const char *const record_fields[] = {
	"id", "drill_id", "kind", "severity", "root_cause", "owner", "due", "action_id",
	"finding_id", "retest_drill_id", "text", "author", "author_role", "created_real_ns", "created_utc",
	"key_id", "public_key", "signature",
};

struct chain_def {
	const char *table;
	const char *const *fields;
	int n;
	int n_v1; /* fields from n_v1 on were added later: skipped when NULL */
};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct chain_def defs[] = {
	[CHAIN_DRILLS] = { "drills", drill_fields, N_OF(drill_fields), DRILL_FIELDS_V1 },
	[CHAIN_ITERATIONS] = { "iterations", iteration_fields, N_OF(iteration_fields),
			       ITERATION_FIELDS_V1 },
	[CHAIN_RECORDS] = { "records", record_fields, N_OF(record_fields), N_OF(record_fields) },
};

static void app(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void app(char *buf, size_t n, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, n - len, fmt, ap);
	va_end(ap);
}

/* "SELECT f1, f2, ... EXTRA FROM table TAIL" (sqlite3_free). */
static char *select_sql(const struct chain_def *d, const char *extra, const char *tail)
{
	sqlite3_str *q = sqlite3_str_new(NULL);

	sqlite3_str_appendall(q, "SELECT ");
	for (int i = 0; i < d->n; i++)
		sqlite3_str_appendf(q, "%s%s", i ? ", " : "", d->fields[i]);
	sqlite3_str_appendf(q, "%s FROM %s %s", extra, d->table, tail);
	return sqlite3_str_finish(q);
}

static void feed(crypto_hash_sha256_state *a, crypto_hash_sha256_state *b, const void *p, size_t n)
{
	crypto_hash_sha256_update(a, p, n);
	crypto_hash_sha256_update(b, p, n);
}

/* Feeds NAME=VALUE\n of column col into the row hash and a fresh field digest. */
static void feed_value(crypto_hash_sha256_state *row, const char *name, sqlite3_stmt *s,
		       int col, char digest[DIGEST_HEX + 1])
{
	crypto_hash_sha256_state f;
	unsigned char out[crypto_hash_sha256_BYTES];
	const void *data = NULL;
	size_t len = 0;
	char head[160];

	crypto_hash_sha256_init(&f);
	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		snprintf(head, sizeof(head), "%s=n\n", name);
		break;
	case SQLITE_INTEGER:
		snprintf(head, sizeof(head), "%s=i%lld\n", name, (long long)sqlite3_column_int64(s, col));
		break;
	case SQLITE_FLOAT:
		snprintf(head, sizeof(head), "%s=r%.17g\n", name, sqlite3_column_double(s, col));
		break;
	default: /* text, blob */
		data = sqlite3_column_blob(s, col);
		len = (size_t)sqlite3_column_bytes(s, col);
		snprintf(head, sizeof(head), "%s=%c%zu:", name,
			 sqlite3_column_type(s, col) == SQLITE_TEXT ? 't' : 'b', len);
		break;
	}
	feed(row, &f, head, strlen(head));
	if (data) {
		feed(row, &f, data, len);
		feed(row, &f, "\n", 1);
	}
	crypto_hash_sha256_final(&f, out);
	sodium_bin2hex(digest, DIGEST_HEX + 1, out, DIGEST_HEX / 2);
}

/* Hash of the row in s (columns 0..n-1) chained to prev; digests as "name=hex ...". */
static void row_hash(const struct chain_def *d, sqlite3_stmt *s, const char *prev,
		     char hash[65], char digests[DIGESTS_MAX])
{
	crypto_hash_sha256_state h;
	unsigned char out[crypto_hash_sha256_BYTES];
	char line[96];

	digests[0] = '\0';
	crypto_hash_sha256_init(&h);
	snprintf(line, sizeof(line), CHAIN_TAG "table=%s\n", d->table);
	crypto_hash_sha256_update(&h, (const unsigned char *)line, strlen(line));
	for (int i = 0; i < d->n; i++) {
		char dg[DIGEST_HEX + 1];

		if (i >= d->n_v1 && sqlite3_column_type(s, i) == SQLITE_NULL)
			continue;
		feed_value(&h, d->fields[i], s, i, dg);
		app(digests, DIGESTS_MAX, "%s%s=%s", i ? " " : "", d->fields[i], dg);
	}
	snprintf(line, sizeof(line), "prev_hash=%s\n", prev);
	crypto_hash_sha256_update(&h, (const unsigned char *)line, strlen(line));
	crypto_hash_sha256_final(&h, out);
	sodium_bin2hex(hash, 65, out, sizeof(out));
}

static int last_link(struct store *st, const struct chain_def *d, int64_t *seq, char hash[65],
		     struct fd_error *err)
{
	char *sql = sqlite3_mprintf("SELECT chain_seq, hash FROM %s WHERE chain_seq IS NOT NULL "
				    "ORDER BY chain_seq DESC LIMIT 1", d->table);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	*seq = 0;
	snprintf(hash, 65, "%s", ZERO_HASH);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		store_col_text(s, 1, hash, 65);
		rc = SQLITE_DONE;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, "reading the hash chain");
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return rc;
}

static int write_link(struct store *st, const struct chain_def *d, int64_t row_id, int64_t seq,
		      const char *prev, const char *hash, const char *digests, struct fd_error *err)
{
	char *sql = sqlite3_mprintf("UPDATE %s SET chain_seq = ?1, prev_hash = ?2, hash = ?3, "
				    "field_digests = ?4 WHERE id = ?5", d->table);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, seq);
		sqlite3_bind_text(s, 2, prev, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, digests, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, row_id);
		rc = sqlite3_step(s);
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, "sealing a row into the hash chain");
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return rc;
}

/* ---- evidence: the rows the figures rest on ------------------------------ */

#define SEAL_HEX 4	  /* hex digits of a field's digest in a row's seal */
#define SEAL_MAX 256	  /* "ORDINAL:" + SEAL_HEX per field */
#define EVIDENCE_MAX 512 /* "table=COUNT:SHA256 ..." of one drill or iteration */
#define EVIDENCE_TAG "firedrill-evidence-v1\n"

/*
 * The columns each covered row is sealed with, in fd_seal's argument order
 * (the INSERTs in store_timeline.c and store_journal.c pass them so). A
 * column added to a table later is appended here and to its INSERT's
 * fd_seal; rows sealed before it verify while it is NULL.
 */
static const char *const event_fields[] = {
	"drill_id", "iteration_id", "mono_ns", "real_ns", "utc", "kind", "subject", "detail",
};

static const char *const sample_fields[] = {
	"iteration_id", "probe", "mono_ns", "ok", "latency_ns", "detail",
};

static const char *const lap_fields[] = {
	"iteration_id", "step", "name", "manual", "started_mono_ns", "ended_mono_ns",
	"duration_ms", "ok", "detail",
};

static const char *const fault_fields[] = {
	"drill_id", "fault_id", "kind", "netns", "spec", "state", "planned_real_ns",
	"planned_utc", "applied_real_ns", "applied_utc", "max_duration_ns", "expires_real_ns",
	"expires_utc", "reverted_real_ns", "reverted_utc", "failed_real_ns", "failed_utc",
	"holder_pid", "detail",
};

static const char *const scenario_fields[] = {
	"name", "sha256", "content", "first_seen_real_ns", "first_seen_utc",
};

static const char *const flow_fields[] = {
	"iteration_id", "fault_id", "protocol", "src", "dst", "dport", "flow", "packets",
	"first_seen_ms", "owner_pid", "owner_holders", "owner_uid", "owner_comm", "owner_cmd",
	"owner_container", "owner_container_name", "owner_unknown",
};

struct seal_def {
	const char *table;
	const char *scope;	 /* the column naming the row's drill or iteration */
	bool ordered;		 /* the scope's rows form a sequence (not scenarios) */
	const char *max_sql;	 /* cached statements of store_seal_reserve */
	const char *count_sql;
	const char *const *fields;
	int n;
	int n_v2; /* fields from n_v2 on were added later: left out of digests when NULL */
	bool later; /* covered since after evidence began: older seals have no entry for it */
};

/* v2: the number of fields when the seal came (schema 4); append new ones after it */
#define SEAL_DEF(t, sc, ord, f, v2, later)                                               \
	{ t, sc, ord, "SELECT coalesce(max(id), 0) FROM " t,                             \
	  "SELECT count(*) FROM " t " WHERE " sc " = ?1", f, N_OF(f), v2, later }

static const struct seal_def seal_defs[SEAL_N] = {
	[SEAL_EVENTS] = SEAL_DEF("events", "drill_id", true, event_fields, 8, false),
	[SEAL_SAMPLES] = SEAL_DEF("samples", "iteration_id", true, sample_fields, 6, false),
	[SEAL_LAPS] = SEAL_DEF("laps", "iteration_id", true, lap_fields, 9, false),
	[SEAL_FAULTS] = SEAL_DEF("faults", "drill_id", true, fault_fields, 19, false),
	[SEAL_SCENARIOS] = SEAL_DEF("scenarios", "id", false, scenario_fields, 5, false),
	[SEAL_FLOWS] = SEAL_DEF("flows", "iteration_id", true, flow_fields, 17, true),
};

/* Which tables a drill's and an iteration's evidence covers, in digest order. */
static const enum store_seal_table drill_tables[] = { SEAL_EVENTS, SEAL_FAULTS, SEAL_SCENARIOS };
static const enum store_seal_table iteration_tables[] = { SEAL_SAMPLES, SEAL_LAPS, SEAL_FLOWS };

static const struct seal_def *seal_def_named(const char *table)
{
	for (int i = 0; table && i < SEAL_N; i++)
		if (strcmp(seal_defs[i].table, table) == 0)
			return &seal_defs[i];
	return NULL;
}

/*
 * NAME=VALUE\n as in the chain, except that a REAL holding an integer is
 * written as the integer: a column's affinity may store a bound 3.0 as 3
 * or read 3 back as 3.0, and neither is a change.
 */
static void seal_feed(crypto_hash_sha256_state *h, const char *name, sqlite3_value *v)
{
	char head[160];
	double x;
	int type = sqlite3_value_type(v);

	switch (type) {
	case SQLITE_NULL:
		snprintf(head, sizeof(head), "%s=n\n", name);
		break;
	case SQLITE_INTEGER:
		snprintf(head, sizeof(head), "%s=i%lld\n", name, (long long)sqlite3_value_int64(v));
		break;
	case SQLITE_FLOAT:
		x = sqlite3_value_double(v);
		if (x > -9e15 && x < 9e15 && x == (double)(long long)x)
			snprintf(head, sizeof(head), "%s=i%lld\n", name, (long long)x);
		else
			snprintf(head, sizeof(head), "%s=r%.17g\n", name, x);
		break;
	default:
		snprintf(head, sizeof(head), "%s=%c%d:", name, type == SQLITE_TEXT ? 't' : 'b',
			 sqlite3_value_bytes(v));
		break;
	}
	crypto_hash_sha256_update(h, (const unsigned char *)head, strlen(head));
	if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
		if (sqlite3_value_bytes(v) > 0)
			crypto_hash_sha256_update(h, sqlite3_value_blob(v),
						  (size_t)sqlite3_value_bytes(v));
		crypto_hash_sha256_update(h, (const unsigned char *)"\n", 1);
	}
}

/*
 * A field's short digest only names what changed (the scope's sha256 is
 * what detects it), so it is SipHash-2-4 under a fixed, public key: with
 * sha256 here a sample cost 4.1 us more than before seals, with SipHash
 * 1.7 us (bench/store, docs/benchmarks.md).
 */
static void field_seal(const char *name, sqlite3_value *v, char out[SEAL_HEX + 1])
{
	static const unsigned char key[crypto_shorthash_KEYBYTES] = "firedrill-seal1";
	unsigned char d[crypto_shorthash_BYTES], stack[512], *buf = stack;
	int type = sqlite3_value_type(v);
	size_t len = strlen(name) + 1, vlen = 0;

	if (type == SQLITE_TEXT || type == SQLITE_BLOB)
		vlen = (size_t)sqlite3_value_bytes(v);
	if (len + vlen + 1 > sizeof(stack) && !(buf = malloc(len + vlen + 1))) {
		buf = stack; /* out of memory: a digest without the value, which never matches */
		vlen = 0;
	}
	memcpy(buf, name, len); /* with its NUL: the name ends here */
	switch (type) {
	case SQLITE_NULL:
		buf[len++] = 'n';
		break;
	case SQLITE_INTEGER:
	case SQLITE_FLOAT: {
		char num[40];
		double x = sqlite3_value_double(v);
		int k;

		if (type == SQLITE_INTEGER)
			k = snprintf(num, sizeof(num), "i%lld", (long long)sqlite3_value_int64(v));
		else if (x > -9e15 && x < 9e15 && x == (double)(long long)x)
			k = snprintf(num, sizeof(num), "i%lld", (long long)x);
		else
			k = snprintf(num, sizeof(num), "r%.17g", x);
		/* bytes hashed, not a string: no NUL wanted */
		k = k < 0 ? 0 : k >= (int)sizeof(num) ? (int)sizeof(num) - 1 : k;
		memcpy(buf + len, num, (size_t)k);
		len += (size_t)k;
		break;
	}
	default:
		buf[len++] = type == SQLITE_TEXT ? 't' : 'b';
		if (vlen)
			memcpy(buf + len, sqlite3_value_blob(v), vlen);
		len += vlen;
		break;
	}
	crypto_shorthash(d, buf, len, key);
	if (buf != stack)
		free(buf);
	sodium_bin2hex(out, SEAL_HEX + 1, d, SEAL_HEX / 2);
}

/* "ORDINAL:" then SEAL_HEX digits per field of d, from vals[0..d->n-1]. */
static void seal_text(const struct seal_def *d, int64_t ordinal, sqlite3_value **vals,
		      char out[SEAL_MAX])
{
	int len = snprintf(out, SEAL_MAX, "%lld:", (long long)ordinal);

	for (int i = 0; i < d->n && len + SEAL_HEX < SEAL_MAX; i++, len += SEAL_HEX)
		field_seal(d->fields[i], vals[i], out + len);
}

/* fd_seal(TABLE, ORDINAL or an old seal, VALUES...): the row's seal. */
static void sql_fd_seal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct seal_def *d = seal_def_named((const char *)sqlite3_value_text(argv[0]));
	char out[SEAL_MAX];
	int64_t ordinal = 0;

	if (!d || argc != d->n + 2) {
		sqlite3_result_error(ctx, "fd_seal: unknown table or wrong number of values", -1);
		return;
	}
	if (sqlite3_value_type(argv[1]) == SQLITE_TEXT)
		ordinal = strtoll((const char *)sqlite3_value_text(argv[1]), NULL, 10);
	else
		ordinal = sqlite3_value_int64(argv[1]);
	seal_text(d, ordinal, argv + 2, out);
	sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

int store_seal_register(struct store *st, struct fd_error *err)
{
	int rc = sqlite3_create_function_v2(st->db, "fd_seal", -1,
					    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_fd_seal,
					    NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_sql_error(st, err, rc, "registering fd_seal");
}

/* The one integer row of cached statement sql, bound to arg when arg != 0. */
static int one_int(struct store *st, const char *sql, int64_t arg, int64_t *out,
		   struct fd_error *err)
{
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	if (!s)
		return -EIO;
	if (arg)
		sqlite3_bind_int64(s, 1, arg);
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : store_sql_error(st, err, rc, "reserving seal positions");
}

/*
 * Ids are max(id) + 1 (INTEGER PRIMARY KEY without AUTOINCREMENT), so
 * when max(id) is what the cursor expects nobody else wrote the table and
 * the next ordinal is known without counting the scope's rows.
 */
int store_seal_reserve(struct store *st, enum store_seal_table t, int64_t scope, size_t n,
		       int64_t *first, struct fd_error *err)
{
	const struct seal_def *d = &seal_defs[t];
	struct store_seal_cursor *c = &st->seal_cursor[t];
	int64_t max_id = 0, count = 0;
	int rc;

	*first = 0;
	if (!d->ordered || scope == 0)
		return 0;
	rc = one_int(st, d->max_sql, 0, &max_id, err);
	if (!rc && (c->scope != scope || c->last_id != max_id)) {
		rc = one_int(st, d->count_sql, scope, &count, err);
		c->next = count + 1;
	}
	if (rc) {
		c->scope = 0;
		return rc;
	}
	*first = c->next;
	c->scope = scope;
	c->next += (int64_t)n;
	c->last_id = max_id + (int64_t)n;
	return 0;
}

/* "SELECT id, f1, ..., seal FROM T WHERE <where> ORDER BY id" (sqlite3_free). */
static char *seal_select(const struct seal_def *d, const char *where)
{
	sqlite3_str *q = sqlite3_str_new(NULL);

	sqlite3_str_appendall(q, "SELECT id");
	for (int i = 0; i < d->n; i++)
		sqlite3_str_appendf(q, ", %s", d->fields[i]);
	if (where)
		sqlite3_str_appendf(q, ", seal FROM %s WHERE %s ORDER BY id", d->table, where);
	else
		sqlite3_str_appendf(q, ", seal FROM %s WHERE %s = ?1 ORDER BY id", d->table, d->scope);
	return sqlite3_str_finish(q);
}

int store_seal_refresh(struct store *st, enum store_seal_table t, int64_t id,
		       struct fd_error *err)
{
	const struct seal_def *d = &seal_defs[t];
	sqlite3_str *q = sqlite3_str_new(NULL);
	sqlite3_stmt *s = NULL;
	char *sql;
	int rc;

	sqlite3_str_appendf(q, "UPDATE %s SET seal = fd_seal('%s', seal", d->table, d->table);
	for (int i = 0; i < d->n; i++)
		sqlite3_str_appendf(q, ", %s", d->fields[i]);
	/* an unordered row (a scenario) is shared by drills: sealed once, never rewritten */
	sqlite3_str_appendf(q, ") WHERE id = ?1%s", d->ordered ? "" : " AND seal IS NULL");
	sql = sqlite3_str_finish(q);
	rc = sql ? sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) : SQLITE_NOMEM;
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		rc = sqlite3_step(s);
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, "sealing a row");
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return rc;
}

struct verify;
static void problem(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void format_value(sqlite3_stmt *s, int col, char *buf, size_t n);

/* One pass over a scope's rows in id order: the digest, and (when v) what changed. */
struct seal_walk {
	const struct seal_def *d;
	struct verify *v;	/* NULL while sealing */
	const char *label;	/* "iteration 2 of drill 1" */
	crypto_hash_sha256_state h;
	int64_t count, expect, last_id;
	int64_t sealed; /* rows the seal counted (verifying an ordered table) */
	int named;
};

static void walk_fields(struct seal_walk *w, sqlite3_stmt *s, int64_t id, const char *digests)
{
	char changed[FD_ERROR_MSG_MAX / 2] = "", dg[SEAL_HEX + 1], val[64];

	for (int i = 0; i < w->d->n; i++) {
		bool sealed = strlen(digests) >= (size_t)(i + 1) * SEAL_HEX;

		field_seal(w->d->fields[i], sqlite3_column_value(s, i + 1), dg);
		if (sealed && strncmp(digests + i * SEAL_HEX, dg, SEAL_HEX) == 0)
			continue;
		/* a column added after the row was sealed, still NULL */
		if (!sealed && sqlite3_column_type(s, i + 1) == SQLITE_NULL)
			continue;
		format_value(s, i + 1, val, sizeof(val));
		app(changed, sizeof(changed), "%s%s (now %s)", changed[0] ? ", " : "",
		    w->d->fields[i], val);
	}
	if (!changed[0])
		return;
	w->named++;
	problem(w->v, "%s row %lld (%s): changed after sealing: %s", w->d->table, (long long)id,
		w->label, changed);
}

static void walk_check(struct seal_walk *w, sqlite3_stmt *s, int64_t id)
{
	const char *seal = (const char *)sqlite3_column_text(s, w->d->n + 1);
	char *end = NULL;
	int64_t ord = seal ? strtoll(seal, &end, 10) : 0;

	if (!seal || !end || *end != ':') {
		w->named++;
		problem(w->v, "%s row %lld (%s): not in the sealed evidence (inserted after sealing)",
			w->d->table, (long long)id, w->label);
		return;
	}
	/* a position already seen, or past the sealed count */
	if (w->d->ordered && (ord < w->expect || ord > w->sealed)) {
		w->named++;
		problem(w->v, "%s row %lld (%s): inserted after sealing (position %lld, %lld sealed)",
			w->d->table, (long long)id, w->label, (long long)ord, (long long)w->sealed);
		return;
	}
	if (w->d->ordered && ord > w->expect) {
		w->named++;
		problem(w->v, "%s: %lld row(s) of %s removed after sealing (sealed positions "
			      "%lld..%lld, before row %lld)", w->d->table, (long long)(ord - w->expect),
			w->label, (long long)w->expect, (long long)ord - 1, (long long)id);
	}
	w->expect = ord + 1;
	walk_fields(w, s, id, end + 1);
}

static void walk_row(struct seal_walk *w, sqlite3_stmt *s)
{
	int64_t id = sqlite3_column_int64(s, 0);

	seal_feed(&w->h, "id", sqlite3_column_value(s, 0));
	for (int i = 0; i < w->d->n; i++)
		if (i < w->d->n_v2 || sqlite3_column_type(s, i + 1) != SQLITE_NULL)
			seal_feed(&w->h, w->d->fields[i], sqlite3_column_value(s, i + 1));
	seal_feed(&w->h, "seal", sqlite3_column_value(s, w->d->n + 1));
	w->count++;
	if (w->v)
		walk_check(w, s, id);
	w->last_id = id;
}

/* Walks the rows of scope in d; appends "table=COUNT:SHA256" to out. */
static int walk_scope(struct store *st, struct seal_walk *w, int64_t scope, char *out,
		      size_t n, struct fd_error *err)
{
	char *sql = seal_select(w->d, NULL), line[80];
	unsigned char dg[crypto_hash_sha256_BYTES];
	char hex[65];
	sqlite3_stmt *s = NULL;
	int rc = sql ? sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) : SQLITE_NOMEM;

	crypto_hash_sha256_init(&w->h);
	snprintf(line, sizeof(line), EVIDENCE_TAG "table=%s\n", w->d->table);
	crypto_hash_sha256_update(&w->h, (const unsigned char *)line, strlen(line));
	w->count = 0;
	w->expect = 1;
	if (rc == SQLITE_OK)
		sqlite3_bind_int64(s, 1, scope);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		walk_row(w, s);
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, "reading sealed evidence");
	sqlite3_finalize(s);
	sqlite3_free(sql);
	crypto_hash_sha256_final(&w->h, dg);
	sodium_bin2hex(hex, sizeof(hex), dg, sizeof(dg));
	app(out, n, "%s%s=%lld:%s", out[0] ? " " : "", w->d->table, (long long)w->count, hex);
	return rc;
}

static int64_t scenario_of(struct store *st, int64_t drill_id)
{
	sqlite3_stmt *s = NULL;
	int64_t id = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT coalesce(scenario_id, 0) FROM drills WHERE id = ?1",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, drill_id);
		if (sqlite3_step(s) == SQLITE_ROW)
			id = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	return id;
}

/* The evidence string of a drill or iteration row, from its rows as they are now. */
static int build_evidence(struct store *st, enum store_chain_table t, int64_t row_id,
			  char out[EVIDENCE_MAX], struct fd_error *err)
{
	const enum store_seal_table *tabs = t == CHAIN_DRILLS ? drill_tables : iteration_tables;
	size_t n = t == CHAIN_DRILLS ? N_OF(drill_tables) : N_OF(iteration_tables);
	int rc = 0;

	out[0] = '\0';
	for (size_t i = 0; !rc && i < n; i++) {
		struct seal_walk w = { .d = &seal_defs[tabs[i]] };
		int64_t scope = tabs[i] == SEAL_SCENARIOS ? scenario_of(st, row_id) : row_id;

		rc = walk_scope(st, &w, scope, out, EVIDENCE_MAX, err);
	}
	return rc;
}

static int write_evidence(struct store *st, enum store_chain_table t, int64_t row_id,
			  struct fd_error *err)
{
	char ev[EVIDENCE_MAX], *sql;
	sqlite3_stmt *s = NULL;
	int rc = build_evidence(st, t, row_id, ev, err);

	if (rc)
		return rc;
	sql = sqlite3_mprintf("UPDATE %s SET evidence = ?1 WHERE id = ?2 AND chain_seq IS NULL",
			      defs[t].table);
	rc = sql ? sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) : SQLITE_NOMEM;
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, ev, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, row_id);
		rc = sqlite3_step(s);
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, err, rc, "sealing the evidence");
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return rc;
}

int store_chain_seal(struct store *st, enum store_chain_table t, int64_t row_id,
		     char hash[65], struct fd_error *err)
{
	const struct chain_def *d = &defs[t];
	char *sql = select_sql(d, "", "WHERE id = ?1 AND chain_seq IS NULL");
	char prev[65], digests[DIGESTS_MAX];
	sqlite3_stmt *s = NULL;
	int64_t seq = 0;
	int rc;

	/* The chain head read here and the link written below must be one
	 * step: only inside the caller's write transaction is no other writer
	 * between them (two rows with one chain_seq would break the chain). */
	assert(t == CHAIN_DRILLS || t == CHAIN_ITERATIONS || t == CHAIN_RECORDS);
	assert(!sqlite3_get_autocommit(st->db));
	/* records are themselves evidence: they have no rows beneath them */
	rc = t == CHAIN_RECORDS ? 0 : write_evidence(st, t, row_id, err);
	if (!rc)
		rc = last_link(st, d, &seq, prev, err);
	if (rc)
		goto cleanup;
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, row_id);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_DONE) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -EALREADY,
				  "%s: %s row %lld is missing or already sealed", st->path,
				  d->table, (long long)row_id);
		goto cleanup;
	}
	if (rc != SQLITE_ROW) {
		rc = store_sql_error(st, err, rc, "reading a row to seal");
		goto cleanup;
	}
	assert(seq >= 0 && seq < INT64_MAX); /* chain_seq counts 1, 2, 3, ... */
	row_hash(d, s, prev, hash, digests);
	rc = write_link(st, d, row_id, seq + 1, prev, hash, digests, err);
cleanup:
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return rc;
}

/* ---- verification ------------------------------------------------------- */

static void format_value(sqlite3_stmt *s, int col, char *buf, size_t n)
{
	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		snprintf(buf, n, "NULL");
		break;
	case SQLITE_INTEGER:
		snprintf(buf, n, "%lld", (long long)sqlite3_column_int64(s, col));
		break;
	case SQLITE_FLOAT:
		snprintf(buf, n, "%g", sqlite3_column_double(s, col));
		break;
	default: {
		const char *t = (const char *)sqlite3_column_text(s, col);
		snprintf(buf, n, "\"%.40s%s\"", t ? t : "", t && strlen(t) > 40 ? "..." : "");
	}
	}
}

/* The stored digest of field name in "a=hex b=hex ..." (NULL if absent). */
static const char *stored_digest(const char *digests, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = digests; p && *p; p = strchr(p, ' '), p = p ? p + 1 : NULL)
		if (strncmp(p, name, len) == 0 && p[len] == '=' && strlen(p + len + 1) >= DIGEST_HEX)
			return p + len + 1;
	return NULL;
}

/* Explains a content mismatch: which columns changed, by their digests. */
static void explain_content(const struct chain_def *d, sqlite3_stmt *s, const char *digests,
			    char *msg, size_t n)
{
	char computed[DIGESTS_MAX], hash[65], val[64];
	int changed = 0;

	row_hash(d, s, ZERO_HASH, hash, computed);
	for (int i = 0; i < d->n && digests; i++) {
		const char *want = stored_digest(digests, d->fields[i]);
		const char *have = stored_digest(computed, d->fields[i]);

		/*
		 * A later column is left out of the hash (and its digests) while
		 * NULL: one absent from both is unchanged; absent from one side
		 * only, it went from NULL to a value or from a value to NULL.
		 */
		if ((!want && !have) || (want && have && strncmp(want, have, DIGEST_HEX) == 0))
			continue;
		format_value(s, i, val, sizeof(val));
		app(msg, n, "%s%s (%snow %s)", changed++ ? ", " : ": changed after sealing: ",
		    d->fields[i], want ? "" : "was NULL, ", have ? val : "NULL");
	}
	if (!changed)
		app(msg, n, ": a column changed after sealing, and its field digests were "
			    "rewritten too, so which one cannot be told");
}

struct verify {
	struct store *st;
	int problems;
	int untold;
	char msg[FD_ERROR_MSG_MAX - 64];
};

static void problem(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Collects problems as "a; b; ..." while they fit; counts the rest. */
static void problem(struct verify *v, const char *fmt, ...)
{
	char one[sizeof(v->msg)];
	size_t len = strlen(v->msg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(one, sizeof(one), fmt, ap);
	va_end(ap);
	v->problems++;
	if (len + strlen(one) + 3 > sizeof(v->msg)) {
		if (!len)
			snprintf(v->msg, sizeof(v->msg), "%s", one);
		else
			v->untold++;
		return;
	}
	app(v->msg, sizeof(v->msg), "%s%s", len ? "; " : "", one);
}

/* Checks one sealed row (columns: fields, chain_seq, prev_hash, hash, field_digests). */
static void verify_row(struct verify *v, const struct chain_def *d, sqlite3_stmt *s,
		       int64_t *want_seq, char want_prev[65], int64_t *prev_id)
{
	int64_t id = sqlite3_column_int64(s, 0), seq = sqlite3_column_int64(s, d->n);
	const char *prev = (const char *)sqlite3_column_text(s, d->n + 1);
	const char *hash = (const char *)sqlite3_column_text(s, d->n + 2);
	const char *digests = (const char *)sqlite3_column_text(s, d->n + 3);
	char computed[65], dg[DIGESTS_MAX];

	row_hash(d, s, prev ? prev : "", computed, dg);
	if (seq != *want_seq) {
		problem(v, "%s: chain entries %lld..%lld are missing before row %lld "
			   "(rows deleted or renumbered)", d->table, (long long)*want_seq,
			(long long)seq - 1, (long long)id);
	} else if (!prev || strcmp(prev, want_prev) != 0) {
		if (*prev_id)
			problem(v, "%s row %lld: prev_hash does not match row %lld's hash "
				   "(one of them was changed, or rows were reordered)",
				d->table, (long long)id, (long long)*prev_id);
		else
			problem(v, "%s row %lld: first in the chain but prev_hash is not zero",
				d->table, (long long)id);
	}
	if (!hash || strcmp(hash, computed) != 0) {
		char why[FD_ERROR_MSG_MAX - 200] = "";

		if (digests && strcmp(digests, dg) == 0)
			snprintf(why, sizeof(why), ": its hash column was changed");
		else
			explain_content(d, s, digests, why, sizeof(why));
		problem(v, "%s row %lld (chain entry %lld): content does not match its hash%s",
			d->table, (long long)id, (long long)seq, why);
	} else if (!digests || strcmp(digests, dg) != 0) {
		problem(v, "%s row %lld: field_digests column was changed (content intact)",
			d->table, (long long)id);
	}
	*want_seq = seq + 1;
	snprintf(want_prev, 65, "%s", hash ? hash : "");
	*prev_id = id;
}

static int verify_table(struct verify *v, const struct chain_def *d, struct fd_error *err)
{
	char *sql = select_sql(d, ", chain_seq, prev_hash, hash, field_digests",
			       "WHERE chain_seq IS NOT NULL ORDER BY chain_seq");
	char want_prev[65] = ZERO_HASH;
	int64_t want_seq = 1, prev_id = 0;
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(v->st->db, sql, -1, &s, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		verify_row(v, d, s, &want_seq, want_prev, &prev_id);
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(v->st, err, rc, "reading the hash chain");
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return rc;
}

/* Finished rows outside the chain: someone cleared their chain columns.
 * A record is sealed as it is written, so none may be outside it. */
static int verify_unsealed(struct verify *v, const struct chain_def *d, struct fd_error *err)
{
	char *sql = d == &defs[CHAIN_RECORDS]
			    ? sqlite3_mprintf("SELECT id, kind FROM %s WHERE chain_seq IS NULL",
					      d->table)
			    : sqlite3_mprintf("SELECT id, outcome FROM %s WHERE chain_seq IS NULL AND "
					      "(outcome <> 'running' OR hash IS NOT NULL)", d->table);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(v->st->db, sql, -1, &s, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		problem(v, "%s row %lld: %s \"%s\" but not in the hash chain "
			   "(its chain columns were cleared)", d->table,
			(long long)sqlite3_column_int64(s, 0), sqlite3_column_name(s, 1),
			sqlite3_column_text(s, 1));
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(v->st, err, rc, "reading the hash chain");
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return rc;
}

/* Scenario texts must still hash to their recorded sha256. */
static int verify_scenarios(struct verify *v, struct fd_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(v->st->db, "SELECT id, sha256, content FROM scenarios ORDER BY id",
				    -1, &s, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		unsigned char h[crypto_hash_sha256_BYTES];
		const char *sha = (const char *)sqlite3_column_text(s, 1);
		char hex[65];

		crypto_hash_sha256(h, sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2));
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		if (!sha || strcmp(sha, hex) != 0)
			problem(v, "scenarios row %lld: content no longer hashes to its sha256 %s",
				(long long)sqlite3_column_int64(s, 0), sha ? sha : "NULL");
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(v->st, err, rc, "reading scenarios");
	sqlite3_finalize(s);
	return rc;
}


/* ---- verifying the evidence --------------------------------------------- */

/* The "table=COUNT:SHA256" token of table in evidence, copied to out (NULL: none). */
static const char *sealed_token(const char *evidence, const char *table, char *out, size_t n)
{
	size_t len = strlen(table);

	for (const char *p = evidence; p && *p; p = strchr(p, ' '), p = p ? p + 1 : NULL) {
		if (strncmp(p, table, len) != 0 || p[len] != '=')
			continue;
		snprintf(out, n, "%.*s", (int)strcspn(p, " "), p);
		return out;
	}
	return NULL;
}

static int verify_scope(struct verify *v, enum store_seal_table t, int64_t scope,
			const char *label, const char *evidence, struct fd_error *err)
{
	struct seal_walk w = { .d = &seal_defs[t], .v = v, .label = label };
	char now[EVIDENCE_MAX] = "", want[EVIDENCE_MAX];
	long long sealed = 0;
	bool absent;
	int rc;

	absent = !sealed_token(evidence, w.d->table, want, sizeof(want)) ||
		 sscanf(want + strlen(w.d->table) + 1, "%lld:", &sealed) != 1;
	if (absent && !w.d->later) {
		problem(v, "%s: its sealed evidence has no entry for %s", label, w.d->table);
		return 0;
	}
	/* sealed before the table was covered: each row it has is named as inserted */
	w.sealed = absent ? 0 : sealed;
	rc = walk_scope(v->st, &w, scope, now, sizeof(now), err);
	if (rc || absent)
		return rc;
	if (!w.d->ordered && sealed > w.count) {
		w.named++;
		problem(v, "%s: %lld row(s) of %s removed after sealing", w.d->table,
			sealed - (long long)w.count, label);
	}
	if (w.d->ordered && sealed >= w.expect) {
		char where[48] = "none left";

		if (w.last_id)
			snprintf(where, sizeof(where), "after row %lld", (long long)w.last_id);
		w.named++;
		problem(v, "%s: %lld row(s) of %s removed after sealing (sealed positions "
			   "%lld..%lld, %s)", w.d->table, sealed - (long long)w.expect + 1,
			label, (long long)w.expect, sealed, where);
	}
	if (strcmp(now, want) != 0 && !w.named)
		problem(v, "%s rows of %s differ from their sealed digest (%lld sealed, %lld now), "
			   "and their row seals were rewritten too, so which row cannot be told",
			w.d->table, label, sealed, (long long)w.count);
	return 0;
}

/*
 * Rows whose drill or iteration is gone: the chain cannot see the removal
 * of its newest row, but the rows that named it still do. Scenarios are all
 * sealed (migration 4 sealed the older ones), so one without is a hand's.
 */
static int verify_orphans(struct verify *v, struct fd_error *err)
{
	static const char sql[] =
		"SELECT 'drills', drill_id, 'events', count(*), min(id) FROM events"
		"  WHERE drill_id NOT IN (SELECT id FROM drills) GROUP BY drill_id"
		" UNION ALL SELECT 'drills', drill_id, 'faults', count(*), min(id) FROM faults"
		"  WHERE drill_id NOT IN (SELECT id FROM drills) GROUP BY drill_id"
		" UNION ALL SELECT 'drills', drill_id, 'iterations', count(*), min(id) FROM iterations"
		"  WHERE drill_id NOT IN (SELECT id FROM drills) GROUP BY drill_id"
		" UNION ALL SELECT 'iterations', iteration_id, 'samples', count(*), min(id) FROM samples"
		"  WHERE iteration_id NOT IN (SELECT id FROM iterations) GROUP BY iteration_id"
		" UNION ALL SELECT 'iterations', iteration_id, 'laps', count(*), min(id) FROM laps"
		"  WHERE iteration_id NOT IN (SELECT id FROM iterations) GROUP BY iteration_id"
		" UNION ALL SELECT 'iterations', iteration_id, 'flows', count(*), min(id) FROM flows"
		"  WHERE iteration_id NOT IN (SELECT id FROM iterations) GROUP BY iteration_id"
		" UNION ALL SELECT 'scenarios', id, NULL, 0, id FROM scenarios WHERE seal IS NULL"
		" UNION ALL SELECT 'iterations', i.id, NULL, 1, d.id FROM iterations i"
		"  JOIN drills d ON d.id = i.drill_id WHERE i.chain_seq IS NULL AND d.chain_seq IS NOT NULL";
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(v->st->db, sql, -1, &s, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(s, 0);
		const char *child = (const char *)sqlite3_column_text(s, 2);
		long long id = sqlite3_column_int64(s, 1), n = sqlite3_column_int64(s, 3);
		long long first = sqlite3_column_int64(s, 4);

		if (child)
			problem(v, "%s row %lld removed: %lld %s row(s) still name it (first: row %lld)",
				table, id, n, child, first);
		else if (n == 0)
			problem(v, "scenarios row %lld: no seal: inserted by hand, not by firedrill", id);
		else
			problem(v, "iterations row %lld: not sealed, but its drill %lld is "
				   "(inserted after the drill ended)", id, first);
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(v->st, err, rc, "reading sealed evidence");
	sqlite3_finalize(s);
	return rc;
}

/*
 * Scenarios no drill sealed with its evidence (those of drills sealed
 * before evidence existed, which migration 4 sealed): checked on their own.
 */
static int verify_free_scenarios(struct verify *v, struct fd_error *err)
{
	struct seal_walk w = { .d = &seal_defs[SEAL_SCENARIOS], .v = v,
			       .label = "sealed on its own" };
	char *sql = seal_select(w.d, "seal IS NOT NULL AND id NOT IN (SELECT scenario_id FROM drills"
				     " WHERE evidence IS NOT NULL AND scenario_id IS NOT NULL)");
	sqlite3_stmt *s = NULL;
	int rc = sql ? sqlite3_prepare_v2(v->st->db, sql, -1, &s, NULL) : SQLITE_NOMEM;

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		walk_check(&w, s, sqlite3_column_int64(s, 0));
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(v->st, err, rc, "reading scenarios");
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return rc;
}

/* One sealed drill (its events, faults and scenario) or iteration (samples, laps, flows). */
static int verify_sealed_row(struct verify *v, sqlite3_stmt *s, struct fd_error *err)
{
	bool drill = sqlite3_column_int(s, 0) == 0;
	int64_t id = sqlite3_column_int64(s, 1), other = sqlite3_column_int64(s, 3);
	const char *ev = (const char *)sqlite3_column_text(s, 4);
	char label[96];
	int rc = 0;

	if (drill)
		snprintf(label, sizeof(label), "drill %lld", (long long)id);
	else
		snprintf(label, sizeof(label), "iteration %d of drill %lld", sqlite3_column_int(s, 2),
			 (long long)other);
	for (size_t i = 0; drill && !rc && i < N_OF(drill_tables); i++)
		rc = verify_scope(v, drill_tables[i], drill_tables[i] == SEAL_SCENARIOS ? other : id,
				  label, ev, err);
	for (size_t i = 0; !drill && !rc && i < N_OF(iteration_tables); i++)
		rc = verify_scope(v, iteration_tables[i], id, label, ev, err);
	return rc;
}

/* Every drill and iteration sealed with evidence (rows sealed before it have none). */
static int verify_evidence(struct verify *v, struct fd_error *err)
{
	static const char sql[] =
		"SELECT 0, id, 0, coalesce(scenario_id, 0), evidence FROM drills"
		" WHERE chain_seq IS NOT NULL AND evidence IS NOT NULL"
		" UNION ALL SELECT 1, id, number, drill_id, evidence FROM iterations"
		" WHERE chain_seq IS NOT NULL AND evidence IS NOT NULL ORDER BY 1, 2";
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(v->st->db, sql, -1, &s, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int vrc = verify_sealed_row(v, s, err);

		if (vrc) {
			sqlite3_finalize(s);
			return vrc;
		}
		rc = SQLITE_OK;
	}
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(v->st, err, rc, "reading sealed evidence");
	sqlite3_finalize(s);
	return rc;
}

int store_verify_chain(struct store *st, struct fd_error *err)
{
	struct verify v = { .st = st };
	int rc = 0;

	for (size_t i = 0; !rc && i < sizeof(defs) / sizeof(defs[0]); i++) {
		rc = verify_table(&v, &defs[i], err);
		if (!rc)
			rc = verify_unsealed(&v, &defs[i], err);
	}
	if (!rc)
		rc = verify_scenarios(&v, err);
	if (!rc)
		rc = verify_evidence(&v, err);
	if (!rc)
		rc = verify_orphans(&v, err);
	if (!rc)
		rc = verify_free_scenarios(&v, err);
	if (rc)
		return rc;
	if (v.problems == 0)
		return 0;
	if (v.untold)
		return fd_error_set(err, FD_ERR_INPUT, -EBADMSG, "%s: %s (and %d more problems)",
				    st->path, v.msg, v.untold);
	return fd_error_set(err, FD_ERR_INPUT, -EBADMSG, "%s: %s", st->path, v.msg);
}

int store_chain_head(struct store *st, const char *table, int64_t *seq, char hash[65],
		     struct fd_error *err)
{
	for (size_t i = 0; table && i < sizeof(defs) / sizeof(defs[0]); i++) {
		if (strcmp(table, defs[i].table) != 0)
			continue;
		int rc = last_link(st, &defs[i], seq, hash, err);
		if (!rc && *seq == 0)
			hash[0] = '\0';
		return rc;
	}
	return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "store_chain_head: no chain \"%s\"",
			    table ? table : "(null)");
}

int store_evidence_sealed(struct store *st, int64_t drill_id, bool *sealed, struct fd_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, "SELECT evidence IS NOT NULL FROM drills WHERE id = ?1",
				    -1, &s, NULL);

	*sealed = false;
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, drill_id);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_ROW)
		*sealed = sqlite3_column_int(s, 0) != 0;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	     store_sql_error(st, err, rc, "reading the drill's evidence seal");
	sqlite3_finalize(s);
	return rc;
}

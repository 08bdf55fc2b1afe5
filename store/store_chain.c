/*
 * store_chain.c: the tamper-evidence hash chains of drills and iterations.
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
 * of the previous row in the chain, 64 zeros for the first.
 *
 * field_digests keeps, per column, the first 16 hex digits of
 * sha256(NAME "=" VALUE "\n"). It is not part of the hash; it only lets
 * verification say which column changed after a row was sealed. If a
 * tamperer also rewrote it, verification still detects the change (the
 * hash) but can no longer name the column, and says so.
 */
#include "store_int.h"

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
};

static const char *const iteration_fields[] = {
	"id", "drill_id", "number", "outcome", "started_real_ns", "started_utc",
	"ended_real_ns", "ended_utc", "t0_real_ns", "t0_utc", "t0_mono_ns", "rto_ms",
	"rpo_ms", "writes_acked", "writes_acked_outage", "lost_writes", "detect_ms",
	"first_success_ms", "error_bound_ms", "failback_ms", "objectives_met", "detail",
};

struct chain_def {
	const char *table;
	const char *const *fields;
	int n;
};

static const struct chain_def defs[] = {
	[CHAIN_DRILLS] = { "drills", drill_fields, (int)(sizeof(drill_fields) / sizeof(drill_fields[0])) },
	[CHAIN_ITERATIONS] = { "iterations", iteration_fields,
			       (int)(sizeof(iteration_fields) / sizeof(iteration_fields[0])) },
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

int store_chain_seal(struct store *st, enum store_chain_table t, int64_t row_id,
		     char hash[65], struct fd_error *err)
{
	const struct chain_def *d = &defs[t];
	char *sql = select_sql(d, "", "WHERE id = ?1 AND chain_seq IS NULL");
	char prev[65], digests[DIGESTS_MAX];
	sqlite3_stmt *s = NULL;
	int64_t seq = 0;
	int rc;

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

		if (!want || strncmp(want, have, DIGEST_HEX) == 0)
			continue;
		format_value(s, i, val, sizeof(val));
		app(msg, n, "%s%s (now %s)", changed++ ? ", " : ": changed after sealing: ",
		    d->fields[i], val);
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

/* Finished rows outside the chain: someone cleared their chain columns. */
static int verify_unsealed(struct verify *v, const struct chain_def *d, struct fd_error *err)
{
	char *sql = sqlite3_mprintf("SELECT id, outcome FROM %s WHERE chain_seq IS NULL AND "
				    "(outcome <> 'running' OR hash IS NOT NULL)", d->table);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(v->st->db, sql, -1, &s, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		problem(v, "%s row %lld: outcome \"%s\" but not in the hash chain "
			   "(its chain columns were cleared)", d->table,
			(long long)sqlite3_column_int64(s, 0), sqlite3_column_text(s, 1));
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

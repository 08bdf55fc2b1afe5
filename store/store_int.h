/*
 * store internals shared by the store's source files (not a public header).
 *
 * Invariants: every public write function opens one IMMEDIATE transaction
 * (store_tx_begin) and ends it with store_tx_end before returning, so a
 * row is either fully written and committed or not at all. Prepared
 * statements are cached per connection, keyed by the address of their
 * static SQL text.
 */
#ifndef FD_STORE_INT_H
#define FD_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define STORE_STMT_CACHE 64

/* ---- evidence seals (store_chain.c) ------------------------------------- */

/* The rows an evidence digest covers (see store_chain.c). */
enum store_seal_table {
	SEAL_EVENTS, SEAL_SAMPLES, SEAL_LAPS, SEAL_FAULTS, SEAL_SCENARIOS,
	SEAL_FLOWS, /* schema 6 */
	SEAL_N
};

/* Where the next row of a scope goes: spares a count(*) per insert. */
struct store_seal_cursor {
	int64_t scope;   /* drill or iteration id; 0: unknown */
	int64_t next;    /* ordinal of the next row of scope */
	int64_t last_id; /* max(id) of the table once the reserved rows are in */
};

struct store {
	sqlite3 *db;
	char *path;
	bool read_only;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[STORE_STMT_CACHE];
	struct store_seal_cursor seal_cursor[SEAL_N];
};

/* Fills err from an SQLite result code with the path and what was being done. */
int store_sql_error(struct store *st, struct fd_error *err, int rc, const char *what);

/* A cached statement for sql (a static string), reset and unbound. */
sqlite3_stmt *store_stmt(struct store *st, const char *sql, struct fd_error *err);

int store_tx_begin(struct store *st, struct fd_error *err);
/* Commits when rc == 0, else rolls back; returns rc or the commit's error. */
int store_tx_end(struct store *st, int rc, struct fd_error *err);

/* Runs a statement that returns no rows (after binding); resets it. */
int store_step_done(struct store *st, sqlite3_stmt *s, const char *what, struct fd_error *err);

/* Binding helpers: "" / 0 / has=false become NULL. */
int store_bind_text(sqlite3_stmt *s, int i, const char *v);
int store_bind_i64_nz(sqlite3_stmt *s, int i, int64_t v);
int store_bind_double_opt(sqlite3_stmt *s, int i, bool has, double v);
/* Binds the ISO-8601 UTC text of real_ns (NULL when 0). */
int store_bind_utc(sqlite3_stmt *s, int i, int64_t real_ns);

/* Copies a text column into dst (size n), "" for NULL. */
void store_col_text(sqlite3_stmt *s, int i, char *dst, size_t n);
/* Reads a REAL column; *has is false for NULL. */
double store_col_double_opt(sqlite3_stmt *s, int i, bool *has);

/* Grows *arr (element size sz) to hold at least need elements. */
int store_grow(void **arr, size_t *cap, size_t need, size_t sz);

/* Index of name in names[0..n-1], or -1 (NULL name: -1). */
long store_name_index(const char *name, const char *const *names, size_t n);

/*
 * A write transaction holding the cached statement for sql. NULL with *rc
 * set (and the transaction ended) when either cannot be had.
 */
sqlite3_stmt *store_tx_stmt(struct store *st, const char *sql, int *rc, struct fd_error *err);

/* store_step_done() of an INSERT, then *id is the new row's id. */
int store_step_insert(struct store *st, sqlite3_stmt *s, int64_t *id, const char *what,
		      struct fd_error *err);

/* Reads the current row of s into elem; 0 or -ENOMEM. */
typedef int (*store_row_fn)(sqlite3_stmt *s, void *elem);

/*
 * Steps the bound statement s (NULL when store_stmt() failed: -EIO) for
 * its one row, read by fn into elem; s is reset. -ENOENT with err left
 * alone when there is no row: the caller says what is missing.
 */
int store_read_row(struct store *st, sqlite3_stmt *s, store_row_fn fn, void *elem,
		   const char *what, struct fd_error *err);

/*
 * Steps the bound statement s (NULL when store_stmt() failed: -EIO) to its
 * end: one zeroed element of sz bytes per row, read by fn, in a new array
 * *out of *n (caller frees); s is reset. On failure *out is NULL and *n 0,
 * the rows read released with free_rows (NULL: free()).
 */
int store_read_rows(struct store *st, sqlite3_stmt *s, store_row_fn fn, size_t sz, void **out,
		    size_t *n, void (*free_rows)(void *arr, size_t n), const char *what,
		    struct fd_error *err);

/* ---- hash chain (store_chain.c) ----------------------------------------- */

enum store_chain_table { CHAIN_DRILLS, CHAIN_ITERATIONS, CHAIN_RECORDS };

/* Seals row_id into the chain (inside an open transaction); fills hash. */
int store_chain_seal(struct store *st, enum store_chain_table t, int64_t row_id,
		     char hash[65], struct fd_error *err);

/*
 * Registers the SQL function fd_seal(TABLE, ORDINAL or old seal, VALUES...)
 * that INSERTs use to write a row's seal (its position in its scope and a
 * short digest per field, in the order of the table's list in store_chain.c).
 */
int store_seal_register(struct store *st, struct fd_error *err);

/*
 * Reserves ordinals for n new rows of scope in table t (inside the write
 * transaction that inserts them); *first is the first one's.
 */
int store_seal_reserve(struct store *st, enum store_seal_table t, int64_t scope, size_t n,
		       int64_t *first, struct fd_error *err);

/* Rewrites the seal of row id of t from its current content (faults change state). */
int store_seal_refresh(struct store *st, enum store_seal_table t, int64_t id,
		       struct fd_error *err);

/* ---- drills (store_drill.c) --------------------------------------------- */

/* Seals every open iteration of drill_id as ABORTED with detail (in a transaction). */
int store_abort_open_iterations(struct store *st, int64_t drill_id, const char *detail,
				struct fd_error *err);

#endif

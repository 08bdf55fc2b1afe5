/*
 * scenario_load: private to scenarios/. What the loader's files share.
 *
 * Every mapping of the language is described by a table of fields (key,
 * handler, which kinds require it, which kinds accept it).
 * scenario_walk() checks a mapping against its table in one place: unknown
 * keys (with a did-you-mean), keys that do not apply to the kind at hand,
 * duplicates and missing required keys, then calls each handler in table
 * order. Table order matters: probes are read before the sections that
 * refer to them, and a recovery timeout before the steps that default to it.
 *
 * Every error is "FILE:LINE:COL: error: WHERE: WHAT", pointing at the
 * offending node; WHERE names the fault, probe or section ("fault \"s3\"").
 *
 * The files: scenario_walk.c (errors, the walker, scalar and list readers),
 * one file per section (scenario_faults.c, scenario_probes.c,
 * scenario_recovery.c, scenario_rpo.c, scenario_notify.c), and scenario.c
 * (the top level, the entry points, freeing).
 */
#ifndef FD_SCENARIO_LOAD_H
#define FD_SCENARIO_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "scenario_tree.h"

#define ALL_KINDS (~0u)
#define BIT(k) (1u << (k))
#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_FIELDS 32

struct lctx {
	const char *file;     /* the name errors are reported under */
	const char *dir;      /* the scenario's folder with a trailing '/', or "" */
	struct fd_error *err;
	struct scenario *s;
	const char *key;      /* the key whose value a handler is reading */
	size_t index;         /* the position of the list item being read */
	char where[192];      /* "fault \"s3\"", "recovery", ... or "" */
	/*
	 * Every error at once (scenario_check): scenario_fail() appends each
	 * error here too, and the walker and list reader go on with the next
	 * key or item instead of returning at the first. NULL: stop at the
	 * first (scenario_load), exactly as a load always did.
	 */
	struct scenario_errors *errs;
	bool probes_failed;   /* a probe's id was not read: quiet "unknown probe" */
	/*
	 * The next scenario_walk() is the top level, whose sections are read
	 * on past a failed one. Inside a section a handler may rely on the
	 * keys read before it (table order: a criterion's probes before its
	 * resolution), so there the walk still stops at the first failed
	 * handler, though every key is checked and every missing key said.
	 */
	bool top;
	/* The place the place keys of the item being read go to (NULL outside
	 * an item that takes them; scenario_place.c). */
	struct scenario_place *place;
};

/* The walker and list reader go on past error r (collecting, and room left). */
bool scenario_keep_going(const struct lctx *c, int r);

/* Reads v into obj; the key is in c->key (set by the walker). */
typedef int (*field_fn)(struct lctx *c, const struct ynode *v, void *obj);

struct field {
	const char *key;
	field_fn fn;
	unsigned required; /* kinds (bits) that need the key */
	unsigned applies;  /* kinds (bits) that accept it; 0 = every kind */
	bool hidden;       /* recognised only to explain why it is refused */
};

/* How scenario_read_list() reads one list of the language. */
struct list_spec {
	size_t size;        /* bytes of one element */
	field_fn item;      /* reads one item into its element; c->index is its position */
	bool one_ok;        /* a single scalar is a list of one */
	const char *what;   /* for "KEY: expected WHAT, got ...": "a list", "a list of faults" */
	bool empty_ok;
	const char *why;    /* said after "KEY: the list is empty" when it is refused, or NULL */
	const char *where;  /* WHERE while the items are read, or NULL */
};

/* ---- errors and WHERE (scenario_walk.c) ---------------------------------- */

/* Fills c->err with "FILE:LINE:COL: error: WHERE: WHAT"; returns -EINVAL. */
int scenario_fail(struct lctx *c, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int scenario_nomem(struct lctx *c);
/* "UNKNOWN \"STR\" (did you mean ...?)" or "(expected one of: ...)"; lookup is matched. */
int scenario_fail_unknown(struct lctx *c, const struct ynode *v, const char *unknown,
			  const char *lookup, const char *const *names, size_t n);

/* A short description of a node for "got ..." in messages. */
const char *scenario_describe(const struct ynode *n, char *buf, size_t len);
/* "a, b, c" into buf. */
const char *scenario_join(const char *const *names, size_t n, char *buf, size_t len);
/* Index of s in names, or -1. */
long scenario_name_index(const char *s, const char *const *names, size_t n);

/* Extends WHERE by a ": "-joined part, keeping the old one in saved. */
void scenario_where_push(struct lctx *c, char *saved, size_t saved_len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void scenario_where_pop(struct lctx *c, const char *saved);
/* WHERE += "WHAT \"ID\"" when the map's id is readable, else "WHAT #N" (c->index). */
void scenario_where_item(struct lctx *c, const struct ynode *map, const char *what,
			 char *saved, size_t saved_len);

/* ---- tree access and the walker (scenario_walk.c) ------------------------ */

bool scenario_is_null(const struct ynode *n);
const struct ynode *scenario_map_get(const struct ynode *map, const char *key);
/* The key node of key in map (for pointing at it), or map itself. */
const struct ynode *scenario_map_key(const struct ynode *map, const char *key);
int scenario_expect_map(struct lctx *c, const struct ynode *v);

/*
 * Checks map against fields for the kind kind_bit (applies_to names it in
 * messages, or NULL), then calls each present key's handler with obj. Keys
 * in skip (NULL-terminated, may be NULL) are the caller's to read.
 */
int scenario_walk(struct lctx *c, const struct ynode *map, const struct field *fields,
		  size_t n_fields, void *obj, unsigned kind_bit, const char *applies_to,
		  const char *const *skip);
/* scenario_walk() for every kind, with WHERE extended by name (NULL: c->key). */
int scenario_walk_section(struct lctx *c, const char *name, const struct ynode *map,
			  const struct field *fields, size_t n_fields, void *obj);
/* Which of several mutually exclusive keys map has (*out = -1 if none). */
int scenario_pick_one(struct lctx *c, const struct ynode *map, const char *const *keys,
		      size_t n, const char *what, int *out);

/* ---- scalar readers (scenario_walk.c); out is the typed field ----------- */

int scenario_read_scalar(struct lctx *c, const struct ynode *v, const char *what);
int scenario_read_str(struct lctx *c, const struct ynode *v, char **out);
/* A string check() accepts (check may be NULL); "KEY: expected EXPECTED" if not. */
int scenario_read_checked(struct lctx *c, const struct ynode *v, char **out,
			  bool (*check)(const char *), const char *what, const char *expected);
int scenario_read_duration(struct lctx *c, const struct ynode *v, int64_t *out,
			   bool positive);
/* A duration of at least 10ms (probe and canary intervals). */
int scenario_read_interval(struct lctx *c, const struct ynode *v, int64_t *out);
int scenario_read_bool(struct lctx *c, const struct ynode *v, bool *out);
int scenario_read_regex(struct lctx *c, const struct ynode *v, char **out,
			unsigned min_captures);
int scenario_read_name(struct lctx *c, const struct ynode *v, char **out, size_t max);
/* The name of a namespace under /run/netns (scope's netns:, a host's netns:). */
int scenario_read_netns_name(struct lctx *c, const struct ynode *v, char **out);
/* ---- places (scenario_place.c) ------------------------------------------- */
/* The values of the place keys, shared by scope and the items. */
int scenario_read_netns_path(struct lctx *c, const struct ynode *v, char **out);
int scenario_read_place_pid(struct lctx *c, const struct ynode *v, long *out);
int scenario_read_container(struct lctx *c, const struct ynode *v, char **out);
int scenario_read_engine(struct lctx *c, const struct ynode *v, char **out);
/* An item's place keys, read into c->place (the item's reader sets it around
 * its walk); a table takes them with SCENARIO_PLACE_FIELDS(applies). */
int scenario_place_netns(struct lctx *c, const struct ynode *v, void *obj);
int scenario_place_netns_path(struct lctx *c, const struct ynode *v, void *obj);
int scenario_place_pid(struct lctx *c, const struct ynode *v, void *obj);
int scenario_place_container(struct lctx *c, const struct ynode *v, void *obj);
int scenario_place_engine(struct lctx *c, const struct ynode *v, void *obj);
#define SCENARIO_PLACE_FIELDS(applies)                                      \
	{ "netns", scenario_place_netns, 0, (applies), false },             \
	{ "netns-path", scenario_place_netns_path, 0, (applies), false },   \
	{ "pid", scenario_place_pid, 0, (applies), false },                 \
	{ "container", scenario_place_container, 0, (applies), false },     \
	{ "engine", scenario_place_engine, 0, (applies), false }
#define SCENARIO_PLACE_N_KEYS 5
/* The place keys, the places first, for a key list's initializer. */
#define SCENARIO_PLACE_KEY_NAMES "netns", "netns-path", "pid", "container", "engine"
/* SCENARIO_PLACE_KEY_NAMES, NULL. */
extern const char *const scenario_place_keys[SCENARIO_PLACE_N_KEYS + 1];
/* After the walk: at most one place in map, engine only with container;
 * what names the item in the message ("scope", "fault"). */
int scenario_check_place(struct lctx *c, const struct ynode *map, const char *what);
/* The place keys of map read into p, for a reader that walks map with them
 * skipped (an action's request). */
int scenario_read_place_keys(struct lctx *c, const struct ynode *map, struct scenario_place *p);
void scenario_place_free(struct scenario_place *p);

/* Item readers: out is a uint16_t, a struct fd_cidr, a char *. */
int scenario_read_port(struct lctx *c, const struct ynode *v, void *out);
int scenario_read_cidr(struct lctx *c, const struct ynode *v, void *out);

/* ---- lists (scenario_walk.c) --------------------------------------------- */

/* The items of v as spec allows them (one is storage for a single scalar). */
int scenario_list_items(struct lctx *c, const struct ynode *v, const struct list_spec *spec,
			struct ynode *const **items, size_t *n, struct ynode **one);
/*
 * Reads the list v into a new array (*arr, caller frees, set even when an
 * item fails so that what was read is freed with the model) of *n elements.
 */
int scenario_read_list(struct lctx *c, const struct ynode *v, const struct list_spec *spec,
		       void **arr, size_t *n);
/* A non-empty list of CIDR prefixes, or of strings check() accepts. */
int scenario_read_cidrs(struct lctx *c, const struct ynode *v, struct fd_cidr **out,
			size_t *n);
int scenario_read_strs(struct lctx *c, const struct ynode *v, char ***out, size_t *n,
		       field_fn item);

/* ---- sections shared between files --------------------------------------- */

/* scenario_probes.c: a probe id (out is a size_t), a list of them, an HTTP request. */
int scenario_read_probe_ref(struct lctx *c, const struct ynode *v, void *out);
int scenario_read_probe_refs(struct lctx *c, const struct ynode *v, size_t **out, size_t *n);
int scenario_read_http(struct lctx *c, const struct ynode *v, struct scenario_http *h,
		       bool probe, const char *const *skip);
int scenario_read_command(struct lctx *c, const struct ynode *v, struct scenario_command *cmd,
			  const char *const *skip);

/* Top-level sections (obj is the struct scenario), one file each. */
int scenario_read_faults(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_probes(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_steady_state(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_stop_if(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_recovery(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_failback(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_rpo(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_notify(struct lctx *c, const struct ynode *v, void *obj);
/* scenario_hosts.c: hosts:, fleet: (obj is the struct scenario), a fault's
 * on: (obj is the struct scenario_fault); after the walk, on: resolved
 * against the scenario's own hosts: when it has them. */
int scenario_read_hosts(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_fleet(struct lctx *c, const struct ynode *v, void *obj);
int scenario_read_on(struct lctx *c, const struct ynode *v, void *obj);
int scenario_resolve_on(struct lctx *c, struct scenario *s);

/* scenario.c: a file's bytes (at most SCENARIO_MAX_BYTES, not writable by
 * others when root), and freeing one fault's members. */
int scenario_read_file(const char *path, char **buf, size_t *len, struct fd_error *err);
void scenario_fault_free(struct scenario_fault *f);

/* ---- the key tables, read by scenario_schema.c ------------------------ */

/*
 * A table of keys as the schema and the manual see it. The JSON Schema and
 * firedrill-scenario(5) are generated from these very tables (plus each
 * key's type and one-line description in scenario_schema.c), so a key the
 * loader accepts cannot be missing from them.
 */
struct key_table {
	const char *name;           /* the name scenario_schema.c describes it under */
	const struct field *fields;
	size_t n_fields;
};

/* Each file's tables (*n of them). */
const struct key_table *scenario_tables_top(size_t *n);
const struct key_table *scenario_tables_faults(size_t *n);
const struct key_table *scenario_tables_probes(size_t *n);
const struct key_table *scenario_tables_recovery(size_t *n);
const struct key_table *scenario_tables_rpo(size_t *n);
const struct key_table *scenario_tables_notify(size_t *n);
const struct key_table *scenario_tables_hosts(size_t *n);

#endif

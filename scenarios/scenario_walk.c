/*
 * scenario_walk: the loader's machinery, independent of any section:
 * errors with their WHERE, the table-driven mapping walker, and readers for
 * the scalar and list shapes the sections are made of (see scenario_load.h).
 */
#include "scenario_load.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"
#include "scenario_values.h"

/* ---------------------------------------------------------------- errors */

/* Appends the error just set to c->errs, unless the same line is there already. */
static void collect(struct lctx *c, const struct fd_error *e, int line, int col)
{
	struct scenario_errors *errs = c->errs;

	for (size_t i = 0; i < errs->n; i++)
		if (strcmp(errs->e[i].err.msg, e->msg) == 0)
			return;
	if (errs->n == SCENARIO_MAX_ERRORS)
		return;
	errs->e[errs->n].line = line;
	errs->e[errs->n].col = col;
	errs->e[errs->n].err = *e;
	errs->n++;
	errs->truncated = errs->n == SCENARIO_MAX_ERRORS;
}

int scenario_fail(struct lctx *c, const struct ynode *n, const char *fmt, ...)
{
	char what[FD_ERROR_MSG_MAX];
	struct fd_error e;
	int line = n ? n->line : 1, col = n ? n->col : 1;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r = fd_error_set(&e, FD_ERR_INPUT, -EINVAL, "%s:%d:%d: error: %s%s%s", c->file, line, col,
			 c->where, *c->where ? ": " : "", what);
	/* c->err keeps the first error found: what scenario_load() reports */
	if (c->err && (!c->errs || c->err->kind == FD_ERR_NONE))
		*c->err = e;
	if (c->errs)
		collect(c, &e, line, col);
	return r;
}

bool scenario_keep_going(const struct lctx *c, int r)
{
	return c->errs && r == -EINVAL && c->errs->n > 0 && !c->errs->truncated;
}

int scenario_nomem(struct lctx *c)
{
	return fd_error_set(c->err, FD_ERR_INTERNAL, -ENOMEM, "%s: out of memory", c->file);
}

const char *scenario_describe(const struct ynode *n, char *buf, size_t len)
{
	if (n->type == YNODE_MAP)
		return "a mapping";
	if (n->type == YNODE_SEQ)
		return "a list";
	if (n->plain && n->len == 0)
		return "nothing";
	snprintf(buf, len, "\"%.60s%s\"", n->str, n->len > 60 ? "..." : "");
	return buf;
}

const char *scenario_join(const char *const *names, size_t n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", names[i]);
	return buf;
}

long scenario_name_index(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (long)i;
	return -1;
}

int scenario_fail_unknown(struct lctx *c, const struct ynode *v, const char *unknown,
			  const char *lookup, const char *const *names, size_t n)
{
	const char *hint = scenario_value_suggest(lookup, names, n);
	char list[512];

	if (hint)
		return scenario_fail(c, v, "%s \"%s\" (did you mean \"%s\"?)", unknown, v->str,
				     hint);
	return scenario_fail(c, v, "%s \"%s\" (expected one of: %s)", unknown, v->str,
			     scenario_join(names, n, list, sizeof(list)));
}

void scenario_where_push(struct lctx *c, char *saved, size_t saved_len, const char *fmt, ...)
{
	char part[128];
	va_list ap;

	snprintf(saved, saved_len, "%s", c->where);
	va_start(ap, fmt);
	vsnprintf(part, sizeof(part), fmt, ap);
	va_end(ap);
	snprintf(c->where, sizeof(c->where), "%s%s%s", saved, *saved ? ": " : "", part);
}

void scenario_where_pop(struct lctx *c, const char *saved)
{
	snprintf(c->where, sizeof(c->where), "%s", saved);
}

void scenario_where_item(struct lctx *c, const struct ynode *map, const char *what,
			 char *saved, size_t saved_len)
{
	const struct ynode *id = scenario_map_get(map, "id");

	if (id && id->type == YNODE_SCALAR && !scenario_is_null(id) && id->len <= 64 &&
	    strlen(id->str) == id->len)
		scenario_where_push(c, saved, saved_len, "%s \"%s\"", what, id->str);
	else
		scenario_where_push(c, saved, saved_len, "%s #%zu", what, c->index + 1);
}

/* ------------------------------------------------------------ tree access */

bool scenario_is_null(const struct ynode *n)
{
	return n->type == YNODE_SCALAR && n->plain &&
	       (n->len == 0 || strcmp(n->str, "null") == 0 || strcmp(n->str, "~") == 0);
}

const struct ynode *scenario_map_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n_kids; i += 2)
		if (map->kids[i]->type == YNODE_SCALAR && strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i + 1];
	return NULL;
}

const struct ynode *scenario_map_key(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n_kids; i += 2)
		if (map->kids[i]->type == YNODE_SCALAR && strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i];
	return map;
}

int scenario_expect_map(struct lctx *c, const struct ynode *v)
{
	char buf[80];

	if (v->type == YNODE_MAP)
		return 0;
	return scenario_fail(c, v, "%s: expected a mapping (key: value lines), got %s", c->key,
			     scenario_describe(v, buf, sizeof(buf)));
}

/* ------------------------------------------------------------- the walker */

static long field_index(const struct field *fields, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].key, key) == 0)
			return (long)i;
	return -1;
}

static int unknown_key(struct lctx *c, const struct ynode *k, const struct field *fields,
		       size_t n_fields, unsigned kind_bit)
{
	const char *names[MAX_FIELDS];
	size_t n = 0;

	for (size_t i = 0; i < n_fields; i++)
		if (!fields[i].hidden && (!fields[i].applies || (fields[i].applies & kind_bit)))
			names[n++] = fields[i].key;
	return scenario_fail_unknown(c, k, "unknown key", k->str, names, n);
}

/* key is one of the NULL-terminated list (keys read by the caller itself) */
static bool in_list(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

static int check_key(struct lctx *c, const struct ynode *map, size_t i,
		     const struct field *fields, size_t n_fields, unsigned kind_bit,
		     const char *applies_to, const char *const *skip, const struct ynode **found,
		     bool *refused)
{
	const struct ynode *k = map->kids[i];
	char buf[80];
	long idx;

	if (k->type != YNODE_SCALAR || k->len == 0 || strlen(k->str) != k->len)
		return scenario_fail(c, k, "keys must be plain names, got %s",
				     scenario_describe(k, buf, sizeof(buf)));
	if (in_list(skip, k->str))
		return 0;
	idx = field_index(fields, n_fields, k->str);
	if (idx < 0)
		return unknown_key(c, k, fields, n_fields, kind_bit);
	if (fields[idx].applies && !(fields[idx].applies & kind_bit))
		return scenario_fail(c, k, "key \"%s\" does not apply to %s", k->str, applies_to);
	if (found[idx])
		return scenario_fail(c, k, "duplicate key \"%s\" (first at line %d)", k->str,
				     found[idx]->line);
	/* a refused key explains itself before anything else is said */
	if (fields[idx].hidden) {
		c->key = k->str;
		*refused = true;
		return fields[idx].fn(c, map->kids[i + 1], NULL);
	}
	found[idx] = k;
	return 0;
}

/* The first error of the keys of map (every key's when collecting). */
static int check_keys(struct lctx *c, const struct ynode *map, const struct field *fields,
		      size_t n_fields, unsigned kind_bit, const char *applies_to,
		      const char *const *skip, const struct ynode **found, bool *refused)
{
	int first = 0;

	for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
		int r = check_key(c, map, i, fields, n_fields, kind_bit, applies_to, skip, found,
				  refused);

		if (r && !first)
			first = r;
		if (r && !scenario_keep_going(c, r))
			return r;
	}
	return first;
}

int scenario_walk(struct lctx *c, const struct ynode *map, const struct field *fields,
		  size_t n_fields, void *obj, unsigned kind_bit, const char *applies_to,
		  const char *const *skip)
{
	const struct ynode *found[MAX_FIELDS] = { 0 };
	bool refused = false, top = c->top;
	int first, r;

	c->top = false;

	/* callers have put the key into WHERE already */
	if (map->type != YNODE_MAP) {
		char buf[80];

		return scenario_fail(c, map, "expected a mapping (key: value lines), got %s",
				     scenario_describe(map, buf, sizeof(buf)));
	}
	first = check_keys(c, map, fields, n_fields, kind_bit, applies_to, skip, found, &refused);
	if (first && !scenario_keep_going(c, first))
		return first;
	/* a refused key has said what to write instead of it */
	for (size_t i = 0; !refused && i < n_fields; i++) {
		if (found[i] || !(fields[i].required & kind_bit))
			continue;
		if (fields[i].required == ALL_KINDS || !applies_to)
			r = scenario_fail(c, map, "missing required key \"%s\"", fields[i].key);
		else
			r = scenario_fail(c, map, "%s needs key \"%s\"", applies_to, fields[i].key);
		if (!first)
			first = r;
		if (!scenario_keep_going(c, r))
			return first;
	}
	for (size_t i = 0; i < n_fields; i++) {
		if (!found[i])
			continue;
		c->key = fields[i].key;
		r = fields[i].fn(c, scenario_map_get(map, fields[i].key), obj);
		if (r && !first)
			first = r;
		if (r && (!top || !scenario_keep_going(c, r)))
			return first;
	}
	return first;
}

int scenario_walk_section(struct lctx *c, const char *name, const struct ynode *map,
			  const struct field *fields, size_t n_fields, void *obj)
{
	char saved[sizeof(c->where)];
	int r;

	scenario_where_push(c, saved, sizeof(saved), "%s", name ? name : c->key);
	r = scenario_walk(c, map, fields, n_fields, obj, ALL_KINDS, NULL, NULL);
	scenario_where_pop(c, saved);
	return r;
}

int scenario_pick_one(struct lctx *c, const struct ynode *map, const char *const *keys,
		      size_t n, const char *what, int *out)
{
	int which = -1;

	for (size_t i = 0; i < n; i++) {
		if (!scenario_map_get(map, keys[i]))
			continue;
		if (which >= 0)
			return scenario_fail(c, scenario_map_key(map, keys[i]),
					     "has both \"%s\" and \"%s\"; %s", keys[which], keys[i],
					     what);
		which = (int)i;
	}
	*out = which;
	return 0;
}

/* ------------------------------------------------------------ scalar reads */

int scenario_read_scalar(struct lctx *c, const struct ynode *v, const char *what)
{
	char buf[80];

	if (v->type != YNODE_SCALAR || scenario_is_null(v))
		return scenario_fail(c, v, "%s: expected %s, got %s", c->key, what,
				     scenario_describe(v, buf, sizeof(buf)));
	if (strlen(v->str) != v->len)
		return scenario_fail(c, v, "%s: contains a NUL character", c->key);
	return 0;
}

int scenario_read_str(struct lctx *c, const struct ynode *v, char **out)
{
	int r = scenario_read_scalar(c, v, "a string");

	if (r)
		return r;
	free(*out);
	*out = strdup(v->str);
	return *out ? 0 : scenario_nomem(c);
}

int scenario_read_checked(struct lctx *c, const struct ynode *v, char **out,
			  bool (*check)(const char *), const char *what, const char *expected)
{
	int r = scenario_read_scalar(c, v, what);

	if (r == 0 && check && !check(v->str))
		r = scenario_fail(c, v, "%s: expected %s, got \"%s\"", c->key, expected, v->str);
	return r ? r : scenario_read_str(c, v, out);
}

int scenario_read_duration(struct lctx *c, const struct ynode *v, int64_t *out, bool positive)
{
	int r = scenario_read_scalar(c, v, "a duration");

	if (r)
		return r;
	r = fd_duration_parse(v->str, out);
	if (r == -ERANGE)
		return scenario_fail(c, v, "%s: duration \"%s\" is too large", c->key, v->str);
	if (r)
		return scenario_fail(c, v,
				     "%s: expected a duration such as 250ms, 30s, 5m or 1h30m, got \"%s\"",
				     c->key, v->str);
	if (positive && *out <= 0)
		return scenario_fail(c, v, "%s: must be longer than 0", c->key);
	return 0;
}

int scenario_read_interval(struct lctx *c, const struct ynode *v, int64_t *out)
{
	int r = scenario_read_duration(c, v, out, true);

	if (r == 0 && *out < 10 * FD_NS_PER_MS)
		r = scenario_fail(c, v, "%s: must be at least 10ms, got \"%s\"", c->key, v->str);
	return r;
}

int scenario_read_bool(struct lctx *c, const struct ynode *v, bool *out)
{
	int r = scenario_read_scalar(c, v, "true or false");

	if (r)
		return r;
	if (v->plain && strcmp(v->str, "true") == 0)
		*out = true;
	else if (v->plain && strcmp(v->str, "false") == 0)
		*out = false;
	else
		return scenario_fail(c, v, "%s: expected true or false, got \"%s\"", c->key,
				     v->str);
	return 0;
}

int scenario_read_regex(struct lctx *c, const struct ynode *v, char **out,
			unsigned min_captures)
{
	char msg[256];
	size_t off = 0;
	unsigned caps = 0;
	int r = scenario_read_scalar(c, v, "a regular expression");

	if (r)
		return r;
	if (scenario_value_regex(v->str, v->len, msg, sizeof(msg), &off, &caps))
		return scenario_fail(c, v, "%s: invalid regular expression at offset %zu: %s",
				     c->key, off, msg);
	if (caps < min_captures)
		return scenario_fail(c, v,
				     "%s: needs a capture group ( ) around the value, got \"%s\"",
				     c->key, v->str);
	return scenario_read_str(c, v, out);
}

int scenario_read_name(struct lctx *c, const struct ynode *v, char **out, size_t max)
{
	int r = scenario_read_scalar(c, v, "a name");

	if (r)
		return r;
	if (!scenario_value_is_name(v->str) || v->len > max)
		return scenario_fail(c, v,
				     "%s: expected lowercase letters, digits and dashes ([a-z0-9-]+, at most %zu), got \"%s\"",
				     c->key, max, v->str);
	return scenario_read_str(c, v, out);
}

int scenario_read_netns_name(struct lctx *c, const struct ynode *v, char **out)
{
	int r = scenario_read_scalar(c, v, "a network namespace name");

	if (r == 0 && (v->len > 64 || strchr(v->str, '/') || strcmp(v->str, ".") == 0 ||
		       strcmp(v->str, "..") == 0 || strpbrk(v->str, " \t\n")))
		r = scenario_fail(c, v,
				  "netns: expected the name of a namespace under /run/netns, got \"%s\"",
				  v->str);
	return r ? r : scenario_read_str(c, v, out);
}

int scenario_read_port(struct lctx *c, const struct ynode *v, void *out)
{
	long port;
	int r = scenario_read_scalar(c, v, "a port number 1-65535");

	if (r)
		return r;
	if (scenario_value_int(v->str, 1, 65535, &port))
		return scenario_fail(c, v, "%s: expected a port number 1-65535, got \"%s\"",
				     c->key, v->str);
	*(uint16_t *)out = (uint16_t)port;
	return 0;
}

/* A prefix with host bits set, told apart from garbage, with the fix. */
static int host_bits(struct lctx *c, const struct ynode *v)
{
	char net[FD_CIDR_STRLEN];
	struct fd_cidr wide;
	char *slash, *end;
	long len;
	int max;

	if (!strchr(v->str, '/') || v->len >= sizeof(net))
		return 0;
	snprintf(net, sizeof(net), "%s", v->str);
	slash = strchr(net, '/');
	*slash = '\0';
	if (fd_cidr_parse(net, &wide) != 0)
		return 0;
	len = strtol(slash + 1, &end, 10);
	max = wide.family == AF_INET ? 32 : 128;
	if (*end || slash[1] < '0' || slash[1] > '9' || len < 0 || len > max)
		return 0;
	for (int bit = (int)len; bit < max; bit++)
		wide.addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	wide.prefix_len = (uint8_t)len;
	return scenario_fail(c, v, "%s: \"%s\" has host bits set (did you mean %s?)", c->key,
			     v->str, fd_cidr_format(&wide, net, sizeof(net)));
}

int scenario_read_cidr(struct lctx *c, const struct ynode *v, void *out)
{
	int r = scenario_read_scalar(c, v, "a network prefix");

	if (r)
		return r;
	if (fd_cidr_parse(v->str, out) == 0)
		return 0;
	r = host_bits(c, v);
	if (r)
		return r;
	return scenario_fail(c, v,
			     "%s: expected an IPv4 or IPv6 prefix such as 10.0.0.0/8 or 2600:1fa0::/32, got \"%s\"",
			     c->key, v->str);
}

/* ------------------------------------------------------------------ lists */

int scenario_list_items(struct lctx *c, const struct ynode *v, const struct list_spec *spec,
			struct ynode *const **items, size_t *n, struct ynode **one)
{
	char buf[80];

	if (v->type == YNODE_SEQ) {
		*items = v->kids;
		*n = v->n_kids;
	} else if (spec->one_ok && v->type == YNODE_SCALAR && !scenario_is_null(v)) {
		*one = (struct ynode *)v;
		*items = one;
		*n = 1;
	} else {
		return scenario_fail(c, v, "%s: expected %s, got %s", c->key, spec->what,
				     scenario_describe(v, buf, sizeof(buf)));
	}
	if (*n == 0 && !spec->empty_ok)
		return scenario_fail(c, v, "%s: the list is empty%s", c->key,
				     spec->why ? spec->why : "");
	return 0;
}

int scenario_read_list(struct lctx *c, const struct ynode *v, const struct list_spec *spec,
		       void **arr, size_t *n)
{
	const char *key = c->key;
	char saved[sizeof(c->where)];
	struct ynode *const *items;
	struct ynode *one;
	size_t count;
	int r = scenario_list_items(c, v, spec, &items, &count, &one);

	if (r)
		return r;
	*arr = calloc(count ? count : 1, spec->size);
	if (!*arr)
		return scenario_nomem(c);
	*n = count;
	if (spec->where)
		scenario_where_push(c, saved, sizeof(saved), "%s", spec->where);
	for (size_t i = 0; i < count; i++) {
		int ri;

		/* an item's own keys must not leak into the next item's messages */
		c->key = key;
		c->index = i;
		ri = spec->item(c, items[i], (char *)*arr + i * spec->size);
		if (ri && !r)
			r = ri;
		if (ri && !scenario_keep_going(c, ri))
			break;
	}
	if (spec->where)
		scenario_where_pop(c, saved);
	return r;
}

int scenario_read_cidrs(struct lctx *c, const struct ynode *v, struct fd_cidr **out, size_t *n)
{
	static const struct list_spec spec = {
		.size = sizeof(**out), .item = scenario_read_cidr, .one_ok = true, .what = "a list",
	};

	return scenario_read_list(c, v, &spec, (void **)out, n);
}

int scenario_read_strs(struct lctx *c, const struct ynode *v, char ***out, size_t *n,
		       field_fn item)
{
	const struct list_spec spec = {
		.size = sizeof(**out), .item = item, .one_ok = true, .what = "a list",
	};

	return scenario_read_list(c, v, &spec, (void **)out, n);
}

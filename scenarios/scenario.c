/*
 * The scenario loader: YAML tree -> validated model.
 *
 * Every mapping of the language is described by a table of fields (key,
 * handler, which kinds require it, which kinds accept it). walk_map() checks
 * a mapping against its table in one place: unknown keys (with a
 * did-you-mean), keys that do not apply to the kind at hand, duplicates and
 * missing required keys, then calls each handler in table order. Table
 * order matters: probes are read before the sections that refer to them,
 * and a recovery timeout before the steps that default to it.
 *
 * Every error is "FILE:LINE:COL: error: WHERE: WHAT", pointing at the
 * offending node; WHERE names the fault, probe or section ("fault \"s3\"").
 */
#include "scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_time.h"
#include "scenario_tree.h"
#include "scenario_values.h"

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
	char where[192];      /* "fault \"s3\"", "recovery", ... or "" */
};

typedef int (*field_fn)(struct lctx *c, const struct ynode *v, void *obj);

struct field {
	const char *key;
	field_fn fn;
	unsigned required; /* kinds (bits) that need the key */
	unsigned applies;  /* kinds (bits) that accept it; 0 = every kind */
	bool hidden;       /* recognised only to explain why it is refused */
};

static const char *const fault_kind_names[FAULT_KIND_COUNT] = {
	[FAULT_DROP] = "drop",
	[FAULT_REJECT] = "reject",
	[FAULT_BLACKHOLE_ROUTE] = "blackhole-route",
	[FAULT_UNREACHABLE_ROUTE] = "unreachable-route",
	[FAULT_PROHIBIT_ROUTE] = "prohibit-route",
	[FAULT_LINK_DOWN] = "link-down",
	[FAULT_DELAY] = "delay",
	[FAULT_LOSS] = "loss",
	[FAULT_RATE] = "rate",
	[FAULT_KILL] = "kill",
	[FAULT_STOP] = "stop",
	[FAULT_FREEZE] = "freeze",
	[FAULT_EXEC] = "exec",
};

static const char *const probe_kind_names[PROBE_KIND_COUNT] = {
	[PROBE_HTTP] = "http",   [PROBE_TCP] = "tcp", [PROBE_DNS] = "dns",
	[PROBE_COMMAND] = "command", [PROBE_LOG] = "log", [PROBE_PCAP] = "pcap",
};

static const char *const notify_event_names[] = {
	"start", "injected", "recovered", "objectives-missed", "end",
};

const char *scenario_fault_kind_name(enum fault_kind k)
{
	return (unsigned)k < FAULT_KIND_COUNT ? fault_kind_names[k] : "?";
}

const char *scenario_probe_kind_name(enum probe_kind k)
{
	return (unsigned)k < PROBE_KIND_COUNT ? probe_kind_names[k] : "?";
}

/* ---------------------------------------------------------------- errors */

static int fail(struct lctx *c, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct lctx *c, const struct ynode *n, const char *fmt, ...)
{
	char what[FD_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fd_error_set(c->err, FD_ERR_INPUT, -EINVAL, "%s:%d:%d: error: %s%s%s", c->file,
			    n ? n->line : 1, n ? n->col : 1, c->where, *c->where ? ": " : "", what);
}

static int nomem(struct lctx *c)
{
	return fd_error_set(c->err, FD_ERR_INTERNAL, -ENOMEM, "%s: out of memory", c->file);
}

/* A short description of a node for "got ..." in messages. */
static const char *describe(const struct ynode *n, char *buf, size_t len)
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

/* "a, b, c" into buf. */
static const char *join_names(const char *const *names, size_t n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", names[i]);
	return buf;
}

/* Runs fn with WHERE extended by "suffix" (": "-joined), then restores it. */
static void where_push(struct lctx *c, char *saved, size_t saved_len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void where_push(struct lctx *c, char *saved, size_t saved_len, const char *fmt, ...)
{
	char part[128];
	va_list ap;

	snprintf(saved, saved_len, "%s", c->where);
	va_start(ap, fmt);
	vsnprintf(part, sizeof(part), fmt, ap);
	va_end(ap);
	snprintf(c->where, sizeof(c->where), "%s%s%s", saved, *saved ? ": " : "", part);
}

static void where_pop(struct lctx *c, const char *saved)
{
	snprintf(c->where, sizeof(c->where), "%s", saved);
}

/* ------------------------------------------------------------ tree access */

static bool is_null(const struct ynode *n)
{
	return n->type == YNODE_SCALAR && n->plain &&
	       (n->len == 0 || strcmp(n->str, "null") == 0 || strcmp(n->str, "~") == 0);
}

static const struct ynode *map_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n_kids; i += 2)
		if (map->kids[i]->type == YNODE_SCALAR && strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i + 1];
	return NULL;
}

static const struct ynode *map_key_node(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n_kids; i += 2)
		if (map->kids[i]->type == YNODE_SCALAR && strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i];
	return map;
}

static int expect_map(struct lctx *c, const struct ynode *v)
{
	char buf[80];

	if (v->type == YNODE_MAP)
		return 0;
	return fail(c, v, "%s: expected a mapping (key: value lines), got %s", c->key,
		    describe(v, buf, sizeof(buf)));
}

/* A list, or a single scalar taken as a list of one. */
static int as_list(struct lctx *c, const struct ynode *v, struct ynode *const **items, size_t *n,
		   struct ynode **one)
{
	char buf[80];

	if (v->type == YNODE_SEQ) {
		*items = v->kids;
		*n = v->n_kids;
		return 0;
	}
	if (v->type == YNODE_SCALAR && !is_null(v)) {
		*one = (struct ynode *)v;
		*items = one;
		*n = 1;
		return 0;
	}
	return fail(c, v, "%s: expected a list, got %s", c->key, describe(v, buf, sizeof(buf)));
}

static int walk_map(struct lctx *c, const struct ynode *map, const struct field *fields,
		    size_t n_fields, void *obj, unsigned kind_bit, const char *applies_to,
		    const char *const *skip);

/* ------------------------------------------------------------ scalar reads */

static int read_scalar(struct lctx *c, const struct ynode *v, const char *what)
{
	char buf[80];

	if (v->type != YNODE_SCALAR || is_null(v))
		return fail(c, v, "%s: expected %s, got %s", c->key, what,
			    describe(v, buf, sizeof(buf)));
	if (strlen(v->str) != v->len)
		return fail(c, v, "%s: contains a NUL character", c->key);
	return 0;
}

static int read_str(struct lctx *c, const struct ynode *v, char **out)
{
	int r = read_scalar(c, v, "a string");

	if (r)
		return r;
	free(*out);
	*out = strdup(v->str);
	return *out ? 0 : nomem(c);
}

static int read_duration(struct lctx *c, const struct ynode *v, int64_t *out, bool positive)
{
	int r = read_scalar(c, v, "a duration");

	if (r)
		return r;
	r = fd_duration_parse(v->str, out);
	if (r == -ERANGE)
		return fail(c, v, "%s: duration \"%s\" is too large", c->key, v->str);
	if (r)
		return fail(c, v, "%s: expected a duration such as 250ms, 30s, 5m or 1h30m, got \"%s\"",
			    c->key, v->str);
	if (positive && *out <= 0)
		return fail(c, v, "%s: must be longer than 0", c->key);
	return 0;
}

static int read_bool(struct lctx *c, const struct ynode *v, bool *out)
{
	int r = read_scalar(c, v, "true or false");

	if (r)
		return r;
	if (v->plain && strcmp(v->str, "true") == 0)
		*out = true;
	else if (v->plain && strcmp(v->str, "false") == 0)
		*out = false;
	else
		return fail(c, v, "%s: expected true or false, got \"%s\"", c->key, v->str);
	return 0;
}

static int read_regex(struct lctx *c, const struct ynode *v, char **out, unsigned min_captures)
{
	char msg[256];
	size_t off = 0;
	unsigned caps = 0;
	int r = read_scalar(c, v, "a regular expression");

	if (r)
		return r;
	if (scenario_value_regex(v->str, v->len, msg, sizeof(msg), &off, &caps))
		return fail(c, v, "%s: invalid regular expression at offset %zu: %s", c->key, off,
			    msg);
	if (caps < min_captures)
		return fail(c, v, "%s: needs a capture group ( ) around the value, got \"%s\"",
			    c->key, v->str);
	return read_str(c, v, out);
}

static int read_name(struct lctx *c, const struct ynode *v, char **out, size_t max)
{
	int r = read_scalar(c, v, "a name");

	if (r)
		return r;
	if (!scenario_value_is_name(v->str) || v->len > max)
		return fail(c, v,
			    "%s: expected lowercase letters, digits and dashes ([a-z0-9-]+, at most %zu), got \"%s\"",
			    c->key, max, v->str);
	return read_str(c, v, out);
}

static int read_cidr(struct lctx *c, const struct ynode *v, struct fd_cidr *out)
{
	char net[FD_CIDR_STRLEN];
	int r = read_scalar(c, v, "a network prefix");

	if (r)
		return r;
	if (fd_cidr_parse(v->str, out) == 0)
		return 0;
	/* tell a prefix with host bits apart from garbage, and show the fix */
	if (strchr(v->str, '/') && v->len < sizeof(net)) {
		struct fd_cidr wide;
		char *slash;

		snprintf(net, sizeof(net), "%s", v->str);
		slash = strchr(net, '/');
		*slash = '\0';
		if (fd_cidr_parse(net, &wide) == 0) {
			char *end;
			long len = strtol(slash + 1, &end, 10);
			int max = wide.family == AF_INET ? 32 : 128;

			if (!*end && slash[1] >= '0' && slash[1] <= '9' && len >= 0 && len <= max) {
				for (int bit = (int)len; bit < max; bit++)
					wide.addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
				wide.prefix_len = (uint8_t)len;
				return fail(c, v, "%s: \"%s\" has host bits set (did you mean %s?)",
					    c->key, v->str, fd_cidr_format(&wide, net, sizeof(net)));
			}
		}
	}
	return fail(c, v, "%s: expected an IPv4 or IPv6 prefix such as 10.0.0.0/8 or 2600:1fa0::/32, got \"%s\"",
		    c->key, v->str);
}

static int read_cidr_list(struct lctx *c, const struct ynode *v, struct fd_cidr **out, size_t *n)
{
	struct ynode *const *items;
	struct ynode *one;
	size_t count;
	int r = as_list(c, v, &items, &count, &one);

	if (r)
		return r;
	if (count == 0)
		return fail(c, v, "%s: the list is empty", c->key);
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return nomem(c);
	*n = count;
	for (size_t i = 0; i < count && r == 0; i++)
		r = read_cidr(c, items[i], &(*out)[i]);
	return r;
}

static int read_str_list(struct lctx *c, const struct ynode *v, char ***out, size_t *n,
			 bool (*check)(const char *), const char *what)
{
	struct ynode *const *items;
	struct ynode *one;
	size_t count;
	int r = as_list(c, v, &items, &count, &one);

	if (r)
		return r;
	if (count == 0)
		return fail(c, v, "%s: the list is empty", c->key);
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return nomem(c);
	*n = count;
	for (size_t i = 0; i < count && r == 0; i++) {
		r = read_scalar(c, items[i], what);
		if (r == 0 && check && !check(items[i]->str))
			r = fail(c, items[i], "%s: expected %s, got \"%s\"", c->key, what,
				 items[i]->str);
		if (r == 0)
			r = read_str(c, items[i], &(*out)[i]);
	}
	return r;
}

/* Resolves a list of probe ids to indices. */
static int read_probe_refs(struct lctx *c, const struct ynode *v, size_t **out, size_t *n);

static int read_probe_ref(struct lctx *c, const struct ynode *v, size_t *out)
{
	const char **ids;
	const char *hint;
	char list[512];
	long idx;
	int r = read_scalar(c, v, "a probe id");

	if (r)
		return r;
	idx = scenario_find_probe(c->s, v->str);
	if (idx >= 0) {
		*out = (size_t)idx;
		return 0;
	}
	ids = calloc(c->s->n_probes + 1, sizeof(*ids));
	if (!ids)
		return nomem(c);
	for (size_t i = 0; i < c->s->n_probes; i++)
		ids[i] = c->s->probes[i].id ? c->s->probes[i].id : "";
	hint = scenario_value_suggest(v->str, ids, c->s->n_probes);
	if (hint)
		r = fail(c, v, "%s: unknown probe \"%s\" (did you mean \"%s\"?)", c->key, v->str,
			 hint);
	else
		r = fail(c, v, "%s: unknown probe \"%s\" (probes: %s)", c->key, v->str,
			 c->s->n_probes ? join_names(ids, c->s->n_probes, list, sizeof(list))
					: "none defined");
	free(ids);
	return r;
}

static int read_probe_refs(struct lctx *c, const struct ynode *v, size_t **out, size_t *n)
{
	struct ynode *const *items;
	struct ynode *one;
	size_t count;
	int r = as_list(c, v, &items, &count, &one);

	if (r)
		return r;
	if (count == 0)
		return fail(c, v, "%s: the list is empty", c->key);
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return nomem(c);
	*n = count;
	for (size_t i = 0; i < count && r == 0; i++)
		r = read_probe_ref(c, items[i], &(*out)[i]);
	return r;
}

/* -------------------------------------------------------------- walk_map */

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
	const char *hint;
	char list[512];

	for (size_t i = 0; i < n_fields; i++)
		if (!fields[i].hidden && (!fields[i].applies || (fields[i].applies & kind_bit)))
			names[n++] = fields[i].key;
	hint = scenario_value_suggest(k->str, names, n);
	if (hint)
		return fail(c, k, "unknown key \"%s\" (did you mean \"%s\"?)", k->str, hint);
	return fail(c, k, "unknown key \"%s\" (expected one of: %s)", k->str,
		    join_names(names, n, list, sizeof(list)));
}

/* key is one of the NULL-terminated list (keys read by the caller itself) */
static bool in_list(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

static int check_keys(struct lctx *c, const struct ynode *map, const struct field *fields,
		      size_t n_fields, unsigned kind_bit, const char *applies_to,
		      const char *const *skip, const struct ynode **found)
{
	for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
		const struct ynode *k = map->kids[i];
		char buf[80];
		long idx;

		if (k->type != YNODE_SCALAR || k->len == 0 || strlen(k->str) != k->len)
			return fail(c, k, "keys must be plain names, got %s",
				    describe(k, buf, sizeof(buf)));
		if (in_list(skip, k->str))
			continue;
		idx = field_index(fields, n_fields, k->str);
		if (idx < 0)
			return unknown_key(c, k, fields, n_fields, kind_bit);
		if (fields[idx].applies && !(fields[idx].applies & kind_bit))
			return fail(c, k, "key \"%s\" does not apply to %s", k->str, applies_to);
		if (found[idx])
			return fail(c, k, "duplicate key \"%s\" (first at line %d)", k->str,
				    found[idx]->line);
		/* a refused key explains itself before anything else is said */
		if (fields[idx].hidden) {
			c->key = k->str;
			return fields[idx].fn(c, map->kids[i + 1], NULL);
		}
		found[idx] = k;
	}
	return 0;
}

static int walk_map(struct lctx *c, const struct ynode *map, const struct field *fields,
		    size_t n_fields, void *obj, unsigned kind_bit, const char *applies_to,
		    const char *const *skip)
{
	const struct ynode *found[MAX_FIELDS] = { 0 };
	int r;

	/* callers have put the key into WHERE already */
	if (map->type != YNODE_MAP) {
		char buf[80];

		return fail(c, map, "expected a mapping (key: value lines), got %s",
			    describe(map, buf, sizeof(buf)));
	}
	r = check_keys(c, map, fields, n_fields, kind_bit, applies_to, skip, found);
	for (size_t i = 0; r == 0 && i < n_fields; i++) {
		if (found[i] || !(fields[i].required & kind_bit))
			continue;
		if (fields[i].required == ALL_KINDS || !applies_to)
			r = fail(c, map, "missing required key \"%s\"", fields[i].key);
		else
			r = fail(c, map, "%s needs key \"%s\"", applies_to, fields[i].key);
	}
	for (size_t i = 0; r == 0 && i < n_fields; i++) {
		if (!found[i])
			continue;
		c->key = fields[i].key;
		r = fields[i].fn(c, map_get(map, fields[i].key), obj);
	}
	return r;
}

/* Finds which of several mutually exclusive keys a mapping has; -1 if none. */
static int pick_one(struct lctx *c, const struct ynode *map, const char *const *keys, size_t n,
		    const char *what, int *out)
{
	int which = -1;

	for (size_t i = 0; i < n; i++) {
		if (!map_get(map, keys[i]))
			continue;
		if (which >= 0)
			return fail(c, map_key_node(map, keys[i]), "has both \"%s\" and \"%s\"; %s",
				    keys[which], keys[i], what);
		which = (int)i;
	}
	*out = which;
	return 0;
}

/* ------------------------------------------------------------------ faults */

#define K_FILTER (BIT(FAULT_DROP) | BIT(FAULT_REJECT))
#define K_ROUTE (BIT(FAULT_BLACKHOLE_ROUTE) | BIT(FAULT_UNREACHABLE_ROUTE) | BIT(FAULT_PROHIBIT_ROUTE))
#define K_LINK (BIT(FAULT_LINK_DOWN) | BIT(FAULT_DELAY) | BIT(FAULT_LOSS) | BIT(FAULT_RATE))
#define K_PROC (BIT(FAULT_KILL) | BIT(FAULT_STOP) | BIT(FAULT_FREEZE))

static int f_noop(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)c;
	(void)v;
	(void)obj;
	return 0;
}

static int f_fault_id(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = read_name(c, v, &f->id, 32);

	for (size_t i = 0; r == 0 && i < c->s->n_faults && &c->s->faults[i] != f; i++)
		if (c->s->faults[i].id && strcmp(c->s->faults[i].id, f->id) == 0)
			r = fail(c, v, "duplicate fault id \"%s\" (first at line %d)", f->id,
				 c->s->faults[i].loc.line);
	return r;
}

static int f_fault_duration(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_fault *)obj)->duration_ns, true);
}

static int f_direction(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = read_scalar(c, v, "egress or ingress");

	if (r)
		return r;
	if (strcmp(v->str, "egress") == 0)
		f->direction = DIRECTION_EGRESS;
	else if (strcmp(v->str, "ingress") == 0)
		f->direction = DIRECTION_INGRESS;
	else
		return fail(c, v, "direction: expected egress or ingress, got \"%s\"", v->str);
	return 0;
}

static int t_cidrs(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;

	return read_cidr_list(c, v, &t->cidrs, &t->n_cidrs);
}

static bool is_hostname(const char *s)
{
	return scenario_value_is_host(s);
}

static int t_hosts(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;

	return read_str_list(c, v, &t->hosts, &t->n_hosts, is_hostname, "a host name");
}

static int pl_file(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_prefix_list *pl = obj;
	int r = read_scalar(c, v, "a file path");

	if (r)
		return r;
	/* relative to the scenario's folder, so a scenario and its list travel together */
	if (v->str[0] == '/' || !*c->dir)
		return read_str(c, v, &pl->file);
	if (asprintf(&pl->file, "%s%s", c->dir, v->str) < 0) {
		pl->file = NULL;
		return nomem(c);
	}
	return 0;
}

static int pl_service(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_prefix_list *)obj)->service);
}

static int pl_region(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_prefix_list *)obj)->region);
}

static int pl_include_global(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_bool(c, v, &((struct scenario_prefix_list *)obj)->include_global);
}

static const struct field prefix_list_fields[] = {
	{ "file", pl_file, ALL_KINDS, 0, false },
	{ "service", pl_service, 0, 0, false },
	{ "region", pl_region, 0, 0, false },
	{ "include-global", pl_include_global, 0, 0, false },
};

static int t_prefix_list(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;
	char saved[sizeof(c->where)];
	int r;

	t->prefix_list = calloc(1, sizeof(*t->prefix_list));
	if (!t->prefix_list)
		return nomem(c);
	where_push(c, saved, sizeof(saved), "prefix-list");
	r = walk_map(c, v, prefix_list_fields, N_ELEM(prefix_list_fields), t->prefix_list,
		     ALL_KINDS, NULL, NULL);
	where_pop(c, saved);
	return r;
}

static int t_protocol(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;
	int r = read_scalar(c, v, "tcp, udp or any");

	if (r)
		return r;
	if (strcmp(v->str, "tcp") == 0)
		t->protocol = PROTOCOL_TCP;
	else if (strcmp(v->str, "udp") == 0)
		t->protocol = PROTOCOL_UDP;
	else if (strcmp(v->str, "any") == 0)
		t->protocol = PROTOCOL_ANY;
	else
		return fail(c, v, "protocol: expected tcp, udp or any, got \"%s\"", v->str);
	return 0;
}

static int read_port(struct lctx *c, const struct ynode *v, uint16_t *out)
{
	long port;
	int r = read_scalar(c, v, "a port number 1-65535");

	if (r)
		return r;
	if (scenario_value_int(v->str, 1, 65535, &port))
		return fail(c, v, "%s: expected a port number 1-65535, got \"%s\"", c->key, v->str);
	*out = (uint16_t)port;
	return 0;
}

static int t_ports(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_targets *t = obj;
	struct ynode *const *items;
	struct ynode *one;
	size_t n;
	int r = as_list(c, v, &items, &n, &one);

	if (r)
		return r;
	if (n == 0)
		return fail(c, v, "ports: the list is empty");
	t->ports = calloc(n, sizeof(*t->ports));
	if (!t->ports)
		return nomem(c);
	t->n_ports = n;
	for (size_t i = 0; i < n && r == 0; i++)
		r = read_port(c, items[i], &t->ports[i]);
	return r;
}

static const struct field targets_fields[] = {
	{ "cidrs", t_cidrs, 0, 0, false },
	{ "hosts", t_hosts, 0, 0, false },
	{ "prefix-list", t_prefix_list, 0, K_FILTER, false },
	{ "protocol", t_protocol, 0, K_FILTER, false },
	{ "ports", t_ports, 0, K_FILTER, false },
};

static int f_targets(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	struct scenario_targets *t = &f->targets;
	char saved[sizeof(c->where)], kind[64];
	int r;

	snprintf(kind, sizeof(kind), "kind \"%s\"", fault_kind_names[f->kind]);
	where_push(c, saved, sizeof(saved), "targets");
	r = walk_map(c, v, targets_fields, N_ELEM(targets_fields), t, BIT(f->kind), kind, NULL);
	if (r == 0 && BIT(f->kind) & K_FILTER && !t->n_cidrs && !t->n_hosts && !t->prefix_list)
		r = fail(c, v, "needs at least one of cidrs, hosts, prefix-list");
	if (r == 0 && BIT(f->kind) & K_ROUTE && !t->n_cidrs && !t->n_hosts)
		r = fail(c, v, "needs cidrs or hosts");
	where_pop(c, saved);
	return r;
}

static int f_link(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = read_scalar(c, v, "an interface name");

	if (r == 0 && !scenario_value_is_ifname(v->str))
		r = fail(c, v, "link: expected an interface name (1-15 characters, no '/', ':' or spaces), got \"%s\"",
			 v->str);
	return r ? r : read_str(c, v, &f->link);
}

static int f_delay(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_fault *)obj)->delay_ns, true);
}

static int f_jitter(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_fault *)obj)->jitter_ns, false);
}

static int f_loss(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = read_scalar(c, v, "a percentage");

	if (r)
		return r;
	if (scenario_value_number(v->str, &f->loss_percent) || f->loss_percent <= 0 ||
	    f->loss_percent > 100)
		return fail(c, v, "loss: expected a percentage above 0 and at most 100 such as 5%% or 0.5%%, got \"%s\"",
			    v->str);
	return 0;
}

static int f_rate(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	int r = read_scalar(c, v, "a rate");

	if (r)
		return r;
	if (scenario_value_rate(v->str, &f->rate_bps))
		return fail(c, v, "rate: expected bits per second such as 500kbit, 10mbit or 1gbit, got \"%s\"",
			    v->str);
	return 0;
}

static int p_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_regex(c, v, &((struct scenario_process *)obj)->match, 0);
}

static int p_pidfile(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_process *)obj)->pidfile);
}

static int p_pid(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_process *p = obj;
	long pid;
	int r = read_scalar(c, v, "a process id");

	if (r)
		return r;
	if (scenario_value_int(v->str, 1, 4194304, &pid))
		return fail(c, v, "pid: expected a process id 1-4194304, got \"%s\"", v->str);
	p->pid = (int)pid;
	return 0;
}

static const struct field process_fields[] = {
	{ "match", p_match, 0, 0, false },
	{ "pidfile", p_pidfile, 0, 0, false },
	{ "pid", p_pid, 0, 0, false },
};

static int f_process(struct lctx *c, const struct ynode *v, void *obj)
{
	static const char *const keys[] = { "match", "pidfile", "pid" };
	struct scenario_fault *f = obj;
	char saved[sizeof(c->where)];
	int which = -1, r;

	where_push(c, saved, sizeof(saved), "process");
	r = walk_map(c, v, process_fields, N_ELEM(process_fields), &f->process, ALL_KINDS, NULL,
		     NULL);
	if (r == 0)
		r = pick_one(c, v, keys, N_ELEM(keys), "give exactly one way to find the process",
			     &which);
	if (r == 0 && which < 0)
		r = fail(c, v, "needs exactly one of match, pidfile, pid");
	where_pop(c, saved);
	return r;
}

static int f_signal(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	const char *hint;
	char list[256];
	int r = read_scalar(c, v, "a signal name");

	if (r)
		return r;
	if (scenario_value_signal(v->str, &f->signal) == 0)
		return 0;
	hint = scenario_value_suggest(strncasecmp(v->str, "SIG", 3) == 0 ? v->str + 3 : v->str,
				      scenario_signal_names, scenario_n_signal_names);
	if (hint)
		return fail(c, v, "signal: unknown signal \"%s\" (did you mean \"%s\"?)", v->str, hint);
	return fail(c, v, "signal: unknown signal \"%s\" (expected one of: %s)", v->str,
		    join_names(scenario_signal_names, scenario_n_signal_names, list, sizeof(list)));
}

static int f_cgroup(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_fault *)obj)->cgroup);
}

static int f_inject(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_fault *)obj)->inject_cmd);
}

static int f_revert(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_fault *)obj)->revert_cmd);
}

static int f_timeout(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_fault *)obj)->timeout_ns, true);
}

static const struct field fault_fields[] = {
	{ "id", f_fault_id, ALL_KINDS, 0, false },
	{ "kind", f_noop, ALL_KINDS, 0, false },
	{ "duration", f_fault_duration, ALL_KINDS, 0, false },
	{ "direction", f_direction, 0, K_FILTER, false },
	{ "targets", f_targets, K_FILTER | K_ROUTE, K_FILTER | K_ROUTE, false },
	{ "link", f_link, K_LINK, K_LINK, false },
	{ "delay", f_delay, BIT(FAULT_DELAY), BIT(FAULT_DELAY), false },
	{ "jitter", f_jitter, 0, BIT(FAULT_DELAY), false },
	{ "loss", f_loss, BIT(FAULT_LOSS), BIT(FAULT_LOSS), false },
	{ "rate", f_rate, BIT(FAULT_RATE), BIT(FAULT_RATE), false },
	{ "process", f_process, K_PROC, K_PROC, false },
	{ "signal", f_signal, 0, BIT(FAULT_KILL), false },
	{ "cgroup", f_cgroup, 0, BIT(FAULT_FREEZE), false },
	{ "inject", f_inject, BIT(FAULT_EXEC), BIT(FAULT_EXEC), false },
	{ "revert", f_revert, 0, BIT(FAULT_EXEC), false },
	{ "timeout", f_timeout, 0, BIT(FAULT_EXEC), false },
};

/* The kind decides which keys apply, so it is read before the walk. */
static int fault_kind(struct lctx *c, const struct ynode *map, enum fault_kind *out)
{
	const struct ynode *v = map_get(map, "kind");
	const char *hint;
	char list[512];
	int r;

	if (!v)
		return fail(c, map, "missing required key \"kind\" (one of: %s)",
			    join_names(fault_kind_names, FAULT_KIND_COUNT, list, sizeof(list)));
	c->key = "kind";
	r = read_scalar(c, v, "a fault kind");
	if (r)
		return r;
	for (int k = 0; k < FAULT_KIND_COUNT; k++) {
		if (strcmp(v->str, fault_kind_names[k]) == 0) {
			*out = (enum fault_kind)k;
			return 0;
		}
	}
	hint = scenario_value_suggest(v->str, fault_kind_names, FAULT_KIND_COUNT);
	if (hint)
		return fail(c, v, "unknown kind \"%s\" (did you mean \"%s\"?)", v->str, hint);
	return fail(c, v, "unknown kind \"%s\" (expected one of: %s)", v->str,
		    join_names(fault_kind_names, FAULT_KIND_COUNT, list, sizeof(list)));
}

/* "fault \"s3\"" when the id is readable, else "fault #2". */
static void item_where(struct lctx *c, const struct ynode *map, const char *what, size_t index,
		       char *saved, size_t saved_len)
{
	const struct ynode *id = map_get(map, "id");

	if (id && id->type == YNODE_SCALAR && !is_null(id) && id->len <= 64 &&
	    strlen(id->str) == id->len)
		where_push(c, saved, saved_len, "%s \"%s\"", what, id->str);
	else
		where_push(c, saved, saved_len, "%s #%zu", what, index + 1);
}

static int read_fault(struct lctx *c, const struct ynode *map, struct scenario_fault *f,
		      size_t index)
{
	char saved[sizeof(c->where)], kind[64];
	int r;

	if (map->type != YNODE_MAP) {
		c->key = "faults";
		return expect_map(c, map);
	}
	item_where(c, map, "fault", index, saved, sizeof(saved));
	f->loc.line = map->line;
	f->loc.col = map->col;
	f->direction = DIRECTION_EGRESS;
	f->targets.protocol = PROTOCOL_ANY;
	r = fault_kind(c, map, &f->kind);
	if (r == 0) {
		snprintf(kind, sizeof(kind), "kind \"%s\"", fault_kind_names[f->kind]);
		r = walk_map(c, map, fault_fields, N_ELEM(fault_fields), f, BIT(f->kind), kind,
			     NULL);
	}
	if (r == 0 && f->kind == FAULT_KILL && !f->signal)
		f->signal = SIGTERM;
	if (r == 0 && f->kind == FAULT_EXEC && !f->timeout_ns)
		f->timeout_ns = 60 * FD_NS_PER_S;
	where_pop(c, saved);
	return r;
}

static int s_faults(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	char buf[80];
	int r = 0;

	if (v->type != YNODE_SEQ)
		return fail(c, v, "faults: expected a list of faults, got %s",
			    describe(v, buf, sizeof(buf)));
	if (v->n_kids == 0)
		return fail(c, v, "faults: the list is empty (a drill breaks at least one thing)");
	s->faults = calloc(v->n_kids, sizeof(*s->faults));
	if (!s->faults)
		return nomem(c);
	s->n_faults = v->n_kids;
	for (size_t i = 0; i < v->n_kids && r == 0; i++)
		r = read_fault(c, v->kids[i], &s->faults[i], i);
	return r;
}

/* ------------------------------------------------------------------ probes */

static int h_url(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;
	int r = read_scalar(c, v, "a URL");

	if (r)
		return r;
	if ((strncasecmp(v->str, "http://", 7) != 0 && strncasecmp(v->str, "https://", 8) != 0) ||
	    strpbrk(v->str, " \t\r\n"))
		return fail(c, v, "url: expected an http:// or https:// URL, got \"%s\"", v->str);
	return read_str(c, v, &h->url);
}

static int h_method(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;
	int r = read_scalar(c, v, "an HTTP method");

	if (r)
		return r;
	for (const char *p = v->str; *p; p++)
		if (*p < 'A' || *p > 'Z')
			return fail(c, v, "method: expected an upper-case HTTP method such as GET or PUT, got \"%s\"",
				    v->str);
	return read_str(c, v, &h->method);
}

static bool is_header(const char *s)
{
	const char *colon = strchr(s, ':');

	if (!colon || colon == s || strpbrk(s, "\r\n"))
		return false;
	for (const char *p = s; p < colon; p++)
		if (*p <= ' ' || *p >= 127)
			return false;
	return true;
}

static int h_headers(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;

	return read_str_list(c, v, &h->headers, &h->n_headers, is_header,
			     "a header line \"Name: value\"");
}

static int h_body(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_http *)obj)->body);
}

/* 200, "200-299" */
static int read_status(struct lctx *c, const struct ynode *v, struct scenario_status_range *out)
{
	long lo, hi;
	const char *dash;
	char first[8];
	int r = read_scalar(c, v, "an HTTP status");

	if (r)
		return r;
	dash = strchr(v->str, '-');
	if (dash && (size_t)(dash - v->str) < sizeof(first)) {
		memcpy(first, v->str, (size_t)(dash - v->str));
		first[dash - v->str] = '\0';
		r = scenario_value_int(first, 100, 599, &lo) || scenario_value_int(dash + 1, 100, 599, &hi) ||
		    lo > hi;
	} else {
		r = scenario_value_int(v->str, 100, 599, &lo);
		hi = lo;
	}
	if (r)
		return fail(c, v, "%s: expected an HTTP status 100-599 or a range such as \"200-299\", got \"%s\"",
			    c->key, v->str);
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

static int h_expect_status(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;
	struct ynode *const *items;
	struct ynode *one;
	size_t n;
	int r = as_list(c, v, &items, &n, &one);

	if (r)
		return r;
	if (n == 0)
		return fail(c, v, "expect-status: the list is empty");
	h->expect_status = calloc(n, sizeof(*h->expect_status));
	if (!h->expect_status)
		return nomem(c);
	h->n_expect_status = n;
	for (size_t i = 0; i < n && r == 0; i++)
		r = read_status(c, items[i], &h->expect_status[i]);
	return r;
}

static int h_body_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_regex(c, v, &((struct scenario_http *)obj)->body_match, 0);
}

static int h_max_latency(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_http *)obj)->max_latency_ns, true);
}

static int h_ca_file(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_http *)obj)->ca_file);
}

static int h_insecure(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_bool(c, v, &((struct scenario_http *)obj)->insecure);
}

static int h_follow(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_bool(c, v, &((struct scenario_http *)obj)->follow_redirects);
}

static const struct field http_fields[] = {
	{ "url", h_url, ALL_KINDS, 0, false },
	{ "method", h_method, 0, 0, false },
	{ "headers", h_headers, 0, 0, false },
	{ "body", h_body, 0, 0, false },
	{ "expect-status", h_expect_status, 0, 0, false },
	{ "body-match", h_body_match, 0, 0, false },
	{ "max-latency", h_max_latency, 0, 0, false },
	{ "ca-file", h_ca_file, 0, 0, false },
	{ "insecure", h_insecure, 0, 0, false },
	{ "follow-redirects", h_follow, 0, 0, false },
};

static int read_http(struct lctx *c, const struct ynode *v, struct scenario_http *h,
		     const char *const *skip)
{
	int r = walk_map(c, v, http_fields, N_ELEM(http_fields), h, ALL_KINDS, NULL, skip);

	if (r == 0 && !h->method && !(h->method = strdup("GET")))
		return nomem(c);
	if (r == 0 && !h->n_expect_status) {
		h->expect_status = calloc(1, sizeof(*h->expect_status));
		if (!h->expect_status)
			return nomem(c);
		h->expect_status[0].lo = 200;
		h->expect_status[0].hi = 299;
		h->n_expect_status = 1;
	}
	return r;
}

static int cmd_run(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_command *)obj)->run);
}

static int cmd_stdout_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_regex(c, v, &((struct scenario_command *)obj)->stdout_match, 0);
}

static const struct field command_fields[] = {
	{ "run", cmd_run, ALL_KINDS, 0, false },
	{ "stdout-match", cmd_stdout_match, 0, 0, false },
};

static int pr_http(struct lctx *c, const struct ynode *v, void *obj)
{
	char saved[sizeof(c->where)];
	int r;

	where_push(c, saved, sizeof(saved), "http");
	r = read_http(c, v, &((struct scenario_probe *)obj)->http, NULL);
	where_pop(c, saved);
	return r;
}

static int tcp_host(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	int r = read_scalar(c, v, "a host name");

	if (r == 0 && !scenario_value_is_host(v->str))
		r = fail(c, v, "host: expected a host name or an IP address, got \"%s\"", v->str);
	return r ? r : read_str(c, v, &p->tcp.host);
}

static int tcp_port(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_port(c, v, &((struct scenario_probe *)obj)->tcp.port);
}

static const struct field tcp_fields[] = {
	{ "host", tcp_host, ALL_KINDS, 0, false },
	{ "port", tcp_port, ALL_KINDS, 0, false },
};

static int dns_name(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	int r = read_scalar(c, v, "a DNS name");

	if (r == 0 && !scenario_value_is_host(v->str))
		r = fail(c, v, "name: expected a DNS name, got \"%s\"", v->str);
	return r ? r : read_str(c, v, &p->dns.name);
}

static int dns_expect_in(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;

	return read_cidr_list(c, v, &p->dns.expect_in, &p->dns.n_expect_in);
}

static const struct field dns_fields[] = {
	{ "name", dns_name, ALL_KINDS, 0, false },
	{ "expect-in", dns_expect_in, 0, 0, false },
};

static int log_path(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_probe *)obj)->log.path);
}

static int log_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_regex(c, v, &((struct scenario_probe *)obj)->log.match, 0);
}

static int log_fail_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_regex(c, v, &((struct scenario_probe *)obj)->log.fail_match, 0);
}

static const struct field log_fields[] = {
	{ "path", log_path, ALL_KINDS, 0, false },
	{ "match", log_match, ALL_KINDS, 0, false },
	{ "fail-match", log_fail_match, 0, 0, false },
};

static int pcap_interface(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	int r = read_scalar(c, v, "an interface name");

	if (r == 0 && !scenario_value_is_ifname(v->str))
		r = fail(c, v, "interface: expected an interface name (1-15 characters), got \"%s\"",
			 v->str);
	return r ? r : read_str(c, v, &p->pcap.interface);
}

static int pcap_filter(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	char msg[512];
	int r = read_scalar(c, v, "a pcap filter");

	if (r)
		return r;
	r = scenario_value_pcap(v->str, msg, sizeof(msg));
	if (r == -ENOMEM)
		return nomem(c);
	if (r)
		return fail(c, v, "filter: invalid pcap filter: %s", msg);
	return read_str(c, v, &p->pcap.filter);
}

static const struct field pcap_fields[] = {
	{ "interface", pcap_interface, ALL_KINDS, 0, false },
	{ "filter", pcap_filter, ALL_KINDS, 0, false },
};

/* One nested section of a probe, walked with WHERE extended by its key. */
static int probe_section(struct lctx *c, const struct ynode *v, void *obj, const struct field *f,
			 size_t n)
{
	char saved[sizeof(c->where)];
	int r;

	where_push(c, saved, sizeof(saved), "%s", c->key);
	r = walk_map(c, v, f, n, obj, ALL_KINDS, NULL, NULL);
	where_pop(c, saved);
	return r;
}

static int pr_tcp(struct lctx *c, const struct ynode *v, void *obj)
{
	return probe_section(c, v, obj, tcp_fields, N_ELEM(tcp_fields));
}

static int pr_dns(struct lctx *c, const struct ynode *v, void *obj)
{
	return probe_section(c, v, obj, dns_fields, N_ELEM(dns_fields));
}

static int pr_command(struct lctx *c, const struct ynode *v, void *obj)
{
	return probe_section(c, v, &((struct scenario_probe *)obj)->command, command_fields,
			     N_ELEM(command_fields));
}

static int pr_log(struct lctx *c, const struct ynode *v, void *obj)
{
	return probe_section(c, v, obj, log_fields, N_ELEM(log_fields));
}

static int pr_pcap(struct lctx *c, const struct ynode *v, void *obj)
{
	return probe_section(c, v, obj, pcap_fields, N_ELEM(pcap_fields));
}

static int pr_id(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	int r = read_name(c, v, &p->id, 32);

	for (size_t i = 0; r == 0 && i < c->s->n_probes && &c->s->probes[i] != p; i++)
		if (c->s->probes[i].id && strcmp(c->s->probes[i].id, p->id) == 0)
			r = fail(c, v, "duplicate probe id \"%s\" (first at line %d)", p->id,
				 c->s->probes[i].loc.line);
	return r;
}

static int pr_interval(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	int r = read_duration(c, v, &p->interval_ns, true);

	if (r == 0 && p->interval_ns < 10 * FD_NS_PER_MS)
		r = fail(c, v, "interval: must be at least 10ms, got \"%s\"", v->str);
	return r;
}

static int pr_timeout(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_probe *)obj)->timeout_ns, true);
}

static const struct field probe_fields[] = {
	{ "id", pr_id, ALL_KINDS, 0, false },
	{ "interval", pr_interval, 0, 0, false },
	{ "timeout", pr_timeout, 0, 0, false },
	{ "http", pr_http, 0, BIT(PROBE_HTTP), false },
	{ "tcp", pr_tcp, 0, BIT(PROBE_TCP), false },
	{ "dns", pr_dns, 0, BIT(PROBE_DNS), false },
	{ "command", pr_command, 0, BIT(PROBE_COMMAND), false },
	{ "log", pr_log, 0, BIT(PROBE_LOG), false },
	{ "pcap", pr_pcap, 0, BIT(PROBE_PCAP), false },
};

static int read_probe(struct lctx *c, const struct ynode *map, struct scenario_probe *p,
		      size_t index)
{
	char saved[sizeof(c->where)], kind[64], list[128];
	int which = -1, r;

	if (map->type != YNODE_MAP) {
		c->key = "probes";
		return expect_map(c, map);
	}
	item_where(c, map, "probe", index, saved, sizeof(saved));
	p->loc.line = map->line;
	p->loc.col = map->col;
	p->interval_ns = FD_NS_PER_S;
	p->timeout_ns = FD_NS_PER_S;
	r = pick_one(c, map, probe_kind_names, PROBE_KIND_COUNT, "a probe checks one thing",
		     &which);
	if (r == 0 && which < 0)
		r = fail(c, map, "needs one of %s",
			 join_names(probe_kind_names, PROBE_KIND_COUNT, list, sizeof(list)));
	if (r == 0) {
		p->kind = (enum probe_kind)which;
		snprintf(kind, sizeof(kind), "a %s probe", probe_kind_names[which]);
		r = walk_map(c, map, probe_fields, N_ELEM(probe_fields), p, BIT(which), kind, NULL);
	}
	where_pop(c, saved);
	return r;
}

static int s_probes(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	char buf[80];
	int r = 0;

	if (v->type != YNODE_SEQ)
		return fail(c, v, "probes: expected a list of probes, got %s",
			    describe(v, buf, sizeof(buf)));
	if (v->n_kids == 0)
		return fail(c, v, "probes: the list is empty (recovery is judged by probes)");
	s->probes = calloc(v->n_kids, sizeof(*s->probes));
	if (!s->probes)
		return nomem(c);
	s->n_probes = v->n_kids;
	for (size_t i = 0; i < v->n_kids && r == 0; i++)
		r = read_probe(c, v->kids[i], &s->probes[i], i);
	return r;
}

/* ---------------------------------------------- steady state and stop-if */

static int ss_probes(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;

	return read_probe_refs(c, v, &s->steady_state, &s->n_steady_state);
}

static const struct field steady_fields[] = {
	{ "probes", ss_probes, ALL_KINDS, 0, false },
};

static int s_steady_state(struct lctx *c, const struct ynode *v, void *obj)
{
	char saved[sizeof(c->where)];
	int r;

	where_push(c, saved, sizeof(saved), "steady-state");
	r = walk_map(c, v, steady_fields, N_ELEM(steady_fields), obj, ALL_KINDS, NULL, NULL);
	where_pop(c, saved);
	return r;
}

static int si_probe(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_probe_ref(c, v, &((struct scenario_stop_if *)obj)->probe);
}

static int si_for(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_stop_if *)obj)->for_ns, false);
}

static const struct field stop_if_fields[] = {
	{ "probe", si_probe, ALL_KINDS, 0, false },
	{ "for", si_for, 0, 0, false },
};

static int s_stop_if(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	char saved[sizeof(c->where)], buf[80];
	int r = 0;

	if (v->type != YNODE_SEQ)
		return fail(c, v, "stop-if-failing: expected a list of {probe, for}, got %s",
			    describe(v, buf, sizeof(buf)));
	s->stop_if = calloc(v->n_kids ? v->n_kids : 1, sizeof(*s->stop_if));
	if (!s->stop_if)
		return nomem(c);
	s->n_stop_if = v->n_kids;
	where_push(c, saved, sizeof(saved), "stop-if-failing");
	for (size_t i = 0; i < v->n_kids && r == 0; i++)
		r = walk_map(c, v->kids[i], stop_if_fields, N_ELEM(stop_if_fields), &s->stop_if[i],
			     ALL_KINDS, NULL, NULL);
	where_pop(c, saved);
	return r;
}

/* ------------------------------------------------ recovery and failback */

enum { CRIT_RECOVERY, CRIT_FAILBACK };

static int cr_all(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_criterion *cr = obj;

	cr->mode = CRITERION_ALL;
	return read_probe_refs(c, v, &cr->probes, &cr->n_probes);
}

static int cr_any(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_criterion *cr = obj;

	cr->mode = CRITERION_ANY;
	return read_probe_refs(c, v, &cr->probes, &cr->n_probes);
}

static int cr_stable_for(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_criterion *)obj)->stable_for_ns, false);
}

static int cr_timeout(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_criterion *)obj)->timeout_ns, true);
}

static int st_name(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_step *)obj)->name);
}

static int st_run(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario_step *)obj)->run);
}

static int st_manual(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_bool(c, v, &((struct scenario_step *)obj)->manual);
}

static int st_timeout(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario_step *)obj)->timeout_ns, true);
}

static const struct field step_fields[] = {
	{ "name", st_name, ALL_KINDS, 0, false },
	{ "run", st_run, 0, 0, false },
	{ "manual", st_manual, 0, 0, false },
	{ "timeout", st_timeout, 0, 0, false },
};

static int read_step(struct lctx *c, const struct ynode *map, struct scenario_step *st,
		     size_t index)
{
	const struct ynode *name = map_get(map, "name");
	char saved[sizeof(c->where)];
	int r;

	if (name && name->type == YNODE_SCALAR && !is_null(name) && name->len <= 64)
		where_push(c, saved, sizeof(saved), "step \"%s\"", name->str);
	else
		where_push(c, saved, sizeof(saved), "step #%zu", index + 1);
	r = walk_map(c, map, step_fields, N_ELEM(step_fields), st, ALL_KINDS, NULL, NULL);
	if (r == 0 && st->run && st->manual)
		r = fail(c, map, "has both \"run\" and \"manual: true\"; a step is either automated or manual");
	if (r == 0 && !st->run && !st->manual)
		r = fail(c, map, "needs run: COMMAND or manual: true");
	where_pop(c, saved);
	return r;
}

static int cr_steps(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_criterion *cr = obj;
	struct scenario *s = c->s;
	char buf[80];
	int r = 0;

	(void)cr;
	if (v->type != YNODE_SEQ)
		return fail(c, v, "steps: expected a list of steps, got %s",
			    describe(v, buf, sizeof(buf)));
	s->steps = calloc(v->n_kids ? v->n_kids : 1, sizeof(*s->steps));
	if (!s->steps)
		return nomem(c);
	s->n_steps = v->n_kids;
	for (size_t i = 0; i < v->n_kids && r == 0; i++) {
		r = read_step(c, v->kids[i], &s->steps[i], i);
		if (r == 0 && !s->steps[i].timeout_ns)
			s->steps[i].timeout_ns = s->recovery.timeout_ns;
	}
	return r;
}

static const struct field criterion_fields[] = {
	{ "all", cr_all, 0, 0, false },
	{ "any", cr_any, 0, 0, false },
	{ "stable-for", cr_stable_for, 0, 0, false },
	{ "timeout", cr_timeout, ALL_KINDS, 0, false },
	{ "steps", cr_steps, 0, BIT(CRIT_RECOVERY), false },
};

static int read_criterion(struct lctx *c, const struct ynode *v, struct scenario_criterion *cr,
			  int which)
{
	static const char *const modes[] = { "all", "any" };
	const char *name = which == CRIT_RECOVERY ? "recovery" : "failback";
	char saved[sizeof(c->where)];
	int mode = -1, r;

	where_push(c, saved, sizeof(saved), "%s", name);
	r = pick_one(c, v, modes, 2, "the criterion is one or the other", &mode);
	if (r == 0)
		r = walk_map(c, v, criterion_fields, N_ELEM(criterion_fields), cr, BIT(which),
			     name, NULL);
	if (r == 0 && mode < 0)
		r = fail(c, v, "needs all: [PROBE...] or any: [PROBE...]");
	where_pop(c, saved);
	return r;
}

static int s_recovery(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_criterion(c, v, &((struct scenario *)obj)->recovery, CRIT_RECOVERY);
}

static int s_failback(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;

	s->has_failback = true;
	return read_criterion(c, v, &s->failback, CRIT_FAILBACK);
}

/* --------------------------------------------------------------------- rpo */

#define ACTION_TIMEOUT_DEFAULT (5 * FD_NS_PER_S)

/* Keys an action takes beside its request, per place (NULL-terminated). */
static const char *const write_keys[] = { "timeout", NULL };
static const char *const read_keys[] = { "timeout", "value-json", "value-match", "expect-value",
					 NULL };
static const char *const query_keys[] = { "timeout", "value-match", NULL };

/*
 * An HTTP request (url: ...) or a command (run: ...), written inline, plus
 * its timeout; the other keys of extra are the caller's to read.
 */
static int read_action(struct lctx *c, const struct ynode *v, struct scenario_action *a,
		       const char *const *extra)
{
	static const char *const forms[] = { "url", "run" };
	char saved[sizeof(c->where)];
	const struct ynode *tm;
	int which = -1, r;

	if (v->type != YNODE_MAP)
		return expect_map(c, v);
	where_push(c, saved, sizeof(saved), "%s", c->key);
	r = pick_one(c, v, forms, 2, "an action is an HTTP request or a command", &which);
	if (r == 0 && which < 0)
		r = fail(c, v, "needs url: (an HTTP request) or run: (a command)");
	if (r == 0 && which == 0) {
		a->kind = ACTION_HTTP;
		r = read_http(c, v, &a->http, extra);
	} else if (r == 0) {
		a->kind = ACTION_COMMAND;
		r = walk_map(c, v, command_fields, N_ELEM(command_fields), &a->command, ALL_KINDS,
			     NULL, extra);
	}
	a->timeout_ns = ACTION_TIMEOUT_DEFAULT;
	tm = r == 0 ? map_get(v, "timeout") : NULL;
	if (tm) {
		c->key = "timeout";
		r = read_duration(c, tm, &a->timeout_ns, true);
	}
	where_pop(c, saved);
	return r;
}

static int can_interval(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_rpo *rpo = obj;
	int r = read_duration(c, v, &rpo->canary.interval_ns, true);

	if (r == 0 && rpo->canary.interval_ns < 10 * FD_NS_PER_MS)
		r = fail(c, v, "interval: must be at least 10ms, got \"%s\"", v->str);
	return r;
}

static int can_write(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_action(c, v, &((struct scenario_rpo *)obj)->canary.write, write_keys);
}

/* "ts", "data.items.0.ts", "$.ts": dot-separated, no empty part. */
static bool json_path_ok(const char *p)
{
	if (strncmp(p, "$.", 2) == 0)
		p += 2;
	if (*p == '\0' || *p == '.')
		return false;
	for (; *p; p++)
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return false;
	return true;
}

/* The read-back check: value-json or value-match, and expect-value. */
static int read_check(struct lctx *c, const struct ynode *v, struct scenario_rpo *rpo)
{
	const struct ynode *js = map_get(v, "value-json"), *vm = map_get(v, "value-match");
	const struct ynode *ev = map_get(v, "expect-value");
	char saved[sizeof(c->where)];
	int r = 0;

	where_push(c, saved, sizeof(saved), "read");
	if (js && vm)
		r = fail(c, map_key_node(v, "value-match"),
			 "value-json and value-match: use one or the other");
	if (r == 0 && js) {
		c->key = "value-json";
		r = read_str(c, js, &rpo->canary.value_json);
		if (r == 0 && !json_path_ok(js->str))
			r = fail(c, js, "value-json: expected a dotted path such as ts or data.items.0.ts, got \"%s\"",
				 js->str);
	}
	if (r == 0 && vm) {
		c->key = "value-match";
		r = read_regex(c, vm, &rpo->canary.value_match, 0);
	}
	if (r == 0 && ev) {
		c->key = "expect-value";
		r = read_str(c, ev, &rpo->canary.expect_value);
	} else if (r == 0 && (js || vm) && !(rpo->canary.expect_value = strdup("{{ts}}"))) {
		r = nomem(c);
	}
	where_pop(c, saved);
	return r;
}

static int can_read(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_rpo *rpo = obj;
	int r = read_action(c, v, &rpo->canary.read, read_keys);

	return r ? r : read_check(c, v, rpo);
}

static const struct field canary_fields[] = {
	{ "interval", can_interval, 0, 0, false },
	{ "write", can_write, ALL_KINDS, 0, false },
	{ "read", can_read, ALL_KINDS, 0, false },
};

static int rpo_canary(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_rpo *rpo = obj;
	char saved[sizeof(c->where)];
	int r;

	rpo->has_canary = true;
	rpo->canary.interval_ns = 200 * FD_NS_PER_MS;
	where_push(c, saved, sizeof(saved), "canary");
	r = walk_map(c, v, canary_fields, N_ELEM(canary_fields), rpo, ALL_KINDS, NULL, NULL);
	where_pop(c, saved);
	return r;
}

static int rpo_query(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_rpo *rpo = obj;
	const struct ynode *vm;
	int r;

	rpo->has_query = true;
	r = read_action(c, v, &rpo->query.action, query_keys);
	vm = r == 0 ? map_get(v, "value-match") : NULL;
	if (vm) {
		char saved[sizeof(c->where)];

		where_push(c, saved, sizeof(saved), "query");
		c->key = "value-match";
		r = read_regex(c, vm, &rpo->query.value_match, 1);
		where_pop(c, saved);
	}
	return r;
}

static const struct field rpo_fields[] = {
	{ "canary", rpo_canary, 0, 0, false },
	{ "query", rpo_query, 0, 0, false },
};

static int s_rpo(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	char saved[sizeof(c->where)];
	int r;

	where_push(c, saved, sizeof(saved), "rpo");
	r = walk_map(c, v, rpo_fields, N_ELEM(rpo_fields), &s->rpo, ALL_KINDS, NULL, NULL);
	if (r == 0 && !s->rpo.has_canary && !s->rpo.has_query)
		r = fail(c, v, "needs canary: or query: (how data loss is measured)");
	where_pop(c, saved);
	return r;
}

/* ------------------------------------------------------------------ notify */

static int n_webhook_env(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_notify *n = obj;
	int r = read_scalar(c, v, "an environment variable name");

	if (r == 0 && !scenario_value_is_env_name(v->str))
		r = fail(c, v, "webhook-env: expected the NAME of an environment variable (such as SLACK_WEBHOOK_URL), got \"%s\"",
			 v->str);
	return r ? r : read_str(c, v, &n->webhook_env);
}

static int n_literal_url(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)obj;
	return fail(c, v,
		    "%s: a webhook URL is a secret and a scenario is stored in the database and in evidence reports; put the URL in an environment variable and name it with webhook-env",
		    c->key);
}

static int n_events(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_notify *n = obj;
	struct ynode *const *items;
	struct ynode *one;
	size_t count;
	int r = as_list(c, v, &items, &count, &one);

	if (r)
		return r;
	if (count == 0)
		return fail(c, v, "events: the list is empty");
	for (size_t i = 0; i < count && r == 0; i++) {
		const char *hint;
		char list[128];
		size_t e;

		r = read_scalar(c, items[i], "an event name");
		for (e = 0; r == 0 && e < N_ELEM(notify_event_names); e++)
			if (strcmp(items[i]->str, notify_event_names[e]) == 0)
				break;
		if (r || e < N_ELEM(notify_event_names)) {
			n->events |= r ? 0 : 1u << e;
			continue;
		}
		hint = scenario_value_suggest(items[i]->str, notify_event_names,
					      N_ELEM(notify_event_names));
		if (hint)
			r = fail(c, items[i], "events: unknown event \"%s\" (did you mean \"%s\"?)",
				 items[i]->str, hint);
		else
			r = fail(c, items[i], "events: unknown event \"%s\" (expected one of: %s)",
				 items[i]->str,
				 join_names(notify_event_names, N_ELEM(notify_event_names), list,
					    sizeof(list)));
	}
	return r;
}

static const struct field notify_fields[] = {
	{ "webhook-env", n_webhook_env, ALL_KINDS, 0, false },
	{ "events", n_events, 0, 0, false },
	{ "webhook", n_literal_url, 0, 0, true },
	{ "webhook-url", n_literal_url, 0, 0, true },
	{ "url", n_literal_url, 0, 0, true },
};

static int s_notify(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	char saved[sizeof(c->where)], buf[80];
	int r = 0;

	if (v->type != YNODE_SEQ)
		return fail(c, v, "notify: expected a list of {webhook-env, events}, got %s",
			    describe(v, buf, sizeof(buf)));
	s->notify = calloc(v->n_kids ? v->n_kids : 1, sizeof(*s->notify));
	if (!s->notify)
		return nomem(c);
	s->n_notify = v->n_kids;
	where_push(c, saved, sizeof(saved), "notify");
	for (size_t i = 0; i < v->n_kids && r == 0; i++) {
		r = walk_map(c, v->kids[i], notify_fields, N_ELEM(notify_fields), &s->notify[i],
			     ALL_KINDS, NULL, NULL);
		if (r == 0 && !s->notify[i].events)
			s->notify[i].events = NOTIFY_START | NOTIFY_INJECTED | NOTIFY_RECOVERED |
					      NOTIFY_OBJECTIVES_MISSED | NOTIFY_END;
	}
	where_pop(c, saved);
	return r;
}

/* --------------------------------------------------------------- top level */

static int s_name(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_name(c, v, &((struct scenario *)obj)->name, 64);
}

static int s_description(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario *)obj)->description);
}

static int s_environment(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_str(c, v, &((struct scenario *)obj)->environment);
}

static int s_iterations(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	long n;
	int r = read_scalar(c, v, "a number of iterations");

	if (r)
		return r;
	if (scenario_value_int(v->str, 1, 1000, &n))
		return fail(c, v, "iterations: expected a whole number 1-1000, got \"%s\"", v->str);
	s->iterations = (unsigned)n;
	return 0;
}

static int s_cool_down(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_duration(c, v, &((struct scenario *)obj)->cool_down_ns, false);
}

static int o_rto(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;

	s->has_rto_objective = true;
	return read_duration(c, v, &s->rto_objective_ns, false);
}

static int o_rpo(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;

	s->has_rpo_objective = true;
	return read_duration(c, v, &s->rpo_objective_ns, false);
}

static const struct field objectives_fields[] = {
	{ "rto", o_rto, 0, 0, false },
	{ "rpo", o_rpo, 0, 0, false },
};

static int s_objectives(struct lctx *c, const struct ynode *v, void *obj)
{
	char saved[sizeof(c->where)];
	int r;

	where_push(c, saved, sizeof(saved), "objectives");
	r = walk_map(c, v, objectives_fields, N_ELEM(objectives_fields), obj, ALL_KINDS, NULL,
		     NULL);
	where_pop(c, saved);
	return r;
}

static int sc_netns(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	int r = read_scalar(c, v, "a network namespace name");

	if (r == 0 && (v->len > 64 || strchr(v->str, '/') || strcmp(v->str, ".") == 0 ||
		       strcmp(v->str, "..") == 0 || strpbrk(v->str, " \t\n")))
		r = fail(c, v, "netns: expected the name of a namespace under /run/netns, got \"%s\"",
			 v->str);
	return r ? r : read_str(c, v, &s->netns);
}

static const struct field scope_fields[] = {
	{ "netns", sc_netns, ALL_KINDS, 0, false },
};

static int s_scope(struct lctx *c, const struct ynode *v, void *obj)
{
	char saved[sizeof(c->where)];
	int r;

	where_push(c, saved, sizeof(saved), "scope");
	r = walk_map(c, v, scope_fields, N_ELEM(scope_fields), obj, ALL_KINDS, NULL, NULL);
	where_pop(c, saved);
	return r;
}

/* Table order is the order sections are read: probes before references. */
static const struct field scenario_fields[] = {
	{ "name", s_name, ALL_KINDS, 0, false },
	{ "description", s_description, 0, 0, false },
	{ "environment", s_environment, 0, 0, false },
	{ "iterations", s_iterations, 0, 0, false },
	{ "cool-down", s_cool_down, 0, 0, false },
	{ "objectives", s_objectives, 0, 0, false },
	{ "scope", s_scope, 0, 0, false },
	{ "probes", s_probes, ALL_KINDS, 0, false },
	{ "faults", s_faults, ALL_KINDS, 0, false },
	{ "steady-state", s_steady_state, 0, 0, false },
	{ "stop-if-failing", s_stop_if, 0, 0, false },
	{ "recovery", s_recovery, ALL_KINDS, 0, false },
	{ "rpo", s_rpo, 0, 0, false },
	{ "failback", s_failback, 0, 0, false },
	{ "notify", s_notify, 0, 0, false },
};

/* ------------------------------------------------------------ entry points */

static int fill_text(struct lctx *c, struct scenario *s, const char *name, const char *buf,
		     size_t len)
{
	unsigned char hash[crypto_hash_sha256_BYTES];

	s->path = strdup(name);
	s->text = malloc(len + 1);
	s->environment = strdup("default");
	if (!s->path || !s->text || !s->environment)
		return nomem(c);
	if (len)
		memcpy(s->text, buf, len);
	s->text[len] = '\0';
	s->text_len = len;
	s->iterations = 1;
	crypto_hash_sha256(hash, (const unsigned char *)buf, len);
	sodium_bin2hex(s->sha256, sizeof(s->sha256), hash, sizeof(hash));
	return 0;
}

/* "dir/" for "dir/x.yaml", "" for "x.yaml". */
static char *dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');

	return strndup(name, slash ? (size_t)(slash - name) + 1 : 0);
}

int scenario_load_buffer(const char *name, const char *buf, size_t len, struct scenario **out,
			 struct fd_error *err)
{
	struct ytree tree = { 0 };
	struct scenario *s = NULL;
	struct lctx c = { .file = name, .err = err };
	char *dir = NULL;
	int r;

	*out = NULL;
	fd_error_clear(err);
	r = scenario_tree_parse(&tree, name, buf, len, err);
	if (r)
		return r;
	s = calloc(1, sizeof(*s));
	dir = dir_of(name);
	if (!s || !dir) {
		r = nomem(&c);
		goto cleanup;
	}
	c.s = s;
	c.dir = dir;
	r = fill_text(&c, s, name, buf, len);
	if (r)
		goto cleanup;
	if (!tree.root) {
		r = fail(&c, NULL, "the file is empty (expected a scenario: name:, faults:, probes:, recovery:)");
		goto cleanup;
	}
	if (tree.root->type != YNODE_MAP) {
		char b[80];

		r = fail(&c, tree.root, "a scenario is a mapping (name:, faults:, probes:, recovery:), got %s",
			 describe(tree.root, b, sizeof(b)));
		goto cleanup;
	}
	r = walk_map(&c, tree.root, scenario_fields, N_ELEM(scenario_fields), s, ALL_KINDS, NULL,
		     NULL);
cleanup:
	scenario_tree_free(&tree);
	free(dir);
	if (r)
		scenario_free(s);
	else
		*out = s;
	return r;
}

static int read_file(const char *path, char **buf, size_t *len, struct fd_error *err)
{
	struct stat st;
	size_t cap = SCENARIO_MAX_BYTES + 1, n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int r = 0;

	*buf = NULL;
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "%s: error: cannot open: %s", path,
				    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: error: not a regular file", path);
		goto cleanup;
	}
	/* As sudo and sshd do with their configs: whoever can write the file
	 * would choose what root breaks and which commands it runs. */
	if (geteuid() == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		r = fd_error_set(err, FD_ERR_INPUT, -EPERM,
				 "%s: error: file is writable by %s (mode %04o) and firedrill runs as root; "
				 "refusing it (chmod go-w %s)",
				 path, (st.st_mode & S_IWOTH) ? "other users" : "its group",
				 (unsigned)(st.st_mode & 07777), path);
		goto cleanup;
	}
	if (st.st_size > SCENARIO_MAX_BYTES) {
		r = fd_error_set(err, FD_ERR_INPUT, -EFBIG,
				 "%s:1:1: error: file is %lld bytes; a scenario may be at most 1 MiB",
				 path, (long long)st.st_size);
		goto cleanup;
	}
	*buf = malloc(cap);
	if (!*buf) {
		r = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	/* read one byte past the limit: the file may have grown since fstat */
	while (n < cap) {
		ssize_t got = read(fd, *buf + n, cap - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = fd_error_set(err, FD_ERR_ENV, -errno, "%s: error: cannot read: %s", path,
					 strerror(errno));
			goto cleanup;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	*len = n;
cleanup:
	close(fd);
	if (r) {
		free(*buf);
		*buf = NULL;
	}
	return r;
}

int scenario_load(const char *path, struct scenario **out, struct fd_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	fd_error_clear(err);
	r = read_file(path, &buf, &len, err);
	if (r == 0)
		r = scenario_load_buffer(path, buf, len, out, err);
	free(buf);
	return r;
}

long scenario_find_probe(const struct scenario *s, const char *id)
{
	for (size_t i = 0; i < s->n_probes; i++)
		if (s->probes[i].id && strcmp(s->probes[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* ------------------------------------------------------------------- free */

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void free_http(struct scenario_http *h)
{
	free(h->method);
	free(h->url);
	free_strv(h->headers, h->n_headers);
	free(h->body);
	free(h->expect_status);
	free(h->body_match);
	free(h->ca_file);
}

static void free_command(struct scenario_command *cmd)
{
	free(cmd->run);
	free(cmd->stdout_match);
}

static void free_action(struct scenario_action *a)
{
	free_http(&a->http);
	free_command(&a->command);
}

static void free_fault(struct scenario_fault *f)
{
	free(f->id);
	free(f->targets.cidrs);
	free_strv(f->targets.hosts, f->targets.n_hosts);
	if (f->targets.prefix_list) {
		free(f->targets.prefix_list->file);
		free(f->targets.prefix_list->service);
		free(f->targets.prefix_list->region);
		free(f->targets.prefix_list);
	}
	free(f->targets.ports);
	free(f->link);
	free(f->process.match);
	free(f->process.pidfile);
	free(f->cgroup);
	free(f->inject_cmd);
	free(f->revert_cmd);
}

static void free_probe(struct scenario_probe *p)
{
	free(p->id);
	free_http(&p->http);
	free(p->tcp.host);
	free(p->dns.name);
	free(p->dns.expect_in);
	free_command(&p->command);
	free(p->log.path);
	free(p->log.match);
	free(p->log.fail_match);
	free(p->pcap.interface);
	free(p->pcap.filter);
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->text);
	free(s->name);
	free(s->description);
	free(s->environment);
	free(s->netns);
	for (size_t i = 0; s->faults && i < s->n_faults; i++)
		free_fault(&s->faults[i]);
	free(s->faults);
	for (size_t i = 0; s->probes && i < s->n_probes; i++)
		free_probe(&s->probes[i]);
	free(s->probes);
	free(s->steady_state);
	free(s->stop_if);
	free(s->recovery.probes);
	for (size_t i = 0; s->steps && i < s->n_steps; i++) {
		free(s->steps[i].name);
		free(s->steps[i].run);
	}
	free(s->steps);
	free_action(&s->rpo.canary.write);
	free_action(&s->rpo.canary.read);
	free(s->rpo.canary.value_json);
	free(s->rpo.canary.value_match);
	free(s->rpo.canary.expect_value);
	free_action(&s->rpo.query.action);
	free(s->rpo.query.value_match);
	free(s->failback.probes);
	for (size_t i = 0; s->notify && i < s->n_notify; i++)
		free(s->notify[i].webhook_env);
	free(s->notify);
	free(s);
}

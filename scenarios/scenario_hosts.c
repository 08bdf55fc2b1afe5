/*
 * scenario_hosts: the fleet part of the language (docs/fleet.md). The
 * hosts: list and the fleet: section of a scenario, the same two keys as
 * an inventory file of their own (--inventory FILE), and a fault's on:,
 * resolved against whichever inventory the drill uses.
 *
 * A fault's on: is read with the fault; it names hosts, "group:G" and
 * "local". When the scenario has hosts: the names are resolved at load, so
 * that a typo is an error at its line and column. Without hosts: a remote
 * name waits for an inventory (scenario_use_inventory), which resolves it
 * with the same FILE:LINE:COL of the scenario.
 */
#include "scenario_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"
#include "scenario_values.h"

#define LEASE_MIN_NS FD_NS_PER_S
#define LEASE_MAX_NS (600 * FD_NS_PER_S)

/* ------------------------------------------------------------------ hosts */

/* A path relative to the file's folder, as prefix-list files are. */
static int read_path(struct lctx *c, const struct ynode *v, char **out)
{
	int r = scenario_read_scalar(c, v, "a file path");

	if (r)
		return r;
	if (v->str[0] == '/' || v->str[0] == '~' || !*c->dir)
		return scenario_read_str(c, v, out);
	if (asprintf(out, "%s%s", c->dir, v->str) < 0) {
		*out = NULL;
		return scenario_nomem(c);
	}
	return 0;
}

static int h_name(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_host *h = obj;
	int r = scenario_read_name(c, v, &h->name, 63);

	if (r == 0 && strcmp(h->name, "local") == 0)
		r = scenario_fail(c, v, "name: \"local\" is reserved (on: local means the coordinator's own host)");
	return r;
}

/* An ssh destination: never an option ("-oProxyCommand=..."), no spaces. */
static bool is_destination(const char *s)
{
	return *s && *s != '-' && !strpbrk(s, " \t\n\r'\"\\;|&$`");
}

static int h_ssh(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_checked(c, v, &((struct scenario_host *)obj)->ssh, is_destination,
				     "an ssh destination",
				     "an ssh destination such as root@app-1.example.com or an ssh_config Host (no spaces, not starting with '-')");
}

static int h_port(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_port(c, v, &((struct scenario_host *)obj)->port);
}

static int h_identity(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_path(c, v, &((struct scenario_host *)obj)->identity);
}

static int h_netns(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_netns_name(c, v, &((struct scenario_host *)obj)->netns);
}

static int h_firedrill(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_host *h = obj;
	int r = scenario_read_scalar(c, v, "a command");

	free(h->firedrill); /* the default */
	h->firedrill = NULL;
	return r ? r : scenario_read_str(c, v, &h->firedrill);
}

static int group_item(struct lctx *c, const struct ynode *v, void *out)
{
	return scenario_read_name(c, v, out, 63);
}

static int h_groups(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_host *h = obj;

	return scenario_read_strs(c, v, &h->groups, &h->n_groups, group_item);
}

static const struct field host_fields[] = {
	{ "name", h_name, ALL_KINDS, 0, false },
	{ "ssh", h_ssh, ALL_KINDS, 0, false },
	{ "port", h_port, 0, 0, false },
	{ "identity", h_identity, 0, 0, false },
	{ "netns", h_netns, 0, 0, false },
	{ "firedrill", h_firedrill, 0, 0, false },
	{ "groups", h_groups, 0, 0, false },
};

/* The inventory being read: a scenario's own, or an --inventory file's. */
struct inv_read {
	struct scenario_inventory *inv;
};

static int read_host(struct lctx *c, const struct ynode *map, void *obj)
{
	struct scenario_host *h = obj;
	const struct ynode *name = scenario_map_get(map, "name");
	char saved[sizeof(c->where)];
	int r;

	if (map->type != YNODE_MAP)
		return scenario_expect_map(c, map);
	if (name && name->type == YNODE_SCALAR && name->len <= 64 && strlen(name->str) == name->len)
		scenario_where_push(c, saved, sizeof(saved), "host \"%s\"", name->str);
	else
		scenario_where_push(c, saved, sizeof(saved), "host #%zu", c->index + 1);
	h->loc.line = map->line;
	h->loc.col = map->col;
	h->firedrill = strdup("firedrill");
	if (!h->firedrill)
		return scenario_nomem(c);
	r = scenario_walk(c, map, host_fields, N_ELEM(host_fields), h, ALL_KINDS, NULL, NULL);
	scenario_where_pop(c, saved);
	return r;
}

/* Duplicate names, and a group named like a host (on: would be ambiguous
 * only for a reader: group: says which one is meant, but say it plainly). */
static int check_hosts(struct lctx *c, const struct ynode *v, const struct scenario_inventory *inv)
{
	for (size_t i = 1; i < inv->n_hosts; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(inv->hosts[i].name, inv->hosts[j].name) == 0)
				return scenario_fail(c, v->kids[i],
						     "hosts: host \"%s\" is listed twice (first at line %d)",
						     inv->hosts[i].name, inv->hosts[j].loc.line);
	return 0;
}

static int read_hosts_into(struct lctx *c, const struct ynode *v, struct scenario_inventory *inv)
{
	static const struct list_spec spec = {
		.size = sizeof(struct scenario_host), .item = read_host,
		.what = "a list of hosts (name:, ssh:)",
	};
	int r = scenario_read_list(c, v, &spec, (void **)&inv->hosts, &inv->n_hosts);

	return r ? r : check_hosts(c, v, inv);
}

static int fl_lease(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_inventory *inv = obj;
	int r = scenario_read_duration(c, v, &inv->lease_ns, true);

	if (r == 0 && (inv->lease_ns < LEASE_MIN_NS || inv->lease_ns > LEASE_MAX_NS))
		r = scenario_fail(c, v, "lease: expected 1s to 10m, got \"%s\"", v->str);
	return r;
}

static int fl_ssh_config(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_path(c, v, &((struct scenario_inventory *)obj)->ssh_config);
}

static const struct field fleet_fields[] = {
	{ "lease", fl_lease, 0, 0, false },
	{ "ssh-config", fl_ssh_config, 0, 0, false },
};

const struct key_table *scenario_tables_hosts(size_t *n)
{
	static const struct key_table tables[] = {
		{ "host", host_fields, N_ELEM(host_fields) },
		{ "fleet", fleet_fields, N_ELEM(fleet_fields) },
	};

	*n = N_ELEM(tables);
	return tables;
}

int scenario_read_hosts(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_hosts_into(c, v, &((struct scenario *)obj)->inventory);
}

int scenario_read_fleet(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk_section(c, "fleet", v, fleet_fields, N_ELEM(fleet_fields),
				     &((struct scenario *)obj)->inventory);
}

/* -------------------------------------------------------------------- on: */

/* "app-1", "group:app" or "local". */
static bool is_on_name(const char *s)
{
	if (strncmp(s, "group:", 6) == 0)
		s += 6;
	return strlen(s) <= 63 && scenario_value_is_name(s);
}

static int on_item(struct lctx *c, const struct ynode *v, void *out)
{
	return scenario_read_checked(c, v, out, is_on_name, "a host",
				     "a host name, group:NAME or local");
}

int scenario_read_on(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_fault *f = obj;
	struct ynode *const *items;
	struct ynode *one;
	size_t n = 0;
	static const struct list_spec spec = { .size = sizeof(char *), .item = on_item,
					       .one_ok = true, .what = "a list of hosts" };
	int r = scenario_list_items(c, v, &spec, &items, &n, &one);

	if (r)
		return r;
	f->on_loc = calloc(n ? n : 1, sizeof(*f->on_loc));
	if (!f->on_loc)
		return scenario_nomem(c);
	for (size_t i = 0; i < n; i++)
		f->on_loc[i] = (struct scenario_loc){ items[i]->line, items[i]->col };
	return scenario_read_list(c, v, &spec, (void **)&f->on, &f->n_on);
}

static int on_fail(const char *file, const struct scenario_fault *f, size_t i,
		   struct fd_error *err, const char *msg)
{
	return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s:%d:%d: error: fault \"%s\": on: %s",
			    file, f->on_loc[i].line, f->on_loc[i].col, f->id, msg);
}

/* Names of the inventory's hosts (or groups), for "expected one of". */
static const char *list_names(const struct scenario_inventory *inv, bool groups, char *buf,
			      size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < inv->n_hosts && off < len; i++) {
		const struct scenario_host *h = &inv->hosts[i];

		for (size_t g = 0; g < (groups ? h->n_groups : 1) && off < len; g++) {
			const char *name = groups ? h->groups[g] : h->name;

			if (groups && strstr(buf, name))
				continue; /* listed already (good enough for a hint) */
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", name);
		}
	}
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}

static bool host_in_group(const struct scenario_host *h, const char *g)
{
	for (size_t i = 0; i < h->n_groups; i++)
		if (strcmp(h->groups[i], g) == 0)
			return true;
	return false;
}

/*
 * Resolves one fault's on: against inv into mark[] (one flag per host).
 * pending: names inv lacks are left for a later inventory rather than
 * refused (a scenario without hosts:).
 */
static int resolve_fault(const char *file, struct scenario_fault *f,
			 const struct scenario_inventory *inv, bool pending, bool *mark,
			 struct fd_error *err)
{
	char names[400], msg[900];

	f->on_local = f->n_on == 0;
	for (size_t i = 0; i < f->n_on; i++) {
		const char *on = f->on[i];
		bool found = false;

		if (strcmp(on, "local") == 0) {
			f->on_local = true;
			continue;
		}
		if (pending && inv->n_hosts == 0)
			return 1;
		if (strncmp(on, "group:", 6) == 0) {
			for (size_t h = 0; h < inv->n_hosts; h++)
				if (host_in_group(&inv->hosts[h], on + 6))
					mark[h] = found = true;
			if (!found) {
				snprintf(msg, sizeof(msg), "no host is in group \"%s\" (groups%s%s: %s)",
					 on + 6, inv->path ? " in " : "", inv->path ? inv->path : "",
					 list_names(inv, true, names, sizeof(names)));
				return on_fail(file, f, i, err, msg);
			}
			continue;
		}
		for (size_t h = 0; h < inv->n_hosts; h++)
			if (strcmp(inv->hosts[h].name, on) == 0)
				mark[h] = found = true;
		if (!found) {
			snprintf(msg, sizeof(msg), "unknown host \"%s\" (hosts%s%s: %s)", on,
				 inv->path ? " in " : "", inv->path ? inv->path : "",
				 list_names(inv, false, names, sizeof(names)));
			return on_fail(file, f, i, err, msg);
		}
	}
	return 0;
}

static int resolve_all(const char *file, struct scenario *s, bool pending, struct fd_error *err)
{
	const struct scenario_inventory *inv = &s->inventory;
	bool *mark = calloc(inv->n_hosts + 1, sizeof(*mark));
	int r = 0;

	if (!mark)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "%s: out of memory", file);
	for (size_t i = 0; i < s->n_faults && r >= 0; i++) {
		struct scenario_fault *f = &s->faults[i];
		size_t n = 0;

		memset(mark, 0, (inv->n_hosts + 1) * sizeof(*mark));
		free(f->on_hosts);
		f->on_hosts = NULL;
		f->n_on_hosts = 0;
		f->on_resolved = false;
		r = resolve_fault(file, f, inv, pending, mark, err);
		if (r > 0) {
			r = 0; /* waits for an inventory */
			continue;
		}
		if (r < 0)
			break;
		f->on_hosts = calloc(inv->n_hosts + 1, sizeof(*f->on_hosts));
		if (!f->on_hosts) {
			r = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "%s: out of memory", file);
			break;
		}
		for (size_t h = 0; h < inv->n_hosts; h++)
			if (mark[h])
				f->on_hosts[n++] = h;
		f->n_on_hosts = n;
		f->on_resolved = true;
	}
	free(mark);
	return r;
}

int scenario_resolve_on(struct lctx *c, struct scenario *s)
{
	if (s->inventory.lease_ns == 0)
		s->inventory.lease_ns = SCENARIO_LEASE_DEFAULT_NS;
	/* without hosts: a remote name waits for --inventory */
	return resolve_all(c->file, s, s->inventory.n_hosts == 0, c->err);
}

/* -------------------------------------------------------- inventory files */

static int inv_hosts(struct lctx *c, const struct ynode *v, void *obj)
{
	return read_hosts_into(c, v, obj);
}

static int inv_fleet(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk_section(c, "fleet", v, fleet_fields, N_ELEM(fleet_fields), obj);
}

static const struct field inventory_fields[] = {
	{ "hosts", inv_hosts, ALL_KINDS, 0, false },
	{ "fleet", inv_fleet, 0, 0, false },
};

static char *dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');

	return strndup(name, slash ? (size_t)(slash - name) + 1 : 0);
}

int scenario_inventory_load(const char *path, struct scenario_inventory *inv,
			    struct fd_error *err)
{
	struct ytree tree = { 0 };
	struct scenario dummy = { 0 }; /* the walker's context wants a scenario */
	struct lctx c = { .file = path, .err = err, .s = &dummy };
	char *buf = NULL, *dir = NULL;
	size_t len = 0;
	int r;

	memset(inv, 0, sizeof(*inv));
	fd_error_clear(err);
	r = scenario_read_file(path, &buf, &len, err);
	if (r == 0)
		r = scenario_tree_parse(&tree, path, buf, len, err);
	if (r)
		goto cleanup;
	dir = dir_of(path);
	inv->path = strdup(path);
	if (!dir || !inv->path) {
		r = scenario_nomem(&c);
		goto cleanup;
	}
	c.dir = dir;
	if (!tree.root || tree.root->type != YNODE_MAP) {
		r = scenario_fail(&c, tree.root,
				  "an inventory is a mapping with hosts: (name:, ssh:, groups: ...) and optionally fleet:");
		goto cleanup;
	}
	r = scenario_walk(&c, tree.root, inventory_fields, N_ELEM(inventory_fields), inv,
			  ALL_KINDS, NULL, NULL);
	if (r == 0 && inv->lease_ns == 0)
		inv->lease_ns = SCENARIO_LEASE_DEFAULT_NS;
cleanup:
	scenario_tree_free(&tree);
	free(buf);
	free(dir);
	if (r)
		scenario_inventory_free(inv);
	return r;
}

static void free_host(struct scenario_host *h)
{
	free(h->name);
	free(h->ssh);
	free(h->identity);
	free(h->netns);
	free(h->firedrill);
	for (size_t i = 0; i < h->n_groups; i++)
		free(h->groups[i]);
	free(h->groups);
}

void scenario_inventory_free(struct scenario_inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; inv->hosts && i < inv->n_hosts; i++)
		free_host(&inv->hosts[i]);
	free(inv->hosts);
	free(inv->path);
	free(inv->ssh_config);
	memset(inv, 0, sizeof(*inv));
}

int scenario_use_inventory(struct scenario *s, struct scenario_inventory *inv,
			   struct fd_error *err)
{
	fd_error_clear(err);
	scenario_inventory_free(&s->inventory);
	s->inventory = *inv;
	memset(inv, 0, sizeof(*inv));
	if (s->inventory.lease_ns == 0)
		s->inventory.lease_ns = SCENARIO_LEASE_DEFAULT_NS;
	return resolve_all(s->path, s, false, err);
}

/* ----------------------------------------------------------------- queries */

bool scenario_fault_is_local(const struct scenario_fault *f)
{
	return f->n_on == 0 || f->on_local;
}

bool scenario_fault_on_host(const struct scenario_fault *f, size_t h)
{
	for (size_t i = 0; f->on_resolved && i < f->n_on_hosts; i++)
		if (f->on_hosts[i] == h)
			return true;
	return false;
}

bool scenario_is_fleet(const struct scenario *s)
{
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct scenario_fault *f = &s->faults[i];

		if (f->n_on_hosts || (f->n_on && !f->on_resolved))
			return true;
		for (size_t j = 0; j < f->n_on; j++)
			if (strcmp(f->on[j], "local") != 0)
				return true;
	}
	return false;
}

void scenario_keep_faults(struct scenario *s,
			  bool (*keep)(const struct scenario_fault *f, void *arg), void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_faults; i++) {
		if (keep(&s->faults[i], arg))
			s->faults[n++] = s->faults[i];
		else
			scenario_fault_free(&s->faults[i]);
	}
	s->n_faults = n;
}

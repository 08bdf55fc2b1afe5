/*
 * The scenario loader's top level: the keys of a scenario and the order
 * its sections are read in, the entry points (file -> tree -> model), and
 * freeing the model. How a mapping is walked and how each section is read
 * is in scenario_load.h and the scenario_*.c file of the section.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario_load.h"
#include "scenario_values.h"

/* --------------------------------------------------------------- top level */

static int s_name(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_name(c, v, &((struct scenario *)obj)->name, 64);
}

static int s_description(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario *)obj)->description);
}

static int s_scope_rationale(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario *)obj)->scope_rationale);
}

static int team_item(struct lctx *c, const struct ynode *v, void *out)
{
	return scenario_read_name(c, v, out, 63);
}

/* team: the roles a drill of this scenario expects (incident-commander, scribe, ...). */
static int s_team(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	int r = scenario_read_strs(c, v, &s->team, &s->n_team, team_item);

	/* one scalar is a team of one; a list item i was read into team[i] */
	for (size_t i = 1; !r && v->type == YNODE_SEQ && i < s->n_team; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->team[i], s->team[j]) == 0)
				return scenario_fail(c, v->kids[i], "team: role \"%s\" is listed twice",
						     s->team[i]);
	return r;
}

static int s_environment(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario *)obj)->environment);
}

static int s_iterations(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	long n;
	int r = scenario_read_scalar(c, v, "a number of iterations");

	if (r)
		return r;
	if (scenario_value_int(v->str, 1, 1000, &n))
		return scenario_fail(c, v, "iterations: expected a whole number 1-1000, got \"%s\"",
				     v->str);
	s->iterations = (unsigned)n;
	return 0;
}

static int s_cool_down(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario *)obj)->cool_down_ns, false);
}

static int o_rto(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;

	s->has_rto_objective = true;
	return scenario_read_duration(c, v, &s->rto_objective_ns, false);
}

static int o_rpo(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;

	s->has_rpo_objective = true;
	return scenario_read_duration(c, v, &s->rpo_objective_ns, false);
}

static const struct field objectives_fields[] = {
	{ "rto", o_rto, 0, 0, false },
	{ "rpo", o_rpo, 0, 0, false },
};

static int s_objectives(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk_section(c, "objectives", v, objectives_fields,
				     N_ELEM(objectives_fields), obj);
}

/* Freshness is counted in whole days (docs/reports.md), so is its period. */
static int s_prove_every(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	int r = scenario_read_duration(c, v, &s->prove_every_ns, true);

	if (r == 0 && s->prove_every_ns % SCENARIO_DAY_NS != 0)
		r = scenario_fail(c, v,
				  "%s: expected a whole number of days such as 30d or 90d, got \"%s\"",
				  c->key, v->str);
	return r;
}

static int sc_netns(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_netns_name(c, v, &((struct scenario *)obj)->netns);
}

static int sc_netns_path(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_netns_path(c, v, &((struct scenario *)obj)->netns_path);
}

static int sc_pid(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_place_pid(c, v, &((struct scenario *)obj)->scope_pid);
}

static int sc_container(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_container(c, v, &((struct scenario *)obj)->container);
}

static int sc_engine(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_engine(c, v, &((struct scenario *)obj)->engine);
}

static int sc_probes_from(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario *s = obj;
	int r = scenario_read_scalar(c, v, "scope or host");

	if (r == 0 && strcmp(v->str, "scope") != 0 && strcmp(v->str, "host") != 0)
		r = scenario_fail(c, v, "probes-from: expected scope or host, got \"%s\"", v->str);
	if (r == 0)
		s->probes_from_host = strcmp(v->str, "host") == 0;
	return r;
}

static const struct field scope_fields[] = {
	{ "netns", sc_netns, 0, 0, false },
	{ "netns-path", sc_netns_path, 0, 0, false },
	{ "pid", sc_pid, 0, 0, false },
	{ "container", sc_container, 0, 0, false },
	{ "engine", sc_engine, 0, 0, false },
	{ "probes-from", sc_probes_from, 0, 0, false },
};

static int s_scope(struct lctx *c, const struct ynode *v, void *obj)
{
	int r = scenario_walk_section(c, "scope", v, scope_fields, N_ELEM(scope_fields), obj);

	if (r == 0 && v->type == YNODE_MAP)
		r = scenario_check_place(c, v, "scope");
	if (r == 0 && ((struct scenario *)obj)->probes_from_host && !scenario_has_scope(obj))
		r = scenario_fail(c, scenario_map_key(v, "probes-from"),
				  "scope: probes-from: host needs a place for the faults (netns, netns-path, "
				  "pid or container); without one everything runs here");
	return r;
}

bool scenario_has_scope(const struct scenario *s)
{
	return s->netns || s->netns_path || s->scope_pid || s->container;
}

/* Keys a drill needs and a hand injection does not (enum scenario_use). */
#define FOR_RUN BIT(SCENARIO_FOR_RUN)

/* Table order is the order sections are read: probes before references. */
static const struct field scenario_fields[] = {
	{ "name", s_name, ALL_KINDS, 0, false },
	{ "description", s_description, 0, 0, false },
	{ "scope-rationale", s_scope_rationale, 0, 0, false },
	{ "team", s_team, 0, 0, false },
	{ "environment", s_environment, 0, 0, false },
	{ "iterations", s_iterations, 0, 0, false },
	{ "cool-down", s_cool_down, 0, 0, false },
	{ "objectives", s_objectives, 0, 0, false },
	{ "prove-every", s_prove_every, 0, 0, false },
	{ "scope", s_scope, 0, 0, false },
	{ "hosts", scenario_read_hosts, 0, 0, false },
	{ "fleet", scenario_read_fleet, 0, 0, false },
	{ "probes", scenario_read_probes, FOR_RUN, 0, false },
	{ "faults", scenario_read_faults, ALL_KINDS, 0, false },
	{ "steady-state", scenario_read_steady_state, 0, 0, false },
	{ "stop-if-failing", scenario_read_stop_if, 0, 0, false },
	{ "recovery", scenario_read_recovery, FOR_RUN, 0, false },
	{ "rpo", scenario_read_rpo, 0, 0, false },
	{ "failback", scenario_read_failback, 0, 0, false },
	{ "notify", scenario_read_notify, 0, 0, false },
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
		return scenario_nomem(c);
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

/* The model of buf for use; errs (may be NULL) collects every error. */
static int load_buffer(const char *name, const char *buf, size_t len, enum scenario_use use,
		       struct scenario_errors *errs, struct scenario **out, struct fd_error *err)
{
	struct ytree tree = { 0 };
	struct scenario *s = NULL;
	struct lctx c = { .file = name, .err = err, .errs = errs };
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
		r = scenario_nomem(&c);
		goto cleanup;
	}
	c.s = s;
	c.dir = dir;
	r = fill_text(&c, s, name, buf, len);
	if (r)
		goto cleanup;
	if (!tree.root) {
		r = scenario_fail(&c, NULL,
				  "the file is empty (expected a scenario: name:, faults:, probes:, recovery:)");
		goto cleanup;
	}
	if (tree.root->type != YNODE_MAP) {
		char b[80];

		r = scenario_fail(&c, tree.root,
				  "a scenario is a mapping (name:, faults:, probes:, recovery:), got %s",
				  scenario_describe(tree.root, b, sizeof(b)));
		goto cleanup;
	}
	c.top = true;
	r = scenario_walk(&c, tree.root, scenario_fields, N_ELEM(scenario_fields), s, BIT(use),
			  use == SCENARIO_FOR_RUN ? "a drill (firedrill run)" : NULL, NULL);
	if (r == 0)
		r = scenario_resolve_on(&c, s);
	for (size_t i = 0; r == 0 && i < s->n_faults; i++)
		if (s->faults[i].kind == FAULT_PAUSE && !s->container &&
		    !s->faults[i].place.container)
			r = fd_error_set(err, FD_ERR_INPUT, -EINVAL,
					 "%s:%d:%d: error: fault \"%s\": kind pause freezes a container's "
					 "cgroup; it needs container: NAME (its own or scope's)", name,
					 s->faults[i].loc.line, s->faults[i].loc.col, s->faults[i].id);
cleanup:
	scenario_tree_free(&tree);
	free(dir);
	if (r)
		scenario_free(s);
	else
		*out = s;
	return r;
}

int scenario_load_buffer(const char *name, const char *buf, size_t len, struct scenario **out,
			 struct fd_error *err)
{
	return load_buffer(name, buf, len, SCENARIO_FOR_RUN, NULL, out, err);
}

int scenario_read_file(const char *path, char **buf, size_t *len, struct fd_error *err)
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

int scenario_load_for(const char *path, enum scenario_use use, struct scenario **out,
		      struct fd_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	fd_error_clear(err);
	r = scenario_read_file(path, &buf, &len, err);
	if (r == 0)
		r = load_buffer(path, buf, len, use, NULL, out, err);
	free(buf);
	return r;
}

int scenario_load(const char *path, struct scenario **out, struct fd_error *err)
{
	return scenario_load_for(path, SCENARIO_FOR_RUN, out, err);
}

static int by_position(const void *a, const void *b)
{
	const struct scenario_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

/* errs after a load that returned r with first set: sorted, never empty on failure. */
static int finish_check(struct scenario_errors *errs, int r, const struct fd_error *first)
{
	if (r == 0) {
		errs->n = 0;
		errs->truncated = false;
		return 0;
	}
	/* an error said before the walk (unreadable file, YAML syntax, out of memory) */
	if (errs->n == 0 || first->kind != FD_ERR_INPUT) {
		errs->n = 1;
		errs->truncated = false;
		errs->e[0].line = 0;
		errs->e[0].col = 0;
		errs->e[0].err = *first;
		return r;
	}
	/* insertion order breaks ties: qsort is not stable, so sort (line, col, index) */
	for (size_t i = 1; i < errs->n; i++) {
		struct scenario_error tmp = errs->e[i];
		size_t j = i;

		while (j > 0 && by_position(&errs->e[j - 1], &tmp) > 0) {
			errs->e[j] = errs->e[j - 1];
			j--;
		}
		errs->e[j] = tmp;
	}
	return r;
}

int scenario_check_buffer(const char *name, const char *buf, size_t len, enum scenario_use use,
			  struct scenario_errors *errs)
{
	struct scenario *s = NULL;
	struct fd_error first;
	int r;

	errs->n = 0;
	errs->truncated = false;
	r = load_buffer(name, buf, len, use, errs, &s, &first);
	scenario_free(s);
	return finish_check(errs, r, &first);
}

int scenario_check(const char *path, enum scenario_use use, struct scenario_errors *errs)
{
	struct fd_error first;
	char *buf = NULL;
	size_t len = 0;
	int r;

	errs->n = 0;
	errs->truncated = false;
	fd_error_clear(&first);
	r = scenario_read_file(path, &buf, &len, &first);
	if (r == 0) {
		r = scenario_check_buffer(path, buf, len, use, errs);
		free(buf);
		return r;
	}
	return finish_check(errs, r, &first);
}

long scenario_find_probe(const struct scenario *s, const char *id)
{
	for (size_t i = 0; i < s->n_probes; i++)
		if (s->probes[i].id && strcmp(s->probes[i].id, id) == 0)
			return (long)i;
	return -1;
}

bool scenario_probe_is_evidence(const struct scenario_probe *p)
{
	return p->kind == PROBE_PCAP && p->pcap.expect_none;
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
	for (size_t i = 0; i < h->n_headers_env; i++) {
		free(h->headers_env[i].name);
		free(h->headers_env[i].env);
	}
	free(h->headers_env);
	free(h->body);
	free(h->expect_status);
	free(h->body_match);
	free(h->ca_file);
}

static void free_command(struct scenario_command *cmd)
{
	free(cmd->run);
	free(cmd->stdout_match);
	free(cmd->no_answer_exit);
}

static void free_action(struct scenario_action *a)
{
	free_http(&a->http);
	free_command(&a->command);
	scenario_place_free(&a->place);
}

void scenario_fault_free(struct scenario_fault *f)
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
	free_strv(f->on, f->n_on);
	free(f->on_loc);
	free(f->on_hosts);
	scenario_place_free(&f->place);
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
	scenario_place_free(&p->place);
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->text);
	free(s->name);
	free(s->description);
	free(s->scope_rationale);
	for (size_t i = 0; i < s->n_team; i++)
		free(s->team[i]);
	free(s->team);
	free(s->environment);
	free(s->netns);
	free(s->netns_path);
	free(s->container);
	free(s->engine);
	for (size_t i = 0; s->faults && i < s->n_faults; i++)
		scenario_fault_free(&s->faults[i]);
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
		scenario_place_free(&s->steps[i].place);
	}
	free(s->steps);
	for (size_t i = 0; s->failback_steps && i < s->n_failback_steps; i++) {
		free(s->failback_steps[i].name);
		free(s->failback_steps[i].run);
		scenario_place_free(&s->failback_steps[i].place);
	}
	free(s->failback_steps);
	free_action(&s->rpo.canary.write);
	free_action(&s->rpo.canary.read);
	free(s->rpo.canary.value_json);
	free(s->rpo.canary.value_match);
	free(s->rpo.canary.expect_value);
	free_action(&s->rpo.query.action);
	free(s->rpo.query.value_match);
	free(s->failback.probes);
	for (size_t i = 0; s->notify && i < s->n_notify; i++) {
		free(s->notify[i].webhook_env);
		free(s->notify[i].secret_env);
	}
	free(s->notify);
	scenario_inventory_free(&s->inventory);
	free(s);
}

/* ------------------------------------------------------------ key tables */

const struct key_table *scenario_tables_top(size_t *n)
{
	static const struct key_table tables[] = {
		{ "scenario", scenario_fields, N_ELEM(scenario_fields) },
		{ "objectives", objectives_fields, N_ELEM(objectives_fields) },
		{ "scope", scope_fields, N_ELEM(scope_fields) },
	};

	*n = N_ELEM(tables);
	return tables;
}

/*
 * scenario_probes: the probes: section (one kind per probe, named by its
 * one nested section), the HTTP request and command shared with rpo:
 * actions, and references to probes by id from the other sections.
 */
#include "scenario_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fd_time.h"
#include "scenario_values.h"

static const char *const probe_kind_names[PROBE_KIND_COUNT] = {
	[PROBE_HTTP] = "http",   [PROBE_TCP] = "tcp", [PROBE_DNS] = "dns",
	[PROBE_COMMAND] = "command", [PROBE_LOG] = "log", [PROBE_PCAP] = "pcap",
};

const char *scenario_probe_kind_name(enum probe_kind k)
{
	return (unsigned)k < PROBE_KIND_COUNT ? probe_kind_names[k] : "?";
}

/* ------------------------------------------------------------------- http */

static int h_url(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;
	int r = scenario_read_scalar(c, v, "a URL");

	if (r)
		return r;
	if ((strncasecmp(v->str, "http://", 7) != 0 && strncasecmp(v->str, "https://", 8) != 0) ||
	    strpbrk(v->str, " \t\r\n"))
		return scenario_fail(c, v, "url: expected an http:// or https:// URL, got \"%s\"",
				     v->str);
	return scenario_read_str(c, v, &h->url);
}

static int h_method(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;
	int r = scenario_read_scalar(c, v, "an HTTP method");

	if (r)
		return r;
	for (const char *p = v->str; *p; p++)
		if (*p < 'A' || *p > 'Z')
			return scenario_fail(c, v,
					     "method: expected an upper-case HTTP method such as GET or PUT, got \"%s\"",
					     v->str);
	return scenario_read_str(c, v, &h->method);
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

static int header_item(struct lctx *c, const struct ynode *v, void *out)
{
	static const char what[] = "a header line \"Name: value\"";

	return scenario_read_checked(c, v, out, is_header, what, what);
}

static int h_headers(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;

	return scenario_read_strs(c, v, &h->headers, &h->n_headers, header_item);
}

static bool header_name_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 127 || *s == ':')
			return false;
	return true;
}

/* A literal header line of the same name, or NULL. */
static const char *literal_header(const struct scenario_http *h, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < h->n_headers; i++)
		if (strncasecmp(h->headers[i], name, n) == 0 && h->headers[i][n] == ':')
			return h->headers[i];
	return NULL;
}

static int header_env_pair(struct lctx *c, const struct ynode *k, const struct ynode *v,
			   struct scenario_header_env *out)
{
	int r = scenario_read_checked(c, k, &out->name, header_name_valid, "a header name",
				      "a header name such as Authorization");

	if (r == 0)
		r = scenario_read_checked(c, v, &out->env, scenario_value_is_env_name,
					  "an environment variable name",
					  "the NAME of an environment variable (such as PROBE_TOKEN)");
	return r;
}

/*
 * headers-env: {Header-Name: ENV_NAME}. The value is a secret (a token):
 * the scenario is stored in the database and in evidence reports, so it
 * names the variable and the scorer reads it when it builds the request.
 */
static int h_headers_env(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;
	size_t n = v->n_kids / 2;
	int r = 0;

	if (v->type != YNODE_MAP)
		return scenario_expect_map(c, v);
	h->headers_env = calloc(n ? n : 1, sizeof(*h->headers_env));
	if (!h->headers_env)
		return scenario_nomem(c);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct ynode *k = v->kids[2 * i];

		h->n_headers_env = i + 1;
		r = header_env_pair(c, k, v->kids[2 * i + 1], &h->headers_env[i]);
		for (size_t j = 0; r == 0 && j < i; j++)
			if (strcasecmp(h->headers_env[j].name, k->str) == 0)
				r = scenario_fail(c, k, "headers-env: header \"%s\" named twice", k->str);
		if (r == 0 && literal_header(h, k->str))
			r = scenario_fail(c, k, "headers-env: header \"%s\" is also in headers", k->str);
	}
	return r;
}

static int h_body(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_http *)obj)->body);
}

/* 200, "200-299" */
static int read_status(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_status_range *out = obj;
	long lo, hi;
	const char *dash;
	char first[8];
	int r = scenario_read_scalar(c, v, "an HTTP status");

	if (r)
		return r;
	dash = strchr(v->str, '-');
	if (dash && (size_t)(dash - v->str) < sizeof(first)) {
		memcpy(first, v->str, (size_t)(dash - v->str));
		first[dash - v->str] = '\0';
		r = scenario_value_int(first, 100, 599, &lo) ||
		    scenario_value_int(dash + 1, 100, 599, &hi) || lo > hi;
	} else {
		r = scenario_value_int(v->str, 100, 599, &lo);
		hi = lo;
	}
	if (r)
		return scenario_fail(c, v,
				     "%s: expected an HTTP status 100-599 or a range such as \"200-299\", got \"%s\"",
				     c->key, v->str);
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

static int h_expect_status(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = {
		.size = sizeof(struct scenario_status_range), .item = read_status,
		.one_ok = true, .what = "a list",
	};
	struct scenario_http *h = obj;

	return scenario_read_list(c, v, &spec, (void **)&h->expect_status, &h->n_expect_status);
}

static int h_body_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_regex(c, v, &((struct scenario_http *)obj)->body_match, 0);
}

static int h_max_latency(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_http *)obj)->max_latency_ns, true);
}

static int h_ca_file(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_http *)obj)->ca_file);
}

static int h_insecure(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_bool(c, v, &((struct scenario_http *)obj)->insecure);
}

static int h_follow(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_bool(c, v, &((struct scenario_http *)obj)->follow_redirects);
}

/* Probes only: canary writes and queries always open a fresh connection. */
static int h_connection(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_http *h = obj;
	int r = scenario_read_scalar(c, v, "fresh or reuse");

	if (r)
		return r;
	if (strcmp(v->str, "fresh") == 0)
		h->reuse_connection = false;
	else if (strcmp(v->str, "reuse") == 0)
		h->reuse_connection = true;
	else
		return scenario_fail(c, v, "connection: expected fresh or reuse, got \"%s\"",
				     v->str);
	return 0;
}

#define HTTP_PROBE BIT(0)
#define HTTP_ACTION BIT(1)

/* Refused: an HTTP request's "no answer" is a transport failure, never a status. */
static int h_no_answer_exit(struct lctx *c, const struct ynode *v, void *obj)
{
	(void)obj;
	return scenario_fail(c, v, "no-answer-exit: applies to commands (run:); a request that "
			     "cannot connect or times out is already no answer");
}

static const struct field http_fields[] = {
	{ "url", h_url, ALL_KINDS, 0, false },
	{ "method", h_method, 0, 0, false },
	{ "headers", h_headers, 0, 0, false },
	{ "headers-env", h_headers_env, 0, 0, false },
	{ "body", h_body, 0, 0, false },
	{ "expect-status", h_expect_status, 0, 0, false },
	{ "body-match", h_body_match, 0, 0, false },
	{ "max-latency", h_max_latency, 0, 0, false },
	{ "ca-file", h_ca_file, 0, 0, false },
	{ "insecure", h_insecure, 0, 0, false },
	{ "follow-redirects", h_follow, 0, 0, false },
	{ "connection", h_connection, 0, HTTP_PROBE, false },
	{ "no-answer-exit", h_no_answer_exit, 0, 0, true },
};

int scenario_read_http(struct lctx *c, const struct ynode *v, struct scenario_http *h,
		       bool probe, const char *const *skip)
{
	int r = scenario_walk(c, v, http_fields, N_ELEM(http_fields), h,
			      probe ? HTTP_PROBE : HTTP_ACTION,
			      "a request firedrill makes for the canary or the RPO query", skip);

	if (r == 0 && !h->method && !(h->method = strdup("GET")))
		return scenario_nomem(c);
	if (r == 0 && !h->n_expect_status) {
		h->expect_status = calloc(1, sizeof(*h->expect_status));
		if (!h->expect_status)
			return scenario_nomem(c);
		h->expect_status[0].lo = 200;
		h->expect_status[0].hi = 299;
		h->n_expect_status = 1;
	}
	return r;
}

/* ---------------------------------------------------------------- command */

static int cmd_run(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_command *)obj)->run);
}

static int cmd_stdout_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_regex(c, v, &((struct scenario_command *)obj)->stdout_match, 0);
}

/* An exit status a command can report as "no answer": 0 is success, never that. */
static int cmd_exit_status(struct lctx *c, const struct ynode *v, void *out)
{
	long st;
	int r = scenario_read_scalar(c, v, "an exit status 1-255");

	if (r)
		return r;
	if (scenario_value_int(v->str, 1, 255, &st))
		return scenario_fail(c, v, "%s: expected an exit status 1-255, got \"%s\"", c->key,
				     v->str);
	*(int *)out = (int)st;
	return 0;
}

static int cmd_no_answer_exit(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = {
		.size = sizeof(int), .item = cmd_exit_status, .one_ok = true,
		.what = "a list of exit statuses", .empty_ok = true,
	};
	struct scenario_command *cmd = obj;

	return scenario_read_list(c, v, &spec, (void **)&cmd->no_answer_exit,
				  &cmd->n_no_answer_exit);
}

static const struct field command_fields[] = {
	{ "run", cmd_run, ALL_KINDS, 0, false },
	{ "stdout-match", cmd_stdout_match, 0, 0, false },
	{ "no-answer-exit", cmd_no_answer_exit, 0, 0, false },
};

/* Without no-answer-exit: 124-127 (timeout(1), env(1), not executable, not found). */
static int cmd_defaults(struct lctx *c, struct scenario_command *cmd, int r)
{
	if (r || cmd->no_answer_exit)
		return r;
	cmd->no_answer_exit = malloc(4 * sizeof(int));
	if (!cmd->no_answer_exit)
		return scenario_nomem(c);
	for (int i = 0; i < 4; i++)
		cmd->no_answer_exit[i] = 124 + i;
	cmd->n_no_answer_exit = 4;
	return 0;
}

int scenario_read_command(struct lctx *c, const struct ynode *v, struct scenario_command *cmd,
			  const char *const *skip)
{
	return cmd_defaults(c, cmd, scenario_walk(c, v, command_fields, N_ELEM(command_fields),
						  cmd, ALL_KINDS, NULL, skip));
}

/* ------------------------------------------------- the other probe kinds */

static int tcp_host(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_checked(c, v, &((struct scenario_probe *)obj)->tcp.host,
				     scenario_value_is_host, "a host name",
				     "a host name or an IP address");
}

static int tcp_port(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_port(c, v, &((struct scenario_probe *)obj)->tcp.port);
}

static const struct field tcp_fields[] = {
	{ "host", tcp_host, ALL_KINDS, 0, false },
	{ "port", tcp_port, ALL_KINDS, 0, false },
};

static int dns_name(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_checked(c, v, &((struct scenario_probe *)obj)->dns.name,
				     scenario_value_is_host, "a DNS name", "a DNS name");
}

static int dns_expect_in(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;

	return scenario_read_cidrs(c, v, &p->dns.expect_in, &p->dns.n_expect_in);
}

static const struct field dns_fields[] = {
	{ "name", dns_name, ALL_KINDS, 0, false },
	{ "expect-in", dns_expect_in, 0, 0, false },
};

static int log_path(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_str(c, v, &((struct scenario_probe *)obj)->log.path);
}

static int log_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_regex(c, v, &((struct scenario_probe *)obj)->log.match, 0);
}

static int log_fail_match(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_regex(c, v, &((struct scenario_probe *)obj)->log.fail_match, 0);
}

static const struct field log_fields[] = {
	{ "path", log_path, ALL_KINDS, 0, false },
	{ "match", log_match, ALL_KINDS, 0, false },
	{ "fail-match", log_fail_match, 0, 0, false },
};

static int pcap_interface(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_checked(c, v, &((struct scenario_probe *)obj)->pcap.interface,
				     scenario_value_is_ifname, "an interface name",
				     "an interface name (1-15 characters)");
}

static int pcap_filter(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	char msg[512];
	int r = scenario_read_scalar(c, v, "a pcap filter");

	if (r)
		return r;
	r = scenario_value_pcap(v->str, msg, sizeof(msg));
	if (r == -ENOMEM)
		return scenario_nomem(c);
	if (r)
		return scenario_fail(c, v, "filter: invalid pcap filter: %s", msg);
	return scenario_read_str(c, v, &p->pcap.filter);
}

static int pcap_expect(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	int r = scenario_read_scalar(c, v, "match or none");

	if (r)
		return r;
	if (strcmp(v->str, "match") == 0)
		p->pcap.expect_none = false;
	else if (strcmp(v->str, "none") == 0)
		p->pcap.expect_none = true;
	else
		return scenario_fail(c, v, "expect: expected match (a matching packet is healthy) or "
				     "none (no packet may match while the faults are applied), got \"%s\"",
				     v->str);
	return 0;
}

static const struct field pcap_fields[] = {
	{ "interface", pcap_interface, ALL_KINDS, 0, false },
	{ "filter", pcap_filter, ALL_KINDS, 0, false },
	{ "expect", pcap_expect, 0, 0, false },
};

/* ----------------------------------------------------------------- probes */

static int pr_http(struct lctx *c, const struct ynode *v, void *obj)
{
	char saved[sizeof(c->where)];
	int r;

	scenario_where_push(c, saved, sizeof(saved), "http");
	r = scenario_read_http(c, v, &((struct scenario_probe *)obj)->http, true, NULL);
	scenario_where_pop(c, saved);
	return r;
}

static int pr_tcp(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk_section(c, NULL, v, tcp_fields, N_ELEM(tcp_fields), obj);
}

static int pr_dns(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk_section(c, NULL, v, dns_fields, N_ELEM(dns_fields), obj);
}

static int pr_command(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_command *cmd = &((struct scenario_probe *)obj)->command;

	return cmd_defaults(c, cmd, scenario_walk_section(c, NULL, v, command_fields,
							  N_ELEM(command_fields), cmd));
}

static int pr_log(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk_section(c, NULL, v, log_fields, N_ELEM(log_fields), obj);
}

static int pr_pcap(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_walk_section(c, NULL, v, pcap_fields, N_ELEM(pcap_fields), obj);
}

static int pr_id(struct lctx *c, const struct ynode *v, void *obj)
{
	struct scenario_probe *p = obj;
	int r = scenario_read_name(c, v, &p->id, 32);

	for (size_t i = 0; r == 0 && i < c->s->n_probes && &c->s->probes[i] != p; i++)
		if (c->s->probes[i].id && strcmp(c->s->probes[i].id, p->id) == 0)
			r = scenario_fail(c, v, "duplicate probe id \"%s\" (first at line %d)", p->id,
					  c->s->probes[i].loc.line);
	return r;
}

static int pr_interval(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_interval(c, v, &((struct scenario_probe *)obj)->interval_ns);
}

static int pr_timeout(struct lctx *c, const struct ynode *v, void *obj)
{
	return scenario_read_duration(c, v, &((struct scenario_probe *)obj)->timeout_ns, true);
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
	/* a log probe reads a file: a network namespace changes nothing */
	SCENARIO_PLACE_FIELDS(ALL_KINDS & ~BIT(PROBE_LOG)),
};

static int read_probe(struct lctx *c, const struct ynode *map, void *obj)
{
	struct scenario_probe *p = obj;
	char saved[sizeof(c->where)], kind[64], list[128];
	int which = -1, r;

	if (map->type != YNODE_MAP)
		return scenario_expect_map(c, map);
	scenario_where_item(c, map, "probe", saved, sizeof(saved));
	p->loc.line = map->line;
	p->loc.col = map->col;
	p->interval_ns = FD_NS_PER_S;
	p->timeout_ns = FD_NS_PER_S;
	r = scenario_pick_one(c, map, probe_kind_names, PROBE_KIND_COUNT,
			      "a probe checks one thing", &which);
	if (r == 0 && which < 0)
		r = scenario_fail(c, map, "needs one of %s",
				  scenario_join(probe_kind_names, PROBE_KIND_COUNT, list,
						sizeof(list)));
	if (r == 0) {
		p->kind = (enum probe_kind)which;
		snprintf(kind, sizeof(kind), "a %s probe", probe_kind_names[which]);
		c->place = &p->place;
		r = scenario_walk(c, map, probe_fields, N_ELEM(probe_fields), p, BIT(which), kind,
				  NULL);
		c->place = NULL;
	}
	if (r == 0)
		r = scenario_check_place(c, map, "a probe");
	scenario_where_pop(c, saved);
	return r;
}

int scenario_read_probes(struct lctx *c, const struct ynode *v, void *obj)
{
	static const struct list_spec spec = {
		.size = sizeof(struct scenario_probe), .item = read_probe,
		.what = "a list of probes", .why = " (recovery is judged by probes)",
	};
	struct scenario *s = obj;
	int r = scenario_read_list(c, v, &spec, (void **)&s->probes, &s->n_probes);

	/* a reference can only be judged when every probe's id was read */
	c->probes_failed = r != 0 && s->n_probes == 0;
	for (size_t i = 0; r != 0 && i < s->n_probes; i++)
		if (!s->probes[i].id)
			c->probes_failed = true;
	return r;
}

/* ---------------------------------------------------------- probe references */

int scenario_read_probe_ref(struct lctx *c, const struct ynode *v, void *out)
{
	const char **ids;
	const char *hint;
	char list[512];
	long idx;
	int r = scenario_read_scalar(c, v, "a probe id");

	if (r)
		return r;
	idx = scenario_find_probe(c->s, v->str);
	if (idx >= 0 && scenario_probe_is_evidence(&c->s->probes[idx]))
		return scenario_fail(c, v,
				     "%s: probe \"%s\" is evidence (pcap expect: none), not a health "
				     "signal: it cannot be used here", c->key, v->str);
	if (idx >= 0) {
		*(size_t *)out = (size_t)idx;
		return 0;
	}
	/* the probe may be the one whose error was said already */
	if (c->probes_failed)
		return -EINVAL;
	ids = calloc(c->s->n_probes + 1, sizeof(*ids));
	if (!ids)
		return scenario_nomem(c);
	for (size_t i = 0; i < c->s->n_probes; i++)
		ids[i] = c->s->probes[i].id ? c->s->probes[i].id : "";
	hint = scenario_value_suggest(v->str, ids, c->s->n_probes);
	if (hint)
		r = scenario_fail(c, v, "%s: unknown probe \"%s\" (did you mean \"%s\"?)", c->key,
				  v->str, hint);
	else
		r = scenario_fail(c, v, "%s: unknown probe \"%s\" (probes: %s)", c->key, v->str,
				  c->s->n_probes ? scenario_join(ids, c->s->n_probes, list,
								 sizeof(list))
						 : "none defined");
	free(ids);
	return r;
}

int scenario_read_probe_refs(struct lctx *c, const struct ynode *v, size_t **out, size_t *n)
{
	static const struct list_spec spec = {
		.size = sizeof(size_t), .item = scenario_read_probe_ref, .one_ok = true,
		.what = "a list",
	};

	return scenario_read_list(c, v, &spec, (void **)out, n);
}

/* ------------------------------------------------------------ key tables */

const struct key_table *scenario_tables_probes(size_t *n)
{
	static const struct key_table tables[] = {
		{ "probe", probe_fields, N_ELEM(probe_fields) },
		{ "http", http_fields, N_ELEM(http_fields) },
		{ "command", command_fields, N_ELEM(command_fields) },
		{ "tcp", tcp_fields, N_ELEM(tcp_fields) },
		{ "dns", dns_fields, N_ELEM(dns_fields) },
		{ "log", log_fields, N_ELEM(log_fields) },
		{ "pcap", pcap_fields, N_ELEM(pcap_fields) },
	};

	*n = N_ELEM(tables);
	return tables;
}

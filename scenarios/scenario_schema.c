/*
 * scenario_schema: the JSON Schema (draft 2020-12) of scenario files,
 * generated from the loader's own key tables (scenario_tables_*()).
 *
 * The tables say which keys exist, which are required, and which kinds
 * (fault kinds, probe kinds, recovery or failback, run or inject) need or
 * accept each. What they do not say, because the handlers check it in C,
 * is each value's shape; that is the one line per key below (type and
 * description). A key of a table without a line here, or a line naming no
 * key, makes scenario_schema() fail: the schema cannot silently drift from
 * the loader (the unit test and the build generate it).
 *
 * The schema is the editor's view: it checks what JSON Schema can say
 * (keys, required keys, types, ranges, simple patterns); the loader still
 * checks the rest (CIDR host bits, regexes, pcap filters, probe references,
 * cross-key rules) with file:line:col. It requires the keys every use
 * needs (name, faults), not those only `run` needs (probes, recovery), so
 * that a file of faults for `inject` is not flagged.
 *
 * The descriptions are also firedrill-scenario(5) (docs/gen/man_scenario.py
 * reads them off the generated schema).
 */
#include "scenario.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_load.h"
#include "scenario_values.h"

/*
 * A key's type, in a small notation:
 *   string      any scalar (a YAML number or bool is read as its text)
 *   name:N      [a-z0-9-]+, at most N characters
 *   duration    250ms, 5m, 1h30m (duration+: longer than 0; days: whole days)
 *   bool, port, cidr, percent, rate, status, signal, host, env, url, method
 *   int:LO:HI   a whole number
 *   enum:A|B    one of the words
 *   ref         a probe id
 *   list:T      T or a list of T (list1:T: not empty)
 *   seq:T       a list of T, never a single T (seq1:T: not empty)
 *   map:TABLE   a mapping of the named table (map:TABLE@K: for kind bit K)
 *   headers-env a mapping of header names to environment variable names
 *   action:KEYS an HTTP request (url: + http keys) or a command (run: +
 *               command keys), plus the comma-separated KEYS of its place
 *   kind        the fault's kind (enum of the kind names)
 */
struct key_doc {
	const char *table;
	const char *key;
	const char *type;
	const char *doc;
};

static const struct key_doc docs[] = {
	{ "scenario", "name", "name:64", "The scenario's identity; trends are kept per name and environment." },
	{ "scenario", "description", "string", "Free text, shown in plans and reports." },
	{ "scenario", "scope-rationale", "string", "Why this scope was chosen (evidence reports)." },
	{ "scenario", "team", "list:name:63", "The roles a drill expects filled (run --role ROLE=NAME)." },
	{ "scenario", "environment", "string", "Where it runs (staging, prod-eu); default \"default\"." },
	{ "scenario", "iterations", "int:1:1000", "Drills per `firedrill run` (default 1)." },
	{ "scenario", "cool-down", "duration", "Pause between iterations (default 0)." },
	{ "scenario", "objectives", "map:objectives", "The recovery objectives a drill is judged by." },
	{ "scenario", "prove-every", "days", "How often the scenario must be proven to count as fresh (whole days: 30d, 90d)." },
	{ "scenario", "scope", "map:scope", "Where everything happens." },
	{ "scenario", "probes", "seq1:map:probe", "How health is observed. Required by `run`, not by `inject`." },
	{ "scenario", "faults", "seq1:map:fault", "What is broken." },
	{ "scenario", "steady-state", "map:steady-state", "Probes that must be healthy before anything is injected." },
	{ "scenario", "stop-if-failing", "seq:map:stop-if", "Abort and revert at once when a probe fails this long." },
	{ "scenario", "recovery", "map:criterion@0", "The recovery criterion and runbook. Required by `run`, not by `inject`." },
	{ "scenario", "rpo", "map:rpo", "How data loss is measured (canary or query)." },
	{ "scenario", "failback", "map:criterion@1", "After the revert: how long until the primary serves again." },
	{ "scenario", "notify", "seq:map:notify", "Webhooks told about the drill's events." },
	{ "scenario", "hosts", "seq1:map:host", "A fleet drill's hosts (docs/fleet.md); --inventory FILE replaces them." },
	{ "scenario", "fleet", "map:fleet", "How the coordinator drives the fleet's agents." },
	{ "host", "name", "name:63", "The host's name, as faults' on: name it." },
	{ "host", "ssh", "string", "Where ssh connects: user@host or an ssh_config Host alias." },
	{ "host", "port", "port", "ssh's port (default: what ssh_config says)." },
	{ "host", "identity", "string", "ssh's identity file (-i)." },
	{ "host", "netns", "netns", "A network namespace on the host where its faults apply." },
	{ "host", "firedrill", "string", "The firedrill binary on the host (default firedrill)." },
	{ "host", "groups", "list:name:63", "Groups the host is in (on: group:NAME)." },
	{ "fleet", "lease", "duration+", "An agent that hears nothing this long reverts by itself (1s to 10m, default 10s)." },
	{ "fleet", "ssh-config", "string", "An ssh_config file for every host (ssh -F)." },

	{ "objectives", "rto", "duration", "Recovery time objective." },
	{ "objectives", "rpo", "duration", "Recovery point objective (data loss)." },
	{ "scope", "netns", "netns", "A network namespace under /run/netns: every fault, probe and step runs inside it." },
	{ "scope", "netns-path", "string", "A network namespace file (/proc/N/ns/net, a bind mount): entered like netns." },
	{ "scope", "pid", "int:2:4194304", "A process whose network namespace is the scope (a container's, a sandbox's)." },
	{ "scope", "container", "string", "A Docker or Podman container: its namespace, resolved again at each iteration." },
	{ "scope", "engine", "enum:podman|docker", "container: which engine's CLI finds it (default: detected)." },
	{ "scope", "probes-from", "enum:scope|host", "Where probes, canaries and steps run: inside the scope (default) or here." },

	{ "fault", "id", "name:32", "The fault's id, unique in the file." },
	{ "fault", "kind", "kind", "What breaks; decides which other keys the fault takes." },
	{ "fault", "duration", "duration+", "Maximum duration: the kernel or the guardian ends the fault by then even if firedrill dies." },
	{ "fault", "direction", "enum:egress|ingress", "drop, reject: the traffic direction (default egress)." },
	{ "fault", "targets", "map:targets", "drop, reject, *-route: what traffic is hit." },
	{ "fault", "link", "ifname", "link-down, delay, loss, rate: the interface (1-15 characters)." },
	{ "fault", "delay", "duration+", "delay: added latency." },
	{ "fault", "jitter", "duration", "delay: latency variation." },
	{ "fault", "loss", "percent", "loss: packets dropped, above 0 and at most 100 (5% or 0.5)." },
	{ "fault", "rate", "rate", "rate: bandwidth limit in bits per second (500kbit, 10mbit, 1gbit)." },
	{ "fault", "process", "map:process", "kill, stop, freeze: exactly one way to find the process." },
	{ "fault", "on", "list:string", "Where the fault applies: host names, group:NAME or local (default local)." },
	{ "fault", "signal", "signal", "kill: the signal (default TERM)." },
	{ "fault", "cgroup", "string", "freeze: the cgroup to freeze (default the process's own)." },
	{ "fault", "inject", "string", "exec: the shell command that breaks it." },
	{ "fault", "revert", "string", "exec: the shell command that undoes it." },
	{ "fault", "timeout", "duration+", "exec: time allowed to each command (default 1m)." },
	{ "fault", "netns", "netns", "Applies in this namespace under /run/netns instead of the scope's (docs/local.md)." },
	{ "fault", "netns-path", "string", "Applies in this namespace file (/proc/N/ns/net) instead of the scope's." },
	{ "fault", "pid", "int:2:4194304", "Applies in this process's network namespace instead of the scope's." },
	{ "fault", "container", "string", "Applies in this Docker or Podman container's namespace, resolved again at each iteration." },
	{ "fault", "engine", "enum:podman|docker", "container: which engine's CLI finds it (default: detected)." },

	{ "targets", "cidrs", "list1:cidr", "IPv4 and IPv6 prefixes (no host bits below the prefix)." },
	{ "targets", "hosts", "list1:host", "Host names, resolved when the fault is applied (all A and AAAA)." },
	{ "targets", "prefix-list", "map:prefix-list", "drop, reject: the prefixes of an AWS ip-ranges.json." },
	{ "targets", "protocol", "enum:tcp|udp|any", "drop, reject: the protocol (default any)." },
	{ "targets", "ports", "list1:port", "drop, reject: destination ports." },
	{ "prefix-list", "file", "string", "The ip-ranges.json file; a relative path is relative to the scenario's folder." },
	{ "prefix-list", "service", "string", "Only this service (S3, EC2, ...); default any." },
	{ "prefix-list", "region", "string", "Only this region (us-east-1, ...); default any." },
	{ "prefix-list", "include-global", "bool", "Also the GLOBAL region's entries (default false)." },
	{ "process", "match", "string", "PCRE2 over the command line, arguments joined by NUL bytes." },
	{ "process", "pidfile", "string", "A file holding the process id." },
	{ "process", "pid", "int:1:4194304", "A process id." },

	{ "probe", "id", "name:32", "The probe's id, unique in the file; references name it." },
	{ "probe", "interval", "interval", "Time between samples (default 1s, at least 10ms)." },
	{ "probe", "timeout", "duration+", "Time allowed to one sample (default 1s)." },
	{ "probe", "http", "map:http@0", "An HTTP request; healthy when status, body and latency are as expected." },
	{ "probe", "tcp", "map:tcp", "A TCP connection; healthy when it is accepted." },
	{ "probe", "dns", "map:dns", "A DNS lookup; healthy when it answers (within expect-in)." },
	{ "probe", "command", "map:command", "A command; healthy when it exits 0 (and its output matches)." },
	{ "probe", "log", "map:log", "A log file; healthy once a line matches." },
	{ "probe", "pcap", "map:pcap", "Packets on an interface; healthy when one matches the filter." },
	{ "probe", "netns", "netns", "Probes (not log) in this namespace under /run/netns instead of the scope's (docs/local.md)." },
	{ "probe", "netns-path", "string", "Probes (not log) in this namespace file (/proc/N/ns/net) instead of the scope's." },
	{ "probe", "pid", "int:2:4194304", "Probes (not log) in this process's network namespace instead of the scope's." },
	{ "probe", "container", "string", "Probes (not log) in this Docker or Podman container's namespace, resolved again at each iteration." },
	{ "probe", "engine", "enum:podman|docker", "container: which engine's CLI finds it (default: detected)." },

	{ "http", "url", "url", "http:// or https:// URL." },
	{ "http", "method", "method", "Upper-case HTTP method (default GET)." },
	{ "http", "headers", "list:string", "Header lines \"Name: value\"." },
	{ "http", "headers-env", "headers-env", "Headers whose values (secrets) are read from environment variables: {Header-Name: ENV_NAME}." },
	{ "http", "body", "string", "The request body." },
	{ "http", "expect-status", "list1:status", "Healthy statuses: 200 or \"200-299\" (default 200-299)." },
	{ "http", "body-match", "string", "A PCRE2 regular expression the body must match." },
	{ "http", "max-latency", "duration+", "Slower answers are unhealthy." },
	{ "http", "ca-file", "string", "CA bundle to verify the server with." },
	{ "http", "insecure", "bool", "Do not verify the server's certificate (default false)." },
	{ "http", "follow-redirects", "bool", "Follow redirects (default false)." },
	{ "http", "connection", "enum:fresh|reuse", "Probes only: a new connection per sample (fresh, default) or kept alive (reuse)." },

	{ "command", "run", "string", "The command, run with sh -c." },
	{ "command", "stdout-match", "string", "A PCRE2 regular expression its output must match." },
	{ "command", "no-answer-exit", "list:int:1:255", "Exit statuses that mean no answer rather than unhealthy (default 124-127)." },
	{ "tcp", "host", "host", "Host name or IP address." },
	{ "tcp", "port", "port", "Port 1-65535." },
	{ "dns", "name", "host", "The name to look up." },
	{ "dns", "expect-in", "list1:cidr", "Healthy only when every answer is within these prefixes." },
	{ "log", "path", "string", "The log file." },
	{ "log", "match", "string", "A PCRE2 regular expression: a matching line means healthy." },
	{ "log", "fail-match", "string", "A PCRE2 regular expression: a matching line means unhealthy." },
	{ "pcap", "interface", "ifname", "The interface to capture on." },
	{ "pcap", "filter", "string", "A pcap (BPF) filter." },
	{ "pcap", "expect", "enum:match|none", "match (default): a matching packet is healthy; none: evidence that no packet matched while the faults held." },

	{ "steady-state", "probes", "list1:ref", "Probes that must be healthy before injecting." },
	{ "stop-if", "probe", "ref", "The probe watched." },
	{ "stop-if", "for", "duration", "How long it may fail before the drill is aborted (default 0)." },
	{ "step", "name", "string", "What the step does." },
	{ "step", "run", "string", "The command (sh -c); or manual: true." },
	{ "step", "manual", "bool", "The operator does it and marks it done (firedrill lap)." },
	{ "step", "timeout", "duration+", "Time allowed (default: the recovery's or failback's timeout)." },
	{ "step", "on-failure", "enum:stop|continue", "When this step fails: stop the steps after it (default) or continue (not on failback steps)." },
	{ "step", "netns", "netns", "Runs (not manual) in this namespace under /run/netns instead of the scope's (docs/local.md)." },
	{ "step", "netns-path", "string", "Runs (not manual) in this namespace file (/proc/N/ns/net) instead of the scope's." },
	{ "step", "pid", "int:2:4194304", "Runs (not manual) in this process's network namespace instead of the scope's." },
	{ "step", "container", "string", "Runs (not manual) in this Docker or Podman container's namespace, resolved again at each iteration." },
	{ "step", "engine", "enum:podman|docker", "container: which engine's CLI finds it (default: detected)." },
	{ "criterion", "all", "list1:ref", "Recovered when every one of these probes is healthy (or any:)." },
	{ "criterion", "any", "list1:ref", "Recovered when one of these probes is healthy (or all:)." },
	{ "criterion", "resolution", "duration+", "Recovery only: while not recovered, probes send this often, so that RTO is known to about this." },
	{ "criterion", "stable-for", "duration", "The criterion must hold this long without a failure (default 0)." },
	{ "criterion", "timeout", "duration+", "Not recovered by then: outcome \"not recovered\"." },
	{ "criterion", "steps", "seq:map:step", "Recovery: the runbook, timed as laps; failback: commands run after the revert." },
	{ "criterion", "detect", "ref", "Recovery only: the probe time to detect is measured from." },

	{ "rpo", "canary", "map:canary", "Writes records through the service and reads them back after recovery." },
	{ "rpo", "query", "action:timeout,value-match,netns,netns-path,pid,container,engine", "Asks the datastore for its newest timestamp after recovery." },
	{ "canary", "interval", "interval", "Time between writes (default 200ms)." },
	{ "canary", "lead-in", "duration+", "Writes before the faults (default 3 intervals, 300ms-2s; at most 10m)." },
	{ "canary", "write", "action:timeout,netns,netns-path,pid,container,engine", "Writes record {{seq}} (with {{ts}})." },
	{ "canary", "read", "action:timeout,value-json,value-match,expect-value,netns,netns-path,pid,container,engine", "Reads record {{seq}} back." },
	{ "notify", "webhook-env", "env", "The environment variable holding the webhook URL (a secret)." },
	{ "notify", "events", "list:enum:start|injected|recovered|objectives-missed|end|detected|manual-step|step-failed|aborted|reverted|revert-failed|status", "Which events (default all)." },
	{ "notify", "secret-env", "env", "The environment variable holding the HMAC-SHA256 signing secret (X-Firedrill-Signature)." },
	{ "notify", "format", "enum:json|slack", "The body: firedrill's JSON (default) or a Slack incoming-webhook message." },
	{ "notify", "status-every", "duration+", "How often a status message is sent while the drill runs (default 1h)." },

	/* keys of an action beside its request (scenario_rpo.c) */
	{ "action", "timeout", "duration+", "Time allowed (default 5s)." },
	{ "action", "netns", "netns", "Runs in this namespace under /run/netns instead of the scope's (docs/local.md)." },
	{ "action", "netns-path", "string", "Runs in this namespace file (/proc/N/ns/net) instead of the scope's." },
	{ "action", "pid", "int:2:4194304", "Runs in this process's network namespace instead of the scope's." },
	{ "action", "container", "string", "Runs in this Docker or Podman container's namespace, resolved again at each iteration." },
	{ "action", "engine", "enum:podman|docker", "container: which engine's CLI finds it (default: detected)." },
	{ "action", "value-json", "string", "Canary read: the dotted JSON path of the value (ts, data.items.0.ts)." },
	{ "action", "value-match", "string", "A PCRE2 regular expression whose group is the value." },
	{ "action", "expect-value", "string", "Canary read: the value expected (default {{ts}})." },
};

#define N_DOCS (sizeof(docs) / sizeof(docs[0]))

struct gen {
	struct key_table tables[32];
	size_t n_tables;
	struct fd_error *err;
	bool used[N_DOCS];
};

static const struct key_table *find_table(const struct gen *g, const char *name, size_t len)
{
	for (size_t i = 0; i < g->n_tables; i++)
		if (strlen(g->tables[i].name) == len && strncmp(g->tables[i].name, name, len) == 0)
			return &g->tables[i];
	return NULL;
}

static const struct key_doc *find_doc(struct gen *g, const char *table, const char *key)
{
	for (size_t i = 0; i < N_DOCS; i++)
		if (strcmp(docs[i].table, table) == 0 && strcmp(docs[i].key, key) == 0) {
			g->used[i] = true;
			return &docs[i];
		}
	return NULL;
}

/* ------------------------------------------------------------- value types */

static json_t *pattern(const char *re)
{
	return json_pack("{s:s, s:s}", "type", "string", "pattern", re);
}

/* A YAML scalar the loader reads as text: also a number or a boolean. */
static json_t *scalar(void)
{
	return json_pack("{s:[s,s,s]}", "type", "string", "number", "boolean");
}

static json_t *int_range(long lo, long hi)
{
	/* a quoted number is read the same */
	return json_pack("{s:[{s:s, s:I, s:I}, {s:s, s:s}]}", "anyOf", "type", "integer",
			 "minimum", (json_int_t)lo, "maximum", (json_int_t)hi, "type", "string",
			 "pattern", "^[0-9]+$");
}

static json_t *enum_of(const char *words)
{
	json_t *e = json_array();
	const char *p = words;

	while (e && *p) {
		size_t n = strcspn(p, "|");

		json_array_append_new(e, json_stringn(p, n));
		p += n + (p[n] == '|');
	}
	return json_pack("{s:o}", "enum", e);
}

static json_t *kinds_enum(void)
{
	json_t *e = json_array();

	for (int k = 0; e && k < FAULT_KIND_COUNT; k++)
		json_array_append_new(e, json_string(scenario_fault_kind_name((enum fault_kind)k)));
	return json_pack("{s:o}", "enum", e);
}

static json_t *signals_enum(void)
{
	json_t *e = json_array();

	/* the loader takes any case, with or without SIG: the schema offers the usual spellings */
	for (size_t i = 0; e && i < scenario_n_signal_names; i++) {
		char buf[32];

		json_array_append_new(e, json_string(scenario_signal_names[i]));
		snprintf(buf, sizeof(buf), "SIG%s", scenario_signal_names[i]);
		json_array_append_new(e, json_string(buf));
	}
	return json_pack("{s:o}", "enum", e);
}

static json_t *object(struct gen *g, const struct key_table *t, unsigned kind_bit);
static json_t *type_of(struct gen *g, const char *type);

static json_t *list_of(struct gen *g, const char *item, bool one_ok, bool non_empty)
{
	json_t *it = type_of(g, item), *arr;

	if (!it)
		return NULL;
	arr = json_pack("{s:s, s:O}", "type", "array", "items", it);
	if (arr && non_empty)
		json_object_set_new(arr, "minItems", json_integer(1));
	if (!arr || !one_ok) {
		json_decref(it);
		return arr;
	}
	return json_pack("{s:[o,o]}", "anyOf", it, arr);
}

/* An HTTP request or a command, plus the keys its place adds (scenario_rpo.c). */
static json_t *action(struct gen *g, const char *extra)
{
	const struct key_table *http = find_table(g, "http", 4), *cmd = find_table(g, "command", 7);
	json_t *forms[2], *one_of;

	if (!http || !cmd)
		return NULL;
	forms[0] = object(g, http, BIT(1));
	forms[1] = object(g, cmd, ALL_KINDS);
	for (int f = 0; f < 2 && forms[0] && forms[1]; f++) {
		json_t *props = json_object_get(forms[f], "properties");
		const char *p = extra;

		while (*p) {
			char key[32];
			size_t n = strcspn(p, ",");
			const struct key_doc *d;
			json_t *ty;

			snprintf(key, sizeof(key), "%.*s", (int)n, p);
			p += n + (p[n] == ',');
			d = find_doc(g, "action", key);
			if (!d) {
				fd_error_set(g->err, FD_ERR_INTERNAL, -EINVAL,
					     "schema: action key \"%s\" has no line in scenario_schema.c", key);
				goto fail;
			}
			ty = type_of(g, d->type);
			if (!ty)
				goto fail;
			json_object_set_new(ty, "description", json_string(d->doc));
			json_object_set_new(props, key, ty);
		}
	}
	one_of = json_pack("{s:[o,o]}", "oneOf", forms[0], forms[1]);
	return one_of;
fail:
	json_decref(forms[0]);
	json_decref(forms[1]);
	return NULL;
}

static json_t *type_of(struct gen *g, const char *type)
{
	if (strncmp(type, "list1:", 6) == 0)
		return list_of(g, type + 6, true, true);
	if (strncmp(type, "list:", 5) == 0)
		return list_of(g, type + 5, true, false);
	if (strncmp(type, "seq1:", 5) == 0)
		return list_of(g, type + 5, false, true);
	if (strncmp(type, "seq:", 4) == 0)
		return list_of(g, type + 4, false, false);
	if (strncmp(type, "map:", 4) == 0) {
		const char *at = strchr(type + 4, '@');
		size_t len = at ? (size_t)(at - type - 4) : strlen(type + 4);
		const struct key_table *t = find_table(g, type + 4, len);

		if (!t) {
			fd_error_set(g->err, FD_ERR_INTERNAL, -EINVAL, "schema: no table \"%s\"", type + 4);
			return NULL;
		}
		return object(g, t, at ? BIT(atoi(at + 1)) : ALL_KINDS);
	}
	if (strncmp(type, "action:", 7) == 0)
		return action(g, type + 7);
	if (strncmp(type, "enum:", 5) == 0)
		return enum_of(type + 5);
	if (strncmp(type, "int:", 4) == 0) {
		long lo = strtol(type + 4, NULL, 10);
		const char *colon = strchr(type + 4, ':');

		return int_range(lo, colon ? strtol(colon + 1, NULL, 10) : lo);
	}
	if (strncmp(type, "name:", 5) == 0) {
		json_t *o = json_pack("{s:[s,s], s:s, s:i}", "type", "string", "integer", "pattern",
				      "^[a-z0-9-]+$", "maxLength", atoi(type + 5));

		return o;
	}
	if (strcmp(type, "string") == 0)
		return scalar();
	if (strcmp(type, "duration") == 0 || strcmp(type, "duration+") == 0 ||
	    strcmp(type, "interval") == 0)
		return pattern("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h|d))+$");
	if (strcmp(type, "days") == 0)
		return pattern("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h|d))+$");
	if (strcmp(type, "bool") == 0)
		return json_pack("{s:s}", "type", "boolean");
	if (strcmp(type, "port") == 0)
		return int_range(1, 65535);
	if (strcmp(type, "status") == 0)
		return json_pack("{s:[{s:s, s:i, s:i}, {s:s, s:s}]}", "anyOf", "type", "integer",
				 "minimum", 100, "maximum", 599, "type", "string", "pattern",
				 "^[1-5][0-9][0-9](-[1-5][0-9][0-9])?$");
	if (strcmp(type, "cidr") == 0)
		return pattern("^([0-9.]+|[0-9A-Fa-f:.]+)(/[0-9]+)?$");
	if (strcmp(type, "percent") == 0)
		return json_pack("{s:[{s:s, s:i, s:i}, {s:s, s:s}]}", "anyOf", "type", "number",
				 "exclusiveMinimum", 0, "maximum", 100, "type", "string", "pattern",
				 "^[0-9]+(\\.[0-9]+)?%?$");
	if (strcmp(type, "rate") == 0)
		return pattern("^[0-9]+(\\.[0-9]+)?(bit|kbit|mbit|gbit|tbit)$");
	if (strcmp(type, "signal") == 0)
		return signals_enum();
	if (strcmp(type, "kind") == 0)
		return kinds_enum();
	if (strcmp(type, "host") == 0)
		return pattern("^[^\\s/]+$");
	if (strcmp(type, "ifname") == 0)
		return json_pack("{s:s, s:s, s:i, s:i}", "type", "string", "pattern", "^[^/:\\s]+$",
				 "minLength", 1, "maxLength", 15);
	if (strcmp(type, "netns") == 0)
		return json_pack("{s:s, s:s, s:i}", "type", "string", "pattern", "^[^/\\s]+$",
				 "maxLength", 64);
	if (strcmp(type, "env") == 0)
		return pattern("^[A-Za-z_][A-Za-z0-9_]*$");
	if (strcmp(type, "url") == 0)
		return pattern("^[Hh][Tt][Tt][Pp][Ss]?://\\S+$");
	if (strcmp(type, "method") == 0)
		return pattern("^[A-Z]+$");
	if (strcmp(type, "ref") == 0)
		return pattern("^[a-z0-9-]+$");
	if (strcmp(type, "headers-env") == 0)
		return json_pack("{s:s, s:{s:s, s:s}}", "type", "object", "additionalProperties",
				 "type", "string", "pattern", "^[A-Za-z_][A-Za-z0-9_]*$");
	fd_error_set(g->err, FD_ERR_INTERNAL, -EINVAL, "schema: unknown type \"%s\"", type);
	return NULL;
}

/* ------------------------------------------------------------------ tables */

/* Kinds of a table (names and how the kind is told), when it has kinds. */
struct kinds {
	size_t n;
	const char *(*name)(size_t k);
	const char *by_key; /* the key whose value is the kind, or NULL: the key named as the kind */
	const char *nested; /* a sub-table whose keys depend on the same kinds, or NULL */
};

static const char *fault_name(size_t k)
{
	return scenario_fault_kind_name((enum fault_kind)k);
}

static const char *probe_name(size_t k)
{
	return scenario_probe_kind_name((enum probe_kind)k);
}

static bool table_kinds(const struct key_table *t, struct kinds *out)
{
	if (strcmp(t->name, "fault") == 0) {
		*out = (struct kinds){ FAULT_KIND_COUNT, fault_name, "kind", "targets" };
		return true;
	}
	if (strcmp(t->name, "probe") == 0) {
		*out = (struct kinds){ PROBE_KIND_COUNT, probe_name, NULL, NULL };
		return true;
	}
	return false;
}

/* The keys of t that a kind (bit) refuses, as {key: false}; sub: nested table's. */
static json_t *refused(struct gen *g, const struct key_table *t, unsigned bit)
{
	json_t *props = json_object();

	for (size_t i = 0; props && i < t->n_fields; i++)
		if (!t->fields[i].hidden && t->fields[i].applies && !(t->fields[i].applies & bit))
			json_object_set_new(props, t->fields[i].key, json_false());
	return props;
}

static json_t *required_for(const struct key_table *t, unsigned bit)
{
	json_t *req = json_array();

	for (size_t i = 0; req && i < t->n_fields; i++)
		if (!t->fields[i].hidden && (t->fields[i].required & bit) == bit)
			json_array_append_new(req, json_string(t->fields[i].key));
	return req;
}

/* Per kind: if it is this kind, then these keys are required and those refused. */
static json_t *kind_rules(struct gen *g, const struct key_table *t, const struct kinds *k)
{
	const struct key_table *nested = k->nested ? find_table(g, k->nested, strlen(k->nested)) : NULL;
	json_t *all = json_array();

	for (size_t i = 0; all && i < k->n; i++) {
		unsigned bit = BIT(i);
		json_t *when, *then, *props = refused(g, t, bit), *req = required_for(t, bit);

		if (k->by_key)
			when = json_pack("{s:{s:{s:s}}, s:[s]}", "properties", k->by_key, "const",
					 k->name(i), "required", k->by_key);
		else
			when = json_pack("{s:[s]}", "required", k->name(i));
		if (nested && props && !json_object_get(props, nested->name)) {
			json_t *sub = refused(g, nested, bit);

			if (sub && json_object_size(sub))
				json_object_set_new(props, nested->name,
						    json_pack("{s:o}", "properties", sub));
			else
				json_decref(sub);
		}
		then = json_pack("{s:o, s:o}", "required", req, "properties", props);
		json_array_append_new(all, json_pack("{s:o, s:o}", "if", when, "then", then));
	}
	return all;
}

/*
 * The object schema of table t. kind_bit: the one kind it is read for
 * (map:TABLE@K), or ALL_KINDS: the union of every kind's keys, with the
 * kind-dependent rules as if/then when the table has kinds.
 */
static json_t *object(struct gen *g, const struct key_table *t, unsigned kind_bit)
{
	json_t *o = NULL, *props = json_object(), *req = json_array();
	struct kinds k = { 0 };
	bool has_kinds = kind_bit == ALL_KINDS && table_kinds(t, &k);
	/* top level: required by every use (run and inject) */
	unsigned need = strcmp(t->name, "scenario") == 0
				? BIT(SCENARIO_FOR_RUN) | BIT(SCENARIO_FOR_INJECT)
				: kind_bit;

	if (!props || !req)
		goto fail;
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct field *f = &t->fields[i];
		const struct key_doc *d;
		json_t *ty;

		if (f->hidden)
			continue;
		d = find_doc(g, t->name, f->key);
		if (!d) {
			fd_error_set(g->err, FD_ERR_INTERNAL, -EINVAL,
				     "schema: key \"%s\" of table \"%s\" has no line in scenario_schema.c",
				     f->key, t->name);
			goto fail;
		}
		if (kind_bit != ALL_KINDS && f->applies && !(f->applies & kind_bit))
			continue;
		ty = type_of(g, d->type);
		if (!ty)
			goto fail;
		json_object_set_new(ty, "description", json_string(d->doc));
		json_object_set_new(props, f->key, ty);
		if (f->required == ALL_KINDS || (!has_kinds && (f->required & need) == need))
			json_array_append_new(req, json_string(f->key));
	}
	o = json_pack("{s:s, s:O, s:b}", "type", "object", "properties", props,
		      "additionalProperties", 0);
	if (o && json_array_size(req))
		json_object_set(o, "required", req);
	if (o && has_kinds) {
		json_t *one = json_array();

		json_object_set_new(o, "allOf", kind_rules(g, t, &k));
		/* a probe is exactly one kind */
		for (size_t i = 0; !k.by_key && one && i < k.n; i++)
			json_array_append_new(one, json_pack("{s:[s]}", "required", k.name(i)));
		if (json_array_size(one))
			json_object_set_new(o, "oneOf", one);
		else
			json_decref(one);
	}
fail:
	json_decref(props);
	json_decref(req);
	return o;
}

/* Every file's tables; the top level first. */
static const struct key_table *(*const table_lists[])(size_t *) = {
	scenario_tables_top,      scenario_tables_faults, scenario_tables_probes,
	scenario_tables_recovery, scenario_tables_rpo,    scenario_tables_notify,
	scenario_tables_hosts,
};

json_t *scenario_schema(struct fd_error *err)
{
	struct gen *g = calloc(1, sizeof(*g));
	json_t *root = NULL, *top;

	fd_error_clear(err);
	if (!g) {
		fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "schema: out of memory");
		return NULL;
	}
	g->err = err;
	for (size_t l = 0; l < sizeof(table_lists) / sizeof(table_lists[0]); l++) {
		size_t n;
		const struct key_table *t = table_lists[l](&n);

		for (size_t i = 0; i < n && g->n_tables < sizeof(g->tables) / sizeof(g->tables[0]); i++)
			g->tables[g->n_tables++] = t[i];
	}
	top = object(g, &g->tables[0], ALL_KINDS);
	for (size_t i = 0; top && i < N_DOCS; i++)
		if (!g->used[i]) {
			fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				     "schema: scenario_schema.c describes \"%s\" of \"%s\", which the loader does not know",
				     docs[i].key, docs[i].table);
			json_decref(top);
			top = NULL;
		}
	if (top) {
		root = json_pack("{s:s, s:s, s:s, s:s}", "$schema",
				 "https://json-schema.org/draft/2020-12/schema", "$id",
				 "https://firedrill.invalid/firedrill-scenario.schema.json", "title",
				 "firedrill scenario", "description",
				 "A firedrill scenario file: what to break, how to tell the system is healthy, how it recovers, and the objectives. Generated from the loader's key tables; `firedrill validate` checks what a schema cannot (file:line:col).");
		if (root)
			json_object_update(root, top);
		json_decref(top);
	}
	if (!root && err->kind == FD_ERR_NONE)
		fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "schema: out of memory");
	free(g);
	return root;
}

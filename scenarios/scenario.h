/*
 * scenario: the typed, validated model of a scenario file.
 *
 * scenario_load() parses YAML with libfyaml, checks every key and value, and
 * returns a fully validated model or an error with file:line:col. Nothing
 * outside scenarios/ ever sees YAML. The model is a plain read-only data
 * structure: all strings and arrays are owned by the struct scenario and
 * released by scenario_free(). Probe references (steady-state,
 * stop-if-failing, recovery, failback) are resolved to indices into
 * scenario->probes at load time, so consumers never look names up.
 *
 * Optional durations are 0 when absent unless a default is documented in
 * docs/scenarios.md (the loader fills defaults in, so consumers never
 * re-derive them).
 */
#ifndef FD_SCENARIO_H
#define FD_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd_error.h"
#include "fd_net.h"

/* Where a value came from, for errors found after loading (at apply time). */
struct scenario_loc {
	int line; /* 1-based; 0 when unknown */
	int col;  /* 1-based */
};

enum fault_kind {
	FAULT_DROP,
	FAULT_REJECT,
	FAULT_BLACKHOLE_ROUTE,
	FAULT_UNREACHABLE_ROUTE,
	FAULT_PROHIBIT_ROUTE,
	FAULT_LINK_DOWN,
	FAULT_DELAY,
	FAULT_LOSS,
	FAULT_RATE,
	FAULT_KILL,
	FAULT_STOP,
	FAULT_FREEZE,
	FAULT_EXEC,
	FAULT_PAUSE, /* a container's cgroup frozen (scope: {container}) */
	FAULT_KIND_COUNT
};

/* "drop", "blackhole-route", ...: the scenario spelling. */
const char *scenario_fault_kind_name(enum fault_kind k);

enum fault_direction { DIRECTION_EGRESS, DIRECTION_INGRESS };
enum fault_protocol { PROTOCOL_ANY, PROTOCOL_TCP, PROTOCOL_UDP };

struct scenario_prefix_list {
	char *file;           /* AWS ip-ranges.json path, relative to the scenario's folder resolved at load */
	char *service;        /* e.g. "S3"; NULL = any service */
	char *region;         /* e.g. "us-east-1"; NULL = any region */
	bool include_global;  /* also the "GLOBAL" region entries */
};

struct scenario_targets {
	struct fd_cidr *cidrs;
	size_t n_cidrs;
	char **hosts; /* resolved at inject time */
	size_t n_hosts;
	struct scenario_prefix_list *prefix_list; /* NULL when absent */
	enum fault_protocol protocol;
	uint16_t *ports;
	size_t n_ports;
};

/*
 * A place of one fault, probe, runbook step or canary/query action of its
 * own (docs/local.md, "A place per fault, probe and step"): at most one of
 * netns, netns_path, pid and container; none = the scope's place. A
 * container is resolved to a pid by its engine at each iteration, by drill/.
 */
struct scenario_place {
	char *netns;       /* a namespace under /run/netns */
	char *netns_path;  /* a namespace file, /proc/N/ns/net */
	long pid;          /* the namespace of that process; 0 = none */
	char *container;   /* a Docker or Podman container */
	char *engine;      /* with container: "podman" or "docker"; NULL = detected */
	struct scenario_loc loc; /* the key that named it, for errors at run time */
};

bool scenario_place_set(const struct scenario_place *p);
/* "container db", "netns fdt-a", "netns-path /proc/7/ns/net", "the namespace
 * of pid 42" into buf ("" when not set); returns buf. */
const char *scenario_place_describe(const struct scenario_place *p, char *buf, size_t len);

/* Exactly one of match / pidfile / pid is set. */
struct scenario_process {
	char *match;   /* PCRE2 over the cmdline, arguments joined by NUL */
	char *pidfile;
	int pid;       /* 0 when not set */
};

struct scenario_fault {
	char *id;
	enum fault_kind kind;
	int64_t duration_ns; /* max duration: required, > 0 */
	struct scenario_loc loc;

	/* drop, reject, *-route */
	enum fault_direction direction;
	struct scenario_targets targets;

	/* link-down, delay, loss, rate */
	char *link;
	int64_t delay_ns;      /* delay */
	int64_t jitter_ns;     /* delay, optional */
	double loss_percent;   /* loss: 0 < x <= 100 */
	uint64_t rate_bps;     /* rate: bits per second ("1mbit", "500kbit") */

	/* kill, stop, freeze */
	struct scenario_process process;
	int signal;            /* kill: default SIGTERM */
	char *cgroup;          /* freeze: a cgroup path; NULL = the process's own cgroup */

	/* exec */
	char *inject_cmd;
	char *revert_cmd;      /* may be NULL */
	int64_t timeout_ns;    /* exec: default 1m */

	/*
	 * `on:` where the fault applies (docs/fleet.md): host names, "group:G"
	 * and "local" as written (n_on 0: the local host only, as before fleet
	 * drills). Resolved against the inventory (the scenario's hosts:, or
	 * scenario_use_inventory()) into on_local and on_hosts, indices into
	 * inventory.hosts, each host once, in inventory order.
	 */
	char **on;
	struct scenario_loc *on_loc;
	size_t n_on;
	bool on_resolved;      /* false while a remote name waits for an inventory */
	bool on_local;
	size_t *on_hosts;
	size_t n_on_hosts;

	struct scenario_place place; /* its own place; none = the scope's */
};

/* A host of a fleet drill, reached with the real ssh (docs/fleet.md). */
struct scenario_host {
	char *name;            /* [a-z0-9-]+, unique; "local" is reserved */
	char *ssh;             /* the destination: user@host, host, or an ssh_config alias */
	uint16_t port;         /* 0: ssh's own (ssh_config, else 22) */
	char *identity;        /* -i FILE, or NULL */
	char *netns;           /* the faults' namespace on that host, or NULL */
	char *firedrill;       /* the command that runs firedrill there; default "firedrill" */
	char **groups;
	size_t n_groups;
	struct scenario_loc loc;
};

#define SCENARIO_LEASE_DEFAULT_NS (INT64_C(10) * 1000000000)

/* The fleet: a scenario's own hosts: and fleet:, or an --inventory file. */
struct scenario_inventory {
	char *path;            /* the inventory file; NULL for the scenario's own */
	struct scenario_host *hosts;
	size_t n_hosts;
	int64_t lease_ns;      /* fleet.lease: default 10 s, 1 s .. 10 m */
	char *ssh_config;      /* fleet.ssh-config: ssh -F FILE, or NULL */
};

/* Accepted HTTP statuses: a union of inclusive ranges ("200-299", [200, 204]). */
struct scenario_status_range {
	uint16_t lo, hi;
};

/* A header whose value is a secret: read from the environment when sent. */
struct scenario_header_env {
	char *name; /* "Authorization" */
	char *env;  /* "PROBE_TOKEN" */
};

struct scenario_http {
	char *method;   /* default "GET" */
	char *url;
	char **headers; /* "Name: value" lines */
	size_t n_headers;
	struct scenario_header_env *headers_env; /* `headers-env`: never stored or printed */
	size_t n_headers_env;
	char *body;     /* may be NULL */
	struct scenario_status_range *expect_status; /* default 200-299 */
	size_t n_expect_status;
	char *body_match;       /* PCRE2, optional */
	int64_t max_latency_ns; /* 0 = no bound */
	char *ca_file;
	bool insecure;          /* skip TLS verification (staging only) */
	bool follow_redirects;  /* default false */
	bool reuse_connection;  /* probes only, "connection: reuse"; default fresh */
};

struct scenario_command {
	char *run;           /* run by /bin/sh -c */
	char *stdout_match;  /* PCRE2, optional */
	/*
	 * `no-answer-exit`: exit statuses (1-255) that mean the command got no
	 * answer (could not connect, timed out, not found), like a transport
	 * failure of an HTTP request; death by signal always does. Default
	 * 124-127 (timeout(1), env(1), not executable, not found).
	 */
	int *no_answer_exit;
	size_t n_no_answer_exit;
};

enum probe_kind {
	PROBE_HTTP,
	PROBE_TCP,
	PROBE_DNS,
	PROBE_COMMAND,
	PROBE_LOG,
	PROBE_PCAP,
	PROBE_KIND_COUNT
};

const char *scenario_probe_kind_name(enum probe_kind k);

struct scenario_probe {
	char *id;
	enum probe_kind kind;
	int64_t interval_ns; /* default 1s, minimum 10ms */
	int64_t timeout_ns;  /* default 1s; may exceed interval: probes are open-loop */
	struct scenario_loc loc;

	struct scenario_http http;
	struct {
		char *host;
		uint16_t port;
	} tcp;
	struct {
		char *name;
		struct fd_cidr *expect_in;
		size_t n_expect_in;
	} dns;
	struct scenario_command command;
	struct {
		char *path;
		char *match;      /* a matching line means healthy */
		char *fail_match; /* optional: a matching line means unhealthy */
	} log;
	struct {
		char *interface;
		char *filter;     /* BPF, compiled at validation time */
		bool expect_none; /* "expect: none": evidence that no packet matches
				     from inject to revert (a blackhole held); never
				     a health signal */
	} pcap;
	struct scenario_place place; /* where it probes from; none = the scope's */
};

enum criterion_mode { CRITERION_ALL, CRITERION_ANY };

/* A boolean over probes that must hold continuously for stable_for. */
struct scenario_criterion {
	enum criterion_mode mode;
	size_t *probes; /* indices into scenario->probes */
	size_t n_probes;
	int64_t stable_for_ns; /* default 0 */
	int64_t timeout_ns;    /* required */
	/*
	 * recovery.resolution: while the criterion does not hold after T0, its
	 * probes send at this step instead of their interval (docs/scorer.md).
	 * 0 = off (always for failback).
	 */
	int64_t resolution_ns;
	/* recovery.detect: the probe time to detect is measured from (any probe);
	 * without it, the criterion probes healthy at T0. */
	bool has_detect;
	size_t detect_probe;   /* index into scenario->probes */
};

/* recovery.resolution: at least this step, and at most this many requests
 * of one probe in flight at it (its timeout / the resolution). */
#define SCENARIO_RESOLUTION_MIN_NS 1000000
#define SCENARIO_RESOLUTION_MAX_INFLIGHT 100

struct scenario_step {
	char *name;
	char *run;          /* NULL when manual */
	bool manual;
	int64_t timeout_ns; /* default: the recovery timeout */
	/* on-failure: continue. Default (false): a failed step stops the
	 * runbook steps after it (docs/drill.md, "Runbook steps"). */
	bool on_failure_continue;
	struct scenario_place place; /* where run: runs; none = the scope's */
};

struct scenario_stop_if {
	size_t probe; /* index into scenario->probes */
	int64_t for_ns;
};

enum action_kind { ACTION_HTTP, ACTION_COMMAND };

/* A canary write or read, or an RPO query: an HTTP request or a command. */
struct scenario_action {
	enum action_kind kind;
	struct scenario_http http;
	struct scenario_command command;
	int64_t timeout_ns; /* `timeout`, default 5s */
	struct scenario_place place; /* where it runs; none = the scope's */
};

struct scenario_rpo {
	bool has_canary;
	struct {
		int64_t interval_ns;         /* default 200ms */
		/*
		 * `lead-in`: how long the canary writes before the faults are
		 * applied; default 3 intervals, at least 300ms, at most 2s.
		 */
		int64_t lead_in_ns;
		struct scenario_action write; /* templated with {{seq}} and {{ts}} */
		struct scenario_action read;  /* templated with {{seq}} */
		/*
		 * Read-back check (keys of `read`): the value read, picked by
		 * value_json or value_match (else the whole answer, trimmed),
		 * must equal expect_value expanded with that write's {{seq}} and
		 * {{ts}}; another value means the write was lost. All NULL: no
		 * check. expect_value defaults to "{{ts}}" when a picker is set.
		 */
		char *value_json;   /* dotted path: "ts", "data.items.0.ts" ("$." prefix allowed) */
		char *value_match;  /* PCRE2: group 1, or the whole match */
		char *expect_value;
	} canary;
	bool has_query;
	struct {
		struct scenario_action action;
		char *value_match; /* PCRE2 with one capture group; default: whole output */
	} query;
};

enum notify_event {
	NOTIFY_START = 1 << 0,
	NOTIFY_INJECTED = 1 << 1,
	NOTIFY_RECOVERED = 1 << 2,
	NOTIFY_OBJECTIVES_MISSED = 1 << 3,
	NOTIFY_END = 1 << 4,
	NOTIFY_DETECTED = 1 << 5,      /* the first failing sample after T0 */
	NOTIFY_MANUAL_STEP = 1 << 6,   /* a manual step is waiting for someone */
	NOTIFY_STEP_FAILED = 1 << 7,
	NOTIFY_ABORTED = 1 << 8,
	NOTIFY_REVERTED = 1 << 9,
	NOTIFY_REVERT_FAILED = 1 << 10,
	NOTIFY_STATUS = 1 << 11,       /* every status-every while the drill runs */
};
#define NOTIFY_ALL ((unsigned)(NOTIFY_STATUS << 1) - 1u)

/* "start", "injected", ..., "status": the event of one bit; NULL for another
 * value. Inline: drill's webhook sender names events without linking the loader. */
static inline const char *scenario_notify_event_name(unsigned bit)
{
	static const char *const names[] = {
		"start", "injected", "recovered", "objectives-missed", "end", "detected",
		"manual-step", "step-failed", "aborted", "reverted", "revert-failed", "status",
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bit == 1u << i)
			return names[i];
	return NULL;
}

enum notify_format { NOTIFY_FORMAT_JSON, NOTIFY_FORMAT_SLACK };

struct scenario_notify {
	char *webhook_env; /* name of the environment variable holding the URL */
	unsigned events;   /* enum notify_event bits; default all */
	/* secret-env: the variable holding the HMAC-SHA256 key the body is
	 * signed with (X-Firedrill-Signature); NULL = unsigned */
	char *secret_env;
	enum notify_format format; /* format: json (default) or slack */
	int64_t status_every_ns;   /* status-every, default 1h */
};

/* One day: `prove-every` is a whole number of them. */
#define SCENARIO_DAY_NS (INT64_C(86400) * 1000000000)

struct scenario {
	char *path;   /* as given to scenario_load() */
	char *text;   /* the file's exact bytes, NUL-terminated (for the store and evidence) */
	size_t text_len;
	char sha256[65]; /* hex of text */

	char *name;
	char *description;
	char *scope_rationale; /* why this scope was chosen (evidence reports) */
	char **team;           /* role names the drill expects filled (--role ROLE=NAME) */
	size_t n_team;
	char *environment; /* default "default" */
	unsigned iterations; /* default 1 */
	int64_t cool_down_ns;
	int64_t rto_objective_ns;
	int64_t rpo_objective_ns;
	bool has_rto_objective;
	bool has_rpo_objective;
	/*
	 * `prove-every`: how often the scenario must be proven (recovered with
	 * its objectives met) to count as fresh (docs/reports.md, "Freshness").
	 * A whole number of days, at least one; 0 = not set (never stale).
	 */
	int64_t prove_every_ns;

	char *netns; /* scope.netns, NULL = the caller's namespace */
	/*
	 * The other ways scope names a place (at most one of netns, netns_path,
	 * pid and container is set; docs/local.md). A container is resolved
	 * to a pid by its engine at each iteration, by drill/.
	 */
	char *netns_path;      /* scope.netns-path: a namespace file, /proc/N/ns/net */
	long scope_pid;        /* scope.pid: the namespace of that process; 0 = none */
	char *container;       /* scope.container: a Docker or Podman container */
	char *engine;          /* scope.engine: "podman" or "docker"; NULL = detected */
	bool probes_from_host; /* scope.probes-from: host (faults in the scope, probes here) */

	struct scenario_fault *faults;
	size_t n_faults;
	struct scenario_probe *probes;
	size_t n_probes;

	size_t *steady_state; /* probe indices */
	size_t n_steady_state;
	struct scenario_stop_if *stop_if;
	size_t n_stop_if;

	struct scenario_criterion recovery;
	struct scenario_step *steps;
	size_t n_steps;

	struct scenario_rpo rpo;

	bool has_failback;
	struct scenario_criterion failback;
	/* failback.steps: commands run after the revert, before the failback
	 * watch (never manual; a step's default timeout is the failback's) */
	struct scenario_step *failback_steps;
	size_t n_failback_steps;

	struct scenario_notify *notify;
	size_t n_notify;

	struct scenario_inventory inventory; /* hosts: and fleet:, or --inventory */
};

/* Whether scope names a place (netns, netns-path, pid or container): the
 * faults then apply there, not in the namespace firedrill runs in. */
bool scenario_has_scope(const struct scenario *s);
/* Whether any fault, probe, step or action names a place of its own. */
bool scenario_has_places(const struct scenario *s);

/*
 * Loads and validates a scenario file. On success *out owns everything.
 * On failure returns a negative code and err->msg reads
 * "FILE:LINE:COL: error: WHAT (expected ...)", kind FD_ERR_INPUT
 * (FD_ERR_ENV when the file cannot be read).
 */
int scenario_load(const char *path, struct scenario **out, struct fd_error *err);

/* The same from a buffer; name is used as the file name in errors. */
int scenario_load_buffer(const char *name, const char *buf, size_t len,
			 struct scenario **out, struct fd_error *err);

/*
 * What a file is loaded for. A drill (firedrill run) needs probes and
 * recovery; a hand injection (firedrill inject) applies and holds faults
 * only, so for it a file of faults (and scope) is a whole scenario.
 * scenario_load() is scenario_load_for(..., SCENARIO_FOR_RUN, ...).
 */
enum scenario_use { SCENARIO_FOR_RUN, SCENARIO_FOR_INJECT };

int scenario_load_for(const char *path, enum scenario_use use, struct scenario **out,
		      struct fd_error *err);

/* At most this many errors of one file are looked for (scenario_check). */
#define SCENARIO_MAX_ERRORS 50

struct scenario_error {
	int line, col;       /* of the offending node; 0 when the file was not read */
	struct fd_error err; /* "FILE:LINE:COL: error: WHERE: WHAT", as scenario_load says it */
};

/* Every error of one file, sorted by line and column. */
struct scenario_errors {
	size_t n;
	bool truncated; /* SCENARIO_MAX_ERRORS were found; the rest were not looked for */
	struct scenario_error e[SCENARIO_MAX_ERRORS];
};

/*
 * Validates a file as scenario_load_for() does but does not stop at the
 * first error: each key, list item and section is checked even when one
 * before it failed, so errs holds every error found (sorted by position,
 * duplicates dropped). Keys that depend on a failed one are not judged
 * again (a reference to a probe when the probes section failed). Returns 0
 * when the file is valid (errs->n == 0), else a negative code. A file that
 * cannot be read or parsed as YAML has exactly one error. errs is large
 * (SCENARIO_MAX_ERRORS messages): allocate it, do not put it on a small stack.
 */
int scenario_check(const char *path, enum scenario_use use, struct scenario_errors *errs);
int scenario_check_buffer(const char *name, const char *buf, size_t len, enum scenario_use use,
			  struct scenario_errors *errs);

void scenario_free(struct scenario *s);

/*
 * --inventory FILE: loads an inventory (hosts: and fleet:, docs/fleet.md)
 * into inv, validated like a scenario (FILE:LINE:COL errors).
 * scenario_inventory_free() releases it (not inv itself).
 */
int scenario_inventory_load(const char *path, struct scenario_inventory *inv,
			    struct fd_error *err);
void scenario_inventory_free(struct scenario_inventory *inv);

/*
 * Replaces s's inventory by inv (moved: inv is left empty) and resolves
 * every fault's on: against it. A name the inventory lacks is an error at
 * the on: item (FILE:LINE:COL of the scenario); s is then unchanged except
 * for its inventory.
 */
int scenario_use_inventory(struct scenario *s, struct scenario_inventory *inv,
			   struct fd_error *err);

/* True when some fault applies on a host of the inventory (not only local). */
bool scenario_is_fleet(const struct scenario *s);
/* True when fault f applies on the local host (no on:, or on: local). */
bool scenario_fault_is_local(const struct scenario_fault *f);
/* True when fault f applies on inventory host h. */
bool scenario_fault_on_host(const struct scenario_fault *f, size_t h);

/*
 * Keeps only the faults keep() accepts (the others are freed), in order.
 * A scenario with no fault left is allowed here (an agent's or a
 * coordinator's share of a fleet drill).
 */
void scenario_keep_faults(struct scenario *s,
			  bool (*keep)(const struct scenario_fault *f, void *arg), void *arg);

/*
 * The JSON Schema (draft 2020-12) of scenario files, generated from the
 * loader's key tables, with a description of every key (for editors and
 * firedrill-scenario(5)). Caller owns it (json_decref). NULL with err set
 * when a key of the tables has no description or a description names no
 * key (scenario_schema.c): a bug, caught by the build and the tests.
 */
struct json_t;
struct json_t *scenario_schema(struct fd_error *err);

/* Index of a probe by id, or -1. */
long scenario_find_probe(const struct scenario *s, const char *id);

/* A pcap probe with "expect: none": evidence that a fault held, not health. */
bool scenario_probe_is_evidence(const struct scenario_probe *p);

/*
 * Writes the human-readable plan's steps from the model alone (the full
 * plan, with the drivers' revert texts and guards, is scenario_plan.h).
 */
#include <stdio.h>
void scenario_print_plan(const struct scenario *s, FILE *out);

#endif

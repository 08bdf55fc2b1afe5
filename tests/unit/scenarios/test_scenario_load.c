/* The loader: model values, documented defaults, hostile input, the plan. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fd_time.h"
#include "scenario.h"

#define MINIMAL_SHA256 "6c4c5934daccec7e50a9e442d79da9516fbfc98d9b4148e08758ccf3fb05300a"

#define MINIMAL                                         \
	"name: minimal\n"                               \
	"faults:\n"                                     \
	"  - id: f\n"                                   \
	"    kind: drop\n"                              \
	"    duration: 1m\n"                            \
	"    targets: { cidrs: [10.0.0.0/8] }\n"        \
	"probes:\n"                                     \
	"  - id: p\n"                                   \
	"    http: { url: 'http://127.0.0.1/' }\n"      \
	"recovery:\n"                                   \
	"  any: [p]\n"                                  \
	"  timeout: 5m\n"                               \
	"  steps:\n"                                    \
	"    - { name: wait, manual: true }\n"

static struct scenario *load_ok(const char *name, const char *text)
{
	struct scenario *s = NULL;
	struct fd_error err;

	if (scenario_load_buffer(name, text, strlen(text), &s, &err) != 0)
		fail_msg("%s", err.msg);
	return s;
}

static void test_defaults(void **state)
{
	struct scenario *s = load_ok("min.yaml", MINIMAL);

	(void)state;
	assert_string_equal(s->name, "minimal");
	assert_string_equal(s->environment, "default");
	assert_int_equal(s->iterations, 1);
	assert_null(s->netns);
	assert_false(s->has_rto_objective);
	assert_int_equal(s->prove_every_ns, 0); /* not set: never stale */
	assert_int_equal(s->faults[0].direction, DIRECTION_EGRESS);
	assert_int_equal(s->faults[0].targets.protocol, PROTOCOL_ANY);
	assert_int_equal(s->probes[0].interval_ns, FD_NS_PER_S);
	assert_int_equal(s->probes[0].timeout_ns, FD_NS_PER_S);
	assert_string_equal(s->probes[0].http.method, "GET");
	assert_int_equal(s->probes[0].http.n_expect_status, 1);
	assert_int_equal(s->probes[0].http.expect_status[0].lo, 200);
	assert_int_equal(s->probes[0].http.expect_status[0].hi, 299);
	assert_int_equal(s->recovery.mode, CRITERION_ANY);
	assert_int_equal(s->recovery.stable_for_ns, 0);
	assert_false(s->recovery.has_detect); /* time to detect: criterion probes healthy at T0 */
	assert_int_equal(s->steps[0].timeout_ns, 300 * FD_NS_PER_S);
	assert_true(s->steps[0].manual);
	assert_false(s->has_failback);
	assert_false(s->rpo.has_canary);
	assert_int_equal(s->text_len, strlen(MINIMAL));
	assert_string_equal(s->text, MINIMAL);
	assert_int_equal(strlen(s->sha256), 64);
	scenario_free(s);
}

static void test_sha256(void **state)
{
	struct scenario *s = load_ok("min.yaml", MINIMAL);

	(void)state;
	/* sha256sum of MINIMAL's bytes */
	assert_string_equal(s->sha256, MINIMAL_SHA256);
	scenario_free(s);
}

static const char full[] =
	"name: full\n"
	"environment: staging\n"
	"iterations: 3\n"
	"cool-down: 30s\n"
	"objectives: { rto: 5m, rpo: 30s }\n"
	"scope: { netns: app }\n"
	"faults:\n"
	"  - id: s3\n"
	"    kind: reject\n"
	"    direction: ingress\n"
	"    duration: 15m\n"
	"    targets:\n"
	"      cidrs: [52.216.0.0/15, \"2600:1fa0::/32\"]\n"
	"      hosts: [s3.us-east-1.amazonaws.com]\n"
	"      prefix-list: { file: ranges.json, service: S3, region: us-east-1, include-global: true }\n"
	"      protocol: udp\n"
	"      ports: [443, 8443]\n"
	"  - id: k\n"
	"    kind: kill\n"
	"    signal: SIGKILL\n"
	"    process: { pidfile: /run/api.pid }\n"
	"    duration: 1m\n"
	"  - { id: st, kind: stop, process: { pid: 4242 }, duration: 1m }\n"
	"  - { id: fr, kind: freeze, cgroup: /sys/fs/cgroup/api, process: { match: api }, duration: 1m }\n"
	"  - { id: x, kind: exec, inject: 'true', duration: 1m }\n"
	"  - { id: d, kind: delay, link: eth0, delay: 200ms, jitter: 20ms, duration: 5m }\n"
	"  - { id: l, kind: loss, link: eth0, loss: 2.5, duration: 5m }\n"
	"  - { id: r, kind: rate, link: eth0, rate: 1.5mbit, duration: 5m }\n"
	"  - { id: ld, kind: link-down, link: veth1, duration: 5m }\n"
	"  - { id: bh, kind: blackhole-route, targets: { cidrs: [192.0.2.0/24] }, duration: 5m }\n"
	"probes:\n"
	"  - id: api\n"
	"    interval: 100ms\n"
	"    timeout: 3s\n"
	"    http:\n"
	"      url: https://api/health\n"
	"      method: POST\n"
	"      headers: ['X-Drill: yes']\n"
	"      expect-status: [200, \"300-399\"]\n"
	"      body-match: ok\n"
	"      max-latency: 500ms\n"
	"      insecure: true\n"
	"      follow-redirects: true\n"
	"  - { id: db, tcp: { host: db.internal, port: 5432 } }\n"
	"  - { id: dns, dns: { name: api.internal, expect-in: [10.20.0.0/16] } }\n"
	"  - { id: cmd, command: { run: ./smoke.sh, stdout-match: PASS } }\n"
	"  - { id: log, log: { path: /var/log/x, match: up, fail-match: down } }\n"
	"  - { id: wire, pcap: { interface: eth0, filter: 'tcp port 443' } }\n"
	"steady-state: { probes: [api, db] }\n"
	"stop-if-failing: [{ probe: db, for: 2m }]\n"
	"recovery: { all: [api, dns], stable-for: 10s, timeout: 30m }\n"
	"rpo:\n"
	"  canary:\n"
	"    write: { run: 'redis-cli SET c:{{seq}} {{ts}}', stdout-match: OK }\n"
	"    read: { url: 'http://kv/c/{{seq}}' }\n"
	"  query: { run: 'psql -Atc x', value-match: '^(\\d+)$' }\n"
	"failback: { any: [db], timeout: 10m }\n"
	"notify: [{ webhook-env: HOOK, events: [start, end] }]\n"
	"prove-every: 2160h\n";

static void test_full_model(void **state)
{
	struct scenario *s = load_ok("/srv/drills/full.yaml", full);
	const struct scenario_fault *f = &s->faults[0];
	char buf[FD_CIDR_STRLEN];

	(void)state;
	assert_int_equal(s->iterations, 3);
	assert_int_equal(s->cool_down_ns, 30 * FD_NS_PER_S);
	assert_true(s->has_rto_objective && s->has_rpo_objective);
	assert_int_equal(s->rpo_objective_ns, 30 * FD_NS_PER_S);
	assert_int_equal(s->prove_every_ns, 90 * SCENARIO_DAY_NS); /* 2160h: whole days */
	assert_string_equal(s->netns, "app");
	assert_int_equal(s->n_faults, 10);
	assert_int_equal(f->kind, FAULT_REJECT);
	assert_int_equal(f->direction, DIRECTION_INGRESS);
	assert_int_equal(f->duration_ns, 900 * FD_NS_PER_S);
	assert_int_equal(f->targets.n_cidrs, 2);
	assert_string_equal(fd_cidr_format(&f->targets.cidrs[1], buf, sizeof(buf)), "2600:1fa0::/32");
	assert_string_equal(f->targets.hosts[0], "s3.us-east-1.amazonaws.com");
	assert_string_equal(f->targets.prefix_list->file, "/srv/drills/ranges.json");
	assert_string_equal(f->targets.prefix_list->service, "S3");
	assert_true(f->targets.prefix_list->include_global);
	assert_int_equal(f->targets.protocol, PROTOCOL_UDP);
	assert_int_equal(f->targets.n_ports, 2);
	assert_int_equal(f->targets.ports[1], 8443);
	assert_int_equal(s->faults[1].signal, SIGKILL);
	assert_string_equal(s->faults[1].process.pidfile, "/run/api.pid");
	assert_int_equal(s->faults[2].process.pid, 4242);
	assert_string_equal(s->faults[3].cgroup, "/sys/fs/cgroup/api");
	assert_int_equal(s->faults[4].timeout_ns, 60 * FD_NS_PER_S);
	assert_null(s->faults[4].revert_cmd);
	assert_int_equal(s->faults[5].delay_ns, 200 * FD_NS_PER_MS);
	assert_int_equal(s->faults[5].jitter_ns, 20 * FD_NS_PER_MS);
	assert_true(s->faults[6].loss_percent > 2.49 && s->faults[6].loss_percent < 2.51);
	assert_int_equal(s->faults[7].rate_bps, 1500000);
	assert_int_equal(s->faults[8].kind, FAULT_LINK_DOWN);
	assert_int_equal(s->faults[9].kind, FAULT_BLACKHOLE_ROUTE);
	assert_int_equal(s->faults[9].loc.line, 30);

	assert_int_equal(s->n_probes, 6);
	assert_int_equal(s->probes[0].interval_ns, 100 * FD_NS_PER_MS);
	assert_string_equal(s->probes[0].http.method, "POST");
	assert_int_equal(s->probes[0].http.n_expect_status, 2);
	assert_int_equal(s->probes[0].http.expect_status[1].lo, 300);
	assert_int_equal(s->probes[0].http.expect_status[1].hi, 399);
	assert_true(s->probes[0].http.insecure && s->probes[0].http.follow_redirects);
	assert_int_equal(s->probes[1].kind, PROBE_TCP);
	assert_int_equal(s->probes[1].tcp.port, 5432);
	assert_int_equal(s->probes[2].dns.n_expect_in, 1);
	assert_int_equal(s->probes[5].kind, PROBE_PCAP);
	assert_int_equal(scenario_find_probe(s, "wire"), 5);
	assert_int_equal(scenario_find_probe(s, "nope"), -1);

	assert_int_equal(s->n_steady_state, 2);
	assert_int_equal(s->steady_state[1], 1);
	assert_int_equal(s->stop_if[0].probe, 1);
	assert_int_equal(s->stop_if[0].for_ns, 120 * FD_NS_PER_S);
	assert_int_equal(s->recovery.mode, CRITERION_ALL);
	assert_int_equal(s->recovery.probes[1], 2);
	assert_true(s->rpo.has_canary && s->rpo.has_query);
	assert_int_equal(s->rpo.canary.interval_ns, 200 * FD_NS_PER_MS);
	assert_int_equal(s->rpo.canary.write.kind, ACTION_COMMAND);
	assert_int_equal(s->rpo.canary.read.kind, ACTION_HTTP);
	assert_string_equal(s->rpo.query.value_match, "^(\\d+)$");
	assert_true(s->has_failback);
	assert_int_equal(s->failback.mode, CRITERION_ANY);
	assert_int_equal(s->notify[0].events, NOTIFY_START | NOTIFY_END);
	scenario_free(s);
}

static void test_relative_prefix_list(void **state)
{
	static const char text[] =
		"name: x\n"
		"faults: [{ id: f, kind: drop, duration: 1m, targets: { prefix-list: { file: ip.json } } }]\n"
		"probes: [{ id: p, tcp: { host: h, port: 1 } }]\n"
		"recovery: { all: [p], timeout: 1m }\n";
	struct scenario *s = load_ok("lib/sub/x.yaml", text);

	(void)state;
	assert_string_equal(s->faults[0].targets.prefix_list->file, "lib/sub/ip.json");
	assert_null(s->faults[0].targets.prefix_list->service);
	scenario_free(s);
	s = load_ok("x.yaml", text);
	assert_string_equal(s->faults[0].targets.prefix_list->file, "ip.json");
	scenario_free(s);
}

/* A hostile buffer must be refused, with msg containing want, without blowing up. */
static void refuse(const char *what, const char *buf, size_t len, const char *want)
{
	struct scenario *s = NULL;
	struct fd_error err;
	int64_t t0 = fd_mono_ns(), dt;
	int r = scenario_load_buffer(what, buf, len, &s, &err);

	dt = fd_mono_ns() - t0;
	print_message("%-16s refused in %.1f ms: %s\n", what, (double)dt / 1e6, err.msg);
	assert_int_not_equal(r, 0);
	assert_null(s);
	if (!strstr(err.msg, want))
		fail_msg("%s: \"%s\" lacks \"%s\"", what, err.msg, want);
	assert_true(dt < 10 * FD_NS_PER_S); /* a blow-up catcher, not a threshold */
}

static void test_hostile(void **state)
{
	size_t big = 2 * 1024 * 1024, n = 0;
	char *buf = malloc(big + 1);

	(void)state;
	assert_non_null(buf);
	/* 2 MiB of valid YAML comments */
	for (size_t i = 0; i < big; i++)
		buf[i] = (i % 64 == 63) ? '\n' : '#';
	refuse("huge", buf, big, "at most 1 MiB");
	/* binary */
	for (size_t i = 0; i < 4096; i++)
		buf[i] = (char)(i * 7 + 3);
	refuse("binary", buf, 4096, "NUL byte");
	memset(buf, 0xff, 64);
	refuse("not-utf8", buf, 64, "invalid UTF-8");
	/* 200k nested flow sequences */
	memcpy(buf, "a: ", 3);
	for (size_t i = 3; i < 200003; i++)
		buf[i] = '[';
	refuse("deep", buf, 200003, "nesting deeper than 64");
	/* a flat list of 300k items: too many nodes even without aliases */
	n = (size_t)sprintf(buf, "a: [");
	for (int i = 0; i < 300000; i++)
		buf[n++] = '1', buf[n++] = ',';
	buf[n++] = ']';
	refuse("many-nodes", buf, n, "more than 100000 nodes");
	/* billion laughs: 10 levels of 10 */
	n = (size_t)sprintf(buf, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++) {
		n += (size_t)sprintf(buf + n, "l%d: &l%d [", i, i);
		for (int k = 0; k < 10; k++)
			n += (size_t)sprintf(buf + n, "%s*l%d", k ? ", " : "", i - 1);
		n += (size_t)sprintf(buf + n, "]\n");
	}
	refuse("alias-bomb", buf, n, "alias bomb");
	/* one 512 KiB scalar aliased many times */
	n = (size_t)sprintf(buf, "a: &big ");
	for (size_t i = 0; i < 512 * 1024; i++)
		buf[n++] = 'z';
	n += (size_t)sprintf(buf + n, "\nb: [");
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(buf + n, "*big, ");
	n += (size_t)sprintf(buf + n, "]\n");
	refuse("alias-big-scalar", buf, n, "alias bomb");
	refuse("two-docs", "a: 1\n---\nb: 2\n", 14, "more than one YAML document");
	refuse("scalar-top", "hello\n", 6, "a scenario is a mapping");
	refuse("empty", "", 0, "the file is empty");
	free(buf);
}

static void test_load_file_errors(void **state)
{
	struct scenario *s = NULL;
	struct fd_error err;

	(void)state;
	assert_int_not_equal(scenario_load("/nonexistent/x.yaml", &s, &err), 0);
	assert_int_equal(err.kind, FD_ERR_ENV);
	assert_non_null(strstr(err.msg, "/nonexistent/x.yaml: error: cannot open"));
	assert_int_not_equal(scenario_load("/dev/zero", &s, &err), 0);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_not_equal(scenario_load("/tmp", &s, &err), 0);
	assert_null(s);
}

static void test_library(void **state)
{
	const char *root = getenv("FD_SOURCE_ROOT");
	char dir[4096], path[8192];
	struct dirent *de;
	int n = 0;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/scenarios/library", root ? root : ".");
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct scenario *s = NULL;
		struct fd_error err;
		char *text = NULL;
		size_t text_len = 0;
		FILE *mem;

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (scenario_load(path, &s, &err) != 0)
			fail_msg("%s", err.msg);
		mem = open_memstream(&text, &text_len);
		assert_non_null(mem);
		scenario_print_plan(s, mem);
		fclose(mem);
		assert_non_null(strstr(text, "inject"));
		assert_non_null(strstr(text, "recovery"));
		free(text);
		scenario_free(s);
		n++;
	}
	closedir(d);
	assert_true(n >= 5);
}

static void test_plan(void **state)
{
	struct scenario *s = load_ok("full.yaml", full);
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	(void)state;
	scenario_print_plan(s, mem);
	fclose(mem);
	assert_non_null(strstr(text, "plan for scenario \"full\""));
	assert_non_null(strstr(text, "scope: network namespace app"));
	assert_non_null(strstr(text, "s3           reject, at most 15m00s"));
	assert_non_null(strstr(text, "ingress, protocol udp, ports 443,8443"));
	assert_non_null(strstr(text, "send SIGKILL"));
	assert_non_null(strstr(text, "all of: api, dns"));
	assert_non_null(strstr(text, "abort and revert at once if db fails for 2m00s"));
	assert_non_null(strstr(text, "webhook from $HOOK on: start end"));
	free(text);
	scenario_free(s);
}

/* recovery.resolution: off by default, read in ns, shown in the plan. */
static void test_resolution(void **state)
{
	static const char text[] =
		"name: res\n"
		"faults:\n"
		"  - { id: f, kind: drop, duration: 1m, targets: { cidrs: [10.0.0.0/8] } }\n"
		"probes:\n"
		"  - { id: p, interval: 250ms, timeout: 500ms, http: { url: 'http://127.0.0.1/' } }\n"
		"  - { id: q, interval: 100ms, timeout: 100ms, tcp: { host: 127.0.0.1, port: 80 } }\n"
		"recovery:\n"
		"  all: [p, q]\n"
		"  resolution: 5ms\n"
		"  timeout: 5m\n"
		"failback: { all: [p], timeout: 1m }\n";
	struct scenario *s = load_ok("res.yaml", text), *m = load_ok("min.yaml", MINIMAL);
	char *plan = NULL;
	const char *first;
	size_t len = 0;
	FILE *mem = open_memstream(&plan, &len);

	(void)state;
	assert_int_equal(s->recovery.resolution_ns, 5 * FD_NS_PER_MS);
	assert_int_equal(s->failback.resolution_ns, 0);
	assert_int_equal(m->recovery.resolution_ns, 0);
	scenario_print_plan(s, mem);
	scenario_print_plan(m, mem);
	fclose(mem);
	/* once: the recovery's line, none for the failback or the minimal scenario */
	first = strstr(plan, "its probes send every 5.0 ms (resolution: 200 requests/s each)");
	assert_non_null(first);
	assert_null(strstr(first + strlen("its probes send every"), "its probes send every"));
	free(plan);
	scenario_free(m);
	scenario_free(s);
}

/* Single-quoted scalars are unescaped by the loader (see scenario_tree.c). */
static void test_single_quoted(void **state)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{ "'x''y'", "x'y" },
		{ "'one\n  two'", "one two" },
		{ "'one  \n\n  two'", "one\ntwo" },
		{ "'one\n\n\n  two  three'", "one\n\ntwo  three" },
		{ "' lead  trail '", " lead  trail " },
		{ "'x\r\n  y'", "x y" },
		{ "'a\n   \n  b'", "a\nb" },
		{ "''''''''''''''''''''''''''''''''''''''''''", "''''''''''''''''''''" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		struct scenario *s;

		snprintf(text, sizeof(text), "%sdescription: %s\n", MINIMAL, cases[i].yaml);
		s = load_ok("q.yaml", text);
		assert_string_equal(s->description, cases[i].want);
		scenario_free(s);
	}
}

/* ---- rpo and command keys (moved from the scorer's unit tests) ---- */

#define MS FD_NS_PER_MS

#define CANARY_YAML(READ_EXTRA, WRITE_EXTRA)                                            \
	"name: t\n"                                                                     \
	"faults: [{ id: f, kind: kill, duration: 1m, process: { pid: 4242 } }]\n"       \
	"probes: [{ id: p, http: { url: 'http://127.0.0.1:1/' } }]\n"                   \
	"recovery: { all: [p], timeout: 1m }\n"                                         \
	"rpo:\n"                                                                        \
	"  canary:\n"                                                                   \
	"    write: { method: PUT, url: 'http://127.0.0.1:1/c/{{seq}}'" WRITE_EXTRA " }\n" \
	"    read: { url: 'http://127.0.0.1:1/c/{{seq}}'" READ_EXTRA " }\n"

static int load(const char *yaml, struct scenario **s, struct fd_error *err)
{
	memset(err, 0, sizeof(*err));
	*s = NULL;
	return scenario_load_buffer("t.yaml", yaml, strlen(yaml), s, err);
}

static void scenario_readback_keys(void **state)
{
	struct fd_error err;
	struct scenario *s;

	(void)state;
	assert_int_equal(load(CANARY_YAML("", ""), &s, &err), 0);
	assert_null(s->rpo.canary.expect_value);
	assert_int_equal(s->rpo.canary.write.timeout_ns, 5 * FD_NS_PER_S);
	assert_int_equal(s->rpo.canary.read.timeout_ns, 5 * FD_NS_PER_S);
	scenario_free(s);

	assert_int_equal(load(CANARY_YAML(", value-json: $.data.ts, timeout: 2s",
					  ", timeout: 750ms"), &s, &err), 0);
	assert_string_equal(s->rpo.canary.value_json, "$.data.ts");
	assert_string_equal(s->rpo.canary.expect_value, "{{ts}}");
	assert_int_equal(s->rpo.canary.read.timeout_ns, 2 * FD_NS_PER_S);
	assert_int_equal(s->rpo.canary.write.timeout_ns, 750 * MS);
	scenario_free(s);

	assert_int_equal(load(CANARY_YAML(", value-match: 'ts=(\\d+)', expect-value: '{{seq}}'",
					  ""), &s, &err), 0);
	assert_string_equal(s->rpo.canary.value_match, "ts=(\\d+)");
	assert_string_equal(s->rpo.canary.expect_value, "{{seq}}");
	scenario_free(s);

	assert_int_not_equal(load(CANARY_YAML(", value-json: a, value-match: b", ""), &s, &err), 0);
	assert_non_null(strstr(err.msg, "one or the other"));
	assert_int_not_equal(load(CANARY_YAML(", value-json: 'a..b'", ""), &s, &err), 0);
	assert_non_null(strstr(err.msg, "dotted path"));
	assert_int_not_equal(load(CANARY_YAML(", timeout: 0s", ""), &s, &err), 0);
	assert_int_not_equal(load(CANARY_YAML("", ", value-json: ts"), &s, &err), 0);
	assert_non_null(strstr(err.msg, "value-json"));
}


#define CMD_CANARY_YAML(CANARY_EXTRA, READ_EXTRA)                                       \
	"name: t\n"                                                                     \
	"faults: [{ id: f, kind: kill, duration: 1m, process: { pid: 4242 } }]\n"       \
	"probes: [{ id: p, command: { run: 'true'" READ_EXTRA " } }]\n"                 \
	"recovery: { all: [p], timeout: 1m }\n"                                         \
	"rpo:\n"                                                                        \
	"  canary:\n"                                                                   \
	"    " CANARY_EXTRA "\n"                                                        \
	"    write: { run: 'true' }\n"                                                  \
	"    read: { run: 'true'" READ_EXTRA " }\n"

/* no-answer-exit (command probes and actions) and rpo.canary.lead-in. */
static void scenario_no_answer_and_lead_in(void **state)
{
	struct fd_error err;
	struct scenario *s;

	(void)state;
	assert_int_equal(load(CMD_CANARY_YAML("interval: 500ms", ""), &s, &err), 0);
	assert_int_equal(s->probes[0].command.n_no_answer_exit, 4);
	assert_int_equal(s->probes[0].command.no_answer_exit[0], 124);
	assert_int_equal(s->probes[0].command.no_answer_exit[3], 127);
	assert_int_equal(s->rpo.canary.read.command.n_no_answer_exit, 4);
	assert_int_equal(s->rpo.canary.write.command.n_no_answer_exit, 4);
	assert_int_equal(s->rpo.canary.lead_in_ns, 1500 * MS); /* 3 intervals */
	scenario_free(s);
	assert_int_equal(load(CMD_CANARY_YAML("interval: 50ms", ", no-answer-exit: [2, 124]"), &s,
			      &err), 0);
	assert_int_equal(s->rpo.canary.lead_in_ns, 300 * MS); /* at least 300ms */
	assert_int_equal(s->probes[0].command.n_no_answer_exit, 2);
	assert_int_equal(s->probes[0].command.no_answer_exit[0], 2);
	assert_int_equal(s->rpo.canary.read.command.no_answer_exit[1], 124);
	scenario_free(s);
	assert_int_equal(load(CMD_CANARY_YAML("interval: 1s", ", no-answer-exit: []"), &s, &err),
			 0);
	assert_int_equal(s->rpo.canary.lead_in_ns, 2 * FD_NS_PER_S); /* at most 2s */
	assert_int_equal(s->rpo.canary.read.command.n_no_answer_exit, 0);
	scenario_free(s);
	assert_int_equal(load(CMD_CANARY_YAML("lead-in: 5s", ", no-answer-exit: 2"), &s, &err), 0);
	assert_int_equal(s->rpo.canary.lead_in_ns, 5 * FD_NS_PER_S);
	assert_int_equal(s->rpo.canary.read.command.n_no_answer_exit, 1);
	scenario_free(s);

	assert_int_not_equal(load(CMD_CANARY_YAML("lead-in: 0s", ""), &s, &err), 0);
	assert_non_null(strstr(err.msg, "lead-in: must be longer than 0"));
	assert_int_not_equal(load(CMD_CANARY_YAML("lead-in: 11m", ""), &s, &err), 0);
	assert_non_null(strstr(err.msg, "lead-in: at most 10m"));
	assert_int_not_equal(load(CMD_CANARY_YAML("", ", no-answer-exit: [0]"), &s, &err), 0);
	assert_non_null(strstr(err.msg, "expected an exit status 1-255, got \"0\""));
	assert_int_not_equal(load(CMD_CANARY_YAML("", ", no-answer-exit: [256]"), &s, &err), 0);
	assert_int_not_equal(load(CMD_CANARY_YAML("", ", no-answer-exit: {a: 1}"), &s, &err), 0);
}

/* Fleet drills: hosts:, fleet:, on:, and the library's inventories. */
#define FLEET_YAML(HOSTS, ON)                                                       \
	"name: f\n" HOSTS                                                          \
	"probes:\n  - id: p\n    tcp: { host: 127.0.0.1, port: 80 }\n"             \
	"faults:\n"                                                                 \
	"  - id: a\n    kind: drop\n    duration: 1m\n    " ON "\n"                \
	"    targets: { cidrs: [10.0.0.0/8] }\n"                                      \
	"  - id: b\n    kind: blackhole-route\n    duration: 1m\n"                  \
	"    targets: { cidrs: [10.1.0.0/16] }\n"                                     \
	"recovery:\n  all: [p]\n  timeout: 5m\n"

static bool keep_remote(const struct scenario_fault *f, void *arg)
{
	(void)arg;
	return f->n_on_hosts > 0;
}

static void test_fleet(void **state)
{
	const char *root = getenv("FD_SOURCE_ROOT");
	struct scenario_inventory inv;
	struct scenario *s = NULL;
	struct fd_error err;
	char path[4096], scen[4096];

	(void)state;
	/* no on: anywhere: not a fleet, every fault local, the default lease */
	s = load_ok("t.yaml", FLEET_YAML("", "direction: egress"));
	assert_false(scenario_is_fleet(s));
	assert_true(scenario_fault_is_local(&s->faults[0]));
	assert_int_equal(s->inventory.lease_ns, SCENARIO_LEASE_DEFAULT_NS);
	scenario_free(s);

	/* inline hosts: resolved at load, groups expanded in inventory order */
	s = load_ok("t.yaml", FLEET_YAML("fleet: { lease: 3s }\nhosts:\n"
					 "  - { name: db-1, ssh: root@d, groups: [db] }\n"
					 "  - { name: app-1, ssh: root@a1, port: 2222, groups: [app] }\n"
					 "  - { name: app-2, ssh: a2, netns: blue, groups: [app, canary] }\n",
					 "on: [group:app, local]"));
	assert_true(scenario_is_fleet(s));
	assert_int_equal(s->inventory.lease_ns, 3 * FD_NS_PER_S);
	assert_int_equal(s->inventory.n_hosts, 3);
	assert_int_equal(s->inventory.hosts[1].port, 2222);
	assert_string_equal(s->inventory.hosts[2].netns, "blue");
	assert_string_equal(s->inventory.hosts[0].firedrill, "firedrill");
	assert_true(s->faults[0].on_resolved && s->faults[0].on_local);
	assert_int_equal(s->faults[0].n_on_hosts, 2);
	assert_false(scenario_fault_on_host(&s->faults[0], 0));
	assert_true(scenario_fault_on_host(&s->faults[0], 1) && scenario_fault_on_host(&s->faults[0], 2));
	assert_true(scenario_fault_is_local(&s->faults[1]));
	/* the share of the hosts keeps fault a only (b is local only) */
	scenario_keep_faults(s, keep_remote, NULL);
	assert_int_equal(s->n_faults, 1);
	assert_string_equal(s->faults[0].id, "a");
	scenario_free(s);

	/* without hosts: the names wait for an inventory */
	s = load_ok("t.yaml", FLEET_YAML("", "on: [app-9]"));
	assert_true(scenario_is_fleet(s));
	assert_false(s->faults[0].on_resolved);

	/* the library's inventory: a name it lacks is an error at the on: item */
	snprintf(path, sizeof(path), "%s/scenarios/library/inventories/staging.yaml",
		 root ? root : ".");
	if (scenario_inventory_load(path, &inv, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(inv.n_hosts, 4);
	assert_int_not_equal(scenario_use_inventory(s, &inv, &err), 0);
	if (!strstr(err.msg, "t.yaml:9:10: error: fault \"a\": on: unknown host \"app-9\" (hosts in "))
		fail_msg("%s", err.msg);
	scenario_free(s);

	/* ... and the library's fleet scenario resolves against it */
	snprintf(scen, sizeof(scen), "%s/scenarios/library/fleet-app-tier-eu-drop.yaml", root ? root : ".");
	if (scenario_load(scen, &s, &err) != 0)
		fail_msg("%s", err.msg);
	if (scenario_inventory_load(path, &inv, &err) != 0)
		fail_msg("%s", err.msg);
	if (scenario_use_inventory(s, &inv, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(inv.n_hosts, 0); /* moved */
	assert_int_equal(s->faults[0].n_on_hosts, 3); /* app-1..3, not worker-1 */
	assert_false(scenario_fault_is_local(&s->faults[0]));
	scenario_free(s);

	/* an inventory's own errors carry its file:line:col */
	assert_int_not_equal(scenario_inventory_load("/nonexistent/inv.yaml", &inv, &err), 0);
	assert_int_equal(err.kind, FD_ERR_ENV);
}


/* Each fault, probe, step and action may name a place of its own (issue 15). */
static void test_places(void **state)
{
	static const char yaml[] =
		"name: compose\n"
		"scope: { container: api }\n"
		"probes:\n"
		"  - { id: from-web, container: web, engine: docker, tcp: { host: 10.0.0.2, port: 80 } }\n"
		"  - { id: here, tcp: { host: 127.0.0.1, port: 80 } }\n"
		"faults:\n"
		"  - { id: cut, kind: drop, duration: 1m, netns: db-ns, targets: { cidrs: [10.0.0.0/8] } }\n"
		"  - { id: pause-db, kind: pause, duration: 1m, container: db }\n"
		"  - { id: kill, kind: kill, duration: 1m, pid: 4242, process: { match: x } }\n"
		"recovery:\n"
		"  all: [from-web]\n"
		"  timeout: 5m\n"
		"  steps:\n"
		"    - { name: promote, run: 'true', netns-path: /proc/7/ns/net }\n"
		"rpo:\n"
		"  canary:\n"
		"    write: { run: 'echo {{seq}}', container: db }\n"
		"    read: { run: 'echo {{seq}}' }\n";
	struct scenario *s = load_ok("places.yaml", yaml);
	char buf[128];

	(void)state;
	assert_string_equal(s->probes[0].place.container, "web");
	assert_string_equal(s->probes[0].place.engine, "docker");
	assert_int_equal(s->probes[0].place.loc.line, 4);
	assert_false(scenario_place_set(&s->probes[1].place));
	assert_string_equal(s->faults[0].place.netns, "db-ns");
	assert_string_equal(s->faults[1].place.container, "db");
	assert_int_equal(s->faults[2].place.pid, 4242);
	assert_string_equal(s->steps[0].place.netns_path, "/proc/7/ns/net");
	assert_string_equal(s->rpo.canary.write.place.container, "db");
	assert_false(scenario_place_set(&s->rpo.canary.read.place));
	assert_true(scenario_has_places(s));
	assert_string_equal(scenario_place_describe(&s->probes[0].place, buf, sizeof(buf)),
			    "container web via docker");
	assert_string_equal(scenario_place_describe(&s->faults[2].place, buf, sizeof(buf)),
			    "the namespace of pid 4242");
	assert_string_equal(scenario_place_describe(&s->probes[1].place, buf, sizeof(buf)), "");
	scenario_free(s);
	s = load_ok("min.yaml", MINIMAL);
	assert_false(scenario_has_places(s));
	scenario_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_full_model),
		cmocka_unit_test(test_relative_prefix_list),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_library),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_single_quoted),
		cmocka_unit_test(test_resolution),
		cmocka_unit_test(scenario_readback_keys),
		cmocka_unit_test(scenario_no_answer_and_lead_in),
		cmocka_unit_test(test_fleet),
		cmocka_unit_test(test_places),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

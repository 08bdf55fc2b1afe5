/*
 * Every fault kind, three iterations each, through drill_run(), as root.
 *
 * Two namespaces this test creates: the client fdt-knd-PID (the scenario's
 * scope: probes, faults, runbook) and the server fdt-kns-PID, joined by a
 * veth pair (client fdk0 10.250.61.2, server 10.250.61.1). Services are
 * `python3 -m http.server` serving a 64 KiB file:
 *  - the network primary on 10.250.61.1:8000 in the server namespace;
 *  - the process primary on 127.0.0.1:8000 in the client namespace, under a
 *    supervisor shell loop that restarts it (and writes its pidfile), in a
 *    freezer cgroup of its own when the host has one;
 *  - the backup on 127.0.0.1:8001 in the client namespace.
 * The probe fetches the file from the address in DIR/target. Recovery is a
 * runbook step pointing target at the backup, failback a failback step
 * pointing it back at the primary; for kill, recovery is the supervisor's
 * restart (no steps), so each iteration must kill the new pid.
 *
 * pause names the scope container fdt-kinds, which a stand-in `podman` in
 * DIR/bin (a test double of `podman inspect`) answers with the supervisor's
 * pid: its network namespace is the client's, its cgroup the freezer cgroup
 * above, frozen whole (supervisor and primary) and thawed by the revert.
 *
 * Checked per kind: three iterations, each recovered with its own RTO and
 * time to detect (the fault held), a failback time where there is a
 * failback; kill named three different pids; and nothing left (nft ruleset
 * empty, no blackhole/unreachable/prohibit route, no netem/tbf qdisc, fdk0
 * up, no stopped or frozen process, no active journal row). And a failback
 * that does not hold stops the drill after its first iteration.
 *
 * And a copy of scenarios/library/kill-service.yaml with short timings
 * (5 iterations, SIGKILL, the library's regex on argv[0]
 * /usr/bin/orders-server, its probes, criterion and value-json canary)
 * against an orders server on the client namespace's 127.0.0.1:8080 that
 * keeps its canary records in a file and runs under a supervisor loop:
 * every iteration recovered with an RTO and no lost write, five distinct
 * pids killed, the server started 6 times, nothing left.
 * Exit 77 (skip) when not root; a kind that cannot run here says "skipped".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drill.h"
#include "fd_time.h"
#include "fdtest.h"
#include "scenario.h"
#include "store.h"

#define ITERATIONS 3
#define NET_PRIMARY "10.250.61.1:8000"
#define PROC_PRIMARY "127.0.0.1:8000"
#define BACKUP "127.0.0.1:8001"

#define ORDERS_ITERATIONS 5

static char cns[64], sns[64], dir[256], db[320], python[512], cgroup[320];
static pid_t main_pid;

struct kind_case {
	const char *kind;
	const char *keys;    /* the fault's own keys (YAML, 4 spaces in; @ = dir) */
	const char *primary; /* what target names in steady state */
	bool failover;       /* recovery by runbook step, failback by failback step */
	bool needs_cgroup;
	bool needs_netem;
	bool container;      /* scope: {container: fdt-kinds} (the stand-in engine) */
	const char *failback_to; /* where the failback step points (NULL: the primary) */
};

static const struct kind_case cases[] = {
	{ .kind = "drop", .primary = NET_PRIMARY, .failover = true,
	  .keys = "    targets: { cidrs: [10.250.61.1/32], protocol: tcp, ports: [8000] }\n" },
	{ .kind = "reject", .primary = NET_PRIMARY, .failover = true,
	  .keys = "    targets: { cidrs: [10.250.61.1/32], protocol: tcp, ports: [8000] }\n" },
	{ .kind = "blackhole-route", .primary = NET_PRIMARY, .failover = true,
	  .keys = "    targets: { cidrs: [10.250.61.1/32] }\n" },
	{ .kind = "unreachable-route", .primary = NET_PRIMARY, .failover = true,
	  .keys = "    targets: { cidrs: [10.250.61.1/32] }\n" },
	{ .kind = "prohibit-route", .primary = NET_PRIMARY, .failover = true,
	  .keys = "    targets: { cidrs: [10.250.61.1/32] }\n" },
	{ .kind = "link-down", .primary = NET_PRIMARY, .failover = true, .keys = "    link: fdk0\n" },
	{ .kind = "delay", .primary = NET_PRIMARY, .failover = true, .needs_netem = true,
	  .keys = "    link: fdk0\n    delay: 600ms\n" },
	{ .kind = "loss", .primary = NET_PRIMARY, .failover = true, .needs_netem = true,
	  .keys = "    link: fdk0\n    loss: 100\n" },
	{ .kind = "rate", .primary = NET_PRIMARY, .failover = true,
	  .keys = "    link: fdk0\n    rate: 8kbit\n" },
	{ .kind = "exec", .primary = NET_PRIMARY, .failover = true,
	  .keys = "    inject: ip link set fdk0 down\n    revert: ip link set fdk0 up\n" },
	/* recovered by the supervisor's restart: each iteration kills a new pid */
	{ .kind = "kill", .primary = PROC_PRIMARY,
	  .keys = "    process: { match: 'http\\.server\\x008000\\x00' }\n" },
	{ .kind = "stop", .primary = PROC_PRIMARY, .failover = true,
	  .keys = "    process: { pidfile: @/primary.pid }\n" },
	{ .kind = "freeze", .primary = PROC_PRIMARY, .failover = true, .needs_cgroup = true,
	  .keys = "    process: { match: 'http\\.server\\x008000\\x00' }\n" },
	/* the container's cgroup: the supervisor's, the freezer cgroup */
	{ .kind = "pause", .primary = PROC_PRIMARY, .failover = true, .needs_cgroup = true,
	  .container = true, .keys = "" },
};

/* ---- the services ------------------------------------------------------- */

/* Each service was started by setsid: the pid its pidfile holds is its
 * process group, which holds its children too. */
static void stop_group(const char *pidfile)
{
	fdt_sh("p=$(cat %s/%s 2>/dev/null); [ -n \"$p\" ] && /bin/kill -CONT -- -$p; "
	       "[ -n \"$p\" ] && /bin/kill -KILL -- -$p; true", dir, pidfile);
}

static void stop_services(void)
{
	const char *pidfiles[] = { "supervisor.pid", "net.pid", "backup.pid", "orders-sup.pid" };

	if (getpid() != main_pid)
		return; /* a forked child exiting */
	for (size_t i = 0; i < sizeof(pidfiles) / sizeof(pidfiles[0]); i++)
		stop_group(pidfiles[i]);
	if (*cgroup) {
		fdt_sh("echo THAWED > %s/freezer.state; sleep 0.2; rmdir %s", cgroup, cgroup);
	}
}

static int start_services(void)
{
	int rc = 0;

	rc |= fdt_sh("head -c 65536 /dev/zero > %s/big", dir);
	rc |= fdt_sh("cd %s && ip netns exec %s setsid -f sh -c 'echo $$ > %s/net.pid; "
		     "exec %s -m http.server 8000 --bind 10.250.61.1' >/dev/null 2>&1 </dev/null",
		     dir, sns, dir, python);
	rc |= fdt_sh("cd %s && ip netns exec %s setsid -f sh -c 'echo $$ > %s/backup.pid; "
		     "exec %s -m http.server 8001 --bind 127.0.0.1' >/dev/null 2>&1 </dev/null",
		     dir, cns, dir, python);
	/* the supervisor: restarts the primary whenever it exits */
	rc |= fdt_sh("cd %s && ip netns exec %s setsid -f sh -c 'echo $$ > %s/supervisor.pid; "
		     "while :; do %s -m http.server 8000 --bind 127.0.0.1 & "
		     "echo $! > %s/primary.pid; wait $!; sleep 0.1; done' >/dev/null 2>&1 </dev/null",
		     dir, cns, dir, python, dir);
	return rc;
}

static bool services_up(void *arg)
{
	(void)arg;
	return fdt_sh("ip netns exec %s curl -sf -m 1 -o /dev/null http://" NET_PRIMARY "/big && "
		      "ip netns exec %s curl -sf -m 1 -o /dev/null http://" PROC_PRIMARY "/big && "
		      "ip netns exec %s curl -sf -m 1 -o /dev/null http://" BACKUP "/big",
		      cns, cns, cns) == 0;
}

/* Into the freezer cgroup, from here (`ip netns exec` gives its command a
 * /sys of its own, without the cgroup mounts): the supervisor, so that every
 * restarted primary is born there, and the primary of now. */
static void join_cgroup(void)
{
	if (*cgroup && fdt_sh("echo $(cat %s/supervisor.pid) > %s/cgroup.procs && "
			      "echo $(cat %s/primary.pid) > %s/cgroup.procs", dir, cgroup, dir,
			      cgroup) != 0) {
		fprintf(stderr, "cannot move the primary into %s: freeze will be skipped\n", cgroup);
		fdt_sh("rmdir %s", cgroup);
		cgroup[0] = '\0';
	}
}

/* Whether the kernel has sch_netem (delay, loss): tried on fdk0 and removed. */
static bool have_netem(void)
{
	return fdt_sh("tc -n %s qdisc add dev fdk0 root netem delay 1ms 2>/dev/null && "
		      "tc -n %s qdisc del dev fdk0 root", cns, cns) == 0;
}

/* ---- one kind ------------------------------------------------------------ */

static int write_scenario(const char *path, const struct kind_case *k)
{
	char keys[512];
	const char *at = strchr(k->keys, '@');
	FILE *f;

	if (at)
		snprintf(keys, sizeof(keys), "%.*s%s%s", (int)(at - k->keys), k->keys, dir, at + 1);
	else
		snprintf(keys, sizeof(keys), "%s", k->keys);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"name: kinds-%s\n"
		"iterations: %d\n"
		"scope:\n"
		"  %s: %s\n"
		"faults:\n"
		"  - id: f\n"
		"    kind: %s\n"
		"    duration: 1m\n"
		"%s"
		"probes:\n"
		"  - id: svc\n"
		"    interval: 50ms\n"
		"    timeout: 500ms\n"
		"    command:\n"
		/* 8 KB of request: more than rate's tbf burst (3200 bytes), so that the
		 * first request after T0 already waits (requests are fdk0's egress) */
		"      run: 'curl -sf -m 0.2 -o /dev/null -H \"X-Pad: $(printf %%8000s x)\" "
		"http://$(cat %s/target)/big'\n"
		"steady-state:\n"
		"  probes: [svc]\n"
		"recovery:\n"
		"  all: [svc]\n"
		"  stable-for: 100ms\n"
		"  timeout: 10s\n",
		k->kind, ITERATIONS, k->container ? "container" : "netns",
		k->container ? "fdt-kinds" : cns, k->kind, keys, dir);
	if (k->failover)
		fprintf(f,
			"  steps:\n"
			"    - { name: to the backup, run: 'sleep 0.25; echo %s > %s/target' }\n"
			"failback:\n"
			"  all: [svc]\n"
			"  stable-for: 100ms\n"
			"  timeout: %s\n"
			"  steps:\n"
			"    - { name: to the primary, run: 'echo %s > %s/target', timeout: 5s }\n",
			BACKUP, dir, k->failback_to ? "1s" : "10s",
			k->failback_to ? k->failback_to : k->primary, dir);
	fclose(f);
	return 0;
}

static void nothing_left(const char *kind)
{
	char out[4096];
	struct store *st = NULL;
	struct store_fault *f = NULL;
	struct fd_error e;
	size_t n = 0;

	fdt_capture(out, sizeof(out), "ip netns exec %s nft list ruleset 2>&1", cns);
	FDT_CHECK(out[0] == '\0', "%s: nft ruleset left: %s", kind, out);
	fdt_capture(out, sizeof(out), "ip -n %s route show table all 2>&1 | "
		    "grep -E '^(blackhole|unreachable|prohibit)'", cns);
	FDT_CHECK(out[0] == '\0', "%s: route left: %s", kind, out);
	fdt_capture(out, sizeof(out), "tc -n %s qdisc show dev fdk0 2>&1 | grep -E 'netem|tbf'", cns);
	FDT_CHECK(out[0] == '\0', "%s: qdisc left: %s", kind, out);
	FDT_CHECK(fdt_sh("ip -n %s -o link show fdk0 | grep -qE '[<,]UP[,>]'", cns) == 0,
		  "%s: fdk0 left down", kind);
	FDT_CHECK(fdt_sh("p=$(cat %s/primary.pid) && ! ps -o stat= -p $p | grep -q T", dir) == 0,
		  "%s: the primary left stopped", kind);
	if (*cgroup)
		FDT_CHECK(fdt_sh("grep -qx THAWED %s/freezer.state", cgroup) == 0,
			  "%s: the cgroup left frozen", kind);
	if (store_open(db, &st, &e) == 0 && store_journal_list_active(st, &f, &n, &e) == 0) {
		FDT_CHECK(n == 0, "%s: %zu journal rows still active", kind, n);
		store_faults_free(f, n);
	}
	store_close(st);
}

/* The pid each iteration's fault-applied event names ("...: 1234 (...)"):
 * want iterations, each a different pid. */
static void killed_distinct_pids(const struct drill_result *res, const char *kind, size_t want)
{
	struct store *st = NULL;
	struct store_event *ev = NULL;
	struct fd_error e;
	long pids[ORDERS_ITERATIONS] = { 0 };
	size_t n = 0, k = 0;

	if (want > ORDERS_ITERATIONS)
		want = ORDERS_ITERATIONS;
	if (store_open(db, &st, &e) < 0 || store_list_events(st, res->drill_id, &ev, &n, &e) < 0) {
		FDT_CHECK(0, "%s: events: %s", kind, e.msg);
		store_close(st);
		return;
	}
	for (size_t i = 0; i < n && k < want; i++) {
		const char *colon = strstr(ev[i].detail, ": ");

		if (strcmp(ev[i].kind, "fault-applied") == 0 && colon) {
			pids[k++] = strtol(colon + 2, NULL, 10);
			fprintf(stderr, "  iteration %zu: %s\n", k, ev[i].detail);
		}
	}
	FDT_CHECK(k == want, "%s: %zu fault-applied events, want %zu", kind, k, want);
	for (size_t i = 0; i < k; i++) {
		FDT_CHECK(pids[i] > 0, "%s: iteration %zu names no pid", kind, i + 1);
		for (size_t j = 0; j < i; j++)
			FDT_CHECK(pids[i] != pids[j], "%s: iterations %zu and %zu both killed %ld",
				  kind, j + 1, i + 1, pids[i]);
	}
	free(ev);
	store_close(st);
}

/* pause: every iteration's fault-applied event names the freezer cgroup and
 * the supervisor (the pid the stand-in engine answers with). */
static void paused_the_cgroup(const struct drill_result *res)
{
	struct store *st = NULL;
	struct store_event *ev = NULL;
	struct fd_error e;
	char sup[32] = "", want[64];
	size_t n = 0, k = 0;

	fdt_capture(sup, sizeof(sup), "cat %s/supervisor.pid", dir);
	sup[strcspn(sup, "\n")] = '\0';
	snprintf(want, sizeof(want), " %s (", sup);
	if (store_open(db, &st, &e) < 0 || store_list_events(st, res->drill_id, &ev, &n, &e) < 0) {
		FDT_CHECK(0, "pause: events: %s", e.msg);
		store_close(st);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(ev[i].kind, "fault-applied") == 0 && strstr(ev[i].detail, cgroup) &&
		    strstr(ev[i].detail, want))
			k++;
	FDT_CHECK(k == ITERATIONS, "pause: %zu fault-applied events name %s and the supervisor %s, "
		  "want %d", k, cgroup, sup, ITERATIONS);
	free(ev);
	store_close(st);
}

/* drill_run() on this test's store, without a guardian. */
static int drill_here(const struct scenario *s, struct drill_result *res, struct fd_error *err)
{
	struct drill_opts o;

	drill_opts_init(&o);
	o.db_path = db;
	o.operator_name = "test";
	o.no_guardian = true;
	return drill_run(s, &o, res, err);
}

static void run_kind(const struct kind_case *k)
{
	struct drill_result res;
	struct scenario *s = NULL;
	struct fd_error err;
	char path[512];
	int rc;

	if (k->needs_cgroup && !*cgroup) {
		fprintf(stderr, "%s: skipped (no writable freezer cgroup on this host)\n", k->kind);
		return;
	}
	if (k->needs_netem && !have_netem()) {
		fprintf(stderr, "%s: skipped (the kernel has no sch_netem)\n", k->kind);
		return;
	}
	fprintf(stderr, "--- %s\n", k->kind);
	snprintf(path, sizeof(path), "%s/target", dir);
	fdt_write_file(path, "%s\n", k->primary);
	snprintf(path, sizeof(path), "%s/%s.yaml", dir, k->kind);
	fd_error_clear(&err);
	if (write_scenario(path, k) < 0 || scenario_load(path, &s, &err) < 0) {
		FDT_CHECK(0, "%s: scenario: %s", k->kind, err.msg);
		return;
	}
	rc = drill_here(s, &res, &err);
	FDT_CHECK(rc == 0, "%s: drill_run: %s", k->kind, err.msg);
	FDT_CHECK(res.n_iterations == ITERATIONS, "%s: %zu iterations (%s)", k->kind,
		  res.n_iterations, res.detail);
	for (size_t i = 0; i < res.n_iterations; i++) {
		const struct drill_iteration *it = &res.iterations[i].rec;

		fprintf(stderr, "  iteration %d: %s, RTO %.1f ms, detect %.1f ms, failback %.1f ms %s\n",
			it->number, drill_outcome_name(it->outcome), (double)it->rto_ns / 1e6, (double)it->detect_ns / 1e6,
			(double)it->failback_ns / 1e6, it->detail);
		FDT_CHECK(it->outcome == OUTCOME_RECOVERED, "%s: iteration %zu %s: %s", k->kind, i + 1,
			  drill_outcome_name(it->outcome), it->detail);
		FDT_CHECK(it->has_rto && it->rto_ns > 0, "%s: iteration %zu has no RTO", k->kind, i + 1);
		/* the fault held: the probe failed before the recovery began */
		FDT_CHECK(it->has_detect && it->detect_ns < it->rto_ns,
			  "%s: iteration %zu: the probe did not fail before recovering (detect %.1f ms)",
			  k->kind, i + 1, (double)it->detect_ns / 1e6);
		FDT_CHECK(!k->failover || it->has_failback, "%s: iteration %zu has no failback time",
			  k->kind, i + 1);
	}
	FDT_CHECK(res.outcome == OUTCOME_RECOVERED, "%s: drill %s: %s", k->kind,
		  drill_outcome_name(res.outcome), res.detail);
	if (strcmp(k->kind, "kill") == 0)
		killed_distinct_pids(&res, "kill", ITERATIONS);
	if (strcmp(k->kind, "pause") == 0)
		paused_the_cgroup(&res);
	nothing_left(k->kind);
	drill_result_free(&res);
	scenario_free(s);
}

/* A failback that does not hold stops the drill after iteration 1: its RTO
 * stands, it has no failback time, and iterations 2 and 3 are not run. */
static void no_failback(void)
{
	static const struct kind_case k = {
		.kind = "drop", .primary = NET_PRIMARY, .failover = true,
		.keys = "    targets: { cidrs: [10.250.61.1/32], protocol: tcp, ports: [8000] }\n",
		.failback_to = "127.0.0.1:8009", /* nothing listens there */
	};
	struct drill_result res;
	struct scenario *s = NULL;
	struct fd_error err;
	char path[512];
	int rc;

	fprintf(stderr, "--- no failback\n");
	snprintf(path, sizeof(path), "%s/target", dir);
	fdt_write_file(path, "%s\n", k.primary);
	snprintf(path, sizeof(path), "%s/no-failback.yaml", dir);
	fd_error_clear(&err);
	if (write_scenario(path, &k) < 0 || scenario_load(path, &s, &err) < 0) {
		FDT_CHECK(0, "no failback: scenario: %s", err.msg);
		return;
	}
	rc = drill_here(s, &res, &err);
	fprintf(stderr, "  %s\n", res.detail);
	FDT_CHECK(rc == 0, "no failback: drill_run: %s", err.msg);
	FDT_CHECK(res.n_iterations == 1, "no failback: %zu iterations run", res.n_iterations);
	FDT_CHECK(strstr(res.detail, "iteration 1: the system did not fail back within 1.0 s (probe svc failing)") &&
		  strstr(res.detail, "1 of 3 iterations run"), "no failback: detail \"%s\"", res.detail);
	FDT_CHECK(!res.objectives_met, "no failback: objectives met with 1 of 3 iterations");
	if (res.n_iterations == 1) {
		const struct drill_iteration *it = &res.iterations[0].rec;

		FDT_CHECK(it->outcome == OUTCOME_RECOVERED && it->has_rto && !it->has_failback,
			  "no failback: iteration %s, RTO %d, failback %d", drill_outcome_name(it->outcome),
			  it->has_rto, it->has_failback);
		/* its RTO met the objective, but the way back failed: not met */
		FDT_CHECK(!it->objectives_met, "no failback: iteration 1 counted as objectives met");
	}
	nothing_left("no failback");
	drill_result_free(&res);
	scenario_free(s);
}

/* ---- scenarios/library/kill-service.yaml, with short timings ------------- */

/* An orders server like the library scenario's: canary records kept in a
 * file (fsynced before the 201), so that a SIGKILL loses none. Arguments by
 * position; --role=primary is only there for the library's match. */
static const char orders_py[] =
	"import http.server, json, os, sys\n"
	"port = int(sys.argv[1]); store = sys.argv[2]; log = sys.argv[3]\n"
	"def load():\n"
	"    d = {}\n"
	"    if os.path.exists(store):\n"
	"        for line in open(store):\n"
	"            k, v = line.split()\n"
	"            d[k] = int(v)\n"
	"    return d\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    def log_message(self, *a): pass\n"
	"    def answer(self, code, body):\n"
	"        b = body.encode()\n"
	"        self.send_response(code)\n"
	"        self.send_header('Content-Length', str(len(b)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(b)\n"
	"    def do_GET(self):\n"
	"        if self.path == '/health':\n"
	"            return self.answer(200, 'ok')\n"
	"        seq = self.path.rsplit('/', 1)[-1]\n"
	"        d = load()\n"
	"        if seq in d:\n"
	"            return self.answer(200, json.dumps({'seq': int(seq), 'ts': d[seq]}))\n"
	"        self.answer(404, 'missing')\n"
	"    def do_POST(self):\n"
	"        n = int(self.headers.get('Content-Length', 0))\n"
	"        rec = json.loads(self.rfile.read(n))\n"
	"        with open(store, 'a') as f:\n"
	"            f.write('%d %d\\n' % (rec['seq'], rec['ts']))\n"
	"            f.flush(); os.fsync(f.fileno())\n"
	"        self.answer(201, 'stored')\n"
	"s = http.server.ThreadingHTTPServer(('127.0.0.1', port), H)\n"
	"open(log, 'a').write('listening on :%d\\n' % port)\n"
	"s.serve_forever()\n";

/* The library scenario with its timings shortened (probe intervals,
 * stable-for, cool-down, recovery timeout) and its log in dir. */
static void orders_scenario(const char *path)
{
	fdt_write_file(path,
		       "# scenarios/library/kill-service.yaml with short timings\n"
		       "name: orders-service-kill\n"
		       "environment: test\n"
		       "iterations: %d\n"
		       "cool-down: 100ms\n"
		       "objectives:\n"
		       "  rto: 45s\n"
		       "  rpo: 0s\n"
		       "scope:\n"
		       "  netns: %s\n"
		       "faults:\n"
		       "  - id: orders\n"
		       "    kind: kill\n"
		       "    signal: KILL\n"
		       "    process:\n"
		       "      match: '^/usr/bin/orders-server\\x00.*--role=primary'\n"
		       "    duration: 1m\n"
		       "probes:\n"
		       "  - id: orders-health\n"
		       "    interval: 50ms\n"
		       "    timeout: 500ms\n"
		       "    http:\n"
		       "      url: http://127.0.0.1:8080/health\n"
		       "      expect-status: [200]\n"
		       "  - id: orders-port\n"
		       "    interval: 50ms\n"
		       "    tcp: { host: 127.0.0.1, port: 8080 }\n"
		       "  - id: restarted\n"
		       "    log:\n"
		       "      path: %s/orders.log\n"
		       "      match: 'listening on :8080'\n"
		       "      fail-match: 'FATAL'\n"
		       "steady-state:\n"
		       "  probes: [orders-health]\n"
		       "recovery:\n"
		       "  all: [orders-health, orders-port]\n"
		       "  stable-for: 200ms\n"
		       "  timeout: 20s\n"
		       "rpo:\n"
		       "  canary:\n"
		       "    interval: 50ms\n"
		       "    write:\n"
		       "      method: POST\n"
		       "      url: http://127.0.0.1:8080/orders/canary\n"
		       "      body: '{\"seq\": {{seq}}, \"ts\": {{ts}}}'\n"
		       "      expect-status: [201]\n"
		       "    read:\n"
		       "      url: http://127.0.0.1:8080/orders/canary/{{seq}}\n"
		       "      value-json: ts\n",
		       ORDERS_ITERATIONS, cns, dir);
}

static bool orders_up(void *arg)
{
	(void)arg;
	return fdt_sh("ip netns exec %s curl -sf -m 1 -o /dev/null http://127.0.0.1:8080/health",
		      cns) == 0;
}

/* The supervisor restarts the server under argv[0] /usr/bin/orders-server
 * (bash's exec -a), which is what the library's regex matches; PYTHONHOME,
 * since under another argv[0] the interpreter cannot find its prefix. */
static void kill_service_library(void)
{
	struct drill_result res;
	struct scenario *s = NULL;
	struct fd_error err;
	char path[512], home[512];
	int rc;

	fprintf(stderr, "--- kill-service (library copy)\n");
	if (fdt_sh("command -v bash >/dev/null") != 0) {
		fprintf(stderr, "kill-service: skipped (no bash for exec -a)\n");
		return;
	}
	if (fdt_capture(home, sizeof(home), "%s -c 'import sys; print(sys.prefix)'", python) != 0) {
		FDT_CHECK(0, "kill-service: python's prefix");
		return;
	}
	home[strcspn(home, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s/orders.py", dir);
	fdt_write_file(path, "%s", orders_py);
	FDT_CHECK(fdt_sh("cd %s && ip netns exec %s setsid -f sh -c 'echo $$ > %s/orders-sup.pid; "
			 "export PYTHONHOME=%s; while :; do bash -c \"exec -a /usr/bin/orders-server "
			 "%s %s 8080 %s/orders.db %s/orders.log --role=primary\" & "
			 "echo $! > %s/orders.pid; wait $!; sleep 0.05; done' >/dev/null 2>&1 </dev/null",
			 dir, cns, dir, home, python, path, dir, dir, dir) == 0,
		  "kill-service: the supervisor did not start");
	if (!fdt_wait_until(orders_up, NULL, 10000, 50)) {
		FDT_CHECK(0, "kill-service: the orders server is not answering");
		stop_group("orders-sup.pid");
		return;
	}
	snprintf(path, sizeof(path), "%s/kill-service.yaml", dir);
	orders_scenario(path);
	fd_error_clear(&err);
	if (scenario_load(path, &s, &err) < 0) {
		FDT_CHECK(0, "kill-service: scenario: %s", err.msg);
		stop_group("orders-sup.pid");
		return;
	}
	rc = drill_here(s, &res, &err);
	FDT_CHECK(rc == 0, "kill-service: drill_run: %s", err.msg);
	FDT_CHECK(res.n_iterations == ORDERS_ITERATIONS && res.outcome == OUTCOME_RECOVERED,
		  "kill-service: %zu iterations, %s: %s", res.n_iterations,
		  drill_outcome_name(res.outcome), res.detail);
	for (size_t i = 0; i < res.n_iterations; i++) {
		const struct drill_iteration *it = &res.iterations[i].rec;

		fprintf(stderr, "  iteration %d: %s, RTO %.1f ms (bound %.1f ms), lost %lld, %s\n",
			it->number, drill_outcome_name(it->outcome), (double)it->rto_ns / 1e6, (double)it->error_bound_ns / 1e6,
			(long long)it->lost_writes, it->objectives_met ? "met" : "missed");
		FDT_CHECK(it->outcome == OUTCOME_RECOVERED && it->has_rto && it->rto_ns > 0,
			  "kill-service: iteration %zu %s, no RTO: %s", i + 1,
			  drill_outcome_name(it->outcome), it->detail);
		FDT_CHECK(it->lost_writes == 0, "kill-service: iteration %zu lost %lld writes", i + 1,
			  (long long)it->lost_writes);
	}
	killed_distinct_pids(&res, "kill-service", ORDERS_ITERATIONS);
	FDT_CHECK(fdt_wait_until(orders_up, NULL, 10000, 50),
		  "kill-service: the supervisor's child is not serving");
	FDT_CHECK(fdt_sh("grep -c 'listening on' %s/orders.log | grep -qx 6", dir) == 0,
		  "kill-service: the server did not start 6 times (once, then after each kill)");
	nothing_left("kill-service");
	drill_result_free(&res);
	scenario_free(s);
	stop_group("orders-sup.pid");
	/* zombies do not count: the killed group is re-parented to an init that
	 * may reap it late */
	FDT_CHECK(fdt_sh("p=$(cat %s/orders-sup.pid); for i in 1 2 3 4 5 6 7 8 9 10; do "
			 "ps -eo pgid=,stat= | awk -v p=$p '$1 == p && $2 !~ /^Z/' | grep -q . || "
			 "exit 0; sleep 0.1; done; exit 1", dir) == 0,
		  "kill-service: the orders supervisor's group is still running");
}

/* A freezer cgroup (v1) for the supervised primary, when the host has one. */
static void make_cgroup(void)
{
	snprintf(cgroup, sizeof(cgroup), "/sys/fs/cgroup/freezer/fdt-kinds-%d", (int)getpid());
	if (fdt_sh("mkdir %s 2>/dev/null", cgroup) != 0) {
		fprintf(stderr, "no v1 freezer cgroup: freeze will be skipped\n");
		cgroup[0] = '\0';
	}
}

/* A test double of `podman inspect --type container --format ... fdt-kinds`
 * in DIR/bin, put first on PATH: the container's pid is the supervisor's. */
static int make_engine_standin(void)
{
	char path[8192], bin[320];
	const char *old = getenv("PATH");
	int n;

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	snprintf(path, sizeof(path), "%s/podman", bin);
	if (fdt_sh("mkdir -p %s", bin) != 0 ||
	    fdt_write_file(path,
			   "#!/bin/sh\n"
			   "[ \"$1\" = inspect ] || exit 125\n"
			   "for a; do last=$a; done\n"
			   "[ \"$last\" = fdt-kinds ] || { echo \"Error: no such container $last\" >&2; exit 125; }\n"
			   "echo \"fdtkinds0123456789 $(cat %s/supervisor.pid) true localhost/fdt-kinds:test\"\n",
			   dir) < 0 ||
	    fdt_sh("chmod +x %s", path) != 0)
		return -1;
	n = snprintf(path, sizeof(path), "%s:%s", bin, old ? old : "/usr/bin:/bin");
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	return setenv("PATH", path, 1);
}

int main(void)
{
	if (!fdt_need_root())
		return FDT_SKIP;
	if (fdt_sh("command -v curl >/dev/null") != 0 ||
	    fdt_capture(python, sizeof(python), "python3 -c 'import sys; print(sys.executable)'") != 0) {
		fprintf(stderr, "skipped: needs curl and python3\n");
		return FDT_SKIP;
	}
	python[strcspn(python, "\n")] = '\0';
	snprintf(cns, sizeof(cns), "fdt-knd-%d", (int)getpid());
	snprintf(sns, sizeof(sns), "fdt-kns-%d", (int)getpid());
	if (fdt_tmpdir(dir, sizeof(dir), "fdt-kinds") < 0 || fdt_netns_add(cns, NULL) < 0 ||
	    fdt_netns_add(sns, NULL) < 0 ||
	    fdt_veth_add(cns, "fdk0", "10.250.61.2/24", sns, "fdk1", "10.250.61.1/24") < 0) {
		fprintf(stderr, "cannot set up the namespaces\n");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/kinds.db", dir);
	main_pid = getpid();
	setenv("FIREDRILL_RUN_DIR", dir, 1);
	make_cgroup();
	if (make_engine_standin() < 0) {
		FDT_CHECK(0, "cannot write the stand-in podman in %s/bin", dir);
		return fdt_finish();
	}
	atexit(stop_services);
	FDT_CHECK(start_services() == 0, "services did not start");
	if (!fdt_wait_until(services_up, NULL, 15000, 100)) {
		FDT_CHECK(0, "services not answering");
		return fdt_finish();
	}
	join_cgroup();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_kind(&cases[i]);
	no_failback();
	kill_service_library();
	return fdt_finish();
}

/*
 * drill_run() against a small service in a network namespace this test
 * creates (fdt-drill-PID), as root. The service (libmicrohttpd) answers
 * /health with 200 while it can connect to its backend, whose address it
 * reads from a file on every request; the fault drops tcp/9090 to backend A
 * (10.250.1.1), and recovery is switching the file to backend B
 * (10.250.2.1): by a runbook command, or by hand with `firedrill lap`.
 * The switch instant (the file's mtime) is the ground truth for the RTO.
 *
 * Checked: outcome, RTO within the error bound of the truth (plus a margin
 * for the request in flight), laps, the timeline's order, and that nothing
 * is left (nft ruleset of the namespace empty, no active journal rows).
 * Also: the health check's connections to backend A show up as a
 * blackholed flow; an evidence probe (pcap, expect: none) on the
 * namespace's lo sees no SYN-ACK from A while the fault holds, and one
 * watching B (not blackholed: a blackhole that does not hold) fails the
 * drill's objectives; and the scenario's webhooks reach a receiver on the
 * namespace's 127.0.0.1 in order with their fields, while the URL's secret
 * marker appears nowhere in the database files. Failing answers are slow
 * (the front waits 500 ms for the blackholed backend) and healthy ones
 * fast, so answers complete out of send order: the outage still gives one
 * probe-down and one probe-up, the probe-up is the sample RTO is measured
 * from, and the timeline is in time order in the store, in the progress
 * lines `run` prints, and in the HTML, Markdown and JSON evidence reports.
 * Exit 77 (skip) when not root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drill.h"
#include "drill_internal.h"
#include "fd_netns.h"
#include "fd_time.h"
#include "fdt_hook.h"
#include "fdtest.h"
#include "report.h"
#include "scenario.h"
#include "store.h"

#define MS FD_NS_PER_MS
#define FRONT_PORT 8080
#define BACKEND_PORT 9090
#define MAX_SEQ 65536

static char ns[64];
static char dir[256];
static char backend_file[300], db[300];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char canary[MAX_SEQ];
static volatile int watching; /* the drill reached its watch phase */
static const char *extra_probes = ""; /* more entries for probes: */

/* the webhook receiver (tests/lib/fdt_hook.h) on the namespace's loopback */
#define HOOK_MARKER "fdt-hook-secret"
static char hook_marker[64]; /* HOOK_MARKER-PID: in the URL only */
static struct fdt_hook *hooks_rx;

/* ---- the service --------------------------------------------------------- */

static bool backend_reachable(void)
{
	char addr[64] = "";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(BACKEND_PORT) };
	struct pollfd pfd;
	int fd, ok = 0, soerr = 0;
	socklen_t sl = sizeof(soerr);
	FILE *f = fopen(backend_file, "r");

	if (f) {
		if (!fgets(addr, sizeof(addr), f))
			addr[0] = '\0';
		fclose(f);
	}
	addr[strcspn(addr, "\n")] = '\0';
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		ok = 1;
	} else if (errno == EINPROGRESS) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		/* Slow to fail (500 ms), fast to succeed: answers overtake each other. */
		if (poll(&pfd, 1, 500) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		    soerr == 0)
			ok = 1;
	}
	close(fd);
	return ok;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret = MHD_queue_response(c, status, r);

	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result front(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_size, void **state)
{
	static int first_call;
	unsigned long seq;

	(void)cls;
	(void)version;
	(void)upload;
	if (!*state) {
		*state = &first_call;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* the canary body: only the key matters */
		return MHD_YES;
	}
	if (strcmp(url, "/health") == 0)
		return backend_reachable() ? reply(c, 200, "ok\n") : reply(c, 503, "no backend\n");
	if (strncmp(url, "/canary/", 8) == 0 && (seq = strtoul(url + 8, NULL, 10)) < MAX_SEQ) {
		if (strcmp(method, "GET") == 0) {
			pthread_mutex_lock(&mu);
			bool have = canary[seq];
			pthread_mutex_unlock(&mu);
			return have ? reply(c, 200, "1\n") : reply(c, 404, "missing\n");
		}
		pthread_mutex_lock(&mu);
		canary[seq] = 1;
		pthread_mutex_unlock(&mu);
		return reply(c, 200, "stored\n");
	}
	return reply(c, 404, "no such path\n");
}

static enum MHD_Result backend(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **state)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
	(void)state;
	return reply(c, 200, "backend\n");
}

static void set_backend(const char *addr)
{
	fdt_write_file(backend_file, "%s\n", addr);
}

/* ---- scenarios ------------------------------------------------------------- */

static void write_scenario(const char *path, const char *name, const char *timeout,
			   const char *steps, const char *extra)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fprintf(f,
		"name: %s\n"
		"environment: test\n"
		"objectives:\n"
		"  rto: 10s\n"
		"scope:\n"
		"  netns: %s\n"
		"faults:\n"
		"  - id: backend-a\n"
		"    kind: drop\n"
		"    duration: 1m\n"
		"    targets:\n"
		"      cidrs: [10.250.1.1/32]\n"
		"      protocol: tcp\n"
		"      ports: [%d]\n"
		"probes:\n"
		"  - id: api\n"
		"    interval: 20ms\n"
		"    timeout: 1s\n"
		"    http:\n"
		"      url: http://127.0.0.1:%d/health\n"
		"%s"
		"steady-state:\n"
		"  probes: [api]\n"
		"recovery:\n"
		"  all: [api]\n"
		"  stable-for: 300ms\n"
		"  timeout: %s\n"
		"%s"
		"rpo:\n"
		"  canary:\n"
		"    interval: 50ms\n"
		"    write:\n"
		"      method: PUT\n"
		"      url: http://127.0.0.1:%d/canary/{{seq}}\n"
		"      body: '{\"seq\": {{seq}}, \"ts\": {{ts}}}'\n"
		"    read:\n"
		"      url: http://127.0.0.1:%d/canary/{{seq}}\n"
		"      expect-status: [200]\n"
		"%s",
		name, ns, BACKEND_PORT, FRONT_PORT, extra_probes, timeout, steps, FRONT_PORT,
		FRONT_PORT, extra);
	fclose(f);
}

/* The event lines as `firedrill run` prints them: when, and what. */
#define MAX_TOLD 4096
static struct told {
	int64_t real_ns;
	char text[160];
} told[MAX_TOLD];
static size_t n_told;

static void on_progress(void *user, const struct drill_progress *p)
{
	(void)user;
	if (p->phase == DRILL_PHASE_WATCH)
		watching = 1;
	if (p->event && n_told < MAX_TOLD) {
		told[n_told].real_ns = p->event_real_ns;
		snprintf(told[n_told].text, sizeof(told[n_told].text), "%s", p->event);
		n_told++;
	}
}

static int run(const char *name, const char *timeout, const char *steps, const char *extra,
	       struct drill_result *res, struct fd_error *err)
{
	char path[512];
	struct scenario *s = NULL;
	struct drill_opts o;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
	write_scenario(path, name, timeout, steps, extra);
	fd_error_clear(err);
	rc = scenario_load(path, &s, err);
	if (rc < 0) {
		fprintf(stderr, "scenario: %s\n", err->msg);
		return rc;
	}
	n_told = 0;
	drill_opts_init(&o);
	o.db_path = db;
	o.operator_name = "test";
	o.no_guardian = true;
	o.progress = on_progress;
	rc = drill_run(s, &o, res, err);
	scenario_free(s);
	return rc;
}

/* ---- checks ------------------------------------------------------------------- */

static void nothing_left(void)
{
	char out[4096];
	struct store *st = NULL;
	struct store_fault *f = NULL;
	struct fd_error e = { 0 };
	size_t n = 0;

	fdt_capture(out, sizeof(out), "ip netns exec %s nft list ruleset 2>&1", ns);
	FDT_CHECK(out[0] == '\0', "nft ruleset left in %s: %s", ns, out);
	FDT_CHECK(fdt_sh("ls %s | grep -qE '^(scope-.*\\.lock|lap-.*\\.sock)$'", dir) != 0,
	      "lock or lap socket left in %s", dir);
	/* A store that cannot be read is a failure, not "no active rows". */
	if (store_open(db, &st, &e) == 0 && store_journal_list_active(st, &f, &n, &e) == 0) {
		FDT_CHECK(n == 0, "%zu journal rows still active", n);
		store_faults_free(f, n);
	} else {
		FDT_CHECK(0, "cannot read the fault journal of %s: %s", db, e.msg);
	}
	store_close(st);
}

/* The drill's timeline from the store (the caller frees *ev); 0 events on error. */
static size_t drill_events(int64_t drill_id, struct store_event **ev)
{
	struct store *st = NULL;
	struct fd_error e;
	size_t n = 0;

	*ev = NULL;
	if (store_open(db, &st, &e) < 0 || store_list_events(st, drill_id, ev, &n, &e) < 0) {
		FDT_CHECK(0, "events: %s", e.msg);
		n = 0;
	}
	store_close(st);
	return n;
}

/* kind/subject pairs must appear in this order (others may come between). */
static void events_in_order(int64_t drill_id, const char *const *want)
{
	struct store_event *ev;
	size_t n = drill_events(drill_id, &ev), w = 0;
	char pair[200];

	for (size_t i = 0; i < n && want[w]; i++) {
		snprintf(pair, sizeof(pair), "%s %s", ev[i].kind, ev[i].subject);
		if (strcmp(pair, want[w]) == 0)
			w++;
	}
	FDT_CHECK(want[w] == NULL, "event \"%s\" missing or out of order", want[w]);
	free(ev);
}

/* The detail of the first event kind/subject contains needle, and not absent. */
static void event_says(int64_t drill_id, const char *kind, const char *subject,
		       const char *needle, const char *absent)
{
	struct store_event *ev;
	size_t n = drill_events(drill_id, &ev);
	const char *found = NULL;

	for (size_t i = 0; i < n && !found; i++)
		if (strcmp(ev[i].kind, kind) == 0 && strcmp(ev[i].subject, subject) == 0)
			found = ev[i].detail;
	FDT_CHECK(found && strstr(found, needle) && !(absent && strstr(found, absent)),
		  "event %s %s: \"%s\", want \"%s\"%s%s", kind, subject, found ? found : "(none)",
		  needle, absent ? " without " : "", absent ? absent : "");
	free(ev);
}

/*
 * One outage, one transition each way: from the start of the injection
 * (a request sent while the fault was being applied, just before T0, may
 * already fail) exactly one probe-down and one probe-up of probe, the
 * probe-up dated by the sample RTO is measured from (T0 + RTO), and the
 * same in the progress lines.
 */
static void one_flip_each_way(int64_t drill_id, const struct drill_iteration *it,
			      const char *probe)
{
	struct store_event *ev;
	size_t n = drill_events(drill_id, &ev), down = 0, up = 0, tdown = 0, tup = 0;
	int64_t up_at = 0, rto = it->rto_ns, inject = INT64_MAX;
	char want_down[80], want_up[80];

	for (size_t i = 0; i < n; i++)
		if (strcmp(ev[i].kind, "phase") == 0 && strcmp(ev[i].subject, "inject") == 0)
			inject = ev[i].mono_ns;
	FDT_CHECK(inject <= it->t0_mono_ns, "no phase inject before T0");
	for (size_t i = 0; i < n; i++) {
		if (ev[i].mono_ns < inject || strcmp(ev[i].subject, probe) != 0)
			continue;
		if (strcmp(ev[i].kind, "probe-down") == 0)
			down++;
		if (strcmp(ev[i].kind, "probe-up") == 0 && up++ == 0)
			up_at = ev[i].mono_ns;
	}
	free(ev);
	FDT_CHECK(down == 1 && up == 1, "probe %s from inject on: %zu down, %zu up, want 1 and 1",
		  probe, down, up);
	FDT_CHECK(llabs(up_at - (it->t0_mono_ns + rto)) <= 1000,
		  "probe-up %s at T0+%.3f ms, RTO %.3f ms: not the sample RTO is measured from", probe,
		  (double)(up_at - it->t0_mono_ns) / 1e6, (double)it->rto_ns / 1e6);
	/* The progress lines: the same single pair (before T0 there is one "up", the first sample). */
	snprintf(want_down, sizeof(want_down), "probe-down %s", probe);
	snprintf(want_up, sizeof(want_up), "probe-up %s", probe);
	for (size_t i = 0; i < n_told; i++) {
		tdown += strncmp(told[i].text, want_down, strlen(want_down)) == 0;
		tup += strncmp(told[i].text, want_up, strlen(want_up)) == 0;
	}
	FDT_CHECK(tdown == 1 && tup == 2, "progress lines: %zu probe-down, %zu probe-up %s (want 1, 2)",
		  tdown, tup, probe);
}

/* The event lines the progress callback got (what `run` prints) are in time order. */
static void told_in_order(void)
{
	FDT_CHECK(n_told > 5, "only %zu progress lines", n_told);
	for (size_t i = 1; i < n_told; i++)
		FDT_CHECK(told[i].real_ns >= told[i - 1].real_ns,
			  "progress line %zu \"%s\" %.3f ms before line %zu \"%s\"", i, told[i].text,
			  (double)(told[i - 1].real_ns - told[i].real_ns) / 1e6, i - 1, told[i - 1].text);
}

/* The evidence report in fmt, as a string (the caller frees it). */
static char *evidence_text(int64_t drill_id, enum report_format fmt)
{
	struct report_evidence *ev = NULL;
	struct store *st = NULL;
	struct fd_error e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (store_open(db, &st, &e) < 0 || report_evidence_load(st, drill_id, &ev, &e) < 0) {
		FDT_CHECK(0, "evidence: %s", e.msg);
		store_close(st);
		return NULL;
	}
	f = open_memstream(&buf, &len);
	if (f && report_evidence_write(ev, fmt, f, &e) < 0)
		FDT_CHECK(0, "evidence write: %s", e.msg);
	if (f)
		fclose(f);
	report_evidence_free(ev);
	store_close(st);
	return buf;
}

/* ISO 8601 UTC times at fixed width compare as strings: each no earlier than the one before. */
static size_t times_in_order(const char *fmt_name, const char *doc, const char *section,
			     const char *before)
{
	const char *p = doc ? strstr(doc, section) : NULL;
	char prev[32] = "", cur[32];
	size_t n = 0, bl = strlen(before);

	while (p && (p = strstr(p, before))) {
		p += bl;
		if (sscanf(p, "%24[0-9TZ:.-]", cur) != 1 || strlen(cur) != 24)
			continue;
		FDT_CHECK(strcmp(cur, prev) >= 0, "%s timeline: %s after %s", fmt_name, cur, prev);
		snprintf(prev, sizeof(prev), "%s", cur);
		n++;
	}
	return n;
}

static void reports_in_order(int64_t drill_id)
{
	char *html = evidence_text(drill_id, REPORT_HTML), *md = evidence_text(drill_id, REPORT_MARKDOWN);
	char *js = evidence_text(drill_id, REPORT_JSON);
	json_t *root = js ? json_loads(js, 0, NULL) : NULL, *events, *e;
	size_t nh, nm, i;
	int64_t prev = 0;

	nh = times_in_order("HTML", html, "<h2>Timeline</h2>", "<tr><td class=\"t\">");
	nm = times_in_order("Markdown", md, "## Timeline", "\n| ");
	events = json_object_get(root, "events");
	FDT_CHECK(json_array_size(events) > 5, "JSON: %zu events", json_array_size(events));
	FDT_CHECK(nh == json_array_size(events) && nm == json_array_size(events),
		  "timeline rows: HTML %zu, Markdown %zu, JSON %zu", nh, nm, json_array_size(events));
	json_array_foreach(events, i, e) {
		int64_t m = json_integer_value(json_object_get(e, "mono_ns"));

		FDT_CHECK(m >= prev, "JSON event %zu (%s %s) %.3f ms before the one above it", i,
			  json_string_value(json_object_get(e, "kind")),
			  json_string_value(json_object_get(e, "subject")), (double)(prev - m) / 1e6);
		prev = m;
	}
	json_decref(root);
	free(html);
	free(md);
	free(js);
}

/*
 * Both sides of the RTO's bound are recorded and hold against the switch
 * instant (the backend file's mtime): the front reads the file on every
 * request, so the healthy sample read it after the switch and before its
 * answer, and the failing one before it read it before the switch. The
 * margin is the file system's coarse timestamp (a jiffy, up to 10 ms).
 */
static void rto_bounds_hold(const struct drill_iteration *it)
{
	int64_t truth, rto = it->rto_ns;
	struct stat sb;

	FDT_CHECK(it->has_rto_bounds, "no RTO bounds recorded");
	if (stat(backend_file, &sb) < 0)
		return;
	truth = (int64_t)sb.st_mtim.tv_sec * FD_NS_PER_S + sb.st_mtim.tv_nsec - it->t0_real_ns;
	fprintf(stderr, "  RTO %.1f ms (-%.1f/+%.1f ms), truth %.1f ms\n", (double)it->rto_ns / 1e6,
		(double)it->rto_late_ns / 1e6, (double)it->rto_early_ns / 1e6, (double)truth / 1e6);
	FDT_CHECK(truth >= rto - it->rto_late_ns - 10 * MS,
		  "truth %.1f ms below RTO - late (%.1f - %.1f ms)", (double)truth / 1e6, (double)it->rto_ns / 1e6,
		  (double)it->rto_late_ns / 1e6);
	FDT_CHECK(truth <= rto + it->rto_early_ns + MS,
		  "truth %.1f ms above RTO + early (%.1f + %.1f ms)", (double)truth / 1e6, (double)it->rto_ns / 1e6,
		  (double)it->rto_early_ns / 1e6);
	FDT_CHECK(it->error_bound_ns == (it->rto_early_ns > it->rto_late_ns ? it->rto_early_ns
									  : it->rto_late_ns),
		  "error_bound_ms %.3f is not the larger side", (double)it->error_bound_ns / 1e6);
}

static int64_t truth_rto_ns(const struct drill_iteration *it)
{
	struct stat sb;

	if (stat(backend_file, &sb) < 0)
		return -1;
	return (int64_t)sb.st_mtim.tv_sec * FD_NS_PER_S + sb.st_mtim.tv_nsec - it->t0_real_ns;
}

/* Measured RTO vs the switch instant: never early by more than a request
 * in flight, never late by more than the error bound plus a margin. */
static void rto_matches_truth(const struct drill_iteration *it)
{
	int64_t truth = truth_rto_ns(it), rto = it->rto_ns;
	int64_t bound = it->error_bound_ns;

	fprintf(stderr, "  RTO measured %.1f ms, truth %.1f ms, bound %.1f ms\n", (double)it->rto_ns / 1e6,
		(double)truth / 1e6, (double)it->error_bound_ns / 1e6);
	FDT_CHECK(it->has_rto, "no RTO");
	FDT_CHECK(rto >= truth - 50 * MS && rto <= truth + bound + 200 * MS,
	      "RTO %.1f ms vs truth %.1f ms (bound %.1f ms)", (double)it->rto_ns / 1e6, (double)truth / 1e6,
	      (double)it->error_bound_ns / 1e6);
}

/* The webhooks that arrived, by event name, with their drill and outcome. */
static void hooks_were(int64_t drill_id, const char *const *events, const char *const *outcomes)
{
	size_t i, n = fdt_hook_count(hooks_rx);

	for (i = 0; events[i]; i++) {
		struct fdt_hook_post post = { 0 };
		json_error_t je;
		json_t *j = fdt_hook_get(hooks_rx, i, &post) ? json_loads(post.body, 0, &je) : NULL;
		const char *ev = json_string_value(json_object_get(j, "event"));
		const char *out = json_string_value(json_object_get(j, "outcome"));

		free(post.body);
		FDT_CHECK(j != NULL, "webhook %zu (%s) did not arrive", i, events[i]);
		FDT_CHECK(!j || strstr(post.path, hook_marker), "webhook %zu: path %s", i, post.path);
		FDT_CHECK(ev && strcmp(ev, events[i]) == 0, "webhook %zu: event %s, want %s", i,
		      ev ? ev : "(none)", events[i]);
		FDT_CHECK((!outcomes[i] && !out) || (outcomes[i] && out && strcmp(out, outcomes[i]) == 0),
		      "webhook %s: outcome %s", events[i], out ? out : "null");
		FDT_CHECK(json_integer_value(json_object_get(j, "drill_id")) == drill_id, "webhook %s: drill id",
		      events[i]);
		FDT_CHECK(json_string_value(json_object_get(j, "environment")) &&
		      strcmp(json_string_value(json_object_get(j, "environment")), "test") == 0,
		      "webhook %s: environment", events[i]);
		json_decref(j);
	}
	FDT_CHECK(n == i, "%zu webhooks arrived, want %zu", n, i);
}

/* The URL is a secret: not in the database, its WAL or anything beside it. */
static void marker_nowhere(void)
{
	FDT_CHECK(fdt_sh("grep -rqaF '%s' %s", HOOK_MARKER, dir) != 0, "the webhook URL's marker is in %s",
	      dir);
}

/* The flow's row in the store's flows table (schema 6): its sender as the drill saw it. */
static void backend_flow_row(int64_t drill_id, const char *text, pid_t sender)
{
	struct store *st = NULL;
	struct store_flow *f = NULL;
	struct fd_error e;
	size_t n = 0, rows = 0;

	if (store_open(db, &st, &e) < 0 || store_list_flows(st, drill_id, &f, &n, &e) < 0)
		FDT_CHECK(0, "flows: %s", e.msg);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(f[i].flow, text) != 0)
			continue;
		rows++;
		FDT_CHECK(f[i].owner.pid == sender && strcmp(f[i].owner.comm, "test_drill_ns") == 0,
			  "the flows row's sender: pid %d '%s' (%s), want %d", (int)f[i].owner.pid,
			  f[i].owner.comm, f[i].owner.why, (int)sender);
		FDT_CHECK(f[i].iteration == 1 && f[i].packets >= 1 && f[i].has_first_seen,
			  "the flows row: iteration %d, %lld packets", f[i].iteration,
			  (long long)f[i].packets);
	}
	FDT_CHECK(rows == 1, "%zu flows rows for %s, want 1", rows, text);
	free(f);
	store_close(st);
}

/*
 * The health check's connections to backend A were dropped: a hidden
 * dependency, sent by the front (a thread of this process, whose socket
 * waits 500 ms in SYN_SENT: the drill reads the flow long before).
 */
static void backend_flow_seen(const struct drill_iteration_result *r, int64_t drill_id)
{
	struct in_addr a;
	const struct drill_flow *hit = NULL;
	struct store_event *ev;
	size_t n, events = 0;
	char text[160], from[64];

	inet_pton(AF_INET, "10.250.1.1", &a);
	for (size_t i = 0; i < r->n_flows; i++)
		if (r->flows[i].family == AF_INET && memcmp(r->flows[i].dst, &a, 4) == 0 &&
		    r->flows[i].protocol == IPPROTO_TCP && r->flows[i].dport == BACKEND_PORT)
			hit = &r->flows[i];
	FDT_CHECK(hit != NULL, "no blackholed flow to 10.250.1.1:%d (%zu flows)", BACKEND_PORT, r->n_flows);
	if (!hit)
		return;
	fprintf(stderr, "  blackholed flow %s: %llu packets, first at T0+%.1f ms\n",
		drill_flow_format(hit, text, sizeof(text)), (unsigned long long)hit->packets,
		(double)hit->since_t0_ns / 1e6);
	FDT_CHECK(hit->packets >= 1 && hit->since_t0_ns >= 0, "flow counts");
	FDT_CHECK(strcmp(hit->fault_id, "backend-a") == 0, "flow fault %s", hit->fault_id);
	FDT_CHECK(hit->owner.pid == getpid() && hit->owner.has_uid && hit->owner.uid == 0,
		  "flow sender: pid %d uid %u (%s), want this process %d, uid 0", (int)hit->owner.pid,
		  (unsigned)hit->owner.uid, hit->owner.why, (int)getpid());
	snprintf(from, sizeof(from), ", from pid %d (test_drill_ns, uid 0)", (int)getpid());
	n = drill_events(drill_id, &ev);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ev[i].kind, "blackholed-flow") == 0 && strcmp(ev[i].subject, text) == 0) {
			events++;
			FDT_CHECK(strstr(ev[i].detail, from), "blackholed-flow detail: %s", ev[i].detail);
		}
	FDT_CHECK(events == 1, "%zu blackholed-flow events for %s, want 1", events, text);
	free(ev);
	backend_flow_row(drill_id, text, getpid());
}

/* ---- the drills ------------------------------------------------------------------ */

static void recovers_by_runbook(void)
{
	static const char *const order[] = {
		"phase steady-state", "phase inject", "fault-applied backend-a", "phase watch",
		"probe-up api", "outcome recovered",
		"phase readback", "phase revert", "fault-reverted backend-a", "phase done", NULL,
	};
	/* The lap ends when its command is reaped, between slices: the first
	 * healthy sample, sent right after the switch, may be dated before it. */
	/* A request sent while the fault was being applied may fail before T0. */
	static const char *const down_order[] = {
		"phase inject", "probe-down api", "probe-up api", "outcome recovered", NULL,
	};
	static const char *const lap_order[] = {
		"probe-down api", "lap switch backend", "outcome recovered", NULL,
	};
	static const char *const notified[] = {
		"notify setup", "notify start", "notify injected", "notify recovered", "notify end", NULL,
	};
	static const char *const hooks[] = { "start", "injected", "recovered", "end", NULL };
	static const char *const outcomes[] = { NULL, NULL, "recovered", "recovered", NULL };
	char steps[512];
	struct drill_result res;
	struct fd_error e;
	int rc;

	fprintf(stderr, "recovers_by_runbook\n");
	set_backend("10.250.1.1");
	snprintf(steps, sizeof(steps),
		 "  steps:\n"
		 "    - name: switch backend\n"
		 "      run: sleep 0.5; echo 10.250.2.1 > %s\n"
		 "      timeout: 5s\n", backend_file);
	fdt_hook_clear(hooks_rx);
	extra_probes = "  - id: a-answers\n"
		       "    pcap:\n"
		       "      interface: lo\n"
		       "      filter: 'src host 10.250.1.1 and tcp[tcpflags] & tcp-syn != 0'\n"
		       "      expect: none\n";
	rc = run("fdt-runbook", "15s", steps,
		 "notify:\n"
		 "  - webhook-env: FDT_DRILL_HOOK\n"
		 "    events: [start, injected, recovered, objectives-missed, end]\n"
		 "  - webhook-env: FDT_DRILL_HOOK_UNSET\n"
		 "    events: [start]\n", &res, &e);
	FDT_CHECK(rc == 0, "drill_run: %s", e.msg);
	FDT_CHECK(res.n_iterations == 1, "%zu iterations", res.n_iterations);
	if (rc == 0 && res.n_iterations == 1) {
		const struct drill_iteration *it = &res.iterations[0].rec;

		FDT_CHECK(it->outcome == OUTCOME_RECOVERED, "outcome %s (%s)", drill_outcome_name(it->outcome),
		      it->detail);
		FDT_CHECK(res.outcome == OUTCOME_RECOVERED && res.objectives_met, "drill verdict");
		rto_matches_truth(it);
		FDT_CHECK(it->has_detect && it->detect_ns < it->rto_ns, "detect");
		FDT_CHECK(res.iterations[0].n_laps == 1 && res.iterations[0].laps[0].ok, "lap not ok");
		FDT_CHECK(it->has_rpo && it->lost_writes == 0 && it->writes_acked > 0,
		      "RPO %d lost %lld acked %lld", it->has_rpo, (long long)it->lost_writes,
		      (long long)it->writes_acked);
		events_in_order(res.drill_id, order);
		events_in_order(res.drill_id, down_order);
		events_in_order(res.drill_id, lap_order);
		events_in_order(res.drill_id, notified);
		one_flip_each_way(res.drill_id, it, "api");
		rto_bounds_hold(it);
		told_in_order();
		reports_in_order(res.drill_id);
		hooks_were(res.drill_id, hooks, outcomes);
		backend_flow_seen(&res.iterations[0], res.drill_id);
		/* A answered health checks before T0: the capture is shown to work */
		event_says(res.drill_id, "evidence", "a-answers", "held: no packet matched",
			   "unverified");
	}
	extra_probes = "";
	drill_result_free(&res);
	nothing_left();
	marker_nowhere();
}

/*
 * An evidence probe that matches while the faults are applied: here it
 * watches B's SYN-ACKs, which the runbook makes flow. The drill recovers
 * within its RTO objective and still misses its objectives: what it
 * measured is not the outage it planned.
 */
static void evidence_not_held(void)
{
	char steps[512];
	struct drill_result res;
	struct fd_error e;
	int rc;

	fprintf(stderr, "evidence_not_held\n");
	set_backend("10.250.1.1");
	snprintf(steps, sizeof(steps),
		 "  steps:\n"
		 "    - name: switch backend\n"
		 "      run: sleep 0.2; echo 10.250.2.1 > %s\n"
		 "      timeout: 5s\n", backend_file);
	extra_probes = "  - id: b-answers\n"
		       "    pcap:\n"
		       "      interface: lo\n"
		       "      filter: 'src host 10.250.2.1 and tcp[tcpflags] & tcp-syn != 0'\n"
		       "      expect: none\n";
	rc = run("fdt-evidence", "15s", steps, "", &res, &e);
	extra_probes = "";
	FDT_CHECK(rc == 0, "drill_run: %s", e.msg);
	if (rc == 0 && res.n_iterations == 1) {
		const struct drill_iteration *it = &res.iterations[0].rec;

		FDT_CHECK(it->outcome == OUTCOME_RECOVERED && it->has_rto, "outcome %s",
			  drill_outcome_name(it->outcome));
		FDT_CHECK(!it->objectives_met && !res.objectives_met, "objectives met with a leak");
		FDT_CHECK(strstr(it->detail, "evidence b-answers") != NULL, "detail \"%s\"",
			  it->detail);
		event_says(res.drill_id, "evidence", "b-answers", "NOT HELD", NULL);
	}
	drill_result_free(&res);
	nothing_left();
}

static void *lap_later(void *arg)
{
	char reply[256];
	struct fd_error e;
	int *rc = arg;

	fdt_wait_until(fdt_flag_set, (void *)&watching, 10000, 10);
	usleep(300000);
	set_backend("10.250.2.1");
	*rc = drill_lap_send(db, NULL, "switched by hand", reply, sizeof(reply), &e);
	if (*rc < 0)
		fprintf(stderr, "lap: %s\n", e.msg);
	return NULL;
}

static void recovers_by_manual_lap(void)
{
	struct drill_result res;
	struct fd_error e;
	pthread_t th;
	int rc, lap_rc = -1;

	fprintf(stderr, "recovers_by_manual_lap\n");
	set_backend("10.250.1.1");
	watching = 0;
	pthread_create(&th, NULL, lap_later, &lap_rc);
	rc = run("fdt-manual", "15s",
		 "  steps:\n"
		 "    - name: switch by hand\n"
		 "      manual: true\n", "", &res, &e);
	pthread_join(th, NULL);
	FDT_CHECK(rc == 0, "drill_run: %s", e.msg);
	FDT_CHECK(lap_rc == 0, "firedrill lap refused: %d", lap_rc);
	if (rc == 0 && res.n_iterations == 1) {
		const struct drill_iteration *it = &res.iterations[0].rec;

		FDT_CHECK(it->outcome == OUTCOME_RECOVERED, "outcome %s (%s)", drill_outcome_name(it->outcome),
		      it->detail);
		rto_matches_truth(it);
		FDT_CHECK(res.iterations[0].n_laps == 1 && res.iterations[0].laps[0].ok &&
		      strcmp(res.iterations[0].laps[0].detail, "switched by hand") == 0, "manual lap");
	}
	drill_result_free(&res);
	nothing_left();
}

static void not_recovered(void)
{
	struct drill_result res;
	struct fd_error e;
	int rc;

	fprintf(stderr, "not_recovered\n");
	set_backend("10.250.1.1");
	fdt_hook_clear(hooks_rx);
	rc = run("fdt-stuck", "1500ms", "",
		 "notify:\n"
		 "  - webhook-env: FDT_DRILL_HOOK\n"
		 "    events: [objectives-missed, end]\n", &res, &e);
	FDT_CHECK(rc == 0, "drill_run: %s", e.msg);
	if (rc == 0 && res.n_iterations == 1) {
		const struct drill_iteration *it = &res.iterations[0].rec;

		FDT_CHECK(it->outcome == OUTCOME_NOT_RECOVERED, "outcome %s", drill_outcome_name(it->outcome));
		FDT_CHECK(!it->has_rto, "a number for a drill that never recovered");
		FDT_CHECK(!it->has_rpo, "RPO without recovery");
		FDT_CHECK(!res.objectives_met && res.outcome == OUTCOME_NOT_RECOVERED, "drill verdict");
		hooks_were(res.drill_id, (const char *const[]){ "objectives-missed", "end", NULL },
			   (const char *const[]){ "not-recovered", "not-recovered", NULL });
	}
	drill_result_free(&res);
	nothing_left();
}

static void stop_if_failing(void)
{
	struct drill_result res;
	struct fd_error e;
	int rc;

	fprintf(stderr, "stop_if_failing\n");
	set_backend("10.250.1.1");
	rc = run("fdt-stop-if", "10s", "", "stop-if-failing:\n  - probe: api\n    for: 200ms\n", &res, &e);
	FDT_CHECK(rc == 0, "drill_run: %s", e.msg);
	if (rc == 0 && res.n_iterations == 1) {
		const struct drill_iteration *it = &res.iterations[0].rec;

		FDT_CHECK(it->outcome == OUTCOME_ABORTED, "outcome %s", drill_outcome_name(it->outcome));
		FDT_CHECK(strstr(it->detail, "stop-if-failing: probe api") != NULL, "detail %s", it->detail);
		FDT_CHECK(!it->has_rto && res.outcome == OUTCOME_ABORTED && !res.objectives_met, "verdict");
	}
	drill_result_free(&res);
	nothing_left();
}

static void not_healthy(void)
{
	static const char *const order[] = { "phase steady-state", "outcome not-healthy", "phase done",
					     NULL };
	struct drill_result res;
	struct store_event *ev;
	struct fd_error e;
	size_t n;
	int rc;

	fprintf(stderr, "not_healthy\n");
	set_backend("10.250.3.1"); /* nothing there */
	rc = run("fdt-unhealthy", "5s", "", "", &res, &e);
	FDT_CHECK(rc == 0, "drill_run: %s", e.msg);
	if (rc == 0 && res.n_iterations == 1) {
		FDT_CHECK(res.iterations[0].rec.outcome == OUTCOME_NOT_HEALTHY, "outcome %s",
		      drill_outcome_name(res.iterations[0].rec.outcome));
		FDT_CHECK(strstr(res.iterations[0].rec.detail, "not healthy before the drill") != NULL, "%s",
		      res.iterations[0].rec.detail);
		events_in_order(res.drill_id, order);
		n = drill_events(res.drill_id, &ev);
		for (size_t i = 0; i < n; i++)
			FDT_CHECK(strcmp(ev[i].kind, "fault-applied") != 0, "injected while not healthy");
		free(ev);
	}
	drill_result_free(&res);
	nothing_left();
}

static size_t count_drills(void)
{
	struct store *st = NULL;
	struct store_drill *d = NULL;
	struct store_filter f = { 0 };
	struct fd_error e;
	size_t n = 0;

	if (store_open(db, &st, &e) < 0 || store_list_drills(st, &f, &d, &n, &e) < 0) {
		FDT_CHECK(0, "drills: %s", e.msg);
		n = 0;
	}
	free(d);
	store_close(st);
	return n;
}

/* A fault the injector refuses (a guard) is refused before anything is
 * recorded or announced: no drill row, no webhook, an error. */
static void guard_refused(void)
{
	char path[512];
	struct drill_result res;
	struct scenario *s = NULL;
	struct drill_opts o;
	struct fd_error e;
	size_t before = count_drills();
	int rc;

	fprintf(stderr, "guard_refused\n");
	set_backend("10.250.1.1");
	fdt_hook_clear(hooks_rx);
	snprintf(path, sizeof(path), "%s/fdt-guarded.yaml", dir);
	fdt_write_file(path,
		       "name: fdt-guarded\n"
		       "scope: { netns: %s }\n"
		       "faults:\n"
		       "  - { id: everything, kind: drop, duration: 1m, targets: { cidrs: [0.0.0.0/0] } }\n"
		       "probes:\n"
		       "  - { id: api, interval: 20ms, http: { url: 'http://127.0.0.1:%d/health' } }\n"
		       "steady-state: { probes: [api] }\n"
		       "recovery: { all: [api], timeout: 5s }\n"
		       "notify:\n"
		       "  - webhook-env: FDT_DRILL_HOOK\n"
		       "    events: [start, injected, recovered, objectives-missed, end]\n",
		       ns, FRONT_PORT);
	fd_error_clear(&e);
	rc = scenario_load(path, &s, &e);
	FDT_CHECK(rc == 0, "scenario: %s", e.msg);
	if (rc < 0)
		return;
	drill_opts_init(&o);
	o.db_path = db;
	o.operator_name = "test";
	o.no_guardian = true;
	rc = drill_run(s, &o, &res, &e);
	FDT_CHECK(rc < 0 && strstr(e.msg, "guarded"), "guarded fault: rc %d: %s", rc, e.msg);
	FDT_CHECK(res.drill_id == 0 && res.n_iterations == 0, "drill %lld recorded, %zu iterations",
		  (long long)res.drill_id, res.n_iterations);
	FDT_CHECK(count_drills() == before, "drill rows %zu, before %zu", count_drills(), before);
	FDT_CHECK(fdt_hook_count(hooks_rx) == 0, "%zu webhooks sent for a refused drill",
		  fdt_hook_count(hooks_rx));
	drill_result_free(&res);
	scenario_free(s);
	nothing_left();
}

static void scope_locked(void)
{
	struct drill_result res;
	struct fd_error e;
	int lock = -1, rc;

	fprintf(stderr, "scope_locked\n");
	set_backend("10.250.1.1");
	FDT_CHECK(drill_scope_lock(ns, &lock, &e) == 0, "lock: %s", e.msg);
	rc = run("fdt-locked", "5s", "", "", &res, &e);
	FDT_CHECK(rc == -EBUSY && strstr(e.msg, "another drill"), "second drill on the scope: %d %s", rc,
	      e.msg);
	drill_result_free(&res);
	drill_scope_unlock(lock, ns);
	nothing_left();
}

int main(void)
{
	struct MHD_Daemon *fd_front = NULL, *fd_back = NULL;
	char url[256];
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons(FRONT_PORT) };
	struct fd_error e;

	if (!fdt_need_root())
		return FDT_SKIP;
	if (fdt_tmpdir(dir, sizeof(dir), "fdt-drill") < 0)
		return 1;
	snprintf(ns, sizeof(ns), "fdt-drill-%ld", (long)getpid());
	snprintf(backend_file, sizeof(backend_file), "%s/backend", dir);
	snprintf(db, sizeof(db), "%s/drill.db", dir);
	setenv("FIREDRILL_RUN_DIR", dir, 1);
	if (fdt_netns_add(ns, (const char *const[]){ "10.250.1.1/32", "10.250.2.1/32", NULL }) < 0)
		return 1;
	/* The services live in the namespace: their threads inherit it from here. */
	if (fd_netns_enter(ns, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd_front = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				    FRONT_PORT, NULL, NULL, front, NULL, MHD_OPTION_SOCK_ADDR, &lo,
				    MHD_OPTION_END);
	fd_back = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, BACKEND_PORT, NULL, NULL, backend,
				   NULL, MHD_OPTION_END);
	/* The webhook receiver: the namespace's loopback, an ephemeral port. */
	hooks_rx = fdt_hook_start(200, 0);
	if (!fd_front || !fd_back || !hooks_rx) {
		fprintf(stderr, "cannot start the services\n");
		return 1;
	}
	snprintf(hook_marker, sizeof(hook_marker), "%s-%ld", HOOK_MARKER, (long)getpid());
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hooks/%s", (unsigned)fdt_hook_port(hooks_rx),
		 hook_marker);
	setenv("FDT_DRILL_HOOK", url, 1);
	unsetenv("FDT_DRILL_HOOK_UNSET");

	recovers_by_runbook();
	evidence_not_held();
	recovers_by_manual_lap();
	not_recovered();
	stop_if_failing();
	not_healthy();
	guard_refused();
	scope_locked();

	MHD_stop_daemon(fd_front);
	MHD_stop_daemon(fd_back);
	fdt_hook_stop(hooks_rx);
	return fdt_finish();
}

/*
 * The scorer's loop against hostile answers from a loopback test server
 * (tests/integration/scorer/truth_server.c): a 2 MiB body, a slow drip, a
 * redirect to another host, a binary body; a refused TCP port; a command
 * that outlives its timeout; a log file that is rotated and truncated; a
 * pcap probe on an interface that does not exist. Nothing may crash or
 * hang, and each failure must say why. Also: the canary read-back check (a
 * record overwritten by another writer is lost), canary timeouts, and dns
 * probes answered from /etc/hosts (localhost: no query leaves the host).
 * Commands: a failure keeps its exit status and first stderr line; a
 * no-answer exit (psql exit 2) leaves the RPO unknown, never lost; the RPO
 * query with {{t0}}, a record after T0 (unknown), retries on no answer.
 * Places: a namespace that is gone fails every kind with the reason; one
 * that is there is entered (root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd_time.h"
#include "scen_build.h"
#include "scorer.h"
#include "truth_server.h"

#define MS FD_NS_PER_MS

static struct scorer_sample got[4096];
static size_t n_got;

static void on_sample(void *user, const struct scorer_sample *s)
{
	(void)user;
	if (n_got < 4096)
		got[n_got++] = *s;
}

/* The newest detail of probe p, or NULL. */
static const char *last_detail(size_t p, bool *ok)
{
	size_t i = n_got;

	while (i-- > 0) {
		if (got[i].probe == p) {
			*ok = got[i].ok;
			return got[i].detail;
		}
	}
	return NULL;
}

static void expect_detail(size_t p, bool want_ok, const char *needle)
{
	const char *d;
	bool ok = !want_ok;

	d = last_detail(p, &ok);
	if (!d || ok != want_ok || !strstr(d, needle))
		fail_msg("probe %zu: want %s with '%s', got %s '%s'", p, want_ok ? "ok" : "fail",
			 needle, ok ? "ok" : "fail", d ? d : "(no sample)");
}

static uint16_t closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void append(const char *path, const char *line, const char *mode)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	fputs(line, f);
	fclose(f);
}

static void hostile_answers(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct truth_server *srv;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;
	char logpath[] = "/tmp/fdt-scorer-log-XXXXXX", rotated[64];
	int64_t deadline;
	uint16_t port;
	int fd;

	(void)state;
	n_got = 0;
	fd = mkstemp(logpath);
	assert_true(fd >= 0);
	close(fd);
	srv = truth_server_start(true, &port);
	assert_non_null(srv);
	sb_init(b);
	sb_http(b, port, "/huge", 100 * MS, 2000 * MS);                 /* 0 */
	sb_http(b, port, "/drip", 100 * MS, 300 * MS);                  /* 1 */
	sb_http(b, port, "/redirect", 100 * MS, 500 * MS);              /* 2 */
	p = sb_http(b, port, "/binary", 100 * MS, 500 * MS);            /* 3 */
	p->http.body_match = (char *)"^ok$";
	p = sb_probe(b, PROBE_TCP, 100 * MS, 500 * MS);                 /* 4 */
	p->tcp.host = (char *)"127.0.0.1";
	p->tcp.port = closed_port();
	p = sb_probe(b, PROBE_COMMAND, 500 * MS, 200 * MS);             /* 5 */
	p->command.run = (char *)"sleep 5; echo late";
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 1000 * MS);            /* 6 */
	p->command.run = (char *)"echo PASS";
	p->command.stdout_match = (char *)"^PASS$";
	p = sb_probe(b, PROBE_LOG, 50 * MS, 1000 * MS);                 /* 7 */
	p->log.path = logpath;
	p->log.match = (char *)"promoted";
	p->log.fail_match = (char *)"demoted";
	p = sb_http(b, port, "/health", 50 * MS, 500 * MS);             /* 8 */
	p->http.max_latency_ns = 1; /* nothing answers in 1 ns */

	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	append(logpath, "promoted before the drill: ignored\n", "a");
	assert_int_equal(scorer_start(sc, &err), 0);
	deadline = fd_mono_ns() + 800 * MS;
	assert_int_equal(scorer_poll(sc, deadline, &err), 0);
	/* The loop returns at its deadline, whatever the server does. */
	assert_true(fd_mono_ns() < deadline + 200 * MS);

	expect_detail(0, false, "body too large");
	expect_detail(1, false, "timeout");
	expect_detail(2, false, "status 302");
	expect_detail(3, false, "body mismatch");
	expect_detail(4, false, "connect: Connection refused");
	expect_detail(5, false, "timeout");
	expect_detail(6, true, "exit 0");
	expect_detail(8, false, "too slow");
	assert_false(scorer_probe_ok(sc, 7)); /* no log line yet */

	append(logpath, "node promoted to primary\n", "a");
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 150 * MS, &err), 0);
	expect_detail(7, true, "promoted");

	/* Rotation: the old file moves away, a new one appears. */
	snprintf(rotated, sizeof(rotated), "%s.1", logpath);
	assert_int_equal(rename(logpath, rotated), 0);
	append(logpath, "node demoted\n", "w");
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 150 * MS, &err), 0);
	expect_detail(7, false, "demoted");

	/* Truncation in place, then a shorter line. */
	append(logpath, "promoted\n", "w");
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 150 * MS, &err), 0);
	expect_detail(7, true, "promoted");

	scorer_stop(sc);
	scorer_free(sc);
	/* The timed-out command's process group was killed and reaped. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	truth_server_stop(srv);
	unlink(logpath);
	unlink(rotated);
	free(b);
}


/* Canary writes stored with their JSON body; two records then overwritten by
 * "another writer": read back by value-json, exactly those two are lost. */
static void canary_readback_checks_value(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct truth_server *srv;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct rpo_result r;
	uint16_t port;

	(void)state;
	srv = truth_server_start(false, &port);
	assert_non_null(srv);
	sb_init(b);
	sb_canary(b, port, 20 * MS);
	b->s.rpo.canary.value_json = (char *)"ts";
	b->s.rpo.canary.expect_value = (char *)"{{ts}}";
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(scorer_start(sc, &err), 0);
	assert_int_equal(scorer_canary_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 300 * MS, &err), 0);
	scorer_canary_stop(sc);
	assert_true(truth_server_overwrite(srv, 3, "{\"seq\": 3, \"ts\": 1}"));
	assert_true(truth_server_overwrite(srv, 5, "not json"));
	assert_int_equal(scorer_canary_readback(sc, fd_mono_ns(), &r, &err), 0);
	assert_true(r.has_rpo);
	assert_true(r.writes_acked >= 6);
	assert_int_equal(r.lost_writes, 2);
	assert_int_equal(r.reads_mismatched, 2);
	assert_non_null(strstr(r.detail, "2 read back with another value"));
	scorer_free(sc);
	truth_server_stop(srv);
	free(b);
}

/* A canary write that never answers times out at the action's timeout. */
static void canary_write_timeout(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct truth_server *srv;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct rpo_result r;
	int64_t t;
	uint16_t port;

	(void)state;
	srv = truth_server_start(true, &port);
	assert_non_null(srv);
	sb_init(b);
	sb_canary(b, port, 100 * MS);
	snprintf(b->canary_w, sizeof(b->canary_w), "http://127.0.0.1:%u/drip", port);
	b->s.rpo.canary.write.http.method = (char *)"GET";
	b->s.rpo.canary.write.http.body = NULL;
	b->s.rpo.canary.write.timeout_ns = 150 * MS;
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(scorer_canary_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 50 * MS, &err), 0);
	t = fd_mono_ns();
	assert_int_equal(scorer_canary_readback(sc, t, &r, &err), 0);
	/* Settled by the 150 ms timeout, not the 5 s default. */
	assert_true(fd_mono_ns() - t < 1000 * MS);
	assert_int_equal(r.writes_acked, 0);
	assert_false(r.has_rpo);
	scorer_free(sc);
	truth_server_stop(srv);
	free(b);
}


static const int exit_2[] = { 2 };

/*
 * A failing command says why: its exit status and the first line of stderr,
 * bounded. A no-answer exit status, or death by signal, says "no answer".
 */
static void command_failure_detail(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;
	char longline[201];
	bool ok;
	const char *d;

	(void)state;
	n_got = 0;
	sb_init(b);
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 1000 * MS);            /* 0 */
	p->command.run = (char *)"echo 'psql: error: connection refused' >&2; echo second >&2; exit 1";
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 1000 * MS);            /* 1 */
	p->command.run = (char *)"echo 'psql: could not connect' >&2; exit 2";
	p->command.no_answer_exit = (int *)exit_2;
	p->command.n_no_answer_exit = 1;
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 1000 * MS);            /* 2 */
	p->command.run = (char *)"kill -9 $$";
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 1000 * MS);            /* 3 */
	p->command.run = (char *)"head -c 1000 /dev/zero | tr '\\0' x >&2; exit 3";
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 1000 * MS);            /* 4 */
	p->command.run = (char *)"exit 127"; /* the default no-answer statuses: 124-127 */
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 1000 * MS);            /* 5 */
	p->command.run = (char *)"exit 2"; /* 2 is an answer unless listed */
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(scorer_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 400 * MS, &err), 0);
	d = last_detail(0, &ok);
	assert_non_null(d);
	assert_false(ok);
	assert_string_equal(d, "exit 1: psql: error: connection refused");
	d = last_detail(1, &ok);
	assert_non_null(d);
	assert_false(ok);
	assert_string_equal(d, "no answer: exit 2: psql: could not connect");
	expect_detail(2, false, "no answer: killed by signal 9");
	d = last_detail(3, &ok);
	assert_non_null(d);
	memset(longline, 'x', 200);
	longline[200] = '\0';
	assert_non_null(strstr(d, longline));
	assert_true(strlen(d) == strlen("exit 3: ") + 200);
	expect_detail(4, false, "no answer: exit 127");
	d = last_detail(5, &ok);
	assert_non_null(d);
	assert_string_equal(d, "exit 2");
	scorer_stop(sc);
	scorer_free(sc);
	free(b);
}

/* Canary commands: write with `true`, read with `read_cmd`. */
static void sb_command_canary(struct scen_build *b, const char *read_cmd)
{
	struct scenario_rpo *r = &b->s.rpo;

	r->has_canary = true;
	r->canary.interval_ns = 20 * MS;
	r->canary.write.kind = ACTION_COMMAND;
	r->canary.write.command.run = (char *)"true";
	r->canary.read.kind = ACTION_COMMAND;
	r->canary.read.command.run = (char *)read_cmd;
}

/*
 * A read-back that cannot connect (psql exits 2 on connection refused) is
 * no answer: tried again, then the RPO is unknown, and nothing is lost.
 * A read that answers "no" (exit 1) is a lost write.
 */
static void canary_read_no_answer(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct rpo_result r;
	int64_t t;

	(void)state;
	sb_init(b);
	sb_command_canary(b, "echo 'psql: error: connection refused' >&2; exit 2");
	b->s.rpo.canary.read.command.no_answer_exit = (int *)exit_2;
	b->s.rpo.canary.read.command.n_no_answer_exit = 1;
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(scorer_canary_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 150 * MS, &err), 0);
	t = fd_mono_ns();
	assert_int_equal(scorer_canary_readback(sc, t, &r, &err), 0);
	/* 3 tries, 500 ms apart */
	assert_true(fd_mono_ns() - t >= 1000 * MS);
	assert_true(r.writes_acked >= 3);
	assert_false(r.has_rpo);
	assert_int_equal(r.lost_writes, 0);
	assert_non_null(strstr(r.detail, "could not be read back: RPO unknown"));
	assert_non_null(strstr(r.detail, "no answer: exit 2: psql: error: connection refused"));
	scorer_free(sc);

	/* The same status, not listed: an answer, and a "no" means lost. */
	b->s.rpo.canary.read.command.no_answer_exit = NULL;
	b->s.rpo.canary.read.command.n_no_answer_exit = 0;
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(scorer_canary_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 150 * MS, &err), 0);
	assert_int_equal(scorer_canary_readback(sc, fd_mono_ns(), &r, &err), 0);
	assert_true(r.has_rpo);
	assert_true(r.lost_writes >= 3);
	assert_int_equal(r.lost_writes, r.writes_acked);
	scorer_free(sc);
	free(b);
}

/* rpo.query as a command, templated with T0. */
static int query(struct scen_build *b, const char *run, int64_t t0_real_ns, struct rpo_result *r)
{
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	int rc;

	b->s.rpo.has_query = true;
	b->s.rpo.query.action.kind = ACTION_COMMAND;
	b->s.rpo.query.action.command.run = (char *)run;
	b->s.rpo.query.action.command.no_answer_exit = (int *)exit_2;
	b->s.rpo.query.action.command.n_no_answer_exit = 1;
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	rc = scorer_rpo_query(sc, t0_real_ns, r, &err);
	scorer_free(sc);
	return rc;
}

/*
 * The query: a record after T0 leaves the RPO unknown (never negative);
 * {{t0}} lets the query select records before T0; no answer is retried,
 * then unknown.
 */
static void rpo_query_t0(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	char counter[] = "/tmp/fdt-scorer-query-XXXXXX", run[256];
	const int64_t t0 = 1764127530 * FD_NS_PER_S + 500 * MS;
	struct rpo_result r;
	FILE *f;
	int fd, tries = 0;

	(void)state;
	sb_init(b);
	assert_int_equal(query(b, "echo 2025-11-26T03:25:31Z", t0, &r), 0);
	assert_false(r.has_rpo);
	assert_non_null(strstr(r.detail, "after T0"));
	assert_int_equal(query(b, "echo 1764127529", t0, &r), 0);
	assert_true(r.has_rpo);
	assert_int_equal(r.rpo_ns, 1500 * MS);
	/* A datastore that answers "the newest record before the T0 you gave me". */
	assert_int_equal(query(b, "echo '{{t0}}' | sed 's/30.500000Z/29.900000Z/'", t0, &r), 0);
	assert_true(r.has_rpo);
	assert_int_equal(r.rpo_ns, 600 * MS);
	assert_int_equal(query(b, "test {{t0_ms}} = 1764127530500 && echo {{t0_unix}}", t0, &r),
			 0);
	assert_true(r.has_rpo);
	assert_int_equal(r.rpo_ns, 0);

	fd = mkstemp(counter);
	assert_true(fd >= 0);
	close(fd);
	snprintf(run, sizeof(run), "echo try >> %s; echo 'could not connect' >&2; exit 2",
		 counter);
	assert_int_equal(query(b, run, t0, &r), 0);
	assert_false(r.has_rpo);
	assert_non_null(strstr(r.detail, "no answer after 3 tries"));
	assert_non_null(strstr(r.detail, "exit 2: could not connect"));
	f = fopen(counter, "r");
	assert_non_null(f);
	while (fgets(run, sizeof(run), f))
		tries++;
	fclose(f);
	unlink(counter);
	assert_int_equal(tries, 3);
	free(b);
}

/*
 * Failures answered 200 ms late, successes at once, at 10 ms: answers
 * overtake earlier ones, yet on_sample sees each probe's samples in send
 * order, and scorer_probe_ok follows the newest send. scorer_oldest_pending_ns
 * is never later than a sample still to come.
 */
static void samples_in_send_order(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct truth_server *srv;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	size_t overtaken = 0, flips = 0;
	int64_t newest_done = 0, pending_at_flip;
	uint16_t port;

	(void)state;
	n_got = 0;
	srv = truth_server_start(true, &port);
	assert_non_null(srv);
	sb_init(b);
	sb_http(b, port, "/health", 10 * MS, 1000 * MS);
	truth_server_set_fail_delay(srv, 200 * MS);
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(scorer_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 100 * MS, &err), 0);
	truth_server_set_healthy(srv, false);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 300 * MS, &err), 0);
	truth_server_set_healthy(srv, true);
	/* Failures sent before the flip are still in flight: none delivered later is older. */
	pending_at_flip = scorer_oldest_pending_ns(sc);
	assert_true(pending_at_flip < fd_mono_ns());
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 400 * MS, &err), 0);
	assert_true(scorer_probe_ok(sc, 0));
	assert_true(n_got > 50);
	for (size_t i = 0; i < n_got; i++) {
		int64_t done = got[i].sent_mono_ns + got[i].latency_ns;

		if (i > 0)
			assert_true(got[i].sent_mono_ns >= got[i - 1].sent_mono_ns);
		if (i > 0 && got[i].ok != got[i - 1].ok)
			flips++;
		if (done < newest_done)
			overtaken++;
		else
			newest_done = done;
	}
	print_message("%zu samples, %zu answered before an earlier one, %zu flips\n", n_got,
		      overtaken, flips);
	assert_true(overtaken > 5); /* the case was exercised */
	assert_int_equal(flips, 2);   /* one down, one up */
	scorer_free(sc);
	truth_server_stop(srv);
	free(b);
}

/* "localhost" comes from /etc/hosts: resolved without any network traffic. */
static void dns_localhost(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct fd_cidr in_lo[2], elsewhere;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;

	(void)state;
	n_got = 0;
	assert_int_equal(fd_cidr_parse("127.0.0.0/8", &in_lo[0]), 0);
	assert_int_equal(fd_cidr_parse("::1/128", &in_lo[1]), 0);
	assert_int_equal(fd_cidr_parse("10.250.0.0/16", &elsewhere), 0);
	sb_init(b);
	p = sb_probe(b, PROBE_DNS, 100 * MS, 2000 * MS);                /* 0 */
	p->dns.name = (char *)"localhost";
	p->dns.expect_in = in_lo;
	p->dns.n_expect_in = 2;
	p = sb_probe(b, PROBE_DNS, 100 * MS, 2000 * MS);                /* 1 */
	p->dns.name = (char *)"localhost";
	p->dns.expect_in = &elsewhere;
	p->dns.n_expect_in = 1;
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(scorer_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 400 * MS, &err), 0);
	expect_detail(0, true, "answer ");
	expect_detail(1, false, "not in expect-in");
	scorer_free(sc);
	free(b);
}

#define GONE_NS "/proc/999999999/ns/net"

/*
 * Probes in a place whose namespace file cannot be opened (the process is
 * gone): no scorer error, every kind fails each sample with the reason.
 */
static void place_gone(void **state)
{
	static const char *const where[] = { GONE_NS, GONE_NS, GONE_NS, GONE_NS, GONE_NS };
	static const char *const want = "netns " GONE_NS ": No such file or directory";
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;

	(void)state;
	n_got = 0;
	sb_init(b);
	p = sb_probe(b, PROBE_TCP, 100 * MS, 500 * MS);                 /* 0 */
	p->tcp.host = (char *)"127.0.0.1";
	p->tcp.port = closed_port();
	p = sb_http(b, closed_port(), "/", 100 * MS, 500 * MS);         /* 1 */
	p = sb_probe(b, PROBE_DNS, 100 * MS, 500 * MS);                 /* 2 */
	p->dns.name = (char *)"localhost";
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 500 * MS);             /* 3 */
	p->command.run = (char *)"true";
	p = sb_probe(b, PROBE_PCAP, 100 * MS, 100 * MS);                /* 4 */
	p->pcap.interface = (char *)"lo";
	p->pcap.filter = (char *)"tcp";
	assert_int_equal(scorer_new_in(&b->s, &(struct scorer_places){ .probe = where }, on_sample,
				       NULL, &sc, &err), 0);
	assert_int_equal(scorer_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 250 * MS, &err), 0);
	for (size_t i = 0; i < 5; i++) {
		bool ok = true;
		const char *d = last_detail(i, &ok);

		assert_non_null(d);
		assert_false(ok);
		assert_string_equal(d, want);
	}
	scorer_free(sc);
	free(b);
}

/*
 * A place the scorer enters (root: setns needs CAP_SYS_ADMIN): this very
 * namespace by its file, so the answers are the ones from here. The
 * socket (tcp, curl's), the resolver threads (dns) and the child
 * (command) are each made through the place's path.
 */
static void place_entered(void **state)
{
	static const char *const where[] = { "/proc/self/ns/net", "/proc/self/ns/net",
					     "/proc/self/ns/net", "/proc/self/ns/net" };
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;
	char run[128], ns[64];
	ssize_t n;

	(void)state;
	if (geteuid() != 0) {
		printf("skipped: not root (entering a namespace needs CAP_SYS_ADMIN)\n");
		free(b);
		skip();
	}
	n = readlink("/proc/self/ns/net", ns, sizeof(ns) - 1);
	assert_true(n > 0);
	ns[n] = '\0';
	snprintf(run, sizeof(run), "test \"$(readlink /proc/self/ns/net)\" = '%s'", ns);
	n_got = 0;
	sb_init(b);
	p = sb_probe(b, PROBE_TCP, 100 * MS, 500 * MS);                 /* 0 */
	p->tcp.host = (char *)"127.0.0.1";
	p->tcp.port = closed_port();
	p = sb_probe(b, PROBE_DNS, 100 * MS, 2000 * MS);                /* 1 */
	p->dns.name = (char *)"localhost";
	p = sb_probe(b, PROBE_COMMAND, 100 * MS, 1000 * MS);            /* 2 */
	p->command.run = run;
	sb_http(b, closed_port(), "/", 100 * MS, 500 * MS);              /* 3 */
	assert_int_equal(scorer_new_in(&b->s, &(struct scorer_places){ .probe = where }, on_sample,
				       NULL, &sc, &err), 0);
	assert_int_equal(scorer_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 400 * MS, &err), 0);
	expect_detail(0, false, "connect: Connection refused");
	expect_detail(1, true, "answer ");
	expect_detail(2, true, "exit 0");
	expect_detail(3, false, "connect: "); /* the socket was made; only then refused */
	scorer_free(sc);
	free(b);
}

static void pcap_missing_interface(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;

	(void)state;
	sb_init(b);
	p = sb_probe(b, PROBE_PCAP, 100 * MS, 100 * MS);
	p->pcap.interface = (char *)"fdt-nosuch0";
	p->pcap.filter = (char *)"tcp";
	assert_int_not_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_null(sc);
	assert_int_equal(err.kind, FD_ERR_ENV);
	assert_non_null(strstr(err.msg, "fdt-nosuch0"));
	free(b);
}

static void bad_regex_is_input_error(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;

	(void)state;
	sb_init(b);
	p = sb_http(b, 9, "/", 100 * MS, 100 * MS);
	p->http.body_match = (char *)"(unclosed";
	assert_int_not_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	free(b);
}

/*
 * headers-env: the header's value comes from the environment when the scorer
 * starts, and an unset variable stops it before anything is sent.
 */
static void header_from_environment(void **state)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scenario_header_env he = { (char *)"Authorization", (char *)"FDT_SCORER_TOKEN" };
	struct truth_server *srv;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;
	uint16_t port;

	(void)state;
	srv = truth_server_start(false, &port);
	assert_non_null(srv);
	sb_init(b);
	p = sb_http(b, port, "/auth", 50 * MS, 500 * MS);
	p->http.headers_env = &he;
	p->http.n_headers_env = 1;
	sb_http(b, port, "/auth", 50 * MS, 500 * MS); /* without: 401 */
	unsetenv("FDT_SCORER_TOKEN");
	assert_int_not_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	assert_non_null(strstr(err.msg, "FDT_SCORER_TOKEN is not set"));
	assert_int_equal(truth_server_requests(srv), 0);

	setenv("FDT_SCORER_TOKEN", TRUTH_AUTH, 1);
	n_got = 0;
	assert_int_equal(scorer_new(&b->s, on_sample, NULL, &sc, &err), 0);
	assert_int_equal(scorer_start(sc, &err), 0);
	assert_int_equal(scorer_poll(sc, fd_mono_ns() + 300 * MS, &err), 0);
	scorer_free(sc);
	unsetenv("FDT_SCORER_TOKEN");
	expect_detail(0, true, "status 200");
	expect_detail(1, false, "status 401");
	truth_server_stop(srv);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hostile_answers),
		cmocka_unit_test(canary_readback_checks_value),
		cmocka_unit_test(canary_write_timeout),
		cmocka_unit_test(command_failure_detail),
		cmocka_unit_test(canary_read_no_answer),
		cmocka_unit_test(rpo_query_t0),
		cmocka_unit_test(samples_in_send_order),
		cmocka_unit_test(dns_localhost),
		cmocka_unit_test(pcap_missing_interface),
		cmocka_unit_test(place_gone),
		cmocka_unit_test(place_entered),
		cmocka_unit_test(bad_regex_is_input_error),
		cmocka_unit_test(header_from_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

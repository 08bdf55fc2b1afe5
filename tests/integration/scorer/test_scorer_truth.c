/*
 * Integration test of the scorer against a service with a known truth
 * (truth_server.c) on the loopback of a network namespace this test creates
 * and removes. The test makes the service fail at T0 and recover at a time
 * it records itself, and makes it forget the writes acknowledged in the last
 * 100 ms before T0. Asserts: measured RTO within the stated error bound (plus
 * the loop's measured lateness) of the truth; lost writes exactly those
 * forgotten; RPO equal to the server-side span within a few ms.
 * Needs root (exit 77 otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fd_error.h"
#include "fd_netns.h"
#include "fd_time.h"
#include "scen_build.h"
#include "scorer.h"
#include "truth_server.h"

#define MS FD_NS_PER_MS

static char netns_name[64];
static struct scorer_sample *samples;
static size_t n_samples;
static int failures;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			failures++;                                             \
		}                                                               \
	} while (0)

static void cleanup_netns(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", netns_name);
	if (system(cmd) != 0)
		fprintf(stderr, "note: %s failed\n", cmd);
}

static void on_sample(void *user, const struct scorer_sample *s)
{
	(void)user;
	if (n_samples < 200000)
		samples[n_samples++] = *s;
}

/*
 * The two-sided bound against the truth: the true RTO lies in
 * [rto - late, rto + early]. The server reads its clock just after the
 * flip, so the truth may trail the flip by that read (TRUTH_READ_NS).
 */
#define TRUTH_READ_NS (1 * MS)

static void bound_holds(const struct recovery_result *rr, int64_t truth_rto)
{
	CHECK(rr->rto_early_ns >= 0 && rr->rto_late_ns >= 0, "negative side: -%" PRId64 "/+%" PRId64,
	      rr->rto_late_ns, rr->rto_early_ns);
	CHECK(truth_rto >= rr->rto_ns - rr->rto_late_ns,
	      "truth %" PRId64 " below rto - late (%" PRId64 " - %" PRId64 ")", truth_rto, rr->rto_ns,
	      rr->rto_late_ns);
	CHECK(truth_rto <= rr->rto_ns + rr->rto_early_ns + TRUTH_READ_NS,
	      "truth %" PRId64 " above rto + early (%" PRId64 " + %" PRId64 ")", truth_rto, rr->rto_ns,
	      rr->rto_early_ns);
	CHECK(rr->error_bound_ns == (rr->rto_early_ns > rr->rto_late_ns ? rr->rto_early_ns
									  : rr->rto_late_ns),
	      "error bound %" PRId64 " is not the larger side", rr->error_bound_ns);
}

static int run_iteration(int64_t outage_ns)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct truth_server *srv = NULL;
	struct recovery_watch *w = NULL;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct recovery_result rr;
	struct scorer_lateness lat;
	struct rpo_result rpo;
	int64_t t0, trec, lost_truth, newest_seq, newest_ack, survivor_ack = 0, s, a, fed = 0;
	int64_t truth_rto, diff, end;
	uint16_t port;
	int rc = -1;

	n_samples = 0;
	srv = truth_server_start(false, &port);
	if (!b || !srv) {
		fprintf(stderr, "cannot start the truth server\n");
		goto out;
	}
	sb_init(b);
	sb_http(b, port, "/health", 10 * MS, 500 * MS);
	sb_criterion(b, 1, 200 * MS);
	sb_canary(b, port, 20 * MS);
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0 ||
	    scorer_canary_start(sc, &err) < 0) {
		fprintf(stderr, "scorer: %s\n", err.msg);
		goto out;
	}
	if (scorer_poll(sc, fd_mono_ns() + 500 * MS, &err) < 0)
		goto out;
	CHECK(scorer_probe_ok(sc, 0), "healthy before the fault");

	t0 = truth_server_set_healthy(srv, false);
	lost_truth = truth_server_forget(srv, t0 - 100 * MS, t0 + 1, &newest_seq, &newest_ack);
	for (s = 1; s < newest_seq; s++) {
		a = truth_server_ack_ns(srv, s);
		if (a > survivor_ack && a < newest_ack)
			survivor_ack = a;
	}
	w = scorer_watch_new(&b->s.recovery, &b->s, t0);
	if (scorer_poll(sc, t0 + outage_ns, &err) < 0)
		goto out;
	trec = truth_server_set_healthy(srv, true);
	end = trec + 10 * FD_NS_PER_S;
	for (;;) {
		if (scorer_poll(sc, fd_mono_ns() + 20 * MS, &err) < 0)
			goto out;
		for (; fed < (int64_t)n_samples; fed++)
			scorer_watch_feed(w, &samples[fed]);
		if (scorer_watch_done(w, fd_mono_ns(), &rr) || fd_mono_ns() > end)
			break;
	}
	scorer_canary_stop(sc);
	if (scorer_canary_readback(sc, t0, &rpo, &err) < 0) {
		fprintf(stderr, "readback: %s\n", err.msg);
		goto out;
	}
	scorer_lateness_stats(sc, &lat);

	truth_rto = trec - t0;
	diff = rr.rto_ns - truth_rto;
	printf("outage %" PRId64 " ms: rto %.3f ms (-%.3f/+%.3f ms; truth %.3f, error %+.3f ms), "
	       "lateness p99 %.3f ms max %.3f ms\n",
	       outage_ns / MS, rr.rto_ns / 1e6, rr.rto_late_ns / 1e6, rr.rto_early_ns / 1e6,
	       truth_rto / 1e6, diff / 1e6, lat.p99_ns / 1e6, lat.max_ns / 1e6);
	printf("  canary: sent %" PRId64 ", acked %" PRId64 ", acked in outage %" PRId64
	       ", lost %" PRId64 " (truth %" PRId64 "), rpo %.3f ms (truth %.3f ms): %s\n",
	       rpo.writes_sent, rpo.writes_acked, rpo.writes_acked_outage, rpo.lost_writes,
	       lost_truth, rpo.rpo_ns / 1e6, (newest_ack - survivor_ack) / 1e6, rpo.detail);
	CHECK(rr.recovered, "recovered");
	CHECK(rr.has_detect && rr.detect_ns >= 0 && rr.detect_ns <= 20 * MS,
	      "detect %" PRId64, rr.detect_ns);
	bound_holds(&rr, truth_rto);
	CHECK(lost_truth > 0, "the test forgot some writes");
	CHECK(rpo.has_rpo, "rpo: %s", rpo.detail);
	CHECK(rpo.lost_writes == lost_truth, "lost %" PRId64 " vs truth %" PRId64,
	      rpo.lost_writes, lost_truth);
	CHECK(survivor_ack > 0, "a write survived before the lost ones");
	/* Client ack = server ack + response transit, on the same clock. */
	CHECK(llabs(rpo.rpo_ns - (newest_ack - survivor_ack)) <= 20 * MS,
	      "rpo %" PRId64 " vs truth %" PRId64, rpo.rpo_ns, newest_ack - survivor_ack);
	CHECK(rpo.writes_acked_outage > 0, "writes acknowledged after recovery");
	rc = 0;
out:
	scorer_watch_free(w);
	scorer_free(sc);
	truth_server_stop(srv);
	free(b);
	return rc;
}

/* Polls for span_ns, feeding the watch; true once it reports done. */
static bool poll_feed(struct scorer *sc, struct recovery_watch *w, int64_t span_ns,
		      struct recovery_result *rr)
{
	struct fd_error err = { 0 };
	static size_t fed;
	int64_t end = fd_mono_ns() + span_ns;
	bool done = false;

	if (n_samples < fed)
		fed = 0;
	while (fd_mono_ns() < end && !done) {
		if (scorer_poll(sc, fd_mono_ns() + 20 * MS, &err) < 0)
			return false;
		for (; w && fed < n_samples; fed++)
			scorer_watch_feed(w, &samples[fed]);
		done = w && scorer_watch_done(w, fd_mono_ns(), rr);
	}
	return done;
}

/*
 * "connection: reuse": kept-alive connections while healthy (far fewer
 * connections than samples), and the first success after an outage on a
 * connection the server accepted after the failure began; RTO as accurate
 * as with fresh connections.
 */
static int reuse_connection(void)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct truth_server *srv = NULL;
	struct recovery_watch *w = NULL;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct recovery_result rr = { 0 };
	struct scenario_probe *p;
	int64_t t0, trec, conns, opened, healthy_samples;
	uint16_t port;
	int rc = -1;

	n_samples = 0;
	srv = truth_server_start(false, &port);
	if (!b || !srv)
		goto out;
	sb_init(b);
	p = sb_http(b, port, "/health", 10 * MS, 500 * MS);
	p->http.reuse_connection = true;
	sb_criterion(b, 1, 200 * MS);
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0) {
		fprintf(stderr, "scorer: %s\n", err.msg);
		goto out;
	}
	poll_feed(sc, NULL, 1000 * MS, &rr);
	conns = truth_server_connections(srv);
	healthy_samples = (int64_t)n_samples;
	printf("reuse: %" PRId64 " samples healthy on %" PRId64 " connections\n", healthy_samples,
	       conns);
	CHECK(scorer_probe_ok(sc, 0), "healthy before the fault");
	CHECK(healthy_samples >= 50 && conns * 10 <= healthy_samples,
	      "%" PRId64 " connections for %" PRId64 " samples", conns, healthy_samples);

	t0 = truth_server_set_healthy(srv, false);
	w = scorer_watch_new(&b->s.recovery, &b->s, t0);
	poll_feed(sc, w, 300 * MS, &rr);
	trec = truth_server_set_healthy(srv, true);
	CHECK(poll_feed(sc, w, 5 * FD_NS_PER_S, &rr) && rr.recovered, "recovered");
	opened = truth_server_first_ok_conn_ns(srv);
	printf("reuse: rto %.3f ms (truth %.3f), first success on a connection opened %.3f ms "
	       "after T0\n", rr.rto_ns / 1e6, (trec - t0) / 1e6, (opened - t0) / 1e6);
	CHECK(opened > t0, "first success on a connection opened before the failure (%" PRId64
	      " ns after T0)", opened - t0);
	CHECK(rr.rto_ns - (trec - t0) >= -20 * MS &&
	      rr.rto_ns - (trec - t0) <= rr.error_bound_ns + 20 * MS,
	      "rto %" PRId64 " vs truth %" PRId64, rr.rto_ns, trec - t0);
	conns = truth_server_connections(srv);
	healthy_samples = (int64_t)n_samples;
	poll_feed(sc, NULL, 1000 * MS, &rr);
	CHECK(truth_server_connections(srv) - conns <= 10,
	      "%" PRId64 " new connections in a healthy second after recovery",
	      truth_server_connections(srv) - conns);
	CHECK((int64_t)n_samples - healthy_samples >= 50, "probing went on");
	rc = 0;
out:
	scorer_watch_free(w);
	scorer_free(sc);
	truth_server_stop(srv);
	free(b);
	return rc;
}

/*
 * A service whose failing answers are slow (500 ms) and whose healthy ones
 * are fast, probed every 10 ms: at recovery some 50 failing requests are in
 * flight and the healthy answers overtake them. Samples still reach the
 * callback in send order; the outage is exactly one down and one up
 * transition; the first healthy sample delivered after T0 is the one RTO
 * is measured from; both sides of the bound hold.
 */
static int slow_failures(void)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct truth_server *srv = NULL;
	struct recovery_watch *w = NULL;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct recovery_result rr = { 0 };
	int64_t t0, trec, first_up = 0, newest_done = 0;
	size_t i, fed = 0, down = 0, up = 0, overtaken = 0, disorder = 0;
	bool state = true;
	uint16_t port;
	int rc = -1;

	n_samples = 0;
	srv = truth_server_start(true, &port);
	if (!b || !srv)
		goto out;
	sb_init(b);
	sb_http(b, port, "/health", 10 * MS, 1000 * MS);
	sb_criterion(b, 1, 200 * MS);
	truth_server_set_fail_delay(srv, 500 * MS);
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0) {
		fprintf(stderr, "slow failures: %s\n", err.msg);
		goto out;
	}
	if (scorer_poll(sc, fd_mono_ns() + 300 * MS, &err) < 0)
		goto out;
	t0 = truth_server_set_healthy(srv, false);
	w = scorer_watch_new(&b->s.recovery, &b->s, t0);
	if (scorer_poll(sc, t0 + 800 * MS, &err) < 0)
		goto out;
	trec = truth_server_set_healthy(srv, true);
	while (fd_mono_ns() < trec + 5 * FD_NS_PER_S) {
		if (scorer_poll(sc, fd_mono_ns() + 20 * MS, &err) < 0)
			goto out;
		for (; fed < n_samples; fed++)
			scorer_watch_feed(w, &samples[fed]);
		if (scorer_watch_done(w, fd_mono_ns(), &rr))
			break;
	}
	for (i = 0; i < n_samples; i++) {
		const struct scorer_sample *x = &samples[i];
		int64_t done = x->sent_mono_ns + x->latency_ns;

		if (i > 0 && x->sent_mono_ns < samples[i - 1].sent_mono_ns)
			disorder++;
		/* Answered before an earlier send's answer: delivered after it all the same. */
		if (done < newest_done)
			overtaken++;
		if (done > newest_done)
			newest_done = done;
		if (x->sent_mono_ns >= t0 && x->ok != state) {
			if (x->ok && up++ == 0)
				first_up = x->sent_mono_ns;
			down += !x->ok;
			state = x->ok;
		}
	}
	printf("slow failures: %zu samples, %zu answered before an earlier send's answer; "
	       "after T0 %zu down, %zu up; rto %.3f ms (-%.3f/+%.3f ms), truth %.3f ms\n",
	       n_samples, overtaken, down, up, rr.rto_ns / 1e6, rr.rto_late_ns / 1e6,
	       rr.rto_early_ns / 1e6, (trec - t0) / 1e6);
	CHECK(overtaken > 10, "only %zu answers overtook an earlier one: the case is not exercised",
	      overtaken);
	CHECK(disorder == 0, "%zu samples delivered before an earlier-sent one", disorder);
	CHECK(down == 1 && up == 1, "%zu down, %zu up transitions for one outage", down, up);
	CHECK(rr.recovered, "recovered");
	CHECK(first_up == t0 + rr.rto_ns, "the first healthy sample delivered (T0+%.3f ms) is not "
	      "the one RTO is measured from (T0+%.3f ms)", (first_up - t0) / 1e6, rr.rto_ns / 1e6);
	bound_holds(&rr, trec - t0);
	CHECK(rr.has_detect && rr.detect_ns >= 0 && rr.detect_ns <= 20 * MS, "detect %" PRId64 " (%s)",
	      rr.detect_ns, rr.detect_why);
	rc = 0;
out:
	scorer_watch_free(w);
	scorer_free(sc);
	truth_server_stop(srv);
	free(b);
	return rc;
}

/*
 * The two-sided bound for a command probe (`test ! -e FLAG`): the truth is
 * the instant the flag file is removed; the early side is the command's
 * fork and exec, the late side the gap to the failing run before.
 */
static int command_bound(void)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct recovery_watch *w = NULL;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct recovery_result rr = { 0 };
	struct scenario_probe *p;
	char flag[64], cmd[128];
	int64_t t0, before, trec;
	size_t fed = 0;
	int fd, rc = -1;

	n_samples = 0;
	snprintf(flag, sizeof(flag), "/tmp/fdt-scorer-flag-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "test ! -e %s", flag);
	unlink(flag);
	if (!b)
		return -1;
	sb_init(b);
	p = sb_probe(b, PROBE_COMMAND, 10 * MS, 1000 * MS);
	p->command.run = cmd;
	sb_criterion(b, 1, 100 * MS);
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0) {
		fprintf(stderr, "command: %s\n", err.msg);
		goto out;
	}
	if (scorer_poll(sc, fd_mono_ns() + 300 * MS, &err) < 0)
		goto out;
	fd = open(flag, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	t0 = fd_mono_ns();
	if (fd < 0)
		goto out;
	close(fd);
	w = scorer_watch_new(&b->s.recovery, &b->s, t0);
	if (scorer_poll(sc, t0 + 400 * MS, &err) < 0)
		goto out;
	before = fd_mono_ns();
	unlink(flag);
	trec = fd_mono_ns();
	while (fd_mono_ns() < trec + 3 * FD_NS_PER_S) {
		if (scorer_poll(sc, fd_mono_ns() + 20 * MS, &err) < 0)
			goto out;
		for (; fed < n_samples; fed++)
			scorer_watch_feed(w, &samples[fed]);
		if (scorer_watch_done(w, fd_mono_ns(), &rr))
			break;
	}
	printf("command probe: rto %.3f ms (-%.3f/+%.3f ms), truth %.3f ms (unlink took %.3f ms)\n",
	       rr.rto_ns / 1e6, rr.rto_late_ns / 1e6, rr.rto_early_ns / 1e6, (trec - t0) / 1e6,
	       (trec - before) / 1e6);
	CHECK(rr.recovered, "command probe recovered");
	CHECK(rr.rto_early_ns > 0, "a command takes time to answer: early side %" PRId64,
	      rr.rto_early_ns);
	bound_holds(&rr, trec - t0);
	rc = 0;
out:
	unlink(flag);
	scorer_watch_free(w);
	scorer_free(sc);
	free(b);
	return rc;
}

/* A listening socket on 127.0.0.1 of the namespace; its port in *port. */
static int listener(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static int pcap_captures(void)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;
	char filter[160];
	int64_t before, after, read_at;
	int lfd, cfd = -1, rc = -1;
	uint16_t port = 0;
	size_t i, hits = 0;

	n_samples = 0;
	lfd = listener(&port);
	if (!b || lfd < 0) {
		fprintf(stderr, "pcap: cannot listen\n");
		goto out;
	}
	snprintf(filter, sizeof(filter),
		 "tcp src port %u and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)",
		 port);
	sb_init(b);
	p = sb_probe(b, PROBE_PCAP, 10 * MS, 10 * MS);
	p->pcap.interface = (char *)"lo";
	p->pcap.filter = filter;
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0) {
		fprintf(stderr, "pcap: %s\n", err.msg);
		goto out;
	}
	if (scorer_poll(sc, fd_mono_ns() + 50 * MS, &err) < 0)
		goto out;
	CHECK(n_samples == 0, "no SYN-ACK before the connect (%zu samples)", n_samples);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	before = fd_mono_ns();
	CHECK(cfd >= 0 && connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect");
	after = fd_mono_ns();
	/* The loop reads the packet only now, 100 ms after it was captured. */
	usleep(100000);
	read_at = fd_mono_ns();
	if (scorer_poll(sc, fd_mono_ns() + 50 * MS, &err) < 0)
		goto out;
	for (i = 0; i < n_samples; i++) {
		hits++;
		printf("pcap: SYN-ACK stamped %+.3f ms after connect() began (connect took %.3f ms, "
		       "read %.3f ms later): %s\n", (samples[i].sent_mono_ns - before) / 1e6,
		       (after - before) / 1e6, (read_at - samples[i].sent_mono_ns) / 1e6,
		       samples[i].detail);
		CHECK(samples[i].ok, "a matching packet is a healthy event");
		/* Clock conversion tolerance: 1 ms either side. */
		CHECK(samples[i].sent_mono_ns >= before - MS && samples[i].sent_mono_ns <= after + MS,
		      "stamped with the packet's time: %" PRId64 " not in [%" PRId64 ", %" PRId64 "]",
		      samples[i].sent_mono_ns, before, after);
	}
	CHECK(hits == 1, "one SYN-ACK sample, got %zu", hits);
	CHECK(scorer_probe_count(sc, 0) == 1, "one packet counted, got %" PRId64,
	      scorer_probe_count(sc, 0));
	rc = 0;
out:
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	scorer_free(sc);
	free(b);
	return rc;
}

/* No route out of the namespace: resolving a name not in /etc/hosts fails,
 * with the resolver's reason, within the probe's timeout. */
static int dns_fails(void)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scenario_probe *p;
	int rc = -1;

	n_samples = 0;
	if (!b)
		return -1;
	sb_init(b);
	p = sb_probe(b, PROBE_DNS, 5000 * MS, 3000 * MS);
	p->dns.name = (char *)"fdt-no-such-name.invalid";
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0) {
		fprintf(stderr, "dns: %s\n", err.msg);
		goto out;
	}
	if (scorer_poll(sc, fd_mono_ns() + 3500 * MS, &err) < 0)
		goto out;
	CHECK(n_samples == 1, "one sample, got %zu", n_samples);
	if (n_samples > 0) {
		printf("dns probe: %s after %.3f ms\n", samples[0].detail, samples[0].latency_ns / 1e6);
		CHECK(!samples[0].ok, "unresolvable name fails");
		CHECK(strncmp(samples[0].detail, "dns: ", 5) == 0, "reason: '%s'",
		      samples[0].detail);
	}
	rc = 0;
out:
	scorer_free(sc);
	free(b);
	return rc;
}

/* Samples of probe p sent in [from, to). */
static int64_t count_sent(size_t p, int64_t from, int64_t to)
{
	int64_t n = 0;

	for (size_t i = 0; i < n_samples; i++)
		n += samples[i].probe == p && samples[i].sent_mono_ns >= from &&
		     samples[i].sent_mono_ns < to;
	return n;
}

static const struct scorer_sample *sample_sent_at(size_t p, int64_t t)
{
	for (size_t i = 0; i < n_samples; i++)
		if (samples[i].probe == p && samples[i].sent_mono_ns == t)
			return &samples[i];
	return NULL;
}

static size_t res_fed; /* samples fed to the watch; 0 at each resolution_outage() */

/* Polls until deadline feeding w (every sample, from the first); 1 once w is done. */
static int res_poll(struct scorer *sc, struct recovery_watch *w, int64_t deadline,
		    struct recovery_result *rr)
{
	struct fd_error err = { 0 };

	if (scorer_poll(sc, deadline, &err) < 0) {
		fprintf(stderr, "scorer: %s\n", err.msg);
		return -1;
	}
	for (; w && res_fed < n_samples; res_fed++)
		scorer_watch_feed(w, &samples[res_fed]);
	return w && scorer_watch_done(w, fd_mono_ns(), rr) ? 1 : 0;
}

/*
 * recovery.resolution: 5 ms while the criterion does not hold, 250 ms
 * otherwise. p0 is the criterion, p1 (250 ms) is not in it. Checks that
 * hold whatever the load: RTO within its two-sided bound of the truth
 * (late by less than the send gap, since the last failing sample was
 * handled before the flip; early by at most the first healthy sample's
 * latency); the gap is the resolution unless the loop fell behind (then at
 * most resolution + the worst lateness); the steady-state rate, before T0
 * and after recovery, is one send per 250 ms grid point; p1 never speeds up.
 */
static int resolution_outage(int64_t outage_ns)
{
	const int64_t coarse = 250 * MS, res = 5 * MS, tail = 1500 * MS;
	struct scen_build *b = calloc(1, sizeof(*b));
	struct truth_server *srv = NULL;
	struct recovery_watch *w = NULL;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct recovery_result rr = { 0 };
	struct scorer_resolution_stats rs;
	struct scorer_lateness lat;
	const struct scorer_sample *ok;
	int64_t start, t0, trec, td, end, diff, before, after, during;
	uint16_t port;
	int rc = -1;

	n_samples = res_fed = 0;
	srv = truth_server_start(false, &port);
	if (!b || !srv) {
		fprintf(stderr, "cannot start the truth server\n");
		goto out;
	}
	sb_init(b);
	sb_http(b, port, "/health", coarse, 500 * MS);
	sb_http(b, port, "/health", coarse, 500 * MS);
	sb_criterion(b, 1, 100 * MS);
	b->s.recovery.resolution_ns = res;
	start = fd_mono_ns();
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0 ||
	    scorer_poll(sc, start + 1200 * MS, &err) < 0) {
		fprintf(stderr, "scorer: %s\n", err.msg);
		goto out;
	}
	t0 = truth_server_set_healthy(srv, false);
	scorer_resolution_start(sc, t0);
	w = scorer_watch_new(&b->s.recovery, &b->s, t0);
	if (!w || res_poll(sc, w, t0 + outage_ns, &rr) < 0)
		goto out;
	trec = truth_server_set_healthy(srv, true);
	end = trec + 10 * FD_NS_PER_S;
	while ((rc = res_poll(sc, w, fd_mono_ns() + 20 * MS, &rr)) == 0 && fd_mono_ns() < end)
		;
	td = fd_mono_ns();
	if (rc < 0 || res_poll(sc, NULL, td + tail, &rr) < 0)
		goto out;
	rc = -1;
	scorer_resolution_stats(sc, &rs);
	scorer_resolution_stop(sc);
	scorer_lateness_stats(sc, &lat);

	diff = rr.rto_ns - (trec - t0);
	ok = sample_sent_at(0, t0 + rr.rto_ns);
	before = count_sent(0, 0, t0);
	during = count_sent(0, t0, trec);
	after = count_sent(0, td, td + tail);
	printf("resolution 5 ms, outage %.0f ms: rto %.3f ms (truth %.3f, error %+.3f ms, bound "
	       "%.3f ms), p0 sends: %" PRId64 " before T0, %" PRId64 " in the outage, %" PRId64
	       " in %.1f s after; %" PRId64 " at the resolution, %" PRId64 " capped, at most %"
	       PRId64 " in flight; lateness max %.3f ms\n", outage_ns / 1e6, rr.rto_ns / 1e6,
	       (trec - t0) / 1e6, diff / 1e6, rr.error_bound_ns / 1e6, before, during, after,
	       tail / 1e9, rs.fine_sends, rs.capped, rs.max_inflight, lat.max_ns / 1e6);
	CHECK(rr.recovered, "recovered");
	CHECK(ok != NULL && ok->ok, "the window starts at a healthy sample of p0");
	CHECK(diff < rr.error_bound_ns, "late by %" PRId64 " ns, bound %" PRId64, diff,
	      rr.error_bound_ns);
	CHECK(ok == NULL || diff >= -ok->latency_ns, "early by %" PRId64 " ns, latency %" PRId64,
	      -diff, ok ? ok->latency_ns : 0);
	CHECK(rr.error_bound_ns > 0 && rr.error_bound_ns <= res + lat.max_ns,
	      "bound %" PRId64 " ns, resolution %" PRId64 " + lateness max %" PRId64,
	      rr.error_bound_ns, res, lat.max_ns);
	/* Steady state: one send per grid point, whatever the load. */
	CHECK(before >= 1 && before <= (t0 - start) / coarse + 1, "%" PRId64 " sends before T0",
	      before);
	/* A healthy sample timing out on a starved machine would switch it back
	 * for a while: the rate after recovery is only checked when it did not. */
	if (rs.switches == 2)
		CHECK(after <= tail / coarse + 1, "%" PRId64 " sends in %" PRId64
		      " ns after recovery", after, tail);
	else
		printf("  skipped: sends after recovery (the criterion failed again, %" PRId64
		       " switches)\n", rs.switches);
	CHECK(count_sent(1, 0, INT64_MAX) <= (fd_mono_ns() - start) / coarse + 1,
	      "p1 (not in the criterion) sped up: %" PRId64, count_sent(1, 0, INT64_MAX));
	/* The outage was sampled at the resolution: more sends than its 250 ms grid has. */
	CHECK(rs.fine_sends > 0 && during > outage_ns / coarse + 1, "%" PRId64
	      " sends in the outage", during);
	CHECK(rs.switches >= 2 && rs.switches % 2 == 0 && !rs.fine, "%" PRId64
	      " switches, fine now %d", rs.switches, rs.fine);
	CHECK(rs.max_inflight <= SCENARIO_RESOLUTION_MAX_INFLIGHT * 5 / 4, "%" PRId64
	      " in flight", rs.max_inflight);
	rc = 0;
out:
	scorer_watch_free(w);
	scorer_free(sc);
	truth_server_stop(srv);
	free(b);
	return rc;
}

/*
 * The in-flight cap at the resolution: a listener that never answers (every
 * request hangs until its 500 ms timeout) and a 2 ms resolution, finer than
 * validation allows (250 would be in flight): at most 125 in flight, the
 * grid points beyond that counted as capped, none of them sent.
 */
static int resolution_cap(void)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scorer_resolution_stats rs;
	int64_t t0, sent;
	uint16_t port = 0;
	int lfd, rc = -1;

	n_samples = 0;
	lfd = listener(&port);
	if (!b || lfd < 0) {
		fprintf(stderr, "cap: cannot listen\n");
		goto out;
	}
	sb_init(b);
	sb_http(b, port, "/health", 250 * MS, 500 * MS);
	sb_criterion(b, 1, 0);
	b->s.recovery.resolution_ns = 2 * MS;
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0) {
		fprintf(stderr, "scorer: %s\n", err.msg);
		goto out;
	}
	t0 = fd_mono_ns();
	scorer_resolution_start(sc, t0);
	if (scorer_poll(sc, t0 + 1500 * MS, &err) < 0) {
		fprintf(stderr, "scorer: %s\n", err.msg);
		goto out;
	}
	scorer_resolution_stats(sc, &rs);
	sent = rs.fine_sends;
	printf("cap: 2 ms resolution, 500 ms timeout, no answers: %" PRId64 " sent at the "
	       "resolution, %" PRId64 " capped, at most %" PRId64 " in flight, %zu samples\n",
	       sent, rs.capped, rs.max_inflight, n_samples);
	CHECK(rs.fine, "still at the resolution (nothing answered healthy)");
	CHECK(rs.max_inflight <= SCENARIO_RESOLUTION_MAX_INFLIGHT * 5 / 4, "%" PRId64
	      " in flight", rs.max_inflight);
	CHECK(rs.capped > 0, "no grid point was capped");
	for (size_t i = 0; i < n_samples; i++)
		CHECK(!samples[i].ok, "a hanging request answered healthy");
	rc = 0;
out:
	scorer_free(sc);
	if (lfd >= 0)
		close(lfd);
	free(b);
	return rc;
}

int main(void)
{
	struct fd_error err = { 0 };
	char cmd[256];

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root for a network namespace\n");
		return 77;
	}
	snprintf(netns_name, sizeof(netns_name), "fdt-scorer-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s && ip -n %s link set lo up", netns_name,
		 netns_name);
	if (system(cmd) != 0) {
		fprintf(stderr, "skip: cannot create netns %s\n", netns_name);
		cleanup_netns();
		return 77;
	}
	atexit(cleanup_netns);
	if (fd_netns_enter(netns_name, &err) < 0) {
		fprintf(stderr, "enter %s: %s\n", netns_name, err.msg);
		return 1;
	}
	samples = calloc(200000, sizeof(*samples));
	if (!samples)
		return 1;
	if (run_iteration(700 * MS) < 0 || run_iteration(1300 * MS) < 0)
		failures++;
	if (slow_failures() < 0 || command_bound() < 0 || reuse_connection() < 0 ||
	    pcap_captures() < 0 || dns_fails() < 0)
		failures++;
	if (resolution_outage(600 * MS) < 0 || resolution_outage(853 * MS) < 0 ||
	    resolution_cap() < 0)
		failures++;
	free(samples);
	return failures ? 1 : 0;
}

/*
 * Scorer benchmarks; print figures, never pass or fail.
 *
 *   bench_scorer accuracy [iterations] [interval_ms]   (default 20, 10 ms)
 *     RTO error against the ground-truth service (tests/integration/scorer/
 *     truth_server.c): one HTTP probe at the interval (10 ms is the scenario
 *     minimum; shorter ones are for this bench only, to show what interval a
 *     2 ms median needs), outages of varied length at instants recorded by
 *     the bench; median and max |measured - true|.
 *     Runs in its own network namespace when root, else on the host loopback.
 *   bench_scorer overhead [seconds] [runs]  (default 30 s, 3 runs)
 *     100 HTTP probes at 10 Hz each against a loopback libmicrohttpd server
 *     in a child process; CPU% of the scorer process (getrusage: user and
 *     system) and p99 scheduling lateness; median over runs. Twice per run,
 *     interleaved: each sample on a fresh TCP connection (the default,
 *     scorer/probe_http.c says why), and with "connection: reuse".
 *   bench_scorer resolution [outages] [interval_ms] [resolution_ms]  (default 11, 250, 5)
 *     recovery.resolution against the ground-truth service: one HTTP probe at
 *     the interval, outages alternately without a resolution (the baseline)
 *     and with it; |measured - true| RTO median and max for each, the bound,
 *     and the scorer thread's CPU (getrusage RUSAGE_THREAD: the truth server
 *     runs in its own threads) over the steady state and over the outage.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

static void on_sample(void *user, const struct scorer_sample *s)
{
	(void)user;
	if (n_samples < 400000)
		samples[n_samples++] = *s;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void cleanup_netns(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", netns_name);
	if (system(cmd) != 0)
		fprintf(stderr, "note: %s failed\n", cmd);
}

static void enter_own_netns(void)
{
	struct fd_error err = { 0 };
	char cmd[256];

	if (geteuid() != 0) {
		printf("(not root: host loopback)\n");
		return;
	}
	snprintf(netns_name, sizeof(netns_name), "fdt-scorer-bench-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s && ip -n %s link set lo up", netns_name,
		 netns_name);
	if (system(cmd) != 0) {
		cleanup_netns();
		printf("(cannot create a netns: host loopback)\n");
		return;
	}
	atexit(cleanup_netns);
	if (fd_netns_enter(netns_name, &err) < 0)
		printf("(%s: host loopback)\n", err.msg);
	else
		printf("(in network namespace %s)\n", netns_name);
}

/* Send time of the last failing sample before the window start (for the midpoint). */
static int64_t last_fail_before(int64_t t)
{
	int64_t best = INT64_MIN;
	size_t i;

	for (i = 0; i < n_samples; i++)
		if (!samples[i].ok && samples[i].sent_mono_ns < t && samples[i].sent_mono_ns > best)
			best = samples[i].sent_mono_ns;
	return best;
}

static int one_iteration(struct truth_server *srv, uint16_t port, int64_t interval_ns,
			 int64_t outage_ns, int64_t *err_ns, int64_t *mid_err_ns)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct recovery_watch *w = NULL;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct recovery_result rr = { 0 };
	int64_t t0, trec, end;
	size_t fed = 0;
	int rc = -1;

	n_samples = 0;
	if (!b)
		return -1;
	sb_init(b);
	sb_http(b, port, "/health", interval_ns, 500 * MS);
	sb_criterion(b, 1, 100 * MS);
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0)
		goto out;
	if (scorer_poll(sc, fd_mono_ns() + 200 * MS, &err) < 0)
		goto out;
	t0 = truth_server_set_healthy(srv, false);
	w = scorer_watch_new(&b->s.recovery, &b->s, t0);
	if (!w || scorer_poll(sc, t0 + outage_ns, &err) < 0)
		goto out;
	trec = truth_server_set_healthy(srv, true);
	end = trec + 5 * FD_NS_PER_S;
	do {
		if (scorer_poll(sc, fd_mono_ns() + 20 * MS, &err) < 0)
			goto out;
		for (; fed < n_samples; fed++)
			scorer_watch_feed(w, &samples[fed]);
	} while (!scorer_watch_done(w, fd_mono_ns(), &rr) && fd_mono_ns() < end);
	if (!rr.recovered)
		goto out;
	*err_ns = rr.rto_ns - (trec - t0);
	*mid_err_ns = (last_fail_before(t0 + rr.rto_ns) + t0 + rr.rto_ns) / 2 - trec;
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "iteration failed: %s\n", err.msg);
	scorer_watch_free(w);
	scorer_free(sc);
	free(b);
	return rc;
}

static int bench_accuracy(int iterations, int64_t interval_ns)
{
	int64_t *errs = calloc((size_t)iterations, sizeof(*errs)), e, sum = 0;
	int64_t *mids = calloc((size_t)iterations, sizeof(*mids)), m;
	struct truth_server *srv;
	uint16_t port;
	int i, n = 0;

	enter_own_netns();
	srv = truth_server_start(false, &port);
	if (!srv || !errs || !mids)
		return 1;
	for (i = 0; i < iterations; i++) {
		/*
		 * The flip happens right after a grid point (t0 follows a send), so
		 * the outage's length modulo the interval sets where recovery falls
		 * between two sends. Those phases must cover the whole interval
		 * evenly, in a scrambled order (every phase once when 7 is coprime
		 * to the count, as for 20): the first version's lengths only reached
		 * 0-6 ms of 10 and biased the median low. 40 ms is a multiple of
		 * every interval the bench is run at (10, 4, 2 ms).
		 */
		int64_t phase = (int64_t)((i * 7) % iterations) * interval_ns / iterations;
		int64_t outage = 300 * MS + (int64_t)i * 40 * MS + phase;

		if (one_iteration(srv, port, interval_ns, outage, &e, &m) < 0)
			continue;
		printf("  iteration %2d: outage %7.3f ms, error %+7.3f ms (midpoint %+7.3f ms)\n",
		       i + 1, outage / 1e6, e / 1e6, m / 1e6);
		mids[n] = llabs(m);
		errs[n++] = llabs(e);
		sum += e;
	}
	truth_server_stop(srv);
	if (n == 0)
		return 1;
	qsort(errs, (size_t)n, sizeof(*errs), cmp_i64);
	printf("accuracy: %d iterations, %.0f ms interval: |measured - true| RTO median %.3f ms, "
	       "max %.3f ms (mean signed %+.3f ms)\n", n, interval_ns / 1e6, errs[n / 2] / 1e6,
	       errs[n - 1] / 1e6, sum / 1e6 / n);
	qsort(mids, (size_t)n, sizeof(*mids), cmp_i64);
	printf("  (for comparison, the midpoint of last failing and first healthy send: "
	       "median %.3f ms, max %.3f ms)\n", mids[n / 2] / 1e6, mids[n - 1] / 1e6);
	free(mids);
	free(errs);
	return 0;
}

struct overhead {
	double cpu_pct, user_pct, sys_pct;
	double sleeps_per_s; /* voluntary context switches: the loop's wake-ups */
	int64_t p99_ns, max_ns, sends, samples, failed;
};

static int overhead_run(uint16_t port, int seconds, bool reuse, struct overhead *o)
{
	struct scen_build *b = calloc(1, sizeof(*b));
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct scorer_lateness lat;
	struct rusage r0, r1;
	int64_t w0, w1, user, sys;
	size_t i;
	int rc = -1;

	n_samples = 0;
	if (!b)
		return -1;
	sb_init(b);
	for (i = 0; i < 100; i++)
		sb_http(b, port, "/health", 100 * MS, 1000 * MS)->http.reuse_connection = reuse;
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0 || scorer_start(sc, &err) < 0)
		goto out;
	getrusage(RUSAGE_SELF, &r0);
	w0 = fd_mono_ns();
	if (scorer_poll(sc, w0 + (int64_t)seconds * FD_NS_PER_S, &err) < 0)
		goto out;
	w1 = fd_mono_ns();
	getrusage(RUSAGE_SELF, &r1);
	user = ((int64_t)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000000 +
		(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec)) * 1000;
	sys = ((int64_t)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000 +
	       (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec)) * 1000;
	scorer_lateness_stats(sc, &lat);
	o->user_pct = 100.0 * (double)user / (double)(w1 - w0);
	o->sleeps_per_s = (double)(r1.ru_nvcsw - r0.ru_nvcsw) * 1e9 / (double)(w1 - w0);
	o->sys_pct = 100.0 * (double)sys / (double)(w1 - w0);
	o->cpu_pct = o->user_pct + o->sys_pct;
	o->p99_ns = lat.p99_ns;
	o->max_ns = lat.max_ns;
	o->sends = lat.sends;
	o->samples = (int64_t)n_samples;
	o->failed = 0;
	for (i = 0; i < n_samples; i++)
		o->failed += !samples[i].ok;
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "overhead run failed: %s\n", err.msg);
	scorer_free(sc);
	free(b);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The 1-minute load average, to read a figure against the machine's load. */
static const char *loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, len, "?");
	if (f && fscanf(f, "%15s", buf) != 1)
		snprintf(buf, len, "?");
	if (f)
		fclose(f);
	return buf;
}

struct overhead_mode {
	const char *name;
	bool reuse;
	double cpu[16], p99[16];
	int n;
};

static void overhead_print(int run, const char *mode, const struct overhead *o)
{
	char la[16];

	printf("  run %d %-6s cpu %.2f%% of one core (user %.2f, sys %.2f), %.0f sleeps/s, "
	       "lateness p99 %.3f ms max %.3f ms, %" PRId64 " sends, %" PRId64 " samples (%" PRId64
	       " failed), load %s\n", run, mode, o->cpu_pct, o->user_pct, o->sys_pct,
	       o->sleeps_per_s, o->p99_ns / 1e6, o->max_ns / 1e6, o->sends, o->samples, o->failed,
	       loadavg(la, sizeof(la)));
}

/* The server lives in a child so getrusage(SELF) counts the scorer only. */
static pid_t server_child(uint16_t *port)
{
	struct truth_server *srv;
	int pipefd[2];
	pid_t child;

	if (pipe(pipefd) < 0)
		return -1;
	child = fork();
	if (child == 0) {
		close(pipefd[0]);
		srv = truth_server_start(false, port);
		if (write(pipefd[1], port, sizeof(*port)) != sizeof(*port) || !srv)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	if (child < 0 || read(pipefd[0], port, sizeof(*port)) != sizeof(*port) || *port == 0) {
		close(pipefd[0]);
		return -1;
	}
	close(pipefd[0]);
	return child;
}

static int bench_overhead(int seconds, int runs)
{
	struct overhead_mode modes[2] = { { "fresh", false, { 0 }, { 0 }, 0 },
					  { "reuse", true, { 0 }, { 0 }, 0 } };
	struct overhead o;
	struct overhead_mode *m;
	uint16_t port = 0;
	pid_t child;
	int i, k;

	if (runs > 16)
		runs = 16;
	child = server_child(&port);
	if (child < 0)
		return 1;
	for (i = 0; i < runs; i++) {
		for (k = 0; k < 2; k++) {
			m = &modes[(i + k) % 2]; /* alternate which goes first */
			if (overhead_run(port, seconds, m->reuse, &o) < 0)
				continue;
			overhead_print(i + 1, m->name, &o);
			m->cpu[m->n] = o.cpu_pct;
			m->p99[m->n] = o.p99_ns / 1e6;
			m->n++;
		}
	}
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	for (k = 0; k < 2; k++) {
		m = &modes[k];
		if (m->n == 0)
			return 1;
		qsort(m->cpu, (size_t)m->n, sizeof(double), cmp_double);
		qsort(m->p99, (size_t)m->n, sizeof(double), cmp_double);
		printf("overhead (%s connections): 100 HTTP probes at 10 Hz for %d s, median of %d "
		       "runs: cpu %.2f%% of one core, lateness p99 %.3f ms\n", m->name, seconds, m->n,
		       m->cpu[m->n / 2], m->p99[m->n / 2]);
	}
	printf("reuse / fresh cpu: %.2f\n", modes[1].cpu[modes[1].n / 2] /
	       modes[0].cpu[modes[0].n / 2]);
	return 0;
}

/* ---- resolution ------------------------------------------------------------ */

struct res_run {
	int64_t err_ns, bound_ns;
	double cpu_steady, cpu_outage; /* % of one core, scorer thread */
	double sends_per_s;            /* in the outage */
};

static int64_t thread_cpu_ns(void)
{
	struct rusage r;

	getrusage(RUSAGE_THREAD, &r);
	return ((int64_t)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000 + r.ru_utime.tv_usec +
		r.ru_stime.tv_usec) * 1000;
}

/* Polls until deadline, feeding w from sample *fed on; true once w is done. */
static bool res_poll(struct scorer *sc, struct recovery_watch *w, size_t *fed, int64_t deadline,
		     struct recovery_result *rr, struct fd_error *err)
{
	if (scorer_poll(sc, deadline, err) < 0)
		return false;
	for (; w && *fed < n_samples; (*fed)++)
		scorer_watch_feed(w, &samples[*fed]);
	return w && scorer_watch_done(w, fd_mono_ns(), rr);
}

/*
 * One outage. The service recovers offset_ns after a point of the grid the
 * probe is on at recovery (step_ns: the interval, or the resolution), so
 * that the true instant's place between two sends is chosen, not left to
 * the machine. The probe is alone: its grid starts at scorer_start.
 */
static int res_outage(struct truth_server *srv, uint16_t port, int64_t interval_ns,
		      int64_t res_ns, int64_t step_ns, int64_t offset_ns, struct res_run *out)
{
	const int64_t steady_ns = 800 * MS, outage_ns = 800 * MS;
	struct scen_build *b = calloc(1, sizeof(*b));
	struct recovery_watch *w = NULL;
	struct scorer *sc = NULL;
	struct fd_error err = { 0 };
	struct recovery_result rr = { 0 };
	int64_t start, t0, trec, at, c0, c1, c2, end;
	size_t fed = 0, in_outage = 0, i;
	int rc = -1;

	n_samples = 0;
	if (!b)
		return -1;
	sb_init(b);
	sb_http(b, port, "/health", interval_ns, 500 * MS);
	sb_criterion(b, 1, 100 * MS);
	b->s.recovery.resolution_ns = res_ns;
	if (scorer_new(&b->s, on_sample, NULL, &sc, &err) < 0)
		goto out;
	start = fd_mono_ns();
	if (scorer_start(sc, &err) < 0 || scorer_poll(sc, start + 200 * MS, &err) < 0)
		goto out;
	c0 = thread_cpu_ns();
	if (scorer_poll(sc, start + 200 * MS + steady_ns, &err) < 0)
		goto out;
	c1 = thread_cpu_ns();
	t0 = truth_server_set_healthy(srv, false);
	scorer_resolution_start(sc, t0);
	w = scorer_watch_new(&b->s.recovery, &b->s, t0);
	at = t0 + outage_ns - start;
	at = start + (at + step_ns - 1) / step_ns * step_ns + offset_ns;
	if (!w)
		goto out;
	res_poll(sc, w, &fed, at, &rr, &err);
	trec = truth_server_set_healthy(srv, true);
	c2 = thread_cpu_ns();
	end = trec + 5 * FD_NS_PER_S;
	while (!res_poll(sc, w, &fed, fd_mono_ns() + 20 * MS, &rr, &err) && !*err.msg &&
	       fd_mono_ns() < end)
		;
	scorer_resolution_stop(sc);
	if (!rr.recovered)
		goto out;
	for (i = 0; i < n_samples; i++)
		in_outage += samples[i].sent_mono_ns >= t0 && samples[i].sent_mono_ns < trec;
	out->err_ns = rr.rto_ns - (trec - t0);
	out->bound_ns = rr.error_bound_ns;
	out->cpu_steady = 100.0 * (double)(c1 - c0) / (double)steady_ns;
	out->cpu_outage = 100.0 * (double)(c2 - c1) / (double)(trec - t0);
	out->sends_per_s = (double)in_outage * 1e9 / (double)(trec - t0);
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "outage failed: %s\n", *err.msg ? err.msg : "not recovered");
	scorer_watch_free(w);
	scorer_free(sc);
	free(b);
	return rc;
}

/* The median of n sorted values (the mean of the middle two when n is even). */
static double median_ms(const int64_t *v, int n)
{
	return (n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2) / 1e6;
}

static double median_d(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct res_mode {
	const char *name;
	int64_t res_ns, step_ns;
	int64_t errs[64], bounds[64];
	double steady[64], outage[64], rate[64];
	int n;
};

static void res_summary(struct res_mode *m, int64_t interval_ns)
{
	if (m->n == 0) {
		printf("%s: no outage measured\n", m->name);
		return;
	}
	qsort(m->errs, (size_t)m->n, sizeof(int64_t), cmp_i64);
	qsort(m->bounds, (size_t)m->n, sizeof(int64_t), cmp_i64);
	printf("%s (%.0f ms interval): %d outages, |measured - true| RTO median %.3f ms, max %.3f "
	       "ms; bound median %.3f ms, max %.3f ms; scorer thread cpu %.3f%% of one core in "
	       "steady state, %.3f%% in the outage (%.0f sends/s)\n", m->name, interval_ns / 1e6,
	       m->n, median_ms(m->errs, m->n), m->errs[m->n - 1] / 1e6,
	       median_ms(m->bounds, m->n), m->bounds[m->n - 1] / 1e6, median_d(m->steady, m->n),
	       median_d(m->outage, m->n), median_d(m->rate, m->n));
}

static int bench_resolution(int outages, int64_t interval_ns, int64_t res_ns)
{
	struct res_mode modes[2] = { { .name = "baseline, no resolution", .step_ns = interval_ns },
				     { .name = "recovery.resolution", .res_ns = res_ns,
				       .step_ns = res_ns } };
	struct truth_server *srv;
	struct res_run r;
	struct res_mode *m;
	char la[16];
	uint16_t port;
	int i, k;

	if (outages > 64)
		outages = 64;
	enter_own_netns();
	srv = truth_server_start(false, &port);
	if (!srv)
		return 1;
	printf("load before: %s\n", loadavg(la, sizeof(la)));
	for (i = 0; i < outages; i++) {
		for (k = 0; k < 2; k++) {
			m = &modes[(i + k) % 2]; /* alternate which goes first */
			/* Every offset once, scrambled (7 coprime to the count), mid-slot. */
			int64_t off = (2 * (int64_t)((i * 7) % outages) + 1) * m->step_ns /
				      (2 * outages);

			if (res_outage(srv, port, interval_ns, m->res_ns, m->step_ns, off, &r) < 0)
				continue;
			printf("  outage %2d %-24s recovers %7.3f ms after a send: error %+7.3f ms, "
			       "bound %7.3f ms, cpu steady %.3f%% outage %.3f%% (%.0f sends/s)\n",
			       i + 1, m->name, off / 1e6, r.err_ns / 1e6, r.bound_ns / 1e6,
			       r.cpu_steady, r.cpu_outage, r.sends_per_s);
			m->errs[m->n] = llabs(r.err_ns);
			m->bounds[m->n] = r.bound_ns;
			m->steady[m->n] = r.cpu_steady;
			m->outage[m->n] = r.cpu_outage;
			m->rate[m->n] = r.sends_per_s;
			m->n++;
		}
	}
	truth_server_stop(srv);
	res_summary(&modes[0], interval_ns);
	res_summary(&modes[1], interval_ns);
	printf("load after: %s\n", loadavg(la, sizeof(la)));
	return modes[0].n && modes[1].n ? 0 : 1;
}

int main(int argc, char **argv)
{
	int rc;

	samples = calloc(400000, sizeof(*samples));
	if (!samples)
		return 1;
	if (argc >= 2 && strcmp(argv[1], "accuracy") == 0 && (argc < 4 || atoi(argv[3]) > 0)) {
		rc = bench_accuracy(argc >= 3 ? atoi(argv[2]) : 20,
				    (argc >= 4 ? atoi(argv[3]) : 10) * MS);
	} else if (argc >= 2 && strcmp(argv[1], "resolution") == 0) {
		rc = bench_resolution(argc >= 3 ? atoi(argv[2]) : 11,
				      (argc >= 4 ? atoi(argv[3]) : 250) * MS,
				      (argc >= 5 ? atoi(argv[4]) : 5) * MS);
	} else if (argc >= 2 && strcmp(argv[1], "overhead") == 0) {
		rc = bench_overhead(argc >= 3 ? atoi(argv[2]) : 30, argc >= 4 ? atoi(argv[3]) : 3);
	} else {
		fprintf(stderr, "usage: bench_scorer accuracy [iterations] [interval_ms]\n"
				"       bench_scorer overhead [seconds] [runs]\n"
				"       bench_scorer resolution [outages] [interval_ms] [resolution_ms]\n");
		rc = 2;
	}
	free(samples);
	return rc;
}

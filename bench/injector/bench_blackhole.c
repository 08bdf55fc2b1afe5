/*
 * bench_blackhole: apply and revert a 10,000-prefix drop fault in a network
 * namespace, where the time goes (journal, nft batch, table deletion, the
 * same set as libnftables text), and untargeted TCP throughput between two
 * namespaces with and without the fault. Prints medians (and minimums,
 * the runs least disturbed by other load); never fails on time.
 *
 *   sudo build/bench/injector/bench_blackhole [RUNS [PAIRS [SECONDS]]]
 *
 * RUNS apply/revert cycles (default 15), each fault held 50 ms. Throughput: PAIRS (default 7)
 * back-to-back pairs of SECONDS (default 1) with the fault then without;
 * the figure is the median of the per-pair ratios, so that load drifting
 * during the run moves both halves of a pair alike.
 *
 * Creates fdt-bench-a / fdt-bench-b (veth, 10.250.2.0/24) and always
 * removes them, also when a step fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd_netns.h"
#include "fd_time.h"
#include "fdtest.h"
#include "injector.h"
#include "injector_int.h"
#include "store.h"

#define NS_A "fdt-bench-a"
#define NS_B "fdt-bench-b"
#define N_PREFIXES 10000
#define TPUT_PORT 5201
#define TEXT_RUNS 5 /* the libnftables comparison is slow and steady */
#define HOLD_US 50000

static pid_t sink = -1;

static void teardown(void)
{
	if (sink > 0) {
		kill(sink, SIGKILL);
		waitpid(sink, NULL, 0);
		sink = -1;
	}
	fdt_setup("ip netns del " NS_A " 2>/dev/null; ip netns del " NS_B " 2>/dev/null; true");
}

static void on_signal(int sig)
{
	(void)sig;
	exit(2); /* runs teardown() through atexit */
}

static void setup(void)
{
	teardown();
	fdt_setup("ip netns add " NS_A " && ip netns add " NS_B);
	fdt_setup("ip -n " NS_A " link add va type veth peer name vb netns " NS_B);
	fdt_setup("ip -n " NS_A " addr add 10.250.2.1/24 dev va && ip -n " NS_A " link set va up && ip -n " NS_A " link set lo up");
	fdt_setup("ip -n " NS_B " addr add 10.250.2.2/24 dev vb && ip -n " NS_B " link set vb up && ip -n " NS_B " link set lo up");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* "median M ms (min m)": sorts v. */
static const char *stat_ms(double *v, int n, char *buf, size_t len)
{
	double m = median(v, n);

	snprintf(buf, len, "median %6.2f ms (min %6.2f)", m, v[0]);
	return buf;
}

static double ms_since(int64_t t0)
{
	return (double)(fd_mono_ns() - t0) / 1e6;
}

/* CPU time of this thread, kernel time included: netlink requests to
 * nf_tables run in the sender's context, so this is the kernel's own cost
 * of a batch, less sensitive to other load than wall time. */
static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * FD_NS_PER_S + ts.tv_nsec;
}

/* 10,000 disjoint, non-adjacent /24s: nothing collapses or merges. */
static void make_prefixes(struct fd_cidr *c)
{
	for (int i = 0; i < N_PREFIXES; i++) {
		c[i] = (struct fd_cidr){ .family = AF_INET, .prefix_len = 24 };
		c[i].addr[0] = (uint8_t)(20 + i / 128);
		c[i].addr[1] = (uint8_t)((i % 128) * 2);
	}
}

static void sink_in_b(void)
{
	sink = fork();
	if (sink == 0) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TPUT_PORT) };
		struct fd_error e;
		int one = 1, l;
		static char buf[1 << 16];

		if (fd_netns_enter(NS_B, &e) < 0)
			_exit(1);
		l = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 8) < 0)
			_exit(1);
		for (;;) {
			int c = accept(l, NULL, NULL);

			while (c >= 0 && read(c, buf, sizeof(buf)) > 0)
				;
			close(c);
		}
	}
	usleep(200000);
}

/* Bytes per second sent to the sink for ns nanoseconds. */
static double throughput(int64_t ns)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TPUT_PORT) };
	static char buf[1 << 16];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int64_t t0, t = 0;
	double bytes = 0;

	inet_pton(AF_INET, "10.250.2.2", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return 0;
	}
	t0 = fd_mono_ns();
	do {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		bytes += (double)n;
		t = fd_mono_ns();
	} while (t - t0 < ns);
	close(fd);
	return t > t0 ? bytes / ((double)(t - t0) / 1e9) : 0;
}

struct raw_times {
	double stage_ms, batch_ms, batch_cpu_ms, delete_ms;
};

/* The nft part alone: staging with libnftnl, the one batch (wall and CPU),
 * then deleting the table. */
static int raw_batch(const struct fd_cidr *c, struct raw_times *t)
{
	struct inj_nft_fault f = { .fault_id = "raw", .direction = DIRECTION_EGRESS,
				   .cidrs = c, .n_cidrs = N_PREFIXES, .timeout_ms = 900000 };
	struct inj_nft *n = inj_nft_new();
	struct fd_error e = { 0 };
	int64_t t0 = fd_mono_ns(), cpu0;
	int rc = n ? inj_nft_stage(n, &f, &e) : -ENOMEM;

	t->stage_ms = ms_since(t0);
	t0 = fd_mono_ns();
	cpu0 = thread_cpu_ns();
	if (rc == 0)
		rc = inj_nft_commit(n, &e);
	t->batch_cpu_ms = (double)(thread_cpu_ns() - cpu0) / 1e6;
	t->batch_ms = ms_since(t0);
	t0 = fd_mono_ns();
	if (rc == 0)
		rc = inj_nft_remove(n, &e);
	t->delete_ms = ms_since(t0);
	if (rc < 0)
		fprintf(stderr, "raw batch: %s\n", e.msg);
	inj_nft_free(n);
	return rc;
}

/* The journal part alone: a row planned, applied and reverted. */
static double journal_ms(struct store *st)
{
	struct store_fault row = { .spec = (char *)"{}", .max_duration_ns = FD_NS_PER_S };
	struct fd_error e = { 0 };
	int64_t t0 = fd_mono_ns();

	snprintf(row.fault_id, sizeof(row.fault_id), "journal-only");
	snprintf(row.kind, sizeof(row.kind), "drop");
	if (store_journal_plan_all(st, &row, 1, &e) < 0 ||
	    store_journal_set_states(st, &row.id, NULL, 1, JOURNAL_APPLIED, 0, NULL, &e) < 0 ||
	    store_journal_set_states(st, &row.id, NULL, 1, JOURNAL_REVERTED, 0, "bench", &e) < 0)
		fprintf(stderr, "journal: %s\n", e.msg);
	return ms_since(t0);
}

/* The same set loaded as libnftables text: the figure that made us build
 * the batch with libnftnl. */
static double libnftables_text_ms(const struct fd_cidr *c)
{
	size_t cap = (size_t)N_PREFIXES * 24 + 1024, off = 0;
	char *text = malloc(cap), buf[FD_CIDR_STRLEN];
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int64_t t0;
	double ms;

	off += (size_t)snprintf(text + off, cap - off,
				"table inet fdbench { set s { type ipv4_addr; flags interval, timeout; timeout 15m; elements = { ");
	for (int i = 0; i < N_PREFIXES; i++)
		off += (size_t)snprintf(text + off, cap - off, "%s%s", i ? ", " : "",
					fd_cidr_format(&c[i], buf, sizeof(buf)));
	snprintf(text + off, cap - off,
		 " } }; chain o { type filter hook output priority 0; ip daddr @s drop; }; }");
	nft_ctx_buffer_error(nft);
	t0 = fd_mono_ns();
	if (nft_run_cmd_from_buffer(nft, text) != 0)
		fprintf(stderr, "libnftables: %.200s\n", nft_ctx_get_error_buffer(nft));
	ms = ms_since(t0);
	nft_run_cmd_from_buffer(nft, "delete table inet fdbench");
	nft_ctx_free(nft);
	free(text);
	return ms;
}

struct figures {
	double *apply, *revert, *stage, *batch, *batch_cpu, *del, *journal, *text, *ratio;
	double *with, *base;
};

static int timing_runs(struct injector *inj, struct store *st, const struct fd_cidr *c,
		       int runs, struct figures *fg)
{
	struct fd_error e = { 0 };

	for (int r = 0; r < runs; r++) {
		struct raw_times rt;
		int64_t t0 = fd_mono_ns();

		if (injector_apply(inj, &e) < 0) {
			fprintf(stderr, "apply: %s\n", e.msg);
			return -1;
		}
		fg->apply[r] = ms_since(t0);
		/* Held briefly, as any drill holds a fault for at least a probe
		 * interval: a revert in the same millisecond would race the
		 * guardian's own start for the CPUs and time that instead. */
		usleep(HOLD_US);
		t0 = fd_mono_ns();
		if (injector_revert(inj, &e) < 0) {
			fprintf(stderr, "revert: %s\n", e.msg);
			return -1;
		}
		fg->revert[r] = ms_since(t0);
		if (raw_batch(c, &rt) < 0)
			return -1;
		fg->stage[r] = rt.stage_ms;
		fg->batch[r] = rt.batch_ms;
		fg->batch_cpu[r] = rt.batch_cpu_ms;
		fg->del[r] = rt.delete_ms;
		fg->journal[r] = journal_ms(st);
		if (r < TEXT_RUNS)
			fg->text[r] = libnftables_text_ms(c);
	}
	return 0;
}

static int throughput_pairs(struct injector *inj, int pairs, int64_t ns, struct figures *fg)
{
	struct fd_error e = { 0 };

	for (int p = 0; p < pairs; p++) {
		if (injector_apply(inj, &e) < 0) {
			fprintf(stderr, "apply: %s\n", e.msg);
			return -1;
		}
		fg->with[p] = throughput(ns);
		if (injector_revert(inj, &e) < 0) {
			fprintf(stderr, "revert: %s\n", e.msg);
			return -1;
		}
		fg->base[p] = throughput(ns);
		fg->ratio[p] = fg->base[p] > 0 ? 100.0 * fg->with[p] / fg->base[p] : 0;
	}
	return 0;
}

static void print_figures(struct figures *fg, int runs, int pairs, double secs)
{
	char b[64];
	int tr = runs < TEXT_RUNS ? runs : TEXT_RUNS;
	double ratio = median(fg->ratio, pairs); /* sorts: [0] and [pairs - 1] are the range */

	printf("runs: %d, prefixes: %d (one interval set, element timeouts, owner table)\n", runs,
	       N_PREFIXES);
	printf("apply  (journal + one libnftnl batch + guardian): %s\n", stat_ms(fg->apply, runs, b, sizeof(b)));
	printf("revert (delete table + journal + guardian stand-down): %s\n",
	       stat_ms(fg->revert, runs, b, sizeof(b)));
	printf("  journal alone (plan, applied, reverted): %s\n", stat_ms(fg->journal, runs, b, sizeof(b)));
	printf("  nft staging alone (libnftnl, userspace): %s\n", stat_ms(fg->stage, runs, b, sizeof(b)));
	printf("  nft batch alone (kernel), wall:          %s\n", stat_ms(fg->batch, runs, b, sizeof(b)));
	printf("  nft batch alone (kernel), CPU:           %s\n", stat_ms(fg->batch_cpu, runs, b, sizeof(b)));
	printf("  delete table alone:                      %s\n", stat_ms(fg->del, runs, b, sizeof(b)));
	printf("same set as libnftables text (for comparison): %s\n", stat_ms(fg->text, tr, b, sizeof(b)));
	printf("untargeted TCP throughput, fault active / no fault: median %.1f%% (range %.1f-%.1f%%; "
	       "%d pairs of %.1f s; %.0f vs %.0f MB/s medians)\n",
	       ratio, fg->ratio[0], fg->ratio[pairs - 1], pairs, secs,
	       median(fg->with, pairs) / 1e6, median(fg->base, pairs) / 1e6);
}

static double *nums(int n)
{
	double *v = calloc((size_t)(n > 0 ? n : 1), sizeof(double));

	if (!v) {
		fprintf(stderr, "out of memory\n");
		exit(4);
	}
	return v;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 15, pairs = argc > 2 ? atoi(argv[2]) : 7;
	double secs = argc > 3 ? atof(argv[3]) : 1.0;
	char db[] = "/tmp/fdt-bench-XXXXXX";
	struct fd_cidr *c = calloc(N_PREFIXES, sizeof(*c));
	struct figures fg;
	struct scenario s = { 0 };
	struct scenario_fault f = { 0 };
	struct store *st = NULL;
	struct fd_error e = { 0 };
	struct injector *inj = NULL;
	struct injector_opts o = { 0 };
	int home = -1, fd, rc = 3;

	if (geteuid() != 0) {
		fprintf(stderr, "bench_blackhole: needs root (network namespaces)\n");
		return 77;
	}
	runs = runs < 1 ? 1 : runs;
	pairs = pairs < 1 ? 1 : pairs;
	secs = secs < 0.1 ? 0.1 : secs;
	fg = (struct figures){ nums(runs), nums(runs), nums(runs), nums(runs), nums(runs), nums(runs),
			       nums(runs), nums(runs), nums(pairs), nums(pairs), nums(pairs) };
	if (!c)
		return 4;
	make_prefixes(c);
	atexit(teardown);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setup();
	sink_in_b();
	home = fd_netns_current();
	fd = mkstemp(db);
	if (fd >= 0)
		close(fd);
	if (fd < 0 || fd_netns_enter(NS_A, &e) < 0 || store_open(db, &st, &e) < 0) {
		fprintf(stderr, "setup: %s\n", fd < 0 ? strerror(errno) : e.msg);
		goto out;
	}
	f.id = (char *)"bench";
	f.kind = FAULT_DROP;
	f.duration_ns = 15 * 60 * FD_NS_PER_S;
	f.targets.cidrs = c;
	f.targets.n_cidrs = N_PREFIXES;
	s.path = (char *)"bench.yaml";
	s.netns = (char *)NS_A;
	s.faults = &f;
	s.n_faults = 1;
	o.store = st;
	o.db_path = db;
	if (injector_new(&s, &o, &inj, &e) < 0 || injector_prepare(inj, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		goto out;
	}
	printf("fault: %s\n", injector_fault_summary(inj, 0));
	if (timing_runs(inj, st, c, runs, &fg) < 0 ||
	    throughput_pairs(inj, pairs, (int64_t)(secs * 1e9), &fg) < 0)
		goto out;
	print_figures(&fg, runs, pairs, secs);
	rc = 0;
out:
	injector_free(inj);
	store_close(st);
	unlink(db);
	if (home >= 0) {
		fd_netns_restore(home, NULL);
		close(home);
	}
	free(c);
	free(fg.apply);
	free(fg.revert);
	free(fg.stage);
	free(fg.batch);
	free(fg.batch_cpu);
	free(fg.del);
	free(fg.journal);
	free(fg.text);
	free(fg.ratio);
	free(fg.with);
	free(fg.base);
	return rc; /* teardown() runs at exit */
}

/*
 * bench_blackhole: apply and revert a 10,000-prefix drop fault in a network
 * namespace, and untargeted TCP throughput between two namespaces with and
 * without the fault, in the same run. Prints medians; never fails on time.
 *
 *   sudo build/bench/injector/bench_blackhole [RUNS]
 *
 * Creates fdt-bench-a / fdt-bench-b (veth, 10.250.2.0/24) and removes them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_netns.h"
#include "fd_time.h"
#include "injector.h"
#include "internal.h"
#include "store.h"

#define NS_A "fdt-bench-a"
#define NS_B "fdt-bench-b"
#define N_PREFIXES 10000
#define TPUT_PORT 5201
#define TPUT_NS (FD_NS_PER_S / 2)

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fprintf(stderr, "(command failed: %s)\n", cmd);
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

/* 10,000 disjoint, non-adjacent /24s: nothing collapses. */
static void make_prefixes(struct fd_cidr *c)
{
	for (int i = 0; i < N_PREFIXES; i++) {
		c[i] = (struct fd_cidr){ .family = AF_INET, .prefix_len = 24 };
		c[i].addr[0] = (uint8_t)(20 + i / 128);
		c[i].addr[1] = (uint8_t)((i % 128) * 2);
	}
}

static pid_t sink_in_b(void)
{
	pid_t pid = fork();

	if (pid == 0) {
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
	return pid;
}

/* Bytes per second sent to the sink for TPUT_NS. */
static double throughput(void)
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
	} while (t - t0 < TPUT_NS);
	close(fd);
	return bytes / ((double)(t - t0) / 1e9);
}

/* The nft part alone: one libnftnl batch, then deleting the table. */
static void raw_batch_ms(const struct fd_cidr *c, double *apply_ms, double *remove_ms)
{
	struct inj_nft_fault f = { .fault_id = "raw", .direction = DIRECTION_EGRESS,
				   .cidrs = c, .n_cidrs = N_PREFIXES, .timeout_ms = 900000 };
	struct inj_nft *n = inj_nft_new();
	struct fd_error e = { 0 };
	int64_t t0 = fd_mono_ns();

	if (inj_nft_stage(n, &f, &e) < 0)
		fprintf(stderr, "raw stage: %s\n", e.msg);
	if (getenv("FDB_VERBOSE"))
		fprintf(stderr, "stage %.2f ms\n", (double)(fd_mono_ns() - t0) / 1e6);
	if (inj_nft_commit(n, &e) < 0)
		fprintf(stderr, "raw batch: %s\n", e.msg);
	*apply_ms = (double)(fd_mono_ns() - t0) / 1e6;
	t0 = fd_mono_ns();
	if (inj_nft_remove(n, &e) < 0)
		fprintf(stderr, "raw remove: %s\n", e.msg);
	*remove_ms = (double)(fd_mono_ns() - t0) / 1e6;
	inj_nft_free(n);
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
	ms = (double)(fd_mono_ns() - t0) / 1e6;
	nft_run_cmd_from_buffer(nft, "delete table inet fdbench");
	nft_ctx_free(nft);
	free(text);
	return ms;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 9;
	char db[] = "/tmp/fdt-bench-XXXXXX";
	struct fd_cidr *c = calloc(N_PREFIXES, sizeof(*c));
	double *apply = calloc((size_t)runs, sizeof(double)), *revert = calloc((size_t)runs, sizeof(double));
	double *text = calloc((size_t)runs, sizeof(double));
	double *raw_a = calloc((size_t)runs, sizeof(double)), *raw_r = calloc((size_t)runs, sizeof(double));
	double base[3], with[3];
	struct scenario s = { 0 };
	struct scenario_fault f = { 0 };
	struct store *st = NULL;
	struct fd_error e = { 0 };
	struct injector *inj = NULL;
	struct injector_opts o = { 0 };
	pid_t sink;
	int home;

	if (geteuid() != 0) {
		fprintf(stderr, "bench_blackhole: needs root (network namespaces)\n");
		return 77;
	}
	if (runs < 1)
		runs = 1;
	make_prefixes(c);
	sh("ip netns del " NS_A " 2>/dev/null; ip netns del " NS_B " 2>/dev/null; true");
	sh("ip netns add " NS_A " && ip netns add " NS_B);
	sh("ip -n " NS_A " link add va type veth peer name vb netns " NS_B);
	sh("ip -n " NS_A " addr add 10.250.2.1/24 dev va && ip -n " NS_A " link set va up && ip -n " NS_A " link set lo up");
	sh("ip -n " NS_B " addr add 10.250.2.2/24 dev vb && ip -n " NS_B " link set vb up && ip -n " NS_B " link set lo up");
	sink = sink_in_b();
	home = fd_netns_current();
	if (fd_netns_enter(NS_A, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 3;
	}
	close(mkstemp(db));
	if (store_open(db, &st, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 3;
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
		return 3;
	}
	printf("fault: %s\n", injector_fault_summary(inj, 0));
	for (int r = 0; r < runs; r++) {
		int64_t t0 = fd_mono_ns();

		if (injector_apply(inj, &e) < 0) {
			fprintf(stderr, "apply: %s\n", e.msg);
			return 3;
		}
		apply[r] = (double)(fd_mono_ns() - t0) / 1e6;
		if (r < 3)
			with[r] = throughput();
		t0 = fd_mono_ns();
		if (injector_revert(inj, &e) < 0) {
			fprintf(stderr, "revert: %s\n", e.msg);
			return 3;
		}
		revert[r] = (double)(fd_mono_ns() - t0) / 1e6;
		if (r < 3)
			base[r] = throughput();
		text[r] = libnftables_text_ms(c);
		raw_batch_ms(c, &raw_a[r], &raw_r[r]);
	}
	printf("runs: %d, prefixes: %d (one interval set, element timeouts, owner table)\n", runs,
	       N_PREFIXES);
	printf("apply  (journal + one libnftnl batch + guardian): median %.2f ms\n", median(apply, runs));
	printf("revert (delete table + journal + guardian stand-down): median %.2f ms\n",
	       median(revert, runs));
	printf("nft alone: one libnftnl batch median %.2f ms, delete table median %.2f ms\n",
	       median(raw_a, runs), median(raw_r, runs));
	printf("same set as libnftables text (for comparison): median %.2f ms\n", median(text, runs));
	printf("untargeted TCP throughput, fault active / no fault: %.1f%% (%.0f vs %.0f MB/s, medians of 3)\n",
	       100.0 * median(with, 3) / median(base, 3), median(with, 3) / 1e6, median(base, 3) / 1e6);
	injector_free(inj);
	store_close(st);
	unlink(db);
	fd_netns_restore(home, NULL);
	kill(sink, SIGKILL);
	waitpid(sink, NULL, 0);
	sh("ip netns del " NS_A "; ip netns del " NS_B);
	free(c);
	free(apply);
	free(revert);
	free(text);
	free(raw_a);
	free(raw_r);
	return 0;
}

/*
 * Network drivers against the real kernel, in two namespaces this test
 * creates (fdt-inj-a, fdt-inj-b joined by a veth pair, 10.250.1.0/24 and
 * fd00:250:1::/64, B answering on ::2 and ::3) and always removes. The test process enters fdt-inj-a and injects there;
 * a listener runs in fdt-inj-b. Every test checks that the namespace's nft
 * ruleset, routes, links and qdiscs are the same after revert as before.
 * Exits 77 (skip) when not root.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "fd_netns.h"
#include "fd_time.h"
#include "fdtest.h"
#include "injector.h"
#include "store.h"

#define NS_A "fdt-inj-a"
#define NS_B "fdt-inj-b"
#define PEER "10.250.1.2"
#define PEER6 "fd00:250:1::2"
#define PEER6_OTHER "fd00:250:1::3"

static char db_path[] = "/tmp/fdt-inj-XXXXXX";
static pid_t listener = -1;
static pid_t victim = -1; /* the stop fault's process, killed at teardown whatever happened */
static int home_ns = -1;

/* The namespace's state as the tools print it: nft, routes, links, qdiscs,
 * and the sysctl a link-down fault changes for its duration. */
static char *snapshot(void)
{
	FILE *p = popen("ip netns exec " NS_A " sh -c 'nft list ruleset; ip route; ip -6 route;"
			" ip -o link | sed \"s/ qlen.*//\"; tc qdisc;"
			" echo keep_addr_on_down $(cat /proc/sys/net/ipv6/conf/va/keep_addr_on_down)' 2>&1", "r");
	char *buf = calloc(1, 65536);
	size_t n = 0;

	assert_non_null(p);
	while (n < 65535 && fgets(buf + n, (int)(65536 - n), p))
		n = strlen(buf);
	pclose(p);
	return buf;
}

static void listen_in_b(void)
{
	listener = fork();
	if (listener == 0) {
		struct fd_error e;
		int fds[3], one = 1;
		uint16_t ports[2] = { 80, 443 };
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(80) };

		if (fd_netns_enter(NS_B, &e) < 0)
			_exit(1);
		fds[2] = socket(AF_INET6, SOCK_STREAM, 0);
		setsockopt(fds[2], IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fds[2], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fds[2], (struct sockaddr *)&a6, sizeof(a6)) < 0 || listen(fds[2], 64) < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ports[i]) };

			fds[i] = socket(AF_INET, SOCK_STREAM, 0);
			setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fds[i], 64) < 0)
				_exit(1);
		}
		for (;;) {
			struct pollfd p[3] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 },
					       { fds[2], POLLIN, 0 } };

			poll(p, 3, -1);
			for (int i = 0; i < 3; i++)
				if (p[i].revents & POLLIN)
					close(accept(fds[i], NULL, NULL));
		}
	}
	usleep(200000);
}

/* 0 connected, else -errno (ETIMEDOUT after timeout_ms). From namespace A;
 * addr is IPv4 or IPv6. */
static int try_connect(const char *addr, uint16_t port, int timeout_ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	bool v6 = strchr(addr, ':') != NULL;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), rc, soerr = 0;
	socklen_t len = sizeof(soerr);
	struct pollfd p;

	if (v6)
		assert_int_equal(inet_pton(AF_INET6, addr, &a6.sin6_addr), 1);
	else
		assert_int_equal(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	rc = v6 ? connect(fd, (struct sockaddr *)&a6, sizeof(a6)) :
		  connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (rc < 0 && errno != EINPROGRESS) {
		rc = -errno;
		close(fd);
		return rc;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (rc < 0 && poll(&p, 1, timeout_ms) == 0) {
		close(fd);
		return -ETIMEDOUT;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	close(fd);
	return -soerr;
}

static int setup_all(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	fdt_setup("ip netns del " NS_A " 2>/dev/null; ip netns del " NS_B " 2>/dev/null; true");
	fdt_setup("ip netns add " NS_A " && ip netns add " NS_B);
	fdt_setup("ip -n " NS_A " link add va type veth peer name vb netns " NS_B);
	fdt_setup("ip -n " NS_A " addr add 10.250.1.1/24 dev va && ip -n " NS_A " link set va up && ip -n " NS_A " link set lo up");
	fdt_setup("ip -n " NS_B " addr add 10.250.1.2/24 dev vb && ip -n " NS_B " link set vb up && ip -n " NS_B " link set lo up");
	/* nodad: usable at once, no duplicate address detection delay */
	fdt_setup("ip -n " NS_A " addr add fd00:250:1::1/64 dev va nodad");
	fdt_setup("ip -n " NS_B " addr add " PEER6 "/64 dev vb nodad && ip -n " NS_B " addr add " PEER6_OTHER "/64 dev vb nodad");
	listen_in_b();
	home_ns = fd_netns_current();
	{
		struct fd_error e;

		if (fd_netns_enter(NS_A, &e) < 0)
			return -1;
	}
	close(mkstemp(db_path));
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	if (listener > 0) {
		kill(listener, SIGKILL);
		waitpid(listener, NULL, 0);
	}
	if (victim > 0) {
		kill(victim, SIGKILL);
		waitpid(victim, NULL, 0);
	}
	if (home_ns >= 0)
		fd_netns_restore(home_ns, NULL);
	fdt_setup("ip netns del " NS_A " 2>/dev/null; ip netns del " NS_B " 2>/dev/null; true");
	unlink(db_path);
	return 0;
}

/* ---- a tiny scenario built in C ---- */

#define FIX_MAX 6

struct fixture {
	struct scenario s;
	struct scenario_fault f[FIX_MAX];
	struct fd_cidr cidrs[FIX_MAX][2];
	uint16_t ports[FIX_MAX][2];
	char *hosts[FIX_MAX][1];
	char ids[FIX_MAX][16];
};

static struct scenario_fault *add_fault(struct fixture *x, enum fault_kind k, int64_t dur_ns)
{
	size_t i = x->s.n_faults++;
	struct scenario_fault *f = &x->f[i];

	x->s.faults = x->f;
	x->s.path = (char *)"test.yaml";
	x->s.netns = (char *)NS_A;
	snprintf(x->ids[i], sizeof(x->ids[i]), "f%zu", i);
	f->id = x->ids[i];
	f->kind = k;
	f->duration_ns = dur_ns;
	return f;
}

static void target(struct fixture *x, struct scenario_fault *f, const char *cidr, uint16_t port)
{
	size_t i = (size_t)(f - x->f);

	assert_int_equal(fd_cidr_parse(cidr, &x->cidrs[i][f->targets.n_cidrs]), 0);
	f->targets.cidrs = x->cidrs[i];
	f->targets.n_cidrs++;
	if (port) {
		x->ports[i][f->targets.n_ports++] = port;
		f->targets.ports = x->ports[i];
		f->targets.protocol = PROTOCOL_TCP;
	}
}

/* A host name, resolved at inject time. */
static void target_host(struct fixture *x, struct scenario_fault *f, const char *name)
{
	size_t i = (size_t)(f - x->f);

	x->hosts[i][0] = (char *)name;
	f->targets.hosts = x->hosts[i];
	f->targets.n_hosts = 1;
}

static struct injector *inject(struct fixture *x, struct store *st, bool guardian)
{
	struct injector_opts o = { .store = st, .db_path = db_path, .no_guardian = !guardian };
	struct fd_error e = { 0 };
	struct injector *inj = NULL;
	int rc = injector_new(&x->s, &o, &inj, &e);

	if (rc == 0)
		rc = injector_prepare(inj, &e);
	if (rc == 0)
		rc = injector_apply(inj, &e);
	if (rc < 0)
		fail_msg("inject: %s", e.msg);
	return inj;
}

static void revert(struct injector *inj)
{
	struct fd_error e = { 0 };

	if (injector_revert(inj, &e) < 0)
		fail_msg("revert: %s", e.msg);
	injector_free(inj);
}

static struct store *open_store(void)
{
	struct store *st = NULL;
	struct fd_error e = { 0 };

	if (store_open(db_path, &st, &e) < 0)
		fail_msg("store: %s", e.msg);
	return st;
}

static size_t active_rows(struct store *st)
{
	struct store_fault *rows = NULL;
	size_t n = 0;
	struct fd_error e;

	assert_int_equal(store_journal_list_active(st, &rows, &n, &e), 0);
	store_faults_free(rows, n);
	return n;
}

#define SKIP_UNLESS_ROOT() \
	do { \
		if (geteuid() != 0) { \
			fprintf(stderr, "skipped: needs root\n"); \
			skip(); \
		} \
	} while (0)

static void test_drop_port_exactly(void **state)
{
	struct fixture x = { 0 };
	struct store *st;
	struct injector *inj;
	char *before, *after;
	const struct injector_flow *flows;
	size_t nf;

	(void)state;
	SKIP_UNLESS_ROOT();
	st = open_store();
	before = snapshot();
	assert_int_equal(try_connect(PEER, 443, 1000), 0);
	target(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), PEER, 443);
	inj = inject(&x, st, true);
	assert_int_equal(try_connect(PEER, 443, 300), -ETIMEDOUT);
	assert_int_equal(try_connect(PEER, 80, 1000), 0); /* untargeted port untouched */
	usleep(100000);
	injector_read_flows(inj);
	nf = injector_blackholed_flows(inj, &flows);
	assert_true(nf >= 1);
	assert_int_equal(flows[0].dport, 443);
	assert_string_equal(flows[0].fault_id, "f0");
	revert(inj);
	assert_int_equal(try_connect(PEER, 443, 1000), 0);
	after = snapshot();
	assert_string_equal(before, after);
	assert_int_equal(active_rows(st), 0);
	free(before);
	free(after);
	store_close(st);
}

/* IPv6: a /128 target dropped, another address of the same peer untouched. */
static void test_drop_ipv6_exactly(void **state)
{
	struct fixture x = { 0 };
	struct store *st;
	struct injector *inj;
	char *before, *after;

	(void)state;
	SKIP_UNLESS_ROOT();
	st = open_store();
	before = snapshot();
	assert_int_equal(try_connect(PEER6, 80, 1000), 0);
	target(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), PEER6 "/128", 0);
	inj = inject(&x, st, true);
	assert_non_null(strstr(injector_fault_summary(inj, 0), "[0 v4, 1 v6]"));
	assert_int_equal(try_connect(PEER6, 80, 300), -ETIMEDOUT);
	assert_int_equal(try_connect(PEER6_OTHER, 80, 1000), 0);
	assert_int_equal(try_connect(PEER, 80, 1000), 0); /* IPv4 of the same peer too */
	revert(inj);
	assert_int_equal(try_connect(PEER6, 80, 1000), 0);
	after = snapshot();
	assert_string_equal(before, after);
	assert_int_equal(active_rows(st), 0);
	free(before);
	free(after);
	store_close(st);
}

/* A listening socket of namespace A on addr:port (loopback). */
static int listen_local(int family, const char *addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int fd = socket(family, SOCK_STREAM, 0), one = 1, rc;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		inet_pton(AF_INET6, addr, &a6.sin6_addr);
		rc = bind(fd, (struct sockaddr *)&a6, sizeof(a6));
	} else {
		inet_pton(AF_INET, addr, &a.sin_addr);
		rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	}
	assert_int_equal(rc, 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

/*
 * A host name resolved at inject time, and its addresses in the journal.
 * "localhost" resolves from /etc/hosts alone (no DNS, nothing leaves the
 * machine) to 127.0.0.1 and ::1, which inside this test's namespace are
 * the namespace's own loopback: dropped there, the peer untouched.
 */
static void test_drop_host_name(void **state)
{
	struct fixture x = { 0 };
	struct store_fault *rows = NULL;
	struct fd_error e = { 0 };
	struct store *st;
	struct injector *inj;
	char *before, *after;
	size_t n = 0;
	int l4, l6;

	(void)state;
	SKIP_UNLESS_ROOT();
	st = open_store();
	l4 = listen_local(AF_INET, "127.0.0.1", 8080);
	l6 = listen_local(AF_INET6, "::1", 8080);
	before = snapshot();
	assert_int_equal(try_connect("127.0.0.1", 8080, 1000), 0);
	target_host(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), "localhost");
	inj = inject(&x, st, true);
	assert_int_equal(try_connect("127.0.0.1", 8080, 300), -ETIMEDOUT);
	if (strstr(injector_fault_summary(inj, 0), "1 v6]"))
		assert_int_equal(try_connect("::1", 8080, 300), -ETIMEDOUT);
	else
		fprintf(stderr, "skipped: ::1 dropped: localhost resolved to no IPv6 address here\n");
	assert_int_equal(try_connect(PEER, 80, 1000), 0);
	assert_int_equal(store_journal_list_active(st, &rows, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(rows[0].spec, "\"hosts\":{\"localhost\":["));
	assert_non_null(strstr(rows[0].spec, "\"127.0.0.1/32\""));
	store_faults_free(rows, n);
	revert(inj);
	assert_int_equal(try_connect("127.0.0.1", 8080, 1000), 0);
	after = snapshot();
	assert_string_equal(before, after);
	assert_int_equal(active_rows(st), 0);
	close(l4);
	close(l6);
	free(before);
	free(after);
	store_close(st);
}

static void test_reject_resets(void **state)
{
	struct fixture x = { 0 };
	struct store *st;
	struct injector *inj;
	char *before, *after;
	struct scenario_fault *f;

	(void)state;
	SKIP_UNLESS_ROOT();
	st = open_store();
	before = snapshot();
	f = add_fault(&x, FAULT_REJECT, 60 * FD_NS_PER_S);
	target(&x, f, "10.250.1.0/30", 443);
	inj = inject(&x, st, false);
	assert_int_equal(try_connect(PEER, 443, 1000), -ECONNREFUSED);
	assert_int_equal(try_connect(PEER, 80, 1000), 0);
	revert(inj);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	store_close(st);
}

static void test_blackhole_route_and_link_down(void **state)
{
	struct fixture x = { 0 };
	struct store *st;
	struct injector *inj;
	char *before, *after;
	struct scenario_fault *f;

	(void)state;
	SKIP_UNLESS_ROOT();
	st = open_store();
	before = snapshot();
	target(&x, add_fault(&x, FAULT_BLACKHOLE_ROUTE, 60 * FD_NS_PER_S), PEER, 0);
	inj = inject(&x, st, false);
	assert_int_not_equal(try_connect(PEER, 80, 300), 0);
	revert(inj);
	assert_int_equal(try_connect(PEER, 80, 1000), 0);

	memset(&x, 0, sizeof(x));
	f = add_fault(&x, FAULT_LINK_DOWN, 60 * FD_NS_PER_S);
	f->link = (char *)"va";
	inj = inject(&x, st, false);
	assert_int_not_equal(try_connect(PEER, 80, 300), 0);
	revert(inj);
	assert_int_equal(try_connect(PEER, 80, 2000), 0);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	store_close(st);
}

static void test_rate_tbf_and_netem_detection(void **state)
{
	struct fixture x = { 0 };
	struct injector_opts o = { 0 };
	struct fd_error e = { 0 };
	struct injector *inj = NULL;
	struct store *st;
	char *before, *during, *after;
	struct scenario_fault *f;
	int rc;

	(void)state;
	SKIP_UNLESS_ROOT();
	st = open_store();
	before = snapshot();
	f = add_fault(&x, FAULT_RATE, 60 * FD_NS_PER_S);
	f->link = (char *)"va";
	f->rate_bps = 8000000;
	inj = inject(&x, st, false);
	during = snapshot();
	assert_non_null(strstr(during, "qdisc tbf fd00: dev va root"));
	revert(inj);
	after = snapshot();
	assert_string_equal(before, after);

	/* delay: where sch_netem is missing, a clear environment error at
	 * prepare, before anything is journaled or applied. */
	memset(&x, 0, sizeof(x));
	f = add_fault(&x, FAULT_DELAY, 60 * FD_NS_PER_S);
	f->link = (char *)"va";
	f->delay_ns = 100 * FD_NS_PER_MS;
	o.store = st;
	o.no_guardian = true;
	assert_int_equal(injector_new(&x.s, &o, &inj, &e), 0);
	rc = injector_prepare(inj, &e);
	if (rc < 0) {
		assert_int_equal(e.kind, FD_ERR_ENV);
		assert_non_null(strstr(e.msg, "kernel lacks sch_netem"));
		injector_free(inj);
	} else {
		assert_int_equal(injector_apply(inj, &e), 0);
		revert(inj);
	}
	free(after);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(during);
	free(after);
	store_close(st);
}

/* The holder dies with SIGKILL right after inject, no revert: the owner
 * table vanishes at once, the guardian undoes route and link within 1 s. */
static void test_sigkill_holder(void **state)
{
	int ready[2];
	char *before, *after, c;
	pid_t holder;
	int64_t t0;
	bool reverted = false;
	struct store *st;

	(void)state;
	SKIP_UNLESS_ROOT();
	before = snapshot();
	assert_int_equal(pipe(ready), 0);
	holder = fork();
	if (holder == 0) {
		struct fixture x = { 0 };
		struct store *hst = open_store();
		struct scenario_fault *f;

		target(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), PEER, 443);
		target(&x, add_fault(&x, FAULT_BLACKHOLE_ROUTE, 60 * FD_NS_PER_S), "10.250.9.0/24", 0);
		f = add_fault(&x, FAULT_LINK_DOWN, 60 * FD_NS_PER_S);
		f->link = (char *)"va";
		inject(&x, hst, true);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	after = snapshot();
	assert_non_null(strstr(after, "table inet firedrill"));
	assert_non_null(strstr(after, "blackhole 10.250.9.0/24"));
	free(after);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	t0 = fd_mono_ns();
	after = snapshot();
	assert_null(strstr(after, "table inet firedrill"));
	free(after);
	st = open_store();
	while (fd_mono_ns() - t0 < 3 * FD_NS_PER_S && !reverted) {
		usleep(20000);
		reverted = active_rows(st) == 0;
	}
	assert_true(reverted);
	printf("# guardian reverted %.0f ms after SIGKILL\n", (double)(fd_mono_ns() - t0) / 1e6);
	usleep(300000); /* IPv6 link-local routes come back with the link */
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	store_close(st);
}

/* The holder's seam hook: at the second "route add" (the route fault half
 * applied, the qdisc fault not yet touched) tell the test and wait there
 * for the SIGKILL. */
static void pause_at_second_route(const char *what, void *arg)
{
	static int routes;
	int fd = *(int *)arg;

	if (strcmp(what, "route add") != 0 || ++routes != 2)
		return;
	if (write(fd, "k", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* A victim for the stop fault: `sleep 300` named fdt-inj-victim, in its
 * own session (not the holder's tree), in this namespace. */
static pid_t spawn_victim(void)
{
	pid_t pid = fork();
	char buf[64] = "";

	assert_true(pid >= 0);
	if (pid == 0) {
		setsid();
		execl("/bin/sleep", "fdt-inj-victim", "300", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400 && strcmp(buf, "fdt-inj-victim") != 0; i++) {
		char path[64];
		FILE *f;
		size_t n;

		usleep(5000);
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		f = fopen(path, "re");
		n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		buf[n] = '\0';
		if (f)
			fclose(f);
	}
	return pid;
}

static char state_of(pid_t pid)
{
	char path[64], buf[512], *p, st = '?';
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return st;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	p = strrchr(buf, ')');
	if (p && p[1] == ' ')
		st = p[2];
	return st;
}

/*
 * SIGKILL of the holder in the middle of apply: drop, stop and link-down
 * applied, the blackhole route fault half applied (one of its two routes
 * added, its row still PLANNED), the rate fault not touched. The guardian,
 * watching since the PLANNED rows were written, must undo all of it within
 * a second: process resumed, link up, the one route gone, no qdisc, every
 * row of the injection no longer active, the namespace as before.
 */
static void test_sigkill_mid_apply(void **state)
{
	int ready[2];
	char *before, *during, *after, c;
	pid_t holder;
	int64_t t0;
	bool reverted = false;
	struct store *st;

	(void)state;
	SKIP_UNLESS_ROOT();
	victim = spawn_victim();
	before = snapshot();
	assert_int_equal(pipe(ready), 0);
	holder = fork();
	if (holder == 0) {
		struct fixture x = { 0 };
		struct store *hst = open_store();
		struct scenario_fault *f;

		close(ready[0]);
		target(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), PEER, 443);
		f = add_fault(&x, FAULT_STOP, 60 * FD_NS_PER_S);
		f->process.match = (char *)"^fdt-inj-victim\\x00";
		f = add_fault(&x, FAULT_LINK_DOWN, 60 * FD_NS_PER_S);
		f->link = (char *)"va";
		f = add_fault(&x, FAULT_BLACKHOLE_ROUTE, 60 * FD_NS_PER_S);
		target(&x, f, "10.250.9.0/24", 0);
		target(&x, f, "10.250.12.0/24", 0);
		f = add_fault(&x, FAULT_RATE, 60 * FD_NS_PER_S);
		f->link = (char *)"va";
		f->rate_bps = 8000000;
		injector_seam_hook(pause_at_second_route, &ready[1]);
		inject(&x, hst, true);
		_exit(2); /* never reached: the hook waits for the SIGKILL */
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	during = snapshot();
	assert_non_null(strstr(during, "table inet firedrill"));
	assert_non_null(strstr(during, "blackhole 10.250.9.0/24"));
	assert_null(strstr(during, "10.250.12.0/24"));
	assert_null(strstr(during, "tbf"));
	assert_int_equal(state_of(victim), 'T');
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	t0 = fd_mono_ns();
	st = open_store();
	while (fd_mono_ns() - t0 < 3 * FD_NS_PER_S && !reverted) {
		usleep(20000);
		reverted = active_rows(st) == 0;
	}
	assert_true(reverted);
	printf("# guardian reverted a half-applied injection %.0f ms after SIGKILL\n",
	       (double)(fd_mono_ns() - t0) / 1e6);
	assert_int_not_equal(state_of(victim), 'T');
	usleep(300000); /* IPv6 link-local routes come back with the link */
	after = snapshot();
	assert_string_equal(before, after);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	victim = -1;
	free(before);
	free(during);
	free(after);
	store_close(st);
}

/* A holder that stays alive past the max duration still loses its set
 * elements to their nft timeouts. */
static void test_element_timeout(void **state)
{
	struct fixture x = { 0 };
	struct store *st;
	struct injector *inj;

	(void)state;
	SKIP_UNLESS_ROOT();
	st = open_store();
	target(&x, add_fault(&x, FAULT_DROP, 2 * FD_NS_PER_S), PEER, 80);
	inj = inject(&x, st, false);
	assert_int_equal(try_connect(PEER, 80, 300), -ETIMEDOUT);
	usleep(2500000);
	assert_int_equal(try_connect(PEER, 80, 1000), 0);
	revert(inj);
	store_close(st);
}

/* `firedrill revert` from another process: routes reverted directly, the
 * nft table by asking its holder (SIGTERM) to revert. */
static volatile sig_atomic_t got_term;
static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void test_revert_journal(void **state)
{
	int ready[2];
	char *before, *after, c;
	pid_t holder;
	int n = 0, status = 0, rc;
	struct fd_error e = { 0 };
	struct store *st;

	(void)state;
	SKIP_UNLESS_ROOT();
	before = snapshot();
	assert_int_equal(pipe(ready), 0);
	holder = fork();
	if (holder == 0) {
		struct fixture x = { 0 };
		struct store *hst = open_store();
		struct injector *inj;

		signal(SIGTERM, on_term);
		target(&x, add_fault(&x, FAULT_REJECT, 60 * FD_NS_PER_S), PEER, 443);
		target(&x, add_fault(&x, FAULT_UNREACHABLE_ROUTE, 60 * FD_NS_PER_S), "10.250.8.0/24", 0);
		inj = inject(&x, hst, true);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (!got_term)
			usleep(10000);
		rc = injector_revert(inj, &e);
		injector_free(inj);
		store_close(hst);
		_exit(rc < 0 ? 2 : 0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	st = open_store();
	assert_int_equal(injector_revert_journal(st, &n, &e), 0);
	assert_int_equal(n, 2);
	waitpid(holder, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(active_rows(st), 0);
	assert_int_equal(injector_revert_journal(st, &n, &e), 0); /* idempotent */
	assert_int_equal(n, 0);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	store_close(st);
}

/* A blackhole route added behind the injector's back, and its journal row
 * as a holder with that pid would have planned it at planned_ns. */
static void plant_leftover(struct store *st, const char *id, const char *cidr, pid_t holder,
			   int64_t planned_ns)
{
	struct store_fault f = { 0 };
	struct fd_error e = { 0 };
	char spec[256];

	fdt_setup("ip -n " NS_A " route add blackhole %s proto 253", cidr);
	snprintf(spec, sizeof(spec),
		 "{\"type\":\"blackhole\",\"table\":254,\"protocol\":253,\"routes\":[\"%s\"]}", cidr);
	snprintf(f.fault_id, sizeof(f.fault_id), "%s", id);
	snprintf(f.kind, sizeof(f.kind), "blackhole-route");
	snprintf(f.netns, sizeof(f.netns), "%s", NS_A);
	f.spec = spec;
	f.planned_real_ns = planned_ns;
	f.holder_pid = (int)holder;
	f.max_duration_ns = 60 * FD_NS_PER_S;
	if (store_journal_plan(st, &f, &e) < 0)
		fail_msg("plan: %s", e.msg);
}

static void count_orphan(const struct store_fault *row, const char *note, void *arg)
{
	(void)row;
	assert_non_null(strstr(note, "dead holder"));
	(*(int *)arg)++;
}

static pid_t sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * The start of a drill reverts what dead holders left (injector_revert_orphans):
 * rows of a holder whose pid is gone, and of one whose pid now belongs to a
 * process started after the row was planned (recycled), are reverted; the
 * row of a live holder is left alone (`firedrill revert` takes it).
 */
static void test_revert_orphans(void **state)
{
	struct fd_error e = { 0 };
	struct store *st;
	char *before, *during, *after;
	pid_t dead, recycled, live;
	int n = 0, seen = 0;

	(void)state;
	SKIP_UNLESS_ROOT();
	st = open_store();
	before = snapshot();
	dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	live = sleeper();
	recycled = sleeper();
	plant_leftover(st, "dead", "10.250.11.0/24", dead, fd_real_ns());
	plant_leftover(st, "recycled", "10.250.13.0/24", recycled, fd_real_ns() - 3600 * FD_NS_PER_S);
	plant_leftover(st, "live", "10.250.14.0/24", live, fd_real_ns());
	assert_int_equal(injector_revert_orphans(st, count_orphan, &seen, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(seen, 2);
	during = snapshot();
	assert_null(strstr(during, "10.250.11.0/24"));
	assert_null(strstr(during, "10.250.13.0/24"));
	assert_non_null(strstr(during, "blackhole 10.250.14.0/24"));
	assert_int_equal(active_rows(st), 1);
	assert_int_equal(injector_revert_orphans(st, NULL, NULL, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(injector_revert_journal(st, &n, &e), 0);
	assert_int_equal(n, 1);
	after = snapshot();
	assert_string_equal(before, after);
	kill(live, SIGKILL);
	kill(recycled, SIGKILL);
	waitpid(live, NULL, 0);
	waitpid(recycled, NULL, 0);
	free(before);
	free(during);
	free(after);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_port_exactly),
		cmocka_unit_test(test_drop_ipv6_exactly),
		cmocka_unit_test(test_drop_host_name),
		cmocka_unit_test(test_reject_resets),
		cmocka_unit_test(test_blackhole_route_and_link_down),
		cmocka_unit_test(test_rate_tbf_and_netem_detection),
		cmocka_unit_test(test_sigkill_holder),
		cmocka_unit_test(test_sigkill_mid_apply),
		cmocka_unit_test(test_element_timeout),
		cmocka_unit_test(test_revert_journal),
		cmocka_unit_test(test_revert_orphans),
	};

	if (getenv("FDT_FILTER"))
		cmocka_set_test_filter(getenv("FDT_FILTER"));
	if (geteuid() != 0) {
		printf("skipping: needs root for network namespaces\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}

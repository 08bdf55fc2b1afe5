/*
 * Network drivers against the real kernel, in two namespaces this test
 * creates (fdt-inj-a, fdt-inj-b joined by a veth pair, 10.250.1.0/24 and
 * fd00:250:1::/64, B answering on ::2 and ::3); fdtest removes them at
 * exit. The test process enters fdt-inj-a and injects there; a listener
 * runs in fdt-inj-b. Every test checks that the namespace's nft ruleset,
 * routes, links and qdiscs are the same after revert as before.
 *
 * Checks count failures and go on (fdtest); where later code relies on an
 * earlier result, FDT_REQUIRE jumps to the test's one cleanup path, which
 * reverts what it injected and stops the children it started. Exits 77
 * (skip) when not root. FDT_FILTER=GLOB runs only the tests whose names
 * match (e.g. 'sigkill_*').
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

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
#define SNAP_MAX 65536

static char dir[256]; /* holds the journal; removed at exit */
static char db_path[300];
static pid_t listener = -1;
static pid_t victim = -1; /* the stop fault's process, killed at teardown whatever happened */
static int home_ns = -1;
static char connected[128]; /* the last try_connect()'s outcome, for failure messages */

/* The namespace's state as the tools print it: nft, routes, links, qdiscs,
 * and the sysctl a link-down fault changes for its duration. */
static void snapshot(char out[SNAP_MAX])
{
	int rc = fdt_capture(out, SNAP_MAX,
			     "ip netns exec " NS_A " sh -c 'nft list ruleset; ip route; ip -6 route;"
			     " ip -o link | sed \"s/ qlen.*//\"; tc qdisc;"
			     " echo keep_addr_on_down $(cat /proc/sys/net/ipv6/conf/va/keep_addr_on_down)' 2>&1");

	FDT_CHECK(rc == 0, "snapshot of " NS_A ": exit %d", rc);
}

/* Line-set difference for a failure message: "-" lines only in a, "+" lines only in b. */
static bool has_line(const char *text, const char *line, size_t len)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		if (n == len && memcmp(p, line, len) == 0)
			return true;
		p += n + (p[n] != '\0');
	}
	return false;
}

static void diff_side(const char *a, const char *b, char sign, char *out, size_t len)
{
	for (const char *p = a; *p;) {
		size_t n = strcspn(p, "\n"), used = strlen(out);

		if (!has_line(b, p, n) && used < len)
			snprintf(out + used, len - used, "%c%.*s\n", sign, (int)n, p);
		p += n + (p[n] != '\0');
	}
}

static const char *state_diff(const char *before, const char *after)
{
	static char out[8192];

	out[0] = '\0';
	diff_side(before, after, '-', out, sizeof(out));
	diff_side(after, before, '+', out, sizeof(out));
	return out[0] ? out : "(the same lines, in another order or count)\n";
}

static int listen_in_b(void *arg)
{
	int fds[3], one = 1;
	uint16_t ports[2] = { 80, 443 };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(80) };

	(void)arg;
	fds[2] = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(fds[2], IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(fds[2], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fds[2], (struct sockaddr *)&a6, sizeof(a6)) < 0 || listen(fds[2], 64) < 0)
		return 1;
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ports[i]) };

		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fds[i], 64) < 0)
			return 1;
	}
	for (;;) {
		struct pollfd p[3] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 },
				       { fds[2], POLLIN, 0 } };

		poll(p, 3, -1);
		for (int i = 0; i < 3; i++)
			if (p[i].revents & POLLIN)
				close(accept(fds[i], NULL, NULL));
	}
	return 0;
}

static int connect_once(const char *addr, uint16_t port, int timeout_ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	bool v6 = strchr(addr, ':') != NULL;
	int ok = v6 ? inet_pton(AF_INET6, addr, &a6.sin6_addr) : inet_pton(AF_INET, addr, &a.sin_addr);
	int fd, rc, soerr = 0;
	socklen_t len = sizeof(soerr);
	struct pollfd p;

	FDT_CHECK(ok == 1, "not an address: %s", addr);
	if (ok != 1)
		return -EINVAL;
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
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

/* 0 connected, else -errno (ETIMEDOUT after timeout_ms). From namespace A;
 * addr is IPv4 or IPv6. The outcome is also left in `connected`. */
static int try_connect(const char *addr, uint16_t port, int timeout_ms)
{
	int rc = connect_once(addr, port, timeout_ms);

	snprintf(connected, sizeof(connected), "%s port %u: %s", addr, port,
		 rc ? strerror(-rc) : "connected");
	return rc;
}

static bool listener_up(void *arg)
{
	(void)arg;
	return try_connect(PEER, 80, 200) == 0 && try_connect(PEER, 443, 200) == 0 &&
	       try_connect(PEER6, 80, 200) == 0;
}

/* The namespaces, the listener in B, this process in A, the journal's
 * directory. False (the failure counted) when any of it is missing. */
static bool setup(void)
{
	struct fd_error e = { 0 };

	if (fdt_tmpdir(dir, sizeof(dir), "fdt-inj") < 0 || fdt_netns_add(NS_A, NULL) < 0 ||
	    fdt_netns_add(NS_B, NULL) < 0 ||
	    fdt_veth_add(NS_A, "va", "10.250.1.1/24", NS_B, "vb", PEER "/24") < 0) {
		FDT_CHECK(0, "cannot build " NS_A " and " NS_B);
		return false;
	}
	snprintf(db_path, sizeof(db_path), "%s/journal.db", dir);
	/* nodad: usable at once, no duplicate address detection delay */
	fdt_setup("ip -n " NS_A " addr add fd00:250:1::1/64 dev va nodad");
	fdt_setup("ip -n " NS_B " addr add " PEER6 "/64 dev vb nodad && ip -n " NS_B " addr add " PEER6_OTHER "/64 dev vb nodad");
	listener = fdt_netns_spawn(NS_B, listen_in_b, NULL);
	home_ns = fd_netns_current();
	if (fd_netns_enter(NS_A, &e) < 0) {
		FDT_CHECK(0, "enter " NS_A ": %s", e.msg);
		return false;
	}
	if (!fdt_wait_until(listener_up, NULL, 5000, 20)) {
		FDT_CHECK(0, "the listener in " NS_B " does not answer (%s)", connected);
		return false;
	}
	return true;
}

/* Children stopped, this process home; fdtest removes namespaces and the
 * journal's directory at exit. */
static void teardown(void)
{
	fdt_child_stop(listener);
	listener = -1;
	fdt_child_stop(victim);
	victim = -1;
	if (home_ns >= 0)
		fd_netns_restore(home_ns, NULL);
	home_ns = -1;
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
	bool bad; /* a target did not parse: inject() refuses */
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
	int rc = fd_cidr_parse(cidr, &x->cidrs[i][f->targets.n_cidrs]);

	FDT_CHECK(rc == 0, "target %s: %s", cidr, strerror(-rc));
	if (rc != 0) {
		x->bad = true;
		return;
	}
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

/* new + prepare + apply; NULL (the failure counted) when any failed, and
 * then nothing is left applied: apply rolls back what it did. */
static struct injector *inject(struct fixture *x, struct store *st, bool guardian)
{
	struct injector_opts o = { .store = st, .db_path = db_path, .no_guardian = !guardian };
	struct fd_error e = { 0 };
	struct injector *inj = NULL;
	int rc;

	if (x->bad)
		return NULL; /* counted by target() */
	rc = injector_new(&x->s, &o, &inj, &e);
	if (rc == 0)
		rc = injector_prepare(inj, &e);
	if (rc == 0)
		rc = injector_apply(inj, &e);
	FDT_CHECK(rc == 0, "inject: %s", e.msg);
	if (rc < 0) {
		injector_free(inj);
		return NULL;
	}
	return inj;
}

/* Reverts and frees *inj; nothing when NULL, so a cleanup path may call it
 * whether or not the test got as far as its own revert. */
static void revert(struct injector **inj)
{
	struct fd_error e = { 0 };
	int rc;

	if (!*inj)
		return;
	rc = injector_revert(*inj, &e);
	FDT_CHECK(rc == 0, "revert: %s", e.msg);
	injector_free(*inj);
	*inj = NULL;
}

static struct store *open_store(void)
{
	struct store *st = NULL;
	struct fd_error e = { 0 };
	int rc = store_open(db_path, &st, &e);

	FDT_CHECK(rc == 0, "store %s: %s", db_path, e.msg);
	return rc == 0 ? st : NULL;
}

/* Active journal rows; SIZE_MAX (the failure counted) when they cannot be read. */
static size_t active_rows(struct store *st)
{
	struct store_fault *rows = NULL;
	size_t n = 0;
	struct fd_error e = { 0 };
	int rc = store_journal_list_active(st, &rows, &n, &e);

	FDT_CHECK(rc == 0, "journal: %s", e.msg);
	store_faults_free(rows, n);
	return rc == 0 ? n : SIZE_MAX;
}

/* Waits (3 s at most) for the guardian to leave no active row. */
static bool guardian_reverted(struct store *st, int64_t t0)
{
	size_t n = SIZE_MAX;

	while (fd_mono_ns() - t0 < 3 * FD_NS_PER_S) {
		usleep(20000);
		n = active_rows(st);
		if (n == 0 || n == SIZE_MAX)
			break;
	}
	return n == 0;
}

static void test_drop_port_exactly(void)
{
	struct fixture x = { 0 };
	struct store *st = open_store();
	struct injector *inj = NULL;
	char before[SNAP_MAX], after[SNAP_MAX];
	const struct injector_flow *flows;
	size_t nf;

	if (!st)
		return;
	snapshot(before);
	FDT_CHECK(try_connect(PEER, 443, 1000) == 0, "before the fault: %s", connected);
	target(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), PEER, 443);
	inj = inject(&x, st, true);
	if (!inj)
		goto out;
	FDT_CHECK(try_connect(PEER, 443, 300) == -ETIMEDOUT, "not dropped: %s", connected);
	FDT_CHECK(try_connect(PEER, 80, 1000) == 0, "untargeted port touched: %s", connected);
	usleep(100000);
	injector_read_flows(inj);
	nf = injector_blackholed_flows(inj, &flows);
	FDT_CHECK(nf >= 1, "no dropped flow logged");
	if (nf >= 1) {
		FDT_CHECK(flows[0].dport == 443, "flow logged to port %u", flows[0].dport);
		FDT_CHECK(strcmp(flows[0].fault_id, "f0") == 0, "flow logged for fault %s",
			  flows[0].fault_id);
	}
	revert(&inj);
	FDT_CHECK(try_connect(PEER, 443, 1000) == 0, "after revert: %s", connected);
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));
	FDT_CHECK(active_rows(st) == 0, "journal rows still active after revert");
out:
	revert(&inj);
	store_close(st);
}

/* IPv6: a /128 target dropped, another address of the same peer untouched. */
static void test_drop_ipv6_exactly(void)
{
	struct fixture x = { 0 };
	struct store *st = open_store();
	struct injector *inj = NULL;
	char before[SNAP_MAX], after[SNAP_MAX];

	if (!st)
		return;
	snapshot(before);
	FDT_CHECK(try_connect(PEER6, 80, 1000) == 0, "before the fault: %s", connected);
	target(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), PEER6 "/128", 0);
	inj = inject(&x, st, true);
	if (!inj)
		goto out;
	FDT_CHECK(strstr(injector_fault_summary(inj, 0), "[0 v4, 1 v6]"), "summary: %s",
		  injector_fault_summary(inj, 0));
	FDT_CHECK(try_connect(PEER6, 80, 300) == -ETIMEDOUT, "not dropped: %s", connected);
	FDT_CHECK(try_connect(PEER6_OTHER, 80, 1000) == 0, "other address touched: %s", connected);
	FDT_CHECK(try_connect(PEER, 80, 1000) == 0, "the peer's IPv4 touched: %s", connected);
	revert(&inj);
	FDT_CHECK(try_connect(PEER6, 80, 1000) == 0, "after revert: %s", connected);
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));
	FDT_CHECK(active_rows(st) == 0, "journal rows still active after revert");
out:
	revert(&inj);
	store_close(st);
}

/* A listening socket of namespace A on addr:port (loopback); -1 (the
 * failure counted) when there is none. */
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
	FDT_CHECK(rc == 0, "bind %s port %u: %s", addr, port, strerror(errno));
	if (rc == 0) {
		rc = listen(fd, 16);
		FDT_CHECK(rc == 0, "listen %s port %u: %s", addr, port, strerror(errno));
	}
	if (rc != 0 && fd >= 0) {
		close(fd);
		fd = -1;
	}
	return rc == 0 ? fd : -1;
}

/*
 * A host name resolved at inject time, and its addresses in the journal.
 * "localhost" resolves from /etc/hosts alone (no DNS, nothing leaves the
 * machine) to 127.0.0.1 and ::1, which inside this test's namespace are
 * the namespace's own loopback: dropped there, the peer untouched.
 */
static void test_drop_host_name(void)
{
	struct fixture x = { 0 };
	struct store_fault *rows = NULL;
	struct fd_error e = { 0 };
	struct store *st = open_store();
	struct injector *inj = NULL;
	char before[SNAP_MAX], after[SNAP_MAX];
	size_t n = 0;
	int l4 = -1, l6 = -1, rc;

	if (!st)
		return;
	l4 = listen_local(AF_INET, "127.0.0.1", 8080);
	l6 = listen_local(AF_INET6, "::1", 8080);
	if (l4 < 0 || l6 < 0)
		goto out;
	snapshot(before);
	FDT_CHECK(try_connect("127.0.0.1", 8080, 1000) == 0, "before the fault: %s", connected);
	target_host(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), "localhost");
	inj = inject(&x, st, true);
	if (!inj)
		goto out;
	FDT_CHECK(try_connect("127.0.0.1", 8080, 300) == -ETIMEDOUT, "not dropped: %s", connected);
	if (strstr(injector_fault_summary(inj, 0), "1 v6]"))
		FDT_CHECK(try_connect("::1", 8080, 300) == -ETIMEDOUT, "not dropped: %s", connected);
	else
		fprintf(stderr, "skipped: ::1 dropped: localhost resolved to no IPv6 address here\n");
	FDT_CHECK(try_connect(PEER, 80, 1000) == 0, "the peer touched: %s", connected);
	rc = store_journal_list_active(st, &rows, &n, &e);
	FDT_CHECK(rc == 0, "journal: %s", e.msg);
	FDT_CHECK(n == 1, "%zu active rows, want 1", n);
	if (n >= 1) {
		FDT_CHECK(strstr(rows[0].spec, "\"hosts\":{\"localhost\":["), "spec: %s", rows[0].spec);
		FDT_CHECK(strstr(rows[0].spec, "\"127.0.0.1/32\""), "spec: %s", rows[0].spec);
	}
	store_faults_free(rows, n);
	revert(&inj);
	FDT_CHECK(try_connect("127.0.0.1", 8080, 1000) == 0, "after revert: %s", connected);
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));
	FDT_CHECK(active_rows(st) == 0, "journal rows still active after revert");
out:
	revert(&inj);
	if (l4 >= 0)
		close(l4);
	if (l6 >= 0)
		close(l6);
	store_close(st);
}

static void test_reject_resets(void)
{
	struct fixture x = { 0 };
	struct store *st = open_store();
	struct injector *inj = NULL;
	char before[SNAP_MAX], after[SNAP_MAX];

	if (!st)
		return;
	snapshot(before);
	target(&x, add_fault(&x, FAULT_REJECT, 60 * FD_NS_PER_S), "10.250.1.0/30", 443);
	inj = inject(&x, st, false);
	if (!inj)
		goto out;
	FDT_CHECK(try_connect(PEER, 443, 1000) == -ECONNREFUSED, "not reset: %s", connected);
	FDT_CHECK(try_connect(PEER, 80, 1000) == 0, "untargeted port touched: %s", connected);
	revert(&inj);
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));
out:
	revert(&inj);
	store_close(st);
}

static void test_blackhole_route_and_link_down(void)
{
	struct fixture x = { 0 };
	struct store *st = open_store();
	struct injector *inj = NULL;
	char before[SNAP_MAX], after[SNAP_MAX];
	struct scenario_fault *f;

	if (!st)
		return;
	snapshot(before);
	target(&x, add_fault(&x, FAULT_BLACKHOLE_ROUTE, 60 * FD_NS_PER_S), PEER, 0);
	inj = inject(&x, st, false);
	if (!inj)
		goto out;
	FDT_CHECK(try_connect(PEER, 80, 300) != 0, "blackhole route: %s", connected);
	revert(&inj);
	FDT_CHECK(try_connect(PEER, 80, 1000) == 0, "after the route's revert: %s", connected);

	memset(&x, 0, sizeof(x));
	f = add_fault(&x, FAULT_LINK_DOWN, 60 * FD_NS_PER_S);
	f->link = (char *)"va";
	inj = inject(&x, st, false);
	if (!inj)
		goto out;
	FDT_CHECK(try_connect(PEER, 80, 300) != 0, "link down: %s", connected);
	revert(&inj);
	FDT_CHECK(try_connect(PEER, 80, 2000) == 0, "after the link's revert: %s", connected);
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));
out:
	revert(&inj);
	store_close(st);
}

static void test_rate_tbf_and_netem_detection(void)
{
	struct fixture x = { 0 };
	struct injector_opts o = { 0 };
	struct fd_error e = { 0 };
	struct injector *inj = NULL;
	struct store *st = open_store();
	char before[SNAP_MAX], during[SNAP_MAX], after[SNAP_MAX];
	struct scenario_fault *f;
	int rc;

	if (!st)
		return;
	snapshot(before);
	f = add_fault(&x, FAULT_RATE, 60 * FD_NS_PER_S);
	f->link = (char *)"va";
	f->rate_bps = 8000000;
	inj = inject(&x, st, false);
	if (!inj)
		goto out;
	snapshot(during);
	FDT_CHECK(strstr(during, "qdisc tbf fd00: dev va root"), "no tbf qdisc on va");
	revert(&inj);
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));

	/* delay: where sch_netem is missing, a clear environment error at
	 * prepare, before anything is journaled or applied. */
	memset(&x, 0, sizeof(x));
	f = add_fault(&x, FAULT_DELAY, 60 * FD_NS_PER_S);
	f->link = (char *)"va";
	f->delay_ns = 100 * FD_NS_PER_MS;
	o.store = st;
	o.no_guardian = true;
	rc = injector_new(&x.s, &o, &inj, &e);
	FDT_REQUIRE(rc == 0, out, "injector_new: %s", e.msg);
	rc = injector_prepare(inj, &e);
	if (rc < 0) {
		fprintf(stderr, "skipped: delay applied: %s (prepare's error checked instead)\n", e.msg);
		FDT_CHECK(e.kind == FD_ERR_ENV, "prepare's error is not an environment error: %s", e.msg);
		FDT_CHECK(strstr(e.msg, "kernel lacks sch_netem"), "prepare: %s", e.msg);
		injector_free(inj);
		inj = NULL;
	} else {
		rc = injector_apply(inj, &e);
		FDT_CHECK(rc == 0, "apply: %s", e.msg);
		revert(&inj);
	}
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));
out:
	revert(&inj);
	store_close(st);
}

/* The holder dies with SIGKILL right after inject, no revert: the owner
 * table vanishes at once, the guardian undoes route and link within 1 s. */
static void test_sigkill_holder(void)
{
	int ready[2] = { -1, -1 };
	char before[SNAP_MAX], after[SNAP_MAX], c;
	pid_t holder = -1;
	int64_t t0;
	struct store *st = NULL;

	snapshot(before);
	FDT_REQUIRE(pipe(ready) == 0, out, "pipe: %s", strerror(errno));
	fflush(NULL);
	holder = fork();
	if (holder == 0) {
		struct fixture x = { 0 };
		struct store *hst = open_store();
		struct scenario_fault *f;

		target(&x, add_fault(&x, FAULT_DROP, 60 * FD_NS_PER_S), PEER, 443);
		target(&x, add_fault(&x, FAULT_BLACKHOLE_ROUTE, 60 * FD_NS_PER_S), "10.250.9.0/24", 0);
		f = add_fault(&x, FAULT_LINK_DOWN, 60 * FD_NS_PER_S);
		f->link = (char *)"va";
		if (!hst || !inject(&x, hst, true) || write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ready[1] = -1;
	FDT_REQUIRE(read(ready[0], &c, 1) == 1, out, "the holder did not inject");
	snapshot(after);
	FDT_CHECK(strstr(after, "table inet firedrill"), "no nft table while held");
	FDT_CHECK(strstr(after, "blackhole 10.250.9.0/24"), "no blackhole route while held");
	fdt_child_stop(holder);
	holder = -1;
	t0 = fd_mono_ns();
	snapshot(after);
	FDT_CHECK(!strstr(after, "table inet firedrill"), "the owner table outlived its holder");
	st = open_store();
	if (!st)
		goto out;
	if (guardian_reverted(st, t0))
		fprintf(stderr, "# guardian reverted %.0f ms after SIGKILL\n",
			(double)(fd_mono_ns() - t0) / 1e6);
	else
		FDT_CHECK(0, "the guardian left active rows 3 s after the holder's SIGKILL");
	usleep(300000); /* IPv6 link-local routes come back with the link */
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after the guardian:\n%s",
		  state_diff(before, after));
out:
	fdt_child_stop(holder);
	for (int i = 0; i < 2; i++)
		if (ready[i] >= 0)
			close(ready[i]);
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
 * own session (not the holder's tree), in this namespace. -1 (the failure
 * counted) when it could not be forked. */
static pid_t spawn_victim(void)
{
	pid_t pid;
	char buf[64] = "";

	fflush(NULL);
	pid = fork();
	FDT_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid < 0)
		return -1;
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
static void test_sigkill_mid_apply(void)
{
	int ready[2] = { -1, -1 };
	char before[SNAP_MAX], during[SNAP_MAX], after[SNAP_MAX], c, vs;
	pid_t holder = -1;
	int64_t t0;
	struct store *st = NULL;

	victim = spawn_victim();
	if (victim < 0)
		return;
	snapshot(before);
	FDT_REQUIRE(pipe(ready) == 0, out, "pipe: %s", strerror(errno));
	fflush(NULL);
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
		if (!hst)
			_exit(1);
		injector_seam_hook(pause_at_second_route, &ready[1]);
		inject(&x, hst, true);
		_exit(2); /* never reached: the hook waits for the SIGKILL */
	}
	close(ready[1]);
	ready[1] = -1;
	FDT_REQUIRE(read(ready[0], &c, 1) == 1, out, "the holder never reached its second route");
	snapshot(during);
	FDT_CHECK(strstr(during, "table inet firedrill"), "no nft table mid-apply");
	FDT_CHECK(strstr(during, "blackhole 10.250.9.0/24"), "no first route mid-apply");
	FDT_CHECK(!strstr(during, "10.250.12.0/24"), "the second route is there already");
	FDT_CHECK(!strstr(during, "tbf"), "the rate fault is applied already");
	vs = state_of(victim);
	FDT_CHECK(vs == 'T', "the victim is in state %c mid-apply, want T", vs);
	fdt_child_stop(holder);
	holder = -1;
	t0 = fd_mono_ns();
	st = open_store();
	if (!st)
		goto out;
	if (guardian_reverted(st, t0))
		fprintf(stderr, "# guardian reverted a half-applied injection %.0f ms after SIGKILL\n",
			(double)(fd_mono_ns() - t0) / 1e6);
	else
		FDT_CHECK(0, "the guardian left active rows 3 s after the holder's SIGKILL");
	vs = state_of(victim);
	FDT_CHECK(vs != 'T', "the victim is still stopped");
	usleep(300000); /* IPv6 link-local routes come back with the link */
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after the guardian:\n%s",
		  state_diff(before, after));
out:
	fdt_child_stop(holder);
	fdt_child_stop(victim);
	victim = -1;
	for (int i = 0; i < 2; i++)
		if (ready[i] >= 0)
			close(ready[i]);
	store_close(st);
}

/* A holder that stays alive past the max duration still loses its set
 * elements to their nft timeouts. */
static void test_element_timeout(void)
{
	struct fixture x = { 0 };
	struct store *st = open_store();
	struct injector *inj = NULL;

	if (!st)
		return;
	target(&x, add_fault(&x, FAULT_DROP, 2 * FD_NS_PER_S), PEER, 80);
	inj = inject(&x, st, false);
	if (!inj)
		goto out;
	FDT_CHECK(try_connect(PEER, 80, 300) == -ETIMEDOUT, "not dropped: %s", connected);
	usleep(2500000);
	FDT_CHECK(try_connect(PEER, 80, 1000) == 0, "still dropped past the timeout: %s", connected);
out:
	revert(&inj);
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

static void test_revert_journal(void)
{
	int ready[2] = { -1, -1 };
	char before[SNAP_MAX], after[SNAP_MAX], c;
	pid_t holder = -1;
	int n = 0, status = 0, rc;
	bool reaped;
	struct fd_error e = { 0 };
	struct store *st = NULL;

	snapshot(before);
	FDT_REQUIRE(pipe(ready) == 0, out, "pipe: %s", strerror(errno));
	fflush(NULL);
	holder = fork();
	if (holder == 0) {
		struct fixture x = { 0 };
		struct store *hst = open_store();
		struct injector *inj;

		signal(SIGTERM, on_term);
		target(&x, add_fault(&x, FAULT_REJECT, 60 * FD_NS_PER_S), PEER, 443);
		target(&x, add_fault(&x, FAULT_UNREACHABLE_ROUTE, 60 * FD_NS_PER_S), "10.250.8.0/24", 0);
		inj = hst ? inject(&x, hst, true) : NULL;
		if (!inj || write(ready[1], "r", 1) != 1)
			_exit(1);
		while (!got_term)
			usleep(10000);
		rc = injector_revert(inj, &e);
		injector_free(inj);
		store_close(hst);
		_exit(rc < 0 ? 2 : 0);
	}
	close(ready[1]);
	ready[1] = -1;
	FDT_REQUIRE(read(ready[0], &c, 1) == 1, out, "the holder did not inject");
	st = open_store();
	if (!st)
		goto out;
	rc = injector_revert_journal(st, &n, &e);
	FDT_CHECK(rc == 0, "revert_journal: %s", e.msg);
	FDT_CHECK(n == 2, "%d rows reverted, want 2", n);
	/* a holder that was never told would wait forever: bounded */
	reaped = fdt_child_reaped(holder, &status, 10000);
	if (reaped)
		holder = -1;
	FDT_CHECK(reaped && WIFEXITED(status), "the holder did not exit on SIGTERM (status 0x%x)",
		  status);
	FDT_CHECK(active_rows(st) == 0, "journal rows still active after revert");
	rc = injector_revert_journal(st, &n, &e); /* idempotent */
	FDT_CHECK(rc == 0, "second revert_journal: %s", e.msg);
	FDT_CHECK(n == 0, "the second revert_journal reverted %d rows", n);
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));
out:
	fdt_child_stop(holder);
	for (int i = 0; i < 2; i++)
		if (ready[i] >= 0)
			close(ready[i]);
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
	int rc;

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
	rc = store_journal_plan(st, &f, &e);
	FDT_CHECK(rc == 0, "plan %s: %s", id, e.msg);
}

static void count_orphan(const struct store_fault *row, const char *note, void *arg)
{
	FDT_CHECK(strstr(note, "dead holder"), "row %s reverted for: %s", row->fault_id, note);
	(*(int *)arg)++;
}

/* `sleep 300`; -1 (the failure counted) when it could not be forked. */
static pid_t sleeper(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	FDT_CHECK(pid >= 0, "fork: %s", strerror(errno));
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
static void test_revert_orphans(void)
{
	struct fd_error e = { 0 };
	struct store *st = open_store();
	char before[SNAP_MAX], during[SNAP_MAX], after[SNAP_MAX];
	pid_t dead, recycled = -1, live = -1;
	int n = 0, seen = 0, rc;

	if (!st)
		return;
	snapshot(before);
	dead = fork();
	if (dead == 0)
		_exit(0);
	if (dead > 0)
		waitpid(dead, NULL, 0);
	live = sleeper();
	recycled = sleeper();
	if (live < 0 || recycled < 0)
		goto out;
	plant_leftover(st, "dead", "10.250.11.0/24", dead, fd_real_ns());
	plant_leftover(st, "recycled", "10.250.13.0/24", recycled, fd_real_ns() - 3600 * FD_NS_PER_S);
	plant_leftover(st, "live", "10.250.14.0/24", live, fd_real_ns());
	rc = injector_revert_orphans(st, count_orphan, &seen, &n, &e);
	FDT_CHECK(rc == 0, "revert_orphans: %s", e.msg);
	FDT_CHECK(n == 2, "%d rows reverted, want 2 (dead, recycled)", n);
	FDT_CHECK(seen == 2, "%d rows reported, want 2", seen);
	snapshot(during);
	FDT_CHECK(!strstr(during, "10.250.11.0/24"), "the dead holder's route is left");
	FDT_CHECK(!strstr(during, "10.250.13.0/24"), "the recycled pid's route is left");
	FDT_CHECK(strstr(during, "blackhole 10.250.14.0/24"), "the live holder's route is gone");
	FDT_CHECK(active_rows(st) == 1, "want the live holder's row alone active");
	rc = injector_revert_orphans(st, NULL, NULL, &n, &e);
	FDT_CHECK(rc == 0, "second revert_orphans: %s", e.msg);
	FDT_CHECK(n == 0, "the second revert_orphans reverted %d rows", n);
	rc = injector_revert_journal(st, &n, &e);
	FDT_CHECK(rc == 0, "revert_journal: %s", e.msg);
	FDT_CHECK(n == 1, "revert_journal reverted %d rows, want the live one", n);
	snapshot(after);
	FDT_CHECK(strcmp(before, after) == 0, "not as before after revert:\n%s", state_diff(before, after));
out:
	fdt_child_stop(live);
	fdt_child_stop(recycled);
	store_close(st);
}

#define TEST(name) { #name, test_##name }

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	TEST(drop_port_exactly),
	TEST(drop_ipv6_exactly),
	TEST(drop_host_name),
	TEST(reject_resets),
	TEST(blackhole_route_and_link_down),
	TEST(rate_tbf_and_netem_detection),
	TEST(sigkill_holder),
	TEST(sigkill_mid_apply),
	TEST(element_timeout),
	TEST(revert_journal),
	TEST(revert_orphans),
};

int main(void)
{
	const char *filter = getenv("FDT_FILTER");

	if (!fdt_need_root())
		return FDT_SKIP;
	if (setup()) {
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
			if (filter && fnmatch(filter, tests[i].name, 0) != 0)
				continue;
			fprintf(stderr, "== %s\n", tests[i].name);
			tests[i].fn();
		}
	}
	teardown();
	return fdt_finish();
}

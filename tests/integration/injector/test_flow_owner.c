/*
 * Who sent a blackholed flow, against the real kernel, in a namespace this
 * test makes (fdt-fo-PID, 10.250.77.1/24 and 10.250.78.1/24 on its lo);
 * fdtest removes it at exit. The test process enters it and injects there:
 *
 *   f0  drop egress tcp 10.250.77.1 ports 8080, 8081
 *   f1  drop ingress tcp from 10.250.78.1 port 7070
 *   f2  drop egress udp 10.250.77.1 port 5353
 *
 * Four flows, each with the owner the injector must find when it first
 * reads the flow, or the reason it cannot:
 *
 *   8080  python3 started here as uid 65534 (setpriv), in a cgroup named
 *         like a podman container's (libpod-ID.scope), holding its socket
 *         in SYN_SENT: that pid, uid 65534, python3, the container's id;
 *         and with the scope's container being that one, its name
 *   8081  this process's socket, closed before the read: "socket already
 *         closed", uid 0 still known from the log
 *   7070  dropped at input: "inbound traffic", no uid (it would be the
 *         receiver's)
 *   5353  this process's UDP socket, kept open: this pid
 *
 * Then, applied again (a drill's next iteration), 8080 sent by this
 * process: its sender is found anew. The namespace's ruleset must be empty
 * after revert. Exits 77 when
 * not root; the container part says "skipped: ..." when no cgroup
 * hierarchy can be made here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_netns.h"
#include "fd_owner.h"
#include "fd_time.h"
#include "fdtest.h"
#include "injector.h"
#include "store.h"

#define EGRESS "10.250.77.1"
#define INGRESS "10.250.78.1"
#define UID_NOBODY 65534
/* A podman-like id of our own: only this test's cgroup has it */
#define CT_ID "f10e0000fd7e57000000000000000000000000000000000000000000000c0de1"

static char ns[64], dir[256], db_path[300], cgroup[256];
static int home_ns = -1;

/* A cgroup named like a podman container's, in the unified hierarchy or the
 * v1 pids one; "" when none can be made. Removed by cgroup_remove(). */
static void cgroup_make(void)
{
	static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/pids" };
	char probe[600];

	cgroup[0] = '\0';
	for (size_t i = 0; i < 2 && !cgroup[0]; i++) {
		snprintf(probe, sizeof(probe), "%s/cgroup.procs", roots[i]);
		if (access(probe, W_OK) != 0)
			continue;
		snprintf(cgroup, sizeof(cgroup), "%s/fdt-flowowner-%d", roots[i], (int)getpid());
		if (mkdir(cgroup, 0755) < 0) {
			cgroup[0] = '\0';
			continue;
		}
		snprintf(probe, sizeof(probe), "%s/libpod-" CT_ID ".scope", cgroup);
		if (mkdir(probe, 0755) < 0) {
			rmdir(cgroup);
			cgroup[0] = '\0';
		}
	}
}

static void cgroup_remove(void)
{
	char leaf[600];

	if (!cgroup[0])
		return;
	snprintf(leaf, sizeof(leaf), "%s/libpod-" CT_ID ".scope", cgroup);
	if (rmdir(leaf) < 0 || rmdir(cgroup) < 0)
		fprintf(stderr, "cannot remove %s: %s\n", cgroup, strerror(errno));
	cgroup[0] = '\0';
}

/*
 * The sender: moves itself into the container's cgroup, then becomes
 * python3 as uid 65534, which connects and waits in SYN_SENT.
 */
static pid_t spawn_sender_to(uint16_t port, bool connect)
{
	pid_t pid = fork();

	if (pid == 0) {
		char procs[600], me[24], code[256];
		int fd;

		if (cgroup[0]) {
			snprintf(procs, sizeof(procs), "%s/libpod-" CT_ID ".scope/cgroup.procs", cgroup);
			snprintf(me, sizeof(me), "%d", (int)getpid());
			fd = open(procs, O_WRONLY);
			if (fd < 0 || write(fd, me, strlen(me)) < 0)
				_exit(3);
			close(fd);
		}
		/* without connect: the container's main process, asleep */
		snprintf(code, sizeof(code),
			 connect ? "import socket\ns = socket.socket()\ns.settimeout(60)\n"
				   "s.connect(('" EGRESS "', %u))\n"
				 : "import time\ntime.sleep(60 + %u * 0)\n",
			 (unsigned)port);
		execl("/usr/bin/setpriv", "setpriv", "--reuid", "65534", "--regid", "65534",
		      "--clear-groups", "--", "/usr/bin/python3", "-c", code, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static pid_t spawn_sender(void)
{
	return spawn_sender_to(8080, true);
}

/* A TCP connect from this process (src bound when given); the socket, or -1. */
static int connect_from(const char *src, const char *dst, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in b = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, dst, &a.sin_addr);
	if (fd >= 0 && src) {
		inet_pton(AF_INET, src, &b.sin_addr);
		if (bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0)
			FDT_CHECK(0, "bind %s: %s", src, strerror(errno));
	}
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
		FDT_CHECK(0, "connect %s:%u: %s", dst, port, strerror(errno));
	return fd;
}

static int udp_send(const char *dst, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, dst, &a.sin_addr);
	/* a drop at output answers EPERM */
	if (fd >= 0 && sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EPERM)
		FDT_CHECK(0, "sendto %s:%u: %s", dst, port, strerror(errno));
	return fd;
}

/* ---- the scenario, built in C ---- */

struct fixture {
	struct scenario s;
	struct scenario_fault f[3];
	struct fd_cidr cidr[3];
	uint16_t ports[3][2];
	char ids[3][8];
};

static void fault(struct fixture *x, size_t i, enum fault_direction way, const char *addr,
		  enum fault_protocol proto, uint16_t p1, uint16_t p2)
{
	struct scenario_fault *f = &x->f[i];

	snprintf(x->ids[i], sizeof(x->ids[i]), "f%zu", i);
	f->id = x->ids[i];
	f->kind = FAULT_DROP;
	f->duration_ns = 60 * FD_NS_PER_S;
	f->direction = way;
	FDT_CHECK(fd_cidr_parse(addr, &x->cidr[i]) == 0, "cidr %s", addr);
	f->targets.cidrs = &x->cidr[i];
	f->targets.n_cidrs = 1;
	f->targets.protocol = proto;
	x->ports[i][0] = p1;
	x->ports[i][1] = p2;
	f->targets.ports = x->ports[i];
	f->targets.n_ports = p2 ? 2 : 1;
}

static const struct injector_flow *flow_to(struct injector *inj, uint16_t dport)
{
	const struct injector_flow *f;
	size_t n = injector_blackholed_flows(inj, &f);

	for (size_t i = 0; i < n; i++)
		if (f[i].dport == dport)
			return &f[i];
	return NULL;
}

struct wait_flows {
	struct injector *inj;
	const uint16_t *ports;
	size_t n;
};

static bool flows_seen(void *arg)
{
	struct wait_flows *w = arg;

	injector_read_flows(w->inj);
	for (size_t i = 0; i < w->n; i++)
		if (!flow_to(w->inj, w->ports[i]))
			return false;
	return true;
}

static void check_sender(const struct injector_flow *f, pid_t sender)
{
	const struct fd_flow_owner *o = &f->owner;
	char text[400], want[128];

	fd_flow_owner_format(o, text, sizeof(text));
	fprintf(stderr, "8080: %s\n", text);
	FDT_CHECK(o->pid == sender, "8080: pid %d, want the sender %d (%s)", (int)o->pid,
		  (int)sender, text);
	FDT_CHECK(o->holders == 1, "8080: %d holders, want 1 (%s)", o->holders, text);
	FDT_CHECK(o->has_uid && o->uid == UID_NOBODY, "8080: uid %u (known %d), want 65534",
		  (unsigned)o->uid, o->has_uid);
	FDT_CHECK(strcmp(o->comm, "python3") == 0, "8080: comm '%s', want python3", o->comm);
	FDT_CHECK(strcmp(o->cmd, "/usr/bin/python3") == 0, "8080: cmd '%s'", o->cmd);
	FDT_CHECK(o->why[0] == '\0', "8080: a reason beside a pid: %s", o->why);
	if (!cgroup[0]) {
		fprintf(stderr, "skipped: the container check (no cgroup hierarchy to make here)\n");
		return;
	}
	FDT_CHECK(strcmp(o->container, CT_ID) == 0, "8080: container '%s', want " CT_ID,
		  o->container);
	FDT_CHECK(strcmp(o->container_name, "fo-web") == 0,
		  "8080: container name '%s', want the scope's fo-web", o->container_name);
	snprintf(want, sizeof(want), "pid %d (python3, uid 65534, container fo-web)", (int)sender);
	FDT_CHECK(strcmp(text, want) == 0, "8080 as text: %s", text);
}

static void check_unknowns(struct injector *inj)
{
	const struct injector_flow *closed = flow_to(inj, 8081), *in = flow_to(inj, 7070);
	const struct injector_flow *udp = flow_to(inj, 5353);
	char text[400];

	if (closed) {
		fprintf(stderr, "8081: %s\n", fd_flow_owner_format(&closed->owner, text, sizeof(text)));
		FDT_CHECK(closed->owner.pid == 0, "8081: a pid (%d) for a closed socket",
			  (int)closed->owner.pid);
		FDT_CHECK(strcmp(closed->owner.why, "socket already closed") == 0, "8081: why '%s'",
			  closed->owner.why);
		FDT_CHECK(closed->owner.has_uid && closed->owner.uid == 0,
			  "8081: the log's uid (0) is lost");
		FDT_CHECK(strcmp(text, "unknown: socket already closed (uid 0)") == 0, "8081 as text: %s",
			  text);
	}
	if (in) {
		fprintf(stderr, "7070: %s\n", fd_flow_owner_format(&in->owner, text, sizeof(text)));
		FDT_CHECK(in->owner.pid == 0 && !in->owner.has_uid,
			  "7070: an owner for inbound traffic: %s", text);
		FDT_CHECK(strncmp(in->owner.why, "inbound traffic", 15) == 0, "7070: why '%s'",
			  in->owner.why);
	}
	if (udp) {
		fprintf(stderr, "5353: %s\n", fd_flow_owner_format(&udp->owner, text, sizeof(text)));
		FDT_CHECK(udp->owner.pid == getpid(), "5353: pid %d, want this process %d (%s)",
			  (int)udp->owner.pid, (int)getpid(), text);
		FDT_CHECK(udp->owner.holders == 1, "5353: %d holders, want 1: %s", udp->owner.holders,
			  text);
		FDT_CHECK(udp->owner.has_uid && udp->owner.uid == 0, "5353: uid: %s", text);
		FDT_CHECK(udp->owner.container[0] == '\0', "5353: a container: %s", text);
	}
}

struct grown {
	struct injector *inj;
	uint64_t packets;
};

static bool flow_8080_grew(void *arg)
{
	struct grown *g = arg;
	const struct injector_flow *f;

	injector_read_flows(g->inj);
	f = flow_to(g->inj, 8080);
	return f && f->packets > g->packets;
}

/*
 * A drill's next iteration: revert, resolve, apply again. The same flow
 * (8080), now sent by this process: its sender is looked up anew at its
 * first packet after the apply, not kept from the first.
 */
static void reapply_new_sender(struct injector *inj, pid_t old)
{
	struct fd_error e = { 0 };
	struct grown g = { .inj = inj };
	const struct injector_flow *f;
	char text[400];
	int rc, fd = -1;

	fdt_child_stop(old);
	rc = injector_revert(inj, &e);
	if (rc == 0)
		rc = injector_resolve(inj, &e);
	if (rc == 0)
		rc = injector_apply(inj, &e);
	FDT_REQUIRE(rc == 0, out, "the second apply: %s", e.msg);
	f = flow_to(inj, 8080);
	g.packets = f ? f->packets : 0;
	fd = connect_from(NULL, EGRESS, 8080);
	FDT_CHECK(fdt_wait_until(flow_8080_grew, &g, 5000, 20), "8080: no packet after the second apply");
	f = flow_to(inj, 8080);
	if (f) {
		fprintf(stderr, "8080 again: %s\n", fd_flow_owner_format(&f->owner, text, sizeof(text)));
		FDT_CHECK(f->owner.pid == getpid() && f->owner.has_uid && f->owner.uid == 0 &&
				  f->owner.container[0] == '\0',
			  "8080 after the second apply: %s, want this process %d, uid 0, no container",
			  text, (int)getpid());
	}
out:
	if (fd >= 0)
		close(fd);
}

static void test_owners(void)
{
	static const uint16_t ports[] = { 8080, 8081, 7070, 5353 };
	struct fixture x = { 0 };
	struct injector_opts o = { .db_path = db_path, .no_guardian = true };
	struct injector *inj = NULL;
	struct store *st = NULL;
	struct fd_error e = { 0 };
	struct wait_flows w = { .ports = ports, .n = 4 };
	char rules[4096];
	int closed_fd, in_fd = -1, udp_fd = -1, rc;
	pid_t sender = -1;
	bool all;

	fault(&x, 0, DIRECTION_EGRESS, EGRESS, PROTOCOL_TCP, 8080, 8081);
	fault(&x, 1, DIRECTION_INGRESS, INGRESS, PROTOCOL_TCP, 7070, 0);
	fault(&x, 2, DIRECTION_EGRESS, EGRESS, PROTOCOL_UDP, 5353, 0);
	x.s.faults = x.f;
	x.s.n_faults = 3;
	x.s.path = (char *)"test.yaml";
	x.s.netns = ns;
	x.s.container = (char *)"fo-web";
	rc = store_open(db_path, &st, &e);
	FDT_REQUIRE(rc == 0, out, "store: %s", e.msg);
	o.store = st;
	rc = injector_new(&x.s, &o, &inj, &e);
	if (rc == 0)
		rc = injector_prepare(inj, &e);
	if (rc == 0)
		rc = injector_apply(inj, &e);
	FDT_REQUIRE(rc == 0, out, "inject: %s", e.msg);

	/* first: a child forked later would hold this process's sockets too
	 * until it execs (a second holder, rightly counted) */
	sender = spawn_sender();
	FDT_REQUIRE(sender > 0, out, "fork: %s", strerror(errno));
	injector_set_scope_pid(inj, sender);
	/* closed before the flow log is read */
	closed_fd = connect_from(NULL, EGRESS, 8081);
	usleep(50000);
	close(closed_fd);
	in_fd = connect_from(INGRESS, INGRESS, 7070);
	udp_fd = udp_send(EGRESS, 5353);
	w.inj = inj;
	all = fdt_wait_until(flows_seen, &w, 10000, 20);
	FDT_CHECK(all, "not all four flows seen in 10 s (8080 %d, 8081 %d, 7070 %d, 5353 %d)",
		  flow_to(inj, 8080) != NULL, flow_to(inj, 8081) != NULL, flow_to(inj, 7070) != NULL,
		  flow_to(inj, 5353) != NULL);
	if (flow_to(inj, 8080))
		check_sender(flow_to(inj, 8080), sender);
	check_unknowns(inj);
	reapply_new_sender(inj, sender);
	sender = -1; /* stopped there */
out:
	if (in_fd >= 0)
		close(in_fd);
	if (udp_fd >= 0)
		close(udp_fd);
	fdt_child_stop(sender);
	if (inj) {
		rc = injector_revert(inj, &e);
		FDT_CHECK(rc == 0, "revert: %s", e.msg);
		injector_free(inj);
	}
	rc = fdt_capture(rules, sizeof(rules), "ip netns exec %s nft list ruleset", ns);
	FDT_CHECK(rc == 0 && rules[0] == '\0', "the namespace's ruleset after revert (exit %d):\n%s",
		  rc, rules);
	store_close(st);
}

/*
 * A drop fault with a container of its own (no scope container): a flow
 * its container sends is named by the fault's container, found by the id
 * of the fault's container's main process.
 */
static void test_fault_container(void)
{
	static const uint16_t ports[] = { 8082 };
	struct fixture x = { 0 };
	struct injector_opts o = { .db_path = db_path, .no_guardian = true };
	struct injector *inj = NULL;
	struct store *st = NULL;
	struct fd_error e = { 0 };
	struct wait_flows w = { .ports = ports, .n = 1 };
	const struct injector_flow *f;
	pid_t main_pid = -1, sender = -1;
	int rc;

	if (!cgroup[0]) {
		fprintf(stderr, "skipped: the fault container check (no cgroup hierarchy to make here)\n");
		return;
	}
	fault(&x, 0, DIRECTION_EGRESS, EGRESS, PROTOCOL_TCP, 8082, 0);
	x.f[0].place.container = (char *)"fo-db";
	x.s.faults = x.f;
	x.s.n_faults = 1;
	x.s.path = (char *)"test.yaml";
	x.s.netns = ns;
	main_pid = spawn_sender_to(0, false);
	FDT_REQUIRE(main_pid > 0, out, "fork: %s", strerror(errno));
	rc = store_open(db_path, &st, &e);
	FDT_REQUIRE(rc == 0, out, "store: %s", e.msg);
	o.store = st;
	rc = injector_new(&x.s, &o, &inj, &e);
	if (rc == 0)
		rc = injector_set_fault_place(inj, 0, ns, main_pid, &e);
	if (rc == 0)
		rc = injector_prepare(inj, &e);
	if (rc == 0)
		rc = injector_apply(inj, &e);
	FDT_REQUIRE(rc == 0, out, "inject: %s", e.msg);
	sender = spawn_sender_to(8082, true);
	FDT_REQUIRE(sender > 0, out, "fork: %s", strerror(errno));
	w.inj = inj;
	FDT_CHECK(fdt_wait_until(flows_seen, &w, 10000, 20), "8082: no flow in 10 s");
	f = flow_to(inj, 8082);
	if (f) {
		char text[400];

		fprintf(stderr, "8082: %s\n", fd_flow_owner_format(&f->owner, text, sizeof(text)));
		FDT_CHECK(f->owner.pid == sender, "8082: pid %d, want the sender %d", (int)f->owner.pid,
			  (int)sender);
		FDT_CHECK(strcmp(f->owner.container_name, "fo-db") == 0,
			  "8082: container name '%s', want the fault's fo-db (%s)",
			  f->owner.container_name, text);
	}
out:
	fdt_child_stop(sender);
	fdt_child_stop(main_pid);
	if (inj) {
		rc = injector_revert(inj, &e);
		FDT_CHECK(rc == 0, "revert: %s", e.msg);
		injector_free(inj);
	}
	store_close(st);
}

int main(void)
{
	struct fd_error e = { 0 };
	const char *const addrs[] = { EGRESS "/24", INGRESS "/24", NULL };

	if (!fdt_need_root())
		return FDT_SKIP;
	snprintf(ns, sizeof(ns), "fdt-fo-%d", (int)getpid());
	if (access("/usr/bin/python3", X_OK) != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
		fprintf(stderr, "skipped: needs /usr/bin/python3 and /usr/bin/setpriv\n");
		return FDT_SKIP;
	}
	if (fdt_tmpdir(dir, sizeof(dir), "fdt-fo") < 0 || fdt_netns_add(ns, addrs) < 0) {
		FDT_CHECK(0, "cannot build %s", ns);
		return fdt_finish();
	}
	snprintf(db_path, sizeof(db_path), "%s/journal.db", dir);
	cgroup_make();
	home_ns = fd_netns_current();
	if (fd_netns_enter(ns, &e) < 0)
		FDT_CHECK(0, "enter %s: %s", ns, e.msg);
	else {
		test_owners();
		test_fault_container();
	}
	if (home_ns >= 0)
		fd_netns_restore(home_ns, NULL);
	cgroup_remove();
	return fdt_finish();
}

/*
 * flowowner.c's parts that need no kernel: the cgroup -> container id
 * parser, the fd link parser, the /proc pass over a tree this test makes
 * (pids, fd links, comm, cmdline, status, cgroup), the reasons a packet
 * gets before any lookup, and fd_flow_owner_format's wording. No root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "injector_int.h"

#define ID_A "4f2a1b3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"
#define ID_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *container(const char *text)
{
	static char id[65];

	return inj_cgroup_container_id(text, id, sizeof(id)) == 0 ? id : "";
}

static void test_cgroup_container_id(void **state)
{
	char small[20];

	(void)state;
	/* podman, systemd driver (v2), the process in the scope's subtree */
	assert_string_equal(container("0::/machine.slice/libpod-" ID_A ".scope/container\n"), ID_A);
	/* podman, cgroupfs driver */
	assert_string_equal(container("0::/libpod_parent/libpod-" ID_A "\n"), ID_A);
	/* docker, systemd driver */
	assert_string_equal(container("0::/system.slice/docker-" ID_B ".scope\n"), ID_B);
	/* docker, cgroupfs driver on a v1 host: the first line with an id */
	assert_string_equal(container("12:pids:/docker/" ID_B "\n11:memory:/docker/" ID_B "\n0::/\n"),
			    ID_B);
	/* kubernetes runtimes */
	assert_string_equal(container("0::/kubepods.slice/kubepods-burstable.slice/"
				      "kubepods-burstable-pod1234.slice/cri-containerd-" ID_A ".scope\n"),
			    ID_A);
	assert_string_equal(container("0::/kubepods/besteffort/pod1/crio-" ID_B "\n"), ID_B);
	/* a container in a container: the inner (deepest) one */
	assert_string_equal(container("0::/system.slice/docker-" ID_B ".scope/libpod-" ID_A ".scope\n"),
			    ID_A);
	/* not containers: a host session, podman's monitor, a 32-hex id, upper case, a near miss */
	assert_string_equal(container("0::/user.slice/user-1000.slice/session-2.scope\n"), "");
	assert_string_equal(container("0::/machine.slice/libpod-conmon-" ID_A ".scope\n"), "");
	assert_string_equal(container("4:memory:/process_api/9b36ccf2a99e8db3f9a950f907838032\n"), "");
	assert_string_equal(container("0::/docker/4F2A1B3C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708\n"),
			    "");
	assert_string_equal(container("0::/docker-" ID_A "x.scope\n"), "");
	assert_string_equal(container(""), "");
	assert_string_equal(container("garbage without colons " ID_A), "");
	/* no trailing newline */
	assert_string_equal(container("0::/docker/" ID_A), ID_A);
	assert_int_equal(inj_cgroup_container_id("0::/docker/" ID_A, small, sizeof(small)),
			 -ENAMETOOLONG);
	assert_int_equal(inj_cgroup_container_id("0::/", small, sizeof(small)), -ENOENT);
}

static void test_socket_link_inode(void **state)
{
	(void)state;
	assert_int_equal(inj_socket_link_inode("socket:[12345]"), 12345);
	assert_int_equal(inj_socket_link_inode("socket:[18446744073709551615]"), UINT64_MAX);
	assert_int_equal(inj_socket_link_inode("socket:[]"), 0);
	assert_int_equal(inj_socket_link_inode("socket:[12a]"), 0);
	assert_int_equal(inj_socket_link_inode("socket:[12] "), 0);
	assert_int_equal(inj_socket_link_inode("pipe:[12345]"), 0);
	assert_int_equal(inj_socket_link_inode("/dev/null"), 0);
	assert_int_equal(inj_socket_link_inode("socket:[99999999999999999999]"), 0);
}

/* ---- a /proc of our own ---- */

static char root[64];

static void put(const char *rel, const char *text, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void fd_link(int pid, int fd, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%d/fd/%d", root, pid, fd);
	assert_int_equal(symlink(target, path), 0);
}

/* pid with comm, a cmdline of NUL-separated arguments, a Uid line, a cgroup */
static void proc(int pid, const char *comm, const char *cmdline, size_t cmdlen, int uid,
		 const char *cgroup)
{
	char rel[64], text[256];

	snprintf(rel, sizeof(rel), "%d", pid);
	dir(rel);
	snprintf(rel, sizeof(rel), "%d/fd", pid);
	dir(rel);
	snprintf(rel, sizeof(rel), "%d/comm", pid);
	snprintf(text, sizeof(text), "%s\n", comm);
	put(rel, text, strlen(text));
	snprintf(rel, sizeof(rel), "%d/cmdline", pid);
	put(rel, cmdline, cmdlen);
	snprintf(rel, sizeof(rel), "%d/status", pid);
	snprintf(text, sizeof(text), "Name:\t%s\nUmask:\t0022\nUid:\t%d\t%d\t%d\t%d\n", comm, uid + 1,
		 uid, uid, uid);
	put(rel, text, strlen(text));
	snprintf(rel, sizeof(rel), "%d/cgroup", pid);
	put(rel, cgroup, strlen(cgroup));
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/fdt-unit-proc-XXXXXX");
	assert_non_null(mkdtemp(root));
	/* pid 10: curl in a container, holding socket 500 twice (dup) */
	proc(10, "curl", "/usr/bin/curl\0-s\0https://s3.example\0", 35, 1000,
	     "0::/machine.slice/libpod-" ID_A ".scope/container\n");
	fd_link(10, 0, "/dev/null");
	fd_link(10, 3, "socket:[500]");
	fd_link(10, 4, "socket:[500]");
	fd_link(10, 5, "pipe:[77]");
	/* pid 20: a shell that forked 30; both hold socket 600 */
	proc(20, "sh", "sh\0", 3, 0, "0::/user.slice\n");
	fd_link(20, 7, "socket:[600]");
	proc(30, "worker", "", 0, 33, "0::/user.slice\n"); /* a kernel thread's empty cmdline */
	fd_link(30, 7, "socket:[600]");
	/* the scope's container's main process, and a non-pid entry */
	proc(40, "conmon-main", "init\0", 5, 0, "0::/machine.slice/libpod-" ID_A ".scope/container\n");
	dir("self");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_procs(void **state)
{
	struct fd_flow_owner o[3] = { { .has_uid = true, .uid = 1000 }, { 0 }, { .has_uid = true } };
	struct inj_owner_wait w[3] = { { .inode = 500, .owner = &o[0] }, { .inode = 600, .owner = &o[1] },
				       { .inode = 700, .owner = &o[2] } };
	struct inj_owner_scope scope = { "web", 40 };
	char text[400];

	(void)state;
	inj_flowowner_procs(root, w, 3, &scope, 1000);
	assert_int_equal(o[0].pid, 10);
	assert_int_equal(o[0].holders, 1); /* dup'd: one process */
	assert_string_equal(o[0].comm, "curl");
	assert_string_equal(o[0].cmd, "/usr/bin/curl");
	assert_int_equal(o[0].uid, 1000);
	assert_string_equal(o[0].container, ID_A);
	assert_string_equal(o[0].container_name, "web");
	assert_string_equal(o[0].why, "");
	assert_string_equal(fd_flow_owner_format(&o[0], text, sizeof(text)),
			    "pid 10 (curl, uid 1000, container web)");

	/* two holders: the lowest pid, the uid from its status (effective) */
	assert_int_equal(o[1].pid, 20);
	assert_int_equal(o[1].holders, 2);
	assert_true(o[1].has_uid);
	assert_int_equal(o[1].uid, 0);
	assert_string_equal(o[1].container, "");
	assert_string_equal(fd_flow_owner_format(&o[1], text, sizeof(text)),
			    "pid 20 and 1 more (sh, uid 0)");

	assert_int_equal(o[2].pid, 0);
	assert_string_equal(o[2].why, "no process holds the socket (kernel or orphaned socket)");

	/* another scope: the container is shown by its id's first 12 digits */
	memset(o, 0, sizeof(o));
	w[0].last = 0;
	scope.pid = 20;
	inj_flowowner_procs(root, w, 1, &scope, 1000);
	assert_string_equal(o[0].container_name, "");
	assert_string_equal(fd_flow_owner_format(&o[0], text, sizeof(text)),
			    "pid 10 (curl, uid 1000, container 4f2a1b3c5d6e)");
}

static void test_procs_bounded(void **state)
{
	struct fd_flow_owner o = { 0 };
	struct inj_owner_wait w = { .inode = 600, .owner = &o };
	char text[400];

	(void)state;
	/* no budget: the first link is one too many */
	inj_flowowner_procs(root, &w, 1, NULL, 0);
	assert_int_equal(o.pid, 0);
	assert_string_equal(o.why, "gave up: more than 0 open files on the host to search");
	memset(&o, 0, sizeof(o));
	inj_flowowner_procs("/nonexistent-fdt", &w, 1, NULL, 4);
	assert_string_equal(fd_flow_owner_format(&o, text, sizeof(text)),
			    "unknown: /nonexistent-fdt not readable: No such file or directory");
}

/* Reasons given before any socket is looked up (no diag socket needed). */
static void test_reasons_before_lookup(void **state)
{
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	struct inj_flow_packet p = { .family = AF_INET, .src = a, .dst = b, .protocol = 6,
				     .sport = 40000, .dport = 443, .has_uid = true, .uid = 7 };
	struct fd_flow_owner o;
	uint64_t inode = 1;

	(void)state;
	p.hook = NF_INET_FORWARD;
	inj_flowowner_socket(NULL, &p, &o, &inode);
	assert_int_equal(inode, 0);
	assert_string_equal(o.why, "forwarded traffic (not originated here)");
	assert_false(o.has_uid);
	p.hook = NF_INET_LOCAL_IN;
	inj_flowowner_socket(NULL, &p, &o, &inode);
	assert_string_equal(o.why, "inbound traffic (its sender is not looked up at input)");
	assert_false(o.has_uid); /* it would be the receiver's */
	p.hook = NF_INET_LOCAL_OUT;
	p.protocol = 1;
	inj_flowowner_socket(NULL, &p, &o, &inode);
	assert_string_equal(o.why, "only TCP and UDP sockets are looked up (protocol 1)");
	assert_true(o.has_uid);
	assert_int_equal(o.uid, 7);
	p.protocol = 6;
	inj_flowowner_socket(NULL, &p, &o, &inode);
	assert_string_equal(o.why, "socket lookup unavailable (no NETLINK_SOCK_DIAG socket)");
	assert_int_equal(inode, 0);
}

static void test_format(void **state)
{
	struct fd_flow_owner o = { 0 };
	char text[400];

	(void)state;
	assert_string_equal(fd_flow_owner_format(&o, text, sizeof(text)), "unknown: not looked up");
	snprintf(o.why, sizeof(o.why), "socket already closed");
	assert_string_equal(fd_flow_owner_format(&o, text, sizeof(text)),
			    "unknown: socket already closed");
	o.has_uid = true;
	o.uid = 65534;
	assert_string_equal(fd_flow_owner_format(&o, text, sizeof(text)),
			    "unknown: socket already closed (uid 65534)");
	/* a pid whose comm could not be read (it exited): what is known */
	memset(&o, 0, sizeof(o));
	o.pid = 4242;
	o.holders = 1;
	assert_string_equal(fd_flow_owner_format(&o, text, sizeof(text)), "pid 4242");
	snprintf(o.container, sizeof(o.container), ID_B);
	assert_string_equal(fd_flow_owner_format(&o, text, sizeof(text)),
			    "pid 4242 (container 0123456789ab)");
	/* a short buffer is cut, never overrun */
	assert_string_equal(fd_flow_owner_format(&o, text, 9), "pid 4242");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_container_id),
		cmocka_unit_test(test_socket_link_inode),
		cmocka_unit_test_setup_teardown(test_procs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_procs_bounded, setup, teardown),
		cmocka_unit_test(test_reasons_before_lookup),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

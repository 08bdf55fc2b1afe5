/*
 * Who sent a blackholed flow: the process that owned the socket a dropped
 * packet left from, found the moment the flow log first sees the flow.
 *
 * Two steps. At once, per new flow (inj_flowowner_socket): the log's
 * NFULA_UID, which the kernel adds whenever the packet carries a full
 * socket with a file (nfnetlink_log has no flag for it, and the log
 * statement's flags only serve the syslog backend), and a NETLINK_SOCK_DIAG
 * lookup of the exact 5-tuple give the socket's uid and inode. The diag
 * socket is opened with the flow log, in the flows' network namespace:
 * a lookup elsewhere would find nothing or another namespace's socket.
 * Then once per read of the log, for every new flow together
 * (inj_flowowner_procs): one pass over /proc/PID/fd finds the processes
 * holding socket:[INODE], and /proc/PID/{comm,cmdline,cgroup} say what
 * they are. Inodes are global, so the pass sees a container's processes
 * too (by their pids in firedrill's pid namespace).
 *
 * The pass costs one readlink per open file on the host (docs/injector.md,
 * "Who sent a flow", has the figure), so it is bounded by max_fds and run
 * once per read, not per flow. Nothing is guessed: where a step cannot
 * tell, the owner's why says which step and why.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
/* glibc's first: it tells the kernel's headers what it already defines */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netfilter.h>
#include <linux/sock_diag.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "injector_int.h"

struct inj_flowowner {
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
};

int inj_flowowner_open(struct inj_flowowner **out, struct fd_error *err)
{
	struct inj_flowowner *o = calloc(1, sizeof(*o));

	*out = NULL;
	if (!o)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "flow owners: out of memory");
	o->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!o->nl || mnl_socket_bind(o->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		inj_flowowner_free(o);
		return fd_error_set(err, FD_ERR_ENV, -e, "flow owners: NETLINK_SOCK_DIAG: %s",
				    strerror(e));
	}
	o->portid = mnl_socket_get_portid(o->nl);
	/* the kernel answers at once; a lookup must never hold the drill up */
	setsockopt(mnl_socket_get_fd(o->nl), SOL_SOCKET, SO_RCVTIMEO,
		   &(struct timeval){ .tv_sec = 1 }, sizeof(struct timeval));
	*out = o;
	return 0;
}

void inj_flowowner_free(struct inj_flowowner *o)
{
	if (!o)
		return;
	if (o->nl)
		mnl_socket_close(o->nl);
	free(o);
}

/* ---- step 1: the socket (sock_diag) --------------------------------------- */

static int diag_reply(const struct nlmsghdr *nlh, void *data)
{
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct inet_diag_msg))
		return MNL_CB_ERROR;
	memcpy(data, mnl_nlmsg_get_payload(nlh), sizeof(struct inet_diag_msg));
	return MNL_CB_OK;
}

/*
 * The kernel's exact lookup (no NLM_F_DUMP). TCP looks the tuple up as
 * the socket sees it (src = local); UDP as a received packet would, so
 * for it src and dst are swapped ("for historical reasons", udp_diag.c).
 * 0 with *msg filled, or -errno (-ENOENT: no such socket now).
 */
static int diag_lookup(struct inj_flowowner *o, const struct inj_flow_packet *p,
		       struct inet_diag_msg *msg)
{
	char buf[8192] __attribute__((aligned(8))) = { 0 }; /* one reply; no stack bytes sent */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	size_t alen = p->family == AF_INET ? 4 : 16;
	bool udp = p->protocol == IPPROTO_UDP;
	ssize_t n;
	int rc;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++o->seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)p->family;
	req->sdiag_protocol = p->protocol;
	req->idiag_states = ~0U; /* any state: SYN_SENT above all */
	req->id.idiag_sport = htons(udp ? p->dport : p->sport);
	req->id.idiag_dport = htons(udp ? p->sport : p->dport);
	memcpy(req->id.idiag_src, udp ? p->dst : p->src, alen);
	memcpy(req->id.idiag_dst, udp ? p->src : p->dst, alen);
	req->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (mnl_socket_sendto(o->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* the kernel answers inside sendmsg: the reply is already queued */
	n = mnl_socket_recvfrom(o->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	memset(msg, 0, sizeof(*msg));
	rc = mnl_cb_run(buf, (size_t)n, o->seq, o->portid, diag_reply, msg);
	if (rc < 0)
		return -errno;
	return msg->idiag_family ? 0 : -ENOENT;
}

/* The reply is the sender's own socket: same local port, not a listener. */
static bool diag_is_sender(const struct inet_diag_msg *m, const struct inj_flow_packet *p)
{
	if (p->protocol == IPPROTO_TCP)
		return m->idiag_state != TCP_LISTEN && ntohs(m->id.idiag_sport) == p->sport &&
		       ntohs(m->id.idiag_dport) == p->dport;
	return ntohs(m->id.idiag_sport) == p->sport;
}

static void why(struct fd_flow_owner *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void why(struct fd_flow_owner *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

void inj_flowowner_socket(struct inj_flowowner *o, const struct inj_flow_packet *p,
			  struct fd_flow_owner *out, uint64_t *inode)
{
	struct inet_diag_msg m;
	int rc;

	*inode = 0;
	memset(out, 0, sizeof(*out));
	/* At input the packet may carry the receiving socket (early demux):
	 * its uid is not the sender's; the sender is mostly another host (on
	 * loopback it is this one, but then an egress fault names it). */
	if (p->hook == NF_INET_FORWARD) {
		why(out, "forwarded traffic (not originated here)");
		return;
	}
	if (p->hook != NF_INET_LOCAL_OUT && p->hook != NF_INET_POST_ROUTING) {
		why(out, "inbound traffic (its sender is not looked up at input)");
		return;
	}
	out->has_uid = p->has_uid;
	out->uid = p->uid;
	if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP) {
		why(out, "only TCP and UDP sockets are looked up (protocol %u)", (unsigned)p->protocol);
		return;
	}
	if (!o) {
		why(out, "socket lookup unavailable (no NETLINK_SOCK_DIAG socket)");
		return;
	}
	rc = diag_lookup(o, p, &m);
	if (rc == 0 && !diag_is_sender(&m, p))
		rc = -ENOENT;
	if (rc == 0 && m.idiag_inode == 0)
		rc = -ENOENT; /* TIME_WAIT or a request: no socket left */
	if (rc == -ENOENT)
		why(out, p->has_uid ? "socket already closed"
				    : "no process's socket on the packet (sent by the kernel, or a "
				      "socket already closed)");
	else if (rc < 0)
		why(out, "socket lookup failed: %s", strerror(-rc));
	if (rc < 0)
		return;
	if (!out->has_uid) {
		out->has_uid = true;
		out->uid = m.idiag_uid;
	}
	*inode = m.idiag_inode;
}

/* ---- step 2: the processes (/proc) ----------------------------------------- */

/* "socket:[12345]" -> 12345; 0 for anything else. */
uint64_t inj_socket_link_inode(const char *link)
{
	unsigned long long ino = 0;
	char *end = NULL;

	if (strncmp(link, "socket:[", 8) != 0 || !isdigit((unsigned char)link[8]))
		return 0;
	errno = 0;
	ino = strtoull(link + 8, &end, 10);
	if (errno || !end || strcmp(end, "]") != 0)
		return 0;
	return ino;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* One path component: "libpod-ID.scope", "docker-ID.scope", "crio-ID",
 * "cri-containerd-ID.scope" or a bare ID (/docker/ID). "libpod-conmon-ID"
 * is podman's monitor, not the container: not matched. */
static bool component_id(const char *c, size_t n, char id[65])
{
	static const char *const prefixes[] = { "libpod-", "docker-", "crio-", "cri-containerd-", "" };

	if (n > 6 && memcmp(c + n - 6, ".scope", 6) == 0)
		n -= 6;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (n == pl + 64 && memcmp(c, prefixes[i], pl) == 0 && all_hex(c + pl, 64)) {
			memcpy(id, c + pl, 64);
			id[64] = '\0';
			return true;
		}
	}
	return false;
}

int inj_cgroup_container_id(const char *text, char *id, size_t len)
{
	char found[65] = "";

	/* lines "HIERARCHY:CONTROLLERS:PATH"; the deepest id of the first path
	 * that has one (a container in a container is the inner one) */
	for (const char *line = text; line && *line && !found[0];) {
		size_t ll = strcspn(line, "\n");
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;
		const char *p = c2 ? c2 + 1 : line + ll, *end = line + ll;

		while (p < end) {
			size_t cl;

			p += *p == '/';
			cl = strcspn(p, "/\n");
			if (p + cl > end)
				cl = (size_t)(end - p);
			component_id(p, cl, found);
			p += cl;
		}
		line = line[ll] ? line + ll + 1 : NULL;
	}
	if (!found[0])
		return -ENOENT;
	if (len < 65)
		return -ENAMETOOLONG;
	memcpy(id, found, 65);
	return 0;
}

/* Up to len - 1 bytes of DIR/PID/NAME, NUL-terminated; bytes read or -errno. */
static ssize_t read_proc(const char *root, pid_t pid, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/%s", root, (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total + 1 < len && (n = read(fd, buf + total, len - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

/* The container id of pid, "" when none or not readable. */
static void container_of(const char *root, pid_t pid, char id[65])
{
	char text[8192];

	id[0] = '\0';
	if (pid > 0 && read_proc(root, pid, "cgroup", text, sizeof(text)) > 0 &&
	    inj_cgroup_container_id(text, id, 65) < 0)
		id[0] = '\0';
}

/* The effective uid on the "Uid:" line of /proc/PID/status. */
static bool status_uid(const char *root, pid_t pid, uint32_t *uid)
{
	char text[4096], *p;
	unsigned long real, eff;

	if (read_proc(root, pid, "status", text, sizeof(text)) <= 0 || !(p = strstr(text, "\nUid:")))
		return false;
	if (sscanf(p + 5, "%lu %lu", &real, &eff) != 2)
		return false;
	*uid = (uint32_t)eff;
	return true;
}

/* comm, the first argument, the uid when still unknown, the container. */
static void describe(const char *root, struct fd_flow_owner *o, const char *scope_id,
		     const struct inj_owner_scope *scope)
{
	char cmdline[FD_OWNER_CMD_MAX];
	ssize_t n = read_proc(root, o->pid, "comm", o->comm, sizeof(o->comm));

	if (n > 0 && o->comm[n - 1] == '\n')
		o->comm[n - 1] = '\0';
	else if (n < 0)
		o->comm[0] = '\0';
	/* arguments are NUL-separated: the first one is the string */
	if (read_proc(root, o->pid, "cmdline", cmdline, sizeof(cmdline)) > 0)
		snprintf(o->cmd, sizeof(o->cmd), "%s", cmdline);
	if (!o->has_uid)
		o->has_uid = status_uid(root, o->pid, &o->uid);
	container_of(root, o->pid, o->container);
	if (o->container[0] && scope_id[0] && strcmp(o->container, scope_id) == 0 && scope &&
	    scope->container)
		snprintf(o->container_name, sizeof(o->container_name), "%s", scope->container);
}

struct scan {
	struct inj_owner_wait *w;
	size_t n;
	size_t fds, max_fds;
	size_t denied;  /* processes whose fd directory could not be read */
	bool truncated;
};

static void scan_fds(struct scan *sc, int dirfd, pid_t pid)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *e;
	char link[64];

	if (!d) {
		close(dirfd);
		return;
	}
	while ((e = readdir(d)) && !sc->truncated) {
		ssize_t k;
		uint64_t ino;

		if (e->d_name[0] == '.')
			continue;
		if (++sc->fds > sc->max_fds) {
			sc->truncated = true;
			break;
		}
		k = readlinkat(dirfd, e->d_name, link, sizeof(link) - 1);
		if (k < 0 && (errno == EACCES || errno == EPERM)) {
			/* the directory lists, its links do not (ptrace access): so for all */
			sc->denied++;
			break;
		}
		if (k <= 0)
			continue;
		link[k] = '\0';
		ino = inj_socket_link_inode(link);
		for (size_t i = 0; ino && i < sc->n; i++) {
			struct fd_flow_owner *o = sc->w[i].owner;

			if (sc->w[i].inode != ino)
				continue;
			if (!o->pid || pid < o->pid)
				o->pid = pid; /* the lowest holder: the parent, mostly */
			if (sc->w[i].last != pid)
				o->holders++; /* a pid holding it twice (dup) is one holder */
			sc->w[i].last = pid;
		}
	}
	closedir(d);
}

/* A pid's directory name: digits only. */
static pid_t pid_of(const char *name)
{
	char *end = NULL;
	long v;

	if (!isdigit((unsigned char)name[0]))
		return 0;
	v = strtol(name, &end, 10);
	return end && *end == '\0' && v > 0 && v <= INT32_MAX ? (pid_t)v : 0;
}

void inj_flowowner_procs(const char *proc_root, struct inj_owner_wait *w, size_t n,
			 const struct inj_owner_scope *scope, size_t max_fds)
{
	struct scan sc = { .w = w, .n = n, .max_fds = max_fds };
	char scope_id[65] = "", path[PATH_MAX];
	DIR *d;
	struct dirent *e;

	if (n == 0)
		return;
	d = opendir(proc_root);
	if (!d) {
		for (size_t i = 0; i < n; i++)
			why(w[i].owner, "%s not readable: %s", proc_root, strerror(errno));
		return;
	}
	while ((e = readdir(d)) && !sc.truncated) {
		pid_t pid = pid_of(e->d_name);
		int fd;

		if (!pid)
			continue;
		snprintf(path, sizeof(path), "%s/fd", e->d_name);
		fd = openat(dirfd(d), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			sc.denied += errno == EACCES || errno == EPERM;
			continue; /* ENOENT: it exited meanwhile */
		}
		scan_fds(&sc, fd, pid);
	}
	closedir(d);
	if (scope)
		container_of(proc_root, scope->pid, scope_id);
	for (size_t i = 0; i < n; i++) {
		struct fd_flow_owner *o = w[i].owner;

		if (o->pid)
			describe(proc_root, o, scope_id, scope);
		else if (sc.truncated)
			why(o, "gave up: more than %zu open files on the host to search", max_fds);
		else if (sc.denied)
			why(o, "no permission to read /proc/PID/fd of %zu process%s", sc.denied,
			    sc.denied == 1 ? "" : "es");
		else
			why(o, "no process holds the socket (kernel or orphaned socket)");
	}
}

/*
 * Flows that hit a drop/reject fault, read from nfnetlink_log (libnl-nf).
 *
 * Every drop/reject rule logs to group INJ_NFT_LOG_GROUP with the prefix
 * "firedrill FAULT-ID ". The holder drains the socket while it holds and
 * keeps one entry per (family, src, dst, protocol, dport): these are the
 * drill's hidden dependencies. The kernel drops log messages when nobody
 * listens or the socket buffer is full; that only loses counts, never
 * traffic, so reading is best-effort and never blocks.
 *
 * A new flow's owner (who sent it) is looked up as its first packet is
 * read: the socket at once, the processes once per read for all new flows
 * together (flowowner.c); again at its first packet after each later apply
 * (a drill's next iteration), since the sender then may be another. The
 * diag socket that needs is opened here, with the log, in the same network
 * namespace.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netlink/msg.h>
#include <netlink/netfilter/log.h>
#include <netlink/netfilter/log_msg.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "injector_int.h"

#define MAX_FLOWS 4096

struct inj_flowlog {
	struct nl_sock *sk;
	struct inj_flowowner *owner; /* NULL: socket lookups unavailable */
	struct injector_flow *flows;
	unsigned *round;             /* ... the apply each flow's owner was found in */
	size_t n, cap;
	unsigned this_round;         /* applies since the log was opened */
	/* new flows whose processes are still to find (the pass after the read) */
	struct inj_owner_wait *wait;
	size_t *wait_flow;           /* ... and their flows' indexes */
	size_t n_wait;
};

static void fault_of_prefix(const char *prefix, char *out, size_t len)
{
	const char *p = prefix && strncmp(prefix, "firedrill ", 10) == 0 ? prefix + 10 : "";
	size_t k = strcspn(p, " ");

	if (k >= len)
		k = len - 1;
	memcpy(out, p, k);
	out[k] = '\0';
}

/* Fills the flow's addresses, protocol and port, and *sport, from the copied packet. */
static bool parse_packet(const uint8_t *p, int len, struct injector_flow *f, uint16_t *sport)
{
	size_t l4 = 0;

	if (len < 20)
		return false;
	if ((p[0] >> 4) == 4) {
		f->family = AF_INET;
		memcpy(f->src, p + 12, 4);
		memcpy(f->dst, p + 16, 4);
		f->protocol = p[9];
		l4 = (size_t)(p[0] & 0x0f) * 4;
	} else if ((p[0] >> 4) == 6 && len >= 40) {
		f->family = AF_INET6;
		memcpy(f->src, p + 8, 16);
		memcpy(f->dst, p + 24, 16);
		f->protocol = p[6]; /* extension headers are reported as their own protocol */
		l4 = 40;
	} else {
		return false;
	}
	*sport = 0;
	if ((f->protocol == IPPROTO_TCP || f->protocol == IPPROTO_UDP) && (size_t)len >= l4 + 4) {
		*sport = (uint16_t)(p[l4] << 8 | p[l4 + 1]);
		f->dport = (uint16_t)(p[l4 + 2] << 8 | p[l4 + 3]);
	}
	return true;
}

static bool grow(struct inj_flowlog *l)
{
	size_t cap = l->cap ? l->cap * 2 : 32;
	struct injector_flow *p;
	struct inj_owner_wait *w;
	size_t *wf;
	unsigned *r;

	if (cap > MAX_FLOWS)
		return false;
	p = realloc(l->flows, cap * sizeof(*p));
	if (p)
		l->flows = p;
	w = p ? realloc(l->wait, cap * sizeof(*w)) : NULL;
	if (w)
		l->wait = w;
	wf = w ? realloc(l->wait_flow, cap * sizeof(*wf)) : NULL;
	if (wf)
		l->wait_flow = wf;
	r = wf ? realloc(l->round, cap * sizeof(*r)) : NULL;
	if (r)
		l->round = r;
	if (!r)
		return false;
	l->cap = cap;
	return true;
}

/* Counts the packet in its flow: its index, or -1 (no room for a new one). */
static long flow_add(struct inj_flowlog *l, const struct injector_flow *f)
{
	for (size_t i = 0; i < l->n; i++) {
		struct injector_flow *g = &l->flows[i];

		if (g->family == f->family && g->protocol == f->protocol && g->dport == f->dport &&
		    memcmp(g->src, f->src, 16) == 0 && memcmp(g->dst, f->dst, 16) == 0) {
			g->packets++;
			return (long)i;
		}
	}
	if (l->n == l->cap && !grow(l))
		return -1;
	l->flows[l->n] = *f;
	l->flows[l->n].packets = 1;
	l->round[l->n] = l->this_round - 1; /* not looked up in this apply yet */
	return (long)l->n++;
}

/* The first packet of flow i in this apply: its socket now, its processes after the read. */
static void owner_first_sight(struct inj_flowlog *l, size_t i, struct nfnl_log_msg *m,
			      uint16_t sport)
{
	struct injector_flow *f = &l->flows[i];
	struct inj_flow_packet p = {
		.family = f->family, .src = f->src, .dst = f->dst, .protocol = f->protocol,
		.sport = sport, .dport = f->dport, .hook = nfnl_log_msg_get_hook(m),
		.has_uid = nfnl_log_msg_test_uid(m) != 0, .uid = nfnl_log_msg_get_uid(m),
	};
	uint64_t inode = 0;

	if (l->round[i] == l->this_round)
		return; /* its sender in this apply is known */
	l->round[i] = l->this_round;
	inj_flowowner_socket(l->owner, &p, &f->owner, &inode);
	if (inode) {
		l->wait[l->n_wait] = (struct inj_owner_wait){ .inode = inode };
		l->wait_flow[l->n_wait++] = i;
	}
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct inj_flowlog *l = arg;
	struct nfnl_log_msg *m = NULL;
	struct injector_flow f = { 0 };
	const void *payload;
	uint16_t sport = 0;
	int len = 0;
	long i;

	if (nfnlmsg_log_msg_parse(nlmsg_hdr(msg), &m) < 0)
		return NL_SKIP;
	payload = nfnl_log_msg_get_payload(m, &len);
	if (payload && parse_packet(payload, len, &f, &sport)) {
		fault_of_prefix(nfnl_log_msg_get_prefix(m), f.fault_id, sizeof(f.fault_id));
		i = flow_add(l, &f);
		if (i >= 0)
			owner_first_sight(l, (size_t)i, m, sport);
	}
	nfnl_log_msg_put(m);
	return NL_OK;
}

int inj_flowlog_open(struct inj_flowlog **out, struct fd_error *err)
{
	struct inj_flowlog *l = calloc(1, sizeof(*l));
	struct nfnl_log *cfg = nfnl_log_alloc();
	int rc;

	if (!l || !cfg) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "flow log: out of memory");
		goto fail;
	}
	l->sk = nl_socket_alloc();
	if (!l->sk) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "flow log: out of memory");
		goto fail;
	}
	nl_socket_disable_seq_check(l->sk);
	nl_socket_modify_cb(l->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, l);
	rc = nfnl_connect(l->sk);
	if (rc == 0) {
		nfnl_log_set_group(cfg, INJ_NFT_LOG_GROUP);
		nfnl_log_set_copy_mode(cfg, NFNL_LOG_COPY_PACKET);
		nfnl_log_set_copy_range(cfg, 128);
		/* The unit is 1/100 s: the kernel sends what it holds after 10 ms at
		 * the latest (with the default queue threshold of 100 packets, the
		 * timer is what sends a lone flow's packets). */
		nfnl_log_set_flush_timeout(cfg, 1);
		rc = nfnl_log_create(l->sk, cfg);
	}
	if (rc < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -EIO,
				  "flow log: binding nfnetlink_log group %d: %s", INJ_NFT_LOG_GROUP,
				  nl_geterror(rc));
		goto fail;
	}
	nl_socket_set_nonblocking(l->sk);
	nl_socket_set_buffer_size(l->sk, 1 << 20, 0);
	/* Without it every owner says why (the flows themselves are still read). */
	inj_flowowner_open(&l->owner, &(struct fd_error){ 0 });
	nfnl_log_put(cfg);
	*out = l;
	return 0;
fail:
	if (cfg)
		nfnl_log_put(cfg);
	inj_flowlog_free(l);
	return rc;
}

void inj_flowlog_new_apply(struct inj_flowlog *l)
{
	if (l)
		l->this_round++;
}

int inj_flowlog_fd(const struct inj_flowlog *l)
{
	return l ? nl_socket_get_fd(l->sk) : -1;
}

int inj_flowlog_read(struct inj_flowlog *l, const struct inj_owner_scope *scope)
{
	int rc;

	if (!l)
		return 0;
	do
		rc = nl_recvmsgs_default(l->sk);
	while (rc >= 0);
	/* NLE_AGAIN: drained. Overruns (ENOBUFS) only lose counts. The flows
	 * stay where they are now: the waits may point at them. */
	for (size_t i = 0; i < l->n_wait; i++)
		l->wait[i].owner = &l->flows[l->wait_flow[i]].owner;
	inj_flowowner_procs("/proc", l->wait, l->n_wait, scope, INJ_OWNER_MAX_FDS);
	l->n_wait = 0;
	return 0;
}

size_t inj_flowlog_flows(const struct inj_flowlog *l, const struct injector_flow **out)
{
	*out = l ? l->flows : NULL;
	return l ? l->n : 0;
}

void inj_flowlog_free(struct inj_flowlog *l)
{
	if (!l)
		return;
	if (l->sk)
		nl_socket_free(l->sk);
	inj_flowowner_free(l->owner);
	free(l->flows);
	free(l->wait);
	free(l->wait_flow);
	free(l->round);
	free(l);
}

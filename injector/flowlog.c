/*
 * Flows that hit a drop/reject fault, read from nfnetlink_log (libnl-nf).
 *
 * Every drop/reject rule logs to group INJ_NFT_LOG_GROUP with the prefix
 * "firedrill FAULT-ID ". The holder drains the socket while it holds and
 * keeps one entry per (family, src, dst, protocol, dport): these are the
 * drill's hidden dependencies. The kernel drops log messages when nobody
 * listens or the socket buffer is full; that only loses counts, never
 * traffic, so reading is best-effort and never blocks.
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
	struct injector_flow *flows;
	size_t n, cap;
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

/* Fills the flow's addresses, protocol and port from the copied packet. */
static bool parse_packet(const uint8_t *p, int len, struct injector_flow *f)
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
	if ((f->protocol == IPPROTO_TCP || f->protocol == IPPROTO_UDP) && (size_t)len >= l4 + 4)
		f->dport = (uint16_t)(p[l4 + 2] << 8 | p[l4 + 3]);
	return true;
}

static void flow_add(struct inj_flowlog *l, const struct injector_flow *f)
{
	for (size_t i = 0; i < l->n; i++) {
		struct injector_flow *g = &l->flows[i];

		if (g->family == f->family && g->protocol == f->protocol && g->dport == f->dport &&
		    memcmp(g->src, f->src, 16) == 0 && memcmp(g->dst, f->dst, 16) == 0) {
			g->packets++;
			return;
		}
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct injector_flow *p;

		if (cap > MAX_FLOWS)
			return;
		p = realloc(l->flows, cap * sizeof(*p));
		if (!p)
			return;
		l->flows = p;
		l->cap = cap;
	}
	l->flows[l->n] = *f;
	l->flows[l->n].packets = 1;
	l->n++;
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct inj_flowlog *l = arg;
	struct nfnl_log_msg *m = NULL;
	struct injector_flow f = { 0 };
	const void *payload;
	int len = 0;

	if (nfnlmsg_log_msg_parse(nlmsg_hdr(msg), &m) < 0)
		return NL_SKIP;
	payload = nfnl_log_msg_get_payload(m, &len);
	if (payload && parse_packet(payload, len, &f)) {
		fault_of_prefix(nfnl_log_msg_get_prefix(m), f.fault_id, sizeof(f.fault_id));
		flow_add(l, &f);
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
	nfnl_log_put(cfg);
	*out = l;
	return 0;
fail:
	if (cfg)
		nfnl_log_put(cfg);
	inj_flowlog_free(l);
	return rc;
}

int inj_flowlog_fd(const struct inj_flowlog *l)
{
	return l ? nl_socket_get_fd(l->sk) : -1;
}

int inj_flowlog_read(struct inj_flowlog *l)
{
	int rc;

	if (!l)
		return 0;
	do
		rc = nl_recvmsgs_default(l->sk);
	while (rc >= 0);
	/* NLE_AGAIN: drained. Overruns (ENOBUFS) only lose counts. */
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
	free(l->flows);
	free(l);
}

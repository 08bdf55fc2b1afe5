/*
 * nftables for drop/reject faults, spoken directly in netlink with libnftnl
 * and libmnl.
 *
 * Why not libnftables text: parsing and evaluating 10,000 interval elements
 * costs ~50 ms of userspace time, and the table carries the `owner` flag,
 * which ties it to the netlink socket that created it: every later change
 * (the elements included) must travel over that same socket, which
 * libnftables does not share. So the whole injection is one batch on our
 * own socket: table, base chains, per fault one interval set per family
 * (+ a port set), and the rules. The kernel applies the batch atomically.
 *
 * Safety nets: owner flag (the kernel deletes the table when the socket
 * closes, i.e. when the holder dies), and each element carries the fault's
 * max duration as its timeout. No auto-merge: every element keeps its own
 * timeout; prefixes are collapsed beforehand so intervals never overlap.
 *
 * Where the time goes (bench/injector, docs/benchmarks.md): for 10,000
 * prefixes the kernel's insertion of the interval elements is nearly all
 * of it. So the batch carries as little as it can: adjacent prefixes
 * travel as one interval, elements take the set's timeout instead of
 * repeating it, and only the base chains the faults need are registered
 * (each new hook may patch kernel text through a static key).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "injector_int.h"

/* nft's datatype ids, so that `nft list` prints keys as addresses/ports. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_INET_SERVICE 13

#define ELEMS_PER_MSG 1024

struct msg_owner {
	uint32_t seq;
	int fault; /* index into faults[], -1 for table/chains */
};

struct inj_nft {
	struct mnl_socket *nl;
	char *buf;
	size_t len, cap;
	struct msg_owner *owners;
	size_t n_owners, cap_owners;
	char **fault_ids;
	size_t n_faults;
	uint32_t seq;
	uint32_t set_id;
	unsigned chains; /* bit i: base_chains[i] staged */
	bool committed;
};

struct inj_nft *inj_nft_new(void)
{
	struct inj_nft *n = calloc(1, sizeof(*n));

	if (n)
		n->seq = (uint32_t)time(NULL);
	return n;
}

size_t inj_nft_staged(const struct inj_nft *n)
{
	return n ? n->n_faults : 0;
}

int inj_nft_socket_fd(const struct inj_nft *n)
{
	return n && n->nl ? mnl_socket_get_fd(n->nl) : -1;
}

/* Room for one more message of at most max bytes; returns where it starts. */
static char *buf_reserve(struct inj_nft *n, size_t max)
{
	if (n->len + max > n->cap) {
		size_t cap = n->cap ? n->cap : 65536;
		char *p;

		while (cap < n->len + max)
			cap *= 2;
		p = realloc(n->buf, cap);
		if (!p)
			return NULL;
		memset(p + n->cap, 0, cap - n->cap);
		n->buf = p;
		n->cap = cap;
	}
	return n->buf + n->len;
}

static int owner_add(struct inj_nft *n, uint32_t seq, int fault)
{
	if (n->n_owners == n->cap_owners) {
		size_t cap = n->cap_owners ? n->cap_owners * 2 : 64;
		struct msg_owner *p = realloc(n->owners, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		n->owners = p;
		n->cap_owners = cap;
	}
	n->owners[n->n_owners++] = (struct msg_owner){ seq, fault };
	return 0;
}

/* Starts a message of type; the caller fills the payload then calls msg_end. */
static struct nlmsghdr *msg_begin(struct inj_nft *n, uint16_t type, uint16_t flags, size_t max)
{
	char *p = buf_reserve(n, max);

	if (!p)
		return NULL;
	return nftnl_nlmsg_build_hdr(p, type, NFPROTO_INET, flags | NLM_F_ACK, n->seq++);
}

static int msg_end(struct inj_nft *n, struct nlmsghdr *nlh, int fault)
{
	n->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return owner_add(n, nlh->nlmsg_seq, fault);
}

static int stage_table(struct inj_nft *n)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int rc = -ENOMEM;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, INJ_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	nlh = msg_begin(n, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, 512);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		rc = msg_end(n, nlh, -1);
	}
	nftnl_table_free(t);
	return rc;
}

enum { CHAIN_INPUT, CHAIN_FORWARD, CHAIN_OUTPUT };

static const struct {
	const char *name;
	uint32_t hook;
} base_chains[] = {
	[CHAIN_INPUT] = { "input", NF_INET_LOCAL_IN },
	[CHAIN_FORWARD] = { "forward", NF_INET_FORWARD },
	[CHAIN_OUTPUT] = { "output", NF_INET_LOCAL_OUT },
};

/* Stages base chain i unless this batch has it already. */
static int stage_chain(struct inj_nft *n, size_t i)
{
	struct nftnl_chain *c;
	struct nlmsghdr *nlh;
	int rc = -ENOMEM;

	if (n->chains & (1U << i))
		return 0;
	c = nftnl_chain_alloc();
	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, INJ_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, base_chains[i].name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, base_chains[i].hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = msg_begin(n, NFT_MSG_NEWCHAIN, NLM_F_CREATE, 1024);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		rc = msg_end(n, nlh, -1);
	}
	nftnl_chain_free(c);
	if (rc == 0)
		n->chains |= 1U << i;
	return rc;
}

static void addr_end(const struct fd_cidr *c, uint8_t *out, bool *overflow)
{
	int bytes = c->family == AF_INET ? 4 : 16;
	int carry = 1;

	memcpy(out, c->addr, 16);
	for (int bit = c->prefix_len; bit < bytes * 8; bit++)
		out[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	/* +1: interval ends are exclusive. */
	for (int i = bytes - 1; i >= 0 && carry; i--) {
		out[i] = (uint8_t)(out[i] + 1);
		carry = out[i] == 0;
	}
	*overflow = carry != 0;
}

static struct nftnl_set *set_new(const char *name, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, INJ_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

static int flush_elems(struct inj_nft *n, struct nftnl_set **s, const char *name, uint32_t id,
		       int fault, size_t count)
{
	struct nlmsghdr *nlh;
	int rc;

	if (count == 0)
		return 0;
	nlh = msg_begin(n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, count * 96 + 512);
	if (!nlh)
		return -ENOMEM;
	nftnl_set_elems_nlmsg_build_payload(nlh, *s);
	rc = msg_end(n, nlh, fault);
	nftnl_set_free(*s);
	*s = set_new(name, id);
	return rc < 0 ? rc : *s ? 0 : -ENOMEM;
}

/* An element without its own timeout gets the set's (NFTA_SET_TIMEOUT,
 * the fault's max duration) from the kernel: every element still expires
 * on its own, and 20,000 timeout attributes less cost the kernel ~10%. */
static int add_elem(struct nftnl_set *s, const uint8_t *key, size_t klen, bool end)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, (uint32_t)klen);
	if (end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, e);
	return 0;
}

/* The end of the interval starting at cidrs[*i], swallowing the prefixes
 * that follow it without a gap (collapsing keeps siblings only; 10.0.1.0/24
 * and 10.0.2.0/24 are adjacent but not siblings). *i moves to the last. */
static void interval_end(const struct inj_nft_fault *f, size_t *i, size_t klen, uint8_t *end,
			 bool *overflow)
{
	addr_end(&f->cidrs[*i], end, overflow);
	while (!*overflow && *i + 1 < f->n_cidrs &&
	       f->cidrs[*i + 1].family == f->cidrs[*i].family &&
	       memcmp(f->cidrs[*i + 1].addr, end, klen) == 0) {
		(*i)++;
		addr_end(&f->cidrs[*i], end, overflow);
	}
}

/* One interval set of the prefixes of one family, then its elements. */
static int stage_addr_set(struct inj_nft *n, const struct inj_nft_fault *f, int fault,
			  int family, const char *name, uint32_t id)
{
	size_t klen = family == AF_INET ? 4 : 16;
	struct nftnl_set *s = set_new(name, id);
	struct nlmsghdr *nlh;
	size_t pending = 0;
	int rc = -ENOMEM;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, (uint32_t)klen);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL | NFT_SET_TIMEOUT);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, f->timeout_ms);
	nlh = msg_begin(n, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, 1024);
	if (!nlh)
		goto out;
	nftnl_set_nlmsg_build_payload(nlh, s);
	rc = msg_end(n, nlh, fault);
	nftnl_set_free(s);
	s = set_new(name, id);
	if (rc < 0 || !s)
		goto out;
	for (size_t i = 0; i < f->n_cidrs; i++) {
		const struct fd_cidr *c = &f->cidrs[i];
		uint8_t end[16];
		bool overflow;

		if (c->family != family)
			continue;
		interval_end(f, &i, klen, end, &overflow);
		rc = add_elem(s, c->addr, klen, false);
		if (rc == 0 && !overflow)
			rc = add_elem(s, end, klen, true);
		if (rc < 0)
			goto out;
		pending += overflow ? 1 : 2;
		if (pending >= ELEMS_PER_MSG) {
			rc = flush_elems(n, &s, name, id, fault, pending);
			pending = 0;
			if (rc < 0)
				goto out;
		}
	}
	rc = flush_elems(n, &s, name, id, fault, pending);
out:
	nftnl_set_free(s);
	return rc;
}

static int stage_port_set(struct inj_nft *n, const struct inj_nft_fault *f, int fault,
			  const char *name, uint32_t id)
{
	struct nftnl_set *s = set_new(name, id);
	struct nlmsghdr *nlh;
	int rc = -ENOMEM;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, NFT_TYPE_INET_SERVICE);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 2);
	nlh = msg_begin(n, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, 1024);
	if (!nlh)
		goto out;
	nftnl_set_nlmsg_build_payload(nlh, s);
	rc = msg_end(n, nlh, fault);
	nftnl_set_free(s);
	s = set_new(name, id);
	if (rc < 0 || !s)
		goto out;
	for (size_t i = 0; i < f->n_ports; i++) {
		uint16_t p = htons(f->ports[i]);
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		if (!e) {
			rc = -ENOMEM;
			goto out;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &p, sizeof(p));
		nftnl_set_elem_add(s, e);
	}
	rc = flush_elems(n, &s, name, id, fault, f->n_ports);
out:
	nftnl_set_free(s);
	return rc;
}

/* ---- rule expressions ---- */

static int expr_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static struct nftnl_expr *expr_meta(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *expr_cmp(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *expr_payload(uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
	return e;
}

static struct nftnl_expr *expr_lookup(const char *set, uint32_t id)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
	}
	return e;
}

static struct nftnl_expr *expr_log(const char *prefix)
{
	struct nftnl_expr *e = nftnl_expr_alloc("log");

	if (e) {
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, INJ_NFT_LOG_GROUP);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_SNAPLEN, 128);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
	}
	return e;
}

static struct nftnl_expr *expr_verdict_drop(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	}
	return e;
}

static struct nftnl_expr *expr_reject(bool tcp)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE,
				   tcp ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMPX_UNREACH);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE,
				  tcp ? 0 : NFT_REJECT_ICMPX_HOST_UNREACH);
	}
	return e;
}

struct rule_spec {
	const char *chain;
	int family;
	bool match_src;
	uint8_t l4proto;     /* 0 = any */
	const char *addr_set;
	uint32_t addr_set_id;
	const char *port_set;/* NULL = any port */
	uint32_t port_set_id;
	bool reject;
	const char *log_prefix;
};

static int stage_rule(struct inj_nft *n, const struct rule_spec *rs, int fault)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	uint8_t nfproto = rs->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	uint32_t off, alen = rs->family == AF_INET ? 4 : 16;
	struct nlmsghdr *nlh;
	int rc = 0;

	if (!r)
		return -ENOMEM;
	if (rs->family == AF_INET)
		off = rs->match_src ? 12 : 16;
	else
		off = rs->match_src ? 8 : 24;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, INJ_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, rs->chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	rc |= expr_add(r, expr_meta(NFT_META_NFPROTO));
	rc |= expr_add(r, expr_cmp(&nfproto, 1));
	rc |= expr_add(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, off, alen));
	rc |= expr_add(r, expr_lookup(rs->addr_set, rs->addr_set_id));
	if (rs->l4proto) {
		rc |= expr_add(r, expr_meta(NFT_META_L4PROTO));
		rc |= expr_add(r, expr_cmp(&rs->l4proto, 1));
	}
	if (rs->port_set) {
		rc |= expr_add(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2));
		rc |= expr_add(r, expr_lookup(rs->port_set, rs->port_set_id));
	}
	rc |= expr_add(r, expr_log(rs->log_prefix));
	if (rs->reject)
		rc |= expr_add(r, expr_reject(rs->l4proto == IPPROTO_TCP));
	else
		rc |= expr_add(r, expr_verdict_drop());
	if (rc == 0) {
		nlh = msg_begin(n, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, 4096);
		if (nlh) {
			nftnl_rule_nlmsg_build_payload(nlh, r);
			rc = msg_end(n, nlh, fault);
		} else {
			rc = -ENOMEM;
		}
	} else {
		rc = -ENOMEM;
	}
	nftnl_rule_free(r);
	return rc;
}

/* Protocol variants one fault needs: reject needs a TCP rule (reset) and a
 * rule for the rest (ICMP); ports need an explicit l4proto for `th dport`. */
static size_t protocols_for(const struct inj_nft_fault *f, uint8_t out[3])
{
	size_t k = 0;

	if (f->protocol == PROTOCOL_TCP) {
		out[k++] = IPPROTO_TCP;
	} else if (f->protocol == PROTOCOL_UDP) {
		out[k++] = IPPROTO_UDP;
	} else if (f->n_ports) {
		out[k++] = IPPROTO_TCP;
		out[k++] = IPPROTO_UDP;
	} else if (f->reject) {
		out[k++] = IPPROTO_TCP;
		out[k++] = 0;
	} else {
		out[k++] = 0;
	}
	return k;
}

static int stage_rules(struct inj_nft *n, const struct inj_nft_fault *f, int fault, int family,
		       const char *aset, uint32_t aid, const char *pset, uint32_t pid)
{
	const size_t chains[2] = { f->direction == DIRECTION_EGRESS ? CHAIN_OUTPUT : CHAIN_INPUT,
				   CHAIN_FORWARD };
	char prefix[128];
	uint8_t protos[3];
	size_t np = protocols_for(f, protos);
	int rc = 0;

	snprintf(prefix, sizeof(prefix), "firedrill %.100s ", f->fault_id);
	for (size_t c = 0; c < 2 && rc == 0; c++) {
		rc = stage_chain(n, chains[c]);
		for (size_t p = 0; p < np && rc == 0; p++) {
			struct rule_spec rs = {
				.chain = base_chains[chains[c]].name, .family = family,
				.match_src = f->direction == DIRECTION_INGRESS,
				.l4proto = protos[p], .addr_set = aset, .addr_set_id = aid,
				.port_set = pset, .port_set_id = pid, .reject = f->reject,
				.log_prefix = prefix,
			};
			rc = stage_rule(n, &rs, fault);
		}
	}
	return rc;
}

static int stage_fault(struct inj_nft *n, const struct inj_nft_fault *f, int fault)
{
	char pname[32], aname[32];
	uint32_t pid = 0;
	int rc = 0;

	snprintf(pname, sizeof(pname), "f%d_ports", fault);
	if (f->n_ports) {
		pid = ++n->set_id;
		rc = stage_port_set(n, f, fault, pname, pid);
	}
	for (int fam = 0; fam < 2 && rc == 0; fam++) {
		int family = fam == 0 ? AF_INET : AF_INET6;
		bool any = false;
		uint32_t aid;

		for (size_t i = 0; i < f->n_cidrs && !any; i++)
			any = f->cidrs[i].family == family;
		if (!any)
			continue;
		snprintf(aname, sizeof(aname), "f%d_v%d", fault, family == AF_INET ? 4 : 6);
		aid = ++n->set_id;
		rc = stage_addr_set(n, f, fault, family, aname, aid);
		if (rc == 0)
			rc = stage_rules(n, f, fault, family, aname, aid,
					 f->n_ports ? pname : NULL, pid);
	}
	return rc;
}

int inj_nft_stage(struct inj_nft *n, const struct inj_nft_fault *f, struct fd_error *err)
{
	char **ids;
	int rc;

	if (n->committed)
		return fd_error_set(err, FD_ERR_INTERNAL, -EALREADY,
				    "fault %s: the nft batch was already sent", f->fault_id);
	if (n->len == 0) {
		/* Batch begin marker, then the table and its base chains. */
		char *p = buf_reserve(n, 64);

		if (!p)
			goto nomem;
		nftnl_batch_begin(p, n->seq++);
		n->len += NLMSG_ALIGN(((struct nlmsghdr *)p)->nlmsg_len);
		if (stage_table(n) < 0)
			goto nomem;
	}
	ids = realloc(n->fault_ids, (n->n_faults + 1) * sizeof(*ids));
	if (!ids)
		goto nomem;
	n->fault_ids = ids;
	ids[n->n_faults] = strdup(f->fault_id);
	if (!ids[n->n_faults])
		goto nomem;
	rc = stage_fault(n, f, (int)n->n_faults);
	n->n_faults++;
	if (rc < 0)
		goto nomem;
	return 0;
nomem:
	return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "fault %s: out of memory", f->fault_id);
}

static int socket_open(struct mnl_socket **out, size_t sndbuf, struct fd_error *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int one = 1, fd, size = (int)(sndbuf > 1 << 20 ? sndbuf + 65536 : 1 << 20);

	if (!nl)
		return fd_error_set(err, FD_ERR_ENV, -errno, "nftables: netlink socket: %s",
				    strerror(errno));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl);
		return fd_error_set(err, FD_ERR_ENV, -e, "nftables: netlink bind: %s", strerror(e));
	}
	fd = mnl_socket_get_fd(nl);
	/* A large batch travels in one sendmsg; acks stay small (CAP_ACK). */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	*out = nl;
	return 0;
}

/* The kernel's extended-ack text of an error message, if any. */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	mnl_attr_for_each_payload((const void *)((const char *)e + off),
				  mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

static const char *fault_of_seq(const struct inj_nft *n, uint32_t seq)
{
	for (size_t i = 0; i < n->n_owners; i++)
		if (n->owners[i].seq == seq)
			return n->owners[i].fault >= 0 ? n->fault_ids[n->owners[i].fault] : NULL;
	return NULL;
}

/* Reads every ack of the batch; returns the first error, described. */
static int read_acks(struct inj_nft *n, struct fd_error *err)
{
	char buf[16384];
	size_t acked = 0;
	int first = 0;

	while (acked < n->n_owners) {
		ssize_t len = recv(mnl_socket_get_fd(n->nl), buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)len;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break; /* the kernel answered everything it will */
			return fd_error_set(err, FD_ERR_ENV, -errno, "nftables: reading acks: %s",
					    strerror(errno));
		}
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			acked++;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error != 0 && first == 0) {
				const char *fid = fault_of_seq(n, nlh->nlmsg_seq);
				const char *xm = extack_msg(nlh);

				first = e->error;
				fd_error_set(err, FD_ERR_ENV, first,
					     "%s%s%snftables: table inet %s: %s%s%s",
					     fid ? "fault " : "", fid ? fid : "", fid ? ": " : "",
					     INJ_NFT_TABLE,
					     first == -EEXIST && !fid ?
						"already exists (another firedrill injection holds this namespace)" :
						strerror(-first),
					     xm ? ": " : "", xm ? xm : "");
			}
		}
	}
	return first;
}

int inj_nft_commit(struct inj_nft *n, struct fd_error *err)
{
	char *p;
	ssize_t sent;
	int rc;

	if (n->committed || n->n_faults == 0)
		return 0;
	p = buf_reserve(n, 64);
	if (!p)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "nftables: out of memory");
	nftnl_batch_end(p, n->seq++);
	n->len += NLMSG_ALIGN(((struct nlmsghdr *)p)->nlmsg_len);
	rc = inj_seam_check("nft batch");
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "fault %s: nftables: %s (test seam)",
				    n->fault_ids[0], strerror(-rc));
	if (!n->nl) {
		rc = socket_open(&n->nl, n->len, err);
		if (rc < 0)
			return rc;
	}
	sent = mnl_socket_sendto(n->nl, n->buf, n->len);
	if (sent < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "fault %s: nftables: sending batch: %s",
				    n->fault_ids[0], strerror(errno));
	rc = read_acks(n, err);
	if (rc < 0) {
		/* The kernel aborted the whole batch: nothing of it exists. */
		mnl_socket_close(n->nl);
		n->nl = NULL;
		return rc;
	}
	n->committed = true;
	free(n->buf);
	n->buf = NULL;
	n->len = n->cap = 0;
	return 0;
}

static int send_deltable(struct mnl_socket *nl, struct fd_error *err)
{
	char buf[8192] = { 0 }; /* no stack bytes to the kernel (valgrind) */
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL);
	size_t len = 0;
	ssize_t r;
	int rc;

	if (!t)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "nftables: out of memory");
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, INJ_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_batch_begin(buf, seq++);
	len += NLMSG_ALIGN(((struct nlmsghdr *)buf)->nlmsg_len);
	nlh = nftnl_nlmsg_build_hdr(buf + len, NFT_MSG_DELTABLE, NFPROTO_INET, NLM_F_ACK, seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	len += NLMSG_ALIGN(nlh->nlmsg_len);
	nftnl_table_free(t);
	nftnl_batch_end(buf + len, seq++);
	len += NLMSG_ALIGN(((struct nlmsghdr *)(buf + len))->nlmsg_len);
	if (mnl_socket_sendto(nl, buf, len) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "nftables: deleting table inet %s: %s",
				    INJ_NFT_TABLE, strerror(errno));
	r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (r < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "nftables: deleting table inet %s: %s",
				    INJ_NFT_TABLE, strerror(errno));
	rc = mnl_cb_run(buf, (size_t)r, 0, mnl_socket_get_portid(nl), NULL, NULL);
	if (rc < 0 && errno == ENOENT)
		return 0; /* already gone (expired holder, earlier revert) */
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "nftables: deleting table inet %s: %s",
				    INJ_NFT_TABLE, strerror(errno));
	return 0;
}

int inj_nft_remove(struct inj_nft *n, struct fd_error *err)
{
	int rc = 0;

	if (!n || !n->nl)
		return 0;
	if (n->committed) {
		rc = inj_seam_check("nft delete table");
		if (rc < 0)
			return fd_error_set(err, FD_ERR_ENV, rc,
					    "nftables: deleting table inet %s: %s (test seam)",
					    INJ_NFT_TABLE, strerror(-rc));
		rc = send_deltable(n->nl, err);
	}
	if (rc == 0) {
		mnl_socket_close(n->nl);
		n->nl = NULL;
		n->committed = false;
	}
	return rc;
}

void inj_nft_free(struct inj_nft *n)
{
	if (!n)
		return;
	if (n->nl)
		mnl_socket_close(n->nl);
	for (size_t i = 0; i < n->n_faults; i++)
		free(n->fault_ids[i]);
	free(n->fault_ids);
	free(n->owners);
	free(n->buf);
	free(n);
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	*(int *)data = 1;
	return MNL_CB_OK;
}

int inj_nft_table_exists(struct fd_error *err)
{
	char buf[8192];
	struct mnl_socket *nl = NULL;
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int found = 0, rc;
	ssize_t r;

	if (!t)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "nftables: out of memory");
	rc = socket_open(&nl, 0, err);
	if (rc < 0)
		goto out;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, INJ_NFT_TABLE);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, 1);
	nftnl_table_nlmsg_build_payload(nlh, t);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "nftables: %s", strerror(errno));
		goto out;
	}
	rc = 0;
	while ((r = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)r, 1, mnl_socket_get_portid(nl), table_cb, &found);
		if (rc <= 0)
			break;
	}
	rc = rc < 0 && errno != ENOENT ?
		fd_error_set(err, FD_ERR_ENV, -errno, "nftables: looking up table: %s", strerror(errno)) :
		found;
out:
	nftnl_table_free(t);
	if (nl)
		mnl_socket_close(nl);
	return rc;
}

int inj_nft_table_delete(struct fd_error *err)
{
	struct mnl_socket *nl = NULL;
	int rc = socket_open(&nl, 0, err);

	if (rc < 0)
		return rc;
	rc = send_deltable(nl, err);
	mnl_socket_close(nl);
	return rc;
}

/*
 * Fault targets: literal prefixes, host names resolved at inject time, and
 * AWS ip-ranges.json prefix lists, collapsed into sorted disjoint prefixes.
 *
 * Collapsing matters for correctness, not only size: nft interval sets
 * refuse overlapping intervals, and auto-merge (which would accept them)
 * squashes per-element timeouts, so overlaps are removed here.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "injector_int.h"

static int cidr_cmp(const void *pa, const void *pb)
{
	const struct fd_cidr *a = pa, *b = pb;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
	if (r)
		return r;
	return (int)a->prefix_len - (int)b->prefix_len;
}

/* b is the upper sibling of a: same length, differing only in the last bit. */
static bool siblings(const struct fd_cidr *a, const struct fd_cidr *b)
{
	int bit;
	struct fd_cidr up;

	if (a->family != b->family || a->prefix_len != b->prefix_len || a->prefix_len == 0)
		return false;
	bit = a->prefix_len - 1;
	if (a->addr[bit / 8] & (0x80 >> (bit % 8)))
		return false;
	up = *a;
	up.addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	return memcmp(up.addr, b->addr, 16) == 0;
}

size_t inj_cidr_collapse(struct fd_cidr *c, size_t n)
{
	bool changed = true;

	while (changed && n > 1) {
		size_t out = 0;

		changed = false;
		qsort(c, n, sizeof(*c), cidr_cmp);
		for (size_t i = 0; i < n; i++) {
			if (out > 0 && fd_cidr_contains(&c[out - 1], c[i].family, c[i].addr) &&
			    c[out - 1].prefix_len <= c[i].prefix_len) {
				changed = true;
				continue;
			}
			if (out > 0 && siblings(&c[out - 1], &c[i])) {
				c[out - 1].prefix_len--;
				changed = true;
				continue;
			}
			c[out++] = c[i];
		}
		n = out;
	}
	return n;
}

static int cidr_push(struct fd_cidr **v, size_t *n, size_t *cap, const struct fd_cidr *c)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct fd_cidr *p = realloc(*v, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = *c;
	return 0;
}

static bool field_matches(json_t *entry, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(entry, key));

	return !want || (v && strcmp(v, want) == 0);
}

static int load_array(json_t *arr, const char *key, const char *service, const char *region,
		      bool include_global, struct fd_cidr **v, size_t *n, size_t *cap,
		      const char *path, struct fd_error *err)
{
	size_t i;
	json_t *e;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "%s: \"%s\" is not an array", path, key);
	json_array_foreach(arr, i, e) {
		const char *pfx = json_string_value(json_object_get(e, key));
		const char *reg = json_string_value(json_object_get(e, "region"));
		struct fd_cidr c;
		bool region_ok;

		if (!pfx)
			return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
					    "%s: entry %zu has no \"%s\"", path, i, key);
		region_ok = field_matches(e, "region", region) ||
			    (include_global && reg && strcmp(reg, "GLOBAL") == 0);
		if (!field_matches(e, "service", service) || !region_ok)
			continue;
		if (fd_cidr_parse(pfx, &c) < 0)
			return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
					    "%s: entry %zu: \"%s\" is not a prefix", path, i, pfx);
		if (cidr_push(v, n, cap, &c) < 0)
			return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	return 0;
}

int inj_aws_ranges_load(const char *path, const char *service, const char *region,
			bool include_global, struct fd_cidr **cidrs, size_t *n,
			struct fd_error *err)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	size_t cap = *n;
	int rc;

	if (!root)
		return fd_error_set(err, jerr.line > 0 ? FD_ERR_INPUT : FD_ERR_ENV, -EINVAL,
				    "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	rc = load_array(json_object_get(root, "prefixes"), "ip_prefix", service, region,
			include_global, cidrs, n, &cap, path, err);
	if (rc == 0)
		rc = load_array(json_object_get(root, "ipv6_prefixes"), "ipv6_prefix", service,
				region, include_global, cidrs, n, &cap, path, err);
	json_decref(root);
	return rc;
}

static int resolve_host(const char *host, struct fd_cidr **v, size_t *n, size_t *cap,
			json_t *hosts, struct fd_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	json_t *addrs = json_array();
	int rc;

	if (!addrs)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		json_decref(addrs);
		return fd_error_set(err, FD_ERR_ENV, -EHOSTUNREACH, "cannot resolve host \"%s\": %s",
				    host, gai_strerror(rc));
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct fd_cidr c = { .family = ai->ai_family };
		char buf[FD_CIDR_STRLEN];

		if (ai->ai_family == AF_INET) {
			memcpy(c.addr, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
			c.prefix_len = 32;
		} else if (ai->ai_family == AF_INET6) {
			memcpy(c.addr, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
			c.prefix_len = 128;
		} else {
			continue;
		}
		if (cidr_push(v, n, cap, &c) < 0) {
			rc = -ENOMEM;
			break;
		}
		json_array_append_new(addrs, json_string(fd_cidr_format(&c, buf, sizeof(buf))));
	}
	freeaddrinfo(res);
	json_object_set_new(hosts, host, addrs);
	return rc == 0 ? 0 : fd_error_set(err, FD_ERR_INTERNAL, rc, "out of memory");
}

const char INJ_GUARD_EVERY_ADDRESS[] = "the whole address space";
const char INJ_GUARD_LOOPBACK[] = "loopback in the host's namespace";

static bool is_loopback(const struct fd_cidr *c)
{
	static const uint8_t v6lo[16] = { [15] = 1 };
	struct fd_cidr lo4 = { .family = AF_INET, .addr = { 127 }, .prefix_len = 8 };
	struct fd_cidr lo6 = { .family = AF_INET6, .prefix_len = 128 };

	memcpy(lo6.addr, v6lo, 16);
	/* Overlap either way: the target inside loopback, or loopback inside it. */
	return fd_cidr_contains(&lo4, c->family, c->addr) || fd_cidr_contains(c, AF_INET, lo4.addr) ||
	       fd_cidr_contains(c, AF_INET6, lo6.addr);
}

const char *inj_guard_cidr(const struct fd_cidr *c, bool host_ns)
{
	if (fd_cidr_is_default(c))
		return INJ_GUARD_EVERY_ADDRESS;
	if (host_ns && is_loopback(c))
		return INJ_GUARD_LOOPBACK;
	return NULL;
}

static int check_guards(const struct scenario_fault *f, const struct driver_ctx *ctx,
			const struct inj_targets *t, struct fd_error *err)
{
	/* judged where the fault applies: the thread is inside its place (a
	 * netns-path or pid: place may be the host's own namespace) */
	bool host_ns = inj_in_host_netns();

	if (ctx->force)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		const char *why = inj_guard_cidr(&t->cidrs[i], host_ns);
		char buf[FD_CIDR_STRLEN];

		fd_cidr_format(&t->cidrs[i], buf, sizeof(buf));
		if (why == INJ_GUARD_EVERY_ADDRESS)
			return fd_error_set(err, FD_ERR_INPUT, -EPERM,
					    "fault %s: target %s covers every address (guarded; use --force)",
					    f->id, buf);
		if (why == INJ_GUARD_LOOPBACK)
			return fd_error_set(err, FD_ERR_INPUT, -EPERM,
					    "fault %s: target %s is the host's loopback (guarded; use --force or scope the drill to a namespace)",
					    f->id, buf);
	}
	return 0;
}

int inj_targets_resolve(const struct scenario_fault *f, const struct driver_ctx *ctx,
			struct inj_targets *out, struct fd_error *err)
{
	const struct scenario_targets *st = &f->targets;
	struct inj_targets t = { 0 };
	size_t cap = 0;
	int rc = 0;

	t.hosts = json_object();
	if (!t.hosts)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (size_t i = 0; i < st->n_cidrs && rc == 0; i++)
		if (cidr_push(&t.cidrs, &t.n, &cap, &st->cidrs[i]) < 0)
			rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (size_t i = 0; i < st->n_hosts && rc == 0; i++)
		rc = resolve_host(st->hosts[i], &t.cidrs, &t.n, &cap, t.hosts, err);
	if (rc == 0 && st->prefix_list) {
		size_t before = t.n;

		rc = inj_aws_ranges_load(st->prefix_list->file, st->prefix_list->service,
					 st->prefix_list->region, st->prefix_list->include_global,
					 &t.cidrs, &t.n, err);
		t.n_from_list = t.n - before;
		if (rc == 0 && t.n_from_list == 0)
			rc = fd_error_set(err, FD_ERR_INPUT, -ENOENT,
					  "%s: no prefix matches service %s, region %s",
					  st->prefix_list->file,
					  st->prefix_list->service ? st->prefix_list->service : "(any)",
					  st->prefix_list->region ? st->prefix_list->region : "(any)");
	}
	if (rc == 0 && t.n == 0)
		rc = fd_error_set(err, FD_ERR_INPUT, -EINVAL, "no targets");
	if (rc == 0) {
		t.n = inj_cidr_collapse(t.cidrs, t.n);
		for (size_t i = 0; i < t.n; i++) {
			if (t.cidrs[i].family == AF_INET)
				t.n_v4++;
			else
				t.n_v6++;
		}
		rc = check_guards(f, ctx, &t, err);
	}
	if (rc < 0) {
		if (err && strncmp(err->msg, "fault ", 6) != 0)
			fd_error_prefix(err, "fault %s", f->id);
		inj_targets_free(&t);
		return rc;
	}
	*out = t;
	return 0;
}

void inj_targets_free(struct inj_targets *t)
{
	free(t->cidrs);
	json_decref(t->hosts);
	memset(t, 0, sizeof(*t));
}

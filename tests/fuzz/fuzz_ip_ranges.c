/*
 * libFuzzer harness for the AWS ip-ranges.json loader and the prefix
 * collapse behind it: any bytes must either load or be refused with a
 * message, never crash, leak or hang; what loads must collapse into sorted,
 * disjoint, sibling-free prefixes that still cover every loaded prefix.
 *
 * The loader reads a path (json_load_file), so each input goes through a
 * memfd opened as /proc/self/fd/N: the real entry point, no test seam.
 * Seed corpus: scenarios/library/aws-ip-ranges-sample.json and
 * tests/fuzz/corpus/ip_ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "injector_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Above this, the quadratic cover check below would dominate the run. */
#define COVER_CHECK_MAX 512

struct filter {
	const char *service, *region;
	bool include_global;
};

static const struct filter filters[] = {
	{ NULL, NULL, false },
	{ "S3", "us-east-1", true },
};

static int cidr_bytes(const struct fd_cidr *c)
{
	return c->family == AF_INET ? 4 : 16;
}

static void check_collapsed(const struct fd_cidr *loaded, size_t n_loaded,
			    const struct fd_cidr *c, size_t n)
{
	if (n > n_loaded || (n_loaded > 0 && n == 0))
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		char buf[FD_CIDR_STRLEN];
		struct fd_cidr back;

		/* format and parse agree: what the journal prints reloads */
		if (fd_cidr_parse(fd_cidr_format(&c[i], buf, sizeof(buf)), &back) < 0 ||
		    memcmp(&back, &c[i], sizeof(back)) != 0)
			__builtin_trap();
		if (i == 0)
			continue;
		if (c[i - 1].family == c[i].family &&
		    (fd_cidr_contains(&c[i - 1], c[i].family, c[i].addr) ||
		     fd_cidr_contains(&c[i], c[i - 1].family, c[i - 1].addr)))
			__builtin_trap(); /* overlap: nft would refuse the interval set */
		if (c[i - 1].family > c[i].family ||
		    (c[i - 1].family == c[i].family &&
		     memcmp(c[i - 1].addr, c[i].addr, (size_t)cidr_bytes(&c[i])) >= 0))
			__builtin_trap(); /* not sorted */
	}
	if (n_loaded > COVER_CHECK_MAX)
		return;
	for (size_t i = 0; i < n_loaded; i++) {
		bool covered = false;

		for (size_t j = 0; j < n && !covered; j++)
			covered = c[j].prefix_len <= loaded[i].prefix_len &&
				  fd_cidr_contains(&c[j], loaded[i].family, loaded[i].addr);
		if (!covered)
			__builtin_trap(); /* collapsing lost a prefix */
	}
}

static void run_filter(const char *path, const struct filter *f)
{
	struct fd_cidr *cidrs = NULL, *copy;
	size_t n = 0;
	struct fd_error err = { 0 };

	if (inj_aws_ranges_load(path, f->service, f->region, f->include_global, &cidrs, &n,
				&err) < 0) {
		if (err.msg[0] == '\0')
			__builtin_trap(); /* every refusal says why */
		free(cidrs);
		return;
	}
	copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (n && !copy)
		abort();
	if (copy)
		memcpy(copy, cidrs, n * sizeof(*copy));
	check_collapsed(copy, n, cidrs, inj_cidr_collapse(cidrs, n));
	free(copy);
	free(cidrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("fuzz-ip-ranges", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		run_filter(path, &filters[i]);
	return 0;
}

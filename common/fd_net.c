#include "fd_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool host_bits_clear(const struct fd_cidr *c)
{
	int bytes = c->family == AF_INET ? 4 : 16;

	for (int bit = c->prefix_len; bit < bytes * 8; bit++)
		if (c->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

int fd_cidr_parse(const char *s, struct fd_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct fd_cidr c = { 0 };
	int max;

	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, c.addr) == 1)
		c.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, c.addr) == 1)
		c.family = AF_INET6;
	else
		return -EINVAL;
	max = c.family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		long len;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		len = strtol(slash + 1, &end, 10);
		if (*end || len < 0 || len > max)
			return -EINVAL;
		c.prefix_len = (uint8_t)len;
	} else {
		c.prefix_len = (uint8_t)max;
	}
	if (!host_bits_clear(&c))
		return -EINVAL;
	*out = c;
	return 0;
}

char *fd_cidr_format(const struct fd_cidr *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, c->prefix_len);
	return buf;
}

bool fd_cidr_contains(const struct fd_cidr *c, int family, const uint8_t *addr)
{
	if (family != c->family)
		return false;
	for (int bit = 0; bit < c->prefix_len; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		if ((c->addr[bit / 8] & m) != (addr[bit / 8] & m))
			return false;
	}
	return true;
}

bool fd_cidr_is_default(const struct fd_cidr *c)
{
	return c->prefix_len == 0;
}

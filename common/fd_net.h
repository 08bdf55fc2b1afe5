/*
 * Network prefixes shared by the scenario model, the injector and the
 * scorer (dns expect-in).
 */
#ifndef FD_NET_H
#define FD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct fd_cidr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network byte order; 4 bytes used for AF_INET */
	uint8_t prefix_len;
};

/*
 * Parses "10.0.0.0/8", "2600:1fa0::/32" or a bare address (a /32 or /128).
 * Host bits set below the prefix are refused (-EINVAL) so that a typo such
 * as 10.1.2.3/8 is caught rather than silently widened.
 */
int fd_cidr_parse(const char *s, struct fd_cidr *out);

/* "10.0.0.0/8"; a full-length prefix is printed with its /32 or /128. */
char *fd_cidr_format(const struct fd_cidr *c, char *buf, size_t len);

/* True when addr (4 or 16 bytes, per family) lies inside c. */
bool fd_cidr_contains(const struct fd_cidr *c, int family, const uint8_t *addr);

/* True for 0.0.0.0/0 and ::/0. */
bool fd_cidr_is_default(const struct fd_cidr *c);

#define FD_CIDR_STRLEN 64

#endif

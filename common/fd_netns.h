/*
 * Entering a named network namespace (`ip netns` convention: the handle is
 * bind-mounted at /run/netns/NAME). A drill scoped to `scope: {netns: X}`
 * enters X once, before it opens any socket, netlink handle or nft context;
 * files (the store) are unaffected because the mount namespace is not
 * changed.
 */
#ifndef FD_NETNS_H
#define FD_NETNS_H

#include "fd_error.h"

/* setns() into /run/netns/NAME. FD_ERR_ENV when missing or not permitted. */
int fd_netns_enter(const char *name, struct fd_error *err);

/* An fd of the current network namespace (to come back later), or -errno. */
int fd_netns_current(void);

/* setns() back to a namespace fd from fd_netns_current(). */
int fd_netns_restore(int ns_fd, struct fd_error *err);

#endif

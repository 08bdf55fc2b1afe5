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

/*
 * setns() into /run/netns/NAME, or into the namespace file NAME when it is
 * an absolute path (/proc/N/ns/net). Where that is not permitted and the
 * namespace belongs to another user namespace (a rootless sandbox), joins
 * that user namespace first: for good, and only in a single-threaded
 * process. FD_ERR_ENV when missing or not permitted.
 */
int fd_netns_enter(const char *name, struct fd_error *err);

/* The file of NAME as fd_netns_enter() opens it, into buf. */
int fd_netns_path(const char *name, char *buf, size_t len, struct fd_error *err);

/* An O_RDONLY|O_CLOEXEC fd on NAME's file (to setns into later, from a
 * thread or a forked child), or FD_ERR_ENV "netns PATH: REASON". */
int fd_netns_open(const char *name, struct fd_error *err);

/* "netns-INODE": one name for one namespace however it is reached (a lock's). */
int fd_netns_key(const char *name, char *buf, size_t len, struct fd_error *err);

/* An fd of the current network namespace (to come back later), or -errno. */
int fd_netns_current(void);

/* setns() back to a namespace fd from fd_netns_current(). */
int fd_netns_restore(int ns_fd, struct fd_error *err);

#endif

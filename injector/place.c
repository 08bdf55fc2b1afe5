/*
 * A fault's own place (docs/local.md, "A place per fault, probe and
 * step"): the injector enters that fault's network namespace for that
 * fault's work (prepare, apply, revert) and comes back to where the caller
 * was, the scope's namespace. Netlink sockets belong to the namespace they
 * were opened in, so a driver's rtnl socket, an nft batch's socket and a
 * flow log opened inside stay there, whichever namespace later reads or
 * writes them. The guardian and `firedrill revert` enter each journal
 * row's namespace the same way.
 *
 * Setns applies to the calling thread, hence /proc/thread-self. A
 * namespace the thread is in already is not entered again: the scope's
 * rows name the namespace the caller (or the guardian) is in.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_netns.h"
#include "injector_int.h"

/* 1 when the thread is in netns already, 0 when not (or it cannot be
 * told), negative for a name that is not one. */
static int place_here(const char *netns, struct fd_error *err)
{
	char path[PATH_MAX];
	struct stat there, here;
	int rc = fd_netns_path(netns, path, sizeof(path), err);

	if (rc < 0)
		return rc;
	/* not there: fd_netns_enter says why, in its words */
	if (stat(path, &there) < 0 || stat("/proc/thread-self/ns/net", &here) < 0)
		return 0;
	return there.st_dev == here.st_dev && there.st_ino == here.st_ino;
}

int inj_place_enter(const char *netns, int *home, struct fd_error *err)
{
	int rc, fd;

	*home = -1;
	if (!netns || !netns[0])
		return 0;
	rc = place_here(netns, err);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	fd = fd_netns_current();
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, fd, "cannot open the current network namespace: %s",
				    strerror(-fd));
	rc = fd_netns_enter(netns, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*home = fd;
	return 0;
}

int inj_place_leave(int *home, struct fd_error *err)
{
	int rc = 0;

	if (*home < 0)
		return 0;
	rc = fd_netns_restore(*home, err);
	close(*home);
	*home = -1;
	return rc;
}

bool inj_kind_by_pid(const char *kind)
{
	static const char *const kinds[] = { "kill", "stop", "freeze", "pause" };

	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

int inj_place_enter_revert(const char *netns, const char *kind, int *home, const char **note,
			   struct fd_error *err)
{
	struct fd_error e = { 0 };
	int rc = inj_place_enter(netns, home, &e);

	if (rc != -ENOENT) {
		if (rc < 0)
			*err = e;
		return rc;
	}
	/* A namespace gone with its last process (a container whose process a
	 * kill ended) took routes, links, qdiscs and rules along; processes
	 * and cgroups are undone by pid and path from here. */
	if (inj_kind_by_pid(kind)) {
		*note = "its network namespace is gone: reverted from the host";
		return 0;
	}
	*note = "network namespace gone: nothing left to revert";
	return 1;
}

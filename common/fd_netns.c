#include "fd_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int fd_netns_enter(const char *name, struct fd_error *err)
{
	char path[PATH_MAX];
	int fd, rc;

	if (!name || !*name || strchr(name, '/'))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "network namespace name \"%s\" is not valid", name ? name : "");
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno,
				    "network namespace \"%s\": %s (create it with `ip netns add %s`)",
				    name, strerror(errno), name);
	rc = setns(fd, CLONE_NEWNET);
	if (rc < 0)
		rc = fd_error_set(err, FD_ERR_ENV, -errno,
				  "entering network namespace \"%s\": %s", name, strerror(errno));
	close(fd);
	return rc;
}

int fd_netns_current(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int fd_netns_restore(int ns_fd, struct fd_error *err)
{
	if (setns(ns_fd, CLONE_NEWNET) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno,
				    "returning to the original network namespace: %s", strerror(errno));
	return 0;
}

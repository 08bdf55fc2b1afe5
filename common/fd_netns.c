/*
 * Entering a network namespace: by name (`ip netns` convention, the handle
 * bind-mounted at /run/netns/NAME) or by the path of any namespace file
 * (/proc/N/ns/net: a container's, a sandbox's). A namespace owned by a
 * user namespace the caller is not privileged in (a rootless sandbox) is
 * entered through that user namespace: setns() into it first (which only
 * its owner may do, and only single-threaded), then into the network
 * namespace. There is no way back out of a user namespace.
 */
#include "fd_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int fd_netns_path(const char *name, char *buf, size_t len, struct fd_error *err)
{
	int n;

	if (!name || !*name || (name[0] != '/' && strchr(name, '/')))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "network namespace name \"%s\" is not valid", name ? name : "");
	n = name[0] == '/' ? snprintf(buf, len, "%s", name) : snprintf(buf, len, "/run/netns/%s", name);
	if (n < 0 || (size_t)n >= len)
		return fd_error_set(err, FD_ERR_INPUT, -ENAMETOOLONG,
				    "network namespace \"%s\": name too long", name);
	return 0;
}

/* Into the user namespace that owns the network namespace ns_fd, unless
 * the caller is in it already. */
static int join_owner(int ns_fd, const char *name, struct fd_error *err)
{
	struct stat mine, theirs;
	int user_fd = ioctl(ns_fd, NS_GET_USERNS);
	int rc = 0;

	if (user_fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno,
				    "entering network namespace \"%s\": not permitted, and its owning "
				    "user namespace cannot be read: %s", name, strerror(errno));
	if (fstat(user_fd, &theirs) == 0 && stat("/proc/self/ns/user", &mine) == 0 &&
	    theirs.st_ino == mine.st_ino && theirs.st_dev == mine.st_dev)
		rc = fd_error_set(err, FD_ERR_ENV, -EPERM,
				  "entering network namespace \"%s\": Operation not permitted "
				  "(needs CAP_SYS_ADMIN)", name);
	else if (setns(user_fd, CLONE_NEWUSER) < 0)
		rc = fd_error_set(err, FD_ERR_ENV, -errno,
				  "entering the user namespace that owns network namespace \"%s\": %s%s",
				  name, strerror(errno),
				  errno == EINVAL ? " (a process with threads cannot change user namespace)"
				  : errno == EPERM ? " (only its owner may: run as the user who made it)" : "");
	close(user_fd);
	return rc;
}

int fd_netns_enter(const char *name, struct fd_error *err)
{
	char path[PATH_MAX];
	int fd, rc;

	rc = fd_netns_path(name, path, sizeof(path), err);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (name[0] == '/')
			return fd_error_set(err, FD_ERR_ENV, -errno, "network namespace %s: %s%s", path,
					    strerror(errno),
					    errno == ENOENT ? " (the process is gone?)" : "");
		return fd_error_set(err, FD_ERR_ENV, -errno,
				    "network namespace \"%s\": %s (create it with `ip netns add %s`)",
				    name, strerror(errno), name);
	}
	rc = setns(fd, CLONE_NEWNET);
	if (rc < 0 && errno == EPERM) {
		rc = join_owner(fd, name, err);
		if (rc == 0 && setns(fd, CLONE_NEWNET) < 0)
			rc = -1;
		else if (rc < 0) {
			close(fd);
			return rc;
		}
	}
	if (rc < 0)
		rc = fd_error_set(err, FD_ERR_ENV, -errno,
				  "entering network namespace \"%s\": %s", name, strerror(errno));
	close(fd);
	return rc;
}

int fd_netns_open(const char *name, struct fd_error *err)
{
	char path[PATH_MAX];
	int fd, rc = fd_netns_path(name, path, sizeof(path), err);

	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "netns %s: %s", path, strerror(errno));
	return fd;
}

int fd_netns_key(const char *name, char *buf, size_t len, struct fd_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	int rc = fd_netns_path(name, path, sizeof(path), err);

	if (rc < 0)
		return rc;
	if (stat(path, &st) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "network namespace %s: %s", path,
				    strerror(errno));
	snprintf(buf, len, "netns-%llu", (unsigned long long)st.st_ino);
	return 0;
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

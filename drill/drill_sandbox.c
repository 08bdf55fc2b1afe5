/*
 * The rootless sandbox (docs/local.md): a user namespace and a network
 * namespace that an unprivileged developer makes for a service, as
 * `unshare -rn` would, and that `firedrill run --sandbox` later joins to
 * drill that service without root.
 *
 * drill_sandbox_run() unshares CLONE_NEWUSER | CLONE_NEWNET in this
 * process, maps the caller's uid and gid to 0 inside (the service is root
 * in there and the caller everywhere else: the kernel checks files against
 * the caller's own uid), brings loopback up, records its pid in
 * RUNDIR/sandbox-NAME.pid, and runs the command as a child; when that
 * ends, the record goes and the namespaces die with their last process.
 *
 * drill_sandbox_join() setns()es into the sandbox's user namespace (which
 * only its owner may do, and only a single-threaded process), then into
 * its network namespace. Inside, firedrill holds every capability of the
 * sandbox's user namespace and none of the host's: nft tables, routes,
 * links and qdiscs of the sandbox's own network namespace work; a cgroup
 * freezer, signals to the host's processes or packet capture on the host's
 * interfaces do not, and say so.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill.h"
#include "drill_internal.h"

static int valid_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 48 && name[0] != '.' && name[0] != '-' &&
	       name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] ==
		       '\0';
}

static int record_path(const char *name, char *buf, size_t len, struct fd_error *err)
{
	char dir[PATH_MAX];
	int rc, n;

	if (!valid_name(name))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "sandbox name \"%s\": expected 1-48 of [A-Za-z0-9_.-], not starting "
				    "with . or -", name);
	rc = drill_run_dir(dir, sizeof(dir), err);
	if (rc < 0)
		return rc;
	n = snprintf(buf, len, "%s/sandbox-%s.pid", dir, name);
	if (n < 0 || (size_t)n >= len)
		return fd_error_set(err, FD_ERR_ENV, -ENAMETOOLONG, "sandbox record path too long");
	return 0;
}

/* The pid a record names, when that process is alive; 0 otherwise. */
static long read_record(const char *path)
{
	FILE *f = fopen(path, "re");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		pid = 0;
	fclose(f);
	return pid;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
}

static const char *userns_hint(void)
{
	FILE *f = fopen("/proc/sys/kernel/unprivileged_userns_clone", "re");
	int v = 1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 1;
		fclose(f);
		if (v == 0)
			return " (kernel.unprivileged_userns_clone is 0: user namespaces are disabled "
			       "for unprivileged users)";
	}
	f = fopen("/proc/sys/user/max_user_namespaces", "re");
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 1;
		fclose(f);
		if (v == 0)
			return " (user.max_user_namespaces is 0: user namespaces are disabled)";
	}
	return " (user namespaces may be disabled: kernel.unprivileged_userns_clone, "
	       "user.max_user_namespaces, an AppArmor restriction, or a seccomp filter)";
}

static int loopback_up(struct fd_error *err)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "sandbox: socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "sandbox: bringing loopback up: %s",
				    strerror(-rc));
	return 0;
}

static int make_namespaces(struct fd_error *err)
{
	char map[64];
	unsigned uid = (unsigned)geteuid(), gid = (unsigned)getegid();
	int rc;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno,
				    "sandbox: cannot make a user and network namespace: %s%s",
				    strerror(errno), userns_hint());
	/* an unprivileged process may map only itself, and a gid only once
	 * setgroups is denied */
	rc = write_file("/proc/self/setgroups", "deny");
	if (rc == 0) {
		snprintf(map, sizeof(map), "0 %u 1\n", uid);
		rc = write_file("/proc/self/uid_map", map);
	}
	if (rc == 0) {
		snprintf(map, sizeof(map), "0 %u 1\n", gid);
		rc = write_file("/proc/self/gid_map", map);
	}
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "sandbox: mapping uid %u and gid %u: %s", uid,
				    gid, strerror(-rc));
	return loopback_up(err);
}

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

int drill_sandbox_run(const char *name, char *const argv[], drill_sandbox_ready_fn ready,
		      void *user, int *status, struct fd_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], text[32];
	struct sigaction sa = { 0 };
	long other;
	pid_t pid;
	int rc, st = 0, fd;

	*status = 0;
	rc = record_path(name, path, sizeof(path), err);
	if (rc < 0)
		return rc;
	other = read_record(path);
	if (other > 0)
		return fd_error_set(err, FD_ERR_ENV, -EEXIST,
				    "sandbox \"%s\" is running already (pid %ld, %s)", name, other, path);
	rc = make_namespaces(err);
	if (rc < 0)
		return rc;
	/* the record appears once the sandbox is whole, atomically */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "sandbox: %s: %s", tmp, strerror(errno));
	snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "sandbox: writing %s: %s", path,
				  strerror(errno));
		unlink(tmp);
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "sandbox: fork: %s", strerror(errno));
		unlink(path);
		return rc;
	}
	if (pid == 0) {
		/* its own session, as a service has: the sandbox forwards signals,
		 * and a drill run from the same terminal may target it */
		setsid();
		execvp(argv[0], argv);
		_exit(127);
	}
	child_pid = pid;
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (ready) {
		struct drill_sandbox_info info = { .pid = getpid(), .child = pid };

		snprintf(info.name, sizeof(info.name), "%s", name);
		snprintf(info.record, sizeof(info.record), "%s", path);
		ready(user, &info);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	child_pid = 0;
	unlink(path);
	*status = st;
	return 0;
}

int drill_sandbox_join(const char *which, char *netns, size_t len, struct fd_error *err)
{
	char path[PATH_MAX], dir[PATH_MAX], p[64];
	const char *env = getenv("FIREDRILL_RUN_DIR");
	struct stat mine, theirs;
	long pid = 0;
	int ufd = -1, nfd = -1, rc = 0;

	if (which[0] && which[strspn(which, "0123456789")] == '\0') {
		pid = strtol(which, NULL, 10);
		if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			return fd_error_set(err, FD_ERR_ENV, -ESRCH, "sandbox pid %s: no such process",
					    which);
	} else {
		rc = record_path(which, path, sizeof(path), err);
		if (rc < 0)
			return rc;
		pid = read_record(path);
		if (pid <= 0)
			return fd_error_set(err, FD_ERR_ENV, -ENOENT,
					    "sandbox \"%s\" is not running (no live %s); start it with "
					    "`firedrill sandbox --name %s -- COMMAND`", which, path, which);
	}
	/* the run directory stays the one outside: inside, uid 0 would pick /run/firedrill */
	if (!env || !*env) {
		rc = drill_run_dir(dir, sizeof(dir), err);
		if (rc < 0)
			return rc;
		setenv("FIREDRILL_RUN_DIR", dir, 1);
	}
	snprintf(p, sizeof(p), "/proc/%ld/ns/user", pid);
	ufd = open(p, O_RDONLY | O_CLOEXEC);
	snprintf(p, sizeof(p), "/proc/%ld/ns/net", pid);
	nfd = open(p, O_RDONLY | O_CLOEXEC);
	if (ufd < 0 || nfd < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "sandbox pid %ld: its namespaces: %s", pid,
				  strerror(errno));
		goto out;
	}
	if (fstat(ufd, &theirs) == 0 && stat("/proc/self/ns/user", &mine) == 0 &&
	    (theirs.st_ino != mine.st_ino || theirs.st_dev != mine.st_dev) &&
	    setns(ufd, CLONE_NEWUSER) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno,
				  "sandbox pid %ld: joining its user namespace: %s%s", pid, strerror(errno),
				  errno == EPERM ? " (only the user who made the sandbox may)" : "");
		goto out;
	}
	if (setns(nfd, CLONE_NEWNET) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno,
				  "sandbox pid %ld: joining its network namespace: %s", pid, strerror(errno));
		goto out;
	}
	if ((size_t)snprintf(netns, len, "/proc/%ld/ns/net", pid) >= len)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENAMETOOLONG, "sandbox: path too long");
out:
	if (ufd >= 0)
		close(ufd);
	if (nfd >= 0)
		close(nfd);
	return rc;
}

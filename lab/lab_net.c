/*
 * The lab's plumbing: four namespaces, a bridge in fdlab-core and one veth
 * pair per region, built with iproute2's `ip` run through posix_spawn.
 *
 * Why `ip` and not libnl-route: a named namespace is a bind mount of
 * /proc/self/ns/net on /run/netns/NAME made in a private mount namespace
 * dance that iproute2 already gets right (and that the injector and `ip
 * netns exec` rely on); the commands run once per `lab up`, their failure
 * text is the kernel's own, and docs/lab.md can show them for people who
 * want to build the same lab by hand.
 */
#include "lab_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct lab_site {
	const char *netns;
	const char *core_if; /* its veth end in fdlab-core */
	const char *addr;    /* with prefix length */
};

static const struct lab_site sites[] = {
	{ LAB_NETNS_A, "v-a", LAB_ADDR_A "/24" },
	{ LAB_NETNS_B, "v-b", LAB_ADDR_B "/24" },
	{ LAB_NETNS_CLIENT, "v-client", LAB_ADDR_FRONTDOOR "/24" },
};

static const char *const all_netns[] = {
	LAB_NETNS_A, LAB_NETNS_B, LAB_NETNS_CLIENT, LAB_NETNS_CORE,
};

bool lab_netns_exists(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

/* Runs argv (argv[0] found in PATH); on failure quotes its stderr. */
static int run(char *const argv[], struct fd_error *err)
{
	posix_spawn_file_actions_t fa;
	char out[512] = "";
	int pipefd[2] = { -1, -1 }, status = 0, rc = 0;
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -rc, "running %s: %s", argv[0], strerror(rc));
		goto cleanup;
	}
	while ((n = read(pipefd[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	if (got && out[got - 1] == '\n')
		out[got - 1] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char cmd[256] = "";

		for (size_t i = 0; argv[i] && strlen(cmd) < sizeof(cmd) - 32; i++)
			snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s",
				 i ? " " : "", argv[i]);
		rc = fd_error_set(err, FD_ERR_ENV, -EIO, "lab: `%s` failed: %s", cmd,
				  *out ? out : "no message");
	}
cleanup:
	close(pipefd[0]);
	return rc;
}

#define IP(...) do { \
		char *const av_[] = { "ip", __VA_ARGS__, NULL }; \
		rc = run(av_, err); \
		if (rc < 0) \
			return rc; \
	} while (0)

static int build_site(const struct lab_site *s, struct fd_error *err)
{
	int rc;

	IP("-n", LAB_NETNS_CORE, "link", "add", (char *)s->core_if, "type", "veth",
	   "peer", "name", "eth0", "netns", (char *)s->netns);
	IP("-n", LAB_NETNS_CORE, "link", "set", (char *)s->core_if, "master", "br0", "up");
	IP("-n", (char *)s->netns, "link", "set", "lo", "up");
	IP("-n", (char *)s->netns, "addr", "add", (char *)s->addr, "dev", "eth0");
	IP("-n", (char *)s->netns, "link", "set", "eth0", "up");
	/* One flat L2 segment: the other /24s are on-link, so no router is needed. */
	IP("-n", (char *)s->netns, "route", "add", "10.66.0.0/16", "dev", "eth0");
	return 0;
}

static int build(struct fd_error *err)
{
	int rc;

	for (size_t i = 0; i < sizeof(all_netns) / sizeof(all_netns[0]); i++)
		IP("netns", "add", (char *)all_netns[i]);
	IP("-n", LAB_NETNS_CORE, "link", "set", "lo", "up");
	IP("-n", LAB_NETNS_CORE, "link", "add", "br0", "type", "bridge");
	IP("-n", LAB_NETNS_CORE, "link", "set", "br0", "up");
	for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		rc = build_site(&sites[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int lab_net_delete(struct fd_error *err)
{
	int rc = 0;

	for (size_t i = 0; i < sizeof(all_netns) / sizeof(all_netns[0]); i++) {
		if (!lab_netns_exists(all_netns[i]))
			continue;
		char *const av[] = { "ip", "netns", "del", (char *)all_netns[i], NULL };
		int r = run(av, err);

		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

/*
 * Leaves a complete network alone (all namespaces and the marker that the
 * last build finished); anything partial is deleted and built again.
 */
int lab_net_ensure(const char *dir, struct fd_error *err)
{
	char marker[PATH_MAX];
	bool complete = true;
	int rc, fd;

	lab_path(marker, sizeof(marker), dir, LAB_FILE_NETOK);
	for (size_t i = 0; i < sizeof(all_netns) / sizeof(all_netns[0]); i++)
		complete = complete && lab_netns_exists(all_netns[i]);
	if (complete && access(marker, F_OK) == 0)
		return 0;
	unlink(marker);
	rc = lab_net_delete(err);
	if (rc == 0)
		rc = build(err);
	if (rc < 0) {
		fd_error_prefix(err, "building the lab network");
		return rc;
	}
	fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "lab: %s: %s", marker, strerror(errno));
	close(fd);
	return 0;
}

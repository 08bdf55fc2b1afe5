/*
 * Where a drill's faults apply: the place its scenario's scope names
 * (netns, netns-path, pid or container) or the sandbox the cli joined
 * (drill_opts.scope_netns), resolved to a namespace file the drill, the
 * injector and the journal can all enter (/run/netns/NAME, /proc/N/ns/net).
 *
 * A container is asked of its engine's CLI (`podman inspect`, `docker
 * inspect`): its id, its main process's pid and its image. It is asked
 * again at each iteration, because a restarted container has a new pid and
 * a new namespace. The engine is the scenario's `engine:`, else podman when
 * it is on PATH, else docker. A container that does not exist, is not
 * running, or an engine that does not answer, is an environment error
 * before anything is injected.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill.h"
#include "drill_internal.h"
#include "fd_priv.h"
#include "fd_netns.h"
#include "fd_time.h"
#include "injector.h"

extern char **environ;

#define INSPECT_TIMEOUT_NS (15 * FD_NS_PER_S)

/* An executable NAME on PATH? */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* Runs argv, its stdout and stderr together into out (NUL-terminated);
 * the exit status, or -errno when it cannot run or runs too long. */
static int run_capture(char *const argv[], char *out, size_t len)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = 0, rc;
	size_t got = 0;
	pid_t pid;
	int64_t deadline = fd_mono_ns() + INSPECT_TIMEOUT_NS;

	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return -rc;
	}
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int64_t left = deadline - fd_mono_ns();
		ssize_t n;
		char sink[256];

		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pipefd[0]);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)(left / FD_NS_PER_MS) + 1) <= 0)
			continue;
		if (got + 1 < len)
			n = read(pipefd[0], out + got, len - 1 - got);
		else
			n = read(pipefd[0], sink, sizeof(sink));
		if (n <= 0)
			break;
		if (got + 1 < len)
			got += (size_t)n;
	}
	out[got] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

int drill_container_resolve(const char *name, const char *engine, struct drill_container *c,
			    struct fd_error *err)
{
	char out[2048], fmt[] = "{{.Id}} {{.State.Pid}} {{.State.Running}} {{.Config.Image}}";
	char running[16] = "";
	const char *msg;
	long pid = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!engine)
		engine = on_path("podman") ? "podman" : on_path("docker") ? "docker" : NULL;
	if (!engine)
		return fd_error_set(err, FD_ERR_ENV, -ENOENT,
				    "container %s: no container engine: neither podman nor docker is on PATH",
				    name);
	snprintf(c->engine, sizeof(c->engine), "%s", engine);
	rc = run_capture((char *const[]){ (char *)engine, "inspect", "--type", "container", "--format",
					  fmt, (char *)name, NULL }, out, sizeof(out));
	chomp(out);
	/* `docker inspect` prints an empty line for a container it cannot
	 * inspect before its error ("\nError response from daemon: No such
	 * container: NAME", "\nCannot connect to the Docker daemon at ..."). */
	msg = out + strspn(out, "\n\r ");
	if (rc == -ENOENT)
		return fd_error_set(err, FD_ERR_ENV, rc, "container %s: %s is not installed (not on PATH)",
				    name, engine);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "container %s: `%s inspect`: %s", name, engine,
				    strerror(-rc));
	if (rc != 0)
		return fd_error_set(err, FD_ERR_ENV, -ENOENT,
				    "container %s: `%s inspect` failed (exit %d): %.300s%s", name, engine, rc,
				    msg[0] ? msg : "no output",
				    strstr(msg, "onnect") ? " (is the engine running?)" : "");
	if (sscanf(out, "%127s %ld %15s %255[^\n]", c->id, &pid, running, c->image) < 3)
		return fd_error_set(err, FD_ERR_ENV, -EPROTO,
				    "container %s: `%s inspect` answered \"%.200s\", not ID PID RUNNING IMAGE",
				    name, engine, out);
	if (strcmp(running, "true") != 0 || pid <= 0)
		return fd_error_set(err, FD_ERR_ENV, -ESRCH, "container %s (%s) is not running", name,
				    engine);
	c->pid = pid;
	snprintf(c->netns, sizeof(c->netns), "/proc/%ld/ns/net", pid);
	return 0;
}

/* A place's namespace file and lock key, its container asked of its engine. */
int drill_place_resolve_one(const struct scenario_place *sp, struct drill_place *p,
			    struct fd_error *err)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if (sp->netns) {
		snprintf(p->netns, sizeof(p->netns), "%s", sp->netns);
		snprintf(p->key, sizeof(p->key), "%s", sp->netns);
		return 0;
	}
	if (sp->netns_path) {
		snprintf(p->netns, sizeof(p->netns), "%s", sp->netns_path);
	} else if (sp->pid) {
		snprintf(p->netns, sizeof(p->netns), "/proc/%ld/ns/net", sp->pid);
	} else if (sp->container) {
		rc = drill_container_resolve(sp->container, sp->engine, &p->container, err);
		if (rc < 0)
			return rc;
		p->is_container = true;
		snprintf(p->netns, sizeof(p->netns), "%s", p->container.netns);
	} else {
		return 0;
	}
	return fd_netns_key(p->netns, p->key, sizeof(p->key), err);
}

int drill_place_resolve(const struct scenario *s, const char *scope_netns, struct drill_place *p,
			struct fd_error *err)
{
	/* scope's keys, read as a place (the same readers read both) */
	const struct scenario_place scope = {
		.netns = s->netns, .netns_path = s->netns_path, .pid = s->scope_pid,
		.container = s->container, .engine = s->engine,
	};

	memset(p, 0, sizeof(*p));
	if (!scope_netns)
		return drill_place_resolve_one(&scope, p, err);
	if (scenario_has_scope(s))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "%s has its own scope; a sandbox replaces none (drop its scope:)",
				    s->path ? s->path : "the scenario");
	snprintf(p->netns, sizeof(p->netns), "%s", scope_netns);
	return fd_netns_key(p->netns, p->key, sizeof(p->key), err);
}

int drill_place_enter(struct drill *d, struct fd_error *err)
{
	if (!d->place.netns[0])
		return 0;
	if (d->home_ns < 0) {
		d->home_ns = fd_netns_current();
		if (d->home_ns < 0)
			return fd_error_set(err, FD_ERR_ENV, d->home_ns,
					    "cannot open the current network namespace: %s",
					    strerror(-d->home_ns));
	}
	return fd_netns_enter(d->place.netns, err);
}

int drill_place_leave(struct drill *d, struct fd_error *err)
{
	if (d->home_ns < 0)
		return 0;
	return fd_netns_restore(d->home_ns, err);
}

/* Each later iteration: the container again, and its new namespace. */
int drill_container_follow(struct drill *d, const char *name, const char *engine,
			   struct drill_place *p, struct fd_error *err)
{
	struct drill_container c;
	bool restarted;
	int rc = drill_container_resolve(name, engine, &c, err);

	if (rc < 0)
		return rc;
	drill_container_event(d, name, &c, p->container.pid);
	restarted = c.pid != p->container.pid;
	if (restarted)
		snprintf(p->netns, sizeof(p->netns), "%s", c.netns);
	p->container = c;
	return restarted;
}

int drill_place_refresh(struct drill *d, struct fd_error *err)
{
	int rc;

	if (!d->place.is_container)
		return 0;
	rc = drill_container_follow(d, d->s->container, d->s->engine, &d->place, err);
	if (rc <= 0)
		return rc;
	rc = injector_set_netns(d->inj, d->place.netns, err);
	if (rc < 0)
		return rc;
	injector_set_scope_pid(d->inj, (pid_t)d->place.container.pid);
	/* probes from the scope follow the container to its new namespace */
	if (!d->s->probes_from_host) {
		fd_priv_raise(); /* setns: the drill thread lowered its capabilities */
		rc = drill_place_enter(d, err);
		fd_priv_lower();
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* "podman db: id 4f2a..., pid 8123, image ..." (and whether it restarted). */
void drill_container_event(struct drill *d, const char *name, const struct drill_container *c,
			   long old_pid)
{
	char text[512];

	if (!d->drill_id)
		return;
	drill_textf(text, sizeof(text), "%s %s: id %.12s, pid %ld, image %s%s", c->engine, name,
		    c->id, c->pid, c->image,
		    old_pid && c->pid != old_pid ? " (a new pid: restarted)" : "");
	drill_event(d, "container", name, text);
}

/* The first iteration's container, as setup found it. */
void drill_place_note(struct drill *d)
{
	if (d->place.is_container)
		drill_container_event(d, d->s->container, &d->place.container, 0);
}

/* The faults in the scope's place (those with their own are the
 * injector's to enter) are all undone by pid or cgroup. */
static bool only_process_faults(const struct scenario *s)
{
	for (size_t i = 0; i < s->n_faults; i++) {
		if (scenario_place_set(&s->faults[i].place))
			continue;
		if (s->faults[i].kind != FAULT_KILL && s->faults[i].kind != FAULT_STOP &&
		    s->faults[i].kind != FAULT_FREEZE && s->faults[i].kind != FAULT_PAUSE)
			return false;
	}
	return s->n_faults > 0;
}

/* Around each injector call when the probes stay here (probes-from: host):
 * the faults' namespace is entered only for the injector's own work. */
int drill_place_in(struct drill *d, struct fd_error *err)
{
	struct fd_error e;
	int rc;

	if (!d->s->probes_from_host)
		return 0;
	fd_error_clear(&e);
	rc = drill_place_enter(d, &e);
	/* A container whose process died (a kill fault, the engine restarting
	 * it) took its namespace along; process faults are undone by pid and
	 * cgroup, from here. Anything else keeps the error. */
	if (rc == -ENOENT && d->place.is_container && only_process_faults(d->s)) {
		drill_event(d, "note", "scope", "the container's namespace is gone (its process "
			    "exited): its process faults are reverted from the host");
		return 0;
	}
	if (rc < 0)
		*err = e;
	return rc;
}

void drill_place_out(struct drill *d)
{
	struct fd_error e;

	fd_error_clear(&e);
	if (d->s->probes_from_host && drill_place_leave(d, &e) < 0)
		drill_event(d, "note", "scope", e.msg);
}

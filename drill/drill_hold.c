/*
 * drill_hold(): `firedrill inject`'s conductor. Applies a scenario's faults
 * once and holds them, without probes or iterations: until the longest max
 * duration ends, SIGINT/SIGTERM/SIGHUP (`firedrill revert` sends SIGTERM),
 * or a revert seen in the journal; then reverts.
 *
 * The order is drill_run()'s: the store first, then the scope lock (before
 * anything is journaled, so a refused hold touches nothing), the namespace,
 * and the injector. The lock is kept while the faults are live.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill_internal.h"
#include "fd_netns.h"
#include "injector.h"

/* The signals that end a hold, read from a signalfd so none is lost
 * between two polls. They stay blocked: the holder ends with the hold. */
static int hold_signals(struct fd_error *err)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "signalfd: %s", strerror(errno));
	return fd;
}

/* Waits for the deadline, a signal, or a revert seen in the journal. */
static const char *hold_wait(struct injector *inj, int sigfd)
{
	int64_t deadline = injector_deadline_mono_ns(inj), last_check = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = sigfd, .events = POLLIN },
				       { .fd = injector_flow_fd(inj), .events = POLLIN } };
		int64_t now = fd_mono_ns();
		int timeout;

		if (now >= deadline)
			return "max duration reached";
		timeout = (int)((deadline - now) / FD_NS_PER_MS) + 1;
		if (timeout > 250)
			timeout = 250;
		if (poll(p, p[1].fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			return "poll failed";
		if (p[0].revents & POLLIN)
			return "signal";
		if (p[1].fd >= 0 && (p[1].revents & POLLIN))
			injector_read_flows(inj);
		if (now - last_check >= FD_NS_PER_S) {
			struct fd_error e = { 0 };
			bool applied = true;

			last_check = now;
			if (injector_still_applied(inj, &applied, &e) == 0 && !applied)
				return "reverted from another process";
		}
	}
}

/* The flows that hit drop/reject faults, copied out of the injector. */
static void hold_flows(struct injector *inj, struct drill_hold_result *res)
{
	const struct injector_flow *fl;
	size_t n;

	injector_read_flows(inj);
	n = injector_blackholed_flows(inj, &fl);
	if (n == 0)
		return;
	res->flows = calloc(n, sizeof(*res->flows));
	if (!res->flows)
		return; /* the revert is what matters; the list is a bonus */
	for (size_t i = 0; i < n; i++)
		drill_flow_from(&fl[i], &res->flows[i]);
	res->n_flows = n;
}

void drill_hold_opts_init(struct drill_hold_opts *o)
{
	memset(o, 0, sizeof(*o));
}

int drill_hold(const struct scenario *s, const struct drill_hold_opts *o,
	       struct drill_hold_result *res, struct fd_error *err)
{
	struct store *st = NULL;
	struct injector *inj = NULL;
	struct injector_opts io = { 0 };
	struct drill_place place = { 0 };
	struct drill_item_place *places = NULL; /* the faults' own */
	size_t n_places = 0;
	int lock_fd = -1, home_ns = -1, sigfd, rc;

	memset(res, 0, sizeof(*res));
	/* a fault on other hosts must never be applied here instead */
	if (scenario_is_fleet(s))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "%s: faults with on: other hosts are drilled by `firedrill run` "
				    "(docs/fleet.md); inject acts on this host only", s->path);
	sigfd = hold_signals(err);
	if (sigfd < 0)
		return sigfd;
	rc = store_open(o->db_path, &st, err);
	/* Before anything is journaled: a refused hold touches nothing. */
	if (rc == 0)
		rc = drill_place_resolve(s, o->scope_netns, &place, err);
	if (rc == 0)
		rc = drill_places_resolve_faults(s, o->scope_netns, &places, &n_places, err);
	if (rc == 0)
		rc = drill_scope_hold(place.key[0] ? place.key : NULL, "inject", &lock_fd, err);
	if (rc == 0)
		rc = drill_places_lock(s, places, n_places, place.key, "inject", err);
	if (rc == 0 && place.netns[0]) {
		home_ns = fd_netns_current();
		rc = fd_netns_enter(place.netns, err);
	}
	if (place.netns[0] && !s->netns)
		io.netns = place.netns;
	if (place.is_container)
		io.scope_pid = (pid_t)place.container.pid;
	io.store = st;
	io.db_path = o->db_path;
	io.force = o->force;
	if (rc == 0)
		rc = injector_new(s, &io, &inj, err);
	if (rc == 0)
		rc = drill_places_set_faults(inj, s, places, n_places, err);
	if (rc == 0)
		rc = injector_prepare(inj, err);
	if (rc == 0)
		rc = injector_apply(inj, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < injector_fault_count(inj); i++) {
		if (o->on_applied)
			o->on_applied(o->user, injector_fault_id(inj, i), injector_fault_summary(inj, i));
	}
	res->held = true;
	if (o->on_holding)
		o->on_holding(o->user, place.netns[0] ? place.netns : NULL, injector_deadline_mono_ns(inj) - fd_mono_ns());
	res->why = hold_wait(inj, sigfd);
	rc = injector_revert(inj, err);
	if (rc < 0)
		goto out; /* left to the guardian, which keeps watch */
	res->reverted = true;
	hold_flows(inj, res);
out:
	/* After the revert (or its failure, left to the guardian): the scope is
	 * free again once nothing of ours can still be applied by us. */
	drill_scope_release(lock_fd, place.key[0] ? place.key : NULL);
	drill_places_unlock(places, n_places);
	free(places);
	injector_free(inj);
	store_close(st);
	if (home_ns >= 0) {
		struct fd_error e = { 0 };

		fd_netns_restore(home_ns, &e);
		close(home_ns);
	}
	close(sigfd);
	return rc;
}

void drill_hold_result_free(struct drill_hold_result *res)
{
	free(res->flows);
	res->flows = NULL;
	res->n_flows = 0;
}

pid_t drill_hold_detach(int *fd_out, struct fd_error *err)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return fd_error_set(err, FD_ERR_ENV, -e, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		close(p[0]);
		setsid(); /* no terminal: the caller's Ctrl-C and hangup are not ours */
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		*fd_out = p[1];
		return 0;
	}
	close(p[1]);
	*fd_out = p[0];
	return pid;
}

int drill_hold_reap(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

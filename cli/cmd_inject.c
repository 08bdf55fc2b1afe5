/*
 * firedrill inject FILE [--detach] [--force]: apply a scenario's faults and
 * hold them (manual game days).
 *
 * The process that applied the faults holds them (it owns the nft table):
 * in the foreground until the longest max duration ends, Ctrl-C/SIGTERM
 * (reverted before exit), or `firedrill revert` from another shell (seen
 * in the journal, or as the SIGTERM that command sends). --detach forks a
 * holder in its own session that does the same; the parent prints what it
 * applied and returns.
 *
 * While its faults are live the holder keeps the scope lock a drill takes
 * (drill_scope_hold), so `firedrill run` or a second inject on the same scope
 * is refused with a message naming the holder. `firedrill revert` needs no
 * lock: it reverts through the journal and signals the holder, which then
 * reverts, releases the lock and exits (the kernel releases it too if the
 * holder dies).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "drill.h"
#include "fd_netns.h"
#include "fd_time.h"
#include "injector.h"
#include "scenario.h"
#include "store.h"

static void print_help(void)
{
	cli_print_usage(cli_find_command("inject"), stdout);
	printf("\n"
	       "Applies every fault of the scenario (inside scope.netns when set) and\n"
	       "holds them until the longest max duration ends, Ctrl-C, or\n"
	       "`firedrill revert` from another shell; then reverts and lists the\n"
	       "flows that hit drop/reject faults (hidden dependencies).\n\n"
	       "options:\n"
	       "  --detach  leave a holder process in the background and return\n"
	       "  --force   allow guarded targets (0.0.0.0/0, the default route's link, ...)\n\n"
	       "While the faults are live the scope (scope.netns, else the host) is locked:\n"
	       "`firedrill run` or another inject on it is refused until this one ends.\n\n"
	       "exit: 0 applied (and reverted), 2 bad scenario, 3 environment error\n"
	       "      (also: the scope is held by a drill or another inject)\n");
}

static void print_flows(struct injector *inj, FILE *out)
{
	const struct injector_flow *fl;
	size_t n;

	injector_read_flows(inj);
	n = injector_blackholed_flows(inj, &fl);
	if (n == 0)
		return;
	fprintf(out, "flows that hit the faults (hidden dependencies):\n");
	for (size_t i = 0; i < n; i++) {
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		inet_ntop(fl[i].family, fl[i].src, src, sizeof(src));
		inet_ntop(fl[i].family, fl[i].dst, dst, sizeof(dst));
		fprintf(out, "  %-12s %s -> %s proto %u dport %u (%llu packets)\n", fl[i].fault_id,
			src, dst, fl[i].protocol, fl[i].dport, (unsigned long long)fl[i].packets);
	}
}

/* Waits for the deadline, a signal, or a revert seen in the journal. */
static const char *hold(struct injector *inj, int sigfd)
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

/* Everything after the fork (or without one): returns the exit code. */
static int inject_and_hold(struct cli_ctx *ctx, const char *file, bool force, bool detach,
			   FILE *out, int sigfd)
{
	struct fd_error err = { 0 };
	struct scenario *s = NULL;
	struct store *st = NULL;
	struct injector *inj = NULL;
	struct injector_opts o = { 0 };
	const char *why;
	char dur[32];
	int lock_fd = -1, rc;

	rc = scenario_load(file, &s, &err);
	if (rc == 0)
		rc = store_open(ctx->db_path, &st, &err);
	/* Before anything is journaled: a refused inject touches nothing. */
	if (rc == 0)
		rc = drill_scope_hold(s->netns, "inject", &lock_fd, &err);
	if (rc == 0 && s->netns)
		rc = fd_netns_enter(s->netns, &err);
	o.store = st;
	o.db_path = ctx->db_path;
	o.force = force || ctx->force;
	if (rc == 0)
		rc = injector_new(s, &o, &inj, &err);
	if (rc == 0)
		rc = injector_prepare(inj, &err);
	if (rc == 0)
		rc = injector_apply(inj, &err);
	if (rc < 0) {
		fprintf(detach ? out : stderr, "firedrill: %s%s\n",
			strstr(err.msg, "error:") ? "" : "error: ", err.msg);
		rc = fd_error_exit_code(&err);
		goto out;
	}
	for (size_t i = 0; i < injector_fault_count(inj); i++)
		fprintf(out, "applied %s: %s\n", injector_fault_id(inj, i), injector_fault_summary(inj, i));
	fd_duration_format(injector_deadline_mono_ns(inj) - fd_mono_ns(), dur, sizeof(dur));
	fprintf(out, "holding%s%s (pid %d) for %s; `firedrill revert` or %s to undo\n",
		s->netns ? " in namespace " : "", s->netns ? s->netns : "", (int)getpid(), dur,
		detach ? "kill -TERM" : "Ctrl-C");
	if (detach)
		fputc('\0', out); /* tells the parent the holder is holding */
	fflush(out);
	if (detach) {
		int null = open("/dev/null", O_WRONLY);

		fclose(out); /* the parent prints and returns */
		out = fdopen(null, "w");
		if (!out)
			_exit(EXIT_ENV);
	}
	why = hold(inj, sigfd);
	rc = injector_revert(inj, &err);
	if (rc < 0) {
		fprintf(detach ? out : stderr,
			"firedrill: error: %s (the guardian keeps watch; run `firedrill revert`)\n",
			err.msg);
		rc = fd_error_exit_code(&err);
		goto out;
	}
	fprintf(out, "reverted every fault (%s)\n", why);
	print_flows(inj, out);
	rc = EXIT_OK;
out:
	if (out != stdout && out)
		fclose(out);
	/* After the revert (or its failure, left to the guardian): the scope is
	 * free again once nothing of ours can still be applied by us. */
	drill_scope_release(lock_fd, s ? s->netns : NULL);
	injector_free(inj);
	store_close(st);
	scenario_free(s);
	return rc;
}

static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int detach_and_run(struct cli_ctx *ctx, const char *file, bool force)
{
	int p[2], status = 0;
	bool held = false;
	char buf[4096];
	ssize_t n;
	pid_t pid;
	FILE *out;

	if (pipe2(p, O_CLOEXEC) < 0)
		return EXIT_ENV;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return EXIT_ENV;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR), sigfd;

		close(p[0]);
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		sigfd = block_signals();
		out = fdopen(p[1], "w");
		_exit(out ? inject_and_hold(ctx, file, force, true, out, sigfd) : EXIT_ENV);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0) {
		char *nul = memchr(buf, '\0', (size_t)n);

		if (nul) {
			held = true;
			n = nul - buf;
		}
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(p[0]);
	/* The pipe closes when the holder is holding (it wrote the NUL first)
	 * or exits; only then is there a status to wait for. */
	if (held)
		return EXIT_OK;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_INTERNAL;
}

int cmd_inject(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL;
	bool detach = false, force = false;
	int sigfd, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_help();
			return EXIT_OK;
		} else if (strcmp(argv[i], "--detach") == 0) {
			detach = true;
		} else if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("inject", "unknown option \"%s\"", argv[i]);
		} else if (file) {
			return cli_usage_error("inject", "takes one FILE");
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return cli_usage_error("inject", "needs a scenario FILE");
	if (detach)
		return detach_and_run(ctx, file, force);
	sigfd = block_signals();
	if (sigfd < 0) {
		fprintf(stderr, "firedrill: error: signalfd: %s\n", strerror(errno));
		return EXIT_ENV;
	}
	rc = inject_and_hold(ctx, file, force, false, stdout, sigfd);
	close(sigfd);
	return rc;
}

/*
 * firedrill inject FILE [--detach] [--force] [--sandbox PID|NAME]: apply a
 * scenario's faults and hold them (manual game days). --sandbox joins a
 * rootless sandbox first, as `run --sandbox` does (drill_sandbox_join).
 *
 * The process that applied the faults holds them (it owns the nft table):
 * in the foreground until the longest max duration ends, Ctrl-C/SIGTERM
 * (reverted before exit), or `firedrill revert` from another shell (seen
 * in the journal, or as the SIGTERM that command sends). --detach forks a
 * holder in its own session that does the same; the parent prints what it
 * applied and returns.
 *
 * The hold itself (store, scope lock, namespace, injector, the wait) is
 * drill_hold(); this file parses flags, prints what the hold tells it and
 * maps errors to exit codes. While its faults are live the holder keeps the
 * scope lock a drill takes, so `firedrill run` or a second inject on the same scope
 * is refused with a message naming the holder. `firedrill revert` needs no
 * lock: it reverts through the journal and signals the holder, which then
 * reverts, releases the lock and exits (the kernel releases it too if the
 * holder dies).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "drill.h"
#include "fd_time.h"
#include "scenario.h"

static void print_help(void)
{
	cli_print_usage(cli_find_command("inject"), stdout);
	printf("\n"
	       "Applies every fault of the scenario (inside scope.netns when set, or in\n"
	       "the fault's own netns, netns-path, pid or container) and\n"
	       "holds them until the longest max duration ends, Ctrl-C, or\n"
	       "`firedrill revert` from another shell; then reverts and lists the\n"
	       "flows that hit drop/reject faults (hidden dependencies).\n"
	       "The file needs name and faults (and scope when they belong in a\n"
	       "namespace); probes and recovery are for `firedrill run` and are\n"
	       "checked only when present (validate --inject checks a file this way).\n\n"
	       "options:\n"
	       "  --detach  leave a holder process in the background and return\n"
	       "  --force   allow guarded targets (0.0.0.0/0, the default route's link, ...)\n"
	       "  --sandbox PID|NAME  inject inside a `firedrill sandbox` (docs/local.md):\n"
	       "            joins its user and network namespace first, as `run --sandbox`\n"
	       "            does, so it needs no root; the scenario must name no scope and\n"
	       "            no place of its own. Undo with `firedrill revert --sandbox`.\n\n"
	       "While the faults are live the scope (scope.netns, else the host) and each\n"
	       "fault's own namespace are locked:\n"
	       "`firedrill run` or another inject on it is refused until this one ends.\n\n"
	       "exit: 0 applied (and reverted), 2 bad scenario, 3 environment error\n"
	       "      (also: the scope is held by a drill or another inject)\n");
}

static void print_flows(const struct drill_hold_result *res, FILE *out)
{
	if (res->n_flows == 0)
		return;
	fprintf(out, "flows that hit the faults (hidden dependencies):\n");
	for (size_t i = 0; i < res->n_flows; i++) {
		const struct drill_flow *f = &res->flows[i];
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], sender[600];

		inet_ntop(f->family, f->src, src, sizeof(src));
		inet_ntop(f->family, f->dst, dst, sizeof(dst));
		fprintf(out, "  %-12s %s -> %s proto %u dport %u (%llu packets), %s\n", f->fault_id,
			src, dst, f->protocol, f->dport, (unsigned long long)f->packets,
			drill_flow_sender(f, sender, sizeof(sender)));
	}
}

/* Where the hold's story goes: stdout, or the pipe to the parent until the
 * holder is holding, then /dev/null (--detach). */
struct inject_out {
	FILE *out;
	bool detach;
};

static void on_applied(void *user, const char *fault_id, const char *summary)
{
	struct inject_out *io = user;

	fprintf(io->out, "applied %s: %s\n", fault_id, summary);
}

static void on_holding(void *user, const char *netns, int64_t remaining_ns)
{
	struct inject_out *io = user;
	char dur[32];

	fd_duration_format(remaining_ns, dur, sizeof(dur));
	fprintf(io->out, "holding%s%s (pid %d) for %s; `firedrill revert` or %s to undo\n",
		netns ? " in namespace " : "", netns ? netns : "", (int)getpid(), dur,
		io->detach ? "kill -TERM" : "Ctrl-C");
	if (io->detach)
		fputc('\0', io->out); /* tells the parent the holder is holding */
	fflush(io->out);
	if (io->detach) {
		int null = open("/dev/null", O_WRONLY);

		fclose(io->out); /* the parent prints and returns */
		io->out = fdopen(null, "w");
		if (!io->out)
			_exit(EXIT_ENV);
	}
}

/* Everything after the fork (or without one): returns the exit code. */
static int inject_and_hold(struct cli_ctx *ctx, const char *file, bool force,
			   const char *scope_netns, bool detach, FILE *out)
{
	struct inject_out io = { .out = out, .detach = detach };
	struct drill_hold_opts o;
	struct drill_hold_result res = { 0 };
	struct fd_error err = { 0 };
	struct scenario *s = NULL;
	int rc;

	drill_hold_opts_init(&o);
	o.db_path = ctx->db_path;
	o.force = force || ctx->force;
	o.scope_netns = scope_netns;
	o.on_applied = on_applied;
	o.on_holding = on_holding;
	o.user = &io;
	rc = cli_load_scenario(ctx, file, SCENARIO_FOR_INJECT, &s, &err);
	if (rc == 0)
		rc = drill_hold(s, &o, &res, &err);
	if (rc < 0 && !res.held) {
		fprintf(detach ? io.out : stderr, "firedrill: %s%s\n",
			strstr(err.msg, "error:") ? "" : "error: ", err.msg);
		rc = fd_error_exit_code(&err);
	} else if (rc < 0) {
		fprintf(detach ? io.out : stderr,
			"firedrill: error: %s (the guardian keeps watch; run `firedrill revert`)\n",
			err.msg);
		rc = fd_error_exit_code(&err);
	} else {
		fprintf(io.out, "reverted every fault (%s)\n", res.why);
		print_flows(&res, io.out);
		rc = EXIT_OK;
	}
	if (io.out != stdout && io.out)
		fclose(io.out);
	drill_hold_result_free(&res);
	scenario_free(s);
	return rc;
}

static int detach_and_run(struct cli_ctx *ctx, const char *file, bool force,
			  const char *scope_netns)
{
	struct fd_error err = { 0 };
	bool held = false;
	char buf[4096];
	ssize_t n;
	pid_t pid;
	int fd, rc;

	pid = drill_hold_detach(&fd, &err);
	if (pid < 0)
		return cli_report_error(&err);
	if (pid == 0) {
		FILE *out = fdopen(fd, "w");

		_exit(out ? inject_and_hold(ctx, file, force, scope_netns, true, out) : EXIT_ENV);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		char *nul = memchr(buf, '\0', (size_t)n);

		if (nul) {
			held = true;
			n = nul - buf;
		}
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	/* The pipe closes when the holder is holding (it wrote the NUL first)
	 * or exits; only then is there a status to wait for. */
	if (held)
		return EXIT_OK;
	rc = drill_hold_reap(pid);
	return rc >= 0 ? rc : EXIT_INTERNAL;
}

int cmd_inject(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL, *sandbox = NULL;
	char sandbox_ns[64] = "";
	bool detach = false, force = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_help();
			return EXIT_OK;
		} else if (strcmp(argv[i], "--detach") == 0) {
			detach = true;
		} else if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (strcmp(argv[i], "--sandbox") == 0 && i + 1 < argc) {
			sandbox = argv[++i];
		} else if (strcmp(argv[i], "--sandbox") == 0) {
			return cli_usage_error("inject", "--sandbox needs the sandbox's PID or NAME");
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
	if (sandbox) { /* single-threaded still, as joining a user namespace needs */
		struct fd_error err = { 0 };

		if (drill_sandbox_join(sandbox, sandbox_ns, sizeof(sandbox_ns), &err) < 0)
			return cli_report_error(&err);
	}
	if (detach)
		return detach_and_run(ctx, file, force, sandbox ? sandbox_ns : NULL);
	return inject_and_hold(ctx, file, force, sandbox ? sandbox_ns : NULL, false, stdout);
}

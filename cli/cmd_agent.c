/*
 * firedrill agent [--version]: one host's part of a fleet drill. Started
 * by the coordinator over ssh; speaks line-delimited JSON on stdin and
 * stdout (docs/fleet.md), so nothing else may be printed on stdout here.
 * The hold itself is drill_agent(); this file maps its end to an exit code.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "drill.h"
#include "fd_config.h"
#include "fleet.h"

static void print_help(void)
{
	cli_print_usage(cli_find_command("agent"), stdout);
	printf("\n"
	       "Not run by hand: `firedrill run` starts it on every host of a fleet drill\n"
	       "with ssh, and talks to it on stdin and stdout. It journals and guards its\n"
	       "faults like `firedrill inject`, and reverts them by itself when the\n"
	       "coordinator is silent for the lease, goes away, or on SIGTERM.\n\n"
	       "options:\n"
	       "  --version  print the agent's version and protocol (the coordinator\n"
	       "             refuses an agent whose version is not its own)\n");
}

int cmd_agent(struct cli_ctx *ctx, int argc, char **argv)
{
	struct drill_agent_opts o = { .db_path = ctx->db_path, .in_fd = STDIN_FILENO,
				      .out_fd = STDOUT_FILENO };
	struct drill_agent_result res = { 0 };
	struct fd_error err = { 0 };

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help();
		return EXIT_OK;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("firedrill agent %s protocol %d\n", FD_VERSION, FLEET_PROTOCOL);
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("agent", "unknown argument \"%s\"", argv[1]);
	if (drill_agent(&o, &res, &err) < 0)
		return cli_report_error(&err);
	cli_log(ctx, 1, "agent: ended (%s)", res.why ? res.why : "?");
	return EXIT_OK;
}

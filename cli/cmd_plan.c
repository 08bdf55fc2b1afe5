/* firedrill plan FILE: what a drill would do, in order, touching nothing. */
#include <string.h>

#include "cli.h"
#include "scenario.h"

int cmd_plan(struct cli_ctx *ctx, int argc, char **argv)
{
	struct scenario *s = NULL;
	struct fd_error err;
	int first = 1;

	(void)ctx;
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cli_print_usage(cli_find_command("plan"), stdout);
		printf("\nLoads and validates FILE, then prints the ordered plan: scope, steady-state\n"
		       "checks, each fault with its targets and max duration, probes, recovery\n"
		       "criterion, runbook steps, RPO method, failback and notifications.\n"
		       "Nothing is resolved, injected or probed.\n\n"
		       "exit: 0 printed, 2 the scenario is invalid, 3 the file cannot be read\n");
		return EXIT_OK;
	}
	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	if (argc != first + 1)
		return cli_usage_error("plan", "needs exactly one FILE");
	if (scenario_load(argv[first], &s, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return fd_error_exit_code(&err);
	}
	scenario_print_plan(s, stdout);
	scenario_free(s);
	return EXIT_OK;
}

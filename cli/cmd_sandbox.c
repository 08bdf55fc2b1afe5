/*
 * firedrill sandbox [--name NAME] -- COMMAND...: runs COMMAND in a new
 * user + network namespace, without root (drill/drill_sandbox.c,
 * docs/local.md); `firedrill run --sandbox NAME FILE` drills it there.
 * Exit: the command's own status; 2 for usage, 3 when user namespaces are
 * not available.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"
#include "drill.h"

static void on_ready(void *user, const struct drill_sandbox_info *sb)
{
	struct cli_ctx *ctx = user;

	if (ctx->verbosity >= 0) {
		fprintf(stderr, "sandbox %s: pid %ld (%s), command pid %ld; drill it with "
			"`firedrill run --sandbox %s FILE`\n", sb->name, sb->pid, sb->record, sb->child,
			sb->name);
		fflush(stderr);
	}
}

int cmd_sandbox(struct cli_ctx *ctx, int argc, char **argv)
{
	char name[64] = "";
	struct fd_error err;
	int i, status = 0;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("sandbox"), stdout);
		printf("  Makes a user and a network namespace (as `unshare -rn` does; no root\n"
		       "  needed where the kernel allows user namespaces), brings loopback up and\n"
		       "  runs COMMAND inside as you (root inside, your uid outside). NAME (default:\n"
		       "  the command's name) is how `firedrill run --sandbox NAME FILE` finds it\n"
		       "  while it runs (and `firedrill revert --sandbox NAME` reverts what a drill\n"
		       "  left in it). The sandbox ends with COMMAND; exit: COMMAND's status,\n"
		       "  3 when user namespaces are not available.\n");
		return EXIT_OK;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			snprintf(name, sizeof(name), "%s", argv[++i]);
		else
			return cli_usage_error("sandbox", "unknown option \"%s\" (the command goes after --)",
					       argv[i]);
	}
	if (i >= argc)
		return cli_usage_error("sandbox", "which command? (firedrill sandbox -- COMMAND...)");
	if (!name[0]) {
		char *copy = strdup(argv[i]);

		snprintf(name, sizeof(name), "%s", copy ? basename(copy) : "sandbox");
		free(copy);
	}
	fd_error_clear(&err);
	if (drill_sandbox_run(name, argv + i, on_ready, ctx, &status, &err) < 0)
		return cli_report_error(&err);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

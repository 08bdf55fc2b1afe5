/* firedrill revert */
#include <string.h>

#include "cli.h"

int cmd_revert(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("revert"), stdout);
		return EXIT_OK;
	}
	return cli_not_implemented("revert");
}

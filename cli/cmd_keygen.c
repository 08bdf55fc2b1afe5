/* firedrill keygen */
#include <string.h>

#include "cli.h"

int cmd_keygen(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("keygen"), stdout);
		return EXIT_OK;
	}
	return cli_not_implemented("keygen");
}

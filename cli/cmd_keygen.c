/* firedrill keygen -o PREFIX: an Ed25519 key pair for signing evidence reports. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"

int cmd_keygen(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fd_error err = { 0 };
	const char *prefix = NULL;
	int c;

	(void)ctx;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
		if (c == 'o') {
			prefix = optarg;
		} else if (c == 'h') {
			cli_print_usage(cli_find_command("keygen"), stdout);
			puts("  writes PREFIX.key (secret, mode 0600) and PREFIX.pub; never overwrites a key");
			return EXIT_OK;
		} else {
			return cli_usage_error("keygen", "unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (!prefix || optind != argc)
		return cli_usage_error("keygen", "usage: firedrill keygen -o PREFIX");
	if (report_keygen(prefix, &err) < 0)
		return cli_report_error(&err);
	printf("wrote %s.key (secret key, mode 0600: keep it private)\n"
	       "wrote %s.pub (public key: give it to whoever verifies your reports)\n", prefix, prefix);
	return EXIT_OK;
}

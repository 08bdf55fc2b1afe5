/*
 * firedrill lap [NOTE] | --failed REASON | --skipped REASON | --note TEXT:
 * tells the drill running on the same store (--db) that its current manual
 * runbook step is done, failed or skipped (with the reason), or puts a note
 * on its timeline. The drill answers over its lap socket
 * (drill/drill_ipc.c, docs/drill.md). Exit 0 when the drill took it, 1
 * when it refused (no manual step waiting, no reason), 2 for usage, 3 when
 * no drill runs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "drill.h"
#include "fd_user.h"

int cmd_lap(struct cli_ctx *ctx, int argc, char **argv)
{
	char note[400] = "", reply[512], who[128];
	const char *what = NULL;
	struct fd_error err;
	size_t used = 0;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("lap"), stdout);
		printf("  NOTE (optional) is stored with the lap, with who marked it (SUDO_USER or\n"
		       "  the login name) under their role in the drill (run --role ROLE=NAME).\n"
		       "  --failed REASON / --skipped REASON end the manual step waiting that way\n"
		       "  (a failed step stops the steps after it unless it says on-failure:\n"
		       "  continue); --note TEXT puts a note on the drill's timeline.\n"
		       "  Use the same --db as the drill.\n");
		return EXIT_OK;
	}
	if (argc > 1 && (strcmp(argv[1], "--failed") == 0 || strcmp(argv[1], "--skipped") == 0 ||
			 strcmp(argv[1], "--note") == 0)) {
		what = argv[1] + 2;
		argv++;
		argc--;
		if (argc < 2)
			return cli_usage_error("lap", "--%s needs %s", what,
					       strcmp(what, "note") == 0 ? "a text" : "a reason");
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] == '-' && used == 0 && !what)
			return cli_usage_error("lap", "unknown option \"%s\" (--failed, --skipped or --note)",
					       argv[i]);
		int n = snprintf(note + used, sizeof(note) - used, "%s%s", used ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(note) - used)
			return cli_usage_error("lap", "the note is too long (%zu bytes at most)",
					       sizeof(note) - 1);
		used += (size_t)n;
	}
	fd_error_clear(&err);
	fd_operator_name(NULL, who, sizeof(who));
	rc = drill_lap_send_as(ctx->db_path, who, what, note, reply, sizeof(reply), &err);
	if (rc == -EAGAIN) {
		fprintf(stderr, "firedrill lap: %s\n", err.msg);
		return EXIT_MISSED;
	}
	if (rc < 0)
		return cli_report_error(&err);
	if (ctx->verbosity >= 0)
		printf("%s\n", reply);
	return EXIT_OK;
}

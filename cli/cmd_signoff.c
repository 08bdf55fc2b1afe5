/*
 * firedrill signoff DRILL --name NAME --role ROLE --key KEY: an approver
 * signs the drill's evidence (reports/signoff.c says what is signed).
 * `firedrill verify --store` lists the sign-offs and checks each.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_record.h"
#include "report.h"

int cmd_signoff(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_record_flags f = { 0 };
	struct store_record r;
	struct fd_error err;
	struct store *st = NULL;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("signoff"), stdout);
		printf("  Signs, with KEY (firedrill keygen), the drill's sealed evidence and the\n"
		       "  findings, actions and notes recorded so far.\n");
		return EXIT_OK;
	}
	rc = cli_record_parse("signoff", "DRILL --name --role --key", argc, argv, 1, &f);
	if (rc)
		return rc;
	if (!f.name || !f.role || !f.key)
		return cli_usage_error("signoff", "--name NAME, --role ROLE and --key KEY are required");
	if (f.text[0])
		return cli_usage_error("signoff", "unexpected \"%s\"", f.text);
	fd_error_clear(&err);
	if (access(ctx->db_path, F_OK) < 0)
		return cli_usage_error("signoff", "%s: no store here (use --db PATH)", ctx->db_path);
	rc = store_open(ctx->db_path, &st, &err);
	if (!rc)
		rc = report_signoff(st, f.drill, f.name, f.role, f.key, &r, &err);
	store_close(st);
	if (rc)
		return cli_report_error(&err);
	cli_record_print(ctx, &r);
	return EXIT_OK;
}

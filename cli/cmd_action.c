/*
 * firedrill action DRILL --owner NAME --due YYYY-MM-DD [--finding ID] [--by NAME] TEXT
 * firedrill action close ID [--retest DRILL] [--by NAME] [TEXT]
 * Files a remediation action, or closes one (a new sealed row that names
 * the action and the drill that retested the fix; the action row itself
 * never changes).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_record.h"

static int close_action(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_record_flags f = { 0 };
	struct store_record r = { .kind = STORE_RECORD_ACTION_CLOSED };
	struct fd_error err;
	struct store *st = NULL;
	struct store_record action;
	int rc;

	if (argc < 3 || cli_parse_id(argv[2], &r.action_id) < 0)
		return cli_usage_error("action", "action close ID: expected an action id "
				       "(`firedrill actions`), got \"%s\"", argc > 2 ? argv[2] : "");
	rc = cli_record_parse("action", "--retest --by", argc, argv, 3, &f);
	if (rc)
		return rc;
	if (f.retest && cli_parse_id(f.retest, &r.retest_drill_id) < 0)
		return cli_usage_error("action", "--retest: expected a drill id, got \"%s\"", f.retest);
	/* the closing goes on the book of the drill the action was filed on */
	fd_error_clear(&err);
	rc = store_open_readonly(ctx->db_path, &st, &err);
	if (!rc)
		rc = store_get_record(st, r.action_id, &action, &err);
	store_close(st);
	if (rc)
		return cli_report_error(&err);
	r.drill_id = action.drill_id;
	snprintf(r.text, sizeof(r.text), "%s", f.text);
	return cli_record_add(ctx, &f, &r);
}

int cmd_action(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_record_flags f = { 0 };
	struct store_record r = { .kind = STORE_RECORD_ACTION };
	int rc;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("action"), stdout);
		printf("  or: firedrill action close ID [--retest DRILL] [TEXT]\n"
		       "  --due is a date (YYYY-MM-DD, UTC); `firedrill actions` flags it once past.\n"
		       "  --finding ID names the finding (of the same drill) the action remedies.\n");
		return EXIT_OK;
	}
	if (argc > 1 && strcmp(argv[1], "close") == 0)
		return close_action(ctx, argc, argv);
	rc = cli_record_parse("action", "DRILL --owner --due --finding --by", argc, argv, 1, &f);
	if (rc)
		return rc;
	if (!f.owner || !f.due)
		return cli_usage_error("action", "--owner NAME and --due YYYY-MM-DD are required");
	if (!f.text[0])
		return cli_usage_error("action", "what is to be done? (the text after the options)");
	if (f.finding && cli_parse_id(f.finding, &r.finding_id) < 0)
		return cli_usage_error("action", "--finding: expected a finding id, got \"%s\"", f.finding);
	r.drill_id = f.drill;
	snprintf(r.owner, sizeof(r.owner), "%s", f.owner);
	snprintf(r.due, sizeof(r.due), "%s", f.due);
	snprintf(r.text, sizeof(r.text), "%s", f.text);
	return cli_record_add(ctx, &f, &r);
}

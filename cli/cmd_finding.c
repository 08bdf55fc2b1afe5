/*
 * firedrill finding DRILL --severity critical|high|medium|low
 *                         [--root-cause TEXT] [--by NAME] TEXT
 * Files a finding on a drill's record book (sealed as it is written).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_record.h"

int cmd_finding(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_record_flags f = { 0 };
	struct store_record r = { .kind = STORE_RECORD_FINDING };
	int rc;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("finding"), stdout);
		printf("  Recorded under your name (--by NAME: someone else's) and your role in\n"
		       "  the drill (run --role). Findings are part of the evidence report.\n");
		return EXIT_OK;
	}
	rc = cli_record_parse("finding", "DRILL --severity --root-cause --by", argc, argv, 1, &f);
	if (rc)
		return rc;
	if (!f.severity)
		return cli_usage_error("finding", "--severity critical|high|medium|low is required");
	if (!f.text[0])
		return cli_usage_error("finding", "what was found? (the text after the options)");
	r.drill_id = f.drill;
	snprintf(r.severity, sizeof(r.severity), "%s", f.severity);
	snprintf(r.root_cause, sizeof(r.root_cause), "%s", f.root_cause ? f.root_cause : "");
	snprintf(r.text, sizeof(r.text), "%s", f.text);
	return cli_record_add(ctx, &f, &r);
}

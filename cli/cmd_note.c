/*
 * firedrill note DRILL [--by NAME] TEXT: a lesson learned, on the drill's
 * record book (sealed as it is written).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_record.h"

int cmd_note(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_record_flags f = { 0 };
	struct store_record r = { .kind = STORE_RECORD_NOTE };
	int rc;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("note"), stdout);
		return EXIT_OK;
	}
	rc = cli_record_parse("note", "DRILL --by", argc, argv, 1, &f);
	if (rc)
		return rc;
	if (!f.text[0])
		return cli_usage_error("note", "what was learned? (the text after the drill id)");
	r.drill_id = f.drill;
	snprintf(r.text, sizeof(r.text), "%s", f.text);
	return cli_record_add(ctx, &f, &r);
}

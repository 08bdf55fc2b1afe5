/*
 * firedrill revert: undo every fault the journal says is still applied,
 * wherever it was applied (each row's namespace), idempotently. Faults held
 * by a live `firedrill inject` holder are handed back by asking the holder.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "injector.h"
#include "store.h"

static void print_help(void)
{
	cli_print_usage(cli_find_command("revert"), stdout);
	printf("\n"
	       "Reverts every journal row still planned or applied (drop/reject tables,\n"
	       "routes, links, qdiscs, stopped or frozen processes, exec hooks).\n"
	       "Running it twice is fine; a fault that already expired counts as reverted.\n\n"
	       "exit: 0 nothing left applied, 3 something could not be reverted\n");
}

int cmd_revert(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fd_error err = { 0 };
	struct store_fault *rows = NULL;
	struct store *st = NULL;
	size_t n = 0;
	int n_reverted = 0, rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help();
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("revert", "takes no arguments");
	rc = store_open(ctx->db_path, &st, &err);
	if (rc == 0)
		rc = store_journal_list_active(st, &rows, &n, &err);
	if (rc == 0)
		rc = injector_revert_journal(st, &n_reverted, &err);
	if (rc < 0) {
		store_faults_free(rows, n);
		store_close(st);
		return cli_report_error(&err);
	}
	if (ctx->json) {
		json_t *arr = json_array();
		char *text;

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "fault", rows[i].fault_id,
							     "kind", rows[i].kind, "netns", rows[i].netns));
		text = json_dumps(arr, JSON_INDENT(2));
		if (text)
			puts(text);
		free(text);
		json_decref(arr);
	} else if (n == 0) {
		if (ctx->verbosity >= 0)
			printf("nothing to revert\n");
	} else {
		for (size_t i = 0; i < n; i++)
			printf("reverted %s (%s)%s%s\n", rows[i].fault_id, rows[i].kind,
			       rows[i].netns[0] ? " in namespace " : "", rows[i].netns);
	}
	store_faults_free(rows, n);
	store_close(st);
	return EXIT_OK;
}

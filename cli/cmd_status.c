/*
 * firedrill status: the faults applied now (journal rows still planned or
 * applied), with the time left before each one's max duration ends.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fd_time.h"
#include "store.h"

static void print_help(void)
{
	cli_print_usage(cli_find_command("status"), stdout);
	printf("\n"
	       "Lists every fault the journal says is applied (or planned and possibly\n"
	       "half-applied), with its kind, namespace, holder pid and time left.\n"
	       "With --inventory FILE: every host of the inventory, host by host.\n\n"
	       "options:\n"
	       "  --json    print [{\"fault\", \"kind\", \"state\", \"netns\", \"holder_pid\",\n"
	       "            \"time_left_ms\", \"expires\", \"detail\"}, ...]\n");
}

static void print_rows(const struct store_fault *rows, size_t n, bool json)
{
	int64_t now = fd_real_ns();
	json_t *arr = json ? json_array() : NULL;

	if (!json && n == 0)
		printf("no faults applied\n");
	for (size_t i = 0; i < n; i++) {
		const struct store_fault *r = &rows[i];
		int64_t left = r->expires_real_ns ? r->expires_real_ns - now : 0;
		char dur[32] = "-", when[40] = "";

		if (r->expires_real_ns) {
			fd_duration_format(left > 0 ? left : 0, dur, sizeof(dur));
			fd_time_format_utc(r->expires_real_ns, when, sizeof(when));
		}
		if (arr) {
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:i, s:o?, s:s?, s:s}",
				"fault", r->fault_id, "kind", r->kind,
				"state", store_journal_state_name(r->state), "netns", r->netns,
				"holder_pid", r->holder_pid,
				"time_left_ms", r->expires_real_ns ? json_integer(left / FD_NS_PER_MS) : NULL,
				"expires", r->expires_real_ns ? when : NULL, "detail", r->detail));
			continue;
		}
		printf("%-16s %-18s %-8s %s%s holder %d, %s left%s\n  %s\n", r->fault_id, r->kind,
		       store_journal_state_name(r->state), r->netns[0] ? "netns " : "", r->netns,
		       r->holder_pid, dur, left < 0 ? " (overdue: run `firedrill revert`)" : "",
		       r->detail);
	}
	if (arr) {
		char *text = json_dumps(arr, JSON_INDENT(2));

		if (text)
			puts(text);
		free(text);
		json_decref(arr);
	}
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fd_error err = { 0 };
	struct store_fault *rows = NULL;
	struct store *st = NULL;
	size_t n = 0;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help();
		return EXIT_OK;
	}
	if (argc > 1 && strcmp(argv[1], "--json") == 0)
		ctx->json = true;
	else if (argc > 1)
		return cli_usage_error("status", "unknown argument \"%s\"", argv[1]);
	if (ctx->inventory)
		return cli_fleet_status(ctx);
	rc = store_open_readonly(ctx->db_path, &st, &err);
	if (rc == -ENOENT) {
		print_rows(NULL, 0, ctx->json);
		return EXIT_OK;
	}
	if (rc == 0)
		rc = store_journal_list_active(st, &rows, &n, &err);
	if (rc < 0) {
		store_close(st);
		return cli_report_error(&err);
	}
	print_rows(rows, n, ctx->json);
	store_faults_free(rows, n);
	store_close(st);
	return EXIT_OK;
}

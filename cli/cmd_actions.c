/*
 * firedrill actions [--open] [--owner NAME] [--scenario NAME] [--env NAME]
 *                   [--now DATE]
 * Remediation actions across drills, oldest first, with their state; an
 * open action a day or more past its due date is flagged PAST DUE. --now
 * sets "today" (tests, or "what will be late on the 1st?").
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static int parse(int argc, char **argv, struct report_actions_filter *f)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--open") == 0) {
			f->open_only = true;
			continue;
		}
		if (strcmp(a, "--owner") != 0 && strcmp(a, "--scenario") != 0 &&
		    strcmp(a, "--env") != 0 && strcmp(a, "--now") != 0)
			return cli_usage_error("actions", "unknown argument \"%s\"", a);
		if (!v)
			return cli_usage_error("actions", "%s needs a value", a);
		i++;
		if (strcmp(a, "--owner") == 0)
			f->owner = v;
		else if (strcmp(a, "--scenario") == 0)
			f->scenario = v;
		else if (strcmp(a, "--env") == 0)
			f->environment = v;
		else if (report_parse_time(v, &f->now_real_ns) < 0)
			return cli_usage_error("actions", "--now: expected a date or ISO 8601 time, got \"%s\"", v);
	}
	return -1;
}

static void print_text(const struct report_action *list, size_t n)
{
	if (!n) {
		printf("no actions\n");
		return;
	}
	printf("%-4s %-5s %-28s %-12s %-10s %-18s %s\n", "ID", "DRILL", "SCENARIO/ENV", "OWNER",
	       "DUE", "STATE", "ACTION");
	for (size_t i = 0; i < n; i++) {
		const struct report_action *a = &list[i];
		char where[260], state[40];

		snprintf(where, sizeof(where), "%s/%s", a->scenario, a->environment);
		if (a->closed && a->closing.retest_drill_id)
			snprintf(state, sizeof(state), "closed (drill %lld)",
				 (long long)a->closing.retest_drill_id);
		else if (a->closed)
			snprintf(state, sizeof(state), "closed");
		else if (a->past_due)
			snprintf(state, sizeof(state), "PAST DUE %lldd", (long long)a->days_overdue);
		else
			snprintf(state, sizeof(state), "open");
		printf("%-4lld %-5lld %-28.28s %-12.12s %-10s %-18s %s\n", (long long)a->action.id,
		       (long long)a->action.drill_id, where, a->action.owner, a->action.due, state,
		       a->action.text);
	}
}

int cmd_actions(struct cli_ctx *ctx, int argc, char **argv)
{
	struct report_actions_filter f = { 0 };
	struct report_action *list = NULL;
	struct store *st = NULL;
	struct fd_error err;
	size_t n = 0;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("actions"), stdout);
		return EXIT_OK;
	}
	rc = parse(argc, argv, &f);
	if (rc >= 0)
		return rc;
	fd_error_clear(&err);
	rc = store_open_readonly(ctx->db_path, &st, &err);
	if (!rc)
		rc = report_actions_load(st, &f, &list, &n, &err);
	store_close(st);
	if (rc)
		return cli_report_error(&err);
	if (ctx->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, report_action_json(&list[i]));
		cli_print_json(arr);
		json_decref(arr);
	} else {
		print_text(list, n);
	}
	free(list);
	return EXIT_OK;
}

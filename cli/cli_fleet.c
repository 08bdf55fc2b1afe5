/*
 * cli_fleet: --inventory for the commands that take a scenario, and
 * `status` and `revert` across the inventory (docs/fleet.md). Each host
 * answers through its own `firedrill status|revert --json`, run over ssh
 * on every host at once; this file prints the answers host by host.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fd_time.h"
#include "fleet.h"
#include "scenario.h"

#define FLEET_CMD_TIMEOUT_NS (60 * FD_NS_PER_S)

int cli_load_scenario(const struct cli_ctx *ctx, const char *file, enum scenario_use use,
		      struct scenario **s, struct fd_error *err)
{
	struct scenario_inventory inv;
	int rc = scenario_load_for(file, use, s, err);

	if (rc < 0 || !ctx->inventory)
		return rc;
	rc = scenario_inventory_load(ctx->inventory, &inv, err);
	if (rc == 0)
		rc = scenario_use_inventory(*s, &inv, err);
	if (rc < 0) {
		scenario_free(*s);
		*s = NULL;
	}
	return rc;
}

static int run_all(const struct cli_ctx *ctx, const char *cmd, struct scenario_inventory *inv,
		   struct fleet_run_result **res, size_t *n)
{
	const char *args[] = { cmd, "--json", NULL };
	struct fd_error err = { 0 };
	int rc = scenario_inventory_load(ctx->inventory, inv, &err);

	if (rc == 0)
		rc = fleet_run_everywhere(inv, args, FLEET_CMD_TIMEOUT_NS, res, n, &err);
	if (rc < 0) {
		scenario_inventory_free(inv);
		return cli_report_error(&err);
	}
	return EXIT_OK;
}

/* A host's answer as JSON (an array), or NULL with why in *why. */
static json_t *answer(const struct fleet_run_result *r, const char **why)
{
	json_error_t je;
	json_t *arr = r->out ? json_loads(r->out, 0, &je) : NULL;

	*why = NULL;
	if (r->exit_code == 0 && json_is_array(arr))
		return arr;
	json_decref(arr);
	*why = r->err[0] ? r->err : "no answer";
	return NULL;
}

/* How one command's answers are told, host by host. */
struct fleet_told {
	const char *cmd;       /* "status" or "revert" */
	const char *no_answer; /* "cannot tell", "NOT reverted" */
	const char *none;      /* "no faults applied", "nothing to revert" */
	void (*row)(const char *host, json_t *row);
};

static void status_row(const char *host, json_t *row)
{
	json_t *left = json_object_get(row, "time_left_ms");
	char dur[32] = "-";

	if (json_is_integer(left))
		fd_duration_format(json_integer_value(left) * FD_NS_PER_MS, dur, sizeof(dur));
	printf("%s: %s (%s) %s, holder %lld, %s left\n", host,
	       json_string_value(json_object_get(row, "fault")),
	       json_string_value(json_object_get(row, "kind")),
	       json_string_value(json_object_get(row, "state")),
	       (long long)json_integer_value(json_object_get(row, "holder_pid")), dur);
}

static void revert_row(const char *host, json_t *row)
{
	const char *ns = json_string_value(json_object_get(row, "netns"));

	printf("%s: reverted %s (%s)%s%s\n", host, json_string_value(json_object_get(row, "fault")),
	       json_string_value(json_object_get(row, "kind")), ns && *ns ? " in namespace " : "",
	       ns && *ns ? ns : "");
}

/* Runs t->cmd on every host and tells the answers (or, with --json, one
 * object of them by host); EXIT_ENV when a host did not answer. */
static int fleet_tell(const struct cli_ctx *ctx, const struct fleet_told *t)
{
	struct scenario_inventory inv;
	struct fleet_run_result *res = NULL;
	json_t *all = ctx->json ? json_object() : NULL;
	size_t n = 0;
	int code = run_all(ctx, t->cmd, &inv, &res, &n);

	if (code != EXIT_OK) {
		json_decref(all);
		return code;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why;
		json_t *arr = answer(&res[i], &why), *row;
		size_t k;

		if (!arr)
			code = EXIT_ENV;
		if (all) {
			json_object_set_new(all, res[i].host, arr ? arr : json_pack("{s:s}", "error", why));
			continue;
		}
		if (!arr) {
			printf("%s: %s: %s\n", res[i].host, t->no_answer, why);
			continue;
		}
		if (json_array_size(arr) == 0)
			printf("%s: %s\n", res[i].host, t->none);
		json_array_foreach(arr, k, row) {
			t->row(res[i].host, row);
		}
		json_decref(arr);
	}
	if (all)
		cli_print_json(all);
	json_decref(all);
	fleet_run_results_free(res, n);
	scenario_inventory_free(&inv);
	return code;
}

int cli_fleet_status(const struct cli_ctx *ctx)
{
	static const struct fleet_told t = { "status", "cannot tell", "no faults applied",
					     status_row };

	return fleet_tell(ctx, &t);
}

int cli_fleet_revert(const struct cli_ctx *ctx)
{
	static const struct fleet_told t = { "revert", "NOT reverted", "nothing to revert",
					     revert_row };

	return fleet_tell(ctx, &t);
}

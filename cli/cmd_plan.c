/*
 * firedrill plan FILE [--json]: what a drill would do, in order, touching
 * nothing. The plan is one object (scenarios/scenario_plan.h) that the
 * injector describes fault by fault; scenarios/ renders it as text or JSON.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "injector.h"
#include "scenario.h"
#include "scenario_plan.h"

/* The plan with the drivers' part filled in; NULL when out of memory. */
static struct scenario_plan *plan_of(const struct scenario *s)
{
	struct scenario_plan *p = NULL;

	if (scenario_plan_build(s, &p) < 0)
		return NULL;
	if (injector_plan_describe(p) < 0) {
		scenario_plan_free(p);
		return NULL;
	}
	return p;
}

json_t *cli_plan_json(const struct scenario *s)
{
	struct scenario_plan *p = plan_of(s);
	json_t *o = p ? scenario_plan_json(p) : NULL;

	scenario_plan_free(p);
	return o;
}

void cli_plan_print(const struct scenario *s, FILE *out)
{
	struct scenario_plan *p = plan_of(s);

	if (!p) {
		fprintf(out, "plan: not shown (out of memory)\n");
		return;
	}
	scenario_plan_print(p, out);
	scenario_plan_free(p);
}

int cli_print_json(json_t *o)
{
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) : NULL;

	if (!text)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

int cmd_plan(struct cli_ctx *ctx, int argc, char **argv)
{
	struct scenario *s = NULL;
	struct fd_error err;
	const char *file = NULL;
	bool json = ctx->json, opts = true;
	int rc = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (opts && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
			cli_print_usage(cli_find_command("plan"), stdout);
			printf("\nLoads and validates FILE, then prints the ordered plan: scope, steady-state\n"
			       "checks, each fault with its targets and max duration, probes, recovery\n"
			       "criterion, runbook steps, RPO method, failback and notifications.\n"
			       "Nothing is resolved, injected or probed.\n\n"
			       "  --json  the plan as one JSON object (keys: docs/scenarios.md)\n\n"
			       "exit: 0 printed, 2 the scenario is invalid, 3 the file cannot be read\n");
			return EXIT_OK;
		} else if (opts && strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (opts && strcmp(argv[i], "--") == 0) {
			opts = false;
		} else if (opts && argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("plan", "unknown option \"%s\"", argv[i]);
		} else if (file) {
			return cli_usage_error("plan", "needs exactly one FILE");
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return cli_usage_error("plan", "needs exactly one FILE");
	if (cli_load_scenario(ctx, file, SCENARIO_FOR_RUN, &s, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return fd_error_exit_code(&err);
	}
	if (json) {
		json_t *o = cli_plan_json(s);

		if (cli_print_json(o) < 0) {
			fprintf(stderr, "firedrill: error: out of memory building the plan\n");
			rc = EXIT_INTERNAL;
		}
		json_decref(o);
	} else {
		cli_plan_print(s, stdout);
	}
	scenario_free(s);
	return rc;
}

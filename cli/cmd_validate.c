/*
 * firedrill validate FILE...: load every file (never stop at the first bad
 * one) and report each. Exit 0 when all are good, else the worst exit code
 * (2 for a bad scenario, 3 for a file that cannot be read).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scenario.h"

static void print_help(void)
{
	cli_print_usage(cli_find_command("validate"), stdout);
	printf("\n"
	       "Loads and fully validates each scenario without touching anything.\n"
	       "Prints \"FILE: ok\" for a good file (nothing with -q) and, on stderr,\n"
	       "every error of a bad one (at most %d), sorted by position, each\n"
	       "\"FILE:LINE:COL: error: ...\". The first line is the error `run` stops at.\n\n"
	       "options:\n"
	       "  --inject  check as `firedrill inject` reads the file: faults (and scope)\n"
	       "            are enough; probes and recovery are needed by `run` only\n"
	       "  -q        print nothing for good files\n"
	       "  --json    print [{\"file\", \"ok\", \"error\", \"errors\"}, ...] on stdout\n"
	       "            (error: the first, errors: all of them)\n\n"
	       "exit: 0 all good, 2 a scenario is invalid, 3 a file cannot be read\n",
	       SCENARIO_MAX_ERRORS);
}

static int add_json(json_t *arr, const char *file, const struct scenario_errors *errs)
{
	json_t *list = json_array();
	json_t *o;

	for (size_t i = 0; list && i < errs->n; i++)
		if (json_array_append_new(list, json_string(errs->e[i].err.msg)) < 0) {
			json_decref(list);
			return -1;
		}
	o = json_pack("{s:s, s:b, s:s?, s:o, s:b}", "file", file, "ok", errs->n == 0, "error",
		      errs->n ? errs->e[0].err.msg : NULL, "errors", list, "truncated",
		      errs->truncated);
	return o ? json_array_append_new(arr, o) : -1;
}

static int print_json(json_t *arr)
{
	char *text = json_dumps(arr, JSON_INDENT(2));

	if (!text)
		return -1;
	puts(text);
	free(text);
	return 0;
}

static int print_errors(const char *file, const struct scenario_errors *errs)
{
	int worst = EXIT_OK;

	for (size_t i = 0; i < errs->n; i++) {
		int code = fd_error_exit_code(&errs->e[i].err);

		fprintf(stderr, "%s\n", errs->e[i].err.msg);
		if (code > worst)
			worst = code;
	}
	if (errs->truncated)
		fprintf(stderr, "%s: stopped after %d errors\n", file, SCENARIO_MAX_ERRORS);
	return worst;
}

int cmd_validate(struct cli_ctx *ctx, int argc, char **argv)
{
	enum scenario_use use = SCENARIO_FOR_RUN;
	struct scenario_errors *errs = NULL;
	json_t *arr = NULL;
	int worst = EXIT_OK, first = 1;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
			print_help();
			return EXIT_OK;
		} else if (strcmp(argv[first], "--inject") == 0) {
			use = SCENARIO_FOR_INJECT;
		} else if (strcmp(argv[first], "--") == 0) {
			first++;
			break;
		} else {
			return cli_usage_error("validate", "unknown option \"%s\"", argv[first]);
		}
	}
	if (argc <= first)
		return cli_usage_error("validate", "needs at least one FILE");
	errs = malloc(sizeof(*errs));
	if (!errs || (ctx->json && !(arr = json_array()))) {
		free(errs);
		return EXIT_INTERNAL;
	}
	for (int i = first; i < argc; i++) {
		int code = EXIT_OK;

		if (scenario_check(argv[i], use, errs) < 0 && arr)
			code = errs->n ? fd_error_exit_code(&errs->e[0].err) : EXIT_INTERNAL;
		else if (!arr)
			code = print_errors(argv[i], errs);
		/* with --inventory, the faults' on: must name its hosts */
		if (errs->n == 0 && ctx->inventory) {
			struct scenario *s = NULL;
			struct fd_error err = { 0 };

			if (cli_load_scenario(ctx, argv[i], use, &s, &err) < 0) {
				code = fd_error_exit_code(&err);
				if (!arr)
					fprintf(stderr, "%s\n", err.msg);
			}
			scenario_free(s);
		}
		if (code > worst)
			worst = code;
		if (arr && add_json(arr, argv[i], errs) < 0)
			worst = EXIT_INTERNAL;
		else if (!arr && code == EXIT_OK && errs->n == 0 && ctx->verbosity >= 0)
			printf("%s: ok\n", argv[i]);
	}
	if (arr && print_json(arr) < 0)
		worst = EXIT_INTERNAL;
	json_decref(arr);
	free(errs);
	return worst;
}

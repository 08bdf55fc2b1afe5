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
	       "Prints \"FILE: ok\" for a good file (nothing with -q) and the error\n"
	       "\"FILE:LINE:COL: error: ...\" on stderr for a bad one.\n\n"
	       "options:\n"
	       "  -q        print nothing for good files\n"
	       "  --json    print [{\"file\", \"ok\", \"error\"}, ...] on stdout instead\n\n"
	       "exit: 0 all good, 2 a scenario is invalid, 3 a file cannot be read\n");
}

static int add_json(json_t *arr, const char *file, const struct fd_error *err)
{
	json_t *o = json_pack("{s:s, s:b, s:s?}", "file", file, "ok", err == NULL, "error",
			      err ? err->msg : NULL);

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

int cmd_validate(struct cli_ctx *ctx, int argc, char **argv)
{
	json_t *arr = NULL;
	int worst = EXIT_OK, first = 1;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help();
		return EXIT_OK;
	}
	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	if (argc <= first)
		return cli_usage_error("validate", "needs at least one FILE");
	if (ctx->json && !(arr = json_array()))
		return EXIT_INTERNAL;
	for (int i = first; i < argc; i++) {
		struct scenario *s = NULL;
		struct fd_error err;
		int code;

		code = cli_load_scenario(ctx, argv[i], &s, &err) ? fd_error_exit_code(&err) : EXIT_OK;
		scenario_free(s);
		if (code > worst)
			worst = code;
		if (arr && add_json(arr, argv[i], code ? &err : NULL) < 0)
			worst = EXIT_INTERNAL;
		else if (!arr && code)
			fprintf(stderr, "%s\n", err.msg);
		else if (!arr && ctx->verbosity >= 0)
			printf("%s: ok\n", argv[i]);
	}
	if (arr && print_json(arr) < 0)
		worst = EXIT_INTERNAL;
	json_decref(arr);
	return worst;
}

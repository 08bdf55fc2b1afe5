/*
 * firedrill init [--template NAME] [-o FILE]: a commented starter scenario.
 * The templates are scenarios/templates/NAME.yaml, embedded at build time
 * (init_templates.h) so that an installed binary has them; each one
 * validates as written (tests/unit/cli/test_init.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "init_templates.h"

static const struct {
	const char *name;
	const char *text;
	const char *what;
} templates[] = {
	{ "region-drop", FD_TEMPLATE_REGION_DROP, "a region's endpoints are dropped; traffic fails over" },
	{ "s3", FD_TEMPLATE_S3, "S3 in one region disappears (AWS ip-ranges.json), with an RPO canary" },
	{ "kill", FD_TEMPLATE_KILL, "a service process is killed; its supervisor restarts it" },
	{ "link", FD_TEMPLATE_LINK, "a link gets slow (delay; loss, rate, link-down alike)" },
	{ "exec", FD_TEMPLATE_EXEC, "your own inject and revert commands (a cloud failover)" },
};

static void print_help(void)
{
	cli_print_usage(cli_find_command("init"), stdout);
	printf("\n"
	       "Writes a commented starter scenario that validates as it is; edit the\n"
	       "values marked CHANGE. Without -o it goes to stdout.\n\n"
	       "options:\n"
	       "  --template NAME  which starter (default region-drop):\n");
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		printf("      %-12s %s\n", templates[i].name, templates[i].what);
	printf("  -o FILE          write FILE (mode 0644); an existing FILE is kept unless --force\n\n"
	       "exit: 0 written, 2 usage (unknown template, FILE exists), 3 FILE cannot be written\n");
}

static int write_file(const char *path, const char *text, bool force)
{
	size_t len = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL),
		      0644);

	if (fd < 0 && errno == EEXIST)
		return cli_usage_error("init", "%s exists; keeping it (--force overwrites)", path);
	if (fd < 0) {
		fprintf(stderr, "firedrill: error: %s: cannot create: %s\n", path, strerror(errno));
		return EXIT_ENV;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "firedrill: error: %s: cannot write: %s\n", path, strerror(errno));
			close(fd);
			return EXIT_ENV;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "firedrill: error: %s: cannot write: %s\n", path, strerror(errno));
		return EXIT_ENV;
	}
	return EXIT_OK;
}

int cmd_init(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "template", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = "region-drop", *out = NULL;
	size_t i, n = sizeof(templates) / sizeof(templates[0]);
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:o:h", longs, NULL)) != -1) {
		if (c == 't') {
			name = optarg;
		} else if (c == 'o') {
			out = optarg;
		} else if (c == 'h') {
			print_help();
			return EXIT_OK;
		} else {
			return cli_usage_error("init", "unknown option or missing value: %s",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("init", "unexpected argument \"%s\"", argv[optind]);
	for (i = 0; i < n && strcmp(templates[i].name, name) != 0; i++)
		;
	if (i == n)
		return cli_usage_error("init", "unknown template \"%s\" (one of: region-drop, s3, "
				       "kill, link, exec)", name);
	if (!out) {
		fputs(templates[i].text, stdout);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_ENV;
	}
	rc = write_file(out, templates[i].text, ctx->force);
	if (rc == EXIT_OK && ctx->verbosity >= 0)
		printf("wrote %s (template %s): edit the values marked CHANGE, then\n"
		       "  firedrill validate %s && firedrill plan %s\n", out, name, out, out);
	return rc;
}

/*
 * What the record-book commands (finding, action, note, signoff) share:
 * one flag parser that takes only the flags a command allows, the author
 * and their role in the drill, and printing a stored record.
 */
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_record.h"
#include "drill.h"
#include "fd_user.h"
#include "report.h"

int cli_parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The value slot of flag name in f, or NULL when it is not a value flag. */
static const char **slot(struct cli_record_flags *f, const char *name)
{
	static const char *const names[] = { "--severity", "--root-cause", "--owner", "--due",
					     "--by", "--retest", "--name", "--role", "--key",
					     "--finding" };
	const char **slots[] = { &f->severity, &f->root_cause, &f->owner, &f->due, &f->by,
				 &f->retest, &f->name, &f->role, &f->key, &f->finding };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return slots[i];
	return NULL;
}

/* Whether the space-separated list allowed holds word (exactly). */
static bool allows(const char *allowed, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = allowed; (p = strstr(p, word)); p += len)
		if ((p == allowed || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

static int add_word(const char *cmd, struct cli_record_flags *f, const char *w)
{
	size_t used = strlen(f->text);
	int n = snprintf(f->text + used, sizeof(f->text) - used, "%s%s", used ? " " : "", w);

	if (n < 0 || (size_t)n >= sizeof(f->text) - used)
		return cli_usage_error(cmd, "the text is too long (%zu bytes at most)",
				       sizeof(f->text) - 1);
	return 0;
}

int cli_record_parse(const char *cmd, const char *allowed, int argc, char **argv, int first,
		     struct cli_record_flags *f)
{
	for (int i = first; i < argc; i++) {
		const char **v = argv[i][0] == '-' && argv[i][1] ? slot(f, argv[i]) : NULL;
		int rc;

		if (argv[i][0] == '-' && argv[i][1] && (!v || !allows(allowed, argv[i])))
			return cli_usage_error(cmd, "unknown option \"%s\"", argv[i]);
		if (v && i + 1 >= argc)
			return cli_usage_error(cmd, "%s needs a value", argv[i]);
		if (v) {
			*v = argv[++i];
			continue;
		}
		if (!f->has_drill && allows(allowed, "DRILL")) {
			if (cli_parse_id(argv[i], &f->drill) < 0)
				return cli_usage_error(cmd, "expected a drill id (a number from "
						       "`firedrill history`), got \"%s\"", argv[i]);
			f->has_drill = true;
			continue;
		}
		rc = add_word(cmd, f, argv[i]);
		if (rc)
			return rc;
	}
	if (allows(allowed, "DRILL") && !f->has_drill)
		return cli_usage_error(cmd, "which drill? (a drill id from `firedrill history`)");
	return 0;
}

/* The author (--by, else the invoking user) and their role in the drill. */
static int fill_author(struct store *st, const struct cli_record_flags *f, struct store_record *r,
		       struct fd_error *err)
{
	struct store_drill d;
	int rc = store_get_drill(st, r->drill_id, &d, err);

	if (rc)
		return rc;
	fd_operator_name(f->by, r->author, sizeof(r->author));
	drill_role_of(d.participants, r->author, r->author_role, sizeof(r->author_role));
	return 0;
}

void cli_record_print(const struct cli_ctx *ctx, const struct store_record *r)
{
	json_t *o;

	if (ctx->json) {
		o = report_record_json(r);
		cli_print_json(o);
		json_decref(o);
		return;
	}
	if (ctx->verbosity < 0)
		return;
	printf("%s %lld recorded on drill %lld by %s%s%s%s (record book entry %lld)\n",
	       store_record_kind_name(r->kind), (long long)r->id, (long long)r->drill_id, r->author,
	       r->author_role[0] ? " (" : "", r->author_role, r->author_role[0] ? ")" : "",
	       (long long)r->chain_seq);
}

int cli_record_add(struct cli_ctx *ctx, const struct cli_record_flags *f, struct store_record *r)
{
	struct fd_error err;
	struct store *st = NULL;
	int rc;

	fd_error_clear(&err);
	/* the book belongs to a recorded drill: never create an empty store for it */
	if (access(ctx->db_path, F_OK) < 0) {
		fd_error_set(&err, FD_ERR_INPUT, -ENOENT, "%s: no store here (use --db PATH)",
			     ctx->db_path);
		return cli_report_error(&err);
	}
	rc = store_open(ctx->db_path, &st, &err);
	if (!rc)
		rc = fill_author(st, f, r, &err);
	if (!rc)
		rc = store_add_record(st, r, &err);
	store_close(st);
	if (rc)
		return cli_report_error(&err);
	cli_record_print(ctx, r);
	return EXIT_OK;
}

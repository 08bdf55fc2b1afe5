/*
 * The record-book commands' shared part (cli_record.c): finding, action,
 * note and signoff parse the same way, write through store_add_record or
 * report_signoff, and print the stored record (text, or --json).
 */
#ifndef FD_CLI_RECORD_H
#define FD_CLI_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "store.h"

struct cli_record_flags {
	bool has_drill;
	int64_t drill;
	const char *severity, *root_cause, *owner, *due, *by, *retest, *name, *role, *key, *finding;
	char text[1024]; /* the words that are not flags, joined by spaces */
};

/* A positive integer id; -EINVAL otherwise. */
int cli_parse_id(const char *s, int64_t *out);

/*
 * Parses argv[first..] into f. allowed lists the value flags the command
 * takes ("--severity --root-cause --by") and "DRILL" when the first word
 * is a drill id. 0, or an exit code after a usage error.
 */
int cli_record_parse(const char *cmd, const char *allowed, int argc, char **argv, int first,
		     struct cli_record_flags *f);

/* Fills r's author and role, appends r to the store, prints it; an exit code. */
int cli_record_add(struct cli_ctx *ctx, const struct cli_record_flags *f, struct store_record *r);

/* "finding 4 recorded on drill 2 by bob (scribe) ...", or the record as JSON. */
void cli_record_print(const struct cli_ctx *ctx, const struct store_record *r);

#endif

/*
 * firedrill verify REPORT [--pubkey KEY] [--no-store]: checks REPORT.sig,
 * the report's bytes and the store's hash chain, and says what was altered.
 * Exit 0 verified, 1 verification failed, 2 usage, 3 missing files.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "store.h"

static const char *status_name(enum report_verify_status s)
{
	switch (s) {
	case REPORT_VERIFY_OK: return "verified";
	case REPORT_VERIFY_BAD_SIGNATURE: return "signature invalid";
	case REPORT_VERIFY_REPORT_CHANGED: return "report altered";
	case REPORT_VERIFY_WRONG_KEY: return "signed by another key";
	case REPORT_VERIFY_CHAIN_BROKEN: return "store chain broken";
	case REPORT_VERIFY_STORE_CHANGED: return "store rows differ";
	}
	return "?";
}

static void help(void)
{
	cli_print_usage(cli_find_command("verify"), stdout);
	puts("  --pubkey KEY  require this signer (PREFIX.pub); without it the key in REPORT.sig\n"
	     "                is used, which proves integrity but not who signed\n"
	     "  --no-store    check the signature only, not the store's hash chain (--db)\n"
	     "  exit: 0 verified, 1 verification failed, 2 usage, 3 missing files");
}

int cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pubkey", required_argument, NULL, 'k' }, { "no-store", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct report_verify_result res;
	struct fd_error err = { 0 };
	struct store *st = NULL;
	const char *pubkey = NULL;
	bool no_store = false;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'k')
			pubkey = optarg;
		else if (c == 'n')
			no_store = true;
		else if (c == 'h')
			return help(), EXIT_OK;
		else
			return cli_usage_error("verify", "unknown option or missing value: %s", argv[optind - 1]);
	}
	if (optind != argc - 1)
		return cli_usage_error("verify", "usage: firedrill verify REPORT [--pubkey KEY] [--no-store]");
	if (!no_store && store_open_readonly(ctx->db_path, &st, &err) < 0) {
		fd_error_prefix(&err, "store (use --db PATH, or --no-store to check the signature only)");
		return cli_report_error(&err);
	}
	rc = report_verify_file(argv[optind], pubkey, st, &res, &err);
	store_close(st);
	if (rc < 0)
		return cli_report_error(&err);
	if (res.status != REPORT_VERIFY_OK) {
		printf("FAILED: %s: %s\n", status_name(res.status), res.what);
		return EXIT_MISSED;
	}
	printf("verified: %s\n  signature: good, key %s%s, signed %s\n  report: unchanged since signing\n",
	       argv[optind], res.key_id, pubkey ? " (matches --pubkey)" : " (embedded key; pass --pubkey to check the signer)",
	       res.signed_at);
	if (res.trend)
		printf("  covers: trend report of %s; %zu drill%s\n", res.covers, res.n_drills,
		       res.n_drills == 1 ? "" : "s");
	if (st && res.trend)
		printf("  store: hash chain intact, the covered drill and iteration rows match\n");
	else if (st)
		printf("  store: hash chain intact%s\n", res.drill_id ? ", drill and iteration rows match" : "");
	else
		printf("  store: not checked (--no-store)\n");
	return EXIT_OK;
}

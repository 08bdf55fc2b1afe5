/*
 * firedrill verify REPORT [--pubkey KEY] [--no-store]: checks REPORT.sig,
 * the report's bytes and the store's hash chain, and says what was altered.
 * firedrill verify --seal SEAL [REPORT]: checks a drill's seal (run --sign)
 * against the store, and that REPORT was made from the sealed drill.
 * firedrill verify --store: checks the store (--db) alone.
 * Exit 0 verified, 1 verification failed, 2 usage, 3 missing files.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fd_time.h"
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
	     "  --seal SEAL   check a drill's seal (firedrill run --sign) against the store and,\n"
	     "                given REPORT, that the report was made from the sealed drill\n"
	     "  --store       check the store (--db) alone: its chains and every sealed row\n"
	     "  exit: 0 verified, 1 verification failed, 2 usage, 3 missing files");
}

/*
 * Lists the sign-offs of drill_id (0: every drill) and checks each; false
 * when one fails. Says nothing when there are none and drill_id is 0.
 */
static bool print_signoffs(struct store *st, int64_t drill_id, const char *pubkey, bool *ok)
{
	struct report_signoff_check *c = NULL;
	struct fd_error err = { 0 };
	size_t n = 0;
	char when[40];

	*ok = true;
	if (report_signoffs_check(st, drill_id, pubkey, &c, &n, &err) < 0) {
		printf("  sign-offs: could not be checked: %s\n", err.msg);
		*ok = false;
		return false;
	}
	if (!n && drill_id)
		printf("  sign-offs: none\n");
	for (size_t i = 0; i < n; i++) {
		fd_time_format_utc(c[i].rec.created_real_ns, when, sizeof(when));
		printf("  sign-off: drill %lld by %s (%s) at %s, key %s, covering %lld record book "
		       "entr%s: %s%s\n", (long long)c[i].rec.drill_id, c[i].rec.author,
		       c[i].rec.author_role, when, c[i].rec.key_id, (long long)c[i].records_seq,
		       c[i].records_seq == 1 ? "y" : "ies", c[i].ok ? "good" : "FAILED: ", c[i].what);
		*ok = *ok && c[i].ok;
	}
	free(c);
	return *ok;
}

static int verify_store(struct cli_ctx *ctx)
{
	struct fd_error err = { 0 };
	struct store *st = NULL;
	int rc = store_open_readonly(ctx->db_path, &st, &err);
	bool ok;

	if (rc < 0) {
		fd_error_prefix(&err, "store (use --db PATH)");
		return cli_report_error(&err);
	}
	rc = store_verify_chain(st, &err);
	if (rc == -EBADMSG) {
		store_close(st);
		printf("FAILED: store rows differ: %s\n", err.msg);
		return EXIT_MISSED;
	}
	if (rc < 0) {
		store_close(st);
		return cli_report_error(&err);
	}
	printf("verified: %s\n  store: hash chains intact; every sealed drill and iteration, the "
	       "evidence they seal, and the record book match\n", ctx->db_path);
	print_signoffs(st, 0, NULL, &ok);
	store_close(st);
	return ok ? EXIT_OK : EXIT_MISSED;
}

static int verify_seal(struct cli_ctx *ctx, const char *seal, const char *report,
		       const char *pubkey, bool no_store, int n_args)
{
	struct report_verify_result res;
	struct fd_error err = { 0 };
	struct store *st = NULL;
	int rc;

	if (n_args > 1)
		return cli_usage_error("verify", "usage: firedrill verify --seal SEAL [REPORT] [--pubkey KEY]");
	if (!no_store && store_open_readonly(ctx->db_path, &st, &err) < 0) {
		fd_error_prefix(&err, "store (use --db PATH, or --no-store to check the signature only)");
		return cli_report_error(&err);
	}
	rc = report_verify_seal(seal, report, pubkey, st, &res, &err);
	store_close(st);
	if (rc < 0)
		return cli_report_error(&err);
	if (res.status != REPORT_VERIFY_OK) {
		printf("FAILED: %s: %s\n", status_name(res.status), res.what);
		return EXIT_MISSED;
	}
	printf("verified: seal %s of drill %lld\n  signature: good, key %s%s, signed %s\n", seal,
	       (long long)res.drill_id, res.key_id,
	       pubkey ? " (matches --pubkey)" : " (embedded key; pass --pubkey to check the signer)",
	       res.signed_at);
	if (st && res.legacy_seal)
		printf("  store: hash chain intact; the drill and iteration rows match (sealed before "
		       "evidence seals: their events, samples, laps and faults are not covered)\n");
	else if (st)
		printf("  store: hash chain intact; the drill, its iterations and the evidence they "
		       "seal (events, samples, laps, faults, scenario) match\n");
	else
		printf("  store: not checked (--no-store)\n");
	if (report)
		printf("  report: %s was made from the sealed drill (it shows its row hash)\n", report);
	return EXIT_OK;
}

int cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pubkey", required_argument, NULL, 'k' }, { "no-store", no_argument, NULL, 'n' },
		{ "seal", required_argument, NULL, 's' }, { "store", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct report_verify_result res;
	struct fd_error err = { 0 };
	struct store *st = NULL;
	const char *pubkey = NULL, *seal = NULL;
	bool no_store = false, store_only = false, signed_ok = true;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'k')
			pubkey = optarg;
		else if (c == 'n')
			no_store = true;
		else if (c == 's')
			seal = optarg;
		else if (c == 'S')
			store_only = true;
		else if (c == 'h')
			return help(), EXIT_OK;
		else
			return cli_usage_error("verify", "unknown option or missing value: %s", argv[optind - 1]);
	}
	if (store_only)
		return seal || no_store || optind != argc ?
		       cli_usage_error("verify", "usage: firedrill verify --store (with --db PATH)") :
		       verify_store(ctx);
	if (seal)
		return verify_seal(ctx, seal, optind < argc ? argv[optind] : NULL, pubkey, no_store,
				   argc - optind);
	if (optind != argc - 1)
		return cli_usage_error("verify", "usage: firedrill verify REPORT [--pubkey KEY] [--no-store]");
	if (!no_store && store_open_readonly(ctx->db_path, &st, &err) < 0) {
		fd_error_prefix(&err, "store (use --db PATH, or --no-store to check the signature only)");
		return cli_report_error(&err);
	}
	rc = report_verify_file(argv[optind], pubkey, st, &res, &err);
	if (rc < 0 || res.status != REPORT_VERIFY_OK)
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
	else if (st && res.drill_id && res.legacy_seal)
		printf("  store: hash chain intact, drill and iteration rows match (sealed before "
		       "evidence seals: their events, samples, laps and faults are not covered)\n");
	else if (st)
		printf("  store: hash chain intact%s\n", res.drill_id ?
		       ", drill and iteration rows match, and the evidence they seal" : "");
	else
		printf("  store: not checked (--no-store)\n");
	/* approvers sign the drill, not the report: theirs are checked in the store */
	signed_ok = !st || !res.drill_id || print_signoffs(st, res.drill_id, NULL, &signed_ok);
	store_close(st);
	return signed_ok ? EXIT_OK : EXIT_MISSED;
}

/*
 * firedrill freshness [--env NAME] [--store PATH] [--now TIME] [FILE...]:
 * which scenarios have not been proven lately (docs/reports.md,
 * "Freshness"), as a table or (--json) as data, with an exit code a CI
 * gate can use: 0 nothing stale, 1 something stale or changed and not yet
 * proven, 2 bad input, 3 the store is missing or the clock is behind it.
 *
 * Without FILEs: every scenario x environment the store has drilled. With
 * FILEs: those scenarios, each judged by its file's current text and
 * prove-every (its environment, or --env). Reads only.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fd_time.h"
#include "report.h"
#include "scenario.h"
#include "store.h"

#define DAY_NS (INT64_C(86400) * FD_NS_PER_S)

struct freshness_opts {
	const char *environment; /* --env: NULL = all (without files), else the files' own */
	int64_t now_real_ns;     /* --now, else the clock */
	char **files;
	size_t n_files;
};

static void print_help(void)
{
	cli_print_usage(cli_find_command("freshness"), stdout);
	printf("\n"
	       "Lists, per scenario x environment, when it was last drilled and last\n"
	       "proven (recovered with its objectives met), and whether that is fresh\n"
	       "against its prove-every. With FILEs, each file's current text and\n"
	       "prove-every are judged (a text never proven is \"plan changed\").\n\n"
	       "statuses: fresh, stale (last proven more than prove-every days ago, or\n"
	       "never), plan changed, not yet proven, no period (no prove-every: never\n"
	       "stale), never drilled (a FILE only), unknown (the clock is behind the store)\n\n"
	       "options:\n"
	       "  --env NAME     only this environment (with FILEs: judge them in NAME)\n"
	       "  --store PATH   the store (the same as the global --db PATH)\n"
	       "  --now TIME     judge at TIME (2026-11-26 or 2026-11-26T03:15:30Z), for tests\n"
	       "  --json         print the rows as JSON\n\n"
	       "exit: 0 nothing stale, 1 stale or plan changed and not yet proven,\n"
	       "      2 bad input, 3 store missing or the clock behind the store\n");
}

/* Returns -1 when done parsing, else an exit code. */
static int parse_args(struct cli_ctx *ctx, int argc, char **argv, struct freshness_opts *o)
{
	bool files_only = false;

	o->files = calloc((size_t)argc, sizeof(*o->files));
	if (!o->files)
		return EXIT_INTERNAL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (files_only || a[0] != '-') {
			o->files[o->n_files++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			files_only = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			print_help();
			return EXIT_OK;
		}
		if (strcmp(a, "--env") != 0 && strcmp(a, "--store") != 0 && strcmp(a, "--now") != 0)
			return cli_usage_error("freshness", "unknown argument \"%s\"", a);
		if (!val)
			return cli_usage_error("freshness", "%s needs a value", a);
		i++;
		if (strcmp(a, "--env") == 0)
			o->environment = val;
		else if (strcmp(a, "--store") == 0)
			ctx->db_path = val;
		else if (report_parse_time(val, &o->now_real_ns))
			return cli_usage_error("freshness",
					       "--now needs a date or time such as 2026-11-26 or "
					       "2026-11-26T03:15:30Z, got \"%s\"", val);
	}
	return -1;
}

/* Loads every file (all of them, reporting each bad one); their models own the strings. */
static int load_files(const struct freshness_opts *o, struct scenario **models,
		      struct report_plan_file *files)
{
	int worst = EXIT_OK;

	for (size_t i = 0; i < o->n_files; i++) {
		struct fd_error err = { 0 };

		if (scenario_load(o->files[i], &models[i], &err)) {
			int rc = cli_report_error(&err);

			worst = rc > worst ? rc : worst;
			continue;
		}
		files[i] = (struct report_plan_file){
			.path = o->files[i], .scenario = models[i]->name,
			.environment = o->environment ? o->environment : models[i]->environment,
			.sha256 = models[i]->sha256, .prove_every_ns = models[i]->prove_every_ns,
		};
	}
	return worst;
}

/* "2026-09-01 (97d)", or "never". */
static void when_text(bool has, int64_t real_ns, bool has_days, int64_t days, char *buf,
		      size_t len)
{
	char iso[40];

	if (!has) {
		snprintf(buf, len, "never");
		return;
	}
	fd_time_format_utc(real_ns, iso, sizeof(iso));
	if (has_days)
		snprintf(buf, len, "%.10s (%lldd)", iso, (long long)days);
	else
		snprintf(buf, len, "%.10s", iso);
}

static int col_width(const struct report_freshness *rows, size_t n, bool env, int min)
{
	int w = min;

	for (size_t i = 0; i < n; i++) {
		int len = (int)strlen(env ? rows[i].environment : rows[i].scenario);
		if (len > w)
			w = len;
	}
	return w > 40 ? 40 : w;
}

static void print_table(const struct report_freshness *rows, size_t n, bool files)
{
	int ws = col_width(rows, n, false, 8), we = col_width(rows, n, true, 11);

	printf("%-*s  %-*s  %-18s  %-18s  %-11s  %s\n", ws, "SCENARIO", we, "ENVIRONMENT",
	       "LAST DRILLED", "LAST PROVEN", "PROVE EVERY", files ? "STATUS / FILE" : "STATUS");
	for (size_t i = 0; i < n; i++) {
		const struct report_freshness *f = &rows[i];
		char drilled[48], proven[48], every[24] = "-";

		when_text(f->rec.n_drills > 0, f->rec.last_drilled_real_ns, f->has_days_drilled,
			  f->days_since_drilled, drilled, sizeof(drilled));
		when_text(f->rec.proven, f->rec.last_proven_real_ns, f->has_days_proven,
			  f->days_since_proven, proven, sizeof(proven));
		if (f->prove_every_ns)
			snprintf(every, sizeof(every), "%lldd", (long long)(f->prove_every_ns / DAY_NS));
		printf("%-*.*s  %-*.*s  %-18s  %-18s  %-11s  %s: %s\n", ws, ws, f->scenario, we, we,
		       f->environment, drilled, proven, every,
		       report_freshness_status_name(f->status), f->reason);
		if (files)
			printf("%*s  %s\n", ws, "", f->path);
	}
}

static json_t *time_or_null(bool has, int64_t real_ns)
{
	char iso[40];

	return has ? json_string(fd_time_format_utc(real_ns, iso, sizeof(iso))) : json_null();
}

static json_t *int_or_null(bool has, int64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *row_json(const struct report_freshness *f)
{
	const struct store_freshness *r = &f->rec;
	bool period = f->prove_every_ns > 0;

	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
			 " s:o, s:o, s:o, s:b}",
			 "scenario", f->scenario, "environment", f->environment,
			 "file", str_or_null(f->path),
			 "status", report_freshness_status_name(f->status), "reason", f->reason,
			 "fails", report_freshness_fails(f), "drills", (json_int_t)r->n_drills,
			 "last_drilled", time_or_null(r->n_drills > 0, r->last_drilled_real_ns),
			 "last_drill_id", int_or_null(r->n_drills > 0, r->last_drill_id),
			 "days_since_drilled", int_or_null(f->has_days_drilled, f->days_since_drilled),
			 "last_proven", time_or_null(r->proven, r->last_proven_real_ns),
			 "last_proven_drill_id", int_or_null(r->proven, r->last_proven_drill_id),
			 "days_since_proven", int_or_null(f->has_days_proven, f->days_since_proven),
			 "prove_every_days", int_or_null(period, f->prove_every_ns / DAY_NS),
			 "prove_every_ms", int_or_null(period, f->prove_every_ns / FD_NS_PER_MS),
			 "current_sha256", str_or_null(f->current_sha256),
			 "last_proven_sha256", str_or_null(r->last_proven_sha256),
			 "plan_changed", f->plan_changed);
}

static int print_json(const char *db, int64_t now, const struct report_freshness *rows, size_t n,
		      bool ok)
{
	json_t *arr = json_array(), *root;
	char iso[40];
	int rc = EXIT_OK;

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, row_json(&rows[i])))
			rc = EXIT_INTERNAL;
	root = json_pack("{s:s, s:s, s:b, s:o}", "database", db, "now",
			 fd_time_format_utc(now, iso, sizeof(iso)), "ok", ok,
			 "scenarios", arr ? arr : json_array());
	if (rc || cli_print_json(root))
		rc = EXIT_INTERNAL;
	json_decref(root);
	if (rc)
		fprintf(stderr, "firedrill freshness: could not write JSON\n");
	return rc;
}

/* 1 when a row fails the gate; else 3 when one cannot be told (the clock); else 0. */
static int gate(const struct report_freshness *rows, size_t n)
{
	bool unknown = false;

	for (size_t i = 0; i < n; i++) {
		if (report_freshness_fails(&rows[i]))
			return EXIT_MISSED;
		unknown |= rows[i].status == REPORT_FRESHNESS_UNKNOWN;
	}
	return unknown ? EXIT_ENV : EXIT_OK;
}

int cmd_freshness(struct cli_ctx *ctx, int argc, char **argv)
{
	struct freshness_opts o = { 0 };
	struct fd_error err = { 0 };
	struct scenario **models = NULL;
	struct report_plan_file *files = NULL;
	struct report_freshness *rows = NULL;
	struct store *st = NULL;
	size_t n = 0;
	int rc = parse_args(ctx, argc, argv, &o);

	if (rc >= 0)
		goto cleanup;
	if (!o.now_real_ns)
		o.now_real_ns = fd_real_ns();
	models = calloc(o.n_files + 1, sizeof(*models));
	files = calloc(o.n_files + 1, sizeof(*files));
	if (!models || !files) {
		rc = EXIT_INTERNAL;
		goto cleanup;
	}
	rc = load_files(&o, models, files);
	if (rc != EXIT_OK)
		goto cleanup;
	cli_log(ctx, 1, "reading %s", ctx->db_path);
	if (store_open_readonly(ctx->db_path, &st, &err) ||
	    report_freshness_load(st, o.environment, files, o.n_files, o.now_real_ns, &rows, &n,
				  &err)) {
		rc = cli_report_error(&err);
		goto cleanup;
	}
	rc = gate(rows, n);
	if (ctx->json) {
		int jr = print_json(ctx->db_path, o.now_real_ns, rows, n, rc == EXIT_OK);

		rc = jr ? jr : rc;
	} else if (n == 0) {
		printf("no finished drills in %s%s%s%s\n", ctx->db_path,
		       o.environment ? " in environment \"" : "", o.environment ? o.environment : "",
		       o.environment ? "\"" : "");
	} else {
		print_table(rows, n, o.n_files > 0);
	}
cleanup:
	for (size_t i = 0; models && i < o.n_files; i++)
		scenario_free(models[i]);
	free(models);
	free(files);
	free(rows);
	free(o.files);
	store_close(st);
	return rc;
}

/*
 * firedrill history: the drills recorded in the store, oldest first, as a
 * table or (--json) as data. Reads only: a missing database is not
 * created, it just has no drills.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fd_time.h"
#include "report.h"
#include "store.h"

struct history_opts {
	struct store_filter filter;
};

/* One drill as printed: the drill plus what its iterations add up to. */
struct history_row {
	struct store_drill d;
	size_t iterations;
	struct report_summary sum;
};

static int parse_limit(const char *s, size_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

/* Returns -1 when done parsing, else an exit code. */
static int parse_args(int argc, char **argv, struct history_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_print_usage(cli_find_command("history"), stdout);
			return EXIT_OK;
		}
		if (strcmp(a, "--scenario") != 0 && strcmp(a, "--env") != 0 &&
		    strcmp(a, "--limit") != 0)
			return cli_usage_error("history", "unknown argument \"%s\"", a);
		if (!val)
			return cli_usage_error("history", "%s needs a value", a);
		i++;
		if (strcmp(a, "--scenario") == 0)
			o->filter.scenario = val;
		else if (strcmp(a, "--env") == 0)
			o->filter.environment = val;
		else if (parse_limit(val, &o->filter.limit))
			return cli_usage_error("history", "--limit needs a positive whole number, got \"%s\"",
					       val);
	}
	return -1;
}

/* The same rule as the trend report (report_summarize, docs/reports.md). */
static int summarize(struct store *st, struct history_row *r, struct fd_error *err)
{
	struct store_iteration *its = NULL;
	size_t n = 0;
	int rc = store_list_iterations(st, r->d.id, &its, &n, err);

	if (rc)
		return rc;
	r->iterations = n;
	rc = report_summarize(its, n, &r->sum);
	free(its);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	return 0;
}

static const char *objectives_text(const struct store_drill *d)
{
	if (d->outcome == STORE_OUTCOME_RUNNING)
		return "-";
	return d->objectives_met ? "met" : "missed";
}

static void started_text(int64_t real_ns, char *buf, size_t n)
{
	char iso[40];

	/* "2026-11-26T03:15:30.123Z" -> "2026-11-26 03:15:30" */
	fd_time_format_utc(real_ns, iso, sizeof(iso));
	iso[10] = ' ';
	iso[19] = '\0';
	snprintf(buf, n, "%s", iso);
}

static int width(const struct history_row *rows, size_t n, size_t off, int min)
{
	int w = min;

	for (size_t i = 0; i < n; i++) {
		int len = (int)strlen((const char *)&rows[i].d + off);
		if (len > w)
			w = len;
	}
	return w > 32 ? 32 : w;
}

static void print_table(const struct history_row *rows, size_t n)
{
	int ws = width(rows, n, offsetof(struct store_drill, scenario_name), 8);
	int we = width(rows, n, offsetof(struct store_drill, environment), 11);
	int wo = width(rows, n, offsetof(struct store_drill, operator_name), 8);

	printf("%4s  %-19s  %-*s  %-*s  %-*s  %5s  %13s  %-13s  %s\n", "ID", "STARTED (UTC)",
	       ws, "SCENARIO", we, "ENVIRONMENT", wo, "OPERATOR", "ITER", "MEDIAN RTO",
	       "OUTCOME", "OBJECTIVES");
	for (size_t i = 0; i < n; i++) {
		const struct store_drill *d = &rows[i].d;
		char started[40], rto[32] = "-", iters[24];

		started_text(d->started_real_ns, started, sizeof(started));
		if (rows[i].sum.rto_not_recovered)
			snprintf(rto, sizeof(rto), "not recovered");
		else if (rows[i].sum.rto_median.has)
			fd_duration_format((int64_t)(rows[i].sum.rto_median.ms * 1e6), rto, sizeof(rto));
		snprintf(iters, sizeof(iters), "%zu/%d", rows[i].iterations, d->iterations_planned);
		printf("%4lld  %-19s  %-*.*s  %-*.*s  %-*.*s  %5s  %13s  %-13s  %s\n",
		       (long long)d->id, started, ws, ws, d->scenario_name, we, we, d->environment,
		       wo, wo, *d->operator_name ? d->operator_name : "-", iters, rto,
		       store_outcome_name(d->outcome), objectives_text(d));
	}
}

static json_t *row_json(const struct history_row *r)
{
	const struct store_drill *d = &r->d;
	char started[40], ended[40] = "";

	fd_time_format_utc(d->started_real_ns, started, sizeof(started));
	if (d->ended_real_ns)
		fd_time_format_utc(d->ended_real_ns, ended, sizeof(ended));
	return json_pack("{s:I, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:o, s:b, s:s, s:o, s:s}",
			 "id", (json_int_t)d->id,
			 "started_utc", started,
			 "ended_utc", *ended ? json_string(ended) : json_null(),
			 "scenario", d->scenario_name,
			 "scenario_sha256", d->scenario_sha256,
			 "environment", d->environment,
			 "operator", d->operator_name,
			 "host", d->host,
			 "iterations", (json_int_t)r->iterations,
			 "iterations_planned", d->iterations_planned,
			 "median_rto_ms", r->sum.rto_median.has ? json_real(r->sum.rto_median.ms) : json_null(),
			 "median_rto_not_recovered", r->sum.rto_not_recovered,
			 "outcome", store_outcome_name(d->outcome),
			 "objectives_met", d->outcome == STORE_OUTCOME_RUNNING ? json_null() :
					   json_boolean(d->objectives_met),
			 "hash", d->hash);
}

static int print_json(const char *db, const struct history_row *rows, size_t n)
{
	json_t *arr = json_array(), *root;
	int rc = EXIT_OK;

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, row_json(&rows[i])))
			rc = EXIT_INTERNAL;
	root = json_pack("{s:s, s:o}", "database", db, "drills", arr ? arr : json_array());
	if (!root || json_dumpf(root, stdout, JSON_INDENT(2)) != 0)
		rc = EXIT_INTERNAL;
	else
		putchar('\n');
	json_decref(root);
	if (rc)
		fprintf(stderr, "firedrill history: could not write JSON\n");
	return rc;
}

static void print_empty(const struct history_opts *o, const char *db)
{
	printf("no drills recorded in %s", db);
	if (o->filter.scenario)
		printf(" for scenario \"%s\"", o->filter.scenario);
	if (o->filter.environment)
		printf(" in environment \"%s\"", o->filter.environment);
	printf("\n");
}

static int load_rows(struct store *st, const struct store_filter *f, struct history_row **rows,
		     size_t *n, struct fd_error *err)
{
	struct store_drill *ds = NULL;
	int rc = store_list_drills(st, f, &ds, n, err);

	*rows = NULL;
	if (rc)
		return rc;
	*rows = calloc(*n ? *n : 1, sizeof(**rows));
	if (!*rows)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < *n; i++) {
		(*rows)[i].d = ds[i];
		rc = summarize(st, &(*rows)[i], err);
	}
	free(ds);
	return rc;
}

int cmd_history(struct cli_ctx *ctx, int argc, char **argv)
{
	struct history_opts o = { 0 };
	struct fd_error err = { 0 };
	struct history_row *rows = NULL;
	struct store *st = NULL;
	size_t n = 0;
	int rc = parse_args(argc, argv, &o);

	if (rc >= 0)
		return rc;
	/* Never create the file just to say it is empty. */
	if (access(ctx->db_path, F_OK) != 0) {
		if (ctx->json)
			return print_json(ctx->db_path, NULL, 0);
		print_empty(&o, ctx->db_path);
		return EXIT_OK;
	}
	cli_log(ctx, 1, "reading %s", ctx->db_path);
	if (store_open_readonly(ctx->db_path, &st, &err) ||
	    load_rows(st, &o.filter, &rows, &n, &err)) {
		rc = cli_report_error(&err);
		goto cleanup;
	}
	rc = EXIT_OK;
	if (ctx->json)
		rc = print_json(ctx->db_path, rows, n);
	else if (n == 0)
		print_empty(&o, ctx->db_path);
	else
		print_table(rows, n);
cleanup:
	free(rows);
	store_close(st);
	return rc;
}

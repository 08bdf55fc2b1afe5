/*
 * firedrill report trend|evidence: parse flags, load the model through
 * reports/, render to -o FILE (written beside it, then renamed, so a reader
 * never sees half a report) or stdout, and sign when asked.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"
#include "store.h"

struct report_opts {
	const char *out;
	const char *format;
	const char *sign;
	const char *scenario;
	const char *env;
	const char *since;
	const char *until;
	const char *paper;
	const char *controls;      /* evidence: control ids, "all" */
	const char *controls_file; /* evidence: another mapping than the built-in one */
	bool metrics;              /* `report metrics`: the trend model as metrics */
};

static void usage(FILE *out)
{
	fputs("usage: firedrill report trend [--scenario NAME] [--env NAME] [--since DATE] [--until DATE]\n"
	      "                              [-o FILE] [--format html|md|json|csv|junit]\n"
	      "                              [--sign KEYFILE]\n"
	      "       firedrill report evidence DRILL_ID [-o FILE] [--format html|md|json|pdf]\n"
	      "                              [--paper a4|letter] [--sign KEYFILE]\n"
	      "                              [--controls ID,...|all] [--controls-file FILE]\n"
	      "       firedrill report metrics [--scenario NAME] [--env NAME] [-o FILE.prom]\n"
	      "  The format comes from --format, else from FILE's extension, else md on stdout.\n"
	      "  pdf (evidence only): --paper a4 (default) or letter.\n"
	      "  DATE: 2026-11-26 or 2026-11-26T03:15:30Z (UTC unless an offset is given).\n"
	      "  --sign writes a detached Ed25519 signature to FILE.sig (needs -o); check it\n"
	      "  with 'firedrill verify FILE'. A trend's signature binds its filter and the\n"
	      "  drills (and iterations) it covers; an evidence report's, its drill.\n"
	      "  --controls adds what the drill shows and lacks for each control (soc2, iso27001,\n"
	      "  iso22301, nist-cp4, dora, hipaa, pci, or all); --controls-file reads another\n"
	      "  mapping (docs/controls.md).\n"
	      "  metrics: per scenario x environment, the last drill's RTO, RPO, objectives,\n"
	      "  when it was last drilled and proven, lost writes, open actions and stale plans,\n"
	      "  in Prometheus text format (node_exporter textfile collector, Pushgateway).\n", out);
}

static int parse_opts(const char *sub, int argc, char **argv, struct report_opts *o)
{
	static const struct option longs[] = {
		{ "output", required_argument, NULL, 'o' }, { "format", required_argument, NULL, 'f' },
		{ "sign", required_argument, NULL, 's' }, { "scenario", required_argument, NULL, 'S' },
		{ "env", required_argument, NULL, 'e' }, { "since", required_argument, NULL, 'a' },
		{ "until", required_argument, NULL, 'b' }, { "paper", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "controls", required_argument, NULL, 'c' },
		{ "controls-file", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'f': o->format = optarg; break;
		case 's': o->sign = optarg; break;
		case 'S': o->scenario = optarg; break;
		case 'e': o->env = optarg; break;
		case 'a': o->since = optarg; break;
		case 'b': o->until = optarg; break;
		case 'p': o->paper = optarg; break;
		case 'c': o->controls = optarg; break;
		case 'C': o->controls_file = optarg; break;
		case 'h': usage(stdout); return -1;
		default:
			return cli_usage_error("report", "%s: unknown option or missing value: %s", sub,
					       argv[optind - 1]);
		}
	}
	return 0;
}

static int pick_format(const struct report_opts *o, enum report_format *fmt)
{
	if (o->format) {
		if (report_format_parse(o->format, fmt) < 0)
			return cli_usage_error("report",
					       "unknown --format \"%s\" (html, md, json, csv, junit, pdf)",
					       o->format);
		return 0;
	}
	if (o->out) {
		if (report_format_from_path(o->out, fmt) < 0)
			return cli_usage_error("report", "cannot tell the format from \"%s\": use --format",
					       o->out);
		return 0;
	}
	*fmt = REPORT_MARKDOWN;
	return 0;
}

/* --paper only means something for pdf; a pdf is not for a terminal. */
static int pick_paper(const struct report_opts *o, enum report_format fmt, struct report_options *ropt)
{
	if (o->paper && fmt != REPORT_PDF)
		return cli_usage_error("report", "--paper is for pdf reports, not %s",
				       report_format_name(fmt));
	if (o->paper && report_paper_parse(o->paper, &ropt->paper) < 0)
		return cli_usage_error("report", "unknown --paper \"%s\" (a4 or letter)", o->paper);
	if (fmt == REPORT_PDF && !o->out && isatty(STDOUT_FILENO))
		return cli_usage_error("report", "a pdf is not for a terminal: use -o FILE.pdf");
	return 0;
}

static int open_store(const struct cli_ctx *ctx, struct store **st)
{
	struct fd_error err = { 0 };

	if (store_open_readonly(ctx->db_path, st, &err) < 0)
		return cli_report_error(&err);
	return 0;
}

/* Output goes to PATH.tmp, renamed over PATH when complete. */
static FILE *open_out(const char *path, char **tmp)
{
	FILE *f;

	*tmp = NULL;
	if (!path)
		return stdout;
	if (asprintf(tmp, "%s.tmp", path) < 0)
		return NULL;
	f = fopen(*tmp, "w");
	if (!f)
		fprintf(stderr, "firedrill report: %s: %s\n", *tmp, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path, char *tmp, int rc)
{
	int r = rc;

	if (f == stdout) {
		if (fflush(stdout) != 0 && r == 0) {
			fprintf(stderr, "firedrill report: writing to stdout failed\n");
			r = EXIT_ENV;
		}
		return r;
	}
	if (fclose(f) != 0 && r == 0) {
		fprintf(stderr, "firedrill report: %s: write failed\n", tmp);
		r = EXIT_ENV;
	}
	if (r == 0 && rename(tmp, path) < 0) {
		fprintf(stderr, "firedrill report: %s: %s\n", path, strerror(errno));
		r = EXIT_ENV;
	}
	if (r != 0)
		unlink(tmp);
	free(tmp);
	return r;
}

static int filter_time(const char *s, const char *flag, int64_t *ns)
{
	if (s && report_parse_time(s, ns) < 0)
		return cli_usage_error("report", "%s \"%s\": expected 2026-11-26 or 2026-11-26T03:15:30Z",
				       flag, s);
	/* The store's bound is exclusive: a bare --until date includes that whole day. */
	if (s && strcmp(flag, "--until") == 0 && strlen(s) == 10)
		*ns += INT64_C(86400) * 1000000000;
	return 0;
}

/* Writes o->out + ".sig": bound to the evidence's drill, or to the trend's
 * filter and drills (exactly one of ev and t). */
static int sign_output(struct store *st, const struct report_opts *o,
		       const struct report_evidence *ev, const struct report_trend *t)
{
	struct fd_error err = { 0 };
	int rc = t ? report_sign_trend_file(o->out, o->sign, t, st, &err)
		   : report_sign_file(o->out, o->sign, ev, st, &err);

	if (rc < 0)
		return cli_report_error(&err);
	fprintf(stderr, "signed: %s.sig\n", o->out);
	return 0;
}

static int run_trend(struct cli_ctx *ctx, const struct report_opts *o)
{
	struct store_filter f = { .scenario = o->scenario, .environment = o->env };
	struct report_trend *t = NULL;
	struct store *st = NULL;
	struct fd_error err = { 0 };
	enum report_format fmt;
	char *tmp = NULL;
	FILE *out;
	int rc;

	if (o->sign && !o->out)
		return cli_usage_error("report", "--sign needs -o FILE (the signature goes to FILE.sig)");
	if (o->controls || o->controls_file)
		return cli_usage_error("report", "--controls and --controls-file are for evidence reports");
	rc = pick_format(o, &fmt);
	if (rc == 0 && fmt == REPORT_PDF)
		rc = cli_usage_error("report", "pdf is for evidence reports (report evidence DRILL_ID "
				     "--format pdf); trend reports are html, md, json, csv or junit");
	if (rc == 0 && (fmt == REPORT_METRICS) != o->metrics)
		rc = cli_usage_error("report", "metrics: use `firedrill report metrics`");
	if (rc == 0 && o->paper)
		rc = cli_usage_error("report", "--paper is for pdf evidence reports");
	if (rc == 0)
		rc = filter_time(o->since, "--since", &f.since_real_ns);
	if (rc == 0)
		rc = filter_time(o->until, "--until", &f.until_real_ns);
	if (rc == 0)
		rc = open_store(ctx, &st);
	if (rc)
		return rc;
	if (report_trend_load(st, &f, &t, &err) < 0) {
		rc = cli_report_error(&err);
		goto cleanup;
	}
	cli_log(ctx, 1, "trend: %zu series", t->n_series);
	out = open_out(o->out, &tmp);
	if (!out) {
		rc = EXIT_ENV;
		free(tmp);
		goto cleanup;
	}
	rc = report_trend_write(t, fmt, out, &err) < 0 ? cli_report_error(&err) : 0;
	rc = close_out(out, o->out, tmp, rc);
	if (rc == 0 && o->sign)
		rc = sign_output(st, o, NULL, t);
cleanup:
	report_trend_free(t);
	store_close(st);
	return rc;
}

static int run_evidence(struct cli_ctx *ctx, const char *id_text, const struct report_opts *o)
{
	struct report_evidence *ev = NULL;
	struct report_options ropt = { .paper = REPORT_PAPER_A4 };
	struct store *st = NULL;
	struct fd_error err = { 0 };
	enum report_format fmt;
	char *end = NULL, *tmp = NULL;
	long long id = strtoll(id_text, &end, 10);
	FILE *out;
	int rc;

	if (!*id_text || *end || id <= 0)
		return cli_usage_error("report", "evidence: DRILL_ID must be a drill number, not \"%s\"",
				       id_text);
	if (o->sign && !o->out)
		return cli_usage_error("report", "--sign needs -o FILE (the signature goes to FILE.sig)");
	if (o->scenario || o->env || o->since || o->until)
		return cli_usage_error("report", "evidence takes one DRILL_ID, not trend filters");
	if (o->controls_file && !o->controls)
		return cli_usage_error("report", "--controls-file needs --controls ID,... (or all)");
	rc = pick_format(o, &fmt);
	if (rc == 0 && fmt != REPORT_HTML && fmt != REPORT_MARKDOWN && fmt != REPORT_JSON &&
	    fmt != REPORT_PDF)
		rc = cli_usage_error("report", "evidence reports are html, md, json or pdf");
	if (rc == 0)
		rc = pick_paper(o, fmt, &ropt);
	if (rc == 0)
		rc = open_store(ctx, &st);
	if (rc)
		return rc;
	if (report_evidence_load(st, id, &ev, &err) < 0 ||
	    (o->controls && report_evidence_controls(ev, o->controls, o->controls_file, &err) < 0)) {
		rc = cli_report_error(&err);
		goto cleanup;
	}
	out = open_out(o->out, &tmp);
	if (!out) {
		rc = EXIT_ENV;
		free(tmp);
		goto cleanup;
	}
	rc = report_evidence_write_opts(ev, fmt, &ropt, out, &err) < 0 ? cli_report_error(&err) : 0;
	rc = close_out(out, o->out, tmp, rc);
	if (rc == 0 && o->sign)
		rc = sign_output(st, o, ev, NULL);
cleanup:
	report_evidence_free(ev);
	store_close(st);
	return rc;
}

int cmd_report(struct cli_ctx *ctx, int argc, char **argv)
{
	struct report_opts o = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		usage(sub ? stdout : stderr);
		return sub ? EXIT_OK : EXIT_USAGE;
	}
	if (strcmp(sub, "trend") != 0 && strcmp(sub, "evidence") != 0 && strcmp(sub, "metrics") != 0)
		return cli_usage_error("report", "unknown report \"%s\" (trend, evidence or metrics)",
				       sub);
	rc = parse_opts(sub, argc - 1, argv + 1, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	/* metrics: the trend model in Prometheus text format, whatever -o is called */
	if (strcmp(sub, "metrics") == 0) {
		if (o.format && strcmp(o.format, "metrics") != 0 && strcmp(o.format, "prom") != 0)
			return cli_usage_error("report", "metrics are written in one format (no --format)");
		if (optind < argc - 1)
			return cli_usage_error("report", "metrics: unexpected argument \"%s\"",
					       argv[1 + optind]);
		o.format = "metrics";
		o.metrics = true;
		return run_trend(ctx, &o);
	}
	if (strcmp(sub, "trend") == 0) {
		if (optind < argc - 1)
			return cli_usage_error("report", "trend: unexpected argument \"%s\"", argv[1 + optind]);
		return run_trend(ctx, &o);
	}
	if (optind != argc - 2)
		return cli_usage_error("report", "evidence needs exactly one DRILL_ID");
	return run_evidence(ctx, argv[1 + optind], &o);
}

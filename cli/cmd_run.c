/*
 * firedrill run FILE: runs a drill (drill/) and prints live progress and a
 * final table, or JSON. Exit 0 when every iteration met its objectives, 1
 * when any did not (missed, not recovered, not healthy, aborted), 2 for a
 * bad scenario or usage, 3 for an environment error. With --sign KEY the
 * drill is sealed and signed when it ends (report_seal_drill).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "drill.h"
#include "fd_priv.h"
#include "fd_time.h"
#include "fd_user.h"
#include "report.h"
#include "scenario.h"

struct run_flags {
	const char *file;
	const char *env;
	const char *operator_name;
	unsigned iterations;
	bool dry_run;
	const char *sign; /* secret key: seal the drill when it ends */
	const char *roles[32]; /* --role ROLE=NAME */
	size_t n_roles;
	bool war_room;            /* --war-room [ADDR:PORT] */
	const char *war_room_addr;
	bool war_room_public;     /* --war-room-public: a non-loopback address */
	const char *sandbox;      /* --sandbox PID|NAME */
};

struct live {
	bool tty;        /* update one line in place */
	bool line_open;  /* a status line is on screen without its newline */
	const char *hinted; /* the manual step the operator was last told about */
	FILE *out;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

const volatile sig_atomic_t *cli_catch_stop_signals(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return &stop_flag;
}

static int parse_flags(int argc, char **argv, struct cli_ctx *ctx, struct run_flags *f)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--iterations") == 0 && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);

			if (*end || n < 1 || n > 10000)
				return cli_usage_error("run", "--iterations needs a number from 1 to 10000, not \"%s\"",
						       argv[i]);
			f->iterations = (unsigned)n;
		} else if (strcmp(a, "--env") == 0 && i + 1 < argc) {
			f->env = argv[++i];
		} else if (strcmp(a, "--operator") == 0 && i + 1 < argc) {
			f->operator_name = argv[++i];
		} else if (strcmp(a, "--sign") == 0 && i + 1 < argc) {
			f->sign = argv[++i];
		} else if (strcmp(a, "--role") == 0 && i + 1 < argc) {
			struct fd_error err = { 0 };

			if (drill_role_check(argv[++i], &err) < 0)
				return cli_usage_error("run", "%s", err.msg);
			if (f->n_roles == sizeof(f->roles) / sizeof(f->roles[0]))
				return cli_usage_error("run", "--role: at most %zu participants",
						       sizeof(f->roles) / sizeof(f->roles[0]));
			f->roles[f->n_roles++] = argv[i];
		} else if (strcmp(a, "--war-room") == 0) {
			f->war_room = true;
			/* the address is optional: ADDR:PORT, never a scenario file */
			if (i + 1 < argc && argv[i + 1][0] != '-' && strchr(argv[i + 1], ':') &&
			    !strstr(argv[i + 1], ".y"))
				f->war_room_addr = argv[++i];
		} else if (strcmp(a, "--sandbox") == 0 && i + 1 < argc) {
			f->sandbox = argv[++i];
		} else if (strcmp(a, "--war-room-public") == 0) {
			f->war_room_public = true;
		} else if (strcmp(a, "--dry-run") == 0) {
			f->dry_run = true;
		} else if (strcmp(a, "--json") == 0) {
			ctx->json = true;
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error("run", "unknown or incomplete option \"%s\"", a);
		} else if (!f->file) {
			f->file = a;
		} else {
			return cli_usage_error("run", "one scenario file at a time (got \"%s\" too)", a);
		}
	}
	if (!f->file)
		return cli_usage_error("run", "which scenario? (firedrill run FILE)");
	if (f->sign && f->dry_run)
		return cli_usage_error("run", "--sign seals a recorded drill; a dry run records nothing");
	if (f->war_room && f->dry_run)
		return cli_usage_error("run", "--war-room watches a drill; a dry run injects nothing to watch");
	if (f->war_room_public && !f->war_room)
		return cli_usage_error("run", "--war-room-public goes with --war-room ADDR:PORT");
	/* before the drill, not after it: a drill cannot be run again to sign it */
	if (f->sign && access(f->sign, R_OK) != 0)
		return cli_usage_error("run", "--sign %s: %s (make one with firedrill keygen -o PREFIX)",
				       f->sign, strerror(errno));
	return 0;
}

/* Signs the finished drill's seal beside the store: DB.drill-ID.seal. */
static int seal_drill(const char *db_path, const char *key, int64_t drill_id)
{
	struct fd_error err = { 0 };
	struct store *st = NULL;
	char *path = NULL;
	int rc;

	if (asprintf(&path, "%s.drill-%lld.seal", db_path, (long long)drill_id) < 0) {
		fd_error_set(&err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		return cli_report_error(&err);
	}
	rc = store_open_readonly(db_path, &st, &err);
	if (!rc)
		rc = report_seal_drill(path, key, st, drill_id, &err);
	store_close(st);
	if (rc)
		fd_error_prefix(&err, "sealing drill %lld", (long long)drill_id);
	else
		fprintf(stderr, "sealed: %s (check with: firedrill verify --seal %s [REPORT])\n",
			path, path);
	free(path);
	return rc ? cli_report_error(&err) : EXIT_OK;
}

/* ---- live progress ------------------------------------------------------- */

static void end_line(struct live *lv)
{
	if (lv->line_open) {
		fputs("\r\033[K", lv->out);
		lv->line_open = false;
	}
}

static void on_progress(void *user, const struct drill_progress *p)
{
	struct live *lv = user;
	char el[32], t0[32], at[40];
	const char *clock;

	if (p->event) {
		/* When it happened, UTC to the millisecond: lines come in that order. */
		fd_time_format_utc(p->event_real_ns, at, sizeof(at));
		clock = strchr(at, 'T');
		end_line(lv);
		fprintf(lv->out, "[%u/%u] %.12s %s\n", p->iteration ? p->iteration : 1,
			p->iterations ? p->iterations : 1, clock ? clock + 1 : at, p->event);
	}
	if (p->step && p->step_manual && p->step != lv->hinted) {
		end_line(lv);
		fprintf(lv->out, "      manual step \"%s\": press Enter here or run `firedrill lap` when done (lap --failed or --skipped REASON otherwise)\n",
			p->step);
		lv->hinted = p->step;
	}
	if (!lv->tty) {
		fflush(lv->out);
		return;
	}
	end_line(lv);
	fprintf(lv->out, "[%u/%u] %s %s", p->iteration ? p->iteration : 1,
		p->iterations ? p->iterations : 1, drill_phase_name(p->phase),
		fd_duration_format(p->phase_elapsed_ns, el, sizeof(el)));
	if (p->has_t0)
		fprintf(lv->out, "  T0+%s", fd_duration_format(p->since_t0_ns, t0, sizeof(t0)));
	for (size_t i = 0; i < p->scenario->n_probes; i++)
		fprintf(lv->out, "  %s:%s", p->scenario->probes[i].id,
			!p->probe_seen[i] ? "?" : p->probe_ok[i] ? "up" : "DOWN");
	if (p->step)
		fprintf(lv->out, "  step: %s%s", p->step, p->step_manual ? " (Enter / firedrill lap)" : "");
	lv->line_open = true;
	fflush(lv->out);
}

/* ---- results --------------------------------------------------------------- */

static const char *ns_text(bool has, int64_t ns, char *buf, size_t len)
{
	if (!has)
		return "-";
	return fd_duration_format(ns, buf, len);
}

/* The hidden dependencies: flows the faults dropped, per iteration. */
static void print_flows(const struct drill_result *res)
{
	char flow[160], t[32], sender[600];
	bool any = false;

	for (size_t i = 0; i < res->n_iterations; i++) {
		const struct drill_iteration_result *r = &res->iterations[i];

		for (size_t k = 0; k < r->n_flows; k++) {
			const struct drill_flow *f = &r->flows[k];

			if (!any)
				printf("\nblackholed flows (what the faults cut off):\n");
			any = true;
			printf("%-4d %-48s %6llu pkt  first at T0+%-9s fault %s\n     %s\n", r->rec.number,
			       drill_flow_format(f, flow, sizeof(flow)), (unsigned long long)f->packets,
			       fd_duration_format(f->since_t0_ns, t, sizeof(t)), f->fault_id,
			       drill_flow_sender(f, sender, sizeof(sender)));
		}
	}
}

static void print_table(const struct scenario *s, const struct drill_result *res,
			const char *db_path)
{
	char a[32], b[32], c[32], d[32];

	printf("\n%-4s %-14s %-26s %-10s %-6s %-10s %-6s %s\n", "iter", "outcome", "RTO (-late/+early)",
	       "RPO", "lost", "detect", "laps", "objectives");
	for (size_t i = 0; i < res->n_iterations; i++) {
		const struct drill_iteration *it = &res->iterations[i].rec;
		char rto[64], laps[16];
		size_t ok = 0;

		for (size_t l = 0; l < res->iterations[i].n_laps; l++)
			ok += res->iterations[i].laps[l].ok;
		snprintf(laps, sizeof(laps), "%zu/%zu", ok, res->iterations[i].n_laps);
		if (it->has_rto)
			drill_rto_text(it, rto, sizeof(rto));
		else
			snprintf(rto, sizeof(rto), "-");
		printf("%-4d %-14s %-26s %-10s %-6s %-10s %-6s %s\n", it->number,
		       drill_outcome_name(it->outcome), rto, ns_text(it->has_rpo, it->rpo_ns, c, sizeof(c)),
		       it->has_rpo ? (snprintf(d, sizeof(d), "%lld", (long long)it->lost_writes), d) : "-",
		       ns_text(it->has_detect, it->detect_ns, b, sizeof(b)),
		       s->n_steps ? laps : "-", it->objectives_met ? "met" : "MISSED");
		for (size_t l = 0; l < res->iterations[i].n_laps; l++) {
			const struct store_lap *lap = &res->iterations[i].laps[l];

			printf("     lap %zu %-28s %-10s %s%s%s\n", l + 1, lap->name,
			       lap->ended_mono_ns ? fd_duration_format(lap->ended_mono_ns - lap->started_mono_ns,
								       a, sizeof(a)) : "-",
			       lap->ok ? "ok" : "not ok", *lap->detail ? ": " : "", lap->detail);
		}
		if (*it->detail)
			printf("     %s\n", it->detail);
	}
	print_flows(res);
	printf("\n%s: %s, objectives %s", s->name, drill_outcome_name(res->outcome),
	       res->objectives_met ? "met" : "NOT met");
	if (s->has_rto_objective)
		printf(" (RTO <= %s", fd_duration_format(s->rto_objective_ns, a, sizeof(a)));
	if (s->has_rpo_objective)
		printf("%sRPO <= %s", s->has_rto_objective ? ", " : " (",
		       fd_duration_format(s->rpo_objective_ns, b, sizeof(b)));
	printf("%s\n", s->has_rto_objective || s->has_rpo_objective ? ")" : "");
	if (res->drill_id)
		printf("recorded as drill %lld in %s\n", (long long)res->drill_id, db_path);
}

static json_t *ms_json(bool has, double ms)
{
	return has ? json_real(ms) : json_null();
}

/* The JSON edge: the drill's ns as ms. */
static double ns_ms(int64_t ns)
{
	return (double)ns / (double)FD_NS_PER_MS;
}

static json_t *flows_json(const struct drill_iteration_result *r)
{
	json_t *flows = json_array();
	char text[160], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	for (size_t k = 0; k < r->n_flows; k++) {
		const struct drill_flow *f = &r->flows[k];

		inet_ntop(f->family, f->src, src, sizeof(src));
		inet_ntop(f->family, f->dst, dst, sizeof(dst));
		json_array_append_new(flows, json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:f, s:s, s:o}",
			"flow", drill_flow_format(f, text, sizeof(text)), "src", src, "dst", dst,
			"protocol", (int)f->protocol, "dport", (int)f->dport,
			"packets", (json_int_t)f->packets,
			"first_seen_ms", (double)f->since_t0_ns / 1e6, "fault", f->fault_id,
			"sender", report_flow_owner_json(&f->owner)));
	}
	return flows;
}

static json_t *iteration_json(const struct drill_iteration_result *r)
{
	const struct drill_iteration *it = &r->rec;
	json_t *laps = json_array();

	for (size_t l = 0; l < r->n_laps; l++) {
		const struct store_lap *lap = &r->laps[l];

		json_array_append_new(laps, json_pack("{s:i, s:s, s:b, s:b, s:o, s:s}",
			"step", lap->step, "name", lap->name, "manual", lap->manual, "ok", lap->ok,
			"duration_ms", ms_json(lap->ended_mono_ns != 0,
					       (double)(lap->ended_mono_ns - lap->started_mono_ns) / 1e6),
			"detail", lap->detail));
	}
	return json_pack("{s:i, s:s, s:o, s:f, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:b, s:s, s:o, s:o}",
		"number", it->number, "outcome", drill_outcome_name(it->outcome),
		"rto_ms", ms_json(it->has_rto, ns_ms(it->rto_ns)), "rto_error_bound_ms", ns_ms(it->error_bound_ns),
		"rpo_ms", ms_json(it->has_rpo, ns_ms(it->rpo_ns)),
		"lost_writes", it->has_rpo ? json_integer(it->lost_writes) : json_null(),
		"writes_acked", (json_int_t)it->writes_acked,
		"writes_acked_outage", (json_int_t)it->writes_acked_outage,
		"detect_ms", ms_json(it->has_detect, ns_ms(it->detect_ns)),
		"first_success_ms", ms_json(it->has_first_success, ns_ms(it->first_success_ns)),
		"failback_ms", ms_json(it->has_failback, ns_ms(it->failback_ns)),
		"objectives_met", it->objectives_met, "detail", it->detail, "laps", laps,
		"blackholed_flows", flows_json(r));
}

/* iteration_json plus both sides of the RTO's bound (null without an RTO). */
static json_t *iteration_json_bounds(const struct drill_iteration_result *r)
{
	const struct drill_iteration *it = &r->rec;
	json_t *j = iteration_json(r);

	if (j) {
		json_object_set_new(j, "rto_early_ms", ms_json(it->has_rto_bounds, ns_ms(it->rto_early_ns)));
		json_object_set_new(j, "rto_late_ms", ms_json(it->has_rto_bounds, ns_ms(it->rto_late_ns)));
	}
	return j;
}

static void print_json(const struct scenario *s, const struct drill_result *res,
		       const struct run_flags *f, const char *db_path)
{
	json_t *its = json_array(), *root;
	char *text;

	for (size_t i = 0; i < res->n_iterations; i++)
		json_array_append_new(its, iteration_json_bounds(&res->iterations[i]));
	root = json_pack("{s:I, s:s, s:s, s:s, s:b, s:b, s:s, s:o, s:o, s:s, s:o}",
		"drill_id", (json_int_t)res->drill_id, "scenario", s->name,
		"environment", f->env ? f->env : s->environment ? s->environment : "default",
		"outcome", drill_outcome_name(res->outcome), "objectives_met", res->objectives_met,
		"dry_run", f->dry_run, "db", db_path,
		"rto_objective_ms", ms_json(s->has_rto_objective, (double)s->rto_objective_ns / 1e6),
		"rpo_objective_ms", ms_json(s->has_rpo_objective, (double)s->rpo_objective_ns / 1e6),
		"detail", res->detail, "iterations", its);
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(root);
}

/* --dry-run --json: the plan (cli_plan_json) plus what the preflight found. */
static void print_dry_run_json(const struct scenario *s, const struct drill_result *res,
			       const struct fd_error *err)
{
	json_t *plan = cli_plan_json(s);

	if (plan)
		json_object_set_new(plan, "preflight", json_pack("{s:b, s:s, s:s}",
			"ok", !err && res->outcome == OUTCOME_RECOVERED,
			"outcome", err ? "error" : drill_outcome_name(res->outcome),
			"detail", err ? err->msg : res->detail));
	cli_print_json(plan);
	json_decref(plan);
}

/*
 * run --sandbox: a user namespace is joined only while single-threaded, and
 * for good, so everything that needs the outside comes first: the operator
 * is named (inside, everyone is root), and the webhook relay is forked
 * (it posts the scenario's webhooks from here: inside there is only
 * loopback). Then the sandbox's user and network namespaces are joined.
 */
static int run_enter_sandbox(struct run_flags *f, const struct scenario *s,
			     struct drill_relay **relay, char *netns, size_t len, char *op,
			     size_t op_len, struct fd_error *err)
{
	int rc = 0;

	if (!f->operator_name)
		f->operator_name = fd_operator_name(NULL, op, op_len);
	if (!f->dry_run) /* a dry run sends no webhook */
		rc = drill_relay_start(s, relay, err);
	if (rc == 0)
		rc = drill_sandbox_join(f->sandbox, netns, len, err);
	if (rc < 0) {
		drill_relay_free(*relay);
		*relay = NULL;
	}
	return rc;
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
	struct run_flags f = { 0 };
	struct scenario *s = NULL;
	struct drill_opts o;
	struct drill_result res = { 0 };
	struct fd_error err;
	struct live lv = { .out = stderr };
	struct drill_warroom *wr = NULL;
	struct drill_relay *relay = NULL;
	char sandbox_ns[64] = "", operator_buf[128];
	int rc, code;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		cli_print_usage(cli_find_command("run"), stdout);
		printf("  --json prints the result as JSON; --dry-run prints the plan, then checks\n"
		       "  the steady state and prepares the faults without injecting or recording\n"
		       "  (with --json: the plan as `firedrill plan --json` prints it, plus \"preflight\").\n"
		       "  Manual runbook steps: press Enter here, or run `firedrill lap` elsewhere.\n"
		       "  --role ROLE=NAME (repeatable) records who takes part, e.g. --role\n"
		       "  incident-commander=alice; the scenario's team: lists the roles it expects.\n"
		       "  --war-room [ADDR:PORT] serves a live page of the drill (docs/war-room.md)\n"
		       "  on 127.0.0.1 and a port chosen now, printed with its access token; an\n"
		       "  address that is not loopback also needs --war-room-public.\n"
		       "  --sign KEY seals the drill when it ends: DB.drill-ID.seal, signed with\n"
		       "  KEY (firedrill keygen); check it with `firedrill verify --seal FILE [REPORT]`.\n"
		       "  --sandbox PID|NAME drills inside a `firedrill sandbox` (docs/local.md): joins\n"
		       "  its user and network namespace first, so it needs no root; the scenario\n"
		       "  must name no scope of its own. Its webhooks are posted from outside by a\n"
		       "  relay process started before the join.\n");
		return EXIT_OK;
	}
	rc = parse_flags(argc, argv, ctx, &f);
	if (rc)
		return rc;
	fd_error_clear(&err);
	if (cli_load_scenario(ctx, f.file, SCENARIO_FOR_RUN, &s, &err) < 0)
		return cli_report_error(&err);
	if (f.sandbox && run_enter_sandbox(&f, s, &relay, sandbox_ns, sizeof(sandbox_ns), operator_buf,
					   sizeof(operator_buf), &err) < 0) {
		scenario_free(s);
		return cli_report_error(&err);
	}
	if (f.dry_run && !ctx->json)
		cli_plan_print(s, stdout);

	if (f.war_room && !f.dry_run) {
		char url[256];

		fd_error_clear(&err);
		if (drill_warroom_open(f.war_room_addr, f.war_room_public, &wr, &err) < 0) {
			drill_relay_free(relay);
			scenario_free(s);
			return cli_report_error(&err);
		}
		fprintf(stderr, "war room: %s\n  (open it in a browser; whoever holds this link can act "
			"in the drill, abort included)\n", drill_warroom_url(wr, url, sizeof(url)));
		fflush(stderr);
	}
	drill_opts_init(&o);
	o.war_room = wr;
	o.db_path = ctx->db_path;
	o.environment = f.env;
	o.operator_name = f.operator_name; /* NULL: the invoking user (fd_operator_name) */
	o.iterations = f.iterations;
	o.roles = f.roles;
	o.n_roles = f.n_roles;
	o.dry_run = f.dry_run;
	o.force = ctx->force;
	o.scope_netns = sandbox_ns[0] ? sandbox_ns : NULL;
	o.notify_relay = relay;
	o.stop = cli_catch_stop_signals();
	if (isatty(STDIN_FILENO))
		o.lap_tty_fd = STDIN_FILENO;
	if (ctx->verbosity >= 0) {
		lv.tty = isatty(fileno(stderr)) && !ctx->json;
		o.progress = on_progress;
		o.progress_user = &lv;
	}
	rc = drill_run(s, &o, &res, &err);
	drill_relay_free(relay); /* the drill's webhooks are all accounted for */
	fd_priv_lower(); /* printing, the seal and its signature need files only */
	end_line(&lv);
	if (rc < 0) {
		if (ctx->json && f.dry_run)
			print_dry_run_json(s, &res, &err);
		else if (ctx->json && res.n_iterations)
			print_json(s, &res, &f, ctx->db_path);
		code = cli_report_error(&err);
	} else {
		if (ctx->json && f.dry_run)
			print_dry_run_json(s, &res, NULL);
		else if (ctx->json)
			print_json(s, &res, &f, ctx->db_path);
		else if (f.dry_run)
			printf("\npreflight: %s\n", res.detail);
		else
			print_table(s, &res, ctx->db_path);
		if (f.dry_run)
			code = res.outcome == OUTCOME_RECOVERED ? EXIT_OK : EXIT_MISSED;
		else
			code = res.objectives_met ? EXIT_OK : EXIT_MISSED;
	}
	if (f.sign && res.drill_id) {
		int sealed = seal_drill(ctx->db_path, f.sign, res.drill_id);

		if (sealed != EXIT_OK)
			code = sealed;
	}
	drill_warroom_close(wr); /* after the table: the page shows the end meanwhile */
	drill_result_free(&res);
	scenario_free(s);
	return code;
}

/*
 * firedrill: entry point. Global options may stand before or after the
 * command name; everything else goes to the command.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fd_config.h"

const struct cli_command cli_commands[] = {
	{ "init", cmd_init, "[--template region-drop|s3|kill|link|exec] [-o FILE]", "write a commented starter scenario that validates" },
	{ "validate", cmd_validate, "[--inject] FILE...", "check scenario files; print every error with file:line:col" },
	{ "plan", cmd_plan, "FILE", "print exactly what a drill would inject, probe and measure; touch nothing" },
	{ "run", cmd_run, "FILE [--iterations N] [--env NAME] [--operator NAME] [--role ROLE=NAME]... [--dry-run] [--sign KEY] [--war-room [ADDR:PORT]] [--sandbox PID|NAME]", "run a drill and record every iteration" },
	{ "inject", cmd_inject, "FILE [--detach] [--sandbox PID|NAME]", "apply a scenario's faults and hold them (manual game days)" },
	{ "revert", cmd_revert, "[--sandbox PID|NAME]", "undo every fault the journal says is still applied" },
	{ "status", cmd_status, "", "list faults applied now, with time left before expiry" },
	{ "lap", cmd_lap, "[NOTE] | --failed REASON | --skipped REASON | --note TEXT",
	  "mark the current manual runbook step done, failed or skipped; or note something" },
	{ "finding", cmd_finding, "DRILL --severity critical|high|medium|low [--root-cause TEXT] TEXT", "record a finding of a drill (evidence)" },
	{ "action", cmd_action, "DRILL --owner NAME --due DATE [--finding ID] TEXT | close ID [--retest DRILL]", "record a remediation action, or close one" },
	{ "actions", cmd_actions, "[--open] [--owner NAME] [--scenario NAME] [--env NAME]", "list remediation actions across drills; flag those past due" },
	{ "note", cmd_note, "DRILL TEXT", "record a lesson learned from a drill" },
	{ "signoff", cmd_signoff, "DRILL --name NAME --role ROLE --key KEY", "sign off a drill's evidence (Ed25519)" },
	{ "history", cmd_history, "[--scenario NAME] [--env NAME] [--limit N]", "list recorded drills" },
	{ "freshness", cmd_freshness, "[--env NAME] [--store PATH] [--now TIME] [FILE...]", "which scenarios have not been proven lately (exit 1 when one is stale)" },
	{ "report", cmd_report, "trend|evidence|metrics ... [-o FILE] [--format F]", "write trend, evidence or metrics (Prometheus) reports" },
	{ "keygen", cmd_keygen, "-o PREFIX", "make an Ed25519 key pair for signing evidence" },
	{ "verify", cmd_verify, "REPORT [--pubkey KEY] [--no-store] | --seal SEAL [REPORT] | --store", "check a signed report and the store's hash chain" },
	{ "lab", cmd_lab, "up|reset|down|status [--json]", "the built-in two-region practice system" },
	{ "agent", cmd_agent, "[--version]", "a fleet drill's agent on this host, driven over ssh (docs/fleet.md)" },
	{ "sandbox", cmd_sandbox, "[--name NAME] -- COMMAND...", "run a service in a user + network namespace to drill it without root" },
	{ "demo", cmd_demo, "[--keep-lab] [--scenario FILE] [--war-room [ADDR:PORT]]", "drill the built-in lab three times and show the improvement" },
	{ NULL, NULL, NULL, NULL },
};

const struct cli_command *cli_find_command(const char *name)
{
	/* Exact names only: prefix matching makes meaning depend on table order. */
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void cli_print_usage(const struct cli_command *cmd, FILE *out)
{
	fprintf(out, "usage: firedrill %s%s%s\n  %s\n", cmd->name, *cmd->args ? " " : "",
		cmd->args, cmd->summary);
}

static void print_main_usage(FILE *out)
{
	fprintf(out,
		"usage: firedrill [-q|-v] [--db PATH] [--inventory FILE] [--json] [--force] COMMAND [ARGS]\n"
		"       firedrill --version | --help | help COMMAND\n\n"
		"Runs disaster-recovery fire drills: break, watch, measure RTO/RPO, record, report.\n\n"
		"commands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(out, "  %-9s %s\n", c->name, c->summary);
	fprintf(out,
		"\nglobal options:\n"
		"  --db PATH   the store (default $FIREDRILL_DB, else ./firedrill.db)\n"
		"  --inventory FILE  the fleet's hosts (run, validate, plan, status, revert;\n"
		"              docs/fleet.md)\n"
		"  --json      print data as JSON\n"
		"  --force     allow over-broad targets (0.0.0.0/0, pid 1, the default route's link)\n"
		"  -q, -v      quieter, more verbose\n\n"
		"exit codes: 0 ok/objectives met, 1 objectives missed or not recovered,\n"
		"            2 bad input or usage, 3 environment error, 4 internal error\n");
}

int cli_report_error(const struct fd_error *err)
{
	fprintf(stderr, "firedrill: %s%s\n",
		strstr(err->msg, "error:") ? "" : "error: ", err->msg);
	return fd_error_exit_code(err);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "firedrill %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'firedrill %s --help')\n", cmd);
	return EXIT_USAGE;
}

void cli_log(const struct cli_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	if (ctx->verbosity < level)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_not_implemented(const char *name)
{
	fprintf(stderr, "firedrill %s: not implemented yet\n", name);
	return EXIT_INTERNAL;
}

/*
 * Takes the global options out of argv wherever they stand (before or after
 * the command). "--" ends option scanning. Returns the new argc, or -1 on a
 * usage error.
 */
static int take_global_options(struct cli_ctx *ctx, int argc, char **argv)
{
	int out = 1;
	bool done = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (done) {
			argv[out++] = argv[i];
		} else if (strcmp(a, "--") == 0) {
			done = true;
			argv[out++] = argv[i];
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			ctx->verbosity = -1;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			ctx->verbosity++;
		} else if (strcmp(a, "-vv") == 0) {
			ctx->verbosity += 2;
		} else if (strcmp(a, "--json") == 0) {
			ctx->json = true;
		} else if (strcmp(a, "--force") == 0) {
			ctx->force = true;
		} else if (strcmp(a, "--db") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "firedrill: --db needs a PATH\n");
				return -1;
			}
			ctx->db_path = argv[++i];
		} else if (strncmp(a, "--db=", 5) == 0) {
			ctx->db_path = a + 5;
		} else if (strcmp(a, "--inventory") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "firedrill: --inventory needs a FILE\n");
				return -1;
			}
			ctx->inventory = argv[++i];
		} else if (strncmp(a, "--inventory=", 12) == 0) {
			ctx->inventory = a + 12;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

/* Runbook and failback steps can call this very firedrill as "$FIREDRILL"
 * (the lab scenario's `lab reset` failback step), whatever PATH says. */
static void export_self(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n > 0) {
		path[n] = '\0';
		setenv("FIREDRILL", path, 1);
	}
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	const struct cli_command *cmd;
	const char *env_db = getenv("FIREDRILL_DB");

	export_self();
	ctx.self = argv[0];
	ctx.db_path = env_db && *env_db ? env_db : "./firedrill.db";
	argc = take_global_options(&ctx, argc, argv);
	if (argc < 0)
		return EXIT_USAGE;
	if (argc < 2) {
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("firedrill %s\n", FD_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_main_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			print_main_usage(stdout);
			return EXIT_OK;
		}
		cmd = cli_find_command(argv[2]);
		if (!cmd)
			return cli_usage_error("help", "unknown command \"%s\"", argv[2]);
		char *help_argv[] = { argv[2], (char *)"--help", NULL };
		return cmd->run(&ctx, 2, help_argv);
	}
	cmd = cli_find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "firedrill: unknown command \"%s\"\n\n", argv[1]);
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	return cmd->run(&ctx, argc - 1, argv + 1);
}

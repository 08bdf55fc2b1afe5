/*
 * cli: the face of firedrill. main.c parses the global options and
 * dispatches through one table to one file per subcommand. Commands parse
 * their own flags, call one module, print, and map errors to exit codes
 * (fd_error_exit_code). Nothing below cli/ prints or exits.
 */
#ifndef FD_CLI_H
#define FD_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "fd_error.h"

/* Exit codes (DESIGN.md). */
enum {
	EXIT_OK = 0,          /* done; objectives met */
	EXIT_MISSED = 1,      /* objectives missed or not recovered */
	EXIT_USAGE = 2,       /* bad input or usage */
	EXIT_ENV = 3,         /* missing privilege, kernel feature, disk */
	EXIT_INTERNAL = 4,    /* a bug; also "not implemented yet" */
};

struct cli_ctx {
	const char *db_path; /* --db, else $FIREDRILL_DB, else ./firedrill.db */
	int verbosity;       /* -q: -1, default 0, -v: 1, -vv: 2 */
	bool json;           /* --json: data output as JSON */
	bool force;          /* --force: allow guarded (over-broad) targets */
	const char *self;    /* argv[0], for re-executing helpers (holder, guardian) */
	const char *inventory; /* --inventory FILE: the fleet's hosts (docs/fleet.md) */
};

struct cli_command {
	const char *name;
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
	const char *args;    /* "FILE...": the synopsis after the name */
	const char *summary; /* one line */
};

/* The command table (main.c), NULL-terminated. */
extern const struct cli_command cli_commands[];

const struct cli_command *cli_find_command(const char *name);

/* "usage: firedrill NAME ARGS" + summary, to out. */
void cli_print_usage(const struct cli_command *cmd, FILE *out);

/* Prints "firedrill: error: MSG" to stderr and returns the exit code. */
int cli_report_error(const struct fd_error *err);

/* Prints a usage error for cmd and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Verbose diagnostics to stderr when ctx->verbosity >= level. */
void cli_log(const struct cli_ctx *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Returns EXIT_INTERNAL after saying the command is not implemented yet. */
int cli_not_implemented(const char *name);

/* SIGINT, SIGTERM and SIGHUP set the returned flag (a drill's opts.stop)
 * instead of killing the process, so faults get reverted (cmd_run.c). */
const volatile sig_atomic_t *cli_catch_stop_signals(void);

/* The plan of a scenario as one JSON object (built and rendered by
 * scenarios/scenario_plan.h, described by the injector; keys in
 * docs/scenarios.md), for `plan --json` and `run --dry-run --json`. Caller
 * owns the result (json_decref); NULL when out of memory. */
struct json_t;
struct scenario;
struct json_t *cli_plan_json(const struct scenario *s);
/* The same plan as text (scenario_plan_print): its steps, then its guards
 * and warnings, so that the text says everything the JSON does. */
#include <stdio.h>
void cli_plan_print(const struct scenario *s, FILE *out);
/* Prints o indented, with a newline; -1 when o is NULL or cannot be dumped. */
int cli_print_json(struct json_t *o);

/* Loads a scenario for use (run or inject: scenario_load_for) and, with
 * --inventory, the fleet's hosts into it (cli_fleet.c): FILE:LINE:COL
 * errors of either file. */
#include "scenario.h"
int cli_load_scenario(const struct cli_ctx *ctx, const char *file, enum scenario_use use,
		      struct scenario **s, struct fd_error *err);
/* status and revert --inventory: the same command on every host, told host
 * by host (cli_fleet.c). Returns the exit code. */
int cli_fleet_status(const struct cli_ctx *ctx);
int cli_fleet_revert(const struct cli_ctx *ctx);

/* One function per subcommand, each in cmd_NAME.c. */
int cmd_init(struct cli_ctx *ctx, int argc, char **argv);
int cmd_validate(struct cli_ctx *ctx, int argc, char **argv);
int cmd_plan(struct cli_ctx *ctx, int argc, char **argv);
int cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sandbox(struct cli_ctx *ctx, int argc, char **argv);
int cmd_inject(struct cli_ctx *ctx, int argc, char **argv);
int cmd_revert(struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_lap(struct cli_ctx *ctx, int argc, char **argv);
int cmd_history(struct cli_ctx *ctx, int argc, char **argv);
int cmd_finding(struct cli_ctx *ctx, int argc, char **argv);
int cmd_action(struct cli_ctx *ctx, int argc, char **argv);
int cmd_actions(struct cli_ctx *ctx, int argc, char **argv);
int cmd_note(struct cli_ctx *ctx, int argc, char **argv);
int cmd_signoff(struct cli_ctx *ctx, int argc, char **argv);
int cmd_freshness(struct cli_ctx *ctx, int argc, char **argv);
int cmd_report(struct cli_ctx *ctx, int argc, char **argv);
int cmd_keygen(struct cli_ctx *ctx, int argc, char **argv);
int cmd_verify(struct cli_ctx *ctx, int argc, char **argv);
int cmd_lab(struct cli_ctx *ctx, int argc, char **argv);
int cmd_demo(struct cli_ctx *ctx, int argc, char **argv);
int cmd_agent(struct cli_ctx *ctx, int argc, char **argv);

#endif

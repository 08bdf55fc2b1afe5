/*
 * firedrill revert: undo every fault the journal says is still applied,
 * wherever it was applied (each row's namespace), idempotently. Faults held
 * by a live `firedrill inject` holder are handed back by asking the holder.
 * Returns once such holders have exited (up to a few seconds), so the scope
 * lock they held is free when this command is done.
 *
 * With --sandbox PID|NAME it first joins a rootless sandbox (its user, then
 * its network namespace, as `run --sandbox` does) and reverts the rows of
 * that namespace only: from inside a user namespace there is no way back
 * out, so every other place is left to a `firedrill revert` without it.
 */
#include <jansson.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "drill.h"
#include "fd_proc.h"
#include "fd_time.h"
#include "injector.h"
#include "store.h"

/* How long a reverted inject holder gets to notice and exit (it checks the
 * journal every second). */
#define HOLDER_EXIT_WAIT_MS 5000

/* Waits for the `firedrill inject` holders of rows (drill_id 0) to exit:
 * one whose faults were reverted underneath it releases its scope lock
 * when it ends. A pid started after its row was planned is not the holder. */
static void wait_inject_holders(const struct store_fault *rows, size_t n)
{
	int64_t deadline = fd_mono_ns() + HOLDER_EXIT_WAIT_MS * FD_NS_PER_MS;

	for (size_t i = 0; i < n; i++) {
		int64_t started, left;
		struct pollfd p;
		int pidfd;

		if (rows[i].drill_id != 0 || rows[i].holder_pid <= 0 || rows[i].holder_pid == getpid())
			continue;
		started = fd_proc_start_real_ns(rows[i].holder_pid);
		if (started == 0 || started > rows[i].planned_real_ns + 2 * FD_NS_PER_S)
			continue;
		pidfd = (int)syscall(SYS_pidfd_open, rows[i].holder_pid, 0);
		if (pidfd < 0)
			continue;
		left = (deadline - fd_mono_ns()) / FD_NS_PER_MS;
		p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		if (left > 0)
			poll(&p, 1, (int)left);
		close(pidfd);
	}
}

static void print_help(void)
{
	cli_print_usage(cli_find_command("revert"), stdout);
	printf("\n"
	       "Reverts every journal row still planned or applied (drop/reject tables,\n"
	       "routes, links, qdiscs, stopped or frozen processes, exec hooks).\n"
	       "Running it twice is fine; a fault that already expired counts as reverted.\n"
	       "With --inventory FILE it runs on every host of the inventory (over ssh,\n"
	       "each host's own journal) and says host by host what it reverted.\n"
	       "--sandbox PID|NAME joins a `firedrill sandbox` first (its user and network\n"
	       "namespace, as `run --sandbox` does; no root needed) and reverts the rows\n"
	       "of that sandbox's namespace only; rows of other places are left (and\n"
	       "counted) for a `firedrill revert` without it.\n\n"
	       "exit: 0 nothing left applied (in the sandbox, with --sandbox),\n"
	       "      3 something could not be reverted\n");
}

/* Moves the rows of namespace netns to the front; returns how many. */
static size_t rows_in_front(struct store_fault *rows, size_t n, const char *netns)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (injector_row_in_netns(&rows[i], netns)) {
			struct store_fault t = rows[k];

			rows[k++] = rows[i];
			rows[i] = t;
		}
	}
	return k;
}

int cmd_revert(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fd_error err = { 0 };
	struct store_fault *rows = NULL;
	struct store *st = NULL;
	const char *sandbox = NULL;
	char sandbox_ns[64] = "";
	size_t n = 0, n_all = 0;
	int n_reverted = 0, rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help();
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sandbox") == 0 && i + 1 < argc)
			sandbox = argv[++i];
		else if (strcmp(argv[i], "--sandbox") == 0)
			return cli_usage_error("revert", "--sandbox needs the sandbox's PID or NAME");
		else
			return cli_usage_error("revert", "unknown argument \"%s\" (takes only --sandbox "
					       "PID|NAME)", argv[i]);
	}
	if (ctx->inventory && sandbox)
		return cli_usage_error("revert", "--sandbox names a sandbox on this host; it does not "
				       "go with --inventory");
	if (ctx->inventory)
		return cli_fleet_revert(ctx);
	/* first of all: a user namespace is joined only while single-threaded */
	if (sandbox && drill_sandbox_join(sandbox, sandbox_ns, sizeof(sandbox_ns), &err) < 0)
		return cli_report_error(&err);
	rc = store_open(ctx->db_path, &st, &err);
	if (rc == 0)
		rc = store_journal_list_active(st, &rows, &n_all, &err);
	n = sandbox ? rows_in_front(rows, n_all, sandbox_ns) : n_all;
	if (rc == 0)
		rc = sandbox ? injector_revert_journal_in(st, sandbox_ns, &n_reverted, &err)
			     : injector_revert_journal(st, &n_reverted, &err);
	if (rc == 0)
		wait_inject_holders(rows, n);
	if (rc < 0) {
		store_faults_free(rows, n_all);
		store_close(st);
		return cli_report_error(&err);
	}
	if (n_all > n && ctx->verbosity >= 0)
		fprintf(stderr, "%zu journal row%s not in sandbox %s left applied: `firedrill revert` "
			"without --sandbox reverts %s\n", n_all - n, n_all - n == 1 ? "" : "s", sandbox,
			n_all - n == 1 ? "it" : "them");
	if (ctx->json) {
		json_t *arr = json_array();
		char *text;

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "fault", rows[i].fault_id,
							     "kind", rows[i].kind, "netns", rows[i].netns));
		text = json_dumps(arr, JSON_INDENT(2));
		if (text)
			puts(text);
		free(text);
		json_decref(arr);
	} else if (n == 0) {
		if (ctx->verbosity >= 0)
			printf("nothing to revert\n");
	} else {
		for (size_t i = 0; i < n; i++)
			printf("reverted %s (%s)%s%s\n", rows[i].fault_id, rows[i].kind,
			       rows[i].netns[0] ? " in namespace " : "", rows[i].netns);
	}
	store_faults_free(rows, n_all);
	store_close(st);
	return EXIT_OK;
}

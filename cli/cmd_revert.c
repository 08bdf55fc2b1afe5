/*
 * firedrill revert: undo every fault the journal says is still applied,
 * wherever it was applied (each row's namespace), idempotently. Faults held
 * by a live `firedrill inject` holder are handed back by asking the holder.
 * Returns once such holders have exited (up to a few seconds), so the scope
 * lock they held is free when this command is done.
 */
#include <jansson.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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
	       "each host's own journal) and says host by host what it reverted.\n\n"
	       "exit: 0 nothing left applied, 3 something could not be reverted\n");
}

int cmd_revert(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fd_error err = { 0 };
	struct store_fault *rows = NULL;
	struct store *st = NULL;
	size_t n = 0;
	int n_reverted = 0, rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help();
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("revert", "takes no arguments");
	if (ctx->inventory)
		return cli_fleet_revert(ctx);
	rc = store_open(ctx->db_path, &st, &err);
	if (rc == 0)
		rc = store_journal_list_active(st, &rows, &n, &err);
	if (rc == 0)
		rc = injector_revert_journal(st, &n_reverted, &err);
	if (rc == 0)
		wait_inject_holders(rows, n);
	if (rc < 0) {
		store_faults_free(rows, n);
		store_close(st);
		return cli_report_error(&err);
	}
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
	store_faults_free(rows, n);
	store_close(st);
	return EXIT_OK;
}

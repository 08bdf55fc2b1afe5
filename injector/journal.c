/*
 * `firedrill revert`: undo every journal row still PLANNED or APPLIED, from
 * the journal alone (no scenario), entering each row's namespace. The start
 * of a drill does the same for the rows of holders that are dead
 * (injector_revert_orphans).
 *
 * A drop/reject row cannot be undone from here while its holder lives: the
 * table is owner-flagged and only the holder's socket may delete it. Then
 * the holder is asked to revert (SIGTERM through a pidfd, after checking
 * that the pid still is the process that applied the fault) and we wait
 * for it to go. A fault already gone (expired, reverted, namespace
 * deleted) counts as reverted.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd_netns.h"
#include "fd_time.h"
#include "fd_proc.h"
#include "injector_int.h"

#define HOLDER_WAIT_MS 5000

/* Whether the row's holder still runs: its pid is there and that process
 * started before the row was planned (a later start is a recycled pid). A
 * holder whose start time cannot be read counts as alive: never revert
 * under a process that may hold the faults. */
static bool holder_alive(const struct store_fault *row)
{
	int64_t started;

	if (row->holder_pid <= 0)
		return false;
	if (row->holder_pid == getpid())
		return true;
	started = fd_proc_start_real_ns(row->holder_pid);
	if (started == 0)
		return kill(row->holder_pid, 0) == 0 || errno == EPERM;
	/* btime has 1 s resolution: allow 2 s of slack, as ask_holder does. */
	return started <= row->planned_real_ns + 2 * FD_NS_PER_S;
}

/* Asks the holder to revert and waits for it to exit. */
static int ask_holder(const struct store_fault *row, struct fd_error *err)
{
	int64_t started;
	struct pollfd p;
	int pidfd;

	if (row->holder_pid <= 0 || row->holder_pid == getpid())
		return -ESRCH;
	started = fd_proc_start_real_ns(row->holder_pid);
	/* btime has 1 s resolution: allow 2 s of slack. A later start means
	 * the pid now belongs to another process. */
	if (started == 0 || started > row->planned_real_ns + 2 * FD_NS_PER_S)
		return -ESRCH;
	pidfd = (int)syscall(SYS_pidfd_open, row->holder_pid, 0);
	if (pidfd < 0)
		return -ESRCH;
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) < 0) {
		int e = errno;

		close(pidfd);
		return fd_error_set(err, FD_ERR_ENV, -e, "fault %s: signalling holder pid %d: %s",
				    row->fault_id, row->holder_pid, strerror(e));
	}
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	poll(&p, 1, HOLDER_WAIT_MS);
	close(pidfd);
	return 0;
}

static int revert_row(const struct store_fault *row, struct fd_error *err)
{
	const struct injector_driver *drv = injector_driver_by_name(row->kind);
	json_t *spec;
	int rc;

	if (!drv)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "fault %s: unknown kind \"%s\"",
				    row->fault_id, row->kind);
	spec = json_loads(row->spec ? row->spec : "{}", 0, NULL);
	if (!spec)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "fault %s: unreadable journal spec",
				    row->fault_id);
	rc = drv->revert(spec, err);
	if (rc == -EBUSY && ask_holder(row, err) == 0)
		rc = drv->revert(spec, err);
	json_decref(spec);
	if (rc < 0 && strncmp(err->msg, "fault ", 6) != 0)
		fd_error_prefix(err, "fault %s", row->fault_id);
	return rc;
}

/* Runs revert_row inside the row's namespace; a namespace gone took the
 * fault with it, except a kind undone by pid (reverted from here). *stuck
 * when this process could not come back (it joined a rootless sandbox's
 * user namespace on the way in). */
static int revert_in_netns(const struct store_fault *row, const char **note, bool *stuck,
			   struct fd_error *err)
{
	struct fd_error e = { 0 };
	int home = -1, rc;

	rc = inj_place_enter_revert(row->netns, row->kind, &home, note, err);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = revert_row(row, err);
	*stuck = inj_place_leave(&home, &e) < 0;
	return rc;
}

bool injector_row_in_netns(const struct store_fault *row, const char *netns)
{
	char mine[64], theirs[64];
	struct fd_error ignored = { 0 };

	return row->netns[0] && fd_netns_key(row->netns, theirs, sizeof(theirs), &ignored) == 0 &&
	       fd_netns_key(netns, mine, sizeof(mine), &ignored) == 0 && strcmp(mine, theirs) == 0;
}

/* Reverts the active rows (only those of dead holders when orphans_only;
 * only those of namespace only_netns unless NULL), marking each REVERTED
 * with note and reporting it through fn. */
static int revert_rows(struct store *st, bool orphans_only, const char *only_netns,
		       const char *note, injector_row_fn fn, void *arg, int *n_reverted,
		       struct fd_error *err)
{
	struct store_fault *rows = NULL;
	size_t n = 0;
	int rc, first = 0, before;

	*n_reverted = 0;
	rc = store_journal_list_active(st, &rows, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct fd_error e = { 0 };
		const char *why = note;
		bool stuck = false;

		if (orphans_only && holder_alive(&rows[i]))
			continue;
		if (only_netns && !injector_row_in_netns(&rows[i], only_netns))
			continue;
		rc = revert_in_netns(&rows[i], &why, &stuck, &e);
		before = first;
		if (rc == 0)
			rc = store_journal_set_state(st, rows[i].id, JOURNAL_REVERTED, 0, why, &e);
		if (rc < 0 && first == 0) {
			first = rc;
			*err = e;
		}
		if (rc == 0) {
			(*n_reverted)++;
			if (fn)
				fn(&rows[i], why, arg);
		}
		if (stuck) {
			/* any later row would be reverted in the wrong namespace */
			if (before == 0)
				first = fd_error_set(err, FD_ERR_ENV, -EPERM,
						     "fault %s: %s in %s, which this process cannot leave "
						     "(a rootless sandbox's: no way back out of its user "
						     "namespace); the rows after it are left: revert a "
						     "sandbox's rows with `firedrill revert --sandbox PID|NAME`",
						     rows[i].fault_id, rc == 0 ? "reverted" : "not reverted",
						     rows[i].netns);
			break;
		}
	}
	store_faults_free(rows, n);
	return first;
}

int injector_revert_journal(struct store *st, int *n_reverted, struct fd_error *err)
{
	return revert_rows(st, false, NULL, "reverted by firedrill revert", NULL, NULL, n_reverted,
			   err);
}

int injector_revert_journal_in(struct store *st, const char *netns, int *n_reverted,
			       struct fd_error *err)
{
	return revert_rows(st, false, netns, "reverted by firedrill revert --sandbox", NULL, NULL,
			   n_reverted, err);
}

int injector_revert_orphans(struct store *st, injector_row_fn fn, void *arg, int *n_reverted,
			    struct fd_error *err)
{
	return revert_rows(st, true, NULL, "left behind by a dead holder: reverted at the start of a drill",
			   fn, arg, n_reverted, err);
}

/*
 * The guardian: a small process in its own session that outlives the
 * holder if the holder dies.
 *
 * Forked right after apply, it keeps only two fds: a pidfd of the holder
 * and the read end of a pipe. It must not keep the holder's nft socket
 * (the owner-flagged table would then outlive the holder), so every other
 * fd is closed. It waits in poll():
 *   - a byte on the pipe: the holder reverted cleanly; exit.
 *   - the pidfd readable (holder died) or the pipe at EOF: revert every
 *     fault of this injection the kernel does not end by itself, from the
 *     journal specs, and mark the rows REVERTED.
 *   - a fault's max duration passed: revert that fault.
 * It is forked from the holder, so it sits in the faults' network namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_time.h"
#include "injector_int.h"

#define G_PIDFD 3
#define G_PIPE 4

static void guardian_mark(struct store *st, const struct inj_fault *x, const char *detail)
{
	struct fd_error ignored = { 0 };

	if (st)
		store_journal_set_state(st, x->row, JOURNAL_REVERTED, 0, detail, &ignored);
}

/* Is the row still APPLIED/PLANNED? Without a store: assume so. */
static bool row_active(struct store *st, int64_t row)
{
	struct fd_error ignored = { 0 };
	struct store_fault *rows = NULL;
	size_t n = 0;
	bool found = false;

	if (!st || store_journal_list_active(st, &rows, &n, &ignored) < 0)
		return true;
	for (size_t i = 0; i < n && !found; i++)
		found = rows[i].id == row;
	store_faults_free(rows, n);
	return found;
}

static void guardian_revert(struct injector *inj, struct inj_fault *x, struct store *st,
			    const char *why)
{
	struct fd_error e = { 0 };
	json_t *spec;
	char detail[FD_ERROR_MSG_MAX + 64];

	if (!row_active(st, x->row)) {
		x->phase = INJ_IDLE; /* the holder or `firedrill revert` did it */
		return;
	}
	spec = json_loads(x->spec ? x->spec : "{}", 0, NULL);
	if (spec && x->drv->revert(spec, &e) == 0) {
		snprintf(detail, sizeof(detail), "reverted by the guardian (%s)", why);
		guardian_mark(st, x, detail);
		x->phase = INJ_IDLE;
	}
	json_decref(spec);
	(void)inj;
}

/* The holder is gone: its owner table went with it; make sure, and mark. */
static void guardian_nft_gone(struct injector *inj, struct store *st)
{
	struct fd_error e = { 0 };
	bool any = false;

	for (size_t i = 0; i < inj->n; i++)
		any |= inj->faults[i].phase == INJ_APPLIED && inj->faults[i].drv->kernel_expires;
	if (!any)
		return;
	if (inj_nft_table_exists(&e) > 0)
		inj_nft_table_delete(&e);
	for (size_t i = 0; i < inj->n; i++) {
		struct inj_fault *x = &inj->faults[i];

		if (x->phase == INJ_APPLIED && x->drv->kernel_expires && row_active(st, x->row)) {
			guardian_mark(st, x, "owner table removed by the kernel when the holder died");
			x->phase = INJ_IDLE;
		}
	}
}

static int64_t next_deadline(const struct injector *inj)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < inj->n; i++) {
		const struct inj_fault *x = &inj->faults[i];
		int64_t end = x->applied_mono + x->f->duration_ns;

		if (x->phase == INJ_APPLIED && !x->drv->kernel_expires && end < next)
			next = end;
	}
	return next;
}

static void guardian_loop(struct injector *inj)
{
	struct store *st = NULL;
	struct fd_error e = { 0 };
	bool holder_gone = false;

	if (inj->opts.db_path)
		store_open(inj->opts.db_path, &st, &e);
	for (;;) {
		struct pollfd p[2] = { { .fd = G_PIDFD, .events = POLLIN },
				       { .fd = G_PIPE, .events = POLLIN } };
		int64_t next = next_deadline(inj), now = fd_mono_ns();
		int timeout = next == INT64_MAX ? -1 :
			      next <= now ? 0 : (int)((next - now) / FD_NS_PER_MS + 1);
		char c;

		if (next == INT64_MAX && holder_gone)
			break;
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			if (read(G_PIPE, &c, 1) == 1)
				break; /* clean revert by the holder */
			holder_gone = true; /* EOF: the holder is gone */
		}
		if (p[0].revents & (POLLIN | POLLHUP))
			holder_gone = true;
		now = fd_mono_ns();
		for (size_t i = 0; i < inj->n; i++) {
			struct inj_fault *x = &inj->faults[i];
			bool due = now >= x->applied_mono + x->f->duration_ns;

			if (x->phase == INJ_APPLIED && !x->drv->kernel_expires && (holder_gone || due))
				guardian_revert(inj, x, st,
						holder_gone ? "holder died" : "max duration reached");
		}
		if (holder_gone) {
			guardian_nft_gone(inj, st);
			break;
		}
	}
	store_close(st);
}

static void guardian_main(struct injector *inj, int pidfd, int pipe_rd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int a = fcntl(pidfd, F_DUPFD_CLOEXEC, 100), b = fcntl(pipe_rd, F_DUPFD_CLOEXEC, 101);
	sigset_t all;

	setsid();
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	/* Keep the pidfd and the pipe, close everything else: above all the
	 * holder's nft socket, whose life decides the owner table's. */
	if (a < 0 || b < 0 || dup2(a, G_PIDFD) < 0 || dup2(b, G_PIPE) < 0)
		_exit(1);
	syscall(SYS_close_range, 5U, ~0U, 0U);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGINT, SIG_IGN); /* the terminal's Ctrl-C is the holder's business */
	signal(SIGPIPE, SIG_IGN);
	guardian_loop(inj);
	_exit(0);
}

int inj_guardian_start(struct injector *inj, struct fd_error *err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	int p[2];
	pid_t pid;

	if (pidfd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "guardian: pidfd_open: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC) < 0) {
		int e = errno;

		close(pidfd);
		return fd_error_set(err, FD_ERR_ENV, -e, "guardian: pipe: %s", strerror(e));
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pidfd);
		close(p[0]);
		close(p[1]);
		return fd_error_set(err, FD_ERR_ENV, -e, "guardian: fork: %s", strerror(e));
	}
	if (pid == 0)
		guardian_main(inj, pidfd, p[0]);
	close(pidfd);
	close(p[0]);
	if (inj->guardian_fd >= 0)
		close(inj->guardian_fd);
	inj->guardian_fd = p[1];
	inj->guardian_pid = pid;
	return 0;
}

void inj_guardian_release(struct injector *inj)
{
	if (inj->guardian_fd < 0)
		return;
	if (write(inj->guardian_fd, "R", 1) < 0) {
		/* The guardian is gone already; nothing to tell. */
	}
	close(inj->guardian_fd);
	inj->guardian_fd = -1;
	if (inj->guardian_pid > 0)
		waitpid(inj->guardian_pid, NULL, 0);
	inj->guardian_pid = 0;
}

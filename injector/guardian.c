/*
 * The guardian: a small process in its own session that outlives the
 * holder if the holder dies.
 *
 * Started as soon as every fault of the injection is journaled PLANNED, so
 * it watches before the first fault is touched; it keeps only two fds: a
 * pidfd of the holder and the read end of a pipe. It must not keep the holder's nft socket
 * (the owner-flagged table would then outlive the holder), nor any SQLite
 * state: SQLite connections and their lock bookkeeping do not survive
 * fork() (a forked child opening the same database can hang). So the
 * guardian is a posix_spawn of /proc/self/exe with FIREDRILL_GUARDIAN in the
 * environment; a constructor in this file catches that before main() of
 * whichever program links the injector (firedrill, tests, benchmarks),
 * reads its rows from the journal with a fresh connection, and never
 * returns. Without a db_path (no journal to read) the guardian stays a
 * plain fork that reverts from the specs it inherited.
 *
 * It waits in poll():
 *   - 'A' on the pipe: the holder applied everything; re-read the journal
 *     (the specs drivers learnt at apply, the real expiry times).
 *   - 'R' on the pipe: the holder reverted cleanly; exit.
 *   - the pidfd readable (holder died) or the pipe at EOF: re-read the
 *     journal and revert every row of this injection still PLANNED or
 *     APPLIED whose fault the kernel does not end by itself (a PLANNED row
 *     may be half-applied; driver reverts are idempotent and take "not
 *     there" as done), mark the rows REVERTED; the owner-flagged nft table
 *     went with the holder (checked, and marked).
 *   - a fault's max duration passed: re-read the journal, revert that fault.
 * It inherits the holder's network namespace, where the faults are.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_time.h"
#include "injector_int.h"

#define G_PIDFD 3
#define G_PIPE 4
#define G_ENV "FIREDRILL_GUARDIAN"

struct g_row {
	int64_t id;        /* journal row; 0 without a journal */
	const struct injector_driver *drv;
	const char *spec;  /* points into g_db.active (exec mode) or the holder's copy */
	int64_t deadline_real;
	bool done;
};

/*
 * The journal as the guardian sees it. It reads through a read-only
 * connection and opens a writing one only when it has something to mark:
 * opening for writing takes SQLite's write lock (schema check), and a
 * guardian doing that at every start would make the holder's first
 * journal writes after apply (a quick revert, the drill's events) wait.
 */
struct g_db {
	const char *path;
	struct store *ro, *rw;
	struct store_fault *active; /* the last read of the active rows: owns the specs */
	size_t n_active;
};

static void mark(struct g_db *db, const struct g_row *r, const char *detail)
{
	struct fd_error ignored = { 0 };

	if (!db || !r->id)
		return;
	if (!db->rw && store_open(db->path, &db->rw, &ignored) < 0)
		return; /* the row stays active: `firedrill revert` finds it gone */
	store_journal_set_state(db->rw, r->id, JOURNAL_REVERTED, 0, detail, &ignored);
}

static int64_t row_deadline(const struct store_fault *f)
{
	return f->expires_real_ns ? f->expires_real_ns : f->planned_real_ns + f->max_duration_ns;
}

/*
 * Re-reads the journal: a row no longer PLANNED/APPLIED is done (the holder
 * or `firedrill revert` did it); the others take the spec and expiry as
 * written now (a driver's apply records what its revert needs). Without a
 * journal, or when it cannot be read, the rows stay as they were.
 */
static void refresh(struct g_row *rows, size_t n, struct g_db *db)
{
	struct fd_error ignored = { 0 };
	struct store_fault *active = NULL;
	struct store *st = db ? (db->rw ? db->rw : db->ro) : NULL;
	size_t n_active = 0;

	if (!st || store_journal_list_active(st, &active, &n_active, &ignored) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct store_fault *f = NULL;

		for (size_t k = 0; k < n_active && !f; k++)
			if (active[k].id == rows[i].id)
				f = &active[k];
		if (!f) {
			rows[i].done = true;
			continue;
		}
		rows[i].spec = f->spec;
		rows[i].deadline_real = row_deadline(f);
	}
	store_faults_free(db->active, db->n_active);
	db->active = active;
	db->n_active = n_active;
}

static void revert_row(struct g_row *r, struct g_db *db, const char *why)
{
	struct fd_error e = { 0 };
	char detail[128];
	json_t *spec;

	spec = json_loads(r->spec ? r->spec : "{}", 0, NULL);
	if (spec && r->drv->revert(spec, &e) == 0) {
		snprintf(detail, sizeof(detail), "reverted by the guardian (%s)", why);
		mark(db, r, detail);
		r->done = true;
	}
	json_decref(spec);
}

/* The holder is gone and its owner table with it: make sure, and mark. */
static void nft_gone(struct g_row *rows, size_t n, struct g_db *db)
{
	struct fd_error e = { 0 };
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any |= !rows[i].done && rows[i].drv->kernel_expires;
	if (!any)
		return;
	if (inj_nft_table_exists(&e) > 0)
		inj_nft_table_delete(&e);
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].done && rows[i].drv->kernel_expires) {
			mark(db, &rows[i], "owner table removed by the kernel when the holder died");
			rows[i].done = true;
		}
	}
}

/* The terminal's Ctrl-C is the holder's business (the guardian has its own
 * session, this also covers a signal sent to the old process group). */
static void ignore_signals(void)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

static int64_t next_deadline(const struct g_row *rows, size_t n)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < n; i++)
		if (!rows[i].done && !rows[i].drv->kernel_expires && rows[i].deadline_real < next)
			next = rows[i].deadline_real;
	return next;
}

static bool deadline_passed(const struct g_row *rows, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++)
		if (!rows[i].done && !rows[i].drv->kernel_expires && now >= rows[i].deadline_real)
			return true;
	return false;
}

static void guardian_loop(struct g_row *rows, size_t n, struct g_db *db)
{
	bool holder_gone = false;

	while (!holder_gone) {
		struct pollfd p[2] = { { .fd = G_PIDFD, .events = POLLIN },
				       { .fd = G_PIPE, .events = POLLIN } };
		int64_t next = next_deadline(rows, n), now = fd_real_ns();
		int timeout = next == INT64_MAX ? -1 :
			      next <= now ? 0 : (int)((next - now) / FD_NS_PER_MS + 1);
		char c;

		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			return;
		if (p[1].revents & (POLLIN | POLLHUP)) {
			if (read(G_PIPE, &c, 1) != 1)
				holder_gone = true; /* EOF: the holder is gone */
			else if (c == 'A')
				refresh(rows, n, db);
			else
				return; /* clean revert by the holder */
		}
		if (p[0].revents & (POLLIN | POLLHUP))
			holder_gone = true;
		now = fd_real_ns();
		if (!holder_gone && !deadline_passed(rows, n, now))
			continue;
		refresh(rows, n, db);
		for (size_t i = 0; i < n; i++) {
			struct g_row *r = &rows[i];

			if (!r->done && !r->drv->kernel_expires && (holder_gone || now >= r->deadline_real))
				revert_row(r, db, holder_gone ? "holder died" : "max duration reached");
		}
	}
	nft_gone(rows, n, db);
}

/* Fork mode: keeps the pidfd and the pipe at 3 and 4, closes everything
 * else, leaves the terminal's session and signals. */
static void isolate(int pidfd, int pipe_rd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int a = fcntl(pidfd, F_DUPFD_CLOEXEC, 100), b = fcntl(pipe_rd, F_DUPFD_CLOEXEC, 101);
	sigset_t none;

	setsid();
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (a < 0 || b < 0 || dup2(a, G_PIDFD) < 0 || dup2(b, G_PIPE) < 0)
		_exit(1);
	fcntl(G_PIDFD, F_SETFD, FD_CLOEXEC);
	fcntl(G_PIPE, F_SETFD, FD_CLOEXEC);
	syscall(SYS_close_range, 5U, ~0U, 0U);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	ignore_signals();
}

/* Fork mode (no journal path): revert from the inherited specs. */
static void guardian_forked(struct injector *inj, int pidfd, int pipe_rd)
{
	struct g_row rows[INJ_MAX_FAULTS];
	size_t n = 0;
	int64_t now_real = fd_real_ns(), now_mono = fd_mono_ns();

	isolate(pidfd, pipe_rd);
	for (size_t i = 0; i < inj->n && n < INJ_MAX_FAULTS; i++) {
		struct inj_fault *x = &inj->faults[i];

		if (x->phase != INJ_APPLIED)
			continue;
		rows[n++] = (struct g_row){
			.drv = x->drv, .spec = x->spec,
			.deadline_real = now_real + (x->applied_mono + x->f->duration_ns - now_mono),
		};
	}
	guardian_loop(rows, n, NULL);
	_exit(0);
}

/* Exec mode: runs before main() when FIREDRILL_GUARDIAN is set. */
__attribute__((constructor)) static void guardian_exec_entry(void)
{
	const char *env = getenv(G_ENV);
	struct g_row rows[INJ_MAX_FAULTS];
	int64_t ids[INJ_MAX_FAULTS];
	struct g_db db = { 0 };
	struct fd_error e = { 0 };
	size_t n_ids = 0, n = 0;
	char *copy, *tok, *save = NULL, *path;

	if (!env)
		return;
	copy = strdup(env);
	unsetenv(G_ENV);
	ignore_signals();
	/* "ROW,ROW,...;DB_PATH" */
	path = copy ? strchr(copy, ';') : NULL;
	if (!path)
		_exit(1);
	*path++ = '\0';
	db.path = path;
	for (tok = strtok_r(copy, ",", &save); tok && n_ids < INJ_MAX_FAULTS;
	     tok = strtok_r(NULL, ",", &save))
		ids[n_ids++] = strtoll(tok, NULL, 10);
	if (store_open_readonly(path, &db.ro, &e) < 0 && store_open(path, &db.rw, &e) < 0)
		_exit(1);
	if (store_journal_list_active(db.ro ? db.ro : db.rw, &db.active, &db.n_active, &e) < 0)
		_exit(1);
	for (size_t i = 0; i < db.n_active; i++) {
		const struct store_fault *f = &db.active[i];
		const struct injector_driver *drv = injector_driver_by_name(f->kind);

		for (size_t k = 0; drv && k < n_ids && n < INJ_MAX_FAULTS; k++) {
			if (f->id != ids[k])
				continue;
			rows[n++] = (struct g_row){
				.id = f->id, .drv = drv, .spec = f->spec, .deadline_real = row_deadline(f),
			};
		}
	}
	guardian_loop(rows, n, &db);
	store_faults_free(db.active, db.n_active);
	store_close(db.ro);
	store_close(db.rw);
	free(copy);
	_exit(0);
}

/* "ROW,ROW,...;DB_PATH": the rows this guardian watches (caller frees). */
static char *guardian_env(const struct injector *inj)
{
	size_t cap = strlen(G_ENV) + inj->n * 21 + strlen(inj->opts.db_path) + 8, off;
	char *env = malloc(cap);

	if (!env)
		return NULL;
	off = (size_t)snprintf(env, cap, "%s=", G_ENV);
	for (size_t i = 0, k = 0; i < inj->n && k < INJ_MAX_FAULTS; i++)
		if (inj->faults[i].phase != INJ_IDLE)
			off += (size_t)snprintf(env + off, cap - off, "%s%" PRId64, k++ ? "," : "",
						inj->faults[i].row);
	snprintf(env + off, cap - off, ";%s", inj->opts.db_path);
	return env;
}

/* environ without any older G_ENV, plus extra. The caller frees the array,
 * not its strings. */
static char **environ_with(char *extra)
{
	size_t n = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], G_ENV "=", sizeof(G_ENV)) != 0)
			envp[k++] = environ[i];
	envp[k] = extra;
	return envp;
}

/*
 * Exec mode: posix_spawn (vfork + exec) rather than fork + exec. The holder
 * is blocked only until the exec, and never copies its page tables, which
 * on a loaded 2-core machine cost 2-15 ms of apply time. The pidfd and the
 * pipe land at fds 3 and 4, everything else is closed, and the guardian
 * gets its own session.
 */
static int guardian_spawn(struct injector *inj, int pidfd, int pipe_rd, pid_t *pid)
{
	char *argv[] = { (char *)"firedrill-guardian", NULL };
	char *env = guardian_env(inj), **envp = env ? environ_with(env) : NULL;
	int a = fcntl(pidfd, F_DUPFD_CLOEXEC, 10), b = fcntl(pipe_rd, F_DUPFD_CLOEXEC, 10);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	int rc = -ENOMEM;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (!envp || a < 0 || b < 0)
		goto out;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, 0, 1);
	posix_spawn_file_actions_adddup2(&fa, 0, 2);
	posix_spawn_file_actions_adddup2(&fa, a, G_PIDFD);
	posix_spawn_file_actions_adddup2(&fa, b, G_PIPE);
	posix_spawn_file_actions_addclosefrom_np(&fa, G_PIPE + 1);
	rc = -posix_spawn(pid, "/proc/self/exe", &fa, &attr, argv, envp);
out:
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	free(envp);
	free(env);
	return rc;
}

/* Fork mode: without a journal path there is nothing to re-read after an
 * exec, so the child keeps the specs it inherited. */
static int guardian_fork(struct injector *inj, int pidfd, int pipe_rd, pid_t *pid)
{
	fflush(NULL);
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0)
		guardian_forked(inj, pidfd, pipe_rd);
	return 0;
}

/* Reaps a guardian that stood down earlier, without waiting for it. */
static void guardian_reap(struct injector *inj)
{
	if (inj->guardian_pid > 0 && waitpid(inj->guardian_pid, NULL, WNOHANG) != 0)
		inj->guardian_pid = 0;
}

int inj_guardian_start(struct injector *inj, bool early, struct fd_error *err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	pid_t pid = 0;
	int p[2], rc;

	/* Early, before anything is applied, only the exec mode can guard: it
	 * re-reads what apply records. Without it the fork mode starts after
	 * apply, from the specs as applied. */
	if (early && !inj->opts.db_path)
		return 0;
	/* No pidfd_open (Linux < 5.3, valgrind 3.19): the pipe's EOF alone
	 * tells the guardian the holder died; an eventfd nobody writes to
	 * stands in for the pidfd. */
	if (pidfd < 0 && errno == ENOSYS)
		pidfd = eventfd(0, EFD_CLOEXEC);
	if (pidfd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "guardian: pidfd_open: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC) < 0) {
		int e = errno;

		close(pidfd);
		return fd_error_set(err, FD_ERR_ENV, -e, "guardian: pipe: %s", strerror(e));
	}
	guardian_reap(inj);
	if (inj->guardian_pid > 0) /* the last one is still going home: wait for it now */
		waitpid(inj->guardian_pid, NULL, 0);
	rc = inj->opts.db_path ? guardian_spawn(inj, pidfd, p[0], &pid) : -ENOEXEC;
	if (rc < 0 && !early) /* no journal, or no /proc/self/exe: guard from the inherited specs */
		rc = guardian_fork(inj, pidfd, p[0], &pid);
	close(pidfd);
	close(p[0]);
	if (rc < 0 && early) {
		close(p[1]);
		return 0; /* the fork mode takes over after apply */
	}
	if (rc < 0) {
		close(p[1]);
		return fd_error_set(err, FD_ERR_ENV, rc, "guardian: starting it: %s", strerror(-rc));
	}
	if (inj->guardian_fd >= 0)
		close(inj->guardian_fd);
	inj->guardian_fd = p[1];
	inj->guardian_pid = pid;
	return 0;
}

/* A guardian already gone (killed, or its exec failed) must cost an EPIPE,
 * not a SIGPIPE that kills the holder before it records the revert. SIGPIPE
 * from write() goes to this thread: block it here and consume the pending
 * one. */
static void send_byte(struct injector *inj, char c)
{
	sigset_t pipe_set, old;
	const struct timespec now = { 0 };

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (write(inj->guardian_fd, &c, 1) < 0 && errno == EPIPE)
		sigtimedwait(&pipe_set, NULL, &now);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int inj_guardian_applied(struct injector *inj, struct fd_error *err)
{
	if (inj->guardian_fd < 0) /* not started early: start it now */
		return inj_guardian_start(inj, false, err);
	send_byte(inj, 'A');
	return 0;
}

/*
 * The byte tells the guardian to go home; nothing is left for it to do, so
 * the holder does not wait: a guardian still starting up finds every row
 * already REVERTED and the byte waiting. It is reaped later (next start,
 * inj_guardian_wait() from injector_free()).
 */
void inj_guardian_release(struct injector *inj)
{
	if (inj->guardian_fd < 0)
		return;
	send_byte(inj, 'R');
	close(inj->guardian_fd);
	inj->guardian_fd = -1;
	guardian_reap(inj);
}

void inj_guardian_wait(struct injector *inj)
{
	if (inj->guardian_pid > 0)
		waitpid(inj->guardian_pid, NULL, 0);
	inj->guardian_pid = 0;
}

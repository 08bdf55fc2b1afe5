/*
 * The guardian: a small process in its own session that outlives the
 * holder if the holder dies.
 *
 * It keeps only two fds: a pidfd of the holder and the read end of a pipe.
 * It must not keep the holder's nft socket (the owner-flagged table would
 * then outlive the holder), nor any SQLite state: SQLite connections and
 * their lock bookkeeping do not survive fork() (a forked child opening the
 * same database can hang). So the guardian is a posix_spawn of
 * /proc/self/exe with FIREDRILL_GUARDIAN in the environment; a constructor
 * in this file catches that before main() of whichever program links the
 * injector (firedrill, tests, benchmarks), opens the journal read-only, and
 * never returns.
 *
 * It is spawned at prepare, on standby, so that its start (exec, dynamic
 * loading, SQLite) is paid before the drill's T0 and not inside apply; the
 * holder then tells it, one line per message on the pipe:
 *   "P<row>,<row>,..."  the rows just journaled PLANNED, before the first
 *                       fault is touched: watch them.
 *   "A"                 all applied: re-read them (the specs drivers learnt
 *                       at apply, the real expiry times).
 *   "R"                 reverted cleanly: forget them, back to standby.
 * When the holder dies (pidfd readable, or the pipe at EOF once every
 * message is read) it re-reads the journal and reverts every watched row
 * still PLANNED or APPLIED whose fault the kernel does not end by itself (a
 * PLANNED row may be half-applied; driver reverts are idempotent and take
 * "not there" as done), marks the rows REVERTED; the owner-flagged nft
 * table went with the holder (checked, and marked). At a fault's max
 * duration it re-reads the journal and reverts that fault. The pipe's EOF
 * is also the holder's injector_free(): with nothing watched, it exits.
 *
 * Without a db_path (no journal to read) the guardian is a plain fork,
 * started after apply, that reverts from the specs it inherited and goes
 * home at "R". It inherits the holder's network namespace, where the
 * scope's faults are; a row naming another namespace (a fault's own place)
 * is reverted inside that one (place.c), and one whose namespace is gone
 * took its fault along (a kind undone by pid is reverted from here).
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
#define G_MSG_MAX 2048 /* "P" + 64 rows of up to 20 digits: one atomic pipe write */

struct g_row {
	int64_t id;        /* journal row; 0 without a journal */
	const struct injector_driver *drv;
	char netns[64];    /* the row's namespace; "" = the guardian's own */
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

/* What the guardian watches, and the holder's messages not yet complete. */
struct g_watch {
	struct g_row rows[INJ_MAX_FAULTS];
	size_t n;
	struct g_db *db;            /* NULL in fork mode */
	char buf[2 * G_MSG_MAX];
	size_t len;
};

static void mark(struct g_db *db, const struct g_row *r, const char *detail)
{
	struct fd_error ignored = { 0 };

	if (!db || !r->id)
		return;
	if (!db->rw && store_open(db->path, &db->rw, &ignored) < 0)
		return; /* the row stays active: `firedrill revert` finds it gone */
	if (store_journal_set_state(db->rw, r->id, JOURNAL_REVERTED, 0, detail, &ignored) < 0)
		return; /* the same: the fault is gone, only its row lags */
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
	const char *note = NULL;
	char detail[160];
	json_t *spec;
	int home = -1, rc;

	rc = inj_place_enter_revert(r->netns, r->drv->name, &home, &note, &e);
	if (rc < 0)
		return; /* the row stays active: `firedrill revert` reports why */
	spec = rc == 0 ? json_loads(r->spec ? r->spec : "{}", 0, NULL) : NULL;
	if (rc == 1 || (spec && r->drv->revert(spec, &e) == 0)) {
		snprintf(detail, sizeof(detail), "reverted by the guardian (%s)%s%s", why,
			 note ? ": " : "", note ? note : "");
		mark(db, r, detail);
		r->done = true;
	}
	json_decref(spec);
	inj_place_leave(&home, &e);
}

/* The holder is gone and its owner tables with it: make sure, in each
 * row's namespace, and mark. */
static void nft_gone(struct g_row *rows, size_t n, struct g_db *db)
{
	for (size_t i = 0; i < n; i++) {
		struct fd_error e = { 0 };
		int home = -1;

		if (rows[i].done || !rows[i].drv->kernel_expires)
			continue;
		if (inj_place_enter(rows[i].netns, &home, &e) == 0 && inj_nft_table_exists(&e) > 0)
			inj_nft_table_delete(&e);
		inj_place_leave(&home, &e);
		mark(db, &rows[i], "owner table removed by the kernel when the holder died");
		rows[i].done = true;
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

/* "P<row>,<row>,...": watch these rows, as the journal holds them. */
static void watch_rows(struct g_watch *w, char *list)
{
	struct fd_error ignored = { 0 };
	struct store_fault *active = NULL;
	struct store *st = w->db ? (w->db->rw ? w->db->rw : w->db->ro) : NULL;
	size_t n_active = 0;
	char *tok, *save = NULL;

	w->n = 0;
	if (!st || store_journal_list_active(st, &active, &n_active, &ignored) < 0)
		return;
	for (tok = strtok_r(list, ",", &save); tok && w->n < INJ_MAX_FAULTS;
	     tok = strtok_r(NULL, ",", &save)) {
		int64_t id = strtoll(tok, NULL, 10);

		for (size_t i = 0; i < n_active; i++) {
			const struct injector_driver *drv = injector_driver_by_name(active[i].kind);

			if (active[i].id == id && drv) {
				w->rows[w->n] = (struct g_row){
					.id = id, .drv = drv, .spec = active[i].spec,
					.deadline_real = row_deadline(&active[i]),
				};
				snprintf(w->rows[w->n++].netns, sizeof(w->rows[0].netns), "%s",
					 active[i].netns);
			}
		}
	}
	store_faults_free(w->db->active, w->db->n_active);
	w->db->active = active;
	w->db->n_active = n_active;
}

enum g_read { G_MORE, G_EOF, G_HOME };

/* Reads and acts on every complete message waiting on the pipe (it is
 * non-blocking). G_EOF: the holder closed it; G_HOME: fork mode, "R". */
static enum g_read read_messages(struct g_watch *w)
{
	for (;;) {
		ssize_t got = read(G_PIPE, w->buf + w->len, sizeof(w->buf) - 1 - w->len);
		char *line, *nl;

		if (got == 0)
			return G_EOF;
		if (got < 0)
			return errno == EAGAIN || errno == EINTR ? G_MORE : G_EOF;
		w->len += (size_t)got;
		w->buf[w->len] = '\0';
		for (line = w->buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			if (line[0] == 'P')
				watch_rows(w, line + 1);
			else if (line[0] == 'A')
				refresh(w->rows, w->n, w->db);
			else if (line[0] == 'R' && !w->db)
				return G_HOME;
			else if (line[0] == 'R')
				w->n = 0;
		}
		w->len -= (size_t)(line - w->buf);
		memmove(w->buf, line, w->len);
		if (w->len == sizeof(w->buf) - 1)
			w->len = 0; /* no such message: drop it */
	}
}

static void guardian_loop(struct g_watch *w)
{
	bool holder_gone = false;

	fcntl(G_PIPE, F_SETFL, O_NONBLOCK);
	while (!holder_gone) {
		struct pollfd p[2] = { { .fd = G_PIDFD, .events = POLLIN },
				       { .fd = G_PIPE, .events = POLLIN } };
		int64_t next = next_deadline(w->rows, w->n), now = fd_real_ns();
		int timeout = next == INT64_MAX ? -1 :
			      next <= now ? 0 : (int)((next - now) / FD_NS_PER_MS + 1);
		enum g_read r;

		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			return;
		holder_gone = p[0].revents & (POLLIN | POLLHUP);
		/* Messages first, also when the holder is gone: a "P" written
		 * just before it died names the rows to revert. */
		r = read_messages(w);
		if (r == G_HOME)
			return;
		holder_gone |= r == G_EOF;
		now = fd_real_ns();
		if (!holder_gone && !deadline_passed(w->rows, w->n, now))
			continue;
		refresh(w->rows, w->n, w->db);
		for (size_t i = 0; i < w->n; i++) {
			struct g_row *row = &w->rows[i];

			if (!row->done && !row->drv->kernel_expires &&
			    (holder_gone || now >= row->deadline_real))
				revert_row(row, w->db, holder_gone ? "holder died" : "max duration reached");
		}
	}
	nft_gone(w->rows, w->n, w->db);
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
	static struct g_watch w;
	int64_t now_real = fd_real_ns(), now_mono = fd_mono_ns();

	isolate(pidfd, pipe_rd);
	for (size_t i = 0; i < inj->n && w.n < INJ_MAX_FAULTS; i++) {
		struct inj_fault *x = &inj->faults[i];

		if (x->phase != INJ_APPLIED)
			continue;
		w.rows[w.n] = (struct g_row){
			.drv = x->drv, .spec = x->spec,
			.deadline_real = now_real + (x->applied_mono + x->f->duration_ns - now_mono),
		};
		snprintf(w.rows[w.n++].netns, sizeof(w.rows[0].netns), "%s", x->netns);
	}
	guardian_loop(&w);
	_exit(0);
}

/* Exec mode: runs before main() when FIREDRILL_GUARDIAN is set to the
 * journal's path. */
__attribute__((constructor)) static void guardian_exec_entry(void)
{
	const char *env = getenv(G_ENV);
	static struct g_watch w;
	struct g_db db = { 0 };
	struct fd_error e = { 0 };
	char *path;

	if (!env)
		return;
	path = strdup(env);
	unsetenv(G_ENV);
	ignore_signals();
	if (!path)
		_exit(1);
	db.path = path;
	if (store_open_readonly(path, &db.ro, &e) < 0 && store_open(path, &db.rw, &e) < 0)
		_exit(1);
	w.db = &db;
	guardian_loop(&w);
	store_faults_free(db.active, db.n_active);
	store_close(db.ro);
	store_close(db.rw);
	free(path);
	_exit(0);
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
	char *env = NULL, **envp;
	int a = fcntl(pidfd, F_DUPFD_CLOEXEC, 10), b = fcntl(pipe_rd, F_DUPFD_CLOEXEC, 10);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	int rc = -ENOMEM;

	if (asprintf(&env, "%s=%s", G_ENV, inj->opts.db_path) < 0)
		env = NULL;
	envp = env ? environ_with(env) : NULL;
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

/* Lets go of the current guardian: closing the pipe sends it home when it
 * watches nothing (and is the EOF of a dead holder when it does); ours is
 * reaped when wait says so. */
static void guardian_drop(struct injector *inj, bool wait)
{
	bool ours = inj->guardian_holder == getpid();

	if (inj->guardian_fd >= 0)
		close(inj->guardian_fd);
	inj->guardian_fd = -1;
	if (ours && inj->guardian_pid > 0 && waitpid(inj->guardian_pid, NULL, wait ? 0 : WNOHANG) == 0)
		return; /* still running: reaped later */
	inj->guardian_pid = 0;
}

/* Starts a guardian of this process: the exec mode on standby, or the fork
 * mode watching the applied faults. */
static int guardian_start(struct injector *inj, bool fork_mode, struct fd_error *err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	pid_t pid = 0;
	int p[2], rc;

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
	guardian_drop(inj, !inj->guardian_watching);
	rc = fork_mode ? guardian_fork(inj, pidfd, p[0], &pid) : guardian_spawn(inj, pidfd, p[0], &pid);
	close(pidfd);
	close(p[0]);
	if (rc < 0) {
		close(p[1]);
		return fd_error_set(err, FD_ERR_ENV, rc, "guardian: starting it: %s", strerror(-rc));
	}
	inj->guardian_fd = p[1];
	inj->guardian_pid = pid;
	inj->guardian_forked = fork_mode;
	inj->guardian_holder = getpid();
	inj->guardian_watching = false;
	return 0;
}

/* A guardian already gone (killed, or its exec failed) must cost an EPIPE,
 * not a SIGPIPE that kills the holder before it records the revert. SIGPIPE
 * from write() goes to this thread: block it here and consume the pending
 * one. A message is one write of at most G_MSG_MAX < PIPE_BUF bytes: the
 * guardian never sees half of one. */
static void send_msg(struct injector *inj, const char *msg, size_t len)
{
	sigset_t pipe_set, old;
	const struct timespec now = { 0 };

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (write(inj->guardian_fd, msg, len) < 0 && errno == EPIPE)
		sigtimedwait(&pipe_set, NULL, &now);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static bool standby_ready(const struct injector *inj)
{
	return inj->guardian_fd >= 0 && !inj->guardian_forked && inj->guardian_holder == getpid();
}

void inj_guardian_standby(struct injector *inj)
{
	struct fd_error ignored = { 0 };

	if (inj->opts.no_guardian || !inj->opts.db_path || standby_ready(inj))
		return;
	guardian_start(inj, false, &ignored); /* else spawned again at apply */
}

int inj_guardian_watch(struct injector *inj, struct fd_error *err)
{
	char msg[G_MSG_MAX];
	size_t len = 1;

	if (inj->opts.no_guardian || !inj->opts.db_path)
		return 0;
	/* Without a standby (its spawn failed at prepare, or this is another
	 * process) spawn one now; failing that, the fork mode after apply. */
	if (!standby_ready(inj) && guardian_start(inj, false, err) < 0)
		return 0;
	msg[0] = 'P';
	for (size_t i = 0; i < inj->n && i < INJ_MAX_FAULTS; i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%" PRId64, i ? "," : "",
					inj->faults[i].row);
	msg[len++] = '\n';
	send_msg(inj, msg, len);
	inj->guardian_watching = true;
	return 0;
}

int inj_guardian_applied(struct injector *inj, struct fd_error *err)
{
	if (inj->opts.no_guardian)
		return 0;
	if (standby_ready(inj) && inj->guardian_watching) {
		send_msg(inj, "A\n", 2);
		return 0;
	}
	return guardian_start(inj, true, err); /* fork mode, from the specs as applied */
}

/*
 * Nothing is left for the guardian to do, so the holder does not wait: a
 * guardian still starting up finds every row already REVERTED. The exec
 * mode goes back to standby for the next apply (the drill's next
 * iteration); the fork mode goes home and is reaped later.
 */
void inj_guardian_release(struct injector *inj)
{
	if (inj->guardian_fd < 0 || inj->guardian_holder != getpid())
		return;
	send_msg(inj, "R\n", 2);
	inj->guardian_watching = false;
	if (inj->guardian_forked)
		guardian_drop(inj, false);
}

void inj_guardian_free(struct injector *inj)
{
	/* Watching: the EOF is a holder letting go of applied faults, which the
	 * guardian reverts; do not wait for that. Otherwise it exits at once. */
	guardian_drop(inj, !inj->guardian_watching);
}

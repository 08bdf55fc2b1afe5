/*
 * Where a running drill can be found by other firedrill processes: the run
 * directory, the per-scope lock that keeps two drills off one scope, and the
 * lap socket through which `firedrill lap` marks a manual step done.
 *
 * The lap socket is a SOCK_SEQPACKET unix socket bound to a path (not an
 * abstract name: abstract names live in a network namespace, and the drill
 * sits in the scenario's). One request per connection: the client sends its
 * note, the drill answers "OK text" or "NO text" and closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "drill.h"
#include "drill_internal.h"

#define LAP_MSG_MAX 512

struct lap_server {
	int listen_fd;
	int conn_fd; /* the request being answered, -1 when none */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * The run directory must be ours alone: another user who made it first (in
 * /tmp, say) could bind the lap socket or answer `firedrill lap` in our
 * place.
 */
static int make_dir(const char *path, struct fd_error *err)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return fd_error_set(err, FD_ERR_ENV, -errno, "cannot create run directory %s: %s", path,
				    strerror(errno));
	if (lstat(path, &st) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "run directory %s: %s", path,
				    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fd_error_set(err, FD_ERR_ENV, -ENOTDIR, "run directory %s is not a directory", path);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return fd_error_set(err, FD_ERR_ENV, -EPERM,
				    "run directory %s is not private (owner uid %u, mode %03o): "
				    "it must belong to uid %u and not be group/other-writable",
				    path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777),
				    (unsigned)geteuid());
	return 0;
}

int drill_run_dir(char *buf, size_t len, struct fd_error *err)
{
	const char *env = getenv("FIREDRILL_RUN_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0 || access("/run/firedrill", W_OK) == 0)
		n = snprintf(buf, len, "/run/firedrill");
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/firedrill", xdg);
	else
		n = snprintf(buf, len, "/tmp/firedrill-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return fd_error_set(err, FD_ERR_ENV, -ENAMETOOLONG, "run directory path too long");
	return make_dir(buf, err);
}

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

int drill_lap_socket_path(const char *db_path, char *buf, size_t len, struct fd_error *err)
{
	char dir[PATH_MAX], abs[PATH_MAX];
	int rc, n;

	if (!realpath(db_path, abs))
		return fd_error_set(err, FD_ERR_ENV, -errno, "store %s: %s", db_path, strerror(errno));
	rc = drill_run_dir(dir, sizeof(dir), err);
	if (rc < 0)
		return rc;
	n = snprintf(buf, len, "%s/lap-%016llx.sock", dir, (unsigned long long)fnv1a64(abs));
	if (n < 0 || (size_t)n >= len)
		return fd_error_set(err, FD_ERR_ENV, -ENAMETOOLONG,
				    "lap socket path too long (run directory %s)", dir);
	return 0;
}

/* ---- scope lock ---------------------------------------------------------- */

static int lock_path(const char *netns, char *buf, size_t len, struct fd_error *err)
{
	char dir[PATH_MAX];
	int rc = drill_run_dir(dir, sizeof(dir), err);

	if (rc < 0)
		return rc;
	snprintf(buf, len, "%s/scope-%s.lock", dir, netns && *netns ? netns : "host");
	return 0;
}

/* True when fd is still the file at path (the holder before us may have
 * unlinked it between our open and our flock). */
static bool still_linked(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

/* The message for a busy scope, from what its holder wrote into the lock:
 * "PID\n" (a drill) or "PID inject\n" (a live `firedrill inject`). */
static int busy_error(int fd, const char *scope, const char *path, struct fd_error *err)
{
	char text[64] = "", pid[32] = "?", kind[16] = "";
	ssize_t got = pread(fd, text, sizeof(text) - 1, 0);

	text[got > 0 ? got : 0] = '\0';
	if (sscanf(text, "%31s %15s", pid, kind) < 1)
		snprintf(pid, sizeof(pid), "?");
	if (strcmp(kind, "inject") == 0)
		return fd_error_set(err, FD_ERR_ENV, -EBUSY,
				    "scope \"%s\" is held by a live `firedrill inject` (pid %s, lock %s): "
				    "its faults are still applied; end it with `firedrill revert` "
				    "(or kill -TERM %s), then retry",
				    scope, pid, path, pid);
	return fd_error_set(err, FD_ERR_ENV, -EBUSY,
			    "another drill is running on scope \"%s\" (pid %s, lock %s); "
			    "wait for it to finish",
			    scope, pid, path);
}

int drill_scope_hold(const char *netns, const char *holder, int *fd_out, struct fd_error *err)
{
	char path[PATH_MAX + 64], pidbuf[64];
	const char *scope = netns && *netns ? netns : "host";
	int fd = -1, rc;

	*fd_out = -1;
	rc = lock_path(netns, path, sizeof(path), err);
	if (rc < 0)
		return rc;
	for (int attempt = 0; attempt < 10; attempt++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return fd_error_set(err, FD_ERR_ENV, -errno, "cannot open lock %s: %s", path,
					    strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			rc = -errno;
			if (rc == -EWOULDBLOCK)
				rc = busy_error(fd, scope, path, err);
			else
				rc = fd_error_set(err, FD_ERR_ENV, rc, "cannot lock %s: %s", path,
						  strerror(-rc));
			close(fd);
			return rc;
		}
		if (still_linked(fd, path))
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -EAGAIN, "cannot lock %s: it keeps being replaced", path);
	if (holder && *holder)
		snprintf(pidbuf, sizeof(pidbuf), "%ld %s\n", (long)getpid(), holder);
	else
		snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pidbuf, strlen(pidbuf), 0) < 0) {
		/* the pid is only a courtesy for the message above */
	}
	*fd_out = fd;
	return 0;
}

int drill_scope_lock(const char *netns, int *fd_out, struct fd_error *err)
{
	return drill_scope_hold(netns, NULL, fd_out, err);
}

void drill_scope_release(int fd, const char *netns)
{
	drill_scope_unlock(fd, netns);
}

void drill_scope_unlock(int fd, const char *netns)
{
	char path[PATH_MAX + 64];

	if (fd < 0)
		return;
	/* Unlinked while still held, so no file is left behind; a process
	 * that opened it meanwhile notices (still_linked) and retries. */
	if (lock_path(netns, path, sizeof(path), NULL) == 0 && still_linked(fd, path))
		unlink(path);
	close(fd); /* releases the flock */
}

/* ---- lap socket: server (the drill) -------------------------------------- */

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* True when a live drill answers on path (a stale file refuses). */
static bool socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

int lap_server_open(const char *db_path, struct lap_server **out, struct fd_error *err)
{
	struct lap_server *ls = NULL;
	struct sockaddr_un sa;
	int rc;

	*out = NULL;
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	ls->listen_fd = -1;
	ls->conn_fd = -1;
	rc = drill_lap_socket_path(db_path, ls->path, sizeof(ls->path), err);
	if (rc < 0)
		goto fail;
	rc = fill_addr(&sa, ls->path);
	if (rc < 0) {
		fd_error_set(err, FD_ERR_ENV, rc, "lap socket path too long: %s", ls->path);
		goto fail;
	}
	if (socket_alive(&sa)) {
		rc = fd_error_set(err, FD_ERR_ENV, -EBUSY,
				  "another drill on this store already listens for laps on %s", ls->path);
		ls->path[0] = '\0'; /* not ours: never unlink it */
		goto fail;
	}
	unlink(ls->path); /* a stale socket of a drill that died */
	ls->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls->listen_fd < 0 || bind(ls->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls->listen_fd, 8) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "lap socket %s: %s", ls->path,
				  strerror(errno));
		goto fail;
	}
	*out = ls;
	return 0;
fail:
	lap_server_close(ls);
	return rc;
}

static const char *const act_names[DRILL_ACT_COUNT] = {
	"done", "failed", "skipped", "note", "lap", "finding", "abort",
};

const char *drill_act_name(enum drill_act_kind k)
{
	return (unsigned)k < DRILL_ACT_COUNT ? act_names[k] : "?";
}

int drill_act_parse(const char *name, enum drill_act_kind *k)
{
	for (size_t i = 0; i < DRILL_ACT_COUNT; i++)
		if (strcmp(name, act_names[i]) == 0) {
			*k = (enum drill_act_kind)i;
			return 0;
		}
	return -EINVAL;
}

/*
 * A request is "[by WHO\n][!KIND\n]TEXT": who sent it, what it says
 * (done when no "!KIND" line: `firedrill lap NOTE` as it always was) and
 * its text.
 */
int lap_server_next(struct lap_server *ls, struct drill_act *act)
{
	struct pollfd pfd;
	char msg[LAP_MSG_MAX], *body, *nl;
	ssize_t n;
	int fd;

	for (;;) {
		fd = accept4(ls->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return 0;
		/* The client sends right after connecting; allow it a moment. */
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		n = -1;
		if (poll(&pfd, 1, 200) == 1)
			n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
		if (n <= 0) {
			close(fd); /* a liveness check, or a client that gave up */
			continue;
		}
		msg[n] = '\0';
		memset(act, 0, sizeof(*act));
		act->kind = DRILL_ACT_DONE;
		act->step = -1;
		body = msg;
		if (strncmp(body, "by ", 3) == 0 && (nl = strchr(body, '\n'))) {
			snprintf(act->who, sizeof(act->who), "%.*s", (int)(nl - body - 3), body + 3);
			body = nl + 1;
		}
		if (body[0] == '!' && (nl = strchr(body, '\n'))) {
			*nl = '\0';
			if (drill_act_parse(body + 1, &act->kind) < 0 || act->kind > DRILL_ACT_NOTE)
				act->kind = DRILL_ACT_COUNT; /* refused by the drill */
			body = nl + 1;
		}
		body[strcspn(body, "\n")] = '\0';
		snprintf(act->text, sizeof(act->text), "%s", body);
		ls->conn_fd = fd;
		return 1;
	}
}

int lap_server_poll(struct lap_server *ls, char *who, size_t who_len, char *note, size_t note_len)
{
	struct drill_act act;
	int rc = lap_server_next(ls, &act);

	if (rc == 1) {
		snprintf(who, who_len, "%s", act.who);
		snprintf(note, note_len, "%s", act.text);
	}
	return rc;
}

void lap_server_reply(struct lap_server *ls, bool done, const char *text)
{
	char msg[LAP_MSG_MAX];
	int n;

	if (ls->conn_fd < 0)
		return;
	n = snprintf(msg, sizeof(msg), "%s %s", done ? "OK" : "NO", text);
	if (n > 0 && send(ls->conn_fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
		/* the client went away: nothing to tell */
	}
	close(ls->conn_fd);
	ls->conn_fd = -1;
}

void lap_server_close(struct lap_server *ls)
{
	if (!ls)
		return;
	if (ls->conn_fd >= 0)
		close(ls->conn_fd);
	if (ls->listen_fd >= 0) {
		close(ls->listen_fd);
		if (ls->path[0])
			unlink(ls->path);
	}
	free(ls);
}

/* ---- lap socket: client (`firedrill lap`) -------------------------------- */

int drill_lap_send(const char *db_path, const char *who, const char *note, char *reply,
		   size_t reply_len, struct fd_error *err)
{
	return drill_lap_send_as(db_path, who, NULL, note, reply, reply_len, err);
}

int drill_lap_send_as(const char *db_path, const char *who, const char *what, const char *note,
		      char *reply, size_t reply_len, struct fd_error *err)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], msg[LAP_MSG_MAX];
	struct sockaddr_un sa;
	struct pollfd pfd;
	ssize_t n;
	int fd = -1, rc;

	if (reply_len)
		reply[0] = '\0';
	if (access(db_path, F_OK) < 0)
		return fd_error_set(err, FD_ERR_ENV, -ENOENT, "no drill is running on %s (no such store)",
				    db_path);
	rc = drill_lap_socket_path(db_path, path, sizeof(path), err);
	if (rc < 0)
		return rc;
	if (fill_addr(&sa, path) < 0)
		return fd_error_set(err, FD_ERR_ENV, -ENAMETOOLONG, "lap socket path too long: %s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -ENOENT,
				  "no drill is waiting for laps on %s (%s: %s)", db_path, path,
				  strerror(errno));
		goto out;
	}
	/* "by WHO\n!WHAT\nNOTE": the drill records it under who's role */
	if (what && strcmp(what, "done") == 0)
		what = NULL;
	snprintf(msg, sizeof(msg), "%s%s%s%s%s%s", who && *who && !strchr(who, '\n') ? "by " : "",
		 who && *who && !strchr(who, '\n') ? who : "",
		 who && *who && !strchr(who, '\n') ? "\n" : "", what ? "!" : "", what ? what : "",
		 what ? "\n" : "");
	snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s", note ? note : "");
	/* A zero-length message reads as EOF on the other side, so an empty
	 * note travels as a newline (the drill strips it). */
	if (send(fd, *msg ? msg : "\n", *msg ? strlen(msg) : 1, MSG_NOSIGNAL) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "lap socket %s: %s", path, strerror(errno));
		goto out;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	/* The drill answers within one watch slice; 5 s covers a busy host. */
	if (poll(&pfd, 1, 5000) != 1 || (n = recv(fd, msg, sizeof(msg) - 1, 0)) <= 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -ETIMEDOUT, "the drill did not answer on %s", path);
		goto out;
	}
	msg[n] = '\0';
	snprintf(reply, reply_len, "%s", n > 3 ? msg + 3 : "");
	if (strncmp(msg, "OK", 2) == 0) {
		rc = 0;
	} else {
		rc = fd_error_set(err, FD_ERR_INPUT, -EAGAIN, "%s", n > 3 ? msg + 3 : "refused");
	}
out:
	close(fd);
	return rc;
}

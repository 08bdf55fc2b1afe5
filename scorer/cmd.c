/*
 * command probes and actions: /bin/sh -c RUN as a child in its own process
 * group, stdout on a non-blocking pipe (bounded), exit watched through a
 * pidfd, so nothing here depends on SIGCHLD. A timeout kills the whole
 * process group (the shell and whatever it started).
 */
#include "scorer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_time.h"

extern char **environ;

struct cmd_job;

struct cmd_watch {
	struct watch_ev ev;
	struct cmd_job *job;
};

struct cmd_job {
	struct cmd_watch out;   /* stdout pipe */
	struct cmd_watch pid;   /* pidfd */
	struct tnode timer;
	const struct scenario_command *c;
	pid_t child;
	int64_t sent_ns;
	int64_t timeout_ns;
	bool timed_out;
	bool exited;
	int status;
	char *buf;
	size_t len;
	bool keep;
	job_done_fn done;
	void *cookie;
};

static void watch_close(struct scorer *sc, struct cmd_watch *w)
{
	if (w->ev.fd < 0)
		return;
	if (sc)
		loop_del(sc, &w->ev);
	close(w->ev.fd);
	w->ev.fd = -1;
}

static void cmd_free(struct scorer *sc, struct cmd_job *j)
{
	if (j->child > 0 && !j->exited) {
		/* Released with the scorer: do not leave the group running. */
		kill(-j->child, SIGKILL);
		waitpid(j->child, NULL, 0);
	}
	watch_close(sc, &j->out);
	watch_close(sc, &j->pid);
	j->out.ev.dead = j->pid.ev.dead = true;
	free(j->buf);
	j->buf = NULL;
	loop_defer_free(sc, j);
}

/* Reads what is there; true at end of file. */
static bool drain(struct cmd_job *j)
{
	char tmp[4096];
	ssize_t n;
	size_t take;

	while (j->out.ev.fd >= 0) {
		n = read(j->out.ev.fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0;
		take = (size_t)n;
		/* Beyond the bound the output is read and dropped: the child never blocks. */
		if (j->len + take > SCORER_STDOUT_MAX)
			take = SCORER_STDOUT_MAX - j->len;
		memcpy(j->buf + j->len, tmp, take);
		j->len += take;
		j->buf[j->len] = '\0';
	}
	return false;
}

static void cmd_finish(struct scorer *sc, struct cmd_job *j)
{
	struct job_result r = { .sent_ns = j->sent_ns };
	const struct regex_entry *re = scorer_regex(sc, j->c->stdout_match);
	char d[32];

	r.done_ns = fd_mono_ns();
	drain(j);
	if (j->timed_out) {
		snprintf(r.detail, sizeof(r.detail), "timeout after %s (process group killed)",
			 fd_duration_format(j->timeout_ns, d, sizeof(d)));
	} else if (WIFSIGNALED(j->status)) {
		r.answered = true;
		snprintf(r.detail, sizeof(r.detail), "killed by signal %d", WTERMSIG(j->status));
	} else if (WEXITSTATUS(j->status) != 0) {
		r.answered = true;
		snprintf(r.detail, sizeof(r.detail), "exit %d", WEXITSTATUS(j->status));
	} else if (re && !regex_match(re, j->buf, j->len, NULL, NULL)) {
		r.answered = true;
		snprintf(r.detail, sizeof(r.detail), "stdout mismatch (%zu bytes)", j->len);
	} else {
		r.answered = true;
		r.ok = true;
		snprintf(r.detail, sizeof(r.detail), "exit 0");
	}
	if (j->keep) {
		r.out = j->buf;
		r.out_len = j->len;
	}
	timer_disarm(sc, &j->timer);
	j->done(sc, j->cookie, &r);
	cmd_free(sc, j);
}

static void on_out(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct cmd_job *j = ((struct cmd_watch *)ev)->job;

	(void)events;
	if (drain(j))
		watch_close(sc, &j->out);
}

static void on_exit_ev(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct cmd_job *j = ((struct cmd_watch *)ev)->job;
	pid_t r;

	(void)events;
	r = waitpid(j->child, &j->status, WNOHANG);
	if (r == 0)
		return;
	j->exited = true;
	if (r < 0)
		j->status = 0; /* someone else reaped it (SIGCHLD ignored) */
	cmd_finish(sc, j);
}

static void cmd_timeout(struct scorer *sc, struct tnode *t)
{
	struct cmd_job *j = (struct cmd_job *)((char *)t - offsetof(struct cmd_job, timer));

	if (!sc) {
		cmd_free(NULL, j);
		return;
	}
	j->timed_out = true;
	kill(-j->child, SIGKILL);
	/* The pidfd reports the exit; the result is built there. */
}

static int spawn(struct cmd_job *j, const char *cmd, int out_w)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int rc;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	rc = posix_spawn(&j->child, "/bin/sh", &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

int cmd_job_start(struct scorer *sc, const struct scenario_command *c, int64_t timeout_ns,
		  const struct tmpl *t, bool keep_out, job_done_fn done, void *cookie,
		  int64_t *sent_ns)
{
	struct cmd_job *j = calloc(1, sizeof(*j));
	char *cmd = NULL;
	int p[2] = { -1, -1 };
	int rc;

	*sent_ns = fd_mono_ns();
	if (!j)
		return -ENOMEM;
	j->out.ev.fd = j->pid.ev.fd = -1;
	j->out.job = j->pid.job = j;
	j->out.ev.fn = on_out;
	j->pid.ev.fn = on_exit_ev;
	j->timer.fn = cmd_timeout;
	j->c = c;
	j->timeout_ns = timeout_ns;
	j->keep = keep_out;
	j->done = done;
	j->cookie = cookie;
	j->buf = malloc(SCORER_STDOUT_MAX + 1);
	cmd = t ? tmpl_expand(c->run, t->seq, t->ts_ms) : strdup(c->run);
	if (!j->buf || !cmd) {
		rc = -ENOMEM;
		goto fail;
	}
	j->buf[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	j->sent_ns = fd_mono_ns();
	*sent_ns = j->sent_ns;
	rc = spawn(j, cmd, p[1]);
	close(p[1]);
	p[1] = -1;
	if (rc < 0)
		goto fail;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	j->out.ev.fd = p[0];
	p[0] = -1;
	j->pid.ev.fd = (int)syscall(SYS_pidfd_open, j->child, 0);
	if (j->pid.ev.fd < 0) {
		rc = -errno;
		goto fail;
	}
	loop_add(sc, &j->out.ev, EPOLLIN);
	loop_add(sc, &j->pid.ev, EPOLLIN);
	timer_arm(sc, &j->timer, j->sent_ns + timeout_ns);
	free(cmd);
	return 0;
fail:
	if (p[0] >= 0)
		close(p[0]);
	free(cmd);
	cmd_free(sc, j);
	return rc;
}

/*
 * command probes and actions: /bin/sh -c RUN as a child in its own process
 * group, stdout and stderr on non-blocking pipes (bounded), exit watched
 * through a pidfd, so nothing here depends on SIGCHLD. A timeout kills the
 * whole process group (the shell and whatever it started).
 *
 * A failure says why: its detail is the exit status and the first line of
 * stderr ("exit 1: psql: error: connection refused"). An exit status listed
 * in the command's no-answer-exit, or death by signal, is no answer at all
 * (like an HTTP request that could not connect), not a "no".
 *
 * A command with a place of its own runs there: the child enters the
 * namespace after fork, before exec (fd_priv_spawn_sh), which posix_spawn
 * could not do.
 */
#include "scorer_int.h"

#include <ctype.h>
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

#include "fd_priv.h"
#include "fd_time.h"

extern char **environ;

/* How much of stderr is kept for the detail: its first line, at most this. */
#define CMD_STDERR_KEEP 200

struct cmd_job;

struct cmd_watch {
	struct watch_ev ev;
	struct cmd_job *job;
};

struct cmd_job {
	struct cmd_watch out;   /* stdout pipe */
	struct cmd_watch err;   /* stderr pipe */
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
	char errbuf[CMD_STDERR_KEEP + 1]; /* the start of stderr */
	size_t errlen;
	bool keep;
	job_done_fn done;
	void *cookie;
};

static void watch_close(struct scorer *sc, struct cmd_watch *w)
{
	if (w->ev.fd < 0)
		return;
	if (sc)
		scorer_loop_del(sc, &w->ev);
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
	watch_close(sc, &j->err);
	watch_close(sc, &j->pid);
	j->out.ev.dead = j->err.ev.dead = j->pid.ev.dead = true;
	free(j->buf);
	j->buf = NULL;
	scorer_loop_defer_free(sc, j);
}

/* Reads what is there of fd into buf (cap bytes kept, NUL-terminated); true at end of file. */
static bool drain(int fd, char *buf, size_t *len, size_t cap)
{
	char tmp[4096];
	ssize_t n;
	size_t take;

	while (fd >= 0) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0;
		take = (size_t)n;
		/* Beyond the bound the output is read and dropped: the child never blocks. */
		if (*len + take > cap)
			take = cap - *len;
		memcpy(buf + *len, tmp, take);
		*len += take;
		buf[*len] = '\0';
	}
	return false;
}

static bool drain_out(struct cmd_job *j)
{
	return drain(j->out.ev.fd, j->buf, &j->len, SCORER_STDOUT_MAX);
}

static bool drain_err(struct cmd_job *j)
{
	return drain(j->err.ev.fd, j->errbuf, &j->errlen, CMD_STDERR_KEEP);
}

/* ": FIRST LINE OF STDERR" (control bytes shown as '?'), or "" when stderr was empty. */
static void stderr_line(struct cmd_job *j, char *out, size_t len)
{
	size_t n = strcspn(j->errbuf, "\r\n"), i;

	while (n > 0 && isspace((unsigned char)j->errbuf[n - 1]))
		n--;
	if (n == 0 || len < 3) {
		*out = '\0';
		return;
	}
	for (i = 0; i < n; i++)
		if (iscntrl((unsigned char)j->errbuf[i]))
			j->errbuf[i] = '?';
	snprintf(out, len, ": %.*s", (int)n, j->errbuf);
}

/* The exit status is one of c's no-answer-exit statuses. */
static bool exit_no_answer(const struct scenario_command *c, int status)
{
	/* A model built without the loader (tests) gets the loader's default. */
	if (!c->no_answer_exit)
		return status >= 124 && status <= 127;
	for (size_t i = 0; i < c->n_no_answer_exit; i++)
		if (c->no_answer_exit[i] == status)
			return true;
	return false;
}

static void cmd_finish(struct scorer *sc, struct cmd_job *j)
{
	struct job_result r = { .sent_ns = j->sent_ns };
	const struct regex_entry *re = scorer_regex(sc, j->c->stdout_match);
	char d[32], why[CMD_STDERR_KEEP + 3];

	r.done_ns = fd_mono_ns();
	drain_out(j);
	drain_err(j);
	stderr_line(j, why, sizeof(why));
	if (j->timed_out) {
		snprintf(r.detail, sizeof(r.detail), "timeout after %s (process group killed)",
			 fd_duration_format(j->timeout_ns, d, sizeof(d)));
	} else if (WIFSIGNALED(j->status)) {
		snprintf(r.detail, sizeof(r.detail), "no answer: killed by signal %d%s",
			 WTERMSIG(j->status), why);
	} else if (exit_no_answer(j->c, WEXITSTATUS(j->status))) {
		snprintf(r.detail, sizeof(r.detail), "no answer: exit %d%s", WEXITSTATUS(j->status),
			 why);
	} else if (WEXITSTATUS(j->status) != 0) {
		r.answered = true;
		snprintf(r.detail, sizeof(r.detail), "exit %d%s", WEXITSTATUS(j->status), why);
	} else if (re && !scorer_regex_match(re, j->buf, j->len, NULL, NULL)) {
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
	scorer_timer_disarm(sc, &j->timer);
	j->done(sc, j->cookie, &r);
	cmd_free(sc, j);
}

static void on_out(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct cmd_job *j = ((struct cmd_watch *)ev)->job;

	(void)events;
	if (drain_out(j))
		watch_close(sc, &j->out);
}

static void on_err(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct cmd_job *j = ((struct cmd_watch *)ev)->job;

	(void)events;
	if (drain_err(j))
		watch_close(sc, &j->err);
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
	/* The pidfd reports the exit; the result is built there. Until then the
	 * timer stays armed, so that a scorer freed first still finds (and
	 * frees) the job: a fired timer is on no list. */
	scorer_timer_arm(sc, &j->timer, fd_mono_ns() + FD_NS_PER_S);
}

/* No capabilities in the probe: fd_priv_spawn_sh() (docs/drill.md). */
static int spawn(struct cmd_job *j, const struct scorer_place *pl, const char *cmd, int out_w,
		 int err_w)
{
	const struct fd_priv_spawn o = {
		.out_fd = out_w, .err_fd = err_w, .netns_fd = pl ? pl->fd : -1,
	};

	return fd_priv_spawn_sh(&j->child, cmd, &o);
}

int scorer_cmd_job_start(struct scorer *sc, const struct scorer_place *pl,
		  const struct scenario_command *c, int64_t timeout_ns, const struct tmpl *t,
		  bool keep_out, job_done_fn done, void *cookie, int64_t *sent_ns)
{
	struct cmd_job *j;
	char *cmd = NULL;
	int p[2] = { -1, -1 }, e[2] = { -1, -1 };
	int rc;

	*sent_ns = fd_mono_ns();
	if (scorer_place_refused(sc, pl, done, cookie, sent_ns))
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->out.ev.fd = j->err.ev.fd = j->pid.ev.fd = -1;
	j->out.job = j->err.job = j->pid.job = j;
	j->out.ev.fn = on_out;
	j->err.ev.fn = on_err;
	j->pid.ev.fn = on_exit_ev;
	j->timer.fn = cmd_timeout;
	j->c = c;
	j->timeout_ns = timeout_ns;
	j->keep = keep_out;
	j->done = done;
	j->cookie = cookie;
	j->buf = malloc(SCORER_STDOUT_MAX + 1);
	cmd = t ? scorer_tmpl_apply(c->run, t) : strdup(c->run);
	if (!j->buf || !cmd) {
		rc = -ENOMEM;
		goto fail;
	}
	j->buf[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	j->sent_ns = fd_mono_ns();
	*sent_ns = j->sent_ns;
	rc = spawn(j, pl, cmd, p[1], e[1]);
	close(p[1]);
	close(e[1]);
	p[1] = e[1] = -1;
	if (rc < 0)
		goto fail;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(e[0], F_SETFL, O_NONBLOCK);
	j->out.ev.fd = p[0];
	j->err.ev.fd = e[0];
	p[0] = e[0] = -1;
	j->pid.ev.fd = (int)syscall(SYS_pidfd_open, j->child, 0);
	if (j->pid.ev.fd < 0) {
		rc = -errno;
		goto fail;
	}
	scorer_loop_add(sc, &j->out.ev, EPOLLIN);
	scorer_loop_add(sc, &j->err.ev, EPOLLIN);
	scorer_loop_add(sc, &j->pid.ev, EPOLLIN);
	scorer_timer_arm(sc, &j->timer, j->sent_ns + timeout_ns);
	free(cmd);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (p[i] >= 0)
			close(p[i]);
		if (e[i] >= 0)
			close(e[i]);
	}
	free(cmd);
	cmd_free(sc, j);
	return rc;
}

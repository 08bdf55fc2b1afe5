/*
 * The runbook: steps run in order, one at a time, while the drill watches.
 * An automated step is `/bin/sh -c RUN` in its own process group (so a
 * timeout kills the whole pipeline, and a Ctrl-C meant for firedrill does
 * not hit it first); its lap is exit 0 within the timeout. A manual step
 * waits for someone to say how it went (step_runner_mark: done, failed or
 * skipped, with a reason). Laps are on CLOCK_MONOTONIC. Nothing here
 * blocks: the drill calls step_runner_tick() every slice.
 *
 * A failed step (automated, or manual marked failed; a timeout is a
 * failure) stops the steps after it unless it says `on-failure: continue`:
 * a "confirm the primary is down" gate must hold back "promote". The steps
 * it held back end as not run, never started (no lap in the store). A
 * skipped step does not stop the runbook: someone chose to skip it.
 *
 * A step with a place of its own runs in that network namespace: the
 * child enters it after fork, before exec (fd_priv_spawn_sh), keeping
 * root's capabilities as every step does. A namespace file that cannot be
 * opened fails the step with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill_internal.h"
#include "fd_netns.h"
#include "fd_priv.h"
#include "fd_time.h"

#define OUTPUT_TAIL 200

struct step_runner {
	const struct scenario_step *steps;
	size_t n;
	int64_t default_timeout_ns;
	size_t cur;          /* index of the step in progress; n when all ended */
	bool started;
	pid_t pid;           /* automated step running, 0 when none */
	int out_fd;          /* its stdout+stderr, non-blocking */
	char tail[OUTPUT_TAIL + 1]; /* last bytes of its output, for the lap detail */
	struct store_lap *laps;
	bool *began;
	enum step_state *state;
	bool stop_on_failure; /* default true; the failback runs every step */
	long stopped_at;      /* the failed step that stopped the runbook, -1 */
	char spawn_error[256];
	char **netns;         /* each step's namespace (NULL: here), owned */
};

struct step_runner *step_runner_new(const struct scenario_step *steps, size_t n,
				    int64_t default_timeout_ns, const char *const *netns)
{
	struct step_runner *sr = calloc(1, sizeof(*sr));
	bool nomem = false;

	if (!sr)
		return NULL;
	sr->out_fd = -1;
	sr->laps = calloc(n ? n : 1, sizeof(*sr->laps));
	sr->began = calloc(n ? n : 1, sizeof(*sr->began));
	sr->state = calloc(n ? n : 1, sizeof(*sr->state));
	sr->netns = calloc(n ? n : 1, sizeof(*sr->netns));
	for (size_t i = 0; netns && sr->netns && i < n; i++) {
		sr->netns[i] = netns[i] ? strdup(netns[i]) : NULL;
		nomem = nomem || (netns[i] && !sr->netns[i]);
	}
	if (!sr->laps || !sr->began || !sr->state || !sr->netns || nomem) {
		sr->n = n;
		step_runner_free(sr);
		return NULL;
	}
	sr->stop_on_failure = true;
	sr->stopped_at = -1;
	sr->steps = steps;
	sr->n = n;
	sr->default_timeout_ns = default_timeout_ns;
	sr->out_fd = -1;
	for (size_t i = 0; i < n; i++) {
		drill_textf(sr->laps[i].name, sizeof(sr->laps[i].name), "%s", steps[i].name);
		sr->laps[i].step = (int)i;
		sr->laps[i].manual = steps[i].manual;
	}
	return sr;
}

static void kill_running(struct step_runner *sr)
{
	if (sr->pid > 0) {
		kill(-sr->pid, SIGKILL);
		while (waitpid(sr->pid, NULL, 0) < 0 && errno == EINTR)
			;
		sr->pid = 0;
	}
	if (sr->out_fd >= 0) {
		close(sr->out_fd);
		sr->out_fd = -1;
	}
}

void step_runner_free(struct step_runner *sr)
{
	if (!sr)
		return;
	kill_running(sr);
	for (size_t i = 0; sr->netns && i < sr->n; i++)
		free(sr->netns[i]);
	free(sr->netns);
	free(sr->laps);
	free(sr->began);
	free(sr->state);
	free(sr);
}

static int spawn_step(struct step_runner *sr, const char *cmd, const char *netns,
		      struct fd_error *err)
{
	int pipefd[2] = { -1, -1 }, rc;
	struct fd_priv_spawn o = { .keep_caps = true };

	o.netns_fd = netns ? fd_netns_open(netns, err) : -1;
	if (netns && o.netns_fd < 0)
		return o.netns_fd;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "pipe: %s", strerror(errno));
		goto out;
	}
	o.out_fd = o.err_fd = pipefd[1];
	rc = fd_priv_spawn_sh(&sr->pid, cmd, &o);
	close(pipefd[1]);
	if (rc < 0) {
		close(pipefd[0]);
		sr->pid = 0;
		rc = fd_error_set(err, FD_ERR_ENV, rc, "runbook step: cannot run /bin/sh: %s",
				  strerror(-rc));
		goto out;
	}
	sr->out_fd = pipefd[0];
	sr->tail[0] = '\0';
out:
	if (o.netns_fd >= 0)
		close(o.netns_fd);
	return rc;
}

/* Keeps the last OUTPUT_TAIL bytes of the step's output. */
static void drain_output(struct step_runner *sr)
{
	char buf[1024];
	ssize_t n;
	size_t have, keep;

	while (sr->out_fd >= 0 && (n = read(sr->out_fd, buf, sizeof(buf))) > 0) {
		have = strlen(sr->tail);
		if ((size_t)n >= OUTPUT_TAIL) {
			memcpy(sr->tail, buf + n - OUTPUT_TAIL, OUTPUT_TAIL);
			sr->tail[OUTPUT_TAIL] = '\0';
			continue;
		}
		keep = have + (size_t)n > OUTPUT_TAIL ? OUTPUT_TAIL - (size_t)n : have;
		memmove(sr->tail, sr->tail + have - keep, keep);
		memcpy(sr->tail + keep, buf, (size_t)n);
		sr->tail[keep + (size_t)n] = '\0';
	}
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/* Ends step sr->cur as st (DONE, FAILED or SKIPPED); a failure may stop
 * the steps after it. */
static void end_lap(struct step_runner *sr, int64_t now, enum step_state st, const char *detail)
{
	struct store_lap *l = &sr->laps[sr->cur];
	size_t ended = sr->cur;

	l->ended_mono_ns = now;
	l->duration_ms = (double)(now - l->started_mono_ns) / (double)FD_NS_PER_MS;
	l->ok = st == STEP_DONE;
	sr->state[ended] = st;
	drill_textf(l->detail, sizeof(l->detail), "%s", detail);
	sr->cur++;
	if (st != STEP_FAILED || !sr->stop_on_failure || sr->steps[ended].on_failure_continue ||
	    sr->cur >= sr->n)
		return;
	sr->stopped_at = (long)ended;
	for (size_t i = sr->cur; i < sr->n; i++) {
		sr->state[i] = STEP_NOT_RUN;
		drill_textf(sr->laps[i].detail, sizeof(sr->laps[i].detail),
			    "not run: step %zu \"%s\" failed", ended + 1, sr->steps[ended].name);
	}
	sr->cur = sr->n;
}

/* Starts step sr->cur (if any) at now. An automated step that cannot even
 * be spawned is ended, not ok, by the next tick (spawn_error). */
static void begin_step(struct step_runner *sr, int64_t now)
{
	const struct scenario_step *st;
	struct fd_error e;

	if (sr->cur >= sr->n)
		return;
	st = &sr->steps[sr->cur];
	sr->began[sr->cur] = true;
	sr->state[sr->cur] = STEP_RUNNING;
	sr->laps[sr->cur].started_mono_ns = now;
	sr->spawn_error[0] = '\0';
	if (st->manual || !st->run)
		return;
	fd_error_clear(&e);
	if (spawn_step(sr, st->run, sr->netns[sr->cur], &e) < 0)
		drill_textf(sr->spawn_error, sizeof(sr->spawn_error), "%s", e.msg);
}

int step_runner_start(struct step_runner *sr, int64_t now_mono_ns, struct fd_error *err)
{
	(void)err;
	sr->started = true;
	sr->cur = 0;
	begin_step(sr, now_mono_ns);
	return 0;
}

static int64_t step_timeout(const struct step_runner *sr)
{
	int64_t t = sr->steps[sr->cur].timeout_ns;

	return t > 0 ? t : sr->default_timeout_ns;
}

/* Checks the running command; true when the current step ended. */
static bool check_command(struct step_runner *sr, int64_t now)
{
	char detail[512], dur[32];
	int status;
	pid_t r;

	drain_output(sr);
	r = waitpid(sr->pid, &status, WNOHANG);
	if (r == sr->pid) {
		sr->pid = 0;
		drain_output(sr);
		close(sr->out_fd);
		sr->out_fd = -1;
		trim(sr->tail);
		if (WIFEXITED(status))
			drill_textf(detail, sizeof(detail), "exit %d%s%s", WEXITSTATUS(status),
				 *sr->tail ? ": " : "", sr->tail);
		else
			drill_textf(detail, sizeof(detail), "killed by signal %d%s%s", WTERMSIG(status),
				 *sr->tail ? ": " : "", sr->tail);
		end_lap(sr, now, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? STEP_DONE : STEP_FAILED,
			detail);
		return true;
	}
	if (step_timeout(sr) > 0 && now - sr->laps[sr->cur].started_mono_ns >= step_timeout(sr)) {
		kill_running(sr);
		drill_textf(detail, sizeof(detail), "timed out after %s",
			 fd_duration_format(step_timeout(sr), dur, sizeof(dur)));
		end_lap(sr, now, STEP_FAILED, detail);
		return true;
	}
	return false;
}

long step_runner_tick(struct step_runner *sr, int64_t now_mono_ns, struct store_lap *lap)
{
	size_t ended;
	char detail[64], dur[32];

	if (!sr->started || sr->cur >= sr->n)
		return -1;
	ended = sr->cur;
	if (sr->pid > 0) {
		if (!check_command(sr, now_mono_ns))
			return -1;
	} else if (!sr->steps[sr->cur].manual) {
		end_lap(sr, now_mono_ns, STEP_FAILED,
			sr->spawn_error[0] ? sr->spawn_error : "nothing to run");
	} else if (step_timeout(sr) > 0 &&
		   now_mono_ns - sr->laps[sr->cur].started_mono_ns >= step_timeout(sr)) {
		drill_textf(detail, sizeof(detail), "not marked done within %s",
			 fd_duration_format(step_timeout(sr), dur, sizeof(dur)));
		end_lap(sr, now_mono_ns, STEP_FAILED, detail);
	} else {
		return -1;
	}
	*lap = sr->laps[ended];
	begin_step(sr, now_mono_ns);
	return (long)ended;
}

long step_runner_mark(struct step_runner *sr, int64_t now_mono_ns, enum step_state how,
		      const char *note, struct store_lap *lap)
{
	static const char *const said[] = { [STEP_DONE] = "marked done",
					    [STEP_FAILED] = "marked failed",
					    [STEP_SKIPPED] = "skipped" };
	size_t ended = sr->cur;

	if (!sr->started || sr->cur >= sr->n || !sr->steps[sr->cur].manual)
		return -EAGAIN;
	if (how != STEP_DONE && how != STEP_FAILED && how != STEP_SKIPPED)
		return -EINVAL;
	end_lap(sr, now_mono_ns, how, note && *note ? note : said[how]);
	*lap = sr->laps[ended];
	begin_step(sr, now_mono_ns);
	return (long)ended;
}

const struct scenario_step *step_runner_current(const struct step_runner *sr, size_t *index)
{
	if (!sr || !sr->started || sr->cur >= sr->n)
		return NULL;
	if (index)
		*index = sr->cur;
	return &sr->steps[sr->cur];
}

bool step_runner_finished(const struct step_runner *sr)
{
	return sr->started && sr->cur >= sr->n;
}

void step_runner_cancel(struct step_runner *sr, int64_t now_mono_ns, const char *why)
{
	kill_running(sr);
	for (size_t i = sr->cur; i < sr->n; i++) {
		struct store_lap *l = &sr->laps[i];

		if (sr->began[i]) {
			l->ended_mono_ns = now_mono_ns;
			l->duration_ms = (double)(now_mono_ns - l->started_mono_ns) / (double)FD_NS_PER_MS;
		}
		sr->state[i] = sr->began[i] ? STEP_FAILED : STEP_NOT_RUN;
		l->ok = false;
		drill_textf(l->detail, sizeof(l->detail), "%s", why);
	}
	sr->cur = sr->n;
	sr->started = true;
}

const struct store_lap *step_runner_laps(const struct step_runner *sr, size_t *n)
{
	*n = sr->n;
	return sr->laps;
}

bool step_runner_started(const struct step_runner *sr, size_t i)
{
	return i < sr->n && sr->began[i];
}

enum step_state step_runner_state(const struct step_runner *sr, size_t i)
{
	return sr && i < sr->n ? sr->state[i] : STEP_PENDING;
}

const char *step_state_name(enum step_state st)
{
	static const char *const names[] = { "pending", "running", "done", "failed", "skipped",
					     "not-run" };

	return (size_t)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

long step_runner_stopped_at(const struct step_runner *sr)
{
	return sr ? sr->stopped_at : -1;
}

void step_runner_set_stop_on_failure(struct step_runner *sr, bool stop)
{
	sr->stop_on_failure = stop;
}

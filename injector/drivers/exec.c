/*
 * exec: a hook for faults firedrill has no native driver for (a cloud CLI
 * call, a database failover). `inject` and `revert` each run as
 * `/bin/sh -c COMMAND` in the scenario's folder, in their own process
 * group, stdin from /dev/null, stdout and stderr captured together (the
 * last 64 KiB) for the journal. A command still running at the fault's
 * timeout has its whole process group killed. A non-zero exit is an error
 * quoting the status and the last lines of output.
 *
 * The spec keeps both command texts and the folder, so that revert needs
 * nothing else. After apply the spec also carries the inject command's
 * status and output. A failed inject runs the revert command at once (apply
 * leaves nothing behind); revert commands should therefore be idempotent.
 */
#include <assert.h>
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

#include "driver.h"
#include "fd_time.h"

#define EXEC_OUTPUT_MAX (64 * 1024)
#define EXEC_DEFAULT_TIMEOUT_NS (60 * FD_NS_PER_S)
#define EXEC_TAIL_LINES 5
#define EXEC_TAIL_CHARS 400

/* What one command run produced. */
struct exec_result {
	int status;      /* waitpid status */
	bool timed_out;
	bool truncated;  /* output longer than EXEC_OUTPUT_MAX: the tail is kept */
	char *out;       /* NUL-terminated (owned) */
	size_t len;
};

struct exec_state {
	char *fault_id;
	char *inject;
	char *revert;   /* NULL: nothing to run on revert */
	char *cwd;      /* NULL: the current folder */
	int64_t timeout_ns;
	bool applied;
	struct exec_result inject_result;
};

/* Appends n (< EXEC_OUTPUT_MAX) bytes, keeping only the last
 * EXEC_OUTPUT_MAX bytes of output. */
static void output_append(struct exec_result *r, const char *data, size_t n)
{
	assert(n < EXEC_OUTPUT_MAX);
	if (r->len + n > EXEC_OUTPUT_MAX) {
		size_t drop = r->len + n - EXEC_OUTPUT_MAX;

		memmove(r->out, r->out + drop, r->len - drop);
		r->len -= drop;
		r->truncated = true;
	}
	memcpy(r->out + r->len, data, n);
	r->len += n;
	r->out[r->len] = '\0';
}

/* Reads what is available; returns false at EOF or on error. */
static bool output_drain(struct exec_result *r, int fd)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n > 0) {
			output_append(r, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
}

static void exec_result_clear(struct exec_result *r)
{
	free(r->out);
	memset(r, 0, sizeof(*r));
}

/* In the child: async-signal-safe calls only until exec. */
static void child_exec(const char *cmd, const char *cwd, int out_fd)
{
	sigset_t none;
	int devnull;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	if (cwd && chdir(cwd) < 0) {
		static const char msg[] = "firedrill: cannot enter the scenario's folder\n";

		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(127);
	}
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* Collects output until the shell exits or the deadline passes. */
static void supervise(pid_t child, int out_fd, int64_t timeout_ns, struct exec_result *r)
{
	int64_t deadline = fd_mono_ns() + timeout_ns;
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	struct pollfd pfd[2] = { { .fd = out_fd, .events = POLLIN },
				 { .fd = pidfd, .events = POLLIN } };

	for (;;) {
		int64_t left = deadline - fd_mono_ns();
		int n;

		if (left <= 0) {
			r->timed_out = true;
			break;
		}
		n = poll(pfd, 2, (int)((left + FD_NS_PER_MS - 1) / FD_NS_PER_MS));
		if (n < 0 && errno != EINTR)
			break;
		if (pfd[0].fd >= 0 && (pfd[0].revents & (POLLIN | POLLHUP)) &&
		    !output_drain(r, out_fd))
			pfd[0].fd = -1; /* EOF: a ~fd is ignored by poll */
		/* The shell exited: do not wait for background children that
		 * may still hold the pipe. Without a pidfd, EOF stands in. */
		if ((pidfd >= 0 && (pfd[1].revents & POLLIN)) || (pidfd < 0 && pfd[0].fd < 0))
			break;
	}
	if (r->timed_out)
		kill(-child, SIGKILL);
	output_drain(r, out_fd);
	if (pidfd >= 0)
		close(pidfd);
}

static int exec_run(const char *cmd, const char *cwd, int64_t timeout_ns, struct exec_result *r)
{
	int fds[2] = { -1, -1 }, rc = 0;
	pid_t child;

	memset(r, 0, sizeof(*r));
	r->out = malloc(EXEC_OUTPUT_MAX + 1);
	if (!r->out)
		return -ENOMEM;
	r->out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		rc = -errno;
		goto cleanup;
	}
	if (child == 0)
		child_exec(cmd, cwd, fds[1]);
	setpgid(child, child); /* also here: no window where kill(-child) misses */
	close(fds[1]);
	fds[1] = -1;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	supervise(child, fds[0], timeout_ns, r);
	while (waitpid(child, &r->status, 0) < 0 && errno == EINTR)
		;
cleanup:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return rc;
}

/* The last lines of output, on one line, for an error message. */
static void output_tail(const struct exec_result *r, char *buf, size_t len)
{
	size_t end = r->len, start, lines = 0, i, o = 0;

	while (end > 0 && (r->out[end - 1] == '\n' || r->out[end - 1] == '\r'))
		end--;
	for (start = end; start > 0 && end - start < EXEC_TAIL_CHARS; start--)
		if (r->out[start - 1] == '\n' && ++lines == EXEC_TAIL_LINES)
			break;
	for (i = start; i < end && o + 1 < len; i++)
		buf[o++] = r->out[i] == '\n' ? '|' : (unsigned char)r->out[i] < 0x20 ? ' ' : r->out[i];
	if (len)
		buf[o] = '\0';
}

/* 0 when the command succeeded, else an error quoting its fate. */
static int judge(const struct exec_result *r, const char *fault, const char *what,
		 const char *cmd, int64_t timeout_ns, struct fd_error *err)
{
	char fate[64], tail[EXEC_TAIL_CHARS + 8], dur[32];

	if (!r->timed_out && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0)
		return 0;
	if (r->timed_out)
		snprintf(fate, sizeof(fate), "timed out after %s (process group killed)",
			 fd_duration_format(timeout_ns, dur, sizeof(dur)));
	else if (WIFEXITED(r->status))
		snprintf(fate, sizeof(fate), "exited with status %d", WEXITSTATUS(r->status));
	else
		snprintf(fate, sizeof(fate), "killed by signal SIG%s",
			 sigabbrev_np(WTERMSIG(r->status)) ? sigabbrev_np(WTERMSIG(r->status)) : "?");
	output_tail(r, tail, sizeof(tail));
	return fd_error_set(err, FD_ERR_ENV, r->timed_out ? -ETIMEDOUT : -EIO,
			    "fault %s: %s command `%s` %s; last output: %s", fault, what, cmd, fate,
			    tail[0] ? tail : "(none)");
}

static void exec_free(void *state)
{
	struct exec_state *es = state;

	if (!es)
		return;
	exec_result_clear(&es->inject_result);
	free(es->fault_id);
	free(es->inject);
	free(es->revert);
	free(es->cwd);
	free(es);
}

static int exec_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			void **state, struct fd_error *err)
{
	struct exec_state *es = calloc(1, sizeof(*es));

	*state = NULL;
	if (!f->inject_cmd || !*f->inject_cmd) {
		exec_free(es);
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "fault %s: exec needs an inject command",
				    f->id);
	}
	if (!es || !(es->fault_id = strdup(f->id)) || !(es->inject = strdup(f->inject_cmd)) ||
	    (f->revert_cmd && *f->revert_cmd && !(es->revert = strdup(f->revert_cmd))) ||
	    (ctx && ctx->base_dir && !(es->cwd = strdup(ctx->base_dir)))) {
		exec_free(es);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	es->timeout_ns = f->timeout_ns > 0 ? f->timeout_ns : EXEC_DEFAULT_TIMEOUT_NS;
	*state = es;
	return 0;
}

static void exec_describe(const void *state, char *buf, size_t len)
{
	const struct exec_state *es = state;
	char dur[32];

	snprintf(buf, len, "exec `%s` (revert: %s%s%s), timeout %s", es->inject,
		 es->revert ? "`" : "", es->revert ? es->revert : "none", es->revert ? "`" : "",
		 fd_duration_format(es->timeout_ns, dur, sizeof(dur)));
}

/* Command output is arbitrary bytes; JSON strings must be UTF-8. */
static json_t *output_json(const struct exec_result *r)
{
	json_t *s = json_stringn(r->out, r->len);
	char *clean;
	size_t i;

	if (s)
		return s;
	clean = malloc(r->len + 1);
	if (!clean)
		return NULL;
	for (i = 0; i < r->len; i++)
		clean[i] = (unsigned char)r->out[i] < 0x80 ? r->out[i] : '?';
	s = json_stringn(clean, r->len);
	free(clean);
	return s;
}

static json_t *exec_spec(const void *state)
{
	const struct exec_state *es = state;
	const struct exec_result *r = &es->inject_result;
	json_t *spec;

	spec = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:I}", "driver", "exec", "fault",
			 es->fault_id, "inject", es->inject, "revert", es->revert, "cwd", es->cwd,
			 "timeout_ns", (json_int_t)es->timeout_ns);
	if (spec && es->applied) {
		json_object_set_new(spec, "inject_status",
				    json_integer(WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1));
		json_object_set_new(spec, "inject_output", output_json(r));
		json_object_set_new(spec, "inject_output_truncated", json_boolean(r->truncated));
	}
	return spec;
}

static int exec_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	struct exec_state *es = state;
	struct exec_result undo = { 0 };
	int rc;

	exec_result_clear(&es->inject_result);
	rc = exec_run(es->inject, es->cwd, es->timeout_ns, &es->inject_result);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "fault %s: running `%s`: %s", es->fault_id,
				    es->inject, strerror(-rc));
	es->applied = true;
	rc = judge(&es->inject_result, es->fault_id, "inject", es->inject, es->timeout_ns, err);
	if (rc == 0 || !es->revert)
		return rc;
	/* Half an injection may have happened: undo it now. */
	if (exec_run(es->revert, es->cwd, es->timeout_ns, &undo) < 0 ||
	    judge(&undo, es->fault_id, "revert", es->revert, es->timeout_ns, NULL) < 0)
		fd_error_prefix(err, "revert command failed too");
	exec_result_clear(&undo);
	return rc;
}

static const char *spec_str(const json_t *spec, const char *key)
{
	return json_string_value(json_object_get(spec, key));
}

static int exec_revert(const json_t *spec, struct fd_error *err)
{
	const char *fault = spec_str(spec, "fault"), *revert = spec_str(spec, "revert");
	json_int_t timeout_ns = json_integer_value(json_object_get(spec, "timeout_ns"));
	struct exec_result r;
	int rc;

	if (!json_is_object(spec))
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "journal spec: not an exec entry");
	if (!fault)
		fault = "?";
	if (!revert || !*revert)
		return 0;
	if (timeout_ns <= 0)
		timeout_ns = EXEC_DEFAULT_TIMEOUT_NS;
	rc = exec_run(revert, spec_str(spec, "cwd"), timeout_ns, &r);
	if (rc < 0)
		rc = fd_error_set(err, FD_ERR_ENV, rc, "fault %s: running `%s`: %s", fault, revert,
				  strerror(-rc));
	else
		rc = judge(&r, fault, "revert", revert, timeout_ns, err);
	exec_result_clear(&r);
	return rc;
}

static const char *exec_revert_text(const struct scenario_fault *f)
{
	return f->revert_cmd ? "the revert command" : "none (no revert command)";
}

const struct injector_driver driver_exec = {
	.name = "exec",
	.kind = FAULT_EXEC,
	.kernel_expires = false,
	.revert_text_for = exec_revert_text,
	.prepare = exec_prepare,
	.describe = exec_describe,
	.spec = exec_spec,
	.apply = exec_apply,
	.revert = exec_revert,
	.free_state = exec_free,
};

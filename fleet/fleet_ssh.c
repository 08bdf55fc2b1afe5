/*
 * fleet_ssh: running the real ssh. Everything ssh_config can say is
 * honoured because ssh itself reads it; firedrill adds only what a drill
 * needs: BatchMode (never a prompt), a connect timeout, no tty, and the
 * inventory's port, identity and config file. The destination can never be
 * read as an option ("--" before it; the loader refuses a leading '-').
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_time.h"
#include "fleet_int.h"

extern char **environ;

/* 'it'\''s' quoting for the remote shell, appended to buf. */
static int quote_into(char *buf, size_t len, size_t *off, const char *arg)
{
	size_t o = *off;

	if (o + 3 >= len)
		return -E2BIG;
	buf[o++] = '\'';
	for (const char *p = arg; *p; p++) {
		if (*p == '\'') {
			if (o + 5 >= len)
				return -E2BIG;
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			if (o + 2 >= len)
				return -E2BIG;
			buf[o++] = *p;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	*off = o;
	return 0;
}

/* The remote command: the host's firedrill command as written (it may be
 * "sudo firedrill" or a path), then each argument quoted. */
static int remote_command(const struct scenario_host *h, const char *const *args, char *buf,
			  size_t len)
{
	size_t off;
	int n = snprintf(buf, len, "%s", h->firedrill ? h->firedrill : "firedrill");

	if (n < 0 || (size_t)n >= len)
		return -E2BIG;
	off = (size_t)n;
	for (; args && *args; args++) {
		if (off + 2 >= len)
			return -E2BIG;
		buf[off++] = ' ';
		if (quote_into(buf, len, &off, *args) < 0)
			return -E2BIG;
	}
	return 0;
}

int fleet_ssh_start(const struct scenario_inventory *inv, const struct scenario_host *h,
		    const char *const *args, int64_t connect_timeout_ns, struct fleet_ssh *out,
		    struct fd_error *err)
{
	char cmd[4096], port[16], timeout[48];
	const char *argv[32];
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->pid = -1;
	out->fd = out->err_fd = -1;
	if (remote_command(h, args, cmd, sizeof(cmd)) < 0)
		return fd_error_set(err, FD_ERR_INPUT, -E2BIG, "host %s: the remote command is too long",
				    h->name);
	snprintf(timeout, sizeof(timeout), "ConnectTimeout=%lld",
		 (long long)((connect_timeout_ns + FD_NS_PER_S - 1) / FD_NS_PER_S));
	argv[n++] = "ssh";
	if (inv->ssh_config) {
		argv[n++] = "-F";
		argv[n++] = inv->ssh_config;
	}
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	argv[n++] = "-o";
	argv[n++] = timeout;
	argv[n++] = "-T";
	if (h->port) {
		snprintf(port, sizeof(port), "%u", (unsigned)h->port);
		argv[n++] = "-p";
		argv[n++] = port;
	}
	if (h->identity) {
		argv[n++] = "-i";
		argv[n++] = h->identity;
	}
	argv[n++] = "--";
	argv[n++] = h->ssh;
	argv[n++] = cmd;
	argv[n] = NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "host %s: socketpair: %s", h->name,
				  strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	{
		sigset_t none;

		sigemptyset(&none);
		posix_spawnattr_setsigmask(&attr, &none); /* the drill blocks some; ssh must not */
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
	}
	rc = posix_spawnp(&out->pid, "ssh", &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		out->pid = -1;
		rc = fd_error_set(err, FD_ERR_ENV, -rc, "host %s: cannot run ssh: %s", h->name,
				  strerror(rc));
		goto fail;
	}
	close(sv[1]);
	close(ep[1]);
	out->fd = sv[0];
	out->err_fd = ep[0];
	fcntl(out->fd, F_SETFL, fcntl(out->fd, F_GETFL) | O_NONBLOCK);
	fcntl(out->err_fd, F_SETFL, fcntl(out->err_fd, F_GETFL) | O_NONBLOCK);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return rc;
}

void fleet_ssh_read_err(struct fleet_ssh *s)
{
	char tmp[1024];
	ssize_t got;

	while (s->err_fd >= 0 && (got = read(s->err_fd, tmp, sizeof(tmp))) > 0) {
		size_t g = (size_t)got, keep = sizeof(s->errbuf) - 1; /* g < keep */

		if (s->errlen + g > keep) {
			size_t drop = s->errlen + g - keep;

			memmove(s->errbuf, s->errbuf + drop, s->errlen - drop);
			s->errlen -= drop;
		}
		memcpy(s->errbuf + s->errlen, tmp, g);
		s->errlen += g;
		s->errbuf[s->errlen] = '\0';
	}
}

const char *fleet_ssh_err_line(struct fleet_ssh *s)
{
	char *end, *start;

	fleet_ssh_read_err(s);
	s->errbuf[s->errlen] = '\0';
	end = s->errbuf + s->errlen;
	while (end > s->errbuf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(s->errbuf, '\n');
	return start ? start + 1 : s->errbuf;
}

int fleet_ssh_end(struct fleet_ssh *s, int wait_ms)
{
	int status = 0, result = -1;
	int64_t deadline = fd_mono_ns() + (int64_t)wait_ms * FD_NS_PER_MS;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->pid > 0) {
		for (;;) {
			pid_t w = waitpid(s->pid, &status, WNOHANG);

			if (w == s->pid) {
				result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
				break;
			}
			if (w < 0 && errno != EINTR)
				break;
			if (fd_mono_ns() >= deadline) {
				kill(s->pid, SIGKILL);
				waitpid(s->pid, &status, 0);
				break;
			}
			fleet_ssh_read_err(s);
			poll(NULL, 0, 10);
		}
	}
	fleet_ssh_read_err(s);
	s->pid = -1;
	if (s->err_fd >= 0)
		close(s->err_fd);
	s->err_fd = -1;
	return result;
}

/* ---- one command everywhere ------------------------------------------------ */

int fleet_run_everywhere(const struct scenario_inventory *inv, const char *const *args,
			 int64_t timeout_ns, struct fleet_run_result **res_out, size_t *n_out,
			 struct fd_error *err)
{
	size_t n = inv->n_hosts;
	struct fleet_run_result *res = calloc(n ? n : 1, sizeof(*res));
	struct fleet_ssh *ssh = calloc(n ? n : 1, sizeof(*ssh));
	struct fleet_lines *out = calloc(n ? n : 1, sizeof(*out));
	int64_t deadline = fd_mono_ns() + timeout_ns;
	int rc = 0;

	*res_out = NULL;
	*n_out = 0;
	if (!res || !ssh || !out) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		struct fd_error e = { 0 };

		snprintf(res[i].host, sizeof(res[i].host), "%s", inv->hosts[i].name);
		res[i].exit_code = 255;
		if (fleet_ssh_start(inv, &inv->hosts[i], args, timeout_ns, &ssh[i], &e) < 0)
			snprintf(res[i].err, sizeof(res[i].err), "%s", e.msg);
		else
			shutdown(ssh[i].fd, SHUT_WR); /* the command reads nothing */
	}
	/* read every stdout to its end (or the deadline) */
	for (;;) {
		struct pollfd p[64];
		size_t idx[64], k = 0;
		int64_t left = deadline - fd_mono_ns();

		for (size_t i = 0; i < n && k < 64; i++) {
			if (ssh[i].fd >= 0 && !out[i].eof) {
				p[k] = (struct pollfd){ .fd = ssh[i].fd, .events = POLLIN };
				idx[k++] = i;
			}
		}
		if (k == 0 || left <= 0)
			break;
		if (poll(p, k, (int)(left / FD_NS_PER_MS) + 1) < 0 && errno != EINTR)
			break;
		for (size_t j = 0; j < k; j++) {
			size_t i = idx[j];

			if (p[j].revents && fleet_lines_fill(&out[i], ssh[i].fd) < 0)
				out[i].eof = true;
			fleet_ssh_read_err(&ssh[i]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (ssh[i].pid <= 0)
			continue;
		res[i].exit_code = fleet_ssh_end(&ssh[i], out[i].eof ? 2000 : 0);
		if (res[i].exit_code < 0)
			res[i].exit_code = 255;
		snprintf(res[i].err, sizeof(res[i].err), "%s", fleet_ssh_err_line(&ssh[i]));
		if (!out[i].eof && !res[i].err[0])
			snprintf(res[i].err, sizeof(res[i].err), "no answer in time");
		res[i].out = out[i].len ? strndup(out[i].buf, out[i].len) : strdup("");
	}
	*res_out = res;
	*n_out = n;
	res = NULL;
cleanup:
	for (size_t i = 0; out && i < n; i++)
		fleet_lines_free(&out[i]);
	free(out);
	free(ssh);
	free(res);
	return rc;
}

void fleet_run_results_free(struct fleet_run_result *res, size_t n)
{
	for (size_t i = 0; res && i < n; i++)
		free(res[i].out);
	free(res);
}

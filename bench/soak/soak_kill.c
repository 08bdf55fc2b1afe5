/*
 * soak_kill: runs a command, copies its stdout and stderr to a log file,
 * and SIGKILLs it DELAY microseconds after a line containing PATTERN
 * appeared (or DELAY after the start when there is no pattern). The kill
 * point is thus chosen from what the command itself printed: `firedrill
 * run` prints each timeline event only after the store committed it.
 *
 *   soak_kill -l LOG [-p PATTERN] [-d DELAY_US] [-t TIMEOUT_S] -- CMD ARGS...
 *
 * Prints one line on stdout:
 *   killed PID at +MS ms (trigger +MS ms)      exit 0
 *   exited CODE at +MS ms (no kill)            exit 10
 * and exits 2 on a usage or system error. Only the command's own pid is
 * killed, as a crash would end it: its children (runbook steps, the
 * guardian) are left to do what they do after a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *log;
	const char *pattern;
	int64_t delay_us;
	int timeout_s;
	char **cmd;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	o->timeout_s = 120;
	while ((c = getopt(argc, argv, "l:p:d:t:")) != -1) {
		switch (c) {
		case 'l': o->log = optarg; break;
		case 'p': o->pattern = optarg; break;
		case 'd': o->delay_us = strtoll(optarg, NULL, 10); break;
		case 't': o->timeout_s = atoi(optarg); break;
		default: return -1;
		}
	}
	if (!o->log || optind >= argc || o->delay_us < 0 || o->timeout_s <= 0)
		return -1;
	o->cmd = argv + optind;
	return 0;
}

static pid_t spawn(char **cmd, int out_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
		close(out_fd);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	return pid;
}

/* Appends what is readable to the log and to a line buffer searched for the
 * pattern; returns true once the pattern has been seen. */
static bool pump(int rd, FILE *log, const char *pattern, char *line, size_t *len, size_t cap)
{
	char buf[4096];
	bool seen = false;
	ssize_t n;

	while ((n = read(rd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, log);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || *len + 1 >= cap) {
				line[*len] = '\0';
				if (pattern && strstr(line, pattern))
					seen = true;
				*len = 0;
			} else {
				line[(*len)++] = buf[i];
			}
		}
	}
	fflush(log);
	return seen;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	char line[8192];
	size_t len = 0;
	int p[2], pidfd, status = 0;
	int64_t start, trigger = -1, deadline;
	bool killed = false;
	FILE *log;
	pid_t pid;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: soak_kill -l LOG [-p PATTERN] [-d DELAY_US] [-t TIMEOUT_S] -- CMD...\n");
		return 2;
	}
	log = fopen(o.log, "w");
	if (!log || pipe2(p, O_CLOEXEC) < 0) {
		perror("soak_kill");
		return 2;
	}
	start = now_us();
	pid = spawn(o.cmd, p[1]);
	close(p[1]);
	if (pid < 0) {
		perror("soak_kill: fork");
		return 2;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	if (!o.pattern)
		trigger = start;
	deadline = start + (int64_t)o.timeout_s * 1000000;
	for (;;) {
		struct pollfd pf[2] = { { p[0], POLLIN, 0 }, { pidfd, POLLIN, 0 } };
		int64_t now = now_us(), wake = deadline;

		if (trigger >= 0 && !killed)
			wake = trigger + o.delay_us;
		if (!killed && now >= wake) {
			kill(pid, SIGKILL);
			killed = true;
			printf("killed %ld at +%lld ms (trigger +%lld ms)\n", (long)pid,
			       (long long)((now - start) / 1000),
			       (long long)(trigger >= 0 ? (trigger - start) / 1000 : -1));
			continue;
		}
		/* the child died: the pipe may stay open in its orphans; drain only */
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		poll(pf, pidfd >= 0 ? 2 : 1, (int)((wake - now + 999) / 1000));
		if (pump(p[0], log, o.pattern, line, &len, sizeof(line)) && trigger < 0)
			trigger = now_us();
	}
	pump(p[0], log, NULL, line, &len, sizeof(line));
	fclose(log);
	if (killed)
		return 0;
	printf("exited %d at +%lld ms (no kill)\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       (long long)((now_us() - start) / 1000));
	return 10;
}

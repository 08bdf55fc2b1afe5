/*
 * The lab's service processes: `firedrill lab serve --role ROLE --state-dir
 * DIR`, one per role, each in its namespace and its own session so that it
 * outlives `firedrill lab up`. They are double-forked (never our children,
 * so a long-running caller such as the demo leaves no zombies) and report
 * readiness through a pipe: "ok PID" once listening, or the error text.
 */
#include "lab_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd_time.h"

#define READY_FD 3
#define READY_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS 2000

static const char *const role_netns[LAB_N_ROLES] = {
	[LAB_ROLE_PRIMARY] = LAB_NETNS_A,
	[LAB_ROLE_STANDBY] = LAB_NETNS_B,
	[LAB_ROLE_FRONTDOOR] = LAB_NETNS_CLIENT,
};

/* ---- config ------------------------------------------------------------- */

int lab_config_save(const char *dir, const struct lab_config *cfg, struct fd_error *err)
{
	char path[PATH_MAX];
	json_t *o;
	int rc = 0;

	lab_path(path, sizeof(path), dir, LAB_FILE_CONFIG);
	o = json_pack("{s:I, s:i, s:I, s:I, s:b}",
		      "check_interval_ns", (json_int_t)cfg->check_interval_ns,
		      "failure_threshold", cfg->failure_threshold,
		      "replication_lag_ns", (json_int_t)cfg->replication_lag_ns,
		      "promotion_delay_ns", (json_int_t)cfg->promotion_delay_ns,
		      "controller_disabled", cfg->controller_disabled);
	if (!o)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "lab: out of memory");
	if (json_dump_file(o, path, JSON_INDENT(2)) < 0)
		rc = fd_error_set(err, FD_ERR_ENV, -EIO, "lab: cannot write %s", path);
	json_decref(o);
	return rc;
}

int lab_config_load(const char *dir, struct lab_config *cfg, struct fd_error *err)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_int_t ci = 0, lag = 0, delay = 0;
	int thr = 0, dis = 0, rc = 0;
	json_t *o;

	lab_config_init(cfg);
	lab_path(path, sizeof(path), dir, LAB_FILE_CONFIG);
	o = json_load_file(path, 0, &jerr);
	if (!o)
		return fd_error_set(err, FD_ERR_ENV, -ENOENT, "lab: %s: %s", path, jerr.text);
	if (json_unpack_ex(o, &jerr, 0, "{s:I, s:i, s:I, s:I, s:b}",
			   "check_interval_ns", &ci, "failure_threshold", &thr,
			   "replication_lag_ns", &lag, "promotion_delay_ns", &delay,
			   "controller_disabled", &dis) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -EINVAL, "lab: %s: %s", path, jerr.text);
	} else {
		cfg->check_interval_ns = ci;
		cfg->failure_threshold = thr;
		cfg->replication_lag_ns = lag;
		cfg->promotion_delay_ns = delay;
		cfg->controller_disabled = dis;
	}
	json_decref(o);
	return rc;
}

bool lab_config_same(const struct lab_config *x, const struct lab_config *y)
{
	return x->check_interval_ns == y->check_interval_ns &&
	       x->failure_threshold == y->failure_threshold &&
	       x->replication_lag_ns == y->replication_lag_ns &&
	       x->promotion_delay_ns == y->promotion_delay_ns &&
	       x->controller_disabled == y->controller_disabled;
}

/* ---- finding our processes ---------------------------------------------- */

static void pidfile_path(char *buf, size_t len, const char *dir, enum lab_role role)
{
	char name[32];

	snprintf(name, sizeof(name), "%s.pid", lab_role_name(role));
	lab_path(buf, len, dir, name);
}

/*
 * Reads pid's command line; true when it is `EXE lab serve --role ROLE
 * --state-dir DIR`, with ROLE and DIR copied out. Guards against pid reuse.
 */
static bool service_info(pid_t pid, char *role, size_t rlen, char *dir, size_t dlen)
{
	static const char *const words[] = { "lab", "serve", "--role", NULL, "--state-dir" };
	char path[64], buf[4096];
	size_t n, at;
	ssize_t r;
	int fd, i = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return false;
	n = (size_t)r;
	buf[n] = '\0';
	for (at = strlen(buf) + 1; at < n; at += strlen(buf + at) + 1, i++) {
		if (i < 5 && words[i] && strcmp(buf + at, words[i]) != 0)
			return false;
		if (i == 3)
			snprintf(role, rlen, "%s", buf + at);
		if (i == 5) {
			snprintf(dir, dlen, "%s", buf + at);
			return true;
		}
	}
	return false;
}

/* True when pid is a lab service of dir (of any role when role is NULL). */
static bool is_lab_service(pid_t pid, const char *role, const char *dir)
{
	char r[32], d[PATH_MAX];

	return service_info(pid, r, sizeof(r), d, sizeof(d)) && strcmp(d, dir) == 0 &&
	       (!role || strcmp(r, role) == 0);
}

/*
 * True when pid lives in one of the fdlab-* namespaces seen here. A lab in
 * a private mount namespace (its own /run/netns, as the soak test does) has
 * other namespaces under the same names and is no conflict.
 */
static bool in_our_netns(pid_t pid)
{
	static const char *const ns[] = { LAB_NETNS_A, LAB_NETNS_B, LAB_NETNS_CLIENT };
	char path[PATH_MAX];
	struct stat own, st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &own) < 0)
		return false;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(path, sizeof(path), "/run/netns/%s", ns[i]);
		if (stat(path, &st) == 0 && st.st_dev == own.st_dev && st.st_ino == own.st_ino)
			return true;
	}
	return false;
}

pid_t lab_proc_find_other(const char *dir, char *other, size_t len)
{
	struct dirent *de;
	char role[32];
	pid_t found = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (service_info((pid_t)pid, role, sizeof(role), other, len) &&
		    strcmp(other, dir) != 0 && in_our_netns((pid_t)pid))
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

pid_t lab_proc_pid(const char *dir, enum lab_role role, bool *running)
{
	char path[PATH_MAX];
	FILE *f;
	int pid = 0;

	*running = false;
	pidfile_path(path, sizeof(path), dir, role);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid > 0)
		*running = is_lab_service(pid, lab_role_name(role), dir);
	return pid;
}

static bool gone(pid_t pid, const char *dir)
{
	return !is_lab_service(pid, NULL, dir);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; returns once it is gone. */
static void stop_pid(pid_t pid, const char *dir)
{
	if (gone(pid, dir))
		return;
	kill(pid, SIGTERM);
	for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 10) {
		if (gone(pid, dir))
			return;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	for (int waited = 0; waited < STOP_TIMEOUT_MS && !gone(pid, dir); waited += 10)
		sleep_ms(10);
}

void lab_proc_stop_all(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool running;
	DIR *d;

	for (int r = 0; r < LAB_N_ROLES; r++) {
		pid_t pid = lab_proc_pid(dir, (enum lab_role)r, &running);

		if (running)
			stop_pid(pid, dir);
		pidfile_path(path, sizeof(path), dir, (enum lab_role)r);
		unlink(path);
	}
	/* A service whose pidfile was lost (crash during up) is still ours. */
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (is_lab_service((pid_t)pid, NULL, dir))
			stop_pid((pid_t)pid, dir);
	}
	closedir(d);
}

/* ---- starting ----------------------------------------------------------- */

void lab_proc_ready(const char *msg)
{
	const char *fdstr = getenv("FDLAB_READY_FD");
	char line[FD_ERROR_MSG_MAX + 32];
	int fd, n;

	if (!fdstr)
		return;
	fd = atoi(fdstr);
	if (msg)
		n = snprintf(line, sizeof(line), "%s", msg);
	else
		n = snprintf(line, sizeof(line), "ok %d", (int)getpid());
	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* lab_proc_start gave up waiting; nothing left to tell. */
	}
	close(fd);
	unsetenv("FDLAB_READY_FD");
}

static int self_exe(const struct lab_config *cfg, char *buf, size_t len, struct fd_error *err)
{
	ssize_t n;

	if (cfg->exe) {
		snprintf(buf, len, "%s", cfg->exe);
		return 0;
	}
	n = readlink("/proc/self/exe", buf, len - 1);
	if (n < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "lab: /proc/self/exe: %s",
				    strerror(errno));
	buf[n] = '\0';
	return 0;
}

/*
 * The grandchild: its own session, the role's namespace, output to
 * DIR/ROLE.log, the ready pipe on fd 3, then exec. Only async-signal-safe
 * calls between fork and exec (the caller may have threads).
 */
static void child_exec(int ns_fd, int log_fd, int ready_fd, char *const argv[], char *const envp[])
{
	int null_fd = open("/dev/null", O_RDONLY);

	if (setsid() < 0 || setns(ns_fd, CLONE_NEWNET) < 0 || null_fd < 0)
		_exit(126);
	dup2(null_fd, 0);
	dup2(log_fd, 1);
	dup2(log_fd, 2);
	if (ready_fd == READY_FD)
		fcntl(ready_fd, F_SETFD, 0);
	else
		dup2(ready_fd, READY_FD);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* Reads the service's "ok PID" or error text, up to READY_TIMEOUT_MS. */
static int wait_ready(int fd, const char *role, pid_t *pid, struct fd_error *err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[FD_ERROR_MSG_MAX];
	size_t got = 0;
	int64_t deadline = fd_mono_ns() + READY_TIMEOUT_MS * FD_NS_PER_MS;

	for (;;) {
		int64_t left = (deadline - fd_mono_ns()) / FD_NS_PER_MS;
		ssize_t n;

		if (left <= 0)
			return fd_error_set(err, FD_ERR_ENV, -ETIMEDOUT,
					    "lab: the %s service did not start within %d ms", role,
					    READY_TIMEOUT_MS);
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (strncmp(buf, "ok ", 3) == 0) {
		*pid = (pid_t)atoi(buf + 3);
		return 0;
	}
	return fd_error_set(err, FD_ERR_ENV, -EIO, "lab: the %s service failed to start: %s",
			    role, got ? buf : "it exited (see its log in the state dir)");
}

static int write_pidfile(const char *dir, enum lab_role role, pid_t pid, struct fd_error *err)
{
	char path[PATH_MAX];
	FILE *f;

	pidfile_path(path, sizeof(path), dir, role);
	f = fopen(path, "we");
	if (!f)
		return fd_error_set(err, FD_ERR_ENV, -errno, "lab: %s: %s", path, strerror(errno));
	fprintf(f, "%d\n", (int)pid);
	if (fclose(f) != 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "lab: cannot write %s", path);
	return 0;
}

int lab_proc_start(const struct lab_config *cfg, const char *dir, enum lab_role role,
		   struct fd_error *err)
{
	const char *name = lab_role_name(role);
	char exe[PATH_MAX], logpath[PATH_MAX], ns_path[PATH_MAX], logname[32];
	char env_ready[32];
	char *argv[] = { exe, "lab", "serve", "--role", (char *)name, "--state-dir", (char *)dir, NULL };
	char *envp[] = { env_ready, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int ns_fd = -1, log_fd = -1, pipefd[2] = { -1, -1 }, status, rc;
	pid_t child, pid = 0;

	rc = self_exe(cfg, exe, sizeof(exe), err);
	if (rc < 0)
		return rc;
	snprintf(env_ready, sizeof(env_ready), "FDLAB_READY_FD=%d", READY_FD);
	snprintf(ns_path, sizeof(ns_path), "/run/netns/%s", role_netns[role]);
	snprintf(logname, sizeof(logname), "%s.log", name);
	lab_path(logpath, sizeof(logpath), dir, logname);
	ns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
	log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (ns_fd < 0 || log_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "lab: starting the %s service: %s",
				  name, strerror(errno));
		goto cleanup;
	}
	child = fork();
	if (child < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "lab: fork: %s", strerror(errno));
		goto cleanup;
	}
	if (child == 0) {
		if (fork() == 0)
			child_exec(ns_fd, log_fd, pipefd[1], argv, envp);
		_exit(0);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	rc = wait_ready(pipefd[0], name, &pid, err);
	if (rc == 0)
		rc = write_pidfile(dir, role, pid, err);
cleanup:
	if (ns_fd >= 0)
		close(ns_fd);
	if (log_fd >= 0)
		close(log_fd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return rc;
}

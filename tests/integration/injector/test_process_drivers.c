/*
 * kill / stop / freeze against real processes (root; exit 77 otherwise).
 *
 * Targets are this test's children, each in its own session, with a unique
 * marker as argv[0] (`sleep` refuses extra arguments). The driver runs in
 * a forked sibling that plays firedrill: the targets are then neither its
 * descendants nor in its session, so the guards pass without --force, as
 * they would for a real service. Revert runs here, from the spec alone, as
 * the guardian or `firedrill revert` would.
 *
 * Checks count failures and go on (fdtest); where later code relies on an
 * earlier result, FDT_REQUIRE jumps to the test's cleanup path. Every child
 * is reaped and every cgroup thawed and removed whatever happens
 * (teardown() at the end of main); fdtest removes the namespace at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "fd_netns.h"
#include "fdtest.h"
#include "procmatch.h"

#define MAX_KIDS 16
#define V1_FREEZER "/sys/fs/cgroup/freezer"

static pid_t kids[MAX_KIDS];
static char run_tag[32];
static char cgroups[4][PATH_MAX]; /* made by the tests; thawed and removed at teardown */
static char netns_name[64];

struct outcome {
	int rc;
	char msg[FD_ERROR_MSG_MAX];
	char desc[1024];
	char spec[16384];
};

static const struct timespec tick = { 0, 5 * 1000 * 1000 };

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, text, strlen(text));
		close(fd);
	}
}

/* False when pid is not (or no longer) one of ours. */
static bool forget_kid(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++) {
		if (pid > 0 && kids[i] == pid) {
			kids[i] = 0;
			return true;
		}
	}
	return false;
}

/* Kills and reaps a child still on record; a pid already reaped (and maybe
 * reused by now) or never spawned (-1) is left alone. */
static void reap_kid(pid_t pid)
{
	if (!forget_kid(pid))
		return;
	kill(pid, SIGCONT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Reaps a child that should be ending by itself (5 s at most). */
static bool kid_ended(pid_t pid, int *status)
{
	*status = 0;
	if (!fdt_child_reaped(pid, status, 5000))
		return false;
	forget_kid(pid);
	return true;
}

/* A child in its own session running `sleep 300` with argv[0] = marker,
 * optionally inside the network namespace ns. Returns once exec'd; -1 (the
 * failure counted) otherwise. */
static pid_t spawn(const char *marker, const char *ns)
{
	char path[64], buf[256];
	pid_t pid;
	int i;

	for (i = 0; i < MAX_KIDS && kids[i]; i++)
		;
	FDT_CHECK(i < MAX_KIDS, "more than %d children", MAX_KIDS);
	if (i == MAX_KIDS)
		return -1;
	fflush(NULL);
	pid = fork();
	FDT_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		if (ns) {
			char nspath[128];
			int fd;

			snprintf(nspath, sizeof(nspath), "/run/netns/%s", ns);
			fd = open(nspath, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
				_exit(126);
		}
		execl("/bin/sleep", marker, "300", (char *)NULL);
		_exit(127);
	}
	kids[i] = pid;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	for (i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "re");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		if (strcmp(buf, marker) == 0)
			return pid;
		nanosleep(&tick, NULL);
	}
	FDT_CHECK(0, "child %d never exec'd %s", (int)pid, marker);
	return -1; /* still on record: reaped at teardown */
}

static char proc_state(pid_t pid)
{
	struct procmatch_stat st;

	return procmatch_read_stat(pid, &st) == 0 ? st.state : '?';
}

/* Polls (bounded, never a timing assertion) until pid's state is or is
 * not 'T'. */
static char wait_state(pid_t pid, bool stopped)
{
	char s = '?';

	for (int i = 0; i < 1000; i++) {
		s = proc_state(pid);
		if ((s == 'T') == stopped)
			break;
		nanosleep(&tick, NULL);
	}
	return s;
}

/* Running again: sleeping or running, not stopped or gone. */
static bool resumed(char s)
{
	return s == 'S' || s == 'R';
}

/*
 * Runs prepare + apply of drv in a forked sibling (firedrill's stand-in),
 * in netns ns when given. The sibling's describe and spec come back; when
 * the sibling cannot be run or sends nothing, the failure is counted and
 * out->rc is -EPROTO.
 */
static void run_in_sibling(const struct injector_driver *drv, const struct scenario_fault *f,
			   bool force, const char *ns, struct outcome *out)
{
	int fds[2], rc;
	ssize_t n = -1;
	pid_t pid = -1, w;

	memset(out, 0, sizeof(*out));
	rc = pipe(fds);
	FDT_CHECK(rc == 0, "pipe: %s", strerror(errno));
	if (rc < 0)
		goto fail;
	fflush(NULL);
	pid = fork();
	FDT_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct driver_ctx ctx = { .force = force, .netns = ns };
		struct outcome o = { 0 };
		struct fd_error err = { 0 };
		void *state = NULL;
		json_t *spec;

		close(fds[0]);
		o.rc = ns ? fd_netns_enter(ns, &err) : 0;
		if (o.rc == 0)
			o.rc = drv->prepare(f, &ctx, &state, &err);
		if (o.rc == 0) {
			drv->describe(state, o.desc, sizeof(o.desc));
			o.rc = drv->apply(state, &ctx, &err);
			spec = drv->spec(state);
			if (spec) {
				char *text = json_dumps(spec, JSON_COMPACT);

				snprintf(o.spec, sizeof(o.spec), "%s", text ? text : "");
				free(text);
				json_decref(spec);
			}
			drv->free_state(state);
		}
		snprintf(o.msg, sizeof(o.msg), "%s", err.msg);
		(void)!write(fds[1], &o, sizeof(o));
		_exit(0);
	}
	close(fds[1]);
	if (pid > 0)
		n = read(fds[0], out, sizeof(*out));
	close(fds[0]);
	if (pid > 0) {
		FDT_CHECK(n == (ssize_t)sizeof(*out), "the sibling sent %zd of %zu bytes", n,
			  sizeof(*out));
		w = waitpid(pid, NULL, 0);
		FDT_CHECK(w == pid, "waitpid %d: %s", (int)pid, strerror(errno));
	}
	if (n == (ssize_t)sizeof(*out))
		return;
fail:
	memset(out, 0, sizeof(*out));
	out->rc = -EPROTO;
	snprintf(out->msg, sizeof(out->msg), "no outcome from the sibling");
}

static bool spec_has_pid(const json_t *spec, pid_t pid)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(spec, "procs"), i, p)
		if (json_integer_value(json_object_get(p, "pid")) == pid)
			return true;
	return false;
}

static void marker(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "fdt-marker-%s-%s", run_tag, what);
}

static void test_kill_hits_exactly_the_matched(void)
{
	char mk[96], decoy_mk[128], pattern[160];
	struct scenario_fault f = { .id = "kill-it", .kind = FAULT_KILL };
	struct outcome o;
	pid_t a, b, decoy;
	json_t *spec = NULL;
	bool ended;
	int status;

	marker(mk, sizeof(mk), "kill");
	snprintf(decoy_mk, sizeof(decoy_mk), "%s-decoy", mk);
	a = spawn(mk, NULL);
	b = spawn(mk, NULL);
	decoy = spawn(decoy_mk, NULL);
	if (a < 0 || b < 0 || decoy < 0)
		goto out;
	snprintf(pattern, sizeof(pattern), "^%s\\x00300$", mk);
	f.process.match = pattern;

	run_in_sibling(&driver_kill, &f, false, NULL, &o);
	FDT_REQUIRE(o.rc == 0, out, "kill: %s", o.msg);
	spec = json_loads(o.spec, 0, NULL);
	FDT_REQUIRE(spec, out, "spec: %s", o.spec);
	FDT_CHECK(json_array_size(json_object_get(spec, "procs")) == 2, "spec: %s", o.spec);
	FDT_CHECK(spec_has_pid(spec, a) && spec_has_pid(spec, b), "%d and %d not in the spec: %s",
		  (int)a, (int)b, o.spec);
	FDT_CHECK(strstr(o.desc, "TERM"), "describe: %s", o.desc);
	FDT_CHECK(strstr(o.desc, mk), "describe: %s", o.desc);

	ended = kid_ended(a, &status);
	FDT_CHECK(ended, "%d still running after the kill", (int)a);
	FDT_CHECK(ended && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
		  "%d ended with status 0x%x, want SIGTERM", (int)a, status);
	ended = kid_ended(b, &status);
	FDT_CHECK(ended, "%d still running after the kill", (int)b);
	FDT_CHECK(ended && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
		  "%d ended with status 0x%x, want SIGTERM", (int)b, status);
	/* Nothing else was hit. */
	FDT_CHECK(waitpid(decoy, &status, WNOHANG) == 0, "the decoy %d was hit", (int)decoy);
	FDT_CHECK(driver_kill.revert(spec, NULL) == 0, "revert");
out:
	json_decref(spec);
	reap_kid(a);
	reap_kid(b);
	reap_kid(decoy);
}

static void test_stop_and_resume(void)
{
	char mk[96], pattern[160], s;
	struct scenario_fault f = { .id = "pause", .kind = FAULT_STOP };
	struct fd_error err = { 0 };
	struct outcome o;
	pid_t a, b;
	json_t *spec = NULL;

	marker(mk, sizeof(mk), "stop");
	a = spawn(mk, NULL);
	b = spawn(mk, NULL);
	if (a < 0 || b < 0)
		goto out;
	snprintf(pattern, sizeof(pattern), "^%s\\x00", mk);
	f.process.match = pattern;
	f.duration_ns = 60 * 1000000000LL;

	run_in_sibling(&driver_stop, &f, false, NULL, &o);
	FDT_REQUIRE(o.rc == 0, out, "stop: %s", o.msg);
	s = wait_state(a, true);
	FDT_CHECK(s == 'T', "%d in state %c, want T", (int)a, s);
	s = wait_state(b, true);
	FDT_CHECK(s == 'T', "%d in state %c, want T", (int)b, s);

	spec = json_loads(o.spec, 0, NULL);
	FDT_REQUIRE(spec, out, "spec: %s", o.spec);
	FDT_CHECK(driver_stop.revert(spec, &err) == 0, "revert: %s", err.msg);
	s = wait_state(a, false);
	FDT_CHECK(resumed(s), "%d in state %c after revert", (int)a, s);
	s = wait_state(b, false);
	FDT_CHECK(resumed(s), "%d in state %c after revert", (int)b, s);
	/* Idempotent, and fine once the processes are gone. */
	FDT_CHECK(driver_stop.revert(spec, &err) == 0, "second revert: %s", err.msg);
	reap_kid(a);
	reap_kid(b);
	FDT_CHECK(driver_stop.revert(spec, &err) == 0, "revert with the processes gone: %s",
		  err.msg);
out:
	json_decref(spec);
	reap_kid(a);
	reap_kid(b);
}

static void test_recycled_pid_not_signalled(void)
{
	char mk[96], text[256], s;
	struct procmatch_stat ps;
	struct fd_error err = { 0 };
	json_t *spec = NULL;
	pid_t a;
	int status, rc;

	marker(mk, sizeof(mk), "recycled");
	a = spawn(mk, NULL);
	if (a < 0)
		goto out;
	rc = procmatch_read_stat(a, &ps);
	FDT_REQUIRE(rc == 0, out, "stat of %d: %s", (int)a, strerror(-rc));

	/* A stop journaled for "this pid with another start time": revert must
	 * not resume the process that now has the pid. */
	kill(a, SIGSTOP);
	s = wait_state(a, true);
	FDT_CHECK(s == 'T', "%d in state %c after SIGSTOP", (int)a, s);
	snprintf(text, sizeof(text),
		 "{\"fault\":\"r\",\"procs\":[{\"pid\":%d,\"start\":%llu,\"cmdline\":\"x\"}]}",
		 (int)a, ps.start + 1);
	spec = json_loads(text, 0, NULL);
	FDT_REQUIRE(spec, out, "spec: %s", text);
	FDT_CHECK(driver_stop.revert(spec, &err) == 0, "revert: %s", err.msg);
	nanosleep(&tick, NULL);
	s = proc_state(a);
	FDT_CHECK(s == 'T', "a recycled pid was resumed (state %c)", s);

	/* Matched at prepare, recycled before apply: not signalled. */
	rc = procmatch_signal(a, ps.start + 1, SIGKILL);
	FDT_CHECK(rc == -ESTALE, "signal with another start time: %s", strerror(-rc));
	FDT_CHECK(waitpid(a, &status, WNOHANG) == 0, "%d was killed", (int)a);
	rc = procmatch_signal(a, ps.start, SIGCONT);
	FDT_CHECK(rc == 0, "signal with its start time: %s", strerror(-rc));
	s = wait_state(a, false);
	FDT_CHECK(resumed(s), "%d in state %c after SIGCONT", (int)a, s);
out:
	json_decref(spec);
	reap_kid(a);
}

static void test_guards_refuse_parent(void)
{
	struct scenario_fault f = { .id = "own", .kind = FAULT_KILL };
	struct outcome o;

	/* The sibling's parent is this test: refused. */
	f.process.pid = getpid();
	run_in_sibling(&driver_kill, &f, false, NULL, &o);
	FDT_CHECK(o.rc == -EPERM, "kill of the sibling's parent: %d %s", o.rc, o.msg);
	FDT_CHECK(strstr(o.msg, "ancestor"), "refused for: %s", o.msg);
	f.process.pid = 1;
	f.signal = SIGCONT;
	run_in_sibling(&driver_kill, &f, false, NULL, &o);
	FDT_CHECK(o.rc == -EPERM, "signal to pid 1: %d %s", o.rc, o.msg);
	FDT_CHECK(strstr(o.msg, "pid 1"), "refused for: %s", o.msg);
}

static int make_cgroup(const char *mount, char *out, size_t len)
{
	int i;

	for (i = 0; i < 4 && cgroups[i][0]; i++)
		;
	if (i == 4)
		return -1;
	snprintf(out, len, "%s/fdt-%s-%d", mount, run_tag, i);
	if (mkdir(out, 0755) < 0)
		return -1;
	snprintf(cgroups[i], sizeof(cgroups[i]), "%s", out);
	return 0;
}

/* Before a frozen child is killed: a v1-frozen task cannot die (its reaper
 * would wait for ever). */
static void thaw_cgroups(void)
{
	char path[sizeof(cgroups) + 32]; /* gcc cannot bound cgroups[i] tighter */

	for (int i = 0; i < 4; i++) {
		if (!cgroups[i][0])
			continue;
		snprintf(path, sizeof(path), "%s/freezer.state", cgroups[i]);
		write_file(path, "THAWED");
		snprintf(path, sizeof(path), "%s/cgroup.freeze", cgroups[i]);
		write_file(path, "0");
	}
}

static void move_to_cgroup(const char *cg, pid_t pid)
{
	char path[PATH_MAX + 32], num[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(num, sizeof(num), "%d", (int)pid);
	write_file(path, num);
}

static void read_line(const char *path, const char *prefix, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[256];

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, prefix, strlen(prefix)) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", line);
			break;
		}
	}
	if (f)
		fclose(f);
}

static void test_freeze_v1(void)
{
	char mk[96], cg[PATH_MAX], state_path[PATH_MAX + 32], state[256], s;
	struct scenario_fault f = { .id = "ice", .kind = FAULT_FREEZE };
	struct fd_error err = { 0 };
	struct outcome o;
	json_t *spec = NULL;
	pid_t a = -1, outsider = -1;

	if (access(V1_FREEZER "/cgroup.procs", F_OK) < 0) {
		fprintf(stderr, "skipped: no cgroup v1 freezer at " V1_FREEZER "\n");
		return;
	}
	FDT_REQUIRE(make_cgroup(V1_FREEZER, cg, sizeof(cg)) == 0, out, "cgroup under %s: %s",
		    V1_FREEZER, strerror(errno));
	marker(mk, sizeof(mk), "freeze");
	a = spawn(mk, NULL);
	outsider = spawn(mk, NULL); /* same marker, other cgroup: not frozen */
	if (a < 0 || outsider < 0)
		goto out;
	move_to_cgroup(cg, a);
	snprintf(state_path, sizeof(state_path), "%s/freezer.state", cg);

	/* By the process's own cgroup. */
	f.process.pid = a;
	f.duration_ns = 60 * 1000000000LL;
	run_in_sibling(&driver_freeze, &f, false, NULL, &o);
	FDT_REQUIRE(o.rc == 0, out, "freeze: %s", o.msg);
	FDT_CHECK(strstr(o.desc, cg), "describe: %s", o.desc);
	read_line(state_path, "", state, sizeof(state));
	FDT_CHECK(strcmp(state, "FROZEN") == 0, "%s: %s", state_path, state);
	s = proc_state(outsider);
	FDT_CHECK(s != 'T', "the outsider %d is stopped", (int)outsider);
	spec = json_loads(o.spec, 0, NULL);
	FDT_REQUIRE(spec, out, "spec: %s", o.spec);
	FDT_CHECK(spec_has_pid(spec, a), "%d not in the spec: %s", (int)a, o.spec);
	FDT_CHECK(!spec_has_pid(spec, outsider), "the outsider in the spec: %s", o.spec);
	FDT_CHECK(driver_freeze.revert(spec, &err) == 0, "revert: %s", err.msg);
	read_line(state_path, "", state, sizeof(state));
	FDT_CHECK(strcmp(state, "THAWED") == 0, "%s after revert: %s", state_path, state);
	FDT_CHECK(driver_freeze.revert(spec, &err) == 0, "second revert: %s", err.msg);
	json_decref(spec);
	spec = NULL;

	/* By a named cgroup (the process selector must still match). */
	f.process.pid = outsider;
	f.cgroup = cg;
	run_in_sibling(&driver_freeze, &f, false, NULL, &o);
	FDT_REQUIRE(o.rc == 0, out, "freeze by cgroup: %s", o.msg);
	read_line(state_path, "", state, sizeof(state));
	FDT_CHECK(strcmp(state, "FROZEN") == 0, "%s: %s", state_path, state);
	spec = json_loads(o.spec, 0, NULL);
	FDT_REQUIRE(spec, out, "spec: %s", o.spec);
	FDT_CHECK(driver_freeze.revert(spec, &err) == 0, "revert: %s", err.msg);
	read_line(state_path, "", state, sizeof(state));
	FDT_CHECK(strcmp(state, "THAWED") == 0, "%s after revert: %s", state_path, state);
	json_decref(spec);
	spec = NULL;

	/* The root cgroup is refused, --force or not. */
	f.cgroup = V1_FREEZER;
	run_in_sibling(&driver_freeze, &f, true, NULL, &o);
	FDT_CHECK(o.rc == -EPERM, "freeze of the root cgroup: %d %s", o.rc, o.msg);
	FDT_CHECK(strstr(o.msg, "root cgroup"), "refused for: %s", o.msg);
out:
	json_decref(spec);
	thaw_cgroups();
	reap_kid(a);
	reap_kid(outsider);
}

/* The cgroup2 mount point, or "" (hybrid hosts mount it at .../unified). */
static void v2_mount(char *out, size_t len)
{
	char line[4096], mp[PATH_MAX], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    sscanf(sep + 3, "%63s", fstype) == 1 && strcmp(fstype, "cgroup2") == 0) {
			snprintf(out, len, "%s", mp);
			break;
		}
	}
	if (f)
		fclose(f);
}

static void test_freeze_v2(void)
{
	char mk[96], mount[PATH_MAX], cg[PATH_MAX], events[PATH_MAX + 32], line[256];
	char freeze_file[PATH_MAX + 32];
	struct scenario_fault f = { .id = "ice2", .kind = FAULT_FREEZE };
	struct fd_error err = { 0 };
	struct outcome o;
	json_t *spec = NULL;
	pid_t a;

	v2_mount(mount, sizeof(mount));
	if (!mount[0] || make_cgroup(mount, cg, sizeof(cg)) < 0) {
		fprintf(stderr, "skipped: no writable cgroup v2 hierarchy\n");
		return;
	}
	snprintf(freeze_file, sizeof(freeze_file), "%s/cgroup.freeze", cg);
	if (access(freeze_file, W_OK) < 0) {
		fprintf(stderr, "skipped: %s is not writable\n", freeze_file);
		return;
	}
	marker(mk, sizeof(mk), "freeze2");
	a = spawn(mk, NULL);
	if (a < 0)
		goto out;
	move_to_cgroup(cg, a);
	snprintf(events, sizeof(events), "%s/cgroup.events", cg);

	f.cgroup = cg;
	f.duration_ns = 60 * 1000000000LL;
	run_in_sibling(&driver_freeze, &f, false, NULL, &o);
	FDT_REQUIRE(o.rc == 0, out, "freeze: %s", o.msg);
	FDT_CHECK(strstr(o.desc, "v2"), "describe: %s", o.desc);
	read_line(events, "frozen ", line, sizeof(line));
	FDT_CHECK(strcmp(line, "frozen 1") == 0, "%s: %s", events, line);
	spec = json_loads(o.spec, 0, NULL);
	FDT_REQUIRE(spec, out, "spec: %s", o.spec);
	FDT_CHECK(spec_has_pid(spec, a), "%d not in the spec: %s", (int)a, o.spec);
	FDT_CHECK(driver_freeze.revert(spec, &err) == 0, "revert: %s", err.msg);
	read_line(events, "frozen ", line, sizeof(line));
	FDT_CHECK(strcmp(line, "frozen 0") == 0, "%s after revert: %s", events, line);
out:
	json_decref(spec);
	thaw_cgroups();
	reap_kid(a);
}

static void test_netns_scope(void)
{
	char mk[96], pattern[160];
	struct scenario_fault f = { .id = "scoped", .kind = FAULT_KILL };
	struct outcome o;
	pid_t inside, outside;
	json_t *spec = NULL;
	bool ended;
	int status;

	snprintf(netns_name, sizeof(netns_name), "fdt-process-%s", run_tag);
	if (fdt_netns_add(netns_name, NULL) < 0) {
		fprintf(stderr, "skipped: cannot create network namespace %s\n", netns_name);
		netns_name[0] = '\0';
		return;
	}
	marker(mk, sizeof(mk), "netns");
	inside = spawn(mk, netns_name);
	outside = spawn(mk, NULL);
	if (inside < 0 || outside < 0)
		goto out;
	snprintf(pattern, sizeof(pattern), "^%s\\x00", mk);
	f.process.match = pattern;
	f.signal = SIGKILL;

	run_in_sibling(&driver_kill, &f, false, netns_name, &o);
	FDT_REQUIRE(o.rc == 0, out, "kill in %s: %s", netns_name, o.msg);
	spec = json_loads(o.spec, 0, NULL);
	FDT_REQUIRE(spec, out, "spec: %s", o.spec);
	FDT_CHECK(json_array_size(json_object_get(spec, "procs")) == 1, "spec: %s", o.spec);
	FDT_CHECK(spec_has_pid(spec, inside), "%d not in the spec: %s", (int)inside, o.spec);
	ended = kid_ended(inside, &status);
	FDT_CHECK(ended, "%d in the namespace still running after the kill", (int)inside);
	FDT_CHECK(ended && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "%d ended with status 0x%x, want SIGKILL", (int)inside, status);
	FDT_CHECK(waitpid(outside, &status, WNOHANG) == 0, "%d outside the namespace was hit",
		  (int)outside);
out:
	json_decref(spec);
	reap_kid(inside);
	reap_kid(outside);
}

/* Thawed, reaped, removed, whatever the tests left; the namespace goes at
 * exit (fdtest), once its children are gone. */
static void teardown(void)
{
	int i;

	thaw_cgroups();
	for (i = 0; i < MAX_KIDS; i++)
		if (kids[i])
			reap_kid(kids[i]);
	for (i = 0; i < 4; i++)
		if (cgroups[i][0] && rmdir(cgroups[i]) < 0)
			fprintf(stderr, "could not remove %s: %s\n", cgroups[i], strerror(errno));
}

#define TEST(name) { #name, test_##name }

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	TEST(kill_hits_exactly_the_matched),
	TEST(stop_and_resume),
	TEST(recycled_pid_not_signalled),
	TEST(guards_refuse_parent),
	TEST(freeze_v1),
	TEST(freeze_v2),
	TEST(netns_scope),
};

int main(void)
{
	if (!fdt_need_root())
		return FDT_SKIP;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	snprintf(run_tag, sizeof(run_tag), "%d-%ld", (int)getpid(), random() % 100000);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		fprintf(stderr, "== %s\n", tests[i].name);
		tests[i].fn();
	}
	teardown();
	return fdt_finish();
}

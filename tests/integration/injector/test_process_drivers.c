/*
 * kill / stop / freeze against real processes (root; exit 77 otherwise).
 *
 * Targets are this test's children, each in its own session, with a unique
 * marker as argv[0] (`sleep` refuses extra arguments). The driver runs in
 * a forked sibling that plays firedrill: the targets are then neither its
 * descendants nor in its session, so the guards pass without --force, as
 * they would for a real service. Revert runs here, from the spec alone, as
 * the guardian or `firedrill revert` would. Every child is reaped and every
 * cgroup and namespace removed, whatever happens (group teardown).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
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

#include <cmocka.h>

#include "driver.h"
#include "fd_netns.h"
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

static void forget_kid(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

static void reap_kid(pid_t pid)
{
	kill(pid, SIGCONT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	forget_kid(pid);
}

/* A child in its own session running `sleep 300` with argv[0] = marker,
 * optionally inside the network namespace ns. Returns once exec'd. */
static pid_t spawn(const char *marker, const char *ns)
{
	char path[64], buf[256];
	pid_t pid = fork();
	int i;

	assert_true(pid >= 0);
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
	for (i = 0; i < MAX_KIDS && kids[i]; i++)
		;
	assert_true(i < MAX_KIDS);
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
	fail_msg("child %d never exec'd %s", (int)pid, marker);
	return -1;
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

/*
 * Runs prepare + apply of drv in a forked sibling (firedrill's stand-in),
 * in netns ns when given. The sibling's describe and spec come back.
 */
static void run_in_sibling(const struct injector_driver *drv, const struct scenario_fault *f,
			   bool force, const char *ns, struct outcome *out)
{
	int fds[2];
	pid_t pid;

	memset(out, 0, sizeof(*out));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
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
	assert_int_equal(read(fds[0], out, sizeof(*out)), (ssize_t)sizeof(*out));
	close(fds[0]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
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

static void test_kill_hits_exactly_the_matched(void **st)
{
	char mk[96], decoy_mk[128], pattern[160];
	struct scenario_fault f = { .id = "kill-it", .kind = FAULT_KILL };
	struct outcome o;
	pid_t a, b, decoy;
	json_t *spec;
	int status;

	marker(mk, sizeof(mk), "kill");
	snprintf(decoy_mk, sizeof(decoy_mk), "%s-decoy", mk);
	a = spawn(mk, NULL);
	b = spawn(mk, NULL);
	decoy = spawn(decoy_mk, NULL);
	snprintf(pattern, sizeof(pattern), "^%s\\x00300$", mk);
	f.process.match = pattern;

	run_in_sibling(&driver_kill, &f, false, NULL, &o);
	assert_int_equal(o.rc, 0);
	spec = json_loads(o.spec, 0, NULL);
	assert_non_null(spec);
	assert_int_equal(json_array_size(json_object_get(spec, "procs")), 2);
	assert_true(spec_has_pid(spec, a) && spec_has_pid(spec, b));
	assert_non_null(strstr(o.desc, "TERM"));
	assert_non_null(strstr(o.desc, mk));

	assert_int_equal(waitpid(a, &status, 0), a);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	forget_kid(a);
	assert_int_equal(waitpid(b, &status, 0), b);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	forget_kid(b);
	/* Nothing else was hit. */
	assert_int_equal(waitpid(decoy, &status, WNOHANG), 0);
	assert_int_equal(driver_kill.revert(spec, NULL), 0);
	json_decref(spec);
	reap_kid(decoy);
}

static void test_stop_and_resume(void **st)
{
	char mk[96], pattern[160];
	struct scenario_fault f = { .id = "pause", .kind = FAULT_STOP };
	struct fd_error err;
	struct outcome o;
	pid_t a, b;
	json_t *spec;

	marker(mk, sizeof(mk), "stop");
	a = spawn(mk, NULL);
	b = spawn(mk, NULL);
	snprintf(pattern, sizeof(pattern), "^%s\\x00", mk);
	f.process.match = pattern;
	f.duration_ns = 60 * 1000000000LL;

	run_in_sibling(&driver_stop, &f, false, NULL, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(wait_state(a, true), 'T');
	assert_int_equal(wait_state(b, true), 'T');

	spec = json_loads(o.spec, 0, NULL);
	assert_non_null(spec);
	assert_int_equal(driver_stop.revert(spec, &err), 0);
	assert_true(strchr("SR", wait_state(a, false)) != NULL);
	assert_true(strchr("SR", wait_state(b, false)) != NULL);
	/* Idempotent, and fine once the processes are gone. */
	assert_int_equal(driver_stop.revert(spec, &err), 0);
	reap_kid(a);
	reap_kid(b);
	assert_int_equal(driver_stop.revert(spec, &err), 0);
	json_decref(spec);
}

static void test_recycled_pid_not_signalled(void **st)
{
	char mk[96], text[256];
	struct procmatch_stat ps;
	struct fd_error err;
	json_t *spec;
	pid_t a;
	int status;

	marker(mk, sizeof(mk), "recycled");
	a = spawn(mk, NULL);
	assert_int_equal(procmatch_read_stat(a, &ps), 0);

	/* A stop journaled for "this pid with another start time": revert must
	 * not resume the process that now has the pid. */
	kill(a, SIGSTOP);
	assert_int_equal(wait_state(a, true), 'T');
	snprintf(text, sizeof(text),
		 "{\"fault\":\"r\",\"procs\":[{\"pid\":%d,\"start\":%llu,\"cmdline\":\"x\"}]}",
		 (int)a, ps.start + 1);
	spec = json_loads(text, 0, NULL);
	assert_non_null(spec);
	assert_int_equal(driver_stop.revert(spec, &err), 0);
	nanosleep(&tick, NULL);
	assert_int_equal(proc_state(a), 'T');
	json_decref(spec);

	/* Matched at prepare, recycled before apply: not signalled. */
	assert_int_equal(procmatch_signal(a, ps.start + 1, SIGKILL), -ESTALE);
	assert_int_equal(waitpid(a, &status, WNOHANG), 0);
	assert_int_equal(procmatch_signal(a, ps.start, SIGCONT), 0);
	assert_true(strchr("SR", wait_state(a, false)) != NULL);
	reap_kid(a);
}

static void test_guards_refuse_parent(void **st)
{
	struct scenario_fault f = { .id = "own", .kind = FAULT_KILL };
	struct outcome o;

	/* The sibling's parent is this test: refused. */
	f.process.pid = getpid();
	run_in_sibling(&driver_kill, &f, false, NULL, &o);
	assert_int_equal(o.rc, -EPERM);
	assert_non_null(strstr(o.msg, "ancestor"));
	f.process.pid = 1;
	f.signal = SIGCONT;
	run_in_sibling(&driver_kill, &f, false, NULL, &o);
	assert_int_equal(o.rc, -EPERM);
	assert_non_null(strstr(o.msg, "pid 1"));
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

static void test_freeze_v1(void **st)
{
	char mk[96], cg[PATH_MAX], state_path[PATH_MAX + 32], state[256];
	struct scenario_fault f = { .id = "ice", .kind = FAULT_FREEZE };
	struct fd_error err;
	struct outcome o;
	json_t *spec;
	pid_t a, outsider;

	if (access(V1_FREEZER "/cgroup.procs", F_OK) < 0) {
		fprintf(stderr, "skipped: no cgroup v1 freezer at " V1_FREEZER "\n");
		skip();
	}
	assert_int_equal(make_cgroup(V1_FREEZER, cg, sizeof(cg)), 0);
	marker(mk, sizeof(mk), "freeze");
	a = spawn(mk, NULL);
	outsider = spawn(mk, NULL); /* same marker, other cgroup: not frozen */
	move_to_cgroup(cg, a);
	snprintf(state_path, sizeof(state_path), "%s/freezer.state", cg);

	/* By the process's own cgroup. */
	f.process.pid = a;
	f.duration_ns = 60 * 1000000000LL;
	run_in_sibling(&driver_freeze, &f, false, NULL, &o);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.desc, cg));
	read_line(state_path, "", state, sizeof(state));
	assert_string_equal(state, "FROZEN");
	assert_int_not_equal(proc_state(outsider), 'T');
	spec = json_loads(o.spec, 0, NULL);
	assert_non_null(spec);
	assert_true(spec_has_pid(spec, a));
	assert_false(spec_has_pid(spec, outsider));
	assert_int_equal(driver_freeze.revert(spec, &err), 0);
	read_line(state_path, "", state, sizeof(state));
	assert_string_equal(state, "THAWED");
	assert_int_equal(driver_freeze.revert(spec, &err), 0);
	json_decref(spec);

	/* By a named cgroup (the process selector must still match). */
	f.process.pid = outsider;
	f.cgroup = cg;
	run_in_sibling(&driver_freeze, &f, false, NULL, &o);
	assert_int_equal(o.rc, 0);
	read_line(state_path, "", state, sizeof(state));
	assert_string_equal(state, "FROZEN");
	spec = json_loads(o.spec, 0, NULL);
	assert_int_equal(driver_freeze.revert(spec, &err), 0);
	read_line(state_path, "", state, sizeof(state));
	assert_string_equal(state, "THAWED");
	json_decref(spec);

	/* The root cgroup is refused, --force or not. */
	f.cgroup = V1_FREEZER;
	run_in_sibling(&driver_freeze, &f, true, NULL, &o);
	assert_int_equal(o.rc, -EPERM);
	assert_non_null(strstr(o.msg, "root cgroup"));
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

static void test_freeze_v2(void **st)
{
	char mk[96], mount[PATH_MAX], cg[PATH_MAX], events[PATH_MAX + 32], line[256];
	char freeze_file[PATH_MAX + 32];
	struct scenario_fault f = { .id = "ice2", .kind = FAULT_FREEZE };
	struct fd_error err;
	struct outcome o;
	json_t *spec;
	pid_t a;

	v2_mount(mount, sizeof(mount));
	if (!mount[0] || make_cgroup(mount, cg, sizeof(cg)) < 0) {
		fprintf(stderr, "skipped: no writable cgroup v2 hierarchy\n");
		skip();
	}
	snprintf(freeze_file, sizeof(freeze_file), "%s/cgroup.freeze", cg);
	if (access(freeze_file, W_OK) < 0) {
		fprintf(stderr, "skipped: %s is not writable\n", freeze_file);
		skip();
	}
	marker(mk, sizeof(mk), "freeze2");
	a = spawn(mk, NULL);
	move_to_cgroup(cg, a);
	snprintf(events, sizeof(events), "%s/cgroup.events", cg);

	f.cgroup = cg;
	f.duration_ns = 60 * 1000000000LL;
	run_in_sibling(&driver_freeze, &f, false, NULL, &o);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.desc, "v2"));
	read_line(events, "frozen ", line, sizeof(line));
	assert_string_equal(line, "frozen 1");
	spec = json_loads(o.spec, 0, NULL);
	assert_non_null(spec);
	assert_true(spec_has_pid(spec, a));
	assert_int_equal(driver_freeze.revert(spec, &err), 0);
	read_line(events, "frozen ", line, sizeof(line));
	assert_string_equal(line, "frozen 0");
	json_decref(spec);
	reap_kid(a);
}

static void test_netns_scope(void **st)
{
	char mk[96], pattern[160], cmd[128];
	struct scenario_fault f = { .id = "scoped", .kind = FAULT_KILL };
	struct outcome o;
	pid_t inside, outside;
	json_t *spec;
	int status;

	snprintf(netns_name, sizeof(netns_name), "fdt-process-%s", run_tag);
	snprintf(cmd, sizeof(cmd), "ip netns add %s", netns_name);
	if (system(cmd) != 0) {
		netns_name[0] = '\0';
		fprintf(stderr, "skipped: cannot create network namespace (%s)\n", cmd);
		skip();
	}
	marker(mk, sizeof(mk), "netns");
	inside = spawn(mk, netns_name);
	outside = spawn(mk, NULL);
	snprintf(pattern, sizeof(pattern), "^%s\\x00", mk);
	f.process.match = pattern;
	f.signal = SIGKILL;

	run_in_sibling(&driver_kill, &f, false, netns_name, &o);
	assert_int_equal(o.rc, 0);
	spec = json_loads(o.spec, 0, NULL);
	assert_non_null(spec);
	assert_int_equal(json_array_size(json_object_get(spec, "procs")), 1);
	assert_true(spec_has_pid(spec, inside));
	json_decref(spec);
	assert_int_equal(waitpid(inside, &status, 0), inside);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	forget_kid(inside);
	assert_int_equal(waitpid(outside, &status, WNOHANG), 0);
	reap_kid(outside);
}

static int group_teardown(void **st)
{
	char path[sizeof(cgroups) + 32], cmd[128]; /* gcc cannot bound cgroups[i] tighter */
	int i;

	for (i = 0; i < 4; i++) {
		if (!cgroups[i][0])
			continue;
		snprintf(path, sizeof(path), "%s/freezer.state", cgroups[i]);
		write_file(path, "THAWED");
		snprintf(path, sizeof(path), "%s/cgroup.freeze", cgroups[i]);
		write_file(path, "0");
	}
	for (i = 0; i < MAX_KIDS; i++)
		if (kids[i])
			reap_kid(kids[i]);
	for (i = 0; i < 4; i++)
		if (cgroups[i][0] && rmdir(cgroups[i]) < 0)
			fprintf(stderr, "could not remove %s: %s\n", cgroups[i], strerror(errno));
	if (netns_name[0]) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s", netns_name);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove netns %s\n", netns_name);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_hits_exactly_the_matched),
		cmocka_unit_test(test_stop_and_resume),
		cmocka_unit_test(test_recycled_pid_not_signalled),
		cmocka_unit_test(test_guards_refuse_parent),
		cmocka_unit_test(test_freeze_v1),
		cmocka_unit_test(test_freeze_v2),
		cmocka_unit_test(test_netns_scope),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "needs root: skipped\n");
		return 77;
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	snprintf(run_tag, sizeof(run_tag), "%d-%ld", (int)getpid(), random() % 100000);
	return cmocka_run_group_tests(tests, NULL, group_teardown);
}

/*
 * procmatch: regex over NUL-joined cmdlines, pidfiles, /proc/PID/stat
 * parsing, the guards (pid 1, self, parent, own session / descendants) and
 * the start-time check before signalling. Needs no root: the target
 * processes are this test's own children.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "procmatch.h"

struct child {
	pid_t pid;
	char marker[64];
};

/* A child whose cmdline is "MARKER\0" "30" (argv[0] carries the marker:
 * sleep refuses extra arguments). Waits until exec has happened. */
static void child_spawn(struct child *c)
{
	const struct timespec tick = { 0, 2 * 1000 * 1000 };
	char path[64], buf[128];
	int i;

	snprintf(c->marker, sizeof(c->marker), "fdt-unit-marker-%d-%ld", (int)getpid(),
		 (long)random());
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		execl("/bin/sleep", c->marker, "30", (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)c->pid);
	for (i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "re");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		if (strcmp(buf, c->marker) == 0)
			return;
		nanosleep(&tick, NULL);
	}
	fail_msg("child never exec'd");
}

static void child_reap(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
}

static void test_regex_nul_joined(void **st)
{
	static const char cmd[] = "/usr/bin/api-server\0--port=80\0--region=us-east-1";
	struct procmatch_regex *re = NULL;
	struct fd_error err;
	size_t len = sizeof(cmd) - 1;

	assert_int_equal(procmatch_regex_new("^/usr/bin/api-server\\x00.*--region=us-east-1$", &re,
					     &err), 0);
	assert_int_equal(procmatch_regex_match(re, cmd, len), 1);
	procmatch_regex_free(re);

	/* Arguments are not joined by spaces. */
	assert_int_equal(procmatch_regex_new("api-server --port", &re, &err), 0);
	assert_int_equal(procmatch_regex_match(re, cmd, len), 0);
	procmatch_regex_free(re);

	/* The whole buffer is searched, past the first NUL. */
	assert_int_equal(procmatch_regex_new("region=us-east-1", &re, &err), 0);
	assert_int_equal(procmatch_regex_match(re, cmd, len), 1);
	assert_int_equal(procmatch_regex_match(re, cmd, 10), 0);
	procmatch_regex_free(re);
}

static void test_regex_bad(void **st)
{
	struct procmatch_regex *re = NULL;
	struct fd_error err;

	assert_int_equal(procmatch_regex_new("api(", &re, &err), -EINVAL);
	assert_null(re);
	assert_int_equal(err.kind, FD_ERR_INPUT);
	assert_non_null(strstr(err.msg, "'api('"));
	assert_non_null(strstr(err.msg, "offset"));
}

static void test_pidfile_parse(void **st)
{
	pid_t pid = 0;

	assert_int_equal(procmatch_parse_pidfile("1234\n", 5, &pid), 0);
	assert_int_equal(pid, 1234);
	assert_int_equal(procmatch_parse_pidfile("  42 \n", 6, &pid), 0);
	assert_int_equal(pid, 42);
	assert_int_equal(procmatch_parse_pidfile("", 0, &pid), -EINVAL);
	assert_int_equal(procmatch_parse_pidfile("\n", 1, &pid), -EINVAL);
	assert_int_equal(procmatch_parse_pidfile("abc", 3, &pid), -EINVAL);
	assert_int_equal(procmatch_parse_pidfile("12a\n", 4, &pid), -EINVAL);
	assert_int_equal(procmatch_parse_pidfile("12 13", 5, &pid), -EINVAL);
	assert_int_equal(procmatch_parse_pidfile("0", 1, &pid), -EINVAL);
	assert_int_equal(procmatch_parse_pidfile("-5", 2, &pid), -EINVAL);
	assert_int_equal(procmatch_parse_pidfile("99999999999", 11, &pid), -EINVAL);
}

static void test_pidfile_find(void **st)
{
	struct scenario_fault f = { .id = "pf" };
	struct driver_ctx ctx = { .force = true, .base_dir = "/tmp" };
	struct procmatch_set set = { 0 };
	struct child c = { 0 };
	struct fd_error err;
	char name[64], path[96];
	FILE *fp;

	child_spawn(&c);
	snprintf(name, sizeof(name), "fdt-unit-%d.pid", (int)getpid());
	snprintf(path, sizeof(path), "/tmp/%s", name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "%d\n", (int)c.pid);
	fclose(fp);

	f.process.pidfile = name; /* relative: to the scenario's folder */
	assert_int_equal(procmatch_find(&f, &ctx, &set, &err), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.procs[0].pid, c.pid);
	assert_non_null(strstr(set.procs[0].cmdline, c.marker));
	procmatch_set_clear(&set);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("not a pid\n", fp);
	fclose(fp);
	assert_true(procmatch_find(&f, &ctx, &set, &err) < 0);
	assert_non_null(strstr(err.msg, "does not hold a pid"));
	unlink(path);
	assert_int_equal(procmatch_find(&f, &ctx, &set, &err), -ENOENT);
	assert_non_null(strstr(err.msg, name));
	child_reap(&c);
}

static void test_parse_stat(void **st)
{
	/* comm with spaces and parentheses must not shift the fields. */
	static const char text[] =
		"4242 (we ird) (x) S 17 4242 4200 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
		"987654321 1000 100 18446744073709551615\n";
	struct procmatch_stat s;

	assert_int_equal(procmatch_parse_stat(text, &s), 0);
	assert_int_equal(s.state, 'S');
	assert_int_equal(s.ppid, 17);
	assert_int_equal(s.sid, 4200);
	assert_true(s.start == 987654321ULL);
	assert_int_equal(procmatch_parse_stat("12 (short) S 1 2", &s), -EINVAL);
	assert_int_equal(procmatch_parse_stat("no paren", &s), -EINVAL);

	assert_int_equal(procmatch_read_stat(getpid(), &s), 0);
	assert_int_equal(s.ppid, getppid());
	assert_int_equal(s.sid, getsid(0));
}

static void test_guards(void **st)
{
	struct fd_error err;
	struct child c = { 0 };

	assert_int_equal(procmatch_guard(1, "g", false, &err), -EPERM);
	assert_non_null(strstr(err.msg, "pid 1"));
	assert_non_null(strstr(err.msg, "fault g"));
	assert_int_equal(procmatch_guard(getpid(), "g", false, &err), -EPERM);
	assert_non_null(strstr(err.msg, "firedrill itself"));
	assert_int_equal(procmatch_guard(getppid(), "g", false, &err), -EPERM);
	assert_non_null(strstr(err.msg, "ancestor"));
	assert_int_equal(err.kind, FD_ERR_INPUT);

	child_spawn(&c);
	assert_int_equal(procmatch_guard(c.pid, "g", false, &err), -EPERM);
	assert_non_null(strstr(err.msg, c.marker));
	/* --force lifts every guard. */
	assert_int_equal(procmatch_guard(c.pid, "g", true, &err), 0);
	assert_int_equal(procmatch_guard(1, "g", true, &err), 0);
	child_reap(&c);
}

static void test_find_by_regex(void **st)
{
	struct scenario_fault f = { .id = "re" };
	struct driver_ctx ctx = { .force = false };
	struct procmatch_set set = { 0 };
	struct child a = { 0 }, b = { 0 };
	struct fd_error err;
	char pattern[160];

	child_spawn(&a);
	child_spawn(&b);
	snprintf(pattern, sizeof(pattern), "^%s\\x0030$", a.marker);
	f.process.match = pattern;

	/* Our own child is in our session: refused without --force. */
	assert_int_equal(procmatch_find(&f, &ctx, &set, &err), -EPERM);
	assert_non_null(strstr(err.msg, a.marker));

	ctx.force = true;
	ctx.netns = "same"; /* scoped: the child shares our network namespace */
	assert_int_equal(procmatch_find(&f, &ctx, &set, &err), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.procs[0].pid, a.pid);
	assert_false(set.procs[0].was_stopped);
	procmatch_set_clear(&set);

	f.process.match = "fdt-unit-marker-nobody-has-this";
	assert_int_equal(procmatch_find(&f, &ctx, &set, &err), -ESRCH);
	assert_non_null(strstr(err.msg, "fdt-unit-marker-nobody-has-this"));
	assert_non_null(strstr(err.msg, "fault re"));
	assert_int_equal(set.n, 0);

	f.process.match = "((";
	assert_int_equal(procmatch_find(&f, &ctx, &set, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "fault re"));
	child_reap(&a);
	child_reap(&b);
}

static void test_find_self_never_matches(void **st)
{
	struct scenario_fault f = { .id = "self" };
	struct driver_ctx ctx = { .force = true };
	struct procmatch_set set = { 0 };
	struct fd_error err;
	char self[512] = "", pattern[600];
	FILE *fp = fopen("/proc/self/cmdline", "re");

	/* Even with --force a regex never picks firedrill itself. */
	assert_non_null(fp);
	assert_true(fread(self, 1, sizeof(self) - 1, fp) > 0);
	fclose(fp);
	snprintf(pattern, sizeof(pattern), "^\\Q%s\\E$", self);
	f.process.match = pattern;
	assert_int_equal(procmatch_find(&f, &ctx, &set, &err), -ESRCH);

	f.process.match = NULL;
	f.process.pid = 1;
	ctx.force = false;
	assert_int_equal(procmatch_find(&f, &ctx, &set, &err), -EPERM);
}

static void test_signal_checks_start_time(void **st)
{
	struct procmatch_stat s;
	struct child c = { 0 };
	int status = 0;

	child_spawn(&c);
	assert_int_equal(procmatch_read_stat(c.pid, &s), 0);

	/* A recycled pid (another start time) is never signalled. */
	assert_int_equal(procmatch_signal(c.pid, s.start + 1, SIGTERM), -ESTALE);
	assert_int_equal(waitpid(c.pid, &status, WNOHANG), 0);

	assert_int_equal(procmatch_signal(c.pid, s.start, SIGTERM), 0);
	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	c.pid = 0;
}

static void test_signal_set_skips_gone(void **st)
{
	struct procmatch_set set = { 0 };
	struct child a = { 0 }, b = { 0 };
	struct fd_error err;
	size_t skipped = 99;
	int status;

	child_spawn(&a);
	child_spawn(&b);
	assert_int_equal(procmatch_set_add_pid(&set, a.pid), 0);
	assert_int_equal(procmatch_set_add_pid(&set, b.pid), 0);
	set.procs[1].start += 7; /* b "recycled" */
	assert_int_equal(procmatch_signal_set(&set, SIGKILL, 0, "k", &skipped, &err), 0);
	assert_int_equal(skipped, 1);
	assert_int_equal(waitpid(a.pid, &status, 0), a.pid);
	a.pid = 0;
	assert_int_equal(waitpid(b.pid, &status, WNOHANG), 0);

	set.procs[0].start += 7;
	assert_int_equal(procmatch_signal_set(&set, SIGKILL, 0, "k", &skipped, &err), -ESRCH);
	assert_non_null(strstr(err.msg, "none of the 2"));
	procmatch_set_clear(&set);
	child_reap(&b);
}

static void test_json_round_trip(void **st)
{
	struct procmatch_set set = { 0 }, back = { 0 };
	struct fd_error err;
	json_t *j;

	assert_int_equal(procmatch_set_add_pid(&set, getpid()), 0);
	set.procs[0].was_stopped = true;
	j = procmatch_set_to_json(&set);
	assert_non_null(j);
	assert_int_equal(procmatch_set_from_json(j, &back, &err), 0);
	assert_int_equal(back.n, 1);
	assert_int_equal(back.procs[0].pid, getpid());
	assert_true(back.procs[0].start == set.procs[0].start);
	assert_true(back.procs[0].was_stopped);
	assert_string_equal(back.procs[0].cmdline, set.procs[0].cmdline);
	json_decref(j);
	procmatch_set_clear(&back);

	j = json_pack("[{s:i}]", "pid", 5);
	assert_int_equal(procmatch_set_from_json(j, &back, &err), -EINVAL);
	assert_int_equal(err.kind, FD_ERR_INTERNAL);
	json_decref(j);
	procmatch_set_clear(&set);
}

static void test_format_truncates(void **st)
{
	struct procmatch_proc procs[3] = {
		{ .pid = 11, .cmdline = "aaaaaaaaaa" },
		{ .pid = 22, .cmdline = "bbbbbbbbbb" },
		{ .pid = 33, .cmdline = "cccccccccc" },
	};
	struct procmatch_set set = { procs, 3 };
	char buf[40], sig[32];

	procmatch_set_format(&set, buf, sizeof(buf));
	assert_string_equal(buf, "11 (aaaaaaaaaa), 22 (bbbbbbbbbb), ...");
	procmatch_set_format(&set, buf, 4);
	assert_true(strlen(buf) < 4);
	assert_string_equal(procmatch_signal_name(SIGTERM, sig, sizeof(sig)), "TERM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regex_nul_joined),
		cmocka_unit_test(test_regex_bad),
		cmocka_unit_test(test_pidfile_parse),
		cmocka_unit_test(test_pidfile_find),
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_guards),
		cmocka_unit_test(test_find_by_regex),
		cmocka_unit_test(test_find_self_never_matches),
		cmocka_unit_test(test_signal_checks_start_time),
		cmocka_unit_test(test_signal_set_skips_gone),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_format_truncates),
	};

	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The runbook step runner: order, exit status, timeouts, manual laps (done,
 * failed, skipped), a failed step stopping the steps after it unless
 * on-failure: continue, cancel, a step in a place of its own. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drill_internal.h"
#include "fd_time.h"

#define MS FD_NS_PER_MS

/* Ticks until a step ends or limit_ms passes; returns its index or -1. */
static long tick_until(struct step_runner *sr, struct store_lap *lap, int limit_ms)
{
	int64_t end = fd_mono_ns() + limit_ms * MS;
	long r;

	while ((r = step_runner_tick(sr, fd_mono_ns(), lap)) < 0 && fd_mono_ns() < end)
		usleep(5000);
	return r;
}

static void automated_in_order(void **state)
{
	struct scenario_step steps[] = {
		{ .name = (char *)"first", .run = (char *)"echo hello; exit 0" },
		{ .name = (char *)"second", .run = (char *)"echo oops >&2; exit 3" },
	};
	struct step_runner *sr = step_runner_new(steps, 2, 10 * FD_NS_PER_S, NULL);
	struct store_lap lap;
	size_t idx = 99;

	(void)state;
	assert_non_null(sr);
	assert_null(step_runner_current(sr, &idx));
	assert_int_equal(step_runner_tick(sr, fd_mono_ns(), &lap), -1); /* not started */
	assert_int_equal(step_runner_start(sr, fd_mono_ns(), NULL), 0);
	assert_string_equal(step_runner_current(sr, &idx)->name, "first");
	assert_int_equal(idx, 0);
	assert_int_equal(tick_until(sr, &lap, 5000), 0);
	assert_true(lap.ok);
	assert_string_equal(lap.name, "first");
	assert_non_null(strstr(lap.detail, "exit 0: hello"));
	assert_true(lap.ended_mono_ns >= lap.started_mono_ns);
	assert_int_equal(tick_until(sr, &lap, 5000), 1);
	assert_false(lap.ok);
	assert_non_null(strstr(lap.detail, "exit 3: oops"));
	assert_true(step_runner_finished(sr));
	assert_int_equal(step_runner_tick(sr, fd_mono_ns(), &lap), -1);
	step_runner_free(sr);
}

/* True once pid has exited: no /proc entry, or a zombie nobody reaped yet. */
static bool process_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;

	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/*
 * The step's shell starts a background sleep in its own process group and
 * waits: killing only the shell would leave that sleep running, so the
 * test checks the sleep itself is gone.
 */
static void automated_timeout_kills_group(void **state)
{
	char pidfile[64], run[160];
	struct scenario_step steps[] = {
		{ .name = (char *)"hang", .run = run, .timeout_ns = 200 * MS },
	};
	struct step_runner *sr;
	struct store_lap lap;
	int64_t t0 = fd_mono_ns(), end;
	pid_t child;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "/tmp/fdt-steps-%d.pid", (int)getpid());
	unlink(pidfile);
	snprintf(run, sizeof(run), "sleep 30 & echo $! > %s; wait", pidfile);
	sr = step_runner_new(steps, 1, 0, NULL);
	assert_non_null(sr);
	assert_int_equal(step_runner_start(sr, t0, NULL), 0);
	assert_int_equal(tick_until(sr, &lap, 5000), 0);
	assert_false(lap.ok);
	assert_non_null(strstr(lap.detail, "timed out"));
	/* killed promptly, not after sleep 30 */
	assert_true(fd_mono_ns() - t0 < 10 * FD_NS_PER_S);
	child = read_pid(pidfile);
	unlink(pidfile);
	assert_true(child > 0); /* the step did start its sleep */
	end = fd_mono_ns() + 2 * FD_NS_PER_S;
	while (!process_gone(child) && fd_mono_ns() < end)
		usleep(10000);
	if (!process_gone(child)) {
		kill(child, SIGKILL);
		fail_msg("the step's background sleep (pid %d) outlived the timeout kill", (int)child);
	}
	step_runner_free(sr);
}

static void manual_marked(void **state)
{
	struct scenario_step steps[] = {
		{ .name = (char *)"auto", .run = (char *)"true" },
		{ .name = (char *)"by hand", .manual = true },
		{ .name = (char *)"after", .run = (char *)"true" },
	};
	struct step_runner *sr = step_runner_new(steps, 3, 10 * FD_NS_PER_S, NULL);
	struct store_lap lap;
	size_t idx;

	(void)state;
	assert_int_equal(step_runner_start(sr, fd_mono_ns(), NULL), 0);
	/* marking while an automated step runs is refused */
	assert_int_equal(step_runner_mark(sr, fd_mono_ns(), STEP_DONE, "x", &lap), -EAGAIN);
	assert_int_equal(tick_until(sr, &lap, 5000), 0);
	assert_true(step_runner_current(sr, &idx)->manual);
	assert_int_equal(step_runner_tick(sr, fd_mono_ns(), &lap), -1); /* waits for the operator */
	assert_int_equal(step_runner_mark(sr, fd_mono_ns(), STEP_DONE, "done by alice", &lap), 1);
	assert_true(lap.ok);
	assert_true(lap.manual);
	assert_string_equal(lap.detail, "done by alice");
	assert_int_equal(tick_until(sr, &lap, 5000), 2);
	assert_true(step_runner_finished(sr));
	assert_int_equal(step_runner_mark(sr, fd_mono_ns(), STEP_DONE, NULL, &lap), -EAGAIN);
	step_runner_free(sr);
}

static void manual_timeout(void **state)
{
	struct scenario_step steps[] = {
		{ .name = (char *)"by hand", .manual = true, .timeout_ns = 100 * MS },
	};
	struct step_runner *sr = step_runner_new(steps, 1, 0, NULL);
	struct store_lap lap;
	int64_t t0 = 1000 * MS;

	(void)state;
	assert_int_equal(step_runner_start(sr, t0, NULL), 0);
	assert_int_equal(step_runner_tick(sr, t0 + 99 * MS, &lap), -1);
	assert_int_equal(step_runner_tick(sr, t0 + 100 * MS, &lap), 0);
	assert_false(lap.ok);
	assert_non_null(strstr(lap.detail, "not marked done"));
	step_runner_free(sr);
}

static void cancel_marks_rest(void **state)
{
	struct scenario_step steps[] = {
		{ .name = (char *)"slow", .run = (char *)"sleep 30" },
		{ .name = (char *)"never", .run = (char *)"true" },
	};
	struct step_runner *sr = step_runner_new(steps, 2, 0, NULL);
	const struct store_lap *laps;
	size_t n;

	(void)state;
	assert_int_equal(step_runner_start(sr, fd_mono_ns(), NULL), 0);
	step_runner_cancel(sr, fd_mono_ns(), "the system recovered before this step ended");
	assert_true(step_runner_finished(sr));
	laps = step_runner_laps(sr, &n);
	assert_int_equal(n, 2);
	assert_true(step_runner_started(sr, 0));
	assert_false(step_runner_started(sr, 1));
	assert_int_equal(step_runner_state(sr, 0), STEP_FAILED);
	assert_int_equal(step_runner_state(sr, 1), STEP_NOT_RUN);
	assert_false(laps[0].ok);
	assert_non_null(strstr(laps[0].detail, "recovered"));
	assert_true(laps[0].ended_mono_ns > 0);
	assert_int_equal(laps[1].ended_mono_ns, 0);
	step_runner_free(sr);
}

/* A failed step stops the steps after it: they end not run, never started. */
static void failure_stops_the_rest(void **state)
{
	struct scenario_step steps[] = {
		{ .name = (char *)"confirm primary down", .run = (char *)"exit 1" },
		{ .name = (char *)"promote", .run = (char *)"touch /nonexistent-should-not-run" },
		{ .name = (char *)"by hand", .manual = true },
	};
	struct step_runner *sr = step_runner_new(steps, 3, 10 * FD_NS_PER_S, NULL);
	const struct store_lap *laps;
	struct store_lap lap;
	size_t n;

	(void)state;
	assert_int_equal(step_runner_stopped_at(sr), -1);
	assert_int_equal(step_runner_start(sr, fd_mono_ns(), NULL), 0);
	assert_int_equal(step_runner_state(sr, 0), STEP_RUNNING);
	assert_int_equal(tick_until(sr, &lap, 5000), 0);
	assert_false(lap.ok);
	assert_true(step_runner_finished(sr));
	assert_int_equal(step_runner_stopped_at(sr), 0);
	assert_int_equal(step_runner_state(sr, 0), STEP_FAILED);
	assert_int_equal(step_runner_state(sr, 1), STEP_NOT_RUN);
	assert_int_equal(step_runner_state(sr, 2), STEP_NOT_RUN);
	assert_false(step_runner_started(sr, 1));
	laps = step_runner_laps(sr, &n);
	assert_string_equal(laps[1].detail, "not run: step 1 \"confirm primary down\" failed");
	assert_int_equal(step_runner_tick(sr, fd_mono_ns(), &lap), -1);
	assert_int_equal(step_runner_mark(sr, fd_mono_ns(), STEP_DONE, NULL, &lap), -EAGAIN);
	step_runner_free(sr);
}

/* on-failure: continue, and a runner told to keep going (the failback). */
static void failure_continues(void **state)
{
	struct scenario_step steps[] = {
		{ .name = (char *)"best effort", .run = (char *)"exit 2", .on_failure_continue = true },
		{ .name = (char *)"next", .run = (char *)"exit 0" },
	};
	struct scenario_step plain[] = {
		{ .name = (char *)"fails", .run = (char *)"exit 2" },
		{ .name = (char *)"runs anyway", .run = (char *)"exit 0" },
	};
	struct step_runner *sr = step_runner_new(steps, 2, 10 * FD_NS_PER_S, NULL);
	struct store_lap lap;

	(void)state;
	assert_int_equal(step_runner_start(sr, fd_mono_ns(), NULL), 0);
	assert_int_equal(tick_until(sr, &lap, 5000), 0);
	assert_false(lap.ok);
	assert_int_equal(tick_until(sr, &lap, 5000), 1);
	assert_true(lap.ok);
	assert_int_equal(step_runner_stopped_at(sr), -1);
	step_runner_free(sr);

	sr = step_runner_new(plain, 2, 10 * FD_NS_PER_S, NULL);
	step_runner_set_stop_on_failure(sr, false);
	assert_int_equal(step_runner_start(sr, fd_mono_ns(), NULL), 0);
	assert_int_equal(tick_until(sr, &lap, 5000), 0);
	assert_int_equal(tick_until(sr, &lap, 5000), 1);
	assert_true(lap.ok);
	step_runner_free(sr);
}

/* A manual step marked failed stops the rest; skipped goes on. */
static void manual_failed_and_skipped(void **state)
{
	struct scenario_step steps[] = {
		{ .name = (char *)"skip me", .manual = true },
		{ .name = (char *)"gate", .manual = true },
		{ .name = (char *)"promote", .run = (char *)"true" },
	};
	struct step_runner *sr = step_runner_new(steps, 3, 10 * FD_NS_PER_S, NULL);
	struct store_lap lap;

	(void)state;
	assert_int_equal(step_runner_start(sr, fd_mono_ns(), NULL), 0);
	assert_int_equal(step_runner_mark(sr, fd_mono_ns(), STEP_RUNNING, "x", &lap), -EINVAL);
	assert_int_equal(step_runner_mark(sr, fd_mono_ns(), STEP_SKIPPED, "no time", &lap), 0);
	assert_false(lap.ok);
	assert_string_equal(lap.detail, "no time");
	assert_int_equal(step_runner_state(sr, 0), STEP_SKIPPED);
	assert_int_equal(step_runner_state(sr, 1), STEP_RUNNING);
	assert_int_equal(step_runner_mark(sr, fd_mono_ns(), STEP_FAILED, "primary still up", &lap), 1);
	assert_false(lap.ok);
	assert_int_equal(step_runner_state(sr, 1), STEP_FAILED);
	assert_int_equal(step_runner_state(sr, 2), STEP_NOT_RUN);
	assert_int_equal(step_runner_stopped_at(sr), 1);
	assert_true(step_runner_finished(sr));
	step_runner_free(sr);
}

static void no_steps(void **state)
{
	struct step_runner *sr = step_runner_new(NULL, 0, 0, NULL);
	struct store_lap lap;

	(void)state;
	assert_non_null(sr);
	assert_int_equal(step_runner_start(sr, 0, NULL), 0);
	assert_true(step_runner_finished(sr));
	assert_int_equal(step_runner_tick(sr, 0, &lap), -1);
	step_runner_free(sr);
}

/* A step's place: one that is gone fails the step with the reason; one
 * that is there (root: entering it needs CAP_SYS_ADMIN) runs the step. */
static void step_places(void **state)
{
	struct scenario_step steps[] = {
		{ .name = (char *)"gone", .run = (char *)"true", .on_failure_continue = true },
		{ .name = (char *)"here", .run = (char *)"readlink /proc/self/ns/net" },
	};
	const char *const netns[] = { "/proc/999999999/ns/net", "/proc/self/ns/net" };
	struct step_runner *sr = step_runner_new(steps, 2, 10 * FD_NS_PER_S, netns);
	struct store_lap lap;
	char ns[64] = "";
	ssize_t n = readlink("/proc/self/ns/net", ns, sizeof(ns) - 1);

	(void)state;
	assert_non_null(sr);
	assert_true(n > 0);
	assert_int_equal(step_runner_start(sr, fd_mono_ns(), NULL), 0);
	assert_int_equal(tick_until(sr, &lap, 5000), 0);
	assert_false(lap.ok);
	assert_string_equal(lap.detail, "netns /proc/999999999/ns/net: No such file or directory");
	assert_int_equal(tick_until(sr, &lap, 5000), 1);
	if (geteuid() == 0) {
		assert_true(lap.ok);
		assert_non_null(strstr(lap.detail, ns));
	} else {
		printf("skipped: not root, the step cannot enter a namespace (%s)\n", lap.detail);
	}
	step_runner_free(sr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(automated_in_order),
		cmocka_unit_test(automated_timeout_kills_group),
		cmocka_unit_test(manual_marked),
		cmocka_unit_test(manual_timeout),
		cmocka_unit_test(cancel_marks_rest),
		cmocka_unit_test(failure_stops_the_rest),
		cmocka_unit_test(failure_continues),
		cmocka_unit_test(manual_failed_and_skipped),
		cmocka_unit_test(no_steps),
		cmocka_unit_test(step_places),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

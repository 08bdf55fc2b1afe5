/*
 * exec driver: output captured (bounded, tail kept), exit status and last
 * lines quoted on failure, timeout kills the whole process group, revert
 * runs from the spec alone in the scenario's folder, a failed inject runs
 * the revert command.
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "driver.h"
#include "fd_time.h"

struct fixture {
	char dir[64];
};

static int setup(void **st)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/fdt-exec-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	*st = fx;
	return 0;
}

static int teardown(void **st)
{
	struct fixture *fx = *st;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* prepare + apply of an exec fault; returns apply's code (prepare must work). */
static int run_fault(struct fixture *fx, const char *inject, const char *revert,
		     int64_t timeout_ns, json_t **spec, char *desc, size_t desc_len,
		     struct fd_error *err)
{
	struct scenario_fault f = {
		.id = "hook", .kind = FAULT_EXEC, .duration_ns = 60 * FD_NS_PER_S,
		.inject_cmd = (char *)inject, .revert_cmd = (char *)revert,
		.timeout_ns = timeout_ns,
	};
	struct driver_ctx ctx = { .base_dir = fx->dir };
	void *state = NULL;
	int rc;

	assert_int_equal(driver_exec.prepare(&f, &ctx, &state, err), 0);
	if (desc)
		driver_exec.describe(state, desc, desc_len);
	rc = driver_exec.apply(state, &ctx, err);
	if (spec)
		*spec = driver_exec.spec(state);
	driver_exec.free_state(state);
	return rc;
}

static bool file_exists(const struct fixture *fx, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	return access(path, F_OK) == 0;
}

static void test_output_captured(void **st)
{
	struct fixture *fx = *st;
	struct fd_error err;
	json_t *spec = NULL;
	char desc[256];

	assert_int_equal(run_fault(fx, "echo hello; echo oops >&2; pwd", "echo undo", 0, &spec,
				   desc, sizeof(desc), &err),
			 0);
	assert_non_null(strstr(desc, "echo hello"));
	assert_non_null(strstr(desc, "revert: `echo undo`"));
	assert_non_null(spec);
	assert_int_equal(json_integer_value(json_object_get(spec, "inject_status")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(spec, "inject_output")),
			       "hello\noops\n"));
	/* Commands run in the scenario's folder. */
	assert_non_null(strstr(json_string_value(json_object_get(spec, "inject_output")),
			       fx->dir));
	assert_string_equal(json_string_value(json_object_get(spec, "revert")), "echo undo");
	assert_string_equal(json_string_value(json_object_get(spec, "cwd")), fx->dir);
	json_decref(spec);
}

static void test_exit_status_reported(void **st)
{
	struct fixture *fx = *st;
	struct fd_error err;

	assert_int_equal(run_fault(fx, "echo line1; echo line2; exit 3", NULL, 0, NULL, NULL, 0,
				   &err),
			 -EIO);
	assert_int_equal(err.kind, FD_ERR_ENV);
	assert_non_null(strstr(err.msg, "fault hook"));
	assert_non_null(strstr(err.msg, "exited with status 3"));
	assert_non_null(strstr(err.msg, "line1|line2"));
	assert_non_null(strstr(err.msg, "`echo line1; echo line2; exit 3`"));

	assert_int_equal(run_fault(fx, "kill -KILL $$", NULL, 0, NULL, NULL, 0, &err), -EIO);
	assert_non_null(strstr(err.msg, "killed by signal SIGKILL"));
}

static void test_timeout_kills_group(void **st)
{
	struct fixture *fx = *st;
	struct fd_error err;
	char path[128], buf[32] = "";
	int64_t t0 = fd_mono_ns();
	int status = 0, bg;
	FILE *f;

	/* Orphans of the killed group come back to us to be reaped. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(run_fault(fx, "sleep 30 & echo $! > bg.pid; echo started; wait", NULL,
				   300 * FD_NS_PER_MS, NULL, NULL, 0, &err),
			 -ETIMEDOUT);
	assert_true(fd_mono_ns() - t0 < 20 * FD_NS_PER_S);
	assert_non_null(strstr(err.msg, "timed out"));
	assert_non_null(strstr(err.msg, "started"));
	snprintf(path, sizeof(path), "%s/bg.pid", fx->dir);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	bg = atoi(buf);
	assert_true(bg > 0);
	/* The background sleep was in the group: killed, not left running. */
	assert_int_equal(waitpid(bg, &status, 0), bg);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void test_output_bounded(void **st)
{
	struct fixture *fx = *st;
	struct fd_error err;
	json_t *spec = NULL;
	const char *out;

	assert_int_equal(run_fault(fx, "head -c 200000 /dev/zero | tr '\\0' a; echo; echo END",
				   NULL, 0, &spec, NULL, 0, &err),
			 0);
	out = json_string_value(json_object_get(spec, "inject_output"));
	assert_non_null(out);
	assert_int_equal(strlen(out), 64 * 1024);
	assert_string_equal(out + strlen(out) - 4, "END\n");
	assert_true(json_is_true(json_object_get(spec, "inject_output_truncated")));
	json_decref(spec);
}

static void test_revert_from_spec(void **st)
{
	struct fixture *fx = *st;
	struct fd_error err;
	json_t *spec;

	spec = json_pack("{s:s, s:s, s:s, s:s, s:I}", "fault", "hook", "inject", "true", "revert",
			 "touch reverted", "cwd", fx->dir, "timeout_ns",
			 (json_int_t)(5 * FD_NS_PER_S));
	assert_int_equal(driver_exec.revert(spec, &err), 0);
	assert_true(file_exists(fx, "reverted"));
	json_decref(spec);

	spec = json_pack("{s:s, s:s, s:s, s:s}", "fault", "hook", "inject", "true", "revert",
			 "echo nope; exit 4", "cwd", fx->dir);
	assert_int_equal(driver_exec.revert(spec, &err), -EIO);
	assert_non_null(strstr(err.msg, "revert command"));
	assert_non_null(strstr(err.msg, "status 4"));
	assert_non_null(strstr(err.msg, "nope"));
	json_decref(spec);

	/* No revert command: nothing to do. */
	spec = json_pack("{s:s, s:s, s:n}", "fault", "hook", "inject", "true", "revert");
	assert_int_equal(driver_exec.revert(spec, &err), 0);
	json_decref(spec);
}

static void test_failed_inject_runs_revert(void **st)
{
	struct fixture *fx = *st;
	struct fd_error err;
	json_t *spec = NULL;

	assert_int_equal(run_fault(fx, "touch half-done; exit 1", "rm half-done; touch undone", 0,
				   &spec, NULL, 0, &err),
			 -EIO);
	assert_false(file_exists(fx, "half-done"));
	assert_true(file_exists(fx, "undone"));
	assert_int_equal(json_integer_value(json_object_get(spec, "inject_status")), 1);
	json_decref(spec);
}

static void test_prepare_refuses_empty(void **st)
{
	struct scenario_fault f = { .id = "hook", .kind = FAULT_EXEC, .inject_cmd = "" };
	struct fd_error err;
	void *state = (void *)1;

	assert_int_equal(driver_exec.prepare(&f, NULL, &state, &err), -EINVAL);
	assert_null(state);
	assert_int_equal(err.kind, FD_ERR_INPUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_output_captured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_status_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revert_from_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_inject_runs_revert, setup, teardown),
		cmocka_unit_test(test_prepare_refuses_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

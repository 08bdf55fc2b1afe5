/*
 * Every tests/data/bad/NN-what.yaml must be refused with exactly the line
 * in NN-what.expected, quickly; the collecting validator (scenario_check)
 * must sort that same line first. tests/data/multi/many-errors.yaml must
 * give every line of its .expected, in order; a file of many errors stops
 * at SCENARIO_MAX_ERRORS; a file of faults alone is a scenario for inject,
 * not for run.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd_time.h"
#include "scenario.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static int check_one(const char *dir, const char *name)
{
	char path[8192], expected_path[8192 + 16];
	size_t len = 0, elen = 0;
	char *buf, *expected;
	struct scenario *s = NULL;
	struct fd_error err;
	int64_t t0, dt;
	int bad = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(expected_path, sizeof(expected_path), "%.*s.expected", (int)(strlen(path) - 5), path);
	buf = slurp(path, &len);
	expected = slurp(expected_path, &elen);
	if (!buf || !expected) {
		print_error("%s: cannot read the case or its .expected\n", name);
		free(buf);
		free(expected);
		return 1;
	}
	while (elen && (expected[elen - 1] == '\n'))
		expected[--elen] = '\0';
	t0 = fd_mono_ns();
	if (scenario_load_buffer(name, buf, len, &s, &err) == 0) {
		print_error("%s: loaded, but must be refused with\n  %s\n", name, expected);
		scenario_free(s);
		bad = 1;
	} else if (strcmp(err.msg, expected) != 0) {
		print_error("%s:\n  want %s\n  got  %s\n", name, expected, err.msg);
		bad = 1;
	} else if (err.kind != FD_ERR_INPUT) {
		print_error("%s: error kind %d, want FD_ERR_INPUT\n", name, err.kind);
		bad = 1;
	}
	if (!bad) {
		struct scenario_errors *errs = malloc(sizeof(*errs));

		if (!errs || scenario_check_buffer(name, buf, len, SCENARIO_FOR_RUN, errs) == 0 ||
		    errs->n == 0 || strcmp(errs->e[0].err.msg, expected) != 0) {
			print_error("%s: scenario_check's first error is not\n  %s\n  got  %s\n", name,
				    expected, errs && errs->n ? errs->e[0].err.msg : "(none)");
			bad = 1;
		}
		free(errs);
	}
	dt = fd_mono_ns() - t0;
	/* not a timing threshold: catches an exponential blow-up only */
	if (dt > 10 * FD_NS_PER_S) {
		print_error("%s: took %lld ms\n", name, (long long)(dt / FD_NS_PER_MS));
		bad = 1;
	}
	free(buf);
	free(expected);
	return bad;
}

static void test_bad_corpus(void **state)
{
	const char *root = getenv("FD_SOURCE_ROOT");
	char dir[4096];
	struct dirent *de;
	DIR *d;
	int cases = 0, failures = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/data/bad", root ? root : ".");
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 6 || strcmp(de->d_name + n - 5, ".yaml") != 0)
			continue;
		cases++;
		failures += check_one(dir, de->d_name);
	}
	closedir(d);
	print_message("%d malformed scenarios checked\n", cases);
	assert_true(cases >= 30);
	assert_int_equal(failures, 0);
}

/* Every error of a file with many, sorted by position, the same as a file says them. */
static void test_many_errors(void **state)
{
	const char *root = getenv("FD_SOURCE_ROOT");
	struct scenario_errors *errs = malloc(sizeof(*errs));
	char path[4096], *buf, *expected, *line, *save = NULL;
	size_t len = 0, elen = 0, i = 0;

	(void)state;
	assert_non_null(errs);
	snprintf(path, sizeof(path), "%s/tests/data/multi/many-errors.yaml", root ? root : ".");
	buf = slurp(path, &len);
	snprintf(path, sizeof(path), "%s/tests/data/multi/many-errors.expected", root ? root : ".");
	expected = slurp(path, &elen);
	assert_non_null(buf);
	assert_non_null(expected);
	assert_int_equal(scenario_check_buffer("many-errors.yaml", buf, len, SCENARIO_FOR_RUN, errs),
			 -EINVAL);
	for (line = strtok_r(expected, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		assert_true(i < errs->n);
		assert_string_equal(errs->e[i].err.msg, line);
		assert_int_equal(errs->e[i].err.kind, FD_ERR_INPUT);
		if (i)
			assert_true(errs->e[i - 1].line < errs->e[i].line ||
				    (errs->e[i - 1].line == errs->e[i].line &&
				     errs->e[i - 1].col <= errs->e[i].col));
	}
	assert_int_equal(i, errs->n);
	assert_true(errs->n >= 8);
	assert_false(errs->truncated);
	free(buf);
	free(expected);
	free(errs);
}

/* Sixty unknown keys: the first SCENARIO_MAX_ERRORS are said, and that it stopped. */
static void test_error_limit(void **state)
{
	struct scenario_errors *errs = malloc(sizeof(*errs));
	char text[4096];
	size_t off = 0;

	(void)state;
	assert_non_null(errs);
	off += (size_t)snprintf(text, sizeof(text), "name: x\n");
	for (int i = 0; i < 60; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "k%02d: 1\n", i);
	assert_int_not_equal(scenario_check_buffer("lim.yaml", text, off, SCENARIO_FOR_RUN, errs), 0);
	assert_int_equal(errs->n, SCENARIO_MAX_ERRORS);
	assert_true(errs->truncated);
	assert_non_null(strstr(errs->e[0].err.msg, "lim.yaml:2:1: error: unknown key \"k00\""));
	free(errs);
}

#define FAULTS_ONLY                               \
	"name: by-hand\n"                         \
	"scope: { netns: game-day }\n"            \
	"faults:\n"                               \
	"  - id: f\n"                             \
	"    kind: drop\n"                        \
	"    duration: 10m\n"                     \
	"    targets: { cidrs: [10.0.0.0/8] }\n"

/* A file of faults (and scope) is a scenario for inject; run says what it lacks. */
static void test_faults_only(void **state)
{
	struct scenario_errors *errs = malloc(sizeof(*errs));
	const char *path = "faults-only.yaml";
	struct scenario *s = NULL;
	struct fd_error err;
	FILE *f = fopen(path, "w");

	(void)state;
	assert_non_null(errs);
	assert_non_null(f);
	assert_int_equal(fputs(FAULTS_ONLY, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(scenario_load_for(path, SCENARIO_FOR_INJECT, &s, &err), 0);
	assert_int_equal(s->n_faults, 1);
	assert_int_equal(s->n_probes, 0);
	assert_string_equal(s->netns, "game-day");
	scenario_free(s);
	assert_int_equal(scenario_check(path, SCENARIO_FOR_INJECT, errs), 0);
	assert_int_equal(errs->n, 0);

	assert_int_not_equal(scenario_load(path, &s, &err), 0);
	assert_string_equal(err.msg, "faults-only.yaml:1:1: error: a drill (firedrill run) needs key \"probes\"");
	assert_int_not_equal(scenario_check(path, SCENARIO_FOR_RUN, errs), 0);
	assert_int_equal(errs->n, 2);
	assert_non_null(strstr(errs->e[1].err.msg, "needs key \"recovery\""));
	/* inject still checks what is there, and still needs faults */
	assert_int_not_equal(scenario_load_buffer(path, "name: x\n", 8, &s, &err), 0);
	assert_int_not_equal(scenario_check_buffer(path, "name: x\nprobes: 3\n", 18,
						   SCENARIO_FOR_INJECT, errs), 0);
	assert_int_equal(errs->n, 2);
	assert_non_null(strstr(errs->e[0].err.msg, "missing required key \"faults\""));
	assert_non_null(strstr(errs->e[1].err.msg, "probes: expected a list of probes"));
	unlink(path);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_corpus),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_error_limit),
		cmocka_unit_test(test_faults_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

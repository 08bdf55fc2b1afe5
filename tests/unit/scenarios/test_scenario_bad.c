/*
 * Every tests/data/bad/NN-what.yaml must be refused with exactly the line
 * in NN-what.expected, quickly.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fd_priv_spawn_sh: a probe command holds no capability (issue 12, item 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_priv.h"

static void probe_has_no_caps(void **state)
{
	char buf[512] = { 0 };
	int p[2], st;
	pid_t pid;
	ssize_t n, off = 0;

	(void)state;
	if (geteuid() != 0) {
		printf("skipped: not root, nothing to drop (CapBnd stays full)\n");
		skip();
	}
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fd_priv_spawn_sh(&pid, "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status",
					  &(struct fd_priv_spawn){ .out_fd = p[1], .err_fd = 2,
								   .netns_fd = -1 }), 0);
	close(p[1]);
	while ((n = read(p[0], buf + off, sizeof(buf) - 1 - (size_t)off)) > 0)
		off += n;
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(buf, "CapEff:\t0000000000000000"));
	assert_non_null(strstr(buf, "CapPrm:\t0000000000000000"));
	assert_non_null(strstr(buf, "CapBnd:\t0000000000000000"));
	fd_priv_drop_all(); /* no-op or a full drop: never an error */
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(probe_has_no_caps) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fd_duration_parse/format and fd_cidr_parse/format/contains. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fd_net.h"
#include "fd_time.h"
#include "fd_user.h"

#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

static int64_t dur(const char *s)
{
	int64_t ns = -1;

	assert_int_equal(fd_duration_parse(s, &ns), 0);
	return ns;
}

static void test_duration_parse(void **state)
{
	int64_t ns;

	(void)state;
	assert_int_equal(dur("250ms"), 250 * FD_NS_PER_MS);
	assert_int_equal(dur("30s"), 30 * FD_NS_PER_S);
	assert_int_equal(dur("5m"), 300 * FD_NS_PER_S);
	assert_int_equal(dur("1h"), 3600 * FD_NS_PER_S);
	assert_int_equal(dur("1h30m"), 5400 * FD_NS_PER_S);
	assert_int_equal(dur("1h5m10s"), 3910 * FD_NS_PER_S);
	assert_int_equal(dur("1.5s"), 1500 * FD_NS_PER_MS);
	assert_int_equal(dur("0.3s"), 300 * FD_NS_PER_MS); /* no float truncation */
	assert_int_equal(dur("0.1ms"), 100000);
	assert_int_equal(dur("10us"), 10000);
	assert_int_equal(dur("7ns"), 7);
	assert_int_equal(dur("0s"), 0);
	assert_int_equal(dur("1m30s"), 90 * FD_NS_PER_S);
	assert_int_equal(fd_duration_parse("15", &ns), -EINVAL);
	assert_int_equal(fd_duration_parse("", &ns), -EINVAL);
	assert_int_equal(fd_duration_parse("s", &ns), -EINVAL);
	assert_int_equal(fd_duration_parse("-5s", &ns), -EINVAL);
	assert_int_equal(fd_duration_parse("5 s", &ns), -EINVAL);
	assert_int_equal(fd_duration_parse("5sec", &ns), -EINVAL);
	assert_int_equal(fd_duration_parse("1x", &ns), -EINVAL);
	assert_int_equal(fd_duration_parse("99999999999999999999s", &ns), -ERANGE);
	assert_int_equal(fd_duration_parse("9999999999999h", &ns), -ERANGE);
}

static void test_duration_format(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(fd_duration_format(850 * FD_NS_PER_MS, buf, sizeof(buf)), "850 ms");
	assert_string_equal(fd_duration_format(42300 * FD_NS_PER_MS, buf, sizeof(buf)), "42.3 s");
	assert_string_equal(fd_duration_format(312 * FD_NS_PER_S, buf, sizeof(buf)), "5m12s");
	assert_string_equal(fd_duration_format(3900 * FD_NS_PER_S, buf, sizeof(buf)), "1h05m");
	assert_string_equal(fd_duration_format(-2 * FD_NS_PER_S, buf, sizeof(buf)), "-2.0 s");
	assert_string_equal(fd_duration_format(500, buf, sizeof(buf)), "500 ns");
	assert_string_equal(fd_duration_format(INT64_MIN, buf, sizeof(buf)), "-2562047h47m");
}

static void test_bounded_format(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(fd_bounded_format(81 * FD_NS_PER_MS, 30 * FD_NS_PER_MS,
					      20 * FD_NS_PER_MS, buf, sizeof(buf)),
			    "81 ms (-30/+20 ms)");
	assert_string_equal(fd_bounded_format(1200 * FD_NS_PER_MS, 250 * FD_NS_PER_MS,
					      1100 * FD_NS_PER_MS, buf, sizeof(buf)),
			    "1.2 s (-250 ms/+1.1 s)");
	assert_string_equal(fd_bounded_format(81 * FD_NS_PER_MS, 10 * FD_NS_PER_MS, 0, buf,
					      sizeof(buf)), "81 ms (-10/+0 ms)");
}

static void cidr_ok(const char *in, const char *want)
{
	struct fd_cidr c;
	char buf[FD_CIDR_STRLEN];

	assert_int_equal(fd_cidr_parse(in, &c), 0);
	assert_string_equal(fd_cidr_format(&c, buf, sizeof(buf)), want);
}

static void test_cidr_parse(void **state)
{
	struct fd_cidr c;

	(void)state;
	cidr_ok("10.0.0.0/8", "10.0.0.0/8");
	cidr_ok("52.216.0.0/15", "52.216.0.0/15");
	cidr_ok("10.1.2.3", "10.1.2.3/32");
	cidr_ok("0.0.0.0/0", "0.0.0.0/0");
	cidr_ok("2600:1fa0::/32", "2600:1fa0::/32");
	cidr_ok("2600:1fa0:8000::/39", "2600:1fa0:8000::/39");
	cidr_ok("fd00::1", "fd00::1/128");
	cidr_ok("::/0", "::/0");
	assert_int_equal(fd_cidr_parse("10.1.2.3/8", &c), -EINVAL);       /* host bits */
	assert_int_equal(fd_cidr_parse("2600:1fa0::1/32", &c), -EINVAL);  /* host bits */
	assert_int_equal(fd_cidr_parse("10.0.0.0/33", &c), -EINVAL);
	assert_int_equal(fd_cidr_parse("::/129", &c), -EINVAL);
	assert_int_equal(fd_cidr_parse("10.0.0.0/", &c), -EINVAL);
	assert_int_equal(fd_cidr_parse("10.0.0.0/-1", &c), -EINVAL);
	assert_int_equal(fd_cidr_parse("10.0.0.0/8x", &c), -EINVAL);
	assert_int_equal(fd_cidr_parse("300.0.0.0/8", &c), -EINVAL);
	assert_int_equal(fd_cidr_parse("/8", &c), -EINVAL);
	assert_int_equal(fd_cidr_parse("", &c), -EINVAL);
	assert_int_equal(fd_cidr_parse("example.com", &c), -EINVAL);
}

static void test_cidr_contains(void **state)
{
	struct fd_cidr c, d;
	uint8_t in[4] = { 52, 217, 1, 2 }, out[4] = { 52, 218, 0, 1 };

	(void)state;
	assert_int_equal(fd_cidr_parse("52.216.0.0/15", &c), 0);
	assert_true(fd_cidr_contains(&c, AF_INET, in));
	assert_false(fd_cidr_contains(&c, AF_INET, out));
	assert_false(fd_cidr_contains(&c, AF_INET6, in));
	assert_false(fd_cidr_is_default(&c));
	assert_int_equal(fd_cidr_parse("::/0", &d), 0);
	assert_true(fd_cidr_is_default(&d));
}

/* The operator: given name, else SUDO_USER, else the login name, else the euid's name. */
static void test_operator_name(void **state)
{
	char buf[64], login[257];
	struct passwd *pw = getpwuid(geteuid());
	const char *expect_login;

	(void)state;
	assert_string_equal(fd_operator_name("carol", buf, sizeof(buf)), "carol");
	assert_int_equal(setenv("SUDO_USER", "alice", 1), 0);
	assert_string_equal(fd_operator_name(NULL, buf, sizeof(buf)), "alice");
	assert_string_equal(fd_operator_name("", buf, sizeof(buf)), "alice");
	assert_string_equal(fd_operator_name("carol", buf, sizeof(buf)), "carol");
	assert_int_equal(setenv("SUDO_USER", "", 1), 0); /* empty: not a name */
	expect_login = getlogin_r(login, sizeof(login)) == 0 && *login ? login :
		       pw ? pw->pw_name : "unknown";
	assert_string_equal(fd_operator_name(NULL, buf, sizeof(buf)), expect_login);
	assert_int_equal(unsetenv("SUDO_USER"), 0);
	assert_string_equal(fd_operator_name(NULL, buf, sizeof(buf)), expect_login);
	/* This test runs as a user the system knows: never "unknown" here. */
	assert_non_null(pw);
	assert_string_not_equal(buf, "unknown");
	/* USER is not consulted: it is whatever the environment says. */
	assert_int_equal(setenv("USER", "mallory", 1), 0);
	if (strcmp(expect_login, "mallory") != 0)
		assert_string_not_equal(fd_operator_name(NULL, buf, sizeof(buf)), "mallory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_bounded_format),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_operator_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

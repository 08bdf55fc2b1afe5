/* Unit tests of the lab that need no root: the truth log reader and config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lab.h"

static char dir[64];

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/fdt-lab-unit.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/truth.log", dir);
	unlink(path);
	return rmdir(dir);
}

static void write_log(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/truth.log", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define ACK(m, key, seq, region) \
	"{\"ev\":\"ack\",\"mono_ns\":" #m ",\"real_ns\":" #m "000,\"by\":\"frontdoor\"," \
	"\"region\":\"" region "\",\"key\":\"" key "\",\"seq\":" #seq "}\n"
#define APPLY(m, key, seq) \
	"{\"ev\":\"apply\",\"mono_ns\":" #m ",\"real_ns\":1,\"region\":\"b\",\"key\":\"" key \
	"\",\"seq\":" #seq "}\n"
#define EV(name, m) "{\"ev\":\"" name "\",\"mono_ns\":" #m ",\"real_ns\":" #m "000,\"region\":\"b\"}\n"

static void test_failover_and_lost(void **state)
{
	struct lab_truth *t = NULL;
	struct fd_error err;

	write_log("{\"ev\":\"start\",\"mono_ns\":1,\"real_ns\":1,\"role\":\"primary\",\"region\":\"a\"}\n"
		  ACK(100, "k1", 1, "a") ACK(200, "k2", 2, "a") ACK(300, "k3", 3, "a")
		  APPLY(150, "k1", 1)
		  EV("failed", 400) EV("promote", 450)
		  APPLY(460, "k2", 2) /* refused in reality; after promotion it does not count */
		  EV("switch", 470) EV("first-serve", 480) EV("first-ok", 490)
		  ACK(500, "k4", 1, "b")
		  "{\"ev\":\"ack\",\"mono_ns\":6"); /* a torn last line */
	assert_int_equal(lab_truth_read(dir, &t, &err), 0);
	assert_int_equal(t->failed_mono_ns, 400);
	assert_int_equal(t->failed_real_ns, 400000);
	assert_int_equal(t->promoted_mono_ns, 450);
	assert_int_equal(t->switched_mono_ns, 470);
	assert_int_equal(t->first_served_mono_ns, 480);
	assert_int_equal(t->first_ok_mono_ns, 490);
	assert_int_equal(t->new_primary, 'b');
	assert_int_equal(t->n_acked, 4);
	assert_string_equal(t->acked[3].key, "k4");
	assert_int_equal(t->acked[3].region, 'b');
	assert_int_equal(t->n_lost, 2);
	assert_string_equal(t->lost[0].key, "k2");
	assert_int_equal(t->lost[0].seq, 2);
	assert_int_equal(t->lost[0].ack_mono_ns, 200);
	assert_string_equal(t->lost[1].key, "k3");
	lab_truth_free(t);
}

static void test_no_failover_loses_nothing(void **state)
{
	struct lab_truth *t = NULL;
	struct fd_error err;

	write_log(ACK(100, "k1", 1, "a") ACK(200, "k2", 2, "a"));
	assert_int_equal(lab_truth_read(dir, &t, &err), 0);
	assert_int_equal(t->n_acked, 2);
	assert_int_equal(t->n_lost, 0);
	assert_int_equal(t->promoted_mono_ns, 0);
	assert_int_equal(t->new_primary, 0);
	lab_truth_free(t);
}

static void test_same_key_rewritten(void **state)
{
	struct lab_truth *t = NULL;
	struct fd_error err;

	/* k1 written twice; only the first version reached B. */
	write_log(ACK(100, "k1", 1, "a") ACK(200, "k1", 2, "a") APPLY(150, "k1", 1)
		  EV("promote", 300));
	assert_int_equal(lab_truth_read(dir, &t, &err), 0);
	assert_int_equal(t->n_lost, 1);
	assert_int_equal(t->lost[0].seq, 2);
	lab_truth_free(t);
}

static void test_missing_log(void **state)
{
	struct lab_truth *t = (struct lab_truth *)1;
	struct fd_error err;

	assert_true(lab_truth_read("/nonexistent/fdlab", &t, &err) < 0);
	assert_null(t);
	assert_int_equal(err.kind, FD_ERR_ENV);
	assert_non_null(strstr(err.msg, "/nonexistent/fdlab/truth.log"));
}

static void test_config_and_state_dir(void **state)
{
	struct lab_config cfg;

	lab_config_init(&cfg);
	assert_int_equal(cfg.failure_threshold, 3);
	assert_int_equal(cfg.check_interval_ns, 500000000);
	assert_false(cfg.controller_disabled);
	assert_string_equal(lab_state_dir("/x"), "/x");
	setenv("FIREDRILL_LAB_DIR", "/y", 1);
	assert_string_equal(lab_state_dir(NULL), "/y");
	unsetenv("FIREDRILL_LAB_DIR");
	assert_string_equal(lab_state_dir(NULL), LAB_STATE_DIR);
	assert_string_equal(lab_role_name(LAB_ROLE_FRONTDOOR), "frontdoor");
}

static void test_needs_root(void **state)
{
	struct lab_config cfg;
	struct fd_error err;

	if (geteuid() == 0) {
		fprintf(stderr, "skipped: runs as root, so a non-root refusal cannot be tested\n");
		skip();
	}
	lab_config_init(&cfg);
	cfg.state_dir = dir;
	assert_true(lab_up(&cfg, &err) < 0);
	assert_int_equal(err.kind, FD_ERR_ENV);
	assert_true(lab_down(dir, &err) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failover_and_lost),
		cmocka_unit_test(test_no_failover_loses_nothing),
		cmocka_unit_test(test_same_key_rewritten),
		cmocka_unit_test(test_missing_log),
		cmocka_unit_test(test_config_and_state_dir),
		cmocka_unit_test(test_needs_root),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}

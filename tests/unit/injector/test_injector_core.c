/*
 * Injector core: prefix collapsing, the AWS ip-ranges sample, the driver
 * table, guards, and rollback under failure injection: the Nth
 * kernel-changing call fails (injector_seam_fail_at) and nothing may be
 * left behind, in the kernel or in the journal.
 *
 * The rollback test runs in a private network namespace (unshare) when
 * root, so it never touches the host; otherwise it is skipped.
 *
 * Also the journal batches the core relies on (one transaction per
 * injection's plan, per group of state changes): all rows or none.
 *
 * And faults with places of their own: one nft batch per namespace,
 * committed inside it, all or none (the second namespace's batch failing
 * removes the first's table).
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd_time.h"
#include "injector.h"
#include "injector_int.h"
#include "store.h"

static void cidr(struct fd_cidr *c, const char *s)
{
	assert_int_equal(fd_cidr_parse(s, c), 0);
}

static void test_collapse(void **state)
{
	struct fd_cidr c[8];
	char buf[FD_CIDR_STRLEN];
	size_t n;

	(void)state;
	cidr(&c[0], "10.0.1.0/24");
	cidr(&c[1], "10.0.0.0/24");    /* sibling of 10.0.1.0/24 -> 10.0.0.0/23 */
	cidr(&c[2], "10.0.0.128/25");  /* inside 10.0.0.0/24 */
	cidr(&c[3], "192.168.0.0/16");
	cidr(&c[4], "192.168.4.4");    /* inside 192.168/16 */
	cidr(&c[5], "2600:1fa0::/33");
	cidr(&c[6], "2600:1fa0:8000::/33"); /* sibling -> /32 */
	cidr(&c[7], "10.0.2.0/24");    /* adjacent but not a sibling of 10.0.0.0/23 */
	n = inj_cidr_collapse(c, 8);
	assert_int_equal(n, 4);
	assert_string_equal(fd_cidr_format(&c[0], buf, sizeof(buf)), "10.0.0.0/23");
	assert_string_equal(fd_cidr_format(&c[1], buf, sizeof(buf)), "10.0.2.0/24");
	assert_string_equal(fd_cidr_format(&c[2], buf, sizeof(buf)), "192.168.0.0/16");
	assert_string_equal(fd_cidr_format(&c[3], buf, sizeof(buf)), "2600:1fa0::/32");
}

static void sample_path(char *buf, size_t len)
{
	const char *root = getenv("FD_SOURCE_ROOT");

	snprintf(buf, len, "%s/scenarios/library/aws-ip-ranges-sample.json", root ? root : ".");
}

static void test_aws_ranges(void **state)
{
	struct fd_error e = { 0 };
	struct fd_cidr *c = NULL;
	size_t n = 0, n_global;
	char path[4096], buf[64];

	(void)state;
	sample_path(path, sizeof(path));
	assert_int_equal(inj_aws_ranges_load(path, "S3", "us-east-1", false, &c, &n, &e), 0);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		assert_true(c[i].family == AF_INET || c[i].family == AF_INET6);
	/*
	 * The sample has no S3 GLOBAL entry, so with it include-global could be
	 * ignored unnoticed. CLOUDFRONT has only GLOBAL ones: counted exactly
	 * from a fresh array, they must appear with the option and not without.
	 */
	free(c);
	c = NULL;
	n = 0;
	assert_int_equal(inj_aws_ranges_load(path, "CLOUDFRONT", "us-east-1", false, &c, &n, &e), 0);
	assert_int_equal(n, 0);
	n_global = 0;
	assert_int_equal(inj_aws_ranges_load(path, "CLOUDFRONT", "us-east-1", true, &c, &n_global, &e), 0);
	assert_int_equal(n_global, 3); /* 13.32.0.0/15, 52.84.0.0/15, 2600:9000::/28 */
	assert_string_equal(fd_cidr_format(&c[0], buf, sizeof(buf)), "13.32.0.0/15");
	assert_string_equal(fd_cidr_format(&c[2], buf, sizeof(buf)), "2600:9000::/28");
	free(c);
	c = NULL;
	/* ... and only the service's own GLOBAL entries (not AMAZON's, ROUTE53's). */
	n_global = 0;
	assert_int_equal(inj_aws_ranges_load(path, "S3", "us-east-1", true, &c, &n_global, &e), 0);
	assert_int_equal(n_global, 9);
	free(c);
	c = NULL;
	n = 0;
	assert_int_equal(inj_aws_ranges_load(path, "NO-SUCH", "us-east-1", false, &c, &n, &e), 0);
	assert_int_equal(n, 0);
	free(c);
	c = NULL;
	assert_int_not_equal(inj_aws_ranges_load("/nonexistent.json", "S3", NULL, false, &c, &n, &e), 0);
	assert_non_null(strstr(e.msg, "/nonexistent.json"));
	free(c);
}

static void test_driver_table(void **state)
{
	(void)state;
	for (int k = 0; k < FAULT_KIND_COUNT; k++) {
		const struct injector_driver *d = injector_driver_for((enum fault_kind)k);

		assert_non_null(d);
		assert_int_equal(d->kind, k);
		assert_ptr_equal(injector_driver_by_name(d->name), d);
		assert_non_null(d->prepare);
		assert_non_null(d->revert);
	}
	assert_null(injector_driver_for(FAULT_KIND_COUNT));
	assert_null(injector_driver_by_name("nope"));
	assert_true(injector_driver_by_name("drop")->kernel_expires);
	assert_false(injector_driver_by_name("blackhole-route")->kernel_expires);
}

/* ---- scenario fixture ---- */

struct fixture {
	struct scenario s;
	struct scenario_fault f[4];
	struct fd_cidr c[4][2];
	uint16_t port;
};

static struct scenario_fault *add(struct fixture *x, enum fault_kind k, const char *id)
{
	struct scenario_fault *f = &x->f[x->s.n_faults++];

	x->s.faults = x->f;
	x->s.path = (char *)"unit.yaml";
	f->id = (char *)id;
	f->kind = k;
	f->duration_ns = 60 * FD_NS_PER_S;
	return f;
}

static void targets(struct fixture *x, struct scenario_fault *f, const char *a, const char *b)
{
	size_t i = (size_t)(f - x->f);

	cidr(&x->c[i][0], a);
	f->targets.n_cidrs = 1;
	if (b) {
		cidr(&x->c[i][1], b);
		f->targets.n_cidrs = 2;
	}
	f->targets.cidrs = x->c[i];
}

/* One temporary store at a time: temp_store_close removes it with its
 * -wal and -shm (unlinked while open, SQLite would leave those behind). */
static char temp_path[] = "/tmp/fdt-injunit-XXXXXX";

static struct store *temp_store(void)
{
	struct fd_error e = { 0 };
	struct store *st = NULL;
	int fd;

	snprintf(temp_path, sizeof(temp_path), "/tmp/fdt-injunit-XXXXXX");
	fd = mkstemp(temp_path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_open(temp_path, &st, &e), 0);
	return st;
}

static void temp_store_close(struct store *st)
{
	char side[sizeof(temp_path) + 8];

	store_close(st);
	unlink(temp_path);
	snprintf(side, sizeof(side), "%s-wal", temp_path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", temp_path);
	unlink(side);
}

static int prepare_only(struct fixture *x, bool force, struct fd_error *e)
{
	struct store *st = NULL;
	struct injector *inj = NULL;
	struct injector_opts o = { .force = force, .no_guardian = true };
	int rc;

	st = temp_store();
	o.store = st;
	rc = injector_new(&x->s, &o, &inj, e);
	if (rc == 0)
		rc = injector_prepare(inj, e);
	injector_free(inj);
	temp_store_close(st);
	return rc;
}

static void test_guards(void **state)
{
	struct fixture x = { 0 };
	struct fd_error e = { 0 };
	struct scenario_fault *f;

	(void)state;
	f = add(&x, FAULT_DROP, "everything");
	targets(&x, f, "0.0.0.0/0", NULL);
	assert_int_equal(prepare_only(&x, false, &e), -EPERM);
	assert_non_null(strstr(e.msg, "0.0.0.0/0"));
	assert_non_null(strstr(e.msg, "everything"));
	assert_int_equal(e.kind, FD_ERR_INPUT);

	memset(&x, 0, sizeof(x));
	f = add(&x, FAULT_DROP, "no-duration");
	targets(&x, f, "10.250.0.0/16", NULL);
	f->duration_ns = 0;
	assert_int_equal(prepare_only(&x, true, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "max duration"));
}

/* ---- targets resolved again (each iteration's inject) ---- */

static pid_t sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void point_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
}

static bool names_pid(const struct injector *inj, pid_t pid)
{
	char want[32];

	snprintf(want, sizeof(want), ": %d (", (int)pid);
	return strstr(injector_fault_summary(inj, 0), want) != NULL;
}

static void killed_by_term(pid_t pid)
{
	int status = 0;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

/*
 * A kill by pidfile: prepare matches A; after the pidfile names B,
 * injector_resolve matches B. Main's semantics (the drill calls resolve
 * before every later iteration's apply): a resolve that fails (the pidfile
 * names nobody) drops the plan, so apply refuses rather than kill a stale
 * target; apply itself never resolves, so after a revert it still holds
 * the old plan (the reaped A) and fails without touching B, until resolve
 * is called. force: the sleepers are this test's children (guarded).
 */
static void test_resolve_again(void **state)
{
	char pidfile[] = "/tmp/fdt-injres-XXXXXX";
	struct fixture x = { 0 };
	struct fd_error e = { 0 };
	struct injector_opts o = { .force = true, .no_guardian = true };
	struct injector *inj = NULL;
	struct scenario_fault *f;
	pid_t a = sleeper(), b = sleeper();
	int fd = mkstemp(pidfile);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	f = add(&x, FAULT_KILL, "svc");
	f->process.pidfile = pidfile;
	point_pidfile(pidfile, a);
	o.store = temp_store();
	assert_int_equal(injector_new(&x.s, &o, &inj, &e), 0);
	assert_int_equal(injector_prepare(inj, &e), 0);
	assert_true(names_pid(inj, a));

	point_pidfile(pidfile, b);
	assert_int_equal(injector_resolve(inj, &e), 0);
	assert_true(names_pid(inj, b));
	assert_false(names_pid(inj, a));

	point_pidfile(pidfile, 0x3ffffff0); /* above pid_max: nobody */
	assert_int_not_equal(injector_resolve(inj, &e), 0);
	assert_int_not_equal(injector_apply(inj, &e), 0); /* no plan: refused */
	assert_int_equal(kill(a, 0), 0);
	assert_int_equal(kill(b, 0), 0);

	/* iteration 1 kills A */
	point_pidfile(pidfile, a);
	assert_int_equal(injector_resolve(inj, &e), 0);
	assert_true(names_pid(inj, a));
	assert_int_equal(injector_apply(inj, &e), 0);
	killed_by_term(a);
	assert_int_equal(injector_revert(inj, &e), 0);

	/* an apply without resolve keeps A's plan: A is gone, B is spared */
	point_pidfile(pidfile, b);
	assert_int_equal(injector_apply(inj, &e), -ESRCH);
	assert_true(names_pid(inj, a));
	assert_int_equal(kill(b, 0), 0);

	/* iteration 2, as the drill does it: resolve, then apply kills B */
	assert_int_equal(injector_resolve(inj, &e), 0);
	assert_true(names_pid(inj, b));
	assert_int_equal(injector_apply(inj, &e), 0);
	killed_by_term(b);
	assert_int_equal(injector_revert(inj, &e), 0);
	injector_free(inj);
	temp_store_close(o.store);
	unlink(pidfile);
}

/* ---- rollback under failure injection ---- */

static char *kernel_state(void)
{
	FILE *p = popen("nft list ruleset; ip route show table all; tc qdisc show dev lo", "r");
	char *buf = calloc(1, 65536);
	size_t n = 0;

	while (p && n < 65535 && fgets(buf + n, (int)(65536 - n), p))
		n = strlen(buf);
	if (p)
		pclose(p);
	return buf;
}

static void test_rollback_call_n(void **state)
{
	struct fixture x = { 0 };
	struct scenario_fault *f;
	struct store *st = NULL;
	struct fd_error e = { 0 };
	char *before;
	bool succeeded = false;
	int failures = 0;

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "skipped: needs root to unshare a network namespace\n");
		skip();
	}
	if (system("ip link set lo up") != 0) {
		fprintf(stderr, "skipped: cannot bring up lo in the new namespace\n");
		skip();
	}
	f = add(&x, FAULT_DROP, "drop-a");
	targets(&x, f, "10.250.3.0/24", "fd00:250::/64");
	f = add(&x, FAULT_BLACKHOLE_ROUTE, "bh-b");
	targets(&x, f, "10.250.4.0/24", "10.250.6.0/24");
	f = add(&x, FAULT_RATE, "rate-c");
	f->link = (char *)"lo";
	f->rate_bps = 100000000;
	f = add(&x, FAULT_REJECT, "reject-d");
	targets(&x, f, "10.250.5.0/24", NULL);
	st = temp_store();
	before = kernel_state();

	for (int n = 1; n < 20 && !succeeded; n++) {
		struct injector_opts o = { .store = st, .no_guardian = true };
		struct injector *inj = NULL;
		struct store_fault *rows = NULL;
		size_t nrows = 0;
		char *now;
		int rc;

		assert_int_equal(injector_new(&x.s, &o, &inj, &e), 0);
		if (injector_prepare(inj, &e) < 0)
			fail_msg("prepare: %s", e.msg);
		injector_seam_fail_at(n);
		rc = injector_apply(inj, &e);
		if (rc == 0) {
			succeeded = true;
			injector_seam_fail_at(0);
			assert_int_equal(injector_revert(inj, &e), 0);
		} else {
			/* The error names a fault and says what failed. */
			assert_non_null(strstr(e.msg, "fault "));
			failures++;
		}
		injector_seam_fail_at(0);
		now = kernel_state();
		assert_string_equal(before, now);
		free(now);
		assert_int_equal(store_journal_list_active(st, &rows, &nrows, &e), 0);
		assert_int_equal(nrows, 0);
		store_faults_free(rows, nrows);
		injector_free(inj);
	}
	assert_true(succeeded);
	/* nft batch, two routes, the qdisc: each failed once. */
	assert_int_equal(failures, 4);
	free(before);
	temp_store_close(st);
}

/* ---- one nft batch per namespace ---- */

/* A child alone in a new network namespace (its /proc/PID/ns/net is the
 * place), until killed. */
static pid_t netns_holder(void)
{
	int p[2];
	pid_t pid;
	char c = 0;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'y');
	return pid;
}

/* Whether table inet firedrill exists in netns ("" = here). */
static bool table_in(const char *netns)
{
	struct fd_error e = { 0 };
	int home = -1, rc;

	assert_int_equal(inj_place_enter(netns, &home, &e), 0);
	rc = inj_nft_table_exists(&e);
	assert_int_equal(inj_place_leave(&home, &e), 0);
	assert_true(rc >= 0);
	return rc == 1;
}

static void test_nft_per_namespace(void **state)
{
	struct fixture x = { 0 };
	struct fd_error e = { 0 };
	struct store *st;
	char ns[2][64];
	pid_t holder[2];
	struct scenario_fault *f;

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "skipped: needs root to unshare a network namespace\n");
		skip();
	}
	for (int i = 0; i < 2; i++) {
		holder[i] = netns_holder();
		snprintf(ns[i], sizeof(ns[i]), "/proc/%d/ns/net", (int)holder[i]);
	}
	f = add(&x, FAULT_DROP, "drop-1");
	targets(&x, f, "10.250.97.0/24", NULL);
	f = add(&x, FAULT_REJECT, "reject-2");
	targets(&x, f, "10.250.98.0/24", NULL);
	st = temp_store();
	/* n = 0: all applied; 1: the first batch fails; 2: the second fails
	 * after the first was committed, which must then be removed */
	for (int n = 0; n <= 2; n++) {
		struct injector_opts o = { .store = st, .no_guardian = true };
		struct injector *inj = NULL;
		struct store_fault *rows = NULL;
		size_t nrows = 0;
		int rc;

		assert_int_equal(injector_new(&x.s, &o, &inj, &e), 0);
		for (size_t i = 0; i < 2; i++)
			assert_int_equal(injector_set_fault_place(inj, i, ns[i], 0, &e), 0);
		if (injector_prepare(inj, &e) < 0)
			fail_msg("prepare: %s", e.msg);
		injector_seam_fail_at(n);
		rc = injector_apply(inj, &e);
		injector_seam_fail_at(0);
		assert_int_equal(store_journal_list_active(st, &rows, &nrows, &e), 0);
		if (n == 0) {
			assert_int_equal(rc, 0);
			assert_true(table_in(ns[0]) && table_in(ns[1]));
			assert_false(table_in(""));
			assert_true(injector_flow_fd(inj) >= 0);
			assert_int_equal(nrows, 2);
			for (size_t r = 0; r < nrows; r++) /* each row names its own */
				assert_string_equal(rows[r].netns,
						    ns[strcmp(rows[r].fault_id, "drop-1") == 0 ? 0 : 1]);
			assert_int_equal(injector_revert(inj, &e), 0);
		} else {
			assert_int_not_equal(rc, 0);
			assert_non_null(strstr(e.msg, n == 1 ? "fault drop-1" : "fault reject-2"));
			assert_int_equal(nrows, 0);
		}
		store_faults_free(rows, nrows);
		assert_false(table_in(ns[0]));
		assert_false(table_in(ns[1]));
		injector_free(inj);
	}
	for (int i = 0; i < 2; i++) {
		kill(holder[i], SIGKILL);
		waitpid(holder[i], NULL, 0);
	}
	temp_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collapse),
		cmocka_unit_test(test_aws_ranges),
		cmocka_unit_test(test_driver_table),
		cmocka_unit_test(test_guards),
		cmocka_unit_test(test_resolve_again),
		cmocka_unit_test(test_rollback_call_n),
		cmocka_unit_test(test_nft_per_namespace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

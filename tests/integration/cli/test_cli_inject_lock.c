/*
 * `firedrill inject` holds the scope lock of `firedrill run`, as root, in a
 * namespace this test creates (fdt-cligaps-lock):
 *
 *  1. inject --detach a drop fault on the scope: exit 0, the holder's pid in
 *     the lock file, the nft table in the namespace;
 *  2. run on the same scope: exit 3, a message naming the live inject's pid
 *     and `firedrill revert`, and no drill recorded, no fault journaled;
 *     a second inject: exit 3 too; a scenario on another scope is not held;
 *  3. revert (needs no lock): exit 0, the holder gone, the lock file gone,
 *     the nft table gone;
 *  4. run and inject (foreground, ended by SIGTERM) work again;
 *  5. a holder killed with SIGKILL releases the lock (the kernel's flock).
 *
 * Nothing left at the end: no nft table, no active journal row, no lock
 * file, no namespace. Exit 77 (skip) when not root.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdtest.h"
#include "store.h"

#define NS "fdt-cligaps-lock"
#define NS_OTHER "fdt-cligaps-free"

static char dir[256];
static char exe[1024], db[1100], scen[1100], other[1100];

static void write_scenario(const char *path, const char *name, const char *ns)
{
	fdt_write_file(path,
		       "name: %s\n"
		       "environment: test\n"
		       "scope:\n"
		       "  netns: %s\n"
		       "faults:\n"
		       "  - id: drop-a\n"
		       "    kind: drop\n"
		       "    duration: 1m\n"
		       "    targets:\n"
		       "      cidrs: [10.250.77.1/32]\n"
		       "      protocol: tcp\n"
		       "      ports: [9]\n"
		       "probes:\n"
		       "  - id: self\n"
		       "    interval: 50ms\n"
		       "    command:\n"
		       "      run: \"true\"\n"
		       "steady-state:\n"
		       "  probes: [self]\n"
		       "recovery:\n"
		       "  all: [self]\n"
		       "  timeout: 5s\n",
		       name, ns);
}

static void cleanup(void)
{
	fdt_sh("%s --db %s revert >/dev/null 2>&1", exe, db);
}

static int count_rows(bool active_only, size_t *drills)
{
	struct store *st = NULL;
	struct store_fault *f = NULL;
	struct store_drill *d = NULL;
	struct store_filter flt = { 0 };
	size_t n = 0;
	struct fd_error e;
	int rc;

	*drills = 0;
	if (store_open_readonly(db, &st, &e) < 0)
		return -1;
	rc = active_only ? store_journal_list_active(st, &f, &n, &e) : 0;
	if (rc == 0 && store_list_drills(st, &flt, &d, drills, &e) < 0)
		rc = -1;
	store_faults_free(f, rc == 0 ? n : 0);
	free(d);
	store_close(st);
	return rc < 0 ? -1 : (int)n;
}

static bool table_in(const char *ns)
{
	char out[4096] = "";

	fdt_capture(out, sizeof(out), "ip netns exec %s nft list tables 2>&1", ns);
	return strstr(out, "firedrill") != NULL;
}

static long lock_holder(void)
{
	char path[512], text[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/scope-" NS ".lock", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	return strstr(text, "inject") ? strtol(text, NULL, 10) : 0;
}

static bool lock_file_gone(void *arg)
{
	char path[512];

	(void)arg;
	snprintf(path, sizeof(path), "%s/scope-" NS ".lock", dir);
	return access(path, F_OK) != 0;
}

static bool holder_written(void *arg)
{
	(void)arg;
	return lock_holder() > 0;
}

static void refused_while_held(void)
{
	char out[4096] = "", pid[32];
	size_t drills = 0;
	long holder;
	int rc;

	rc = fdt_sh("%s --db %s inject --detach %s >%s/inject1.txt 2>&1", exe, db, scen, dir);
	FDT_CHECK(rc == 0, "inject --detach: exit %d", rc);
	holder = lock_holder();
	FDT_CHECK(holder > 0, "the lock file does not name an inject holder");
	FDT_CHECK(table_in(NS), "no firedrill table in %s after inject", NS);

	rc = fdt_capture(out, sizeof(out), "%s --db %s run %s </dev/null 2>&1", exe, db, scen);
	FDT_CHECK(rc == 3, "run on a held scope: exit %d, expected 3: %s", rc, out);
	snprintf(pid, sizeof(pid), "pid %ld", holder);
	FDT_CHECK(strstr(out, "firedrill inject") && strstr(out, pid) && strstr(out, "firedrill revert"),
		  "the refusal does not name the inject, its pid and `firedrill revert`: %s", out);
	FDT_CHECK(count_rows(true, &drills) == 1 && drills == 0,
		  "the refused run touched the store: %zu drill(s) recorded", drills);

	rc = fdt_capture(out, sizeof(out), "%s --db %s inject %s </dev/null 2>&1", exe, db, scen);
	FDT_CHECK(rc == 3, "a second inject on the scope: exit %d, expected 3: %s", rc, out);
	FDT_CHECK(count_rows(true, &drills) == 1, "the refused inject journaled faults");

	/* another scope is not held */
	rc = fdt_capture(out, sizeof(out), "%s --db %s run %s -q </dev/null 2>&1", exe, db, other);
	FDT_CHECK(rc == 0, "run on another scope: exit %d: %s", rc, out);
	FDT_CHECK(lock_holder() == holder, "the inject lost its lock");
}

static void revert_frees_scope(void)
{
	size_t drills = 0;
	int rc;

	rc = fdt_sh("%s --db %s revert", exe, db);
	FDT_CHECK(rc == 0, "revert while the lock is held: exit %d", rc);
	FDT_CHECK(fdt_wait_until(lock_file_gone, NULL, 10000, 20), "the holder kept its lock after revert");
	FDT_CHECK(!table_in(NS), "firedrill table left in %s after revert", NS);
	FDT_CHECK(count_rows(true, &drills) == 0, "active journal rows after revert");

	rc = fdt_sh("%s --db %s run %s -q </dev/null", exe, db, scen);
	FDT_CHECK(rc == 0, "run after revert: exit %d", rc);
	FDT_CHECK(!table_in(NS), "firedrill table left in %s after the drill", NS);
}

static void foreground_inject_and_kill(void)
{
	pid_t pid;
	int rc;

	/* foreground, ended by SIGTERM (Ctrl-C's path): reverted, lock released */
	pid = fork();
	if (pid == 0) {
		execl(exe, exe, "--db", db, "inject", scen, (char *)NULL);
		_exit(127);
	}
	FDT_CHECK(fdt_wait_until(holder_written, NULL, 10000, 20), "foreground inject took no lock");
	rc = fdt_sh("%s --db %s run %s </dev/null >/dev/null 2>&1", exe, db, scen);
	FDT_CHECK(rc == 3, "run beside a foreground inject: exit %d, expected 3", rc);
	kill(pid, SIGTERM);
	FDT_CHECK(fdt_wait_until(lock_file_gone, NULL, 10000, 20), "foreground inject kept its lock");
	waitpid(pid, &rc, 0);
	FDT_CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "foreground inject: status %d", rc);
	FDT_CHECK(!table_in(NS), "firedrill table left after the foreground inject");

	/* SIGKILL: the kernel releases the flock (the file may stay: it is taken over) */
	rc = fdt_sh("%s --db %s inject --detach %s >/dev/null 2>&1", exe, db, scen);
	FDT_CHECK(rc == 0, "inject --detach again: exit %d", rc);
	pid = (pid_t)lock_holder();
	FDT_CHECK(pid > 0, "no holder in the lock file");
	if (pid > 0)
		kill(pid, SIGKILL);
	rc = fdt_sh("%s --db %s revert >/dev/null 2>&1", exe, db);
	FDT_CHECK(rc == 0, "revert after the holder was killed: exit %d", rc);
	rc = fdt_sh("%s --db %s inject --detach %s >/dev/null 2>&1", exe, db, scen);
	FDT_CHECK(rc == 0, "inject after a killed holder: exit %d", rc);
	rc = fdt_sh("%s --db %s revert >/dev/null 2>&1", exe, db);
	FDT_CHECK(rc == 0, "final revert: exit %d", rc);
	FDT_CHECK(fdt_wait_until(lock_file_gone, NULL, 10000, 20), "lock file left at the end");
}

int main(void)
{
	const char *b = getenv("FD_BUILD_ROOT");
	size_t drills = 0;
	char out[4096] = "";

	if (!fdt_need_root())
		return FDT_SKIP;
	if (!b || fdt_tmpdir(dir, sizeof(dir), "fdt-cli-lock") < 0) {
		fprintf(stderr, "FD_BUILD_ROOT must be set\n");
		return 1;
	}
	snprintf(exe, sizeof(exe), "%s/cli/firedrill", b);
	snprintf(db, sizeof(db), "%s/lock.db", dir);
	snprintf(scen, sizeof(scen), "%s/held.yaml", dir);
	snprintf(other, sizeof(other), "%s/other.yaml", dir);
	setenv("FIREDRILL_RUN_DIR", dir, 1);
	fdt_trace = true;
	if (fdt_netns_add(NS, NULL) < 0 || fdt_netns_add(NS_OTHER, NULL) < 0)
		return 1;
	atexit(cleanup);
	write_scenario(scen, "cligaps-held", NS);
	write_scenario(other, "cligaps-other", NS_OTHER);

	refused_while_held();
	revert_frees_scope();
	foreground_inject_and_kill();

	FDT_CHECK(!table_in(NS) && !table_in(NS_OTHER), "firedrill tables left");
	FDT_CHECK(count_rows(true, &drills) == 0, "active journal rows left");
	if (fdt_failures)
		fdt_sh("cat %s/inject1.txt", dir);
	fdt_cleanup();
	fdt_capture(out, sizeof(out), "ip netns list");
	FDT_CHECK(!strstr(out, NS) && !strstr(out, NS_OTHER), "namespaces left: %s", out);
	return fdt_finish();
}

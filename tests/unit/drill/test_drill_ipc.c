/* The lap socket (server and `firedrill lap` client), its path, and the scope lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "drill.h"
#include "drill_internal.h"

static char dir[] = "/tmp/fdt-drill-ipc-XXXXXX";
static char db[PATH_MAX];

static int setup(void **state)
{
	int fd;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	setenv("FIREDRILL_RUN_DIR", dir, 1);
	snprintf(db, sizeof(db), "%s/store.db", dir);
	fd = open(db, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_keyed_by_store(void **state)
{
	char a[200], b[200], c[200], rel[PATH_MAX], cwd[PATH_MAX];
	struct fd_error e;
	int fd;

	(void)state;
	assert_int_equal(drill_lap_socket_path(db, a, sizeof(a), &e), 0);
	assert_int_equal(strncmp(a, dir, strlen(dir)), 0);
	/* the same store by another spelling is the same socket */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	snprintf(rel, sizeof(rel), "./store.db");
	assert_int_equal(drill_lap_socket_path(rel, b, sizeof(b), &e), 0);
	assert_string_equal(a, b);
	fd = open("other.db", O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(drill_lap_socket_path("other.db", c, sizeof(c), &e), 0);
	assert_string_not_equal(a, c);
	assert_int_equal(chdir(cwd), 0);
	/* a store that does not exist has no drill */
	assert_true(drill_lap_socket_path("/nonexistent/x.db", c, sizeof(c), &e) < 0);
}

static void no_drill_listening(void **state)
{
	char reply[128];
	struct fd_error e;

	(void)state;
	fd_error_clear(&e);
	assert_int_equal(drill_lap_send(db, NULL, "x", reply, sizeof(reply), &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no drill"));
	assert_int_equal(drill_lap_send("/nonexistent/x.db", NULL, NULL, reply, sizeof(reply), &e), -ENOENT);
}

/* Forks a `firedrill lap NOTE`; the child's exit code says what it got. */
static pid_t spawn_client(const char *who, const char *note, int expect_rc,
			  const char *expect_reply)
{
	pid_t pid = fork();

	if (pid == 0) {
		char reply[256];
		struct fd_error e;
		int rc = drill_lap_send(db, who, note, reply, sizeof(reply), &e);

		_exit(rc == expect_rc && strstr(rc == 0 ? reply : e.msg, expect_reply) ? 0 : 1);
	}
	return pid;
}

static void serve_one(struct lap_server *ls, char *who, size_t who_len, char *note, size_t len)
{
	for (int i = 0; i < 500; i++) {
		if (lap_server_poll(ls, who, who_len, note, len) == 1)
			return;
		usleep(10000);
	}
	fail_msg("no lap request arrived");
}

static void lap_round_trip(void **state)
{
	struct lap_server *ls = NULL;
	struct fd_error e;
	char note[128], who[64];
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(lap_server_open(db, &ls, &e), 0);
	assert_int_equal(lap_server_poll(ls, who, sizeof(who), note, sizeof(note)), 0); /* nothing waiting */

	pid = spawn_client(NULL, "swapped DNS by hand", 0, "lap 2 \"Swap DNS\"");
	serve_one(ls, who, sizeof(who), note, sizeof(note));
	assert_string_equal(note, "swapped DNS by hand");
	lap_server_reply(ls, true, "lap 2 \"Swap DNS\" done in 3.2 s");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);

	/* an empty note arrives empty; a refusal is -EAGAIN with the drill's words */
	pid = spawn_client(NULL, NULL, -EAGAIN, "no manual step is waiting");
	serve_one(ls, who, sizeof(who), note, sizeof(note));
	assert_string_equal(note, "");
	assert_string_equal(who, "");
	lap_server_reply(ls, false, "no manual step is waiting (phase watch)");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);

	/* the sender's name travels beside the note (the drill looks up its role) */
	pid = spawn_client("alice", "primary promoted", -EAGAIN, "no manual step");
	serve_one(ls, who, sizeof(who), note, sizeof(note));
	assert_string_equal(who, "alice");
	assert_string_equal(note, "primary promoted");
	lap_server_reply(ls, false, "no manual step is waiting (phase watch)");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);

	/* firedrill lap --failed / --skipped / --note: what it says travels too */
	{
		static const char *const whats[] = { "failed", "skipped", "note", "done", NULL };
		static const enum drill_act_kind kinds[] = { DRILL_ACT_FAILED, DRILL_ACT_SKIPPED,
							     DRILL_ACT_NOTE, DRILL_ACT_DONE, DRILL_ACT_DONE };
		struct drill_act act;

		for (size_t i = 0; i < 5; i++) {
			pid = fork();
			if (pid == 0) {
				char reply[256];
				struct fd_error e2;

				_exit(drill_lap_send_as(db, "bob", whats[i], "the reason", reply,
							sizeof(reply), &e2) == 0 ? 0 : 1);
			}
			for (int k = 0; k < 500 && lap_server_next(ls, &act) != 1; k++)
				usleep(10000);
			assert_int_equal(act.kind, kinds[i]);
			assert_string_equal(act.who, "bob");
			assert_string_equal(act.text, "the reason");
			assert_int_equal(act.step, -1);
			lap_server_reply(ls, true, "ok");
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_int_equal(WEXITSTATUS(status), 0);
		}
	}
	lap_server_close(ls);
}

static void one_listener_per_store(void **state)
{
	struct lap_server *a = NULL, *b = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[200];
	struct fd_error e;
	int fd;

	(void)state;
	assert_int_equal(lap_server_open(db, &a, &e), 0);
	assert_int_equal(lap_server_open(db, &b, &e), -EBUSY);
	assert_null(b);
	/* the refused second server must not have removed the first one's socket */
	assert_int_equal(drill_lap_socket_path(db, path, sizeof(path), &e), 0);
	assert_int_equal(access(path, F_OK), 0);
	lap_server_close(a);
	assert_int_equal(access(path, F_OK), -1);

	/* a socket file left by a drill that died is taken over */
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(lap_server_open(db, &a, &e), 0);
	lap_server_close(a);
}

static void scope_lock(void **state)
{
	struct fd_error e;
	int a = -1, b = -1, c = -1;
	char pid[32], path[PATH_MAX + 32];

	(void)state;
	assert_int_equal(drill_scope_lock("fdt-scope", &a, &e), 0);
	fd_error_clear(&e);
	assert_int_equal(drill_scope_lock("fdt-scope", &b, &e), -EBUSY);
	assert_int_equal(b, -1);
	assert_int_equal(e.kind, FD_ERR_ENV);
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	assert_non_null(strstr(e.msg, pid));
	assert_non_null(strstr(e.msg, "fdt-scope"));
	/* another scope is independent; NULL is the host scope */
	assert_int_equal(drill_scope_lock(NULL, &c, &e), 0);
	drill_scope_unlock(c, NULL);
	drill_scope_unlock(a, "fdt-scope");
	assert_int_equal(drill_scope_lock("fdt-scope", &b, &e), 0);
	drill_scope_unlock(b, "fdt-scope");
	/* nothing left behind */
	snprintf(path, sizeof(path), "%s/scope-fdt-scope.lock", dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/scope-host.lock", dir);
	assert_int_equal(access(path, F_OK), -1);
}

/* A run directory others may write to is refused (lap socket hijack). */
static void run_dir_must_be_private(void **state)
{
	char buf[PATH_MAX], shared[PATH_MAX + 16];
	struct fd_error err;

	(void)state;
	snprintf(shared, sizeof(shared), "%s/shared", dir);
	assert_int_equal(mkdir(shared, 0700), 0);
	assert_int_equal(chmod(shared, 0777), 0);
	setenv("FIREDRILL_RUN_DIR", shared, 1);
	fd_error_clear(&err);
	assert_int_equal(drill_run_dir(buf, sizeof(buf), &err), -EPERM);
	assert_non_null(strstr(err.msg, "not private"));
	assert_int_equal(chmod(shared, 0700), 0);
	assert_int_equal(drill_run_dir(buf, sizeof(buf), &err), 0);
	setenv("FIREDRILL_RUN_DIR", dir, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_keyed_by_store),
		cmocka_unit_test(no_drill_listening),
		cmocka_unit_test(lap_round_trip),
		cmocka_unit_test(one_listener_per_store),
		cmocka_unit_test(scope_lock),
		cmocka_unit_test(run_dir_must_be_private),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

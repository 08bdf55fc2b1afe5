/*
 * The webhook relay of a sandboxed drill (drill_relay.c) against the
 * fdt_hook receiver (tests/lib) on 127.0.0.1: the notifier's requests
 * posted by the relay arrive signed and are reported as without a relay
 * (HTTP status, retries, curl's error text); the relay refuses what it was
 * not declared to send (an event the webhook did not declare, an unknown
 * key such as a URL, a bad or missing signature, a body that is not a JSON
 * object, an oversize request); it runs with no capability, no_new_privs,
 * not dumpable, under its own name, and survives SIGTERM; it exits on the
 * drill's hangup with a post in flight, and when the process that started
 * it is SIGKILLed, in well under curl's own timeout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill_internal.h"
#include "fd_time.h"
#include "fdt_hook.h"

#define MARKER "relay-url-4b9e"
#define SECRET "relay secret 31c7"

/* A post held by a receiver that answers after HANG_MS: longer than the
 * relay may take to notice a hangup, shorter than curl's 5 s timeout. */
#define HANG_MS 4000
/* The relay must be gone within this of a hangup: curl calls its progress
 * callback about once a second while it waits; the post's own timeout
 * (NOTIFY_TIMEOUT_NS, 5 s) and the receiver's HANG_MS are both longer. */
#define GONE_WITHIN_NS (2500 * FD_NS_PER_MS)

static void set_url(const char *var, uint16_t port)
{
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook/" MARKER, (unsigned)port);
	setenv(var, url, 1);
}

struct fixture {
	struct scenario s;
	struct scenario_notify hooks[2];
};

static void scenario_with(struct fixture *fx, const char *var1, unsigned ev1, const char *var2,
			  unsigned ev2)
{
	memset(fx, 0, sizeof(*fx));
	fx->s.name = (char *)"relay-test";
	fx->hooks[0].webhook_env = (char *)var1;
	fx->hooks[0].events = ev1;
	fx->hooks[1].webhook_env = (char *)var2;
	fx->hooks[1].events = ev2;
	fx->s.notify = fx->hooks;
	fx->s.n_notify = var2 ? 2 : 1;
}

static struct notify_msg msg(enum notify_event e)
{
	struct notify_msg m = { 0 };

	m.event = e;
	m.scenario = "relay-test";
	m.environment = "test";
	m.drill_id = 7;
	m.iterations = 1;
	m.objectives_met = -1;
	return m;
}

static struct fdt_hook *receiver_start(unsigned status, unsigned delay_ms)
{
	struct fdt_hook *h = fdt_hook_start(status, delay_ms);

	assert_non_null(h);
	return h;
}

/* "sha256=HEX" of body under SECRET. */
static void expected_signature(const char *body, char *out, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char hex[2 * sizeof(mac) + 1];

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(out, len, "sha256=%s", hex);
}

/* The value of "Key:" in /proc/PID/status, "" when absent. */
static void proc_status(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t k = strlen(key);
	FILE *f;

	*out = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, k) == 0 && line[k] == ':') {
			snprintf(out, len, "%s", line + k + 1 + strspn(line + k + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	fclose(f);
}

/* Waits until pid exits (a pidfd: reaped or not); how long it took, or -1. */
static int64_t wait_gone(int pidfd, int64_t within_ns)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int64_t t0 = fd_mono_ns();

	if (poll(&p, 1, (int)(within_ns / FD_NS_PER_MS)) != 1)
		return -1;
	return fd_mono_ns() - t0;
}

/* The notifier through the relay: signed events, the Slack hook's filter,
 * reports as without a relay, and the relay's own narrowing. */
static void relay_posts_for_the_notifier(void **state)
{
	static const enum notify_event evs[] = { NOTIFY_START, NOTIFY_INJECTED, NOTIFY_RECOVERED,
						 NOTIFY_END };
	struct fdt_hook *rv, *sl;
	struct fixture fx;
	struct drill_relay *r = NULL;
	struct notifier *n = NULL;
	struct notify_report rep;
	struct fd_error err;
	char comm[64], want[128], buf[64];
	size_t ok = 0, k = 0;
	pid_t pid;

	(void)state;
	assert_true(sodium_init() >= 0);
	rv = receiver_start(200, 0);
	sl = receiver_start(200, 0);
	set_url("FDT_RELAY_A", fdt_hook_port(rv));
	set_url("FDT_RELAY_SLACK", fdt_hook_port(sl));
	setenv("FDT_RELAY_SECRET", SECRET, 1);
	scenario_with(&fx, "FDT_RELAY_A", NOTIFY_ALL, "FDT_RELAY_SLACK", NOTIFY_START | NOTIFY_END);
	fx.hooks[0].secret_env = (char *)"FDT_RELAY_SECRET";
	fx.hooks[1].format = NOTIFY_FORMAT_SLACK;
	assert_int_equal(drill_relay_start(&fx.s, &r, &err), 0);
	assert_non_null(r);
	pid = drill_relay_pid(r);
	assert_true(pid > 0);
	assert_true(drill_relay_fd(r, 0) >= 0 && drill_relay_fd(r, 1) >= 0);

	/* its own name, nothing beyond the user's rights, deaf to SIGTERM */
	for (int i = 0; i < 100; i++) { /* the name is set right after the fork */
		snprintf(buf, sizeof(buf), "/proc/%ld/comm", (long)pid);
		FILE *f = fopen(buf, "re");

		comm[0] = '\0';
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		if (strcmp(comm, "firedrill-relay") == 0)
			break;
		usleep(10000);
	}
	assert_string_equal(comm, "firedrill-relay");
	proc_status(pid, "NoNewPrivs", buf, sizeof(buf));
	assert_string_equal(buf, "1");
	proc_status(pid, "CapEff", buf, sizeof(buf));
	assert_string_equal(buf, "0000000000000000");
	proc_status(pid, "CapPrm", buf, sizeof(buf));
	assert_string_equal(buf, "0000000000000000");
	assert_int_equal(prctl(PR_GET_DUMPABLE), 1); /* ours is unchanged */
	assert_int_equal(kill(pid, SIGTERM), 0);

	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, r, &n, &err), 0);
	for (size_t i = 0; i < 4; i++) {
		struct notify_msg m = msg(evs[i]);

		notifier_send(n, &m, 0);
	}
	notifier_finish(n, 10 * FD_NS_PER_S);
	while (notifier_next_report(n, &rep)) {
		assert_null(strstr(rep.text, MARKER));
		assert_null(strstr(rep.text, SECRET));
		if (k++ == 0) {
			snprintf(want, sizeof(want), "webhooks are posted by the relay (pid %ld) from the "
				 "namespaces firedrill was started in", (long)pid);
			assert_string_equal(rep.subject, "setup");
			assert_string_equal(rep.text, want);
			continue;
		}
		assert_true(rep.ok);
		assert_non_null(strstr(rep.text, ": HTTP 200"));
		ok++;
	}
	assert_int_equal(ok, 6);
	assert_int_equal(fdt_hook_count(rv), 4);
	assert_int_equal(fdt_hook_count(sl), 2);
	for (size_t i = 0; i < 4; i++) {
		struct fdt_hook_post post;
		json_error_t je;
		json_t *j;

		assert_true(fdt_hook_get(rv, i, &post));
		expected_signature(post.body, want, sizeof(want));
		assert_string_equal(post.signature, want);
		assert_string_equal(post.path, "/hook/" MARKER);
		j = json_loads(post.body, 0, &je);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "event")),
				    notify_event_name(evs[i]));
		json_decref(j);
		free(post.body);
	}
	{
		struct fdt_hook_post post;
		json_error_t je;
		json_t *j;

		assert_true(fdt_hook_get(sl, 1, &post));
		assert_string_equal(post.signature, "");
		j = json_loads(post.body, 0, &je);
		assert_non_null(j);
		assert_int_equal(json_object_size(j), 2); /* {text, blocks} */
		json_decref(j);
		free(post.body);
	}
	notifier_free(n);
	drill_relay_free(r);
	assert_int_equal(kill(pid, 0), -1); /* reaped */
	assert_int_equal(errno, ESRCH);
	fdt_hook_stop(rv);
	fdt_hook_stop(sl);
	unsetenv("FDT_RELAY_A");
	unsetenv("FDT_RELAY_SLACK");
	unsetenv("FDT_RELAY_SECRET");
}

/* Retries and errors through the relay read as they do without it. */
static void relay_keeps_retries_and_errors(void **state)
{
	struct fdt_hook *rv, *gone;
	struct fixture fx;
	struct drill_relay *r = NULL;
	struct notifier *n = NULL;
	struct notify_report rep;
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_INJECTED);
	bool flaky = false, refused = false;
	uint16_t closed;

	(void)state;
	rv = receiver_start(200, 0);
	fdt_hook_fail_next(rv, 2, 500);
	gone = receiver_start(200, 0);
	closed = fdt_hook_port(gone);
	fdt_hook_stop(gone); /* a port nobody listens on any more */
	set_url("FDT_RELAY_FLAKY", fdt_hook_port(rv));
	set_url("FDT_RELAY_GONE", closed);
	scenario_with(&fx, "FDT_RELAY_FLAKY", NOTIFY_INJECTED, "FDT_RELAY_GONE", NOTIFY_INJECTED);
	assert_int_equal(drill_relay_start(&fx.s, &r, &err), 0);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, r, &n, &err), 0);
	notifier_set_retry(n, 20 * FD_NS_PER_MS, 200 * FD_NS_PER_MS);
	notifier_send(n, &m, 3);
	notifier_finish(n, 10 * FD_NS_PER_S);
	while (notifier_next_report(n, &rep)) {
		if (strstr(rep.text, "$FDT_RELAY_FLAKY")) {
			flaky = rep.ok &&
				strstr(rep.text, "notified injected via $FDT_RELAY_FLAKY: HTTP 200 after 3 attempts in ") &&
				strstr(rep.text, "(first: HTTP 500)");
			assert_int_equal(rep.iteration_id, 3);
		}
		if (strstr(rep.text, "$FDT_RELAY_GONE"))
			refused = !rep.ok && strstr(rep.text, "notify injected via $FDT_RELAY_GONE failed: "
							      "Couldn't connect to server (4 attempts");
	}
	assert_true(flaky);
	assert_true(refused);
	assert_int_equal(fdt_hook_count(rv), 3);
	notifier_free(n);
	drill_relay_free(r);
	fdt_hook_stop(rv);
	unsetenv("FDT_RELAY_FLAKY");
	unsetenv("FDT_RELAY_GONE");
}

/* Sends text as one request on fd; the relay's "refused" text, or "" when
 * it posted it (or answered something else). */
static void ask(int fd, const char *text, size_t len, char *out, size_t out_len)
{
	char ans[512];
	json_error_t je;
	json_t *j;
	ssize_t n;
	const char *why;

	assert_int_equal(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
	n = recv(fd, ans, sizeof(ans), 0);
	assert_true(n > 0);
	j = json_loadb(ans, (size_t)n, 0, &je);
	assert_non_null(j);
	why = json_string_value(json_object_get(j, "refused"));
	snprintf(out, out_len, "%s", why ? why : "");
	json_decref(j);
}

static void ask_str(int fd, const char *text, char *out, size_t out_len)
{
	ask(fd, text, strlen(text), out, out_len);
}

/* Nothing but a declared event, signed, with a JSON object body. */
static void relay_refuses_what_was_not_declared(void **state)
{
	static const char sig[] = "sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct fdt_hook *rv;
	struct fixture fx;
	struct drill_relay *r = NULL;
	struct fd_error err;
	struct notify_post p = { .event = "start", .signature = sig };
	char why[256], req[512], *big;
	long status;
	int fd;

	(void)state;
	rv = receiver_start(200, 0);
	set_url("FDT_RELAY_STRICT", fdt_hook_port(rv));
	scenario_with(&fx, "FDT_RELAY_STRICT", NOTIFY_START, NULL, 0);
	fx.hooks[0].secret_env = (char *)"FDT_RELAY_STRICT_SECRET"; /* the relay needs only its name */
	assert_int_equal(drill_relay_start(&fx.s, &r, &err), 0);
	fd = drill_relay_fd(r, 0);
	assert_true(fd >= 0);

	snprintf(req, sizeof(req), "{\"id\":1,\"event\":\"end\",\"body\":\"{}\",\"signature\":\"%s\"}", sig);
	ask_str(fd, req, why, sizeof(why));
	assert_string_equal(why, "not an event this webhook declared");
	snprintf(req, sizeof(req), "{\"id\":2,\"event\":\"shutdown\",\"body\":\"{}\",\"signature\":\"%s\"}", sig);
	ask_str(fd, req, why, sizeof(why));
	assert_string_equal(why, "not an event this webhook declared");
	snprintf(req, sizeof(req), "{\"id\":3,\"event\":\"start\",\"body\":\"{}\",\"signature\":\"%s\","
		 "\"url\":\"http://169.254.169.254/\"}", sig);
	ask_str(fd, req, why, sizeof(why));
	assert_string_equal(why, "not {id, event, body, signature?}");
	ask_str(fd, "{\"id\":4,\"event\":\"start\",\"body\":\"{}\",\"signature\":\"sha256=xyz\"}", why,
		sizeof(why));
	assert_string_equal(why, "the signature is not sha256= and 64 hex digits");
	ask_str(fd, "{\"id\":5,\"event\":\"start\",\"body\":\"{}\"}", why, sizeof(why));
	assert_string_equal(why, "this webhook is signed: a request without a signature");
	snprintf(req, sizeof(req), "{\"id\":6,\"event\":\"start\",\"body\":\"[1]\",\"signature\":\"%s\"}", sig);
	ask_str(fd, req, why, sizeof(why));
	assert_string_equal(why, "the body is not a JSON object");
	ask_str(fd, "GET / HTTP/1.0", why, sizeof(why));
	assert_string_equal(why, "not {id, event, body, signature?}");
	big = malloc(RELAY_MAX_MSG + 2);
	assert_non_null(big);
	memset(big, ' ', RELAY_MAX_MSG + 1);
	ask(fd, big, RELAY_MAX_MSG + 1, why, sizeof(why));
	snprintf(req, sizeof(req), "a request of %d bytes, more than %d", RELAY_MAX_MSG + 1, RELAY_MAX_MSG);
	assert_string_equal(why, req);

	/* the drill's side refuses to send an oversize one at all */
	memset(big, 'x', RELAY_MAX_MSG + 1);
	big[0] = '"';
	big[RELAY_MAX_MSG] = '"';
	big[RELAY_MAX_MSG + 1] = '\0';
	p.body = big;
	assert_int_equal(drill_relay_post(fd, -1, &p, &status, why, sizeof(why)), -EMSGSIZE);
	assert_non_null(strstr(why, "more than the webhook relay takes"));
	free(big);

	/* and still posts a good one */
	p.body = "{\"event\":\"start\"}";
	assert_int_equal(drill_relay_post(fd, -1, &p, &status, why, sizeof(why)), 0);
	assert_int_equal(status, 200);
	assert_int_equal(fdt_hook_count(rv), 1);
	drill_relay_free(r);
	fdt_hook_stop(rv);
	unsetenv("FDT_RELAY_STRICT");
}

/* No webhook has a URL: no relay at all. */
static void no_relay_without_a_url(void **state)
{
	struct fixture fx;
	struct drill_relay *r = (struct drill_relay *)&fx;
	struct fd_error err;

	(void)state;
	unsetenv("FDT_RELAY_UNSET");
	scenario_with(&fx, "FDT_RELAY_UNSET", NOTIFY_ALL, NULL, 0);
	assert_int_equal(drill_relay_start(&fx.s, &r, &err), 0);
	assert_null(r);
	assert_int_equal(drill_relay_fd(NULL, 0), -1);
	drill_relay_free(NULL);
}

/* The drill hangs up (closes its ends, as a crash does) while the relay's
 * post hangs: the relay gives it up and exits. */
static void relay_exits_on_hangup(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	struct drill_relay *r = NULL;
	struct fd_error err;
	const char *req = "{\"id\":1,\"event\":\"start\",\"body\":\"{}\"}";
	int64_t took;
	int pidfd;

	(void)state;
	rv = receiver_start(200, HANG_MS);
	set_url("FDT_RELAY_HANG", fdt_hook_port(rv));
	scenario_with(&fx, "FDT_RELAY_HANG", NOTIFY_ALL, NULL, 0);
	assert_int_equal(drill_relay_start(&fx.s, &r, &err), 0);
	pidfd = (int)syscall(SYS_pidfd_open, drill_relay_pid(r), 0);
	assert_true(pidfd >= 0);
	assert_int_equal(send(drill_relay_fd(r, 0), req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	for (int i = 0; i < 200 && fdt_hook_count(rv) == 0; i++)
		usleep(10000);
	assert_int_equal(fdt_hook_count(rv), 1); /* the post is in flight, held */
	drill_relay_hangup(r);
	took = wait_gone(pidfd, GONE_WITHIN_NS);
	print_message("relay %s %.0f ms after the hangup\n", took < 0 ? "still running" : "gone",
		      (double)(took < 0 ? GONE_WITHIN_NS : took) / 1e6);
	assert_true(took >= 0);
	close(pidfd);
	drill_relay_free(r); /* reaps it */
	fdt_hook_stop(rv);
	unsetenv("FDT_RELAY_HANG");
}

/* The process that started the relay is SIGKILLed mid-post: no orphan. */
static void relay_exits_when_its_drill_is_killed(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	int p[2], pidfd, st;
	pid_t drill, relay = 0;
	int64_t took;

	(void)state;
	rv = receiver_start(200, HANG_MS);
	set_url("FDT_RELAY_KILLED", fdt_hook_port(rv));
	scenario_with(&fx, "FDT_RELAY_KILLED", NOTIFY_ALL, NULL, 0);
	/* the orphaned relay is re-parented to us, so that it can be reaped */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe(p), 0);
	drill = fork();
	assert_true(drill >= 0);
	if (drill == 0) {
		const char *req = "{\"id\":1,\"event\":\"end\",\"body\":\"{}\"}";
		struct drill_relay *r = NULL;
		struct fd_error err;
		pid_t pid;

		close(p[0]);
		if (drill_relay_start(&fx.s, &r, &err) < 0 || !r)
			_exit(1);
		pid = drill_relay_pid(r);
		if (send(drill_relay_fd(r, 0), req, strlen(req), MSG_NOSIGNAL) < 0 ||
		    write(p[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &relay, sizeof(relay)), (ssize_t)sizeof(relay));
	close(p[0]);
	pidfd = (int)syscall(SYS_pidfd_open, relay, 0);
	assert_true(pidfd >= 0);
	for (int i = 0; i < 200 && fdt_hook_count(rv) == 0; i++)
		usleep(10000);
	assert_int_equal(fdt_hook_count(rv), 1); /* the post is in flight, held */
	assert_int_equal(kill(drill, SIGKILL), 0);
	assert_int_equal(waitpid(drill, &st, 0), drill);
	took = wait_gone(pidfd, GONE_WITHIN_NS);
	print_message("relay %s %.0f ms after its drill was killed\n",
		      took < 0 ? "still running" : "gone",
		      (double)(took < 0 ? GONE_WITHIN_NS : took) / 1e6);
	assert_true(took >= 0);
	assert_int_equal(waitpid(relay, &st, 0), relay);
	close(pidfd);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	fdt_hook_stop(rv);
	unsetenv("FDT_RELAY_KILLED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(relay_posts_for_the_notifier),
		cmocka_unit_test(relay_keeps_retries_and_errors),
		cmocka_unit_test(relay_refuses_what_was_not_declared),
		cmocka_unit_test(no_relay_without_a_url),
		cmocka_unit_test(relay_exits_on_hangup),
		cmocka_unit_test(relay_exits_when_its_drill_is_killed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

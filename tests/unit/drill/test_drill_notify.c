/*
 * The webhook sender (drill_notify.c) against the fdt_hook receiver
 * (tests/lib) on 127.0.0.1 (loopback only, an ephemeral port): events arrive in order with
 * their fields, a webhook's event filter holds, an unset variable is a
 * report and not an error, HTTP and connection errors become reports, a
 * receiver that hangs is abandoned at the end, and no report ever holds the
 * URL. Signed bodies verify with the secret (and not with another one), a
 * 500 is retried until the receiver takes it, retries stop when their
 * window closes, a Slack hook gets {text, blocks}, status messages go out
 * every status-every.
 *
 * The same sender through the relay of a sandboxed drill (drill_relay.c):
 * requests arrive signed and are reported as without a relay (HTTP status,
 * retries, curl's error text); the relay refuses what it was not declared
 * to send (an event the webhook did not declare, an unknown key such as a
 * URL, a bad or missing signature, a body that is not a JSON object, an
 * oversize request); it runs with no capability, no_new_privs, under its
 * own name, and survives SIGTERM; it exits on the drill's hangup with a
 * post in flight, and when the process that started it is SIGKILLed, in
 * well under curl's own timeout.
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

#define MARKER "s3cr3t-7f1c2d9e"

static struct fdt_hook *receiver_start(unsigned status, unsigned delay_ms)
{
	struct fdt_hook *h = fdt_hook_start(status, delay_ms);

	assert_non_null(h);
	return h;
}

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
	fx->s.name = (char *)"notify-test";
	fx->hooks[0].webhook_env = (char *)var1;
	fx->hooks[0].events = ev1;
	fx->hooks[1].webhook_env = (char *)var2;
	fx->hooks[1].events = ev2;
	fx->s.notify = fx->hooks;
	fx->s.n_notify = var2 ? 2 : 1;
}

static struct notify_msg msg(enum notify_event e, unsigned iteration)
{
	struct notify_msg m = { 0 };

	m.event = e;
	m.scenario = "notify-test";
	m.environment = "test";
	m.drill_id = 42;
	m.iteration = iteration;
	m.iterations = 1;
	m.objectives_met = -1;
	return m;
}

/* Drains every report into reps; asserts none holds the URL. */
static size_t drain(struct notifier *n, struct notify_report *reps, size_t max)
{
	size_t k = 0;
	struct notify_report r;

	while (notifier_next_report(n, &r)) {
		assert_null(strstr(r.text, MARKER));
		assert_null(strstr(r.text, "127.0.0.1"));
		if (k < max)
			reps[k] = r;
		k++;
	}
	return k;
}

static void events_in_order_with_fields(void **state)
{
	static const enum notify_event evs[] = { NOTIFY_START, NOTIFY_INJECTED, NOTIFY_RECOVERED,
						 NOTIFY_END };
	static const char *const names[] = { "start", "injected", "recovered", "end" };
	struct fdt_hook *rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[8];
	struct fd_error err;
	size_t k;

	(void)state;
	rv = receiver_start(200, 0);
	set_url("FDT_HOOK_A", fdt_hook_port(rv));
	unsetenv("FDT_HOOK_UNSET");
	scenario_with(&fx, "FDT_HOOK_A", NOTIFY_START | NOTIFY_INJECTED | NOTIFY_RECOVERED |
			   NOTIFY_OBJECTIVES_MISSED | NOTIFY_END, "FDT_HOOK_UNSET", NOTIFY_START);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	assert_non_null(n);
	for (size_t i = 0; i < 4; i++) {
		struct notify_msg m = msg(evs[i], evs[i] == NOTIFY_START || evs[i] == NOTIFY_END ? 0 : 1);

		if (evs[i] == NOTIFY_RECOVERED) {
			m.outcome = "recovered";
			m.has_rto = true;
			m.rto_ns = 1234500000;
			m.error_bound_ns = 20000000;
		}
		if (evs[i] == NOTIFY_END) {
			m.outcome = "recovered";
			m.objectives_met = 1;
		}
		notifier_send(n, &m, evs[i] == NOTIFY_START || evs[i] == NOTIFY_END ? 0 : 7);
	}
	notifier_finish(n, 10 * FD_NS_PER_S);
	k = drain(n, reps, 8);
	assert_int_equal(k, 5);
	assert_string_equal(reps[0].subject, "setup");
	assert_string_equal(reps[0].text, "$FDT_HOOK_UNSET is not set: its webhooks are skipped");
	for (size_t i = 0; i < 4; i++) {
		char want[128];

		snprintf(want, sizeof(want), "notified %s via $FDT_HOOK_A: HTTP 200", names[i]);
		assert_string_equal(reps[i + 1].text, want);
		assert_string_equal(reps[i + 1].subject, names[i]);
		assert_true(reps[i + 1].ok);
	}
	assert_int_equal(reps[2].iteration_id, 7);

	assert_int_equal(fdt_hook_count(rv), 4);
	for (size_t i = 0; i < 4; i++) {
		struct fdt_hook_post post;
		json_error_t je;
		json_t *j;

		assert_true(fdt_hook_get(rv, i, &post));
		j = json_loads(post.body, 0, &je);
		free(post.body);
		assert_non_null(j);
		assert_string_equal(post.path, "/hook/" MARKER);
		assert_non_null(strstr(post.ctype, "application/json"));
		assert_string_equal(json_string_value(json_object_get(j, "event")), names[i]);
		assert_string_equal(json_string_value(json_object_get(j, "scenario")), "notify-test");
		assert_string_equal(json_string_value(json_object_get(j, "environment")), "test");
		assert_int_equal(json_integer_value(json_object_get(j, "drill_id")), 42);
		assert_non_null(json_string_value(json_object_get(j, "text")));
		if (i == 0) {
			assert_true(json_is_null(json_object_get(j, "iteration")));
			assert_true(json_is_null(json_object_get(j, "outcome")));
			assert_true(json_is_null(json_object_get(j, "rto_ms")));
			assert_true(json_is_null(json_object_get(j, "objectives_met")));
		}
		if (i == 2) {
			assert_int_equal(json_integer_value(json_object_get(j, "iteration")), 1);
			assert_string_equal(json_string_value(json_object_get(j, "outcome")), "recovered");
			assert_true(json_real_value(json_object_get(j, "rto_ms")) == 1234.5);
			assert_true(json_is_null(json_object_get(j, "rpo_ms")));
		}
		if (i == 3)
			assert_true(json_is_true(json_object_get(j, "objectives_met")));
		json_decref(j);
	}
	notifier_free(n);
	fdt_hook_stop(rv);
	unsetenv("FDT_HOOK_A");
}

static void event_filter(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fd_error err;

	(void)state;
	rv = receiver_start(204, 0);
	set_url("FDT_HOOK_B", fdt_hook_port(rv));
	scenario_with(&fx, "FDT_HOOK_B", NOTIFY_OBJECTIVES_MISSED, NULL, 0);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	for (unsigned e = NOTIFY_START; e <= NOTIFY_END; e <<= 1) {
		struct notify_msg m = msg((enum notify_event)e, 1);

		notifier_send(n, &m, 1);
	}
	notifier_finish(n, 10 * FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 4), 1);
	assert_string_equal(reps[0].text, "notified objectives-missed via $FDT_HOOK_B: HTTP 204");
	assert_int_equal(fdt_hook_count(rv), 1);
	notifier_free(n);
	fdt_hook_stop(rv);
	unsetenv("FDT_HOOK_B");
}

static void errors_are_reports(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_START, 0);

	(void)state;
	rv = receiver_start(500, 0);
	set_url("FDT_HOOK_500", fdt_hook_port(rv));
	/* a port nobody listens on any more */
	{
		struct fdt_hook *gone = receiver_start(200, 0);
		uint16_t closed = fdt_hook_port(gone);

		fdt_hook_stop(gone);
		set_url("FDT_HOOK_GONE", closed);
	}
	scenario_with(&fx, "FDT_HOOK_500", NOTIFY_START, "FDT_HOOK_GONE", NOTIFY_START);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	/* retried after 20, 40, 80 ms; none starts 200 ms after the first */
	notifier_set_retry(n, 20 * FD_NS_PER_MS, 200 * FD_NS_PER_MS);
	notifier_send(n, &m, 0);
	notifier_finish(n, 10 * FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 4), 2);
	if (strstr(reps[0].text, "GONE")) { /* each webhook has its own thread: either may end first */
		struct notify_report t = reps[0];

		reps[0] = reps[1];
		reps[1] = t;
	}
	assert_false(reps[0].ok);
	assert_non_null(strstr(reps[0].text, "notify start via $FDT_HOOK_500 failed: HTTP 500 (4 attempts in "));
	assert_int_equal(fdt_hook_count(rv), 4);
	assert_false(reps[1].ok);
	assert_non_null(strstr(reps[1].text,
			       "notify start via $FDT_HOOK_GONE failed: Couldn't connect to server (4 attempts"));
	notifier_free(n);
	fdt_hook_stop(rv);
	unsetenv("FDT_HOOK_500");
	unsetenv("FDT_HOOK_GONE");
}

/* A receiver that hangs: sending does not wait for it, and the end abandons it. */
static void hanging_receiver_is_abandoned(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fd_error err;
	struct notify_msg m1 = msg(NOTIFY_START, 0), m2 = msg(NOTIFY_END, 0);
	size_t k;

	(void)state;
	rv = receiver_start(200, 3000);
	set_url("FDT_HOOK_SLOW", fdt_hook_port(rv));
	scenario_with(&fx, "FDT_HOOK_SLOW", NOTIFY_START | NOTIFY_END, NULL, 0);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	notifier_send(n, &m1, 0);
	notifier_send(n, &m2, 0);
	/* queued, not sent by the caller: nothing has come back yet */
	assert_false(notifier_next_report(n, &reps[0]));
	notifier_finish(n, 200 * FD_NS_PER_MS);
	k = drain(n, reps, 4);
	assert_int_equal(k, 2);
	assert_false(reps[0].ok);
	assert_false(reps[1].ok);
	assert_string_equal(reps[1].text,
			    "notify end via $FDT_HOOK_SLOW failed: not sent: the drill ended first");
	notifier_free(n);
	fdt_hook_stop(rv);
	unsetenv("FDT_HOOK_SLOW");
}

/* HMAC-SHA256 of the exact body under key, as "sha256=HEX". */
static void expected_signature(const char *key, const char *body, char *out, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char hex[2 * sizeof(mac) + 1];

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(out, len, "sha256=%s", hex);
}

/* Signed: the header verifies with the secret, not with another key, and
 * not over another body; a named secret that is unset skips the hook. */
static void signed_bodies(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fdt_hook_post post;
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_START, 0);
	char want[128], other[128];

	(void)state;
	assert_true(sodium_init() >= 0);
	rv = receiver_start(200, 0);
	set_url("FDT_HOOK_SIGNED", fdt_hook_port(rv));
	setenv("FDT_HOOK_SECRET", "correct horse battery staple", 1);
	scenario_with(&fx, "FDT_HOOK_SIGNED", NOTIFY_START, NULL, 0);
	fx.hooks[0].secret_env = (char *)"FDT_HOOK_SECRET";
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	notifier_send(n, &m, 0);
	notifier_finish(n, 10 * FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 4), 1);
	assert_true(reps[0].ok);
	assert_null(strstr(reps[0].text, "correct horse"));
	assert_true(fdt_hook_get(rv, 0, &post));
	expected_signature("correct horse battery staple", post.body, want, sizeof(want));
	assert_string_equal(post.signature, want);
	expected_signature("another secret", post.body, other, sizeof(other));
	assert_string_not_equal(post.signature, other);
	post.body[strlen(post.body) - 2] ^= 1; /* one bit of the body changed */
	expected_signature("correct horse battery staple", post.body, other, sizeof(other));
	assert_string_not_equal(post.signature, other);
	free(post.body);
	notifier_free(n);

	/* the secret's variable unset: nothing goes out unsigned */
	fdt_hook_clear(rv);
	unsetenv("FDT_HOOK_SECRET");
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	notifier_send(n, &m, 0);
	notifier_finish(n, FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 4), 1);
	assert_string_equal(reps[0].text, "$FDT_HOOK_SECRET (the signing secret of $FDT_HOOK_SIGNED) "
					  "is not set: its webhooks are skipped");
	assert_int_equal(fdt_hook_count(rv), 0);
	notifier_free(n);
	fdt_hook_stop(rv);
	unsetenv("FDT_HOOK_SIGNED");
}

/* A 500, then the receiver is back: delivered on the retry, and said so. */
static void retried_after_500(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fdt_hook_post a, b;
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_INJECTED, 1);

	(void)state;
	rv = receiver_start(200, 0);
	fdt_hook_fail_next(rv, 2, 500);
	set_url("FDT_HOOK_FLAKY", fdt_hook_port(rv));
	scenario_with(&fx, "FDT_HOOK_FLAKY", NOTIFY_INJECTED, NULL, 0);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	notifier_set_retry(n, 20 * FD_NS_PER_MS, 5 * FD_NS_PER_S);
	notifier_send(n, &m, 3);
	notifier_finish(n, 10 * FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 4), 1);
	assert_true(reps[0].ok);
	assert_non_null(strstr(reps[0].text, "notified injected via $FDT_HOOK_FLAKY: HTTP 200 after 3 attempts in "));
	assert_non_null(strstr(reps[0].text, "(first: HTTP 500)"));
	assert_int_equal(fdt_hook_count(rv), 3);
	assert_true(fdt_hook_get(rv, 0, &a));
	assert_true(fdt_hook_get(rv, 2, &b));
	assert_int_equal(a.status, 500);
	assert_int_equal(b.status, 200);
	assert_string_equal(a.body, b.body); /* the same message, sent again */
	free(a.body);
	free(b.body);
	notifier_free(n);
	fdt_hook_stop(rv);
	unsetenv("FDT_HOOK_FLAKY");
}

/* format: slack: {text, blocks} as Slack's incoming webhooks take it. */
static void slack_shape(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fdt_hook_post post;
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_STEP_FAILED, 1);
	json_error_t je;
	json_t *j, *blocks;

	(void)state;
	rv = receiver_start(200, 0);
	set_url("FDT_HOOK_SLACK", fdt_hook_port(rv));
	scenario_with(&fx, "FDT_HOOK_SLACK", NOTIFY_ALL, NULL, 0);
	fx.hooks[0].format = NOTIFY_FORMAT_SLACK;
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	m.detail = "step 1 \"confirm primary down\" failed: exit 1";
	notifier_send(n, &m, 0);
	notifier_finish(n, 10 * FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 4), 1);
	assert_true(reps[0].ok);
	assert_true(fdt_hook_get(rv, 0, &post));
	assert_non_null(strstr(post.ctype, "application/json"));
	j = json_loads(post.body, 0, &je);
	free(post.body);
	assert_non_null(j);
	/* only what Slack knows: text and blocks */
	assert_int_equal(json_object_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(j, "text")),
			    "firedrill step-failed: notify-test (test), drill 42, iteration 1/1: "
			    "step 1 \"confirm primary down\" failed: exit 1");
	blocks = json_object_get(j, "blocks");
	assert_int_equal(json_array_size(blocks), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "type")),
			    "section");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(json_array_get(blocks, 0), "text"), "type")), "mrkdwn");
	assert_non_null(strstr(json_string_value(json_object_get(
		json_object_get(json_array_get(blocks, 0), "text"), "text")), "*firedrill step-failed"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 1), "type")),
			    "context");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
		json_array_get(blocks, 1), "elements"), 0), "type")), "mrkdwn");
	json_decref(j);
	notifier_free(n);
	fdt_hook_stop(rv);
	unsetenv("FDT_HOOK_SLACK");
}

/* status-every: due after the period, once per period, only to hooks that want it. */
static void status_every(void **state)
{
	struct fdt_hook *rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[8];
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_STATUS, 1);
	int64_t start = fd_mono_ns();

	(void)state;
	rv = receiver_start(200, 0);
	set_url("FDT_HOOK_STATUS", fdt_hook_port(rv));
	set_url("FDT_HOOK_NOSTATUS", fdt_hook_port(rv));
	scenario_with(&fx, "FDT_HOOK_STATUS", NOTIFY_STATUS, "FDT_HOOK_NOSTATUS", NOTIFY_START);
	fx.hooks[0].status_every_ns = 10 * FD_NS_PER_S;
	fx.hooks[1].status_every_ns = 10 * FD_NS_PER_S;
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	assert_false(notifier_status_due(n, start));
	assert_true(notifier_status_due(n, start + 11 * FD_NS_PER_S));
	m.detail = "still running: phase watch";
	notifier_send_status(n, &m, start + 11 * FD_NS_PER_S);
	assert_false(notifier_status_due(n, start + 15 * FD_NS_PER_S)); /* next at 20 s */
	/* a slice 35 s late: one message, then the next period */
	notifier_send_status(n, &m, start + 55 * FD_NS_PER_S);
	assert_false(notifier_status_due(n, start + 59 * FD_NS_PER_S));
	notifier_finish(n, 10 * FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 8), 2);
	assert_string_equal(reps[0].text, "notified status via $FDT_HOOK_STATUS: HTTP 200");
	assert_int_equal(fdt_hook_count(rv), 2);
	notifier_free(n);
	fdt_hook_stop(rv);
	unsetenv("FDT_HOOK_STATUS");
	unsetenv("FDT_HOOK_NOSTATUS");
}

/* A webhook that hangs delays neither the caller nor another webhook's messages. */
static void a_hanging_hook_delays_no_other(void **state)
{
	struct fdt_hook *slow, *fast;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[8], r;
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_START, 0);
	int64_t t0, took;
	size_t k = 0;

	(void)state;
	slow = receiver_start(200, 4000);
	fast = receiver_start(200, 0);
	set_url("FDT_HOOK_HANG", fdt_hook_port(slow));
	set_url("FDT_HOOK_FAST", fdt_hook_port(fast));
	scenario_with(&fx, "FDT_HOOK_HANG", NOTIFY_ALL, "FDT_HOOK_FAST", NOTIFY_ALL);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, NULL, &n, &err), 0);
	t0 = fd_mono_ns();
	for (int i = 0; i < 3; i++)
		notifier_send(n, &m, 0);
	took = fd_mono_ns() - t0;
	assert_true(took < 50 * FD_NS_PER_MS); /* queued, not sent by the caller */
	/* the fast one's three arrive while the slow one still hangs on its first */
	while (fd_mono_ns() - t0 < 3 * FD_NS_PER_S && k < 3)
		if (notifier_next_report(n, &r) && strstr(r.text, "FDT_HOOK_FAST"))
			reps[k++] = r;
		else
			usleep(10000);
	assert_int_equal(k, 3);
	for (size_t i = 0; i < k; i++)
		assert_true(reps[i].ok);
	assert_int_equal(fdt_hook_count(fast), 3);
	notifier_finish(n, 100 * FD_NS_PER_MS);
	notifier_free(n);
	fdt_hook_stop(slow);
	fdt_hook_stop(fast);
	unsetenv("FDT_HOOK_HANG");
	unsetenv("FDT_HOOK_FAST");
}

static void no_notify_section(void **state)
{
	struct scenario s = { 0 };
	struct notifier *n = (struct notifier *)&s;
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_START, 0);

	(void)state;
	assert_int_equal(notifier_new(&s, FD_NS_PER_S, NULL, &n, &err), 0);
	assert_null(n);
	notifier_send(NULL, &m, 0);
	assert_false(notifier_next_report(NULL, NULL));
	notifier_finish(NULL, 0);
	notifier_free(NULL);
}

static void body_of_a_miss(void **state)
{
	struct notify_msg m = msg(NOTIFY_OBJECTIVES_MISSED, 2);
	json_error_t je;
	json_t *j;
	char *body;

	(void)state;
	m.iterations = 3;
	m.outcome = "not-recovered";
	m.objectives_met = 0;
	m.detail = "not recovered within 1.5 s";
	body = notify_body(&m, "host-1");
	assert_non_null(body);
	j = json_loads(body, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "objectives-missed");
	assert_int_equal(json_integer_value(json_object_get(j, "iteration")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "iterations")), 3);
	assert_true(json_is_false(json_object_get(j, "objectives_met")));
	assert_true(json_is_null(json_object_get(j, "rto_ms")));
	assert_true(json_is_null(json_object_get(j, "lost_writes")));
	assert_string_equal(json_string_value(json_object_get(j, "host")), "host-1");
	assert_string_equal(json_string_value(json_object_get(j, "text")),
			    "firedrill objectives-missed: notify-test (test), drill 42, iteration 2/3: "
			    "not-recovered, objectives MISSED");
	json_decref(j);
	free(body);
}

/* A recovery: RTO with both sides of its bound, in the text and the fields. */
static void body_of_a_recovery(void **state)
{
	struct notify_msg m = msg(NOTIFY_RECOVERED, 1);
	json_error_t je;
	json_t *j;
	char *body;

	(void)state;
	m.iterations = 1;
	m.outcome = "recovered";
	m.has_rto = true;
	m.rto_ns = 81000000;
	m.error_bound_ns = 30000000;
	m.has_rto_bounds = true;
	m.rto_early_ns = 20000000;
	m.rto_late_ns = 30000000;
	body = notify_body(&m, "host-1");
	assert_non_null(body);
	j = json_loads(body, 0, &je);
	assert_non_null(j);
	assert_true(json_real_value(json_object_get(j, "rto_early_ms")) == 20);
	assert_true(json_real_value(json_object_get(j, "rto_late_ms")) == 30);
	assert_non_null(strstr(json_string_value(json_object_get(j, "text")),
			       "recovered, RTO 81 ms (-30/+20 ms)"));
	json_decref(j);
	free(body);
}

/* ---- the relay of a sandboxed drill (drill_relay.c) ---- */

#define SECRET "relay secret 31c7"
/* A post held by a receiver that answers after HANG_MS: longer than the
 * relay may take to notice a hangup, shorter than curl's 5 s timeout. */
#define HANG_MS 4000
/* The relay must be gone within this of a hangup: curl calls its progress
 * callback about once a second while it waits; the post's own timeout
 * (NOTIFY_TIMEOUT_NS, 5 s) and the receiver's HANG_MS are both longer. */
#define GONE_WITHIN_NS (2500 * FD_NS_PER_MS)

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
		struct notify_msg m = msg(evs[i], 0);

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
		expected_signature(SECRET, post.body, want, sizeof(want));
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
	struct notify_msg m = msg(NOTIFY_INJECTED, 1);
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
		cmocka_unit_test(events_in_order_with_fields),
		cmocka_unit_test(event_filter),
		cmocka_unit_test(errors_are_reports),
		cmocka_unit_test(hanging_receiver_is_abandoned),
		cmocka_unit_test(signed_bodies),
		cmocka_unit_test(retried_after_500),
		cmocka_unit_test(slack_shape),
		cmocka_unit_test(status_every),
		cmocka_unit_test(a_hanging_hook_delays_no_other),
		cmocka_unit_test(no_notify_section),
		cmocka_unit_test(body_of_a_miss),
		cmocka_unit_test(body_of_a_recovery),
		cmocka_unit_test(relay_posts_for_the_notifier),
		cmocka_unit_test(relay_keeps_retries_and_errors),
		cmocka_unit_test(relay_refuses_what_was_not_declared),
		cmocka_unit_test(no_relay_without_a_url),
		cmocka_unit_test(relay_exits_on_hangup),
		cmocka_unit_test(relay_exits_when_its_drill_is_killed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

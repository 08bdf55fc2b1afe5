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
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

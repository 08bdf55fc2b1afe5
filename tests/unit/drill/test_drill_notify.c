/*
 * The webhook sender (drill_notify.c) against a libmicrohttpd receiver on
 * 127.0.0.1 (loopback only, an ephemeral port): events arrive in order with
 * their fields, a webhook's event filter holds, an unset variable is a
 * report and not an error, HTTP and connection errors become reports, a
 * receiver that hangs is abandoned at the end, and no report ever holds the
 * URL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drill_internal.h"
#include "fd_time.h"

#define MAX_POSTS 16
#define MARKER "s3cr3t-7f1c2d9e"

struct receiver {
	struct MHD_Daemon *d;
	uint16_t port;
	unsigned status;     /* what it answers */
	unsigned sleep_ms;   /* before answering */
	pthread_mutex_t mu;
	size_t n;
	char *bodies[MAX_POSTS];
	char ctype[MAX_POSTS][64];
	char path[MAX_POSTS][128];
};

struct upload {
	char *buf;
	size_t len;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_len, void **state)
{
	struct receiver *rv = cls;
	struct upload *up = *state;
	struct MHD_Response *r;
	const char *ct;
	enum MHD_Result ret;

	(void)method, (void)version;
	if (!up) {
		*state = calloc(1, sizeof(struct upload));
		return *state ? MHD_YES : MHD_NO;
	}
	if (*data_len) {
		char *p = realloc(up->buf, up->len + *data_len + 1);

		if (!p)
			return MHD_NO;
		memcpy(p + up->len, data, *data_len);
		up->len += *data_len;
		p[up->len] = '\0';
		up->buf = p;
		*data_len = 0;
		return MHD_YES;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&rv->mu);
	if (rv->n < MAX_POSTS) {
		rv->bodies[rv->n] = up->buf ? up->buf : strdup("");
		up->buf = NULL;
		snprintf(rv->ctype[rv->n], sizeof(rv->ctype[0]), "%s", ct ? ct : "");
		snprintf(rv->path[rv->n], sizeof(rv->path[0]), "%s", url);
		rv->n++;
	}
	pthread_mutex_unlock(&rv->mu);
	if (rv->sleep_ms)
		usleep(rv->sleep_ms * 1000);
	r = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, rv->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
		    enum MHD_RequestTerminationCode code)
{
	struct upload *up = *state;

	(void)cls, (void)c, (void)code;
	if (up)
		free(up->buf);
	free(up);
	*state = NULL;
}

static void receiver_start(struct receiver *rv, unsigned status, unsigned sleep_ms)
{
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;

	memset(rv, 0, sizeof(*rv));
	pthread_mutex_init(&rv->mu, NULL);
	rv->status = status;
	rv->sleep_ms = sleep_ms;
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				 NULL, NULL, on_request, rv, MHD_OPTION_SOCK_ADDR, &lo,
				 MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
	assert_non_null(rv->d);
	info = MHD_get_daemon_info(rv->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	rv->port = info->port;
}

static void receiver_stop(struct receiver *rv)
{
	MHD_stop_daemon(rv->d);
	for (size_t i = 0; i < rv->n; i++)
		free(rv->bodies[i]);
	pthread_mutex_destroy(&rv->mu);
}

static void set_url(const char *var, const struct receiver *rv)
{
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook/" MARKER, (unsigned)rv->port);
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
	struct receiver rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[8];
	struct fd_error err;
	size_t k;

	(void)state;
	receiver_start(&rv, 200, 0);
	set_url("FDT_HOOK_A", &rv);
	unsetenv("FDT_HOOK_UNSET");
	scenario_with(&fx, "FDT_HOOK_A", NOTIFY_START | NOTIFY_INJECTED | NOTIFY_RECOVERED |
			   NOTIFY_OBJECTIVES_MISSED | NOTIFY_END, "FDT_HOOK_UNSET", NOTIFY_START);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, &n, &err), 0);
	assert_non_null(n);
	for (size_t i = 0; i < 4; i++) {
		struct notify_msg m = msg(evs[i], evs[i] == NOTIFY_START || evs[i] == NOTIFY_END ? 0 : 1);

		if (evs[i] == NOTIFY_RECOVERED) {
			m.outcome = "recovered";
			m.has_rto = true;
			m.rto_ms = 1234.5;
			m.error_bound_ms = 20;
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

	assert_int_equal(rv.n, 4);
	for (size_t i = 0; i < rv.n; i++) {
		json_error_t je;
		json_t *j = json_loads(rv.bodies[i], 0, &je);

		assert_non_null(j);
		assert_string_equal(rv.path[i], "/hook/" MARKER);
		assert_non_null(strstr(rv.ctype[i], "application/json"));
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
	receiver_stop(&rv);
	unsetenv("FDT_HOOK_A");
}

static void event_filter(void **state)
{
	struct receiver rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fd_error err;

	(void)state;
	receiver_start(&rv, 204, 0);
	set_url("FDT_HOOK_B", &rv);
	scenario_with(&fx, "FDT_HOOK_B", NOTIFY_OBJECTIVES_MISSED, NULL, 0);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, &n, &err), 0);
	for (unsigned e = NOTIFY_START; e <= NOTIFY_END; e <<= 1) {
		struct notify_msg m = msg((enum notify_event)e, 1);

		notifier_send(n, &m, 1);
	}
	notifier_finish(n, 10 * FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 4), 1);
	assert_string_equal(reps[0].text, "notified objectives-missed via $FDT_HOOK_B: HTTP 204");
	assert_int_equal(rv.n, 1);
	notifier_free(n);
	receiver_stop(&rv);
	unsetenv("FDT_HOOK_B");
}

static void errors_are_reports(void **state)
{
	struct receiver rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_START, 0);
	uint16_t closed;

	(void)state;
	receiver_start(&rv, 500, 0);
	set_url("FDT_HOOK_500", &rv);
	/* a port nobody listens on any more */
	{
		struct receiver gone;

		receiver_start(&gone, 200, 0);
		closed = gone.port;
		receiver_stop(&gone);
		gone.port = closed;
		set_url("FDT_HOOK_GONE", &gone);
	}
	scenario_with(&fx, "FDT_HOOK_500", NOTIFY_START, "FDT_HOOK_GONE", NOTIFY_START);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, &n, &err), 0);
	notifier_send(n, &m, 0);
	notifier_finish(n, 10 * FD_NS_PER_S);
	assert_int_equal(drain(n, reps, 4), 2);
	assert_false(reps[0].ok);
	assert_string_equal(reps[0].text, "notify start via $FDT_HOOK_500 failed: HTTP 500");
	assert_false(reps[1].ok);
	assert_string_equal(reps[1].text,
			    "notify start via $FDT_HOOK_GONE failed: Couldn't connect to server");
	notifier_free(n);
	receiver_stop(&rv);
	unsetenv("FDT_HOOK_500");
	unsetenv("FDT_HOOK_GONE");
}

/* A receiver that hangs: sending does not wait for it, and the end abandons it. */
static void hanging_receiver_is_abandoned(void **state)
{
	struct receiver rv;
	struct fixture fx;
	struct notifier *n = NULL;
	struct notify_report reps[4];
	struct fd_error err;
	struct notify_msg m1 = msg(NOTIFY_START, 0), m2 = msg(NOTIFY_END, 0);
	size_t k;

	(void)state;
	receiver_start(&rv, 200, 3000);
	set_url("FDT_HOOK_SLOW", &rv);
	scenario_with(&fx, "FDT_HOOK_SLOW", NOTIFY_START | NOTIFY_END, NULL, 0);
	assert_int_equal(notifier_new(&fx.s, 5 * FD_NS_PER_S, &n, &err), 0);
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
	receiver_stop(&rv);
	unsetenv("FDT_HOOK_SLOW");
}

static void no_notify_section(void **state)
{
	struct scenario s = { 0 };
	struct notifier *n = (struct notifier *)&s;
	struct fd_error err;
	struct notify_msg m = msg(NOTIFY_START, 0);

	(void)state;
	assert_int_equal(notifier_new(&s, FD_NS_PER_S, &n, &err), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events_in_order_with_fields),
		cmocka_unit_test(event_filter),
		cmocka_unit_test(errors_are_reports),
		cmocka_unit_test(hanging_receiver_is_abandoned),
		cmocka_unit_test(no_notify_section),
		cmocka_unit_test(body_of_a_miss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

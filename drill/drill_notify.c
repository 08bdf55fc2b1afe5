/*
 * Webhooks for the scenario's `notify:` section: a JSON POST per event
 * (start, injected, detected, recovered, objectives-missed, manual-step,
 * step-failed, aborted, reverted, revert-failed, status, end) to the URL
 * held in a named environment variable; `format: slack` sends a body that
 * Slack-compatible incoming webhooks take as is. With `secret-env`, the
 * body is signed: X-Firedrill-Signature: sha256=HEX, HMAC-SHA256 of the
 * exact body with the secret as key (libsodium), so a receiver can trust
 * it. The secret, like the URL, is read from the environment and never
 * stored.
 *
 * A delivery that fails for a reason worth retrying (no connection, a
 * timeout, HTTP 408, 429 or 5xx) is tried again after 0.5 s, 1 s, 2 s, ...
 * until NOTIFY_RETRY_FOR_NS has passed since its first attempt; the
 * report says how many attempts it took.
 *
 * The URL is a secret: it is read from the environment when the notifier is
 * made and lives only in this file's memory. Nothing it returns (reports,
 * errors) contains it: an outcome is "HTTP 200" or curl's generic text for
 * its error code, never curl's detailed message, which may quote the host.
 *
 * Each webhook has its own worker thread sending its requests one at a time
 * in order, so a slow or dead webhook never delays the drill's probing, nor
 * another webhook's messages. The workers are made before the
 * drill enters the scenario's network namespace and stays in the one the
 * drill was started from (the operator's network reaches the webhook; a
 * scope namespace usually does not). Outcomes come back as reports the
 * drill drains between slices and writes to the timeline itself, so the
 * store is only ever touched by the drill's thread.
 *
 * A sandboxed drill (run --sandbox) has joined the sandbox's user and
 * network namespaces for good, threads included; its workers hand each
 * prepared request (event, body, signature) to the webhook relay
 * (drill_relay.c), which posts it from outside and answers with curl's code
 * or the HTTP status: the retries and the reports below are the same.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "drill_internal.h"
#include "fd_priv.h"
#include "fd_time.h"

#define MAX_QUEUE 64

struct hook {
	char *var;  /* the variable's name, for reports */
	char *url;  /* NULL when the variable is unset or empty */
	unsigned char *secret; /* HMAC key; NULL when unsigned */
	size_t secret_len;
	enum notify_format format;
	unsigned events;
	int64_t status_every_ns;
	int64_t next_status_ns; /* CLOCK_MONOTONIC */
	pthread_t worker;       /* when started: sends this hook's jobs in order */
	bool started;
	int relay_fd;           /* its socket to the relay; -1: posted by the worker */
};

struct worker_arg {
	struct notifier *n;
	size_t hook;
};

struct job {
	struct job *next;
	size_t hook;
	enum notify_event event;
	int64_t iteration_id;
	char *body;
	char *slack; /* the body in Slack's shape, for hooks with format: slack */
};

struct report_node {
	struct report_node *next;
	struct notify_report r;
};

struct notifier {
	struct hook *hooks;
	size_t n_hooks;
	long timeout_ms;
	int64_t retry_first_ns; /* the first retry's delay; doubled each time */
	int64_t retry_for_ns;   /* no retry starts later than this after the first attempt */
	char host[128];

	bool started;       /* at least one worker runs */
	struct worker_arg *args;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *jobs, **jobs_tail;
	size_t n_jobs;
	size_t n_busy;      /* workers sending a job */
	bool closing;       /* no more jobs: the workers exit when the queue is empty */
	volatile int abort; /* read by curl's progress callback: give up now */
	int abort_fd;       /* with a relay: readable once abort is set (an eventfd) */
	struct report_node *reports, **reports_tail;
};

const char *notify_event_name(enum notify_event e)
{
	const char *name = scenario_notify_event_name((unsigned)e);

	return name ? name : "?";
}

/* Under n->mu. */
static void push_report(struct notifier *n, const char *subject, int64_t iteration_id, bool ok,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void push_report(struct notifier *n, const char *subject, int64_t iteration_id, bool ok,
			const char *fmt, ...)
{
	struct report_node *rn = calloc(1, sizeof(*rn));
	va_list ap;

	if (!rn)
		return; /* only the timeline line is lost */
	drill_textf(rn->r.subject, sizeof(rn->r.subject), "%s", subject);
	rn->r.iteration_id = iteration_id;
	rn->r.mono_ns = fd_mono_ns();
	rn->r.ok = ok;
	va_start(ap, fmt);
	vsnprintf(rn->r.text, sizeof(rn->r.text), fmt, ap);
	va_end(ap);
	*n->reports_tail = rn;
	n->reports_tail = &rn->next;
}

static int abort_requested(void *user)
{
	const struct notifier *n = user;

	return n->abort;
}

/* "sha256=HEX": HMAC-SHA256 of body under the hook's secret. */
static void signature(const struct hook *h, const char *body, char *out, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char hex[2 * sizeof(mac) + 1];

	crypto_auth_hmacsha256_init(&st, h->secret, h->secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	drill_textf(out, len, "sha256=%s", hex);
}

enum post_result { POST_OK, POST_RETRY, POST_FAILED, POST_ABANDONED };

/* What one attempt's answer means (curl's code, the HTTP status when
 * CURLE_OK); fills why with "HTTP 200" or curl's generic error text. */
static enum post_result judge(int rc, long status, char *why, size_t len)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		drill_textf(why, len, "abandoned when the drill ended");
		return POST_ABANDONED;
	}
	if (rc != CURLE_OK) {
		drill_textf(why, len, "%s", curl_easy_strerror((CURLcode)rc));
		/* a URL curl refuses will not get better */
		return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ? POST_FAILED
										   : POST_RETRY;
	}
	drill_textf(why, len, "HTTP %ld", status);
	if (status >= 200 && status < 300)
		return POST_OK;
	return status == 408 || status == 429 || status >= 500 ? POST_RETRY : POST_FAILED;
}

/* One POST, by this worker or through the relay; fills why. */
static enum post_result post(struct notifier *n, CURL *c, const struct job *j, char *why,
			     size_t len)
{
	const struct hook *h = &n->hooks[j->hook];
	struct notify_post p = {
		.url = h->url,
		.event = notify_event_name(j->event),
		.body = h->format == NOTIFY_FORMAT_SLACK ? j->slack : j->body,
		.timeout_ms = n->timeout_ms,
		.abort = abort_requested,
		.abort_user = n,
	};
	char sig[80];
	long status = 0;
	int rc;

	if (h->secret) {
		signature(h, p.body, sig, sizeof(sig));
		p.signature = sig;
	}
	if (h->relay_fd < 0)
		rc = notify_http_post(c, &p, &status);
	else
		rc = drill_relay_post(h->relay_fd, n->abort_fd, &p, &status, why, len);
	if (rc == -ECANCELED) {
		drill_textf(why, len, "abandoned when the drill ended");
		return POST_ABANDONED;
	}
	if (rc < 0)
		return POST_FAILED; /* the relay is gone or refused it: why says which */
	return judge(rc, status, why, len);
}

/* Waits delay_ns unless the drill abandons its webhooks first (under n->mu). */
static void backoff_wait(struct notifier *n, int64_t delay_ns)
{
	int64_t until = fd_real_ns() + delay_ns;
	struct timespec ts = { .tv_sec = until / FD_NS_PER_S, .tv_nsec = until % FD_NS_PER_S };

	while (!n->abort && pthread_cond_timedwait(&n->cv, &n->mu, &ts) != ETIMEDOUT)
		;
}

/*
 * Delivers one job, retrying with a doubling delay while the failure is
 * worth retrying and the retry window is open. Called without n->mu.
 */
static bool deliver(struct notifier *n, CURL *c, const struct job *j, char *why, size_t len)
{
	int64_t first = fd_mono_ns(), delay = n->retry_first_ns;
	char first_why[96] = "", dur[32], tmp[160];
	enum post_result r;
	unsigned attempts = 0;

	for (;;) {
		r = post(n, c, j, why, len);
		attempts++;
		if (attempts == 1)
			drill_textf(first_why, sizeof(first_why), "%s", why);
		if (r != POST_RETRY || n->abort ||
		    fd_mono_ns() + delay - first > n->retry_for_ns)
			break;
		pthread_mutex_lock(&n->mu);
		backoff_wait(n, delay);
		pthread_mutex_unlock(&n->mu);
		if (n->abort) {
			drill_textf(tmp, sizeof(tmp), "%s; the drill ended before the next attempt", why);
			drill_textf(why, len, "%s", tmp);
			break;
		}
		delay *= 2;
	}
	if (attempts > 1) {
		fd_duration_format(fd_mono_ns() - first, dur, sizeof(dur));
		if (r == POST_OK)
			drill_textf(tmp, sizeof(tmp), "%s after %u attempts in %s (first: %s)", why,
				    attempts, dur, first_why);
		else
			drill_textf(tmp, sizeof(tmp), "%s (%u attempts in %s)", why, attempts, dur);
		drill_textf(why, len, "%s", tmp);
	}
	return r == POST_OK;
}

/* The oldest job of hook h, unlinked (under n->mu); NULL when none. */
static struct job *take_job(struct notifier *n, size_t h)
{
	struct job **pp = &n->jobs, *j;

	while (*pp && (*pp)->hook != h)
		pp = &(*pp)->next;
	j = *pp;
	if (!j)
		return NULL;
	*pp = j->next;
	if (!*pp)
		n->jobs_tail = pp;
	n->n_jobs--;
	return j;
}

static void *worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct notifier *n = wa->n;
	struct job *j;
	char why[160];
	CURL *c;
	bool ok;

	fd_priv_drop_all(); /* webhooks need no capability (per thread) */
	c = curl_easy_init();
	pthread_mutex_lock(&n->mu);
	for (;;) {
		while (!(j = take_job(n, wa->hook)) && !n->closing)
			pthread_cond_wait(&n->cv, &n->mu);
		if (!j)
			break;
		n->n_busy++;
		pthread_mutex_unlock(&n->mu);
		if (!c)
			ok = false, drill_textf(why, sizeof(why), "out of memory");
		else if (n->abort)
			ok = false, drill_textf(why, sizeof(why), "not sent: the drill ended first");
		else
			ok = deliver(n, c, j, why, sizeof(why));
		pthread_mutex_lock(&n->mu);
		push_report(n, notify_event_name(j->event), j->iteration_id, ok, "%s %s via $%s%s: %s",
			    ok ? "notified" : "notify", notify_event_name(j->event),
			    n->hooks[j->hook].var, ok ? "" : " failed", why);
		n->n_busy--;
		pthread_cond_broadcast(&n->cv);
		free(j->body);
		free(j->slack);
		free(j);
	}
	pthread_mutex_unlock(&n->mu);
	curl_easy_cleanup(c);
	return NULL;
}

/* One worker per webhook that has a URL. */
static int start_workers(struct notifier *n, struct fd_error *err)
{
	sigset_t all, old;
	int rc = 0;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "notify: curl_global_init failed");
	n->args = calloc(n->n_hooks, sizeof(*n->args));
	if (!n->args)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	/* Signals are for the drill's thread (its stop flag), not the workers. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (size_t i = 0; i < n->n_hooks && rc == 0; i++) {
		if (!n->hooks[i].url)
			continue;
		n->args[i] = (struct worker_arg){ .n = n, .hook = i };
		rc = pthread_create(&n->hooks[i].worker, NULL, worker, &n->args[i]);
		if (rc == 0)
			n->hooks[i].started = n->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		notifier_finish(n, 0);
		return fd_error_set(err, FD_ERR_ENV, -rc, "notify: cannot start its thread: %s",
				    strerror(rc));
	}
	return 0;
}

/* With a relay: each hook's socket, the abort's eventfd, and a setup report
 * saying who posts. */
static int use_relay(struct notifier *n, const struct drill_relay *relay, struct fd_error *err)
{
	n->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->abort_fd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "notify: eventfd: %s", strerror(errno));
	for (size_t i = 0; i < n->n_hooks; i++) {
		struct hook *h = &n->hooks[i];

		h->relay_fd = drill_relay_fd(relay, i);
		if (h->url && h->relay_fd < 0) {
			/* set after the relay started: it has no URL to post to */
			push_report(n, "setup", 0, false,
				    "$%s was not set when the webhook relay started: its webhooks are skipped",
				    h->var);
			explicit_bzero(h->url, strlen(h->url));
			free(h->url);
			h->url = NULL;
		}
	}
	push_report(n, "setup", 0, true,
		    "webhooks are posted by the relay (pid %ld) from the namespaces firedrill was started in",
		    (long)drill_relay_pid(relay));
	return 0;
}

int notifier_new(const struct scenario *s, int64_t timeout_ns, const struct drill_relay *relay,
		 struct notifier **out, struct fd_error *err)
{
	struct notifier *n = NULL;
	bool any = false;
	int rc = 0;

	*out = NULL;
	if (s->n_notify == 0)
		return 0;
	if (sodium_init() < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "notify: libsodium cannot start");
	n = calloc(1, sizeof(*n));
	if (!n)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	n->abort_fd = -1;
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	n->hooks = calloc(s->n_notify, sizeof(*n->hooks));
	if (!n->hooks)
		goto nomem;
	for (size_t i = 0; i < s->n_notify; i++)
		n->hooks[i].relay_fd = -1;
	n->jobs_tail = &n->jobs;
	n->reports_tail = &n->reports;
	n->timeout_ms = (long)(timeout_ns / FD_NS_PER_MS);
	n->retry_first_ns = NOTIFY_RETRY_FIRST_NS;
	n->retry_for_ns = NOTIFY_RETRY_FOR_NS;
	if (gethostname(n->host, sizeof(n->host)) < 0)
		drill_textf(n->host, sizeof(n->host), "unknown");
	n->n_hooks = s->n_notify;
	for (size_t i = 0; i < s->n_notify; i++) {
		const char *url = getenv(s->notify[i].webhook_env);
		const char *secret_var = s->notify[i].secret_env;
		const char *secret = secret_var ? getenv(secret_var) : NULL;

		n->hooks[i].events = s->notify[i].events;
		n->hooks[i].format = s->notify[i].format;
		n->hooks[i].status_every_ns = s->notify[i].status_every_ns;
		n->hooks[i].next_status_ns = fd_mono_ns() + s->notify[i].status_every_ns;
		n->hooks[i].var = strdup(s->notify[i].webhook_env);
		if (!n->hooks[i].var)
			goto nomem;
		if (secret_var && (!secret || !*secret) && url && *url) {
			/* unsigned would be refused by a receiver that checks, or worse, trusted */
			push_report(n, "setup", 0, false,
				    "$%s (the signing secret of $%s) is not set: its webhooks are skipped",
				    secret_var, n->hooks[i].var);
			continue;
		}
		if (secret_var) {
			n->hooks[i].secret_len = strlen(secret);
			n->hooks[i].secret = malloc(n->hooks[i].secret_len);
			if (!n->hooks[i].secret)
				goto nomem;
			memcpy(n->hooks[i].secret, secret, n->hooks[i].secret_len);
		}
		if (url && *url) {
			n->hooks[i].url = strdup(url);
			if (!n->hooks[i].url)
				goto nomem;
			any = true;
		} else {
			push_report(n, "setup", 0, false, "$%s is not set: its webhooks are skipped",
				    n->hooks[i].var);
		}
	}
	if (any && relay)
		rc = use_relay(n, relay, err);
	if (any && rc == 0)
		rc = start_workers(n, err);
	if (rc < 0) {
		notifier_free(n);
		return rc;
	}
	*out = n;
	return 0;
nomem:
	notifier_free(n);
	return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
}

/* The webhook's edge: durations go out in ms. */
static json_t *opt_ms(bool has, int64_t ns)
{
	return has ? json_real((double)ns / (double)FD_NS_PER_MS) : json_null();
}

/* The short human line chat webhooks (Slack, Mattermost) show as the message. */
static void summary_text(const struct notify_msg *m, char *buf, size_t len)
{
	char it[48] = "", res[160] = "", dur[64];

	if (m->iteration)
		drill_textf(it, sizeof(it), ", iteration %u/%u", m->iteration, m->iterations);
	if (m->has_rto && m->has_rto_bounds)
		fd_bounded_format(m->rto_ns, m->rto_late_ns, m->rto_early_ns, dur, sizeof(dur));
	else if (m->has_rto)
		fd_duration_format(m->rto_ns, dur, sizeof(dur));
	if (m->has_rto)
		drill_textf(res, sizeof(res), ": %s, RTO %s", m->outcome ? m->outcome : "", dur);
	else if (m->outcome)
		drill_textf(res, sizeof(res), ": %s", m->outcome);
	else if (m->detail && *m->detail) /* a step, an abort, a status: the detail says it */
		drill_textf(res, sizeof(res), ": %s", m->detail);
	drill_textf(buf, len, "firedrill %s: %s (%s), drill %lld%s%s%s",
		    notify_event_name(m->event), m->scenario, m->environment,
		    (long long)m->drill_id, it, res,
		    m->objectives_met < 0 ? "" : m->objectives_met ? ", objectives met"
								    : ", objectives MISSED");
}

/* Caller has ownership of the returned string (NULL on ENOMEM). The body
 * Slack-compatible incoming webhooks take: text (the notification and
 * fallback) and blocks (a section and a context line). */
char *notify_body_slack(const struct notify_msg *m, const char *host)
{
	char text[400], head[480], ctx[300], when[64];
	bool bad = m->event == NOTIFY_REVERT_FAILED || m->event == NOTIFY_ABORTED ||
		   m->event == NOTIFY_STEP_FAILED || m->event == NOTIFY_OBJECTIVES_MISSED;
	json_t *root;
	char *body;

	summary_text(m, text, sizeof(text));
	drill_textf(head, sizeof(head), "%s*%s*", bad ? ":rotating_light: " : "", text);
	drill_textf(ctx, sizeof(ctx), "drill %lld on %s, %s", (long long)m->drill_id, host,
		    fd_time_format_utc(fd_real_ns(), when, sizeof(when)));
	root = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:[{s:s, s:s}]}]}", "text", text,
			 "blocks", "type", "section", "text", "type", "mrkdwn", "text", head,
			 "type", "context", "elements", "type", "mrkdwn", "text", ctx);
	body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return body;
}

/* Caller has ownership of the returned string. */
char *notify_body(const struct notify_msg *m, const char *host)
{
	char text[400], when[64];
	json_t *root;
	char *body;

	summary_text(m, text, sizeof(text));
	root = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s}",
		"event", notify_event_name(m->event), "text", text,
		"scenario", m->scenario, "environment", m->environment,
		"drill_id", (json_int_t)m->drill_id,
		"iteration", m->iteration ? json_integer(m->iteration) : json_null(),
		"iterations", (int)m->iterations,
		"outcome", m->outcome ? json_string(m->outcome) : json_null(),
		"rto_ms", opt_ms(m->has_rto, m->rto_ns),
		"rto_error_bound_ms", opt_ms(m->has_rto, m->error_bound_ns),
		"rpo_ms", opt_ms(m->has_rpo, m->rpo_ns),
		"lost_writes", m->has_rpo ? json_integer(m->lost_writes) : json_null(),
		"objectives_met", m->objectives_met < 0 ? json_null() : json_boolean(m->objectives_met),
		"detail", m->detail ? m->detail : "", "host", host,
		"time", fd_time_format_utc(fd_real_ns(), when, sizeof(when)));
	if (root) { /* the true RTO lies in [rto_ms - rto_late_ms, rto_ms + rto_early_ms] */
		json_object_set_new(root, "rto_early_ms",
				    opt_ms(m->has_rto_bounds, m->rto_early_ns));
		json_object_set_new(root, "rto_late_ms", opt_ms(m->has_rto_bounds, m->rto_late_ns));
	}
	body = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(root);
	return body;
}

/* Queues m for hook i; never blocks on the network. */
static void queue_one(struct notifier *n, size_t i, const struct notify_msg *m, int64_t iteration_id)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j)
		j->body = notify_body(m, n->host);
	if (j && j->body && n->hooks[i].format == NOTIFY_FORMAT_SLACK) {
		j->slack = notify_body_slack(m, n->host);
		if (!j->slack) {
			free(j->body);
			j->body = NULL;
		}
	}
	pthread_mutex_lock(&n->mu);
	if (!j || !j->body || n->n_jobs >= MAX_QUEUE || n->closing) {
		push_report(n, notify_event_name(m->event), iteration_id, false,
			    "notify %s via $%s: not sent: %s", notify_event_name(m->event),
			    n->hooks[i].var, !j || !j->body ? "out of memory" : "too many webhooks pending");
		if (j) {
			free(j->body);
			free(j->slack);
		}
		free(j);
	} else {
		j->hook = i;
		j->event = m->event;
		j->iteration_id = iteration_id;
		*n->jobs_tail = j;
		n->jobs_tail = &j->next;
		n->n_jobs++;
		pthread_cond_broadcast(&n->cv);
	}
	pthread_mutex_unlock(&n->mu);
}

void notifier_send(struct notifier *n, const struct notify_msg *m, int64_t iteration_id)
{
	if (!n || !n->started)
		return;
	for (size_t i = 0; i < n->n_hooks; i++)
		if (n->hooks[i].url && (n->hooks[i].events & m->event))
			queue_one(n, i, m, iteration_id);
}

bool notifier_status_due(const struct notifier *n, int64_t now_mono_ns)
{
	for (size_t i = 0; n && n->started && i < n->n_hooks; i++)
		if (n->hooks[i].url && (n->hooks[i].events & NOTIFY_STATUS) &&
		    now_mono_ns >= n->hooks[i].next_status_ns)
			return true;
	return false;
}

void notifier_send_status(struct notifier *n, const struct notify_msg *m, int64_t now_mono_ns)
{
	for (size_t i = 0; n && n->started && i < n->n_hooks; i++) {
		struct hook *h = &n->hooks[i];

		if (!h->url || !(h->events & NOTIFY_STATUS) || now_mono_ns < h->next_status_ns)
			continue;
		while (h->next_status_ns <= now_mono_ns) /* a late slice skips, never bursts */
			h->next_status_ns += h->status_every_ns;
		queue_one(n, i, m, 0);
	}
}

void notifier_set_retry(struct notifier *n, int64_t first_delay_ns, int64_t retry_for_ns)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->retry_first_ns = first_delay_ns;
	n->retry_for_ns = retry_for_ns;
	pthread_mutex_unlock(&n->mu);
}

bool notifier_next_report(struct notifier *n, struct notify_report *out)
{
	struct report_node *rn;

	if (!n)
		return false;
	pthread_mutex_lock(&n->mu);
	rn = n->reports;
	if (rn) {
		n->reports = rn->next;
		if (!n->reports)
			n->reports_tail = &n->reports;
	}
	pthread_mutex_unlock(&n->mu);
	if (!rn)
		return false;
	*out = rn->r;
	free(rn);
	return true;
}

void notifier_finish(struct notifier *n, int64_t grace_ns)
{
	struct timespec ts;
	int64_t until = fd_real_ns() + grace_ns;

	if (!n || !n->started)
		return;
	pthread_mutex_lock(&n->mu);
	n->closing = true;
	pthread_cond_broadcast(&n->cv);
	/* The condition variable waits on CLOCK_REALTIME (its default). */
	ts.tv_sec = until / FD_NS_PER_S;
	ts.tv_nsec = until % FD_NS_PER_S;
	while ((n->jobs || n->n_busy) &&
	       pthread_cond_timedwait(&n->cv, &n->mu, &ts) != ETIMEDOUT)
		;
	n->abort = 1; /* what is still pending is reported as not sent */
	if (n->abort_fd >= 0) { /* ends a wait for the relay's answer */
		uint64_t one = 1;
		ssize_t w = write(n->abort_fd, &one, sizeof(one));

		(void)w; /* an eventfd counter that cannot overflow from 0 */
	}
	pthread_cond_broadcast(&n->cv); /* ends a retry's wait */
	pthread_mutex_unlock(&n->mu);
	for (size_t i = 0; i < n->n_hooks; i++)
		if (n->hooks[i].started) {
			pthread_join(n->hooks[i].worker, NULL);
			n->hooks[i].started = false;
		}
	n->started = false;
}

void notifier_free(struct notifier *n)
{
	struct notify_report r;

	if (!n)
		return;
	notifier_finish(n, 0);
	while (notifier_next_report(n, &r))
		;
	for (size_t i = 0; n->hooks && i < n->n_hooks; i++) {
		free(n->hooks[i].var);
		if (n->hooks[i].url)
			explicit_bzero(n->hooks[i].url, strlen(n->hooks[i].url));
		free(n->hooks[i].url);
		if (n->hooks[i].secret)
			sodium_memzero(n->hooks[i].secret, n->hooks[i].secret_len);
		free(n->hooks[i].secret);
	}
	free(n->hooks);
	free(n->args);
	if (n->abort_fd >= 0)
		close(n->abort_fd);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	free(n);
}

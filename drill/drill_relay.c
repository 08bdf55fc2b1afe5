/*
 * The webhook relay of a sandboxed drill (docs/local.md, "Webhooks from a
 * sandbox"). `run --sandbox` joins the sandbox's user and network
 * namespaces for good, so every thread of the drill is behind the
 * sandbox's loopback. Before joining, drill_relay_start() forks this small
 * process, which stays where firedrill was started (its namespaces, the
 * user's own identity and network) and posts the drill's webhooks for it.
 *
 * What the relay may be told is narrow, because the drill it serves runs
 * next to the sandboxed service (root of the same user namespace, which
 * may ptrace it): each webhook of the scenario whose variable is set gets
 * its own SOCK_SEQPACKET socketpair, made before the fork; the relay holds
 * that webhook's URL, read from the environment before the fork, and the
 * events it declared. A request names no URL and no header: one JSON
 * object {id, event, body, signature?}, at most RELAY_MAX_MSG bytes, where
 * event must be one the webhook declared, body a JSON object, and
 * signature "sha256=" and 64 hex digits (required when the webhook has a
 * secret-env, which stays with the drill: it signs; the relay wipes its
 * inherited copy of the secret and cannot sign). The answer is {id, http:
 * STATUS}, {id, curl: CODE} or {id, refused: WHY}, so the drill's retries
 * and timeline are what they are without a relay.
 *
 * One socket and one relay thread per webhook, as the drill has one worker
 * per webhook: a webhook that hangs delays no other, and no answer has to
 * be matched to its asker. The relay holds no capability, sets
 * no_new_privs, is not dumpable (the sandbox's processes, the same uid,
 * cannot ptrace it or read its memory) and ignores the terminal's and
 * systemd's stop signals (the drill handles them and still notifies).
 * It exits when the drill's end of every socket is closed, a crash
 * included: a post in flight is abandoned at curl's next progress call
 * (about once a second), and PR_SET_PDEATHSIG kills it if the drill dies
 * while another process holds a copy of a socket.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill_internal.h"
#include "fd_priv.h"

struct drill_relay {
	pid_t pid;
	size_t n;  /* the scenario's webhooks */
	int *fd;   /* per webhook: the drill's end; -1 without a URL */
};

/* One webhook, in the relay process. */
struct relay_line {
	int fd;                /* the relay's end; -1 without a URL */
	const char *url;       /* the environment's copy, inherited by the fork */
	unsigned events;       /* enum notify_event bits it declared */
	bool needs_signature;  /* it has a secret-env */
	pthread_t thread;
	bool started;
};

/* ---- the relay process ---------------------------------------------------- */

/* Non-zero once the drill's end is closed: curl gives up the post. */
static int relay_peer_gone(void *user)
{
	const struct relay_line *l = user;
	struct pollfd p = { .fd = l->fd, .events = 0 };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static bool relay_signature_ok(const char *sig)
{
	static const char prefix[] = "sha256=";
	size_t n = sizeof(prefix) - 1;

	return strncmp(sig, prefix, n) == 0 && strlen(sig) == n + 64 &&
	       sig[n + strspn(sig + n, "0123456789abcdef")] == '\0';
}

static bool relay_event_ok(const struct relay_line *l, const char *event)
{
	for (unsigned bit = 1; bit <= NOTIFY_ALL; bit <<= 1) {
		const char *name = scenario_notify_event_name(bit);

		if (name && strcmp(name, event) == 0)
			return (l->events & bit) != 0;
	}
	return false;
}

/* Checks one request; NULL when it is one to post, else why not. */
static const char *relay_check(const struct relay_line *l, const char *event, const char *body,
			       const char *sig)
{
	json_error_t je;
	json_t *b;
	bool object;

	if (!relay_event_ok(l, event))
		return "not an event this webhook declared";
	if (sig && !relay_signature_ok(sig))
		return "the signature is not sha256= and 64 hex digits";
	if (!sig && l->needs_signature)
		return "this webhook is signed: a request without a signature";
	b = json_loads(body, JSON_REJECT_DUPLICATES, &je);
	object = json_is_object(b);
	json_decref(b);
	return object ? NULL : "the body is not a JSON object";
}

/* The answer to one request of len bytes (len may exceed RELAY_MAX_MSG:
 * what was cut off). Caller has ownership. */
static json_t *relay_handle(const struct relay_line *l, CURL *c, const char *msg, size_t len)
{
	const char *event = NULL, *body = NULL, *sig = NULL, *why;
	struct notify_post p = { 0 };
	json_int_t id = 0;
	json_error_t je;
	json_t *req, *ans;
	long status = 0;
	int rc;
	char text[96];

	if (len > RELAY_MAX_MSG) {
		snprintf(text, sizeof(text), "a request of %zu bytes, more than %d", len, RELAY_MAX_MSG);
		return json_pack("{s:I, s:s}", "id", id, "refused", text);
	}
	req = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &je);
	if (!req || json_unpack_ex(req, &je, JSON_STRICT, "{s:I, s:s, s:s, s?s}", "id", &id, "event",
				   &event, "body", &body, "signature", &sig) < 0) {
		json_decref(req);
		return json_pack("{s:I, s:s}", "id", (json_int_t)0, "refused",
				 "not {id, event, body, signature?}");
	}
	why = relay_check(l, event, body, sig);
	if (why) {
		ans = json_pack("{s:I, s:s}", "id", id, "refused", why);
		json_decref(req);
		return ans;
	}
	p.url = l->url;
	p.event = event;
	p.body = body;
	p.signature = sig;
	p.timeout_ms = (long)(NOTIFY_TIMEOUT_NS / FD_NS_PER_MS);
	p.abort = relay_peer_gone;
	p.abort_user = (void *)l;
	rc = notify_http_post(c, &p, &status);
	json_decref(req); /* after the post: event, body and sig are its strings */
	if (rc == CURLE_OK)
		return json_pack("{s:I, s:I}", "id", id, "http", (json_int_t)status);
	return json_pack("{s:I, s:i}", "id", id, "curl", rc);
}

/* Serves one webhook's socket until the drill's end closes. */
static void *relay_line_main(void *arg)
{
	struct relay_line *l = arg;
	char *buf = malloc(RELAY_MAX_MSG);
	CURL *c = curl_easy_init();

	for (;;) {
		json_t *ans = NULL;
		char *text = NULL;
		ssize_t n;

		if (!buf || !c)
			break; /* out of memory: the drill sees the relay gone */
		/* MSG_TRUNC: the datagram's real length, even past the buffer */
		n = recv(l->fd, buf, RELAY_MAX_MSG, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the drill closed its end (or died) */
		ans = relay_handle(l, c, buf, (size_t)n);
		text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
		json_decref(ans);
		n = text ? send(l->fd, text, strlen(text), MSG_NOSIGNAL) : -1;
		free(text);
		if (n < 0)
			break;
	}
	curl_easy_cleanup(c);
	free(buf);
	return NULL;
}

/* Every descriptor but the relay's own sockets is closed; 0-2 are /dev/null. */
static void relay_close_others(const struct relay_line *lines, size_t n)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), max = 2;

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	for (size_t i = 0; i < n; i++)
		if (lines[i].fd > max)
			max = lines[i].fd;
	for (int fd = 3; fd <= max; fd++) {
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++)
			keep = lines[i].fd == fd;
		if (!keep)
			close(fd);
	}
	syscall(SYS_close_range, (unsigned)max + 1, ~0U, 0);
}

/* The relay's narrowing: nothing but the user's own rights, kept for good. */
static void relay_narrow(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t none;

	sigemptyset(&ign.sa_mask);
	/* the drill handles these (revert, the aborted and end webhooks) and
	 * hangs up when done; the relay must still be there to post them */
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGTERM, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGQUIT, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "firedrill-relay", 0, 0, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	fd_priv_drop_all(); /* before any thread: they inherit it */
}

/* The signing secrets are the drill's (it signs); the relay's copy of the
 * environment, inherited by the fork, is wiped of them. Other variables
 * stay: curl takes its proxy settings from them. */
static void relay_forget_secrets(const struct scenario *s)
{
	for (size_t i = 0; i < s->n_notify; i++) {
		const char *var = s->notify[i].secret_env;
		char *v = var ? getenv(var) : NULL;

		if (v)
			explicit_bzero(v, strlen(v));
		if (var)
			unsetenv(var);
	}
}

static _Noreturn void relay_main(const struct scenario *s, struct relay_line *lines, pid_t drill)
{
	size_t n = s->n_notify;

	/* the drill's death kills it even if a copy of a socket lives on */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != drill)
		_exit(0); /* it died before the line above */
	relay_close_others(lines, n);
	relay_forget_secrets(s);
	relay_narrow();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		_exit(1); /* the drill sees every socket closed: "the relay is gone" */
	for (size_t i = 0; i < n; i++)
		if (lines[i].fd >= 0)
			lines[i].started = pthread_create(&lines[i].thread, NULL, relay_line_main,
							  &lines[i]) == 0;
	for (size_t i = 0; i < n; i++)
		if (lines[i].started)
			pthread_join(lines[i].thread, NULL);
	/* _exit: the drill's atexit handlers and stdio buffers are not ours */
	_exit(0);
}

/* ---- the drill's side ----------------------------------------------------- */

int drill_relay_fd(const struct drill_relay *r, size_t hook)
{
	return r && hook < r->n ? r->fd[hook] : -1;
}

pid_t drill_relay_pid(const struct drill_relay *r)
{
	return r ? r->pid : 0;
}

void drill_relay_hangup(struct drill_relay *r)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (r->fd[i] >= 0) {
			close(r->fd[i]);
			r->fd[i] = -1;
		}
}

/* Reaps the relay, waiting up to timeout_ns; false when it still runs. */
static bool relay_reap(pid_t pid, int64_t timeout_ns)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd >= 0) {
		while (poll(&p, 1, (int)(timeout_ns / FD_NS_PER_MS)) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
	return waitpid(pid, NULL, WNOHANG) == pid;
}

void drill_relay_free(struct drill_relay *r)
{
	if (!r)
		return;
	drill_relay_hangup(r);
	/* it exits on the hangup; a post in flight ends at curl's next progress
	 * call, or at the latest when the post times out */
	if (r->pid > 0 && !relay_reap(r->pid, NOTIFY_TIMEOUT_NS)) {
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(r->fd);
	free(r);
}

/* The relay's lines: a socketpair per webhook whose variable is set. */
static int relay_lines(const struct scenario *s, struct drill_relay *r, struct relay_line *lines,
		       struct fd_error *err)
{
	for (size_t i = 0; i < s->n_notify; i++) {
		const char *url = getenv(s->notify[i].webhook_env);
		int sv[2];

		if (!url || !*url)
			continue;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return fd_error_set(err, FD_ERR_ENV, -errno, "webhook relay: socketpair: %s",
					    strerror(errno));
		r->fd[i] = sv[0];
		lines[i].fd = sv[1];
		lines[i].url = url;
		lines[i].events = s->notify[i].events;
		lines[i].needs_signature = s->notify[i].secret_env != NULL;
	}
	return 0;
}

int drill_relay_start(const struct scenario *s, struct drill_relay **out, struct fd_error *err)
{
	struct relay_line *lines = NULL;
	struct drill_relay *r = NULL;
	pid_t drill = getpid();
	bool any = false;
	int rc;

	*out = NULL;
	for (size_t i = 0; i < s->n_notify; i++) {
		const char *url = getenv(s->notify[i].webhook_env);

		any = any || (url && *url);
	}
	if (!any)
		return 0; /* nothing to post: the notifier reports the unset variables */
	r = calloc(1, sizeof(*r));
	lines = calloc(s->n_notify, sizeof(*lines));
	if (r)
		r->fd = malloc(s->n_notify * sizeof(*r->fd));
	if (!r || !lines || !r->fd) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto fail;
	}
	r->n = s->n_notify;
	for (size_t i = 0; i < r->n; i++)
		r->fd[i] = lines[i].fd = -1;
	rc = relay_lines(s, r, lines, err);
	if (rc < 0)
		goto fail;
	fflush(NULL); /* nothing buffered is written twice */
	r->pid = fork();
	if (r->pid < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "webhook relay: fork: %s", strerror(errno));
		goto fail;
	}
	if (r->pid == 0) {
		drill_relay_hangup(r); /* the drill's ends: their close is the relay's signal */
		relay_main(s, lines, drill);
	}
	for (size_t i = 0; i < r->n; i++)
		if (lines[i].fd >= 0)
			close(lines[i].fd);
	free(lines);
	*out = r;
	return 0;
fail:
	for (size_t i = 0; lines && r && i < r->n; i++)
		if (lines[i].fd >= 0)
			close(lines[i].fd);
	drill_relay_free(r);
	free(lines);
	return rc;
}

/* ---- the drill's request --------------------------------------------------- */

/* The request as the relay takes it; NULL on ENOMEM. Caller has ownership. */
static char *relay_request(json_int_t id, const struct notify_post *p)
{
	json_t *req = json_pack("{s:I, s:s, s:s}", "id", id, "event", p->event, "body", p->body);
	char *text;

	if (req && p->signature)
		json_object_set_new(req, "signature", json_string(p->signature));
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	return text;
}

/* Reads the relay's answer to id: the same return as drill_relay_post. */
static int relay_answer(const char *msg, size_t n, json_int_t id, long *status, char *why,
			size_t len)
{
	const char *refused = NULL;
	json_int_t got = -1, http = -1;
	int code = -1;
	json_error_t je;
	json_t *ans = json_loadb(msg, n, 0, &je);
	int rc = -EPROTO;

	if (ans && json_unpack(ans, "{s:I, s?I, s?i, s?s}", "id", &got, "http", &http, "curl", &code,
			       "refused", &refused) == 0 && (got == id || got == 0)) {
		if (refused) {
			drill_textf(why, len, "the webhook relay refused it: %s", refused);
		} else if (http >= 0) {
			*status = (long)http;
			rc = CURLE_OK;
		} else if (code > 0) {
			rc = code;
		}
	}
	if (rc == -EPROTO && !refused)
		drill_textf(why, len, "the webhook relay's answer is not one it gives");
	json_decref(ans);
	return rc;
}

int drill_relay_post(int fd, int abort_fd, const struct notify_post *p, long *status, char *why,
		     size_t len)
{
	static json_int_t last_id;
	json_int_t id = __atomic_add_fetch(&last_id, 1, __ATOMIC_RELAXED);
	char *req = relay_request(id, p), ans[512];
	size_t n = req ? strlen(req) : 0;
	ssize_t got;

	*status = 0;
	if (!req) {
		drill_textf(why, len, "out of memory");
		return -ENOMEM;
	}
	if (n > RELAY_MAX_MSG) {
		free(req);
		drill_textf(why, len, "not sent: %zu bytes, more than the webhook relay takes (%d)", n,
			    RELAY_MAX_MSG);
		return -EMSGSIZE;
	}
	/* one request at a time per socket: the buffer is empty, it never blocks */
	got = send(fd, req, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(req);
	if (got != (ssize_t)n) {
		drill_textf(why, len, "the webhook relay is gone (%s)",
			    got < 0 ? strerror(errno) : "a short send");
		return -EPIPE;
	}
	for (;;) {
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN }, { .fd = abort_fd, .events = POLLIN } };

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			drill_textf(why, len, "waiting for the webhook relay: %s", strerror(errno));
			return -EPIPE;
		}
		/* an answer that came is taken even when the drill is ending */
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
			return -ECANCELED; /* poll returned: abort_fd is readable */
		got = recv(fd, ans, sizeof(ans), MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			drill_textf(why, len, "the webhook relay is gone (%s)",
				    got < 0 ? strerror(errno) : "it hung up");
			return -EPIPE;
		}
		return relay_answer(ans, (size_t)got, id, status, why, len);
	}
}

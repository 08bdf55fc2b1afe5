/*
 * fleet: the coordinator's sessions, one ssh and one agent per host (see
 * fleet.h for the life of a fleet, docs/fleet.md for the protocol).
 *
 * Every wait here is bounded and waits on all hosts at once: a host is
 * asked, then all answers are read as they come, so a fleet of ten costs
 * about what its slowest host costs. A host whose ssh ended, or that said
 * nothing for a lease, is lost: it is never written to again, and its
 * agent reverts by itself (EOF, or the lease).
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_config.h"
#include "fd_time.h"
#include "fleet_int.h"

#define FLEET_MAX_HOSTS 256
#define PREPARE_TIMEOUT_NS (60 * FD_NS_PER_S)
#define APPLY_TIMEOUT_NS (60 * FD_NS_PER_S)
#define REVERT_TIMEOUT_NS (30 * FD_NS_PER_S)
#define SEND_TIMEOUT_NS (5 * FD_NS_PER_S)

enum host_state { H_CONNECTING, H_READY, H_PREPARED, H_APPLIED, H_LOST };

#define NOTICES_MAX 4

struct fleet_notice {
	char kind[32];
	char text[320];
	int64_t mono_ns;
};

struct fleet_host {
	const struct scenario_host *h;
	char **fault_ids;
	char **summaries;
	size_t n_faults;
	struct fleet_ssh ssh;
	struct fleet_lines in;
	enum host_state state;
	int64_t last_heard, last_ping;
	int64_t sent_ns, applied_ns, took_ns;
	json_t *reply;         /* the answer a wait is for */
	/* what happened to the host, reported at the next tick or revert */
	struct fleet_notice notices[NOTICES_MAX];
	size_t n_notices;
	char why_lost[320];    /* quoted by errors once it is lost */
};

struct fleet {
	const struct scenario *s;
	struct fleet_opts o;
	struct fleet_host *hosts;
	size_t n;
};

/* ---- reading ---------------------------------------------------------------- */

/* Queues a notice (the oldest ones stay when the queue is full). */
static void notice(struct fleet_host *fh, const char *kind, const char *text, int64_t mono_ns)
{
	struct fleet_notice *n;

	if (fh->n_notices == NOTICES_MAX)
		return;
	n = &fh->notices[fh->n_notices++];
	snprintf(n->kind, sizeof(n->kind), "%s", kind);
	snprintf(n->text, sizeof(n->text), "%s", text);
	n->mono_ns = mono_ns;
}

static void lose(struct fleet_host *fh, const char *kind, const char *why)
{
	if (fh->state == H_LOST)
		return;
	fh->state = H_LOST;
	snprintf(fh->why_lost, sizeof(fh->why_lost), "%s", why);
	notice(fh, kind, why, fd_mono_ns());
	/* never written to again: its agent reverts at EOF or at the lease */
	if (fh->ssh.pid > 0)
		kill(fh->ssh.pid, SIGKILL);
}

/* One message from a host: an answer a wait is for, or a notice. */
static void take_message(struct fleet_host *fh, json_t *msg)
{
	const char *op = json_string_value(json_object_get(msg, "op"));

	fh->last_heard = fd_mono_ns();
	if (!op) {
		json_decref(msg);
		return;
	}
	if (strcmp(op, "pong") == 0) {
		json_decref(msg);
		return;
	}
	if (strcmp(op, "expired") == 0 || strcmp(op, "signalled") == 0) {
		const char *why = json_string_value(json_object_get(msg, "why"));
		char text[256];

		if (fh->state == H_APPLIED)
			fh->state = H_PREPARED;
		snprintf(text, sizeof(text), "the agent reverted by itself: %.200s", why ? why : "?");
		notice(fh, strcmp(op, "expired") == 0 ? "fleet-expired" : "fleet-reverted", text,
		       fh->last_heard);
		json_decref(msg);
		return;
	}
	json_decref(fh->reply);
	fh->reply = msg;
}

/* Reads whatever host fh has sent. */
static void drain(struct fleet_host *fh)
{
	char *line;

	if (fh->ssh.fd < 0)
		return;
	if (fleet_lines_fill(&fh->in, fh->ssh.fd) < 0)
		fh->in.eof = true;
	while ((line = fleet_lines_next(&fh->in))) {
		json_error_t je;
		json_t *msg = json_loads(line, 0, &je);

		free(line);
		if (json_is_object(msg))
			take_message(fh, msg);
		else
			json_decref(msg);
	}
	fleet_ssh_read_err(&fh->ssh);
	if (fh->in.eof && fh->state != H_LOST) {
		char why[300];
		const char *e = fleet_ssh_err_line(&fh->ssh);

		snprintf(why, sizeof(why), "its ssh ended%s%s", *e ? ": " : "", e);
		lose(fh, "fleet-host-gone", why);
	}
}

/*
 * Waits until every host in want[] has a reply (or is lost), up to
 * deadline. Returns the number still waiting.
 */
static size_t wait_replies(struct fleet *f, const bool *want, int64_t deadline)
{
	for (;;) {
		struct pollfd p[FLEET_MAX_HOSTS];
		size_t idx[FLEET_MAX_HOSTS], k = 0;
		int64_t left = deadline - fd_mono_ns();

		for (size_t i = 0; i < f->n; i++) {
			struct fleet_host *fh = &f->hosts[i];

			if (want[i] && !fh->reply && fh->state != H_LOST) {
				p[k] = (struct pollfd){ .fd = fh->ssh.fd, .events = POLLIN };
				idx[k++] = i;
			}
		}
		if (k == 0 || left <= 0)
			return k;
		if (poll(p, k, (int)(left / FD_NS_PER_MS) + 1) < 0 && errno != EINTR)
			return k;
		for (size_t j = 0; j < k; j++)
			if (p[j].revents)
				drain(&f->hosts[idx[j]]);
	}
}

static int send_to(struct fleet_host *fh, json_t *msg)
{
	int rc;

	if (fh->state == H_LOST)
		return -ENOTCONN;
	rc = fleet_send(fh->ssh.fd, msg, fd_mono_ns() + SEND_TIMEOUT_NS);
	if (rc < 0) {
		char why[128];

		snprintf(why, sizeof(why), "cannot write to its ssh: %s", strerror(-rc));
		lose(fh, "fleet-host-gone", why);
	}
	return rc;
}

static const char *reply_error(const struct fleet_host *fh)
{
	const char *e = fh->reply ? json_string_value(json_object_get(fh->reply, "error")) : NULL;

	return e ? e : "no reason given";
}

/* An agent's refusal of bad input stays bad input (exit 2); else environment. */
static enum fd_error_kind reply_kind(const struct fleet_host *fh)
{
	const char *k = json_string_value(json_object_get(fh->reply, "kind"));

	return k && strcmp(k, "input") == 0 ? FD_ERR_INPUT : FD_ERR_ENV;
}

static bool reply_ok(const struct fleet_host *fh)
{
	return fh->reply && json_is_true(json_object_get(fh->reply, "ok"));
}

static void clear_replies(struct fleet *f)
{
	for (size_t i = 0; i < f->n; i++) {
		json_decref(f->hosts[i].reply);
		f->hosts[i].reply = NULL;
	}
}

/* What a host that did not answer said last, for an error. */
static const char *silence(struct fleet_host *fh, char *buf, size_t len)
{
	const char *e = fleet_ssh_err_line(&fh->ssh);

	if (fh->state == H_LOST)
		snprintf(buf, len, "%s", fh->why_lost);
	else
		snprintf(buf, len, "no answer in time%s%s", *e ? "; ssh said: " : "", e);
	return buf;
}

/* ---- open: ssh and hello ------------------------------------------------------ */

static bool fault_on(const struct scenario_fault *fl, size_t h)
{
	return scenario_fault_on_host(fl, h);
}

static int collect_faults(struct fleet *f, struct fleet_host *fh, size_t h)
{
	const struct scenario *s = f->s;

	fh->fault_ids = calloc(s->n_faults + 1, sizeof(char *));
	fh->summaries = calloc(s->n_faults + 1, sizeof(char *));
	if (!fh->fault_ids || !fh->summaries)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_faults; i++)
		if (fault_on(&s->faults[i], h) && !(fh->fault_ids[fh->n_faults++] = strdup(s->faults[i].id)))
			return -ENOMEM;
	return 0;
}

/* The hello: {"op":"hello","version","protocol","host","pid"}; the same
 * version as ours, or a plain error naming both. */
static int check_hello(struct fleet_host *fh, struct fd_error *err)
{
	const char *v = json_string_value(json_object_get(fh->reply, "version"));
	json_int_t proto = json_integer_value(json_object_get(fh->reply, "protocol"));
	const char *op = json_string_value(json_object_get(fh->reply, "op"));

	if (!op || strcmp(op, "hello") != 0 || !v)
		return fd_error_set(err, FD_ERR_ENV, -EPROTO,
				    "host %s: `%s agent` did not answer as a firedrill agent does",
				    fh->h->name, fh->h->firedrill);
	if (strcmp(v, FD_VERSION) != 0 || proto != FLEET_PROTOCOL)
		return fd_error_set(err, FD_ERR_ENV, -EPROTO,
				    "host %s: its firedrill is version %s (protocol %lld), this coordinator's is %s "
				    "(protocol %d): install the same firedrill on every host "
				    "(`%s agent --version` shows it)",
				    fh->h->name, v, (long long)proto, FD_VERSION, FLEET_PROTOCOL,
				    fh->h->firedrill);
	fh->state = H_READY;
	return 0;
}

int fleet_open(const struct scenario *s, const struct fleet_opts *o, struct fleet **out,
	       struct fd_error *err)
{
	static const char *const agent_args[] = { "agent", NULL };
	const struct scenario_inventory *inv = &s->inventory;
	struct fleet *f = calloc(1, sizeof(*f));
	bool *want = NULL;
	int64_t timeout;
	int rc = 0;

	*out = NULL;
	if (!f)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	f->s = s;
	f->o = *o;
	if (!f->o.connect_timeout_ns)
		f->o.connect_timeout_ns = 15 * FD_NS_PER_S;
	timeout = f->o.connect_timeout_ns;
	f->hosts = calloc(inv->n_hosts + 1, sizeof(*f->hosts));
	want = calloc(inv->n_hosts + 1, sizeof(*want));
	if (!f->hosts || !want) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto cleanup;
	}
	if (inv->n_hosts > FLEET_MAX_HOSTS) {
		rc = fd_error_set(err, FD_ERR_INPUT, -E2BIG, "a fleet drill reaches at most %d hosts",
				  FLEET_MAX_HOSTS);
		goto cleanup;
	}
	for (size_t h = 0; h < inv->n_hosts; h++) {
		struct fleet_host *fh = &f->hosts[f->n];
		bool any = false;

		for (size_t i = 0; i < s->n_faults; i++)
			any = any || fault_on(&s->faults[i], h);
		if (!any)
			continue;
		fh->h = &inv->hosts[h];
		fh->ssh.fd = fh->ssh.err_fd = -1;
		f->n++;
		if (collect_faults(f, fh, h) < 0) {
			rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
			goto cleanup;
		}
		rc = fleet_ssh_start(inv, fh->h, agent_args, timeout, &fh->ssh, err);
		if (rc < 0)
			goto cleanup;
		fh->last_heard = fd_mono_ns();
		want[f->n - 1] = true;
	}
	wait_replies(f, want, fd_mono_ns() + timeout + 5 * FD_NS_PER_S);
	for (size_t i = 0; i < f->n && rc == 0; i++) {
		struct fleet_host *fh = &f->hosts[i];
		char why[400];

		if (!fh->reply)
			rc = fd_error_set(err, FD_ERR_ENV, -EHOSTUNREACH,
					  "host %s (%s): cannot start `%s agent` over ssh: %s", fh->h->name,
					  fh->h->ssh, fh->h->firedrill, silence(fh, why, sizeof(why)));
		else
			rc = check_hello(fh, err);
	}
	clear_replies(f);
cleanup:
	free(want);
	if (rc < 0) {
		fleet_close(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* ---- prepare ---------------------------------------------------------------- */

static json_t *prepare_msg(const struct fleet *f, const struct fleet_host *fh)
{
	json_t *ids = json_array();
	json_t *msg;

	for (size_t i = 0; ids && i < fh->n_faults; i++)
		json_array_append_new(ids, json_string(fh->fault_ids[i]));
	msg = json_pack("{s:s, s:s, s:s, s:o, s:s?, s:b, s:I}", "op", "prepare", "path",
			f->s->path, "scenario", f->s->text, "faults", ids, "netns", fh->h->netns,
			"force", f->o.force, "lease_ms",
			(json_int_t)(f->s->inventory.lease_ns / FD_NS_PER_MS));
	return msg;
}

static int take_summaries(struct fleet_host *fh)
{
	json_t *arr = json_object_get(fh->reply, "faults");
	size_t i;
	json_t *it;

	json_array_foreach(arr, i, it) {
		const char *id = json_string_value(json_object_get(it, "id"));
		const char *sum = json_string_value(json_object_get(it, "summary"));

		for (size_t k = 0; id && sum && k < fh->n_faults; k++) {
			if (strcmp(fh->fault_ids[k], id) != 0)
				continue;
			free(fh->summaries[k]);
			fh->summaries[k] = strdup(sum);
			if (!fh->summaries[k])
				return -ENOMEM;
		}
	}
	return 0;
}

int fleet_prepare(struct fleet *f, struct fd_error *err)
{
	bool want[FLEET_MAX_HOSTS] = { false };
	int rc = 0;

	for (size_t i = 0; i < f->n; i++) {
		json_t *msg = prepare_msg(f, &f->hosts[i]);

		if (!msg)
			return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		want[i] = send_to(&f->hosts[i], msg) == 0;
		json_decref(msg);
	}
	wait_replies(f, want, fd_mono_ns() + PREPARE_TIMEOUT_NS);
	/* every host answers before the verdict: the first refusal is the one told */
	for (size_t i = 0; i < f->n && rc == 0; i++) {
		struct fleet_host *fh = &f->hosts[i];
		char why[400];

		if (!fh->reply)
			rc = fd_error_set(err, FD_ERR_ENV, -EHOSTUNREACH,
					  "host %s refused the drill (nothing applied anywhere): %s",
					  fh->h->name, silence(fh, why, sizeof(why)));
		else if (!reply_ok(fh))
			rc = fd_error_set(err, reply_kind(fh), -EPERM,
					  "host %s refused the drill (nothing applied anywhere): %s",
					  fh->h->name, reply_error(fh));
		else if (take_summaries(fh) < 0)
			rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		else
			fh->state = H_PREPARED;
	}
	clear_replies(f);
	return rc;
}

/* ---- apply ------------------------------------------------------------------ */

int fleet_apply_begin(struct fleet *f, struct fd_error *err)
{
	json_t *msg = json_pack("{s:s}", "op", "apply");

	if (!msg)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	clear_replies(f);
	for (size_t i = 0; i < f->n; i++) {
		struct fleet_host *fh = &f->hosts[i];

		fh->sent_ns = fd_mono_ns();
		fh->applied_ns = fh->took_ns = 0;
		if (send_to(fh, msg) < 0)
			break;
	}
	json_decref(msg);
	return 0;
}

/* The hosts in state from: tell them op, wait for their answers. */
static void ask_all(struct fleet *f, const char *op, enum host_state from, int64_t timeout)
{
	bool want[FLEET_MAX_HOSTS] = { false };
	json_t *msg = json_pack("{s:s}", "op", op);

	clear_replies(f);
	for (size_t i = 0; msg && i < f->n; i++)
		if (f->hosts[i].state == from)
			want[i] = send_to(&f->hosts[i], msg) == 0;
	json_decref(msg);
	wait_replies(f, want, fd_mono_ns() + timeout);
}

int fleet_apply_end(struct fleet *f, struct fd_error *err)
{
	bool want[FLEET_MAX_HOSTS] = { false };
	int rc = 0;

	for (size_t i = 0; i < f->n; i++)
		want[i] = f->hosts[i].state == H_PREPARED;
	wait_replies(f, want, fd_mono_ns() + APPLY_TIMEOUT_NS);
	for (size_t i = 0; i < f->n; i++) {
		struct fleet_host *fh = &f->hosts[i];
		char why[400];

		if (fh->reply && reply_ok(fh)) {
			fh->state = H_APPLIED;
			fh->applied_ns = fh->last_heard;
			fh->took_ns = json_integer_value(json_object_get(fh->reply, "took_ns"));
			continue;
		}
		if (rc < 0)
			continue;
		if (!fh->reply)
			rc = fd_error_set(err, FD_ERR_ENV, -EHOSTUNREACH, "host %s: apply: %s",
					  fh->h->name, silence(fh, why, sizeof(why)));
		else
			rc = fd_error_set(err, FD_ERR_ENV, -EIO, "host %s: apply failed: %s",
					  fh->h->name, reply_error(fh));
	}
	clear_replies(f);
	if (rc < 0) {
		/* all or none: the hosts that applied revert (the failed one rolled back) */
		ask_all(f, "revert", H_APPLIED, REVERT_TIMEOUT_NS);
		for (size_t i = 0; i < f->n; i++)
			if (f->hosts[i].state == H_APPLIED && reply_ok(&f->hosts[i]))
				f->hosts[i].state = H_PREPARED;
		clear_replies(f);
	}
	return rc;
}

/* ---- while applied ---------------------------------------------------------- */

static void report(struct fleet_host *fh, fleet_notice_fn fn, void *user)
{
	for (size_t i = 0; fn && i < fh->n_notices; i++)
		fn(user, fh->h->name, fh->notices[i].kind, fh->notices[i].text, fh->notices[i].mono_ns);
	fh->n_notices = 0;
}

void fleet_tick(struct fleet *f, int64_t now, fleet_notice_fn fn, void *user)
{
	int64_t lease = f->s->inventory.lease_ns;
	json_t *ping = NULL;

	for (size_t i = 0; f && i < f->n; i++) {
		struct fleet_host *fh = &f->hosts[i];

		if (fh->state != H_LOST) {
			drain(fh);
			if (fh->state != H_LOST && now - fh->last_heard > lease) {
				char why[200], dur[32];

				snprintf(why, sizeof(why),
					 "no word from its agent for %s (the lease): partitioned; its agent reverts by itself",
					 fd_duration_format(now - fh->last_heard, dur, sizeof(dur)));
				lose(fh, "fleet-partition", why);
			}
		}
		if (fh->state != H_LOST && now - fh->last_ping >= lease / 5) {
			if (!ping)
				ping = json_pack("{s:s}", "op", "ping");
			if (ping && send_to(fh, ping) == 0)
				fh->last_ping = now;
		}
		report(fh, fn, user);
	}
	json_decref(ping);
}

int fleet_revert(struct fleet *f, fleet_notice_fn fn, void *user, struct fd_error *err)
{
	int rc = 0;

	if (!f)
		return 0;
	ask_all(f, "revert", H_APPLIED, REVERT_TIMEOUT_NS);
	for (size_t i = 0; i < f->n; i++) {
		struct fleet_host *fh = &f->hosts[i];
		char why[400];

		if (fh->state != H_APPLIED) {
			report(fh, fn, user);
			continue;
		}
		if (reply_ok(fh)) {
			fh->state = H_PREPARED;
			continue;
		}
		if (rc == 0 && fh->reply)
			rc = fd_error_set(err, FD_ERR_ENV, -EIO, "host %s: revert failed: %s (its guardian keeps watch)",
					  fh->h->name, reply_error(fh));
		else if (rc == 0)
			rc = fd_error_set(err, FD_ERR_ENV, -EHOSTUNREACH,
					  "host %s: revert not confirmed: %s (its agent reverts by itself within the lease)",
					  fh->h->name, silence(fh, why, sizeof(why)));
	}
	clear_replies(f);
	return rc;
}

void fleet_close(struct fleet *f)
{
	bool want[FLEET_MAX_HOSTS] = { false };
	json_t *bye;

	if (!f)
		return;
	bye = json_pack("{s:s}", "op", "bye");
	clear_replies(f);
	for (size_t i = 0; bye && i < f->n; i++)
		if (f->hosts[i].ssh.fd >= 0 && f->hosts[i].state != H_LOST)
			want[i] = send_to(&f->hosts[i], bye) == 0;
	json_decref(bye);
	wait_replies(f, want, fd_mono_ns() + 10 * FD_NS_PER_S);
	for (size_t i = 0; i < f->n; i++) {
		struct fleet_host *fh = &f->hosts[i];

		fleet_ssh_end(&fh->ssh, fh->state == H_LOST ? 0 : 3000);
		fleet_lines_free(&fh->in);
		json_decref(fh->reply);
		for (size_t k = 0; k < fh->n_faults; k++) {
			free(fh->fault_ids[k]);
			free(fh->summaries[k]);
		}
		free(fh->fault_ids);
		free(fh->summaries);
	}
	free(f->hosts);
	free(f);
}

/* ---- queries ---------------------------------------------------------------- */

size_t fleet_host_count(const struct fleet *f)
{
	return f ? f->n : 0;
}

const char *fleet_host_name(const struct fleet *f, size_t h)
{
	return f->hosts[h].h->name;
}

size_t fleet_fault_count(const struct fleet *f, size_t h)
{
	return f->hosts[h].n_faults;
}

const char *fleet_fault_id(const struct fleet *f, size_t h, size_t i)
{
	return f->hosts[h].fault_ids[i];
}

const char *fleet_fault_summary(const struct fleet *f, size_t h, size_t i)
{
	return f->hosts[h].summaries[i] ? f->hosts[h].summaries[i] : "";
}

int64_t fleet_host_sent_ns(const struct fleet *f, size_t h)
{
	return f->hosts[h].sent_ns;
}

int64_t fleet_host_applied_ns(const struct fleet *f, size_t h)
{
	return f->hosts[h].applied_ns;
}

int64_t fleet_host_apply_took_ns(const struct fleet *f, size_t h)
{
	return f->hosts[h].took_ns;
}

bool fleet_host_lost(const struct fleet *f, size_t h)
{
	return f->hosts[h].state == H_LOST;
}

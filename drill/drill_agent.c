/*
 * drill_agent(): `firedrill agent`, a fleet drill's hands on one host
 * (docs/fleet.md). The coordinator starts it over ssh and speaks
 * line-delimited JSON on its stdin and stdout (fleet/fleet.h). The agent
 * is a hold like `firedrill inject` (drill_hold.c), conducted from afar:
 * the same store journal, scope lock, namespace, injector, guardian and
 * kernel element timeouts, so a fault applied here is guarded exactly as a
 * local one.
 *
 * The dead-man's switch: once anything is applied, an agent that hears
 * nothing from the coordinator for a lease reverts by itself and ends. EOF
 * on stdin (the coordinator or its ssh died, sshd closed the session) and
 * SIGTERM/SIGINT/SIGHUP (`firedrill revert` on this host) revert at once.
 * A fault's max duration still ends it, as everywhere. An agent with
 * nothing applied that hears nothing for six leases (at least a minute)
 * ends too.
 *
 * Messages in: hello is ours to send first; then prepare, apply, revert,
 * ping, bye. Messages out: hello, prepared, applied, reverted, pong, bye,
 * and the unasked expired (lease, max duration) and signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "drill_internal.h"
#include "fd_config.h"
#include "fd_netns.h"
#include "fleet.h"
#include "injector.h"

#define AGENT_IDLE_MIN_NS (60 * FD_NS_PER_S)
#define AGENT_SEND_TIMEOUT_NS (5 * FD_NS_PER_S)

struct agent {
	const struct drill_agent_opts *o;
	struct scenario *s;
	struct store *st;
	struct injector *inj;
	int lock_fd, home_ns, sigfd;
	bool prepared, applied, applied_once, done;
	int64_t lease_ns, last_heard, deadline;
};

static const char *kind_word(const struct fd_error *e)
{
	return e->kind == FD_ERR_INPUT ? "input" : e->kind == FD_ERR_ENV ? "env" : "internal";
}

static void say(struct agent *a, json_t *msg)
{
	if (!msg)
		return;
	/* a coordinator that stopped reading is gone: the lease or EOF ends us */
	if (fleet_send(a->o->out_fd, msg, fd_mono_ns() + AGENT_SEND_TIMEOUT_NS) < 0) {
		/* nothing else to tell it with */
	}
	json_decref(msg);
}

static void say_error(struct agent *a, const char *op, const struct fd_error *e)
{
	say(a, json_pack("{s:s, s:b, s:s, s:s}", "op", op, "ok", 0, "error", e->msg, "kind",
			 kind_word(e)));
}

/* ---- prepare ---------------------------------------------------------------- */

struct id_set {
	json_t *ids;
};

static bool keep_listed(const struct scenario_fault *f, void *arg)
{
	const struct id_set *set = arg;
	size_t i;
	json_t *v;

	json_array_foreach(set->ids, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), f->id) == 0)
			return true;
	return false;
}

static void unprepare(struct agent *a)
{
	injector_free(a->inj);
	a->inj = NULL;
	if (a->home_ns >= 0) {
		struct fd_error e = { 0 };

		fd_netns_restore(a->home_ns, &e);
		close(a->home_ns);
		a->home_ns = -1;
	}
	drill_scope_release(a->lock_fd, a->s ? a->s->netns : NULL);
	a->lock_fd = -1;
	scenario_free(a->s);
	a->s = NULL;
	a->prepared = false;
}

static int load_share(struct agent *a, json_t *msg, struct fd_error *err)
{
	const char *text = json_string_value(json_object_get(msg, "scenario"));
	const char *path = json_string_value(json_object_get(msg, "path"));
	const char *netns = json_string_value(json_object_get(msg, "netns"));
	struct id_set set = { json_object_get(msg, "faults") };
	size_t want = json_array_size(set.ids);
	int rc;

	if (!text || !path || !json_is_array(set.ids) || want == 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -EPROTO,
				    "prepare: the message lacks scenario, path or faults");
	rc = scenario_load_buffer(path, text, strlen(text), &a->s, err);
	if (rc < 0)
		return rc;
	scenario_keep_faults(a->s, keep_listed, &set);
	if (a->s->n_faults != want)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "prepare: %zu of the %zu faults asked for are in the scenario",
				    a->s->n_faults, want);
	/* the host's namespace (inventory netns:), never the coordinator's scope */
	free(a->s->netns);
	a->s->netns = netns ? strdup(netns) : NULL;
	if (netns && !a->s->netns)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	return 0;
}

static int prepare(struct agent *a, json_t *msg, struct fd_error *err)
{
	struct injector_opts io = { 0 };
	json_int_t lease_ms = json_integer_value(json_object_get(msg, "lease_ms"));
	int n_orphans = 0, rc;

	if (a->prepared)
		return fd_error_set(err, FD_ERR_INTERNAL, -EALREADY, "prepare: already prepared");
	if (lease_ms > 0)
		a->lease_ns = lease_ms * FD_NS_PER_MS;
	rc = load_share(a, msg, err);
	/* as drill_run() does: faults of a dead firedrill on this host go first */
	if (rc == 0)
		rc = injector_revert_orphans(a->st, NULL, NULL, &n_orphans, err);
	if (rc == 0)
		rc = drill_scope_hold(a->s->netns, "agent", &a->lock_fd, err);
	if (rc == 0 && a->s->netns) {
		a->home_ns = fd_netns_current();
		rc = fd_netns_enter(a->s->netns, err);
	}
	io.store = a->st;
	io.db_path = a->o->db_path;
	io.force = json_is_true(json_object_get(msg, "force"));
	if (rc == 0)
		rc = injector_new(a->s, &io, &a->inj, err);
	if (rc == 0)
		rc = injector_prepare(a->inj, err);
	if (rc < 0) {
		unprepare(a);
		return rc;
	}
	a->prepared = true;
	return 0;
}

static void on_prepare(struct agent *a, json_t *msg)
{
	struct fd_error err = { 0 };
	char host[256] = "";
	json_t *faults;

	if (prepare(a, msg, &err) < 0) {
		say_error(a, "prepared", &err);
		return;
	}
	faults = json_array();
	for (size_t i = 0; faults && i < injector_fault_count(a->inj); i++)
		json_array_append_new(faults, json_pack("{s:s, s:s}", "id", injector_fault_id(a->inj, i),
							"summary", injector_fault_summary(a->inj, i)));
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "?");
	say(a, json_pack("{s:s, s:b, s:o, s:s}", "op", "prepared", "ok", 1, "faults", faults, "host",
			 host));
}

/* ---- apply and revert ------------------------------------------------------- */

static void on_apply(struct agent *a)
{
	struct fd_error err = { 0 };
	int64_t start = fd_mono_ns();
	int rc;

	if (!a->prepared) {
		fd_error_set(&err, FD_ERR_INTERNAL, -EPROTO, "apply before prepare");
		say_error(a, "applied", &err);
		return;
	}
	if (a->applied) {
		say(a, json_pack("{s:s, s:b, s:I}", "op", "applied", "ok", 1, "took_ns", (json_int_t)0));
		return;
	}
	/* a later iteration targets what is there now, as drill_apply_faults() does */
	rc = a->applied_once ? injector_resolve(a->inj, &err) : 0;
	if (rc == 0)
		rc = injector_apply(a->inj, &err);
	if (rc < 0) {
		say_error(a, "applied", &err);
		return;
	}
	a->applied = a->applied_once = true;
	a->deadline = injector_deadline_mono_ns(a->inj);
	say(a, json_pack("{s:s, s:b, s:I, s:I}", "op", "applied", "ok", 1, "took_ns",
			 (json_int_t)(fd_mono_ns() - start), "real_ns", (json_int_t)fd_real_ns()));
}

static int revert(struct agent *a, struct fd_error *err)
{
	int rc;

	if (!a->applied)
		return 0;
	rc = injector_revert(a->inj, err);
	if (rc == 0)
		a->applied = false;
	return rc;
}

static void on_revert(struct agent *a)
{
	struct fd_error err = { 0 };

	if (revert(a, &err) < 0)
		say_error(a, "reverted", &err);
	else
		say(a, json_pack("{s:s, s:b}", "op", "reverted", "ok", 1));
}

/* Reverts by itself and tells the coordinator why (op: expired, signalled). */
static void revert_alone(struct agent *a, const char *op, const char *why)
{
	struct fd_error err = { 0 };
	char text[FD_ERROR_MSG_MAX + 64];
	int rc = revert(a, &err);

	drill_textf(text, sizeof(text), "%s%s%s", why, rc < 0 ? "; revert failed: " : "",
		    rc < 0 ? err.msg : "");
	say(a, json_pack("{s:s, s:s, s:b}", "op", op, "why", text, "ok", rc == 0));
}

/* ---- the loop --------------------------------------------------------------- */

static void dispatch(struct agent *a, const char *line)
{
	json_error_t je;
	json_t *msg = json_loads(line, 0, &je);
	const char *op = json_string_value(json_object_get(msg, "op"));

	a->last_heard = fd_mono_ns();
	if (!op)
		; /* not ours: ignored (but it was a word from the coordinator) */
	else if (strcmp(op, "ping") == 0)
		say(a, json_pack("{s:s, s:b}", "op", "pong", "applied", a->applied));
	else if (strcmp(op, "prepare") == 0)
		on_prepare(a, msg);
	else if (strcmp(op, "apply") == 0)
		on_apply(a);
	else if (strcmp(op, "revert") == 0)
		on_revert(a);
	else if (strcmp(op, "bye") == 0) {
		on_revert(a);
		a->done = true;
	}
	json_decref(msg);
}

static int agent_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* What ends the wait now, or NULL. */
static const char *timers(struct agent *a, int64_t now, char *why, size_t len)
{
	int64_t idle = a->lease_ns * 6 > AGENT_IDLE_MIN_NS ? a->lease_ns * 6 : AGENT_IDLE_MIN_NS;
	char dur[32];

	if (a->applied && now - a->last_heard > a->lease_ns) {
		drill_textf(why, len, "lease: no word from the coordinator for %s",
			    fd_duration_format(now - a->last_heard, dur, sizeof(dur)));
		revert_alone(a, "expired", why);
		a->done = true;
		return why;
	}
	if (a->applied && now >= a->deadline) {
		revert_alone(a, "expired", "max duration reached");
		return NULL; /* the coordinator may still apply again */
	}
	if (!a->applied && now - a->last_heard > idle) {
		drill_textf(why, len, "idle: no word from the coordinator for %s",
			    fd_duration_format(now - a->last_heard, dur, sizeof(dur)));
		a->done = true;
		return why;
	}
	return NULL;
}

int drill_agent(const struct drill_agent_opts *o, struct drill_agent_result *res,
		struct fd_error *err)
{
	struct agent a = { .o = o, .lock_fd = -1, .home_ns = -1 };
	struct fleet_lines in = { 0 };
	char host[256] = "", why[256];
	int rc;

	memset(res, 0, sizeof(*res));
	a.lease_ns = SCENARIO_LEASE_DEFAULT_NS;
	a.sigfd = agent_signals();
	if (a.sigfd < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "signalfd: %s", strerror(errno));
	fcntl(o->in_fd, F_SETFL, fcntl(o->in_fd, F_GETFL) | O_NONBLOCK);
	rc = store_open(o->db_path, &a.st, err);
	if (rc < 0)
		goto out;
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "?");
	say(&a, json_pack("{s:s, s:s, s:i, s:s, s:i}", "op", "hello", "version", FD_VERSION,
			  "protocol", FLEET_PROTOCOL, "host", host, "pid", (int)getpid()));
	a.last_heard = fd_mono_ns();
	while (!a.done) {
		struct pollfd p[2] = { { .fd = o->in_fd, .events = POLLIN },
				       { .fd = a.sigfd, .events = POLLIN } };
		char *line;

		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			revert_alone(&a, "signalled", "a signal (`firedrill revert` on this host, or kill)");
			res->why = "signal";
			break;
		}
		if (p[0].revents) {
			if (fleet_lines_fill(&in, o->in_fd) < 0)
				in.eof = true;
			while (!a.done && (line = fleet_lines_next(&in))) {
				dispatch(&a, line);
				free(line);
			}
			if (in.eof && !a.done) {
				struct fd_error e = { 0 };

				if (revert(&a, &e) < 0)
					*err = e;
				res->why = "the coordinator went away (EOF)";
				break;
			}
		}
		if (!a.done && timers(&a, fd_mono_ns(), why, sizeof(why)))
			res->why = "lease or idle";
		if (a.done && !res->why)
			res->why = "bye";
	}
	rc = a.applied ? fd_error_set(err, FD_ERR_ENV, -EIO,
				      "a fault would not revert: the guardian keeps watch") : 0;
	if (a.applied)
		res->left_applied = true;
out:
	unprepare(&a);
	store_close(a.st);
	fleet_lines_free(&in);
	close(a.sigfd);
	return rc;
}

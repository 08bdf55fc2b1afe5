/*
 * The injector core: prepare every fault, journal it, apply all of them
 * (every drop/reject in one nft batch) under the guardian's watch, roll
 * back on the first failure, revert.
 *
 * Invariants:
 *  - A journal row is PLANNED before its driver touches anything, APPLIED
 *    only once the driver confirmed, REVERTED once undone, FAILED when apply
 *    failed and nothing of it remained.
 *  - An apply that fails leaves nothing applied: what was applied before
 *    the failure is reverted in reverse order.
 *  - This process holds the nft table (owner flag) from apply to revert;
 *    the guardian (guardian.c) watches it from before the first fault is
 *    touched and reverts the rest (PLANNED rows too) if it dies.
 *  - A fault with a place of its own is prepared, applied and reverted
 *    inside its namespace (place.c); the drop/reject faults are one batch
 *    per namespace, all committed or none (a later namespace's failure
 *    removes the earlier ones' tables).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_netns.h"
#include "fd_time.h"
#include "injector_int.h"

static bool is_nft_kind(enum fault_kind k)
{
	return k == FAULT_DROP || k == FAULT_REJECT;
}

int injector_new(const struct scenario *s, const struct injector_opts *opts,
		 struct injector **out, struct fd_error *err)
{
	struct injector *inj;

	if (!s || !opts || !opts->store)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "injector: scenario and store required");
	inj = calloc(1, sizeof(*inj));
	if (!inj)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	inj->guardian_fd = -1;
	inj->flow_epfd = -1;
	inj->faults = calloc(s->n_faults ? s->n_faults : 1, sizeof(*inj->faults));
	inj->nft_ns = calloc(s->n_faults ? s->n_faults : 1, sizeof(*inj->nft_ns));
	inj->mark_rows = calloc(s->n_faults ? s->n_faults : 1, sizeof(*inj->mark_rows));
	inj->mark_specs = calloc(s->n_faults ? s->n_faults : 1, sizeof(*inj->mark_specs));
	if (!inj->faults || !inj->nft_ns || !inj->mark_rows || !inj->mark_specs) {
		injector_free(inj);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	inj->s = s;
	inj->opts = *opts;
	inj->n = s->n_faults;
	inj->ctx.force = opts->force;
	inj->ctx.scope_pid = opts->scope_pid;
	snprintf(inj->netns, sizeof(inj->netns), "%s",
		 opts->netns ? opts->netns : s->netns ? s->netns : "");
	inj->ctx.netns = inj->netns[0] ? inj->netns : NULL;
	inj->opts.netns = NULL; /* the copy above is the one */
	for (size_t i = 0; i < inj->n; i++)
		inj->faults[i].f = &s->faults[i];
	*out = inj;
	return 0;
}

/* Whether a namespace may be set now: one the journal can keep, and no
 * fault applied in the old one. */
static int netns_settable(const struct injector *inj, const char *netns, struct fd_error *err)
{
	if (netns && strlen(netns) >= sizeof(inj->netns))
		return fd_error_set(err, FD_ERR_INPUT, -ENAMETOOLONG,
				    "network namespace %s: longer than the journal keeps", netns);
	if (inj->applied)
		return fd_error_set(err, FD_ERR_INTERNAL, -EBUSY,
				    "injector: the namespace cannot change while faults are applied");
	return 0;
}

int injector_set_netns(struct injector *inj, const char *netns, struct fd_error *err)
{
	int rc = netns_settable(inj, netns, err);

	if (rc < 0)
		return rc;
	snprintf(inj->netns, sizeof(inj->netns), "%s", netns ? netns : "");
	inj->ctx.netns = inj->netns[0] ? inj->netns : NULL;
	return 0;
}

int injector_set_fault_place(struct injector *inj, size_t i, const char *netns, pid_t pid,
			     struct fd_error *err)
{
	struct inj_fault *x;
	int rc;

	if (i >= inj->n)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "injector: no fault %zu", i);
	x = &inj->faults[i];
	if (strcmp(x->netns, netns ? netns : "") == 0 && x->pid == (x->netns[0] ? pid : 0))
		return 0; /* the same place again (a container that did not restart) */
	rc = netns_settable(inj, netns, err);
	if (rc < 0) {
		fd_error_prefix(err, "fault %s", x->f->id);
		return rc;
	}
	snprintf(x->netns, sizeof(x->netns), "%s", netns ? netns : "");
	x->pid = x->netns[0] ? pid : 0;
	return 0;
}

void injector_set_scope_pid(struct injector *inj, pid_t pid)
{
	inj->ctx.scope_pid = pid;
}

static char *dirname_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static void drop_states(struct injector *inj)
{
	for (size_t i = 0; i < inj->n; i++) {
		struct inj_fault *x = &inj->faults[i];

		if (x->state)
			x->drv->free_state(x->state);
		x->state = NULL;
	}
}

/* What fault x's driver sees: its own place's namespace and container
 * instead of the scope's when it has one. */
static struct driver_ctx fault_ctx(const struct injector *inj, const struct inj_fault *x)
{
	struct driver_ctx c = inj->ctx;

	c.nft = NULL;
	if (x->netns[0]) {
		c.netns = x->netns;
		c.scope_pid = x->pid;
	}
	return c;
}

static int revert_one(struct inj_fault *x, struct fd_error *err);

enum fault_op { FAULT_OP_PREPARE, FAULT_OP_APPLY, FAULT_OP_REVERT };

/* One driver call for fault x inside its own place (if it has one), and
 * back to where the caller is. An apply that succeeded marks x APPLIED
 * even when the way back fails (the rollback then undoes it). */
static int fault_work(struct injector *inj, struct inj_fault *x, enum fault_op op,
		      struct fd_error *err)
{
	struct driver_ctx c = fault_ctx(inj, x);
	struct fd_error e = { 0 };
	const char *note = NULL;
	int home = -1, rc;

	if (op == FAULT_OP_REVERT)
		rc = inj_place_enter_revert(x->netns, x->drv->name, &home, &note, err);
	else
		rc = inj_place_enter(x->netns, &home, err);
	if (rc < 0)
		fd_error_prefix(err, "fault %s", x->f->id);
	if (rc != 0) /* 1: its namespace is gone, and the fault with it */
		return rc < 0 ? rc : 0;
	if (op == FAULT_OP_PREPARE) {
		rc = x->drv->prepare(x->f, &c, &x->state, err);
	} else if (op == FAULT_OP_APPLY) {
		rc = x->drv->apply(x->state, &c, err);
		if (rc == 0) {
			x->phase = INJ_APPLIED;
			x->applied_mono = fd_mono_ns();
		}
	} else {
		rc = revert_one(x, err);
	}
	if (inj_place_leave(&home, &e) < 0 && rc == 0) {
		*err = e;
		rc = -EIO;
	}
	return rc;
}

/* Every driver's prepare, against the system as it is now: targets
 * (processes, host names, prefix lists) are resolved here. */
static int prepare_faults(struct injector *inj, struct fd_error *err)
{
	int rc = 0;

	for (size_t i = 0; i < inj->n && rc == 0; i++) {
		struct inj_fault *x = &inj->faults[i];

		x->drv = injector_driver_for(x->f->kind);
		if (!x->drv) {
			rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOSYS, "fault %s: no driver for kind %d",
					  x->f->id, (int)x->f->kind);
			break;
		}
		if (x->f->duration_ns <= 0) {
			rc = fd_error_set(err, FD_ERR_INPUT, -EINVAL,
					  "fault %s: no max duration (every fault needs one)", x->f->id);
			break;
		}
		rc = fault_work(inj, x, FAULT_OP_PREPARE, err);
		if (rc < 0)
			break;
		x->drv->describe(x->state, x->summary, sizeof(x->summary));
	}
	if (rc < 0)
		drop_states(inj); /* nothing will be applied: drop every plan */
	return rc;
}

int injector_prepare(struct injector *inj, struct fd_error *err)
{
	int rc;

	if (inj->prepared)
		return 0;
	if (inj->n > INJ_MAX_FAULTS)
		return fd_error_set(err, FD_ERR_INPUT, -E2BIG,
				    "%s: %zu faults; one injection takes at most %d",
				    inj->s->path ? inj->s->path : "scenario", inj->n, INJ_MAX_FAULTS);
	if (!inj->base_dir) /* prepared again after a failed resolve: keep it */
		inj->base_dir = dirname_of(inj->s->path);
	inj->ctx.base_dir = inj->base_dir;
	rc = prepare_faults(inj, err);
	if (rc < 0)
		return rc;
	inj->prepared = true;
	inj_guardian_standby(inj);
	return 0;
}

int injector_resolve(struct injector *inj, struct fd_error *err)
{
	int rc;

	if (!inj->prepared)
		return injector_prepare(inj, err);
	if (inj->applied)
		return fd_error_set(err, FD_ERR_INTERNAL, -EBUSY, "injector: resolve while applied");
	drop_states(inj);
	rc = prepare_faults(inj, err);
	if (rc < 0)
		inj->prepared = false; /* no plan left: apply refuses */
	return rc;
}

void injector_set_drill(struct injector *inj, int64_t drill_id)
{
	inj->opts.drill_id = drill_id;
}

size_t injector_fault_count(const struct injector *inj)
{
	return inj->n;
}

const char *injector_fault_summary(const struct injector *inj, size_t i)
{
	return i < inj->n ? inj->faults[i].summary : NULL;
}

const char *injector_fault_id(const struct injector *inj, size_t i)
{
	return i < inj->n ? inj->faults[i].f->id : NULL;
}

/* Refreshes x->spec from the driver (resolved targets, pids, handles). */
static int refresh_spec(struct inj_fault *x, struct fd_error *err)
{
	json_t *j = x->drv->spec(x->state);
	char *s;

	if (!j)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "fault %s: journal spec", x->f->id);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "fault %s: journal spec", x->f->id);
	free(x->spec);
	x->spec = s;
	return 0;
}

/* Every fault's PLANNED row, in one transaction: all are journaled before
 * anything is touched, or none is. */
static int journal_plan_all(struct injector *inj, struct fd_error *err)
{
	struct store_fault *rows = calloc(inj->n ? inj->n : 1, sizeof(*rows));
	int64_t now = fd_real_ns();
	int rc = rows ? 0 : fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");

	for (size_t i = 0; i < inj->n && rc == 0; i++) {
		struct inj_fault *x = &inj->faults[i];
		struct store_fault *row = &rows[i];

		rc = refresh_spec(x, err);
		if (rc < 0)
			break;
		row->drill_id = inj->opts.drill_id;
		snprintf(row->fault_id, sizeof(row->fault_id), "%s", x->f->id);
		snprintf(row->kind, sizeof(row->kind), "%s", x->drv->name);
		snprintf(row->netns, sizeof(row->netns), "%s", x->netns[0] ? x->netns : inj->netns);
		snprintf(row->detail, sizeof(row->detail), "%s", x->summary);
		row->spec = x->spec;
		row->planned_real_ns = now;
		row->holder_pid = (int)getpid();
		row->max_duration_ns = x->f->duration_ns;
	}
	if (rc == 0)
		rc = store_journal_plan_all(inj->opts.store, rows, inj->n, err);
	for (size_t i = 0; i < inj->n && rc == 0; i++) {
		inj->faults[i].row = rows[i].id;
		inj->faults[i].phase = INJ_PLANNED;
	}
	free(rows);
	return rc;
}

/* Queues x's row for the next journal_write(); with_spec also rewrites its
 * spec (a driver's apply may have learnt handles or previous state). */
static void journal_queue(struct injector *inj, const struct inj_fault *x, bool with_spec)
{
	inj->mark_rows[inj->n_mark] = x->row;
	inj->mark_specs[inj->n_mark++] = with_spec ? x->spec : NULL;
}

/* Moves the queued rows to state s in one transaction. */
static void journal_write(struct injector *inj, enum journal_state s, const char *detail)
{
	struct fd_error ignored = { 0 };

	/* A journal write failing here must not stop a rollback or revert:
	 * `firedrill revert` is idempotent and fixes the rows later. One bad
	 * row must not hold the others back either, hence the row-by-row retry. */
	if (inj->n_mark && store_journal_set_states(inj->opts.store, inj->mark_rows,
						     inj->mark_specs, inj->n_mark, s, 0, detail,
						     &ignored) < 0) {
		for (size_t i = 0; i < inj->n_mark; i++)
			if (store_journal_set_states(inj->opts.store, &inj->mark_rows[i],
						     &inj->mark_specs[i], 1, s, 0, detail,
						     &ignored) < 0)
				continue; /* this row lags; `firedrill revert` settles it */
	}
	inj->n_mark = 0;
}

static void flows_free(struct injector *inj)
{
	for (size_t i = 0; i < inj->n_flowsrc; i++) {
		inj_flowlog_free(inj->flowsrc[i].log);
		free(inj->flowsrc[i].at);
	}
	free(inj->flowsrc);
	inj->flowsrc = NULL;
	inj->n_flowsrc = 0;
	if (inj->flow_epfd >= 0)
		close(inj->flow_epfd);
	inj->flow_epfd = -1;
	free(inj->flows);
	inj->flows = NULL;
	inj->n_flows = 0;
}

static int revert_one(struct inj_fault *x, struct fd_error *err)
{
	json_error_t jerr;
	json_t *spec = json_loads(x->spec ? x->spec : "{}", 0, &jerr);
	int rc;

	if (!spec)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "fault %s: spec: %s", x->f->id,
				    jerr.text);
	rc = x->drv->revert(spec, err);
	json_decref(spec);
	if (rc < 0)
		fd_error_prefix(err, "fault %s: revert", x->f->id);
	return rc;
}

/* Deletes each namespace's table through its own socket (a netlink socket
 * acts in the namespace it was opened in: nothing to enter) and queues the
 * rows of the faults it held. A table that would not go stays, with its
 * faults APPLIED. */
static int nft_remove_all(struct injector *inj, struct fd_error *err)
{
	size_t kept = 0;
	int first = 0;

	for (size_t g = 0; g < inj->n_nft_ns; g++) {
		struct inj_nft_ns *ns = &inj->nft_ns[g];
		struct fd_error e = { 0 };
		int rc = ns->nft ? inj_nft_remove(ns->nft, &e) : 0;

		if (rc < 0) {
			if (first == 0) {
				first = rc;
				*err = e;
			}
			kept++;
			continue;
		}
		for (size_t k = 0; k < inj->n; k++) {
			struct inj_fault *x = &inj->faults[k];

			if (x->phase == INJ_APPLIED && is_nft_kind(x->f->kind) && x->nft_ns == g) {
				journal_queue(inj, x, false);
				x->phase = INJ_IDLE;
			}
		}
		inj_nft_free(ns->nft);
		ns->nft = NULL;
	}
	if (kept == 0)
		inj->n_nft_ns = 0;
	return first;
}

/* Undoes whatever is applied, in reverse order; rows become state s. */
static int undo_all(struct injector *inj, enum journal_state s, const char *detail,
		    struct fd_error *err)
{
	struct fd_error e = { 0 };
	int first = 0, rc;

	for (size_t k = inj->n; k-- > 0;) {
		struct inj_fault *x = &inj->faults[k];

		if (x->phase != INJ_APPLIED || is_nft_kind(x->f->kind))
			continue;
		rc = fault_work(inj, x, FAULT_OP_REVERT, &e);
		if (rc < 0) {
			if (first == 0) {
				first = rc;
				if (err)
					*err = e;
			}
			continue;
		}
		journal_queue(inj, x, false);
		x->phase = INJ_IDLE;
	}
	rc = nft_remove_all(inj, &e);
	if (rc < 0 && first == 0) {
		first = rc;
		if (err)
			*err = e;
	}
	journal_write(inj, s, detail);
	return first;
}

/* Rows planned but never applied become FAILED. */
static void fail_planned(struct injector *inj, const char *detail)
{
	for (size_t k = 0; k < inj->n; k++) {
		struct inj_fault *x = &inj->faults[k];

		if (x->phase == INJ_PLANNED) {
			journal_queue(inj, x, false);
			x->phase = INJ_IDLE;
		}
	}
	journal_write(inj, JOURNAL_FAILED, detail);
}

static void rollback(struct injector *inj, const struct fd_error *cause)
{
	char detail[FD_ERROR_MSG_MAX + 32];
	struct fd_error e = { 0 };
	int undone;

	snprintf(detail, sizeof(detail), "rolled back: %s", cause->msg);
	undone = undo_all(inj, JOURNAL_REVERTED, detail, &e);
	fail_planned(inj, detail);
	/* A fault that would not undo stays APPLIED, and the guardian on
	 * watch for it: it reverts it when this process lets go. */
	if (undone == 0)
		inj_guardian_release(inj);
	flows_free(inj);
}

/* The namespace fault x's rules go into: a group per namespace (the same
 * namespace reached by two names is one: one table, one socket). */
static int nft_group(struct injector *inj, struct inj_fault *x, struct fd_error *err)
{
	char path[PATH_MAX] = "/proc/thread-self/ns/net";
	struct inj_nft_ns *ns;
	struct stat st;
	int rc = x->netns[0] ? fd_netns_path(x->netns, path, sizeof(path), err) : 0;

	if (rc < 0)
		return rc;
	if (stat(path, &st) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "fault %s: network namespace %s: %s",
				    x->f->id, path, strerror(errno));
	for (size_t g = 0; g < inj->n_nft_ns; g++) {
		if (inj->nft_ns[g].dev == st.st_dev && inj->nft_ns[g].ino == st.st_ino) {
			x->nft_ns = g;
			return 0;
		}
	}
	ns = &inj->nft_ns[inj->n_nft_ns];
	*ns = (struct inj_nft_ns){ .dev = st.st_dev, .ino = st.st_ino, .nft = inj_nft_new() };
	if (!ns->nft)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	snprintf(ns->netns, sizeof(ns->netns), "%s", x->netns);
	x->nft_ns = inj->n_nft_ns++;
	return 0;
}

/* Best effort: without the log the faults still work, only the list of
 * blackholed flows stays empty. One log per namespace, kept from the first
 * apply on (the drill counts flows over all iterations). */
static void flowsrc_open(struct injector *inj, const struct inj_nft_ns *ns)
{
	struct inj_flowlog *log = NULL;
	struct inj_flowsrc *grown;

	for (size_t i = 0; i < inj->n_flowsrc; i++)
		if (inj->flowsrc[i].dev == ns->dev && inj->flowsrc[i].ino == ns->ino)
			return;
	if (inj_flowlog_open(&log, &(struct fd_error){ 0 }) < 0)
		return;
	grown = realloc(inj->flowsrc, (inj->n_flowsrc + 1) * sizeof(*grown));
	if (!grown) {
		inj_flowlog_free(log);
		return;
	}
	inj->flowsrc = grown;
	grown[inj->n_flowsrc++] = (struct inj_flowsrc){ .dev = ns->dev, .ino = ns->ino, .log = log };
	/* one fd to poll for all of them */
	if (inj->flow_epfd < 0)
		inj->flow_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (inj->flow_epfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (epoll_ctl(inj->flow_epfd, EPOLL_CTL_ADD, inj_flowlog_fd(log), &ev) < 0) {
			close(inj->flow_epfd); /* the first log's fd alone, then */
			inj->flow_epfd = -1;
		}
	}
}

/* Inside namespace g: its faults staged into its batch, its flow log, the
 * commit (the batch's socket opens here, and owns this namespace's table). */
static int nft_commit_group(struct injector *inj, size_t g, struct fd_error *err)
{
	struct inj_nft_ns *ns = &inj->nft_ns[g];
	struct fd_error e = { 0 };
	int home = -1, rc = inj_place_enter(ns->netns, &home, err);

	for (size_t i = 0; i < inj->n && rc == 0; i++) {
		struct inj_fault *x = &inj->faults[i];
		struct driver_ctx c = fault_ctx(inj, x);

		if (!is_nft_kind(x->f->kind) || x->nft_ns != g)
			continue;
		c.nft = ns->nft;
		rc = x->drv->apply(x->state, &c, err);
	}
	if (rc == 0)
		flowsrc_open(inj, ns);
	if (rc == 0)
		rc = inj_nft_commit(ns->nft, err);
	if (inj_place_leave(&home, &e) < 0 && rc == 0) {
		*err = e;
		rc = -EIO;
	}
	return rc;
}

static int apply_nft(struct injector *inj, struct fd_error *err)
{
	int rc = 0;

	inj->n_nft_ns = 0;
	for (size_t i = 0; i < inj->n && rc == 0; i++)
		if (is_nft_kind(inj->faults[i].f->kind))
			rc = nft_group(inj, &inj->faults[i], err);
	/* this apply's senders are looked up again (another iteration, another sender) */
	for (size_t i = 0; i < inj->n_flowsrc; i++)
		inj_flowlog_new_apply(inj->flowsrc[i].log);
	for (size_t g = 0; g < inj->n_nft_ns && rc == 0; g++)
		rc = nft_commit_group(inj, g, err);
	if (rc < 0) /* the rollback removes the tables committed before */
		return rc;
	for (size_t i = 0; i < inj->n; i++) {
		struct inj_fault *x = &inj->faults[i];

		if (is_nft_kind(x->f->kind)) {
			x->phase = INJ_APPLIED;
			x->applied_mono = fd_mono_ns();
			journal_queue(inj, x, false); /* its spec is the planned one */
		}
	}
	if (inj->n_nft_ns)
		journal_write(inj, JOURNAL_APPLIED, NULL);
	return 0;
}

int injector_apply(struct injector *inj, struct fd_error *err)
{
	int rc = 0;

	if (!inj->prepared)
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "injector: apply before prepare");
	if (inj->applied)
		return 0;
	rc = journal_plan_all(inj, err);
	/* Watching before the first fault is touched: a holder killed half way
	 * leaves PLANNED rows, possibly half-applied, for the guardian. */
	if (rc == 0)
		rc = inj_guardian_watch(inj, err);
	if (rc == 0)
		rc = apply_nft(inj, err);
	for (size_t i = 0; i < inj->n && rc == 0; i++) {
		struct inj_fault *x = &inj->faults[i];

		if (is_nft_kind(x->f->kind))
			continue;
		rc = fault_work(inj, x, FAULT_OP_APPLY, err);
		if (rc < 0)
			break;
		if (refresh_spec(x, err) < 0) {
			rc = -ENOMEM;
			break;
		}
		/* One row at a time: each confirmed fault is on record at once. */
		journal_queue(inj, x, true);
		journal_write(inj, JOURNAL_APPLIED, NULL);
	}
	if (rc == 0)
		rc = inj_guardian_applied(inj, err);
	if (rc < 0) {
		rollback(inj, err);
		return rc;
	}
	inj->deadline_mono = 0;
	for (size_t i = 0; i < inj->n; i++) {
		int64_t end = inj->faults[i].applied_mono + inj->faults[i].f->duration_ns;

		if (end > inj->deadline_mono)
			inj->deadline_mono = end;
	}
	inj->applied = true;
	return 0;
}

int injector_revert(struct injector *inj, struct fd_error *err)
{
	int rc;

	if (!inj->applied)
		return 0;
	injector_read_flows(inj);
	rc = undo_all(inj, JOURNAL_REVERTED, "reverted", err);
	if (rc < 0)
		return rc; /* the guardian stays on watch for what is left */
	inj_guardian_release(inj);
	inj->applied = false;
	return 0;
}

void injector_free(struct injector *inj)
{
	if (!inj)
		return;
	for (size_t i = 0; i < inj->n; i++) {
		struct inj_fault *x = &inj->faults[i];

		if (x->state)
			x->drv->free_state(x->state);
		free(x->spec);
	}
	/* Closing the nft sockets lets the kernel drop a still-held table. */
	for (size_t g = 0; g < inj->n_nft_ns; g++)
		inj_nft_free(inj->nft_ns[g].nft);
	free(inj->nft_ns);
	flows_free(inj);
	inj_guardian_free(inj); /* EOF: the guardian reverts what is left */
	free(inj->faults);
	free(inj->mark_rows);
	free(inj->mark_specs);
	free(inj->base_dir);
	free(inj);
}

int injector_flow_fd(const struct injector *inj)
{
	if (inj->flow_epfd >= 0)
		return inj->flow_epfd;
	return inj->n_flowsrc ? inj_flowlog_fd(inj->flowsrc[0].log) : -1;
}

/* A log's flows into the one list: known ones updated where they are, new
 * ones appended (on no memory they are appended at a later read). */
static void flows_merge(struct injector *inj, struct inj_flowsrc *src)
{
	const struct injector_flow *f;
	size_t n = inj_flowlog_flows(src->log, &f), add;
	struct injector_flow *all;
	size_t *at;

	for (size_t i = 0; i < src->n_at && i < n; i++)
		inj->flows[src->at[i]] = f[i];
	if (n <= src->n_at)
		return;
	add = n - src->n_at;
	all = realloc(inj->flows, (inj->n_flows + add) * sizeof(*all));
	if (!all)
		return;
	inj->flows = all;
	at = realloc(src->at, n * sizeof(*at));
	if (!at)
		return;
	src->at = at;
	for (size_t i = src->n_at; i < n; i++) {
		all[inj->n_flows] = f[i];
		at[i] = inj->n_flows++;
	}
	src->n_at = n;
}

/* The container a namespace's senders are named by when it is theirs: a
 * drop/reject fault's own container there, else the scope's. */
static struct inj_owner_scope flowsrc_scope(const struct injector *inj,
					    const struct inj_flowsrc *src)
{
	for (size_t i = 0; i < inj->n; i++) {
		const struct inj_fault *x = &inj->faults[i];
		const struct inj_nft_ns *ns;

		if (!is_nft_kind(x->f->kind) || !x->f->place.container || x->nft_ns >= inj->n_nft_ns)
			continue;
		ns = &inj->nft_ns[x->nft_ns];
		if (ns->dev == src->dev && ns->ino == src->ino)
			return (struct inj_owner_scope){ x->f->place.container, x->pid };
	}
	return (struct inj_owner_scope){ inj->s->container, inj->ctx.scope_pid };
}

int injector_read_flows(struct injector *inj)
{
	for (size_t i = 0; i < inj->n_flowsrc; i++) {
		struct inj_owner_scope scope = flowsrc_scope(inj, &inj->flowsrc[i]);

		inj_flowlog_read(inj->flowsrc[i].log, &scope);
		flows_merge(inj, &inj->flowsrc[i]);
	}
	return 0;
}

size_t injector_blackholed_flows(const struct injector *inj, const struct injector_flow **flows)
{
	*flows = inj->flows;
	return inj->n_flows;
}

int64_t injector_deadline_mono_ns(const struct injector *inj)
{
	return inj->deadline_mono;
}

int injector_still_applied(struct injector *inj, bool *applied, struct fd_error *err)
{
	struct store_fault *rows = NULL;
	size_t n = 0;
	int rc;

	*applied = false;
	if (!inj->applied)
		return 0;
	rc = store_journal_list_active(inj->opts.store, &rows, &n, err);
	if (rc < 0)
		return rc;
	for (size_t r = 0; r < n && !*applied; r++)
		for (size_t i = 0; i < inj->n && !*applied; i++)
			*applied = inj->faults[i].phase == INJ_APPLIED && rows[r].id == inj->faults[i].row;
	store_faults_free(rows, n);
	return 0;
}

/*
 * The injector's own state, shared by injector.c, guardian.c and journal.c.
 */
#ifndef FD_INJECTOR_INT_H
#define FD_INJECTOR_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

enum inj_phase { INJ_IDLE, INJ_PLANNED, INJ_APPLIED };

/* Faults per injection: the guardian keeps a fixed table of the rows it
 * watches, so prepare refuses more rather than leave some unwatched. */
#define INJ_MAX_FAULTS 64

struct inj_fault {
	const struct scenario_fault *f;
	const struct injector_driver *drv;
	void *state;
	char summary[512];
	char *spec;           /* the journal spec as last written (JSON text) */
	int64_t row;          /* journal row id */
	enum inj_phase phase;
	int64_t applied_mono;
};

struct injector {
	const struct scenario *s;
	struct injector_opts opts;
	struct driver_ctx ctx;
	char *base_dir;
	struct inj_fault *faults;
	size_t n;
	bool prepared;
	bool applied;
	struct inj_nft *nft;        /* holds table inet firedrill while applied */
	struct inj_flowlog *flows;
	pid_t guardian_pid;
	int guardian_fd;            /* write end of its pipe: one line per message */
	pid_t guardian_holder;      /* the process that started it (its pidfd is of that one) */
	bool guardian_forked;       /* fork mode (no journal): goes home at "R" */
	bool guardian_watching;     /* it has rows of an apply (between "P" and "R") */
	int64_t deadline_mono;
	/* journal rows that change state together (journal_queue/journal_write) */
	int64_t *mark_rows;
	const char **mark_specs;
	size_t n_mark;
};

/* The guardian (guardian.c). At prepare: spawn it on standby (best
 * effort), so that its start is not paid inside apply. */
void inj_guardian_standby(struct injector *inj);
/* After the PLANNED rows are committed, before anything is touched: tell it
 * which rows to watch (spawning it now if there is no standby). */
int inj_guardian_watch(struct injector *inj, struct fd_error *err);
/* After a successful apply: tell it to re-read the rows (or, without a
 * journal, start the fork mode from the specs as applied). */
int inj_guardian_applied(struct injector *inj, struct fd_error *err);
/* After a clean revert or a complete rollback: nothing to watch. */
void inj_guardian_release(struct injector *inj);
/* injector_free(): lets it go (reverting what is still watched). */
void inj_guardian_free(struct injector *inj);

#endif

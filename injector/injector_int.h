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
	int guardian_fd;            /* write end; a byte on it = "reverted, stand down" */
	int64_t deadline_mono;
	/* journal rows that change state together (journal_queue/journal_write) */
	int64_t *mark_rows;
	const char **mark_specs;
	size_t n_mark;
};

/* Starts the guardian. early: right after the PLANNED rows are journaled,
 * before anything is applied (exec mode only; without it nothing starts and
 * inj_guardian_applied() starts the fork mode). */
int inj_guardian_start(struct injector *inj, bool early, struct fd_error *err);
/* After a successful apply: tells an early guardian to re-read the journal
 * (applied specs, expiry times), or starts one now. */
int inj_guardian_applied(struct injector *inj, struct fd_error *err);
/* After a clean revert: tells the guardian to stand down, without waiting. */
void inj_guardian_release(struct injector *inj);
/* Reaps a guardian that was released (blocks until it has gone home). */
void inj_guardian_wait(struct injector *inj);

#endif

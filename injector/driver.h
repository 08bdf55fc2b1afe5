/*
 * The fault driver interface. One driver per fault kind, one file each in
 * injector/drivers/, listed in one table (injector/drivers.c). A new fault
 * kind is one new file plus one table row.
 *
 * A driver's life for one fault:
 *   prepare  validate against the live system and plan: resolve targets,
 *            check kernel support and guards. Touches nothing. Returns a
 *            private state.
 *   spec     the JSON the journal keeps (jansson object, caller owns): all
 *            that revert needs, so that another process (the guardian,
 *            `firedrill revert`) can undo the fault without the scenario.
 *   apply    applies it; on failure leaves nothing behind of this fault.
 *   revert   undoes it from the journal spec alone. Idempotent: a fault
 *            already gone (expired, reverted) is success.
 *
 * Drivers never print and never exit; errors go into struct fd_error with
 * the fault id, the target and the kernel's or library's own message.
 */
#ifndef FD_INJECTOR_DRIVER_H
#define FD_INJECTOR_DRIVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fd_error.h"
#include "scenario.h"

struct inj_nft;

/* Guards a driver row names (injector/plan.c). */
#define INJ_GUARD_CIDRS 0x1u /* every address, loopback outside a netns */
#define INJ_GUARD_LINK 0x2u  /* the host's "lo" */
#define INJ_GUARD_PID 0x4u   /* pid 1 */

/* What every driver call may consult. */
struct driver_ctx {
	bool force;           /* --force: allow guarded targets */
	const char *base_dir; /* the scenario file's folder (relative paths) */
	const char *netns;    /* scenario scope (already entered), NULL = caller's */
	/* A container's main process (scope: {container}), 0 = none: process
	 * faults match only processes in its cgroup or below, and pause
	 * freezes that cgroup. */
	pid_t scope_pid;
	/* drop/reject only: apply() stages its rules here and the core commits
	 * all of them in one atomic nft batch (injector/injector_int.h). */
	struct inj_nft *nft;
};

struct injector_driver {
	const char *name;          /* "drop", "kill", ...: the scenario kind name */
	enum fault_kind kind;
	/* true when the kernel itself ends the fault at its max duration (nft
	 * element timeouts, owner table), so the guardian need not watch it. */
	bool kernel_expires;
	/* The plan's words for how the fault is undone ("delete the nft
	 * table"); revert_text_for, when set, picks them from the fault. */
	const char *revert_text;
	const char *(*revert_text_for)(const struct scenario_fault *f);
	/* Which guards the plan checks from the model (INJ_GUARD_*); prepare
	 * checks them again with what only it can see. */
	unsigned guards;

	int (*prepare)(const struct scenario_fault *f, const struct driver_ctx *ctx,
		       void **state, struct fd_error *err);
	/* One line for people: "drop egress tcp/443 to 41 prefixes for 15m". */
	void (*describe)(const void *state, char *buf, size_t len);
	json_t *(*spec)(const void *state);
	int (*apply)(void *state, const struct driver_ctx *ctx, struct fd_error *err);
	int (*revert)(const json_t *spec, struct fd_error *err);
	void (*free_state)(void *state);
};

/* The table, one row per fault kind. */
const struct injector_driver *injector_driver_for(enum fault_kind kind);
const struct injector_driver *injector_driver_by_name(const char *name);

/* One declaration per driver file. */
extern const struct injector_driver driver_drop;
extern const struct injector_driver driver_reject;
extern const struct injector_driver driver_blackhole_route;
extern const struct injector_driver driver_unreachable_route;
extern const struct injector_driver driver_prohibit_route;
extern const struct injector_driver driver_link_down;
extern const struct injector_driver driver_delay;
extern const struct injector_driver driver_loss;
extern const struct injector_driver driver_rate;
extern const struct injector_driver driver_kill;
extern const struct injector_driver driver_stop;
extern const struct injector_driver driver_freeze;
extern const struct injector_driver driver_exec;
extern const struct injector_driver driver_pause;

#endif

/*
 * procmatch: choosing processes for the kill, stop and freeze drivers, and
 * signalling them without PID-reuse races.
 *
 * A process is chosen by a PCRE2 regex over /proc/PID/cmdline (the raw
 * buffer: arguments separated by NUL, the final NUL dropped so that `$`
 * anchors at the end of the last argument), by a pidfile, or by a pid. Each
 * chosen process is remembered as pid + start time (field 22 of
 * /proc/PID/stat): the pair names one process for the life of the machine,
 * whereas a pid alone may be recycled.
 *
 * Guards (refused unless force): pid 1, firedrill's own process, its
 * ancestors, its session, and its descendants.
 *
 * Signalling opens a pidfd first, then re-reads the start time: if it still
 * matches, the pidfd refers to the recorded process and the signal cannot
 * hit another one.
 */
#ifndef FD_INJECTOR_PROCMATCH_H
#define FD_INJECTOR_PROCMATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "driver.h"
#include "fd_error.h"

struct procmatch_proc {
	pid_t pid;
	unsigned long long start; /* /proc/PID/stat field 22, clock ticks after boot */
	bool was_stopped;         /* already stopped (state T) when matched */
	char *cmdline;            /* arguments joined by spaces, for people (owned) */
};

/* Processes matched for one fault. Zero-initialise; release with
 * procmatch_set_clear(). */
struct procmatch_set {
	struct procmatch_proc *procs;
	size_t n;
};

/* The fields of /proc/PID/stat that firedrill needs. */
struct procmatch_stat {
	char state;               /* R, S, D, T, t, Z, ... */
	pid_t ppid;
	pid_t sid;
	unsigned long long start;
};

/* Parses the text of /proc/PID/stat (comm may hold spaces and parentheses).
 * Returns 0 or -EINVAL. */
int procmatch_parse_stat(const char *text, struct procmatch_stat *out);
/* Reads /proc/PID/stat. Returns 0, -ESRCH when the process is gone, -errno. */
int procmatch_read_stat(pid_t pid, struct procmatch_stat *out);

struct procmatch_regex;
/* Compiles pattern (PCRE2, bytes, no UTF). FD_ERR_INPUT with PCRE2's message
 * and offset on a bad pattern. */
int procmatch_regex_new(const char *pattern, struct procmatch_regex **out,
			struct fd_error *err);
/* 1 when buf[0..len) matches, 0 when not, negative on a matching error. */
int procmatch_regex_match(const struct procmatch_regex *re, const char *buf, size_t len);
void procmatch_regex_free(struct procmatch_regex *re);

/* Parses a pidfile's text: a positive decimal pid, surrounding whitespace
 * allowed. Returns 0 or -EINVAL. */
int procmatch_parse_pidfile(const char *text, size_t len, pid_t *out);

/* 0 when pid may be targeted; -EPERM with the reason (fault id, pid,
 * cmdline) when it is pid 1, firedrill itself, an ancestor, in firedrill's
 * session or a descendant, unless force. */
int procmatch_guard(pid_t pid, const char *fault_id, bool force, struct fd_error *err);

/*
 * Resolves f->process (match, pidfile or pid) to the processes it names,
 * in the current network namespace only when ctx->netns is set. Applies
 * the guards. A selector matching nothing is an error naming it.
 * On success out holds at least one process (caller owns; procmatch_set_clear).
 */
/* The cgroup path that places pid (/proc/PID/cgroup): the unified
 * hierarchy's, or the v1 freezer's when that one is not the root and the
 * unified one is. 0, -ESRCH (gone), -ENOENT (neither line), -errno. */
int procmatch_cgroup_path(pid_t pid, char *buf, size_t len);

/*
 * With ctx->scope_pid (a container's main process), only processes in its
 * cgroup or below match.
 */
int procmatch_find(const struct scenario_fault *f, const struct driver_ctx *ctx,
		   struct procmatch_set *out, struct fd_error *err);
void procmatch_set_clear(struct procmatch_set *s);

/*
 * The state of a process fault (kill, stop): its id and the processes it
 * matched, found at prepare; signal and duration_ns are the fault's own
 * (SIGTERM when the scenario names none). procmatch_fault_free takes void *
 * so that it is the drivers' free_state itself.
 */
struct procmatch_fault {
	char *fault_id;
	int signal;
	int64_t duration_ns;
	struct procmatch_set procs;
};
int procmatch_fault_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			    struct procmatch_fault **out, struct fd_error *err);
void procmatch_fault_free(void *state);
/* Adds the live process pid (start time, cmdline) to s. Returns 0, -ESRCH
 * when it is gone or a zombie, -ENOMEM. */
int procmatch_set_add_pid(struct procmatch_set *s, pid_t pid);

/*
 * Sends sig to the process pid if it still has start time start: pidfd_open,
 * start-time re-check, pidfd_send_signal. Returns 0, -ESRCH when the process
 * is gone, -ESTALE when the pid now names another process (not signalled),
 * or another -errno.
 */
int procmatch_signal(pid_t pid, unsigned long long start, int sig);

/*
 * Signals every process of s. Processes gone or recycled since they were
 * matched are skipped and counted in *n_skipped (may be NULL); any other
 * failure is an error naming the fault, pid and strerror. When rollback_sig
 * is non-zero, processes already signalled get it on failure (stop ->
 * SIGCONT). Fails with -ESRCH when no process at all could be signalled.
 */
int procmatch_signal_set(const struct procmatch_set *s, int sig, int rollback_sig,
			 const char *fault_id, size_t *n_skipped, struct fd_error *err);

/* [{"pid":N,"start":N,"cmdline":"..."[,"was_stopped":true]}, ...] (caller owns). */
json_t *procmatch_set_to_json(const struct procmatch_set *s);
/* The inverse, for revert from a journal spec. FD_ERR_INTERNAL on a malformed spec. */
int procmatch_set_from_json(const json_t *arr, struct procmatch_set *out, struct fd_error *err);

/* "1234 (sleep 300 x), 1235 (...)", truncated with "..." to fit len. */
void procmatch_set_format(const struct procmatch_set *s, char *buf, size_t len);

/* "TERM" for SIGTERM, "signal 40" for a nameless one; returns buf. */
const char *procmatch_signal_name(int sig, char *buf, size_t len);

#endif

/*
 * fd_error: the one error type every module fills.
 *
 * Functions return 0 on success or a negative errno-style code, and describe
 * the failure in a caller-provided struct fd_error: a kind (which decides the
 * CLI exit code) and a message with context (file:line:col for scenarios,
 * the target and the kernel's or library's own words for faults).
 * Only cli/ prints errors and chooses exit codes.
 */
#ifndef FD_ERROR_H
#define FD_ERROR_H

#include <stddef.h>

enum fd_error_kind {
	FD_ERR_NONE = 0,
	FD_ERR_INPUT,    /* bad scenario, flag or argument: exit 2 */
	FD_ERR_ENV,      /* privilege, kernel feature, disk, network: exit 3 */
	FD_ERR_INTERNAL, /* a bug or an impossible state: exit 4 */
};

#define FD_ERROR_MSG_MAX 1024

/*
 * On calls whose failure must never be ignored: applying and reverting
 * faults, writing the store, signing. The compiler refuses to let a caller
 * drop the result (a (void) cast does not silence it); a caller that truly
 * does not care writes why, in an if.
 */
#define FD_MUST_CHECK __attribute__((warn_unused_result))

struct fd_error {
	enum fd_error_kind kind;
	char msg[FD_ERROR_MSG_MAX];
};

/* Clears e (kind NONE, empty message). e may be NULL. */
void fd_error_clear(struct fd_error *e);

/*
 * Sets kind and a printf-formatted message; returns code (a negative errno
 * value) so callers can write `return fd_error_set(e, FD_ERR_INPUT, -EINVAL, ...)`.
 * e may be NULL (the message is dropped).
 */
int fd_error_set(struct fd_error *e, enum fd_error_kind kind, int code,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prepends "prefix: " to an existing message, keeping the kind. */
void fd_error_prefix(struct fd_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* CLI exit code for an error kind (2, 3 or 4; 0 for NONE). */
int fd_error_exit_code(const struct fd_error *e);

#endif

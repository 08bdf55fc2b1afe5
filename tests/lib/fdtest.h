/*
 * fdtest: what integration tests write again and again, as one small static
 * library (tests/lib; link with fdtest_dep). Not part of firedrill.
 *
 *  - checks that count failures instead of stopping (FDT_CHECK, fdt_finish),
 *    and FDT_REQUIRE, which goes to the caller's cleanup label
 *  - the root check that turns into exit 77 (skip)
 *  - shell commands, with or without their output
 *  - temporary directories and network namespaces (with veth pairs and
 *    addresses) that are removed at exit, also when checks failed
 *  - a function run inside a namespace in a forked child; a child reaped
 *    with a deadline
 *  - waiting for a condition until a deadline (never a timing verdict)
 *
 * Namespaces are named by the caller and must start with "fdt-"; addresses
 * belong in 10.250.0.0/16 or fd00:250::/32 (see the tree's network rules).
 */
#ifndef FD_TEST_H
#define FD_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define FDT_SKIP 77

/* Failed checks so far. */
extern int fdt_failures;
/* Echo each command of fdt_sh() and its exit status on stderr. */
extern bool fdt_trace;

#define FDT_CHECK(cond, ...)                                                        \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fdt_check_failed(__FILE__, __LINE__, #cond);                \
			fprintf(stderr, __VA_ARGS__);                               \
			fputc('\n', stderr);                                        \
		}                                                                   \
	} while (0)

/*
 * FDT_CHECK for a precondition, where the code after it relies on cond (a
 * pointer, a prepare that succeeded, a read that returned): when cond is
 * false the failure is counted and control jumps to label, the function's
 * one cleanup path, which undoes whatever the test started (a fault, a
 * child). Unlike cmocka's assert_*, no check ever leaves the function by
 * itself.
 */
#define FDT_REQUIRE(cond, label, ...)                                               \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fdt_check_failed(__FILE__, __LINE__, #cond);                \
			fprintf(stderr, __VA_ARGS__);                               \
			fputc('\n', stderr);                                        \
			goto label;                                                 \
		}                                                                   \
	} while (0)

/* Counts a failure and prints "FAIL FILE:LINE: COND: " (FDT_CHECK's first half). */
void fdt_check_failed(const char *file, int line, const char *cond);

/* Prints "ok (0 failures)" or "FAILED (N failures)"; the exit code for main(). */
int fdt_finish(void);

/* True when root; otherwise says why the test is skipped (return FDT_SKIP). */
bool fdt_need_root(void);

/* ---- commands ------------------------------------------------------------ */

/* Runs a shell command; its exit status (128 when it did not exit). */
int fdt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A setup or teardown command (tests and benches): a failure is a line on
 * stderr, not a failed check; the checks after it find what it left undone. */
void fdt_setup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command and keeps up to len - 1 bytes of its stdout in out. */
int fdt_capture(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes a file (mode 0600) from a format; 0 or -errno. */
int fdt_write_file(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- temporary directories and namespaces, removed at exit --------------- */

/*
 * Makes /tmp/PREFIX-XXXXXX (mode 0700) into buf and removes it with its
 * contents at exit. 0 or -errno.
 */
int fdt_tmpdir(char *buf, size_t len, const char *prefix);

/*
 * Adds namespace name (removed at exit) with lo up and each address of the
 * NULL-terminated addrs (CIDR, may be NULL) on lo. A leftover of the same
 * name from an earlier run is removed first. 0, or -1 with a message.
 */
int fdt_netns_add(const char *name, const char *const *addrs);

/* Deletes namespace name now (and forgets it). */
void fdt_netns_del(const char *name);

/*
 * A veth pair: if_a in ns_a with addr_a, if_b in ns_b with addr_b (CIDR,
 * either may be NULL), both up. Removed with its namespaces.
 */
int fdt_veth_add(const char *ns_a, const char *if_a, const char *addr_a, const char *ns_b,
		 const char *if_b, const char *addr_b);

/* Removes now what is registered for removal at exit (namespaces, then directories). */
void fdt_cleanup(void);

/* ---- inside a namespace -------------------------------------------------- */

/*
 * Forks a child that enters namespace ns (NULL: stays) and exits with
 * fn(arg). fdt_netns_spawn() returns the child's pid (-1 on failure) and
 * leaves it running; fdt_netns_call() waits and returns its exit status
 * (128 + signal when killed, -1 when it could not fork).
 */
pid_t fdt_netns_spawn(const char *ns, int (*fn)(void *arg), void *arg);
int fdt_netns_call(const char *ns, int (*fn)(void *arg), void *arg);

/* SIGKILLs a spawned child and reaps it (no-op for pid <= 0). */
void fdt_child_stop(pid_t pid);

/*
 * Waits up to timeout_ms for child pid to end and reaps it, its wait status
 * in *status (may be NULL). False when it is still running: a test's child
 * that should have died must not hang the test in waitpid().
 */
bool fdt_child_reaped(pid_t pid, int *status, int64_t timeout_ms);

/* ---- waiting -------------------------------------------------------------- */

/*
 * Evaluates cond(arg) every step_ms until it is true or timeout_ms have
 * passed; its last value. For readiness, never for a timing verdict.
 */
bool fdt_wait_until(bool (*cond)(void *arg), void *arg, int64_t timeout_ms, int64_t step_ms);

/* A condition for fdt_wait_until(): *(volatile int *)arg is non-zero. */
bool fdt_flag_set(void *arg);

#endif

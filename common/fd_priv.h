/*
 * Least privilege for the drill process (OpenBSD signify's habit): the
 * capabilities a drill needs are kept only where they are needed.
 * Every call is a no-op, without error, when the process holds none.
 */
#ifndef FD_PRIV_H
#define FD_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

/* How fd_priv_spawn_sh starts a command. */
struct fd_priv_spawn {
	int out_fd, err_fd; /* its stdout and stderr (the same fd for both is fine) */
	int netns_fd;       /* a network namespace to run in (entered after fork,
			       before exec); -1: the caller's */
	bool keep_caps;     /* runbook steps: the team's own commands get root's
			       capabilities back at exec; false: none at all */
};

/*
 * Spawns "/bin/sh -c CMD" in its own process group, stdin /dev/null,
 * default signals, every fd above 2 closed. Without keep_caps it holds NO
 * capabilities: effective, permitted, inheritable, ambient and bounding sets
 * are all empty before exec, so even a root shell gets none back (probe and
 * canary commands are the scenario's, not the team's recovery actions).
 * A namespace the child cannot enter: it writes "netns: REASON" to its
 * stderr and exits 126. Returns 0 or -errno.
 */
int fd_priv_spawn_sh(pid_t *pid, const char *cmd, const struct fd_priv_spawn *o);

/*
 * setns(fd, CLONE_NEWNET) with CAP_SYS_ADMIN made effective for the call
 * when the thread holds it in its permitted set (a lowered drill thread),
 * and the effective set as it was afterwards. Plain system calls only: a
 * forked child may use it. Returns 0 or -errno.
 */
int fd_priv_setns(int fd);

/* Drops every capability of the calling thread for good (the webhook
 * worker, report rendering). Capabilities are per thread on Linux. */
void fd_priv_drop_all(void);

/*
 * The drill process (docs/drill.md, "Who holds what capabilities, when").
 * fd_priv_lower(): the first call narrows the permitted set to what a drill
 * can need and, each call, leaves only file access effective, so probes,
 * libcurl and the store run without NET_ADMIN, KILL or SYS_ADMIN.
 * fd_priv_raise(): makes the permitted set effective again, around the
 * injector's apply, revert and teardown and the scorer's pcap opens. Both
 * apply to the calling thread; no-ops when nothing is held.
 */
void fd_priv_lower(void);
void fd_priv_raise(void);
/*
 * Lowered, plus SYS_PTRACE effective: reading another process's
 * /proc/PID/fd links needs it when that process holds capabilities this
 * thread's effective set lacks (a root daemon, a container's process).
 * Around the flow log's read (the senders' search); fd_priv_lower() ends it.
 */
void fd_priv_proc_read(void);

#endif

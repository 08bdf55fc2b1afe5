/*
 * Least privilege for the drill process (OpenBSD signify's habit): the
 * capabilities a drill needs are kept only where they are needed.
 * Every call is a no-op, without error, when the process holds none.
 */
#ifndef FD_PRIV_H
#define FD_PRIV_H

#include <sys/types.h>

/* Spawns "/bin/sh -c CMD" in its own process group, stdin /dev/null, stdout
 * OUT_FD, stderr ERR_FD, default signals, and NO capabilities: effective,
 * permitted, inheritable, ambient and bounding sets are all empty before
 * exec, so even a root shell gets none back. For probe and canary commands,
 * which are the scenario's, not the team's recovery actions.
 * Returns 0 or -errno. */
int fd_priv_spawn_sh(pid_t *pid, const char *cmd, int out_fd, int err_fd);

/* Drops every capability of the calling thread for good (the webhook
 * worker, report rendering). Capabilities are per thread on Linux. */
void fd_priv_drop_all(void);

#endif

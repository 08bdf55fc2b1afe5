/*
 * fleet/'s one private header: running ssh (fleet_ssh.c), shared by the
 * coordinator's sessions (fleet.c) and the one-command runs
 * (fleet_run_everywhere).
 */
#ifndef FD_FLEET_INT_H
#define FD_FLEET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fd_error.h"
#include "fleet.h"
#include "scenario.h"

/* A running ssh: its pid, the socket that is its stdin and stdout (ours is
 * non-blocking), and the pipe of its stderr (non-blocking). */
struct fleet_ssh {
	pid_t pid;
	int fd;
	int err_fd;
	char errbuf[2048]; /* the last of its stderr */
	size_t errlen;
};

/*
 * Starts `ssh [-F CONFIG] -o BatchMode=yes ... [-p PORT] [-i IDENTITY] -T
 * -- DEST 'FIREDRILL ARGS...'` in its own process group (a Ctrl-C at the
 * coordinator's terminal is the drill's to handle, not ssh's), each
 * argument shell-quoted for the remote shell.
 */
int fleet_ssh_start(const struct scenario_inventory *inv, const struct scenario_host *h,
		    const char *const *args, int64_t connect_timeout_ns, struct fleet_ssh *out,
		    struct fd_error *err);
/* Drains its stderr into errbuf (keeping the end). */
void fleet_ssh_read_err(struct fleet_ssh *s);
/* The last line of its stderr, or "" (points into errbuf). */
const char *fleet_ssh_err_line(struct fleet_ssh *s);
/* Closes our ends; waits up to wait_ms for ssh to exit, then SIGKILLs it.
 * Its exit status (255: ssh's own failure), or -1 when killed. */
int fleet_ssh_end(struct fleet_ssh *s, int wait_ms);

#endif

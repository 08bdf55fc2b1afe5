/*
 * Who sent a flow: the process that owned the socket a blackholed packet
 * left from, as the injector found it the moment the flow was first seen
 * (injector/flowowner.c). The injector fills it, the drill and the store
 * carry it, reports and the cli print it with fd_flow_owner_format(), one
 * wording everywhere. Nothing here is guessed: when the process is not
 * known, why says why, and a zeroed owner reads "not looked up".
 */
#ifndef FD_OWNER_H
#define FD_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FD_OWNER_CMD_MAX 256
#define FD_OWNER_WHY_MAX 128
#define FD_OWNER_ID_SHOWN 12 /* hex digits of a container id shown */

struct fd_flow_owner {
	pid_t pid;                    /* 0: not known (why says why) */
	int holders;                  /* processes holding the socket; pid is the lowest */
	bool has_uid;                 /* the socket's uid, which may be known without its pid */
	uint32_t uid;
	char comm[16];                /* /proc/PID/comm; "" when it exited before it was read */
	char cmd[FD_OWNER_CMD_MAX];   /* the first argument of its cmdline; "" when none */
	char container[65];           /* the container's id (64 hex) from its cgroup; "" none */
	char container_name[128];     /* the drill's scope container's name when the ids match */
	char why[FD_OWNER_WHY_MAX];   /* when pid is 0 */
};

/*
 * "pid 4242 (curl, uid 1000, container 4f2a1b3c5d6e)", "pid 7 and 2 more
 * (nginx, uid 0, container web)", "unknown: socket already closed (uid
 * 65534)", "unknown: not looked up". Returns buf.
 */
char *fd_flow_owner_format(const struct fd_flow_owner *o, char *buf, size_t len);

/* Why the process is not known: why, or "not looked up" for a zeroed owner. */
const char *fd_flow_owner_why(const struct fd_flow_owner *o);

/* The container as shown: its name, else the first 12 hex digits of its id, else "". */
const char *fd_flow_owner_container(const struct fd_flow_owner *o, char *buf, size_t len);

#endif

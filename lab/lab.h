/*
 * lab: a practice target. A two-region replicated key-value service in
 * network namespaces, a front door (the role DNS or a global load balancer
 * plays) and a failover controller, plus a ground-truth log of what really
 * happened, for tests, `firedrill demo` and the accuracy benchmarks.
 *
 *   fdlab-client 10.66.0.1   front door :8080 + failover controller
 *   fdlab-a      10.66.1.10  primary :8080 (kv + blob, the "S3")
 *   fdlab-b      10.66.2.10  standby :8080 (kv)
 *   fdlab-core               the bridge joining the three (no address)
 *
 * Nothing here touches the host namespace beyond creating and deleting the
 * fdlab-* namespaces; the services are the firedrill binary re-executed as
 * `firedrill lab serve --role ROLE` inside its namespace. docs/lab.md has
 * the topology, tunables and the truth log format.
 *
 * Life of a lab:
 *   lab_up()      namespaces, links, addresses, then the three services.
 *                 Idempotent: what exists and matches is left alone; running
 *                 services with other tunables are restarted.
 *   lab_reset()   restarts the three services from scratch (A primary, B
 *                 standby, empty stores, truth log emptied) with new
 *                 tunables; between drills.
 *   lab_down()    stops every lab process, deletes the namespaces and the
 *                 state dir. Safe when nothing exists.
 *
 * All need root (CAP_NET_ADMIN, CAP_SYS_ADMIN); without it they fail with
 * FD_ERR_ENV.
 */
#ifndef FD_LAB_H
#define FD_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd_error.h"

#define LAB_NETNS_A        "fdlab-a"
#define LAB_NETNS_B        "fdlab-b"
#define LAB_NETNS_CLIENT   "fdlab-client"
#define LAB_NETNS_CORE     "fdlab-core"

#define LAB_PREFIX_CLIENT  "10.66.0.0/24"
#define LAB_PREFIX_A       "10.66.1.0/24"
#define LAB_PREFIX_B       "10.66.2.0/24"
#define LAB_ADDR_FRONTDOOR "10.66.0.1"
#define LAB_ADDR_A         "10.66.1.10"
#define LAB_ADDR_B         "10.66.2.10"
#define LAB_PORT           8080
/* What a drill scoped to fdlab-client points its probes at. */
#define LAB_FRONTDOOR_URL  "http://10.66.0.1:8080"
#define LAB_URL_A          "http://10.66.1.10:8080"
#define LAB_URL_B          "http://10.66.2.10:8080"

/* Default state dir; $FIREDRILL_LAB_DIR overrides it when cfg says NULL. */
#define LAB_STATE_DIR      "/run/firedrill-lab"

struct lab_config {
	const char *state_dir;       /* NULL: $FIREDRILL_LAB_DIR, else LAB_STATE_DIR */
	const char *exe;             /* firedrill binary to re-execute; NULL: /proc/self/exe */
	int64_t check_interval_ns;   /* controller health check period; default 500 ms */
	int failure_threshold;       /* consecutive failed checks before failover; default 3 */
	int64_t replication_lag_ns;  /* each acknowledged write reaches B this late; default 200 ms */
	int64_t promotion_delay_ns;  /* between declaring A failed and promoting B; default 0 */
	bool controller_disabled;    /* no failover ever (the "not recoverable" drill) */
};

/* Fills the defaults above. */
void lab_config_init(struct lab_config *cfg);

int lab_up(const struct lab_config *cfg, struct fd_error *err);
int lab_reset(const struct lab_config *cfg, struct fd_error *err);
int lab_down(const char *state_dir, struct fd_error *err);

/* The state dir lab_* use for state_dir (NULL: env or default). */
const char *lab_state_dir(const char *state_dir);

/* ---- status ------------------------------------------------------------- */

enum lab_role { LAB_ROLE_PRIMARY, LAB_ROLE_STANDBY, LAB_ROLE_FRONTDOOR, LAB_N_ROLES };

/* "primary", "standby", "frontdoor" */
const char *lab_role_name(enum lab_role r);

struct lab_status {
	bool netns[4];               /* a, b, client, core exist */
	struct {
		pid_t pid;           /* 0 when no pidfile */
		bool running;        /* pid alive and is a `lab serve` process */
	} procs[LAB_N_ROLES];
	char primary;                /* 'a' or 'b' per the front door; 0 unknown */
	bool up;                     /* every namespace and service present */
	struct lab_config cfg;       /* tunables the services run with (state_dir/exe NULL) */
};

/* Looks only at namespaces, pidfiles and the state dir; never at the network. */
int lab_status_get(const char *state_dir, struct lab_status *out, struct fd_error *err);

/* ---- ground truth ------------------------------------------------------- */

/* One write the front door acknowledged (2xx) to a client. */
struct lab_write {
	char key[200];
	char region;                 /* 'a' or 'b': the primary that took it */
	uint64_t seq;                /* that primary's write sequence number */
	int64_t ack_mono_ns;         /* when the front door answered the client */
	int64_t ack_real_ns;
};

/*
 * What happened since the last lab_up/lab_reset. Every instant is a pair
 * (CLOCK_MONOTONIC ns, CLOCK_REALTIME ns); 0 means "did not happen".
 */
struct lab_truth {
	int64_t failed_mono_ns, failed_real_ns;       /* controller declared A failed */
	int64_t promoted_mono_ns, promoted_real_ns;   /* B became primary (B's clock read) */
	int64_t switched_mono_ns, switched_real_ns;   /* front door now forwards to B */
	int64_t first_served_mono_ns, first_served_real_ns; /* B answered its first front-door request as primary */
	int64_t first_ok_mono_ns, first_ok_real_ns;   /* front door relayed B's first 2xx */
	char new_primary;                             /* 'b' after a failover, else 0 */
	struct lab_write *acked;                      /* every acknowledged write, in ack order */
	size_t n_acked;
	/* Acknowledged by A but not applied on B before B's promotion. */
	struct lab_write *lost;
	size_t n_lost;
};

/* Parses the truth log. Caller owns *out: free with lab_truth_free(). */
int lab_truth_read(const char *state_dir, struct lab_truth **out, struct fd_error *err)
	__attribute__((warn_unused_result));
void lab_truth_free(struct lab_truth *t);

/* ---- the services (the hidden `firedrill lab serve`) -------------------- */

/*
 * Runs one lab service in the current process until SIGTERM/SIGINT; reads
 * its tunables from the state dir that lab_up wrote. Expects to be already
 * inside its namespace (lab_up starts it so). Returns 0 after a clean stop.
 */
int lab_serve(enum lab_role role, const char *state_dir, struct fd_error *err);

#endif

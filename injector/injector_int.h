/*
 * The injector's one private header: the state shared by the core
 * (injector.c, guardian.c, journal.c), the seam, targets, nft batches, the
 * flow log and the netlink helpers its drivers share. Every name that
 * crosses a file starts with inj_. Nothing outside injector/ includes it
 * but its own tests, fuzzers and benches. (driver.h is the interface a
 * driver implements; procmatch.h the process drivers' matcher.)
 */
#ifndef FD_INJECTOR_INT_H
#define FD_INJECTOR_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "driver.h"
#include "fd_error.h"
#include "fd_net.h"
#include "fd_owner.h"
#include "injector.h"

/* ---- failure seam (tests) ------------------------------------------------
 * Every call that changes the kernel goes through inj_seam_check() first.
 * A test arms the seam with injector_seam_fail_at(N): the Nth checked call
 * then fails with -EIO as if the kernel had refused, so that rollback paths
 * can be exercised one by one. Unarmed, it costs one comparison. */
int inj_seam_check(const char *what);

/* ---- targets --------------------------------------------------------------
 * A fault's destination set: literal CIDRs, host names resolved now, and a
 * provider prefix list, collapsed into sorted disjoint prefixes. */
struct inj_targets {
	struct fd_cidr *cidrs; /* collapsed: sorted, disjoint, siblings merged */
	size_t n;
	size_t n_v4, n_v6;
	json_t *hosts; /* {"name": ["addr", ...]} as resolved (journal) */
	size_t n_from_list; /* prefixes the prefix list contributed (before collapse) */
};

int inj_targets_resolve(const struct scenario_fault *f, const struct driver_ctx *ctx,
			struct inj_targets *out, struct fd_error *err);
void inj_targets_free(struct inj_targets *t);

/* Sorts, drops prefixes contained in others, merges adjacent siblings. */
size_t inj_cidr_collapse(struct fd_cidr *c, size_t n);

/* Loads an AWS ip-ranges.json and appends the matching prefixes. */
int inj_aws_ranges_load(const char *path, const char *service, const char *region,
			bool include_global, struct fd_cidr **cidrs, size_t *n,
			struct fd_error *err);

/* ---- guards -------------------------------------------------------------- */
bool inj_in_host_netns(void);
/* The guard a target prefix hits (one of the two below, in the plan's
 * words), or NULL: every address always, loopback only in the host's
 * namespace. Shared by prepare (targets.c) and the plan (plan.c). */
extern const char INJ_GUARD_EVERY_ADDRESS[], INJ_GUARD_LOOPBACK[];
const char *inj_guard_cidr(const struct fd_cidr *c, bool host_ns);
/* 1 when the interface carries a default route in this namespace, 0 when
 * not, negative on error. */
int inj_link_has_default_route(int ifindex);

/* ---- nftables (drop / reject) --------------------------------------------
 * All drop/reject faults of one injection are staged into one inj_nft and
 * committed as one netlink batch: table `inet firedrill` (owner flag), per
 * fault one interval set per family and its rules. The inj_nft keeps the
 * netlink socket that owns the table: closing it removes the table. */
#define INJ_NFT_TABLE "firedrill"
#define INJ_NFT_LOG_GROUP 17988 /* "FD" */

struct inj_nft;

struct inj_nft_fault {
	const char *fault_id;
	bool reject;
	enum fault_direction direction;
	enum fault_protocol protocol;
	const uint16_t *ports;
	size_t n_ports;
	const struct fd_cidr *cidrs; /* collapsed: sorted by family and address */
	size_t n_cidrs;
	uint64_t timeout_ms;         /* the set's timeout, which every element gets */
};

struct inj_nft *inj_nft_new(void);
int inj_nft_stage(struct inj_nft *n, const struct inj_nft_fault *f, struct fd_error *err);
size_t inj_nft_staged(const struct inj_nft *n);
/* Sends the one batch. On failure nothing was applied; err names the fault. */
int inj_nft_commit(struct inj_nft *n, struct fd_error *err);
/* Deletes the table through the owning socket and closes it. Idempotent. */
int inj_nft_remove(struct inj_nft *n, struct fd_error *err);
void inj_nft_free(struct inj_nft *n); /* closing the socket drops the table */
int inj_nft_socket_fd(const struct inj_nft *n);
/* From any process: 1 when table inet firedrill exists here, 0 when not. */
int inj_nft_table_exists(struct fd_error *err);
/* From any process: deletes the table (fails with -EPERM while an owner holds it). */
int inj_nft_table_delete(struct fd_error *err);

/* ---- blackholed flows (nfnetlink_log) ------------------------------------ */
struct inj_flowlog;
struct inj_owner_scope;

int inj_flowlog_open(struct inj_flowlog **out, struct fd_error *err);
/* Another apply: each flow's next packet looks its sender up again. */
void inj_flowlog_new_apply(struct inj_flowlog *l);
int inj_flowlog_fd(const struct inj_flowlog *l);
/* Drains the log; the owners of the new flows are looked up against scope. */
int inj_flowlog_read(struct inj_flowlog *l, const struct inj_owner_scope *scope);
size_t inj_flowlog_flows(const struct inj_flowlog *l, const struct injector_flow **out);
void inj_flowlog_free(struct inj_flowlog *l);

/* ---- who sent a flow (flowowner.c) ----------------------------------------
 * Self-contained: the flow log that sees a new flow hands it the packet;
 * the lookup needs only its own diag socket, opened in the flows' network
 * namespace (a flow log per namespace opens one each). */
struct inj_flowowner;

/* A NETLINK_SOCK_DIAG socket in the calling thread's network namespace. */
int inj_flowowner_open(struct inj_flowowner **out, struct fd_error *err);
void inj_flowowner_free(struct inj_flowowner *o);

/* A dropped packet as the log gave it. */
struct inj_flow_packet {
	int family;               /* AF_INET or AF_INET6 */
	const uint8_t *src, *dst; /* 4 or 16 bytes */
	uint8_t protocol;
	uint16_t sport, dport;    /* host order */
	uint8_t hook;             /* NF_INET_*: where the rule saw it */
	bool has_uid;             /* NFULA_UID: the socket's file's uid */
	uint32_t uid;
};

/*
 * Step 1, at once (o may be NULL: the lookup is then unavailable): the
 * socket's uid, and its inode in *inode (step 2 to go), or out->why.
 */
void inj_flowowner_socket(struct inj_flowowner *o, const struct inj_flow_packet *p,
			  struct fd_flow_owner *out, uint64_t *inode);

/* An owner waiting for step 2; last is the scan's own. */
struct inj_owner_wait {
	uint64_t inode;
	struct fd_flow_owner *owner;
	pid_t last;
};

/* The drill's scope container (NULL name: none), to name it in owners. */
struct inj_owner_scope {
	const char *container;
	pid_t pid;
};

/*
 * Step 2, once for all waiting owners: one pass over proc_root ("/proc";
 * tests give a tree of their own), reading at most max_fds links, fills
 * pid, holders, comm, cmd, the uid when still unknown and the container,
 * or why.
 */
#define INJ_OWNER_MAX_FDS 100000
void inj_flowowner_procs(const char *proc_root, struct inj_owner_wait *w, size_t n,
			 const struct inj_owner_scope *scope, size_t max_fds);

/* The container id (64 hex) in a /proc/PID/cgroup text: 0, -ENOENT (none),
 * -ENAMETOOLONG (len < 65). */
int inj_cgroup_container_id(const char *text, char *id, size_t len);
/* "socket:[12345]" (an fd's link) -> 12345; 0 for anything else. */
uint64_t inj_socket_link_inode(const char *link);

/* ---- netlink route helpers ----------------------------------------------- */
struct nl_sock;
int inj_rtnl_open(struct nl_sock **out, struct fd_error *err);
/* "Object not found (kernel message)" style text for a libnl error. */
const char *inj_nl_error(int nlerr);

/* The link a link/qdisc fault names, with the guards (host loopback, the
 * default route's link). */
int inj_link_lookup(const struct scenario_fault *f, const struct driver_ctx *ctx,
		    int *ifindex, bool *up, struct fd_error *err);

/* Whether the kernel can create a qdisc of this kind (probed in a private
 * network namespace, touching nothing): 1 yes, 0 no, negative unknown. */
int inj_qdisc_kind_supported(const char *kind);

/* ---- a fault's own place (place.c) ----------------------------------------
 * The injector enters a fault's namespace for that fault's work and comes
 * back; *home is where it was (-1: nothing was entered, the thread is there
 * already or netns is NULL/""). */
int inj_place_enter(const char *netns, int *home, struct fd_error *err);
int inj_place_leave(int *home, struct fd_error *err);
/* Kinds undone by pid or cgroup path (kill, stop, freeze, pause): their
 * revert needs no namespace. */
bool inj_kind_by_pid(const char *kind);
/* For a revert: enters netns; when it is gone, *note says so and returns 1
 * (nothing left to revert), or 0 for a kind undone by pid (revert from
 * here). Negative on any other error. */
int inj_place_enter_revert(const char *netns, const char *kind, int *home, const char **note,
			   struct fd_error *err);

/* ---- the injector's state (injector.c, guardian.c, journal.c) ------------- */

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
	/* Its own place (injector_set_fault_place): the namespace entered for
	 * its work and journaled, and its container's main process; "" and 0:
	 * the injector's (the scope's). */
	char netns[64];
	pid_t pid;
	size_t nft_ns;        /* drop/reject: its inj_nft_ns while applied */
};

/* The drop/reject faults of one namespace: one batch, committed while
 * inside it (its socket owns that namespace's table). */
struct inj_nft_ns {
	char netns[64];       /* as entered; "" = the caller's */
	dev_t dev;
	ino_t ino;
	struct inj_nft *nft;
};

/* The flow log of one namespace; its flows are copied into the injector's
 * one list, at[i] being where its flow i went (the list only grows: the
 * drill keeps counts by index). */
struct inj_flowsrc {
	dev_t dev;
	ino_t ino;
	struct inj_flowlog *log;
	size_t *at;
	size_t n_at;
};

struct injector {
	const struct scenario *s;
	struct injector_opts opts;
	struct driver_ctx ctx;
	char netns[64];             /* the faults' namespace as journaled; "" = the caller's */
	char *base_dir;
	struct inj_fault *faults;
	size_t n;
	bool prepared;
	bool applied;
	/* per namespace, table inet firedrill held while applied */
	struct inj_nft_ns *nft_ns;
	size_t n_nft_ns;
	struct inj_flowsrc *flowsrc; /* per namespace, open from the first apply on */
	size_t n_flowsrc;
	int flow_epfd;              /* every flow log's fd: injector_flow_fd() */
	struct injector_flow *flows; /* all namespaces' flows, in the order first seen */
	size_t n_flows;
	pid_t guardian_pid;
	int guardian_fd;            /* write end of its pipe: one line per message */
	pid_t guardian_holder;      /* the process that started it (its pidfd is of that one) */
	bool guardian_forked;       /* fork mode (no journal): goes home at "R" */
	bool guardian_watching;     /* it has rows of an apply (between "P" and "R") */
	int64_t deadline_mono;
	/* journal rows that change state together (journal_queue/journal_write) */
	int64_t *mark_rows;
	const char **mark_specs;
	size_t n_mark;
};

/* The guardian (guardian.c). At prepare: spawn it on standby (best
 * effort), so that its start is not paid inside apply. */
void inj_guardian_standby(struct injector *inj);
/* After the PLANNED rows are committed, before anything is touched: tell it
 * which rows to watch (spawning it now if there is no standby). */
int inj_guardian_watch(struct injector *inj, struct fd_error *err);
/* After a successful apply: tell it to re-read the rows (or, without a
 * journal, start the fork mode from the specs as applied). */
int inj_guardian_applied(struct injector *inj, struct fd_error *err);
/* After a clean revert or a complete rollback: nothing to watch. */
void inj_guardian_release(struct injector *inj);
/* injector_free(): lets it go (reverting what is still watched). */
void inj_guardian_free(struct injector *inj);

#endif

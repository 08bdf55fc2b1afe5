/*
 * store: everything firedrill remembers, in one SQLite file.
 *
 * The only module that writes SQL. WAL mode, foreign keys on, a busy
 * timeout, schema version in PRAGMA user_version with forward migrations.
 * Every write is one transaction, committed before the call returns, so a
 * crash loses nothing already recorded. The database is also a user
 * interface (sqlite3 shell, Grafana): table and column names are plain and
 * documented in docs/store.md.
 *
 * Rows of drills and iterations carry a sha256 hash chain (each row's hash
 * covers its content and the previous row's hash) so that tampering is
 * detectable by store_verify_chain(). Each also seals the digest of its
 * evidence (events, faults, scenario; samples, laps, flows), see store_chain.c.
 *
 * All times: *_mono_ns are CLOCK_MONOTONIC (intervals only), *_real_ns are
 * CLOCK_REALTIME ns since the epoch (display). Durations are stored in ms
 * (rto_ms, ...) as REAL for people, plus exact ns where noted.
 */
#ifndef FD_STORE_H
#define FD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd_error.h"
#include "fd_owner.h"

struct store;

/* Opens (creating and migrating) the database at path. */
int store_open(const char *path, struct store **out, struct fd_error *err);
/*
 * Opens an existing database for reading only: never creates the file and
 * never migrates (an older or newer schema is an FD_ERR_ENV error). A
 * missing file gives -ENOENT. For history and reports.
 */
int store_open_readonly(const char *path, struct store **out, struct fd_error *err);
void store_close(struct store *st);
int store_schema_version(struct store *st);

/* ---- scenarios ---------------------------------------------------------- */

/* Inserts the scenario text if its sha256 is new; returns its row id. */
FD_MUST_CHECK int store_put_scenario(struct store *st, const char *name, const char *sha256,
		       const char *text, int64_t *scenario_id, struct fd_error *err);

/* ---- drills and iterations ---------------------------------------------- */

/* The outcome column of a drill or iteration row. The drill has its own
 * words (drill.h enum store_outcome) and hands them over as text
 * (store_outcome_parse); the store keeps its own. */
enum store_outcome {
	STORE_OUTCOME_RUNNING,       /* still going, or died without finishing */
	STORE_OUTCOME_RECOVERED,     /* recovered within the timeout */
	STORE_OUTCOME_NOT_RECOVERED, /* timeout passed without a stable window */
	STORE_OUTCOME_ABORTED,       /* stopped: stop-if-failing, signal, crash found later */
	STORE_OUTCOME_NOT_HEALTHY,   /* steady state failed: nothing injected */
	STORE_OUTCOME_ERROR,         /* an environment or internal error ended it */
};

const char *store_outcome_name(enum store_outcome o); /* "recovered", "not-recovered", ... */
int store_outcome_parse(const char *name, enum store_outcome *out);

struct store_drill {
	int64_t id;
	int64_t scenario_id;
	char scenario_name[128];
	char scenario_sha256[65];
	char environment[128];
	char operator_name[128];
	char host[256];
	char tool_version[64];
	int64_t started_real_ns;
	int64_t ended_real_ns; /* 0 while running */
	enum store_outcome outcome;
	bool objectives_met;
	int iterations_planned;
	char note[512]; /* free text: e.g. the lab's tuning for this drill */
	char hash[65];  /* "" until the drill is finished (rows are sealed into the chain when final) */
	/*
	 * The process running the drill, so store_abort_stale_drills can tell
	 * a live drill from a dead one. 0 = store_begin_drill records the
	 * calling process. holder_start is its start time (/proc/PID/stat
	 * field 22, clock ticks since boot), filled by the store; a different
	 * start time under the same pid means the pid was reused.
	 */
	int holder_pid;
	uint64_t holder_start;
	/*
	 * The objectives as the scenario stated them when the drill started
	 * (schema version 2). objectives_recorded is false for drills recorded
	 * before that: their objectives are unknown, not absent.
	 */
	bool objectives_recorded;
	bool has_rto_objective;
	int64_t rto_objective_ns;
	bool has_rpo_objective;
	int64_t rpo_objective_ns;
	char recovery_criterion[256]; /* "all of [web, db] stable 2.0 s within 5m00s" */
	/*
	 * The scenario's `prove-every` when the drill started (schema version
	 * 5); 0 when it set none, and on drills recorded before.
	 */
	int64_t prove_every_ns;
	/*
	 * The scope as the scenario stated it (description, scope-rationale)
	 * and who took part: "ROLE=NAME" lines, one per role; a role the
	 * scenario's team: expects but nobody filled is "ROLE=" (schema 5;
	 * "" in drills recorded before).
	 */
	char description[1024];
	char scope_rationale[1024];
	char participants[1024];
};

/*
 * Fills id and the holder fields. Caller fills the descriptive fields
 * (scenario_id, or scenario_name/scenario_sha256 when there is no scenario
 * row). hash stays "" until store_finish_drill seals the row.
 */
FD_MUST_CHECK int store_begin_drill(struct store *st, struct store_drill *d, struct fd_error *err);
FD_MUST_CHECK int store_finish_drill(struct store *st, int64_t drill_id, enum store_outcome o,
		       bool objectives_met, int64_t ended_real_ns, struct fd_error *err);

/*
 * Marks every drill still RUNNING whose holder process is gone (no such
 * pid, or the pid now belongs to a process with another start time) as
 * ABORTED, keeping its partial data; its open iterations become ABORTED
 * too. Drills started on another host are left alone (their pid means
 * nothing here). Call at start, before beginning a drill.
 */
int store_abort_stale_drills(struct store *st, int *n_marked, struct fd_error *err);

struct store_iteration {
	int64_t id;
	int64_t drill_id;
	int number; /* 1-based */
	enum store_outcome outcome;
	int64_t t0_real_ns;     /* wall time of T0 (faults confirmed applied) */
	int64_t t0_mono_ns;
	bool has_rto;           /* false unless recovered */
	double rto_ms;
	bool has_rpo;
	double rpo_ms;
	int64_t writes_acked;       /* canary writes acknowledged, whole iteration */
	int64_t writes_acked_outage;/* ... of which during the outage (after T0) */
	int64_t lost_writes;        /* acknowledged writes missing after recovery */
	bool has_detect;
	double detect_ms;           /* first failing sample after T0 */
	bool has_first_success;
	double first_success_ms;
	double error_bound_ms;      /* max(rto_early_ms, rto_late_ms) when recovered, else the
				       longest criterion probe interval (before schema 2: the interval) */
	bool has_failback;
	double failback_ms;
	bool objectives_met;
	char detail[512];           /* why: "not healthy before the drill", abort reason */
	char hash[65];
	int64_t started_real_ns;    /* set by store_begin_iteration */
	int64_t ended_real_ns;      /* set by store_finish_iteration; 0 while open */
	/* The two sides of the RTO's bound (scorer.h recovery_result): the true
	 * RTO lies in [rto_ms - rto_late_ms, rto_ms + rto_early_ms]. Recorded
	 * with the RTO; absent for drills recorded before schema 2. */
	bool has_rto_bounds;
	double rto_early_ms;
	double rto_late_ms;
};

FD_MUST_CHECK int store_begin_iteration(struct store *st, struct store_iteration *it, struct fd_error *err);
/*
 * Writes every measured field of it (by it->id) and extends the hash chain
 * (fills it->hash). A has_* flag that is false stores NULL, never a number;
 * lost_writes is NULL unless has_rpo. A finished row is sealed: finishing
 * it again is an FD_ERR_INTERNAL error.
 */
FD_MUST_CHECK int store_finish_iteration(struct store *st, struct store_iteration *it, struct fd_error *err);

/* ---- timeline ----------------------------------------------------------- */

struct store_event {
	int64_t id;
	int64_t drill_id;
	int64_t iteration_id; /* 0 when drill-level */
	int64_t mono_ns;
	int64_t real_ns;
	char kind[32];     /* "phase", "fault-applied", "fault-reverted", "probe-up", "probe-down", "lap", "note", ... */
	char subject[128]; /* fault id, probe id, step name, phase name */
	char detail[1024];
};

/* Committed before returning: a crash right after loses nothing. */
FD_MUST_CHECK int store_add_event(struct store *st, struct store_event *ev, struct fd_error *err);

struct store_sample {
	int64_t iteration_id;
	char probe[64];
	int64_t mono_ns; /* at send */
	bool ok;
	int64_t latency_ns;
	char detail[256];
};

/* Appends many samples in one transaction. */
FD_MUST_CHECK int store_add_samples(struct store *st, const struct store_sample *s, size_t n,
		      struct fd_error *err);

struct store_lap {
	int64_t iteration_id;
	int step; /* 0-based position in the runbook */
	char name[256];
	bool manual;
	int64_t started_mono_ns;
	int64_t ended_mono_ns;
	double duration_ms;
	bool ok;
	char detail[512];
};

FD_MUST_CHECK int store_add_lap(struct store *st, const struct store_lap *lap, struct fd_error *err);

/* A flow an iteration's drop/reject faults cut off (schema 6), with who sent it. */
struct store_flow {
	int64_t iteration_id;
	int iteration;            /* read: the iteration's number */
	char fault_id[64];
	char protocol[16];        /* "tcp", "udp", "icmp", "proto 47" */
	char src[48];             /* addresses as text */
	char dst[48];
	int dport;                /* 0: none (not TCP/UDP) */
	char flow[160];           /* as the timeline says it: "tcp 10.0.0.1 -> 10.0.0.2:443" */
	int64_t packets;          /* dropped during the iteration */
	bool has_first_seen;
	double first_seen_ms;     /* first read, after T0 */
	struct fd_flow_owner owner;
};

/* Appends n flows (one transaction); sealed into their iteration's evidence. */
FD_MUST_CHECK int store_add_flows(struct store *st, const struct store_flow *f, size_t n,
				  struct fd_error *err);

/* ---- fault journal (write-ahead) ---------------------------------------- */

enum journal_state {
	JOURNAL_PLANNED,  /* written before apply */
	JOURNAL_APPLIED,  /* apply confirmed */
	JOURNAL_REVERTED, /* revert confirmed (or found already gone) */
	JOURNAL_FAILED,   /* apply failed and nothing remained */
};

const char *store_journal_state_name(enum journal_state s);

struct store_fault {
	int64_t id;
	int64_t drill_id;      /* 0 for `firedrill inject` outside a drill */
	char fault_id[64];     /* scenario fault id */
	char kind[32];         /* scenario kind name */
	char netns[64];        /* "" = the caller's namespace */
	char *spec;            /* JSON the driver needs to revert (owned; store_fault_free) */
	enum journal_state state;
	int64_t planned_real_ns;
	int64_t applied_real_ns;
	int64_t expires_real_ns; /* applied + max duration */
	int64_t reverted_real_ns;
	int holder_pid;
	char detail[1024];      /* targets applied, captured output, revert notes */
	int64_t max_duration_ns; /* when > 0, APPLIED sets expires = applied + this */
};

/* Writes a PLANNED row; fills f->id. */
FD_MUST_CHECK int store_journal_plan(struct store *st, struct store_fault *f, struct fd_error *err);
/*
 * Moves a row to state s at when_real_ns (0 = now). detail, if not NULL
 * or "", is appended to the row's detail (the journal keeps history).
 * Allowed: PLANNED -> any, APPLIED -> REVERTED, and a state to itself (a
 * no-op that keeps the first time, so revert is idempotent).
 */
FD_MUST_CHECK int store_journal_set_state(struct store *st, int64_t fault_row, enum journal_state s,
			    int64_t when_real_ns, const char *detail, struct fd_error *err);
/* Updates spec (e.g. resolved addresses) of a planned or applied row. */
FD_MUST_CHECK int store_journal_set_spec(struct store *st, int64_t fault_row, const char *spec,
			   struct fd_error *err);
/*
 * Batches of the above, each in ONE transaction (all rows or none): an
 * injection's rows are planned together, and the rows of faults confirmed
 * or reverted together (one nft batch) change state together. specs may be
 * NULL, and so may any specs[i] (keep that row's spec).
 */
FD_MUST_CHECK int store_journal_plan_all(struct store *st, struct store_fault *f, size_t n,
			   struct fd_error *err);
FD_MUST_CHECK int store_journal_set_states(struct store *st, const int64_t *rows, const char *const *specs,
			     size_t n, enum journal_state s, int64_t when_real_ns,
			     const char *detail, struct fd_error *err);
/* Rows in PLANNED or APPLIED state (a PLANNED row may be half-applied). */
int store_journal_list_active(struct store *st, struct store_fault **out, size_t *n,
			      struct fd_error *err);
void store_faults_free(struct store_fault *f, size_t n);

/* ---- the drill's record book (store_records.c) -------------------------- */

/*
 * What people add to a drill's evidence after (or while) it ran: findings,
 * remediation actions, the closing of an action (by a retest drill),
 * lessons learned, and sign-offs. Append-only: a row is sealed into the
 * "records" hash chain in the transaction that writes it and never
 * changes; an action is closed by a new row, not by an update.
 */
enum store_record_kind {
	STORE_RECORD_FINDING,
	STORE_RECORD_ACTION,
	STORE_RECORD_ACTION_CLOSED,
	STORE_RECORD_NOTE,
	STORE_RECORD_SIGNOFF,
};

const char *store_record_kind_name(enum store_record_kind k); /* "finding", "action-closed", ... */

struct store_record {
	int64_t id;
	int64_t drill_id;
	enum store_record_kind kind;
	char severity[16];        /* finding: critical, high, medium, low */
	char root_cause[512];     /* finding, optional */
	char owner[128];          /* action */
	char due[16];             /* action: YYYY-MM-DD */
	int64_t action_id;        /* action-closed: the action it closes */
	int64_t finding_id;       /* action: the finding it remedies (0: none named) */
	int64_t retest_drill_id;  /* action-closed: the drill that proved the fix (0: none) */
	char text[1024];          /* what was found, done, learned; a sign-off's signed statement */
	char author[128];         /* who recorded it (a sign-off: the approver) */
	char author_role[64];     /* their role in the drill, "" when none */
	int64_t created_real_ns;  /* filled by store_add_record when 0 */
	char key_id[17];          /* sign-off: first 16 hex of sha256(public key) */
	char public_key[64];      /* sign-off: base64 Ed25519 public key */
	char signature[96];       /* sign-off: base64 Ed25519 signature over text */
	int64_t chain_seq;        /* its place in the records chain (filled when written) */
	char hash[65];
};

/*
 * Validates and appends rec (fills id, created_real_ns, chain_seq, hash).
 * FD_ERR_INPUT errors: no such drill; a finding without a known severity;
 * an action without owner or with a due date that is not YYYY-MM-DD; a
 * closing of a row that is not an action, or of one already closed
 * (-EALREADY); a retest drill that does not exist; an action's finding that
 * is not a finding of the same drill.
 */
FD_MUST_CHECK int store_add_record(struct store *st, struct store_record *rec, struct fd_error *err);

/* The records of drill_id (0: every drill) in the order written. */
int store_list_records(struct store *st, int64_t drill_id, struct store_record **out, size_t *n,
		       struct fd_error *err);
int store_get_record(struct store *st, int64_t id, struct store_record *out, struct fd_error *err);

/* ---- reading (reports) -------------------------------------------------- */

struct store_filter {
	const char *scenario;    /* NULL = all */
	const char *environment; /* NULL = all */
	int64_t since_real_ns;   /* 0 = no bound */
	int64_t until_real_ns;   /* 0 = no bound */
	size_t limit;            /* 0 = all; else only the newest `limit` (still oldest first) */
};

/* Drills matching filter, oldest first. */
int store_list_drills(struct store *st, const struct store_filter *f,
		      struct store_drill **out, size_t *n, struct fd_error *err);
int store_get_drill(struct store *st, int64_t drill_id, struct store_drill *out,
		    struct fd_error *err);
int store_list_iterations(struct store *st, int64_t drill_id,
			  struct store_iteration **out, size_t *n, struct fd_error *err);
int store_list_events(struct store *st, int64_t drill_id,
		      struct store_event **out, size_t *n, struct fd_error *err);
int store_list_laps(struct store *st, int64_t iteration_id,
		    struct store_lap **out, size_t *n, struct fd_error *err);
/* The flows of drill_id's iterations, by iteration number, then as recorded. */
int store_list_flows(struct store *st, int64_t drill_id, struct store_flow **out, size_t *n,
		     struct fd_error *err);

/*
 * Per-probe statistics of an iteration: count, ok count, latency p50/p99
 * (nearest rank, over ok samples only; 0 when ok == 0).
 */
struct store_probe_stats {
	char probe[64];
	int64_t samples;
	int64_t ok;
	double latency_p50_ms;
	double latency_p99_ms;
};
int store_probe_stats(struct store *st, int64_t iteration_id,
		      struct store_probe_stats **out, size_t *n, struct fd_error *err);

/*
 * How recently each scenario was drilled and proven, per scenario name x
 * environment (firedrill freshness). Finished drills only (a running
 * drill proves nothing yet). "Proven": outcome recovered with its
 * objectives met. Times are the drills' starts.
 */
struct store_freshness {
	char scenario[128];
	char environment[128];
	int64_t n_drills;               /* finished drills of the pair */
	int64_t last_drill_id;          /* the newest finished drill */
	int64_t last_drilled_real_ns;
	char last_drilled_sha256[65];   /* its scenario text's sha256; "" when not recorded */
	int64_t prove_every_ns;         /* its prove-every; 0 when none (or before schema 5) */
	bool proven;                    /* false: never proven; the last_proven fields are 0/"" */
	int64_t last_proven_drill_id;
	int64_t last_proven_real_ns;
	char last_proven_sha256[65];
};

/*
 * One row per scenario x environment with a finished drill, sorted by
 * scenario then environment; environment NULL = every environment. One
 * query. *out is malloc'd (caller frees).
 */
int store_list_freshness(struct store *st, const char *environment,
			 struct store_freshness **out, size_t *n, struct fd_error *err);

/* The scenario text and hash stored for a drill. text is malloc'd (caller frees). */
int store_get_scenario_text(struct store *st, int64_t scenario_id, char **text,
			    char sha256[65], struct fd_error *err);

/*
 * Recomputes the drills/iterations hash chain and the evidence each sealed
 * row covers. Returns 0 when intact; on a mismatch returns -EBADMSG and err
 * names each table, row and field changed, and rows removed or inserted.
 */
int store_verify_chain(struct store *st, struct fd_error *err);

/*
 * Whether drill_id was sealed with its evidence (schema 2); false for a
 * drill still running, missing, or sealed before evidence seals existed
 * (then only its drill and iteration rows are covered).
 */
int store_evidence_sealed(struct store *st, int64_t drill_id, bool *sealed, struct fd_error *err);

/*
 * One read snapshot across many list calls (a report loading thousands of
 * rows): BEGIN DEFERRED ... COMMIT, so SQLite takes its read lock once
 * instead of once per query. Nothing may be written between begin and end.
 */
int store_read_begin(struct store *st, struct fd_error *err);
void store_read_end(struct store *st);

/*
 * The newest sealed row of a chain ("drills" or "iterations"): its chain
 * position and hash (seq 0, hash "" when empty). A hash chain without a
 * key only proves order and integrity relative to a head someone kept
 * elsewhere: signed evidence reports should include it.
 */
int store_chain_head(struct store *st, const char *table, int64_t *seq, char hash[65],
		     struct fd_error *err);

#endif

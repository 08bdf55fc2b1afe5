/*
 * scorer internals shared by the files of scorer/ (and its unit tests).
 * Nothing outside scorer/ and tests/unit/scorer includes this header.
 *
 * The loop: one epoll set, one timerfd armed at the earliest due time
 * (probe schedule, curl timer, job deadlines, the poll deadline). Every
 * request in flight is a job; a job's completion calls back its owner (a
 * probe, the canary writer, the read-back or the RPO query).
 */
#ifndef FD_SCORER_INT_H
#define FD_SCORER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netdb.h>

#include "scorer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- the probe schedule (scorer_sched.c) --------------------------------- */

/* A fixed grid: sends are due at start + k * interval, never drifting. */
struct sched {
	int64_t start_ns;
	int64_t interval_ns;
	int64_t next_ns;   /* next due grid point */
	int64_t skipped;   /* grid points skipped because the loop was stalled */
	int64_t last_due_ns; /* the due point of the latest send (INT64_MIN: none yet) */
};

void scorer_sched_init(struct sched *s, int64_t start_ns, int64_t interval_ns);
/*
 * Called when a send happens at now for the due point s->next_ns. Advances
 * next_ns by one interval; when the loop fell more than one interval behind,
 * jumps to the first grid point after now (counting the skipped ones)
 * instead of bursting to catch up. Returns the lateness (now - due).
 */
int64_t scorer_sched_fire(struct sched *s, int64_t now_ns);
/*
 * Changes the step (recovery.resolution switching a probe to and from its
 * outage step) without leaving the grid: the next send is the first point
 * of start + k * step at or after now and after the latest due point, so
 * no point is sent twice and a coarse grid resumes where it left off.
 */
void scorer_sched_restep(struct sched *s, int64_t step_ns, int64_t now_ns);

/* Lateness samples kept in a bounded ring for percentiles. */
#define SCORER_LATENESS_RING 65536
struct lateness {
	int64_t *ring;
	size_t n;      /* total recorded */
	int64_t max_ns;
};

void scorer_lateness_add(struct lateness *l, int64_t ns);
void scorer_lateness_summary(const struct lateness *l, struct scorer_lateness *out);

/* ---- the canary and RPO (scorer_canary.c) -------------------------------- */

struct canary_write {
	int64_t seq;
	int64_t ts_ms;       /* wall-clock ms written into the record */
	int64_t sent_ns;     /* CLOCK_MONOTONIC */
	int64_t ack_ns;      /* valid when acked */
	bool done;           /* the write request completed (acked or not) */
	bool acked;
	bool read_done;      /* read-back answered */
	bool survived;       /* read-back found it */
	bool mismatched;     /* read-back answered with another value (lost) */
	int read_tries;
};

/*
 * RPO over canary writes (any order): lost = acknowledged and not survived.
 * rpo = ack of the newest lost write - ack of the newest surviving write
 * acknowledged before it (the first send of the canary when none did).
 */
void scorer_rpo_compute(const struct canary_write *w, size_t n, int64_t t0_mono_ns,
		 struct rpo_result *r);

/*
 * The read-back check of one canary read: picks the value out of the answer
 * (json_path into a JSON body, else re's group 1 or whole match, else the
 * whole answer; text trimmed of surrounding white space) and compares it
 * with want. True when equal; otherwise why says what was found.
 */
struct regex_entry;
bool scorer_canary_value_ok(const char *out, size_t len, const char *json_path,
		     const struct regex_entry *re, const char *want, char *why, size_t why_len);

/* "{{seq}}" and "{{ts}}" replaced; other text copied. Caller frees. NULL on ENOMEM. */
char *scorer_tmpl_expand(const char *in, int64_t seq, int64_t ts_ms);
/*
 * The same for a struct tmpl: a canary's {{seq}} and {{ts}}, or with has_t0
 * (the RPO query) only {{t0}} (RFC 3339 UTC, microseconds), {{t0_unix}}
 * (epoch seconds with 6 decimals) and {{t0_ms}} (epoch ms), T0 floored to
 * the microsecond. Other text, unknown placeholders included, is copied.
 */
struct tmpl;
char *scorer_tmpl_apply(const char *in, const struct tmpl *t);

/*
 * The RPO from the query's value (trimmed text): T0 - the timestamp; a
 * timestamp after T0 (written once writers resumed) or one that does not
 * parse leaves the RPO unknown and says why. Never negative.
 */
void scorer_rpo_from_query(const char *value, int64_t t0_real_ns, struct rpo_result *r);

/* Epoch seconds ("1764127530.25") or ISO 8601 ("2026-11-26T03:15:30.5Z",
 * "2026-11-26 03:15:30+00"). Returns 0 or -EINVAL. */
int scorer_rpo_parse_timestamp(const char *s, int64_t *real_ns);

/* ---- recovery window (scorer_watch.c): exposed for tests ---------------- */

/* Samples of one criterion probe, kept sorted by send time. */
struct watch_series {
	int64_t *t;
	bool *ok;
	int64_t *lat;       /* each sample's latency (send to answer) */
	size_t n, cap;
	int64_t timeout_ns; /* how late a sample may still arrive after its send */
};

/* ---- the loop (scorer_loop.c) -------------------------------------------- */

#include <curl/curl.h>

struct scorer;

/* Anything registered in the epoll set. */
struct watch_ev {
	void (*fn)(struct scorer *sc, struct watch_ev *ev, uint32_t events);
	int fd;
	bool dead; /* released during this batch of events: skip it */
};

/* A deadline on the loop (job timeouts, log fallback ticks). */
struct tnode {
	int64_t due_ns;
	void (*fn)(struct scorer *sc, struct tnode *t);
	struct tnode *prev, *next;
	bool armed;
};

/* Outcome of one request (probe send, canary write or read, RPO query). */
struct job_result {
	bool ok;
	bool answered;   /* an answer came (HTTP response, exit status), not a transport failure */
	int64_t sent_ns;
	int64_t done_ns;
	char detail[256];
	const char *out; /* body or stdout when kept; valid during the callback only */
	size_t out_len;
};

typedef void (*job_done_fn)(struct scorer *sc, void *cookie, const struct job_result *r);

/* Template values; NULL where a request is not templated. */
struct tmpl {
	int64_t seq;
	int64_t ts_ms;
	bool has_t0;        /* the RPO query: T0 replaces seq and ts */
	int64_t t0_real_ns;
};

#define SCORER_BODY_MAX ((size_t)1 << 20)
#define SCORER_STDOUT_MAX ((size_t)64 << 10)

struct scorer_place;

struct probe_rt {
	const struct scenario_probe *p;
	struct scorer_place *place; /* where it runs; NULL: the loop thread's namespace */
	size_t index;
	struct sched sched;
	bool has_state;
	int64_t state_sent_ns;
	bool state_ok;
	int64_t count;   /* pcap: matching packets since start */
	int64_t win_from_ns, win_to_ns; /* pcap: the window counted in win_count */
	int64_t win_count;
	void *impl;      /* log / pcap state */
	int64_t inflight; /* this probe's requests not yet completed */
	bool fine;        /* sending at recovery.resolution (scorer_sched.c, outage resolution) */
	/* Sends not yet delivered, oldest first (scorer_sched.c: ordered delivery). */
	struct probe_pending *pend_head, *pend_tail;
	bool starting;   /* inside a job start: completions wait to be delivered */
};

/* A pattern compiled once (JIT where available), with its own match data:
 * no allocation per match (log probes match every line). */
struct regex_entry {
	const char *pattern; /* owned by the scenario */
	pcre2_code *code;
	pcre2_match_data *md;
};

struct resolver;

struct scorer {
	const struct scenario *s;
	scorer_sample_fn on_sample;
	void *user;
	int epfd;
	int tfd;
	int64_t tfd_armed_ns;  /* absolute expiry the timerfd is set to; -1 none */
	struct watch_ev tfd_ev;
	CURLM *multi;
	int64_t curl_due_ns;   /* -1: no curl timer */
	struct tnode *timers;
	struct probe_rt *probes;
	size_t n_probes;
	bool running;
	int64_t inflight;      /* jobs not yet completed */
	struct lateness late;
	int64_t skipped;
	struct regex_entry *rx;
	size_t n_rx;
	struct resolver *res;  /* resolver threads in the loop thread's namespace */
	struct scorer_place *places; /* the namespaces of probes and actions (scorer_place.c) */
	size_t n_places;
	struct scorer_place *write_place, *read_place, *query_place; /* NULL: here */
	void *http_jobs;       /* probe_http.c: requests in flight */
	void *http_idle;       /* probe_http.c: finished easy handles kept for reuse */
	size_t n_http_idle;
	void **graveyard;      /* scorer_loop_defer_free() */
	size_t n_grave, cap_grave;
	int ino_fd;
	struct watch_ev ino_ev;

	/* outage resolution (recovery.resolution; scorer_sched.c says how) */
	struct {
		bool on;        /* following the recovery criterion since t0_ns */
		bool fine;      /* its probes are at the resolution now */
		int64_t t0_ns;
		int64_t fine_sends, capped, max_inflight, switches;
	} outage;

	/* canary */
	bool canary_on;
	struct sched canary_sched;
	struct canary_write *cw;
	size_t n_cw, cap_cw;
	int64_t canary_inflight;
	int64_t reads_inflight;
	struct rpo_result *query_out;
	bool query_done;
	int64_t query_t0_real_ns;
	int query_rc;
	struct fd_error *query_err;
	bool query_answered;   /* the last query got an answer (else it is tried again) */
	char read_why[160];    /* the last canary read that got no answer: why */
};

int scorer_loop_add(struct scorer *sc, struct watch_ev *ev, uint32_t events);
int scorer_loop_mod(struct scorer *sc, struct watch_ev *ev, uint32_t events);
void scorer_loop_del(struct scorer *sc, struct watch_ev *ev);
/*
 * Frees p after the current batch of epoll events: an event for an object
 * released by an earlier callback of the same batch must not touch freed
 * memory (mark its watch_ev dead first). With sc NULL, frees now.
 */
void scorer_loop_defer_free(struct scorer *sc, void *p);
void scorer_timer_arm(struct scorer *sc, struct tnode *t, int64_t due_ns);
void scorer_timer_disarm(struct scorer *sc, struct tnode *t);
/* Runs the loop until done(sc) or deadline; 0, or -ETIMEDOUT at deadline. */
int scorer_loop_run_until(struct scorer *sc, bool (*done)(struct scorer *), int64_t deadline_ns,
			  struct fd_error *err);
/* The epoll set and the timerfd (scorer_new); flush frees the graveyard, close the fds. */
int scorer_loop_open(struct scorer *sc, struct fd_error *err);
void scorer_loop_flush(struct scorer *sc);
void scorer_loop_close(struct scorer *sc);

/*
 * Sends due by *now, called by the loop before every wait; each advances
 * *now past its sends and returns its earliest next due time.
 */
int64_t scorer_sched_run(struct scorer *sc, int64_t *now);
int64_t scorer_canary_run(struct scorer *sc, int64_t *now);
/* Samples held for ordered delivery, dropped (scorer_free). */
void scorer_sched_free(struct scorer *sc);

/* The compiled form of a pattern compiled at scorer_new (NULL if none). */
const struct regex_entry *scorer_regex(const struct scorer *sc, const char *pattern);
/* Match; with cap, returns group 1 (or the whole match) in cap and cap_len. */
bool scorer_regex_match(const struct regex_entry *re, const char *s, size_t len, const char **cap,
		 size_t *cap_len);
void scorer_probe_emit(struct scorer *sc, struct probe_rt *pr, int64_t sent_ns, bool ok,
		int64_t latency_ns, const char *detail);
void scorer_detail_duration(char *buf, size_t len, const char *what, int64_t ns);

/* ---- places (scorer_place.c) --------------------------------------------- */

/* A network namespace some probes or actions run in, opened once. */
struct scorer_place {
	char path[128];       /* the namespace file: /run/netns/NAME, /proc/N/ns/net */
	int fd;               /* open on it; -1 when it could not be opened */
	char why[200];        /* then: "netns /proc/123/ns/net: No such file or directory" */
	struct resolver *res; /* resolver threads made inside it (lazily) */
};

/* The places w names, opened, and linked to the probes and actions. */
int scorer_places_open(struct scorer *sc, const struct scorer_places *w, struct fd_error *err);
void scorer_places_close(struct scorer *sc);
/* The calling thread into pl (NULL: stays; *home -1), *home its way back. 0 or -errno. */
int scorer_place_enter(const struct scorer_place *pl, int *home);
void scorer_place_leave(int home);
/* socket() created inside pl (NULL: here), close-on-exec; the fd or -errno. */
int scorer_place_socket(const struct scorer_place *pl, int domain, int type, int proto);
/*
 * A place that could not be opened: done() is called at once with a
 * failing result that is no answer, its detail the reason, and true is
 * returned (the request is not started). False for NULL or a usable place.
 */
bool scorer_place_refused(struct scorer *sc, const struct scorer_place *pl, job_done_fn done,
			  void *cookie, int64_t *sent_ns);

/* ---- request kinds ------------------------------------------------------- */

int scorer_http_init(struct scorer *sc, struct fd_error *err);
void scorer_http_cleanup(struct scorer *sc);
void scorer_http_timer_fire(struct scorer *sc);
/* Which TCP connection a request goes on (probe_http.c says why). */
enum http_conn {
	HTTP_CONN_FRESH, /* a new one, closed after the answer */
	HTTP_CONN_NEW,   /* a new one, kept alive for the next request */
	HTTP_CONN_REUSE, /* a kept-alive one idle for less than a second, else new */
};

/* Every headers-env variable of h set and usable, else FD_ERR_INPUT naming it. */
int scorer_http_check_env(const struct scenario_http *h, struct fd_error *err);
/* Starts one request (in pl; NULL: here); *sent_ns is its send stamp. */
int scorer_http_job_start(struct scorer *sc, const struct scorer_place *pl,
		   const struct scenario_http *h, int64_t timeout_ns, const struct tmpl *t,
		   enum http_conn conn, bool keep_body, job_done_fn done, void *cookie,
		   int64_t *sent_ns);

int scorer_tcp_job_start(struct scorer *sc, struct scorer_place *pl, const char *host,
		  uint16_t port, int64_t timeout_ns, job_done_fn done, void *cookie,
		  int64_t *sent_ns);
int scorer_dns_job_start(struct scorer *sc, struct scorer_place *pl,
		  const struct scenario_probe *p, job_done_fn done, void *cookie, int64_t *sent_ns);
void scorer_resolver_free(struct resolver *r);
/* Resolves name asynchronously, in pl (NULL: here); cb gets getaddrinfo's rc
 * and list (freed after). NULL when it cannot be queued. */
typedef void (*resolve_fn)(struct scorer *sc, void *cookie, int rc, const struct addrinfo *ai);
struct rreq;
struct rreq *scorer_resolver_submit(struct scorer *sc, struct scorer_place *pl, const char *name,
				    resolve_fn cb, void *cookie);
void scorer_resolver_abandon(struct rreq *q);

int scorer_cmd_job_start(struct scorer *sc, const struct scorer_place *pl,
		  const struct scenario_command *c, int64_t timeout_ns, const struct tmpl *t,
		  bool keep_out, job_done_fn done, void *cookie, int64_t *sent_ns);

int scorer_log_open(struct scorer *sc, struct probe_rt *pr, struct fd_error *err);
void scorer_log_start(struct scorer *sc, struct probe_rt *pr);
void scorer_log_close(struct scorer *sc, struct probe_rt *pr);

int scorer_pcap_open(struct scorer *sc, struct probe_rt *pr, struct fd_error *err);
void scorer_pcap_start(struct scorer *sc, struct probe_rt *pr);
void scorer_pcap_close(struct scorer *sc, struct probe_rt *pr);

#endif

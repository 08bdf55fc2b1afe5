/*
 * RPO arithmetic, canary templates and timestamp parsing: pure functions,
 * no I/O, so the unit tests can check them with synthetic writes.
 *
 * RPO from canary writes is the span of acknowledged data lost: the ack time
 * of the newest acknowledged write that is missing on read-back minus the
 * ack time of the newest acknowledged write before it that survived. With
 * no surviving write before it, the span starts at the canary's first send
 * (everything written since then is gone).
 */
#include "scorer_int.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fd_time.h"

void scorer_rpo_compute(const struct canary_write *w, size_t n, int64_t t0_mono_ns,
		 struct rpo_result *r)
{
	const struct canary_write *newest_lost = NULL, *survivor = NULL;
	int64_t first_send = INT64_MAX, unknown = 0;
	char mism[64] = "";
	size_t i;

	memset(r, 0, sizeof(*r));
	r->writes_sent = (int64_t)n;
	for (i = 0; i < n; i++) {
		if (w[i].sent_ns < first_send)
			first_send = w[i].sent_ns;
		if (!w[i].acked)
			continue;
		r->writes_acked++;
		if (w[i].ack_ns > t0_mono_ns)
			r->writes_acked_outage++;
		if (!w[i].read_done) {
			unknown++;
			continue;
		}
		if (!w[i].survived) {
			r->lost_writes++;
			r->reads_mismatched += w[i].mismatched;
			if (!newest_lost || w[i].ack_ns > newest_lost->ack_ns)
				newest_lost = &w[i];
		}
	}
	if (r->writes_acked == 0) {
		snprintf(r->detail, sizeof(r->detail),
			 "no canary write was acknowledged (%" PRId64 " sent): RPO unknown",
			 r->writes_sent);
		return;
	}
	if (unknown > 0) {
		snprintf(r->detail, sizeof(r->detail),
			 "%" PRId64 " acknowledged writes could not be read back: RPO unknown",
			 unknown);
		return;
	}
	r->has_rpo = true;
	if (!newest_lost) {
		snprintf(r->detail, sizeof(r->detail),
			 "all %" PRId64 " acknowledged writes read back", r->writes_acked);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!w[i].acked || !w[i].survived || w[i].ack_ns >= newest_lost->ack_ns)
			continue;
		if (!survivor || w[i].ack_ns > survivor->ack_ns)
			survivor = &w[i];
	}
	if (r->reads_mismatched > 0)
		snprintf(mism, sizeof(mism), " (%" PRId64 " read back with another value)",
			 r->reads_mismatched);
	r->rpo_ns = newest_lost->ack_ns - (survivor ? survivor->ack_ns : first_send);
	if (survivor)
		snprintf(r->detail, sizeof(r->detail),
			 "%" PRId64 " acknowledged writes lost%s; newest lost seq %" PRId64
			 ", newest survivor before it seq %" PRId64,
			 r->lost_writes, mism, newest_lost->seq, survivor->seq);
	else
		snprintf(r->detail, sizeof(r->detail),
			 "%" PRId64 " acknowledged writes lost%s; newest lost seq %" PRId64
			 ", none survived before it",
			 r->lost_writes, mism, newest_lost->seq);
}

/* The node at a dotted path ("data.items.0.ts", optional "$." prefix), or NULL. */
static json_t *json_at(json_t *node, const char *path)
{
	char part[256], *end;
	size_t len;

	if (strncmp(path, "$.", 2) == 0)
		path += 2;
	while (node && *path) {
		len = strcspn(path, ".");
		if (len == 0 || len >= sizeof(part))
			return NULL;
		memcpy(part, path, len);
		part[len] = '\0';
		path += len + (path[len] == '.');
		if (json_is_object(node)) {
			node = json_object_get(node, part);
		} else if (json_is_array(node) && isdigit((unsigned char)part[0])) {
			unsigned long k = strtoul(part, &end, 10);

			node = *end ? NULL : json_array_get(node, k);
		} else {
			node = NULL;
		}
	}
	return node;
}

/* A scalar as the text a template would have written; false for null, objects, arrays. */
static bool json_text(const json_t *v, char *buf, size_t len)
{
	double d = json_is_real(v) ? json_real_value(v) : 0;

	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v) && d > -9e15 && d < 9e15 && d == (double)(int64_t)d)
		snprintf(buf, len, "%" PRId64, (int64_t)d); /* 1764127530123.0 */
	else if (json_is_real(v))
		snprintf(buf, len, "%.17g", d);
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else
		return false;
	return true;
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

bool scorer_canary_value_ok(const char *out, size_t len, const char *json_path,
		     const struct regex_entry *re, const char *want, char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *root, *v;
	char text[256];
	bool ok;

	if (!out)
		out = "";
	if (json_path) {
		root = json_loadb(out, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			snprintf(why, why_len, "answer is not JSON: %s", jerr.text);
			return false;
		}
		v = json_at(root, json_path);
		ok = v && json_text(v, text, sizeof(text));
		json_decref(root);
		if (!ok) {
			snprintf(why, why_len, "no value at %s", json_path);
			return false;
		}
		out = text;
		len = strlen(text);
	} else if (re && !scorer_regex_match(re, out, len, &out, &len)) {
		snprintf(why, why_len, "value-match did not match");
		return false;
	}
	trim(&out, &len);
	if (len == strlen(want) && memcmp(out, want, len) == 0)
		return true;
	snprintf(why, why_len, "read back '%.*s', wrote '%.80s'", (int)(len < 80 ? len : 80), out,
		 want);
	return false;
}

#define TMPL_VALUE_MAX 40 /* the longest value: "2026-11-26T03:15:30.123456Z" */

struct tmpl_value {
	const char *name; /* "{{seq}}" */
	char text[TMPL_VALUE_MAX];
};

/*
 * T0 floored to the microsecond, so that "before {{t0}}" never takes in a
 * record written after T0. Returns the number of values filled.
 */
static size_t tmpl_t0_values(int64_t t0_ns, struct tmpl_value *v)
{
	int64_t us = (t0_ns >= 0 ? t0_ns : t0_ns - 999) / 1000;
	time_t secs = (time_t)(us / 1000000);
	int64_t frac = us % 1000000;
	struct tm tm;
	char date[32];

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	v[0].name = "{{t0}}";
	snprintf(v[0].text, sizeof(v[0].text), "%s.%06" PRId64 "Z", date, frac);
	v[1].name = "{{t0_unix}}";
	snprintf(v[1].text, sizeof(v[1].text), "%lld.%06" PRId64, (long long)secs, frac);
	v[2].name = "{{t0_ms}}";
	snprintf(v[2].text, sizeof(v[2].text), "%" PRId64,
		 (int64_t)secs * 1000 + frac / 1000);
	return 3;
}

char *scorer_tmpl_apply(const char *in, const struct tmpl *t)
{
	struct tmpl_value v[3];
	size_t n, cap, len = 0, k;
	const char *p;
	char *out;

	if (t->has_t0) {
		n = tmpl_t0_values(t->t0_real_ns, v);
	} else {
		v[0].name = "{{seq}}";
		snprintf(v[0].text, sizeof(v[0].text), "%" PRId64, t->seq);
		v[1].name = "{{ts}}";
		snprintf(v[1].text, sizeof(v[1].text), "%" PRId64, t->ts_ms);
		n = 2;
	}
	/* Each placeholder starts with "{{" and expands to less than TMPL_VALUE_MAX bytes. */
	cap = strlen(in) + 1;
	for (p = strstr(in, "{{"); p; p = strstr(p + 2, "{{"))
		cap += TMPL_VALUE_MAX;
	out = malloc(cap);
	if (!out)
		return NULL;
	while (*in) {
		for (k = 0; k < n && strncmp(in, v[k].name, strlen(v[k].name)) != 0; k++)
			;
		if (k < n) {
			len += (size_t)sprintf(out + len, "%s", v[k].text);
			in += strlen(v[k].name);
		} else {
			out[len++] = *in++;
		}
	}
	out[len] = '\0';
	return out;
}

char *scorer_tmpl_expand(const char *in, int64_t seq, int64_t ts_ms)
{
	const struct tmpl t = { .seq = seq, .ts_ms = ts_ms };

	return scorer_tmpl_apply(in, &t);
}

void scorer_rpo_from_query(const char *raw, int64_t t0_real_ns, struct rpo_result *r)
{
	char d[32], value[128];
	const char *v = raw;
	size_t len = strlen(raw);
	int64_t ts;

	/* The detail quotes the value as parsed: without the output's newline. */
	trim(&v, &len);
	snprintf(value, sizeof(value), "%.*s", (int)len, v);
	r->has_rpo = false;
	if (scorer_rpo_parse_timestamp(value, &ts) < 0) {
		snprintf(r->detail, sizeof(r->detail),
			 "rpo query: '%.100s' is neither epoch seconds nor ISO 8601: RPO unknown",
			 value);
		return;
	}
	/*
	 * Writers that resumed after the failover wrote records newer than T0:
	 * the newest one says nothing about what was lost before it.
	 */
	if (ts > t0_real_ns) {
		snprintf(r->detail, sizeof(r->detail),
			 "newest record at %.60s is %s after T0 (written after the failover), "
			 "so the loss cannot be known from it: RPO unknown; select the newest "
			 "record before {{t0}}",
			 value, fd_duration_format(ts - t0_real_ns, d, sizeof(d)));
		return;
	}
	r->has_rpo = true;
	r->rpo_ns = t0_real_ns - ts;
	snprintf(r->detail, sizeof(r->detail), "newest record at %.100s", value);
}

/* Integer seconds and decimal fraction read apart: a double would be off by ~100 ns. */
static int parse_epoch(const char *s, int64_t *real_ns)
{
	int64_t secs = 0, frac = 0, scale = FD_NS_PER_S / 10;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		secs = secs * 10 + (*p - '0');
		if (secs > 100000000000LL) /* 1e11 s: year 5138, beyond any clock */
			return -EINVAL;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p != '\0')
		return -EINVAL;
	*real_ns = secs * FD_NS_PER_S + frac;
	return 0;
}

static int parse_zone(const char *p, int64_t *offset_s)
{
	int hh = 0, mm = 0, sign;

	*offset_s = 0;
	if (*p == '\0' || strcmp(p, "Z") == 0 || strcmp(p, "z") == 0)
		return 0;
	if (*p != '+' && *p != '-')
		return -EINVAL;
	sign = *p == '-' ? -1 : 1;
	p++;
	if (sscanf(p, "%2d:%2d", &hh, &mm) == 2 && strlen(p) == 5)
		;
	else if (strlen(p) == 4 && sscanf(p, "%2d%2d", &hh, &mm) == 2)
		;
	else if (strlen(p) == 2 && sscanf(p, "%2d", &hh) == 1)
		mm = 0;
	else
		return -EINVAL;
	if (hh > 23 || mm > 59)
		return -EINVAL;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return 0;
}

static int parse_iso(const char *s, int64_t *real_ns)
{
	struct tm tm;
	const char *p;
	int64_t frac = 0, scale = FD_NS_PER_S / 10, off;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (!p)
		return -EINVAL;
	if (*p == '.' || *p == ',') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (parse_zone(p, &off) < 0)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*real_ns = ((int64_t)t - off) * FD_NS_PER_S + frac;
	return 0;
}

int scorer_rpo_parse_timestamp(const char *in, int64_t *real_ns)
{
	char buf[128];
	size_t len;

	while (isspace((unsigned char)*in))
		in++;
	len = strlen(in);
	while (len > 0 && isspace((unsigned char)in[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, in, len);
	buf[len] = '\0';
	if (parse_epoch(buf, real_ns) == 0)
		return 0;
	return parse_iso(buf, real_ns);
}

/* ---- canary writes, read-back and the RPO query on the loop -------------- */

/* An action built without the loader (tests) has timeout 0: the loader's default. */
#define ACTION_TIMEOUT_NS (5 * FD_NS_PER_S)
/* How long the loop waits for jobs beyond their own timeout. */
#define SETTLE_SLACK_NS FD_NS_PER_S
#define READBACK_PARALLEL 8
/* A read or query that got no answer is tried this often, RETRY_PAUSE_NS apart. */
#define READBACK_TRIES 3
#define RETRY_PAUSE_NS (500 * FD_NS_PER_MS)

static void canary_done(struct scorer *sc, void *cookie, const struct job_result *r)
{
	size_t slot = (uintptr_t)cookie;
	struct canary_write *w;

	/* The write's slot: counted in n_cw once its start returns (it may complete inside). */
	assert(slot <= sc->n_cw && slot < sc->cap_cw);
	w = &sc->cw[slot];
	sc->inflight--;
	sc->canary_inflight--;
	w->done = true;
	w->acked = r->ok;
	w->ack_ns = r->done_ns;
}

static int64_t action_timeout(const struct scenario_action *a)
{
	return a->timeout_ns > 0 ? a->timeout_ns : ACTION_TIMEOUT_NS;
}

/* Where action a runs (scorer_new_in): its place, or NULL for here. */
static const struct scorer_place *action_place(const struct scorer *sc,
					       const struct scenario_action *a)
{
	const struct scenario_rpo *rpo = &sc->s->rpo;

	if (a == &rpo->canary.write)
		return sc->write_place;
	if (a == &rpo->canary.read)
		return sc->read_place;
	return a == &rpo->query.action ? sc->query_place : NULL;
}

static void action_start(struct scorer *sc, const struct scenario_action *a,
			 const struct tmpl *t, enum http_conn conn, bool keep, job_done_fn done,
			 void *cookie, int64_t *sent, int *rc)
{
	const struct scorer_place *pl = action_place(sc, a);

	if (a->kind == ACTION_HTTP)
		*rc = scorer_http_job_start(sc, pl, &a->http, action_timeout(a), t, conn, keep, done,
				     cookie, sent);
	else
		*rc = scorer_cmd_job_start(sc, pl, &a->command, action_timeout(a), t, keep, done,
				    cookie, sent);
}

static void canary_send(struct scorer *sc)
{
	struct canary_write *w;
	struct tmpl t = { 0 };
	int rc;

	if (sc->n_cw == sc->cap_cw) {
		size_t cap = sc->cap_cw ? sc->cap_cw * 2 : 1024;
		struct canary_write *n = realloc(sc->cw, cap * sizeof(*n));

		if (!n)
			return;
		sc->cw = n;
		sc->cap_cw = cap;
	}
	assert(sc->n_cw < sc->cap_cw);
	w = &sc->cw[sc->n_cw];
	memset(w, 0, sizeof(*w));
	w->seq = (int64_t)sc->n_cw + 1;
	w->ts_ms = fd_real_ns() / FD_NS_PER_MS;
	t.seq = w->seq;
	t.ts_ms = w->ts_ms;
	action_start(sc, &sc->s->rpo.canary.write, &t, HTTP_CONN_FRESH, false, canary_done,
		     (void *)(uintptr_t)sc->n_cw, &w->sent_ns, &rc);
	sc->n_cw++;
	if (rc < 0) {
		w->done = true;
		return;
	}
	sc->inflight++;
	sc->canary_inflight++;
}

/* Canary writes due by *now (advanced past each send); INT64_MAX when off. */
int64_t scorer_canary_run(struct scorer *sc, int64_t *now)
{
	if (!sc->canary_on)
		return INT64_MAX;
	while (sc->canary_sched.next_ns <= *now) {
		scorer_sched_fire(&sc->canary_sched, *now);
		canary_send(sc);
		*now = fd_mono_ns();
	}
	return sc->canary_sched.next_ns;
}

int scorer_canary_start(struct scorer *sc, struct fd_error *err)
{
	if (!sc->s->rpo.has_canary)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "scenario has no rpo.canary");
	scorer_sched_init(&sc->canary_sched, fd_mono_ns(), sc->s->rpo.canary.interval_ns > 0 ?
		   sc->s->rpo.canary.interval_ns : 200 * FD_NS_PER_MS);
	sc->canary_on = true;
	return 0;
}

void scorer_canary_stop(struct scorer *sc)
{
	if (sc)
		sc->canary_on = false;
}

void scorer_canary_counts(const struct scorer *sc, int64_t *written, int64_t *acked,
			  int64_t *in_flight)
{
	*written = *acked = *in_flight = 0;
	if (!sc)
		return;
	*written = (int64_t)sc->n_cw;
	*in_flight = sc->canary_inflight;
	for (size_t i = 0; i < sc->n_cw; i++)
		*acked += sc->cw[i].acked;
}

static bool writes_settled(struct scorer *sc)
{
	return sc->canary_inflight == 0;
}

static bool reads_settled(struct scorer *sc)
{
	return sc->reads_inflight == 0;
}

static bool readback_checks(const struct scenario *s)
{
	return s->rpo.canary.expect_value != NULL;
}

static void read_done(struct scorer *sc, void *cookie, const struct job_result *r)
{
	const struct scenario_rpo *rpo = &sc->s->rpo;
	size_t slot = (uintptr_t)cookie;
	struct canary_write *w;
	char *want, why[160];

	assert(slot < sc->n_cw); /* reads go only to writes already made */
	w = &sc->cw[slot];
	sc->inflight--;
	sc->reads_inflight--;
	w->read_tries++;
	/* No answer (transport failure, no-answer exit) says nothing about the record: try again. */
	if (!r->answered) {
		snprintf(sc->read_why, sizeof(sc->read_why), "%.150s", r->detail);
		return;
	}
	w->read_done = true;
	w->survived = r->ok;
	if (!r->ok || !readback_checks(sc->s))
		return;
	/* Someone else's value under our key is not our write: lost. */
	want = scorer_tmpl_expand(rpo->canary.expect_value, w->seq, w->ts_ms);
	if (!want) {
		w->read_done = false; /* cannot judge: leave it unknown, never guessed */
		return;
	}
	if (!scorer_canary_value_ok(r->out, r->out_len, rpo->canary.value_json,
			     scorer_regex(sc, rpo->canary.value_match), want, why, sizeof(why))) {
		w->survived = false;
		w->mismatched = true;
	}
	free(want);
}

/* Acknowledged writes whose read-back got no answer yet. */
static bool reads_left(const struct scorer *sc)
{
	for (size_t i = 0; i < sc->n_cw; i++)
		if (sc->cw[i].acked && !sc->cw[i].read_done)
			return true;
	return false;
}

/* Starts reads for acknowledged writes not yet answered, READBACK_PARALLEL at a time. */
static void readback_fill(struct scorer *sc, size_t *cursor, int pass)
{
	struct tmpl t = { 0 };
	int64_t sent;
	int rc;

	while (sc->reads_inflight < READBACK_PARALLEL && *cursor < sc->n_cw) {
		struct canary_write *w = &sc->cw[*cursor];

		(*cursor)++;
		if (!w->acked || w->read_done || w->read_tries > pass)
			continue;
		t.seq = w->seq;
		t.ts_ms = w->ts_ms;
		action_start(sc, &sc->s->rpo.canary.read, &t, HTTP_CONN_REUSE, readback_checks(sc->s),
			     read_done, (void *)(uintptr_t)(*cursor - 1), &sent, &rc);
		if (rc < 0) {
			w->read_tries++;
			continue;
		}
		sc->inflight++;
		sc->reads_inflight++;
	}
}

int scorer_canary_readback(struct scorer *sc, int64_t t0_mono_ns, struct rpo_result *r,
			   struct fd_error *err)
{
	int64_t bound;
	size_t cursor;
	int pass, rc;

	memset(r, 0, sizeof(*r));
	sc->read_why[0] = '\0';
	if (!sc->s->rpo.has_canary)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "scenario has no rpo.canary");
	sc->canary_on = false;
	/* Writes still in flight finish (ack or timeout) before anything is read. */
	rc = scorer_loop_run_until(sc, writes_settled, fd_mono_ns() +
			    action_timeout(&sc->s->rpo.canary.write) + SETTLE_SLACK_NS, err);
	if (rc < 0 && rc != -ETIMEDOUT)
		return rc;
	for (pass = 0; pass < READBACK_TRIES; pass++) {
		if (pass > 0 && !reads_left(sc))
			break;
		rc = pass > 0 ? scorer_loop_run_until(sc, NULL, fd_mono_ns() + RETRY_PAUSE_NS, err) : 0;
		if (rc < 0)
			return rc;
		cursor = 0;
		while (cursor < sc->n_cw || sc->reads_inflight > 0) {
			readback_fill(sc, &cursor, pass);
			bound = fd_mono_ns() + action_timeout(&sc->s->rpo.canary.read) +
				SETTLE_SLACK_NS;
			rc = scorer_loop_run_until(sc, reads_settled, bound, err);
			if (rc == -ETIMEDOUT)
				return fd_error_set(err, FD_ERR_INTERNAL, rc,
						    "canary read-back: reads did not finish");
			if (rc < 0)
				return rc;
		}
	}
	scorer_rpo_compute(sc->cw, sc->n_cw, t0_mono_ns, r);
	if (!r->has_rpo && reads_left(sc) && sc->read_why[0])
		snprintf(r->detail + strlen(r->detail), sizeof(r->detail) - strlen(r->detail),
			 " (%d tries; last: %.120s)", READBACK_TRIES, sc->read_why);
	return 0;
}

static bool query_settled(struct scorer *sc)
{
	return sc->query_done;
}

static void query_done(struct scorer *sc, void *cookie, const struct job_result *jr)
{
	struct rpo_result *r = sc->query_out;
	const struct regex_entry *re = scorer_regex(sc, sc->s->rpo.query.value_match);
	const char *v = jr->out ? jr->out : "";
	size_t vlen = jr->out ? jr->out_len : 0;
	char buf[128];

	(void)cookie;
	sc->inflight--;
	sc->query_done = true;
	if (!r)
		return;
	sc->query_answered = jr->answered;
	if (!jr->answered) {
		snprintf(r->detail, sizeof(r->detail),
			 "rpo query: no answer after %d tries (last: %.160s): RPO unknown",
			 READBACK_TRIES, jr->detail);
		return;
	}
	if (!jr->ok) {
		snprintf(r->detail, sizeof(r->detail), "rpo query failed: %.200s", jr->detail);
		return;
	}
	if (re && !scorer_regex_match(re, v, vlen, &v, &vlen)) {
		snprintf(r->detail, sizeof(r->detail), "rpo query: value-match did not match");
		return;
	}
	if (vlen >= sizeof(buf))
		vlen = sizeof(buf) - 1;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	scorer_rpo_from_query(buf, sc->query_t0_real_ns, r);
}

/* One query; 0 once it completed (answered or not), <0 when it could not run. */
static int query_once(struct scorer *sc, struct fd_error *err)
{
	const struct tmpl t = { .has_t0 = true, .t0_real_ns = sc->query_t0_real_ns };
	int64_t sent;
	int rc;

	sc->query_done = false;
	sc->query_answered = false;
	action_start(sc, &sc->s->rpo.query.action, &t, HTTP_CONN_REUSE, true, query_done, NULL,
		     &sent, &rc);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "rpo query: %s", strerror(-rc));
	sc->inflight++;
	rc = scorer_loop_run_until(sc, query_settled, fd_mono_ns() +
			    action_timeout(&sc->s->rpo.query.action) + SETTLE_SLACK_NS, err);
	if (rc == -ETIMEDOUT)
		return fd_error_set(err, FD_ERR_INTERNAL, rc, "rpo query did not finish");
	return rc < 0 ? rc : 0;
}

int scorer_rpo_query(struct scorer *sc, int64_t t0_real_ns, struct rpo_result *r,
		     struct fd_error *err)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (!sc->s->rpo.has_query)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "scenario has no rpo.query");
	sc->query_out = r;
	sc->query_t0_real_ns = t0_real_ns;
	/* No answer (could not connect, no-answer exit) is tried again, never judged. */
	for (int tries = 0; tries < READBACK_TRIES; tries++) {
		rc = tries > 0 ? scorer_loop_run_until(sc, NULL, fd_mono_ns() + RETRY_PAUSE_NS, err) : 0;
		if (rc == 0)
			rc = query_once(sc, err);
		if (rc < 0 || sc->query_answered)
			break;
	}
	sc->query_out = NULL;
	return rc;
}


/*
 * controls.c: the control mapping of evidence reports (docs/controls.md).
 *
 * A mapping file (reports/controls.json, built into the binary; or any file
 * given with --controls-file) is data: a list of controls, each naming the
 * checks of a drill's evidence that it asks for. The checks are code, one
 * small function each in the table below. A check reads only the evidence
 * model (report_evidence_load has already derived participants, findings,
 * actions, sign-offs, deviations, data integrity and the previous drill) and
 * writes, in words, what the drill shows for it and what is missing. So a
 * compliance team adds a control by editing a file, and never has to judge
 * a drill differently in two places.
 *
 * The mapping file is read whole and checked strictly before anything is
 * judged: an unknown key, an unknown check or a duplicate id is an
 * FD_ERR_INPUT error naming the file and the control, so a typo can never
 * drop a requirement silently.
 */
#include "report_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "controls_builtin.h"

#define BUILTIN_NAME "built-in controls.json"
#define NS_PER_DAY (INT64_C(86400) * 1000000000)

/* ---- what a check writes ---------------------------------------------------- */

/* One control being judged: shows and missing grow as "; "-joined items. */
struct ctl_out {
	struct report_control *c;
	bool shows_cut, missing_cut;
};

/*
 * Appends one item to buf (cap bytes). When the next item would not fit,
 * "; ..." ends the list and later items are dropped: a cut list says so
 * rather than ending mid-word.
 */
__attribute__((format(printf, 4, 0))) static void append_item(char *buf, size_t cap, bool *cut,
								 const char *fmt, va_list ap)
{
	static const char more[] = "; ...";
	char item[1024];
	size_t len = strlen(buf);

	if (*cut)
		return;
	vsnprintf(item, sizeof(item), fmt, ap);
	if (len + 2 + strlen(item) + sizeof(more) > cap) {
		if (len + sizeof(more) <= cap)
			memcpy(buf + len, more, sizeof(more));
		*cut = true;
		return;
	}
	if (len) {
		buf[len++] = ';'; /* joined by "; "; the item's copy below ends the string */
		buf[len++] = ' ';
	}
	memcpy(buf + len, item, strlen(item) + 1);
}

__attribute__((format(printf, 2, 3))) static void shows(struct ctl_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append_item(o->c->shows, sizeof(o->c->shows), &o->shows_cut, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void missing(struct ctl_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append_item(o->c->missing, sizeof(o->c->missing), &o->missing_cut, fmt, ap);
	va_end(ap);
}

/* "2026-03-15" (UTC) of a wall time. */
static char *date_of(int64_t real_ns, char buf[static 16])
{
	time_t t = (time_t)(real_ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		snprintf(buf, 16, "?");
	else
		strftime(buf, 16, "%Y-%m-%d", &tm);
	return buf;
}

/*
 * Whole calendar months from wall time a to b (b >= a), by their UTC dates:
 * the difference in months, less one when b's day of the month is before
 * a's. 2025-01-10 -> 2026-03-15 is 14 months; 2025-01-31 -> 2025-02-28 is 0;
 * 2025-01-31 -> 2025-03-01 is 1. The time of day does not count.
 */
static int months_between(int64_t a_ns, int64_t b_ns)
{
	time_t a = (time_t)(a_ns / 1000000000), b = (time_t)(b_ns / 1000000000);
	struct tm ta, tb;
	int m;

	if (!gmtime_r(&a, &ta) || !gmtime_r(&b, &tb))
		return 0;
	m = (tb.tm_year - ta.tm_year) * 12 + (tb.tm_mon - ta.tm_mon);
	if (tb.tm_mday < ta.tm_mday)
		m--;
	return m < 0 ? 0 : m;
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

static bool tested_recovery(const struct store_iteration *it)
{
	double ms;

	return rp_iteration_rto(it, &ms);
}

static bool is_serious(const struct store_record *f)
{
	return strcmp(f->severity, "critical") == 0 || strcmp(f->severity, "high") == 0;
}

/* ---- the checks ----------------------------------------------------------------- */

/* A requirement of a control: a check and its parameter. */
struct ctl_req;
typedef void ctl_check_fn(const struct report_evidence *ev, const struct ctl_req *r,
			  struct ctl_out *o);

struct ctl_check {
	const char *name;
	ctl_check_fn *run;
	bool takes_max_age; /* reads max_age_days (and requires it) */
};

struct ctl_req {
	const struct ctl_check *check;
	int64_t max_age_days;
};

/* What was tested and why: the scenario's description and scope-rationale. */
static void check_scope(const struct report_evidence *ev, const struct ctl_req *r, struct ctl_out *o)
{
	const struct store_drill *d = &ev->drill;

	shows(o, "scenario %.100s in environment %.100s", d->scenario_name, d->environment);
	/* the texts themselves are in the report's Scope section */
	if (d->description[0])
		shows(o, "scope stated (see Scope)");
	else
		missing(o, "no scope description recorded (the scenario's description:)");
	if (d->scope_rationale[0])
		shows(o, "why this scope stated (see Scope)");
	else
		missing(o, "no scope rationale recorded (the scenario's scope-rationale:)");
}

/* The objectives stored with the drill: RTO, RPO, the recovery criterion. */
static void check_objectives(const struct report_evidence *ev, const struct ctl_req *r,
			     struct ctl_out *o)
{
	const struct report_objectives *obj = &ev->objectives;
	char buf[64];

	if (obj->unknown) {
		missing(o, "objectives unknown: the drill was recorded before the store kept them");
		return;
	}
	if (obj->rto.has)
		shows(o, "RTO objective %s", rp_dur(obj->rto.ms, buf, sizeof(buf)));
	else
		missing(o, "no RTO objective set");
	if (obj->rpo.has)
		shows(o, "RPO objective %s", rp_dur(obj->rpo.ms, buf, sizeof(buf)));
	else
		missing(o, "no RPO objective set");
	if (obj->criterion[0])
		shows(o, "recovery criterion: %.200s", obj->criterion);
}

/* Each iteration measured against the objectives. */
static void check_measured(const struct report_evidence *ev, const struct ctl_req *r,
			   struct ctl_out *o)
{
	struct report_drill s;
	size_t tested = 0;
	char rto[64], rpo[64];

	if (ev->n_iterations == 0) {
		missing(o, "no iteration ran: nothing was measured");
		return;
	}
	if (ev->objectives.unknown || (!ev->objectives.rto.has && !ev->objectives.rpo.has))
		missing(o, "no objective to measure against");
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;

		if (tested_recovery(it))
			tested++;
		else
			missing(o, "iteration %d did not test recovery (%s%s%.200s)", it->number,
				store_outcome_name(it->outcome), it->detail[0] ? ": " : "", it->detail);
	}
	if (rp_evidence_summary(ev, &s) < 0) {
		missing(o, "out of memory summarising the iterations");
		return;
	}
	shows(o, "%zu of %zu iterations measured RTO against the objectives: %d met, %zu missed",
	      tested, ev->n_iterations, s.sum.n_met, ev->n_iterations - (size_t)s.sum.n_met);
	if (tested)
		shows(o, "median RTO %s, median RPO %s",
		      s.sum.rto_not_recovered ? "not recovered" :
		      rp_value(&s.sum.rto_median, "not measured", rto, sizeof(rto)),
		      rp_value(&s.sum.rpo_median, "not measured", rpo, sizeof(rpo)));
	free(s.iterations);
}

/* Recovered within the objectives, iteration by iteration. */
static void check_recovery(const struct report_evidence *ev, const struct ctl_req *r,
			   struct ctl_out *o)
{
	const struct report_objectives *obj = &ev->objectives;
	size_t tested = 0, within = 0;
	char a[64], b[64];

	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;

		if (!tested_recovery(it))
			continue;
		tested++;
		if (!it->has_rto)
			missing(o, "iteration %d did not recover", it->number);
		else if (!obj->unknown && obj->rto.has && it->rto_ms > obj->rto.ms)
			missing(o, "iteration %d recovered in %s, over the RTO objective %s", it->number,
				rp_dur(it->rto_ms, a, sizeof(a)), rp_dur(obj->rto.ms, b, sizeof(b)));
		else if (!obj->unknown && obj->rpo.has && it->has_rpo && it->rpo_ms > obj->rpo.ms)
			missing(o, "iteration %d lost %s of data, over the RPO objective %s", it->number,
				rp_dur(it->rpo_ms, a, sizeof(a)), rp_dur(obj->rpo.ms, b, sizeof(b)));
		else if (!it->objectives_met)
			missing(o, "iteration %d missed its objectives", it->number);
		else
			within++;
	}
	if (tested == 0)
		missing(o, "recovery was never tested: no iteration broke the system and watched it recover");
	else
		shows(o, "recovered within the objectives in %zu of %zu iterations", within, tested);
	if (ev->drill.outcome == STORE_OUTCOME_ABORTED || ev->drill.outcome == STORE_OUTCOME_RUNNING ||
	    ev->drill.outcome == STORE_OUTCOME_ERROR)
		missing(o, "the drill did not finish (%s)", store_outcome_name(ev->drill.outcome));
}

/*
 * A switch to the standby and back: recovery (the service came back on
 * what was left after the primary was broken) and the failback measured.
 * firedrill cannot tell a switchover from other recoveries; the scenario
 * says which it is.
 */
static void check_switchover(const struct report_evidence *ev, const struct ctl_req *r,
			     struct ctl_out *o)
{
	size_t back = 0;
	double longest = 0;
	char buf[64];

	check_recovery(ev, r, o);
	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;

		if (it->has_failback) {
			back++;
			if (it->failback_ms > longest)
				longest = it->failback_ms;
		}
	}
	if (back)
		shows(o, "switched back to the primary (failback) in %zu of %zu iterations, longest %s",
		      back, ev->n_iterations, rp_dur(longest, buf, sizeof(buf)));
	else
		missing(o, "no switch back to the primary (failback) measured");
}

/* Who took part; the scenario's team: roles nobody filled. */
static void check_participants(const struct report_evidence *ev, const struct ctl_req *r,
			       struct ctl_out *o)
{
	char list[700] = "";
	size_t len = 0, filled = 0;

	if (ev->n_participants == 0) {
		missing(o, "no participants recorded");
		return;
	}
	for (size_t i = 0; i < ev->n_participants; i++) {
		const struct report_participant *p = &ev->participants[i];
		int w;

		if (!p->name[0]) {
			missing(o, "expected role %.60s not filled", p->role);
			continue;
		}
		filled++;
		w = snprintf(list + len, sizeof(list) - len, "%s%.60s %.60s", len ? ", " : "", p->role,
			     p->name);
		if (w < 0 || (size_t)w >= sizeof(list) - len) {
			list[len] = '\0';
			break;
		}
		len += (size_t)w;
	}
	if (filled)
		shows(o, "participants: %s", list);
	else
		missing(o, "no participant named for any role");
}

/* A timestamped timeline, and the departures from the plan found in it. */
static void check_timeline(const struct report_evidence *ev, const struct ctl_req *r,
			   struct ctl_out *o)
{
	char a[40], b[40];

	if (ev->n_events == 0)
		missing(o, "no timeline recorded");
	else
		shows(o, "timeline of %zu timestamped event%s, %s to %s", ev->n_events,
		      plural(ev->n_events), rp_time(ev->events[0].real_ns, a, sizeof(a)),
		      rp_time(ev->events[ev->n_events - 1].real_ns, b, sizeof(b)));
	if (ev->drill.ended_real_ns == 0)
		missing(o, "the drill has no end time (still running, or never finished)");
	if (ev->n_deviations == 0) {
		shows(o, "no deviation from the plan");
		return;
	}
	shows(o, "%zu deviation%s from the plan, each dated", ev->n_deviations,
	      plural(ev->n_deviations));
	for (size_t i = 0; i < ev->n_deviations && i < 5; i++) {
		const struct report_deviation *d = &ev->deviations[i];

		if (d->iteration)
			shows(o, "%s (iteration %d) at %s", d->kind, d->iteration,
			      rp_time(d->real_ns, a, sizeof(a)));
		else
			shows(o, "%s at %s", d->kind, rp_time(d->real_ns, a, sizeof(a)));
	}
}

/* Canary writes and their read-back, per iteration. */
static void check_data_integrity(const struct report_evidence *ev, const struct ctl_req *r,
				 struct ctl_out *o)
{
	size_t measured = 0;
	int64_t acked = 0, lost = 0;

	for (size_t i = 0; i < ev->n_iterations; i++) {
		const struct report_integrity *g = &ev->integrity[i];

		if (!g->measured)
			continue;
		measured++;
		acked += g->writes_acked;
		lost += g->lost_writes;
		if (g->lost_writes > 0)
			missing(o, "iteration %d lost %lld acknowledged writes", g->iteration,
				(long long)g->lost_writes);
	}
	for (size_t i = 0; i < ev->n_deviations; i++)
		if (strcmp(ev->deviations[i].kind, "read-back failed") == 0)
			missing(o, "iteration %d: read-back failed: %.200s", ev->deviations[i].iteration,
				ev->deviations[i].what);
	if (measured == 0) {
		missing(o, "no data-integrity check: the scenario measures no RPO (no canary or query)");
		return;
	}
	shows(o, "data checked in %zu of %zu iterations: %lld acknowledged writes, %lld lost",
	      measured, ev->n_iterations, (long long)acked, (long long)lost);
	if (measured < ev->n_iterations)
		missing(o, "data not checked in %zu iteration%s", ev->n_iterations - measured,
			plural(ev->n_iterations - measured));
}

/* Findings ranked by severity, with their root causes. */
static void check_findings(const struct report_evidence *ev, const struct ctl_req *r,
			   struct ctl_out *o)
{
	static const char *const sev[] = { "critical", "high", "medium", "low" };
	size_t count[4] = { 0 };
	char list[160] = "";
	size_t len = 0;

	if (ev->n_findings == 0) {
		if (!ev->drill.objectives_met || ev->n_deviations > 0)
			missing(o, "no finding recorded, though the drill %s",
				!ev->drill.objectives_met ? "did not meet its objectives"
							  : "departed from its plan");
		else
			shows(o, "no finding recorded: objectives met without deviation");
		return;
	}
	for (size_t i = 0; i < ev->n_findings; i++) {
		const struct store_record *f = &ev->findings[i];

		for (size_t k = 0; k < 4; k++)
			count[k] += strcmp(f->severity, sev[k]) == 0;
		if (is_serious(f) && !f->root_cause[0])
			missing(o, "finding %lld (%s) has no root cause", (long long)f->id, f->severity);
	}
	for (size_t k = 0; k < 4; k++)
		if (count[k])
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%zu %s",
						len ? ", " : "", count[k], sev[k]);
	shows(o, "%zu finding%s ranked by severity: %s", ev->n_findings, plural(ev->n_findings),
	      list);
}

static bool links_any_finding(const struct report_evidence *ev, const struct report_action *a)
{
	for (size_t i = 0; i < ev->n_findings; i++)
		if (a->action.finding_id == ev->findings[i].id)
			return true;
	return false;
}

/* Every critical or high finding has an action with an owner and a due date. */
static void check_actions(const struct report_evidence *ev, const struct ctl_req *r,
			  struct ctl_out *o)
{
	size_t closed = 0, serious = 0, uncovered = 0, unlinked = 0;

	for (size_t i = 0; i < ev->n_findings; i++) {
		const struct store_record *f = &ev->findings[i];
		bool covered = false;

		if (!is_serious(f))
			continue;
		serious++;
		for (size_t k = 0; k < ev->n_actions && !covered; k++)
			covered = ev->actions[k].action.finding_id == f->id;
		if (!covered) {
			uncovered++;
			missing(o, "finding %lld (%s) has no remediation action", (long long)f->id,
				f->severity);
		}
	}
	for (size_t k = 0; k < ev->n_actions; k++) {
		const struct report_action *a = &ev->actions[k];

		closed += a->closed;
		unlinked += !links_any_finding(ev, a);
		if (!a->action.owner[0])
			missing(o, "action %lld has no owner", (long long)a->action.id);
		if (!a->action.due[0])
			missing(o, "action %lld has no due date", (long long)a->action.id);
		if (a->past_due)
			missing(o, "action %lld (%.60s) is %lld days past its due date %s",
				(long long)a->action.id, a->action.owner, (long long)a->days_overdue,
				a->action.due);
	}
	if (uncovered && unlinked)
		missing(o, "%zu action%s name%s no finding (firedrill action DRILL --finding ID ... "
			"links them)", unlinked, plural(unlinked), unlinked == 1 ? "s" : "");
	if (ev->n_actions)
		shows(o, "%zu action%s filed (%zu closed, %zu open)", ev->n_actions,
		      plural(ev->n_actions), closed, ev->n_actions - closed);
	if (serious && !uncovered)
		shows(o, "every critical or high finding has an action");
	else if (!serious && !ev->n_actions)
		shows(o, "no critical or high finding needed an action");
}

/* Lessons learned: the drill's notes. */
static void check_lessons(const struct report_evidence *ev, const struct ctl_req *r,
			  struct ctl_out *o)
{
	if (ev->n_notes == 0) {
		missing(o, "no lessons learned recorded");
		return;
	}
	shows(o, "%zu lesson%s learned recorded, the first: %.160s", ev->n_notes, plural(ev->n_notes),
	      ev->notes[0].text);
}

/* At least one sign-off that still verifies. */
static void check_signoff(const struct report_evidence *ev, const struct ctl_req *r,
			  struct ctl_out *o)
{
	size_t good = 0;
	char day[16];

	for (size_t i = 0; i < ev->n_signoffs; i++) {
		const struct report_signoff_check *s = &ev->signoffs[i];

		if (s->ok) {
			good++;
			shows(o, "signed off by %.100s%s%.60s%s on %s", s->rec.author,
			      s->rec.author_role[0] ? " (" : "", s->rec.author_role,
			      s->rec.author_role[0] ? ")" : "", date_of(s->rec.created_real_ns, day));
		} else {
			missing(o, "the sign-off by %.100s does not verify: %.300s", s->rec.author, s->what);
		}
	}
	if (good == 0)
		missing(o, "%s", ev->n_signoffs ? "no valid sign-off" : "no sign-off");
}

/* "annual", "quarterly", ... for a max_age_days. */
static const char *frequency_word(int64_t days, char *buf, size_t len)
{
	if (days >= 365 && days <= 366)
		return "annual";
	if (days >= 181 && days <= 184)
		return "half-yearly";
	if (days >= 90 && days <= 92)
		return "quarterly";
	if (days >= 28 && days <= 31)
		return "monthly";
	if (days == 7)
		return "weekly";
	snprintf(buf, len, "%lld-day", (long long)days);
	return buf;
}

/*
 * How long before this drill the previous exercise of the same scenario in
 * the same environment started, against max_age_days. "ago" counts from
 * this drill's start, not from the day the report is made.
 */
static void check_frequency(const struct report_evidence *ev, const struct ctl_req *r,
			    struct ctl_out *o)
{
	char word[32], age[32], day[16];
	const char *freq = frequency_word(r->max_age_days, word, sizeof(word));
	int64_t gap = ev->drill.started_real_ns - ev->previous_started_real_ns;
	int64_t days = gap / NS_PER_DAY;
	int months;

	if (ev->previous_drill_id == 0) {
		missing(o, "%s frequency: no previous exercise of this scenario in %.100s on record", freq,
			ev->drill.environment);
		return;
	}
	months = months_between(ev->previous_started_real_ns, ev->drill.started_real_ns);
	if (months == 0)
		snprintf(age, sizeof(age), "%lld day%s", (long long)days, days == 1 ? "" : "s");
	else
		snprintf(age, sizeof(age), "%d month%s", months, months == 1 ? "" : "s");
	if (days > r->max_age_days)
		missing(o, "%s frequency: the previous exercise of this scenario was %s ago "
			"(drill %lld on %s: %lld days, more than %lld)", freq, age,
			(long long)ev->previous_drill_id, date_of(ev->previous_started_real_ns, day),
			(long long)days, (long long)r->max_age_days);
	else
		shows(o, "%s frequency: the previous exercise of this scenario was %s before this one "
		      "(drill %lld on %s, within %lld days)", freq, age, (long long)ev->previous_drill_id,
		      date_of(ev->previous_started_real_ns, day), (long long)r->max_age_days);
}

/* Actions closed by a retest drill, and the earlier actions this drill retested. */
static void check_retest(const struct report_evidence *ev, const struct ctl_req *r,
			 struct ctl_out *o)
{
	for (size_t i = 0; i < ev->n_retested; i++)
		shows(o, "this drill retested action %lld of drill %lld",
		      (long long)ev->retested[i].action.id, (long long)ev->retested[i].action.drill_id);
	for (size_t k = 0; k < ev->n_actions; k++) {
		const struct report_action *a = &ev->actions[k];

		if (!a->closed)
			missing(o, "action %lld is open: not yet retested", (long long)a->action.id);
		else if (a->closing.retest_drill_id)
			shows(o, "action %lld closed, retested by drill %lld", (long long)a->action.id,
			      (long long)a->closing.retest_drill_id);
		else
			missing(o, "action %lld was closed without a retest drill", (long long)a->action.id);
	}
	if (ev->n_actions == 0)
		shows(o, "no action of this drill needs a retest");
}

static const struct ctl_check checks[] = {
	{ "scope", check_scope, false },
	{ "objectives", check_objectives, false },
	{ "measured", check_measured, false },
	{ "recovery", check_recovery, false },
	{ "switchover", check_switchover, false },
	{ "participants", check_participants, false },
	{ "timeline", check_timeline, false },
	{ "data-integrity", check_data_integrity, false },
	{ "findings", check_findings, false },
	{ "actions", check_actions, false },
	{ "lessons", check_lessons, false },
	{ "signoff", check_signoff, false },
	{ "frequency", check_frequency, true },
	{ "retest", check_retest, false },
};

#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

static const struct ctl_check *find_check(const char *name)
{
	for (size_t i = 0; i < N_CHECKS; i++)
		if (strcmp(checks[i].name, name) == 0)
			return &checks[i];
	return NULL;
}

/* ---- the mapping file ------------------------------------------------------------- */

struct ctl_def {
	const char *id, *name, *text; /* borrowed from the parsed JSON */
	struct ctl_req *reqs;
	size_t n_reqs;
};

struct ctl_map {
	const char *src; /* the file's name, for errors */
	json_t *root;
	struct ctl_def *defs;
	size_t n;
};

static void map_free(struct ctl_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->defs[i].reqs);
	free(m->defs);
	json_decref(m->root);
}

static int bad(const struct ctl_map *m, struct fd_error *err, const char *what)
{
	return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: %s", m->src, what);
}

/* Keys starting with "_" are comments; "description" is for people. */
static bool ignored_key(const char *key)
{
	return key[0] == '_' || strcmp(key, "description") == 0;
}

static int bad_check(const struct ctl_map *m, const char *id, const char *name,
		     struct fd_error *err)
{
	char known[400] = "";
	size_t len = 0;

	for (size_t i = 0; i < N_CHECKS && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "",
					checks[i].name);
	return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
			    "%s: control \"%.40s\": unknown check \"%.60s\" (known: %s)", m->src, id,
			    name, known);
}

static int parse_req(const struct ctl_map *m, const char *id, json_t *j, struct ctl_req *r,
		     struct fd_error *err)
{
	const char *name = json_string_value(j), *key;
	json_t *v;

	if (json_is_object(j)) {
		name = json_string_value(json_object_get(j, "check"));
		json_object_foreach(j, key, v) {
			if (strcmp(key, "check") == 0 || ignored_key(key))
				continue;
			if (strcmp(key, "max_age_days") != 0)
				return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
						    "%s: control \"%.40s\": unknown key \"%.60s\" in a "
						    "requirement (check, max_age_days)", m->src, id, key);
			if (!json_is_integer(v) || json_integer_value(v) <= 0)
				return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
						    "%s: control \"%.40s\": max_age_days must be a whole "
						    "number of days above 0", m->src, id);
			r->max_age_days = json_integer_value(v);
		}
	}
	if (!name)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "%s: control \"%.40s\": a requirement is a check name or "
				    "{\"check\": NAME, ...}", m->src, id);
	r->check = find_check(name);
	if (!r->check)
		return bad_check(m, id, name, err);
	if (r->check->takes_max_age && r->max_age_days == 0)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "%s: control \"%.40s\": check \"%s\" needs max_age_days "
				    "({\"check\": \"%s\", \"max_age_days\": 365})", m->src, id, name, name);
	if (!r->check->takes_max_age && r->max_age_days)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "%s: control \"%.40s\": check \"%s\" takes no max_age_days", m->src,
				    id, name);
	return 0;
}

/* A string member of a control: present, not empty, shorter than max. */
static int control_string(const struct ctl_map *m, const char *id, json_t *c, const char *key,
			  size_t max, const char **out, struct fd_error *err)
{
	const char *s = json_string_value(json_object_get(c, key));

	if (!s || !*s)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: control \"%.40s\": \"%s\" must be "
				    "a non-empty string", m->src, id, key);
	if (strlen(s) >= max)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: control \"%.40s\": \"%s\" is %zu "
				    "bytes, at most %zu", m->src, id, key, strlen(s), max - 1);
	*out = s;
	return 0;
}

static int parse_control(struct ctl_map *m, size_t index, json_t *c, struct fd_error *err)
{
	struct ctl_def *d = &m->defs[index];
	const char *id = json_string_value(json_object_get(c, "id")), *key;
	json_t *reqs = json_object_get(c, "requires"), *v;
	char where[32];
	size_t i;
	int rc;

	snprintf(where, sizeof(where), "#%zu", index + 1);
	if (!json_is_object(c))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: control %s is not an object", m->src,
				    where);
	rc = control_string(m, id ? id : where, c, "id", sizeof(((struct report_control *)0)->id), &id,
			    err);
	if (rc)
		return rc;
	if (strcmp(id, "all") == 0 || strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(id))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: control id \"%.40s\": use lower-case "
				    "letters, digits, - _ . (and not \"all\")", m->src, id);
	for (i = 0; i < index; i++)
		if (strcmp(m->defs[i].id, id) == 0)
			return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: control \"%s\" twice", m->src,
					    id);
	d->id = id;
	json_object_foreach(c, key, v)
		if (!ignored_key(key) && strcmp(key, "id") != 0 && strcmp(key, "name") != 0 &&
		    strcmp(key, "text") != 0 && strcmp(key, "requires") != 0)
			return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: control \"%s\": unknown key "
					    "\"%.60s\" (id, name, text, requires, description)", m->src,
					    id, key);
	rc = control_string(m, id, c, "name", sizeof(((struct report_control *)0)->name), &d->name, err);
	if (!rc)
		rc = control_string(m, id, c, "text", sizeof(((struct report_control *)0)->text), &d->text,
				    err);
	if (rc)
		return rc;
	if (!json_is_array(reqs) || json_array_size(reqs) == 0)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: control \"%s\": \"requires\" must be "
				    "a non-empty list of checks", m->src, id);
	d->reqs = calloc(json_array_size(reqs), sizeof(*d->reqs));
	if (!d->reqs)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	json_array_foreach(reqs, i, v) {
		rc = parse_req(m, id, v, &d->reqs[i], err);
		if (rc)
			return rc;
		d->n_reqs++;
	}
	return 0;
}

static int map_parse(struct ctl_map *m, struct fd_error *err)
{
	json_t *version = json_object_get(m->root, "version");
	json_t *list = json_object_get(m->root, "controls"), *v;
	const char *key;
	size_t i;
	int rc;

	if (!json_is_object(m->root))
		return bad(m, err, "expected an object {\"version\": 1, \"controls\": [...]}");
	json_object_foreach(m->root, key, v)
		if (!ignored_key(key) && strcmp(key, "version") != 0 && strcmp(key, "controls") != 0)
			return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
					    "%s: unknown key \"%.60s\" (version, controls)", m->src, key);
	if (!json_is_integer(version) || json_integer_value(version) != 1)
		return bad(m, err, "\"version\" must be 1 (the format this firedrill reads)");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return bad(m, err, "\"controls\" must be a non-empty list");
	m->defs = calloc(json_array_size(list), sizeof(*m->defs));
	if (!m->defs)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	json_array_foreach(list, i, v) {
		m->n++;
		rc = parse_control(m, i, v, err);
		if (rc)
			return rc;
	}
	return 0;
}

static const char *const builtin_lines[] = { FD_CONTROLS_JSON_LINES };

/* Reads and checks the mapping: mapping_path, or the one built in. */
static int map_load(const char *mapping_path, struct ctl_map *m, struct fd_error *err)
{
	json_error_t jerr;

	memset(m, 0, sizeof(*m));
	m->src = mapping_path ? mapping_path : BUILTIN_NAME;
	if (mapping_path) {
		m->root = json_load_file(mapping_path, JSON_REJECT_DUPLICATES, &jerr);
	} else {
		size_t len = 0;
		char *text;

		for (size_t i = 0; i < sizeof(builtin_lines) / sizeof(builtin_lines[0]); i++)
			len += strlen(builtin_lines[i]);
		text = calloc(len + 1, 1);
		if (!text)
			return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		len = 0;
		for (size_t i = 0; i < sizeof(builtin_lines) / sizeof(builtin_lines[0]); i++) {
			memcpy(text + len, builtin_lines[i], strlen(builtin_lines[i]));
			len += strlen(builtin_lines[i]);
		}
		m->root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
		free(text);
	}
	if (!m->root && jerr.line < 0) /* could not read it: jansson's text names the file */
		return fd_error_set(err, FD_ERR_INPUT, -ENOENT, "controls file: %s", jerr.text);
	if (!m->root)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s:%d:%d: %s", m->src, jerr.line,
				    jerr.column, jerr.text);
	return map_parse(m, err);
}

/* ---- the report's section ---------------------------------------------------------- */

static const struct ctl_def *find_def(const struct ctl_map *m, const char *id, size_t len)
{
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->defs[i].id) == len && strncmp(m->defs[i].id, id, len) == 0)
			return &m->defs[i];
	return NULL;
}

static int unknown_id(const struct ctl_map *m, const char *id, size_t len, struct fd_error *err)
{
	char known[600] = "";
	size_t n = 0;

	for (size_t i = 0; i < m->n && n < sizeof(known); i++)
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "", m->defs[i].id);
	return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
			    "unknown control \"%.*s\" (known in %s: %s; or all)", (int)(len > 60 ? 60 : len),
			    id, m->src, known);
}

/* Picks the controls ids names, in that order, each once. */
static int select_defs(const struct ctl_map *m, const char *ids, const struct ctl_def **out,
		       size_t *n, struct fd_error *err)
{
	const char *p = ids;

	*n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *id = p;
		const struct ctl_def *d;
		bool seen = false;

		while (len && *id == ' ')
			id++, len--;
		while (len && id[len - 1] == ' ')
			len--;
		if (len == 3 && strncmp(id, "all", 3) == 0) {
			for (size_t i = 0; i < m->n; i++)
				out[i] = &m->defs[i];
			*n = m->n;
			return 0;
		}
		if (len == 0)
			return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
					    "an empty control id in \"%.200s\"", ids);
		d = find_def(m, id, len);
		if (!d)
			return unknown_id(m, id, len, err);
		for (size_t i = 0; i < *n; i++)
			seen = seen || out[i] == d;
		if (!seen)
			out[(*n)++] = d;
		p += strcspn(p, ",");
		p += *p == ',';
	}
	return 0;
}

int report_evidence_controls(struct report_evidence *ev, const char *ids,
			     const char *mapping_path, struct fd_error *err)
{
	struct ctl_map m;
	const struct ctl_def **pick = NULL;
	size_t n = 0;
	int rc;

	if (!ids || !ids[0])
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "no control ids given (e.g. soc2,dora or all)");
	rc = map_load(mapping_path, &m, err);
	if (rc)
		goto cleanup;
	pick = calloc(m.n, sizeof(*pick));
	if (!pick) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = select_defs(&m, ids, pick, &n, err);
	if (rc)
		goto cleanup;
	free(ev->controls);
	ev->n_controls = 0;
	ev->controls = calloc(n, sizeof(*ev->controls));
	if (!ev->controls) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		struct report_control *c = &ev->controls[i];
		struct ctl_out o = { .c = c };

		snprintf(c->id, sizeof(c->id), "%s", pick[i]->id);
		snprintf(c->name, sizeof(c->name), "%s", pick[i]->name);
		snprintf(c->text, sizeof(c->text), "%s", pick[i]->text);
		for (size_t k = 0; k < pick[i]->n_reqs; k++)
			pick[i]->reqs[k].check->run(ev, &pick[i]->reqs[k], &o);
	}
	ev->n_controls = n;
cleanup:
	free(pick);
	map_free(&m);
	return rc;
}

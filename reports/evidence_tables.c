/*
 * evidence_tables.c: the record-book sections of the evidence report as
 * plain tables (title, column names, rows of text, a flag per row), built
 * once here and laid out by each renderer (HTML, Markdown, PDF), so that a
 * column or a wording exists in one place. Cells are plain, unescaped
 * text: the renderer escapes for its format.
 */
#include "report_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* flag is an int: va_start after a bool (promoted) is undefined behaviour */
static int table_row(struct rp_table *t, int flag, ...)
{
	size_t base = t->n_rows * t->n_cols;
	char **cells = realloc(t->cells, (base + t->n_cols) * sizeof(*cells));
	bool *flags = realloc(t->flags, (t->n_rows + 1) * sizeof(*flags));
	va_list ap;
	int rc = 0;

	if (cells)
		t->cells = cells;
	if (flags)
		t->flags = flags;
	if (!cells || !flags)
		return -ENOMEM;
	va_start(ap, flag);
	for (size_t c = 0; c < t->n_cols; c++) {
		const char *v = va_arg(ap, const char *);

		t->cells[base + c] = strdup(v ? v : "");
		if (!t->cells[base + c])
			rc = -ENOMEM;
	}
	va_end(ap);
	t->flags[t->n_rows++] = flag != 0;
	return rc;
}

void rp_table_free(struct rp_table *t)
{
	for (size_t i = 0; t->cells && i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->flags);
	memset(t, 0, sizeof(*t));
}

static void head(struct rp_table *t, const char *title, const char *empty, size_t n, ...)
{
	va_list ap;

	memset(t, 0, sizeof(*t));
	t->flag_col = -1;
	t->title = title;
	t->empty = empty;
	t->n_cols = n;
	va_start(ap, n);
	for (size_t i = 0; i < n && i < RP_COLS_MAX; i++)
		t->cols[i] = va_arg(ap, const char *);
	va_end(ap);
}

/* "bob (scribe)", "bob" */
static const char *who(const struct store_record *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", r->author, r->author_role[0] ? " (" : "", r->author_role,
		 r->author_role[0] ? ")" : "");
	return buf;
}

static int scope(const struct report_evidence *ev, struct rp_table *t)
{
	int rc = 0;

	head(t, "Scope", NULL, 2, "", "");
	rc = table_row(t, !ev->drill.description[0], "scope",
		       ev->drill.description[0] ? ev->drill.description
						: "not stated (the scenario has no description)");
	if (!rc)
		rc = table_row(t, false, "why this scope",
			       ev->drill.scope_rationale[0] ? ev->drill.scope_rationale
							    : "not stated (no scope-rationale)");
	/* probes, steps and actions that ran somewhere else than the scope */
	for (size_t i = 0; !rc && i < ev->n_events; i++)
		if (strcmp(ev->events[i].kind, "place") == 0)
			rc = table_row(t, false, ev->events[i].subject, ev->events[i].detail);
	return rc;
}

static int participants(const struct report_evidence *ev, struct rp_table *t)
{
	int rc = 0;

	head(t, "Participants and roles",
	     "No participants recorded (firedrill run --role ROLE=NAME).", 2, "role", "name");
	for (size_t i = 0; !rc && i < ev->n_participants; i++) {
		const struct report_participant *p = &ev->participants[i];

		rc = table_row(t, !p->name[0], p->role, p->name[0] ? p->name : "NOT FILLED");
	}
	return rc;
}

static int integrity(const struct report_evidence *ev, struct rp_table *t)
{
	char num[4][32], rpo[32];
	int rc = 0;

	head(t, "Data integrity", ev->integrity ? "No iterations." : NULL, 6, "iteration",
	     "writes acknowledged", "acknowledged during the outage", "lost", "RPO", "read-back");
	if (!ev->integrity) /* a model built by hand, not loaded: nothing derived */
		return 0;
	for (size_t i = 0; !rc && i < ev->n_iterations; i++) {
		const struct report_integrity *g = &ev->integrity[i];

		snprintf(num[0], sizeof(num[0]), "%d", g->iteration);
		snprintf(num[1], sizeof(num[1]), "%lld", (long long)g->writes_acked);
		snprintf(num[2], sizeof(num[2]), "%lld", (long long)g->writes_acked_outage);
		snprintf(num[3], sizeof(num[3]), "%lld", (long long)g->lost_writes);
		if (!g->measured)
			rc = table_row(t, false, num[0], "-", "-", "-", "not measured",
				       "the scenario writes no canary and queries no timestamp");
		else
			rc = table_row(t, g->lost_writes > 0 || !g->has_rpo, num[0], num[1], num[2],
				       g->has_rpo ? num[3] : "unknown",
				       g->has_rpo ? rp_dur(g->rpo_ms, rpo, sizeof(rpo)) : "unknown",
				       g->read_back);
	}
	return rc;
}

static int deviations(const struct report_evidence *ev, struct rp_table *t)
{
	char when[40], it[16];
	int rc = 0;

	head(t, "Deviations from the plan",
	     "None: every step ended and passed, no stop condition, abort or failed revert.", 4,
	     "time (UTC)", "iteration", "deviation", "detail");
	for (size_t i = 0; !rc && i < ev->n_deviations; i++) {
		const struct report_deviation *d = &ev->deviations[i];

		snprintf(it, sizeof(it), d->iteration ? "%d" : "drill", d->iteration);
		rc = table_row(t, true, rp_time(d->real_ns, when, sizeof(when)), it, d->kind, d->what);
	}
	return rc;
}

static int findings(const struct report_evidence *ev, struct rp_table *t)
{
	char id[24], by[200], when[40];
	int rc = 0;

	head(t, "Findings", "No findings recorded (firedrill finding DRILL --severity ... TEXT).", 6,
	     "#", "severity", "finding", "root cause", "by", "filed (UTC)");
	for (size_t i = 0; !rc && i < ev->n_findings; i++) {
		const struct store_record *f = &ev->findings[i];

		snprintf(id, sizeof(id), "%lld", (long long)f->id);
		rc = table_row(t, strcmp(f->severity, "critical") == 0 || strcmp(f->severity, "high") == 0,
			       id, f->severity, f->text, f->root_cause[0] ? f->root_cause : "-",
			       who(f, by, sizeof(by)), rp_time(f->created_real_ns, when, sizeof(when)));
	}
	return rc;
}

/* "open", "PAST DUE (12 days)", "closed 2026-12-01 by retest drill 7" */
static const char *action_state(const struct report_action *a, char *buf, size_t len)
{
	char when[40];

	if (a->closed && a->closing.retest_drill_id)
		snprintf(buf, len, "closed %s, retested by drill %lld",
			 rp_time(a->closing.created_real_ns, when, sizeof(when)),
			 (long long)a->closing.retest_drill_id);
	else if (a->closed)
		snprintf(buf, len, "closed %s", rp_time(a->closing.created_real_ns, when, sizeof(when)));
	else if (a->past_due)
		snprintf(buf, len, "PAST DUE (%lld day%s)", (long long)a->days_overdue,
			 a->days_overdue == 1 ? "" : "s");
	else
		snprintf(buf, len, "open");
	return buf;
}

static int action_rows(struct rp_table *t, const struct report_action *list, size_t n)
{
	char id[24], drill[24], state[160];
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++) {
		const struct report_action *a = &list[i];

		snprintf(id, sizeof(id), "%lld", (long long)a->action.id);
		snprintf(drill, sizeof(drill), "%lld", (long long)a->action.drill_id);
		rc = table_row(t, a->past_due, id, drill, a->action.text, a->action.owner, a->action.due,
			       action_state(a, state, sizeof(state)));
	}
	return rc;
}

static int actions(const struct report_evidence *ev, struct rp_table *t)
{
	head(t, "Remediation actions",
	     "No actions recorded (firedrill action DRILL --owner NAME --due DATE TEXT).", 6, "#",
	     "drill", "action", "owner", "due", "state");
	return action_rows(t, ev->actions, ev->n_actions);
}

static int retests(const struct report_evidence *ev, struct rp_table *t)
{
	head(t, "Actions this drill retested", NULL, 6, "#", "drill", "action", "owner", "due",
	     "state");
	return action_rows(t, ev->retested, ev->n_retested);
}

static int lessons(const struct report_evidence *ev, struct rp_table *t)
{
	char by[200], when[40];
	int rc = 0;

	head(t, "Lessons learned", "No lessons recorded (firedrill note DRILL TEXT).", 3, "lesson",
	     "by", "recorded (UTC)");
	for (size_t i = 0; !rc && i < ev->n_notes; i++)
		rc = table_row(t, false, ev->notes[i].text, who(&ev->notes[i], by, sizeof(by)),
			       rp_time(ev->notes[i].created_real_ns, when, sizeof(when)));
	return rc;
}

static int controls(const struct report_evidence *ev, struct rp_table *t)
{
	int rc = 0;

	head(t, "Control mapping", NULL, 4, "control", "what it asks (our words)",
	     "what this drill shows", "what is missing");
	t->flag_col = 3;
	for (size_t i = 0; !rc && i < ev->n_controls; i++) {
		const struct report_control *c = &ev->controls[i];

		rc = table_row(t, c->missing[0] != '\0', c->name, c->text, c->shows,
			       c->missing[0] ? c->missing : "nothing");
	}
	return rc;
}

static int signoff(const struct report_evidence *ev, struct rp_table *t)
{
	char when[40], covers[48];
	int rc = 0;

	head(t, "Sign-off",
	     "Not signed off yet (firedrill signoff DRILL --name NAME --role ROLE --key KEY).", 5,
	     "name", "role", "signed (UTC)", "key", "check");
	t->note = "Each sign-off is an Ed25519 signature over the drill's sealed row hash (which "
		  "covers its evidence) and the record book as it stood; `firedrill verify --store` "
		  "checks them.";
	for (size_t i = 0; !rc && i < ev->n_signoffs; i++) {
		const struct report_signoff_check *c = &ev->signoffs[i];

		snprintf(covers, sizeof(covers), "good, covers %lld book entries",
			 (long long)c->records_seq);
		rc = table_row(t, !c->ok, c->rec.author, c->rec.author_role,
			       rp_time(c->rec.created_real_ns, when, sizeof(when)), c->rec.key_id,
			       c->ok ? covers : c->what);
	}
	return rc;
}

#define SENT_BY_NOTE                                                                           \
	"Sent by: the process that owned the socket of the flow's first dropped packet, looked " \
	"up when the drill first read the flow (pid, command, uid, container); \"unknown\" " \
	"says why it could not be told."

static int flows(const struct report_evidence *ev, struct rp_table *t)
{
	char it[16], pk[24], dur[32], seen[40], who[600];
	size_t old = 0;
	int rc = 0;

	for (size_t i = 0; i < ev->n_events; i++)
		old += strcmp(ev->events[i].kind, "blackholed-flow") == 0;
	head(t, "Blackholed flows (hidden dependencies)",
	     old ? "Recorded before firedrill kept flows with their senders (store schema 6): the "
		   "timeline's blackholed-flow events list them."
		 : NULL,
	     6, "iteration", "flow", "fault", "packets", "first seen", "sent by");
	t->note = ev->n_flows ? SENT_BY_NOTE : NULL;
	for (size_t i = 0; !rc && i < ev->n_flows; i++) {
		const struct store_flow *f = &ev->flows[i];

		snprintf(it, sizeof(it), "%d", f->iteration);
		snprintf(pk, sizeof(pk), "%lld", (long long)f->packets);
		if (f->has_first_seen)
			snprintf(seen, sizeof(seen), "T0+%s", rp_dur(f->first_seen_ms, dur, sizeof(dur)));
		else
			snprintf(seen, sizeof(seen), "-");
		rc = table_row(t, false, it, f->flow, f->fault_id, pk, seen,
			       fd_flow_owner_format(&f->owner, who, sizeof(who)));
	}
	return rc;
}

int rp_evidence_table(const struct report_evidence *ev, enum rp_section s, struct rp_table *t)
{
	static int (*const build[])(const struct report_evidence *, struct rp_table *) = {
		[RP_SEC_SCOPE] = scope,		  [RP_SEC_PARTICIPANTS] = participants,
		[RP_SEC_INTEGRITY] = integrity,	  [RP_SEC_DEVIATIONS] = deviations,
		[RP_SEC_FINDINGS] = findings,	  [RP_SEC_ACTIONS] = actions,
		[RP_SEC_RETESTS] = retests,	  [RP_SEC_LESSONS] = lessons,
		[RP_SEC_CONTROLS] = controls,	  [RP_SEC_SIGNOFF] = signoff,
		[RP_SEC_FLOWS] = flows,
	};
	int rc = build[s](ev, t);

	if (rc)
		rp_table_free(t);
	return rc;
}

/* ---- the trend's record-book tables ----------------------------------------- */

int rp_open_actions_table(const struct report_series *s, struct rp_table *t)
{
	int rc;

	head(t, "Open actions", NULL, 6, "#", "drill", "action", "owner", "due", "state");
	rc = action_rows(t, s->open_actions, s->n_open_actions);
	if (rc)
		rp_table_free(t);
	return rc;
}

/* "incident-commander alice, scribe bob, observer (not filled)" */
static void people_line(const char *participants, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (const char *p = participants; *p && at < len;) {
		size_t n = strcspn(p, "\n"), role = strcspn(p, "=");
		int w;

		if (role < n && role + 1 == n)
			w = snprintf(buf + at, len - at, "%s%.*s (not filled)", at ? ", " : "", (int)role, p);
		else if (role < n)
			w = snprintf(buf + at, len - at, "%s%.*s %.*s", at ? ", " : "", (int)role, p,
				     (int)(n - role - 1), p + role + 1);
		else
			w = 0;
		at = w < 0 ? len : at + (size_t)w;
		p += n + (p[n] == '\n');
	}
}

int rp_series_people_table(const struct report_series *s, struct rp_table *t)
{
	char id[24], when[40], people[1100], retested[1100];
	int rc = 0;

	head(t, "Who took part, and what each drill retested", NULL, 4, "drill", "started (UTC)",
	     "participants", "retested actions");
	for (size_t d = 0; !rc && d < s->n_drills; d++) {
		const struct report_drill *dr = &s->drills[d];
		size_t at = 0;

		if (!dr->info.participants[0] && !dr->n_retested)
			continue;
		people_line(dr->info.participants, people, sizeof(people));
		retested[0] = '\0';
		for (size_t k = 0; k < dr->n_retested && at < sizeof(retested); k++) {
			int w = snprintf(retested + at, sizeof(retested) - at, "%saction %lld of drill %lld: %s",
					 k ? "; " : "", (long long)dr->retested[k].action.id,
					 (long long)dr->retested[k].action.drill_id,
					 dr->retested[k].action.text);

			at = w < 0 ? sizeof(retested) : at + (size_t)w;
		}
		snprintf(id, sizeof(id), "%lld", (long long)dr->info.id);
		rc = table_row(t, false, id, rp_time(dr->info.started_real_ns, when, sizeof(when)),
			       people[0] ? people : "-", retested[0] ? retested : "-");
	}
	if (rc)
		rp_table_free(t);
	return rc;
}

int rp_series_flows_table(const struct report_series *s, struct rp_table *t)
{
	char id[24], who[600];
	int rc = 0;

	head(t, "Blackholed flows (hidden dependencies)", NULL, 4, "drill", "flow", "fault",
	     "sent by (first iteration it was seen in)");
	for (size_t d = 0; !rc && d < s->n_drills; d++) {
		const struct report_drill *dr = &s->drills[d];

		snprintf(id, sizeof(id), "%lld", (long long)dr->info.id);
		for (size_t i = 0; !rc && i < dr->n_flows; i++) {
			const struct store_flow *f = &dr->flows[i];
			bool again = false;

			/* each flow once per drill: its later iterations repeat it */
			for (size_t k = 0; k < i && !again; k++)
				again = strcmp(dr->flows[k].flow, f->flow) == 0 &&
					strcmp(dr->flows[k].fault_id, f->fault_id) == 0;
			if (!again)
				rc = table_row(t, false, id, f->flow, f->fault_id,
					       fd_flow_owner_format(&f->owner, who, sizeof(who)));
		}
	}
	t->note = t->n_rows ? SENT_BY_NOTE : NULL;
	if (rc)
		rp_table_free(t);
	return rc;
}

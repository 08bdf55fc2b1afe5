/*
 * The evidence model: one drill with everything an auditor asks for, read
 * from the store, plus the one-line verdict.
 */
#include "report_priv.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fd_config.h"
#include "fd_time.h"

static void sha256_hex(const char *text, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

static int load_iterations(struct store *st, struct report_evidence *ev, struct fd_error *err)
{
	struct store_iteration *its = NULL;
	size_t n = 0;
	int r = store_list_iterations(st, ev->drill.id, &its, &n, err);

	if (r < 0)
		return r;
	ev->iterations = calloc(n + 1, sizeof(*ev->iterations));
	if (!ev->iterations) {
		free(its);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		ev->iterations[i].it = its[i];
	ev->n_iterations = n;
	free(its);
	for (size_t i = 0; i < n; i++) {
		struct report_evidence_iteration *ei = &ev->iterations[i];

		r = store_list_laps(st, ei->it.id, &ei->laps, &ei->n_laps, err);
		if (r == 0)
			r = store_probe_stats(st, ei->it.id, &ei->probes, &ei->n_probes, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int report_evidence_load(struct store *st, int64_t drill_id, struct report_evidence **out,
			 struct fd_error *err)
{
	struct report_evidence *ev = calloc(1, sizeof(*ev));
	char hex[65];
	int r;

	if (!ev)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	ev->generated_real_ns = fd_real_ns();
	snprintf(ev->tool_version, sizeof(ev->tool_version), "%s", FD_VERSION);
	r = store_get_drill(st, drill_id, &ev->drill, err);
	if (r == 0)
		r = store_get_scenario_text(st, ev->drill.scenario_id, &ev->scenario_text,
					    ev->scenario_sha256, err);
	if (r == 0)
		r = load_iterations(st, ev, err);
	if (r == 0)
		r = store_list_events(st, drill_id, &ev->events, &ev->n_events, err);
	if (r < 0) {
		fd_error_prefix(err, "evidence for drill %lld", (long long)drill_id);
		report_evidence_free(ev);
		return r;
	}
	sha256_hex(ev->scenario_text ? ev->scenario_text : "", hex);
	ev->scenario_hash_ok = strcmp(hex, ev->scenario_sha256) == 0;
	report_objectives_of(&ev->drill, &ev->objectives);
	*out = ev;
	return 0;
}

void report_evidence_free(struct report_evidence *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < ev->n_iterations; i++) {
		free(ev->iterations[i].laps);
		free(ev->iterations[i].probes);
	}
	free(ev->iterations);
	free(ev->events);
	free(ev->scenario_text);
	free(ev);
}

int rp_event_iteration(const struct report_evidence *ev, const struct store_event *e)
{
	for (size_t i = 0; e->iteration_id && i < ev->n_iterations; i++)
		if (ev->iterations[i].it.id == e->iteration_id)
			return ev->iterations[i].it.number;
	return 0;
}

const char *rp_event_iteration_text(const struct report_evidence *ev, const struct store_event *e,
				    char *buf, size_t len)
{
	int n = rp_event_iteration(ev, e);

	if (n > 0)
		snprintf(buf, len, "%d", n);
	else
		snprintf(buf, len, "drill");
	return buf;
}

int rp_evidence_summary(const struct report_evidence *ev, struct report_drill *out)
{
	memset(out, 0, sizeof(*out));
	out->info = ev->drill;
	out->objectives = ev->objectives;
	out->iterations = calloc(ev->n_iterations + 1, sizeof(*out->iterations));
	if (!out->iterations)
		return -ENOMEM;
	for (size_t i = 0; i < ev->n_iterations; i++)
		out->iterations[i] = ev->iterations[i].it;
	out->n_iterations = ev->n_iterations;
	rp_drill_stats(out);
	return 0;
}

static const char *objective_text(const struct report_objectives *o, bool rto, char *buf,
				  size_t len)
{
	const struct report_value *obj = rto ? &o->rto : &o->rpo;

	if (o->unknown)
		return "objective unknown";
	if (!obj->has)
		return "no objective";
	snprintf(buf, len, "objective ");
	rp_dur(obj->ms, buf + strlen(buf), len - strlen(buf));
	return buf;
}

static const char *verdict_word(const struct report_evidence *ev, const struct report_drill *s)
{
	switch (ev->drill.outcome) {
	case STORE_OUTCOME_RUNNING:
		return "INCOMPLETE (still running or died)";
	case STORE_OUTCOME_ABORTED:
		return "INCOMPLETE (aborted)";
	case STORE_OUTCOME_NOT_HEALTHY:
		return "INCOMPLETE (not healthy before the drill; nothing injected)";
	case STORE_OUTCOME_ERROR:
		return "INCOMPLETE (ended by an error)";
	default:
		break;
	}
	if (s->n_iterations && (size_t)s->n_met == s->n_iterations && ev->drill.objectives_met)
		return "PASS";
	return "FAIL";
}

char *report_evidence_verdict(const struct report_evidence *ev, char *buf, size_t len)
{
	struct report_drill s;
	char rto[32], rpo[32], bound[32], ro[48], po[48];

	if (rp_evidence_summary(ev, &s) < 0) {
		snprintf(buf, len, "verdict unavailable (out of memory)");
		return buf;
	}
	snprintf(buf, len,
		 "%s: %d/%zu iterations met objectives, %d/%zu recovered; median RTO %s (%s, "
		 "error bound %s), median RPO %s (%s), %lld acknowledged writes lost",
		 verdict_word(ev, &s), s.n_met, s.n_iterations, s.n_recovered, s.n_iterations,
		 s.rto_not_recovered ? "not recovered" :
		 rp_value(&s.rto_median, "not measured", rto, sizeof(rto)),
		 objective_text(&ev->objectives, true, ro, sizeof(ro)),
		 rp_dur(s.error_bound_ms, bound, sizeof(bound)),
		 rp_value(&s.rpo_median, "not measured", rpo, sizeof(rpo)),
		 objective_text(&ev->objectives, false, po, sizeof(po)), (long long)s.lost_writes);
	free(s.iterations);
	return buf;
}

int report_evidence_write(const struct report_evidence *ev, enum report_format fmt, FILE *out,
			  struct fd_error *err)
{
	int r;

	switch (fmt) {
	case REPORT_HTML: r = rp_evidence_html(ev, out, err); break;
	case REPORT_MARKDOWN: r = rp_evidence_md(ev, out, err); break;
	case REPORT_JSON: r = rp_evidence_json(ev, out, err); break;
	default:
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "evidence reports are html, md or json, not %s",
				    report_format_name(fmt));
	}
	if (r == 0 && (fflush(out) != 0 || ferror(out)))
		r = fd_error_set(err, FD_ERR_ENV, -EIO, "writing the report failed");
	return r;
}

/*
 * JUnit XML renderer, so CI systems show drills as tests: one <testsuite>
 * per scenario x environment, one <testcase> per iteration. A case passes
 * when the iteration met its objectives; <failure> when it recovered late
 * or not at all; <error> when it never tested recovery (not healthy,
 * aborted, error, still running). time is the RTO in seconds when there is
 * one. Untrusted text is XML-escaped with control bytes made visible (XML
 * 1.0 cannot carry them at all).
 */
#include "report_priv.h"

#include "fd_config.h"

static void attr(FILE *out, const char *name, const char *value)
{
	fprintf(out, " %s=\"", name);
	rp_put_html(out, value, false);
	fputc('"', out);
}

static void failure(FILE *out, const struct report_drill *d, const struct store_iteration *it)
{
	char msg[512], a[32], b[32], c[32], e[32];

	switch (it->outcome) {
	case STORE_OUTCOME_RECOVERED:
		snprintf(msg, sizeof(msg), "objectives missed: RTO %s (objective %s), RPO %s (objective %s), %lld writes lost",
			 it->has_rto ? rp_dur(it->rto_ms, a, sizeof(a)) : "-",
			 rp_objective(&d->objectives, true, "none", b, sizeof(b)),
			 it->has_rpo ? rp_dur(it->rpo_ms, c, sizeof(c)) : "not measured",
			 rp_objective(&d->objectives, false, "none", e, sizeof(e)), (long long)it->lost_writes);
		fputs("      <failure type=\"objectives-missed\"", out);
		break;
	case STORE_OUTCOME_NOT_RECOVERED:
		snprintf(msg, sizeof(msg), "not recovered within the timeout");
		fputs("      <failure type=\"not-recovered\"", out);
		break;
	default:
		snprintf(msg, sizeof(msg), "recovery not tested: %s", store_outcome_name(it->outcome));
		fputs("      <error", out);
		attr(out, "type", store_outcome_name(it->outcome));
		break;
	}
	attr(out, "message", msg);
	fputc('>', out);
	rp_put_html(out, it->detail, true);
	fputs(it->outcome == STORE_OUTCOME_RECOVERED || it->outcome == STORE_OUTCOME_NOT_RECOVERED ?
	      "</failure>\n" : "</error>\n", out);
}

static void testcase(FILE *out, const struct report_series *s, const struct report_drill *d,
		     const struct store_iteration *it)
{
	char name[128], cls[300];

	snprintf(name, sizeof(name), "drill %lld iteration %d", (long long)d->info.id, it->number);
	snprintf(cls, sizeof(cls), "firedrill.%s.%s", s->scenario, s->environment);
	fputs("    <testcase", out);
	attr(out, "name", name);
	attr(out, "classname", cls);
	fprintf(out, " time=\"%.3f\"", it->has_rto ? it->rto_ms / 1000.0 : 0.0);
	if (it->objectives_met) {
		fputs("/>\n", out);
		return;
	}
	fputs(">\n", out);
	failure(out, d, it);
	fputs("    </testcase>\n", out);
}

struct counts {
	int tests, failures, errors;
};

static void count(const struct report_series *s, struct counts *c)
{
	for (size_t d = 0; d < s->n_drills; d++)
		for (size_t k = 0; k < s->drills[d].n_iterations; k++) {
			const struct store_iteration *it = &s->drills[d].iterations[k];
			bool tested = it->outcome == STORE_OUTCOME_RECOVERED ||
				      it->outcome == STORE_OUTCOME_NOT_RECOVERED;

			c->tests++;
			if (!it->objectives_met) {
				c->failures += tested;
				c->errors += !tested;
			}
		}
}

int rp_trend_junit(const struct report_trend *t, FILE *out, struct fd_error *err)
{
	char b[40];
	struct counts all = { 0 };

	for (size_t i = 0; i < t->n_series; i++)
		count(&t->series[i], &all);
	int tests = all.tests, failures = all.failures, errors = all.errors;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"firedrill %s\" "
		"tests=\"%d\" failures=\"%d\" errors=\"%d\" timestamp=\"%s\">\n", FD_VERSION, tests,
		failures, errors, rp_time(t->generated_real_ns, b, sizeof(b)));
	for (size_t i = 0; i < t->n_series; i++) {
		const struct report_series *s = &t->series[i];
		char name[300];
		struct counts c = { 0 };

		count(s, &c);
		snprintf(name, sizeof(name), "%s (%s)", s->scenario, s->environment);
		fputs("  <testsuite", out);
		attr(out, "name", name);
		fprintf(out, " tests=\"%d\" failures=\"%d\" errors=\"%d\">\n", c.tests, c.failures,
			c.errors);
		for (size_t d = 0; d < s->n_drills; d++)
			for (size_t k = 0; k < s->drills[d].n_iterations; k++)
				testcase(out, s, &s->drills[d], &s->drills[d].iterations[k]);
		fputs("  </testsuite>\n", out);
	}
	fputs("</testsuites>\n", out);
	(void)err;
	return 0;
}

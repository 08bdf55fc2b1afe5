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
	if (r == 0)
		r = store_list_flows(st, drill_id, &ev->flows, &ev->n_flows, err);
	if (r == 0)
		r = rp_evidence_book_load(st, ev, err);
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
	rp_evidence_book_free(ev);
	free(ev->iterations);
	free(ev->events);
	free(ev->flows);
	free(ev->scenario_text);
	free(ev);
}

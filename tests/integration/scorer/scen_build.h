/*
 * Building scenario models in code for the scorer's tests and benchmarks
 * (the scorer consumes struct scenario; these tests do not go through YAML).
 * Test support only: fixed-size storage, nothing to free.
 */
#ifndef FD_SCEN_BUILD_H
#define FD_SCEN_BUILD_H

#include <stdio.h>
#include <string.h>

#include "fd_time.h"
#include "scenario.h"

#define SB_MAX 128

struct scen_build {
	struct scenario s;
	struct scenario_probe probes[SB_MAX];
	char ids[SB_MAX][16];
	char urls[SB_MAX][128];
	size_t crit[SB_MAX];
	char canary_w[128], canary_r[128], canary_body[128];
};

static inline void sb_init(struct scen_build *b)
{
	memset(b, 0, sizeof(*b));
	b->s.name = (char *)"scorer-test";
	b->s.probes = b->probes;
}

static inline struct scenario_probe *sb_probe(struct scen_build *b, enum probe_kind k,
					      int64_t interval_ns, int64_t timeout_ns)
{
	size_t i = b->s.n_probes++;
	struct scenario_probe *p = &b->probes[i];

	snprintf(b->ids[i], sizeof(b->ids[i]), "p%zu", i);
	p->id = b->ids[i];
	p->kind = k;
	p->interval_ns = interval_ns;
	p->timeout_ns = timeout_ns;
	return p;
}

static inline struct scenario_probe *sb_http(struct scen_build *b, uint16_t port,
					     const char *path, int64_t interval_ns,
					     int64_t timeout_ns)
{
	struct scenario_probe *p = sb_probe(b, PROBE_HTTP, interval_ns, timeout_ns);
	size_t i = b->s.n_probes - 1;

	snprintf(b->urls[i], sizeof(b->urls[i]), "http://127.0.0.1:%u%s", port, path);
	p->http.url = b->urls[i];
	p->http.method = (char *)"GET";
	return p;
}

/* recovery: all of the first n probes, stable for stable_ns. */
static inline void sb_criterion(struct scen_build *b, size_t n, int64_t stable_ns)
{
	size_t i;

	for (i = 0; i < n; i++)
		b->crit[i] = i;
	b->s.recovery.mode = CRITERION_ALL;
	b->s.recovery.probes = b->crit;
	b->s.recovery.n_probes = n;
	b->s.recovery.stable_for_ns = stable_ns;
	b->s.recovery.timeout_ns = 60 * FD_NS_PER_S;
}

static inline void sb_canary(struct scen_build *b, uint16_t port, int64_t interval_ns)
{
	struct scenario_rpo *r = &b->s.rpo;

	snprintf(b->canary_w, sizeof(b->canary_w), "http://127.0.0.1:%u/canary/{{seq}}", port);
	snprintf(b->canary_r, sizeof(b->canary_r), "http://127.0.0.1:%u/canary/{{seq}}", port);
	snprintf(b->canary_body, sizeof(b->canary_body), "{\"seq\": {{seq}}, \"ts\": {{ts}}}");
	r->has_canary = true;
	r->canary.interval_ns = interval_ns;
	r->canary.write.kind = ACTION_HTTP;
	r->canary.write.http.method = (char *)"PUT";
	r->canary.write.http.url = b->canary_w;
	r->canary.write.http.body = b->canary_body;
	r->canary.read.kind = ACTION_HTTP;
	r->canary.read.http.method = (char *)"GET";
	r->canary.read.http.url = b->canary_r;
}

#endif

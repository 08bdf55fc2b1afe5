/*
 * scorer: the lifecycle (scorer_new, scorer_free, the environment check)
 * and the patterns compiled once for every probe and RPO action.
 *
 * The rest lives by what it holds: the event loop (scorer_loop.c), the
 * probe schedule and samples (scorer_sched.c), the canary and RPO
 * (scorer_canary.c), the recovery criterion (scorer_watch.c) and the
 * request kinds (probe_*.c).
 */
#include "scorer_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- regexes ------------------------------------------------------------- */

const struct regex_entry *scorer_regex(const struct scorer *sc, const char *pattern)
{
	size_t i;

	for (i = 0; pattern && i < sc->n_rx; i++)
		if (sc->rx[i].pattern == pattern)
			return &sc->rx[i];
	return NULL;
}

bool scorer_regex_match(const struct regex_entry *re, const char *s, size_t len, const char **cap,
		 size_t *cap_len)
{
	PCRE2_SIZE *ov;
	int rc, g;

	rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, NULL);
	if (rc <= 0)
		return false;
	if (cap) {
		ov = pcre2_get_ovector_pointer(re->md);
		g = rc > 1 ? 1 : 0;
		*cap = s + ov[2 * g];
		*cap_len = ov[2 * g + 1] - ov[2 * g];
	}
	return true;
}

static int regex_add(struct scorer *sc, const char *pattern, const char *where,
		     struct fd_error *err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	struct regex_entry *n;
	pcre2_match_data *md;
	pcre2_code *re;
	int ec;

	if (!pattern || scorer_regex(sc, pattern))
		return 0;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
	if (!re) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: regex '%s' at offset %zu: %s",
				    where, pattern, (size_t)off, (char *)msg);
	}
	/* Without JIT (not built in, no executable memory) matching is interpreted. */
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	n = md ? realloc(sc->rx, (sc->n_rx + 1) * sizeof(*n)) : NULL;
	if (!n) {
		pcre2_match_data_free(md);
		pcre2_code_free(re);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	sc->rx = n;
	sc->rx[sc->n_rx].pattern = pattern;
	sc->rx[sc->n_rx].code = re;
	sc->rx[sc->n_rx].md = md;
	sc->n_rx++;
	return 0;
}

static int regex_add_action(struct scorer *sc, const struct scenario_action *a,
			    const char *where, struct fd_error *err)
{
	int rc = regex_add(sc, a->http.body_match, where, err);

	return rc < 0 ? rc : regex_add(sc, a->command.stdout_match, where, err);
}

static int compile_regexes(struct scorer *sc, struct fd_error *err)
{
	const struct scenario *s = sc->s;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < s->n_probes; i++) {
		const struct scenario_probe *p = &s->probes[i];

		rc = regex_add(sc, p->http.body_match, p->id, err);
		if (rc == 0)
			rc = regex_add(sc, p->command.stdout_match, p->id, err);
		if (rc == 0)
			rc = regex_add(sc, p->log.match, p->id, err);
		if (rc == 0)
			rc = regex_add(sc, p->log.fail_match, p->id, err);
	}
	if (rc == 0 && s->rpo.has_canary)
		rc = regex_add_action(sc, &s->rpo.canary.write, "rpo.canary.write", err);
	if (rc == 0 && s->rpo.has_canary)
		rc = regex_add_action(sc, &s->rpo.canary.read, "rpo.canary.read", err);
	if (rc == 0 && s->rpo.has_canary)
		rc = regex_add(sc, s->rpo.canary.value_match, "rpo.canary.read.value-match", err);
	if (rc == 0 && s->rpo.has_query)
		rc = regex_add_action(sc, &s->rpo.query.action, "rpo.query", err);
	if (rc == 0 && s->rpo.has_query)
		rc = regex_add(sc, s->rpo.query.value_match, "rpo.query.value-match", err);
	return rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int check_action_env(const struct scenario_action *a, const char *what,
			    struct fd_error *err)
{
	int rc = a->kind == ACTION_HTTP ? scorer_http_check_env(&a->http, err) : 0;

	if (rc < 0)
		fd_error_prefix(err, "%s", what);
	return rc;
}

int scorer_check_env(const struct scenario *s, struct fd_error *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->n_probes; i++) {
		if (s->probes[i].kind != PROBE_HTTP)
			continue;
		rc = scorer_http_check_env(&s->probes[i].http, err);
		if (rc < 0)
			fd_error_prefix(err, "probe %s", s->probes[i].id);
	}
	if (rc == 0 && s->rpo.has_canary)
		rc = check_action_env(&s->rpo.canary.write, "rpo canary write", err);
	if (rc == 0 && s->rpo.has_canary)
		rc = check_action_env(&s->rpo.canary.read, "rpo canary read", err);
	if (rc == 0 && s->rpo.has_query)
		rc = check_action_env(&s->rpo.query.action, "rpo query", err);
	return rc;
}

int scorer_new(const struct scenario *s, scorer_sample_fn on_sample, void *user,
	       struct scorer **out, struct fd_error *err)
{
	return scorer_new_in(s, NULL, on_sample, user, out, err);
}

int scorer_new_in(const struct scenario *s, const struct scorer_places *where,
		  scorer_sample_fn on_sample, void *user, struct scorer **out,
		  struct fd_error *err)
{
	struct scorer *sc = calloc(1, sizeof(*sc));
	size_t i;
	int rc;

	*out = NULL;
	if (!sc)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	sc->s = s;
	sc->on_sample = on_sample;
	sc->user = user;
	sc->curl_due_ns = -1;
	sc->tfd_armed_ns = -1;
	sc->tfd = sc->ino_fd = -1;
	sc->epfd = -1;
	rc = scorer_loop_open(sc, err);
	if (rc < 0)
		goto fail;
	rc = scorer_check_env(s, err);
	if (rc < 0)
		goto fail;
	rc = compile_regexes(sc, err);
	if (rc < 0)
		goto fail;
	rc = scorer_http_init(sc, err);
	if (rc < 0)
		goto fail;
	sc->n_probes = s->n_probes;
	sc->probes = calloc(s->n_probes ? s->n_probes : 1, sizeof(*sc->probes));
	if (!sc->probes) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < s->n_probes; i++) {
		sc->probes[i].p = &s->probes[i];
		sc->probes[i].index = i;
	}
	rc = scorer_places_open(sc, where, err);
	if (rc < 0)
		goto fail;
	for (i = 0; i < s->n_probes; i++) {
		if (s->probes[i].kind == PROBE_LOG)
			rc = scorer_log_open(sc, &sc->probes[i], err);
		else if (s->probes[i].kind == PROBE_PCAP)
			rc = scorer_pcap_open(sc, &sc->probes[i], err);
		if (rc < 0) {
			fd_error_prefix(err, "probe %s", s->probes[i].id);
			goto fail;
		}
	}
	*out = sc;
	return 0;
fail:
	scorer_free(sc);
	return rc;
}

void scorer_free(struct scorer *sc)
{
	size_t i;

	if (!sc)
		return;
	for (i = 0; sc->probes && i < sc->n_probes; i++) {
		if (sc->probes[i].p->kind == PROBE_LOG)
			scorer_log_close(sc, &sc->probes[i]);
		else if (sc->probes[i].p->kind == PROBE_PCAP)
			scorer_pcap_close(sc, &sc->probes[i]);
	}
	/* Jobs still in flight are dropped without callbacks. */
	scorer_http_cleanup(sc);
	while (sc->timers) {
		struct tnode *t = sc->timers;

		scorer_timer_disarm(sc, t);
		t->fn(NULL, t); /* NULL scorer: release only */
	}
	scorer_resolver_free(sc->res);
	scorer_places_close(sc);
	scorer_sched_free(sc);
	scorer_loop_flush(sc);
	for (i = 0; i < sc->n_rx; i++) {
		pcre2_match_data_free(sc->rx[i].md);
		pcre2_code_free(sc->rx[i].code);
	}
	free(sc->rx);
	free(sc->probes);
	free(sc->cw);
	free(sc->late.ring);
	if (sc->ino_fd >= 0)
		close(sc->ino_fd);
	scorer_loop_close(sc);
	free(sc);
}


/*
 * The ground-truth log: one JSON object per line, appended by the three
 * services with single O_APPEND writes, so lines from several processes
 * never interleave. Every line has "ev", "mono_ns" (CLOCK_MONOTONIC, which
 * is one clock for every network namespace) and "real_ns". docs/lab.md
 * lists the events. The reader folds them into struct lab_truth and works
 * out the lost writes: acknowledged by A, not applied on B by the instant B
 * was promoted (after promotion B refuses replication, so late arrivals
 * never count).
 */
#include "lab_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lab_truth_open(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	lab_path(path, sizeof(path), dir, LAB_FILE_TRUTH);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

void lab_truth_emit(int fd, const char *ev, int64_t mono_ns, int64_t real_ns, json_t *extra)
{
	json_t *o = json_pack("{s:s, s:I, s:I}", "ev", ev, "mono_ns", (json_int_t)mono_ns,
			      "real_ns", (json_int_t)real_ns);
	char *line = NULL;

	if (!o)
		goto cleanup;
	if (extra)
		json_object_update(o, extra);
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line) {
		size_t n = strlen(line);

		line[n] = '\n';
		/* One write per line: O_APPEND makes it atomic against the other writers. */
		if (fd >= 0 && write(fd, line, n + 1) < 0) {
			/* The log is best effort for the service; the reader sees the gap. */
		}
		line[n] = '\0';
	}
cleanup:
	free(line);
	json_decref(o);
	json_decref(extra);
}

/* ---- reading ------------------------------------------------------------ */

struct applied {
	const char *key; /* owned */
	uint64_t seq;
	int64_t mono_ns;
};

struct reader {
	struct lab_truth *t;
	size_t acked_cap;
	struct applied *applied;
	size_t n_applied, applied_cap;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	void *p;
	size_t ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static char region_of(json_t *o)
{
	const char *r = json_string_value(json_object_get(o, "region"));

	return r && *r ? r[0] : 0;
}

static int add_ack(struct reader *rd, json_t *o, int64_t mono, int64_t real)
{
	struct lab_truth *t = rd->t;
	const char *key = json_string_value(json_object_get(o, "key"));
	struct lab_write *w;

	if (!key)
		return 0;
	if (grow((void **)&t->acked, &rd->acked_cap, t->n_acked + 1, sizeof(*t->acked)) < 0)
		return -ENOMEM;
	w = &t->acked[t->n_acked++];
	memset(w, 0, sizeof(*w));
	snprintf(w->key, sizeof(w->key), "%s", key);
	w->region = region_of(o);
	w->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	w->ack_mono_ns = mono;
	w->ack_real_ns = real;
	return 0;
}

static int add_apply(struct reader *rd, json_t *o, int64_t mono)
{
	const char *key = json_string_value(json_object_get(o, "key"));
	struct applied *a;

	if (!key)
		return 0;
	if (grow((void **)&rd->applied, &rd->applied_cap, rd->n_applied + 1,
		 sizeof(*rd->applied)) < 0)
		return -ENOMEM;
	a = &rd->applied[rd->n_applied];
	a->key = strdup(key);
	if (!a->key)
		return -ENOMEM;
	a->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	a->mono_ns = mono;
	rd->n_applied++;
	return 0;
}

/* The first instance of each one-off event wins. */
static void set_once(int64_t *mono, int64_t *real, int64_t m, int64_t r)
{
	if (*mono)
		return;
	*mono = m;
	*real = r;
}

static int fold(struct reader *rd, json_t *o)
{
	struct lab_truth *t = rd->t;
	const char *ev = json_string_value(json_object_get(o, "ev"));
	int64_t m = json_integer_value(json_object_get(o, "mono_ns"));
	int64_t r = json_integer_value(json_object_get(o, "real_ns"));

	if (!ev)
		return 0;
	if (strcmp(ev, "ack") == 0)
		return add_ack(rd, o, m, r);
	if (strcmp(ev, "apply") == 0)
		return add_apply(rd, o, m);
	if (strcmp(ev, "failed") == 0) {
		set_once(&t->failed_mono_ns, &t->failed_real_ns, m, r);
	} else if (strcmp(ev, "promote") == 0) {
		set_once(&t->promoted_mono_ns, &t->promoted_real_ns, m, r);
		if (!t->new_primary)
			t->new_primary = region_of(o);
	} else if (strcmp(ev, "switch") == 0) {
		set_once(&t->switched_mono_ns, &t->switched_real_ns, m, r);
	} else if (strcmp(ev, "first-serve") == 0) {
		set_once(&t->first_served_mono_ns, &t->first_served_real_ns, m, r);
	} else if (strcmp(ev, "first-ok") == 0) {
		set_once(&t->first_ok_mono_ns, &t->first_ok_real_ns, m, r);
	}
	return 0;
}

static int cmp_applied(const void *x, const void *y)
{
	const struct applied *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool applied_before(const struct reader *rd, const struct lab_write *w, int64_t by)
{
	struct applied probe = { .key = w->key, .seq = w->seq };
	/* no apply events yet: rd->applied is NULL, which bsearch must not get */
	const struct applied *a = rd->n_applied == 0 ? NULL :
				  bsearch(&probe, rd->applied, rd->n_applied,
					  sizeof(*rd->applied), cmp_applied);

	/* Duplicates (a resent batch) sort together; any early one will do. */
	if (!a)
		return false;
	while (a > rd->applied && cmp_applied(a - 1, &probe) == 0)
		a--;
	for (; a < rd->applied + rd->n_applied && cmp_applied(a, &probe) == 0; a++)
		if (a->mono_ns <= by)
			return true;
	return false;
}

static int compute_lost(struct reader *rd)
{
	struct lab_truth *t = rd->t;
	size_t cap = 0;

	if (!t->promoted_mono_ns)
		return 0;
	if (rd->n_applied > 0)
		qsort(rd->applied, rd->n_applied, sizeof(*rd->applied), cmp_applied);
	for (size_t i = 0; i < t->n_acked; i++) {
		const struct lab_write *w = &t->acked[i];

		if (w->region == t->new_primary || applied_before(rd, w, t->promoted_mono_ns))
			continue;
		if (grow((void **)&t->lost, &cap, t->n_lost + 1, sizeof(*t->lost)) < 0)
			return -ENOMEM;
		t->lost[t->n_lost++] = *w;
	}
	return 0;
}

int lab_truth_read(const char *state_dir, struct lab_truth **out, struct fd_error *err)
{
	const char *dir = lab_state_dir(state_dir);
	struct reader rd = { 0 };
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f = NULL;
	int rc = 0;

	*out = NULL;
	rd.t = calloc(1, sizeof(*rd.t));
	if (!rd.t)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "lab: out of memory");
	lab_path(path, sizeof(path), dir, LAB_FILE_TRUTH);
	f = fopen(path, "re");
	if (!f) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "lab: truth log %s: %s", path,
				  strerror(errno));
		goto cleanup;
	}
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);

		lineno++;
		/* A torn last line (a service killed mid-write) is skipped. */
		if (!o)
			continue;
		rc = fold(&rd, o);
		json_decref(o);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = compute_lost(&rd);
	if (rc < 0)
		rc = fd_error_set(err, FD_ERR_INTERNAL, rc, "lab: reading %s (line %u): %s", path,
				  lineno, strerror(-rc));
cleanup:
	if (f)
		fclose(f);
	free(line);
	for (size_t i = 0; i < rd.n_applied; i++)
		free((char *)rd.applied[i].key);
	free(rd.applied);
	if (rc < 0)
		lab_truth_free(rd.t);
	else
		*out = rd.t;
	return rc;
}

void lab_truth_free(struct lab_truth *t)
{
	if (!t)
		return;
	free(t->acked);
	free(t->lost);
	free(t);
}

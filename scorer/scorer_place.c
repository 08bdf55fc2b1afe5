/*
 * Places of probes and RPO actions: a network namespace a probe, canary
 * write or read, or RPO query runs in instead of the drill thread's
 * (docs/scorer.md, "Probe places"). A socket belongs to the namespace it is
 * created in and keeps it, so the loop's thread enters the namespace only
 * for the socket() call (tcp, curl's open-socket callback) or the pcap
 * open, and comes back at once; a command's child enters it after fork;
 * a dns probe has resolver threads of its own made inside it.
 *
 * Each namespace file is opened once per scorer: an open fd keeps the
 * namespace alive, so a probe never ends up somewhere else mid-iteration.
 * A file that cannot be opened (the process is gone) is not an error of
 * the scorer: every request of that place fails with the reason.
 */
#include "scorer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_netns.h"
#include "fd_priv.h"
#include "fd_time.h"

/* *out: the place of path, opened once; NULL for NULL (here). */
static int place_get(struct scorer *sc, const char *path, struct scorer_place **out,
		     struct fd_error *err)
{
	struct scorer_place *pl;
	char file[sizeof(pl->path)];
	struct fd_error e = { 0 };
	int rc;

	*out = NULL;
	if (!path)
		return 0;
	rc = fd_netns_path(path, file, sizeof(file), err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sc->n_places; i++) {
		if (strcmp(sc->places[i].path, file) == 0) {
			*out = &sc->places[i];
			return 0;
		}
	}
	pl = &sc->places[sc->n_places++];
	snprintf(pl->path, sizeof(pl->path), "%s", file);
	/* not an error of the scorer: each request there says why */
	pl->fd = fd_netns_open(file, &e);
	snprintf(pl->why, sizeof(pl->why), "%.*s", (int)sizeof(pl->why) - 1, e.msg);
	*out = pl;
	return 0;
}

int scorer_places_open(struct scorer *sc, const struct scorer_places *w, struct fd_error *err)
{
	int rc = 0;

	if (!w)
		return 0;
	/* at most one place per probe and action: pointers into it stay valid */
	sc->places = calloc(sc->s->n_probes + 3, sizeof(*sc->places));
	if (!sc->places)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && w->probe && i < sc->s->n_probes; i++)
		rc = place_get(sc, w->probe[i], &sc->probes[i].place, err);
	if (rc == 0)
		rc = place_get(sc, w->canary_write, &sc->write_place, err);
	if (rc == 0)
		rc = place_get(sc, w->canary_read, &sc->read_place, err);
	if (rc == 0)
		rc = place_get(sc, w->query, &sc->query_place, err);
	return rc;
}

void scorer_places_close(struct scorer *sc)
{
	for (size_t i = 0; i < sc->n_places; i++) {
		if (sc->places[i].fd >= 0)
			close(sc->places[i].fd);
		scorer_resolver_free(sc->places[i].res);
	}
	free(sc->places);
	sc->places = NULL;
	sc->n_places = 0;
}

int scorer_place_enter(const struct scorer_place *pl, int *home)
{
	int rc;

	*home = -1;
	if (!pl)
		return 0;
	if (pl->fd < 0)
		return -ENOENT;
	/* the thread's own namespace (the drill thread may be in its scope) */
	*home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*home < 0)
		return -errno;
	rc = fd_priv_setns(pl->fd);
	if (rc < 0) {
		close(*home);
		*home = -1;
	}
	return rc;
}

void scorer_place_leave(int home)
{
	if (home < 0)
		return;
	/* Back where the thread was, with the capability that let it out: this
	 * cannot fail, and the drill must never go on in the wrong namespace
	 * (its faults and other probes would land there). */
	if (fd_priv_setns(home) < 0)
		abort();
	close(home);
}

int scorer_place_socket(const struct scorer_place *pl, int domain, int type, int proto)
{
	int home, fd, rc = scorer_place_enter(pl, &home);

	if (rc < 0)
		return rc;
	fd = socket(domain, type | SOCK_CLOEXEC, proto);
	rc = fd < 0 ? -errno : fd;
	scorer_place_leave(home);
	return rc;
}

bool scorer_place_refused(struct scorer *sc, const struct scorer_place *pl, job_done_fn done,
			  void *cookie, int64_t *sent_ns)
{
	struct job_result r = { 0 };

	if (!pl || pl->fd >= 0)
		return false;
	*sent_ns = r.sent_ns = r.done_ns = fd_mono_ns();
	snprintf(r.detail, sizeof(r.detail), "%s", pl->why);
	done(sc, cookie, &r);
	return true;
}

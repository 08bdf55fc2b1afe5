/*
 * log probes: follow a file like `tail -F`. Only lines written after
 * scorer_start count. inotify on the file's directory reports writes,
 * renames and re-creation at once; a stat at the probe interval backs it
 * up (filesystems without inotify, missed events). Rotation is a new inode
 * at the path: the rest of the old file is read first, then the new one
 * from its start. Truncation is a size below our offset: read from 0.
 * The event time of a matching line is when it was read.
 */
#include "scorer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_time.h"

#define LOG_LINE_MAX 4096

struct logp {
	struct tnode tick;
	struct probe_rt *pr;
	int fd;
	dev_t dev;
	ino_t ino;
	off_t off;
	char line[LOG_LINE_MAX];
	size_t llen;
	bool overlong; /* the current line outgrew the buffer: match on its head */
};

static void line_done(struct scorer *sc, struct logp *lp)
{
	const struct regex_entry *ok_re = scorer_regex(sc, lp->pr->p->log.match);
	const struct regex_entry *fail_re = scorer_regex(sc, lp->pr->p->log.fail_match);
	int64_t now = fd_mono_ns();

	if (sc->running && fail_re && scorer_regex_match(fail_re, lp->line, lp->llen, NULL, NULL))
		scorer_probe_emit(sc, lp->pr, now, false, 0, lp->line);
	else if (sc->running && ok_re && scorer_regex_match(ok_re, lp->line, lp->llen, NULL, NULL))
		scorer_probe_emit(sc, lp->pr, now, true, 0, lp->line);
	lp->llen = 0;
	lp->overlong = false;
}

static void feed(struct scorer *sc, struct logp *lp, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			lp->line[lp->llen] = '\0';
			line_done(sc, lp);
		} else if (lp->llen < LOG_LINE_MAX - 1) {
			lp->line[lp->llen++] = buf[i];
		} else {
			lp->overlong = true;
		}
	}
}

static void read_new(struct scorer *sc, struct logp *lp)
{
	char buf[16384];
	ssize_t n;

	while (lp->fd >= 0) {
		n = pread(lp->fd, buf, sizeof(buf), lp->off);
		if (n <= 0)
			return;
		lp->off += n;
		feed(sc, lp, buf, (size_t)n);
	}
}

static void reopen(struct logp *lp, bool at_end)
{
	struct stat st;
	int fd = open(lp->pr->p->log.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (lp->fd >= 0)
		close(lp->fd);
	lp->fd = fd;
	lp->off = 0;
	lp->llen = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	lp->dev = st.st_dev;
	lp->ino = st.st_ino;
	if (at_end)
		lp->off = st.st_size;
}

static void check(struct scorer *sc, struct logp *lp)
{
	struct stat st;

	read_new(sc, lp);
	if (lp->fd >= 0 && fstat(lp->fd, &st) == 0 && st.st_size < lp->off) {
		lp->off = 0;
		lp->llen = 0;
		read_new(sc, lp);
	}
	if (stat(lp->pr->p->log.path, &st) < 0)
		return;
	if (lp->fd < 0 || st.st_ino != lp->ino || st.st_dev != lp->dev) {
		reopen(lp, false);
		read_new(sc, lp);
	}
}

static void tick(struct scorer *sc, struct tnode *t)
{
	struct logp *lp = (struct logp *)t;

	if (!sc)
		return;
	check(sc, lp);
	scorer_timer_arm(sc, t, fd_mono_ns() + lp->pr->p->interval_ns);
}

static void log_inotify(struct scorer *sc)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t i;

	while (read(sc->ino_fd, buf, sizeof(buf)) > 0)
		;
	for (i = 0; i < sc->n_probes; i++)
		if (sc->probes[i].p->kind == PROBE_LOG && sc->probes[i].impl)
			check(sc, sc->probes[i].impl);
}

static void ino_event(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	(void)ev;
	(void)events;
	log_inotify(sc);
}

int scorer_log_open(struct scorer *sc, struct probe_rt *pr, struct fd_error *err)
{
	struct logp *lp;
	char *copy, *dir;
	int rc = 0;

	if (sc->ino_fd < 0) {
		sc->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (sc->ino_fd < 0)
			return fd_error_set(err, FD_ERR_ENV, -errno, "inotify: %s", strerror(errno));
		sc->ino_ev.fd = sc->ino_fd;
		sc->ino_ev.fn = ino_event;
		scorer_loop_add(sc, &sc->ino_ev, EPOLLIN);
	}
	copy = strdup(pr->p->log.path);
	lp = calloc(1, sizeof(*lp));
	if (!copy || !lp) {
		free(copy);
		free(lp);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	lp->fd = -1;
	lp->pr = pr;
	lp->tick.fn = tick;
	dir = dirname(copy);
	if (inotify_add_watch(sc->ino_fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO |
			      IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB) < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "log %s: cannot watch '%s': %s",
				  pr->p->log.path, dir, strerror(errno));
		free(lp);
		lp = NULL;
	}
	free(copy);
	pr->impl = lp;
	return rc;
}

void scorer_log_start(struct scorer *sc, struct probe_rt *pr)
{
	struct logp *lp = pr->impl;

	reopen(lp, true);
	scorer_timer_arm(sc, &lp->tick, fd_mono_ns() + pr->p->interval_ns);
}

void scorer_log_close(struct scorer *sc, struct probe_rt *pr)
{
	struct logp *lp = pr->impl;

	if (!lp)
		return;
	scorer_timer_disarm(sc, &lp->tick);
	if (lp->fd >= 0)
		close(lp->fd);
	free(lp);
	pr->impl = NULL;
}

/*
 * fleet_proto: the wire of a fleet drill. One JSON object per line, both
 * ways; a line may be long (a prepare carries the scenario's text), so the
 * reader grows its buffer, up to a bound that no honest peer reaches.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_time.h"
#include "fleet_int.h"

#define LINE_MAX_BYTES (16u << 20)

int fleet_lines_fill(struct fleet_lines *l, int fd)
{
	for (;;) {
		ssize_t got;

		if (l->cap - l->len < 4096) {
			size_t cap = l->cap ? l->cap * 2 : 8192;
			char *grown;

			if (cap > LINE_MAX_BYTES + 8192)
				return -EMSGSIZE;
			grown = realloc(l->buf, cap);
			if (!grown)
				return -ENOMEM;
			l->buf = grown;
			l->cap = cap;
		}
		got = read(fd, l->buf + l->len, l->cap - l->len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (got < 0)
			return -errno;
		if (got == 0) {
			l->eof = true;
			return 0;
		}
		l->len += (size_t)got;
	}
}

char *fleet_lines_next(struct fleet_lines *l)
{
	char *nl = l->len ? memchr(l->buf, '\n', l->len) : NULL;
	size_t n;
	char *line;

	if (!nl)
		return NULL;
	n = (size_t)(nl - l->buf);
	line = strndup(l->buf, n);
	if (!line)
		return NULL;
	memmove(l->buf, nl + 1, l->len - n - 1);
	l->len -= n + 1;
	return line;
}

void fleet_lines_free(struct fleet_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

int fleet_send(int fd, json_t *msg, int64_t deadline_mono_ns)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;
	int rc = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	text[len] = '\0';
	while (off <= len && rc == 0) {
		/* the newline goes out with the text (json_dumps has no room for it) */
		const char *p = off < len ? text + off : "\n";
		size_t n = off < len ? len - off : 1;
		ssize_t put = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (put < 0 && errno == ENOTSOCK)
			put = write(fd, p, n);
		if (put >= 0) {
			off += (size_t)put;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int64_t left = deadline_mono_ns - fd_mono_ns();
			struct pollfd p1 = { .fd = fd, .events = POLLOUT };

			if (left <= 0)
				rc = -ETIMEDOUT;
			else if (poll(&p1, 1, (int)(left / FD_NS_PER_MS) + 1) < 0 && errno != EINTR)
				rc = -errno;
			continue;
		}
		rc = -errno;
	}
	free(text);
	return rc;
}

#include "fd_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fd_error_clear(struct fd_error *e)
{
	if (!e)
		return;
	e->kind = FD_ERR_NONE;
	e->msg[0] = '\0';
}

int fd_error_set(struct fd_error *e, enum fd_error_kind kind, int code,
		 const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void fd_error_prefix(struct fd_error *e, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, mlen;
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	mlen = strlen(e->msg);
	/* prefix + ": " + message + NUL; the message's tail is cut when too long */
	if (plen + 2 + mlen + 1 > sizeof(e->msg))
		mlen = sizeof(e->msg) - plen - 3;
	memmove(e->msg + plen + 2, e->msg, mlen);
	e->msg[plen + 2 + mlen] = '\0';
	memcpy(e->msg, prefix, plen);
	memcpy(e->msg + plen, ": ", 2);
}

int fd_error_exit_code(const struct fd_error *e)
{
	switch (e ? e->kind : FD_ERR_INTERNAL) {
	case FD_ERR_NONE:
		return 0;
	case FD_ERR_INPUT:
		return 2;
	case FD_ERR_ENV:
		return 3;
	case FD_ERR_INTERNAL:
	default:
		return 4;
	}
}

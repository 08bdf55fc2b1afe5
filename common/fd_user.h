/*
 * Who runs firedrill: the name recorded as a drill's operator when the
 * user gives none.
 */
#ifndef FD_USER_H
#define FD_USER_H

#include <stddef.h>

/*
 * The operator's name into buf: `given` when non-empty, else the invoking
 * user, i.e. SUDO_USER (the person behind sudo, not root), then the login
 * name (getlogin_r), then the name of the effective uid
 * (getpwuid(geteuid())). "unknown" only when the system knows none of
 * these. Returns buf.
 */
char *fd_operator_name(const char *given, char *buf, size_t len);

#endif

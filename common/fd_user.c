/* The operator's default name (fd_user.h). */
#include "fd_user.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* LOGIN_NAME_MAX is 256 on Linux; getlogin_r needs room for the NUL. */
#define FD_LOGIN_MAX 257

static const char *invoking_user(char *login, size_t len)
{
	const char *u = getenv("SUDO_USER");
	struct passwd *pw;

	if (u && *u)
		return u;
	/* Fails without a controlling terminal (cron, CI): fall through. */
	if (getlogin_r(login, len) == 0 && *login)
		return login;
	pw = getpwuid(geteuid());
	return pw && pw->pw_name && *pw->pw_name ? pw->pw_name : NULL;
}

char *fd_operator_name(const char *given, char *buf, size_t len)
{
	char login[FD_LOGIN_MAX];
	const char *u = given && *given ? given : invoking_user(login, sizeof(login));

	snprintf(buf, len, "%s", u ? u : "unknown");
	return buf;
}

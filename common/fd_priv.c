/* Capability handling (docs/drill.md, "Who holds what"). */
#include "fd_priv.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char **environ;

/* libcap-ng resets its state in a forked child (pthread_atfork), so the
 * child clears and applies itself. capng_clear() may read /proc: not
 * strictly async-signal-safe in a threaded parent (the DNS resolver
 * threads); a raw prctl()/capset() version is the fallback if that bites. */
static void child_drop(void)
{
	/* Bounding set first (it needs CAP_SETPCAP), then the sets.
	 * It fails only without CAP_SETPCAP, i.e. when nothing is held. */
	capng_clear(CAPNG_SELECT_BOTH);
	(void)capng_apply(CAPNG_SELECT_BOTH);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

int fd_priv_spawn_sh(pid_t *pid, const char *cmd, int out_fd, int err_fd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	pid_t p;

	p = fork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		sigset_t none;
		int fd;

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fd = open("/dev/null", O_RDONLY);
		if (fd > 0) {
			dup2(fd, 0);
			close(fd);
		}
		if (out_fd != 1)
			dup2(out_fd, 1);
		if (err_fd != 2)
			dup2(err_fd, 2);
		child_drop();
		execve(argv[0], argv, environ);
		_exit(127);
	}
	/* The parent's group too, before the caller signals -pid. */
	setpgid(p, p);
	*pid = p;
	return 0;
}

void fd_priv_drop_all(void)
{
	if (capng_get_caps_process() < 0 ||
	    capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
		return; /* not root, nothing held: nothing to do */
	capng_clear(CAPNG_SELECT_BOTH);
	(void)capng_apply(CAPNG_SELECT_BOTH);
}

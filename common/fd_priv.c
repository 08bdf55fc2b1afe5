/* Capability handling (docs/drill.md, "Who holds what"). */
#include "fd_priv.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

/*
 * In the forked child of a threaded parent only async-signal-safe calls are
 * allowed, so this is plain syscalls, not libcap-ng (which may allocate
 * and read /proc). The parent may have lowered its effective set
 * (fd_priv_lower), so CAP_SETPCAP is raised from the permitted set first;
 * the bounding set goes next (it needs CAP_SETPCAP), then every set.
 */
static void child_drop(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2] = { { 0 } };

	if (syscall(SYS_capget, &h, c) != 0 || (c[0].permitted | c[1].permitted) == 0)
		return; /* nothing held */
	c[0].effective = c[0].permitted;
	c[1].effective = c[1].permitted;
	(void)syscall(SYS_capset, &h, c);
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL)
			break; /* past the kernel's last capability */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(c, 0, sizeof(c));
	(void)syscall(SYS_capset, &h, c);
}

/* CAP_SYS_ADMIN's bit in the first word of the capability sets. */
#define SYS_ADMIN_BIT (1u << CAP_SYS_ADMIN)

int fd_priv_setns(int fd)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2] = { { 0 } };
	bool raised = false;
	int rc = 0;

	if (syscall(SYS_capget, &h, c) == 0 && (c[0].permitted & SYS_ADMIN_BIT) &&
	    !(c[0].effective & SYS_ADMIN_BIT)) {
		c[0].effective |= SYS_ADMIN_BIT;
		raised = syscall(SYS_capset, &h, c) == 0;
	}
	if (setns(fd, CLONE_NEWNET) < 0)
		rc = -errno;
	if (raised) {
		c[0].effective &= ~SYS_ADMIN_BIT;
		(void)syscall(SYS_capset, &h, c);
	}
	return rc;
}

/* In the child: into the namespace, or say why not on stderr and exit 126. */
static void child_enter(int fd)
{
	static const char msg[] = "netns: cannot enter the network namespace: ";
	const char *why;
	int rc = fd_priv_setns(fd);

	if (rc == 0)
		return;
	/* no strerror: nothing that may allocate or read locale files here */
	why = rc == -EPERM ? "Operation not permitted (needs CAP_SYS_ADMIN)"
	      : rc == -EINVAL ? "Invalid argument (not a network namespace?)" : "setns failed";
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, why, strlen(why));
	(void)!write(2, "\n", 1);
	_exit(126);
}

int fd_priv_spawn_sh(pid_t *pid, const char *cmd, const struct fd_priv_spawn *o)
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
		if (o->out_fd != 1)
			dup2(o->out_fd, 1);
		if (o->err_fd != 2)
			dup2(o->err_fd, 2);
		if (o->netns_fd >= 0)
			child_enter(o->netns_fd);
		if (!o->keep_caps)
			child_drop();
		(void)syscall(SYS_close_range, 3u, ~0u, 0u);
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

/* ---- the drill process: narrowed once, raised only around the injector ---- */

/* What a drill's own process may still need: netlink writes of apply and
 * revert (NET_ADMIN), pcap handles opened per iteration (NET_RAW), signals
 * to other users' processes (KILL), namespaces and cgroups (SYS_ADMIN),
 * /proc of other users' processes (SYS_PTRACE), files in any folder
 * (DAC_*, FOWNER, CHOWN), and CAP_SETPCAP so that its probe children can
 * empty their bounding set. Everything else (modules, raw I/O, reboot,
 * clock, setuid, bpf, ...) is dropped for good. The bounding set is left
 * whole: runbook steps and exec hooks are the team's own commands and get
 * root's capabilities back at exec. */
static const int keep[] = {
	CAP_NET_ADMIN, CAP_NET_RAW, CAP_KILL, CAP_SYS_ADMIN, CAP_SYS_PTRACE,
	CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN, CAP_SETPCAP,
};
/* Effective while lowered: only file access (the store, reports, logs). */
static const int files[] = { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER };

static bool narrowed;

static bool in(const int *set, size_t n, int cap)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == cap)
			return true;
	return false;
}

/* Effective = permitted (raise), or permitted & files, plus SYS_PTRACE when ptrace. */
static void set_effective(bool raise, bool ptrace)
{
	if (capng_get_caps_process() < 0)
		return;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		bool on = capng_have_capability(CAPNG_PERMITTED, (unsigned)cap) &&
			  (raise || in(files, sizeof(files) / sizeof(files[0]), cap) ||
			   (ptrace && cap == CAP_SYS_PTRACE));

		capng_update(on ? CAPNG_ADD : CAPNG_DROP, CAPNG_EFFECTIVE, (unsigned)cap);
	}
	(void)capng_apply(CAPNG_SELECT_CAPS);
}

void fd_priv_lower(void)
{
	if (!narrowed) {
		if (capng_get_caps_process() < 0 ||
		    capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
			return; /* not root, nothing held: nothing to do */
		for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
			if (!in(keep, sizeof(keep) / sizeof(keep[0]), cap))
				capng_update(CAPNG_DROP, CAPNG_PERMITTED | CAPNG_EFFECTIVE |
					     CAPNG_INHERITABLE, (unsigned)cap);
		if (capng_apply(CAPNG_SELECT_CAPS) < 0)
			return;
		narrowed = true;
	}
	set_effective(false, false);
}

void fd_priv_raise(void)
{
	if (narrowed)
		set_effective(true, false);
}

void fd_priv_proc_read(void)
{
	if (narrowed)
		set_effective(false, true);
}

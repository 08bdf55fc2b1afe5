/*
 * fdtest: helpers for the integration tests (see fdtest.h). Everything a
 * test creates through here is registered and removed by one atexit
 * handler, namespaces first (a process inside one may hold a file open in a
 * temporary directory), so a test that fails half-way leaves nothing.
 */
#include "fdtest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_netns.h"
#include "fd_time.h"

#define MAX_OWNED 16

int fdt_failures;
bool fdt_trace;

/* What this process removes at exit. */
static struct {
	enum { OWNED_NONE, OWNED_NETNS, OWNED_DIR } kind;
	char name[256];
} owned[MAX_OWNED];
static pid_t owner_pid; /* forked children must not remove their parent's things */

void fdt_check_failed(const char *file, int line, const char *cond)
{
	fprintf(stderr, "FAIL %s:%d: %s: ", file, line, cond);
	fdt_failures++;
}

int fdt_finish(void)
{
	fprintf(stderr, "%s (%d failure%s)\n", fdt_failures ? "FAILED" : "ok", fdt_failures,
		fdt_failures == 1 ? "" : "s");
	return fdt_failures ? 1 : 0;
}

bool fdt_need_root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "skip: needs root (network namespaces)\n");
	return false;
}

/* ---- commands -------------------------------------------------------------- */

static int status_of(int st)
{
	if (st == -1)
		return 128;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int vsh(const char *fmt, va_list ap)
{
	char cmd[4096];
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	if (fdt_trace)
		fprintf(stderr, "+ %s\n", cmd);
	st = status_of(system(cmd));
	if (fdt_trace)
		fprintf(stderr, "  exit %d\n", st);
	return st;
}

int fdt_sh(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = vsh(fmt, ap);
	va_end(ap);
	return st;
}

void fdt_setup(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (fdt_sh("%s", cmd) != 0)
		fprintf(stderr, "(setup command failed: %s)\n", cmd);
}

int fdt_capture(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	p = popen(cmd, "r");
	if (!p)
		return 128;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return status_of(pclose(p));
}

int fdt_write_file(const char *path, const char *fmt, ...)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	va_list ap;
	int rc;

	if (!f) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	va_start(ap, fmt);
	rc = vfprintf(f, fmt, ap) < 0 ? -EIO : 0;
	va_end(ap);
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ---- what is removed at exit ------------------------------------------------ */

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void forget(int kind, const char *name)
{
	for (int i = 0; i < MAX_OWNED; i++)
		if ((int)owned[i].kind == kind && strcmp(owned[i].name, name) == 0)
			owned[i].kind = OWNED_NONE;
}

void fdt_cleanup(void)
{
	if (getpid() != owner_pid)
		return;
	for (int i = MAX_OWNED - 1; i >= 0; i--)
		if (owned[i].kind == OWNED_NETNS)
			fdt_netns_del(owned[i].name);
	for (int i = MAX_OWNED - 1; i >= 0; i--) {
		if (owned[i].kind != OWNED_DIR)
			continue;
		nftw(owned[i].name, remove_one, 16, FTW_DEPTH | FTW_PHYS);
		owned[i].kind = OWNED_NONE;
	}
}

/* Registers name for removal at exit; installs the exit handler once. */
static int own(int kind, const char *name)
{
	if (!owner_pid) {
		owner_pid = getpid();
		atexit(fdt_cleanup);
	}
	for (int i = 0; i < MAX_OWNED; i++) {
		if (owned[i].kind == OWNED_NONE) {
			owned[i].kind = kind;
			snprintf(owned[i].name, sizeof(owned[i].name), "%s", name);
			return 0;
		}
	}
	fprintf(stderr, "fdtest: more than %d things to remove at exit\n", MAX_OWNED);
	return -ENOSPC;
}

int fdt_tmpdir(char *buf, size_t len, const char *prefix)
{
	if ((size_t)snprintf(buf, len, "/tmp/%s-XXXXXX", prefix) >= len ||
	    strlen(buf) >= sizeof(owned[0].name))
		return -ENAMETOOLONG;
	if (!mkdtemp(buf))
		return -errno;
	return own(OWNED_DIR, buf);
}

/* ---- namespaces --------------------------------------------------------------- */

static bool test_name(const char *name)
{
	if (strncmp(name, "fdt-", 4) == 0 && strlen(name) < 64 && !strpbrk(name, " /;'\"$`\\"))
		return true;
	fprintf(stderr, "fdtest: refusing namespace \"%s\" (a test's own start with fdt-)\n", name);
	return false;
}

int fdt_netns_add(const char *name, const char *const *addrs)
{
	if (!test_name(name))
		return -1;
	fdt_sh("ip netns del %s 2>/dev/null", name);
	if (fdt_sh("ip netns add %s && ip -n %s link set lo up", name, name) != 0 ||
	    own(OWNED_NETNS, name)) {
		fprintf(stderr, "fdtest: cannot build namespace %s\n", name);
		return -1;
	}
	for (; addrs && *addrs; addrs++) {
		if (fdt_sh("ip -n %s addr add %s dev lo", name, *addrs) != 0) {
			fprintf(stderr, "fdtest: cannot add %s to %s\n", *addrs, name);
			return -1;
		}
	}
	return 0;
}

void fdt_netns_del(const char *name)
{
	char copy[256]; /* name may be the registry's own row */

	snprintf(copy, sizeof(copy), "%s", name);
	if (!test_name(copy))
		return;
	fdt_sh("ip netns del %s 2>/dev/null", copy);
	forget(OWNED_NETNS, copy);
}

/* One end of a veth pair: its address (when given) and up. */
static int veth_end(const char *ns, const char *ifname, const char *addr)
{
	if (addr && fdt_sh("ip -n %s addr add %s dev %s", ns, addr, ifname) != 0)
		return -1;
	return fdt_sh("ip -n %s link set %s up", ns, ifname) != 0 ? -1 : 0;
}

int fdt_veth_add(const char *ns_a, const char *if_a, const char *addr_a, const char *ns_b,
		 const char *if_b, const char *addr_b)
{
	if (!test_name(ns_a) || !test_name(ns_b))
		return -1;
	if (fdt_sh("ip -n %s link add %s type veth peer name %s netns %s", ns_a, if_a, if_b,
		   ns_b) != 0 ||
	    veth_end(ns_a, if_a, addr_a) || veth_end(ns_b, if_b, addr_b)) {
		fprintf(stderr, "fdtest: cannot build veth %s/%s - %s/%s\n", ns_a, if_a, ns_b, if_b);
		return -1;
	}
	return 0;
}

/* ---- inside a namespace --------------------------------------------------------- */

pid_t fdt_netns_spawn(const char *ns, int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct fd_error e;

		if (ns && fd_netns_enter(ns, &e) < 0) {
			fprintf(stderr, "fdtest: %s\n", e.msg);
			_exit(125);
		}
		_exit(fn(arg));
	}
	return pid;
}

int fdt_netns_call(const char *ns, int (*fn)(void *arg), void *arg)
{
	pid_t pid = fdt_netns_spawn(ns, fn, arg);
	int st;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void fdt_child_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

bool fdt_child_reaped(pid_t pid, int *status, int64_t timeout_ms)
{
	int64_t deadline = fd_mono_ns() + timeout_ms * FD_NS_PER_MS;
	pid_t w;

	if (pid <= 0)
		return false;
	while ((w = waitpid(pid, status, WNOHANG)) == 0 || (w < 0 && errno == EINTR)) {
		if (fd_mono_ns() >= deadline)
			return false;
		usleep(5000);
	}
	return w == pid;
}

/* ---- waiting ------------------------------------------------------------------------ */

bool fdt_wait_until(bool (*cond)(void *arg), void *arg, int64_t timeout_ms, int64_t step_ms)
{
	int64_t deadline = fd_mono_ns() + timeout_ms * FD_NS_PER_MS;
	bool ok;

	while (!(ok = cond(arg)) && fd_mono_ns() < deadline)
		usleep((useconds_t)(step_ms * 1000));
	return ok;
}

bool fdt_flag_set(void *arg)
{
	return *(volatile int *)arg != 0;
}

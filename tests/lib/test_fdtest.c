/*
 * fdtest's own check, as root: two namespaces joined by a veth pair reach
 * each other (a refused TCP connection is an answer) and the host does not
 * reach them, a spawned child is stopped, waiting sees its condition, names
 * that are not a test's are refused, and nothing is left after exit (the
 * meson test runs this twice: the second run finds no leftover).
 * Exit 77 (skip) when not root.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fdtest.h"

#define NS_A "fdt-self-a"
#define NS_B "fdt-self-b"

/* 0 when a TCP connection to 10.250.8.2:1 is answered (refused counts). */
static int reach_b(void *arg)
{
	return fdt_sh("timeout 2 bash -c 'exec 3<>/dev/tcp/10.250.8.2/1' 2>&1 | grep -q refused");
}

static int sleep_forever(void *arg)
{
	for (;;)
		pause();
	return 0;
}

int main(void)
{
	char dir[256], out[4096];
	int flag = 1;
	pid_t pid;

	if (!fdt_need_root())
		return FDT_SKIP;
	fdt_capture(out, sizeof(out), "ip netns list; ls -d /tmp/fdt-self-* 2>/dev/null");
	FDT_CHECK(!strstr(out, "fdt-self"), "left by an earlier run: %s", out);
	FDT_CHECK(fdt_tmpdir(dir, sizeof(dir), "fdt-self") == 0, "tmpdir");
	strcat(dir, "/file");
	FDT_CHECK(fdt_write_file(dir, "%d\n", 42) == 0, "write %s", dir);
	FDT_CHECK(fdt_netns_add(NS_A, NULL) == 0, "namespace a");
	FDT_CHECK(fdt_netns_add(NS_B, (const char *const[]){ "10.250.9.9/32", NULL }) == 0, "b");
	FDT_CHECK(fdt_veth_add(NS_A, "sa", "10.250.8.1/24", NS_B, "sb", "10.250.8.2/24") == 0,
		  "veth");
	FDT_CHECK(fdt_netns_call(NS_A, reach_b, NULL) == 0, "a reaches b over the veth pair");
	FDT_CHECK(fdt_netns_call(NULL, reach_b, NULL) != 0, "the host reaches b");
	pid = fdt_netns_spawn(NS_B, sleep_forever, NULL);
	FDT_CHECK(pid > 0, "spawn: %s", strerror(errno));
	fdt_child_stop(pid);
	FDT_CHECK(fdt_netns_add("firedrill", NULL) < 0, "a name that is not a test's");
	FDT_CHECK(fdt_wait_until(fdt_flag_set, &flag, 1000, 10), "flag set");
	flag = 0;
	FDT_CHECK(!fdt_wait_until(fdt_flag_set, &flag, 50, 10), "flag clear");
	return fdt_finish();
}

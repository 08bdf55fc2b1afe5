#include "fd_proc.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_time.h"

uint64_t fd_proc_start_ticks(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	FILE *f;
	size_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm (field 2) may contain spaces and ')': fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	/* After ") ": field 3 (state) is token 0, so field 22 is token 19. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			  "%*d %*d %llu", &start) != 1)
		return 0;
	return start;
}

static unsigned long long boot_time_s(void)
{
	unsigned long long btime = 0;
	char line[256];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

int64_t fd_proc_start_real_ns(pid_t pid)
{
	uint64_t ticks = fd_proc_start_ticks(pid);
	unsigned long long btime;
	long hz = sysconf(_SC_CLK_TCK);

	if (!ticks || hz <= 0)
		return 0;
	btime = boot_time_s();
	if (!btime)
		return 0;
	return (int64_t)btime * FD_NS_PER_S +
	       (int64_t)(ticks * (uint64_t)FD_NS_PER_S / (uint64_t)hz);
}

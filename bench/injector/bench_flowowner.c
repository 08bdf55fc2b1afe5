/*
 * bench_flowowner: what one /proc pass of the flow-owner lookup costs
 * (injector/flowowner.c): the time to search every process's open files
 * for a socket inode, with the processes the host has and with EXTRA more
 * children that each hold FDS open files. The inode searched for is one
 * nobody holds, so each pass reads every link (the worst case: a found
 * socket costs the same, the pass never stops early). Prints the median
 * and minimum of RUNS passes per setting; never fails on time.
 *
 *   build/bench/injector/bench_flowowner [RUNS [EXTRA [FDS]]]
 *
 * Defaults: 21 runs, 1000 extra children, 16 files each. Root sees every
 * process's fds; as another user the pass skips those it may not read.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_time.h"
#include "injector_int.h"

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Processes and open files the pass sees now. */
static void census(size_t *procs, size_t *fds)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[300];

	*procs = *fds = 0;
	while (d && (e = readdir(d))) {
		DIR *f;
		struct dirent *g;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", e->d_name);
		f = opendir(path);
		if (!f)
			continue;
		(*procs)++;
		while ((g = readdir(f)))
			*fds += g->d_name[0] != '.';
		closedir(f);
	}
	if (d)
		closedir(d);
}

static void measure(const char *label, int runs)
{
	int64_t *t = calloc((size_t)runs, sizeof(*t));
	size_t procs, fds;

	census(&procs, &fds);
	for (int i = 0; t && i < runs; i++) {
		struct fd_flow_owner o = { 0 };
		struct inj_owner_wait w = { .inode = UINT64_MAX, .owner = &o };
		int64_t start = fd_mono_ns();

		inj_flowowner_procs("/proc", &w, 1, NULL, INJ_OWNER_MAX_FDS);
		t[i] = fd_mono_ns() - start;
	}
	if (t) {
		qsort(t, (size_t)runs, sizeof(*t), cmp_i64);
		printf("%-28s %6zu processes %8zu open files: median %7.2f ms, min %7.2f ms\n", label,
		       procs, fds, (double)t[runs / 2] / 1e6, (double)t[0] / 1e6);
	}
	free(t);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 21, extra = argc > 2 ? atoi(argv[2]) : 1000;
	int fds = argc > 3 ? atoi(argv[3]) : 16;
	pid_t *kids = calloc((size_t)extra + 1, sizeof(*kids));
	char label[64];

	if (runs < 1 || extra < 0 || fds < 0 || !kids)
		return 2;
	measure("this host", runs);
	for (int i = 0; i < extra; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			for (int k = 0; k < fds; k++)
				if (dup(1) < 0)
					break;
			pause();
			_exit(0);
		}
	}
	usleep(200000); /* the children have opened their files */
	snprintf(label, sizeof(label), "+%d children x %d files", extra, fds);
	measure(label, runs);
	for (int i = 0; i < extra; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	for (int i = 0; i < extra; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	free(kids);
	return 0;
}

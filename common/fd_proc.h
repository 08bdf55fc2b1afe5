/*
 * Process identity from /proc: a pid alone can be recycled, a pid plus its
 * start time cannot. Used wherever firedrill records a process (drill
 * holders, fault holders) and later asks "is it still the same one?".
 */
#ifndef FD_PROC_H
#define FD_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Start time of pid in clock ticks since boot (/proc/PID/stat field 22); 0 if unknown. */
uint64_t fd_proc_start_ticks(pid_t pid);

/* The same as CLOCK_REALTIME ns (boot time + ticks); 0 if unknown. */
int64_t fd_proc_start_real_ns(pid_t pid);

#endif

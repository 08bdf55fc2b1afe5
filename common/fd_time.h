/*
 * Clocks and durations.
 *
 * Every interval firedrill measures (RTO, laps, probe latency) comes from
 * CLOCK_MONOTONIC; CLOCK_REALTIME is only for printing wall times and for
 * the timestamps written into canary records. Durations are int64_t
 * nanoseconds everywhere.
 */
#ifndef FD_TIME_H
#define FD_TIME_H

#include <stddef.h>
#include <stdint.h>

#define FD_NS_PER_MS INT64_C(1000000)
#define FD_NS_PER_S  INT64_C(1000000000)

int64_t fd_mono_ns(void);
int64_t fd_real_ns(void);

/*
 * Parses "250ms", "30s", "5m", "1h30m", "1h5m10s", "1.5s", "10us" into ns.
 * A bare number is refused (a unit is required). Returns 0 or -EINVAL
 * (malformed) / -ERANGE (overflow).
 */
int fd_duration_parse(const char *s, int64_t *out_ns);

/*
 * Formats a duration for people: "850 ms", "42.3 s", "5m12s", "1h05m".
 * Negative values get a leading "-". Returns buf.
 */
char *fd_duration_format(int64_t ns, char *buf, size_t len);

/*
 * A measured duration with its two-sided bound, the true value lying in
 * [ns - minus_ns, ns + plus_ns]: "81 ms (-30/+20 ms)", or with the unit on
 * each side when they differ: "1.2 s (-250 ms/+1.1 s)". Returns buf.
 */
char *fd_bounded_format(int64_t ns, int64_t minus_ns, int64_t plus_ns, char *buf, size_t len);

/* Formats wall-clock ns as ISO 8601 UTC: "2026-11-26T03:15:30.123Z". */
char *fd_time_format_utc(int64_t real_ns, char *buf, size_t len);

#endif

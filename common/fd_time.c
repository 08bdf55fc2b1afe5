#include "fd_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * FD_NS_PER_S + ts.tv_nsec;
}

int64_t fd_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t fd_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

struct unit {
	const char *name;
	int64_t ns;
};

/* Longest names first so "ms" is not read as "m" followed by "s". */
static const struct unit units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "ms", FD_NS_PER_MS },
	{ "s", FD_NS_PER_S },
	{ "m", 60 * FD_NS_PER_S },
	{ "h", 3600 * FD_NS_PER_S },
	{ "d", 86400 * FD_NS_PER_S },
};

static const struct unit *match_unit(const char *s, size_t *len)
{
	const struct unit *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);
		if (n > best_len && strncmp(s, units[i].name, n) == 0) {
			best = &units[i];
			best_len = n;
		}
	}
	*len = best_len;
	return best;
}

int fd_duration_parse(const char *s, int64_t *out_ns)
{
	int64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		int64_t whole = 0, frac = 0, frac_div = 1;
		const struct unit *u;
		size_t ulen;
		int digits = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			if (whole > (INT64_MAX - 9) / 10)
				return -ERANGE;
			whole = whole * 10 + (*s - '0');
		}
		if (*s == '.') {
			for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
				if (frac_div < FD_NS_PER_S) {
					frac = frac * 10 + (*s - '0');
					frac_div *= 10;
				}
			}
		}
		if (digits == 0)
			return -EINVAL;
		u = match_unit(s, &ulen);
		if (!u)
			return -EINVAL;
		s += ulen;
		if (whole > INT64_MAX / u->ns)
			return -ERANGE;
		/*
		 * frac/frac_div of a unit in integers: through a double, "0.3s"
		 * came out as 299999999 ns. Both products stay far below 2^63.
		 */
		int64_t frac_ns = frac * (u->ns / frac_div) + frac * (u->ns % frac_div) / frac_div;
		int64_t part = whole * u->ns;
		if (part > INT64_MAX - frac_ns || total > INT64_MAX - part - frac_ns)
			return -ERANGE;
		total += part + frac_ns;
	}
	*out_ns = total;
	return 0;
}

char *fd_duration_format(int64_t ns, char *buf, size_t len)
{
	const char *sign = "";
	uint64_t v;

	if (ns < 0) {
		sign = "-";
		v = (uint64_t)(-(ns + 1)) + 1;
	} else {
		v = (uint64_t)ns;
	}
	if (v == 0)
		snprintf(buf, len, "0 ms"); /* "0 ns" reads like a measurement artefact */
	else if (v < 1000)
		snprintf(buf, len, "%s%llu ns", sign, (unsigned long long)v);
	else if (v < (uint64_t)FD_NS_PER_MS)
		snprintf(buf, len, "%s%.0f us", sign, (double)v / 1e3);
	else if (v < 10 * (uint64_t)FD_NS_PER_MS)
		snprintf(buf, len, "%s%.1f ms", sign, (double)v / 1e6);
	else if (v < (uint64_t)FD_NS_PER_S)
		snprintf(buf, len, "%s%.0f ms", sign, (double)v / 1e6);
	else if (v < 60 * (uint64_t)FD_NS_PER_S)
		snprintf(buf, len, "%s%.1f s", sign, (double)v / 1e9);
	else if (v < 3600 * (uint64_t)FD_NS_PER_S) {
		uint64_t s = v / (uint64_t)FD_NS_PER_S;
		snprintf(buf, len, "%s%llum%02llus", sign, (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	} else {
		uint64_t m = v / (60 * (uint64_t)FD_NS_PER_S);
		snprintf(buf, len, "%s%lluh%02llum", sign, (unsigned long long)(m / 60),
			 (unsigned long long)(m % 60));
	}
	return buf;
}

char *fd_time_format_utc(int64_t real_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(real_ns / FD_NS_PER_S);
	int ms = (int)((real_ns % FD_NS_PER_S) / FD_NS_PER_MS);
	struct tm tm;
	char date[32];

	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", date, ms);
	return buf;
}

char *fd_bounded_format(int64_t ns, int64_t minus_ns, int64_t plus_ns, char *buf, size_t len)
{
	char v[32], lo[32], hi[32];
	const char *ulo, *uhi;

	fd_duration_format(ns, v, sizeof(v));
	fd_duration_format(minus_ns, lo, sizeof(lo));
	fd_duration_format(plus_ns, hi, sizeof(hi));
	ulo = strchr(lo, ' ');
	uhi = strchr(hi, ' ');
	/* "30 ms" and "20 ms" share their unit: "-30/+20 ms". */
	if (ulo && uhi && strcmp(ulo, uhi) == 0)
		snprintf(buf, len, "%s (-%.*s/+%s)", v, (int)(ulo - lo), lo, hi);
	else
		snprintf(buf, len, "%s (-%s/+%s)", v, lo, hi);
	return buf;
}

#include "scenario_values.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Levenshtein distance, bounded to short words (keys and enum names). */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[65];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];

			row[j] = min3(row[j] + 1, row[j - 1] + 1,
				      diag + (tolower((unsigned char)a[i - 1]) !=
					      tolower((unsigned char)b[j - 1])));
			diag = up;
		}
	}
	return row[lb];
}

const char *scenario_value_suggest(const char *s, const char *const *cands, size_t n)
{
	size_t ls = strlen(s), best_d = (size_t)-1;
	const char *best = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(cands[i]);
		size_t d = edit_distance(s, ls, cands[i], lc);

		/* a truncated word ("blackhol") is a typo of the longer name */
		if (ls >= 4 && lc > ls) {
			size_t dp = edit_distance(s, ls, cands[i], ls) + 1;

			if (dp < d)
				d = dp;
		}
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	if (!best || best_d > 1 + ls / 4)
		return NULL;
	return best;
}

int scenario_value_rate(const char *s, uint64_t *bps)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = { { "bit", 1 }, { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 }, { "tbit", 1e12 } };
	char *end;
	double v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit) == 0) {
			double r = v * units[i].mult;

			if (r < 1)
				return -ERANGE;
			if (r >= 18446744073709551615.0)
				return -ERANGE;
			*bps = (uint64_t)(r + 0.5);
			return 0;
		}
	}
	return -EINVAL;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "TERM", SIGTERM }, { "KILL", SIGKILL }, { "INT", SIGINT },   { "HUP", SIGHUP },
	{ "QUIT", SIGQUIT }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "ABRT", SIGABRT },
	{ "ALRM", SIGALRM }, { "SEGV", SIGSEGV }, { "PIPE", SIGPIPE }, { "STOP", SIGSTOP },
	{ "CONT", SIGCONT }, { "BUS", SIGBUS },   { "PWR", SIGPWR },   { "XCPU", SIGXCPU },
};

const char *const scenario_signal_names[] = {
	"TERM", "KILL", "INT", "HUP", "QUIT", "USR1", "USR2", "ABRT",
	"ALRM", "SEGV", "PIPE", "STOP", "CONT", "BUS", "PWR", "XCPU",
};
const size_t scenario_n_signal_names =
	sizeof(scenario_signal_names) / sizeof(scenario_signal_names[0]);

int scenario_value_signal(const char *s, int *sig)
{
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(s, signals[i].name) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	return -EINVAL;
}

const char *scenario_value_signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}

int scenario_value_regex(const char *re, size_t len, char *msg, size_t msg_len, size_t *offset,
			 unsigned *captures)
{
	int code = 0;
	PCRE2_SIZE off = 0;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, len, 0, &code, &off, NULL);

	if (c) {
		uint32_t n = 0;

		pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &n);
		if (captures)
			*captures = n;
		pcre2_code_free(c);
		return 0;
	}
	if (pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, msg_len) < 0)
		snprintf(msg, msg_len, "error %d", code);
	*offset = off;
	return -EINVAL;
}

int scenario_value_pcap(const char *filter, char *msg, size_t msg_len)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	struct bpf_program prog;
	int r = 0;

	if (!p) {
		snprintf(msg, msg_len, "libpcap cannot open a dead handle");
		return -ENOMEM;
	}
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(msg, msg_len, "%s", pcap_geterr(p));
		r = -EINVAL;
	} else {
		pcap_freecode(&prog);
	}
	pcap_close(p);
	return r;
}

bool scenario_value_is_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

bool scenario_value_is_env_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

bool scenario_value_is_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

bool scenario_value_is_host(const char *s)
{
	unsigned char buf[16];
	size_t n = strlen(s);

	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return true;
	if (n == 0 || n > 253 || *s == '.' || *s == '-')
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '.'))
			return false;
	return true;
}

int scenario_value_int(const char *s, long lo, long hi, long *out)
{
	long v = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (hi - (*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (*p - '0');
	}
	if (v < lo || v > hi)
		return -ERANGE;
	*out = v;
	return 0;
}

int scenario_value_number(const char *s, double *out)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	if (*end == '%')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

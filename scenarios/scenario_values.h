/*
 * scenario_values: private to scenarios/. Parsers and checkers for the
 * scalar value types of the scenario language, independent of YAML: they
 * take a string and say whether it is well formed, and why not.
 */
#ifndef FD_SCENARIO_VALUES_H
#define FD_SCENARIO_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The candidate closest to s when close enough to be a likely typo, or NULL. */
const char *scenario_value_suggest(const char *s, const char *const *cands, size_t n);

/* "10mbit", "500kbit", "1.5gbit", "9600bit" -> bits per second. 0 or -EINVAL/-ERANGE. */
int scenario_value_rate(const char *s, uint64_t *bps);

/* "TERM", "SIGTERM", "kill" -> signal number, or -EINVAL. */
int scenario_value_signal(const char *s, int *sig);
const char *scenario_value_signal_name(int sig); /* "TERM"; NULL if unknown */
extern const char *const scenario_signal_names[];
extern const size_t scenario_n_signal_names;

/*
 * Compiles a PCRE2 pattern; on failure fills msg and *offset, returns -EINVAL.
 * captures (may be NULL) receives the number of capture groups.
 */
int scenario_value_regex(const char *re, size_t len, char *msg, size_t msg_len, size_t *offset,
			 unsigned *captures);

/* Compiles a BPF filter for Ethernet; on failure fills msg, returns -EINVAL. */
int scenario_value_pcap(const char *filter, char *msg, size_t msg_len);

/* [a-z0-9-]+ */
bool scenario_value_is_name(const char *s);

/* An environment variable name: [A-Za-z_][A-Za-z0-9_]* */
bool scenario_value_is_env_name(const char *s);

/* A network interface name: 1-15 bytes, no '/', ':' or white space. */
bool scenario_value_is_ifname(const char *s);

/* A host name (letters, digits, '-', '.', up to 253 bytes) or an IP literal. */
bool scenario_value_is_host(const char *s);

/* "42" -> 42 within [lo, hi]; plain decimal digits only. */
int scenario_value_int(const char *s, long lo, long hi, long *out);

/* "5%", "5", "0.5" -> a number; -EINVAL when malformed. */
int scenario_value_number(const char *s, double *out);

#endif

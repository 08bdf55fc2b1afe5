/*
 * Escaping and formatting shared by every renderer.
 *
 * Strings from scenarios, probes and systems under test are untrusted: they
 * may hold markup, quotes, control bytes and invalid UTF-8. rp_sanitize()
 * first turns them into valid UTF-8 with visible "\xNN" for control and
 * invalid bytes (an auditor sees that something odd was there, and nothing
 * invisible reaches a terminal, a browser or an XML parser); the per-format
 * escapers then quote what their format treats as syntax.
 */
#include "report_priv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fd_time.h"

/* Length of the valid UTF-8 sequence at s, or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are invalid. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls are as invisible as C0 ones. */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return n;
}

char *rp_sanitize(const char *s, bool keep_newlines)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t cap = strlen((const char *)p) * 4 + 1, o = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	while (*p) {
		size_t n = utf8_len(p);
		bool ctl = n == 1 && (*p < 0x20 || *p == 0x7f);

		if (ctl && keep_newlines && (*p == '\n' || *p == '\t'))
			ctl = false;
		if (n == 0 || ctl) {
			snprintf(out + o, cap - o, "\\x%02X", *p);
			o += 4;
			p++;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	return out;
}

void rp_put_html(FILE *out, const char *s, bool keep_newlines)
{
	char *clean = rp_sanitize(s, keep_newlines);

	if (!clean)
		return;
	for (const char *c = clean; *c; c++) {
		switch (*c) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*c, out);
		}
	}
	free(clean);
}

void rp_put_md(FILE *out, const char *s)
{
	char *clean = rp_sanitize(s, false);

	if (!clean)
		return;
	for (const char *c = clean; *c; c++) {
		if (*c == '<')
			fputs("&lt;", out);
		else if (*c == '>')
			fputs("&gt;", out);
		else if (*c == '&')
			fputs("&amp;", out);
		else if (strchr("\\|`*_[]#~!", *c))
			fprintf(out, "\\%c", *c);
		else
			fputc(*c, out);
	}
	free(clean);
}

void rp_put_csv(FILE *out, const char *s)
{
	/* Newlines stay (RFC 4180 allows them quoted); other controls do not. */
	char *clean = rp_sanitize(s, true);

	if (!clean)
		return;
	/* A cell starting with = + - @ is a formula to spreadsheets. */
	bool formula = strchr("=+-@", clean[0]) && clean[0];
	bool quote = formula || strpbrk(clean, ",\"\r\n\t") != NULL;

	if (quote)
		fputc('"', out);
	if (formula)
		fputc('\'', out);
	for (const char *c = clean; *c; c++) {
		if (*c == '"')
			fputc('"', out);
		fputc(*c, out);
	}
	if (quote)
		fputc('"', out);
	free(clean);
}

char *rp_dur(double ms, char *buf, size_t len)
{
	if (ms == 0) {
		snprintf(buf, len, "0 s");
		return buf;
	}
	return fd_duration_format((int64_t)llround(ms * 1e6), buf, len);
}

char *rp_rto(const struct store_iteration *it, char *buf, size_t len)
{
	char v[32], b[32];

	if (it->has_rto_bounds)
		return fd_bounded_format((int64_t)llround(it->rto_ms * 1e6),
					 (int64_t)llround(it->rto_late_ms * 1e6),
					 (int64_t)llround(it->rto_early_ms * 1e6), buf, len);
	snprintf(buf, len, "%s (+%s)", rp_dur(it->rto_ms, v, sizeof(v)),
		 rp_dur(it->error_bound_ms, b, sizeof(b)));
	return buf;
}

char *rp_value(const struct report_value *v, const char *absent, char *buf, size_t len)
{
	if (!v->has) {
		snprintf(buf, len, "%s", absent);
		return buf;
	}
	return rp_dur(v->ms, buf, len);
}

char *rp_objective(const struct report_objectives *o, bool rto, const char *absent, char *buf,
		   size_t len)
{
	if (o->unknown) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	return rp_value(rto ? &o->rto : &o->rpo, absent, buf, len);
}

char *rp_time(int64_t real_ns, char *buf, size_t len)
{
	if (real_ns == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	return fd_time_format_utc(real_ns, buf, len);
}

char *rp_pct(const struct report_value *v, char *buf, size_t len)
{
	if (!v->has)
		snprintf(buf, len, "%s", "");
	else if (fabs(v->ms) < 1 && v->ms != 0)
		snprintf(buf, len, "%+.1f%%", v->ms);
	else
		snprintf(buf, len, "%+.0f%%", v->ms);
	return buf;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double rp_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2)
		return v[n / 2];
	/* inf + x stays inf: a middle pair with a not-recovered stays not recovered. */
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool rp_iteration_rto(const struct store_iteration *it, double *ms)
{
	if (it->has_rto) {
		*ms = it->rto_ms;
		return true;
	}
	if (it->outcome == STORE_OUTCOME_NOT_RECOVERED) {
		*ms = INFINITY;
		return true;
	}
	return false; /* not injected, aborted or failed: says nothing about recovery */
}

int report_format_parse(const char *name, enum report_format *out)
{
	static const struct {
		const char *name;
		enum report_format f;
	} names[] = {
		{ "html", REPORT_HTML }, { "md", REPORT_MARKDOWN }, { "markdown", REPORT_MARKDOWN },
		{ "json", REPORT_JSON }, { "csv", REPORT_CSV }, { "junit", REPORT_JUNIT },
		{ "xml", REPORT_JUNIT }, { "pdf", REPORT_PDF },
		{ "metrics", REPORT_METRICS }, { "prom", REPORT_METRICS },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].f;
			return 0;
		}
	}
	return -EINVAL;
}

int report_format_from_path(const char *path, enum report_format *out)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return -EINVAL;
	if (strcmp(dot, ".htm") == 0)
		return report_format_parse("html", out);
	return report_format_parse(dot + 1, out);
}

const char *report_format_name(enum report_format f)
{
	switch (f) {
	case REPORT_HTML: return "html";
	case REPORT_MARKDOWN: return "md";
	case REPORT_JSON: return "json";
	case REPORT_CSV: return "csv";
	case REPORT_JUNIT: return "junit";
	case REPORT_PDF: return "pdf";
	case REPORT_METRICS: return "metrics";
	}
	return "?";
}

int report_paper_parse(const char *name, enum report_paper *out)
{
	if (strcasecmp(name, "a4") == 0)
		*out = REPORT_PAPER_A4;
	else if (strcasecmp(name, "letter") == 0)
		*out = REPORT_PAPER_LETTER;
	else
		return -EINVAL;
	return 0;
}

static int parse_offset(const char *p, long *secs)
{
	int h, m;

	if (strcmp(p, "Z") == 0 || *p == '\0') {
		*secs = 0;
		return 0;
	}
	if ((p[0] != '+' && p[0] != '-') || sscanf(p + 1, "%2d:%2d", &h, &m) != 2 ||
	    strlen(p) != 6 || h > 23 || m > 59)
		return -EINVAL;
	*secs = (p[0] == '-' ? -1 : 1) * (long)(h * 3600 + m * 60);
	return 0;
}

int report_parse_time(const char *s, int64_t *real_ns)
{
	struct tm tm = { 0 };
	const char *p;
	int64_t frac = 0, scale = FD_NS_PER_S;
	long off;

	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		p = strptime(p + 1, "%H:%M:%S", &tm);
		if (!p)
			return -EINVAL;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				if (scale > 1) {
					scale /= 10;
					frac += (*p - '0') * scale;
				}
	}
	if (parse_offset(p, &off) < 0)
		return -EINVAL;
	*real_ns = ((int64_t)timegm(&tm) - off) * FD_NS_PER_S + frac;
	return 0;
}

json_t *rp_json_str(const char *s)
{
	char *clean = rp_sanitize(s, true);
	json_t *j = clean ? json_string(clean) : NULL;

	free(clean);
	return j;
}

json_t *rp_json_value(const struct report_value *v)
{
	return v->has ? json_real(v->ms) : json_null();
}

json_t *rp_json_time(int64_t real_ns)
{
	char buf[40];

	return real_ns ? json_string(fd_time_format_utc(real_ns, buf, sizeof(buf))) : json_null();
}

bool rp_fault_evidence(const struct store_event *e, bool *held)
{
	if (strcmp(e->kind, "evidence") != 0)
		return false;
	*held = strncmp(e->detail, "held", 4) == 0;
	return true;
}

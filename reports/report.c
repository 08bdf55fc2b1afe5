/*
 * The dispatcher: one table row per output format names the renderer of
 * each report kind. A new format is one render_FORMAT.c plus one row here.
 * Renderers only write; the models (trend.c, evidence.c, report_model.c)
 * are built before and never call back into a renderer.
 */
#include "report_priv.h"

#include <errno.h>

struct report_renderer {
	enum report_format fmt;
	int (*trend)(const struct report_trend *t, FILE *out, struct fd_error *err);
	int (*evidence)(const struct report_evidence *ev, FILE *out, struct fd_error *err);
};

static const struct report_renderer renderers[] = {
	{ REPORT_HTML, rp_trend_html, rp_evidence_html },
	{ REPORT_MARKDOWN, rp_trend_md, rp_evidence_md },
	{ REPORT_JSON, rp_trend_json, rp_evidence_json },
	{ REPORT_CSV, rp_trend_csv, NULL },
	{ REPORT_JUNIT, rp_trend_junit, NULL },
};

static const struct report_renderer *renderer_for(enum report_format fmt)
{
	for (size_t i = 0; i < sizeof(renderers) / sizeof(renderers[0]); i++)
		if (renderers[i].fmt == fmt)
			return &renderers[i];
	return NULL;
}

/* A renderer's result, or the write error it left on out. */
static int finish(int r, FILE *out, struct fd_error *err)
{
	if (r == 0 && (fflush(out) != 0 || ferror(out)))
		r = fd_error_set(err, FD_ERR_ENV, -EIO, "writing the report failed");
	return r;
}

int report_trend_write(const struct report_trend *t, enum report_format fmt, FILE *out,
		       struct fd_error *err)
{
	const struct report_renderer *r = renderer_for(fmt);

	if (!r || !r->trend)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "unknown report format");
	return finish(r->trend(t, out, err), out, err);
}

int report_evidence_write(const struct report_evidence *ev, enum report_format fmt, FILE *out,
			  struct fd_error *err)
{
	const struct report_renderer *r = renderer_for(fmt);

	if (!r || !r->evidence)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "evidence reports are html, md or json, not %s",
				    report_format_name(fmt));
	return finish(r->evidence(ev, out, err), out, err);
}

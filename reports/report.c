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
	/* A paged format's evidence renderer: it takes the page options. */
	int (*evidence_paged)(const struct report_evidence *ev, const struct report_options *opt,
			      FILE *out, struct fd_error *err);
};

static const struct report_renderer renderers[] = {
	{ REPORT_HTML, rp_trend_html, rp_evidence_html, NULL },
	{ REPORT_MARKDOWN, rp_trend_md, rp_evidence_md, NULL },
	{ REPORT_JSON, rp_trend_json, rp_evidence_json, NULL },
	{ REPORT_CSV, rp_trend_csv, NULL, NULL },
	{ REPORT_JUNIT, rp_trend_junit, NULL, NULL },
	{ REPORT_PDF, NULL, NULL, rp_evidence_pdf },
	{ REPORT_METRICS, rp_trend_metrics, NULL, NULL },
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

	if (!r)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "unknown report format");
	if (!r->trend)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s is for evidence reports",
				    report_format_name(fmt));
	return finish(r->trend(t, out, err), out, err);
}

int report_evidence_write_opts(const struct report_evidence *ev, enum report_format fmt,
			       const struct report_options *opt, FILE *out, struct fd_error *err)
{
	static const struct report_options defaults = { .paper = REPORT_PAPER_A4 };
	const struct report_renderer *r = renderer_for(fmt);

	if (r && r->evidence_paged)
		return finish(r->evidence_paged(ev, opt ? opt : &defaults, out, err), out, err);
	if (!r || !r->evidence)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "evidence reports are html, md, json or pdf, not %s",
				    report_format_name(fmt));
	return finish(r->evidence(ev, out, err), out, err);
}

int report_evidence_write(const struct report_evidence *ev, enum report_format fmt, FILE *out,
			  struct fd_error *err)
{
	return report_evidence_write_opts(ev, fmt, NULL, out, err);
}

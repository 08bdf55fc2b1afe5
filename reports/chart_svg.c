/*
 * Charts as self-contained SVG documents. The evidence chart is drawn
 * inline by the HTML renderer and into the PDF by librsvg, so both formats
 * show the same picture from the same bytes. Only numbers and fixed words
 * reach the SVG (durations through rp_dur): nothing untrusted to escape.
 *
 * Presentation attributes set the default font; coloured text uses style=
 * so that it keeps its colour under the HTML page's `svg text` rule.
 */
#include "report_priv.h"

#include <math.h>

double rp_tick_step(double max_ms)
{
	static const double steps[] = {
		1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4,
		3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 144e5, 216e5, 432e5, 864e5,
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (max_ms / steps[i] <= 6)
			return steps[i];
	return ceil(max_ms / 6 / 864e5) * 864e5;
}

#define EW 700.0 /* evidence chart: width, height, margins */
#define EH 250.0
#define EML 78.0
#define EMR 96.0 /* right: the objective's and the median's labels */
#define EMT 36.0
#define EMB 48.0 /* bottom: iteration numbers, then the legend */
#define STRIP_Y 16.0 /* the "not recovered" strip above the plot */

double rp_axis_y(const struct rp_axis *a, double ms)
{
	return a->bottom - ms / a->max_ms * (a->bottom - a->top);
}

void rp_axis_grid(FILE *out, const struct rp_axis *a, double left, double right)
{
	double step = rp_tick_step(a->max_ms);
	char buf[32];

	for (double v = 0; v <= a->max_ms + step / 1000; v += step) {
		double y = rp_axis_y(a, v);

		fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d0d7de\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			left, y, right, y, left - 6, y + 4, rp_dur(v, buf, sizeof(buf)));
	}
}

/* An iteration's value on this chart: false when it has none to draw (not
 * tested, not measured); +INFINITY for not recovered (RTO only). */
static bool value_of(const struct store_iteration *it, bool rto, double *ms)
{
	if (rto)
		return rp_iteration_rto(it, ms);
	*ms = it->rpo_ms;
	return it->has_rpo;
}

static double top_of(const struct store_iteration *it, bool rto, double v)
{
	if (rto && it->has_rto_bounds)
		return v + it->rto_early_ms;
	return v;
}

/* The bar of one iteration and its bound as a whisker; *label_y: where its value goes. */
static void bar(FILE *out, const struct rp_axis *p, const struct store_iteration *it, bool rto, double v,
		double cx, double bw, double *label_y)
{
	char buf[32];
	double y = rp_axis_y(p, v);

	fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
		"<title>iteration %d: %s %s</title></rect>\n", cx - bw / 2, y, bw, p->bottom - y,
		it->objectives_met ? "#2da44e" : "#d4a72c", it->number, rto ? "RTO" : "RPO",
		rp_dur(v, buf, sizeof(buf)));
	if (rto && it->has_rto_bounds && (it->rto_early_ms > 0 || it->rto_late_ms > 0)) {
		double y0 = rp_axis_y(p, fmax(0, v - it->rto_late_ms)), y1 = rp_axis_y(p, v + it->rto_early_ms);

		fprintf(out, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8\" stroke=\"#1b1f24\" "
			"stroke-width=\"1\" fill=\"none\"/>\n", cx, y0, y1, cx - 4, y0, cx - 4, y1);
		y = fmin(y, y1);
	}
	*label_y = y - 4;
}

/* A bar's value, drawn after the lines with a white halo to stay legible over them. */
static void bar_label(FILE *out, double v, double cx, double y)
{
	char buf[32];

	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		"style=\"paint-order:stroke;stroke:#ffffff;stroke-width:3px\">%s</text>\n",
		cx, y, rp_dur(v, buf, sizeof(buf)));
}

/* A horizontal line across the plot, labelled in the right margin at label_y. */
static void level(FILE *out, const struct rp_axis *p, double ms, const char *what, const char *color,
		  bool dash, double label_y)
{
	char buf[32];
	double y = rp_axis_y(p, ms);

	fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		"stroke-width=\"1.5\"%s/>"
		"<text x=\"%.1f\" y=\"%.1f\" style=\"fill:%s\">%s %s</text>\n",
		EML, y, EW - EMR, y, color, dash ? " stroke-dasharray=\"6 4\"" : "",
		EW - EMR + 6, label_y + 4, color, what, rp_dur(ms, buf, sizeof(buf)));
}

/* The median and objective lines; their labels kept 13 px apart. */
static void levels(FILE *out, const struct rp_axis *p, const struct report_value *med,
		   const struct report_value *obj)
{
	double ym = med->has ? rp_axis_y(p, med->ms) : 0, yo = obj->has ? rp_axis_y(p, obj->ms) : 0;

	if (med->has && obj->has && fabs(ym - yo) < 13) {
		double mid = (ym + yo) / 2, half = 6.5;

		/* the larger value above */
		ym = med->ms > obj->ms ? mid - half : mid + half;
		yo = med->ms > obj->ms ? mid + half : mid - half;
	}
	if (med->has)
		level(out, p, med->ms, "median", "#0969da", false, ym);
	if (obj->has)
		level(out, p, obj->ms, "objective", "#a40e26", true, yo);
}

static bool any_not_recovered(const struct report_evidence *ev)
{
	double v;

	for (size_t i = 0; i < ev->n_iterations; i++)
		if (rp_iteration_rto(&ev->iterations[i].it, &v) && isinf(v))
			return true;
	return false;
}

bool rp_evidence_chart_has(const struct report_evidence *ev, bool rto)
{
	double v;

	for (size_t i = 0; i < ev->n_iterations; i++)
		if (value_of(&ev->iterations[i].it, rto, &v))
			return true;
	return false;
}

const char *rp_evidence_chart_title(bool rto)
{
	return rto ? "RTO per iteration against the objective" : "RPO per iteration against the objective";
}

bool rp_svg_evidence_chart(FILE *out, const struct report_evidence *ev,
			   const struct report_drill *sum, bool rto)
{
	const struct report_value *obj = rto ? &ev->objectives.rto : &ev->objectives.rpo;
	const struct report_value *med = rto ? &sum->sum.rto_median : &sum->sum.rpo_median;
	struct rp_axis p = { EMT, EH - EMB, 0 };
	size_t n = ev->n_iterations, label_every = n / 25 + 1, drawn = 0;
	double slot, bw, v, label_y[30];

	for (size_t i = 0; i < n; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;

		if (value_of(it, rto, &v)) {
			drawn++;
			if (isfinite(v))
				p.max_ms = fmax(p.max_ms, top_of(it, rto, v));
		}
	}
	if (!drawn)
		return false;
	if (obj->has && !ev->objectives.unknown)
		p.max_ms = fmax(p.max_ms, obj->ms);
	p.max_ms = p.max_ms > 0 ? p.max_ms * 1.15 : 1000;
	slot = (EW - EML - EMR) / (double)n;
	bw = fmin(slot * 0.6, 48);
	fprintf(out, "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		"aria-label=\"%s per iteration against the objective\" "
		"font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"11\" "
		"fill=\"#1b1f24\" xmlns=\"http://www.w3.org/2000/svg\">\n",
		EW, EH, EW, EH, rto ? "RTO" : "RPO");
	if (rto && any_not_recovered(ev))
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" style=\"fill:#a40e26\">"
			"not recovered</text>\n", EML - 6, STRIP_Y + 4);
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" style=\"fill:#57606a\">"
		"bars: green met the objectives, amber missed%s</text>\n", EW - EMR, EH - 6,
		rto ? "; whiskers: the RTO's bound; -: recovery not tested" : "; -: not measured");
	rp_axis_grid(out, &p, EML, EW - EMR);
	for (size_t i = 0; i < n; i++) {
		const struct store_iteration *it = &ev->iterations[i].it;
		double cx = EML + slot * ((double)i + 0.5);

		if (!value_of(it, rto, &v))
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" style=\"fill:#57606a\">"
				"-</text>\n", cx, p.bottom - 4);
		else if (isinf(v))
			fprintf(out, "<path d=\"M%.1f %.1fl8 8m0 -8l-8 8\" stroke=\"#a40e26\" stroke-width=\"2\">"
				"<title>iteration %d: not recovered</title></path>\n", cx - 4, STRIP_Y - 4,
				it->number);
		else
			bar(out, &p, it, rto, v, cx, bw, &label_y[i < 30 ? i : 29]);
		if (i % label_every == 0)
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">#%d</text>\n", cx,
				p.bottom + 15, it->number);
	}
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" style=\"fill:#57606a\">iteration</text>\n",
		EML - 6, p.bottom + 15);
	{
		struct report_value none = { 0 };

		levels(out, &p, med, obj->has && !ev->objectives.unknown ? obj : &none);
	}
	for (size_t i = 0; n <= 30 && i < n; i++)
		if (value_of(&ev->iterations[i].it, rto, &v) && isfinite(v))
			bar_label(out, v, EML + slot * ((double)i + 0.5), label_y[i]);
	fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1b1f24\"/>\n</svg>\n",
		EML, p.bottom, EW - EMR, p.bottom);
	return true;
}

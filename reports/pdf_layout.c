/*
 * PDF layout: a small top-to-bottom flow over cairo (the page, vector
 * drawing, embedded subset fonts), pango (wrapping and shaping) and librsvg
 * (SVG charts drawn as vectors). Renderers add blocks; this file decides
 * where pages break.
 *
 * Every block is, underneath, a band of cells: one pango layout per cell,
 * laid out once, then drawn line by line, so that a block taller than what
 * is left of the page continues on the next one between two lines (never
 * through one). A table row is a band with borders that moves whole to the
 * next page when it fits there; a paragraph or code block just flows on.
 *
 * "page N of M" needs M before page 1 is drawn: rp_pdf_write() lays the
 * document out twice, the first time into a stream that discards its bytes,
 * only to count the pages. Layout depends on the model and the fonts alone,
 * so both passes break at the same places.
 *
 * Text goes through rp_sanitize() (visible \xNN for control and invalid
 * bytes) and pango_layout_set_text(), never markup: a scenario's "<b>" is
 * four characters.
 */
#include "report_priv.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <librsvg/rsvg.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum font {
	F_BODY,
	F_BOLD,
	F_META,
	F_TABLE,
	F_TABLE_BOLD,
	F_CODE,
	F_H0,
	F_H1,
	F_H2,
	F_FOOT,
	F_FOOT_MONO,
	N_FONTS,
};

static const char *const font_names[N_FONTS] = {
	[F_BODY] = "DejaVu Sans 8.5",
	[F_BOLD] = "DejaVu Sans Bold 8.5",
	[F_META] = "DejaVu Sans 7.5",
	[F_TABLE] = "DejaVu Sans 7.5",
	[F_TABLE_BOLD] = "DejaVu Sans Bold 7.5",
	[F_CODE] = "DejaVu Sans Mono 7",
	[F_H0] = "DejaVu Sans Bold 15",
	[F_H1] = "DejaVu Sans Bold 12",
	[F_H2] = "DejaVu Sans Bold 9.5",
	[F_FOOT] = "DejaVu Sans 6.5",
	[F_FOOT_MONO] = "DejaVu Sans Mono 6.5",
};

#define MARGIN_X 42.0
#define MARGIN_TOP 44.0
#define MARGIN_BOTTOM 54.0 /* the footer sits inside it */
#define FOOTER_Y 28.0      /* footer baseline band, from the page's bottom */
#define CELL_PAD_X 3.5
#define CELL_PAD_Y 2.2
#define MAX_COLS 24

struct rgb {
	double r, g, b;
};

static const struct rgb ink = { 0x1b / 255.0, 0x1f / 255.0, 0x24 / 255.0 };
static const struct rgb grey = { 0x57 / 255.0, 0x60 / 255.0, 0x6a / 255.0 };
static const struct rgb green = { 0x11 / 255.0, 0x63 / 255.0, 0x29 / 255.0 };
static const struct rgb red = { 0xa4 / 255.0, 0x0e / 255.0, 0x26 / 255.0 };
static const struct rgb amber = { 0x9a / 255.0, 0x67 / 255.0, 0x00 / 255.0 };
static const struct rgb rule = { 0xd0 / 255.0, 0xd7 / 255.0, 0xde / 255.0 };
static const struct rgb shade = { 0xf6 / 255.0, 0xf8 / 255.0, 0xfa / 255.0 };

struct rp_pdf {
	FILE *out;                /* NULL while counting pages */
	cairo_surface_t *surface;
	cairo_t *cr;
	PangoContext *pango;
	PangoFontDescription *font[N_FONTS];
	double w, h;              /* page size, pt */
	double y;                 /* top of the next block */
	double page_top;          /* where blocks start on this page (below a repeated header) */
	int page, pages;          /* this page (1-based); the total, 0 while counting */
	const char *footer;       /* sanitized */
	int error;                /* first failure (negative errno) */
	char what[FD_ERROR_MSG_MAX];
	/* The open table (rp_pdf_table_begin .. _end). */
	struct rp_pdf_col cols[MAX_COLS];
	size_t n_cols;
	bool table_header;
};

static void fail(struct rp_pdf *pdf, int code, const char *what, const char *detail)
{
	if (pdf->error)
		return;
	pdf->error = code;
	snprintf(pdf->what, sizeof(pdf->what), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

static double text_width(const struct rp_pdf *pdf)
{
	return pdf->w - 2 * MARGIN_X;
}

static double bottom(const struct rp_pdf *pdf)
{
	return pdf->h - MARGIN_BOTTOM;
}

static bool at_top(const struct rp_pdf *pdf)
{
	return pdf->y <= pdf->page_top + 0.01;
}

static void set_rgb(cairo_t *cr, const struct rgb *c)
{
	cairo_set_source_rgb(cr, c->r, c->g, c->b);
}

static const struct rgb *tone_rgb(enum rp_pdf_tone t)
{
	switch (t) {
	case RP_PDF_META: return &grey;
	case RP_PDF_GOOD: return &green;
	case RP_PDF_FLAG: return &red;
	case RP_PDF_WARN: return &amber;
	case RP_PDF_NORMAL: break;
	}
	return &ink;
}

/* A layout of sanitized text in font f, wrapped at width (pt; <= 0: no wrap). */
static PangoLayout *layout_new(struct rp_pdf *pdf, enum font f, const char *text, bool keep_newlines,
			       double width, PangoAlignment align, PangoWrapMode wrap)
{
	PangoLayout *l = pango_layout_new(pdf->pango);
	char *clean = rp_sanitize(text, keep_newlines);

	if (!clean) {
		fail(pdf, -ENOMEM, "out of memory", NULL);
		pango_layout_set_text(l, "", 0);
	} else {
		pango_layout_set_text(l, clean, -1);
	}
	free(clean);
	pango_layout_set_font_description(l, pdf->font[f]);
	/* A line broken inside a word gets no hyphen: evidence shows only the
	 * characters that are there (a hash, a path, a code line). */
	{
		PangoAttrList *attrs = pango_attr_list_new();

		pango_attr_list_insert(attrs, pango_attr_insert_hyphens_new(FALSE));
		pango_layout_set_attributes(l, attrs);
		pango_attr_list_unref(attrs);
	}
	if (width > 0) {
		pango_layout_set_width(l, (int)(width * PANGO_SCALE));
		pango_layout_set_wrap(l, wrap);
	}
	pango_layout_set_alignment(l, align);
	return l;
}

/* ---- pages --------------------------------------------------------------- */

static void footer(struct rp_pdf *pdf)
{
	cairo_t *cr = pdf->cr;
	double base = pdf->h - FOOTER_Y, right_w;
	char page[64];
	PangoRectangle log_r;
	PangoLayout *r, *l;

	/* While counting, the total is not known yet; the footer's place is fixed either way. */
	snprintf(page, sizeof(page), "page %d of %d", pdf->page, pdf->pages ? pdf->pages : pdf->page);
	r = layout_new(pdf, F_FOOT, page, false, 0, PANGO_ALIGN_LEFT, PANGO_WRAP_WORD);
	pango_layout_get_extents(r, NULL, &log_r);
	right_w = (double)log_r.width / PANGO_SCALE;
	l = layout_new(pdf, F_FOOT, pdf->footer, false, text_width(pdf) - right_w - 12,
		       PANGO_ALIGN_LEFT, PANGO_WRAP_WORD_CHAR);
	cairo_save(cr);
	set_rgb(cr, &rule);
	cairo_set_line_width(cr, 0.5);
	cairo_move_to(cr, MARGIN_X, base - 6);
	cairo_line_to(cr, pdf->w - MARGIN_X, base - 6);
	cairo_stroke(cr);
	set_rgb(cr, &grey);
	cairo_move_to(cr, MARGIN_X, base);
	pango_cairo_show_layout(cr, l);
	cairo_move_to(cr, pdf->w - MARGIN_X - right_w, base);
	pango_cairo_show_layout(cr, r);
	cairo_restore(cr);
	g_object_unref(l);
	g_object_unref(r);
}

static void table_header(struct rp_pdf *pdf);

static void page_break(struct rp_pdf *pdf)
{
	footer(pdf);
	cairo_show_page(pdf->cr);
	pdf->page++;
	pdf->y = pdf->page_top = MARGIN_TOP;
	if (pdf->n_cols && pdf->table_header) {
		table_header(pdf);
		pdf->page_top = pdf->y;
	}
}

/* Starts a new page unless need pt fit below y (or this page is still empty). */
static void need(struct rp_pdf *pdf, double need_pt)
{
	if (pdf->y + need_pt > bottom(pdf) && !at_top(pdf))
		page_break(pdf);
}

void rp_pdf_space(struct rp_pdf *pdf, double pt)
{
	if (!at_top(pdf))
		pdf->y = fmin(pdf->y + pt, bottom(pdf));
}

/* ---- bands of cells, drawn line by line ---------------------------------- */

struct line_box {
	double top, bottom, baseline, x; /* pt, relative to the layout's top-left */
	PangoLayoutLine *line;
};

struct cell {
	PangoLayout *layout;
	double x, w;          /* the cell's box (text inside its padding) */
	const struct rgb *color;
	bool shaded;
	struct line_box *lines;
	int n, next, end;
};

struct band {
	struct cell *cells;
	size_t n;
	double pad_x, pad_y;
	bool borders;         /* table rules around every cell */
	const struct rgb *box; /* a frame around the whole band (NULL: none) */
	double box_width;
	const struct rgb *fill; /* background of every cell (NULL: each cell's shaded) */
	bool keep;            /* move whole to the next page when it fits there */
};

static int cell_lines(struct rp_pdf *pdf, struct cell *c)
{
	PangoLayoutIter *it = pango_layout_get_iter(c->layout);
	int n = pango_layout_get_line_count(c->layout), k = 0;

	c->lines = calloc((size_t)n + 1, sizeof(*c->lines));
	if (!c->lines) {
		pango_layout_iter_free(it);
		fail(pdf, -ENOMEM, "out of memory", NULL);
		return -ENOMEM;
	}
	do {
		int y0, y1;
		PangoRectangle logical;

		if (k >= n)
			break;
		pango_layout_iter_get_line_yrange(it, &y0, &y1);
		pango_layout_iter_get_line_extents(it, NULL, &logical);
		c->lines[k] = (struct line_box){
			.top = (double)y0 / PANGO_SCALE,
			.bottom = (double)y1 / PANGO_SCALE,
			.baseline = (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE,
			.x = (double)logical.x / PANGO_SCALE,
			.line = pango_layout_iter_get_line_readonly(it),
		};
		k++;
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
	c->n = k;
	c->next = 0;
	return 0;
}

/* Height of the lines [from, to) of c. */
static double span(const struct cell *c, int from, int to)
{
	return to > from ? c->lines[to - 1].bottom - c->lines[from].top : 0;
}

static double band_rest(const struct band *b)
{
	double h = 0;

	for (size_t i = 0; i < b->n; i++)
		h = fmax(h, span(&b->cells[i], b->cells[i].next, b->cells[i].n));
	return h + 2 * b->pad_y;
}

static bool band_done(const struct band *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->cells[i].next < b->cells[i].n)
			return false;
	return true;
}

/* Picks each cell's lines that fit in avail pt; returns the segment's text height. */
static double band_fit(struct band *b, double avail, bool force)
{
	double seg = 0;
	bool any = false;

	for (size_t i = 0; i < b->n; i++) {
		struct cell *c = &b->cells[i];
		int k = c->next;

		while (k < c->n && span(c, c->next, k + 1) <= avail)
			k++;
		if (force && k == c->next && k < c->n)
			k++; /* a line taller than a page: drawn, cut by the page's edge */
		c->end = k;
		any |= k > c->next;
		seg = fmax(seg, span(c, c->next, k));
	}
	return any ? seg : -1;
}

static void band_draw_segment(struct rp_pdf *pdf, struct band *b, double seg)
{
	cairo_t *cr = pdf->cr;
	double h = seg + 2 * b->pad_y, x0 = b->cells[0].x - b->pad_x;
	double x1 = b->cells[b->n - 1].x + b->cells[b->n - 1].w + b->pad_x;

	cairo_save(cr);
	for (size_t i = 0; i < b->n; i++) {
		const struct cell *c = &b->cells[i];
		const struct rgb *bg = b->fill ? b->fill : c->shaded ? &shade : NULL;

		if (bg) {
			set_rgb(cr, bg);
			cairo_rectangle(cr, c->x - b->pad_x, pdf->y, c->w + 2 * b->pad_x, h);
			cairo_fill(cr);
		}
	}
	if (b->borders) {
		set_rgb(cr, &rule);
		cairo_set_line_width(cr, 0.6);
		for (size_t i = 0; i < b->n; i++) {
			const struct cell *c = &b->cells[i];

			cairo_rectangle(cr, c->x - b->pad_x, pdf->y, c->w + 2 * b->pad_x, h);
		}
		cairo_stroke(cr);
	}
	if (b->box) {
		set_rgb(cr, b->box);
		cairo_set_line_width(cr, b->box_width);
		cairo_rectangle(cr, x0, pdf->y, x1 - x0, h);
		cairo_stroke(cr);
	}
	for (size_t i = 0; i < b->n; i++) {
		struct cell *c = &b->cells[i];

		set_rgb(cr, c->color);
		for (int k = c->next; k < c->end; k++) {
			const struct line_box *l = &c->lines[k];

			cairo_move_to(cr, c->x + l->x,
				      pdf->y + b->pad_y + l->baseline - c->lines[c->next].top);
			pango_cairo_show_layout_line(cr, l->line);
		}
		c->next = c->end;
	}
	cairo_restore(cr);
	pdf->y += h;
}

static void band_draw(struct rp_pdf *pdf, struct band *b)
{
	double rest = band_rest(b), body = bottom(pdf) - pdf->page_top;

	if (b->keep && pdf->y + rest > bottom(pdf) && rest <= body && !at_top(pdf))
		page_break(pdf);
	while (!band_done(b)) {
		double avail = bottom(pdf) - pdf->y - 2 * b->pad_y;
		double seg = band_fit(b, avail, at_top(pdf));

		if (seg < 0) {
			page_break(pdf);
			continue;
		}
		band_draw_segment(pdf, b, seg);
		if (!band_done(b))
			page_break(pdf);
	}
}

static void band_free(struct band *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->cells[i].layout)
			g_object_unref(b->cells[i].layout);
		free(b->cells[i].lines);
	}
}

/* One full-width cell of text. */
static void block(struct rp_pdf *pdf, PangoLayout *l, const struct rgb *color, struct band *b)
{
	struct cell c = { .layout = l, .x = MARGIN_X + b->pad_x, .color = color };

	c.w = text_width(pdf) - 2 * b->pad_x;
	b->cells = &c;
	b->n = 1;
	if (cell_lines(pdf, &c) == 0)
		band_draw(pdf, b);
	band_free(b);
	b->cells = NULL;
}

/* ---- blocks -------------------------------------------------------------- */

void rp_pdf_heading(struct rp_pdf *pdf, int level, const char *text)
{
	static const enum font fonts[] = { F_H0, F_H1, F_H2 };
	static const double before[] = { 0, 14, 8 };
	int lv = level < 0 ? 0 : level > 2 ? 2 : level;
	enum font f = fonts[lv];
	PangoLayout *l = layout_new(pdf, f, text, false, text_width(pdf), PANGO_ALIGN_LEFT,
				    PANGO_WRAP_WORD_CHAR);
	struct band b = { .pad_y = 0 };
	PangoRectangle log_r;
	char *clean;

	pango_layout_get_extents(l, NULL, &log_r);
	rp_pdf_space(pdf, before[lv]);
	/* Keep the heading with what follows it: room for a few lines below. */
	need(pdf, (double)log_r.height / PANGO_SCALE + 48);
	if (lv == 1 && (clean = rp_sanitize(text, false)) != NULL) {
		char dest[96];

		snprintf(dest, sizeof(dest), "page=%d pos=[%.1f %.1f]", pdf->page, MARGIN_X, pdf->y);
		cairo_pdf_surface_add_outline(pdf->surface, CAIRO_PDF_OUTLINE_ROOT, clean, dest, 0);
		free(clean);
	}
	block(pdf, l, &ink, &b);
	if (lv == 1) {
		cairo_save(pdf->cr);
		set_rgb(pdf->cr, &ink);
		cairo_set_line_width(pdf->cr, 1.2);
		cairo_move_to(pdf->cr, MARGIN_X, pdf->y + 1.5);
		cairo_line_to(pdf->cr, pdf->w - MARGIN_X, pdf->y + 1.5);
		cairo_stroke(pdf->cr);
		cairo_restore(pdf->cr);
		pdf->y += 3;
	}
	pdf->y += 4;
}

void rp_pdf_paragraph(struct rp_pdf *pdf, const char *text, enum rp_pdf_tone tone)
{
	enum font f = tone == RP_PDF_META ? F_META : tone == RP_PDF_FLAG ? F_BOLD : F_BODY;
	struct band b = { .pad_y = 0 };

	block(pdf, layout_new(pdf, f, text, true, text_width(pdf), PANGO_ALIGN_LEFT,
			      PANGO_WRAP_WORD_CHAR), tone_rgb(tone), &b);
	pdf->y += 5;
}

void rp_pdf_boxed(struct rp_pdf *pdf, const char *text, enum rp_pdf_tone tone)
{
	struct band b = { .pad_x = 8, .pad_y = 6, .box = tone_rgb(tone), .box_width = 1.6,
			  .keep = true };

	rp_pdf_space(pdf, 4);
	block(pdf, layout_new(pdf, F_BOLD, text, false, text_width(pdf) - 16, PANGO_ALIGN_LEFT,
			      PANGO_WRAP_WORD_CHAR), tone_rgb(tone), &b);
	pdf->y += 8;
}

void rp_pdf_code(struct rp_pdf *pdf, const char *text)
{
	struct band b = { .pad_x = 5, .pad_y = 4, .box = &rule, .box_width = 0.6, .fill = &shade };
	/* Tabs as 8 columns of the monospace font. */
	PangoLayout *l = layout_new(pdf, F_CODE, text, true, text_width(pdf) - 10, PANGO_ALIGN_LEFT,
				    PANGO_WRAP_CHAR);
	PangoTabArray *tabs = pango_tab_array_new(1, TRUE);
	PangoRectangle log_r;
	PangoLayout *m = layout_new(pdf, F_CODE, "00000000", false, 0, PANGO_ALIGN_LEFT, PANGO_WRAP_CHAR);

	pango_layout_get_extents(m, NULL, &log_r);
	g_object_unref(m);
	pango_tab_array_set_tab(tabs, 0, PANGO_TAB_LEFT, log_r.width / PANGO_SCALE);
	pango_layout_set_tabs(l, tabs);
	pango_tab_array_free(tabs);
	need(pdf, 30);
	block(pdf, l, &ink, &b);
	pdf->y += 6;
}

/* Column boxes of the open table (text width shared by weight). */
static void columns(const struct rp_pdf *pdf, struct cell *cells)
{
	double total = 0, x = MARGIN_X;

	for (size_t i = 0; i < pdf->n_cols; i++)
		total += pdf->cols[i].weight > 0 ? pdf->cols[i].weight : 1;
	for (size_t i = 0; i < pdf->n_cols; i++) {
		double w = text_width(pdf) * (pdf->cols[i].weight > 0 ? pdf->cols[i].weight : 1) / total;

		cells[i].x = x + CELL_PAD_X;
		cells[i].w = w - 2 * CELL_PAD_X;
		x += w;
	}
}

/* A row of the open table; cells[i] NULL is empty. */
static void table_band(struct rp_pdf *pdf, const char *const *text, const enum rp_pdf_tone *tones,
		       bool header)
{
	struct cell cells[MAX_COLS];
	struct band b = { .cells = cells, .n = pdf->n_cols, .pad_x = CELL_PAD_X, .pad_y = CELL_PAD_Y,
			  .borders = true, .keep = true };

	memset(cells, 0, sizeof(cells));
	columns(pdf, cells);
	for (size_t i = 0; i < pdf->n_cols; i++) {
		enum rp_pdf_tone t = tones ? tones[i] : RP_PDF_NORMAL;
		bool bold = header || t == RP_PDF_FLAG;

		cells[i].layout = layout_new(pdf, bold ? F_TABLE_BOLD : F_TABLE, text[i] ? text[i] : "",
					     false, cells[i].w,
					     header || pdf->cols[i].align == RP_PDF_LEFT ? PANGO_ALIGN_LEFT
											 : PANGO_ALIGN_RIGHT,
					     PANGO_WRAP_WORD_CHAR);
		cells[i].color = header ? &ink : tone_rgb(t);
		cells[i].shaded = header;
		if (cell_lines(pdf, &cells[i]) < 0) {
			b.n = i + 1;
			band_free(&b);
			return;
		}
	}
	band_draw(pdf, &b);
	band_free(&b);
}

static void table_header(struct rp_pdf *pdf)
{
	const char *titles[MAX_COLS];

	for (size_t i = 0; i < pdf->n_cols; i++)
		titles[i] = pdf->cols[i].title;
	table_band(pdf, titles, NULL, true);
}

void rp_pdf_table_begin(struct rp_pdf *pdf, const struct rp_pdf_col *cols, size_t n)
{
	if (n > MAX_COLS) {
		fail(pdf, -EINVAL, "a PDF table has at most 24 columns", NULL);
		n = MAX_COLS;
	}
	need(pdf, 40); /* before the table is open: a break here repeats no header */
	memcpy(pdf->cols, cols, n * sizeof(*cols));
	pdf->n_cols = n;
	pdf->table_header = false;
	for (size_t i = 0; i < n; i++)
		pdf->table_header |= cols[i].title != NULL;
	if (pdf->table_header)
		table_header(pdf);
}

void rp_pdf_table_row(struct rp_pdf *pdf, const char *const *cells, const enum rp_pdf_tone *tones)
{
	if (pdf->n_cols)
		table_band(pdf, cells, tones, false);
}

void rp_pdf_table_end(struct rp_pdf *pdf)
{
	pdf->n_cols = 0;
	pdf->table_header = false;
	pdf->page_top = MARGIN_TOP;
	pdf->y += 8;
}

void rp_pdf_kv(struct rp_pdf *pdf, const struct rp_field *f, size_t n)
{
	static const struct rp_pdf_col cols[] = {
		{ NULL, 1, RP_PDF_LEFT },
		{ NULL, 3, RP_PDF_LEFT },
	};

	rp_pdf_table_begin(pdf, cols, 2);
	for (size_t i = 0; i < n; i++) {
		struct cell cells[2];
		struct band b = { .cells = cells, .n = 2, .pad_x = CELL_PAD_X, .pad_y = CELL_PAD_Y,
				  .borders = true, .keep = true };

		memset(cells, 0, sizeof(cells));
		columns(pdf, cells);
		cells[0].layout = layout_new(pdf, F_TABLE_BOLD, f[i].label, false, cells[0].w,
					     PANGO_ALIGN_LEFT, PANGO_WRAP_WORD_CHAR);
		cells[0].color = &ink;
		cells[0].shaded = true;
		cells[1].layout = layout_new(pdf, F_TABLE, f[i].value, false, cells[1].w,
					     PANGO_ALIGN_LEFT, PANGO_WRAP_WORD_CHAR);
		cells[1].color = &ink;
		if (cell_lines(pdf, &cells[0]) == 0 && cell_lines(pdf, &cells[1]) == 0)
			band_draw(pdf, &b);
		band_free(&b);
	}
	rp_pdf_table_end(pdf);
}

void rp_pdf_svg(struct rp_pdf *pdf, const char *title, const char *svg, size_t len)
{
	GError *gerr = NULL;
	RsvgHandle *h = rsvg_handle_new_from_data((const guint8 *)svg, len, &gerr);
	double w = 0, ht = 0, scale, title_h = 0;
	RsvgRectangle vp;

	if (!h) {
		fail(pdf, -EINVAL, "SVG chart", gerr ? gerr->message : "not readable");
		g_clear_error(&gerr);
		return;
	}
	if (!rsvg_handle_get_intrinsic_size_in_pixels(h, &w, &ht) || w <= 0 || ht <= 0) {
		fail(pdf, -EINVAL, "SVG chart", "no width and height");
		g_object_unref(h);
		return;
	}
	scale = text_width(pdf) / w;
	if (title) {
		PangoLayout *l = layout_new(pdf, F_H2, title, false, text_width(pdf), PANGO_ALIGN_LEFT,
					    PANGO_WRAP_WORD_CHAR);
		PangoRectangle log_r;

		pango_layout_get_extents(l, NULL, &log_r);
		title_h = (double)log_r.height / PANGO_SCALE + 14;
		g_object_unref(l);
	}
	if (title_h + ht * scale > bottom(pdf) - MARGIN_TOP)
		scale = (bottom(pdf) - MARGIN_TOP - title_h) / ht;
	/* The title stays with its picture. */
	need(pdf, title_h + ht * scale);
	if (title)
		rp_pdf_heading(pdf, 2, title);
	vp = (RsvgRectangle){ MARGIN_X, pdf->y, w * scale, ht * scale };
	if (!rsvg_handle_render_document(h, pdf->cr, &vp, &gerr)) {
		fail(pdf, -EINVAL, "SVG chart", gerr ? gerr->message : "cannot be drawn");
		g_clear_error(&gerr);
	}
	g_object_unref(h);
	pdf->y += ht * scale + 6;
}

/* ---- the document -------------------------------------------------------- */

static cairo_status_t write_out(void *closure, const unsigned char *data, unsigned int len)
{
	FILE *out = closure;

	if (out && fwrite(data, 1, len, out) != len)
		return CAIRO_STATUS_WRITE_ERROR;
	return CAIRO_STATUS_SUCCESS;
}

static void set_meta(struct rp_pdf *pdf, cairo_pdf_metadata_t key, const char *value)
{
	char *clean;

	if (!value || !*value)
		return;
	clean = rp_sanitize(value, false);
	if (!clean) {
		fail(pdf, -ENOMEM, "out of memory", NULL);
		return;
	}
	cairo_pdf_surface_set_metadata(pdf->surface, key, clean);
	free(clean);
}

/* cairo wants "YYYY-MM-DDThh:mm:ssZ" (no fraction). */
static void set_date(struct rp_pdf *pdf, int64_t real_ns)
{
	time_t secs = (time_t)(real_ns / 1000000000);
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&secs, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return;
	cairo_pdf_surface_set_metadata(pdf->surface, CAIRO_PDF_METADATA_CREATE_DATE, buf);
	cairo_pdf_surface_set_metadata(pdf->surface, CAIRO_PDF_METADATA_MOD_DATE, buf);
}

static int pass(FILE *out, const struct rp_pdf_doc *doc, int pages,
		void (*body)(struct rp_pdf *pdf, const void *ctx), const void *ctx,
		int *pages_out, struct fd_error *err)
{
	struct rp_pdf pdf = { .out = out, .pages = pages, .page = 1 };
	int r;

	pdf.w = doc->paper == REPORT_PAPER_LETTER ? 612 : 595.276;
	pdf.h = doc->paper == REPORT_PAPER_LETTER ? 792 : 841.89;
	pdf.y = pdf.page_top = MARGIN_TOP;
	pdf.footer = doc->footer ? doc->footer : "";
	pdf.surface = cairo_pdf_surface_create_for_stream(write_out, out, pdf.w, pdf.h);
	pdf.cr = cairo_create(pdf.surface);
	pdf.pango = pango_cairo_create_context(pdf.cr);
	/* One unit is one point: font sizes in points are what they say. */
	pango_cairo_context_set_resolution(pdf.pango, 72);
	for (int i = 0; i < N_FONTS; i++)
		pdf.font[i] = pango_font_description_from_string(font_names[i]);
	set_meta(&pdf, CAIRO_PDF_METADATA_TITLE, doc->title);
	set_meta(&pdf, CAIRO_PDF_METADATA_AUTHOR, doc->author);
	set_meta(&pdf, CAIRO_PDF_METADATA_SUBJECT, doc->subject);
	set_meta(&pdf, CAIRO_PDF_METADATA_KEYWORDS, doc->keywords);
	set_meta(&pdf, CAIRO_PDF_METADATA_CREATOR, doc->creator);
	set_date(&pdf, doc->created_real_ns);

	body(&pdf, ctx);
	footer(&pdf);
	cairo_show_page(pdf.cr);
	*pages_out = pdf.page;

	for (int i = 0; i < N_FONTS; i++)
		pango_font_description_free(pdf.font[i]);
	g_object_unref(pdf.pango);
	cairo_destroy(pdf.cr);
	cairo_surface_finish(pdf.surface);
	if (!pdf.error && cairo_surface_status(pdf.surface) != CAIRO_STATUS_SUCCESS)
		fail(&pdf, cairo_surface_status(pdf.surface) == CAIRO_STATUS_WRITE_ERROR ? -EIO : -EINVAL,
		     "cairo", cairo_status_to_string(cairo_surface_status(pdf.surface)));
	cairo_surface_destroy(pdf.surface);
	if (!pdf.error)
		return 0;
	r = fd_error_set(err, pdf.error == -EIO ? FD_ERR_ENV : FD_ERR_INTERNAL, pdf.error,
			 "writing the PDF failed: %s", pdf.what);
	return r;
}

int rp_pdf_write(FILE *out, const struct rp_pdf_doc *doc,
		 void (*body)(struct rp_pdf *pdf, const void *ctx), const void *ctx,
		 struct fd_error *err)
{
	char *footer_text = rp_sanitize(doc->footer, false);
	struct rp_pdf_doc d = *doc;
	int pages = 0, again = 0, r;

	if (!footer_text)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	d.footer = footer_text;
	r = pass(NULL, &d, 0, body, ctx, &pages, err);
	if (r == 0)
		r = pass(out, &d, pages, body, ctx, &again, err);
	if (r == 0 && again != pages)
		r = fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				 "PDF layout: %d pages counted, %d drawn", pages, again);
	free(footer_text);
	return r;
}

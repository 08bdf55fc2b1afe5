#include "scenario_tree.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct anchor {
	char *name;
	struct ynode *node;
};

struct builder {
	const char *name;
	const char *buf;
	size_t len;
	struct fd_error *err;
	struct ytree *t;
	struct ynode *stack[SCENARIO_MAX_DEPTH];
	char *stack_anchor[SCENARIO_MAX_DEPTH]; /* anchor of an open container */
	int depth;
	struct anchor anchors[SCENARIO_MAX_ANCHORS];
	int n_anchors;
	size_t expanded; /* the document's weight so far */
	int documents;
};

static int tree_fail(struct fd_error *err, const char *name, int line, int col,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int tree_fail(struct fd_error *err, const char *name, int line, int col,
		     const char *fmt, ...)
{
	char what[FD_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s:%d:%d: error: %s", name, line,
			    col, what);
}

static void offset_to_line_col(const char *buf, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Offset of the first byte that is not well-formed UTF-8, or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates and values past U+10FFFF */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return i;
		i += n + 1;
	}
	return len;
}

/*
 * libfyaml scans a whole flow sequence ahead before it emits the first event
 * (1 MiB of "[" costs seconds and hundreds of MiB), so deep flow nesting is
 * refused by this cheap pre-scan before libfyaml sees the bytes. It counts
 * "[" and "{" that can only open a flow collection (inside one, or after
 * ": ", "- ", "? " or at column 1), skipping comments and quoted scalars
 * inside flows. It errs towards counting too few; the event-time check
 * stays the authority. Returns the offset of the bracket past the limit, or len.
 */
static size_t flow_too_deep(const char *b, size_t len)
{
	char prev = '\n';
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = b[i];

		if (c == '\n') {
			prev = '\n';
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r')
			continue;
		if (c == '#' && (i == 0 || b[i - 1] == ' ' || b[i - 1] == '\t' || b[i - 1] == '\n')) {
			while (i + 1 < len && b[i + 1] != '\n')
				i++;
			continue;
		}
		if (depth > 0 && (c == '"' || c == '\'') &&
		    (prev == '[' || prev == '{' || prev == ',' || prev == ':')) {
			for (i++; i < len && b[i] != c; i++)
				if (c == '"' && b[i] == '\\')
					i++;
		} else if ((c == '[' || c == '{') &&
			   (depth > 0 || prev == ':' || prev == '-' || prev == '?' ||
			    (prev == '\n' && (i == 0 || b[i - 1] == '\n')))) {
			if (++depth > SCENARIO_MAX_DEPTH)
				return i;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
		prev = c;
	}
	return len;
}

static int check_bytes(const char *name, const char *buf, size_t len, struct fd_error *err)
{
	const char *nul;
	size_t bad;
	int line, col;

	if (len > SCENARIO_MAX_BYTES)
		return fd_error_set(err, FD_ERR_INPUT, -EFBIG,
				    "%s:1:1: error: file is %zu bytes; a scenario may be at most 1 MiB",
				    name, len);
	nul = memchr(buf, '\0', len);
	if (nul) {
		offset_to_line_col(buf, (size_t)(nul - buf), &line, &col);
		return tree_fail(err, name, line, col,
				 "NUL byte in the file (a scenario is UTF-8 text, not binary)");
	}
	bad = utf8_invalid_at((const unsigned char *)buf, len);
	if (bad < len) {
		offset_to_line_col(buf, bad, &line, &col);
		return tree_fail(err, name, line, col, "invalid UTF-8 (byte 0x%02x)",
				 (unsigned char)buf[bad]);
	}
	bad = flow_too_deep(buf, len);
	if (bad < len) {
		offset_to_line_col(buf, bad, &line, &col);
		return tree_fail(err, name, line, col, "nesting deeper than %d levels; refused",
				 SCENARIO_MAX_DEPTH);
	}
	return 0;
}

static struct ynode *node_new(struct builder *b, enum ynode_type type, const struct fy_mark *m)
{
	struct ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = type;
	n->line = m ? m->line + 1 : 1;
	n->col = m ? m->column + 1 : 1;
	n->weight = 1;
	n->next_alloc = b->t->all;
	b->t->all = n;
	return n;
}

static int add_child(struct builder *b, struct ynode *child)
{
	struct ynode *parent;

	if (b->depth == 0) {
		b->t->root = child;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (parent->n_kids == parent->cap_kids) {
		size_t cap = parent->cap_kids ? parent->cap_kids * 2 : 8;
		struct ynode **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap_kids = cap;
	}
	parent->kids[parent->n_kids++] = child;
	return 0;
}

/* Adds w to the document's weight; refuses documents that expand too far. */
static int add_weight(struct builder *b, size_t w, const struct fy_mark *m)
{
	b->expanded += w;
	if (b->expanded > SCENARIO_MAX_NODES)
		return tree_fail(b->err, b->name, m->line + 1, m->column + 1,
				 "document expands to more than %d nodes (alias bomb?); refused",
				 SCENARIO_MAX_NODES);
	return 0;
}

static int anchor_add(struct builder *b, char *name, struct ynode *n, const struct fy_mark *m)
{
	if (b->n_anchors == SCENARIO_MAX_ANCHORS) {
		free(name);
		return tree_fail(b->err, b->name, m->line + 1, m->column + 1,
				 "more than %d anchors; refused", SCENARIO_MAX_ANCHORS);
	}
	b->anchors[b->n_anchors].name = name;
	b->anchors[b->n_anchors].node = n;
	b->n_anchors++;
	return 0;
}

static char *token_dup(struct fy_token *tok)
{
	size_t len = 0;
	const char *text = tok ? fy_token_get_text(tok, &len) : NULL;
	char *s;

	if (!tok)
		return NULL;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	if (len)
		memcpy(s, text, len);
	s[len] = '\0';
	return s;
}

/*
 * libfyaml 0.7.12 leaks a buffer when fy_token_get_text() unescapes a
 * single-quoted scalar with many '' (found by the fuzzer), so single-quoted
 * scalars are unescaped here from the input; their token marks span the
 * text between the quotes. YAML flow folding: white space around a line
 * break is dropped, one break becomes a space, each further (empty) line a
 * newline. Returns false when the token is not single-quoted.
 */
static bool single_quoted_text(struct builder *b, struct fy_token *tok, struct ynode *n)
{
	const struct fy_mark *s = fy_token_start_mark(tok), *e = fy_token_end_mark(tok);
	const char *raw;
	size_t k = 0, len;

	if (fy_token_scalar_style(tok) != FYSS_SINGLE_QUOTED || !s || !e ||
	    e->input_pos < s->input_pos || e->input_pos > b->len)
		return false;
	raw = b->buf + s->input_pos;
	len = e->input_pos - s->input_pos;
	n->str = malloc(len + 1);
	if (!n->str)
		return true; /* the caller sees str == NULL */
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\n' || raw[i] == '\r') {
			size_t breaks = 0;

			while (k && (n->str[k - 1] == ' ' || n->str[k - 1] == '\t'))
				k--;
			for (; i < len && strchr(" \t\r\n", raw[i]); i++)
				breaks += raw[i] == '\n';
			if (breaks == 0)
				breaks = 1;
			if (breaks == 1)
				n->str[k++] = ' ';
			while (breaks-- > 1)
				n->str[k++] = '\n';
			i--;
			continue;
		}
		n->str[k++] = raw[i];
		if (raw[i] == '\'' && i + 1 < len && raw[i + 1] == '\'')
			i++;
	}
	n->str[k] = '\0';
	n->len = k;
	return true;
}

static int on_scalar(struct builder *b, struct fy_event *e, const struct fy_mark *m)
{
	struct ynode *n = node_new(b, YNODE_SCALAR, m);
	size_t len = 0;
	const char *text;
	int r;

	if (!n)
		return -ENOMEM;
	if (!single_quoted_text(b, e->scalar.value, n)) {
		text = fy_token_get_text(e->scalar.value, &len);
		n->str = malloc(len + 1);
		if (n->str && len)
			memcpy(n->str, text, len);
		if (n->str)
			n->str[len] = '\0';
		n->len = len;
	}
	if (!n->str)
		return -ENOMEM;
	len = n->len;
	n->plain = fy_token_scalar_style(e->scalar.value) == FYSS_PLAIN;
	/* a long scalar weighs more: aliasing it many times copies its bytes */
	n->weight = 1 + len / 256;
	r = add_weight(b, n->weight, m);
	if (r == 0)
		r = add_child(b, n);
	if (r == 0 && e->scalar.anchor) {
		char *a = token_dup(e->scalar.anchor);

		r = a ? anchor_add(b, a, n, m) : -ENOMEM;
	}
	return r;
}

static int on_start(struct builder *b, struct fy_event *e, const struct fy_mark *m)
{
	bool map = e->type == FYET_MAPPING_START;
	struct fy_token *anchor = map ? e->mapping_start.anchor : e->sequence_start.anchor;
	struct ynode *n;
	int r;

	if (b->depth == SCENARIO_MAX_DEPTH)
		return tree_fail(b->err, b->name, m->line + 1, m->column + 1,
				 "nesting deeper than %d levels; refused", SCENARIO_MAX_DEPTH);
	n = node_new(b, map ? YNODE_MAP : YNODE_SEQ, m);
	if (!n)
		return -ENOMEM;
	r = add_weight(b, 1, m);
	if (r == 0)
		r = add_child(b, n);
	if (r)
		return r;
	b->stack_anchor[b->depth] = NULL;
	if (anchor) {
		b->stack_anchor[b->depth] = token_dup(anchor);
		if (!b->stack_anchor[b->depth])
			return -ENOMEM;
	}
	b->stack[b->depth++] = n;
	return 0;
}

static int on_end(struct builder *b, const struct fy_mark *m)
{
	struct ynode *n;
	char *anchor;

	if (b->depth == 0)
		return 0;
	n = b->stack[--b->depth];
	anchor = b->stack_anchor[b->depth];
	b->stack_anchor[b->depth] = NULL;
	n->weight = 1;
	for (size_t i = 0; i < n->n_kids; i++) {
		n->weight += n->kids[i]->weight;
		if (n->weight > SCENARIO_MAX_NODES)
			n->weight = SCENARIO_MAX_NODES + 1;
	}
	return anchor ? anchor_add(b, anchor, n, m) : 0;
}

static int on_alias(struct builder *b, struct fy_event *e, const struct fy_mark *m)
{
	size_t len = 0;
	const char *name = fy_token_get_text(e->alias.anchor, &len);
	int r;

	/* the newest anchor of a name wins; an open container is not yet listed */
	for (int i = b->n_anchors - 1; i >= 0; i--) {
		if (strlen(b->anchors[i].name) == len && memcmp(b->anchors[i].name, name, len) == 0) {
			r = add_weight(b, b->anchors[i].node->weight, m);
			return r ? r : add_child(b, b->anchors[i].node);
		}
	}
	return tree_fail(b->err, b->name, m->line + 1, m->column + 1,
			 "alias \"*%.*s\" refers to no complete anchor before it", (int)len, name);
}

static int on_event(struct builder *b, struct fy_event *e)
{
	const struct fy_mark *m = fy_event_start_mark(e);
	static const struct fy_mark zero;

	if (!m)
		m = &zero;
	switch (e->type) {
	case FYET_DOCUMENT_START:
		if (++b->documents > 1)
			return tree_fail(b->err, b->name, m->line + 1, m->column + 1,
					 "more than one YAML document (a scenario is one document)");
		return 0;
	case FYET_MAPPING_START:
	case FYET_SEQUENCE_START:
		return on_start(b, e, m);
	case FYET_MAPPING_END:
	case FYET_SEQUENCE_END:
		return on_end(b, m);
	case FYET_SCALAR:
		return on_scalar(b, e, m);
	case FYET_ALIAS:
		return on_alias(b, e, m);
	default:
		return 0;
	}
}

static int syntax_error(struct builder *b, struct fy_diag *diag)
{
	void *it = NULL;
	struct fy_diag_error *de = fy_diag_errors_iterate(diag, &it);

	if (!de)
		return tree_fail(b->err, b->name, 1, 1, "invalid YAML");
	return tree_fail(b->err, b->name, de->line > 0 ? de->line : 1,
			 de->column > 0 ? de->column : 1, "invalid YAML: %s", de->msg);
}

static int run_parser(struct builder *b, struct fy_parser *p, struct fy_diag *diag)
{
	struct fy_event *e;
	int r = 0;

	while (r == 0 && (e = fy_parser_parse(p))) {
		r = on_event(b, e);
		fy_parser_event_free(p, e);
	}
	if (r == -ENOMEM)
		return fd_error_set(b->err, FD_ERR_INTERNAL, -ENOMEM, "%s: out of memory", b->name);
	if (r == 0 && fy_parser_get_stream_error(p))
		r = syntax_error(b, diag);
	return r;
}

int scenario_tree_parse(struct ytree *t, const char *name, const char *buf, size_t len,
			struct fd_error *err)
{
	struct builder *b = NULL;
	struct fy_diag *diag = NULL;
	struct fy_parser *p = NULL;
	struct fy_diag_cfg dcfg;
	struct fy_parse_cfg pcfg = { 0 };
	int r;

	memset(t, 0, sizeof(*t));
	r = check_bytes(name, buf, len, err);
	if (r)
		return r;
	b = calloc(1, sizeof(*b));
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.level = FYET_ERROR;
	diag = b ? fy_diag_create(&dcfg) : NULL;
	if (!diag) {
		r = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "%s: out of memory", name);
		goto cleanup;
	}
	fy_diag_set_collect_errors(diag, true);
	pcfg.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_JSON_NONE;
	pcfg.diag = diag;
	p = fy_parser_create(&pcfg);
	if (!p || fy_parser_set_string(p, len ? buf : "", len)) {
		r = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "%s: cannot start the YAML parser", name);
		goto cleanup;
	}
	b->name = name;
	b->buf = buf;
	b->len = len;
	b->err = err;
	b->t = t;
	r = run_parser(b, p, diag);
cleanup:
	if (b) {
		for (int i = 0; i < b->n_anchors; i++)
			free(b->anchors[i].name);
		for (int i = 0; i < b->depth; i++)
			free(b->stack_anchor[i]);
	}
	free(b);
	fy_parser_destroy(p);
	if (diag)
		fy_diag_destroy(diag);
	if (r)
		scenario_tree_free(t);
	return r;
}

void scenario_tree_free(struct ytree *t)
{
	struct ynode *n = t->all;

	while (n) {
		struct ynode *next = n->next_alloc;

		free(n->str);
		free(n->kids);
		free(n);
		n = next;
	}
	t->all = NULL;
	t->root = NULL;
}

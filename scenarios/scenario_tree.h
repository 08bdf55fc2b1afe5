/*
 * scenario_tree: private to scenarios/. Turns YAML bytes into a small tree
 * of scalars, mappings and sequences that keeps the line:col of every node.
 *
 * The tree is built from libfyaml's event stream, not its document API, so
 * that hostile input is refused before anything is expanded: size, NUL
 * bytes, invalid UTF-8, nesting depth, node count, and the size an alias
 * would expand to are all checked while reading. An alias shares its
 * anchor's node (nothing is copied); the "weight" of every node counts what
 * a consumer would visit through aliases, and the whole document's weight
 * is capped, so a walk over the tree is bounded too.
 */
#ifndef FD_SCENARIO_TREE_H
#define FD_SCENARIO_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "fd_error.h"

#define SCENARIO_MAX_BYTES   (1024 * 1024)
#define SCENARIO_MAX_DEPTH   64
#define SCENARIO_MAX_NODES   100000 /* after alias expansion */
#define SCENARIO_MAX_ANCHORS 256

enum ynode_type { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

struct ynode {
	enum ynode_type type;
	int line, col;   /* 1-based */
	char *str;       /* scalar text, NUL-terminated (may hold NUL: see len) */
	size_t len;
	bool plain;      /* unquoted scalar: "null", "~", "" mean no value */
	struct ynode **kids; /* mapping: key, value, key, value...; sequence: items */
	size_t n_kids;
	size_t cap_kids;
	size_t weight;   /* nodes visited through this one, aliases expanded */
	struct ynode *next_alloc; /* every node of the tree, for freeing */
};

struct ytree {
	struct ynode *root;      /* NULL for an empty document */
	struct ynode *all;       /* allocation list */
};

/*
 * Parses buf into t. name is the file name used in errors
 * ("NAME:LINE:COL: error: ..."). Returns 0 or a negative code with err set.
 */
int scenario_tree_parse(struct ytree *t, const char *name, const char *buf,
			size_t len, struct fd_error *err);

void scenario_tree_free(struct ytree *t);

/* Number of key/value pairs of a mapping or items of a sequence. */
static inline size_t ynode_count(const struct ynode *n)
{
	return n->type == YNODE_MAP ? n->n_kids / 2 : n->n_kids;
}

#endif

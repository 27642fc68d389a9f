/*
 * YAML -> a neutral tree (first stage of configuration loading, STYLE §2.10). This module knows
 * nothing about our keys: it turns libyaml events into scalars, sequences and mappings, each
 * with the line and column where it starts, and keeps mapping keys in file order.
 *
 * Deliberately a subset of YAML: one document per stream; no anchors, aliases or tags (they make
 * a config file harder to read than it saves in typing); mapping keys must be scalars and unique.
 * Anything outside the subset is an error naming the file, line and column.
 */
#ifndef TW_CORE_YAML_H
#define TW_CORE_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum tw_yaml_kind {
    TW_YAML_SCALAR,
    TW_YAML_SEQUENCE,
    TW_YAML_MAPPING,
};

struct tw_yaml_pair {
    struct tw_yaml_node *key;   /* always a TW_YAML_SCALAR */
    struct tw_yaml_node *value; /* any kind */
};

struct tw_yaml_node {
    enum tw_yaml_kind kind;      /* which of the members below are used */
    unsigned line;               /* 1-based line where the node starts */
    unsigned col;                /* 1-based column where the node starts */
    char *scalar;                /* SCALAR: the text, NUL-terminated (never contains NUL) */
    bool plain;                  /* SCALAR: written without quotes or block style, so it may
                                     mean null, a bool or a number; "8" and '8' are strings */
    size_t n;                    /* SEQUENCE: number of items; MAPPING: number of pairs */
    struct tw_yaml_node **items; /* SEQUENCE: the items, in order */
    struct tw_yaml_pair *pairs;  /* MAPPING: the pairs, in file order */
};

/*
 * Parse len bytes of YAML. name is used only in messages ("config.yaml:3:5: ..."). On success
 * *out is the document's root, owned by the caller (tw_yaml_destroy), or NULL when the stream
 * has no document at all (empty, or only comments). On error returns TW_EINVAL (syntax or an
 * unsupported feature) or TW_ENOMEM, with "name:line:col: problem" in err.
 */
int tw_yaml_parse(const char *data, size_t len, const char *name, struct tw_yaml_node **out,
                  struct tw_err *err);

/*
 * Read the file at path (at most max_bytes) and parse it as tw_yaml_parse does, with path as the
 * name in messages. Returns TW_ENOTFOUND when the file does not exist, TW_EIO when it cannot be
 * opened or read (both with "path: cannot open: reason"), TW_EINVAL when it is too large.
 */
int tw_yaml_parse_file(const char *path, size_t max_bytes, struct tw_yaml_node **out,
                       struct tw_err *err);

/* Free a tree; NULL is a no-op. */
void tw_yaml_destroy(struct tw_yaml_node *node);

/* The value for key in a mapping, or NULL when absent or when map is not a mapping. Borrowed. */
const struct tw_yaml_node *tw_yaml_get(const struct tw_yaml_node *map, const char *key);

/* True for a plain scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
bool tw_yaml_is_null(const struct tw_yaml_node *node);

/*
 * A scalar of decimal digits only (no sign, spaces, underscores or exponent) that fits in 64
 * bits. Quoted scalars qualify too; callers that want a YAML integer also check node->plain.
 */
bool tw_yaml_as_uint(const struct tw_yaml_node *node, uint64_t *out);

/* A plain scalar true/True/TRUE or false/False/FALSE (the YAML 1.2 core schema's booleans). */
bool tw_yaml_as_bool(const struct tw_yaml_node *node, bool *out);

/*
 * What a node holds, for "(got ...)" in messages: a scalar's text in double quotes (cut at 60
 * bytes), "nothing" for a null, or the kind ("a mapping"). Returns buf or a static string.
 */
const char *tw_yaml_describe(const struct tw_yaml_node *node, char *buf, size_t size);

/* "a scalar", "a sequence", "a mapping": for messages such as "expected a mapping (got ...)". */
const char *tw_yaml_kind_name(enum tw_yaml_kind kind);

#endif /* TW_CORE_YAML_H */

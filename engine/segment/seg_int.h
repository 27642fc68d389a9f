/* Internals shared by the files of the segment part. */
#ifndef TW_SEGMENT_SEG_INT_H
#define TW_SEGMENT_SEG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment/segment.h"

/* Where a rule's field lives: a top-level column, or sub-field sub of LIST column field. */
struct tw_seg_ref {
    uint32_t field;
    uint32_t sub;             /* TW_COND_TOP for a top-level field */
    const struct tw_field *f; /* the tested field (the sub-field when nested) */
};

/*
 * Resolve a rule's field_name (and nesting_path when nested) in fields. Nested field names
 * may be given bare ("retailer_product_code") or qualified ("items.retailer_product_code").
 * TW_OK, or TW_EINVAL with err->field = rule_path + ".field_name" (or ".nested") and a
 * message listing the valid names.
 */
int tw_seg_resolve(const json_t *rule, const char *index, const struct tw_field *fields,
                   const char *rule_path, struct tw_seg_ref *ref, struct tw_err *err);

/* Rule kinds after normalisation (see segment.h). */
enum tw_seg_kind {
    TW_SK_NEVER,        /* matches nothing */
    TW_SK_ALWAYS,       /* matches everything, null included */
    TW_SK_EXISTS,       /* set and, for text, not "" */
    TW_SK_MISSING,      /* null or "" */
    TW_SK_IN,           /* equals one of vals (null never) */
    TW_SK_NOT_IN,       /* null, or equals none of vals */
    TW_SK_CONTAINS,     /* text contains vals[0], ASCII case-insensitive */
    TW_SK_NOT_CONTAINS, /* set and does not contain vals[0] */
    TW_SK_RANGE,        /* lo <= x <= hi (integers: INT, MONEY, dates) */
    TW_SK_DRANGE,       /* NUMBER: lo <(=) x <(=) hi */
    TW_SK_SCRIPT,       /* lua_dir/segments/<script>.lua's match(record, params) */
};

struct tw_seg_val {
    int64_t i;
    double d;
    char *s; /* NUL-terminated, owned */
    size_t len;
};

struct tw_seg_rule {
    struct tw_seg_ref ref;
    enum tw_seg_kind kind;
    bool ci;                 /* IN/NOT_IN on text: ignore ASCII case */
    struct tw_seg_val *vals; /* owned */
    uint32_t nvals;
    bool has_lo, has_hi;
    int64_t lo, hi;              /* RANGE, inclusive */
    double dlo, dhi;             /* DRANGE */
    bool lo_incl, hi_incl;       /* DRANGE */
    char *script;                /* SCRIPT: the script name; owned */
    char *params;                /* SCRIPT: its params object as JSON, or NULL; owned */
    int lua_ref;                 /* SCRIPT: the loaded function in g->lua */
    uint32_t cond_first, cond_n; /* pushdown conditions in the query, cond_n 0: none */
    bool residual;               /* evaluated per record (set at the first keep) */
};

struct tw_seg {
    int join;                  /* TW_JOIN_ALL / TW_JOIN_ANY */
    struct tw_seg_rule *rules; /* owned */
    uint32_t n;
    struct tw_query *q; /* borrowed from tw_seg_pushdown, or NULL */
    bool resolved;      /* residual flags computed */
    bool all_applied;   /* join any: the plugin applied everything */
    struct tw_lua *lua; /* script rules' state (tw_seg_bind_lua); borrowed */
    bool failed;        /* a script failed: the run fails with fail_err */
    struct tw_err fail_err;
};

/* Epoch seconds of a DATE ("YYYY-MM-DD") or DATETIME ("...THH:MM:SSZ") slot's text. */
bool tw_seg_parse_epoch(const char *s, size_t len, int64_t *out);

/* ---- The grammar (seg_grammar.c): one table for parsing, checking and compiling. */

enum tw_seg_op {
    TW_SOP_IS,
    TW_SOP_IS_NOT,
    TW_SOP_CONTAINS,
    TW_SOP_NOT_CONTAINS,
    TW_SOP_IS_DATE,
    TW_SOP_AFTER_DATE,
    TW_SOP_BEFORE_DATE,
    TW_SOP_BETWEEN_DATE,
    TW_SOP_BETWEEN_NUMBER,
    TW_SOP_GREATER,
    TW_SOP_LESS,
    TW_SOP_REL_LESS,
    TW_SOP_REL_MORE,
    TW_SOP_EXISTS,
    TW_SOP_MISSING,
    TW_SOP_SCRIPT,
    TW_SOP_N
};

/* A set of field types: bit TW_SEG_TYPE_BIT(t) for each TW_SEG_* type t. */
#define TW_SEG_TYPE_BIT(t) (1u << ((t)-1))
#define TW_SEG_TYPES_ALL 31u

/* Operator-specific keys of a rule; bit b is tw_seg_op_keys[b]. */
enum {
    TW_SEG_KEY_VALUE = 1 << 0,
    TW_SEG_KEY_START = 1 << 1,
    TW_SEG_KEY_END = 1 << 2,
    TW_SEG_KEY_MIN = 1 << 3,
    TW_SEG_KEY_MAX = 1 << 4,
    TW_SEG_KEY_FACTOR = 1 << 5,
    TW_SEG_KEY_AMOUNT = 1 << 6,
    TW_SEG_KEY_SCRIPT = 1 << 7,
    TW_SEG_KEY_PARAMS = 1 << 8,
};
extern const char *const tw_seg_op_keys[]; /* NULL-terminated */

struct tw_seg_op_def {
    const char *name; /* "is_between_date" */
    unsigned types;   /* TW_SEG_TYPE_BIT()s it applies to */
    unsigned needs;   /* TW_SEG_KEY_* it requires */
    unsigned may;     /* TW_SEG_KEY_* it also accepts */
};
extern const struct tw_seg_op_def tw_seg_ops[TW_SOP_N]; /* indexed by enum tw_seg_op */

/* The enum tw_seg_op of an operator name, or -1. */
int tw_seg_op_find(const char *name);

/* Relative rules' time_factor names (NULL-terminated) and their lengths in seconds. */
extern const char *const tw_seg_unit_names[];
extern const int64_t tw_seg_unit_seconds[];
/* Seconds of a time_factor name, 0 when it is not one. */
int64_t tw_seg_unit_find_seconds(const char *name);

#endif

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
    uint32_t sub;                    /* TW_COND_TOP for a top-level field */
    const struct tw_field *f;        /* the tested field (the sub-field when nested) */
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
    TW_SK_NEVER,                     /* matches nothing */
    TW_SK_ALWAYS,                    /* matches everything, null included */
    TW_SK_EXISTS,                    /* set and, for text, not "" */
    TW_SK_MISSING,                   /* null or "" */
    TW_SK_IN,                        /* equals one of vals (null never) */
    TW_SK_NOT_IN,                    /* null, or equals none of vals */
    TW_SK_CONTAINS,                  /* text contains vals[0], ASCII case-insensitive */
    TW_SK_NOT_CONTAINS,              /* set and does not contain vals[0] */
    TW_SK_RANGE,                     /* lo <= x <= hi (integers: INT, MONEY, dates) */
    TW_SK_DRANGE,                    /* NUMBER: lo <(=) x <(=) hi */
    TW_SK_SCRIPT,                    /* lua_dir/segments/<script>.lua's match(record, params) */
};

struct tw_seg_val {
    int64_t i;
    double d;
    char *s;                         /* NUL-terminated, owned */
    size_t len;
};

struct tw_seg_rule {
    struct tw_seg_ref ref;
    enum tw_seg_kind kind;
    bool ci;                         /* IN/NOT_IN on text: ignore ASCII case */
    struct tw_seg_val *vals;         /* owned */
    uint32_t nvals;
    bool has_lo, has_hi;
    int64_t lo, hi;                  /* RANGE, inclusive */
    double dlo, dhi;                 /* DRANGE */
    bool lo_incl, hi_incl;           /* DRANGE */
    char *script;                    /* SCRIPT: the script name; owned */
    char *params;                    /* SCRIPT: its params object as JSON, or NULL; owned */
    int lua_ref;                     /* SCRIPT: the loaded function in g->lua */
    uint32_t cond_first, cond_n;     /* pushdown conditions in the query, cond_n 0: none */
    bool residual;                   /* evaluated per record (set at the first keep) */
};

struct tw_seg {
    int join;                        /* TW_JOIN_ALL / TW_JOIN_ANY */
    struct tw_seg_rule *rules;       /* owned */
    uint32_t n;
    struct tw_query *q;              /* borrowed from tw_seg_pushdown, or NULL */
    bool resolved;                   /* residual flags computed */
    bool all_applied;                /* join any: the plugin applied everything */
    struct tw_lua *lua;              /* script rules' state (tw_seg_bind_lua); borrowed */
    bool failed;                     /* a script failed: the run fails with fail_err */
    struct tw_err fail_err;
};

/* Epoch seconds of a DATE ("YYYY-MM-DD") or DATETIME ("...THH:MM:SSZ") slot's text. */
bool tw_seg_parse_epoch(const char *s, size_t len, int64_t *out);

#endif

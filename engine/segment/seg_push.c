/*
 * Pushdown: the rules the ABI's conditions express exactly (include/taskwheel/plugin.h,
 * "Pushdown conditions"), with the same bounds seg_eval.c uses. Not pushed: "never"/"always"
 * rules, text "is" (case-insensitive equality has no condition), "does_not_contain", and a
 * nested rule needing two conditions (any element >= a AND any element <= b is not one
 * element in [a, b]).
 */
#include <string.h>

#include "core/mem.h"
#include "segment/seg_int.h"

/*
 * Date bounds reach the source as canonical text, which sorts like the instants it names only
 * for years 0000-9999. "is_after_date 9999-12-31" is a lower bound in year 10000, whose text
 * "10000-01-01T00:00:00Z" sorts before "2026-..." (the SQL source then returned every record
 * where the rule matches none; found by tests/unit/segeq). A bound outside that range is not
 * pushed: the per-record evaluation compares instants and gets it right.
 */
#define TEXT_TIME_MIN INT64_C(-62167219200) /* 0000-01-01T00:00:00Z */
#define TEXT_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static bool text_time_ok(bool has, int64_t t)
{
    return !has || (t >= TEXT_TIME_MIN && t <= TEXT_TIME_MAX);
}

/* The conditions rule ru needs, into ops/vals; 0 when it cannot be pushed. */
static uint32_t plan(const struct tw_seg_rule *ru, uint32_t ops[], struct tw_value vals[],
                     uint32_t max)
{
    uint32_t n = 0, i;

    memset(vals, 0, max * sizeof(*vals));
    switch (ru->kind) {
    case TW_SK_EXISTS: ops[n++] = TW_OP_NOT_NULL; break;
    case TW_SK_MISSING: ops[n++] = TW_OP_IS_NULL; break;
    case TW_SK_IN:
        if (ru->ci)
            return 0;
        ops[n++] = ru->nvals == 1 ? TW_OP_EQ : TW_OP_IN;
        break;
    case TW_SK_NOT_IN:
        if (ru->ci || ru->nvals > max)
            return 0;
        for (i = 0; i < ru->nvals; i++) {
            ops[n] = TW_OP_NE;
            vals[n].i = ru->vals[i].i;
            vals[n].d = ru->vals[i].d;
            vals[n].s = ru->vals[i].s;
            vals[n].len = ru->vals[i].len;
            n++;
        }
        break;
    case TW_SK_CONTAINS:
        ops[n] = TW_OP_CONTAINS_CI;
        vals[n].s = ru->vals[0].s;
        vals[n].len = ru->vals[0].len;
        n++;
        break;
    case TW_SK_RANGE:
        if ((ru->ref.f->type == TW_FIELD_DATE || ru->ref.f->type == TW_FIELD_DATETIME) &&
            !(text_time_ok(ru->has_lo, ru->lo) && text_time_ok(ru->has_hi, ru->hi)))
            return 0;
        if (ru->has_lo) {
            ops[n] = TW_OP_GE;
            vals[n++].i = ru->lo;
        }
        if (ru->has_hi) {
            ops[n] = TW_OP_LE;
            vals[n++].i = ru->hi;
        }
        break;
    case TW_SK_DRANGE:
        if (ru->has_lo) {
            ops[n] = ru->lo_incl ? TW_OP_GE : TW_OP_GT;
            vals[n++].d = ru->dlo;
        }
        if (ru->has_hi) {
            ops[n] = ru->hi_incl ? TW_OP_LE : TW_OP_LT;
            vals[n++].d = ru->dhi;
        }
        break;
    default: return 0;
    }
    if (ru->ref.sub != TW_COND_TOP && n > 1)
        return 0;
    return n;
}

/* An EQ/IN of every listed value, as one condition. */
static int add_in(struct tw_query *q, const struct tw_seg_rule *ru, uint32_t op, struct tw_err *err)
{
    struct tw_value *in = tw_calloc(ru->nvals, sizeof(*in));
    uint32_t j;
    int rc;

    if (in == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory compiling the segment");
    for (j = 0; j < ru->nvals; j++) {
        in[j].i = ru->vals[j].i;
        in[j].d = ru->vals[j].d;
        in[j].s = ru->vals[j].s;
        in[j].len = ru->vals[j].len;
    }
    rc = tw_query_add(q, ru->ref.field, ru->ref.sub, op, in, ru->nvals, ru->ref.f->type, err);
    tw_free(in);
    return rc;
}

int tw_seg_pushdown(struct tw_seg *g, struct tw_query *q, struct tw_err *err)
{
    uint32_t ops[16], n, i, k;
    struct tw_value vals[16];
    int rc;

    g->q = q;
    g->resolved = false;
    if (g->join == TW_JOIN_ANY) {
        /* An OR can only be pushed whole: every rule must be exactly one condition. */
        for (i = 0; i < g->n; i++)
            if (plan(&g->rules[i], ops, vals, 16) != 1)
                return TW_OK;
    }
    for (i = 0; i < g->n; i++) {
        struct tw_seg_rule *ru = &g->rules[i];

        n = plan(ru, ops, vals, 16);
        ru->cond_first = q->n;
        ru->cond_n = 0;
        for (k = 0; k < n; k++) {
            if (ru->kind == TW_SK_IN)
                rc = add_in(q, ru, ops[k], err);
            else
                rc = tw_query_add(q, ru->ref.field, ru->ref.sub, ops[k], &vals[k],
                                  ops[k] == TW_OP_IS_NULL || ops[k] == TW_OP_NOT_NULL ? 0 : 1,
                                  ru->ref.f->type, err);
            if (rc != TW_OK)
                return rc;
            ru->cond_n++;
        }
    }
    return TW_OK;
}

/*
 * The engine-side query (plugin.h): the chain, the run's start time and the pushdown
 * conditions a plugin may apply. The segment compiler builds it with tw_query_add; the query
 * owns deep copies of every value, so the compiler's rule tree can go away before the run.
 * Each condition's values and their strings live in one allocation, freed together.
 */
#include "plugin/plugin.h"

#include <string.h>

#include "core/mem.h"
#include "core/time.h"

void tw_query_init(struct tw_query *q, int64_t chain, int64_t run_start, int join)
{
    memset(q, 0, sizeof(*q));
    q->chain = chain;
    q->run_start = run_start;
    q->join = join == TW_JOIN_ANY ? TW_JOIN_ANY : TW_JOIN_ALL;
}

void tw_query_fini(struct tw_query *q)
{
    uint32_t i;

    if (q == NULL)
        return;
    for (i = 0; i < q->n; i++)
        tw_free((void *)q->conds[i].values);
    tw_free(q->conds);
    tw_free(q->applied);
    memset(q, 0, sizeof(*q));
}

void tw_query_clear_applied(struct tw_query *q)
{
    if (q->n > 0)
        memset(q->applied, 0, q->n * sizeof(*q->applied));
}

static int check_arity(uint32_t op, uint32_t nvalues, struct tw_err *err)
{
    switch (op) {
    case TW_OP_EQ:
    case TW_OP_NE:
    case TW_OP_LT:
    case TW_OP_LE:
    case TW_OP_GT:
    case TW_OP_GE:
    case TW_OP_CONTAINS_CI:
        if (nvalues == 1)
            return TW_OK;
        return tw_err_set(err, TW_EINVAL, "condition op %u takes 1 value, got %u", op, nvalues);
    case TW_OP_IN:
        if (nvalues >= 1 && nvalues <= 10000)
            return TW_OK;
        return tw_err_set(err, TW_EINVAL, "IN takes 1 to 10000 values, got %u", nvalues);
    case TW_OP_IS_NULL:
    case TW_OP_NOT_NULL:
        if (nvalues == 0)
            return TW_OK;
        return tw_err_set(err, TW_EINVAL, "a null test takes no value, got %u", nvalues);
    default: return tw_err_set(err, TW_EINVAL, "unknown condition op %u", op);
    }
}

/*
 * Copy nvalues values and their strings into one block: the value array first, then each
 * string NUL-terminated. Dates get their canonical text from i.
 */
static struct tw_value *copy_values(const struct tw_value *src, uint32_t n, uint32_t type)
{
    bool is_date = type == TW_FIELD_DATE || type == TW_FIELD_DATETIME;
    char tbuf[TW_TIME_BUFSZ];
    size_t total = (size_t)n * sizeof(struct tw_value);
    struct tw_value *dst;
    char *p;
    uint32_t i;

    for (i = 0; i < n; i++)
        total += (is_date ? TW_TIME_BUFSZ : (src[i].s != NULL ? src[i].len : 0)) + 1;
    dst = tw_malloc(total ? total : 1);
    if (dst == NULL)
        return NULL;
    p = (char *)(dst + n);
    for (i = 0; i < n; i++) {
        dst[i] = src[i];
        if (is_date) {
            if (type == TW_FIELD_DATE)
                tw_time_format_date(src[i].i, tbuf);
            else
                tw_time_format(src[i].i, tbuf);
            dst[i].len = strlen(tbuf);
            memcpy(p, tbuf, dst[i].len + 1);
        } else if (src[i].s != NULL) {
            memcpy(p, src[i].s, src[i].len);
            p[src[i].len] = '\0';
        } else {
            dst[i].len = 0;
            p[0] = '\0';
        }
        dst[i].s = p;
        p += dst[i].len + 1;
    }
    return dst;
}

int tw_query_add(struct tw_query *q, uint32_t field, uint32_t sub, uint32_t op,
                 const struct tw_value *values, uint32_t nvalues, uint32_t type, struct tw_err *err)
{
    struct tw_cond *conds;
    struct tw_value *vals;
    bool *applied;
    uint32_t cap;
    int ret;

    ret = check_arity(op, nvalues, err);
    if (ret != TW_OK)
        return ret;
    if (q->n == q->cap) {
        cap = q->cap ? q->cap * 2 : 8;
        conds = tw_realloc(q->conds, cap * sizeof(*conds));
        if (conds == NULL)
            return tw_err_set(err, TW_ENOMEM, "out of memory building a query");
        q->conds = conds;
        applied = tw_realloc(q->applied, cap * sizeof(*applied));
        if (applied == NULL)
            return tw_err_set(err, TW_ENOMEM, "out of memory building a query");
        q->applied = applied;
        q->cap = cap;
    }
    vals = copy_values(values, nvalues, type);
    if (vals == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory building a query");
    q->conds[q->n] = (struct tw_cond){
        .field = field, .sub = sub, .op = op, .nvalues = nvalues, .values = vals
    };
    q->applied[q->n] = false;
    q->n++;
    return TW_OK;
}

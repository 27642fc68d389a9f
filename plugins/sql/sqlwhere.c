/*
 * Pushdown: the query's conditions as a SQL WHERE fragment with bound parameters only.
 * Each SQL form below is chosen to match the engine's per-record semantics exactly
 * (include/taskwheel/plugin.h, "Pushdown conditions"), null handling included:
 *   EQ/LT/LE/GT/GE/IN   plain comparison: NULL compares unknown, so a null never matches;
 *   NE                  (c IS NULL OR c <> ?): a null matches "is not";
 *   CONTAINS_CI         instr(lower(c), lower(?)) > 0 (SQLite, whose lower() folds ASCII
 *                       only), strpos(lower(c COLLATE "C"), lower($n COLLATE "C")) > 0
 *                       (PostgreSQL: under the "C" collation lower() folds ASCII only too,
 *                       whatever the database's locale): ASCII case folding like the engine,
 *                       and no LIKE wildcards to escape;
 *   IS_NULL / NOT_NULL  for text "" counts as not set.
 * Conditions on nested sub-fields are not applied (the engine evaluates them per record).
 * With join ANY the conditions are applied all together or not at all.
 */
#include "sqlsrc.h"

#include <string.h>

#define MAX_PARAMS 30000 /* below SQLite's default limit of 32766 (PostgreSQL: 65535) */

void tw_sql_str_add(struct tw_sql_str *s, const char *text)
{
    size_t n = strlen(text);
    size_t cap;
    char *p;

    if (s->failed)
        return;
    if (s->len + n + 1 > s->cap) {
        cap = s->cap ? s->cap : 256;
        while (cap < s->len + n + 1)
            cap *= 2;
        p = s->host->alloc(cap);
        if (p == NULL) {
            s->failed = 1;
            return;
        }
        if (s->p != NULL)
            memcpy(p, s->p, s->len);
        s->host->free(s->p);
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, text, n + 1);
    s->len += n;
}

static int is_text(uint32_t type)
{
    return type == TW_FIELD_TEXT || type == TW_FIELD_KEYWORD;
}

/* Can this condition be expressed against the table's own columns? */
static int supported(const struct tw_cond *c, const struct tw_field *fields, uint32_t nfields)
{
    uint32_t type;

    if (c->sub != TW_COND_TOP || c->field >= nfields)
        return 0;
    type = fields[c->field].type;
    if (type == TW_FIELD_LIST)
        return 0;
    if (c->op == TW_OP_CONTAINS_CI)
        return is_text(type);
    return c->op >= TW_OP_EQ && c->op <= TW_OP_NOT_NULL;
}

/* Append one condition, "t.<col> <op> ?", and its parameters. */
static void add_cond(struct tw_sql_query *qq, const struct tw_cond *c, const struct tw_field *f)
{
    static const char *const cmp[] = {
        [TW_OP_EQ] = " = ", [TW_OP_LT] = " < ",  [TW_OP_LE] = " <= ",
        [TW_OP_GT] = " > ", [TW_OP_GE] = " >= ",
    };
    struct tw_sql_str *sql = &qq->sql;
    int pg = sql->dialect == TW_SQL_PG;
    uint32_t i;

    tw_sql_str_add(sql, "(");
    switch (c->op) {
    case TW_OP_NE:
        tw_sql_str_add(sql, "t.");
        tw_sql_str_add(sql, f->name);
        tw_sql_str_add(sql, " IS NULL OR t.");
        tw_sql_str_add(sql, f->name);
        tw_sql_str_add(sql, " <> ");
        tw_sql_str_param(sql);
        break;
    case TW_OP_IN:
        tw_sql_str_add(sql, "t.");
        tw_sql_str_add(sql, f->name);
        tw_sql_str_add(sql, " IN (");
        for (i = 0; i < c->nvalues; i++) {
            if (i > 0)
                tw_sql_str_add(sql, ",");
            tw_sql_str_param(sql);
        }
        tw_sql_str_add(sql, ")");
        break;
    case TW_OP_CONTAINS_CI:
        tw_sql_str_add(sql, pg ? "strpos(lower(t." : "instr(lower(t.");
        tw_sql_str_add(sql, f->name);
        tw_sql_str_add(sql, pg ? " COLLATE \"C\"), lower(" : "), lower(");
        tw_sql_str_param(sql);
        tw_sql_str_add(sql, pg ? " COLLATE \"C\")) > 0" : ")) > 0");
        break;
    case TW_OP_IS_NULL:
    case TW_OP_NOT_NULL:
        tw_sql_str_add(sql, "t.");
        tw_sql_str_add(sql, f->name);
        tw_sql_str_add(sql, c->op == TW_OP_IS_NULL ? " IS NULL" : " IS NOT NULL");
        if (is_text(f->type)) {
            tw_sql_str_add(sql, c->op == TW_OP_IS_NULL ? " OR t." : " AND t.");
            tw_sql_str_add(sql, f->name);
            tw_sql_str_add(sql, c->op == TW_OP_IS_NULL ? " = ''" : " <> ''");
        }
        break;
    default:
        tw_sql_str_add(sql, "t.");
        tw_sql_str_add(sql, f->name);
        /* text orders bytewise, like SQLite's BINARY collation, whatever the locale */
        if (pg && is_text(f->type) && c->op != TW_OP_EQ)
            tw_sql_str_add(sql, " COLLATE \"C\"");
        tw_sql_str_add(sql, cmp[c->op]);
        tw_sql_str_param(sql);
        break;
    }
    tw_sql_str_add(sql, ")");
    for (i = 0; i < c->nvalues; i++)
        qq->params[qq->nparams++] = (struct tw_sql_param){ .type = f->type,
                                                           .i = c->values[i].i,
                                                           .d = c->values[i].d,
                                                           .s = c->values[i].s,
                                                           .len = c->values[i].len };
}

void tw_sql_where(const struct tw_host *host, struct tw_query *q, const struct tw_field *fields,
                  struct tw_sql_query *qq, uint32_t max)
{
    uint32_t n = host->q_cond_count(q);
    uint32_t nfields = 0;
    uint32_t total = 0;
    uint32_t used = 0;
    uint32_t i;
    const struct tw_cond *c;
    int any = host->q_join(q) == TW_JOIN_ANY;

    while (fields[nfields].name != NULL)
        nfields++;
    if (max > MAX_PARAMS)
        max = MAX_PARAMS;
    if (any) {
        /* All or nothing: one unsupported condition, or too many values, and none apply. */
        for (i = 0; i < n; i++) {
            c = host->q_cond(q, i);
            if (!supported(c, fields, nfields))
                return;
            total += c->nvalues;
        }
        if (n == 0 || total > max)
            return;
        tw_sql_str_add(&qq->sql, " AND (");
        for (i = 0; i < n; i++) {
            c = host->q_cond(q, i);
            if (i > 0)
                tw_sql_str_add(&qq->sql, " OR ");
            add_cond(qq, c, &fields[c->field]);
            host->q_applied(q, i);
        }
        tw_sql_str_add(&qq->sql, ")");
        return;
    }
    for (i = 0; i < n; i++) {
        c = host->q_cond(q, i);
        if (!supported(c, fields, nfields) || used + c->nvalues > max)
            continue;
        tw_sql_str_add(&qq->sql, " AND ");
        add_cond(qq, c, &fields[c->field]);
        used += c->nvalues;
        host->q_applied(q, i);
    }
}

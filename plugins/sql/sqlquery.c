/*
 * The one statement of a run, for either dialect (sqlsrc.h):
 *   SELECT t.id, t.chain_id, t.<field>... [, i.<sub>..., i.<key>]
 *   FROM <table> AS t [LEFT JOIN <items> AS i ON i.<key> = t.id AND i.chain_id = t.chain_id]
 *   WHERE t.chain_id = $1 [AND (<fixed filter>)] [AND <pushdown>...] [AND <since window>]
 *   ORDER BY t.id [, i.<order>]
 * Placeholders are numbered in the order they appear, which is the order of params, so the
 * SQLite ("?") and PostgreSQL ("$n") texts bind the same list. The (chain_id, id) index of
 * every source table gives this order without a sort in both databases.
 */
#include "sqlsrc.h"

#include <stdio.h>
#include <string.h>

uint32_t tw_sql_count(const struct tw_field *f)
{
    uint32_t n = 0;

    while (f[n].name != NULL)
        n++;
    return n;
}

int32_t tw_sql_list(const struct tw_field *fields, const struct tw_sql_index *ix)
{
    uint32_t i;

    if (ix->items_table == NULL)
        return -1;
    for (i = 0; fields[i].name != NULL; i++)
        if (fields[i].type == TW_FIELD_LIST)
            return (int32_t)i;
    return -1;
}

void tw_sql_str_param(struct tw_sql_str *s)
{
    char buf[16];

    s->nparam++;
    if (s->dialect == TW_SQL_PG) {
        snprintf(buf, sizeof(buf), "$%u", s->nparam);
        tw_sql_str_add(s, buf);
    } else {
        tw_sql_str_add(s, "?");
    }
}

/* SELECT list, FROM, JOIN, chain and fixed filter. */
static void build_select(struct tw_sql_str *sql, const struct tw_field *fields,
                         const struct tw_sql_index *ix)
{
    int32_t list = tw_sql_list(fields, ix);
    const struct tw_field *sub;
    uint32_t i;

    tw_sql_str_add(sql, "SELECT t.id, t.chain_id");
    for (i = 0; fields[i].name != NULL; i++) {
        tw_sql_str_add(sql, ", ");
        if (fields[i].type == TW_FIELD_LIST) {
            tw_sql_str_add(sql, "NULL"); /* keeps column numbers aligned with fields */
            continue;
        }
        tw_sql_str_add(sql, "t.");
        tw_sql_str_add(sql, fields[i].name);
    }
    if (list >= 0) {
        sub = fields[list].nested;
        for (i = 0; sub[i].name != NULL; i++) {
            tw_sql_str_add(sql, ", i.");
            tw_sql_str_add(sql, sub[i].name);
        }
        tw_sql_str_add(sql, ", i.");
        tw_sql_str_add(sql, ix->items_key);
    }
    tw_sql_str_add(sql, " FROM ");
    tw_sql_str_add(sql, ix->table);
    tw_sql_str_add(sql, " AS t");
    if (list >= 0) {
        tw_sql_str_add(sql, " LEFT JOIN ");
        tw_sql_str_add(sql, ix->items_table);
        tw_sql_str_add(sql, " AS i ON i.");
        tw_sql_str_add(sql, ix->items_key);
        tw_sql_str_add(sql, " = t.id AND i.chain_id = t.chain_id");
    }
    tw_sql_str_add(sql, " WHERE t.chain_id = ");
    tw_sql_str_param(sql);
    if (ix->filter != NULL) {
        tw_sql_str_add(sql, " AND (");
        tw_sql_str_add(sql, ix->filter);
        tw_sql_str_add(sql, ")");
    }
}

static uint32_t total_values(const struct tw_host *host, const struct tw_query *q)
{
    uint32_t n = host->q_cond_count(q);
    uint32_t total = 0;
    uint32_t i;

    for (i = 0; i < n; i++)
        total += host->q_cond(q, i)->nvalues;
    return total;
}

int tw_sql_query_build(const struct tw_host *host, struct tw_query *q,
                       const struct tw_field *fields, const struct tw_sql_index *ix, int d,
                       struct tw_sql_query *out, struct tw_err *err)
{
    uint32_t max = total_values(host, q);
    int32_t list = tw_sql_list(fields, ix);
    int ret;

    memset(out, 0, sizeof(*out));
    out->sql.host = host;
    out->sql.dialect = d;
    /* the chain, every pushdown value, two window bounds */
    out->params = host->alloc((max + 3) * sizeof(*out->params));
    if (out->params == NULL)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory building the query");
    build_select(&out->sql, fields, ix);
    out->params[out->nparams++] = (struct tw_sql_param){ .type = TW_FIELD_INT,
                                                         .i = host->q_chain(q) };
    tw_sql_where(host, q, fields, out, max);
    ret = tw_sql_window(host, q, ix, out, err);
    if (ret != TW_PLUGIN_OK)
        return ret;
    tw_sql_str_add(&out->sql, list >= 0 ? " ORDER BY t.id, i." : " ORDER BY t.id");
    if (list >= 0)
        tw_sql_str_add(&out->sql, ix->items_order);
    if (out->sql.failed)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory building the query");
    return TW_PLUGIN_OK;
}

void tw_sql_query_fini(const struct tw_host *host, struct tw_sql_query *qq)
{
    host->free(qq->params);
    host->free(qq->sql.p);
    memset(qq, 0, sizeof(*qq));
}

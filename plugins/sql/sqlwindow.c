/*
 * The target.since window (docs/reference.md §13) in the shared SQL helper (sqlsrc.h): the
 * bounds from host->q_window become two bound parameters compared with the index's change
 * time, the latest of its change columns that are set:
 *   SQLite      one column: t.c; several: nullif(max(coalesce(t.a, ''), ...), '')
 *               (date-times are 'YYYY-MM-DDTHH:MM:SSZ' text, source_schema.sql, which sorts
 *               as the instants it names, so text comparison is time comparison);
 *   PostgreSQL  greatest(t.a, ...), which skips nulls and is null when all are (timestamptz).
 */
#include "sqlsrc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* t as 'YYYY-MM-DDTHH:MM:SSZ' (gmtime_r: UTC, no time zone involved). */
static int utc_text(int64_t t, char buf[24])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return -1;
    snprintf(buf, 24, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 0;
}

/* The change time of ix as an SQL expression in sql's dialect. */
static void change_expr(struct tw_sql_str *sql, const struct tw_sql_index *ix)
{
    int n = 0;
    int i;

    while (n < TW_SQL_MAX_CHANGE && ix->change[n] != NULL)
        n++;
    if (n == 1) {
        tw_sql_str_add(sql, "t.");
        tw_sql_str_add(sql, ix->change[0]);
        return;
    }
    tw_sql_str_add(sql, sql->dialect == TW_SQL_PG ? "greatest(" : "nullif(max(");
    for (i = 0; i < n; i++) {
        tw_sql_str_add(sql, i > 0 ? ", " : "");
        tw_sql_str_add(sql, sql->dialect == TW_SQL_PG ? "t." : "coalesce(t.");
        tw_sql_str_add(sql, ix->change[i]);
        tw_sql_str_add(sql, sql->dialect == TW_SQL_PG ? "" : ", '')");
    }
    tw_sql_str_add(sql, sql->dialect == TW_SQL_PG ? ")" : "), '')");
}

static void add_bound(struct tw_sql_query *qq, int64_t t, char *text)
{
    qq->params[qq->nparams++] = (struct tw_sql_param){
        .type = TW_FIELD_DATETIME, .i = t, .s = text, .len = strlen(text)
    };
}

int tw_sql_window(const struct tw_host *host, const struct tw_query *q,
                  const struct tw_sql_index *ix, struct tw_sql_query *qq, struct tw_err *err)
{
    struct tw_sql_str *sql = &qq->sql;
    int64_t from = 0, to = 0;

    /* q_window exists from ABI 1.1 on; an older engine has no windows to give. */
    if (host->abi_minor < 1 || host->size <= offsetof(struct tw_host, q_window) ||
        host->q_window == NULL || !host->q_window(q, &from, &to))
        return TW_PLUGIN_OK;
    if (ix->change[0] == NULL)
        return host->err_set(err, TW_PLUGIN_EINVAL,
                             "this index has no change column, so "
                             "target.since cannot be applied");
    if (utc_text(to, qq->win[1]) != 0 || (from != INT64_MIN && utc_text(from, qq->win[0]) != 0))
        return host->err_set(err, TW_PLUGIN_EINVAL, "target.since window out of range");
    if (from == INT64_MIN) {
        tw_sql_str_add(sql, " AND (");
        change_expr(sql, ix);
        tw_sql_str_add(sql, " IS NULL OR ");
        change_expr(sql, ix);
        tw_sql_str_add(sql, " < ");
        tw_sql_str_param(sql);
        tw_sql_str_add(sql, ")");
        add_bound(qq, to, qq->win[1]);
        return TW_PLUGIN_OK;
    }
    tw_sql_str_add(sql, " AND ");
    change_expr(sql, ix);
    tw_sql_str_add(sql, " >= ");
    tw_sql_str_param(sql);
    tw_sql_str_add(sql, " AND ");
    change_expr(sql, ix);
    tw_sql_str_add(sql, " < ");
    tw_sql_str_param(sql);
    add_bound(qq, from, qq->win[0]);
    add_bound(qq, to, qq->win[1]);
    return TW_PLUGIN_OK;
}

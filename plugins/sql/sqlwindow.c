/*
 * The target.since window (docs/reference.md §13) in the shared SQL helper (sqlsrc.h): the bounds from
 * host->q_window become two bound text parameters compared with the index's change
 * expression. Source date-times are 'YYYY-MM-DDTHH:MM:SSZ' text (source_schema.sql), which
 * sorts as the instants it names, so text comparison is time comparison.
 */
#include "sqlsrc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

int tw_sql_window(const struct tw_host *host, const struct tw_query *q,
                  const struct tw_sql_index *ix, struct tw_sql_str *sql, char from_text[24],
                  char to_text[24], int *nbind, struct tw_err *err)
{
    int64_t from = 0, to = 0;

    *nbind = 0;
    /* q_window exists from ABI 1.1 on; an older engine has no windows to give. */
    if (host->abi_minor < 1 || host->size <= offsetof(struct tw_host, q_window) ||
        host->q_window == NULL || !host->q_window(q, &from, &to))
        return TW_PLUGIN_OK;
    if (ix->change == NULL)
        return host->err_set(err, TW_PLUGIN_EINVAL,
                             "this index has no change column, so "
                             "target.since cannot be applied");
    if (utc_text(to, to_text) != 0 || (from != INT64_MIN && utc_text(from, from_text) != 0))
        return host->err_set(err, TW_PLUGIN_EINVAL, "target.since window out of range");
    if (from == INT64_MIN) {
        tw_sql_str_add(sql, " AND ((");
        tw_sql_str_add(sql, ix->change);
        tw_sql_str_add(sql, ") IS NULL OR (");
        tw_sql_str_add(sql, ix->change);
        tw_sql_str_add(sql, ") < ?)");
        *nbind = 1;
        return TW_PLUGIN_OK;
    }
    tw_sql_str_add(sql, " AND (");
    tw_sql_str_add(sql, ix->change);
    tw_sql_str_add(sql, ") >= ? AND (");
    tw_sql_str_add(sql, ix->change);
    tw_sql_str_add(sql, ") < ?");
    *nbind = 2;
    return TW_PLUGIN_OK;
}

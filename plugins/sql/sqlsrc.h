/*
 * The helper shared by the SQL-backed index plugins: a plugin gives its field table and its
 * table, and gets a cursor that reads `SELECT ... FROM table WHERE chain_id = ? [AND fixed
 * filter] [AND pushdown] ORDER BY id` from the source database (SQLite, opened read-only)
 * into records. Column names are the field names (plugins/sql/source_schema.sql promises
 * that); the table is aliased t, so fixed filters write "t.deleted = 0".
 *
 * A LIST field is read from a child table with one LEFT JOIN, ordered (parent id, position):
 * the rows of one parent are consecutive, so the cursor folds them into one record with a
 * one-row lookahead and memory stays flat whatever the export size.
 *
 * Values are only ever bound, never pasted into SQL. Only plugin.h is used from the engine.
 */
#ifndef TW_PLUGINS_SQLSRC_H
#define TW_PLUGINS_SQLSRC_H

#include <taskwheel/plugin.h>

struct tw_sql_index {
    const char *table;       /* source table, aliased t */
    const char *filter;      /* fixed predicate always ANDed ("t.deleted = 0"), or NULL */
    const char *items_table; /* child table of the (one) LIST field, aliased i, or NULL */
    const char *items_key;   /* its column holding the parent's id ("transaction_id") */
    const char *items_order; /* its column giving element order ("position") */
    /*
     * SQL expression over t giving a row's change time as 'YYYY-MM-DDTHH:MM:SSZ' text (NULL
     * when unknown), for target.since windows (docs/reference.md §13); NULL: the index has none. The
     * plugin's descriptor declares the same in words as change_column.
     */
    const char *change;
};

/*
 * Open a cursor over index ix for query q (chain, pushdown). fields is the plugin's table
 * (borrowed, static). Fills *cursor on success; on failure returns a negative code with a
 * sentence in err ("source database unavailable: unable to open database file").
 */
int tw_sql_open(const struct tw_host *host, struct tw_query *q, const struct tw_field *fields,
                const struct tw_sql_index *ix, void **cursor, struct tw_err *err);

/* tw_index_plugin.next / .close for a cursor from tw_sql_open. */
int tw_sql_next(void *cursor, struct tw_record *out, struct tw_err *err);
void tw_sql_close(void *cursor);

/* ---- internal to the helper (sqlwhere.c, sqlwindow.c) ---- */

struct tw_sql_str {
    char *p;                    /* NUL-terminated */
    size_t len;                 /* bytes used */
    size_t cap;                 /* allocated */
    int failed;                 /* an append ran out of memory */
    const struct tw_host *host; /* allocator */
};

void tw_sql_str_add(struct tw_sql_str *s, const char *text);

/*
 * The target.since window of q (host->q_window, ABI 1.1) as a clause on ix->change:
 * " AND (c) >= ? AND (c) < ?" or, on a task's first run, " AND ((c) IS NULL OR (c) < ?)",
 * appended to sql; the bounds, as UTC text, go to from_text/to_text (24 bytes each) and
 * *nbind says how many of them to bind, in that order, after every other parameter (0: no
 * window). A window on an index without ix->change fails the run (EINVAL, message in err).
 */
int tw_sql_window(const struct tw_host *host, const struct tw_query *q,
                  const struct tw_sql_index *ix, struct tw_sql_str *sql, char from_text[24],
                  char to_text[24], int *nbind, struct tw_err *err);

/* One bound parameter of the WHERE clause. */
struct tw_sql_param {
    const struct tw_value *v; /* borrowed from the query */
    uint32_t type;            /* TW_FIELD_* of the column it is compared with */
};

/*
 * Append " AND (...)" pushdown clauses for q to sql and the values to bind to params
 * (*nparams grows; params has room for max). Reports applied conditions via host->q_applied.
 */
void tw_sql_where(const struct tw_host *host, struct tw_query *q, const struct tw_field *fields,
                  struct tw_sql_str *sql, struct tw_sql_param *params, uint32_t *nparams,
                  uint32_t max);

#endif /* TW_PLUGINS_SQLSRC_H */

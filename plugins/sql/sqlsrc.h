/*
 * The helper shared by the SQL-backed index plugins: a plugin gives its field table and its
 * table, and gets a cursor that reads `SELECT ... FROM table WHERE chain_id = ? [AND fixed
 * filter] [AND pushdown] ORDER BY id` from the source database into records. Column names are
 * the field names (plugins/sql/source_schema.sql promises that); the table is aliased t, so
 * fixed filters write "NOT t.deleted".
 *
 * Two dialects behind the same cursor, chosen by the operator's source.driver
 * (host->source_driver, ABI 1.2): SQLite (sqlsrc.c: the file opened read-only) and PostgreSQL
 * (sqlsrc_pg.c: libpq, one connection per run, rows streamed in single-row mode;
 * plugins/sql/source_schema_pg.sql, docs/sources.md). sqlquery.c writes the statement for
 * either (placeholders "?" or "$n", the few functions that differ) with one parameter list.
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

#define TW_SQL_MAX_CHANGE 4 /* columns of a change time */

struct tw_sql_index {
    const char *table;       /* source table, aliased t */
    const char *filter;      /* fixed predicate always ANDed ("NOT t.deleted"), valid SQL in */
                             /* both dialects, or NULL */
    const char *items_table; /* child table of the (one) LIST field, aliased i, or NULL */
    const char *items_key;   /* its column holding the parent's id ("transaction_id") */
    const char *items_order; /* its column giving element order ("position") */
    /*
     * The DATETIME columns giving a row's change time for target.since windows
     * (docs/reference.md §13): the latest of those set; none set means unknown. Empty: the
     * index has none. The plugin's descriptor declares the same in words as change_column.
     */
    const char *change[TW_SQL_MAX_CHANGE];
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

/* ---- internal to the helper (sqlquery.c, sqlwhere.c, sqlwindow.c, sqlsrc_pg.c) ---- */

enum tw_sql_dialect { TW_SQL_SQLITE = 0, TW_SQL_PG = 1 };

struct tw_sql_str {
    char *p;                    /* NUL-terminated */
    size_t len;                 /* bytes used */
    size_t cap;                 /* allocated */
    int failed;                 /* an append ran out of memory */
    const struct tw_host *host; /* allocator */
    int dialect;                /* enum tw_sql_dialect */
    uint32_t nparam;            /* placeholders written so far */
};

void tw_sql_str_add(struct tw_sql_str *s, const char *text);
/* Append the next placeholder: "?" (SQLite) or "$<n>" (PostgreSQL). */
void tw_sql_str_param(struct tw_sql_str *s);

/*
 * One bound parameter, in placeholder order. type is the TW_FIELD_* of what it is compared
 * with; i/d/s/len as struct tw_value gives them (DATE and DATETIME carry both the epoch
 * seconds in i and the canonical text in s).
 */
struct tw_sql_param {
    uint32_t type;
    int64_t i;
    double d;
    const char *s; /* borrowed from the query, or from struct tw_sql_query's buffers */
    size_t len;
};

/* A statement ready to prepare: text and parameters. */
struct tw_sql_query {
    struct tw_sql_str sql;
    struct tw_sql_param *params; /* host->alloc'd */
    uint32_t nparams;
    char win[2][24]; /* the window bounds' text */
};

/*
 * Write the statement of index ix (fields: the plugin's table) for query q in dialect d:
 * select list, chain, fixed filter, pushdown (reported applied via host->q_applied), since
 * window, order. On failure returns a negative code with a message in err; either way free
 * it with tw_sql_query_fini.
 */
int tw_sql_query_build(const struct tw_host *host, struct tw_query *q,
                       const struct tw_field *fields, const struct tw_sql_index *ix, int d,
                       struct tw_sql_query *out, struct tw_err *err);
void tw_sql_query_fini(const struct tw_host *host, struct tw_sql_query *qq);

/* Number of fields in a {0}-terminated table. */
uint32_t tw_sql_count(const struct tw_field *f);
/* Index of the LIST field read from ix's child table, or -1. */
int32_t tw_sql_list(const struct tw_field *fields, const struct tw_sql_index *ix);

/*
 * The target.since window of q (host->q_window, ABI 1.1) as a clause on ix->change:
 * " AND c >= ? AND c < ?" or, on a task's first run, " AND (c IS NULL OR c < ?)", appended
 * to sql, the bounds appended to params (room for 2). A window on an index without change
 * columns fails the run (EINVAL, message in err).
 */
int tw_sql_window(const struct tw_host *host, const struct tw_query *q,
                  const struct tw_sql_index *ix, struct tw_sql_query *qq, struct tw_err *err);

/*
 * Append " AND (...)" pushdown clauses for q to qq's text and the values to bind to its
 * params (room for max more). Reports applied conditions via host->q_applied.
 */
void tw_sql_where(const struct tw_host *host, struct tw_query *q, const struct tw_field *fields,
                  struct tw_sql_query *qq, uint32_t max);

/* The PostgreSQL cursor (sqlsrc_pg.c); same contract as tw_sql_open/next/close. */
int tw_sql_pg_open(const struct tw_host *host, struct tw_query *q, const struct tw_field *fields,
                   const struct tw_sql_index *ix, void **cursor, struct tw_err *err);
int tw_sql_pg_next(void *cursor, struct tw_record *out, struct tw_err *err);
void tw_sql_pg_close(void *cursor);

#endif /* TW_PLUGINS_SQLSRC_H */

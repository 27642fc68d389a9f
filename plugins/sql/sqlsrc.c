/*
 * The SQL cursor shared by the built-in index plugins (sqlsrc.h): the entry points, which pick
 * the dialect from host->source_driver, and the SQLite cursor. sqlquery.c writes the one
 * statement (see there); SQLite streams its rows, and nothing here buffers more than one row.
 * A JOIN rather than a second statement walked in parallel: pushdown that filters parents
 * needs no mirror on the child side, and there are no children of filtered-out parents to
 * skip. It runs well ahead of `sqlite3 -csv` on the same JOIN (bench/export/README.md).
 *
 * Chain: the plugin restricts to the query's chain and reports each row's chain_id as read,
 * so the engine's own check sees the source's truth, not an echo of the query.
 */
#include "sqlsrc.h"

#include <sqlite3.h>
#include <stddef.h>
#include <string.h>

struct sql_cursor {
    int pg;                        /* 0: this SQLite cursor (sqlsrc_pg.c's starts with 1) */
    const struct tw_host *host;    /* borrowed for the run */
    sqlite3 *db;                   /* read-only connection, this run's own */
    sqlite3_stmt *st;              /* the one statement */
    const struct tw_field *fields; /* the plugin's table */
    uint32_t nfields;              /* top-level fields */
    int32_t list;                  /* column of the LIST field, -1 when none */
    uint32_t nsub;                 /* its sub-fields */
    int pending;                   /* st holds a row not yet folded into a record */
    int done;                      /* st returned SQLITE_DONE */
};

static int bind_params(sqlite3_stmt *st, const struct tw_sql_param *p, uint32_t n)
{
    uint32_t i;
    int rc = SQLITE_OK;

    for (i = 0; i < n && rc == SQLITE_OK; i++) {
        switch (p[i].type) {
        case TW_FIELD_NUMBER: rc = sqlite3_bind_double(st, (int)i + 1, p[i].d); break;
        case TW_FIELD_KEYWORD:
        case TW_FIELD_TEXT:
        case TW_FIELD_DATE:
        case TW_FIELD_DATETIME:
            /* TRANSIENT: window bounds live in the query, freed before the first step */
            rc = sqlite3_bind_text(st, (int)i + 1, p[i].s ? p[i].s : "", (int)p[i].len,
                                   SQLITE_TRANSIENT);
            break;
        default: rc = sqlite3_bind_int64(st, (int)i + 1, p[i].i); break;
        }
    }
    return rc;
}

/* Prepare and bind the statement for c; on failure a message in err. */
static int prepare(struct sql_cursor *c, struct tw_query *q, const struct tw_sql_index *ix,
                   struct tw_err *err)
{
    const struct tw_host *h = c->host;
    struct tw_sql_query qq;
    int ret;
    int rc;

    ret = tw_sql_query_build(h, q, c->fields, ix, TW_SQL_SQLITE, &qq, err);
    if (ret != TW_PLUGIN_OK)
        goto out;
    rc = sqlite3_prepare_v2(c->db, qq.sql.p, (int)qq.sql.len + 1, &c->st, NULL);
    if (rc != SQLITE_OK) {
        ret = h->err_set(err, TW_PLUGIN_ESOURCE, "source database does not fit the schema: %s",
                         sqlite3_errmsg(c->db));
        goto out;
    }
    rc = bind_params(c->st, qq.params, qq.nparams);
    if (rc != SQLITE_OK) {
        ret = h->err_set(err, TW_PLUGIN_ESOURCE, "binding the query: %s", sqlite3_errmsg(c->db));
        goto out;
    }
    ret = TW_PLUGIN_OK;
out:
    tw_sql_query_fini(h, &qq);
    return ret;
}

/* Does the operator's source.driver name PostgreSQL? (ABI 1.2; older engines: SQLite only) */
static int is_pg(const struct tw_host *host)
{
    const char *d;

    if (host->abi_minor < 2 || host->size <= offsetof(struct tw_host, source_driver) ||
        host->source_driver == NULL)
        return 0;
    d = host->source_driver(host);
    return d != NULL && strcmp(d, "postgresql") == 0;
}

int tw_sql_open(const struct tw_host *host, struct tw_query *q, const struct tw_field *fields,
                const struct tw_sql_index *ix, void **cursor, struct tw_err *err)
{
    const char *path;
    struct sql_cursor *c;
    int rc;
    int ret;

    if (is_pg(host))
        return tw_sql_pg_open(host, q, fields, ix, cursor, err);
    path = host->source(host);
    if (path == NULL || path[0] == '\0')
        return host->err_set(err, TW_PLUGIN_EINVAL, "source.path is not set");
    c = host->alloc(sizeof(*c));
    if (c == NULL)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory opening the source");
    memset(c, 0, sizeof(*c));
    c->host = host;
    c->fields = fields;
    c->nfields = tw_sql_count(fields);
    c->list = tw_sql_list(fields, ix);
    if (c->list >= 0)
        c->nsub = tw_sql_count(fields[c->list].nested);
    /* NOMUTEX: the connection belongs to this run's thread alone. */
    rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ret = host->err_set(err, TW_PLUGIN_ESOURCE, "source database unavailable: %s",
                            c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(c->db, 10000);
    /*
     * A modest page cache (16 MiB) and no mmap: mapped pages count as resident, so mmap would
     * make the worker's RSS grow with the database, and reads are sequential anyway.
     */
    sqlite3_exec(c->db, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
    ret = prepare(c, q, ix, err);
    if (ret != TW_PLUGIN_OK)
        goto fail;
    *cursor = c;
    return TW_PLUGIN_OK;
fail:
    tw_sql_close(c);
    return ret;
}

void tw_sql_close(void *cursor)
{
    struct sql_cursor *c = cursor;

    if (c == NULL)
        return;
    if (c->pg) {
        tw_sql_pg_close(cursor);
        return;
    }
    sqlite3_finalize(c->st);
    sqlite3_close(c->db);
    c->host->free(c);
}

/*
 * Set column col of the record (or of the open list element) from statement column sc.
 *
 * One sqlite3_column_value per cell, then the sqlite3_value_* readers on it: each
 * sqlite3_column_* call enters the connection's mutex and ends with sqlite3ApiExit, which
 * three calls per cell (type, text, bytes) paid three times on every row of an export. The
 * value is "unprotected" (SQLite's word: not guarded by the connection mutex), which only
 * matters for a connection shared between threads; this one is the run's own and opened
 * NOMUTEX. It stays valid until the next step, and the text is copied by the setter before.
 */
static void set_value(const struct tw_host *h, struct tw_record *r, sqlite3_stmt *st, int sc,
                      uint32_t col, uint32_t type)
{
    sqlite3_value *v = sqlite3_column_value(st, sc);
    int t = sqlite3_value_type(v);
    const char *s;
    size_t n;

    if (t == SQLITE_NULL)
        return; /* the engine reset the record to null */
    switch (type) {
    case TW_FIELD_INT:
    case TW_FIELD_MONEY:
    case TW_FIELD_BOOL:
        if (t != SQLITE_INTEGER) {
            h->rec_reject(r, "a source integer column holds a non-integer value");
            return;
        }
        if (type == TW_FIELD_INT)
            h->rec_set_int(r, col, sqlite3_value_int64(v));
        else if (type == TW_FIELD_MONEY)
            h->rec_set_money(r, col, sqlite3_value_int64(v));
        else
            h->rec_set_bool(r, col, sqlite3_value_int64(v) != 0);
        return;
    case TW_FIELD_NUMBER: h->rec_set_double(r, col, sqlite3_value_double(v)); return;
    default: break;
    }
    s = (const char *)sqlite3_value_text(v);
    if (s == NULL) {
        h->rec_reject(r, "out of memory reading a text column");
        return;
    }
    n = (size_t)sqlite3_value_bytes(v);
    if (type == TW_FIELD_DATE)
        h->rec_set_date(r, col, s, n);
    else if (type == TW_FIELD_DATETIME)
        h->rec_set_datetime(r, col, s, n);
    else
        h->rec_set_text(r, col, s, n);
}

static int step(struct sql_cursor *c, struct tw_err *err)
{
    int rc = sqlite3_step(c->st);

    if (rc == SQLITE_ROW) {
        c->pending = 1;
        return 1;
    }
    c->pending = 0;
    if (rc == SQLITE_DONE) {
        c->done = 1;
        return 0;
    }
    return c->host->err_set(err, TW_PLUGIN_ESOURCE, "reading the source database failed: %s",
                            sqlite3_errmsg(c->db));
}

/* Fold the current row's element (if the LEFT JOIN found one) into the record. */
static void add_item(struct sql_cursor *c, struct tw_record *r)
{
    const struct tw_field *sub = c->fields[c->list].nested;
    int base = 2 + (int)c->nfields;
    uint32_t i;

    if (sqlite3_column_type(c->st, base + (int)c->nsub) == SQLITE_NULL)
        return; /* a parent without children */
    c->host->rec_item_begin(r, (uint32_t)c->list);
    for (i = 0; i < c->nsub; i++)
        set_value(c->host, r, c->st, base + (int)i, i, sub[i].type);
    c->host->rec_item_end(r);
}

int tw_sql_next(void *cursor, struct tw_record *r, struct tw_err *err)
{
    struct sql_cursor *c = cursor;
    const struct tw_host *h = c->host;
    sqlite3_int64 id;
    uint32_t i;
    int ret;

    if (c->pg)
        return tw_sql_pg_next(cursor, r, err);
    if (!c->pending) {
        if (c->done)
            return 0;
        ret = step(c, err);
        if (ret <= 0)
            return ret;
    }
    h->rec_set_chain(r, sqlite3_column_int64(c->st, 1));
    for (i = 0; i < c->nfields; i++)
        if ((int32_t)i != c->list)
            set_value(h, r, c->st, 2 + (int)i, i, c->fields[i].type);
    c->pending = 0;
    if (c->list < 0)
        return 1;
    id = sqlite3_column_int64(c->st, 0);
    for (;;) {
        add_item(c, r);
        ret = step(c, err);
        if (ret < 0)
            return ret;
        if (ret == 0 || sqlite3_column_int64(c->st, 0) != id)
            return 1; /* the lookahead row, if any, starts the next record */
    }
}

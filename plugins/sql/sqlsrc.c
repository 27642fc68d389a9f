/*
 * The SQL cursor shared by the built-in index plugins (sqlsrc.h).
 *
 * One prepared statement per run:
 *   SELECT t.id, t.chain_id, t.<field>... [, i.<sub>..., i.<key>]
 *   FROM <table> AS t [LEFT JOIN <items> AS i ON i.<key> = t.id AND i.chain_id = t.chain_id]
 *   WHERE t.chain_id = ?1 [AND (<fixed filter>)] [AND <pushdown>...] [AND <since window>]
 *   ORDER BY t.id [, i.<order>]
 * The (chain_id, id) index of every source table gives this order without a sort, and the
 * child table's primary key (parent, position) gives the elements in order by a seek per
 * parent, so SQLite streams rows and nothing here buffers more than one row. A JOIN rather
 * than a second statement walked in parallel: pushdown that filters parents needs no mirror
 * on the child side, and there are no children of filtered-out parents to skip. It runs well
 * ahead of `sqlite3 -csv` on the same JOIN (bench/export/README.md); the parallel walk has not
 * been measured against it.
 *
 * Chain: the plugin restricts to the query's chain and reports each row's chain_id as read,
 * so the engine's own check sees the source's truth, not an echo of the query.
 */
#include "sqlsrc.h"

#include <sqlite3.h>
#include <string.h>

struct sql_cursor {
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

static uint32_t count(const struct tw_field *f)
{
    uint32_t n = 0;

    while (f[n].name != NULL)
        n++;
    return n;
}

/* SELECT list, FROM, JOIN: everything before WHERE. */
static void build_select(struct tw_sql_str *sql, const struct sql_cursor *c,
                         const struct tw_sql_index *ix)
{
    const struct tw_field *sub;
    uint32_t i;

    tw_sql_str_add(sql, "SELECT t.id, t.chain_id");
    for (i = 0; i < c->nfields; i++) {
        tw_sql_str_add(sql, ", ");
        if (c->fields[i].type == TW_FIELD_LIST) {
            tw_sql_str_add(sql, "NULL"); /* keeps column numbers aligned with fields */
            continue;
        }
        tw_sql_str_add(sql, "t.");
        tw_sql_str_add(sql, c->fields[i].name);
    }
    if (c->list >= 0) {
        sub = c->fields[c->list].nested;
        for (i = 0; i < c->nsub; i++) {
            tw_sql_str_add(sql, ", i.");
            tw_sql_str_add(sql, sub[i].name);
        }
        tw_sql_str_add(sql, ", i.");
        tw_sql_str_add(sql, ix->items_key);
    }
    tw_sql_str_add(sql, " FROM ");
    tw_sql_str_add(sql, ix->table);
    tw_sql_str_add(sql, " AS t");
    if (c->list >= 0) {
        tw_sql_str_add(sql, " LEFT JOIN ");
        tw_sql_str_add(sql, ix->items_table);
        tw_sql_str_add(sql, " AS i ON i.");
        tw_sql_str_add(sql, ix->items_key);
        tw_sql_str_add(sql, " = t.id AND i.chain_id = t.chain_id");
    }
    tw_sql_str_add(sql, " WHERE t.chain_id = ?");
    if (ix->filter != NULL) {
        tw_sql_str_add(sql, " AND (");
        tw_sql_str_add(sql, ix->filter);
        tw_sql_str_add(sql, ")");
    }
}

static int bind_params(sqlite3_stmt *st, const struct tw_sql_param *p, uint32_t n)
{
    uint32_t i;
    int rc = SQLITE_OK;

    for (i = 0; i < n && rc == SQLITE_OK; i++) {
        switch (p[i].type) {
        case TW_FIELD_NUMBER: rc = sqlite3_bind_double(st, (int)i + 2, p[i].v->d); break;
        case TW_FIELD_KEYWORD:
        case TW_FIELD_TEXT:
        case TW_FIELD_DATE:
        case TW_FIELD_DATETIME:
            rc = sqlite3_bind_text(st, (int)i + 2, p[i].v->s ? p[i].v->s : "", (int)p[i].v->len,
                                   SQLITE_STATIC);
            break;
        default: rc = sqlite3_bind_int64(st, (int)i + 2, p[i].v->i); break;
        }
    }
    return rc;
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

/* Prepare and bind the statement for c; on failure a message in err. */
static int prepare(struct sql_cursor *c, struct tw_query *q, const struct tw_sql_index *ix,
                   struct tw_err *err)
{
    const struct tw_host *h = c->host;
    struct tw_sql_str sql = { .host = h };
    struct tw_sql_param *params;
    uint32_t np = 0;
    uint32_t max = total_values(h, q);
    char from[24], to[24];
    int nwin = 0;
    int ret = TW_PLUGIN_ENOMEM;
    int rc;

    params = h->alloc((max ? max : 1) * sizeof(*params));
    if (params == NULL)
        return h->err_set(err, TW_PLUGIN_ENOMEM, "out of memory building the query");
    build_select(&sql, c, ix);
    tw_sql_where(h, q, c->fields, &sql, params, &np, max);
    ret = tw_sql_window(h, q, ix, &sql, from, to, &nwin, err);
    if (ret != TW_PLUGIN_OK)
        goto out;
    ret = TW_PLUGIN_ENOMEM;
    tw_sql_str_add(&sql, c->list >= 0 ? " ORDER BY t.id, i." : " ORDER BY t.id");
    if (c->list >= 0)
        tw_sql_str_add(&sql, ix->items_order);
    if (sql.failed) {
        h->err_set(err, TW_PLUGIN_ENOMEM, "out of memory building the query");
        goto out;
    }
    rc = sqlite3_prepare_v2(c->db, sql.p, (int)sql.len + 1, &c->st, NULL);
    if (rc != SQLITE_OK) {
        ret = h->err_set(err, TW_PLUGIN_ESOURCE, "source database does not fit the schema: %s",
                         sqlite3_errmsg(c->db));
        goto out;
    }
    rc = sqlite3_bind_int64(c->st, 1, h->q_chain(q));
    if (rc == SQLITE_OK)
        rc = bind_params(c->st, params, np);
    /* The window's bounds follow every pushdown value (SQLITE_TRANSIENT: they are local). */
    if (rc == SQLITE_OK && nwin == 2)
        rc = sqlite3_bind_text(c->st, (int)np + 2, from, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK && nwin > 0)
        rc = sqlite3_bind_text(c->st, (int)np + 1 + nwin, to, -1, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) {
        ret = h->err_set(err, TW_PLUGIN_ESOURCE, "binding the query: %s", sqlite3_errmsg(c->db));
        goto out;
    }
    ret = TW_PLUGIN_OK;
out:
    h->free(params);
    h->free(sql.p);
    return ret;
}

int tw_sql_open(const struct tw_host *host, struct tw_query *q, const struct tw_field *fields,
                const struct tw_sql_index *ix, void **cursor, struct tw_err *err)
{
    const char *path = host->source(host);
    struct sql_cursor *c;
    uint32_t i;
    int rc;
    int ret;

    if (path == NULL || path[0] == '\0')
        return host->err_set(err, TW_PLUGIN_EINVAL, "source.path is not set");
    c = host->alloc(sizeof(*c));
    if (c == NULL)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory opening the source");
    memset(c, 0, sizeof(*c));
    c->host = host;
    c->fields = fields;
    c->nfields = count(fields);
    c->list = -1;
    for (i = 0; i < c->nfields; i++) {
        if (fields[i].type == TW_FIELD_LIST && ix->items_table != NULL) {
            c->list = (int32_t)i;
            c->nsub = count(fields[i].nested);
        }
    }
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
    sqlite3_finalize(c->st);
    sqlite3_close(c->db);
    c->host->free(c);
}

/* Set column col of the record (or of the open list element) from statement column sc. */
static void set_value(const struct tw_host *h, struct tw_record *r, sqlite3_stmt *st, int sc,
                      uint32_t col, uint32_t type)
{
    int t = sqlite3_column_type(st, sc);
    const char *s;

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
            h->rec_set_int(r, col, sqlite3_column_int64(st, sc));
        else if (type == TW_FIELD_MONEY)
            h->rec_set_money(r, col, sqlite3_column_int64(st, sc));
        else
            h->rec_set_bool(r, col, sqlite3_column_int64(st, sc) != 0);
        return;
    case TW_FIELD_NUMBER: h->rec_set_double(r, col, sqlite3_column_double(st, sc)); return;
    default: break;
    }
    s = (const char *)sqlite3_column_text(st, sc);
    if (s == NULL) {
        h->rec_reject(r, "out of memory reading a text column");
        return;
    }
    if (type == TW_FIELD_DATE)
        h->rec_set_date(r, col, s, (size_t)sqlite3_column_bytes(st, sc));
    else if (type == TW_FIELD_DATETIME)
        h->rec_set_datetime(r, col, s, (size_t)sqlite3_column_bytes(st, sc));
    else
        h->rec_set_text(r, col, s, (size_t)sqlite3_column_bytes(st, sc));
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

/*
 * A seventh index, "stores", written the way an out-of-tree plugin author would: it includes
 * only the installed <taskwheel/plugin.h> (found with `pkg-config --cflags taskwheel-plugin`)
 * and SQLite, and reads a table the test adds to the source database:
 *   stores(id INTEGER, chain_id INTEGER, code TEXT, name TEXT, opened TEXT)
 * It applies no pushdown (always correct: the engine filters what is not applied).
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include <taskwheel/plugin.h>

static const struct tw_field store_fields[] = {
    { "id", TW_FIELD_INT, TW_FIELD_FILTERABLE, NULL, { NULL, NULL } },
    { "code", TW_FIELD_KEYWORD, TW_FIELD_FILTERABLE, NULL, { NULL, NULL } },
    { "name", TW_FIELD_TEXT, TW_FIELD_FILTERABLE, NULL, { NULL, NULL } },
    { "opened", TW_FIELD_DATE, TW_FIELD_FILTERABLE, NULL, { NULL, NULL } },
    { 0 },
};

struct cursor {
    const struct tw_host *host; /* borrowed until close */
    sqlite3 *db;                /* read-only connection to the source */
    sqlite3_stmt *stmt;         /* the chain's stores, by id */
};

static void s_close(void *cur)
{
    struct cursor *c = cur;

    sqlite3_finalize(c->stmt);
    sqlite3_close(c->db);
    c->host->free(c);
}

static int s_open(const struct tw_host *host, struct tw_query *q, void **out, struct tw_err *err)
{
    struct cursor *c = host->alloc(sizeof(*c));

    if (c == NULL)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory");
    memset(c, 0, sizeof(*c));
    c->host = host;
    if (sqlite3_open_v2(host->source(host), &c->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db,
                           "SELECT id, chain_id, code, name, opened FROM stores "
                           "WHERE chain_id = ?1 ORDER BY id",
                           -1, &c->stmt, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(c->stmt, 1, host->q_chain(q)) != SQLITE_OK) {
        int rc = host->err_set(err, TW_PLUGIN_ESOURCE, "cannot read stores from %s: %s",
                               host->source(host), sqlite3_errmsg(c->db));

        s_close(c);
        return rc;
    }
    *out = c;
    return TW_PLUGIN_OK;
}

static int s_next(void *cur, struct tw_record *r, struct tw_err *err)
{
    struct cursor *c = cur;
    const struct tw_host *h = c->host;
    int rc = sqlite3_step(c->stmt);

    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return h->err_set(err, TW_PLUGIN_ESOURCE, "reading stores: %s", sqlite3_errmsg(c->db));
    h->rec_set_int(r, 0, sqlite3_column_int64(c->stmt, 0));
    h->rec_set_chain(r, sqlite3_column_int64(c->stmt, 1));
    h->rec_set_text(r, 1, (const char *)sqlite3_column_text(c->stmt, 2),
                    (size_t)sqlite3_column_bytes(c->stmt, 2));
    h->rec_set_text(r, 2, (const char *)sqlite3_column_text(c->stmt, 3),
                    (size_t)sqlite3_column_bytes(c->stmt, 3));
    if (sqlite3_column_type(c->stmt, 4) != SQLITE_NULL) /* never set = null */
        h->rec_set_date(r, 3, (const char *)sqlite3_column_text(c->stmt, 4),
                        (size_t)sqlite3_column_bytes(c->stmt, 4));
    return 1;
}

TW_INDEX_PLUGIN(.index = "stores", .label = "Store", .version = "1.0.0", .fields = store_fields,
                .open = s_open, .next = s_next, .close = s_close);

/*
 * End to end through the six built-in SQL plugins: a small hand-made source database (made
 * here from plugins/sql/source_schema.sql, two chains, awkward values) exported as CSV and
 * JSON, parsed back and compared field by field with what the database holds; chain
 * isolation; deleted vouchers; pushdown applied in SQL; a missing database's message.
 */
#include <jansson.h>
#include <sqlite3.h>

#include "export_fixture.h"

static struct xfx f;
static char db_path[128];

static const char seed_sql[] =
    "INSERT INTO users VALUES"
    " (1,1764,'E1','alice','Alice','O''Neil, Jr.','F','1990-02-28','NL',7,"
    "  '2025-01-01T10:00:00Z','2026-05-01T00:00:00Z',1,0,'gold',3,4,5,1250),"
    " (2,1765,'E2','bob','Bob','Other','M','1980-01-01','BE',8,'2025-01-01T10:00:00Z',"
    "  '2025-01-01T10:00:00Z',0,0,'silver',1,1,1,99),"
    " (3,1764,NULL,'=cmd()',NULL,'two' || char(10) || 'lines',NULL,NULL,NULL,NULL,"
    "  '2025-03-04T05:06:07Z',NULL,0,1,NULL,NULL,NULL,NULL,-5),"
    " (4,1764,'E4','zoë','Zoë','\"Quoted\"','X','2000-12-31','DE',9,'2025-12-31T23:59:59Z',"
    "  '2026-01-01T00:00:00Z',1,1,'bronze',0,0,0,0);"
    "INSERT INTO transactions VALUES"
    " (10,1764,'B-10','2026-05-25T08:00:00Z','sale',1,'S1','EUR',2500,495,2995,'card','EMP1'),"
    " (11,1765,'B-11','2026-05-25T09:00:00Z','sale',2,'S2','EUR',100,0,100,'cash',NULL),"
    " (12,1764,'B-12','2026-05-25T10:00:00Z','return',1,'S1','EUR',-1250,0,-1250,'card',NULL),"
    " (13,1764,'B,13','2026-05-26T11:00:00Z','sale',4,NULL,'GBP',1,NULL,1,NULL,'-E');"
    "INSERT INTO transaction_items VALUES"
    " (10,1764,2,'SKU-2','8710000000002','Mug, \"large\"',1,1000,1200,1000,0),"
    " (10,1764,1,'SKU-1','8710000000001','T-shirt',2,750,750,1500,1),"
    " (10,1764,3,'SKU-3',NULL,'+Gift',1,0,NULL,0,1),"
    " (11,1765,1,'SKU-9','x','Other chain',1,100,100,100,0),"
    " (13,1764,1,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);"
    "INSERT INTO vouchers VALUES"
    " (20,1764,1,5,'Spring, 10%','discount','claimed',1000,0,'EUR','2026-01-01T00:00:00Z',"
    "  '2026-01-02T00:00:00Z',NULL,'2026-12-31',0),"
    " (21,1764,1,5,'Deleted','discount','claimed',1000,0,'EUR','2026-01-01T00:00:00Z',"
    "  NULL,NULL,'2026-12-31',1),"
    " (22,1765,2,6,'Other','gift','redeemed',500,500,'EUR','2026-01-01T00:00:00Z',NULL,NULL,"
    "  NULL,0),"
    " (23,1764,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,0);"
    "INSERT INTO wallet_ledger VALUES"
    " (30,1764,1,'2026-05-20T00:00:00Z','credit',1250,1250,'EUR',5,10,'Cashback \"May\"'),"
    " (31,1765,2,'2026-05-20T00:00:00Z','credit',99,99,'EUR',NULL,NULL,'x'),"
    " (32,1764,1,'2026-05-21T00:00:00Z','debit',-250,1000,'EUR',NULL,NULL,'@import');"
    "INSERT INTO products VALUES"
    " (40,1764,'OWN','T-shirt','Soft, cotton' || char(13) || char(10) || 'tee','Acme','Tops',"
    "  1999,850,'piece',1,'https://x/1','2025-01-01T00:00:00Z'),"
    " (41,1765,'OWN','Other','','B','C',1,1,'piece',0,NULL,'2025-01-01T00:00:00Z'),"
    " (42,1764,NULL,'Mug',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);"
    "INSERT INTO product_variants VALUES"
    " (50,1764,40,'OWN','M','blue',1999,'871','https://x/50.jpg','2025-01-02T00:00:00Z'),"
    " (51,1765,41,'OWN','S','red',1,'872',NULL,'2025-01-02T00:00:00Z'),"
    " (52,1764,40,'OWN','XL',NULL,2099,NULL,NULL,'2025-01-03T00:00:00Z');";

static void setup(void)
{
    char *schema;
    char *msg = NULL;
    sqlite3 *db;

    xfx_setup(&f, BUILTINS);
    snprintf(db_path, sizeof(db_path), "%s/retail.db", f.dir);
    schema = xfx_read(TW_SOURCE_DIR "/plugins/sql/source_schema.sql", NULL);
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, schema, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
    cr_assert_eq(sqlite3_exec(db, seed_sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
    sqlite3_close(db);
    free(schema);
}

static void teardown(void)
{
    xfx_teardown(&f);
}

TestSuite(sources, .init = setup, .fini = teardown, .timeout = 60);

struct idx {
    const char *index;
    const char *table;
    const char *filter;
    int rows_1764;     /* records of chain 1764 */
    int csv_rows_1764; /* CSV data rows (transactions: one per item) */
};

static const struct idx indexes[] = {
    { "users", "users", "1", 3, 3 },
    { "transactions", "transactions", "1", 3, 5 },
    { "vouchers", "vouchers", "deleted = 0", 2, 2 },
    { "wallet-ledger", "wallet_ledger", "1", 2, 2 },
    { "products", "products", "1", 2, 2 },
    { "product-variants", "product_variants", "1", 2, 2 },
};

/* The expected export text of column c of the current row of st, by field type ("" = null). */
static void expect_text(sqlite3_stmt *st, int c, uint32_t type, char *out, size_t size)
{
    long long v;

    if (sqlite3_column_type(st, c) == SQLITE_NULL) {
        out[0] = '\0';
        return;
    }
    v = sqlite3_column_int64(st, c);
    if (type == TW_FIELD_MONEY)
        snprintf(out, size, "%s%lld.%02lld", v < 0 ? "-" : "", llabs(v) / 100, llabs(v) % 100);
    else if (type == TW_FIELD_BOOL)
        snprintf(out, size, "%s", v ? "true" : "false");
    else if (type == TW_FIELD_INT)
        snprintf(out, size, "%lld", v);
    else
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, c));
}

/* The same value as the JSON writer must have produced, for comparison with jansson's parse. */
static void check_json(json_t *v, sqlite3_stmt *st, int c, uint32_t type, const char *what)
{
    char want[512];

    expect_text(st, c, type, want, sizeof(want));
    if (sqlite3_column_type(st, c) == SQLITE_NULL) {
        cr_assert(json_is_null(v), "%s: want null", what);
        return;
    }
    switch (type) {
    case TW_FIELD_INT:
        cr_assert_eq(json_integer_value(v), sqlite3_column_int64(st, c), "%s", what);
        break;
    case TW_FIELD_MONEY:
        cr_assert(json_is_real(v), "%s: money must be a decimal number", what);
        cr_assert_float_eq(json_real_value(v), sqlite3_column_int64(st, c) / 100.0, 1e-9, "%s",
                           what);
        break;
    case TW_FIELD_BOOL:
        cr_assert(json_is_boolean(v), "%s", what);
        cr_assert_eq(json_is_true(v), sqlite3_column_int64(st, c) != 0, "%s", what);
        break;
    default: cr_assert_str_eq(json_string_value(v), want, "%s", what); break;
    }
}

static sqlite3_stmt *select_rows(sqlite3 *db, const struct tw_plugin *p, const struct idx *ix,
                                 int64_t chain)
{
    char sql[2048];
    sqlite3_stmt *st;
    size_t n;
    uint32_t i;

    n = (size_t)snprintf(sql, sizeof(sql), "SELECT t.id");
    for (i = 0; i < p->nfields; i++)
        if (p->desc.fields[i].type != TW_FIELD_LIST)
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", t.%s", p->desc.fields[i].name);
        else
            n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                                  ", i.retailer_product_code, i.barcode, i.name, i.quantity,"
                                  " i.sale_price, i.original_price, i.basket_item_subtotal,"
                                  " i.item_is_promotional");
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, " FROM %s t", ix->table);
    if (strcmp(ix->index, "transactions") == 0)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " LEFT JOIN transaction_items i ON i.transaction_id = t.id");
    snprintf(sql + n, sizeof(sql) - n, " WHERE t.chain_id = %lld AND %s ORDER BY t.id%s",
             (long long)chain, ix->filter,
             strcmp(ix->index, "transactions") == 0 ? ", i.position" : "");
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
    return st;
}

/* Field types in CSV column order (items flattened at the end). */
static uint32_t csv_types(const struct tw_plugin *p, uint32_t *types)
{
    uint32_t n = 0;
    uint32_t i;
    uint32_t j;

    for (i = 0; i < p->nfields; i++) {
        if (p->desc.fields[i].type != TW_FIELD_LIST) {
            types[n++] = p->desc.fields[i].type;
            continue;
        }
        for (j = 0; p->desc.fields[i].nested[j].name != NULL; j++)
            types[n++] = p->desc.fields[i].nested[j].type;
    }
    return n;
}

Test(sources, csv_matches_the_database_field_by_field)
{
    uint32_t types[64];
    sqlite3 *db;
    size_t k;

    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (k = 0; k < sizeof(indexes) / sizeof(indexes[0]); k++) {
        const struct idx *ix = &indexes[k];
        struct tw_export_job job = xfx_job(&f, ix->index, "csv", db_path, 1764);
        const struct tw_plugin *p = job.plugin;
        struct tw_export_stats st;
        struct csv_doc doc;
        sqlite3_stmt *q = select_rows(db, p, ix, 1764);
        char want[512];
        uint32_t ncols = csv_types(p, types);
        size_t row = 1;
        uint32_t c;
        char *text;

        job.task_id = (int64_t)k;
        text = xfx_run(&job, &st);
        cr_assert_eq(st.total, (uint64_t)ix->rows_1764, "%s total", ix->index);
        cr_assert_eq(st.success, (uint64_t)ix->rows_1764, "%s success", ix->index);
        csv_parse(text, &doc);
        cr_assert_eq(doc.nrows, (size_t)ix->csv_rows_1764 + 1, "%s rows", ix->index);
        cr_assert_eq(doc.ncells[0], ncols);
        while (sqlite3_step(q) == SQLITE_ROW) {
            for (c = 0; c < ncols; c++) {
                expect_text(q, (int)c + 1, types[c], want, sizeof(want));
                if ((types[c] == TW_FIELD_TEXT || types[c] == TW_FIELD_KEYWORD) &&
                    strchr("=+-@\t\r", want[0]) != NULL && want[0] != '\0')
                    cr_assert(doc.rows[row][c][0] == '\'' &&
                                  strcmp(doc.rows[row][c] + 1, want) == 0,
                              "%s row %zu col %s: guarded %s, got %s", ix->index, row,
                              doc.rows[0][c], want, doc.rows[row][c]);
                else
                    cr_assert_str_eq(doc.rows[row][c], want, "%s row %zu col %s", ix->index, row,
                                     doc.rows[0][c]);
            }
            row++;
        }
        cr_assert_eq(row, doc.nrows, "%s: every row compared", ix->index);
        sqlite3_finalize(q);
        csv_free(&doc);
        free(text);
    }
    sqlite3_close(db);
}

Test(sources, json_matches_the_database_field_by_field)
{
    sqlite3 *db;
    size_t k;

    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (k = 0; k < sizeof(indexes) / sizeof(indexes[0]); k++) {
        const struct idx *ix = &indexes[k];
        struct tw_export_job job = xfx_job(&f, ix->index, "json", db_path, 1764);
        const struct tw_plugin *p = job.plugin;
        struct tw_export_stats st;
        sqlite3_stmt *q = select_rows(db, p, ix, 1764);
        json_t *doc;
        json_t *obj = NULL;
        size_t at = 0;
        size_t item = 0;
        int64_t last = -1;
        char *text;
        uint32_t i;
        uint32_t j;
        int c;

        text = xfx_run(&job, &st);
        doc = json_loads(text, 0, NULL);
        cr_assert(json_is_array(doc), "%s: %s", ix->index, text);
        cr_assert_eq(json_array_size(doc), (size_t)ix->rows_1764, "%s", ix->index);
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (sqlite3_column_int64(q, 0) != last) {
                obj = json_array_get(doc, at++);
                last = sqlite3_column_int64(q, 0);
                item = 0;
                cr_assert_eq(json_object_size(obj), p->nfields);
            }
            c = 1;
            for (i = 0; i < p->nfields; i++) {
                const struct tw_field *fd = &p->desc.fields[i];
                json_t *v = json_object_get(obj, fd->name);

                if (fd->type != TW_FIELD_LIST) {
                    check_json(v, q, c++, fd->type, fd->name);
                    continue;
                }
                cr_assert(json_is_array(v));
                if (sqlite3_column_type(q, c + 3) == SQLITE_NULL &&
                    sqlite3_column_type(q, c) == SQLITE_NULL && json_array_size(v) == 0) {
                    c += 8; /* basket without items */
                    continue;
                }
                for (j = 0; fd->nested[j].name != NULL; j++)
                    check_json(json_object_get(json_array_get(v, item), fd->nested[j].name), q, c++,
                               fd->nested[j].type, fd->nested[j].name);
                item++;
            }
        }
        cr_assert_eq(at, json_array_size(doc));
        sqlite3_finalize(q);
        json_decref(doc);
        free(text);
    }
    sqlite3_close(db);
}

Test(sources, other_chain_sees_only_its_rows)
{
    static const int ids_1765[] = { 2, 11, 22, 31, 41, 51 };
    size_t k;

    for (k = 0; k < sizeof(indexes) / sizeof(indexes[0]); k++) {
        struct tw_export_job job = xfx_job(&f, indexes[k].index, "json", db_path, 1765);
        struct tw_export_stats st;
        char *text;
        json_t *doc;

        job.task_id = 100 + (int64_t)k;
        text = xfx_run(&job, &st);
        doc = json_loads(text, 0, NULL);
        cr_assert_eq(json_array_size(doc), 1, "%s", indexes[k].index);
        cr_assert_eq(st.total, 1);
        cr_assert_eq(json_integer_value(json_object_get(json_array_get(doc, 0), "id")), ids_1765[k],
                     "%s: %s", indexes[k].index, text);
        json_decref(doc);
        free(text);
    }
}

Test(sources, transactions_items_in_position_order)
{
    struct tw_export_job job = xfx_job(&f, "transactions", "json", db_path, 1764);
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);
    json_t *doc = json_loads(text, 0, NULL);
    json_t *items = json_object_get(json_array_get(doc, 0), "items");

    cr_assert_eq(json_array_size(items), 3);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(items, 0), "retailer_product_code")),
        "SKU-1");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(items, 2), "retailer_product_code")),
        "SKU-3");
    cr_assert_eq(json_array_size(json_object_get(json_array_get(doc, 1), "items")), 0);
    json_decref(doc);
    free(text);
}

Test(sources, pushdown_runs_in_sql)
{
    struct tw_export_job job = xfx_job(&f, "users", "csv", db_path, 1764);
    struct tw_value nl = { .s = "NL", .len = 2 };
    struct tw_value neil = { .s = "NEIL", .len = 4 };
    struct tw_value de = { .s = "DE", .len = 2 };
    struct tw_export_stats st;
    struct tw_query q;
    struct tw_err err;
    char *text;

    /* ALL: country_code <> 'NL' (null matches) and lastname not containing "neil". */
    tw_query_init(&q, 0, 0, TW_JOIN_ALL);
    tw_query_add(&q, 7, TW_COND_TOP, TW_OP_NE, &nl, 1, TW_FIELD_KEYWORD, &err);
    text = xfx_run((job.query = &q, &job), &st);
    cr_assert(q.applied[0]);
    cr_assert_eq(st.total, 2, "user 3 (null country) and 4 (DE)");
    free(text);
    tw_query_fini(&q);

    /* ANY: lastname contains "neil" (case-insensitive) or country is DE. */
    tw_query_init(&q, 0, 0, TW_JOIN_ANY);
    tw_query_add(&q, 4, TW_COND_TOP, TW_OP_CONTAINS_CI, &neil, 1, TW_FIELD_TEXT, &err);
    tw_query_add(&q, 7, TW_COND_TOP, TW_OP_EQ, &de, 1, TW_FIELD_KEYWORD, &err);
    job.query = &q;
    text = xfx_run(&job, &st);
    cr_assert(q.applied[0] && q.applied[1]);
    cr_assert_eq(st.total, 2);
    cr_assert(strstr(text, "\r\n1,") && strstr(text, "\r\n4,") && !strstr(text, "\r\n3,"));
    free(text);
    tw_query_fini(&q);

    /* A nested condition is left to the engine, and with ANY so is everything else. */
    tw_query_init(&q, 0, 0, TW_JOIN_ANY);
    tw_query_add(&q, 7, TW_COND_TOP, TW_OP_EQ, &de, 1, TW_FIELD_KEYWORD, &err);
    tw_query_add(&q, 12, 0, TW_OP_EQ, &de, 1, TW_FIELD_KEYWORD, &err);
    job = xfx_job(&f, "transactions", "csv", db_path, 1764);
    job.query = &q;
    free(xfx_run(&job, &st));
    cr_assert(!q.applied[0] && !q.applied[1]);
    cr_assert_eq(st.total, 3);
    tw_query_fini(&q);
}

Test(sources, missing_database_says_so)
{
    struct tw_export_job job = xfx_job(&f, "transactions", "csv", "/nonexistent/retail.db", 1764);
    struct tw_export_stats st;
    struct tw_err err;

    cr_assert_eq(tw_export_run(&job, &st, &err), TW_ESOURCE);
    cr_assert_str_eq(
        err.msg, "plugin transactions: source database unavailable: unable to open database file");
    cr_assert_eq(xfx_count_files(f.dir), 1, "only retail.db");
}

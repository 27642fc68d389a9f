/*
 * Unit tests for the seeder (engine/seed): the embedded schema matches
 * plugins/sql/source_schema.sql byte for byte; same options give identical tables and another
 * seed different ones; the data's invariants hold, checked with plain SQL over the result
 * (basket arithmetic, running wallet balances, voucher date order, references to real products,
 * time formats); chains are isolated and do not influence each other; re-seeding replaces;
 * bad inputs and allocation failures fail cleanly with the documented codes.
 *
 * Every test seeds small files (a few hundred users per chain) in its own temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "core/mem.h"
#include "seed/seed.h"

#define USERS 500 /* enough for every awkward name (1 in 50 users) and product to appear */

static const char *const tables[] = {
    "users",         "transactions", "transaction_items", "vouchers",
    "wallet_ledger", "products",     "product_variants",
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/tw_seed_test.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(seed, .init = make_dir, .fini = remove_dir, .timeout = 120);

static const char *path_of(const char *name)
{
    static char paths[4][160];
    static int next;
    char *p = paths[next++ % 4];

    snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
    return p;
}

static void seed_ok(const char *path, const int64_t *chains, size_t n, uint64_t users,
                    uint64_t seed, struct tw_seed_stats *stats)
{
    struct tw_seed_opts o = {
        .db_path = path, .chains = chains, .n_chains = n, .users_per_chain = users, .seed = seed
    };
    struct tw_err err;

    tw_err_clear(&err);
    cr_assert_eq(tw_seed_run(&o, stats, &err), TW_OK, "seed %s: %s", path, err.msg);
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;

    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", path);
    return db;
}

/* The single integer a query answers. */
static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Assert a query counting violations answers 0. */
static void none(sqlite3 *db, const char *what, const char *sql)
{
    int64_t n = q_int(db, sql);

    cr_assert_eq(n, 0, "%s: %lld violating rows (%s)", what, (long long)n, sql);
}

/* Append every value of every row of a query, typed and length-prefixed, to b. */
static void dump_query(sqlite3 *db, const char *sql, struct tw_buf *b)
{
    sqlite3_stmt *st = NULL;
    int rc;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            int type = sqlite3_column_type(st, i);
            const unsigned char *t = sqlite3_column_text(st, i);
            int len = sqlite3_column_bytes(st, i);

            tw_buf_printf(b, "%d:%d:", type, type == SQLITE_NULL ? 0 : len);
            if (type != SQLITE_NULL)
                tw_buf_append(b, t, (size_t)len);
        }
        tw_buf_puts(b, "\n");
    }
    cr_assert_eq(rc, SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Every table, every column, in key order; where is appended to each query (may be ""). */
static char *dump(const char *path, const char *where)
{
    sqlite3 *db = open_db(path);
    struct tw_buf b;

    tw_buf_init(&b, (size_t)1 << 30);
    for (size_t t = 0; t < N_TABLES; t++) {
        char sql[256];
        const char *key = strcmp(tables[t], "transaction_items") ? "id"
                                                                 : "transaction_id, position";

        snprintf(sql, sizeof(sql), "SELECT * FROM %s %s ORDER BY %s", tables[t], where, key);
        tw_buf_printf(&b, "== %s\n", tables[t]);
        dump_query(db, sql, &b);
    }
    sqlite3_close(db);
    return tw_buf_steal(&b);
}

/* ---------------------------------------------------------------------------------------- */

Test(seed, schema_embedded_copy)
{
    const char *path = TW_SOURCE_DIR "/plugins/sql/source_schema.sql";
    FILE *f = fopen(path, "rb");
    char *file;
    long len;

    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    rewind(f);
    file = malloc((size_t)len + 1);
    cr_assert_eq(fread(file, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    file[len] = '\0';
    cr_assert_eq(strlen(tw_seed_schema_sql), (size_t)len,
                 "engine/seed/seed_schema.inc is stale: regenerate it from %s", path);
    cr_assert(memcmp(tw_seed_schema_sql, file, (size_t)len) == 0,
              "engine/seed/seed_schema.inc is stale: regenerate it from %s", path);
    free(file);
}

Test(seed, same_options_same_tables_other_seed_different)
{
    int64_t chains[] = { 1764, 1765 };
    const char *a = path_of("a.db"), *b = path_of("b.db"), *c = path_of("c.db");
    char *da, *db, *dc;

    seed_ok(a, chains, 2, USERS, 7, NULL);
    seed_ok(b, chains, 2, USERS, 7, NULL);
    seed_ok(c, chains, 2, USERS, 8, NULL);
    da = dump(a, "");
    db = dump(b, "");
    dc = dump(c, "");
    cr_assert_gt(strlen(da), 100000);
    cr_assert_str_eq(da, db, "two seeds with the same options differ");
    cr_assert_str_neq(da, dc, "a different seed gave the same data");
    tw_free(da);
    tw_free(db);
    tw_free(dc);
}

Test(seed, stats_match_rows_and_proportions)
{
    int64_t chain = 1764;
    const char *p = path_of("s.db");
    struct tw_seed_stats s;
    sqlite3 *db;

    seed_ok(p, &chain, 1, USERS, 1, &s);
    db = open_db(p);
    cr_assert_eq(s.users, USERS);
    cr_assert_eq((int64_t)s.users, q_int(db, "SELECT COUNT(*) FROM users"));
    cr_assert_eq((int64_t)s.transactions, q_int(db, "SELECT COUNT(*) FROM transactions"));
    cr_assert_eq((int64_t)s.transaction_items, q_int(db, "SELECT COUNT(*) FROM transaction_items"));
    cr_assert_eq((int64_t)s.vouchers, q_int(db, "SELECT COUNT(*) FROM vouchers"));
    cr_assert_eq((int64_t)s.wallet_ledger, q_int(db, "SELECT COUNT(*) FROM wallet_ledger"));
    cr_assert_eq((int64_t)s.products, q_int(db, "SELECT COUNT(*) FROM products"));
    cr_assert_eq((int64_t)s.product_variants, q_int(db, "SELECT COUNT(*) FROM product_variants"));
    /* ~10 transactions and ~3 vouchers per user, 1-6 items per basket, 1-5 variants. */
    cr_assert(s.transactions > 8 * USERS && s.transactions < 12 * USERS, "%llu",
              (unsigned long long)s.transactions);
    cr_assert(s.vouchers > 2 * USERS && s.vouchers < 4 * USERS);
    cr_assert(s.wallet_ledger > USERS);
    cr_assert_eq(s.products, USERS / 10); /* max(20, N/10) */
    none(db, "items per basket 1..6, positions 1..n",
         "SELECT COUNT(*) FROM (SELECT COUNT(*) n, MIN(position) lo, MAX(position) hi "
         "FROM transaction_items GROUP BY transaction_id) WHERE n < 1 OR n > 6 OR lo != 1 "
         "OR hi != n");
    none(db, "baskets without items",
         "SELECT COUNT(*) FROM transactions t WHERE NOT EXISTS "
         "(SELECT 1 FROM transaction_items i WHERE i.transaction_id = t.id)");
    none(db, "variants per product 1..5",
         "SELECT COUNT(*) FROM (SELECT p.id, COUNT(v.id) n FROM products p LEFT JOIN "
         "product_variants v ON v.product_id = p.id GROUP BY p.id) WHERE n < 1 OR n > 5");
    sqlite3_close(db);
}

Test(seed, small_chain_still_has_min_products_and_zero_users_is_catalogue_only)
{
    int64_t chain = 9;
    const char *p = path_of("z.db");
    struct tw_seed_stats s;

    seed_ok(p, &chain, 1, 0, 1, &s);
    cr_assert_eq(s.users, 0);
    cr_assert_eq(s.transactions, 0);
    cr_assert_eq(s.vouchers, 0);
    cr_assert_eq(s.wallet_ledger, 0);
    cr_assert_eq(s.products, 20);
    cr_assert_geq(s.product_variants, 20);
}

Test(seed, baskets_add_up)
{
    int64_t chain = 1764;
    const char *p = path_of("t.db");
    sqlite3 *db;

    seed_ok(p, &chain, 1, USERS, 3, NULL);
    db = open_db(p);
    none(db, "item subtotal = quantity * sale_price",
         "SELECT COUNT(*) FROM transaction_items WHERE basket_item_subtotal IS NOT "
         "quantity * sale_price");
    none(db, "subtotal = sum of items",
         "SELECT COUNT(*) FROM transactions t WHERE subtotal IS NOT (SELECT "
         "SUM(basket_item_subtotal) FROM transaction_items i WHERE i.transaction_id = t.id)");
    none(db, "total_value = subtotal + shipping_charge",
         "SELECT COUNT(*) FROM transactions WHERE total_value IS NOT subtotal + shipping_charge");
    none(db, "sale price at most the original, promotional when lower",
         "SELECT COUNT(*) FROM transaction_items WHERE sale_price > original_price OR "
         "(sale_price < original_price AND item_is_promotional != 1) OR sale_price <= 0");
    none(db, "sales positive, returns negative without shipping",
         "SELECT COUNT(*) FROM transactions WHERE (type = 'sale' AND subtotal <= 0) OR "
         "(type = 'return' AND (subtotal >= 0 OR shipping_charge != 0)) OR "
         "type NOT IN ('sale', 'return')");
    none(db, "currencies",
         "SELECT COUNT(*) FROM transactions WHERE currency NOT IN "
         "('EUR', 'GBP', 'USD')");
    none(db, "transactions after the user joined",
         "SELECT COUNT(*) FROM transactions t JOIN users u ON u.id = t.user_id "
         "WHERE t.timestamp < u.created_date");
    cr_assert_gt(q_int(db, "SELECT COUNT(*) FROM transactions WHERE type = 'return'"), 0);
    cr_assert_gt(q_int(db, "SELECT COUNT(*) FROM transactions WHERE shipping_charge > 0"), 0);
    sqlite3_close(db);
}

Test(seed, wallet_is_a_true_running_balance)
{
    int64_t chain = 1764;
    const char *p = path_of("w.db");
    sqlite3 *db;

    seed_ok(p, &chain, 1, USERS, 4, NULL);
    db = open_db(p);
    none(db, "balance_after = running sum of amounts",
         "SELECT COUNT(*) FROM (SELECT balance_after, SUM(amount) OVER (PARTITION BY user_id "
         "ORDER BY id) AS run FROM wallet_ledger) WHERE run != balance_after");
    none(db, "never negative", "SELECT COUNT(*) FROM wallet_ledger WHERE balance_after < 0");
    none(db, "sign follows type",
         "SELECT COUNT(*) FROM wallet_ledger WHERE amount = 0 OR (type = 'credit' AND "
         "amount < 0) OR (type IN ('debit', 'expiry') AND amount > 0) OR type NOT IN "
         "('credit', 'debit', 'expiry')");
    none(db, "entries in time order",
         "SELECT COUNT(*) FROM wallet_ledger a JOIN wallet_ledger b ON a.user_id = b.user_id "
         "AND b.id = a.id + 1 WHERE b.timestamp < a.timestamp");
    none(db, "wallet_balance = last balance_after (0 without entries)",
         "SELECT COUNT(*) FROM users u WHERE wallet_balance IS NOT COALESCE((SELECT "
         "balance_after FROM wallet_ledger l WHERE l.user_id = u.id ORDER BY id DESC LIMIT 1), "
         "0)");
    none(db, "basket_id is a transaction of the same user",
         "SELECT COUNT(*) FROM wallet_ledger l WHERE basket_id IS NOT NULL AND NOT EXISTS "
         "(SELECT 1 FROM transactions t WHERE t.id = l.basket_id AND t.user_id = l.user_id)");
    none(db, "ledger after the user joined",
         "SELECT COUNT(*) FROM wallet_ledger l JOIN users u ON u.id = l.user_id "
         "WHERE l.timestamp < u.created_date");
    cr_assert_gt(q_int(db, "SELECT COUNT(*) FROM wallet_ledger WHERE type = 'debit'"), 0);
    cr_assert_gt(q_int(db, "SELECT COUNT(*) FROM users WHERE wallet_balance > 0"), 0);
    sqlite3_close(db);
}

Test(seed, vouchers_tell_a_possible_story)
{
    int64_t chain = 1764;
    const char *p = path_of("v.db");
    sqlite3 *db;

    seed_ok(p, &chain, 1, USERS, 5, NULL);
    db = open_db(p);
    cr_assert_eq(q_int(db, "SELECT COUNT(DISTINCT status) FROM vouchers WHERE status IN "
                           "('available', 'claimed', 'redeemed', 'expired')"),
                 4);
    none(db, "unknown status",
         "SELECT COUNT(*) FROM vouchers WHERE status NOT IN "
         "('available', 'claimed', 'redeemed', 'expired')");
    none(db, "created <= claimed <= redeemed",
         "SELECT COUNT(*) FROM vouchers WHERE date_time_claimed < created_date OR "
         "date_time_redeemed < date_time_claimed OR (date_time_redeemed IS NOT NULL AND "
         "date_time_claimed IS NULL)");
    none(db, "claimed iff claimed, claimed or redeemed or (sometimes) expired",
         "SELECT COUNT(*) FROM vouchers WHERE (status IN ('claimed', 'redeemed') AND "
         "date_time_claimed IS NULL) OR (status = 'available' AND date_time_claimed IS NOT "
         "NULL)");
    none(db, "redeemed date and amount only when redeemed",
         "SELECT COUNT(*) FROM vouchers WHERE (status = 'redeemed') != "
         "(date_time_redeemed IS NOT NULL) OR (status = 'redeemed') != "
         "(amount_redeemed IS NOT NULL)");
    none(db, "0 < amount_redeemed <= amount",
         "SELECT COUNT(*) FROM vouchers WHERE amount_redeemed <= 0 OR amount_redeemed > amount");
    none(db, "redeemed on or before the expiry date",
         "SELECT COUNT(*) FROM vouchers WHERE status = 'redeemed' AND (expiry_date IS NULL OR "
         "substr(date_time_redeemed, 1, 10) > expiry_date)");
    none(db, "expired before the end of the window, the others after it",
         "SELECT COUNT(*) FROM vouchers WHERE (status = 'expired' AND NOT expiry_date < "
         "'2026-11-01') OR (status IN ('available', 'claimed') AND expiry_date < '2026-11-01')");
    none(db, "created after the user joined",
         "SELECT COUNT(*) FROM vouchers v JOIN users u ON u.id = v.user_id "
         "WHERE v.created_date < u.created_date");
    cr_assert_gt(q_int(db, "SELECT COUNT(*) FROM vouchers WHERE deleted = 1"), 0);
    cr_assert_gt(q_int(db, "SELECT COUNT(*) FROM vouchers WHERE deleted = 0"), 0);
    none(db, "deleted is 0/1", "SELECT COUNT(*) FROM vouchers WHERE deleted NOT IN (0, 1)");
    sqlite3_close(db);
}

Test(seed, references_point_at_real_rows)
{
    int64_t chains[] = { 1764, 1765 };
    const char *p = path_of("r.db");
    sqlite3 *db;

    seed_ok(p, chains, 2, USERS, 6, NULL);
    db = open_db(p);
    none(db, "item product code and barcode exist in the same chain, same product",
         "SELECT COUNT(*) FROM transaction_items i WHERE NOT EXISTS (SELECT 1 FROM "
         "product_variants v JOIN products p ON p.id = v.product_id WHERE v.barcode = i.barcode "
         "AND p.owner_code = i.retailer_product_code AND p.chain_id = i.chain_id AND "
         "v.chain_id = i.chain_id AND p.name = i.name AND v.price = i.original_price)");
    none(db, "item chain = basket chain",
         "SELECT COUNT(*) FROM transaction_items i JOIN transactions t ON t.id = "
         "i.transaction_id WHERE t.chain_id != i.chain_id");
    none(db, "orphan items",
         "SELECT COUNT(*) FROM transaction_items i WHERE NOT EXISTS "
         "(SELECT 1 FROM transactions t WHERE t.id = i.transaction_id)");
    none(db, "transaction user in the same chain",
         "SELECT COUNT(*) FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE "
         "u.id = t.user_id AND u.chain_id = t.chain_id)");
    none(db, "voucher user in the same chain",
         "SELECT COUNT(*) FROM vouchers v WHERE NOT EXISTS (SELECT 1 FROM users u WHERE "
         "u.id = v.user_id AND u.chain_id = v.chain_id)");
    none(db, "ledger user in the same chain",
         "SELECT COUNT(*) FROM wallet_ledger l WHERE NOT EXISTS (SELECT 1 FROM users u WHERE "
         "u.id = l.user_id AND u.chain_id = l.chain_id)");
    none(db, "variant product in the same chain",
         "SELECT COUNT(*) FROM product_variants v WHERE NOT EXISTS (SELECT 1 FROM products p "
         "WHERE p.id = v.product_id AND p.chain_id = v.chain_id)");
    none(db, "voucher and ledger campaigns agree on names",
         "SELECT COUNT(*) FROM (SELECT campaign_id FROM vouchers GROUP BY campaign_id "
         "HAVING COUNT(DISTINCT campaign_name) != 1)");
    none(db, "EAN-13 check digits",
         "WITH d AS (SELECT barcode b FROM product_variants) SELECT COUNT(*) FROM d WHERE "
         "length(b) != 13 OR (substr(b,1,1) + 3*substr(b,2,1) + substr(b,3,1) + "
         "3*substr(b,4,1) + substr(b,5,1) + 3*substr(b,6,1) + substr(b,7,1) + 3*substr(b,8,1) "
         "+ substr(b,9,1) + 3*substr(b,10,1) + substr(b,11,1) + 3*substr(b,12,1) + "
         "substr(b,13,1)) % 10 != 0");
    none(db, "barcodes unique in a chain",
         "SELECT COUNT(*) FROM (SELECT 1 FROM product_variants GROUP BY chain_id, barcode "
         "HAVING COUNT(*) > 1)");
    sqlite3_close(db);
}

Test(seed, times_and_dates_are_well_formed_and_in_the_window)
{
    int64_t chain = 1764;
    const char *p = path_of("f.db");
    static const char *const cols[][2] = {
        { "users", "created_date" },
        { "users", "last_modified" },
        { "transactions", "timestamp" },
        { "vouchers", "created_date" },
        { "vouchers", "date_time_claimed" },
        { "vouchers", "date_time_redeemed" },
        { "wallet_ledger", "timestamp" },
        { "products", "created_date" },
        { "product_variants", "created_date" },
    };
    sqlite3 *db;

    seed_ok(p, &chain, 1, USERS, 9, NULL);
    db = open_db(p);
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        char sql[400];

        /* strftime round-trips only a real date-time, so this checks the formatter too. */
        snprintf(sql, sizeof(sql),
                 "SELECT COUNT(*) FROM %s WHERE %s IS NOT NULL AND (%s IS NOT "
                 "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', %s) OR %s < '2025-01-01' OR "
                 "%s >= '2026-11-01')",
                 cols[i][0], cols[i][1], cols[i][1], cols[i][1], cols[i][1], cols[i][1]);
        none(db, cols[i][1], sql);
    }
    none(db, "birthday",
         "SELECT COUNT(*) FROM users WHERE birthday IS NOT NULL AND (birthday "
         "IS NOT date(birthday) OR birthday < '1945' OR birthday > '2009')");
    none(db, "expiry_date",
         "SELECT COUNT(*) FROM vouchers WHERE expiry_date IS NOT date("
         "expiry_date) AND expiry_date IS NOT NULL");
    none(db, "last_modified >= created_date",
         "SELECT COUNT(*) FROM users WHERE last_modified < created_date");
    none(db, "variant created after its product",
         "SELECT COUNT(*) FROM product_variants v JOIN products p ON p.id = v.product_id "
         "WHERE v.created_date < p.created_date");
    /* The formatter across a leap day: 2028 is outside the window, so use sqlite's view. */
    cr_assert_eq(q_int(db, "SELECT COUNT(DISTINCT substr(timestamp, 1, 7)) FROM transactions"), 22,
                 "every month of the window has baskets");
    sqlite3_close(db);
}

Test(seed, awkward_text_and_nulls_are_present)
{
    int64_t chain = 1764;
    const char *p = path_of("o.db");
    static const char *const present[] = {
        "SELECT COUNT(*) FROM users WHERE substr(firstname, 1, 1) = '='",
        "SELECT COUNT(*) FROM users WHERE substr(firstname, 1, 1) = '+'",
        "SELECT COUNT(*) FROM users WHERE substr(firstname, 1, 1) = '-'",
        "SELECT COUNT(*) FROM users WHERE substr(firstname, 1, 1) = '@'",
        "SELECT COUNT(*) FROM users WHERE substr(firstname, 1, 1) = char(9)",
        "SELECT COUNT(*) FROM users WHERE instr(firstname, ',') OR instr(lastname, ',')",
        "SELECT COUNT(*) FROM users WHERE instr(firstname, '\"')",
        "SELECT COUNT(*) FROM users WHERE instr(lastname, char(13, 10))",
        "SELECT COUNT(*) FROM users WHERE instr(firstname, char(10))",
        "SELECT COUNT(*) FROM users WHERE lastname = 'Müller' OR firstname = 'Zoë-Chloé'",
        "SELECT COUNT(*) FROM users WHERE lastname = '中文名字'",
        "SELECT COUNT(*) FROM products WHERE substr(name, 1, 1) IN ('=', '+', '-', '@')",
        "SELECT COUNT(*) FROM products WHERE instr(description, char(10))",
        "SELECT COUNT(*) FROM products WHERE instr(description, '\"')",
        "SELECT COUNT(*) FROM products WHERE instr(description, '中文') OR instr(name, '中文')",
        "SELECT COUNT(*) FROM transaction_items WHERE instr(name, ',') OR instr(name, '\"')",
        "SELECT COUNT(*) FROM vouchers WHERE substr(campaign_name, 1, 1) IN ('=', '-', '@', '+')",
        "SELECT COUNT(*) FROM wallet_ledger WHERE substr(description, 1, 1) IN ('=', '-', '+', "
        "'@')",
        /* NULLs in nullable columns */
        "SELECT COUNT(*) FROM users WHERE birthday IS NULL",
        "SELECT COUNT(*) FROM users WHERE gender IS NULL",
        "SELECT COUNT(*) FROM users WHERE country_code IS NULL",
        "SELECT COUNT(*) FROM users WHERE store_id IS NULL",
        "SELECT COUNT(*) FROM users WHERE rfm_recency IS NULL",
        "SELECT COUNT(*) FROM transactions WHERE employee_code IS NULL",
        "SELECT COUNT(*) FROM transactions WHERE payment_method IS NULL",
        "SELECT COUNT(*) FROM vouchers WHERE expiry_date IS NULL",
        "SELECT COUNT(*) FROM wallet_ledger WHERE description IS NULL",
        "SELECT COUNT(*) FROM wallet_ledger WHERE basket_id IS NULL",
        "SELECT COUNT(*) FROM products WHERE description IS NULL",
        "SELECT COUNT(*) FROM products WHERE brand IS NULL",
        "SELECT COUNT(*) FROM product_variants WHERE size IS NULL",
        "SELECT COUNT(*) FROM product_variants WHERE image_url IS NULL",
    };
    sqlite3 *db;

    seed_ok(p, &chain, 1, USERS, 10, NULL);
    db = open_db(p);
    for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
        cr_expect_gt(q_int(db, present[i]), 0, "none of: %s", present[i]);
    none(db, "invalid UTF-8 anywhere (a round trip through a blob would change it)",
         "SELECT COUNT(*) FROM users WHERE CAST(CAST(firstname AS BLOB) AS TEXT) IS NOT "
         "firstname");
    sqlite3_close(db);
}

Test(seed, chains_are_isolated_with_expected_rows)
{
    int64_t chains[] = { 1764, 1765 };
    const char *p = path_of("i.db");
    struct tw_seed_stats s;
    sqlite3 *db;

    seed_ok(p, chains, 2, USERS, 11, &s);
    db = open_db(p);
    for (size_t t = 0; t < N_TABLES; t++) {
        char sql[128];

        snprintf(sql, sizeof(sql), "SELECT COUNT(DISTINCT chain_id) FROM %s", tables[t]);
        cr_assert_eq(q_int(db, sql), 2, "%s", tables[t]);
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE chain_id NOT IN (1764, 1765)",
                 tables[t]);
        none(db, tables[t], sql);
    }
    cr_assert_eq(q_int(db, "SELECT COUNT(*) FROM users WHERE chain_id = 1764"), USERS);
    cr_assert_eq(q_int(db, "SELECT COUNT(*) FROM users WHERE chain_id = 1765"), USERS);
    cr_assert_eq(q_int(db, "SELECT COUNT(*) FROM products WHERE chain_id = 1764"), USERS / 10);
    cr_assert_eq(q_int(db, "SELECT COUNT(*) FROM products WHERE chain_id = 1765"), USERS / 10);
    cr_assert_eq(s.users, 2 * USERS);
    /* Ids run sequentially over the chains in the order given. */
    none(db, "chain 1764's ids before 1765's",
         "SELECT COUNT(*) FROM users a JOIN users b ON a.chain_id = 1764 AND b.chain_id = 1765 "
         "WHERE a.id > b.id LIMIT 1");
    cr_assert_eq(q_int(db, "SELECT MIN(id) FROM transactions"), 1);
    cr_assert_eq(q_int(db, "SELECT MAX(id) FROM transactions"), (int64_t)s.transactions);
    sqlite3_close(db);
}

/* A chain's rows without ids and id references, so runs that shift ids can be compared. */
static char *dump_chain_content(const char *path, int64_t chain)
{
    sqlite3 *db = open_db(path);
    struct tw_buf b;
    static const char *const q[] = {
        "SELECT entity_code, username, firstname, lastname, gender, birthday, country_code, "
        "store_id, created_date, last_modified, spaaza_opted_in, mailing_list_opted_in, "
        "loyalty_status, rfm_recency, rfm_frequency, rfm_monetary, wallet_balance FROM users",
        "SELECT retailer_basket_code, timestamp, type, store_code, currency, subtotal, "
        "shipping_charge, total_value, payment_method, employee_code FROM transactions",
        "SELECT campaign_id, campaign_name, type, status, amount, amount_redeemed, currency, "
        "created_date, date_time_claimed, date_time_redeemed, expiry_date, deleted FROM vouchers",
        "SELECT timestamp, type, amount, balance_after, currency, campaign_id, description "
        "FROM wallet_ledger",
        "SELECT owner_code, name, description, brand, category, price, cost_price, unit, "
        "is_promotional, web_url, created_date FROM products",
        "SELECT owner_code, size, colour, price, barcode, image_url, created_date FROM "
        "product_variants",
    };

    tw_buf_init(&b, (size_t)1 << 30);
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        char sql[600];

        snprintf(sql, sizeof(sql), "%s WHERE chain_id = %lld ORDER BY id", q[i], (long long)chain);
        dump_query(db, sql, &b);
    }
    sqlite3_close(db);
    return tw_buf_steal(&b);
}

Test(seed, a_chains_data_does_not_depend_on_the_other_chains)
{
    int64_t alone[] = { 1765 }, both[] = { 1764, 1765 };
    const char *a = path_of("alone.db"), *b = path_of("both.db");
    char *da, *db;

    seed_ok(a, alone, 1, USERS, 12, NULL);
    seed_ok(b, both, 2, USERS, 12, NULL);
    da = dump_chain_content(a, 1765);
    db = dump_chain_content(b, 1765);
    cr_assert_str_eq(da, db);
    tw_free(da);
    tw_free(db);
}

Test(seed, reseeding_replaces_and_leaves_other_chains_alone)
{
    int64_t both[] = { 1764, 1765 }, first[] = { 1764 };
    const char *p = path_of("re.db");
    char *d1, *d2, *other1, *other2;
    int64_t n;
    sqlite3 *db;

    seed_ok(p, both, 2, USERS, 13, NULL);
    d1 = dump(p, "");
    seed_ok(p, both, 2, USERS, 13, NULL);
    d2 = dump(p, "");
    cr_assert_str_eq(d1, d2, "re-seeding the same chains changed the tables");

    /* Re-seed only 1764 with another seed: 1765 is untouched, 1764 replaced, not doubled. */
    other1 = dump(p, "WHERE chain_id = 1765");
    seed_ok(p, first, 1, USERS, 99, NULL);
    other2 = dump(p, "WHERE chain_id = 1765");
    cr_assert_str_eq(other1, other2);
    db = open_db(p);
    cr_assert_eq(q_int(db, "SELECT COUNT(*) FROM users WHERE chain_id = 1764"), USERS);
    n = q_int(db, "SELECT COUNT(*) FROM transaction_items WHERE chain_id = 1764");
    cr_assert_gt(n, 0);
    /* Its new ids continue after 1765's instead of colliding with them. */
    none(db, "new 1764 ids after 1765's",
         "SELECT COUNT(*) FROM users WHERE chain_id = 1764 AND id <= (SELECT MAX(id) FROM users "
         "WHERE chain_id = 1765)");
    sqlite3_close(db);
    tw_free(d1);
    tw_free(d2);
    tw_free(other1);
    tw_free(other2);
}

Test(seed, seeding_a_second_chain_into_an_existing_file)
{
    int64_t a = 1, b = 2;
    const char *p = path_of("add.db");
    sqlite3 *db;

    seed_ok(p, &a, 1, 100, 1, NULL);
    seed_ok(p, &b, 1, 100, 1, NULL);
    db = open_db(p);
    cr_assert_eq(q_int(db, "SELECT COUNT(*) FROM users"), 200);
    cr_assert_eq(q_int(db, "SELECT COUNT(DISTINCT chain_id) FROM vouchers"), 2);
    sqlite3_close(db);
}

/* The indexes a file has, as "name sql; ..." in name order. Caller frees. */
static char *index_list(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    struct tw_buf b;

    tw_buf_init(&b, 1 << 20);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT name, sql FROM sqlite_master WHERE type = "
                                    "'index' AND sql IS NOT NULL ORDER BY name",
                                    -1, &st, NULL),
                 SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        tw_buf_printf(&b, "%s %s; ", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    tw_buf_puts(&b, "");
    return tw_buf_steal(&b);
}

Test(seed, leaves_indexes_and_wal_behind)
{
    int64_t chain = 5;
    const char *p = path_of("ix.db");
    const char *own = "CREATE INDEX my_users_by_name ON users(lastname)";
    sqlite3 *db, *fresh;
    char *want, *got;

    cr_assert_eq(sqlite3_open(":memory:", &fresh), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(fresh, tw_seed_schema_sql, NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(fresh, own, NULL, NULL, NULL), SQLITE_OK);
    want = index_list(fresh);
    sqlite3_close(fresh);

    seed_ok(p, &chain, 1, 50, 1, NULL);
    /* An operator's own index must survive the drop-and-rebuild of the second run. */
    cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, own, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    seed_ok(p, &chain, 1, 50, 1, NULL);

    db = open_db(p);
    got = index_list(db);
    cr_assert_str_eq(got, want);
    cr_assert_eq(q_int(db, "SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = "
                           "'wal'"),
                 1);
    cr_assert_eq(q_int(db, "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check "
                           "= 'ok'"),
                 1);
    sqlite3_close(db);
    tw_free(want);
    tw_free(got);
}

static int seed_err(const char *path, const int64_t *chains, size_t n, uint64_t users,
                    struct tw_err *err)
{
    struct tw_seed_opts o = {
        .db_path = path, .chains = chains, .n_chains = n, .users_per_chain = users, .seed = 1
    };
    struct tw_seed_stats s;

    tw_err_clear(err);
    return tw_seed_run(&o, &s, err);
}

Test(seed, unwritable_path_is_an_io_error_naming_it)
{
    int64_t chain = 1;
    const char *file = path_of("plain-file");
    char bad[200];
    struct tw_err err;
    FILE *f = fopen(file, "w");

    /* A path under a regular file cannot be created, even by root. */
    cr_assert_not_null(f);
    fclose(f);
    snprintf(bad, sizeof(bad), "%s/sub/retail.db", file);
    cr_assert_eq(seed_err(bad, &chain, 1, 10, &err), TW_EIO);
    cr_assert(strstr(err.msg, bad), "message does not name the path: %s", err.msg);
}

Test(seed, a_file_that_is_not_a_database_is_an_io_error)
{
    int64_t chain = 1;
    const char *p = path_of("junk.db");
    struct tw_err err;
    FILE *f = fopen(p, "w");

    cr_assert_not_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not an sqlite database at all. ", f);
    fclose(f);
    cr_assert_eq(seed_err(p, &chain, 1, 10, &err), TW_EIO);
    cr_assert(strstr(err.msg, p), "%s", err.msg);
}

Test(seed, bad_options_are_invalid)
{
    int64_t chains[] = { 7, 8, 7 };
    const char *p = path_of("bad.db");
    struct tw_err err;

    cr_assert_eq(seed_err(p, chains, 0, 10, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "no chains"), "%s", err.msg);
    cr_assert_eq(seed_err(p, NULL, 2, 10, &err), TW_EINVAL);
    cr_assert_eq(seed_err(p, chains, 3, 10, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "chain 7"), "%s", err.msg);
    cr_assert_eq(seed_err(NULL, chains, 1, 10, &err), TW_EINVAL);
    cr_assert_eq(seed_err("", chains, 1, 10, &err), TW_EINVAL);
    cr_assert_eq(seed_err(p, chains, 1, TW_SEED_MAX_USERS + 1, &err), TW_EINVAL);
    cr_assert_eq(tw_seed_run(NULL, NULL, &err), TW_EINVAL);
    cr_assert_eq(access(p, F_OK), -1, "a rejected run created the file");
}

Test(seed, allocation_failures_fail_cleanly)
{
    int64_t chain = 3;
    const char *p = path_of("oom.db");
    struct tw_err err;
    int rc = TW_ENOMEM;
    unsigned long n;

    /* Seed once so the second run also has indexes to remember (more allocations to fail). */
    seed_ok(p, &chain, 1, 20, 1, NULL);
    for (n = 1; n < 100 && rc == TW_ENOMEM; n++) {
        tw_mem_fail_after(n);
        rc = seed_err(p, &chain, 1, 20, &err);
        tw_mem_fail_after(0);
    }
    cr_assert_eq(rc, TW_OK, "after %lu failing allocations: %s", n, err.msg);
    cr_assert_gt(n, 3, "expected several allocations to fail first");
}

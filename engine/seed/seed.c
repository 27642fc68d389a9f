/*
 * tw_seed_run: the database side of the seeder (see seed.h for the contract, seed_int.h for how
 * the files divide the work).
 *
 * Speed is the design constraint: 100k users per chain is ~5M rows. So the whole run is one
 * transaction with the rollback journal and fsyncs off, every row goes through a prepared
 * statement, and the secondary indexes are dropped before the bulk insert and rebuilt after it
 * (one sort per index instead of millions of random B-tree inserts). The indexes dropped and
 * rebuilt are whatever explicit indexes the seven tables carry, read from sqlite_master, so an
 * operator's own indexes survive too. WAL is restored at the end because the engine reads the
 * source database while other processes may write it.
 *
 * Ids: each table's ids continue after the largest id left once the seeded chains' rows are
 * deleted. On a fresh file (or one holding only these chains) that is 1, which is what makes
 * re-seeding idempotent and two fresh seeds identical; seeding chain B into a file already
 * holding chain A can never collide with A.
 */
#include "seed/seed.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "core/mem.h"
#include "seed/seed_int.h"

/* The bytes of plugins/sql/source_schema.sql; test_seed.c checks they are identical. */
const char tw_seed_schema_sql[] =
#include "seed/seed_schema.inc"
    ;

/* The bytes of plugins/sql/source_schema_pg.sql; test_pg_source.c checks they are identical. */
const char tw_seed_schema_pg_sql[] =
#include "seed/seed_schema_pg.inc"
    ;

static const char *const tables[] = {
    "users",         "transactions", "transaction_items", "vouchers",
    "wallet_ledger", "products",     "product_variants",
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

/* An index dropped for the bulk insert: the SQL that drops it and the SQL that recreates it. */
struct saved_index {
    char *drop;
    char *sql;
};

struct run {
    struct tw_seed_ctx c;
    struct saved_index *idx;
    size_t n_idx;
    bool in_tx;
};

int tw_seed_sql_error(struct tw_seed_ctx *c, int rc, const char *what)
{
    int prim = rc & 0xff;
    int code = TW_ESOURCE;
    const char *msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);

    /* Problems with the file itself are I/O errors: the operator fixes the path or the disk. */
    if (prim == SQLITE_CANTOPEN || prim == SQLITE_READONLY || prim == SQLITE_IOERR ||
        prim == SQLITE_FULL || prim == SQLITE_PERM || prim == SQLITE_NOTADB ||
        prim == SQLITE_CORRUPT || prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        code = TW_EIO;
    if (prim == SQLITE_NOMEM)
        code = TW_ENOMEM;
    return tw_err_set(c->err, code, "seeding source database %s: %s: %s", c->path, what, msg);
}

void tw_seed_bind_text(struct tw_seed_stmt *st, int col, const char *s)
{
    if (st->copy)
        tw_seed_copy_bind(st->copy, col, s, 0, s ? 1 : 0);
    else if (s)
        sqlite3_bind_text(st->lite, col, s, (int)strlen(s), SQLITE_STATIC);
    else
        sqlite3_bind_null(st->lite, col);
}

void tw_seed_bind_int(struct tw_seed_stmt *st, int col, int64_t v, bool is_null)
{
    if (st->copy)
        tw_seed_copy_bind(st->copy, col, NULL, v, is_null ? 0 : 2);
    else if (is_null)
        sqlite3_bind_null(st->lite, col);
    else
        sqlite3_bind_int64(st->lite, col, v);
}

int tw_seed_step(struct tw_seed_ctx *c, struct tw_seed_stmt *st, const char *table)
{
    int rc;

    if (st->copy)
        return tw_seed_copy_step(c, st->copy, table);
    rc = sqlite3_step(st->lite);
    sqlite3_reset(st->lite);
    if (rc != SQLITE_DONE) {
        char what[64];

        snprintf(what, sizeof(what), "inserting into %s", table);
        return tw_seed_sql_error(c, rc, what);
    }
    return TW_OK;
}

static int exec(struct tw_seed_ctx *c, const char *sql, const char *what)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? TW_OK : tw_seed_sql_error(c, rc, what);
}

/* Run a PRAGMA that answers a row (journal_mode does); the answer is not needed. */
static int pragma(struct tw_seed_ctx *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? TW_OK : tw_seed_sql_error(c, rc, sql);
}

static int prepare(struct tw_seed_ctx *c, const char *sql, struct tw_seed_stmt **st)
{
    int rc;

    *st = tw_calloc(1, sizeof(**st));
    if (*st == NULL)
        return tw_err_set(c->err, TW_ENOMEM, "out of memory");
    rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &(*st)->lite, NULL);
    return rc == SQLITE_OK ? TW_OK : tw_seed_sql_error(c, rc, "preparing an INSERT");
}

static int prepare_inserts(struct tw_seed_ctx *c)
{
    int rc;

    if ((rc = prepare(c,
                      "INSERT INTO users (id, chain_id, entity_code, username, firstname, "
                      "lastname, gender, birthday, country_code, store_id, created_date, "
                      "last_modified, spaaza_opted_in, mailing_list_opted_in, loyalty_status, "
                      "rfm_recency, rfm_frequency, rfm_monetary, wallet_balance) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      &c->ins_user)) ||
        (rc = prepare(c,
                      "INSERT INTO transactions (id, chain_id, retailer_basket_code, "
                      "timestamp, type, user_id, store_code, currency, subtotal, "
                      "shipping_charge, total_value, payment_method, employee_code) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      &c->ins_tx)) ||
        (rc = prepare(c,
                      "INSERT INTO transaction_items (transaction_id, chain_id, position, "
                      "retailer_product_code, barcode, name, quantity, sale_price, "
                      "original_price, basket_item_subtotal, item_is_promotional) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?)",
                      &c->ins_item)) ||
        (rc = prepare(c,
                      "INSERT INTO vouchers (id, chain_id, user_id, campaign_id, "
                      "campaign_name, type, status, amount, amount_redeemed, currency, "
                      "created_date, date_time_claimed, date_time_redeemed, expiry_date, "
                      "deleted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      &c->ins_voucher)) ||
        (rc = prepare(c,
                      "INSERT INTO wallet_ledger (id, chain_id, user_id, timestamp, type, "
                      "amount, balance_after, currency, campaign_id, basket_id, description) "
                      "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                      &c->ins_ledger)) ||
        (rc = prepare(c,
                      "INSERT INTO products (id, chain_id, owner_code, name, description, "
                      "brand, category, price, cost_price, unit, is_promotional, web_url, "
                      "created_date) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      &c->ins_product)) ||
        (rc = prepare(c,
                      "INSERT INTO product_variants (id, chain_id, product_id, owner_code, "
                      "size, colour, price, barcode, image_url, created_date) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?)",
                      &c->ins_variant)))
        return rc;
    return TW_OK;
}

static void finalize_inserts(struct tw_seed_ctx *c)
{
    struct tw_seed_stmt **all[] = { &c->ins_user,    &c->ins_tx,     &c->ins_item,
                                    &c->ins_voucher, &c->ins_ledger, &c->ins_product,
                                    &c->ins_variant };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (*all[i] != NULL)
            sqlite3_finalize((*all[i])->lite);
        tw_free(*all[i]);
        *all[i] = NULL;
    }
}

/* One query that answers no row or one integer (> 0 means yes). */
static int query_int(struct tw_seed_ctx *c, const char *sql, int64_t *v, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

    *v = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? TW_OK : tw_seed_sql_error(c, rc, what);
}

/*
 * Delete every row of the chains being seeded; this is what makes re-seeding replace. The
 * chains go into a temporary (in-memory) table so each table needs one statement. A table
 * holding nothing but these chains is emptied with an unqualified DELETE, which SQLite does by
 * dropping its pages wholesale: re-seeding 100k users that way is seconds faster.
 */
static int delete_chains(struct tw_seed_ctx *c, const struct tw_seed_opts *o)
{
    sqlite3_stmt *st = NULL;
    int rc = exec(c, "CREATE TEMP TABLE seed_chains (id INTEGER PRIMARY KEY)",
                  "listing the chains");

    if (rc)
        return rc;
    rc = sqlite3_prepare_v2(c->db, "INSERT INTO temp.seed_chains VALUES (?)", -1, &st, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < o->n_chains; i++) {
        sqlite3_bind_int64(st, 1, o->chains[i]);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return tw_seed_sql_error(c, rc, "listing the chains");
    for (size_t t = 0; t < N_TABLES; t++) {
        char sql[160];
        int64_t others;

        snprintf(sql, sizeof(sql),
                 "SELECT 1 FROM %s WHERE chain_id NOT IN "
                 "(SELECT id FROM temp.seed_chains) LIMIT 1",
                 tables[t]);
        if ((rc = query_int(c, sql, &others, "looking for other chains' rows")))
            return rc;
        if (others)
            snprintf(sql, sizeof(sql),
                     "DELETE FROM %s WHERE chain_id IN "
                     "(SELECT id FROM temp.seed_chains)",
                     tables[t]);
        else
            snprintf(sql, sizeof(sql), "DELETE FROM %s", tables[t]);
        if ((rc = exec(c, sql, "deleting the chains' old rows")))
            return rc;
    }
    return exec(c, "DROP TABLE temp.seed_chains", "listing the chains");
}

static int max_id(struct tw_seed_ctx *c, const char *table, int64_t *next)
{
    char sql[96];
    int rc;

    snprintf(sql, sizeof(sql), "SELECT COALESCE(MAX(id), 0) FROM %s", table);
    rc = query_int(c, sql, next, "reading the largest ids");
    *next += 1;
    return rc;
}

static int id_bases(struct tw_seed_ctx *c)
{
    int rc;

    if ((rc = max_id(c, "users", &c->next_user)) || (rc = max_id(c, "transactions", &c->next_tx)) ||
        (rc = max_id(c, "vouchers", &c->next_voucher)) ||
        (rc = max_id(c, "wallet_ledger", &c->next_ledger)) ||
        (rc = max_id(c, "products", &c->next_product)) ||
        (rc = max_id(c, "product_variants", &c->next_variant)))
        return rc;
    return TW_OK;
}

/* "DROP INDEX "name"" with the identifier quoted, into a tw_malloc'd string. */
static char *drop_sql(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    char *s = name ? tw_malloc(2 * n + 16) : NULL;
    char *p = s;

    if (!s)
        return NULL;
    p += sprintf(p, "DROP INDEX \"");
    for (const char *q = name; *q; q++) {
        if (*q == '"')
            *p++ = '"';
        *p++ = *q;
    }
    strcpy(p, "\"");
    return s;
}

/*
 * Remember the explicit indexes of the seeded tables, to drop them before the bulk insert
 * (drop_indexes) and rebuild them after it (restore_indexes). This only reads, so its
 * allocations can fail before anything was written.
 */
static int list_indexes(struct run *r)
{
    struct tw_seed_ctx *c = &r->c;
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = sqlite3_prepare_v2(
        c->db,
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
        "tbl_name IN ('users', 'transactions', 'transaction_items', 'vouchers', "
        "'wallet_ledger', 'products', 'product_variants') ORDER BY name",
        -1, &st, NULL);

    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct saved_index *ix;

        if (r->n_idx == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct saved_index *n = tw_realloc(r->idx, ncap * sizeof(*n));

            if (!n)
                break;
            r->idx = n;
            cap = ncap;
        }
        ix = &r->idx[r->n_idx++];
        ix->drop = drop_sql((const char *)sqlite3_column_text(st, 0));
        ix->sql = tw_strdup((const char *)sqlite3_column_text(st, 1));
        if (!ix->drop || !ix->sql)
            break;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return tw_err_set(c->err, TW_ENOMEM, "out of memory");
    return rc == SQLITE_DONE ? TW_OK : tw_seed_sql_error(c, rc, "listing indexes");
}

static int drop_indexes(struct run *r)
{
    for (size_t i = 0; i < r->n_idx; i++) {
        int rc = exec(&r->c, r->idx[i].drop, "dropping an index before the bulk insert");

        if (rc)
            return rc;
    }
    return TW_OK;
}

static int restore_indexes(struct run *r)
{
    for (size_t i = 0; i < r->n_idx; i++) {
        int rc = exec(&r->c, r->idx[i].sql, "rebuilding an index");

        if (rc)
            return rc;
    }
    return TW_OK;
}

static int check_opts(const struct tw_seed_opts *o, struct tw_err *err)
{
    if (o && o->pg_dsn)
        ; /* PostgreSQL: no path */
    else if (!o || !o->db_path || !*o->db_path)
        return tw_err_set(err, TW_EINVAL, "seed: no source database path given");
    if (o->n_chains == 0 || !o->chains)
        return tw_err_set(err, TW_EINVAL, "seed: no chains given");
    if (o->users_per_chain > TW_SEED_MAX_USERS)
        return tw_err_set(err, TW_EINVAL,
                          "seed: %llu users per chain is more than the %llu "
                          "allowed",
                          (unsigned long long)o->users_per_chain, TW_SEED_MAX_USERS);
    for (size_t i = 0; i < o->n_chains; i++)
        for (size_t j = 0; j < i; j++)
            if (o->chains[i] == o->chains[j])
                return tw_err_set(err, TW_EINVAL, "seed: chain %lld is listed twice",
                                  (long long)o->chains[i]);
    return TW_OK;
}

/* Per-chain constants, from the chain's own stream so they do not depend on the others. */
static void chain_setup(struct tw_seed_ctx *c, int64_t chain)
{
    struct tw_seed_rng r;
    uint64_t stores = c->users_per_chain / 2000;

    tw_seed_rng_init(&r, c->seed, chain, TW_SEED_STREAM_CHAIN, 0);
    c->chain = chain;
    c->currency = tw_seed_pick(&r, &tw_seed_currencies);
    c->n_stores = (unsigned)(stores < 4 ? 4 : stores > 99 ? 99 : stores);
}

int tw_seed_chains(struct tw_seed_ctx *c, const struct tw_seed_opts *o)
{
    int rc;

    for (size_t i = 0; i < o->n_chains; i++) {
        chain_setup(c, o->chains[i]);
        if ((rc = tw_seed_catalog(c)) || (rc = tw_seed_users(c))) {
            tw_err_prefix(c->err, "chain %lld", (long long)o->chains[i]);
            return rc;
        }
    }
    return TW_OK;
}

static int seed_all(struct run *r, const struct tw_seed_opts *o)
{
    struct tw_seed_ctx *c = &r->c;
    int rc;

    /*
     * Journal off and no fsyncs: the file is only consistent once the run commits anyway.
     * journal_mode may silently stay WAL if another connection holds the file; that is only
     * slower. A large page cache and in-memory temp files speed up the index rebuild.
     */
    if ((rc = pragma(c, "PRAGMA journal_mode = OFF")) ||
        (rc = exec(c, "PRAGMA synchronous = OFF", "setting synchronous")) ||
        (rc = exec(c, "PRAGMA cache_size = -131072", "setting cache_size")) ||
        (rc = exec(c, "PRAGMA temp_store = MEMORY", "setting temp_store")) ||
        (rc = exec(c, "BEGIN IMMEDIATE", "starting the transaction")))
        return rc;
    r->in_tx = true;
    /*
     * Everything that allocates comes before the first write to existing data: with the journal
     * off, a ROLLBACK after writes cannot be trusted, so running out of memory must happen
     * while there is nothing to roll back. (Creating missing tables is the exception, and it
     * only happens on a file that held no data yet.)
     */
    if ((rc = exec(c, tw_seed_schema_sql, "creating the schema")) || (rc = list_indexes(r)) ||
        (rc = tw_seed_catalog_alloc(c)) || (rc = delete_chains(c, o)) || (rc = id_bases(c)) ||
        (rc = drop_indexes(r)) || (rc = prepare_inserts(c)))
        return rc;
    if ((rc = tw_seed_chains(c, o)))
        return rc;
    finalize_inserts(c);
    if ((rc = restore_indexes(r)) || (rc = exec(c, "COMMIT", "committing")))
        return rc;
    r->in_tx = false;
    return pragma(c, "PRAGMA journal_mode = WAL");
}

int tw_seed_run(const struct tw_seed_opts *o, struct tw_seed_stats *stats, struct tw_err *err)
{
    struct run r;
    int rc;

    memset(&r, 0, sizeof(r));
    if (stats)
        memset(stats, 0, sizeof(*stats));
    if ((rc = check_opts(o, err)))
        return rc;
    if (o->pg_dsn)
        return tw_seed_pg_run(o, stats, err);
    r.c.path = o->db_path;
    r.c.err = err;
    r.c.seed = o->seed;
    r.c.users_per_chain = o->users_per_chain;

    /* NOMUTEX: the connection never leaves this thread, and the mutexes cost ~3% of a seed. */
    rc = sqlite3_open_v2(o->db_path, &r.c.db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        /* errmsg of a failed open is generic ("unable to open database file"); say which. */
        rc = tw_err_set(err, TW_EIO, "seeding source database %s: cannot open or create it: %s",
                        o->db_path, r.c.db ? sqlite3_errmsg(r.c.db) : sqlite3_errstr(rc));
    } else {
        sqlite3_extended_result_codes(r.c.db, 1);
        sqlite3_busy_timeout(r.c.db, 10000);
        rc = seed_all(&r, o);
    }

    finalize_inserts(&r.c);
    tw_seed_catalog_free(&r.c);
    if (r.in_tx)
        sqlite3_exec(r.c.db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(r.c.db);
    for (size_t i = 0; i < r.n_idx; i++) {
        tw_free(r.idx[i].drop);
        tw_free(r.idx[i].sql);
    }
    tw_free(r.idx);
    if (rc == TW_OK && stats)
        *stats = r.c.stats;
    return rc;
}

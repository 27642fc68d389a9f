/*
 * The seeder's PostgreSQL side (seed.h: o->pg_dsn): the same generators as for SQLite, so the
 * same seed and size give the same rows, into plugins/sql/source_schema_pg.sql's tables.
 *
 * One transaction: schema (IF NOT EXISTS), the tables locked against a concurrent seed, the
 * chains' old rows deleted, the id bases read (the same rule as SQLite: continue after the
 * largest id left), then the generators write each table's rows as COPY text lines into a
 * temporary file of its own (the generators interleave tables, and a connection runs one COPY
 * at a time), then each file goes in with one COPY ... FROM STDIN, ANALYZE, COMMIT. A failure
 * anywhere rolls everything back: the source is never left half seeded.
 *
 * The dsn's password never appears in a message: libpq's reason is scrubbed of it.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "pgdsn.h" /* plugins/sql/pgdsn: connect with the password kept out of messages */
#include "seed/seed_int.h"

#define MAX_COLS 20

struct tw_seed_copy {
    FILE *f;                /* the spool, unlinked (tmpfile) */
    int ncols;              /* columns per row */
    int kind[MAX_COLS + 1]; /* per 1-based column: 0 null, 1 text, 2 integer */
    const char *s[MAX_COLS + 1];
    int64_t v[MAX_COLS + 1];
};

/* The tables in COPY order, with the column lists of seed.c's INSERTs (bind order). */
static const struct {
    const char *table;
    const char *cols;
    int ncols;
} tables[] = {
    { "users",
      "id, chain_id, entity_code, username, firstname, lastname, gender, birthday, "
      "country_code, store_id, created_date, last_modified, spaaza_opted_in, "
      "mailing_list_opted_in, loyalty_status, rfm_recency, rfm_frequency, rfm_monetary, "
      "wallet_balance",
      19 },
    { "transactions",
      "id, chain_id, retailer_basket_code, timestamp, type, user_id, store_code, currency, "
      "subtotal, shipping_charge, total_value, payment_method, employee_code",
      13 },
    { "transaction_items",
      "transaction_id, chain_id, position, retailer_product_code, barcode, name, quantity, "
      "sale_price, original_price, basket_item_subtotal, item_is_promotional",
      11 },
    { "vouchers",
      "id, chain_id, user_id, campaign_id, campaign_name, type, status, amount, "
      "amount_redeemed, currency, created_date, date_time_claimed, date_time_redeemed, "
      "expiry_date, deleted",
      15 },
    { "wallet_ledger",
      "id, chain_id, user_id, timestamp, type, amount, balance_after, currency, campaign_id, "
      "basket_id, description",
      11 },
    { "products",
      "id, chain_id, owner_code, name, description, brand, category, price, cost_price, unit, "
      "is_promotional, web_url, created_date",
      13 },
    { "product_variants",
      "id, chain_id, product_id, owner_code, size, colour, price, barcode, image_url, "
      "created_date",
      10 },
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

struct pg_run {
    struct tw_seed_ctx c;
    PGconn *conn;
    const char *dsn;
    struct tw_seed_stmt stmts[N_TABLES];
    struct tw_seed_copy copies[N_TABLES];
};

/* ---- messages ---- */

static int pg_error(struct pg_run *r, const char *what, const char *msg)
{
    char buf[512];

    tw_pgdsn_reason(r->dsn, msg && *msg ? msg : PQerrorMessage(r->conn), true, buf, sizeof(buf));
    return tw_err_set(r->c.err, TW_ESOURCE, "seeding the PostgreSQL source (source.dsn): %s: %s",
                      what, buf);
}

static int exec(struct pg_run *r, const char *sql, const char *what)
{
    PGresult *res = PQexec(r->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = TW_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_error(r, what, PQresultErrorMessage(res));
    PQclear(res);
    return rc;
}

/* ---- the COPY spool ---- */

void tw_seed_copy_bind(struct tw_seed_copy *cp, int col, const char *s, int64_t v, int kind)
{
    if (col < 1 || col > MAX_COLS)
        return;
    cp->kind[col] = kind;
    cp->s[col] = s;
    cp->v[col] = v;
}

/* COPY text format: backslash, tab, newline and carriage return are escaped. */
static void put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\': fputs("\\\\", f); break;
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        default: putc_unlocked(*s, f); break;
        }
    }
}

int tw_seed_copy_step(struct tw_seed_ctx *c, struct tw_seed_copy *cp, const char *table)
{
    int i;

    for (i = 1; i <= cp->ncols; i++) {
        if (i > 1)
            putc_unlocked('\t', cp->f);
        if (cp->kind[i] == 1)
            put_text(cp->f, cp->s[i]);
        else if (cp->kind[i] == 2)
            fprintf(cp->f, "%" PRId64, cp->v[i]);
        else
            fputs("\\N", cp->f);
        cp->kind[i] = 0;
    }
    putc_unlocked('\n', cp->f);
    if (ferror(cp->f))
        return tw_err_set(c->err, TW_EIO,
                          "seeding the PostgreSQL source: writing the %s rows to a temporary "
                          "file failed",
                          table);
    return TW_OK;
}

/* COPY table i from its spool. */
static int copy_in(struct pg_run *r, size_t i)
{
    char sql[512], buf[1 << 16];
    PGresult *res;
    FILE *f = r->copies[i].f;
    size_t n;
    int rc = TW_OK;

    if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
        return tw_err_set(r->c.err, TW_EIO, "seeding the PostgreSQL source: temporary file: %s",
                          "cannot read it back");
    snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", tables[i].table, tables[i].cols);
    res = PQexec(r->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = pg_error(r, tables[i].table, PQresultErrorMessage(res));
        PQclear(res);
        return rc;
    }
    PQclear(res);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        if (PQputCopyData(r->conn, buf, (int)n) != 1)
            break;
    if (PQputCopyEnd(r->conn, ferror(f) ? "reading the temporary file failed" : NULL) != 1)
        return pg_error(r, tables[i].table, NULL);
    while ((res = PQgetResult(r->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == TW_OK)
            rc = pg_error(r, tables[i].table, PQresultErrorMessage(res));
        PQclear(res);
    }
    return rc;
}

/* ---- the run ---- */

static int query_int(struct pg_run *r, const char *sql, int64_t *v)
{
    PGresult *res = PQexec(r->conn, sql);
    int rc = TW_OK;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = pg_error(r, "reading the largest ids", PQresultErrorMessage(res));
    else
        *v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

/* Delete the chains' rows; read where each table's ids continue. */
static int prepare_tables(struct pg_run *r, const struct tw_seed_opts *o)
{
    int64_t *next[] = { &r->c.next_user,    &r->c.next_tx,     NULL,
                        &r->c.next_voucher, &r->c.next_ledger, &r->c.next_product,
                        &r->c.next_variant };
    char list[64 * 24] = "", sql[2048];
    size_t len = 0;
    int rc;

    for (size_t i = 0; i < o->n_chains; i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%lld", i ? "," : "",
                                (long long)o->chains[i]);
    /* integers formatted here, nothing from outside reaches the SQL text */
    for (size_t i = 0; i < N_TABLES; i++) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE chain_id IN (%s)", tables[i].table, list);
        if ((rc = exec(r, sql, "deleting the chains' old rows")))
            return rc;
        if (next[i] == NULL)
            continue;
        snprintf(sql, sizeof(sql), "SELECT COALESCE(MAX(id), 0) + 1 FROM %s", tables[i].table);
        if ((rc = query_int(r, sql, next[i])))
            return rc;
    }
    return TW_OK;
}

static int open_spools(struct pg_run *r)
{
    struct tw_seed_stmt **ins[] = { &r->c.ins_user,    &r->c.ins_tx,     &r->c.ins_item,
                                    &r->c.ins_voucher, &r->c.ins_ledger, &r->c.ins_product,
                                    &r->c.ins_variant };

    for (size_t i = 0; i < N_TABLES; i++) {
        r->copies[i].f = tmpfile();
        if (r->copies[i].f == NULL)
            return tw_err_set(r->c.err, TW_EIO,
                              "seeding the PostgreSQL source: cannot create a temporary file "
                              "(TMPDIR)");
        r->copies[i].ncols = tables[i].ncols;
        r->stmts[i].copy = &r->copies[i];
        *ins[i] = &r->stmts[i];
    }
    return TW_OK;
}

static int seed_all(struct pg_run *r, const struct tw_seed_opts *o)
{
    int rc;

    if ((rc = exec(r, "SET client_min_messages = warning", "setting up the session")) ||
        (rc = exec(r, "BEGIN", "starting the transaction")) ||
        (rc = exec(r, tw_seed_schema_pg_sql, "creating the schema")) ||
        (rc = exec(r,
                   "LOCK TABLE users, transactions, transaction_items, vouchers, wallet_ledger, "
                   "products, product_variants IN SHARE ROW EXCLUSIVE MODE",
                   "locking the tables")) ||
        (rc = tw_seed_catalog_alloc(&r->c)) || (rc = prepare_tables(r, o)) ||
        (rc = open_spools(r)) || (rc = tw_seed_chains(&r->c, o)))
        return rc;
    for (size_t i = 0; i < N_TABLES; i++)
        if ((rc = copy_in(r, i)))
            return rc;
    if ((rc = exec(r,
                   "ANALYZE users, transactions, transaction_items, vouchers, wallet_ledger, "
                   "products, product_variants",
                   "analyzing")))
        return rc;
    return exec(r, "COMMIT", "committing");
}

/* Connect to dsn (application_name name); NULL with err set (naming source.dsn) on failure. */
static PGconn *connect_dsn(const char *dsn, const char *name, struct tw_err *err)
{
    PGconn *conn;
    char buf[512];

    switch (tw_pgdsn_connect(dsn, "10", name, &conn, buf, sizeof(buf))) {
    case TW_PGDSN_OK: return conn;
    case TW_PGDSN_UNPARSABLE:
        /* what libpq quotes from an unparsable string may be the password: not shown */
        tw_err_set(err, TW_EINVAL,
                   "source.dsn: not a valid PostgreSQL connection string (libpq could not "
                   "parse it)");
        return NULL;
    default:
        tw_err_set(err, TW_EIO, "source.dsn: cannot connect to PostgreSQL: %s", buf);
        return NULL;
    }
}

int tw_seed_pg_probe(const char *dsn, char *warn, size_t cap, struct tw_err *err)
{
    static const char sql[] =
        "SELECT t, to_regclass(t) IS NOT NULL, "
        "to_regclass(t) IS NOT NULL AND has_table_privilege(to_regclass(t), 'SELECT') "
        "FROM unnest(ARRAY['users', 'transactions', 'transaction_items', 'vouchers', "
        "'wallet_ledger', 'products', 'product_variants']) AS t";
    PGconn *conn = connect_dsn(dsn, "taskwheel-check", err);
    PGresult *res;
    size_t len = 0;

    if (warn != NULL && cap > 0)
        warn[0] = '\0';
    if (conn == NULL)
        return err->code;
    res = PQexec(conn, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        for (int i = 0; i < PQntuples(res) && warn != NULL && len < cap; i++) {
            const char *why = PQgetvalue(res, i, 1)[0] != 't'   ? "is missing"
                              : PQgetvalue(res, i, 2)[0] != 't' ? "cannot be read by this role"
                                                                : NULL;

            if (why != NULL)
                len += (size_t)snprintf(warn + len, cap - len, "%stable %s %s", len ? "; " : "",
                                        PQgetvalue(res, i, 0), why);
        }
        if (warn != NULL && len > 0 && len < cap)
            snprintf(warn + len, cap - len,
                     " (taskwheel seed creates the tables; docs/sources.md describes them)");
    }
    PQclear(res);
    PQfinish(conn);
    return TW_OK;
}

int tw_seed_pg_run(const struct tw_seed_opts *o, struct tw_seed_stats *stats, struct tw_err *err)
{
    struct pg_run *r = tw_calloc(1, sizeof(*r));
    int rc;

    if (r == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    r->c.err = err;
    r->c.path = "(source.dsn)";
    r->c.seed = o->seed;
    r->c.users_per_chain = o->users_per_chain;
    r->dsn = o->pg_dsn;
    r->conn = connect_dsn(o->pg_dsn, "taskwheel-seed", err);
    rc = r->conn != NULL ? seed_all(r, o) : err->code;
    for (size_t i = 0; i < N_TABLES; i++)
        if (r->copies[i].f != NULL)
            fclose(r->copies[i].f);
    tw_seed_catalog_free(&r->c);
    PQfinish(r->conn); /* an open transaction is rolled back */
    if (rc == TW_OK && stats)
        *stats = r->c.stats;
    tw_free(r);
    return rc;
}

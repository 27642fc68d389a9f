/*
 * The PostgreSQL cursor of the shared SQL helper (sqlsrc.h), for source.driver postgresql.
 *
 * One connection per run (opened in open, closed in close: a worker keeps nothing between
 * runs, so no connection, session state or row outlives the chain it was opened for), from
 * host->source, the operator's source.dsn. The statement is sqlquery.c's with "$n"
 * placeholders, sent with PQsendQueryParams and read in single-row mode: libpq hands over
 * one row at a time as the server sends it, so memory stays flat whatever the export size
 * and the server keeps producing while the worker formats (Debian 12's libpq 15 has no
 * PQsetChunkedRowsMode, which came with 17). Parameters and results travel in binary:
 * nothing is formatted as text and parsed back, and no session setting (DateStyle,
 * extra_float_digits) can change a value on the way.
 *
 * Types (plugins/sql/source_schema_pg.sql, docs/sources.md): a column is accepted when its
 * type can give the field's value exactly, checked once on the first result:
 *   INT, MONEY      bigint, integer, smallint (money in minor units)
 *   BOOL            boolean, or an integer (non-zero is true)
 *   NUMBER          double precision, real, or an integer
 *   KEYWORD, TEXT   text, varchar, char(n), name
 *   DATE, DATETIME  date, timestamptz, timestamp (read as UTC); sub-second digits are
 *                   dropped (floor), as the SQLite path's text normalisation does
 * Anything else fails the run naming the column and its type oid.
 *
 * The dsn may hold a password: messages are libpq's reason with that password masked.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "pgdsn.h"
#include "sqlsrc.h"

/* Type oids (pg_type.h is a server header; these are fixed for all time). */
#define OID_BOOL 16
#define OID_NAME 19
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_BPCHAR 1042
#define OID_VARCHAR 1043
#define OID_DATE 1082
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184

#define PG_EPOCH INT64_C(946684800) /* 2000-01-01T00:00:00Z, PostgreSQL's day zero */

struct pg_cursor {
    int pg;                        /* 1: this is a PostgreSQL cursor (sqlsrc.c dispatches) */
    const struct tw_host *host;    /* borrowed for the run */
    PGconn *conn;                  /* this run's own connection */
    PGresult *row;                 /* the current one-row result, or NULL */
    const struct tw_field *fields; /* the plugin's table */
    uint32_t nfields;              /* top-level fields */
    int32_t list;                  /* column of the LIST field, -1 when none */
    uint32_t nsub;                 /* its sub-fields */
    int pending;                   /* row holds a row not yet folded into a record */
    int done;                      /* the result set ended */
};

/* ---- messages: libpq's reason, one line, the dsn's password masked ---- */

/* err = "source.dsn: <what>: <msg>", msg one line with the dsn's password masked (pgdsn.h).
 * Returns ESOURCE. */
static int dsn_error(const struct tw_host *h, const char *dsn, const char *what, const char *msg,
                     int parsed, struct tw_err *err)
{
    char buf[512];

    tw_pgdsn_reason(dsn, msg, parsed != 0, buf, sizeof(buf));
    return h->err_set(err, TW_PLUGIN_ESOURCE, "source.dsn: %s: %s", what, buf);
}

/* A server or protocol failure on an open connection (no dsn involved, but masked anyway). */
static int conn_error(const struct pg_cursor *c, const char *what, const char *msg,
                      struct tw_err *err)
{
    return dsn_error(c->host, c->host->source(c->host), what,
                     msg != NULL && msg[0] != '\0' ? msg : PQerrorMessage(c->conn), 1, err);
}

static int pg_connect(struct pg_cursor *c, struct tw_err *err)
{
    const char *dsn = c->host->source(c->host);
    PGresult *res;
    char reason[512];
    int ret;

    switch (tw_pgdsn_connect(dsn, "10", "taskwheel-export", &c->conn, reason, sizeof(reason))) {
    case TW_PGDSN_OK: break;
    case TW_PGDSN_UNPARSABLE:
        return c->host->err_set(err, TW_PLUGIN_ESOURCE,
                                "source.dsn: not a valid PostgreSQL connection string: %s", reason);
    case TW_PGDSN_NOMEM:
        return c->host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory connecting to the source");
    default:
        return c->host->err_set(err, TW_PLUGIN_ESOURCE,
                                "source.dsn: cannot connect to PostgreSQL: %s", reason);
    }
    /*
     * UTC: a `timestamp` (without time zone) column then reads and compares as UTC, like the
     * timestamptz parameters it meets. Read-only: an export never writes its source.
     */
    res = PQexec(c->conn, "SET TimeZone = 'UTC'; SET default_transaction_read_only = on");
    ret = PQresultStatus(res) == PGRES_COMMAND_OK
              ? TW_PLUGIN_OK
              : conn_error(c, "setting up the session", PQresultErrorMessage(res), err);
    PQclear(res);
    return ret;
}

/* ---- parameters: binary, big-endian ---- */

static void put_be(unsigned char *p, uint64_t v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Encode p into its slot of buf (8 bytes); set oid, value, length. */
static void encode(const struct tw_sql_param *p, unsigned char *buf, unsigned *oid,
                   const char **value, int *len)
{
    uint64_t bits;

    *value = (const char *)buf;
    switch (p->type) {
    case TW_FIELD_BOOL:
        *oid = OID_BOOL;
        buf[0] = p->i != 0;
        *len = 1;
        return;
    case TW_FIELD_NUMBER:
        *oid = OID_FLOAT8;
        memcpy(&bits, &p->d, 8);
        put_be(buf, bits, 8);
        *len = 8;
        return;
    case TW_FIELD_KEYWORD:
    case TW_FIELD_TEXT:
        *oid = OID_TEXT;
        *value = p->s != NULL ? p->s : "";
        *len = (int)p->len;
        return;
    case TW_FIELD_DATE:
        *oid = OID_DATE;
        put_be(buf, (uint64_t)(int64_t)(floor_div(p->i, 86400) - PG_EPOCH / 86400), 4);
        *len = 4;
        return;
    case TW_FIELD_DATETIME:
        /* bounds are years 0000-9999 (seg_push.c), far inside int64 microseconds */
        *oid = OID_TIMESTAMPTZ;
        put_be(buf, (uint64_t)((p->i - PG_EPOCH) * 1000000), 8);
        *len = 8;
        return;
    default: /* INT, MONEY */
        *oid = OID_INT8;
        put_be(buf, (uint64_t)p->i, 8);
        *len = 8;
        return;
    }
}

/* Send the statement of q (single-row mode); on failure a message in err. */
static int send_query(struct pg_cursor *c, struct tw_query *q, const struct tw_sql_index *ix,
                      struct tw_err *err)
{
    const struct tw_host *h = c->host;
    struct tw_sql_query qq;
    unsigned char *bin = NULL;
    unsigned *oids = NULL;
    const char **values = NULL;
    int *lens = NULL, *formats = NULL;
    uint32_t i, n;
    int ret;

    ret = tw_sql_query_build(h, q, c->fields, ix, TW_SQL_PG, &qq, err);
    if (ret != TW_PLUGIN_OK)
        goto out;
    n = qq.nparams;
    bin = h->alloc((size_t)n * 8 + 1);
    oids = h->alloc((size_t)n * sizeof(*oids) + 1);
    values = h->alloc((size_t)n * sizeof(*values) + 1);
    lens = h->alloc((size_t)n * sizeof(*lens) + 1);
    formats = h->alloc((size_t)n * sizeof(*formats) + 1);
    if (bin == NULL || oids == NULL || values == NULL || lens == NULL || formats == NULL) {
        ret = h->err_set(err, TW_PLUGIN_ENOMEM, "out of memory building the query");
        goto out;
    }
    for (i = 0; i < n; i++) {
        encode(&qq.params[i], bin + 8 * (size_t)i, &oids[i], &values[i], &lens[i]);
        formats[i] = 1;
    }
    if (!PQsendQueryParams(c->conn, qq.sql.p, (int)n, (const Oid *)oids, values, lens, formats,
                           1) ||
        !PQsetSingleRowMode(c->conn)) {
        ret = conn_error(c, "sending the query", NULL, err);
        goto out;
    }
    ret = TW_PLUGIN_OK;
out:
    h->free(bin);
    h->free(oids);
    h->free(values);
    h->free(lens);
    h->free(formats);
    tw_sql_query_fini(h, &qq);
    return ret;
}

/* ---- results ---- */

static uint64_t get_be(const char *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < n; i++)
        v = (v << 8) | (unsigned char)p[i];
    return v;
}

static int is_int_oid(Oid t)
{
    return t == OID_INT8 || t == OID_INT4 || t == OID_INT2;
}

static int is_time_oid(Oid t)
{
    return t == OID_DATE || t == OID_TIMESTAMP || t == OID_TIMESTAMPTZ;
}

/* Can a column of type t give a value of field type ft? */
static int type_fits(uint32_t ft, Oid t)
{
    switch (ft) {
    case TW_FIELD_INT:
    case TW_FIELD_MONEY: return is_int_oid(t);
    case TW_FIELD_BOOL: return t == OID_BOOL || is_int_oid(t);
    case TW_FIELD_NUMBER: return t == OID_FLOAT8 || t == OID_FLOAT4 || is_int_oid(t);
    case TW_FIELD_KEYWORD:
    case TW_FIELD_TEXT:
        return t == OID_TEXT || t == OID_VARCHAR || t == OID_BPCHAR || t == OID_NAME;
    case TW_FIELD_DATE:
    case TW_FIELD_DATETIME: return is_time_oid(t);
    default: return 1; /* the NULL placeholder of the LIST field */
    }
}

/* Check every column's type against its field once, on the first result. */
static int check_types(struct pg_cursor *c, const PGresult *res, const char *table,
                       struct tw_err *err)
{
    const struct tw_field *sub = c->list >= 0 ? c->fields[c->list].nested : NULL;
    int base = 2 + (int)c->nfields;
    uint32_t i;

    if (PQnfields(res) != base + (c->list >= 0 ? (int)c->nsub + 1 : 0))
        return c->host->err_set(err, TW_PLUGIN_ESOURCE, "source query returned %d columns",
                                PQnfields(res));
    if (!is_int_oid(PQftype(res, 0)) || !is_int_oid(PQftype(res, 1)))
        return c->host->err_set(err, TW_PLUGIN_ESOURCE,
                                "source table %s: id and chain_id must be integers", table);
    for (i = 0; i < c->nfields; i++)
        if ((int32_t)i != c->list && !type_fits(c->fields[i].type, PQftype(res, 2 + (int)i)))
            return c->host->err_set(err, TW_PLUGIN_ESOURCE,
                                    "source column %s.%s has a type (oid %u) that cannot hold "
                                    "its values (docs/sources.md lists the types)",
                                    table, c->fields[i].name, (unsigned)PQftype(res, 2 + (int)i));
    for (i = 0; sub != NULL && i < c->nsub; i++)
        if (!type_fits(sub[i].type, PQftype(res, base + (int)i)))
            return c->host->err_set(err, TW_PLUGIN_ESOURCE,
                                    "source column %s of the items has a type (oid %u) that "
                                    "cannot hold its values (docs/sources.md lists the types)",
                                    sub[i].name, (unsigned)PQftype(res, base + (int)i));
    return TW_PLUGIN_OK;
}

static int64_t get_int(const PGresult *res, int col)
{
    const char *p = PQgetvalue(res, 0, col);

    switch (PQgetlength(res, 0, col)) {
    case 8: return (int64_t)get_be(p, 8);
    case 4: return (int32_t)(uint32_t)get_be(p, 4);
    case 2: return (int16_t)(uint16_t)get_be(p, 2);
    case 1: return (unsigned char)p[0]; /* boolean */
    default: return 0;
    }
}

/* Epoch seconds of a date or timestamp column; 0 when infinite (reject then). */
static int get_time(const PGresult *res, int col, int64_t *out)
{
    const char *p = PQgetvalue(res, 0, col);
    int64_t v;

    if (PQftype(res, col) == OID_DATE) {
        v = (int32_t)(uint32_t)get_be(p, 4);
        if (v == INT32_MAX || v == INT32_MIN)
            return 0;
        *out = (v * 86400) + PG_EPOCH;
        return 1;
    }
    v = (int64_t)get_be(p, 8);
    if (v == INT64_MAX || v == INT64_MIN)
        return 0;
    *out = floor_div(v, 1000000) + PG_EPOCH;
    return 1;
}

/* Set column col of the record (or of the open list element) from result column rc. */
static void set_value(const struct tw_host *h, struct tw_record *r, const PGresult *res, int rc,
                      uint32_t col, uint32_t type)
{
    const char *p;
    int64_t t;
    uint64_t bits;
    double d;
    float f;

    if (PQgetisnull(res, 0, rc))
        return; /* the engine reset the record to null */
    switch (type) {
    case TW_FIELD_INT: h->rec_set_int(r, col, get_int(res, rc)); return;
    case TW_FIELD_MONEY: h->rec_set_money(r, col, get_int(res, rc)); return;
    case TW_FIELD_BOOL: h->rec_set_bool(r, col, get_int(res, rc) != 0); return;
    case TW_FIELD_NUMBER:
        p = PQgetvalue(res, 0, rc);
        if (PQftype(res, rc) == OID_FLOAT8) {
            bits = get_be(p, 8);
            memcpy(&d, &bits, 8);
        } else if (PQftype(res, rc) == OID_FLOAT4) {
            uint32_t b4 = (uint32_t)get_be(p, 4);

            memcpy(&f, &b4, 4);
            d = f;
        } else {
            d = (double)get_int(res, rc);
        }
        h->rec_set_double(r, col, d);
        return;
    case TW_FIELD_DATE:
    case TW_FIELD_DATETIME:
        if (!get_time(res, rc, &t)) {
            h->rec_reject(r, "an infinite date in the source");
            return;
        }
        h->rec_set_time(r, col, t);
        return;
    default:
        h->rec_set_text(r, col, PQgetvalue(res, 0, rc), (size_t)PQgetlength(res, 0, rc));
        return;
    }
}

/*
 * The next result of the query: 1 with a row in c->row, 0 at the end, or a negative code.
 * first: the first result, whose column types are checked.
 */
static int step(struct pg_cursor *c, const char *table, struct tw_err *err)
{
    PGresult *res;
    ExecStatusType st;
    int ret;

    PQclear(c->row);
    c->row = NULL;
    c->pending = 0;
    res = PQgetResult(c->conn);
    if (res == NULL) { /* ended without a final status: the connection went away */
        c->done = 1;
        return conn_error(c, "reading the source database failed", NULL, err);
    }
    st = PQresultStatus(res);
    if (table != NULL && (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK)) {
        ret = check_types(c, res, table, err);
        if (ret != TW_PLUGIN_OK) {
            PQclear(res);
            return ret;
        }
    }
    if (st == PGRES_SINGLE_TUPLE) {
        c->row = res;
        c->pending = 1;
        return 1;
    }
    c->done = 1;
    if (st == PGRES_TUPLES_OK) {
        PQclear(res);
        while ((res = PQgetResult(c->conn)) != NULL)
            PQclear(res);
        return 0;
    }
    ret = conn_error(c,
                     table != NULL ? "source database does not fit the query"
                                   : "reading the source database failed",
                     PQresultErrorMessage(res), err);
    PQclear(res);
    return ret;
}

int tw_sql_pg_open(const struct tw_host *host, struct tw_query *q, const struct tw_field *fields,
                   const struct tw_sql_index *ix, void **cursor, struct tw_err *err)
{
    struct pg_cursor *c;
    int ret;

    c = host->alloc(sizeof(*c));
    if (c == NULL)
        return host->err_set(err, TW_PLUGIN_ENOMEM, "out of memory opening the source");
    memset(c, 0, sizeof(*c));
    c->pg = 1;
    c->host = host;
    c->fields = fields;
    c->nfields = tw_sql_count(fields);
    c->list = tw_sql_list(fields, ix);
    if (c->list >= 0)
        c->nsub = tw_sql_count(fields[c->list].nested);
    ret = pg_connect(c, err);
    if (ret == TW_PLUGIN_OK)
        ret = send_query(c, q, ix, err);
    /* The first row (or the end, or the server's complaint about the query) comes now. */
    if (ret == TW_PLUGIN_OK) {
        ret = step(c, ix->table, err);
        if (ret >= 0)
            ret = TW_PLUGIN_OK;
    }
    if (ret != TW_PLUGIN_OK) {
        tw_sql_pg_close(c);
        return ret;
    }
    *cursor = c;
    return TW_PLUGIN_OK;
}

void tw_sql_pg_close(void *cursor)
{
    struct pg_cursor *c = cursor;

    if (c == NULL)
        return;
    PQclear(c->row);
    /* Closing mid-result ends the query: the server stops when the socket goes. */
    PQfinish(c->conn);
    c->host->free(c);
}

/* Fold the current row's element (if the LEFT JOIN found one) into the record. */
static void add_item(struct pg_cursor *c, struct tw_record *r)
{
    const struct tw_field *sub = c->fields[c->list].nested;
    int base = 2 + (int)c->nfields;
    uint32_t i;

    if (PQgetisnull(c->row, 0, base + (int)c->nsub))
        return; /* a parent without children */
    c->host->rec_item_begin(r, (uint32_t)c->list);
    for (i = 0; i < c->nsub; i++)
        set_value(c->host, r, c->row, base + (int)i, i, sub[i].type);
    c->host->rec_item_end(r);
}

int tw_sql_pg_next(void *cursor, struct tw_record *r, struct tw_err *err)
{
    struct pg_cursor *c = cursor;
    const struct tw_host *h = c->host;
    int64_t id;
    uint32_t i;
    int ret;

    if (!c->pending) {
        if (c->done)
            return 0;
        ret = step(c, NULL, err);
        if (ret <= 0)
            return ret;
    }
    h->rec_set_chain(r, get_int(c->row, 1));
    for (i = 0; i < c->nfields; i++)
        if ((int32_t)i != c->list)
            set_value(h, r, c->row, 2 + (int)i, i, c->fields[i].type);
    c->pending = 0;
    if (c->list < 0)
        return 1;
    id = get_int(c->row, 0);
    for (;;) {
        add_item(c, r);
        ret = step(c, NULL, err);
        if (ret < 0)
            return ret;
        if (ret == 0 || get_int(c->row, 0) != id)
            return 1; /* the lookahead row, if any, starts the next record */
    }
}

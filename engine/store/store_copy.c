/*
 * tw_store_copy: a whole SQLite store into an empty PostgreSQL store (taskwheel store copy),
 * so a single-node user moves up without losing anything. Every row keeps its id; each
 * identity sequence is then advanced past both the largest id copied and SQLite's
 * AUTOINCREMENT high-water mark (sqlite_sequence), so no id a client may still hold, even of a
 * deleted task, is ever handed out again.
 *
 * The SQLite side is read in one read transaction (a consistent snapshot); the PostgreSQL
 * side is written with COPY ... FROM STDIN in one transaction, so a failed copy leaves the
 * target empty. Table and column names come from the fixed list below and from the SQLite
 * schema itself, never from data; values travel as COPY text, escaped.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "store/store_pg_int.h"

/* In foreign-key order; "id" says the table has an identity column to advance. */
static const struct {
    const char *name;
    bool id;
} tables[] = {
    { "tasks", true },
    { "task_logs", true },
    { "tokens", false },
    { "token_chains", false },
    { "users", true },
    { "user_chains", false },
    { "sessions", true },
    { "idempotency", true },
    { "segments", true },
    { "task_webhooks", false },
    { "webhook_secrets", true },
    { "webhook_outbox", true },
    { "webhook_attempts", true },
};

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static int put_text(struct tw_buf *b, const unsigned char *s, int n)
{
    int ret = TW_OK, i;

    for (i = 0; ret == TW_OK && i < n; i++) {
        switch (s[i]) {
        case '\\': ret = tw_buf_puts(b, "\\\\"); break;
        case '\t': ret = tw_buf_puts(b, "\\t"); break;
        case '\n': ret = tw_buf_puts(b, "\\n"); break;
        case '\r': ret = tw_buf_puts(b, "\\r"); break;
        default: ret = tw_buf_append(b, &s[i], 1); break;
        }
    }
    return ret;
}

/* One SQLite row as one COPY text line. */
static int put_row(struct tw_buf *b, sqlite3_stmt *q, int cols)
{
    int ret = TW_OK, i, j;

    tw_buf_reset(b);
    for (i = 0; ret == TW_OK && i < cols; i++) {
        if (i > 0)
            ret = tw_buf_puts(b, "\t");
        if (ret != TW_OK)
            break;
        switch (sqlite3_column_type(q, i)) {
        case SQLITE_NULL: ret = tw_buf_puts(b, "\\N"); break;
        case SQLITE_INTEGER:
            ret = tw_buf_printf(b, "%" PRId64, (int64_t)sqlite3_column_int64(q, i));
            break;
        case SQLITE_BLOB: {
            const unsigned char *v = sqlite3_column_blob(q, i);

            /* bytea hex input, its backslash doubled for COPY */
            ret = tw_buf_puts(b, "\\\\x");
            for (j = 0; ret == TW_OK && j < sqlite3_column_bytes(q, i); j++)
                ret = tw_buf_printf(b, "%02x", v[j]);
            break;
        }
        default: ret = put_text(b, sqlite3_column_text(q, i), sqlite3_column_bytes(q, i)); break;
        }
    }
    return ret == TW_OK ? tw_buf_puts(b, "\n") : ret;
}

static int pg_fail(PGconn *c, const char *what, const char *table, struct tw_err *err)
{
    char msg[400];
    size_t n;

    snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    return tw_err_set(err, TW_ESTORE, "store copy: %s %s: %s", what, table, msg);
}

static int pg_exec(PGconn *c, const char *sql, const char *table, struct tw_err *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ret = TW_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        ret = pg_fail(c, "write", table, err);
    PQclear(r);
    return ret;
}

/* COPY one table; *rows gets how many. */
static int copy_table(sqlite3 *db, PGconn *c, const char *table, int64_t *rows, struct tw_err *err)
{
    struct tw_buf line, head;
    sqlite3_stmt *q = NULL;
    PGresult *r;
    char sql[128];
    int cols, i, ret = TW_OK, rc;

    *rows = 0;
    snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return tw_err_set(err, TW_ESTORE, "store copy: read %s: %s", table, sqlite3_errmsg(db));
    cols = sqlite3_column_count(q);
    tw_buf_init(&line, (size_t)1 << 30); /* a row: a task's JSON texts at most */
    tw_buf_init(&head, 4096);
    ret = tw_buf_printf(&head, "COPY %s (", table);
    for (i = 0; ret == TW_OK && i < cols; i++)
        ret = tw_buf_printf(&head, "%s%s", i ? ", " : "", sqlite3_column_name(q, i));
    if (ret == TW_OK)
        ret = tw_buf_puts(&head, ") FROM STDIN");
    if (ret != TW_OK) {
        ret = tw_err_set(err, TW_ENOMEM, "store copy: out of memory");
        goto out;
    }
    r = PQexec(c, head.data);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        PQclear(r);
        ret = pg_fail(c, "start copying", table, err);
        goto out;
    }
    PQclear(r);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (put_row(&line, q, cols) != TW_OK) {
            PQputCopyEnd(c, "out of memory");
            ret = tw_err_set(err, TW_ENOMEM, "store copy: out of memory");
            break;
        }
        if (PQputCopyData(c, line.data, (int)line.len) != 1) {
            ret = pg_fail(c, "copy", table, err);
            break;
        }
        (*rows)++;
    }
    if (ret == TW_OK && rc != SQLITE_DONE) {
        PQputCopyEnd(c, "read failed");
        ret = tw_err_set(err, TW_ESTORE, "store copy: read %s: %s", table, sqlite3_errmsg(db));
    }
    if (ret == TW_OK && PQputCopyEnd(c, NULL) != 1)
        ret = pg_fail(c, "copy", table, err);
    while ((r = PQgetResult(c)) != NULL) {
        if (ret == TW_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            ret = pg_fail(c, "copy", table, err);
        PQclear(r);
    }
out:
    tw_buf_fini(&line);
    tw_buf_fini(&head);
    sqlite3_finalize(q);
    return ret;
}

/* The larger of max(id) and SQLite's AUTOINCREMENT mark of table. */
static int64_t high_water(sqlite3 *db, const char *table)
{
    sqlite3_stmt *q = NULL;
    char sql[160];
    int64_t n = 0;

    snprintf(sql, sizeof(sql),
             "SELECT max(coalesce((SELECT max(id) FROM %s), 0), "
             "coalesce((SELECT seq FROM sqlite_sequence WHERE name = '%s'), 0))",
             table, table);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        /* no sqlite_sequence (no AUTOINCREMENT table yet): max(id) alone */
        snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM %s", table);
        if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
            return 0;
    }
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static int target_empty(PGconn *c, struct tw_err *err)
{
    PGresult *r = PQexec(c, "SELECT (SELECT count(*) FROM tasks) + (SELECT count(*) FROM tokens) + "
                            "(SELECT count(*) FROM users) + (SELECT count(*) FROM segments)");
    int ret = TW_OK;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ret = pg_fail(c, "read", "the target", err);
    else if (strcmp(PQgetvalue(r, 0, 0), "0") != 0)
        ret = tw_err_set(err, TW_ECONFLICT,
                         "store copy: the target store already holds tasks, tokens, users or "
                         "segments; copy only into a new, empty store");
    PQclear(r);
    return ret;
}

int tw_store_copy(struct tw_store *from, struct tw_store *to, int64_t *rows, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(to);
    PGconn *c;
    size_t i;
    int ret;

    *rows = 0;
    if (from->head.drv != &tw_sqlite_driver || p->head.drv != &tw_pg_driver)
        return tw_err_set(err, TW_EINVAL,
                          "store copy: copies a sqlite store (--from) into a postgresql store "
                          "(--to)");
    ret = tw_pg_ensure(p, "store copy", err);
    if (ret != TW_OK)
        return ret;
    c = p->conn;
    if (sqlite3_exec(from->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return tw_err_set(err, TW_ESTORE, "store copy: read: %s", sqlite3_errmsg(from->db));
    ret = pg_exec(c, "BEGIN", "", err);
    if (ret == TW_OK)
        ret = target_empty(c, err);
    for (i = 0; ret == TW_OK && i < sizeof(tables) / sizeof(tables[0]); i++) {
        int64_t n = 0;

        ret = copy_table(from->db, c, tables[i].name, &n, err);
        *rows += n;
        if (ret == TW_OK && tables[i].id) {
            int64_t hw = high_water(from->db, tables[i].name);
            char sql[160];

            snprintf(sql, sizeof(sql),
                     "SELECT setval(pg_get_serial_sequence('%s', 'id'), %" PRId64 ")",
                     tables[i].name, hw);
            if (hw > 0)
                ret = pg_exec(c, sql, tables[i].name, err);
        }
    }
    if (ret == TW_OK)
        ret = pg_exec(c, "COMMIT", "", err);
    else
        PQclear(PQexec(c, "ROLLBACK"));
    sqlite3_exec(from->db, "COMMIT", NULL, NULL, NULL);
    return ret;
}

/*
 * The PostgreSQL store: connection, statements, transactions, open/close, health and the
 * driver table (see store_pg_int.h for the decisions).
 */
#include "store/store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "pgdsn.h" /* plugins/sql/pgdsn: connect with the password kept out of messages */

#define PROBE_EVERY_MS 1000 /* as the SQLite store: the health probe writes at most this often */
#define RECONNECT_EVERY_MS 1000 /* while PostgreSQL is away, one reconnect attempt a second */

/* ---- parameters and columns ---- */

void tw_pg_i64(struct tw_pg_args *a, int64_t v)
{
    snprintf(a->num[a->n], sizeof(a->num[0]), "%" PRId64, v);
    a->v[a->n] = a->num[a->n];
    a->n++;
}

void tw_pg_text(struct tw_pg_args *a, const char *v)
{
    a->v[a->n++] = v;
}

static int own(struct tw_pg_args *a, char *text)
{
    if (text == NULL)
        return TW_ENOMEM;
    a->owned[a->n_owned++] = text;
    a->v[a->n++] = text;
    return TW_OK;
}

int tw_pg_mac(struct tw_pg_args *a, const unsigned char mac[32])
{
    static const char hex[] = "0123456789abcdef";
    char *t = tw_malloc(2 + 64 + 1);
    int i;

    if (t == NULL)
        return own(a, NULL);
    t[0] = '\\';
    t[1] = 'x';
    for (i = 0; i < 32; i++) {
        t[2 + 2 * i] = hex[mac[i] >> 4];
        t[3 + 2 * i] = hex[mac[i] & 15];
    }
    t[66] = '\0';
    return own(a, t);
}

int tw_pg_i64s(struct tw_pg_args *a, const int64_t *v, size_t n)
{
    size_t cap = n * 21 + 3, pos = 1, i;
    char *t = n < SIZE_MAX / 32 ? tw_malloc(cap) : NULL;

    if (t == NULL)
        return own(a, NULL);
    t[0] = '{';
    for (i = 0; i < n; i++)
        pos += (size_t)snprintf(t + pos, cap - pos, "%s%" PRId64, i ? "," : "", v[i]);
    snprintf(t + pos, cap - pos, "}");
    return own(a, t);
}

void tw_pg_args_fini(struct tw_pg_args *a)
{
    int i;

    for (i = 0; i < a->n_owned; i++)
        tw_free(a->owned[i]);
    a->n_owned = 0;
}

int64_t tw_pg_col_i64(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int tw_pg_col_str(const PGresult *r, int row, int col, char **out)
{
    const char *v;

    *out = NULL;
    if (PQgetisnull(r, row, col))
        return TW_OK;
    v = PQgetvalue(r, row, col);
    *out = tw_strndup(v, strlen(v));
    return *out != NULL ? TW_OK : TW_ENOMEM;
}

/* ---- the connection ---- */

/* libpq's message without its trailing newline, into buf. */
static const char *pg_msg(PGconn *c, char *buf, size_t cap)
{
    size_t n;

    snprintf(buf, cap, "%s", c != NULL ? PQerrorMessage(c) : "out of memory");
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    for (n = 0; buf[n] != '\0'; n++)
        if (buf[n] == '\n' || buf[n] == '\t')
            buf[n] = ' ';
    return buf;
}

int tw_pg_ensure(struct tw_pg_store *p, const char *what, struct tw_err *err)
{
    char msg[512];

    /* outside a transaction, read what the server sent while we were idle: a restart's
     * "terminating connection" turns the connection bad here instead of in the next query */
    if (p->tx_depth == 0 && PQstatus(p->conn) == CONNECTION_OK)
        PQconsumeInput(p->conn);
    if (PQstatus(p->conn) == CONNECTION_OK)
        return TW_OK;
    if (p->tx_depth > 0) {
        p->tx_aborted = true;
        return tw_err_set(err, TW_ESTORE,
                          "store: %s: the connection to PostgreSQL was lost in a transaction",
                          what);
    }
    /*
     * Reconnecting blocks the event loop (up to connect_timeout when the host does not
     * answer), so while PostgreSQL stays away only one attempt a second is made; the calls in
     * between fail at once with the last reason.
     */
    if (p->reset_ms != 0 && tw_clock_mono_ms() - p->reset_ms < RECONNECT_EVERY_MS)
        return tw_err_set(err, TW_ESTORE, "store: %s: PostgreSQL is unreachable: %s", what,
                          p->lost);
    PQreset(p->conn);
    memset(p->prepared, 0, sizeof(p->prepared));
    if (PQstatus(p->conn) != CONNECTION_OK) {
        p->reset_ms = tw_clock_mono_ms();
        if (p->reset_ms == 0)
            p->reset_ms = 1;
        snprintf(p->lost, sizeof(p->lost), "%s", pg_msg(p->conn, msg, sizeof(msg)));
        return tw_err_set(err, TW_ESTORE, "store: %s: PostgreSQL is unreachable: %s", what,
                          p->lost);
    }
    p->reset_ms = 0;
    return TW_OK;
}

/* Map a failed result to a code and message. */
static int fail(struct tw_pg_store *p, PGresult *r, const char *what, struct tw_err *err)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char msg[512];
    int code = TW_ESTORE;

    pg_msg(p->conn, msg, sizeof(msg));
    /* in a pipeline the connection's message may be empty: the result holds the reason */
    if (r != NULL && PQresultErrorMessage(r)[0] != '\0') {
        size_t n;

        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        for (n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ');)
            msg[--n] = '\0';
        for (n = 0; msg[n] != '\0'; n++)
            if (msg[n] == '\n')
                msg[n] = ' ';
    }
    if (PQstatus(p->conn) != CONNECTION_OK) {
        if (p->tx_depth > 0)
            p->tx_aborted = true;
        return tw_err_set(err, TW_ESTORE, "store: %s: PostgreSQL is unreachable: %s", what, msg);
    }
    if (state != NULL && strcmp(state, "23505") == 0)
        code = TW_ECONFLICT;
    else if (state != NULL && strcmp(state, "23503") == 0)
        code = TW_ENOTFOUND;
    else if (state != NULL && strcmp(state, "53200") == 0)
        code = TW_ENOMEM;
    return tw_err_set(err, code, "store: %s: %s", what, msg);
}

/* Read the one result of a pipelined query (and the NULL after it). */
static PGresult *next_result(PGconn *c)
{
    PGresult *r = PQgetResult(c), *extra;

    if (r != NULL)
        while ((extra = PQgetResult(c)) != NULL)
            PQclear(extra);
    return r;
}

/*
 * Send the queued control statements, then the prepare of id if needed, then id itself, in
 * one pipeline; read the results in order. The first failure is the answer.
 */
static int pipeline(struct tw_pg_store *p, enum tw_pg_stmt id, const char *name,
                    const struct tw_pg_args *a, PGresult **out, const char *what,
                    struct tw_err *err)
{
    bool prepare = !p->prepared[id];
    int n_ctl = p->n_queued, i, ret = TW_OK;
    PGresult *r;

    p->n_queued = 0;
    if (!PQenterPipelineMode(p->conn))
        return fail(p, NULL, what, err);
    for (i = 0; i < n_ctl; i++)
        PQsendQueryParams(p->conn, p->queued[i], 0, NULL, NULL, NULL, NULL, 0);
    if (prepare)
        PQsendPrepare(p->conn, name, tw_pg_sql[id], 0, NULL);
    PQsendQueryPrepared(p->conn, name, a != NULL ? a->n : 0, a != NULL ? a->v : NULL, NULL, NULL,
                        0);
    if (!PQpipelineSync(p->conn)) {
        ret = fail(p, NULL, what, err);
        goto out;
    }
    for (i = 0; i < n_ctl + (prepare ? 1 : 0) + 1; i++) {
        ExecStatusType st;

        r = next_result(p->conn);
        st = PQresultStatus(r);
        if (ret == TW_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            ret = fail(p, r, i < n_ctl ? p->queued[i] : what, err);
        if (ret == TW_OK && i == n_ctl && prepare)
            p->prepared[id] = true;
        if (ret == TW_OK && i == n_ctl + (prepare ? 1 : 0))
            *out = r;
        else
            PQclear(r);
        if (r == NULL && PQstatus(p->conn) != CONNECTION_OK)
            break;
    }
    /* the sync's own result */
    r = PQgetResult(p->conn);
    PQclear(r);
out:
    if (!PQexitPipelineMode(p->conn) && ret == TW_OK)
        ret = fail(p, NULL, what, err);
    if (ret != TW_OK && *out != NULL) {
        PQclear(*out);
        *out = NULL;
    }
    return ret;
}

int tw_pg_run(struct tw_pg_store *p, enum tw_pg_stmt id, const struct tw_pg_args *a, PGresult **res,
              int64_t *changed, const char *what, struct tw_err *err)
{
    char name[16];
    PGresult *r = NULL;
    ExecStatusType st;
    int ret;

    if (res != NULL)
        *res = NULL;
    if (changed != NULL)
        *changed = 0;
    ret = tw_pg_ensure(p, what, err);
    if (ret != TW_OK)
        return ret;
    snprintf(name, sizeof(name), "tw%d", (int)id);
    if (p->n_queued > 0) {
        ret = pipeline(p, id, name, a, &r, what, err);
        if (ret != TW_OK)
            return ret;
    } else {
        if (!p->prepared[id]) {
            r = PQprepare(p->conn, name, tw_pg_sql[id], 0, NULL);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                ret = fail(p, r, what, err);
                PQclear(r);
                return ret;
            }
            PQclear(r);
            p->prepared[id] = true;
        }
        r = PQexecPrepared(p->conn, name, a != NULL ? a->n : 0, a != NULL ? a->v : NULL, NULL, NULL,
                           0);
        st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            ret = fail(p, r, what, err);
            PQclear(r);
            return ret;
        }
    }
    if (changed != NULL)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    if (res != NULL)
        *res = r;
    else
        PQclear(r);
    return TW_OK;
}

/* ---- transactions ---- */

/* Run sql now, after whatever control statements wait in the queue. */
static int ctl(struct tw_pg_store *p, const char *sql, const char *what, struct tw_err *err)
{
    PGresult *r;
    int ret = TW_OK, i;

    for (i = 0; i < p->n_queued && ret == TW_OK; i++) {
        r = PQexec(p->conn, p->queued[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            ret = fail(p, r, p->queued[i], err);
        PQclear(r);
    }
    p->n_queued = 0;
    if (ret != TW_OK)
        return ret;
    r = PQexec(p->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = fail(p, r, what, err);
    PQclear(r);
    return ret;
}

/* Send sql with the next statement (or now, when the queue is full). */
static int queue(struct tw_pg_store *p, const char *sql, const char *what, struct tw_err *err)
{
    if (p->n_queued == (int)(sizeof(p->queued) / sizeof(p->queued[0])))
        return ctl(p, sql, what, err);
    p->queued[p->n_queued++] = sql;
    return TW_OK;
}

int tw_pg_op_begin(struct tw_pg_store *p, struct tw_err *err)
{
    int ret = tw_pg_ensure(p, "begin transaction", err);

    if (ret != TW_OK)
        return ret;
    if (p->tx_depth == 0) {
        p->tx_aborted = false;
        ret = queue(p, "BEGIN", "begin transaction", err);
    } else {
        ret = queue(p, "SAVEPOINT tw_op", "savepoint", err);
    }
    if (ret == TW_OK)
        p->tx_depth++;
    return ret;
}

static void op_rollback(struct tw_pg_store *p)
{
    p->tx_depth--;
    if (PQstatus(p->conn) != CONNECTION_OK) {
        p->n_queued = 0;
        if (p->tx_depth > 0)
            p->tx_aborted = true;
        return;
    }
    if (p->tx_depth == 0) {
        ctl(p, "ROLLBACK", "rollback", NULL);
        return;
    }
    ctl(p, "ROLLBACK TO tw_op", "rollback to savepoint", NULL);
    ctl(p, "RELEASE tw_op", "release savepoint", NULL);
}

int tw_pg_op_end(struct tw_pg_store *p, int ret, struct tw_err *err)
{
    if (p->tx_depth <= 0)
        return tw_err_set(err, TW_EINTERNAL, "store: commit without a transaction");
    if (ret == TW_OK && p->tx_aborted && p->tx_depth == 1)
        ret = tw_err_set(err, TW_ESTORE,
                         "store: commit: the transaction was lost after an earlier error");
    if (ret != TW_OK) {
        op_rollback(p);
        return ret;
    }
    if (p->tx_depth == 1)
        ret = ctl(p, "COMMIT", "commit", err);
    else
        ret = queue(p, "RELEASE tw_op", "release savepoint", err);
    if (ret != TW_OK) {
        op_rollback(p);
        return ret;
    }
    p->tx_depth--;
    return TW_OK;
}

int tw_pg_begin(struct tw_store *s, struct tw_err *err)
{
    return tw_pg_op_begin(TW_PG(s), err);
}

int tw_pg_commit(struct tw_store *s, struct tw_err *err)
{
    return tw_pg_op_end(TW_PG(s), TW_OK, err);
}

void tw_pg_rollback(struct tw_store *s)
{
    if (TW_PG(s)->tx_depth > 0)
        op_rollback(TW_PG(s));
}

/* ---- open and close ---- */

/*
 * Parse dsn and connect; *out gets the connection, or NULL and err says why, naming store.dsn
 * and libpq's reason with the dsn's password masked (plugins/sql/pgdsn/pgdsn.h).
 */
static int connect_dsn(const char *dsn, PGconn **out, struct tw_err *err)
{
    char reason[512];

    switch (tw_pgdsn_connect(dsn, "5", "taskwheel", out, reason, sizeof(reason))) {
    case TW_PGDSN_OK: return TW_OK;
    case TW_PGDSN_UNPARSABLE:
        return tw_err_set(err, TW_ESTORE, "store.dsn: not a valid PostgreSQL connection string: %s",
                          reason);
    default: /* out of memory too, as before: the store is as unusable either way */
        return tw_err_set(err, TW_ESTORE, "store.dsn: cannot connect to PostgreSQL: %s", reason);
    }
}

int tw_pg_connect(const char *dsn, PGconn **out, struct tw_err *err)
{
    return connect_dsn(dsn, out, err);
}

int tw_store_probe_pg(const char *dsn, struct tw_err *err)
{
    PGconn *c = NULL;
    int ret = connect_dsn(dsn, &c, err);

    PQfinish(c);
    return ret;
}

int tw_store_open_pg(const char *dsn, struct tw_store **out, struct tw_err *err)
{
    struct tw_pg_store *p;
    int ret;

    *out = NULL;
    p = tw_calloc(1, sizeof(*p));
    if (p == NULL)
        return tw_err_set(err, TW_ENOMEM, "store: out of memory");
    p->head.drv = &tw_pg_driver;
    p->dsn = tw_strndup(dsn, strlen(dsn));
    if (p->dsn == NULL) {
        tw_free(p);
        return tw_err_set(err, TW_ENOMEM, "store: out of memory");
    }
    ret = connect_dsn(dsn, &p->conn, err);
    if (ret == TW_OK)
        ret = tw_pg_migrate(p, err);
    if (ret != TW_OK) {
        tw_pg_close((struct tw_store *)(void *)p);
        return ret;
    }
    *out = (struct tw_store *)(void *)p;
    return TW_OK;
}

void tw_pg_close(struct tw_store *s)
{
    struct tw_pg_store *p = TW_PG(s);

    PQfinish(p->conn);
    if (p->dsn != NULL)
        memset(p->dsn, 0, strlen(p->dsn)); /* the password does not linger in freed memory */
    tw_free(p->dsn);
    tw_free(p);
}

int tw_pg_ping(struct tw_store *s, struct tw_err *err)
{
    return tw_pg_run(TW_PG(s), TW_PG_PING, NULL, NULL, NULL, "ping", err);
}

int tw_pg_schema_version(struct tw_store *s)
{
    return TW_PG(s)->schema_version;
}

/* ---- upkeep: limits, stats, health ---- */

void tw_pg_set_limits(struct tw_store *s, const struct tw_store_limits *l)
{
    TW_PG(s)->limits = *l;
}

void tw_pg_get_upkeep_stats(const struct tw_store *s, struct tw_store_upkeep_stats *out)
{
    *out = ((const struct tw_pg_store *)(const void *)s)->upkeep;
}

void tw_pg_note_pruned(struct tw_store *s, int64_t bytes)
{
    TW_PG(s)->upkeep.results_pruned++;
    TW_PG(s)->upkeep.result_bytes_pruned += bytes > 0 ? (uint64_t)bytes : 0;
}

int tw_pg_check_file(struct tw_store *s, struct tw_err *err)
{
    (void)s;
    (void)err;
    return TW_OK; /* no file of ours: PostgreSQL keeps the data */
}

int tw_pg_health(struct tw_store *s, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    uint64_t now = tw_clock_mono_ms();
    struct tw_pg_args a = { 0 };
    int ret;

    if (p->probe_ms != 0 && now - p->probe_ms < PROBE_EVERY_MS) {
        if (p->probe_ret != TW_OK)
            return tw_err_set(err, TW_ESTORE, "%s", p->why);
        return TW_OK;
    }
    p->probe_ms = now;
    tw_pg_i64(&a, tw_clock_wall_ms()); /* store_health.at: ms, as the SQLite store writes it */
    ret = tw_pg_run(p, TW_PG_HEALTH_PROBE, &a, NULL, NULL, "health probe", err);
    p->probe_ret = ret;
    if (ret != TW_OK) {
        snprintf(p->why, sizeof(p->why), "%s", err != NULL ? err->msg : "store: cannot write");
        return TW_ESTORE;
    }
    return TW_OK;
}

const struct tw_store_driver tw_pg_driver = {
    .name = "postgresql",
    .close = tw_pg_close,
    .ping = tw_pg_ping,
    .schema_version = tw_pg_schema_version,
    .task_insert = tw_pg_task_insert,
    .task_get = tw_pg_task_get,
    .task_list = tw_pg_task_list,
    .task_update = tw_pg_task_update,
    .task_delete = tw_pg_task_delete,
    .log_list = tw_pg_log_list,
    .log_add = tw_pg_log_add,
    .run_start = tw_pg_run_start,
    .run_progress = tw_pg_run_progress,
    .run_claim = tw_pg_run_claim,
    .run_renew = tw_pg_run_renew,
    .runs_stale = tw_pg_runs_stale,
    .run_rescue = tw_pg_run_rescue,
    .run_finish = tw_pg_run_finish,
    .since_get = tw_pg_since_get,
    .result_expire = tw_pg_result_expire,
    .task_scan = tw_pg_task_scan,
    .task_count_by_state = tw_pg_task_count_by_state,
    .result_usage = tw_pg_result_usage,
    .idem_get = tw_pg_idem_get,
    .token_insert = tw_pg_token_insert,
    .token_get = tw_pg_token_get,
    .token_list = tw_pg_token_list,
    .token_revoke = tw_pg_token_revoke,
    .user_put = tw_pg_user_put,
    .user_get_by_name = tw_pg_user_get_by_name,
    .user_get = tw_pg_user_get,
    .session_insert = tw_pg_session_insert,
    .session_check = tw_pg_session_check,
    .segment_insert = tw_pg_segment_insert,
    .segment_get = tw_pg_segment_get,
    .segment_list = tw_pg_segment_list,
    .segment_update = tw_pg_segment_update,
    .segment_users = tw_pg_segment_users,
    .segment_delete = tw_pg_segment_delete,
    .user_remove = tw_pg_user_remove,
    .sessions_revoke = tw_pg_sessions_revoke,
    .set_limits = tw_pg_set_limits,
    .get_upkeep_stats = tw_pg_get_upkeep_stats,
    /* .wal_defer, .wal_pages, .wal_checkpoint: NULL, the PostgreSQL server checkpoints itself */
    .results_expiring = tw_pg_results_expiring,
    .note_pruned = tw_pg_note_pruned,
    .check_file = tw_pg_check_file,
    .health = tw_pg_health,
    .node_beat = tw_pg_node_beat,
    .node_remove = tw_pg_node_remove,
    .node_list = tw_pg_node_list,
    .key_check = tw_pg_key_check,
    .tasks_changed = tw_pg_tasks_changed,
    .watch = tw_pg_watch,
    .webhook_set = tw_pg_webhook_set,
    .webhook_get = tw_pg_webhook_get,
    .webhook_secret_add = tw_pg_webhook_secret_add,
    .webhook_secrets = tw_pg_webhook_secrets,
    .outbox_add = tw_pg_outbox_add,
    .outbox_due = tw_pg_outbox_due,
    .outbox_next = tw_pg_outbox_next,
    .outbox_lease = tw_pg_outbox_lease,
    .outbox_record = tw_pg_outbox_record,
    .delivery_list = tw_pg_delivery_list,
    .begin = tw_pg_begin,
    .commit = tw_pg_commit,
    .rollback = tw_pg_rollback,
};

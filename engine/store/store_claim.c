/*
 * Exactly-once runs in the SQLite store (docs/cluster.md "Leases, fencing and rescue"): the
 * conditional claim, lease renewal, the list of runs whose lease lapsed, their rescue, and the
 * attempt check (fence) that every later write of a run passes. SQLite has one writer at a
 * time (BEGIN IMMEDIATE), so the checks and the update of one operation cannot interleave
 * with another's; store_pg_claim.c does the same with one conditional UPDATE per claim.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/mem.h"

int tw_store_run_fence(struct tw_store *s, int64_t id, int64_t attempt, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RUN_ATTEMPT);
    int64_t now_attempt = 0;
    int state = 0;
    int ret;

    if (attempt <= 0)
        return TW_OK;
    sqlite3_bind_int64(q, 1, id);
    ret = tw_store_step(s, q, "check the run's attempt", err);
    if (ret == 1) {
        now_attempt = sqlite3_column_int64(q, 0);
        state = sqlite3_column_int(q, 1);
    }
    tw_store_done(q);
    if (ret < 0)
        return ret;
    if (ret == 0)
        return tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    if (now_attempt != attempt || state != TW_STATE_INPROGRESS)
        return tw_err_field(err, TW_ECONFLICT, "attempt",
                            "run fenced: task %lld is at attempt %lld (%s), this run was "
                            "attempt %lld",
                            (long long)id, (long long)now_attempt, tw_task_state_name(state),
                            (long long)attempt);
    return TW_OK;
}

static int chain_full(struct tw_store *s, const struct tw_run_claim *c, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_CHAIN_RUNNING);
    int64_t running = 0;
    int ret;

    if (c->max_in_chain == 0)
        return TW_OK;
    sqlite3_bind_int64(q, 1, c->chain);
    ret = tw_store_step(s, q, "count the chain's runs", err);
    if (ret == 1)
        running = sqlite3_column_int64(q, 0);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    if (running >= (int64_t)c->max_in_chain)
        return tw_err_set(err, TW_ELIMIT, "chain %lld already has %lld runs in progress",
                          (long long)c->chain, (long long)running);
    return TW_OK;
}

int tw_store_run_claim(struct tw_store *s, int64_t id, const struct tw_run_claim *c,
                       int64_t *attempt, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RUN_CLAIM);
    int64_t version = 0;
    char msg[64];
    int state = 0;
    int ret;

    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    ret = tw_store_task_probe(s, id, &version, &state, err);
    if (ret == TW_OK && state == TW_STATE_INPROGRESS)
        ret = tw_err_field(err, TW_ECONFLICT, "state", "task is INPROGRESS");
    if (ret == TW_OK)
        ret = chain_full(s, c, err);
    if (ret == TW_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, c->now);
        tw_store_bind_text(q, 3, c->node);
        sqlite3_bind_int64(q, 4, c->lease_until);
        sqlite3_bind_int64(q, 5, c->once_at);
        ret = tw_store_step(s, q, "claim run", err);
        if (ret == 1)
            *attempt = sqlite3_column_int64(q, 0);
        tw_store_done(q);
        if (ret == 0)
            ret = tw_err_field(err, TW_ECONFLICT, "once", "task %lld is no longer due at that time",
                               (long long)id);
        else if (ret == 1)
            ret = TW_OK;
    }
    if (ret == TW_OK) {
        snprintf(msg, sizeof(msg), "%s -> INPROGRESS", tw_task_state_name(state));
        ret = tw_store_log_insert(s, id, c->now, msg, TW_LOG_PLAIN, NULL, err);
    }
    return tw_store_op_end(s, ret, err);
}

static void mark(const int64_t *ids, size_t n, int64_t id, bool *renewed)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (ids[i] == id)
            renewed[i] = true;
}

int tw_store_run_renew(struct tw_store *s, const char *node, const int64_t *ids, size_t n,
                       int64_t lease_until, bool *renewed, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RUN_RENEW);
    struct tw_buf list;
    size_t i;
    int ret;

    for (i = 0; i < n; i++)
        renewed[i] = false;
    if (n == 0)
        return TW_OK;
    tw_buf_init(&list, (size_t)1 << 24);
    ret = tw_buf_puts(&list, "[");
    for (i = 0; ret == TW_OK && i < n; i++)
        ret = tw_buf_printf(&list, "%s%lld", i ? "," : "", (long long)ids[i]);
    if (ret == TW_OK)
        ret = tw_buf_puts(&list, "]");
    if (ret != TW_OK) {
        tw_buf_fini(&list);
        return tw_err_set(err, TW_ENOMEM, "store: renew leases: out of memory");
    }
    tw_store_bind_text(q, 1, node);
    sqlite3_bind_int64(q, 2, lease_until);
    tw_store_bind_text(q, 3, list.data);
    while ((ret = tw_store_step(s, q, "renew leases", err)) == 1)
        mark(ids, n, sqlite3_column_int64(q, 0), renewed);
    tw_store_done(q);
    tw_buf_fini(&list);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_runs_stale(struct tw_store *s, int64_t now_ms, uint32_t limit,
                        struct tw_stale_run **out, size_t *n, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RUNS_STALE);
    struct tw_stale_run *runs = NULL;
    size_t cap = 0, count = 0;
    int ret;

    *out = NULL;
    *n = 0;
    sqlite3_bind_int64(q, 1, now_ms);
    sqlite3_bind_int64(q, 2, limit);
    for (;;) {
        const unsigned char *node;

        ret = tw_store_step(s, q, "list lapsed leases", err);
        if (ret <= 0)
            break;
        if (tw_store_grow((void **)&runs, &cap, count, sizeof(*runs)) != TW_OK) {
            ret = tw_err_set(err, TW_ENOMEM, "store: list lapsed leases: out of memory");
            break;
        }
        runs[count].id = sqlite3_column_int64(q, 0);
        runs[count].chain = sqlite3_column_int64(q, 1);
        runs[count].attempt = sqlite3_column_int64(q, 2);
        node = sqlite3_column_text(q, 3);
        snprintf(runs[count].node, sizeof(runs[count].node), "%s",
                 node != NULL ? (const char *)node : "");
        count++;
    }
    tw_store_done(q);
    if (ret < 0) {
        tw_free(runs);
        return ret;
    }
    *out = runs;
    *n = count;
    return TW_OK;
}

int tw_store_run_rescue(struct tw_store *s, int64_t id, int64_t attempt, int64_t now_ms,
                        const char *msg, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RUN_RESCUE);
    int64_t now = now_ms / 1000;
    int ret;

    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, attempt);
    sqlite3_bind_int64(q, 3, now);
    sqlite3_bind_int64(q, 4, now_ms);
    ret = tw_store_step(s, q, "rescue run", err);
    tw_store_done(q);
    if (ret == 0 && sqlite3_changes(s->db) == 0)
        ret = tw_err_field(err, TW_ECONFLICT, "attempt",
                           "task %lld: run %lld was renewed or rescued meanwhile", (long long)id,
                           (long long)attempt);
    if (ret == 0) {
        q = tw_store_stmt(s, TW_STMT_LOG_PROGRESS_DELETE);
        sqlite3_bind_int64(q, 1, id);
        ret = tw_store_step(s, q, "rescue run", err);
        tw_store_done(q);
    }
    if (ret == 0)
        ret = tw_store_log_insert(s, id, now, "INPROGRESS -> READY", TW_LOG_PLAIN, NULL, err);
    if (ret == 0 && msg != NULL)
        ret = tw_store_log_insert(s, id, now, msg, TW_LOG_RUN_END, NULL, err);
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

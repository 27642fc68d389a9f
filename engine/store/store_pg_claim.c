/*
 * Exactly-once runs in the PostgreSQL store (docs/cluster.md "Leases, fencing and rescue").
 * The claim is one conditional UPDATE (the row lock makes a second node's identical UPDATE
 * wait, then re-check state <> 1 and match nothing); with max_runs_per_chain it is preceded,
 * in the same transaction, by a per-chain advisory lock so that two nodes counting a chain's
 * runs at once cannot both take the last slot. Renewal is one UPDATE for all of a node's runs,
 * rescue one conditional UPDATE that only a lapsed lease at the same attempt passes.
 */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "store/store_pg_int.h"

int tw_pg_run_fence(struct tw_pg_store *p, int64_t id, int64_t attempt, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int64_t now_attempt, state;
    PGresult *r;
    int ret;

    if (attempt <= 0)
        return TW_OK;
    tw_pg_i64(&a, id);
    ret = tw_pg_run(p, TW_PG_RUN_ATTEMPT, &a, &r, NULL, "check the run's attempt", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    }
    now_attempt = tw_pg_col_i64(r, 0, 0);
    state = tw_pg_col_i64(r, 0, 1);
    PQclear(r);
    if (now_attempt != attempt || state != TW_STATE_INPROGRESS)
        return tw_err_field(err, TW_ECONFLICT, "attempt",
                            "run fenced: task %lld is at attempt %lld (%s), this run was "
                            "attempt %lld",
                            (long long)id, (long long)now_attempt, tw_task_state_name((int)state),
                            (long long)attempt);
    return TW_OK;
}

static int chain_full(struct tw_pg_store *p, const struct tw_run_claim *c, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int64_t running;
    PGresult *r;
    int ret;

    if (c->max_in_chain == 0)
        return TW_OK;
    tw_pg_i64(&a, c->chain);
    ret = tw_pg_run(p, TW_PG_CHAIN_LOCK, &a, NULL, NULL, "lock the chain's runs", err);
    if (ret == TW_OK)
        ret = tw_pg_run(p, TW_PG_CHAIN_RUNNING, &a, &r, NULL, "count the chain's runs", err);
    if (ret != TW_OK)
        return ret;
    running = tw_pg_col_i64(r, 0, 0);
    PQclear(r);
    if (running >= (int64_t)c->max_in_chain)
        return tw_err_set(err, TW_ELIMIT, "chain %lld already has %lld runs in progress",
                          (long long)c->chain, (long long)running);
    return TW_OK;
}

int tw_pg_run_claim(struct tw_store *s, int64_t id, const struct tw_run_claim *c, int64_t *attempt,
                    struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 };
    PGresult *r = NULL;
    char msg[64];
    int ret;

    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    ret = chain_full(p, c, err);
    if (ret == TW_OK) {
        tw_pg_i64(&a, id);
        tw_pg_i64(&a, c->now);
        tw_pg_text(&a, c->node);
        tw_pg_i64(&a, c->lease_until);
        tw_pg_i64(&a, c->once_at);
        ret = tw_pg_run(p, TW_PG_RUN_CLAIM, &a, &r, NULL, "claim run", err);
    }
    if (ret == TW_OK && PQntuples(r) == 0) {
        int64_t version = 0;
        int state = 0;

        /* lost: say why (gone, running elsewhere, or no longer due at that time) */
        ret = tw_pg_task_probe(p, id, &version, &state, err);
        if (ret == TW_OK && state == TW_STATE_INPROGRESS)
            ret = tw_err_field(err, TW_ECONFLICT, "state", "task is INPROGRESS");
        else if (ret == TW_OK)
            ret = tw_err_field(err, TW_ECONFLICT, "once", "task %lld is no longer due at that time",
                               (long long)id);
    } else if (ret == TW_OK) {
        *attempt = tw_pg_col_i64(r, 0, 0);
        snprintf(msg, sizeof(msg), "%s -> INPROGRESS",
                 tw_task_state_name((int)tw_pg_col_i64(r, 0, 1)));
        ret = tw_pg_log_insert(p, id, c->now, msg, 0, NULL, err);
    }
    if (r != NULL)
        PQclear(r);
    return tw_pg_op_end(p, ret, err);
}

int tw_pg_run_renew(struct tw_store *s, const char *node, const int64_t *ids, size_t n,
                    int64_t lease_until, bool *renewed, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    size_t i, j;
    int ret;

    for (i = 0; i < n; i++)
        renewed[i] = false;
    if (n == 0)
        return TW_OK;
    tw_pg_text(&a, node);
    tw_pg_i64(&a, lease_until);
    if (tw_pg_i64s(&a, ids, n) != TW_OK) {
        tw_pg_args_fini(&a);
        return tw_err_set(err, TW_ENOMEM, "store: renew leases: out of memory");
    }
    ret = tw_pg_run(TW_PG(s), TW_PG_RUN_RENEW, &a, &r, NULL, "renew leases", err);
    tw_pg_args_fini(&a);
    if (ret != TW_OK)
        return ret;
    for (j = 0; j < (size_t)PQntuples(r); j++)
        for (i = 0; i < n; i++)
            if (ids[i] == tw_pg_col_i64(r, (int)j, 0))
                renewed[i] = true;
    PQclear(r);
    return TW_OK;
}

int tw_pg_runs_stale(struct tw_store *s, int64_t now_ms, uint32_t limit, struct tw_stale_run **out,
                     size_t *n, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    struct tw_stale_run *runs = NULL;
    PGresult *r;
    int i, rows, ret;

    *out = NULL;
    *n = 0;
    tw_pg_i64(&a, now_ms);
    tw_pg_i64(&a, limit);
    ret = tw_pg_run(TW_PG(s), TW_PG_RUNS_STALE, &a, &r, NULL, "list lapsed leases", err);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows > 0 && (runs = tw_calloc((size_t)rows, sizeof(*runs))) == NULL) {
        PQclear(r);
        return tw_err_set(err, TW_ENOMEM, "store: list lapsed leases: out of memory");
    }
    for (i = 0; i < rows; i++) {
        runs[i].id = tw_pg_col_i64(r, i, 0);
        runs[i].chain = tw_pg_col_i64(r, i, 1);
        runs[i].attempt = tw_pg_col_i64(r, i, 2);
        snprintf(runs[i].node, sizeof(runs[i].node), "%s", PQgetvalue(r, i, 3));
    }
    PQclear(r);
    *out = runs;
    *n = (size_t)rows;
    return TW_OK;
}

int tw_pg_run_rescue(struct tw_store *s, int64_t id, int64_t attempt, int64_t now_ms,
                     const char *msg, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 }, d = { 0 };
    int64_t now = now_ms / 1000;
    int64_t changed = 0;
    int ret;

    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    tw_pg_i64(&a, id);
    tw_pg_i64(&a, attempt);
    tw_pg_i64(&a, now);
    tw_pg_i64(&a, now_ms);
    ret = tw_pg_run(p, TW_PG_RUN_RESCUE, &a, NULL, &changed, "rescue run", err);
    if (ret == TW_OK && changed == 0)
        ret = tw_err_field(err, TW_ECONFLICT, "attempt",
                           "task %lld: run %lld was renewed or rescued meanwhile", (long long)id,
                           (long long)attempt);
    if (ret == TW_OK) {
        tw_pg_i64(&d, id);
        ret = tw_pg_run(p, TW_PG_LOG_PROGRESS_DELETE, &d, NULL, NULL, "rescue run", err);
    }
    if (ret == TW_OK)
        ret = tw_pg_log_insert(p, id, now, "INPROGRESS -> READY", 0, NULL, err);
    if (ret == TW_OK && msg != NULL)
        ret = tw_pg_log_insert(p, id, now, msg, 2, NULL, err);
    return tw_pg_op_end(p, ret, err);
}

/*
 * PostgreSQL store: tasks, logs, runs, watermarks, idempotency keys and results, with the
 * semantics of the SQLite files of the same areas (store_tasks.c, store_runs.c,
 * store_since.c, store_upkeep.c): the same conditions, the same errors, the same log entries.
 */
#include "store/store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"

#define SCAN_BATCH 512

/* Grow *arr to hold n + 1 elements of elem bytes (zeroed), doubling. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap) {
        memset((char *)*arr + n * elem, 0, elem);
        return TW_OK;
    }
    ncap = *cap ? *cap * 2 : 16;
    p = tw_realloc(*arr, ncap * elem);
    if (p == NULL)
        return TW_ENOMEM;
    *arr = p;
    *cap = ncap;
    memset((char *)p + n * elem, 0, elem);
    return TW_OK;
}

int tw_pg_task_probe(struct tw_pg_store *p, int64_t id, int64_t *version, int *state,
                     struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    tw_pg_i64(&a, id);
    ret = tw_pg_run(p, TW_PG_TASK_PROBE, &a, &r, NULL, "read task", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    } else {
        *version = tw_pg_col_i64(r, 0, 0);
        *state = (int)tw_pg_col_i64(r, 0, 1);
    }
    PQclear(r);
    return ret;
}

/* Columns in the order of TASK_COLS (store_pg_sql.c). On failure *t is partly filled. */
static int read_task(const PGresult *q, int row, struct tw_task *t)
{
    int rc = TW_OK;

    t->id = tw_pg_col_i64(q, row, 0);
    t->chain = tw_pg_col_i64(q, row, 1);
    rc = rc ? rc : tw_pg_col_str(q, row, 2, &t->desc);
    t->state = (int)tw_pg_col_i64(q, row, 3);
    t->last_run_date = tw_pg_col_i64(q, row, 4);
    t->last_modified = tw_pg_col_i64(q, row, 5);
    t->created_date = tw_pg_col_i64(q, row, 6);
    rc = rc ? rc : tw_pg_col_str(q, row, 7, &t->trigger_json);
    rc = rc ? rc : tw_pg_col_str(q, row, 8, &t->target_json);
    rc = rc ? rc : tw_pg_col_str(q, row, 9, &t->debug);
    t->version = tw_pg_col_i64(q, row, 10);
    rc = rc ? rc : tw_pg_col_str(q, row, 11, &t->result);
    t->once_at = tw_pg_col_i64(q, row, 12);
    rc = rc ? rc : tw_pg_col_str(q, row, 13, &t->repeat);
    t->anchor_day = tw_pg_col_i64(q, row, 14);
    rc = rc ? rc : tw_pg_col_str(q, row, 15, &t->action);
    rc = rc ? rc : tw_pg_col_str(q, row, 16, &t->export_index);
    rc = rc ? rc : tw_pg_col_str(q, row, 17, &t->campaign_id);
    t->segment_id = tw_pg_col_i64(q, row, 18);
    rc = rc ? rc : tw_pg_col_str(q, row, 19, &t->result_path);
    t->result_size = tw_pg_col_i64(q, row, 20);
    rc = rc ? rc : tw_pg_col_str(q, row, 21, &t->result_sha256);
    t->result_time = tw_pg_col_i64(q, row, 22);
    t->result_expired = tw_pg_col_i64(q, row, 23) != 0;
    t->result_ino = tw_pg_col_i64(q, row, 24);
    rc = rc ? rc : tw_pg_col_str(q, row, 25, &t->export_format);
    rc = rc ? rc : tw_pg_col_str(q, row, 26, &t->compression);
    rc = rc ? rc : tw_pg_col_str(q, row, 27, &t->since);
    return rc;
}

static int chain_quota(struct tw_pg_store *p, int64_t chain, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int64_t n;
    int ret;

    if (p->limits.max_tasks_per_chain <= 0)
        return TW_OK;
    tw_pg_i64(&a, chain);
    ret = tw_pg_run(p, TW_PG_TASK_COUNT_CHAIN, &a, &r, NULL, "count tasks of chain", err);
    if (ret != TW_OK)
        return ret;
    n = tw_pg_col_i64(r, 0, 0);
    PQclear(r);
    if (n >= p->limits.max_tasks_per_chain)
        return tw_err_field(err, TW_ELIMIT, "chain",
                            "chain %" PRId64 " already has %" PRId64 " tasks, the most "
                            "limits.max_tasks_per_chain allows; delete tasks it no longer "
                            "needs",
                            chain, n);
    return TW_OK;
}

static int insert_idem(struct tw_pg_store *p, int64_t task_id, const struct tw_idem *idem,
                       struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int ret;

    tw_pg_text(&a, idem->caller);
    tw_pg_text(&a, idem->key);
    tw_pg_text(&a, idem->body_sha256);
    tw_pg_i64(&a, task_id);
    tw_pg_i64(&a, idem->created);
    ret = tw_pg_run(p, TW_PG_IDEM_INSERT, &a, NULL, NULL, "insert idempotency key", err);
    if (ret == TW_ECONFLICT)
        ret = tw_err_set(err, TW_ECONFLICT, "idempotency key already used by this caller");
    return ret;
}

int tw_pg_task_insert(struct tw_store *s, struct tw_task *t, const struct tw_idem *idem,
                      struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 };
    PGresult *r = NULL;
    int64_t id = 0;
    int ret;

    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    ret = chain_quota(p, t->chain, err);
    if (ret != TW_OK)
        return tw_pg_op_end(p, ret, err);
    tw_pg_i64(&a, t->chain);
    tw_pg_text(&a, t->desc ? t->desc : "");
    tw_pg_i64(&a, t->state);
    tw_pg_i64(&a, t->last_run_date);
    tw_pg_i64(&a, t->last_modified);
    tw_pg_i64(&a, t->created_date);
    tw_pg_text(&a, t->trigger_json);
    tw_pg_text(&a, t->target_json);
    tw_pg_text(&a, t->debug ? t->debug : "");
    tw_pg_text(&a, t->result);
    tw_pg_i64(&a, t->once_at);
    tw_pg_text(&a, t->repeat ? t->repeat : "");
    tw_pg_i64(&a, t->anchor_day);
    tw_pg_text(&a, t->action);
    tw_pg_text(&a, t->export_index);
    tw_pg_text(&a, t->campaign_id);
    tw_pg_i64(&a, t->segment_id);
    tw_pg_text(&a, t->result_path);
    tw_pg_i64(&a, t->result_size);
    tw_pg_text(&a, t->result_sha256);
    tw_pg_i64(&a, t->result_time);
    tw_pg_i64(&a, t->result_expired ? 1 : 0);
    tw_pg_text(&a, t->export_format ? t->export_format : "csv");
    tw_pg_text(&a, t->compression ? t->compression : "none");
    tw_pg_text(&a, t->since);
    ret = tw_pg_run(p, TW_PG_TASK_INSERT, &a, &r, NULL, "insert task", err);
    if (ret == TW_OK) {
        id = tw_pg_col_i64(r, 0, 0);
        PQclear(r);
    }
    if (ret == TW_OK && idem != NULL)
        ret = insert_idem(p, id, idem, err);
    ret = tw_pg_op_end(p, ret, err);
    if (ret == TW_OK) {
        t->id = id;
        t->version = 1;
    }
    return ret;
}

int tw_pg_task_get(struct tw_store *s, int64_t id, struct tw_task *out, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    memset(out, 0, sizeof(*out));
    tw_pg_i64(&a, id);
    ret = tw_pg_run(TW_PG(s), TW_PG_TASK_GET, &a, &r, NULL, "get task", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    else if (read_task(r, 0, out) != TW_OK)
        ret = tw_err_set(err, TW_ENOMEM, "store: get task: out of memory");
    PQclear(r);
    if (ret != TW_OK)
        tw_task_fini(out);
    return ret;
}

/* $1..$5 of TW_PG_TASK_LIST / TW_PG_TASK_COUNT. */
static int filter_args(struct tw_pg_args *a, const struct tw_task_filter *f)
{
    tw_pg_i64(a, f->state < 0 ? -1 : f->state);
    tw_pg_text(a, f->action);
    tw_pg_text(a, f->export_index);
    tw_pg_text(a, f->campaign_id);
    return tw_pg_i64s(a, f->chains, f->n_chains);
}

int tw_pg_task_list(struct tw_store *s, const struct tw_task_filter *f, struct tw_task **out,
                    size_t *n, int64_t *total, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    struct tw_task *tasks = NULL;
    PGresult *r = NULL;
    int i, rows, ret;

    *out = NULL;
    *n = 0;
    *total = 0;
    if (f->n_chains == 0)
        return TW_OK;
    if (filter_args(&a, f) != TW_OK) {
        tw_pg_args_fini(&a);
        return tw_err_set(err, TW_ENOMEM, "store: list tasks: out of memory");
    }
    ret = tw_pg_run(TW_PG(s), TW_PG_TASK_COUNT, &a, &r, NULL, "count tasks", err);
    if (ret == TW_OK) {
        *total = tw_pg_col_i64(r, 0, 0);
        PQclear(r);
        tw_pg_i64(&a, f->limit);
        tw_pg_i64(&a, f->offset);
        ret = tw_pg_run(TW_PG(s), TW_PG_TASK_LIST, &a, &r, NULL, "list tasks", err);
    }
    tw_pg_args_fini(&a);
    if (ret != TW_OK) {
        *total = 0;
        return ret;
    }
    rows = PQntuples(r);
    if (rows > 0) {
        tasks = tw_calloc((size_t)rows, sizeof(*tasks));
        if (tasks == NULL)
            ret = TW_ENOMEM;
    }
    for (i = 0; ret == TW_OK && i < rows; i++)
        ret = read_task(r, i, &tasks[i]);
    PQclear(r);
    if (ret != TW_OK) {
        tw_store_free_tasks(tasks, tasks != NULL ? (size_t)rows : 0);
        *total = 0;
        return tw_err_set(err, TW_ENOMEM, "store: list tasks: out of memory");
    }
    *out = tasks;
    *n = (size_t)rows;
    return TW_OK;
}

static int explain_update_miss(struct tw_pg_store *p, int64_t id, int64_t expected,
                               struct tw_err *err)
{
    int64_t version = 0;
    int state = 0;
    int ret = tw_pg_task_probe(p, id, &version, &state, err);

    if (ret != TW_OK)
        return ret;
    if (state == TW_STATE_INPROGRESS)
        return tw_err_field(err, TW_ECONFLICT, "state", "task is INPROGRESS");
    if (version != expected)
        return tw_err_field(err, TW_ECONFLICT, "version",
                            "version %lld does not match stored version %lld", (long long)expected,
                            (long long)version);
    return tw_err_set(err, TW_ESTORE, "store: update task %lld: no row changed", (long long)id);
}

int tw_pg_task_update(struct tw_store *s, struct tw_task *t, int64_t expected_version,
                      const char *log_msg, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 };
    int64_t changed = 0;
    int ret;

    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    tw_pg_i64(&a, t->id);
    tw_pg_i64(&a, expected_version);
    tw_pg_text(&a, t->desc ? t->desc : "");
    tw_pg_text(&a, t->trigger_json);
    tw_pg_text(&a, t->target_json);
    tw_pg_text(&a, t->debug ? t->debug : "");
    tw_pg_i64(&a, t->state);
    tw_pg_i64(&a, t->once_at);
    tw_pg_text(&a, t->repeat ? t->repeat : "");
    tw_pg_i64(&a, t->anchor_day);
    tw_pg_text(&a, t->action);
    tw_pg_text(&a, t->export_index);
    tw_pg_text(&a, t->campaign_id);
    tw_pg_i64(&a, t->segment_id);
    tw_pg_i64(&a, t->last_modified);
    tw_pg_text(&a, t->export_format ? t->export_format : "csv");
    tw_pg_text(&a, t->compression ? t->compression : "none");
    tw_pg_text(&a, t->since);
    ret = tw_pg_run(p, TW_PG_TASK_UPDATE, &a, NULL, &changed, "update task", err);
    if (ret == TW_OK && changed == 0)
        ret = explain_update_miss(p, t->id, expected_version, err);
    if (ret == TW_OK && log_msg != NULL)
        ret = tw_pg_log_insert(p, t->id, t->last_modified, log_msg, 0, NULL, err);
    if (ret == TW_OK && log_msg != NULL)
        ret = tw_pg_log_trim(p, t->id, err);
    ret = tw_pg_op_end(p, ret, err);
    if (ret == TW_OK)
        t->version = expected_version + 1;
    return ret;
}

/* Run a statement on task id alone; TW_ENOTFOUND when it touched no row. */
static int on_task(struct tw_pg_store *p, enum tw_pg_stmt st, int64_t id, const char *what,
                   struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int64_t changed = 0;
    int ret;

    tw_pg_i64(&a, id);
    ret = tw_pg_run(p, st, &a, NULL, &changed, what, err);
    if (ret == TW_OK && changed == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    return ret;
}

int tw_pg_task_delete(struct tw_store *s, int64_t id, struct tw_err *err)
{
    /* one statement: ON DELETE CASCADE removes logs, idempotency keys and the webhook */
    return on_task(TW_PG(s), TW_PG_TASK_DELETE, id, "delete task", err);
}

int tw_pg_result_expire(struct tw_store *s, int64_t id, struct tw_err *err)
{
    return on_task(TW_PG(s), TW_PG_RESULT_EXPIRE, id, "expire result", err);
}

int tw_pg_task_scan(struct tw_store *s, tw_store_scan_fn *fn, void *ctx, struct tw_err *err)
{
    int64_t last = 0;
    int rows = SCAN_BATCH, i;
    int ret = TW_OK;

    /* keyset batches (id > last): each batch sits in its PGresult, so the callback may call
     * any store function, and a million tasks never sit in memory at once */
    while (ret == TW_OK && rows == SCAN_BATCH) {
        struct tw_pg_args a = { 0 };
        PGresult *r;

        tw_pg_i64(&a, last);
        tw_pg_i64(&a, SCAN_BATCH);
        ret = tw_pg_run(TW_PG(s), TW_PG_TASK_SCAN, &a, &r, NULL, "scan tasks", err);
        if (ret != TW_OK)
            break;
        rows = PQntuples(r);
        for (i = 0; ret == TW_OK && i < rows; i++) {
            struct tw_task_brief b;

            b.id = tw_pg_col_i64(r, i, 0);
            b.chain = tw_pg_col_i64(r, i, 1);
            b.state = (int)tw_pg_col_i64(r, i, 2);
            b.once_at = tw_pg_col_i64(r, i, 3);
            b.version = tw_pg_col_i64(r, i, 4);
            b.repeat = PQgetvalue(r, i, 5);
            last = b.id;
            ret = fn(ctx, &b);
        }
        PQclear(r);
    }
    return ret;
}

int tw_pg_task_count_by_state(struct tw_store *s, int64_t counts[4], struct tw_err *err)
{
    PGresult *r;
    int i, ret;

    memset(counts, 0, 4 * sizeof(counts[0]));
    ret = tw_pg_run(TW_PG(s), TW_PG_TASK_COUNT_STATE, NULL, &r, NULL, "count tasks", err);
    if (ret != TW_OK)
        return ret;
    for (i = 0; i < PQntuples(r); i++) {
        int64_t state = tw_pg_col_i64(r, i, 0);

        if (state >= 0 && state < 4)
            counts[state] = tw_pg_col_i64(r, i, 1);
    }
    PQclear(r);
    return TW_OK;
}

int tw_pg_result_usage(struct tw_store *s, int64_t *files, int64_t *bytes, struct tw_err *err)
{
    PGresult *r;
    int ret;

    *files = 0;
    *bytes = 0;
    ret = tw_pg_run(TW_PG(s), TW_PG_RESULT_BYTES, NULL, &r, NULL, "sum result sizes", err);
    if (ret != TW_OK)
        return ret;
    *files = tw_pg_col_i64(r, 0, 0);
    *bytes = tw_pg_col_i64(r, 0, 1);
    PQclear(r);
    return TW_OK;
}

/* ---- logs ---- */

int tw_pg_log_insert(struct tw_pg_store *p, int64_t task_id, int64_t time, const char *msg,
                     int kind, const int64_t counts[4], struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int i;

    tw_pg_i64(&a, task_id);
    tw_pg_i64(&a, time);
    tw_pg_text(&a, msg ? msg : "");
    tw_pg_i64(&a, kind);
    tw_pg_i64(&a, counts != NULL);
    for (i = 0; i < 4; i++)
        tw_pg_i64(&a, counts ? counts[i] : 0);
    return tw_pg_run(p, TW_PG_LOG_INSERT, &a, NULL, NULL, "append log", err);
}

int tw_pg_log_trim(struct tw_pg_store *p, int64_t task_id, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    uint32_t runs = p->limits.logs_keep_runs;
    int64_t changed = 0;
    int ret;

    if (p->limits.logs_keep == 0)
        return TW_OK;
    tw_pg_i64(&a, task_id);
    tw_pg_i64(&a, p->limits.logs_keep);
    tw_pg_i64(&a, runs > 0 ? runs - 1 : INT64_MAX);
    ret = tw_pg_run(p, TW_PG_LOG_TRIM, &a, NULL, &changed, "trim logs", err);
    if (ret == TW_OK)
        p->upkeep.logs_trimmed += (uint64_t)changed;
    return ret;
}

int tw_pg_log_list(struct tw_store *s, int64_t task_id, uint32_t limit, uint32_t offset,
                   struct tw_task_log **out, size_t *n, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 };
    struct tw_task_log *logs = NULL;
    int64_t version = 0;
    int state = 0;
    PGresult *r;
    int i, rows, ret;

    *out = NULL;
    *n = 0;
    tw_pg_i64(&a, task_id);
    tw_pg_i64(&a, limit);
    tw_pg_i64(&a, offset);
    ret = tw_pg_run(p, TW_PG_LOG_LIST, &a, &r, NULL, "list logs", err);
    if (ret != TW_OK)
        return ret;
    rows = PQntuples(r);
    if (rows > 0 && (logs = tw_calloc((size_t)rows, sizeof(*logs))) == NULL)
        ret = TW_ENOMEM;
    for (i = 0; ret == TW_OK && i < rows; i++) {
        struct tw_task_log *l = &logs[i];

        l->id = tw_pg_col_i64(r, i, 0);
        l->time = tw_pg_col_i64(r, i, 1);
        l->has_counts = tw_pg_col_i64(r, i, 3) != 0;
        l->total = tw_pg_col_i64(r, i, 4);
        l->errors = tw_pg_col_i64(r, i, 5);
        l->skips = tw_pg_col_i64(r, i, 6);
        l->success = tw_pg_col_i64(r, i, 7);
        ret = tw_pg_col_str(r, i, 2, &l->msg);
    }
    PQclear(r);
    if (ret != TW_OK) {
        tw_store_free_logs(logs, logs != NULL ? (size_t)rows : 0);
        return tw_err_set(err, TW_ENOMEM, "store: list logs: out of memory");
    }
    /* no rows: an empty page of a real task, or no task at all */
    if (rows == 0)
        return tw_pg_task_probe(p, task_id, &version, &state, err);
    *out = logs;
    *n = (size_t)rows;
    return TW_OK;
}

static int touch(struct tw_pg_store *p, int64_t id, int64_t time, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    int64_t changed = 0;
    int ret;

    tw_pg_i64(&a, id);
    tw_pg_i64(&a, time);
    ret = tw_pg_run(p, TW_PG_TASK_TOUCH, &a, NULL, &changed, "update task", err);
    if (ret == TW_OK && changed == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    return ret;
}

int tw_pg_log_add(struct tw_store *s, int64_t task_id, int64_t time, const char *msg,
                  struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    int ret = tw_pg_op_begin(p, err);

    if (ret != TW_OK)
        return ret;
    ret = touch(p, task_id, time, err);
    if (ret == TW_OK)
        ret = tw_pg_log_insert(p, task_id, time, msg, 0, NULL, err);
    if (ret == TW_OK)
        ret = tw_pg_log_trim(p, task_id, err);
    return tw_pg_op_end(p, ret, err);
}

/* ---- runs ---- */

static int check_running(struct tw_pg_store *p, int64_t id, bool want_running, int *state,
                         struct tw_err *err)
{
    int64_t version = 0;
    int ret = tw_pg_task_probe(p, id, &version, state, err);

    if (ret != TW_OK)
        return ret;
    if (!want_running && *state == TW_STATE_INPROGRESS)
        return tw_err_field(err, TW_ECONFLICT, "state", "task is INPROGRESS");
    if (want_running && *state != TW_STATE_INPROGRESS)
        return tw_err_field(err, TW_ECONFLICT, "state", "task is not INPROGRESS (it is %s)",
                            tw_task_state_name(*state));
    return TW_OK;
}

static int log_transition(struct tw_pg_store *p, int64_t id, int64_t time, int from, int to,
                          struct tw_err *err)
{
    char msg[64];

    snprintf(msg, sizeof(msg), "%s -> %s", tw_task_state_name(from), tw_task_state_name(to));
    return tw_pg_log_insert(p, id, time, msg, 0, NULL, err);
}

int tw_pg_run_start(struct tw_store *s, int64_t id, int64_t now, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    struct tw_pg_args a = { 0 };
    int state = 0;
    int ret;

    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    ret = check_running(p, id, false, &state, err);
    if (ret == TW_OK) {
        tw_pg_i64(&a, id);
        tw_pg_i64(&a, now);
        ret = tw_pg_run(p, TW_PG_RUN_START, &a, NULL, NULL, "start run", err);
    }
    if (ret == TW_OK)
        ret = log_transition(p, id, now, state, TW_STATE_INPROGRESS, err);
    return tw_pg_op_end(p, ret, err);
}

int tw_pg_run_progress(struct tw_store *s, int64_t id, int64_t now, int64_t total, int64_t errors,
                       int64_t skips, int64_t success, int64_t attempt, struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    const int64_t c[4] = { total, errors, skips, success };
    struct tw_pg_args a = { 0 };
    int64_t changed = 0;
    int state = 0;
    int ret, i;

    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    ret = tw_pg_run_fence(p, id, attempt, err);
    if (ret == TW_OK)
        ret = check_running(p, id, true, &state, err);
    if (ret == TW_OK) {
        tw_pg_i64(&a, id);
        tw_pg_i64(&a, now);
        for (i = 0; i < 4; i++)
            tw_pg_i64(&a, c[i]);
        ret = tw_pg_run(p, TW_PG_LOG_PROGRESS_UPDATE, &a, NULL, &changed, "update progress", err);
    }
    if (ret == TW_OK && changed == 0)
        ret = tw_pg_log_insert(p, id, now, "progress", 1, c, err);
    if (ret == TW_OK)
        ret = touch(p, id, now, err);
    return tw_pg_op_end(p, ret, err);
}

static int finish_row(struct tw_pg_store *p, int64_t id, const struct tw_run_outcome *o,
                      struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    struct stat st;
    int64_t ino = 0;

    /* as bind_finish (store_runs.c): the inode of the file published */
    if (o->result_path != NULL && lstat(o->result_path, &st) == 0 && S_ISREG(st.st_mode))
        ino = (int64_t)st.st_ino;
    tw_pg_i64(&a, id);
    tw_pg_i64(&a, o->state);
    tw_pg_i64(&a, o->time);
    tw_pg_text(&a, o->result);
    tw_pg_text(&a, o->result_path);
    tw_pg_i64(&a, o->result_size);
    tw_pg_text(&a, o->result_sha256);
    tw_pg_i64(&a, o->next_once_at);
    tw_pg_text(&a, o->next_trigger_json);
    tw_pg_i64(&a, ino);
    return tw_pg_run(p, TW_PG_RUN_FINISH, &a, NULL, NULL, "finish run", err);
}

int tw_pg_run_finish(struct tw_store *s, int64_t id, const struct tw_run_outcome *o,
                     struct tw_err *err)
{
    struct tw_pg_store *p = TW_PG(s);
    const int64_t c[4] = { o->total, o->errors, o->skips, o->success };
    struct tw_pg_args a = { 0 };
    int state = 0;
    int ret;

    if (o->state != TW_STATE_DONE && o->state != TW_STATE_ERROR && o->state != TW_STATE_READY)
        return tw_err_set(err, TW_EINTERNAL, "store: finish run: %s is not an end state",
                          tw_task_state_name(o->state));
    ret = tw_pg_op_begin(p, err);
    if (ret != TW_OK)
        return ret;
    ret = tw_pg_run_fence(p, id, o->attempt, err);
    if (ret == TW_OK)
        ret = check_running(p, id, true, &state, err);
    if (ret == TW_OK) {
        tw_pg_i64(&a, id);
        ret = tw_pg_run(p, TW_PG_LOG_PROGRESS_DELETE, &a, NULL, NULL, "finish run", err);
    }
    if (ret == TW_OK)
        ret = log_transition(p, id, o->time, TW_STATE_INPROGRESS, o->state, err);
    if (ret == TW_OK && o->msg != NULL)
        ret = tw_pg_log_insert(p, id, o->time, o->msg, 2, o->has_counts ? c : NULL, err);
    if (ret == TW_OK)
        ret = finish_row(p, id, o, err);
    if (ret == TW_OK && o->state == TW_STATE_DONE && o->since_key != NULL) {
        struct tw_pg_args w = { 0 };

        tw_pg_i64(&w, id);
        tw_pg_i64(&w, o->since_at);
        tw_pg_text(&w, o->since_key);
        ret = tw_pg_run(p, TW_PG_SINCE_SAVE, &w, NULL, NULL, "save the export watermark", err);
    }
    if (ret == TW_OK)
        ret = tw_pg_log_trim(p, id, err);
    return tw_pg_op_end(p, ret, err);
}

int tw_pg_since_get(struct tw_store *s, int64_t id, int64_t *at, char **key, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    PGresult *r;
    int ret;

    *at = 0;
    *key = NULL;
    tw_pg_i64(&a, id);
    ret = tw_pg_run(TW_PG(s), TW_PG_SINCE_GET, &a, &r, NULL, "read the export watermark", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    } else {
        *at = tw_pg_col_i64(r, 0, 0);
        if (tw_pg_col_str(r, 0, 1, key) != TW_OK)
            ret = tw_err_set(err, TW_ENOMEM, "store: out of memory reading the export watermark");
    }
    PQclear(r);
    return ret;
}

int tw_pg_results_expiring(struct tw_store *s, int64_t before, uint32_t limit,
                           struct tw_store_expiring **out, size_t *n, struct tw_err *err)
{
    struct tw_pg_args a = { 0 };
    struct tw_store_expiring *v = NULL;
    size_t cap = 0, count = 0;
    PGresult *r;
    int i, ret;

    *out = NULL;
    *n = 0;
    tw_pg_i64(&a, before);
    tw_pg_i64(&a, limit);
    ret = tw_pg_run(TW_PG(s), TW_PG_RESULTS_EXPIRING, &a, &r, NULL, "list expiring results", err);
    if (ret != TW_OK)
        return ret;
    for (i = 0; ret == TW_OK && i < PQntuples(r); i++) {
        ret = grow((void **)&v, &cap, count, sizeof(*v));
        if (ret == TW_OK) {
            v[count].id = tw_pg_col_i64(r, i, 0);
            v[count].size = tw_pg_col_i64(r, i, 2);
            ret = tw_pg_col_str(r, i, 1, &v[count].path);
            count++;
        }
    }
    PQclear(r);
    if (ret != TW_OK) {
        tw_store_free_expiring(v, count);
        return tw_err_set(err, TW_ENOMEM, "store: list expiring results: out of memory");
    }
    *out = v;
    *n = count;
    return TW_OK;
}

/* ---- idempotency ---- */

int tw_pg_idem_get(struct tw_store *s, const char *caller, const char *key, int64_t not_before,
                   int64_t *task_id, char body_sha256[65], struct tw_err *err)
{
    struct tw_pg_args a = { 0 }, b = { 0 };
    PGresult *r;
    int ret;

    /* prune first: an expired key must not block re-use of the same key */
    tw_pg_i64(&a, not_before);
    ret = tw_pg_run(TW_PG(s), TW_PG_IDEM_PRUNE, &a, NULL, NULL, "prune idempotency keys", err);
    if (ret != TW_OK)
        return ret;
    tw_pg_text(&b, caller);
    tw_pg_text(&b, key);
    tw_pg_i64(&b, not_before);
    ret = tw_pg_run(TW_PG(s), TW_PG_IDEM_GET, &b, &r, NULL, "get idempotency key", err);
    if (ret != TW_OK)
        return ret;
    if (PQntuples(r) == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "no such idempotency key");
    } else {
        *task_id = tw_pg_col_i64(r, 0, 0);
        snprintf(body_sha256, 65, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return ret;
}

/*
 * Tasks: insert (with its idempotency key), get, filtered list, conditional update, delete,
 * the scheduler's scan and the per-state counts.
 *
 * Updates are conditional in SQL (WHERE id AND version AND state <> INPROGRESS), so a stale
 * client or a running task can never be overwritten; only when nothing matched does a second
 * query find out why, so the error can tell "not found", "in progress" and "version" apart.
 * The scan reads in keyset batches (id > last) with no statement open while the callback
 * runs: the callback may call any store function, and a million tasks never sit in memory.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <string.h>

#include <sqlite3.h>

#include "core/mem.h"
#include "store/store_int.h"

#define SCAN_BATCH 512

int tw_store_task_probe(struct tw_store *s, int64_t id, int64_t *version, int *state,
                        struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TASK_PROBE);
    int ret;

    sqlite3_bind_int64(q, 1, id);
    ret = tw_store_step(s, q, "read task", err);
    if (ret == 1) {
        *version = sqlite3_column_int64(q, 0);
        *state = sqlite3_column_int(q, 1);
        ret = TW_OK;
    } else if (ret == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    }
    tw_store_done(q);
    return ret;
}

/* Columns in the order of TASK_COLS (store_sql.c). On failure *t is partly filled: fini it. */
static int read_task(sqlite3_stmt *q, struct tw_task *t)
{
    int rc = TW_OK;

    t->id = sqlite3_column_int64(q, 0);
    t->chain = sqlite3_column_int64(q, 1);
    rc = rc ? rc : tw_store_col_str(q, 2, &t->desc);
    t->state = sqlite3_column_int(q, 3);
    t->last_run_date = sqlite3_column_int64(q, 4);
    t->last_modified = sqlite3_column_int64(q, 5);
    t->created_date = sqlite3_column_int64(q, 6);
    rc = rc ? rc : tw_store_col_str(q, 7, &t->trigger_json);
    rc = rc ? rc : tw_store_col_str(q, 8, &t->target_json);
    rc = rc ? rc : tw_store_col_str(q, 9, &t->debug);
    t->version = sqlite3_column_int64(q, 10);
    rc = rc ? rc : tw_store_col_str(q, 11, &t->result);
    t->once_at = sqlite3_column_int64(q, 12);
    rc = rc ? rc : tw_store_col_str(q, 13, &t->repeat);
    t->anchor_day = sqlite3_column_int64(q, 14);
    rc = rc ? rc : tw_store_col_str(q, 15, &t->action);
    rc = rc ? rc : tw_store_col_str(q, 16, &t->export_index);
    rc = rc ? rc : tw_store_col_str(q, 17, &t->campaign_id);
    t->segment_id = sqlite3_column_int64(q, 18);
    rc = rc ? rc : tw_store_col_str(q, 19, &t->result_path);
    t->result_size = sqlite3_column_int64(q, 20);
    rc = rc ? rc : tw_store_col_str(q, 21, &t->result_sha256);
    t->result_time = sqlite3_column_int64(q, 22);
    t->result_expired = sqlite3_column_int(q, 23) != 0;
    t->result_ino = sqlite3_column_int64(q, 24);
    rc = rc ? rc : tw_store_col_str(q, 25, &t->export_format);
    rc = rc ? rc : tw_store_col_str(q, 26, &t->compression);
    rc = rc ? rc : tw_store_col_str(q, 27, &t->since);
    return rc;
}

static int insert_idem(struct tw_store *s, int64_t task_id, const struct tw_idem *idem,
                       struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_IDEM_INSERT);
    int ret;

    tw_store_bind_text(q, 1, idem->caller);
    tw_store_bind_text(q, 2, idem->key);
    tw_store_bind_text(q, 3, idem->body_sha256);
    sqlite3_bind_int64(q, 4, task_id);
    sqlite3_bind_int64(q, 5, idem->created);
    ret = tw_store_step(s, q, "insert idempotency key", err);
    tw_store_done(q);
    if (ret == TW_ECONFLICT)
        ret = tw_err_set(err, TW_ECONFLICT, "idempotency key already used by this caller");
    return ret < 0 ? ret : TW_OK;
}

int tw_store_task_insert(struct tw_store *s, struct tw_task *t, const struct tw_idem *idem,
                         struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TASK_INSERT);
    int64_t id = 0;
    int rc = SQLITE_OK;
    int ret;

    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    ret = tw_store_chain_quota(s, t->chain, err);
    if (ret != TW_OK)
        return tw_store_op_end(s, ret, err);
    /* any non-zero rc means a bind failed; errmsg holds why */
    rc |= sqlite3_bind_int64(q, 1, t->chain);
    rc |= tw_store_bind_text(q, 2, t->desc ? t->desc : "");
    rc |= sqlite3_bind_int(q, 3, t->state);
    rc |= sqlite3_bind_int64(q, 4, t->last_run_date);
    rc |= sqlite3_bind_int64(q, 5, t->last_modified);
    rc |= sqlite3_bind_int64(q, 6, t->created_date);
    rc |= tw_store_bind_text(q, 7, t->trigger_json);
    rc |= tw_store_bind_text(q, 8, t->target_json);
    rc |= tw_store_bind_text(q, 9, t->debug ? t->debug : "");
    rc |= tw_store_bind_text(q, 10, t->result);
    rc |= sqlite3_bind_int64(q, 11, t->once_at);
    rc |= tw_store_bind_text(q, 12, t->repeat ? t->repeat : "");
    rc |= sqlite3_bind_int64(q, 13, t->anchor_day);
    rc |= tw_store_bind_text(q, 14, t->action);
    rc |= tw_store_bind_text(q, 15, t->export_index);
    rc |= tw_store_bind_text(q, 16, t->campaign_id);
    rc |= sqlite3_bind_int64(q, 17, t->segment_id);
    rc |= tw_store_bind_text(q, 18, t->result_path);
    rc |= sqlite3_bind_int64(q, 19, t->result_size);
    rc |= tw_store_bind_text(q, 20, t->result_sha256);
    rc |= sqlite3_bind_int64(q, 21, t->result_time);
    rc |= sqlite3_bind_int(q, 22, t->result_expired ? 1 : 0);
    rc |= tw_store_bind_text(q, 23, t->export_format ? t->export_format : "csv");
    rc |= tw_store_bind_text(q, 24, t->compression ? t->compression : "none");
    rc |= tw_store_bind_text(q, 25, t->since);
    if (rc != SQLITE_OK)
        ret = tw_store_fail(s, rc, "insert task", err);
    else
        ret = tw_store_step(s, q, "insert task", err);
    if (ret == 0)
        tw_store_quota_inserted(s, t->chain);
    id = sqlite3_last_insert_rowid(s->db);
    tw_store_done(q);
    if (ret == 0 && idem != NULL)
        ret = insert_idem(s, id, idem, err);
    ret = tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
    if (ret == TW_OK) {
        t->id = id;
        t->version = 1;
    }
    return ret;
}

int tw_store_task_get(struct tw_store *s, int64_t id, struct tw_task *out, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TASK_GET);
    int ret;

    memset(out, 0, sizeof(*out));
    sqlite3_bind_int64(q, 1, id);
    ret = tw_store_step(s, q, "get task", err);
    if (ret == 1) {
        ret = read_task(q, out);
        if (ret != TW_OK)
            ret = tw_err_set(err, ret, "store: get task: out of memory");
    } else if (ret == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    }
    tw_store_done(q);
    if (ret != TW_OK)
        tw_task_fini(out);
    return ret;
}

/* ?1..?6 and the chains of a TW_IN_TASK_LIST/TW_IN_TASK_COUNT statement. */
static int bind_filter(sqlite3_stmt *q, const struct tw_task_filter *f, size_t slots)
{
    int rc = SQLITE_OK;

    rc |= sqlite3_bind_int(q, 1, f->state < 0 ? -1 : f->state);
    rc |= tw_store_bind_text(q, 2, f->action);
    rc |= tw_store_bind_text(q, 3, f->export_index);
    rc |= tw_store_bind_text(q, 4, f->campaign_id);
    rc |= sqlite3_bind_int64(q, 5, f->limit);
    rc |= sqlite3_bind_int64(q, 6, f->offset);
    rc |= tw_store_bind_in(q, f->chains, f->n_chains, slots);
    return rc;
}

int tw_store_task_list(struct tw_store *s, const struct tw_task_filter *f, struct tw_task **out,
                       size_t *n, int64_t *total, struct tw_err *err)
{
    struct tw_task *tasks = NULL;
    size_t cap = 0, count = 0, slots = 0;
    sqlite3_stmt *q = NULL;
    int ret;

    *out = NULL;
    *n = 0;
    *total = 0;
    if (f->n_chains == 0)
        return TW_OK; /* a caller that may read no chain sees no tasks */
    ret = tw_store_in_stmt(s, TW_IN_TASK_COUNT, f->n_chains, &q, &slots, err);
    if (ret != TW_OK)
        return ret;
    if (bind_filter(q, f, slots) != SQLITE_OK)
        ret = tw_store_fail(s, SQLITE_ERROR, "count tasks", err);
    else
        ret = tw_store_step(s, q, "count tasks", err);
    if (ret == 1)
        *total = sqlite3_column_int64(q, 0);
    tw_store_done(q);
    if (ret < 0)
        return ret;

    ret = tw_store_in_stmt(s, TW_IN_TASK_LIST, f->n_chains, &q, &slots, err);
    if (ret != TW_OK)
        return ret;
    if (bind_filter(q, f, slots) != SQLITE_OK) {
        ret = tw_store_fail(s, SQLITE_ERROR, "list tasks", err);
        goto out;
    }
    for (;;) {
        ret = tw_store_step(s, q, "list tasks", err);
        if (ret <= 0)
            break;
        ret = tw_store_grow((void **)&tasks, &cap, count, sizeof(*tasks));
        if (ret == TW_OK) {
            count++;
            ret = read_task(q, &tasks[count - 1]);
        }
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: list tasks: out of memory");
            break;
        }
    }
out:
    tw_store_done(q);
    if (ret < 0) {
        tw_store_free_tasks(tasks, count);
        *total = 0;
        return ret;
    }
    *out = tasks;
    *n = count;
    return TW_OK;
}

/* Why did the conditional update match nothing? */
static int explain_update_miss(struct tw_store *s, int64_t id, int64_t expected, struct tw_err *err)
{
    int64_t version = 0;
    int state = 0;
    int ret = tw_store_task_probe(s, id, &version, &state, err);

    if (ret != TW_OK)
        return ret;
    /* a running task refuses any version: say the lasting reason first */
    if (state == TW_STATE_INPROGRESS)
        return tw_err_field(err, TW_ECONFLICT, "state", "task is INPROGRESS");
    if (version != expected)
        return tw_err_field(err, TW_ECONFLICT, "version",
                            "version %lld does not match stored version %lld", (long long)expected,
                            (long long)version);
    return tw_err_set(err, TW_ESTORE, "store: update task %lld: no row changed", (long long)id);
}

int tw_store_task_update(struct tw_store *s, struct tw_task *t, int64_t expected_version,
                         const char *log_msg, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TASK_UPDATE);
    int rc = SQLITE_OK;
    int ret;

    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    rc |= sqlite3_bind_int64(q, 1, t->id);
    rc |= sqlite3_bind_int64(q, 2, expected_version);
    rc |= tw_store_bind_text(q, 3, t->desc ? t->desc : "");
    rc |= tw_store_bind_text(q, 4, t->trigger_json);
    rc |= tw_store_bind_text(q, 5, t->target_json);
    rc |= tw_store_bind_text(q, 6, t->debug ? t->debug : "");
    rc |= sqlite3_bind_int(q, 7, t->state);
    rc |= sqlite3_bind_int64(q, 8, t->once_at);
    rc |= tw_store_bind_text(q, 9, t->repeat ? t->repeat : "");
    rc |= sqlite3_bind_int64(q, 10, t->anchor_day);
    rc |= tw_store_bind_text(q, 11, t->action);
    rc |= tw_store_bind_text(q, 12, t->export_index);
    rc |= tw_store_bind_text(q, 13, t->campaign_id);
    rc |= sqlite3_bind_int64(q, 14, t->segment_id);
    rc |= sqlite3_bind_int64(q, 15, t->last_modified);
    rc |= tw_store_bind_text(q, 16, t->export_format ? t->export_format : "csv");
    rc |= tw_store_bind_text(q, 17, t->compression ? t->compression : "none");
    rc |= tw_store_bind_text(q, 18, t->since);
    if (rc != SQLITE_OK)
        ret = tw_store_fail(s, rc, "update task", err);
    else
        ret = tw_store_step(s, q, "update task", err);
    tw_store_done(q);
    if (ret == 0 && sqlite3_changes(s->db) == 0)
        ret = explain_update_miss(s, t->id, expected_version, err);
    if (ret == 0 && log_msg != NULL)
        ret = tw_store_log_insert(s, t->id, t->last_modified, log_msg, TW_LOG_PLAIN, NULL, err);
    if (ret == 0 && log_msg != NULL)
        ret = tw_store_log_trim(s, t->id, err); /* a task updated often, never run */
    ret = tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
    if (ret == TW_OK)
        t->version = expected_version + 1;
    return ret;
}

int tw_store_task_delete(struct tw_store *s, int64_t id, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TASK_DELETE);
    int ret;

    /* one statement: ON DELETE CASCADE removes the logs and idempotency keys with it */
    tw_store_quota_forget(s);
    sqlite3_bind_int64(q, 1, id);
    ret = tw_store_step(s, q, "delete task", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    if (sqlite3_changes(s->db) == 0)
        return tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    return TW_OK;
}

/* One row of a scan batch, copied out so no statement is open during the callback. */
struct scan_row {
    struct tw_task_brief b; /* b.repeat points at repeat below */
    char *repeat;           /* owned */
};

static void free_rows(struct scan_row *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        tw_free(rows[i].repeat);
        rows[i].repeat = NULL;
    }
}

/* Read up to SCAN_BATCH rows with id > after into rows; *got gets how many. */
static int scan_batch(struct tw_store *s, int64_t after, struct scan_row *rows, size_t *got,
                      struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TASK_SCAN);
    size_t k = 0;
    int ret;

    sqlite3_bind_int64(q, 1, after);
    sqlite3_bind_int(q, 2, SCAN_BATCH);
    for (;;) {
        struct scan_row *r;

        ret = tw_store_step(s, q, "scan tasks", err);
        if (ret != 1)
            break;
        r = &rows[k];

        r->b.id = sqlite3_column_int64(q, 0);
        r->b.chain = sqlite3_column_int64(q, 1);
        r->b.state = sqlite3_column_int(q, 2);
        r->b.once_at = sqlite3_column_int64(q, 3);
        r->b.version = sqlite3_column_int64(q, 4);
        k++;
        if (tw_store_col_str(q, 5, &r->repeat) != TW_OK) {
            ret = tw_err_set(err, TW_ENOMEM, "store: scan tasks: out of memory");
            break;
        }
        r->b.repeat = r->repeat ? r->repeat : "";
    }
    tw_store_done(q);
    *got = k;
    return ret < 0 ? ret : TW_OK;
}

int tw_store_task_scan(struct tw_store *s, tw_store_scan_fn *fn, void *ctx, struct tw_err *err)
{
    struct scan_row *rows;
    int64_t last = 0;
    size_t got = 0, i;
    int ret = TW_OK;

    rows = tw_calloc(SCAN_BATCH, sizeof(*rows));
    if (rows == NULL)
        return tw_err_set(err, TW_ENOMEM, "store: scan tasks: out of memory");
    do {
        ret = scan_batch(s, last, rows, &got, err);
        for (i = 0; ret == TW_OK && i < got; i++) {
            last = rows[i].b.id;
            ret = fn(ctx, &rows[i].b);
        }
        free_rows(rows, got);
    } while (ret == TW_OK && got == SCAN_BATCH);
    tw_free(rows);
    return ret;
}

int tw_store_task_count_by_state(struct tw_store *s, int64_t counts[4], struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TASK_COUNT_STATE);
    int state;
    int ret;

    memset(counts, 0, 4 * sizeof(counts[0]));
    for (;;) {
        ret = tw_store_step(s, q, "count tasks", err);
        if (ret != 1)
            break;
        state = sqlite3_column_int(q, 0);
        if (state >= 0 && state < 4)
            counts[state] = sqlite3_column_int64(q, 1);
    }
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

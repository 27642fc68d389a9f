/*
 * Task logs and the run state machine (docs/reference.md §1): start, progress, finish, and marking a
 * result expired.
 *
 * Log order is the id order (newest first = id DESC), never the time, because a run's last
 * entries share one second. run_finish therefore appends "INPROGRESS -> DONE" first and the
 * run's final entry ("success" or the error, with counts) second, so a GET shows, newest
 * first: "success", "INPROGRESS -> DONE", "READY -> INPROGRESS" -- the outcome on top, as in
 * docs/reference.md §1's example. The "progress" entry is one row (kind = TW_LOG_PROGRESS) updated
 * in place while the run lasts and removed when it ends, so it keeps its place below the start.
 * Every change here bumps the task's version and last_modified, progress included, so a poller
 * that compares versions sees every change.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "core/mem.h"
#include "store/store_int.h"

int tw_store_log_insert(struct tw_store *s, int64_t task_id, int64_t time, const char *msg,
                        enum tw_log_kind kind, const struct tw_store_counts *c, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_LOG_INSERT);
    int rc = SQLITE_OK;
    int ret;

    rc |= sqlite3_bind_int64(q, 1, task_id);
    rc |= sqlite3_bind_int64(q, 2, time);
    rc |= tw_store_bind_text(q, 3, msg ? msg : "");
    rc |= sqlite3_bind_int(q, 4, (int)kind);
    rc |= sqlite3_bind_int(q, 5, c != NULL);
    rc |= sqlite3_bind_int64(q, 6, c ? c->total : 0);
    rc |= sqlite3_bind_int64(q, 7, c ? c->errors : 0);
    rc |= sqlite3_bind_int64(q, 8, c ? c->skips : 0);
    rc |= sqlite3_bind_int64(q, 9, c ? c->success : 0);
    if (rc != SQLITE_OK)
        ret = tw_store_fail(s, rc, "append log", err);
    else
        ret = tw_store_step(s, q, "append log", err);
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

/* version + 1 and last_modified = time; TW_ENOTFOUND when the task is gone. */
static int touch(struct tw_store *s, int64_t id, int64_t time, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_TASK_TOUCH);
    int ret;

    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, time);
    ret = tw_store_step(s, q, "update task", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    if (sqlite3_changes(s->db) == 0)
        return tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    return TW_OK;
}

int tw_store_log_list(struct tw_store *s, int64_t task_id, uint32_t limit, uint32_t offset,
                      struct tw_task_log **out, size_t *n, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_LOG_LIST);
    struct tw_task_log *logs = NULL;
    struct tw_task_log *l;
    size_t cap = 0, count = 0;
    int64_t version = 0;
    int state = 0;
    int ret;

    *out = NULL;
    *n = 0;
    sqlite3_bind_int64(q, 1, task_id);
    sqlite3_bind_int64(q, 2, limit);
    sqlite3_bind_int64(q, 3, offset);
    for (;;) {
        ret = tw_store_step(s, q, "list logs", err);
        if (ret <= 0)
            break;
        ret = tw_store_grow((void **)&logs, &cap, count, sizeof(*logs));
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: list logs: out of memory");
            break;
        }
        l = &logs[count++];
        l->id = sqlite3_column_int64(q, 0);
        l->time = sqlite3_column_int64(q, 1);
        l->has_counts = sqlite3_column_int(q, 3) != 0;
        l->total = sqlite3_column_int64(q, 4);
        l->errors = sqlite3_column_int64(q, 5);
        l->skips = sqlite3_column_int64(q, 6);
        l->success = sqlite3_column_int64(q, 7);
        if (tw_store_col_str(q, 2, &l->msg) != TW_OK) {
            ret = tw_err_set(err, TW_ENOMEM, "store: list logs: out of memory");
            break;
        }
    }
    tw_store_done(q);
    /* no rows: an empty page of a real task, or no task at all */
    if (ret == 0 && count == 0)
        ret = tw_store_task_probe(s, task_id, &version, &state, err);
    if (ret < 0) {
        tw_store_free_logs(logs, count);
        return ret;
    }
    *out = logs;
    *n = count;
    return TW_OK;
}

int tw_store_log_add(struct tw_store *s, int64_t task_id, int64_t time, const char *msg,
                     struct tw_err *err)
{
    int ret = tw_store_op_begin(s, err);

    if (ret != TW_OK)
        return ret;
    ret = touch(s, task_id, time, err);
    if (ret == TW_OK)
        ret = tw_store_log_insert(s, task_id, time, msg, TW_LOG_PLAIN, NULL, err);
    if (ret == TW_OK)
        ret = tw_store_log_trim(s, task_id, err);
    return tw_store_op_end(s, ret, err);
}

/* The task's state, requiring (want_running) or refusing (!want_running) INPROGRESS. */
static int check_running(struct tw_store *s, int64_t id, bool want_running, int *state,
                         struct tw_err *err)
{
    int64_t version = 0;
    int ret = tw_store_task_probe(s, id, &version, state, err);

    if (ret != TW_OK)
        return ret;
    if (!want_running && *state == TW_STATE_INPROGRESS)
        return tw_err_field(err, TW_ECONFLICT, "state", "task is INPROGRESS");
    if (want_running && *state != TW_STATE_INPROGRESS)
        return tw_err_field(err, TW_ECONFLICT, "state", "task is not INPROGRESS (it is %s)",
                            tw_task_state_name(*state));
    return TW_OK;
}

static int log_transition(struct tw_store *s, int64_t id, int64_t time, int from, int to,
                          struct tw_err *err)
{
    char msg[64];

    snprintf(msg, sizeof(msg), "%s -> %s", tw_task_state_name(from), tw_task_state_name(to));
    return tw_store_log_insert(s, id, time, msg, TW_LOG_PLAIN, NULL, err);
}

int tw_store_run_start(struct tw_store *s, int64_t id, int64_t now, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RUN_START);
    int state = 0;
    int ret;

    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    ret = check_running(s, id, false, &state, err);
    if (ret == TW_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, now);
        ret = tw_store_step(s, q, "start run", err);
        tw_store_done(q);
    }
    if (ret == 0)
        ret = log_transition(s, id, now, state, TW_STATE_INPROGRESS, err);
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

int tw_store_run_progress(struct tw_store *s, int64_t id, int64_t now, int64_t total,
                          int64_t errors, int64_t skips, int64_t success, int64_t attempt,
                          struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_LOG_PROGRESS_UPDATE);
    struct tw_store_counts c = { total, errors, skips, success };
    int state = 0;
    int ret;

    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    ret = tw_store_run_fence(s, id, attempt, err);
    if (ret == TW_OK)
        ret = check_running(s, id, true, &state, err);
    if (ret == TW_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, now);
        sqlite3_bind_int64(q, 3, total);
        sqlite3_bind_int64(q, 4, errors);
        sqlite3_bind_int64(q, 5, skips);
        sqlite3_bind_int64(q, 6, success);
        ret = tw_store_step(s, q, "update progress", err);
        tw_store_done(q);
    }
    if (ret == 0 && sqlite3_changes(s->db) == 0)
        ret = tw_store_log_insert(s, id, now, "progress", TW_LOG_PROGRESS, &c, err);
    if (ret == 0)
        ret = touch(s, id, now, err);
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

static int bind_finish(sqlite3_stmt *q, int64_t id, const struct tw_run_outcome *o)
{
    struct stat st;
    int rc = SQLITE_OK;
    int64_t ino = 0;

    /*
     * The file the worker renamed into place is the one this result names: its inode lets a
     * download refuse a file that a later run put under the same name (downloads.c).
     */
    if (o->result_path != NULL && lstat(o->result_path, &st) == 0 && S_ISREG(st.st_mode))
        ino = (int64_t)st.st_ino;
    rc |= sqlite3_bind_int64(q, 10, ino);
    rc |= sqlite3_bind_int64(q, 1, id);
    rc |= sqlite3_bind_int(q, 2, o->state);
    rc |= sqlite3_bind_int64(q, 3, o->time);
    rc |= tw_store_bind_text(q, 4, o->result);
    rc |= tw_store_bind_text(q, 5, o->result_path);
    rc |= sqlite3_bind_int64(q, 6, o->result_size);
    rc |= tw_store_bind_text(q, 7, o->result_sha256);
    rc |= sqlite3_bind_int64(q, 8, o->next_once_at);
    rc |= tw_store_bind_text(q, 9, o->next_trigger_json);
    return rc;
}

/*
 * o->msg NULL appends no final entry (only the state change); o->has_counts false appends it
 * without counts (an interrupted run has none worth showing).
 */
int tw_store_run_finish(struct tw_store *s, int64_t id, const struct tw_run_outcome *o,
                        struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_LOG_PROGRESS_DELETE);
    struct tw_store_counts c = { o->total, o->errors, o->skips, o->success };
    int state = 0;
    int ret;

    if (o->state != TW_STATE_DONE && o->state != TW_STATE_ERROR && o->state != TW_STATE_READY)
        return tw_err_set(err, TW_EINTERNAL, "store: finish run: %s is not an end state",
                          tw_task_state_name(o->state));
    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    ret = tw_store_run_fence(s, id, o->attempt, err);
    if (ret == TW_OK)
        ret = check_running(s, id, true, &state, err);
    if (ret == TW_OK) {
        sqlite3_bind_int64(q, 1, id);
        ret = tw_store_step(s, q, "finish run", err);
        tw_store_done(q);
    }
    if (ret == 0)
        ret = log_transition(s, id, o->time, TW_STATE_INPROGRESS, o->state, err);
    if (ret == 0 && o->msg != NULL)
        ret = tw_store_log_insert(s, id, o->time, o->msg, TW_LOG_RUN_END, o->has_counts ? &c : NULL,
                                  err);
    if (ret == 0) {
        q = tw_store_stmt(s, TW_STMT_RUN_FINISH);
        if (bind_finish(q, id, o) != SQLITE_OK)
            ret = tw_store_fail(s, SQLITE_ERROR, "finish run", err);
        else
            ret = tw_store_step(s, q, "finish run", err);
        tw_store_done(q);
    }
    if (ret == 0)
        ret = tw_store_since_save(s, id, o, err);
    if (ret == 0)
        ret = tw_store_log_trim(s, id, err);
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

/*
 * Not a change of the task object (result and its name stay), so version and last_modified
 * are left alone: a client's pending PUT must not fail because retention ran.
 */
int tw_store_result_expire(struct tw_store *s, int64_t id, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RESULT_EXPIRE);
    int ret;

    sqlite3_bind_int64(q, 1, id);
    ret = tw_store_step(s, q, "expire result", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    if (sqlite3_changes(s->db) == 0)
        return tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    return TW_OK;
}

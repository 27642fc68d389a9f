/*
 * Saved segments (docs/reference.md §6.4): a named segment JSON per chain. Tasks refer to one by
 * tasks.segment_id and read it at each run, so a segment cannot be deleted while any task
 * still names it; the refusal lists those tasks so the API can say which ones. The chain of a
 * segment is fixed at insert (like a task's), so an update cannot move it to another tenant.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <string.h>

#include <sqlite3.h>

#include "core/mem.h"
#include "store/store_int.h"

/* Columns in the order of SEG_COLS (store_sql.c). */
static int read_segment(sqlite3_stmt *q, struct tw_segment *g)
{
    int ret;

    g->id = sqlite3_column_int64(q, 0);
    g->chain = sqlite3_column_int64(q, 1);
    g->created = sqlite3_column_int64(q, 4);
    g->last_modified = sqlite3_column_int64(q, 5);
    ret = tw_store_col_str(q, 2, &g->name);
    if (ret == TW_OK)
        ret = tw_store_col_str(q, 3, &g->segment_json);
    return ret;
}

int tw_store_segment_insert(struct tw_store *s, struct tw_segment *g, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_SEG_INSERT);
    int rc = SQLITE_OK;
    int ret;

    rc |= sqlite3_bind_int64(q, 1, g->chain);
    rc |= tw_store_bind_text(q, 2, g->name ? g->name : "");
    rc |= tw_store_bind_text(q, 3, g->segment_json);
    rc |= sqlite3_bind_int64(q, 4, g->created);
    rc |= sqlite3_bind_int64(q, 5, g->last_modified);
    if (rc != SQLITE_OK)
        ret = tw_store_fail(s, rc, "insert segment", err);
    else
        ret = tw_store_step(s, q, "insert segment", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    g->id = sqlite3_last_insert_rowid(s->db);
    return TW_OK;
}

int tw_store_segment_get(struct tw_store *s, int64_t id, struct tw_segment *out, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_SEG_GET);
    int ret;

    memset(out, 0, sizeof(*out));
    sqlite3_bind_int64(q, 1, id);
    ret = tw_store_step(s, q, "get segment", err);
    if (ret == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "segment %lld not found", (long long)id);
    if (ret == 1) {
        ret = read_segment(q, out);
        if (ret != TW_OK)
            ret = tw_err_set(err, ret, "store: get segment: out of memory");
    }
    tw_store_done(q);
    if (ret != TW_OK)
        tw_store_segment_fini(out);
    return ret;
}

/* Segments of the given chains, id descending (newest first, like tasks). */
int tw_store_segment_list(struct tw_store *s, const int64_t *chains, size_t n_chains,
                          struct tw_segment **out, size_t *n, struct tw_err *err)
{
    struct tw_segment *segs = NULL;
    size_t cap = 0, count = 0, slots = 0;
    sqlite3_stmt *q = NULL;
    int ret;

    *out = NULL;
    *n = 0;
    if (n_chains == 0)
        return TW_OK;
    ret = tw_store_in_stmt(s, TW_IN_SEG_LIST, n_chains, &q, &slots, err);
    if (ret != TW_OK)
        return ret;
    if (tw_store_bind_in(q, chains, n_chains, slots) != SQLITE_OK) {
        ret = tw_store_fail(s, SQLITE_ERROR, "list segments", err);
        goto out;
    }
    for (;;) {
        ret = tw_store_step(s, q, "list segments", err);
        if (ret <= 0)
            break;
        ret = tw_store_grow((void **)&segs, &cap, count, sizeof(*segs));
        if (ret == TW_OK) {
            count++;
            ret = read_segment(q, &segs[count - 1]);
        }
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: list segments: out of memory");
            break;
        }
    }
out:
    tw_store_done(q);
    if (ret < 0) {
        tw_store_free_segments(segs, count);
        return ret;
    }
    *out = segs;
    *n = count;
    return TW_OK;
}

/* Replaces name, segment_json and last_modified; id and chain are kept. */
int tw_store_segment_update(struct tw_store *s, const struct tw_segment *g, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_SEG_UPDATE);
    int rc = SQLITE_OK;
    int ret;

    rc |= sqlite3_bind_int64(q, 1, g->id);
    rc |= tw_store_bind_text(q, 2, g->name ? g->name : "");
    rc |= tw_store_bind_text(q, 3, g->segment_json);
    rc |= sqlite3_bind_int64(q, 4, g->last_modified);
    if (rc != SQLITE_OK)
        ret = tw_store_fail(s, rc, "update segment", err);
    else
        ret = tw_store_step(s, q, "update segment", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    if (sqlite3_changes(s->db) == 0)
        return tw_err_set(err, TW_ENOTFOUND, "segment %lld not found", (long long)g->id);
    return TW_OK;
}

/* Ids of the tasks whose segment_id is id, into *users (caller frees). */
static int segment_users(struct tw_store *s, int64_t id, int64_t **users, size_t *n,
                         struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_SEG_USERS);
    size_t cap = 0;
    int ret;

    sqlite3_bind_int64(q, 1, id);
    for (;;) {
        ret = tw_store_step(s, q, "find segment users", err);
        if (ret <= 0)
            break;
        ret = tw_store_grow((void **)users, &cap, *n, sizeof(**users));
        if (ret != TW_OK) {
            ret = tw_err_set(err, ret, "store: find segment users: out of memory");
            break;
        }
        (*users)[(*n)++] = sqlite3_column_int64(q, 0);
    }
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_segment_users(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                           struct tw_err *err)
{
    *users = NULL;
    *n_users = 0;
    return segment_users(s, id, users, n_users, err);
}

int tw_store_segment_delete(struct tw_store *s, int64_t id, int64_t **users, size_t *n_users,
                            struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_SEG_DELETE);
    int64_t *found = NULL;
    size_t n_found = 0;
    int ret;

    *users = NULL;
    *n_users = 0;
    /* check and delete under one write lock, so no task can start using it in between */
    ret = tw_store_op_begin(s, err);
    if (ret != TW_OK)
        return ret;
    ret = segment_users(s, id, &found, &n_found, err);
    if (ret == TW_OK && n_found > 0)
        ret = tw_err_set(err, TW_ECONFLICT, "segment %lld is used by %zu task%s", (long long)id,
                         n_found, n_found == 1 ? "" : "s");
    if (ret == TW_OK) {
        sqlite3_bind_int64(q, 1, id);
        ret = tw_store_step(s, q, "delete segment", err);
        tw_store_done(q);
    }
    if (ret == 0 && sqlite3_changes(s->db) == 0)
        ret = tw_err_set(err, TW_ENOTFOUND, "segment %lld not found", (long long)id);
    ret = tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
    if (ret == TW_ECONFLICT) {
        *users = found;
        *n_users = n_found;
        found = NULL;
    }
    tw_free(found);
    return ret;
}

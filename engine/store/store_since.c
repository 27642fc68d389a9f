/*
 * Watermarks of incremental exports (docs/reference.md §13, target.since): tasks.since_at and
 * tasks.since_key (migration 3). Written only inside tw_store_run_finish, in the same
 * transaction as the end of a DONE run, so a crash can never move a watermark without the
 * run's result (or the other way round). Statements are prepared per call: both run once per
 * run, next to a fork and an export.
 */
#include "store/store_int.h"

#include "core/mem.h"

int tw_store_since_save(struct tw_store *s, int64_t id, const struct tw_run_outcome *o,
                        struct tw_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc;
    int ret;

    if (o->state != TW_STATE_DONE || o->since_key == NULL)
        return TW_OK;
    rc = sqlite3_prepare_v2(s->db,
                            "UPDATE tasks SET since_at = ?2, since_key = ?3 "
                            "WHERE id = ?1",
                            -1, &q, NULL);
    if (rc != SQLITE_OK)
        return tw_store_fail(s, rc, "save the export watermark", err);
    if (sqlite3_bind_int64(q, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, o->since_at) != SQLITE_OK ||
        sqlite3_bind_text(q, 3, o->since_key, -1, SQLITE_STATIC) != SQLITE_OK)
        ret = tw_store_fail(s, SQLITE_ERROR, "save the export watermark", err);
    else
        ret = tw_store_step(s, q, "save the export watermark", err);
    sqlite3_finalize(q);
    return ret < 0 ? ret : TW_OK;
}

int tw_store_since_get(struct tw_store *s, int64_t id, int64_t *at, char **key, struct tw_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc;
    int ret;

    *at = 0;
    *key = NULL;
    rc = sqlite3_prepare_v2(s->db, "SELECT since_at, since_key FROM tasks WHERE id = ?1", -1, &q,
                            NULL);
    if (rc != SQLITE_OK)
        return tw_store_fail(s, rc, "read the export watermark", err);
    sqlite3_bind_int64(q, 1, id);
    ret = tw_store_step(s, q, "read the export watermark", err);
    if (ret == 1) {
        *at = sqlite3_column_int64(q, 0);
        ret = tw_store_col_str(q, 1, key);
        if (ret != TW_OK)
            tw_err_set(err, ret, "store: out of memory reading the export watermark");
    } else if (ret == 0) {
        ret = tw_err_set(err, TW_ENOTFOUND, "task %lld not found", (long long)id);
    }
    sqlite3_finalize(q);
    return ret;
}

/*
 * Keeping the store healthy and bounded while the server runs:
 * - the database file's identity: a file removed or replaced under a running server (rm,
 *   a restore copied over it) would otherwise take every later write into an unlinked inode
 *   that vanishes at restart; tw_store_check_file notices and the store refuses writes;
 * - write health: tw_store_health proves with one small committed write that the store can
 *   still write (an immutable or read-only file, a full disk), for GET /healthz;
 * - limits: per-chain task quota (checked inside task insert) and log trimming after each run
 *   (inside run_finish), so neither tasks nor logs grow without bound;
 * - retention: the results due for pruning, oldest first.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <sqlite3.h>

#include "core/clock.h"
#include "core/mem.h"
#include "store/store_int.h"

/* The health probe writes at most this often; in between its last answer stands. */
#define PROBE_EVERY_MS 1000

void tw_store_set_limits(struct tw_store *s, const struct tw_store_limits *l)
{
    s->limits = *l;
}

void tw_store_get_upkeep_stats(const struct tw_store *s, struct tw_store_upkeep_stats *out)
{
    *out = s->upkeep;
}

void tw_store_note_pruned(struct tw_store *s, int64_t bytes)
{
    s->upkeep.results_pruned++;
    s->upkeep.result_bytes_pruned += bytes > 0 ? (uint64_t)bytes : 0;
}

void tw_store_quota_forget(struct tw_store *s)
{
    memset(s->quota_seen, 0, sizeof(s->quota_seen));
}

static struct tw_store_quota_seen *quota_slot(struct tw_store *s, int64_t chain)
{
    return &s->quota_seen[(uint64_t)chain % (sizeof(s->quota_seen) / sizeof(s->quota_seen[0]))];
}

void tw_store_quota_inserted(struct tw_store *s, int64_t chain)
{
    struct tw_store_quota_seen *e = quota_slot(s, chain);

    if (e->chain == chain)
        e->n++;
}

/*
 * Whether the counts noted still hold: false (and all forgotten) when another connection
 * committed since (another process's task create or delete), or when that cannot be told.
 */
static bool quota_seen_valid(struct tw_store *s)
{
    int64_t v;

    if (s->quota_dv == NULL &&
        sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &s->quota_dv, NULL) != SQLITE_OK) {
        sqlite3_finalize(s->quota_dv);
        s->quota_dv = NULL;
        tw_store_quota_forget(s);
        return false;
    }
    if (sqlite3_step(s->quota_dv) != SQLITE_ROW) {
        sqlite3_reset(s->quota_dv);
        tw_store_quota_forget(s);
        return false;
    }
    v = sqlite3_column_int64(s->quota_dv, 0);
    sqlite3_reset(s->quota_dv);
    if (v != s->quota_dv_value) {
        tw_store_quota_forget(s);
        s->quota_dv_value = v;
    }
    return true;
}

int tw_store_chain_quota(struct tw_store *s, int64_t chain, struct tw_err *err)
{
    struct tw_store_quota_seen *e;
    sqlite3_stmt *q;
    int64_t n = 0;
    bool cache;
    int ret;

    if (s->limits.max_tasks_per_chain <= 0)
        return TW_OK;
    cache = quota_seen_valid(s);
    e = quota_slot(s, chain);
    if (cache && e->chain == chain) {
        n = e->n;
    } else {
        q = tw_store_stmt(s, TW_STMT_TASK_COUNT_CHAIN);
        sqlite3_bind_int64(q, 1, chain);
        ret = tw_store_step(s, q, "count tasks of chain", err);
        if (ret == 1)
            n = sqlite3_column_int64(q, 0);
        tw_store_done(q);
        if (ret < 0)
            return ret;
        if (cache) {
            e->chain = chain;
            e->n = n;
        }
    }
    if (n >= s->limits.max_tasks_per_chain)
        return tw_err_field(err, TW_ELIMIT, "chain",
                            "chain %" PRId64 " already has %" PRId64 " tasks, the most "
                            "limits.max_tasks_per_chain allows; delete tasks it no longer "
                            "needs",
                            chain, n);
    return TW_OK;
}

int tw_store_log_trim(struct tw_store *s, int64_t task_id, struct tw_err *err)
{
    sqlite3_stmt *q;
    uint32_t runs = s->limits.logs_keep_runs;
    int ret;

    if (s->limits.logs_keep == 0)
        return TW_OK;
    q = tw_store_stmt(s, TW_STMT_LOG_TRIM);
    sqlite3_bind_int64(q, 1, task_id);
    sqlite3_bind_int64(q, 2, s->limits.logs_keep);
    /* OFFSET runs - 1 finds the oldest run-end entry to keep; no runs: keep none extra */
    sqlite3_bind_int64(q, 3, runs > 0 ? runs - 1 : INT64_MAX);
    ret = tw_store_step(s, q, "trim logs", err);
    tw_store_done(q);
    if (ret < 0)
        return ret;
    s->upkeep.logs_trimmed += (uint64_t)sqlite3_changes64(s->db);
    return TW_OK;
}

int tw_store_results_expiring(struct tw_store *s, int64_t before, uint32_t limit,
                              struct tw_store_expiring **out, size_t *n, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RESULTS_EXPIRING);
    struct tw_store_expiring *v = NULL;
    size_t cap = 0, count = 0;
    int ret;

    *out = NULL;
    *n = 0;
    sqlite3_bind_int64(q, 1, before);
    sqlite3_bind_int64(q, 2, limit);
    for (;;) {
        ret = tw_store_step(s, q, "list expiring results", err);
        if (ret <= 0)
            break;
        ret = tw_store_grow((void **)&v, &cap, count, sizeof(*v));
        if (ret == TW_OK) {
            v[count].id = sqlite3_column_int64(q, 0);
            v[count].size = sqlite3_column_int64(q, 2);
            ret = tw_store_col_str(q, 1, &v[count].path);
            count++;
        }
        if (ret != TW_OK) {
            ret = tw_err_set(err, TW_ENOMEM, "store: list expiring results: out of memory");
            break;
        }
    }
    tw_store_done(q);
    if (ret < 0) {
        tw_store_free_expiring(v, count);
        return ret;
    }
    *out = v;
    *n = count;
    return TW_OK;
}

void tw_store_free_expiring(struct tw_store_expiring *e, size_t n)
{
    size_t i;

    for (i = 0; e != NULL && i < n; i++)
        tw_free(e[i].path);
    tw_free(e);
}

void tw_store_note_write(struct tw_store *s, int rc)
{
    int primary = rc & 0xff;

    if (rc == SQLITE_OK || rc == SQLITE_DONE) {
        s->write_failed = false;
        return;
    }
    /* only what says "the disk will not take it", not a constraint or a busy lock */
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_READONLY ||
        primary == SQLITE_CANTOPEN || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
        s->write_failed = true;
        snprintf(s->why, sizeof(s->why), "store: cannot write %s: %s", s->path ? s->path : "",
                 sqlite3_errstr(rc));
    }
}

int tw_store_check_file(struct tw_store *s, struct tw_err *err)
{
    struct stat st;

    if (s->gone)
        return tw_err_set(err, TW_ESTORE, "%s", s->why);
    if (s->path == NULL || s->ino == 0)
        return TW_OK; /* in-memory or temporary database: nothing on disk to lose */
    if (stat(s->path, &st) != 0) {
        s->gone = true;
        snprintf(s->why, sizeof(s->why),
                 "store: the database file %s was removed while the "
                 "server ran (%s); writes are refused, restore it and restart",
                 s->path, strerror(errno));
    } else if ((uint64_t)st.st_dev != s->dev || (uint64_t)st.st_ino != s->ino) {
        s->gone = true;
        snprintf(s->why, sizeof(s->why),
                 "store: the database file %s was replaced by another "
                 "file while the server ran; writes are refused, restart to use the new one",
                 s->path);
    }
    return s->gone ? tw_err_set(err, TW_ESTORE, "%s", s->why) : TW_OK;
}

static int probe(struct tw_store *s, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_HEALTH_PROBE);
    int ret = tw_store_op_begin(s, err);

    if (ret != TW_OK)
        return ret;
    sqlite3_bind_int64(q, 1, tw_clock_wall_ms()); /* ms: see store_wal.c, restart_now */
    ret = tw_store_step(s, q, "health probe", err);
    tw_store_done(q);
    return tw_store_op_end(s, ret < 0 ? ret : TW_OK, err);
}

/* The filesystem holding the store has no block left for us (a commit may still fit). */
static bool disk_full(const struct tw_store *s)
{
    struct statvfs v;

    return s->path != NULL && s->ino != 0 && statvfs(s->path, &v) == 0 && v.f_bavail == 0;
}

int tw_store_health(struct tw_store *s, struct tw_err *err)
{
    uint64_t now = tw_clock_mono_ms();
    int ret = tw_store_check_file(s, err);

    if (ret != TW_OK)
        return ret;
    if (disk_full(s))
        return tw_err_set(err, TW_ESTORE, "store: the disk holding %s is full", s->path);
    /* after a failed write, probe again at once: the next answer must say if it passed */
    if (s->probe_ms != 0 && now - s->probe_ms < PROBE_EVERY_MS && !s->write_failed) {
        if (s->probe_ret != TW_OK)
            return tw_err_set(err, TW_ESTORE, "%s", s->why);
        return TW_OK;
    }
    s->probe_ms = now;
    ret = probe(s, err);
    s->probe_ret = ret;
    if (ret != TW_OK) {
        snprintf(s->why, sizeof(s->why), "%s", err != NULL ? err->msg : "store: cannot write");
        return TW_ESTORE;
    }
    return TW_OK;
}

/*
 * WAL checkpoints at a time the caller chooses (store.h, tw_store_wal_defer).
 *
 * SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages:
 * fdatasync of the WAL, the copy back, fdatasync of the database (4-9 ms on this project's
 * VMs). In the server that commit is on the event loop, and under a burst it is the commit of
 * a slice of run starts, whose jobs wait for it (docs/scheduling.md, "Run start within 20 ms").
 * Deferring replaces the automatic checkpoint with a WAL hook that only counts the pages and,
 * past the hard limit, checkpoints inline as SQLite would have, so the WAL stays bounded even
 * if the caller never finds a quiet moment. Everything stays on the calling thread: the server
 * forks its workers and must never hold a second thread (engine/run/spawner.c).
 *
 * Checkpoints are PASSIVE: they never wait for a reader (a backup, the sqlite3 shell) and copy
 * what no reader still needs; the pages left count as not yet checkpointed.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <sqlite3.h>

#include "core/clock.h"
#include "store/store_int.h"

/* After a checkpoint: what is left for the next one (0 when it copied everything). */
static void note_checkpoint(struct tw_store *s, int log, int ckpt)
{
    s->wal_pages = log > ckpt && ckpt >= 0 ? (uint32_t)(log - ckpt) : 0;
}

/* Called by SQLite after each commit in WAL mode; pages: frames now in the WAL. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct tw_store *s = arg;
    int log = -1, ckpt = -1;

    s->wal_pages = pages > 0 ? (uint32_t)pages : 0;
    if (s->wal_pages < s->wal_hard)
        return SQLITE_OK;
    /* the caller found no quiet moment in time: checkpoint here, as SQLite itself would */
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt) == SQLITE_OK) {
        note_checkpoint(s, log, ckpt);
        s->upkeep.wal_checkpoints_forced++;
    }
    return SQLITE_OK; /* the commit itself succeeded whatever the checkpoint did */
}

void tw_store_wal_defer(struct tw_store *s, uint32_t hard_pages)
{
    s->wal_hard = hard_pages;
    s->wal_pages = 0;    /* counted again from the next commit, or not at all */
    if (hard_pages == 0) /* back to SQLite's own */
        sqlite3_wal_autocheckpoint(s->db, 1000); /* SQLite's default */
    else
        sqlite3_wal_hook(s->db, on_wal_commit, s); /* replaces the automatic checkpoint's */
}

uint32_t tw_store_wal_pages(const struct tw_store *s)
{
    return s->wal_pages;
}

/*
 * The first commit after a complete checkpoint starts the WAL over and fdatasyncs its new
 * header (0.3-5 ms measured; SQLite always syncs it): without this, that was the first claim
 * of the next burst of run starts. Rewriting the health row (store_upkeep.c's probe, the one
 * row no reader cares about) makes that commit happen now, in the caller's quiet moment. The
 * value must differ from the row's (SQLite writes no page for an unchanged row): ms, not s.
 */
static void restart_now(struct tw_store *s)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_HEALTH_PROBE);
    struct tw_err err;

    tw_err_clear(&err);
    sqlite3_bind_int64(q, 1, tw_clock_wall_ms()); /* a new value: SQLite skips a same-value write */
    (void)tw_store_step(s, q, "WAL restart", &err); /* a failure is noted for GET /healthz */
    tw_store_done(q);
}

int tw_store_wal_checkpoint(struct tw_store *s, struct tw_err *err)
{
    int log = -1, ckpt = -1, rc;

    if (s->tx_depth > 0)
        return tw_err_set(err, TW_ECONFLICT, "store: checkpoint inside a transaction");
    rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        return tw_err_set(err, TW_ESTORE, "store: checkpoint: %s", sqlite3_errmsg(s->db));
    if (rc == SQLITE_BUSY)
        return TW_OK; /* another connection is checkpointing: nothing for us to do now */
    note_checkpoint(s, log, ckpt);
    s->upkeep.wal_checkpoints++;
    if (log > 0 && s->wal_pages == 0)
        restart_now(s);
    return TW_OK;
}

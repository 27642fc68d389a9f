/*
 * The store's WAL checkpoints, run by the scheduler between bursts of run starts (the store's
 * side: store.h, tw_store_wal_defer).
 *
 * Why: SQLite's automatic checkpoint (three fdatasyncs, 4-9 ms on this project's VMs) ran in
 * whichever commit took the WAL past 1,000 pages -- about once a second in
 * bench_sched_lateness 1000 10 100, usually the commit of a slice of run starts, whose eight
 * jobs waited for it. The scheduler knows when the next runs are due, so it checkpoints when
 * nothing is: a one-shot check CKPT_QUIET_MS after a pump (starts, or a run's end, or an API
 * change) that finds CKPT_MIN_PAGES or more in the WAL checkpoints if no due run waits and the
 * wheel has nothing due within CKPT_CLEAR_MS, and otherwise looks again CKPT_RETRY_MS later.
 * Under a load with no such gap the WAL would only grow, so past CKPT_SOON_PAGES the check
 * checkpoints anyway (still in its own event, never inside a slice's commit), and past
 * CKPT_HARD_PAGES the store's commits do it themselves. Fewer than CKPT_MIN_PAGES wait for the
 * next pump: a checkpoint for the last few ends of a burst is three fsyncs for little.
 *
 * No thread: the server forks its workers and must stay single-threaded (engine/run/spawner.c,
 * docs/scheduling.md "Run start within 20 ms" item 2). On PostgreSQL all of this is a no-op.
 */
#include "sched/sched_int.h"

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"

#define CKPT_QUIET_MS 10     /* after a pump, before the check */
#define CKPT_CLEAR_MS 50     /* nothing due this soon: room for a checkpoint (4-9 ms measured) */
#define CKPT_RETRY_MS 20     /* the check found no room: look again */
#define CKPT_MIN_PAGES 128   /* fewer: not worth 3 fsyncs yet (the last ends of a burst) */
#define CKPT_SOON_PAGES 2000 /* past this, at the next check whatever is due (8 MB of WAL) */
#define CKPT_HARD_PAGES 8000 /* past this, in the commit (the store's own limit, 32 MB) */

static void arm(struct tw_sched *s, long ms)
{
    struct timeval tv = { 0, ms * 1000 };

    evtimer_add(s->ckpt, &tv);
}

/* Is the loop free for a checkpoint: no due run waiting, none due within CKPT_CLEAR_MS? */
static bool quiet(const struct tw_sched *s)
{
    uint64_t next = tw_wheel_next_deadline(s->wheel);

    if (s->batch.open || s->queue.queued > 0) /* waiting for a worker counts: it starts soon */
        return false;
    return next == UINT64_MAX || next > tw_clock_mono_ms() + CKPT_CLEAR_MS;
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched *s = arg;
    uint32_t pages = tw_store_wal_pages(s->d.store);
    struct tw_err err;

    (void)fd;
    (void)what;
    if (pages < CKPT_MIN_PAGES)
        return; /* the next pump looks again */
    if (!quiet(s) && pages < CKPT_SOON_PAGES) {
        arm(s, CKPT_RETRY_MS);
        return;
    }
    tw_err_clear(&err);
    if (tw_store_wal_checkpoint(s->d.store, &err) != TW_OK)
        tw_logf(TW_LOG_WARN, "sched.checkpoint", "%s", err.msg);
}

int tw_sched_ckpt_init(struct tw_sched *s)
{
    s->ckpt = evtimer_new(s->d.base, on_check, s);
    if (s->ckpt == NULL)
        return TW_ENOMEM;
    tw_store_wal_defer(s->d.store, CKPT_HARD_PAGES);
    return TW_OK;
}

void tw_sched_ckpt_fini(struct tw_sched *s)
{
    if (s->ckpt == NULL)
        return;
    event_free(s->ckpt);
    s->ckpt = NULL;
    tw_store_wal_defer(s->d.store, 0); /* the store outlives us: SQLite checkpoints again */
}

void tw_sched_ckpt_soon(struct tw_sched *s)
{
    if (s->ckpt != NULL && !evtimer_pending(s->ckpt, NULL) &&
        tw_store_wal_pages(s->d.store) >= CKPT_MIN_PAGES)
        arm(s, CKPT_QUIET_MS);
}

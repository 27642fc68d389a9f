/*
 * Keeping the wheel in step with changes other nodes make (docs/cluster.md, "Propagation"):
 * the store's change listener (tw_store_watch_open: PostgreSQL LISTEN/NOTIFY on a connection
 * of its own) watched by the event loop, each changed id handed to tw_sched_task_changed; a
 * safety re-read of the tasks modified since the last one every TW_SCHED_REREAD_S seconds;
 * and, after the listener lost its connection (a PostgreSQL restart), reconnection once a
 * second and a full re-read, since notifications sent meanwhile are lost. Never a per-tick
 * poll of the tasks table.
 *
 * With a store that cannot watch (SQLite: one node, every change is its own),
 * tw_sched_watch_start returns TW_OK with *out NULL and nothing runs.
 */
#ifndef TW_SCHED_SCHED_WATCH_H
#define TW_SCHED_SCHED_WATCH_H

#include <stdint.h>

#include "core/err.h"

struct event_base;
struct tw_sched;
struct tw_sched_watch;

#define TW_SCHED_REREAD_S 30 /* the safety re-read's period */

/*
 * Start watching s's store on base (both borrowed, outliving the watch). *out is the caller's
 * (tw_sched_watch_stop). TW_ESTORE when the listener cannot connect, TW_ENOMEM.
 */
int tw_sched_watch_start(struct tw_sched *s, struct event_base *base, struct tw_sched_watch **out,
                         struct tw_err *err);

/* Stop and free; NULL is a no-op. Call before tw_sched_destroy. */
void tw_sched_watch_stop(struct tw_sched_watch *w);

/* For metrics and tests: notifications applied, re-reads done, listener reconnections. */
struct tw_sched_watch_stats {
    uint64_t notified;
    uint64_t rereads;
    uint64_t reconnects;
};
void tw_sched_watch_get_stats(const struct tw_sched_watch *w, struct tw_sched_watch_stats *out);

#endif

/*
 * The scheduler (docs/reference.md §5): makes every task run on time, once at a time, in a worker process.
 *
 * It keeps one small entry per schedulable task (READY tasks, and DONE/ERROR tasks that
 * repeat) in a hash map by id, each with an intrusive timer in a hierarchical timer wheel
 * (wheel.h) driven by ONE libevent timer. A due task goes to a ready queue that is fair across
 * chains and capped per chain (max_runs_per_chain); the runner (run/runner.h) starts it in a
 * worker when one is free. The scheduler alone writes run state to the store: run_start,
 * progress, run_finish with the advanced trigger of a repeating task. At creation it rebuilds
 * itself from the store and recovers runs the previous process left INPROGRESS.
 *
 * Wiring in engine/cli/serve.c (the order matters):
 *
 *   1. After tw_store_open() and event_base_new():
 *          struct tw_sched_deps sd = { .cfg = cfg, .store = store, .base = base,
 *                                      .work = <export work fn>, .work_ctx = <its ctx> };
 *          tw_sched_create(&sd, &sched, &err);       (before the API: it recovers runs)
 *   2. API: deps.hooks wraps tw_sched_task_changed/_deleted/_execute/_execute_forget and
 *      tw_sched_get_stats (serve.c does it: the scheduler does not know the API);
 *      tw_api_create(&deps, &api, &err);
 *   3. On SIGTERM/SIGINT (libevent signal events):
 *          tw_api_set_draining(api);
 *          tw_sched_shutdown(sched, cfg->shutdown_grace_s, on_drained, base);
 *      where on_drained(arg) calls event_base_loopexit(arg, NULL). A second signal may call
 *      tw_sched_shutdown(sched, 0, ...) again to interrupt at once.
 *   4. After event_base_dispatch() returns: tw_api_destroy(api); tw_sched_destroy(sched);
 *      tw_store_close(store); event_base_free(base).
 *
 * Not thread-safe: everything runs on the event loop of deps.base.
 */
#ifndef TW_SCHED_SCHED_H
#define TW_SCHED_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "run/runner.h"
#include "sched/sched_stats.h"
#include "store/store.h"

struct event_base;
struct tw_sched;

struct tw_sched_deps {
    const struct tw_config *cfg; /* borrowed, outlives the scheduler: workers,
                                    max_runs_per_chain, task_timeout_s, results_dir */
    struct tw_store *store;      /* borrowed */
    struct event_base *base;     /* borrowed */
    tw_work_fn *work;            /* what a worker does for a run (the export pipeline) */
    void *work_ctx;              /* borrowed; passed to work in the worker */
    uint32_t kill_grace_ms;      /* SIGTERM -> SIGKILL delay on timeout; 0 = 5000 */
    /*
     * May be NULL. Called inside the store transaction that records a run's end in DONE or
     * ERROR, after the end is written (the webhook outbox queues its delivery there, so a
     * crash keeps both or neither). It writes through the same store; a failure it does not
     * undo itself is its own to log: the run's end is committed regardless.
     */
    void (*run_ended)(void *ctx, int64_t task_id, int64_t chain, int state);
    void *run_ended_ctx;
};

/* Called once when a shutdown has drained; see tw_sched_shutdown. */
typedef void tw_sched_drained_fn(void *arg);

/*
 * Called when an executed run ends (why NULL) or a queued one cannot start (why says why). The
 * same shape as api.h's tw_exec_done_fn, so the hooks wired in cli/serve.c pass it through;
 * the scheduler does not include the API's header.
 */
typedef void tw_sched_exec_done_fn(void *arg, int64_t task_id, const struct tw_err *why);

/*
 * Rebuild from the store (d->store must be open): arm every READY task at trigger.once and
 * every repeating DONE/ERROR task at its (already advanced) trigger.once; log each INPROGRESS
 * task "interrupted: server stopped during run" (INPROGRESS -> READY), remove its temp file
 * and run it again as soon as possible. d is copied; what it points to is borrowed.
 * *out is owned by the caller (tw_sched_destroy). TW_EINVAL, TW_ENOMEM, TW_ESTORE, TW_EIO.
 */
int tw_sched_create(const struct tw_sched_deps *d, struct tw_sched **out, struct tw_err *err);

/*
 * Free everything. Workers still running are killed without writing the store (their tasks
 * stay INPROGRESS and are recovered at the next start): call tw_sched_shutdown first for a
 * clean stop. Held execute callbacks are not called. NULL is a no-op.
 */
void tw_sched_destroy(struct tw_sched *s);

/*
 * The task was created or changed in the store: re-read it and arm, re-arm or disarm it as
 * its state and trigger say. A task that is running is left alone (its end re-reads it).
 */
void tw_sched_task_changed(struct tw_sched *s, int64_t task_id);

/* The task was deleted: disarm it, and cancel its run (never writing its outcome). */
void tw_sched_task_deleted(struct tw_sched *s, int64_t task_id);

/*
 * Run task_id now, whatever its schedule (trigger.once is not changed). It jumps to the front
 * of its chain's queue and starts at once when a worker (and the chain's cap) allows.
 * TW_OK when the run started or is queued for a free worker; TW_ECONFLICT "task N is already
 * running" when it is INPROGRESS, running or already queued; TW_ENOTFOUND; TW_ELIMIT when the
 * server is shutting down; when a worker was free but the run could not start (the store
 * cannot record it, no worker process can be made), that error (TW_ESTORE, TW_EIO, ...) with
 * the reason.
 * When done_cb is not NULL it is called once, from the loop and never before this returns
 * (nor at all when this returns an error), when that run ends (DONE, ERROR, cancelled,
 * interrupted, or a shutdown or delete before it started: why NULL) or when a queued run
 * later cannot start (why says why); done_arg is borrowed until then or until
 * tw_sched_execute_forget.
 */
int tw_sched_execute(struct tw_sched *s, int64_t task_id, tw_sched_exec_done_fn *done_cb,
                     void *done_arg, struct tw_err *err);

/* Forget the done_cb registered for (task_id, done_arg); a no-op when there is none. */
void tw_sched_execute_forget(struct tw_sched *s, int64_t task_id, void *done_arg);

/*
 * Stop: start no new runs; when every running run has ended, or after grace_s seconds, kill
 * the rest and record them as interrupted (INPROGRESS -> READY, run again at next start; a
 * run whose task is not due yet, i.e. one started by execute, is left INPROGRESS for the next
 * start to recover, so that it does run again),
 * answer every held execute callback, then call on_drained(arg) once from the loop (never
 * from inside this call). Do not destroy the scheduler from on_drained: stop the loop there.
 * Calling it again shortens the grace (the first callback is kept).
 */
void tw_sched_shutdown(struct tw_sched *s, uint32_t grace_s, tw_sched_drained_fn *on_drained,
                       void *arg);

#endif /* TW_SCHED_SCHED_H */

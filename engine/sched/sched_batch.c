/*
 * The claims of one pump slice in one store transaction: tw_sched_pump opens a batch, each
 * start() inside it claims its run (INPROGRESS, in a savepoint of the batch's transaction) and
 * leaves the job here instead of handing it out, and the batch's end commits once and then
 * hands every job to its worker.
 *
 * Why: a claim committed alone cost ~70 us of the ~150 us a start takes on the event loop
 * (bench_sched_lateness 1000 10 100, quiet VM): the commit writes the task's and its log's
 * pages to the WAL and takes and drops the write lock. Eight claims share those pages and
 * that lock, so the 100 runs due at the same second start sooner and write fewer WAL pages.
 *
 * Order and crash semantics: no job reaches a worker before its claim is committed, so a
 * worker never publishes anything for a run the store does not hold as started; a crash before
 * the commit loses the claims of the slice, and the tasks are still READY and due, so the next
 * start runs them (once). When the commit fails, every claim of the batch is void and its entry
 * is handled as a start that failed in the store (retried in a second), as before.
 */
#include "sched/sched_int.h"

#include <string.h>

#include "store/store.h"

void tw_sched_batch_begin(struct tw_sched *s)
{
    struct tw_err err;

    if (s->batch.open)
        tw_sched_batch_end(s); /* a pump run from inside a pump: finish the outer slice first */
    tw_err_clear(&err);
    s->batch.n = 0;
    s->batch.open = tw_store_begin(s->d.store, &err) == TW_OK; /* else: each claim commits alone */
}

bool tw_sched_batch_room(const struct tw_sched *s)
{
    return tw_runner_active(s->runner) + s->batch.n < s->d.cfg->workers;
}

bool tw_sched_batch_defer(struct tw_sched *s, struct tw_sched_task *t, struct tw_task *task,
                          int64_t now, bool forced)
{
    struct tw_sched_claimed *c;

    if (!s->batch.open)
        return false;
    if (s->batch.n == TW_SCHED_BATCH_MAX) { /* not reached with PUMP_SLICE <= the max */
        tw_sched_batch_end(s);
        tw_sched_batch_begin(s);
        if (!s->batch.open)
            return false;
    }
    c = &s->batch.runs[s->batch.n++];
    c->t = t;
    c->task = *task; /* moved: the caller's copy must not be freed */
    memset(task, 0, sizeof(*task));
    c->now = now;
    c->forced = forced;
    return true;
}

void tw_sched_batch_end(struct tw_sched *s)
{
    struct tw_sched_claimed runs[TW_SCHED_BATCH_MAX];
    struct tw_err err;
    size_t i, n;
    int rc;

    if (!s->batch.open)
        return;
    s->batch.open = false;
    n = s->batch.n;
    s->batch.n = 0;
    memcpy(runs, s->batch.runs, n * sizeof(runs[0])); /* launching may pump again */
    tw_err_clear(&err);
    rc = tw_store_commit(s->d.store, &err);
    for (i = 0; i < n; i++) {
        if (rc == TW_OK) {
            tw_sched_launch_claimed(s, runs[i].t, &runs[i].task, runs[i].now, runs[i].forced);
        } else {
            s->st.started--;
            tw_sched_claim_lost(s, runs[i].t, &runs[i].task, rc, &err);
        }
        tw_task_fini(&runs[i].task);
    }
}

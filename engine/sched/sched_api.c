/*
 * What the API asks of the scheduler (struct tw_api_hooks): a task was created, changed or
 * deleted, or must run now (POST /execute, whose held request is answered through a waiter
 * when the run ends). Each re-reads the task from the store rather than trusting the caller,
 * and a running task is never touched here except to cancel it on delete.
 */
#include "sched/sched.h"

#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "sched/sched_int.h"

bool tw_sched_schedulable(const struct tw_task *t)
{
    if (t->state == TW_STATE_READY)
        return true;
    return (t->state == TW_STATE_DONE || t->state == TW_STATE_ERROR) && t->repeat != NULL &&
           t->repeat[0] != '\0';
}

void tw_sched_task_changed(struct tw_sched *s, int64_t task_id)
{
    struct tw_sched_task *t = tw_sched_entry_get(s, task_id);
    struct tw_task task;
    struct tw_err err;
    int rc;

    tw_sched_ckpt_soon(s); /* the API wrote the store */
    if (t != NULL && (t->flags & TW_SF_RUNNING))
        return; /* the end of the run re-reads the task */
    memset(&task, 0, sizeof(task));
    rc = tw_store_task_get(s->d.store, task_id, &task, &err);
    if (rc == TW_ENOTFOUND) {
        tw_sched_task_deleted(s, task_id);
        return;
    }
    if (rc != TW_OK) {
        tw_logf(TW_LOG_ERROR, "sched.reload", "task %lld changed but cannot be read: %s",
                (long long)task_id, err.msg);
        return;
    }
    if (t != NULL && (t->flags & TW_SF_EXECUTE)) {
        /* an execute is queued: it runs anyway, and its end re-reads the task */
    } else if (!tw_sched_schedulable(&task)) {
        if (t != NULL)
            tw_sched_entry_drop(s, t);
    } else {
        if (t == NULL)
            t = tw_sched_entry_add(s, task_id, task.chain);
        if (t == NULL)
            tw_logf(TW_LOG_ERROR, "sched.enomem", "task %lld cannot be scheduled: out of memory",
                    (long long)task_id);
        else if (!tw_list_is_linked(&t->qlink) || task.once_at > tw_clock_wall_s()) {
            tw_squeue_remove(&s->queue, t->chain, &t->qlink);
            tw_sched_arm(s, t, task.once_at);
        }
    }
    tw_task_fini(&task);
}

void tw_sched_task_deleted(struct tw_sched *s, int64_t task_id)
{
    struct tw_sched_task *t = tw_sched_entry_get(s, task_id);

    if (t == NULL) {
        tw_sched_notify(s, task_id);
        return;
    }
    if (t->flags & TW_SF_RUNNING) {
        t->flags |= TW_SF_DELETED;
        tw_runner_cancel(s->runner, task_id); /* its end arrives as TW_RUN_CANCELLED */
        return;
    }
    tw_sched_entry_drop(s, t);
    tw_sched_notify(s, task_id);
}

int tw_sched_execute(struct tw_sched *s, int64_t task_id, tw_sched_exec_done_fn *done_cb,
                     void *done_arg, struct tw_err *err)
{
    struct tw_sched_task *t = tw_sched_entry_get(s, task_id);
    struct tw_sched_waiter *w = NULL;
    struct tw_sched_probe probe;
    struct tw_task task;
    int ret;

    if (s->stopping)
        return tw_err_set(err, TW_ELIMIT, "the server is shutting down: no new runs start");
    if (t != NULL && ((t->flags & TW_SF_RUNNING) || tw_list_is_linked(&t->qlink)))
        return tw_err_set(err, TW_ECONFLICT, "task %lld is already running", (long long)task_id);
    memset(&task, 0, sizeof(task));
    ret = tw_store_task_get(s->d.store, task_id, &task, err);
    if (ret != TW_OK)
        return ret;
    if (task.state == TW_STATE_INPROGRESS) {
        ret = tw_err_set(err, TW_ECONFLICT, "task %lld is already running", (long long)task_id);
        goto out;
    }
    if (done_cb != NULL) {
        w = tw_calloc(1, sizeof(*w));
        if (w == NULL) {
            ret = tw_err_set(err, TW_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (t == NULL)
        t = tw_sched_entry_add(s, task_id, task.chain);
    if (t == NULL || tw_squeue_push(&s->queue, t->chain, &t->qlink, true) != TW_OK) {
        if (t != NULL && !tw_timer_is_armed(&t->timer))
            tw_sched_entry_drop(s, t);
        tw_free(w);
        ret = tw_err_set(err, TW_ENOMEM, "out of memory");
        goto out;
    }
    tw_timer_disarm(&t->timer); /* trigger.once is kept: the end of the run re-arms it */
    t->flags |= TW_SF_EXECUTE;
    /*
     * Pump before registering the waiter, with a probe for this task: a start that fails here
     * (store cannot write, no worker) is this call's error, and the waiter can never be called
     * before the caller has its answer (it was once called from inside this pump, and the
     * API wrote to its held record after that callback had freed it).
     */
    memset(&probe, 0, sizeof(probe));
    probe.task_id = task_id;
    s->probe = &probe;
    tw_sched_pump(s);
    s->probe = NULL;
    if (probe.failed) {
        tw_free(w);
        if (err != NULL)
            *err = probe.err;
        ret = probe.err.code;
        goto out;
    }
    if (w != NULL) {
        w->task_id = task_id;
        w->cb = done_cb;
        w->arg = done_arg;
        w->next = s->waiters;
        s->waiters = w;
    }
    ret = TW_OK;
out:
    tw_task_fini(&task);
    return ret;
}

void tw_sched_execute_forget(struct tw_sched *s, int64_t task_id, void *done_arg)
{
    struct tw_sched_waiter **pp, *w;

    for (pp = &s->waiters; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->task_id == task_id && (*pp)->arg == done_arg) {
            w = *pp;
            *pp = w->next;
            tw_free(w);
            return;
        }
}

/*
 * Starting runs and recording their ends: the only code that moves a task through the docs/reference.md §1
 * state machine (READY/DONE/ERROR -> INPROGRESS -> DONE/ERROR, and INPROGRESS -> READY for an
 * interrupted run).
 *
 * Exactly once: an entry popped from the queue is marked running before anything else, so no
 * second copy can be queued; the task is re-read from the store just before the start, so a
 * trigger moved or a task finished since it was armed is noticed (re-armed or dropped instead
 * of run); and the start is the store's conditional claim (tw_store_run_claim): still due for
 * that trigger.once, not INPROGRESS, its chain under max_runs_per_chain across every node
 * sharing the store. A node that loses the claim skips the run and re-reads the task. Every
 * later write of the run carries the claim's attempt; a refused one is logged run.fenced and
 * the run's output is discarded (docs/cluster.md "Leases, fencing and rescue").
 *
 * After every run of a repeating task, trigger.once advances to tw_occur_next_tz(once, repeat,
 * anchor, now, trigger.timezone) -- strictly after now, so missed occurrences run once --
 * written in the same store call that ends the run, and the entry is re-armed there. When the
 * next time cannot be computed or written, the entry is dropped rather than re-armed in the
 * past (which would run the task in a loop); the log says so.
 */
#include "sched/sched.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "core/tz.h"
#include "results/results.h"
#include "sched/occur.h"
#include "sched/sched_int.h"

#define MSG_INTERRUPTED "interrupted: server stopped during run"
#define PUMP_SLICE 8 /* starts per turn of the event loop (tw_sched_pump) */

/* A copy of the parsed trigger root with "once" set to once_at (root is changed); NULL when
 * it cannot be built. */
static char *trigger_with_once(json_t *root, int64_t once_at)
{
    char when[TW_TIME_BUFSZ];
    char *text = NULL;
    char *copy = NULL;

    if (root != NULL && json_is_object(root) &&
        json_object_set_new(root, "once", json_string(tw_time_format(once_at, when))) == 0)
        text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    copy = tw_strdup(text);
    free(text); /* allocated by jansson with malloc */
    return copy;
}

/*
 * The task's time zone (trigger.timezone, docs/reference.md §13); NULL for UTC. A zone that was valid when
 * the task was saved but cannot be loaded now (tzdata removed or broken since) falls back to
 * UTC with an error in the server log: running an hour off beats not running at all.
 */
static const struct tw_tz *task_zone(const struct tw_task *task, const json_t *root)
{
    const char *name = json_string_value(json_object_get(root, "timezone"));
    const struct tw_tz *z = NULL;
    struct tw_err err;

    if (name != NULL && tw_tz_get(name, &z, &err) != TW_OK) {
        tw_logf(TW_LOG_ERROR, "sched.timezone",
                "task %lld: %s; its next run is computed in "
                "UTC",
                (long long)task->id, err.msg);
        z = NULL;
    }
    return z;
}

/* tw_store_run_finish, and in the same transaction deps.run_ended for a DONE or ERROR end. */
static int finish_with_hook(struct tw_sched *s, const struct tw_task *task,
                            const struct tw_run_outcome *o, struct tw_err *err)
{
    bool hook = s->d.run_ended != NULL && (o->state == TW_STATE_DONE || o->state == TW_STATE_ERROR);
    int rc;

    if (!hook)
        return tw_store_run_finish(s->d.store, task->id, o, err);
    rc = tw_store_begin(s->d.store, err);
    if (rc != TW_OK)
        return rc;
    rc = tw_store_run_finish(s->d.store, task->id, o, err);
    if (rc == TW_OK)
        s->d.run_ended(s->d.run_ended_ctx, task->id, task->chain, o->state);
    if (rc == TW_OK)
        rc = tw_store_commit(s->d.store, err);
    else
        tw_store_rollback(s->d.store);
    return rc;
}

/* Seconds after which a task running on another node is re-read: one heartbeat. */
static int64_t poll_s(const struct tw_sched *s)
{
    return s->d.cfg->cluster_heartbeat_s > 0 ? s->d.cfg->cluster_heartbeat_s : 1;
}

/*
 * A fenced run's result file is not the task's result: remove it, unless it sits at the path
 * the store records (a results_dir shared by several nodes, where the rename already replaced
 * the published file; the store's result_ino then refuses to serve it, docs/cluster.md).
 */
static void discard_result(const struct tw_task *task, const struct tw_run_outcome *o)
{
    if (o->result_path == NULL)
        return;
    if (task->result_path != NULL && strcmp(task->result_path, o->result_path) == 0) {
        tw_logf(TW_LOG_WARN, "run.fenced",
                "task %lld: the fenced run renamed its file over the published result %s "
                "(results_dir shared by nodes?)",
                (long long)task->id, o->result_path);
        return;
    }
    if (unlink(o->result_path) != 0)
        tw_logf(TW_LOG_WARN, "run.fenced", "task %lld: cannot remove %s", (long long)task->id,
                o->result_path);
}

/*
 * Write the end of a run (o->state, msg, counts, result already filled) with the advanced
 * trigger of a repeating task, then re-arm or drop the entry. task is the fresh copy.
 */
static void record_end(struct tw_sched *s, struct tw_sched_task *t, const struct tw_task *task,
                       struct tw_run_outcome *o)
{
    enum tw_repeat rep = TW_REPEAT_NONE;
    int64_t next = TW_OCCUR_NEVER;
    json_t *root = NULL; /* the trigger, parsed once for its zone and its next "once" */
    char *trigger = NULL;
    struct tw_err err;
    int rc;

    o->attempt = t->attempt;
    if (tw_repeat_parse(task->repeat, &rep, NULL) == TW_OK && rep != TW_REPEAT_NONE) {
        root = json_loads(task->trigger_json, 0, NULL);
        next = tw_occur_next_tz(task->once_at, rep, (unsigned)task->anchor_day, o->time,
                                task_zone(task, root));
    }
    if (next != TW_OCCUR_NEVER && next != task->once_at) {
        trigger = trigger_with_once(root, next);
        if (trigger == NULL)
            next = TW_OCCUR_NEVER;
        o->next_once_at = trigger != NULL ? next : 0;
        o->next_trigger_json = trigger;
    }
    rc = finish_with_hook(s, task, o, &err);
    if (rc == TW_ECONFLICT && strcmp(err.field, "attempt") == 0) {
        tw_sched_fenced(s, task->id, t->attempt, "the end of the run", &err);
        discard_result(task, o);
        /* another node runs it now; a repeating task is re-read later (not_started) */
        next = rep != TW_REPEAT_NONE ? tw_clock_wall_s() + poll_s(s) : TW_OCCUR_NEVER;
    } else if (rc != TW_OK) {
        tw_logf(TW_LOG_ERROR, "sched.finish",
                "task %lld: cannot record the end of its run "
                "(%s): %s",
                (long long)task->id, o->msg ? o->msg : "", err.msg);
        next = TW_OCCUR_NEVER; /* still INPROGRESS in the store: recovered at next start */
    } else if (rep != TW_REPEAT_NONE && next == TW_OCCUR_NEVER) {
        tw_logf(TW_LOG_ERROR, "sched.advance",
                "task %lld: cannot compute its next run: it "
                "will not repeat until its trigger is updated",
                (long long)task->id);
    }
    if (next != TW_OCCUR_NEVER && !s->stopping)
        tw_sched_arm(s, t, next);
    else
        tw_sched_entry_drop(s, t);
    json_decref(root);
    tw_free(trigger);
}

/*
 * Tell whoever executed task id that its run could not start: tw_sched_execute itself while it
 * is still pumping (it answers with the error), else the held request's waiter.
 */
static void report_not_started(struct tw_sched *s, int64_t id, int rc, const struct tw_err *why)
{
    struct tw_err e;

    tw_err_clear(&e);
    tw_err_set(&e, rc, "%s", why != NULL && why->msg[0] != '\0' ? why->msg : "unknown reason");
    if (s->probe != NULL && s->probe->task_id == id) {
        s->probe->failed = true;
        s->probe->err = e;
        return;
    }
    tw_sched_notify_why(s, id, &e);
}

static void fail_without_worker(struct tw_sched *s, struct tw_sched_task *t,
                                const struct tw_task *task, const char *msg)
{
    struct tw_run_outcome o;
    struct tw_err why;

    memset(&o, 0, sizeof(o));
    o.state = TW_STATE_ERROR;
    o.time = tw_clock_wall_s();
    o.msg = msg;
    o.has_counts = true;
    tw_logf(TW_LOG_WARN, "run.failed", "task %lld: %s", (long long)task->id, msg);
    t->flags &= ~(uint32_t)(TW_SF_RUNNING | TW_SF_EXECUTE);
    tw_squeue_run_end(&s->queue, t->chain);
    tw_sched_lease_del(s, task->id);
    s->st.failed++;
    record_end(s, t, task, &o);
    tw_err_set(&why, TW_EIO, "no worker could run it: %s", msg);
    report_not_started(s, task->id, TW_EIO, &why);
}

/*
 * The segment (inline in the parsed trigger, or saved by id) for the job: the worker gets it
 * resolved and parses neither the target nor the trigger. export_format and compression are
 * columns of the task (store migration 6), so no target JSON is parsed to start a run.
 */
static int resolve(struct tw_sched *s, const struct tw_task *task, const json_t *trigger,
                   char **segment, struct tw_err *err)
{
    const json_t *inline_seg = json_object_get(trigger, "segment");
    struct tw_segment g;
    char *text = NULL;
    int ret = TW_OK;

    memset(&g, 0, sizeof(g));
    if (inline_seg != NULL) {
        text = json_dumps(inline_seg, JSON_COMPACT | JSON_PRESERVE_ORDER);
        *segment = tw_strdup(text);
        free(text); /* allocated by jansson with malloc */
        if (*segment == NULL)
            ret = tw_err_set(err, TW_ENOMEM, "out of memory preparing the run");
    } else if (task->segment_id > 0) {
        ret = tw_store_segment_get(s->d.store, task->segment_id, &g, err);
        if (ret == TW_ENOTFOUND)
            tw_err_set(err, ret, "saved segment %lld no longer exists",
                       (long long)task->segment_id);
        *segment = g.segment_json;
        g.segment_json = NULL;
        tw_store_segment_fini(&g);
    }
    return ret;
}

/* Build the job and fork its worker. TW_OK, or an error with a sentence for the task's log. */
static int launch(struct tw_sched *s, const struct tw_task *task, int64_t now, struct tw_err *err)
{
    char dir[4096], tmp[4096 + 16];
    json_t *trigger = NULL;
    char *segment = NULL;
    struct tw_sched_window win;
    struct tw_run_job job;
    int ret;

    if (tw_run_paths(s->d.cfg->results_dir, task->chain, task->id, dir, sizeof(dir), tmp,
                     sizeof(tmp)) != TW_OK)
        return tw_err_set(err, TW_EINVAL, "the result path under %s is too long",
                          s->d.cfg->results_dir);
    trigger = json_loads(task->trigger_json, 0, NULL); /* the only parse to start a run */
    if (trigger == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory preparing the run");
    ret = resolve(s, task, trigger, &segment, err);
    if (ret == TW_OK)
        ret = tw_sched_since_window(s, task, trigger, &win, err);
    if (ret == TW_OK) {
        memset(&job, 0, sizeof(job));
        job.task_id = task->id;
        job.chain = task->chain;
        job.run_start = now;
        job.export_index = task->export_index;
        job.export_format = task->export_format;
        job.gzip = task->compression != NULL && strcmp(task->compression, "gzip") == 0;
        job.segment_json = segment;
        job.result_dir = dir;
        job.tmp_path = tmp;
        job.since = win.since;
        job.since_from = win.from;
        ret = tw_runner_start(s->runner, &job, err);
        tw_sched_window_fini(&win);
    }
    json_decref(trigger);
    tw_free(segment);
    return ret;
}

/* A popped entry that must not start after all (see the rules in start()). */
static void not_started(struct tw_sched *s, struct tw_sched_task *t, const struct tw_task *task,
                        int rc, const struct tw_err *err)
{
    int64_t id = t->h.key;
    bool retry = rc != TW_OK && rc != TW_ENOTFOUND && rc != TW_ECONFLICT;

    t->flags &= ~(uint32_t)(TW_SF_RUNNING | TW_SF_EXECUTE);
    tw_squeue_run_end(&s->queue, t->chain);
    if (retry)
        tw_logf(TW_LOG_ERROR, "sched.start", "task %lld cannot start: %s", (long long)id, err->msg);
    if (retry || (rc == TW_OK && tw_sched_schedulable(task) && task->state != TW_STATE_INPROGRESS &&
                  !s->stopping))
        tw_sched_arm(s, t, retry ? tw_clock_wall_s() + 1 : task->once_at);
    else if (rc == TW_OK && task->state == TW_STATE_INPROGRESS && task->repeat != NULL &&
             task->repeat[0] != '\0' && !s->stopping && tw_sched_clustered(s))
        tw_sched_arm(s, t, tw_clock_wall_s() + poll_s(s)); /* running on another node */
    else
        tw_sched_entry_drop(s, t);
    if (retry)
        report_not_started(s, id, rc, err);
    else if (rc == TW_OK && task->state == TW_STATE_INPROGRESS && s->probe != NULL &&
             s->probe->task_id == id)
        report_not_started(s, id, TW_ECONFLICT, NULL);
    else if (rc == TW_ENOTFOUND)
        report_not_started(s, id, TW_ENOTFOUND, err);
    else
        tw_sched_notify(s, id);
}

/* The conditional claim of the run (tw_store_run_claim); sets t->attempt. */
static int claim(struct tw_sched *s, struct tw_sched_task *t, const struct tw_task *task,
                 bool forced, int64_t now, struct tw_err *err)
{
    struct tw_run_claim c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.node = s->d.cfg->cluster_node_id != NULL ? s->d.cfg->cluster_node_id : "";
    c.chain = task->chain;
    c.once_at = forced ? 0 : task->once_at;
    c.now = now;
    c.lease_until = tw_sched_lease_until(s);
    c.max_in_chain = s->d.cfg->max_runs_per_chain;
    rc = tw_store_run_claim(s->d.store, task->id, &c, &t->attempt, err);
    if (rc == TW_OK && tw_sched_lease_add(s, task->id) != TW_OK)
        tw_logf(TW_LOG_ERROR, "sched.lease", "task %lld: out of memory: its lease is not renewed",
                (long long)task->id);
    return rc;
}

/*
 * Another node won the claim (or the chain is at max_runs_per_chain across the cluster): skip
 * the run silently. A full chain is tried again in a second (the fair queue of this node then
 * picks another chain first); a lost claim re-reads the task and arms it as it now is.
 */
static void claim_lost(struct tw_sched *s, struct tw_sched_task *t, struct tw_task *task, int rc)
{
    struct tw_err err;

    s->st.claims_lost++;
    if (rc == TW_ELIMIT && !(t->flags & TW_SF_EXECUTE)) {
        t->flags &= ~(uint32_t)TW_SF_RUNNING;
        tw_squeue_run_end(&s->queue, t->chain);
        tw_sched_arm(s, t, tw_clock_wall_s() + 1);
        return;
    }
    tw_task_fini(task);
    memset(task, 0, sizeof(*task));
    tw_err_clear(&err);
    rc = tw_store_task_get(s->d.store, t->h.key, task, &err);
    not_started(s, t, task, rc == TW_OK ? TW_OK : rc, &err);
}

/*
 * Start the entry's run: re-read the task, check it should run now (an execute or a
 * recovered run always should), mark it INPROGRESS, fork. The entry is already counted
 * running for its chain by the queue.
 */
static void start(struct tw_sched *s, struct tw_sched_task *t)
{
    bool forced = (t->flags & (TW_SF_EXECUTE | TW_SF_RECOVERED)) != 0;
    int64_t now = tw_clock_wall_s();
    struct tw_task task;
    struct tw_err err;
    int rc;

    t->flags |= TW_SF_RUNNING;
    t->flags &= ~(uint32_t)TW_SF_RECOVERED;
    memset(&task, 0, sizeof(task));
    tw_err_clear(&err);
    rc = tw_store_task_get(s->d.store, t->h.key, &task, &err);
    if (rc == TW_OK && (task.state == TW_STATE_INPROGRESS ||
                        (!forced && (!tw_sched_schedulable(&task) || task.once_at > now)))) {
        not_started(s, t, &task, TW_OK, &err);
        goto out;
    }
    if (rc == TW_OK)
        rc = claim(s, t, &task, forced, now, &err);
    if (rc == TW_ELIMIT || rc == TW_ECONFLICT) {
        claim_lost(s, t, &task, rc);
        goto out;
    }
    if (rc != TW_OK) {
        not_started(s, t, &task, rc, &err);
        goto out;
    }
    if (!tw_sched_batch_defer(s, t, &task, now, forced)) /* else launched after the commit */
        tw_sched_launch_claimed(s, t, &task, now, forced);
out:
    tw_task_fini(&task);
}

void tw_sched_launch_claimed(struct tw_sched *s, struct tw_sched_task *t,
                             const struct tw_task *task, int64_t now, bool forced)
{
    struct tw_err err;

    s->st.started++; /* here, not at the claim: a batch whose commit fails started nothing */
    if (launch(s, task, now, &err) != TW_OK)
        fail_without_worker(s, t, task, err.msg);
    else
        tw_sched_note_start(s, t, task, forced);
}

void tw_sched_claim_lost(struct tw_sched *s, struct tw_sched_task *t, const struct tw_task *task,
                         int rc, const struct tw_err *err)
{
    /* The batch's commit failed: the claim never happened, so its lease is not ours to renew. */
    tw_sched_lease_del(s, task->id);
    not_started(s, t, task, rc, err);
}

/* Run tw_sched_pump from the loop, after the I/O that is ready by then. */
static void pump_soon(struct tw_sched *s)
{
    struct timeval now = { 0, 0 };

    evtimer_add(s->pump_more, &now);
}

/*
 * Start queued runs while workers are free, PUMP_SLICE at a time: each start costs the loop
 * ~0.5 ms (store writes, the hand-out), so 100 runs due at once would hold the API for 50 ms
 * or more. After a slice the rest waits for a zero-delay event, which the loop runs after the
 * I/O that is ready by then; with no requests waiting it follows at once.
 */
void tw_sched_pump(struct tw_sched *s)
{
    struct tw_list *item;
    int64_t chain;
    int n;

    if (s->queue.queued > 0 && !s->stopping && tw_runner_has_room(s->runner))
        tw_sched_batch_begin(s); /* the slice's claims commit together (sched_batch.c) */
    for (n = 0; !s->stopping && tw_runner_has_room(s->runner) && tw_sched_batch_room(s); n++) {
        if (n == PUMP_SLICE) {
            if (s->queue.queued > 0)
                pump_soon(s);
            break;
        }
        item = tw_squeue_pop(&s->queue, &chain);
        if (item == NULL)
            break;
        start(s, TW_CONTAINER_OF(item, struct tw_sched_task, qlink));
    }
    tw_sched_batch_end(s);
    tw_sched_ckpt_soon(s); /* the WAL's checkpoint waits for a quiet moment (sched_ckpt.c) */
}

static void end_interrupted(struct tw_sched *s, int64_t id, int64_t attempt, int64_t now)
{
    struct tw_run_outcome o;
    struct tw_err err;
    int rc;

    memset(&o, 0, sizeof(o));
    o.state = TW_STATE_READY;
    o.time = now;
    o.msg = MSG_INTERRUPTED;
    o.attempt = attempt;
    rc = tw_store_run_finish(s->d.store, id, &o, &err);
    if (rc == TW_ECONFLICT && strcmp(err.field, "attempt") == 0)
        tw_sched_fenced(s, id, attempt, "the interruption of the run", &err);
    else if (rc != TW_OK)
        tw_logf(TW_LOG_ERROR, "sched.finish", "task %lld: cannot record its interrupted run: %s",
                (long long)id, err.msg);
}

/*
 * Whether writing an interrupted run as READY lets the next start run it again (docs/reference.md §5: a
 * run interrupted by a shutdown is "recovered as above": logged as interrupted, and the task
 * runs again). A READY task runs at the next start only when its trigger.once has come, which
 * is not so for a run started by POST /execute of a task due later (e.g. a one-off task due
 * next year): written READY, it would silently never rerun. Such a task is left INPROGRESS
 * instead, exactly as after a crash, so the next start's recovery (tw_sched_recover) logs it
 * "INPROGRESS -> READY" + MSG_INTERRUPTED and runs it once whatever its trigger.
 */
static bool interrupted_runs_again(struct tw_sched *s, int64_t id, int64_t now)
{
    struct tw_task task;
    struct tw_err err;
    bool due;

    memset(&task, 0, sizeof(task));
    if (tw_store_task_get(s->d.store, id, &task, &err) != TW_OK)
        return true; /* cannot tell: keep the usual write */
    due = task.once_at <= now;
    if (!due)
        tw_logf(TW_LOG_INFO, "sched.interrupt",
                "task %lld: interrupted before its trigger.once; "
                "left INPROGRESS so that the next start recovers it and runs it again",
                (long long)id);
    tw_task_fini(&task);
    return due;
}

/*
 * results.storage s3: a new result under another name (format or compression changed) leaves
 * the previous object behind; once the new one is recorded, that one is deleted, off the loop.
 * Under the same name the upload itself replaced it, as a rename does a local file.
 */
static void delete_replaced(struct tw_sched *s, const struct tw_task *task,
                            const struct tw_run_result *res)
{
    struct tw_s3_conf c;
    struct tw_err err;
    char key[4352];
    const char *keys[1] = { key };

    if (res->end != TW_RUN_DONE || !tw_results_on_s3(s->d.cfg) || task->result == NULL ||
        task->result_expired || res->result_name == NULL ||
        strcmp(task->result, res->result_name) == 0)
        return;
    if (tw_results_s3_conf(s->d.cfg, &c, &err) != TW_OK ||
        tw_results_key(task->chain, task->id, task->result, key, sizeof(key), &err) != TW_OK ||
        tw_results_delete_later(&c, keys, 1, "replaced", &err) != TW_OK)
        tw_logf(TW_LOG_WARN, "results.delete_failed", "task %lld: %s", (long long)task->id,
                err.msg);
}

static void end_finished(struct tw_sched *s, struct tw_sched_task *t,
                         const struct tw_run_result *res)
{
    struct tw_run_outcome o;
    struct tw_sched_window win;
    struct tw_task task;
    struct tw_err err;
    char msg[128];

    memset(&task, 0, sizeof(task));
    memset(&win, 0, sizeof(win));
    if (tw_store_task_get(s->d.store, res->task_id, &task, &err) != TW_OK) {
        tw_logf(TW_LOG_ERROR, "sched.finish", "task %lld ended but cannot be read: %s",
                (long long)res->task_id, err.msg);
        tw_sched_entry_drop(s, t);
        return;
    }
    memset(&o, 0, sizeof(o));
    o.state = res->end == TW_RUN_DONE ? TW_STATE_DONE : TW_STATE_ERROR;
    o.time = res->end_time;
    o.msg = res->msg;
    o.has_counts = res->has_counts;
    o.total = res->counts.total;
    o.errors = res->counts.errors;
    o.skips = res->counts.skips;
    o.success = res->counts.success;
    o.result = res->result_name;
    o.result_path = res->result_path;
    o.result_size = res->result_size;
    o.result_sha256 = res->result_sha256;
    /* target.since: the DONE run moves the watermark to its start and names its window. The
     * task cannot change while it runs (PUT answers 409), so this is the window it ran. */
    if (res->end == TW_RUN_DONE && tw_sched_since_window(s, &task, NULL, &win, &err) != TW_OK)
        tw_logf(TW_LOG_ERROR, "sched.since",
                "task %lld: cannot read its export watermark, "
                "which stays where it was: %s",
                (long long)task.id, err.msg);
    if (res->end == TW_RUN_DONE && win.since) {
        o.msg = tw_sched_window_msg(&win, task.last_run_date, msg, sizeof(msg));
        o.since_key = win.key;
        o.since_at = task.last_run_date;
    }
    if (res->end == TW_RUN_DONE)
        s->st.done++;
    else
        s->st.failed++;
    tw_sched_note_end(s, &task, res);
    record_end(s, t, &task, &o);
    delete_replaced(s, &task, res);
    tw_sched_window_fini(&win);
    tw_task_fini(&task);
}

/*
 * The end of a run that lost its claim while it ran (sched_lease.c, progress): nothing is
 * written; a result file its worker published before the cancel is removed; the entry is
 * re-read a heartbeat later (start() then drops it, re-arms it, or waits for the other node).
 */
static void end_fenced(struct tw_sched *s, struct tw_sched_task *t, const struct tw_run_result *res)
{
    struct tw_run_outcome o;
    struct tw_task task;
    struct tw_err err;

    memset(&o, 0, sizeof(o));
    memset(&task, 0, sizeof(task));
    o.result_path = res->end == TW_RUN_DONE ? res->result_path : NULL;
    if (o.result_path != NULL && tw_store_task_get(s->d.store, res->task_id, &task, &err) == TW_OK)
        discard_result(&task, &o);
    tw_task_fini(&task);
    if (s->stopping)
        tw_sched_entry_drop(s, t);
    else
        tw_sched_arm(s, t, tw_clock_wall_s() + poll_s(s));
}

/* The runner's done callback: every started run ends here exactly once. */
void tw_sched_on_run_end(void *ctx, const struct tw_run_result *res)
{
    struct tw_sched *s = ctx;
    struct tw_sched_task *t = tw_sched_entry_get(s, res->task_id);

    if (t != NULL && tw_sched_publish_begin(s, t, res))
        return; /* recorded once its result is published (sched_publish.c) */
    tw_sched_run_ended(s, t, res);
}

void tw_sched_run_ended(struct tw_sched *s, struct tw_sched_task *t,
                        const struct tw_run_result *res)
{
    int64_t attempt = t != NULL ? t->attempt : 0;

    tw_sched_lease_del(s, res->task_id);
    tw_squeue_run_end(&s->queue, res->chain);
    if (res->end == TW_RUN_FAILED)
        tw_logf(TW_LOG_WARN, "run.failed", "task %lld: %s", (long long)res->task_id, res->msg);
    if (t == NULL) {
        tw_logf(TW_LOG_ERROR, "sched.lost", "task %lld ended but has no entry",
                (long long)res->task_id);
    } else if (t->flags & TW_SF_DELETED) {
        t->flags = 0;
        tw_sched_entry_drop(s, t); /* deleted: nothing of this run is written */
    } else if (t->flags & TW_SF_FENCED) {
        t->flags = 0;
        end_fenced(s, t, res); /* another node runs it now: write nothing, re-read it later */
    } else if (res->end == TW_RUN_CANCELLED) {
        t->flags = 0;
        tw_sched_entry_drop(s, t);
    } else if (res->end == TW_RUN_INTERRUPTED) {
        t->flags = 0;
        if (interrupted_runs_again(s, res->task_id, res->end_time))
            end_interrupted(s, res->task_id, attempt, res->end_time);
        tw_sched_entry_drop(s, t); /* READY (or INPROGRESS, see above): the next start runs it */
    } else {
        t->flags = 0;
        end_finished(s, t, res);
    }
    tw_sched_notify(s, res->task_id);
    if (s->stopping)
        tw_sched_check_drained(s);
    else
        pump_soon(s); /* not here: one SIGCHLD may end dozens of runs in a row */
}

void tw_sched_on_progress(void *ctx, int64_t task_id, const struct tw_run_counts *c)
{
    struct tw_sched *s = ctx;
    struct tw_sched_task *t = tw_sched_entry_get(s, task_id);
    struct tw_err err;
    int rc;

    if (t != NULL && (t->flags & (TW_SF_DELETED | TW_SF_FENCED)))
        return; /* fenced or deleted: nothing more of this run is written */
    rc = tw_store_run_progress(s->d.store, task_id, tw_clock_wall_s(), c->total, c->errors,
                               c->skips, c->success, t != NULL ? t->attempt : 0, &err);
    if (rc == TW_ECONFLICT && strcmp(err.field, "attempt") == 0) {
        tw_sched_fenced(s, task_id, t != NULL ? t->attempt : 0, "progress", &err);
        if (t != NULL)
            t->flags |= TW_SF_FENCED; /* the end writes nothing (tw_sched_on_run_end) */
        (void)tw_runner_cancel(s->runner, task_id);
    } else if (rc != TW_OK)
        tw_logf(TW_LOG_WARN, "sched.progress", "task %lld: cannot record progress: %s",
                (long long)task_id, err.msg);
}

int tw_sched_recover(struct tw_sched *s, int64_t id, int64_t chain, struct tw_err *err)
{
    char dir[4096], tmp[4096 + 16];
    struct tw_sched_task *t;
    int64_t now = tw_clock_wall_s();

    end_interrupted(s, id, 0, now);
    if (tw_run_paths(s->d.cfg->results_dir, chain, id, dir, sizeof(dir), tmp, sizeof(tmp)) == TW_OK)
        (void)unlink(tmp);
    tw_logf(TW_LOG_INFO, "sched.recover",
            "task %lld: INPROGRESS -> READY (" MSG_INTERRUPTED "); it runs again now",
            (long long)id);
    t = tw_sched_entry_add(s, id, chain);
    if (t == NULL)
        return tw_err_set(err, TW_ENOMEM, "scheduler: out of memory while recovering tasks");
    t->flags |= TW_SF_RECOVERED;
    t->once_at = now;
    tw_sched_arm(s, t, now);
    return TW_OK;
}

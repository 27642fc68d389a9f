/*
 * The scheduler's entries, its one libevent timer, the API hooks and shutdown (sched.h has the
 * model; starting runs and recording their ends is sched_run.c).
 *
 * Time: trigger.once is wall-clock UTC seconds, the wheel runs on the monotonic ms clock. An
 * entry is armed at once_at * 1000 - (wall_ms - mono_ms), with the offset measured when the
 * scheduler starts. The timer (sched_tick.c) never sleeps more than CHECK_EVERY_MS, and each time it
 * fires the offset is measured again: if the wall clock jumped (NTP step, manual change) by
 * more than a second, every armed entry is re-armed with the new offset, so tasks still run at
 * their wall-clock time. That walk is O(tasks) but happens only on a jump.
 *
 * Entries exist only for tasks that can run without a new API call: READY tasks and repeating
 * DONE/ERROR tasks. A finished one-off task has none, and POST /execute creates one on demand.
 */
#include "sched/sched.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "results/results.h"
#include "sched/sched_int.h"

#define CHECK_EVERY_MS 60000 /* longest sleep of the wheel timer: clock-jump check period */
#define CLOCK_JUMP_MS 1000   /* a wall/monotonic offset change larger than this re-arms */
#define RETRY_MS 1000        /* back-off when a due task cannot be queued (no memory) */

struct tw_sched_task *tw_sched_entry_get(const struct tw_sched *s, int64_t id)
{
    struct tw_hnode *h = tw_imap_get(&s->tasks, id);

    return h != NULL ? TW_CONTAINER_OF(h, struct tw_sched_task, h) : NULL;
}

/*
 * The scheduler whose wheel is running (set by on_tick around tw_wheel_run): timer callbacks
 * get only their timer, and 8 bytes more per task to point back at one scheduler is waste.
 */
static struct tw_sched *firing;

/* A task's time has come: queue it for a worker. */
static void on_timer_fire(struct tw_timer *timer)
{
    struct tw_sched_task *t = TW_CONTAINER_OF(timer, struct tw_sched_task, timer);
    struct tw_sched *s = firing;

    if (tw_squeue_push(&s->queue, t->chain, &t->qlink, false) != TW_OK) {
        tw_logf(TW_LOG_ERROR, "sched.enomem",
                "task %lld is due but cannot be queued: "
                "out of memory, retrying in 1 s",
                (long long)t->h.key);
        tw_wheel_arm(s->wheel, &t->timer, tw_wheel_now(s->wheel) + RETRY_MS);
    }
}

struct tw_sched_task *tw_sched_entry_add(struct tw_sched *s, int64_t id, int64_t chain)
{
    struct tw_sched_task *t = tw_malloc(sizeof(*t));

    if (t == NULL)
        return NULL;
    memset(t, 0, sizeof(*t));
    tw_timer_init(&t->timer, on_timer_fire);
    tw_list_node_init(&t->qlink);
    t->h.key = id;
    t->chain = chain;
    tw_imap_put(&s->tasks, &t->h);
    return t;
}

void tw_sched_entry_drop(struct tw_sched *s, struct tw_sched_task *t)
{
    tw_timer_disarm(&t->timer);
    tw_squeue_remove(&s->queue, t->chain, &t->qlink);
    tw_imap_del(&s->tasks, &t->h);
    tw_free(t);
}

/* Wall minus monotonic time, in microseconds: arms computed with whole milliseconds were up to
 * 1 ms early or late, and an early one found its task not yet due and ran it a turn later. */
static int64_t clock_offset_us(void)
{
    return tw_clock_wall_us() - (int64_t)(tw_clock_mono_ns() / 1000u);
}

/* The wheel's millisecond for once_at (UTC seconds): the first one not before it. */
static uint64_t wheel_ms(int64_t once_at, int64_t wall_minus_mono_us)
{
    int64_t at_us = once_at * 1000000 - wall_minus_mono_us;

    return at_us > 0 ? (uint64_t)((at_us + 999) / 1000) : 0;
}

static void arm_at(struct tw_sched *s, struct tw_sched_task *t)
{
    tw_wheel_arm(s->wheel, &t->timer, wheel_ms(t->once_at, s->wall_minus_mono_us));
}

/* Re-arm the libevent timer to the wheel's next deadline (at most CHECK_EVERY_MS away). */
static void schedule_tick(struct tw_sched *s)
{
    uint64_t deadline = tw_wheel_next_deadline(s->wheel);
    uint64_t now = tw_clock_mono_ms();

    if (s->stopping)
        return;
    if (deadline > now + CHECK_EVERY_MS)
        deadline = now + CHECK_EVERY_MS;
    tw_sched_tick_at(s->tick, deadline);
}

void tw_sched_arm(struct tw_sched *s, struct tw_sched_task *t, int64_t once_at)
{
    t->once_at = once_at;
    tw_wheel_arm(s->wheel, &t->timer, wheel_ms(once_at, clock_offset_us()));
    schedule_tick(s);
}

static void rearm_one(struct tw_hnode *h, void *arg)
{
    struct tw_sched_task *t = TW_CONTAINER_OF(h, struct tw_sched_task, h);

    if (tw_timer_is_armed(&t->timer))
        arm_at(arg, t);
}

static void check_clock(struct tw_sched *s)
{
    int64_t off = clock_offset_us();
    int64_t jump = (off - s->wall_minus_mono_us) / 1000;

    if (jump < CLOCK_JUMP_MS && jump > -CLOCK_JUMP_MS)
        return;
    tw_logf(TW_LOG_WARN, "sched.clock_jump",
            "the wall clock moved by %lld ms: re-arming %zu "
            "tasks",
            (long long)jump, s->tasks.n);
    s->wall_minus_mono_us = off;
    tw_imap_each(&s->tasks, rearm_one, s);
}

static void on_tick(void *arg)
{
    struct tw_sched *s = arg;

    if (s->stopping)
        return;
    check_clock(s);
    firing = s;
    tw_wheel_run(s->wheel, tw_clock_mono_ms());
    firing = NULL;
    tw_sched_pump(s);
    schedule_tick(s);
}

void tw_sched_notify(struct tw_sched *s, int64_t task_id)
{
    tw_sched_notify_why(s, task_id, NULL);
}

void tw_sched_notify_why(struct tw_sched *s, int64_t task_id, const struct tw_err *why)
{
    struct tw_sched_waiter **pp, *w;

    for (pp = &s->waiters; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->task_id == task_id) {
            w = *pp;
            *pp = w->next;
            w->cb(w->arg, task_id, why);
            tw_free(w);
            return;
        }
}

/* ---- rebuild ---- */

struct rebuild {
    struct tw_sched *s;
    int64_t *stale; /* INPROGRESS ids, then their chains: pairs */
    size_t n_stale;
    size_t cap_stale;
};

static int rebuild_one(void *ctx, const struct tw_task_brief *b)
{
    struct rebuild *rb = ctx;
    struct tw_sched_task *t;
    int64_t *grown;

    if (b->state == TW_STATE_INPROGRESS && tw_sched_clustered(rb->s))
        return TW_OK; /* another node's run, or ours from a previous life: see sched_lease.c */
    if (b->state == TW_STATE_INPROGRESS) {
        if (rb->n_stale == rb->cap_stale) {
            rb->cap_stale = rb->cap_stale ? rb->cap_stale * 2 : 16;
            grown = tw_realloc(rb->stale, rb->cap_stale * 2 * sizeof(*grown));
            if (grown == NULL)
                return TW_ENOMEM;
            rb->stale = grown;
        }
        rb->stale[2 * rb->n_stale] = b->id;
        rb->stale[2 * rb->n_stale + 1] = b->chain;
        rb->n_stale++;
        return TW_OK;
    }
    if (b->state != TW_STATE_READY && b->repeat[0] == '\0')
        return TW_OK; /* a finished one-off task: nothing to schedule */
    t = tw_sched_entry_add(rb->s, b->id, b->chain);
    if (t == NULL)
        return TW_ENOMEM;
    t->once_at = b->once_at;
    arm_at(rb->s, t);
    return TW_OK;
}

static int rebuild(struct tw_sched *s, struct tw_err *err)
{
    struct rebuild rb = { .s = s };
    size_t i;
    int ret;

    ret = tw_store_task_scan(s->d.store, rebuild_one, &rb, err);
    if (ret == TW_ENOMEM)
        tw_err_set(err, TW_ENOMEM, "scheduler: out of memory while loading tasks");
    for (i = 0; ret == TW_OK && i < rb.n_stale; i++)
        ret = tw_sched_recover(s, rb.stale[2 * i], rb.stale[2 * i + 1], err);
    s->st.recovered = rb.n_stale;
    tw_free(rb.stale);
    return ret;
}

/* ---- lifecycle ---- */

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched *s = arg;

    (void)fd;
    (void)what;
    if (tw_runner_active(s->runner) > 0)
        tw_logf(TW_LOG_WARN, "sched.interrupt", "shutdown grace over: interrupting %u runs",
                tw_runner_active(s->runner));
    tw_runner_interrupt_all(s->runner);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched *s = arg;

    (void)fd;
    (void)what;
    if (s->on_drained != NULL)
        s->on_drained(s->drained_arg);
}

static void on_pump_more(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tw_sched_pump(arg);
}

/* results.storage s3: the helper that publishes results and deletes objects (publish.h). */
static int start_publisher(struct tw_sched *s, struct tw_err *err)
{
    struct tw_s3_conf c;
    int ret = tw_results_s3_conf(s->d.cfg, &c, err);

    return ret == TW_OK ? tw_publisher_new(s->d.base, &c, &s->publisher, err) : ret;
}

int tw_sched_create(const struct tw_sched_deps *d, struct tw_sched **out, struct tw_err *err)
{
    struct tw_runner_opts ro = {
        .base = d->base,
        .workers = d->cfg->workers,
        .task_timeout_s = d->cfg->task_timeout_s,
        .kill_grace_ms = d->kill_grace_ms,
        .work = d->work,
        .work_ctx = d->work_ctx,
        .worker_nice = d->cfg->worker_nice,
        .workers_max_runs = d->cfg->workers_max_runs,
        .workers_max_rss = d->cfg->workers_max_rss_bytes,
        .done = tw_sched_on_run_end,
        .progress = tw_sched_on_progress,
    };
    struct tw_sched *s;
    uint64_t t0 = tw_clock_mono_ms();
    int ret;

    if (d->cfg == NULL || d->store == NULL || d->base == NULL || d->work == NULL)
        return tw_err_set(err, TW_EINVAL, "scheduler: cfg, store, base and work are required");
    s = tw_calloc(1, sizeof(*s));
    if (s == NULL)
        return tw_err_set(err, TW_ENOMEM, "scheduler: out of memory");
    s->d = *d;
    tw_sched_stats_init(s);
    ro.ctx = s;
    s->wall_minus_mono_us = clock_offset_us();
    s->wheel = tw_wheel_create(tw_clock_mono_ms());
    s->tick = tw_sched_tick_new(d->base, on_tick, s);
    s->grace = evtimer_new(d->base, on_grace, s);
    s->later = evtimer_new(d->base, on_later, s);
    s->pump_more = evtimer_new(d->base, on_pump_more, s);
    if (s->wheel == NULL || !s->tick || !s->grace || !s->later || !s->pump_more ||
        tw_imap_init(&s->tasks, 1024) != TW_OK ||
        tw_squeue_init(&s->queue, d->cfg->max_runs_per_chain) != TW_OK) {
        ret = tw_err_set(err, TW_ENOMEM, "scheduler: out of memory");
        goto fail;
    }
    ret = tw_runner_create(&ro, &s->runner, err);
    if (ret == TW_OK && tw_results_on_s3(d->cfg)) /* a fork, while single-threaded */
        ret = start_publisher(s, err);
    if (ret == TW_OK)
        ret = rebuild(s, err);
    if (ret == TW_OK)
        ret = tw_sched_lease_init(s, err);
    if (ret == TW_OK && tw_sched_ckpt_init(s) != TW_OK)
        ret = tw_err_set(err, TW_ENOMEM, "scheduler: out of memory");
    if (ret != TW_OK)
        goto fail;
    tw_logf(TW_LOG_INFO, "sched.ready",
            "%zu tasks scheduled, %llu interrupted runs recovered, "
            "in %llu ms",
            s->tasks.n, (unsigned long long)s->st.recovered,
            (unsigned long long)(tw_clock_mono_ms() - t0));
    schedule_tick(s);
    *out = s;
    return TW_OK;
fail:
    tw_sched_destroy(s);
    return ret;
}

static void free_entry(struct tw_hnode *h, void *arg)
{
    struct tw_sched_task *t = TW_CONTAINER_OF(h, struct tw_sched_task, h);

    (void)arg;
    tw_timer_disarm(&t->timer);
    tw_free(t);
}

void tw_sched_destroy(struct tw_sched *s)
{
    struct tw_sched_waiter *w;

    if (s == NULL)
        return;
    tw_runner_destroy(s->runner);
    tw_publisher_free(s->publisher);
    tw_sched_lease_fini(s);
    tw_sched_ckpt_fini(s);
    tw_squeue_fini(&s->queue);
    if (s->tasks.buckets != NULL)
        tw_imap_each(&s->tasks, free_entry, NULL);
    tw_imap_fini(&s->tasks);
    tw_wheel_destroy(s->wheel);
    tw_sched_tick_free(s->tick);
    if (s->grace != NULL)
        event_free(s->grace);
    if (s->later != NULL)
        event_free(s->later);
    if (s->pump_more != NULL)
        event_free(s->pump_more);
    while (s->waiters != NULL) {
        w = s->waiters;
        s->waiters = w->next;
        tw_free(w);
    }
    tw_free(s);
}

/* ---- shutdown ---- */

void tw_sched_check_drained(struct tw_sched *s)
{
    struct timeval now = { 0, 0 };

    if (!s->stopping || s->drained || tw_runner_active(s->runner) > 0 ||
        tw_publisher_inflight(s->publisher) > 0)
        return;
    s->drained = true;
    evtimer_del(s->grace);
    while (s->waiters != NULL)
        tw_sched_notify(s, s->waiters->task_id);
    evtimer_add(s->later, &now);
}

void tw_sched_shutdown(struct tw_sched *s, uint32_t grace_s, tw_sched_drained_fn *on_drained,
                       void *arg)
{
    struct timeval tv = { .tv_sec = grace_s, .tv_usec = 0 };

    if (!s->stopping) {
        s->stopping = true;
        s->on_drained = on_drained;
        s->drained_arg = arg;
        tw_sched_tick_stop(s->tick);
        tw_logf(TW_LOG_INFO, "sched.stop", "stopping: %u runs still going, grace %u s",
                tw_runner_active(s->runner), grace_s);
    }
    if (s->drained)
        return;
    evtimer_add(s->grace, &tv);
    tw_sched_check_drained(s);
}

static void count_entry(struct tw_hnode *h, void *arg)
{
    struct tw_sched_task *t = TW_CONTAINER_OF(h, struct tw_sched_task, h);
    struct tw_sched_stats *st = arg;

    if (tw_timer_is_armed(&t->timer))
        st->armed++;
}

void tw_sched_get_stats(const struct tw_sched *s, struct tw_sched_stats *out)
{
    *out = s->st;
    out->tasks = s->tasks.n;
    out->queued = s->queue.queued;
    out->running = tw_runner_active(s->runner);
    {
        struct tw_runner_stats rs;

        tw_runner_get_stats(s->runner, &rs);
        out->worker_processes_started = rs.workers_started;
        out->workers_retired = rs.workers_retired;
        out->worker_handovers = rs.jobs_handed_over;
    }
    out->armed = 0;
    tw_imap_each((struct tw_imap *)&s->tasks, count_entry, out);
}

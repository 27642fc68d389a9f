/*
 * Run ends wait while a burst of starts is under way: the runner's report of an end is copied
 * here and recorded (tw_sched_run_ended: the store's run_finish, re-arm, log, waiters) once the
 * ready queue has nothing more that can start; one that waited ENDS_WAIT_MAX_MS is recorded
 * anyway, ENDS_SLICE per turn of the loop, between the pump's slices.
 *
 * Why: with 100 runs due at once, short runs end while the later ones of the same second are
 * still being started, and the loop recorded each end between two pump slices (~90 us apiece,
 * one store commit each): 0.4-4.8 ms of every second's start lateness in bench_sched_lateness
 * 1000 10 100, and with 8 workers an end before every start. Nothing a start needs waits on the
 * record: the worker is back in the pool and the chain's running count dropped when the runner
 * reported the end (tw_sched_on_run_end does that before deferring).
 *
 * Meanwhile the task is INPROGRESS in the store and its entry still marked running, exactly as
 * while its worker was busy: execute answers 409, a delete is honoured when the end is recorded
 * (nothing written), and a crash in that window is recovered like a crash during the run (the
 * task is READY again and runs once more) -- the window the end of every run already had
 * between the worker's report and its commit, now a few milliseconds longer. Shutdown and
 * destroy record every end kept before anything else.
 */
#include "sched/sched_int.h"

#include <stdint.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/mem.h"

#define ENDS_WAIT_MAX_MS 50 /* an end waits at most about this long after it was reported */
#define ENDS_SLICE 8        /* ends recorded per loop turn while starts are still under way */

struct tw_sched_ended {
    struct tw_sched_ended *next;
    uint64_t at_ms;           /* monotonic, when the runner reported it */
    struct tw_run_result res; /* its strings are the copies below */
    char *msg, *name, *path, *sha256;
};

static void ended_free(struct tw_sched_ended *e)
{
    tw_free(e->msg);
    tw_free(e->name);
    tw_free(e->path);
    tw_free(e->sha256);
    tw_free(e);
}

/* Whether the pump can still start something (then ends wait). */
static bool starts_pending(const struct tw_sched *s)
{
    return !s->stopping && s->queue.queued > 0 && tw_runner_has_room(s->runner);
}

/* Record up to max ends kept, oldest first. */
static void record(struct tw_sched *s, size_t max)
{
    struct tw_sched_ended *e;
    size_t n;

    for (n = 0; n < max && (e = s->ends) != NULL; n++) {
        s->ends = e->next;
        if (s->ends == NULL)
            s->ends_tail = &s->ends;
        tw_sched_run_ended(s, &e->res);
        ended_free(e);
    }
}

static void record_all(struct tw_sched *s)
{
    record(s, SIZE_MAX);
}

static void on_end_more(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched *s = arg;
    struct timeval now = { 0, 0 };

    (void)fd;
    (void)what;
    if (s->ends == NULL)
        return;
    if (!starts_pending(s)) {
        record_all(s);
        return;
    }
    /* starts are still under way: only ends that waited long enough, a slice at a time */
    if (tw_clock_mono_ms() - s->ends->at_ms >= ENDS_WAIT_MAX_MS)
        record(s, ENDS_SLICE);
    if (s->ends != NULL)
        evtimer_add(s->end_more, &now); /* after the pump's next slice */
}

bool tw_sched_ends_defer(struct tw_sched *s, const struct tw_run_result *res)
{
    struct timeval now = { 0, 0 };
    struct tw_sched_ended *e;

    if (s->stopping) {
        record_all(s); /* keep the order: the older ends first */
        return false;
    }
    if (s->end_more == NULL) {
        s->ends_tail = &s->ends;
        s->end_more = evtimer_new(s->d.base, on_end_more, s);
        if (s->end_more == NULL)
            return false;
    }
    if (s->ends == NULL && !starts_pending(s))
        return false; /* nothing to wait for: record it now, as always */
    e = tw_calloc(1, sizeof(*e));
    if (e == NULL)
        return record_all(s), false;
    e->res = *res;
    e->at_ms = tw_clock_mono_ms();
    e->res.msg = e->msg = tw_strdup(res->msg);
    e->res.result_name = e->name = tw_strdup(res->result_name);
    e->res.result_path = e->path = tw_strdup(res->result_path);
    e->res.result_sha256 = e->sha256 = tw_strdup(res->result_sha256);
    if ((res->msg && !e->msg) || (res->result_name && !e->name) || (res->result_path && !e->path) ||
        (res->result_sha256 && !e->sha256)) {
        ended_free(e);
        return record_all(s), false;
    }
    *s->ends_tail = e;
    s->ends_tail = &e->next;
    e->next = NULL;
    evtimer_add(s->pump_more, &now); /* the worker it freed takes the next run at once */
    evtimer_add(s->end_more, &now);
    return true;
}

void tw_sched_ends_flush(struct tw_sched *s)
{
    record_all(s);
    if (s->end_more != NULL) {
        event_free(s->end_more);
        s->end_more = NULL;
    }
}

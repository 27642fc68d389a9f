/*
 * The scheduler's one timer, precise to the microsecond: a Linux timerfd watched by the event
 * loop, instead of a libevent timer.
 *
 * Why: libevent (2.1, without EVENT_BASE_FLAG_PRECISE_TIMER) keeps time with
 * CLOCK_MONOTONIC_COARSE, which advances in jiffies -- 4 ms on this project's VMs (HZ=250) --
 * and decides whether a timer is due by that clock, so every libevent timer fires 0-4 ms late
 * (bench_sched_lateness: the wheel fired 2.1-4.0 ms after trigger.once, p50 2.6 ms). Making
 * the whole base precise would cost the API a timerfd_settime on every loop turn; this timer
 * costs one only when the wheel's next deadline changes. Where timerfd is missing (not Linux,
 * or it fails), it falls back to a libevent timer with the old, coarse behaviour.
 *
 * Deadlines are on tw_clock_mono_ms's scale and the timerfd is set relative to
 * tw_clock_mono_ns, so the fake clock of the tests keeps working with the fallback's meaning.
 */
#include "sched/sched_int.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/mem.h"

#ifdef __linux__
#include <sys/timerfd.h>
#endif

struct tw_sched_tick {
    struct event *ev;
    int fd;     /* the timerfd, -1 with the libevent fallback */
    bool armed; /* the timerfd is set, for armed_ms */
    uint64_t armed_ms;
    void (*cb)(void *arg);
    void *arg;
};

static void on_fd(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched_tick *k = arg;
    uint64_t expirations;

    (void)what;
    if (read(fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
        return; /* re-set since it fired: not due any more */
    k->armed = false;
    k->cb(k->arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched_tick *k = arg;

    (void)fd;
    (void)what;
    k->cb(k->arg);
}

struct tw_sched_tick *tw_sched_tick_new(struct event_base *base, void (*cb)(void *arg), void *arg)
{
    struct tw_sched_tick *k = tw_calloc(1, sizeof(*k));

    if (k == NULL)
        return NULL;
    k->cb = cb;
    k->arg = arg;
    k->fd = -1;
#ifdef __linux__
    k->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
#endif
    if (k->fd != -1)
        k->ev = event_new(base, k->fd, EV_READ | EV_PERSIST, on_fd, k);
    else
        k->ev = evtimer_new(base, on_timer, k);
    if (k->ev == NULL || (k->fd != -1 && event_add(k->ev, NULL) != 0)) {
        tw_sched_tick_free(k);
        return NULL;
    }
    return k;
}

void tw_sched_tick_at(struct tw_sched_tick *k, uint64_t deadline_ms)
{
    uint64_t now_ns = tw_clock_mono_ns();
    uint64_t due_ns = deadline_ms * 1000000u;
    uint64_t delay_ns = due_ns > now_ns ? due_ns - now_ns : 1; /* 0 would disarm */

    if (k->fd == -1) {
        struct timeval tv = { (time_t)(delay_ns / 1000000000u),
                              (suseconds_t)(delay_ns % 1000000000u / 1000u) };

        evtimer_add(k->ev, &tv);
        return;
    }
#ifdef __linux__
    if (k->armed && deadline_ms == k->armed_ms)
        return;
    {
        struct itimerspec its = {
            { 0, 0 }, { (time_t)(delay_ns / 1000000000u), (long)(delay_ns % 1000000000u) }
        };

        k->armed = timerfd_settime(k->fd, 0, &its, NULL) == 0;
        k->armed_ms = deadline_ms;
    }
#endif
}

void tw_sched_tick_stop(struct tw_sched_tick *k)
{
    if (k->fd == -1) {
        evtimer_del(k->ev);
        return;
    }
#ifdef __linux__
    {
        struct itimerspec off = { { 0, 0 }, { 0, 0 } };

        (void)timerfd_settime(k->fd, 0, &off, NULL);
        k->armed = false;
    }
#endif
}

void tw_sched_tick_free(struct tw_sched_tick *k)
{
    if (k == NULL)
        return;
    if (k->ev != NULL)
        event_free(k->ev);
    if (k->fd != -1)
        close(k->fd);
    tw_free(k);
}

/*
 * Hierarchical timer wheel (h2o lib/common/timerwheel.c shape): a pure data structure that knows
 * when every armed timer is due. It never reads a clock; the caller passes "now" in milliseconds
 * on a monotonic scale (the engine uses tw_clock_mono_ms) and drives it with one libevent timer:
 *
 *     tw_wheel_run(w, now);
 *     deadline = tw_wheel_next_deadline(w);   then re-arm the libevent timer to it
 *
 * Timers are intrusive (struct tw_timer is embedded in its owner), so arming and disarming
 * allocate nothing and are O(1). Resolution is 1 ms; 4 levels x 256 slots cover 2^32 ms
 * (~49.7 days) ahead; later timers wait on an overflow list that is re-examined when time
 * crosses the next 2^32 ms boundary. See wheel.c for the placement rule.
 *
 * Not thread-safe: one wheel belongs to one event loop.
 */
#ifndef TW_SCHED_WHEEL_H
#define TW_SCHED_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/list.h"

struct tw_wheel;
struct tw_timer;

/* Called when the timer expires; the timer is already disarmed when this runs. */
typedef void tw_timer_fn(struct tw_timer *t);

struct tw_timer {          /* embed in the owner (task, connection); 32 bytes */
    struct tw_list link;   /* slot/due/overflow list; next == NULL when not armed */
    uint64_t expire_at_ms; /* absolute time on the caller's monotonic ms scale */
    tw_timer_fn *fire;     /* called once per expiry; find the owner with TW_CONTAINER_OF */
};

/* Prepare a timer (caller-provided storage) as not armed, with its callback. */
void tw_timer_init(struct tw_timer *t, tw_timer_fn *fire);

/*
 * A new, empty wheel whose current time is now_ms. Returns NULL when out of memory.
 * The caller owns it and releases it with tw_wheel_destroy.
 */
struct tw_wheel *tw_wheel_create(uint64_t now_ms);

/*
 * Free the wheel. Timers still armed are disarmed (not fired), so their owners may later call
 * tw_timer_disarm or tw_timer_is_armed safely. NULL is a no-op.
 */
void tw_wheel_destroy(struct tw_wheel *w);

/*
 * Arm 't' (borrowed; it must stay alive until it fires or is disarmed) to fire at at_ms. O(1).
 * Arming an armed timer moves it. A time at or before the wheel's current time (the 'now' of the
 * last tw_wheel_run, or of tw_wheel_create) makes the timer due: it fires on the next
 * tw_wheel_run. That also holds when a fire callback arms a timer in the past during a run: it
 * fires on the next run, not this one, so a callback that re-arms itself cannot spin forever.
 */
void tw_wheel_arm(struct tw_wheel *w, struct tw_timer *t, uint64_t at_ms);

/* Cancel 't' in O(1); a no-op when it is not armed. Safe inside any fire callback. */
void tw_timer_disarm(struct tw_timer *t);

bool tw_timer_is_armed(const struct tw_timer *t);

/*
 * When tw_wheel_run should next be called: UINT64_MAX when no timer is armed, otherwise a time
 * never later than the earliest armed timer's expire_at_ms. It may be earlier than that timer
 * (a lower bound): for timers on levels above the first it is the start of their slot, and for
 * the overflow list the earliest expiry it ever held since time last crossed a 2^32 ms boundary
 * (disarming does not raise it). Running at that time moves those timers down the wheel, after
 * which the deadline is tighter; a timer moves down at most 4 times once it is within 2^32 ms
 * (farther ones are looked at again each time a 2^32 ms boundary is crossed). The value is
 * always after the wheel's current time unless a timer is already due, so following it never
 * busy-loops. A value at or before 'now' means: run again immediately. Cost: a few bitmap words.
 */
uint64_t tw_wheel_next_deadline(const struct tw_wheel *w);

/*
 * Advance the wheel to now_ms and fire every armed timer with expire_at_ms <= now_ms; returns
 * how many fired. Timers due in the same run fire in no particular order. Callbacks may arm,
 * re-arm or disarm any timer (themselves included) and may free their own timer's owner; they
 * must not call tw_wheel_run or tw_wheel_destroy on this wheel. now_ms should not go backwards;
 * if it does, nothing fires early, and the wheel keeps its later time.
 * Cost: O(timers fired + timers moved down a level), independent of how far time jumped.
 */
size_t tw_wheel_run(struct tw_wheel *w, uint64_t now_ms);

/* The wheel's current time: the largest now_ms passed to tw_wheel_run or tw_wheel_create. */
uint64_t tw_wheel_now(const struct tw_wheel *w);

/* Tests only: check every structural invariant (see wheel.c); O(armed timers). */
bool tw_wheel_validate(const struct tw_wheel *w);

#endif /* TW_SCHED_WHEEL_H */

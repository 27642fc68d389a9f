/*
 * Timer wheel tests: focused cases for the contract in wheel.h, then long randomized runs that
 * drive the wheel and a naive model side by side (the model is just "armed + expiry" per timer,
 * scanned in full) through arm/disarm/run with jumps from 0 ms to months, with fire callbacks
 * that arm and disarm other timers and themselves. Seeds are fixed so a failure reproduces.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "sched/wheel.h"

static struct tw_wheel *w;

static void setup(void)
{
    w = tw_wheel_create(0 /* now_ms */);
}
static void teardown(void)
{
    tw_wheel_destroy(w);
}

TestSuite(wheel, .init = setup, .fini = teardown, .timeout = 10);

/* ---- focused cases ---- */

struct probe {
    struct tw_timer timer;
    int fired;               /* times fired */
    uint64_t fired_at_ms;    /* the wheel's now at the last fire */
    uint64_t rearm_to_ms;    /* when non-zero, the callback re-arms itself there once */
    struct tw_timer *victim; /* when set, the callback disarms this timer */
};

static void probe_fire(struct tw_timer *t)
{
    struct probe *p = TW_CONTAINER_OF(t, struct probe, timer);

    cr_assert(!tw_timer_is_armed(t), "a timer is disarmed before its callback");
    p->fired++;
    p->fired_at_ms = tw_wheel_now(w);
    if (p->rearm_to_ms != 0) {
        tw_wheel_arm(w, t, p->rearm_to_ms);
        p->rearm_to_ms = 0;
    }
    if (p->victim != NULL)
        tw_timer_disarm(p->victim);
}

static void probe_init(struct probe *p)
{
    p->fired = 0;
    p->fired_at_ms = 0;
    p->rearm_to_ms = 0;
    p->victim = NULL;
    tw_timer_init(&p->timer, probe_fire);
}

Test(wheel, timer_is_32_bytes)
{
    cr_assert_eq(sizeof(struct tw_timer), 32);
}

Test(wheel, fires_at_deadline_not_before)
{
    struct probe p;

    probe_init(&p);
    tw_wheel_arm(w, &p.timer, 1000);
    cr_assert(tw_timer_is_armed(&p.timer));
    cr_assert_eq(tw_wheel_run(w, 999), 0);
    cr_assert_eq(tw_wheel_run(w, 1000), 1);
    cr_assert_eq(p.fired, 1);
    cr_assert(!tw_timer_is_armed(&p.timer));
    cr_assert_eq(tw_wheel_run(w, 5000), 0);
}

Test(wheel, empty_deadline_is_max)
{
    struct probe p;

    cr_assert_eq(tw_wheel_next_deadline(w), UINT64_MAX);
    probe_init(&p);
    tw_wheel_arm(w, &p.timer, 7);
    cr_assert_eq(tw_wheel_next_deadline(w), 7);
    tw_timer_disarm(&p.timer);
    cr_assert_eq(tw_wheel_next_deadline(w), UINT64_MAX);
    cr_assert(tw_wheel_validate(w));
}

Test(wheel, disarm_is_noop_when_not_armed)
{
    struct probe p;

    probe_init(&p);
    tw_timer_disarm(&p.timer);
    tw_wheel_arm(w, &p.timer, 10);
    tw_timer_disarm(&p.timer);
    tw_timer_disarm(&p.timer);
    cr_assert(!tw_timer_is_armed(&p.timer));
    cr_assert_eq(tw_wheel_run(w, 100), 0);
    cr_assert(tw_wheel_validate(w));
}

Test(wheel, armed_in_the_past_fires_on_next_run)
{
    struct probe p;

    cr_assert_eq(tw_wheel_run(w, 5000), 0);
    probe_init(&p);
    tw_wheel_arm(w, &p.timer, 10);
    cr_assert_leq(tw_wheel_next_deadline(w), 5000);
    cr_assert(tw_wheel_validate(w));
    cr_assert_eq(tw_wheel_run(w, 5000), 1);
    cr_assert_eq(p.fired, 1);
}

Test(wheel, rearm_moves_the_timer)
{
    struct probe p;

    probe_init(&p);
    tw_wheel_arm(w, &p.timer, 100);
    tw_wheel_arm(w, &p.timer, 300000);
    cr_assert_eq(tw_wheel_run(w, 299999), 0);
    cr_assert_eq(tw_wheel_run(w, 300000), 1);
    cr_assert_eq(p.fired, 1);
}

Test(wheel, callback_rearms_itself_in_the_future)
{
    struct probe p;

    probe_init(&p);
    p.rearm_to_ms = 2500;
    tw_wheel_arm(w, &p.timer, 1000);
    cr_assert_eq(tw_wheel_run(w, 2000), 1);
    cr_assert(tw_timer_is_armed(&p.timer));
    cr_assert_leq(tw_wheel_next_deadline(w), 2500, "a lower bound: here the slot start, 2304");
    cr_assert_eq(tw_wheel_run(w, 2499), 0);
    cr_assert_eq(tw_wheel_run(w, 2500), 1);
    cr_assert_eq(p.fired, 2);
    cr_assert_eq(p.fired_at_ms, 2500);
}

Test(wheel, callback_rearming_in_the_past_waits_for_next_run)
{
    struct probe p;

    probe_init(&p);
    p.rearm_to_ms = 1;
    tw_wheel_arm(w, &p.timer, 1000);
    cr_assert_eq(tw_wheel_run(w, 1000), 1, "must not fire twice in one run");
    cr_assert(tw_timer_is_armed(&p.timer));
    cr_assert_leq(tw_wheel_next_deadline(w), 1000);
    cr_assert_eq(tw_wheel_run(w, 1000), 1);
    cr_assert_eq(p.fired, 2);
}

Test(wheel, callbacks_disarming_each_other_fire_one)
{
    struct probe a;
    struct probe b;

    probe_init(&a);
    probe_init(&b);
    a.victim = &b.timer;
    b.victim = &a.timer;
    tw_wheel_arm(w, &a.timer, 500);
    tw_wheel_arm(w, &b.timer, 500);
    cr_assert_eq(tw_wheel_run(w, 600), 1);
    cr_assert_eq(a.fired + b.fired, 1);
    cr_assert(!tw_timer_is_armed(&a.timer));
    cr_assert(!tw_timer_is_armed(&b.timer));
    cr_assert(tw_wheel_validate(w));
}

struct owned {
    struct tw_timer timer;
    int *count; /* incremented before the owner frees itself */
};

static void free_self(struct tw_timer *t)
{
    struct owned *o = TW_CONTAINER_OF(t, struct owned, timer);

    (*o->count)++;
    free(o);
}

Test(wheel, callback_may_free_its_owner)
{
    int count = 0;
    int i;

    for (i = 0; i < 100; i++) {
        struct owned *o = malloc(sizeof(*o));

        cr_assert_not_null(o);
        o->count = &count;
        tw_timer_init(&o->timer, free_self);
        tw_wheel_arm(w, &o->timer, (uint64_t)i * 1000);
    }
    cr_assert_eq(tw_wheel_run(w, 1000000), 100);
    cr_assert_eq(count, 100);
}

Test(wheel, destroy_disarms_what_is_left)
{
    struct probe p[3];
    int i;

    for (i = 0; i < 3; i++)
        probe_init(&p[i]);
    /* due, on the wheel, on the overflow list */
    tw_wheel_arm(w, &p[0].timer, 0);
    tw_wheel_arm(w, &p[1].timer, 70000);
    tw_wheel_arm(w, &p[2].timer, UINT64_C(1) << 40);
    tw_wheel_destroy(w);
    w = NULL;
    for (i = 0; i < 3; i++) {
        cr_assert(!tw_timer_is_armed(&p[i].timer));
        tw_timer_disarm(&p[i].timer);
        cr_assert_eq(p[i].fired, 0);
    }
}

Test(wheel, overflow_timer_follows_deadlines_to_exact_time)
{
    const uint64_t due = UINT64_C(100) * 24 * 3600 * 1000 + 12345; /* 100 days */
    struct probe p;
    uint64_t d;
    int runs = 0;

    probe_init(&p);
    tw_wheel_arm(w, &p.timer, due);
    while (p.fired == 0) {
        d = tw_wheel_next_deadline(w);
        cr_assert_leq(d, due);
        cr_assert_gt(d, tw_wheel_now(w), "deadline must move forward");
        tw_wheel_run(w, d);
        cr_assert(tw_wheel_validate(w));
        cr_assert_lt(++runs, 10);
    }
    cr_assert_eq(p.fired_at_ms, due);
}

Test(wheel, crossing_a_block_boundary)
{
    struct probe p[4];
    const uint64_t block = UINT64_C(1) << 32;
    int i;

    tw_wheel_destroy(w);
    w = tw_wheel_create(block - 10);
    for (i = 0; i < 4; i++)
        probe_init(&p[i]);
    tw_wheel_arm(w, &p[0].timer, block - 1);
    tw_wheel_arm(w, &p[1].timer, block);
    tw_wheel_arm(w, &p[2].timer, block + 1);
    tw_wheel_arm(w, &p[3].timer, 3 * block);
    cr_assert(tw_wheel_validate(w));
    cr_assert_eq(tw_wheel_next_deadline(w), block - 1);
    cr_assert_eq(tw_wheel_run(w, block), 2);
    cr_assert(tw_wheel_validate(w));
    cr_assert_eq(tw_wheel_next_deadline(w), block + 1);
    cr_assert_eq(tw_wheel_run(w, 3 * block - 1), 1);
    cr_assert_eq(tw_wheel_run(w, 3 * block), 1);
    cr_assert_eq(tw_wheel_next_deadline(w), UINT64_MAX);
}

Test(wheel, clock_going_back_fires_nothing_early)
{
    struct probe p;

    cr_assert_eq(tw_wheel_run(w, 1000), 0);
    probe_init(&p);
    tw_wheel_arm(w, &p.timer, 900); /* due: at or before the wheel's time */
    cr_assert_eq(tw_wheel_run(w, 800), 0);
    cr_assert_eq(tw_wheel_now(w), 1000);
    cr_assert(tw_timer_is_armed(&p.timer));
    cr_assert_eq(tw_wheel_run(w, 900), 1);
}

/* ---- randomized comparison with a naive model ---- */

#define N_ITEMS 1000

struct item {
    struct tw_timer timer;
    bool armed;      /* model: should the wheel hold it? */
    uint64_t expire; /* model: its expiry when armed */
    bool expected;   /* armed with expire <= now when the current run started */
    bool touched;    /* armed or disarmed by a callback during this run before firing */
    bool fired;      /* fired during the current run */
};

static struct item items[N_ITEMS];
static uint64_t rng;
static uint64_t now;
static bool in_run;
static bool chaos; /* callbacks arm and disarm timers */

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t below(uint64_t n)
{
    return n == 0 ? 0 : rnd() % n;
}

static void model_arm(struct item *it, uint64_t at)
{
    tw_wheel_arm(w, &it->timer, at);
    it->armed = true;
    it->expire = at;
    if (in_run && !it->fired)
        it->touched = true;
}

static void model_disarm(struct item *it)
{
    tw_timer_disarm(&it->timer);
    it->armed = false;
    if (in_run && !it->fired)
        it->touched = true;
}

/* A random time to arm at: mostly soon, sometimes far ahead or already past. */
static uint64_t random_at(void)
{
    uint64_t r = below(100);

    if (r < 10)
        return now - below(now < 10000 ? now + 1 : 10000);
    if (r < 40)
        return now + below(300);
    if (r < 70)
        return now + below(UINT64_C(1) << 20);
    if (r < 90)
        return now + below(UINT64_C(1) << 32);
    return now + below(UINT64_C(1) << 36);
}

static void model_fire(struct tw_timer *t)
{
    struct item *it = TW_CONTAINER_OF(t, struct item, timer);
    struct item *other = &items[below(N_ITEMS)];
    uint64_t r;

    cr_assert(it->expected, "timer %ld fired but was not due", (long)(it - items));
    cr_assert(!it->touched, "timer %ld fired after a callback moved it", (long)(it - items));
    cr_assert(!it->fired, "timer %ld fired twice in one run", (long)(it - items));
    cr_assert(!tw_timer_is_armed(t));
    cr_assert_leq(it->expire, now);
    it->fired = true;
    it->armed = false;
    if (!chaos)
        return;
    r = below(10);
    if (r < 3)
        model_arm(it, random_at());
    else if (r < 5)
        model_disarm(other);
    else if (r < 7)
        model_arm(other, random_at());
}

static void check_deadline(void)
{
    uint64_t min = UINT64_MAX;
    uint64_t d = tw_wheel_next_deadline(w);
    int i;

    for (i = 0; i < N_ITEMS; i++) {
        cr_assert_eq(tw_timer_is_armed(&items[i].timer), items[i].armed);
        if (items[i].armed && items[i].expire < min)
            min = items[i].expire;
    }
    cr_assert_leq(d, min, "deadline %llu later than earliest timer %llu", (unsigned long long)d,
                  (unsigned long long)min);
    if (min == UINT64_MAX)
        cr_assert_eq(d, UINT64_MAX);
    if (min > now)
        cr_assert_gt(d, now, "deadline would make the caller spin");
}

static void model_run(uint64_t to)
{
    size_t expected_fired = 0;
    size_t fired;
    int i;

    now = to;
    for (i = 0; i < N_ITEMS; i++) {
        items[i].expected = items[i].armed && items[i].expire <= now;
        items[i].touched = false;
        items[i].fired = false;
    }
    in_run = true;
    fired = tw_wheel_run(w, now);
    in_run = false;
    for (i = 0; i < N_ITEMS; i++) {
        if (items[i].expected)
            cr_assert(items[i].fired || items[i].touched, "timer %d was due but did not fire", i);
        expected_fired += items[i].fired;
    }
    cr_assert_eq(fired, expected_fired);
}

/* How far the next run jumps: from nothing to months, or straight to the deadline. */
static uint64_t random_jump(void)
{
    uint64_t r = below(100);
    uint64_t d;

    if (r < 30)
        return below(10);
    if (r < 55)
        return below(1000);
    if (r < 70)
        return below(UINT64_C(1) << 20);
    if (r < 80)
        return below(UINT64_C(24) * 3600 * 1000);
    if (r < 85)
        return below(UINT64_C(1) << 33);
    d = tw_wheel_next_deadline(w);
    return d == UINT64_MAX || d < now ? 0 : d - now;
}

static void random_ops(uint64_t seed, uint64_t start, bool with_chaos, long ops)
{
    long op;
    uint64_t r;
    int i;

    rng = seed;
    now = start;
    chaos = with_chaos;
    tw_wheel_destroy(w);
    w = tw_wheel_create(now);
    for (i = 0; i < N_ITEMS; i++) {
        tw_timer_init(&items[i].timer, model_fire);
        items[i].armed = false;
    }
    for (op = 0; op < ops; op++) {
        r = below(100);
        if (r < 45)
            model_arm(&items[below(N_ITEMS)], random_at());
        else if (r < 60)
            model_disarm(&items[below(N_ITEMS)]);
        else
            model_run(now + random_jump());
        if (r >= 60 || op % 16 == 0)
            check_deadline();
        if (op % 97 == 0)
            cr_assert(tw_wheel_validate(w), "invalid wheel after op %ld", op);
    }
    cr_assert(tw_wheel_validate(w));
}

Test(wheel, random_against_model_from_zero, .timeout = 120)
{
    random_ops(0x9e3779b97f4a7c15u, 0, false, 200000);
}

Test(wheel, random_against_model_near_block_end, .timeout = 120)
{
    random_ops(0x2545f4914f6cdd1du, (UINT64_C(1) << 40) - 3000, false, 200000);
}

Test(wheel, random_with_callbacks_that_arm_and_disarm, .timeout = 120)
{
    random_ops(0xd1b54a32d192ed03u, UINT64_C(1700000000000), true, 200000);
}

/* Following next_deadline exactly, every timer fires at its own millisecond, never later. */
Test(wheel, following_deadlines_fires_each_timer_on_time, .timeout = 60)
{
    static struct probe p[2000];
    uint64_t d;
    long runs = 0;
    int i;

    rng = 42;
    for (i = 0; i < 2000; i++) {
        probe_init(&p[i]);
        tw_wheel_arm(w, &p[i].timer, 1 + below(UINT64_C(1) << (8 + below(30))));
    }
    for (d = tw_wheel_next_deadline(w); d != UINT64_MAX; d = tw_wheel_next_deadline(w)) {
        tw_wheel_run(w, d);
        runs++;
    }
    for (i = 0; i < 2000; i++) {
        cr_assert_eq(p[i].fired, 1);
        cr_assert_eq(p[i].fired_at_ms, p[i].timer.expire_at_ms);
    }
    cr_assert_leq(runs, 5 * 2000, "each timer moves down at most 4 times");
}

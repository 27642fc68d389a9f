/*
 * Hierarchical timer wheel (see wheel.h for the contract).
 *
 * Placement rule (the one thing to know). Let C be the wheel's current time and E a timer's
 * expiry, both in ms, and read them as four 8-bit digits (level 0 = lowest) above a high part:
 *   - E <= C: the timer is due and waits on the 'due' list for the next run;
 *   - E and C differ above bit 32: the timer waits on the 'overflow' list;
 *   - otherwise it goes to level l = (highest bit where E and C differ) / 8, slot = digit l of E.
 * So every timer on level l agrees with C above digit l and has a larger digit l than C: slots
 * at or below C's digit are always empty, no slot ever wraps around, all of level l expires
 * before anything on level l+1, and a level-0 slot holds timers of exactly one millisecond.
 *
 * Advancing from C to N, with h = the highest digit where C and N differ: every timer on the
 * levels below h expires (they share C's digit h, which is below N's), on level h the slots
 * between the two digits expire, the slot equal to N's digit is re-placed relative to N (its
 * timers go down a level or fire), and everything above h keeps its place. One advance is
 * therefore O(timers fired + timers moved), however far time jumps: no tick-by-tick loop.
 *
 * A bitmap per level marks slots that may be non-empty, so next_deadline and run look at set
 * bits only. Disarm cannot clear a bit (a timer does not know its wheel, and 32-byte timers
 * leave no room to record it), so a bit may be stale: set over an empty slot. Readers skip
 * empty slots and run clears bits as it passes them. A clear bit always means an empty slot.
 */
#include "sched/wheel.h"

#include <assert.h>

#include "core/mem.h"

#define LEVELS 4
#define SLOT_BITS 8
#define SLOTS (1u << SLOT_BITS)
#define WORDS (SLOTS / 64)
#define WHEEL_BITS (LEVELS * SLOT_BITS) /* 32: the wheel spans 2^32 ms */

struct tw_wheel {
    uint64_t now_ms;                     /* C: every timer with expiry <= C has fired or is due */
    uint64_t due_min_ms;                 /* lower bound of expiries on 'due' (stale after disarm) */
    uint64_t over_min_ms;                /* lower bound of expiries on 'overflow' (likewise) */
    uint64_t used[LEVELS][WORDS];        /* bit set: the slot may be non-empty */
    struct tw_list due;                  /* armed at or before C; fire on the next run */
    struct tw_list overflow;             /* beyond the 2^32 ms block of C */
    struct tw_list slots[LEVELS][SLOTS]; /* the wheel proper */
};

static unsigned digit(uint64_t t, unsigned level)
{
    return (unsigned)(t >> (level * SLOT_BITS)) & (SLOTS - 1);
}

/* The level at which a and b first differ from the top; LEVELS when above the wheel's span. */
static unsigned level_of(uint64_t a, uint64_t b)
{
    uint64_t diff = a ^ b;

    assert(diff != 0);
    if (diff >> WHEEL_BITS)
        return LEVELS;
    return (unsigned)(63 - __builtin_clzll(diff)) / SLOT_BITS;
}

static struct tw_timer *timer_of(struct tw_list *node)
{
    return TW_CONTAINER_OF(node, struct tw_timer, link);
}

/* Put an unlinked timer where the placement rule says, relative to w->now_ms. */
static void place(struct tw_wheel *w, struct tw_timer *t)
{
    uint64_t e = t->expire_at_ms;
    unsigned level;
    unsigned slot;

    if (e <= w->now_ms) {
        tw_list_add_tail(&w->due, &t->link);
        if (e < w->due_min_ms)
            w->due_min_ms = e;
        return;
    }
    level = level_of(e, w->now_ms);
    if (level == LEVELS) {
        tw_list_add_tail(&w->overflow, &t->link);
        if (e < w->over_min_ms)
            w->over_min_ms = e;
        return;
    }
    slot = digit(e, level);
    tw_list_add_tail(&w->slots[level][slot], &t->link);
    w->used[level][slot / 64] |= UINT64_C(1) << (slot % 64);
}

void tw_timer_init(struct tw_timer *t, tw_timer_fn *fire)
{
    tw_list_node_init(&t->link);
    t->expire_at_ms = 0;
    t->fire = fire;
}

struct tw_wheel *tw_wheel_create(uint64_t now_ms)
{
    struct tw_wheel *w = tw_calloc(1, sizeof(*w));
    unsigned l;
    unsigned s;

    if (w == NULL)
        return NULL;
    w->now_ms = now_ms;
    w->due_min_ms = UINT64_MAX;
    w->over_min_ms = UINT64_MAX;
    tw_list_init(&w->due);
    tw_list_init(&w->overflow);
    for (l = 0; l < LEVELS; l++)
        for (s = 0; s < SLOTS; s++)
            tw_list_init(&w->slots[l][s]);
    return w;
}

/* Unlink every timer on 'head' without firing it, so owners see them as not armed. */
static void forget_all(struct tw_list *head)
{
    struct tw_list *it;
    struct tw_list *tmp;

    TW_LIST_FOREACH_SAFE(it, tmp, head)
    tw_list_node_init(it);
    tw_list_init(head);
}

void tw_wheel_destroy(struct tw_wheel *w)
{
    unsigned l;
    unsigned s;

    if (w == NULL)
        return;
    forget_all(&w->due);
    forget_all(&w->overflow);
    for (l = 0; l < LEVELS; l++)
        for (s = 0; s < SLOTS; s++)
            forget_all(&w->slots[l][s]);
    tw_free(w);
}

void tw_wheel_arm(struct tw_wheel *w, struct tw_timer *t, uint64_t at_ms)
{
    assert(t->fire != NULL);
    tw_list_remove(&t->link);
    t->expire_at_ms = at_ms;
    place(w, t);
}

void tw_timer_disarm(struct tw_timer *t)
{
    tw_list_remove(&t->link);
}

bool tw_timer_is_armed(const struct tw_timer *t)
{
    return tw_list_is_linked(&t->link);
}

uint64_t tw_wheel_now(const struct tw_wheel *w)
{
    return w->now_ms;
}

/* The first non-empty slot of 'level', skipping stale bits; -1 when the level is empty. */
static int first_slot(const struct tw_wheel *w, unsigned level)
{
    unsigned i;
    uint64_t bits;
    unsigned slot;

    for (i = 0; i < WORDS; i++) {
        for (bits = w->used[level][i]; bits != 0; bits &= bits - 1) {
            slot = i * 64 + (unsigned)__builtin_ctzll(bits);
            if (!tw_list_is_empty(&w->slots[level][slot]))
                return (int)slot;
        }
    }
    return -1;
}

uint64_t tw_wheel_next_deadline(const struct tw_wheel *w)
{
    uint64_t c = w->now_ms;
    unsigned l;
    unsigned shift;
    int s;

    if (!tw_list_is_empty(&w->due))
        return w->due_min_ms;
    for (l = 0; l < LEVELS; l++) {
        s = first_slot(w, l);
        if (s < 0)
            continue;
        /* Level 0 is exact; higher levels give the start of the slot (a lower bound). */
        shift = (l + 1) * SLOT_BITS;
        return ((c >> shift) << shift) | ((uint64_t)s << (l * SLOT_BITS));
    }
    /* Exact unless the earliest overflow timer was disarmed; either way it is past the next
     * 2^32 ms boundary (as every overflow expiry is), where run re-examines the list. */
    return tw_list_is_empty(&w->overflow) ? UINT64_MAX : w->over_min_ms;
}

/* Move the slots of 'level' in [lo, hi) to 'out' and clear their bits. */
static void take_slots(struct tw_wheel *w, unsigned level, unsigned lo, unsigned hi,
                       struct tw_list *out)
{
    unsigned i;
    uint64_t bits;
    unsigned slot;

    for (i = lo / 64; i < WORDS && i * 64 < hi; i++) {
        bits = w->used[level][i];
        if (lo > i * 64)
            bits &= ~UINT64_C(0) << (lo - i * 64);
        if (hi < (i + 1) * 64)
            bits &= (UINT64_C(1) << (hi - i * 64)) - 1;
        w->used[level][i] &= ~bits;
        for (; bits != 0; bits &= bits - 1) {
            slot = i * 64 + (unsigned)__builtin_ctzll(bits);
            tw_list_splice_tail(out, &w->slots[level][slot]);
        }
    }
}

/* Re-place every timer of 'from' relative to w->now_ms; the ones already expired go to 'out'. */
static void replace_all(struct tw_wheel *w, struct tw_list *from, struct tw_list *out)
{
    struct tw_list *it;
    struct tw_list *tmp;
    struct tw_timer *t;

    TW_LIST_FOREACH_SAFE(it, tmp, from)
    {
        t = timer_of(it);
        tw_list_node_init(it);
        if (t->expire_at_ms <= w->now_ms)
            tw_list_add_tail(out, it);
        else
            place(w, t);
    }
    tw_list_init(from);
}

/* Advance w->now_ms to now (> w->now_ms), moving every timer that expires by then to 'out'. */
static void advance(struct tw_wheel *w, uint64_t now, struct tw_list *out)
{
    unsigned h = level_of(w->now_ms, now);
    unsigned l;
    unsigned from;
    unsigned to;
    struct tw_list again;

    for (l = 0; l < h; l++)
        take_slots(w, l, 0, SLOTS, out);
    tw_list_init(&again);
    if (h < LEVELS) {
        from = digit(w->now_ms, h) + 1;
        to = digit(now, h);
        take_slots(w, h, from, to, out);
        take_slots(w, h, to, to + 1, &again);
    } else {
        tw_list_splice_tail(&again, &w->overflow);
        w->over_min_ms = UINT64_MAX;
    }
    /* Re-place only after the clock moved, and into levels that were just emptied. */
    w->now_ms = now;
    replace_all(w, &again, out);
}

/* Move due timers with expiry <= now to 'out'; normally that is all of them. */
static void take_due(struct tw_wheel *w, uint64_t now, struct tw_list *out)
{
    struct tw_list *it;
    struct tw_list *tmp;
    uint64_t e;

    if (now >= w->now_ms) {
        tw_list_splice_tail(out, &w->due);
        w->due_min_ms = UINT64_MAX;
        return;
    }
    /* The clock went backwards: keep what is not due yet by the caller's own 'now'. */
    w->due_min_ms = UINT64_MAX;
    TW_LIST_FOREACH_SAFE(it, tmp, &w->due)
    {
        e = timer_of(it)->expire_at_ms;
        if (e <= now) {
            tw_list_remove(it);
            tw_list_add_tail(out, it);
        } else if (e < w->due_min_ms) {
            w->due_min_ms = e;
        }
    }
}

size_t tw_wheel_run(struct tw_wheel *w, uint64_t now_ms)
{
    struct tw_list todo;
    struct tw_list *node;
    struct tw_timer *t;
    size_t fired = 0;

    tw_list_init(&todo);
    take_due(w, now_ms, &todo);
    if (now_ms > w->now_ms)
        advance(w, now_ms, &todo);
    /*
     * The wheel is consistent at now_ms before any callback runs, so callbacks may arm and
     * disarm freely: a timer disarmed while on 'todo' simply leaves it, one re-armed leaves it
     * for its new place, and one armed at or before now_ms goes to 'due' for the next run.
     */
    while (!tw_list_is_empty(&todo)) {
        node = todo.next;
        tw_list_remove(node);
        t = timer_of(node);
        t->fire(t); /* may free t's owner: t is not touched after this */
        fired++;
    }
    return fired;
}

/* Check one list's links and the placement of each timer on it; false on the first fault. */
static bool check_list(const struct tw_wheel *w, const struct tw_list *head, unsigned level,
                       unsigned slot)
{
    const struct tw_list *it;
    const struct tw_timer *t;
    uint64_t e;
    uint64_t c = w->now_ms;

    for (it = head->next; it != head; it = it->next) {
        if (it->next == NULL || it->next->prev != it || it->prev->next != it)
            return false;
        t = TW_CONTAINER_OF(it, const struct tw_timer, link);
        e = t->expire_at_ms;
        if (t->fire == NULL)
            return false;
        if (head == &w->due) {
            if (e > c || e < w->due_min_ms)
                return false;
        } else if (head == &w->overflow) {
            if (e <= c || level_of(e, c) != LEVELS || e < w->over_min_ms)
                return false;
        } else if (e <= c || level_of(e, c) != level || digit(e, level) != slot) {
            return false;
        }
    }
    return head->next->prev == head && head->prev->next == head;
}

bool tw_wheel_validate(const struct tw_wheel *w)
{
    unsigned l;
    unsigned s;
    bool bit;

    if (!check_list(w, &w->due, 0, 0) || !check_list(w, &w->overflow, 0, 0))
        return false;
    if (!tw_list_is_empty(&w->overflow) && level_of(w->over_min_ms, w->now_ms) != LEVELS)
        return false;
    for (l = 0; l < LEVELS; l++) {
        for (s = 0; s < SLOTS; s++) {
            bit = (w->used[l][s / 64] >> (s % 64)) & 1;
            /* A clear bit must mean empty; slots at or below C's digit are never marked. */
            if (!bit && !tw_list_is_empty(&w->slots[l][s]))
                return false;
            if (bit && s <= digit(w->now_ms, l))
                return false;
            if (!check_list(w, &w->slots[l][s], l, s))
                return false;
        }
    }
    return true;
}

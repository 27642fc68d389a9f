/*
 * Sliding-window failure counters keyed by any string (a user name, a client address), for
 * the login throttle (login.c): "at most max failures in any window_s seconds".
 *
 * A chained hash table that grows: two keys that hash alike share a bucket and keep their own
 * counts, so no key's record is ever reset by another's (a fixed table indexed by hash once
 * let 344 failed logins under other names free a throttled user). Records whose newest
 * failure is older than the window say nothing any more and are swept when the table would
 * grow. Memory is bounded by max_keys: when that many keys are live, a new key is not
 * tracked (the caller's other throttle still applies) and existing ones are never evicted
 * early. Bucket index: FNV-1a with a per-table random seed, so a client cannot aim keys at one
 * bucket.
 *
 * Ownership: keys are copied. Single-threaded (the event loop).
 */
#include "api/throttle.h"

#include <string.h>

#include "core/crypto.h"
#include "core/mem.h"

struct rec {
    struct rec *next;   /* bucket chain */
    unsigned next_slot; /* ring position: the oldest failure, overwritten next */
    int64_t newest;     /* time of the latest failure */
    int64_t *fails;     /* ring of the latest max failure times (0 = unused) */
    char key[];         /* NUL-terminated */
};

struct tw_throttle {
    struct rec **bucket;
    size_t cap; /* buckets, a power of two */
    size_t n;   /* records */
    size_t max_keys;
    unsigned max; /* failures allowed per window */
    int64_t window_s;
    uint64_t seed;
    int64_t swept_at; /* time of the last sweep */
};

static uint64_t hash_key(const struct tw_throttle *t, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull ^ t->seed;

    for (; *key != '\0'; key++) {
        h ^= (unsigned char)*key;
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

struct tw_throttle *tw_throttle_create(unsigned max, int64_t window_s, size_t max_keys)
{
    struct tw_throttle *t = tw_calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->cap = 256;
    t->bucket = tw_calloc(t->cap, sizeof(*t->bucket));
    if (t->bucket == NULL) {
        tw_free(t);
        return NULL;
    }
    t->max = max;
    t->window_s = window_s;
    t->max_keys = max_keys;
    if (tw_random_bytes(&t->seed, sizeof(t->seed), NULL) != TW_OK)
        t->seed = (uint64_t)(uintptr_t)t;
    return t;
}

static void free_rec(struct rec *r)
{
    tw_free(r->fails);
    tw_free(r);
}

void tw_throttle_destroy(struct tw_throttle *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->cap; i++)
        while (t->bucket[i] != NULL) {
            struct rec *r = t->bucket[i];

            t->bucket[i] = r->next;
            free_rec(r);
        }
    tw_free(t->bucket);
    tw_free(t);
}

static struct rec *find(const struct tw_throttle *t, const char *key)
{
    struct rec *r = t->bucket[hash_key(t, key) & (t->cap - 1)];

    while (r != NULL && strcmp(r->key, key) != 0)
        r = r->next;
    return r;
}

/* Drop records that no longer limit anyone. */
static void sweep(struct tw_throttle *t, int64_t now)
{
    size_t i;

    t->swept_at = now;
    for (i = 0; i < t->cap; i++) {
        struct rec **pp = &t->bucket[i];

        while (*pp != NULL) {
            struct rec *r = *pp;

            if (now - r->newest >= t->window_s) {
                *pp = r->next;
                free_rec(r);
                t->n--;
            } else {
                pp = &r->next;
            }
        }
    }
}

static void grow(struct tw_throttle *t)
{
    size_t cap = t->cap * 2, i;
    struct rec **b = tw_calloc(cap, sizeof(*b));

    if (b == NULL)
        return; /* longer chains, still correct */
    for (i = 0; i < t->cap; i++)
        while (t->bucket[i] != NULL) {
            struct rec *r = t->bucket[i];
            size_t j = hash_key(t, r->key) & (cap - 1);

            t->bucket[i] = r->next;
            r->next = b[j];
            b[j] = r;
        }
    tw_free(t->bucket);
    t->bucket = b;
    t->cap = cap;
}

int64_t tw_throttle_wait(const struct tw_throttle *t, const char *key, int64_t now)
{
    const struct rec *r = find(t, key);
    int64_t oldest;

    if (r == NULL)
        return 0;
    oldest = r->fails[r->next_slot];
    if (oldest == 0 || now - oldest >= t->window_s)
        return 0;
    return t->window_s - (now - oldest);
}

bool tw_throttle_fail(struct tw_throttle *t, const char *key, int64_t now)
{
    struct rec *r = find(t, key);
    size_t len, i;

    if (r == NULL) {
        /* Full: sweep at most once a second, so a flood of new keys costs no scan each. */
        if (t->n >= t->cap || (t->n >= t->max_keys && now != t->swept_at))
            sweep(t, now);
        if (t->n >= t->max_keys)
            return false;
        if (t->n >= t->cap)
            grow(t);
        len = strlen(key);
        r = tw_calloc(1, sizeof(*r) + len + 1);
        if (r == NULL)
            return false;
        r->fails = tw_calloc(t->max, sizeof(*r->fails));
        if (r->fails == NULL) {
            tw_free(r);
            return false;
        }
        memcpy(r->key, key, len + 1);
        i = hash_key(t, key) & (t->cap - 1);
        r->next = t->bucket[i];
        t->bucket[i] = r;
        t->n++;
    }
    r->fails[r->next_slot] = now;
    r->next_slot = (r->next_slot + 1) % t->max;
    r->newest = now;
    return true;
}

void tw_throttle_forgive(struct tw_throttle *t, const char *key)
{
    struct rec *r = find(t, key);

    if (r == NULL)
        return;
    /* Undo the latest failure: step the ring back and clear that slot. */
    r->next_slot = (r->next_slot + t->max - 1) % t->max;
    r->fails[r->next_slot] = 0;
}

size_t tw_throttle_count(const struct tw_throttle *t)
{
    return t->n;
}

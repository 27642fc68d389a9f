/*
 * limits.requests_per_second (issue 11 item 10): a token bucket per caller (a privileged token
 * or an admin user), refilled at that rate and holding at most one second's worth, so a client
 * may burst up to the rate and then keeps to it. A request without credit gets 429
 * rate_limited with Retry-After (whole seconds until a credit, at least 1). 0 turns it off.
 *
 * Only authenticated callers are counted, so the table grows with the number of real tokens
 * and users, not with what strangers send; buckets idle long enough to be full again say
 * nothing and are swept when the table would grow. Single-threaded (the event loop).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/mem.h"

struct bucket {
    struct bucket *next; /* chain */
    double credit;       /* requests it may make now, up to the rate */
    uint64_t at_ns;      /* when credit was computed (monotonic) */
    char name[64];       /* struct tw_caller's name */
};

struct tw_rate {
    struct bucket **slot;
    size_t cap; /* power of two */
    size_t n;
};

static size_t hash_name(const char *s, size_t cap)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return (size_t)(h ^ (h >> 31)) & (cap - 1);
}

void tw_rate_destroy(struct tw_api *api)
{
    struct tw_rate *t = api->rate;
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->cap; i++)
        while (t->slot[i] != NULL) {
            struct bucket *b = t->slot[i];

            t->slot[i] = b->next;
            tw_free(b);
        }
    tw_free(t->slot);
    tw_free(t);
    api->rate = NULL;
}

/* Drop buckets that have refilled (idle for a second or more), then double when still full. */
static void make_room(struct tw_rate *t, uint64_t now)
{
    struct bucket **slot;
    size_t i, cap;

    for (i = 0; i < t->cap; i++) {
        struct bucket **pp = &t->slot[i];

        while (*pp != NULL) {
            if (now - (*pp)->at_ns >= 1000000000ull) {
                struct bucket *b = *pp;

                *pp = b->next;
                tw_free(b);
                t->n--;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
    if (t->n < t->cap / 2)
        return;
    cap = t->cap * 2;
    slot = tw_calloc(cap, sizeof(*slot));
    if (slot == NULL)
        return; /* longer chains, still correct */
    for (i = 0; i < t->cap; i++)
        while (t->slot[i] != NULL) {
            struct bucket *b = t->slot[i];
            size_t j = hash_name(b->name, cap);

            t->slot[i] = b->next;
            b->next = slot[j];
            slot[j] = b;
        }
    tw_free(t->slot);
    t->slot = slot;
    t->cap = cap;
}

static struct bucket *bucket_of(struct tw_api *api, const char *name, double rate, uint64_t now)
{
    struct tw_rate *t = api->rate;
    struct bucket *b;
    size_t i;

    if (t == NULL) {
        t = tw_calloc(1, sizeof(*t));
        if (t == NULL)
            return NULL;
        t->cap = 64;
        t->slot = tw_calloc(t->cap, sizeof(*t->slot));
        if (t->slot == NULL) {
            tw_free(t);
            return NULL;
        }
        api->rate = t;
    }
    for (b = t->slot[hash_name(name, t->cap)]; b != NULL; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    if (t->n + 1 > t->cap)
        make_room(t, now);
    b = tw_calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    snprintf(b->name, sizeof(b->name), "%s", name);
    b->credit = rate;
    b->at_ns = now;
    i = hash_name(name, t->cap);
    b->next = t->slot[i];
    t->slot[i] = b;
    t->n++;
    return b;
}

bool tw_rate_allow(struct tw_req *r)
{
    double rate = (double)r->api->d.cfg->limits_requests_per_second;
    uint64_t now = tw_clock_mono_ns();
    struct bucket *b;
    char wait_s[24];
    double wait;

    if (rate <= 0 || r->caller.name[0] == '\0')
        return true;
    b = bucket_of(r->api, r->caller.name, rate, now);
    if (b == NULL)
        return true; /* out of memory: do not refuse honest callers */
    b->credit += (double)(now - b->at_ns) / 1e9 * rate;
    if (b->credit > rate)
        b->credit = rate;
    b->at_ns = now;
    if (b->credit >= 1.0) {
        b->credit -= 1.0;
        return true;
    }
    wait = (1.0 - b->credit) / rate;
    snprintf(wait_s, sizeof(wait_s), "%" PRId64, (int64_t)wait + 1);
    tw_add_header(r, "Retry-After", wait_s);
    tw_reply_error(r, 429, "rate_limited", NULL,
                   "more than %u requests per second for this "
                   "caller (limits.requests_per_second); retry in %s s",
                   r->api->d.cfg->limits_requests_per_second, wait_s);
    return false;
}

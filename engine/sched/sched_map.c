/*
 * Intrusive int64 hash map for the scheduler's per-task entries and per-chain queue nodes.
 * Separate chaining through a 'next' pointer inside the owner, so a million tasks cost one
 * pointer each in the bucket array plus 16 bytes inside their entries, and no allocation per
 * insert. Keys are mixed with the splitmix64 finaliser, because task ids are sequential and
 * chain ids are often small and clustered.
 */
#include "sched/sched_int.h"

#include "core/err.h"
#include "core/mem.h"

#define MIN_BUCKETS 64

static size_t slot_of(const struct tw_imap *m, int64_t key)
{
    uint64_t x = (uint64_t)key;

    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)(x & (m->nbuckets - 1));
}

int tw_imap_init(struct tw_imap *m, size_t size_hint)
{
    size_t n = MIN_BUCKETS;

    while (n < size_hint)
        n *= 2;
    m->n = 0;
    m->nbuckets = n;
    m->buckets = tw_calloc(n, sizeof(*m->buckets));
    return m->buckets != NULL ? TW_OK : TW_ENOMEM;
}

void tw_imap_fini(struct tw_imap *m)
{
    tw_free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = 0;
    m->n = 0;
}

struct tw_hnode *tw_imap_get(const struct tw_imap *m, int64_t key)
{
    struct tw_hnode *h;

    for (h = m->buckets[slot_of(m, key)]; h != NULL; h = h->next)
        if (h->key == key)
            return h;
    return NULL;
}

static void grow(struct tw_imap *m)
{
    struct tw_hnode **old = m->buckets;
    size_t old_n = m->nbuckets;
    struct tw_hnode *h, *next;
    size_t i, s;

    m->buckets = tw_calloc(old_n * 2, sizeof(*m->buckets));
    if (m->buckets == NULL) {
        m->buckets = old; /* keep working, just with longer chains */
        return;
    }
    m->nbuckets = old_n * 2;
    for (i = 0; i < old_n; i++)
        for (h = old[i]; h != NULL; h = next) {
            next = h->next;
            s = slot_of(m, h->key);
            h->next = m->buckets[s];
            m->buckets[s] = h;
        }
    tw_free(old);
}

void tw_imap_put(struct tw_imap *m, struct tw_hnode *node)
{
    size_t s;

    if (m->n >= m->nbuckets)
        grow(m);
    s = slot_of(m, node->key);
    node->next = m->buckets[s];
    m->buckets[s] = node;
    m->n++;
}

void tw_imap_del(struct tw_imap *m, struct tw_hnode *node)
{
    struct tw_hnode **pp;

    for (pp = &m->buckets[slot_of(m, node->key)]; *pp != NULL; pp = &(*pp)->next)
        if (*pp == node) {
            *pp = node->next;
            node->next = NULL;
            m->n--;
            return;
        }
}

void tw_imap_each(struct tw_imap *m, void (*fn)(struct tw_hnode *node, void *arg), void *arg)
{
    struct tw_hnode *h, *next;
    size_t i;

    for (i = 0; i < m->nbuckets; i++)
        for (h = m->buckets[i]; h != NULL; h = next) {
            next = h->next;
            fn(h, arg);
        }
}

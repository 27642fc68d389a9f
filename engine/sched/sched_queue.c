/*
 * The ready queue, fair across chains (model in sched_int.h).
 *
 * Invariant: a chain node is on q->ring exactly when it has waiting items and is under the
 * cap; it exists exactly while it has waiting or running items. Every operation restores that
 * with one call to settle(), so push, remove, pop and run_end are O(1) (plus one hash lookup).
 */
#include "sched/sched_int.h"

#include "core/err.h"
#include "core/mem.h"

struct tw_squeue_chain {
    struct tw_hnode h;    /* key = chain id; in q->chains */
    struct tw_list items; /* waiting items, FIFO */
    struct tw_list ring;  /* link in q->ring; unlinked when not eligible */
    uint32_t waiting;     /* length of items */
    uint32_t running;     /* popped and not yet ended */
};

static struct tw_squeue_chain *chain_get(const struct tw_squeue *q, int64_t chain)
{
    struct tw_hnode *h = tw_imap_get(&q->chains, chain);

    return h != NULL ? TW_CONTAINER_OF(h, struct tw_squeue_chain, h) : NULL;
}

static bool under_cap(const struct tw_squeue *q, const struct tw_squeue_chain *c)
{
    return q->cap == 0 || c->running < q->cap;
}

/* Put c on or off the ring, or free it, as the invariant says. */
static void settle(struct tw_squeue *q, struct tw_squeue_chain *c)
{
    bool eligible = c->waiting > 0 && under_cap(q, c);

    if (eligible && !tw_list_is_linked(&c->ring))
        tw_list_add_tail(&q->ring, &c->ring);
    else if (!eligible)
        tw_list_remove(&c->ring);
    if (c->waiting == 0 && c->running == 0) {
        tw_imap_del(&q->chains, &c->h);
        tw_free(c);
    }
}

int tw_squeue_init(struct tw_squeue *q, uint32_t per_chain_cap)
{
    q->cap = per_chain_cap;
    q->queued = 0;
    tw_list_init(&q->ring);
    return tw_imap_init(&q->chains, 0);
}

static void free_chain(struct tw_hnode *h, void *arg)
{
    struct tw_squeue_chain *c = TW_CONTAINER_OF(h, struct tw_squeue_chain, h);
    struct tw_list *it, *tmp;

    (void)arg;
    TW_LIST_FOREACH_SAFE(it, tmp, &c->items)
    tw_list_node_init(it);
    tw_free(c);
}

void tw_squeue_fini(struct tw_squeue *q)
{
    if (q->chains.buckets != NULL)
        tw_imap_each(&q->chains, free_chain, NULL);
    tw_imap_fini(&q->chains);
    tw_list_init(&q->ring);
    q->queued = 0;
}

int tw_squeue_push(struct tw_squeue *q, int64_t chain, struct tw_list *item, bool front)
{
    struct tw_squeue_chain *c = chain_get(q, chain);

    if (c == NULL) {
        c = tw_calloc(1, sizeof(*c));
        if (c == NULL)
            return TW_ENOMEM;
        c->h.key = chain;
        tw_list_init(&c->items);
        tw_list_node_init(&c->ring);
        tw_imap_put(&q->chains, &c->h);
    }
    if (front)
        tw_list_add_head(&c->items, item);
    else
        tw_list_add_tail(&c->items, item);
    c->waiting++;
    q->queued++;
    settle(q, c);
    return TW_OK;
}

void tw_squeue_remove(struct tw_squeue *q, int64_t chain, struct tw_list *item)
{
    struct tw_squeue_chain *c;

    if (!tw_list_is_linked(item))
        return;
    c = chain_get(q, chain);
    tw_list_remove(item);
    q->queued--;
    if (c == NULL)
        return; /* cannot happen: a queued item's chain has a node */
    c->waiting--;
    settle(q, c);
}

struct tw_list *tw_squeue_pop(struct tw_squeue *q, int64_t *chain)
{
    struct tw_squeue_chain *c;
    struct tw_list *item;

    if (tw_list_is_empty(&q->ring))
        return NULL;
    c = TW_CONTAINER_OF(q->ring.next, struct tw_squeue_chain, ring);
    item = c->items.next;
    tw_list_remove(item);
    c->waiting--;
    c->running++;
    q->queued--;
    *chain = c->h.key;
    tw_list_remove(&c->ring); /* its turn is used: to the back of the ring, if eligible */
    settle(q, c);
    return item;
}

void tw_squeue_run_end(struct tw_squeue *q, int64_t chain)
{
    struct tw_squeue_chain *c = chain_get(q, chain);

    if (c == NULL || c->running == 0)
        return;
    c->running--;
    settle(q, c);
}

uint32_t tw_squeue_running(const struct tw_squeue *q, int64_t chain)
{
    const struct tw_squeue_chain *c = chain_get(q, chain);

    return c != NULL ? c->running : 0;
}

/*
 * The scheduler's pure parts: the ready queue that is fair across chains (round-robin, the
 * per-chain cap, execute jumping its own chain's queue, removal) and the int64 hash map.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/mem.h"
#include "sched/sched_int.h"

struct item {
    struct tw_list link;
    int64_t chain;
    int n;
};

static struct tw_squeue q;

static void setup(void)
{
    cr_assert_eq(tw_squeue_init(&q, 0), TW_OK);
}

static void teardown(void)
{
    tw_squeue_fini(&q);
}

TestSuite(squeue, .init = setup, .fini = teardown, .timeout = 10);

static struct item *pop(void)
{
    int64_t chain = -1;
    struct tw_list *l = tw_squeue_pop(&q, &chain);
    struct item *it;

    if (l == NULL)
        return NULL;
    it = TW_CONTAINER_OF(l, struct item, link);
    cr_assert_eq(chain, it->chain);
    return it;
}

static void push(struct item *it, int64_t chain, int n)
{
    it->chain = chain;
    it->n = n;
    tw_list_node_init(&it->link);
    cr_assert_eq(tw_squeue_push(&q, chain, &it->link, false), TW_OK);
}

Test(squeue, big_chain_cannot_starve_a_small_one)
{
    static struct item big[10000];
    struct item small;
    int i, seen_at = -1;

    for (i = 0; i < 10000; i++)
        push(&big[i], 1, i);
    push(&small, 2, 0);
    cr_assert_eq(q.queued, 10001);
    for (i = 0; i < 3; i++) {
        struct item *it = pop();

        if (it == &small)
            seen_at = i;
    }
    cr_assert(seen_at >= 0 && seen_at <= 1, "small chain started at pop %d", seen_at);
}

Test(squeue, round_robin_order_and_fifo_within_chain)
{
    struct item a[3], b[2], c[1];
    const int64_t want_chain[] = { 1, 2, 3, 1, 2, 1 };
    const int want_n[] = { 0, 0, 0, 1, 1, 2 };
    int i;

    for (i = 0; i < 3; i++)
        push(&a[i], 1, i);
    for (i = 0; i < 2; i++)
        push(&b[i], 2, i);
    push(&c[0], 3, 0);
    for (i = 0; i < 6; i++) {
        struct item *it = pop();

        cr_assert_not_null(it);
        cr_assert_eq(it->chain, want_chain[i], "pop %d: chain %lld", i, (long long)it->chain);
        cr_assert_eq(it->n, want_n[i]);
    }
    cr_assert_null(pop());
    cr_assert_eq(tw_squeue_running(&q, 1), 3);
}

Test(squeue, per_chain_cap)
{
    struct item a[3], b[1];
    struct item *it;

    tw_squeue_fini(&q);
    cr_assert_eq(tw_squeue_init(&q, 1), TW_OK);
    push(&a[0], 1, 0);
    push(&a[1], 1, 1);
    push(&a[2], 1, 2);
    push(&b[0], 2, 0);
    cr_assert_eq(pop(), &a[0]);
    cr_assert_eq(pop(), &b[0]);
    cr_assert_null(pop(), "chain 1 is at its cap, chain 2 is empty");
    tw_squeue_run_end(&q, 1);
    it = pop();
    cr_assert_eq(it, &a[1]);
    cr_assert_null(pop());
    tw_squeue_run_end(&q, 2);
    cr_assert_null(pop());
    tw_squeue_run_end(&q, 1);
    cr_assert_eq(pop(), &a[2]);
    tw_squeue_run_end(&q, 1);
    cr_assert_eq(q.chains.n, 0, "idle chains are freed");
}

Test(squeue, front_push_jumps_own_chain_only)
{
    struct item a[2], b[1], x;

    push(&a[0], 1, 0);
    push(&a[1], 1, 1);
    push(&b[0], 2, 0);
    cr_assert_eq(pop(), &a[0]);
    x.chain = 1;
    tw_list_node_init(&x.link);
    cr_assert_eq(tw_squeue_push(&q, 1, &x.link, true), TW_OK);
    cr_assert_eq(pop(), &b[0], "chain 2's turn is kept");
    cr_assert_eq(pop(), &x);
    cr_assert_eq(pop(), &a[1]);
}

Test(squeue, remove_and_free_chain)
{
    struct item a, b;

    push(&a, 1, 0);
    push(&b, 2, 0);
    tw_squeue_remove(&q, 1, &a.link);
    tw_squeue_remove(&q, 1, &a.link); /* not queued: no-op */
    cr_assert_eq(q.queued, 1);
    cr_assert_eq(q.chains.n, 1);
    cr_assert_eq(pop(), &b);
    cr_assert_null(pop());
    tw_squeue_run_end(&q, 2);
    tw_squeue_run_end(&q, 2); /* unknown now: no-op */
    cr_assert_eq(q.chains.n, 0);
}

Test(squeue, fini_unlinks_waiting_items)
{
    struct item a;

    push(&a, 1, 0);
    tw_squeue_fini(&q);
    cr_assert_not(tw_list_is_linked(&a.link));
    cr_assert_eq(tw_squeue_init(&q, 0), TW_OK);
}

Test(squeue, push_out_of_memory_leaves_item_unqueued)
{
    struct item a;

    tw_list_node_init(&a.link);
    tw_mem_fail_after(1);
    cr_assert_eq(tw_squeue_push(&q, 5, &a.link, false), TW_ENOMEM);
    tw_mem_fail_after(0);
    cr_assert_not(tw_list_is_linked(&a.link));
    cr_assert_eq(q.queued, 0);
}

struct node {
    struct tw_hnode h;
    int alive;
};

static void count_node(struct tw_hnode *h, void *arg)
{
    (*(size_t *)arg)++;
    (void)h;
}

Test(imap, grow_get_delete)
{
    enum { N = 100000 };
    struct node *nodes = calloc(N, sizeof(*nodes));
    struct tw_imap m;
    size_t i, seen = 0;

    cr_assert_eq(tw_imap_init(&m, 0), TW_OK);
    for (i = 0; i < N; i++) {
        nodes[i].h.key = (int64_t)i * 7 - 3000;
        tw_imap_put(&m, &nodes[i].h);
    }
    cr_assert_eq(m.n, N);
    cr_assert_geq(m.nbuckets, N);
    for (i = 0; i < N; i += 3)
        tw_imap_del(&m, &nodes[i].h);
    for (i = 0; i < N; i++) {
        struct tw_hnode *h = tw_imap_get(&m, (int64_t)i * 7 - 3000);

        if (i % 3 == 0)
            cr_assert_null(h);
        else
            cr_assert_eq(h, &nodes[i].h);
    }
    cr_assert_null(tw_imap_get(&m, 1));
    tw_imap_each(&m, count_node, &seen);
    cr_assert_eq(seen, m.n);
    tw_imap_fini(&m);
    free(nodes);
}

/*
 * A user's wallet ledger. Events are drawn first (welcome bonus, cashback on purchases, wallet
 * spent at checkout, campaign credits, the odd manual adjustment, a balance expiry), then sorted
 * by time and walked once to fix the amounts: credits add, debits and expiries take at most the
 * balance (a debit that would find the wallet empty is dropped), so balance_after is the true
 * running balance, never negative, and the user's wallet_balance is the last balance_after.
 *
 * Sign convention: amount is signed (credit > 0, debit/expiry < 0), so for every user
 * balance_after = SUM(amount) over their entries up to and including this one, in id order
 * (ids are assigned in time order).
 */
#include <stdio.h>

#include "seed/seed_int.h"

/* 1 welcome + 2 per transaction + 2 campaigns + 1 adjustment + 1 expiry */
#define MAX_EVENTS (2 * TW_SEED_MAX_TX + 8)

enum kind { WELCOME, CASHBACK, SPEND, CAMPAIGN, ADJUST, EXPIRY };

struct event {
    int64_t time;
    int seq; /* draw order: breaks time ties, so the sort is deterministic */
    enum kind kind;
    int64_t amount;  /* wanted: positive for credits, the most to take for debits */
    size_t tx;       /* CASHBACK, SPEND: index into the user's transactions */
    size_t campaign; /* CAMPAIGN: index into tw_seed_campaigns */
};

static void add(struct event *ev, int *n, int64_t time, enum kind kind, int64_t amount, size_t tx,
                size_t campaign)
{
    struct event *e = &ev[*n];

    e->time = time < TW_SEED_T1 ? time : TW_SEED_T1 - 1;
    e->seq = *n;
    e->kind = kind;
    e->amount = amount;
    e->tx = tx;
    e->campaign = campaign;
    (*n)++;
}

static int draw(struct tw_seed_rng *r, const struct tw_seed_user *u, struct event *ev)
{
    int n = 0;

    if (tw_seed_chance(r, 600))
        add(ev, &n, u->created + tw_seed_range(r, 60, 3600), WELCOME, 500, 0, 0);
    for (size_t k = 0; k < u->n_tx; k++) {
        const struct tw_seed_tx *tx = &u->tx[k];

        /* Wallet money is in the chain's currency; foreign-currency baskets do not touch it. */
        if (!tx->sale || tx->foreign)
            continue;
        if (tw_seed_chance(r, 200))
            add(ev, &n, tx->time, SPEND, tw_seed_range(r, 100, 2000), k, 0);
        if (tx->total > 0 && tw_seed_chance(r, 350)) {
            int64_t pct = tw_seed_range(r, 2, 5);
            int64_t back = tx->total * pct / 100;

            /* Credited just after the basket, so a SPEND on the same basket comes first. */
            add(ev, &n, tx->time + tw_seed_range(r, 1, 600), CASHBACK, back > 0 ? back : 1, k, 0);
        }
    }
    for (int64_t i = tw_seed_range(r, 0, 2); i > 0; i--) {
        int64_t when = tw_seed_range(r, u->created, TW_SEED_T1 - 1);
        size_t campaign = tw_seed_below(r, tw_seed_campaigns.n);

        add(ev, &n, when, CAMPAIGN, tw_seed_range(r, 1, 10) * 100, 0, campaign);
    }
    /* Every 40th user, from the third on, has an adjustment with an awkward description. */
    if (u->number % 40 == 2) {
        int64_t when = tw_seed_range(r, u->created, TW_SEED_T1 - 1);

        add(ev, &n, when, ADJUST, tw_seed_range(r, 50, 500), 0, 0);
    }
    if (tw_seed_chance(r, 100)) {
        int64_t when = tw_seed_range(r, u->created, TW_SEED_T1 - 1);

        add(ev, &n, when, EXPIRY, 0, 0, 0);
    }
    return n;
}

static int before(const struct event *a, const struct event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void sort(struct event *ev, int n)
{
    for (int i = 1; i < n; i++) {
        struct event e = ev[i];
        int j = i;

        for (; j > 0 && before(&e, &ev[j - 1]); j--)
            ev[j] = ev[j - 1];
        ev[j] = e;
    }
}

static int insert(struct tw_seed_ctx *c, const struct tw_seed_user *u, const struct event *e,
                  int64_t amount, int64_t balance, const char *description)
{
    static const char *const types[] = {
        [WELCOME] = "credit",  [CASHBACK] = "credit", [SPEND] = "debit",
        [CAMPAIGN] = "credit", [ADJUST] = "credit",   [EXPIRY] = "expiry",
    };
    struct tw_seed_stmt *st = c->ins_ledger;
    bool has_basket = e->kind == CASHBACK || e->kind == SPEND;
    bool has_campaign = e->kind == CAMPAIGN || e->kind == WELCOME;
    int64_t campaign = e->kind == WELCOME ? 101 : 101 + (int64_t)e->campaign;
    char ts[21];

    tw_seed_fmt_time(e->time, ts);
    tw_seed_bind_int(st, 1, c->next_ledger++, false);
    tw_seed_bind_int(st, 2, c->chain, false);
    tw_seed_bind_int(st, 3, u->id, false);
    tw_seed_bind_text(st, 4, ts);
    tw_seed_bind_text(st, 5, types[e->kind]);
    tw_seed_bind_int(st, 6, amount, false);
    tw_seed_bind_int(st, 7, balance, false);
    tw_seed_bind_text(st, 8, c->currency);
    tw_seed_bind_int(st, 9, campaign, !has_campaign);
    tw_seed_bind_int(st, 10, has_basket ? u->tx[e->tx].id : 0, !has_basket);
    tw_seed_bind_text(st, 11, description);
    c->stats.wallet_ledger++;
    return tw_seed_step(c, st, "wallet_ledger");
}

int tw_seed_wallet(struct tw_seed_ctx *c, struct tw_seed_rng *r, struct tw_seed_user *u)
{
    struct event ev[MAX_EVENTS];
    int n = draw(r, u, ev);
    int64_t balance = 0;

    sort(ev, n);
    for (int i = 0; i < n; i++) {
        const struct event *e = &ev[i];
        bool no_text = tw_seed_chance(r, 20);
        int64_t amount = e->amount;
        char text[96] = "";
        int rc;

        switch (e->kind) {
        case WELCOME:
        case CAMPAIGN:
            snprintf(text, sizeof(text), "%s",
                     tw_seed_campaigns.v[e->kind == WELCOME ? 0 : e->campaign]);
            break;
        case CASHBACK:
            snprintf(text, sizeof(text), "Cashback on basket %s", u->tx[e->tx].basket);
            break;
        case SPEND:
            amount = -(amount < balance ? amount : balance);
            snprintf(text, sizeof(text), "Spent on basket %s", u->tx[e->tx].basket);
            break;
        case ADJUST:
            snprintf(text, sizeof(text), "%s",
                     tw_seed_odd_ledger.v[(u->number / 40) % tw_seed_odd_ledger.n]);
            no_text = false;
            break;
        case EXPIRY:
            amount = -balance;
            snprintf(text, sizeof(text), "Balance expired");
            break;
        }
        if (amount == 0)
            continue; /* nothing to take from an empty wallet */
        balance += amount;
        if ((rc = insert(c, u, e, amount, balance, no_text ? NULL : text)))
            return rc;
    }
    u->balance = balance;
    return TW_OK;
}

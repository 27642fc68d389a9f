/*
 * The users loop: per user, in this order and all from the user's own PRNG stream: the user's
 * fields, their transactions (0-20, mean 10) with 1-6 items each, their wallet ledger and
 * vouchers, and last the user row, because wallet_balance, the RFM scores and the loyalty tier
 * summarise what came before. Rows are inserted in id order, which is the cheap order for
 * SQLite's B-trees.
 *
 * Invariants the tests check: basket_item_subtotal = quantity * sale_price, subtotal = sum of
 * the items, total_value = subtotal + shipping_charge; a user's transactions are at or after the
 * user's created_date and inside the window; items reference the chain's real product codes
 * and barcodes. Returns carry negative quantities (so negative subtotals) and no shipping.
 */
#include <stdio.h>
#include <string.h>

#include "seed/seed_int.h"

/* Birthdays from 1945-01-01 to 2008-12-31 (days since the epoch). */
#define BIRTH_FIRST_DAY INT64_C(-9131)
#define BIRTH_LAST_DAY INT64_C(14244)

static void store_code(unsigned store, char out[8])
{
    /* store is 1-based; codes are city + number: AMS-01, RTM-01, ... AMS-02, ... */
    unsigned k = store - 1;

    snprintf(out, 8, "%s-%02u", tw_seed_cities.v[k % tw_seed_cities.n],
             (k / (unsigned)tw_seed_cities.n + 1) % 100);
}

struct item {
    const struct tw_seed_product *product;
    const struct tw_seed_variant *variant;
    int64_t quantity, sale, original;
    bool promotional;
};

static int insert_items(struct tw_seed_ctx *c, int64_t tx_id, const struct item *it, int n)
{
    struct tw_seed_stmt *st = c->ins_item;

    for (int i = 0; i < n; i++) {
        int rc;

        tw_seed_bind_int(st, 1, tx_id, false);
        tw_seed_bind_int(st, 2, c->chain, false);
        tw_seed_bind_int(st, 3, i + 1, false);
        tw_seed_bind_text(st, 4, it[i].product->code);
        tw_seed_bind_text(st, 5, it[i].variant->barcode);
        tw_seed_bind_text(st, 6, it[i].product->name);
        tw_seed_bind_int(st, 7, it[i].quantity, false);
        tw_seed_bind_int(st, 8, it[i].sale, false);
        tw_seed_bind_int(st, 9, it[i].original, false);
        tw_seed_bind_int(st, 10, it[i].quantity * it[i].sale, false);
        tw_seed_bind_int(st, 11, it[i].promotional, false);
        if ((rc = tw_seed_step(c, st, "transaction_items")))
            return rc;
    }
    c->stats.transaction_items += (uint64_t)n;
    return TW_OK;
}

/* Draw a basket's items; returns its subtotal. Returns (sale == false) have negative counts. */
static int64_t draw_items(struct tw_seed_ctx *c, struct tw_seed_rng *r, bool sale, struct item *it,
                          int n)
{
    static const int discounts[] = { 10, 20, 25, 30, 50 };
    int64_t subtotal = 0;

    for (int i = 0; i < n; i++) {
        const struct tw_seed_variant *v = &c->variants[tw_seed_below(r, c->n_variants)];
        int64_t q = tw_seed_chance(r, 800) ? 1 : tw_seed_range(r, 2, 3);
        bool extra_promo = tw_seed_chance(r, 80);

        it[i].variant = v;
        it[i].product = &c->products[v->product];
        it[i].quantity = sale ? q : -q;
        it[i].original = v->price;
        it[i].promotional = it[i].product->promotional || extra_promo;
        it[i].sale = v->price;
        if (it[i].promotional)
            it[i].sale = v->price * (100 - discounts[tw_seed_below(r, 5)]) / 100;
        subtotal += it[i].quantity * it[i].sale;
    }
    return subtotal;
}

static int transaction(struct tw_seed_ctx *c, struct tw_seed_rng *r, struct tw_seed_user *u,
                       int64_t store_id, size_t k, int64_t when)
{
    struct tw_seed_tx *tx = &u->tx[k];
    struct item items[TW_SEED_MAX_ITEMS];
    bool web = tw_seed_chance(r, 150);
    bool sale = k == 0 || !tw_seed_chance(r, 40); /* a return needs an earlier purchase */
    bool home = store_id > 0 && tw_seed_chance(r, 750);
    unsigned store = home ? (unsigned)store_id : (unsigned)tw_seed_range(r, 1, c->n_stores);
    int n = (int)tw_seed_range(r, 1, TW_SEED_MAX_ITEMS);
    int64_t subtotal = draw_items(c, r, sale, items, n);
    int64_t shipping = 0;
    const char *currency = c->currency;
    const char *payment = tw_seed_chance(r, 20) ? NULL : tw_seed_pick(r, &tw_seed_payments);
    char code[8], employee[16], ts[21];
    struct tw_seed_stmt *st = c->ins_tx;
    int rc;

    if (web) {
        snprintf(code, sizeof(code), "WEB");
        if (sale && subtotal < 5000)
            shipping = tw_seed_chance(r, 500) ? 395 : 495;
        if (tw_seed_chance(r, 100))
            currency = tw_seed_pick(r, &tw_seed_currencies);
    } else {
        store_code(store, code);
        snprintf(employee, sizeof(employee), "E%02u%03u", store % 100,
                 (unsigned)tw_seed_range(r, 1, 40));
    }
    tx->id = c->next_tx++;
    tx->time = when;
    tx->total = subtotal + shipping;
    tx->sale = sale;
    tx->foreign = strcmp(currency, c->currency) != 0;
    snprintf(tx->basket, sizeof(tx->basket), "%s-%07llu-%02zu", code,
             (unsigned long long)u->number + 1, k + 1);
    tw_seed_fmt_time(when, ts);

    tw_seed_bind_int(st, 1, tx->id, false);
    tw_seed_bind_int(st, 2, c->chain, false);
    tw_seed_bind_text(st, 3, tx->basket);
    tw_seed_bind_text(st, 4, ts);
    tw_seed_bind_text(st, 5, sale ? "sale" : "return");
    tw_seed_bind_int(st, 6, u->id, false);
    tw_seed_bind_text(st, 7, code);
    tw_seed_bind_text(st, 8, currency);
    tw_seed_bind_int(st, 9, subtotal, false);
    tw_seed_bind_int(st, 10, shipping, false);
    tw_seed_bind_int(st, 11, tx->total, false);
    tw_seed_bind_text(st, 12, payment);
    tw_seed_bind_text(st, 13, web ? NULL : employee);
    if ((rc = tw_seed_step(c, st, "transactions")))
        return rc;
    c->stats.transactions++;
    return insert_items(c, tx->id, items, n);
}

/* 0..20 times in [from, TW_SEED_T1), ascending (insertion sort: at most 20). */
static size_t draw_times(struct tw_seed_rng *r, int64_t from, int64_t *t)
{
    size_t n = (size_t)tw_seed_range(r, 0, TW_SEED_MAX_TX);

    for (size_t i = 0; i < n; i++) {
        int64_t v = tw_seed_range(r, from, TW_SEED_T1 - 1);
        size_t j = i;

        for (; j > 0 && t[j - 1] > v; j--)
            t[j] = t[j - 1];
        t[j] = v;
    }
    return n;
}

static int score(int64_t v, const int64_t limits[4])
{
    int s = 1;

    while (s < 5 && v >= limits[s - 1])
        s++;
    return s;
}

/* The user row, summarising the transactions and wallet generated before it. */
static int insert_user(struct tw_seed_ctx *c, struct tw_seed_rng *r, const struct tw_seed_user *u,
                       const struct tw_seed_name *first, const struct tw_seed_name *last,
                       int64_t store_id)
{
    static const int64_t freq[4] = { 4, 8, 12, 16 };
    static const int64_t money[4] = { 30000, 100000, 200000, 300000 }; /* minor units spent */
    static const int64_t recency[4] = { -365, -180, -90, -30 };        /* minus days since last */
    static const char *const tiers[] = { "bronze", "bronze", "silver", "gold", "platinum" };
    int64_t spend = 0, last_tx = u->created;
    unsigned g = (unsigned)tw_seed_below(r, 1000);
    bool birthday_null = tw_seed_chance(r, 80);
    int64_t birthday = tw_seed_range(r, BIRTH_FIRST_DAY, BIRTH_LAST_DAY) * TW_SEED_DAY;
    const char *country = tw_seed_chance(r, 30) ? NULL : tw_seed_pick(r, &tw_seed_countries);
    bool spaaza = tw_seed_chance(r, 900), mailing = tw_seed_chance(r, 550);
    bool entity_null = tw_seed_chance(r, 10), tier_null = tw_seed_chance(r, 20);
    int64_t touched = tw_seed_range(r, 0, 3 * TW_SEED_DAY);
    char entity[24], username[96], bday[11], created[21], modified[21];
    struct tw_seed_stmt *st = c->ins_user;
    int rc;

    for (size_t k = 0; k < u->n_tx; k++) {
        if (!u->tx[k].foreign)
            spend += u->tx[k].total;
        last_tx = u->tx[k].time;
    }
    snprintf(entity, sizeof(entity), "C%08llu", (unsigned long long)u->number + 1);
    snprintf(username, sizeof(username), "%s.%s%llu@example.com", first->slug, last->slug,
             (unsigned long long)u->number + 1);
    tw_seed_fmt_date(birthday, bday);
    tw_seed_fmt_time(u->created, created);
    tw_seed_fmt_time(last_tx + touched < TW_SEED_T1 ? last_tx + touched : TW_SEED_T1 - 1, modified);

    tw_seed_bind_int(st, 1, u->id, false);
    tw_seed_bind_int(st, 2, c->chain, false);
    tw_seed_bind_text(st, 3, entity_null ? NULL : entity);
    tw_seed_bind_text(st, 4, username);
    tw_seed_bind_text(st, 5, first->text);
    tw_seed_bind_text(st, 6, last->text);
    tw_seed_bind_text(st, 7, g < 470 ? "F" : g < 930 ? "M" : g < 960 ? "X" : NULL);
    tw_seed_bind_text(st, 8, birthday_null ? NULL : bday);
    tw_seed_bind_text(st, 9, country);
    tw_seed_bind_int(st, 10, store_id, store_id == 0);
    tw_seed_bind_text(st, 11, created);
    tw_seed_bind_text(st, 12, modified);
    tw_seed_bind_int(st, 13, spaaza, false);
    tw_seed_bind_int(st, 14, mailing, false);
    tw_seed_bind_text(st, 15, tier_null ? NULL : tiers[score(spend, money) - 1]);
    /* No purchases yet: no RFM scores (NULL), rather than a misleading lowest score. */
    tw_seed_bind_int(st, 16, score((last_tx - TW_SEED_T1) / TW_SEED_DAY, recency), u->n_tx == 0);
    tw_seed_bind_int(st, 17, score((int64_t)u->n_tx, freq), u->n_tx == 0);
    tw_seed_bind_int(st, 18, score(spend, money), u->n_tx == 0);
    tw_seed_bind_int(st, 19, u->balance, false);
    if ((rc = tw_seed_step(c, st, "users")))
        return rc;
    c->stats.users++;
    return TW_OK;
}

static int user(struct tw_seed_ctx *c, uint64_t number)
{
    struct tw_seed_rng r;
    struct tw_seed_user u;
    const struct tw_seed_name *first, *last;
    int64_t store_id, times[TW_SEED_MAX_TX];
    int rc;

    tw_seed_rng_init(&r, c->seed, c->chain, TW_SEED_STREAM_USER, number);
    memset(&u, 0, sizeof(u));
    u.id = c->next_user++;
    u.number = number;
    /* Every 50th user, from the second on, has an awkward name, so small seeds have some. */
    if (number % 50 == 1) {
        size_t k = (size_t)(number / 50) % tw_seed_n_odd_names;

        first = &tw_seed_odd_first[k];
        last = &tw_seed_odd_last[k];
    } else {
        first = &tw_seed_first_names[tw_seed_below(&r, tw_seed_n_first_names)];
        last = &tw_seed_last_names[tw_seed_below(&r, tw_seed_n_last_names)];
    }
    /* Joined in the first 80% of the window, so everyone has time to shop. */
    u.created = TW_SEED_T0 + tw_seed_range(&r, 0, (TW_SEED_T1 - TW_SEED_T0) / 5 * 4);
    store_id = tw_seed_chance(&r, 150) ? 0 : tw_seed_range(&r, 1, c->n_stores); /* 0: none */

    u.n_tx = draw_times(&r, u.created, times);
    for (size_t k = 0; k < u.n_tx; k++)
        if ((rc = transaction(c, &r, &u, store_id, k, times[k])))
            return rc;
    if ((rc = tw_seed_wallet(c, &r, &u)) || (rc = tw_seed_vouchers(c, &r, &u)))
        return rc;
    return insert_user(c, &r, &u, first, last, store_id);
}

int tw_seed_users(struct tw_seed_ctx *c)
{
    for (uint64_t i = 0; i < c->users_per_chain; i++) {
        int rc = user(c, i);

        if (rc)
            return rc;
    }
    return TW_OK;
}

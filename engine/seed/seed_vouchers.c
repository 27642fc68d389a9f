/*
 * A user's vouchers: 0-6 (mean 3), in every status, with dates that tell a possible story as
 * seen at the end of the window ("now" = TW_SEED_T1):
 *   available  never claimed; expires after now, or never (NULL expiry_date);
 *   claimed    created <= claimed < now; expires after now, or never;
 *   redeemed   created <= claimed <= redeemed < now; redeemed on or before the expiry date;
 *              amount_redeemed set (the whole amount, sometimes part of it);
 *   expired    expiry date before now; sometimes claimed (before expiring), never redeemed.
 * amount_redeemed is set only for redeemed vouchers; about 3% are deleted (never exported).
 * Voucher currency is the chain's, like the wallet's.
 */
#include "seed/seed_int.h"

static const char *const types[] = { "basket", "product", "wallet" };

enum status { AVAILABLE, CLAIMED, REDEEMED, EXPIRED };

static const char *const status_names[] = { "available", "claimed", "redeemed", "expired" };

struct voucher {
    enum status status;
    int64_t created, claimed, redeemed, expiry; /* 0: NULL */
    int64_t amount, amount_redeemed;            /* amount_redeemed < 0: NULL */
};

static enum status draw_status(struct tw_seed_rng *r)
{
    unsigned v = (unsigned)tw_seed_below(r, 1000);

    return v < 350 ? AVAILABLE : v < 550 ? CLAIMED : v < 850 ? REDEEMED : EXPIRED;
}

/* An expiry day after now (up to 8 months on), or none at all. */
static int64_t future_expiry(struct tw_seed_rng *r)
{
    if (tw_seed_chance(r, 150))
        return 0;
    return TW_SEED_T1 + tw_seed_range(r, 0, 240) * TW_SEED_DAY;
}

static void draw_dates(struct tw_seed_rng *r, const struct tw_seed_user *u, struct voucher *v)
{
    /* Created at least two days before now, so an expired voucher can expire before now. */
    v->created = tw_seed_range(r, u->created, TW_SEED_T1 - 2 * TW_SEED_DAY);
    v->claimed = v->redeemed = v->expiry = 0;
    v->amount_redeemed = -1;
    switch (v->status) {
    case AVAILABLE: v->expiry = future_expiry(r); break;
    case CLAIMED:
        v->claimed = tw_seed_range(r, v->created, TW_SEED_T1 - 1);
        v->expiry = future_expiry(r);
        break;
    case REDEEMED: {
        int64_t validity = tw_seed_range(r, 30, 180) * TW_SEED_DAY;
        int64_t latest;

        v->claimed = tw_seed_range(r, v->created, TW_SEED_T1 - 1);
        latest = v->claimed + 60 * TW_SEED_DAY;
        v->redeemed = tw_seed_range(r, v->claimed, latest < TW_SEED_T1 ? latest : TW_SEED_T1 - 1);
        v->expiry = v->created + validity > v->redeemed ? v->created + validity : v->redeemed;
        v->amount_redeemed = tw_seed_chance(r, 800) ? v->amount : tw_seed_range(r, 1, v->amount);
        break;
    }
    case EXPIRED: {
        int64_t expiry = v->created + tw_seed_range(r, 1, 90) * TW_SEED_DAY;

        /* Expired by now: the expiry day ends before the window does. */
        v->expiry = expiry < TW_SEED_T1 - TW_SEED_DAY ? expiry : TW_SEED_T1 - TW_SEED_DAY;
        if (tw_seed_chance(r, 400))
            v->claimed = tw_seed_range(r, v->created, v->expiry);
        break;
    }
    }
}

static void bind_time(struct tw_seed_stmt *st, int col, int64_t t, char buf[21])
{
    if (!t) {
        tw_seed_bind_text(st, col, NULL);
        return;
    }
    tw_seed_fmt_time(t, buf);
    tw_seed_bind_text(st, col, buf);
}

int tw_seed_vouchers(struct tw_seed_ctx *c, struct tw_seed_rng *r, const struct tw_seed_user *u)
{
    int64_t n = tw_seed_range(r, 0, 6);

    for (int64_t i = 0; i < n; i++) {
        struct tw_seed_stmt *st = c->ins_voucher;
        size_t campaign = tw_seed_below(r, tw_seed_campaigns.n);
        const char *type = types[tw_seed_below(r, 3)];
        bool deleted = tw_seed_chance(r, 30);
        struct voucher v;
        char created[21], claimed[21], redeemed[21], expiry[11];
        int rc;

        v.status = draw_status(r);
        v.amount = tw_seed_range(r, 1, 10) * 250;
        draw_dates(r, u, &v);

        tw_seed_bind_int(st, 1, c->next_voucher++, false);
        tw_seed_bind_int(st, 2, c->chain, false);
        tw_seed_bind_int(st, 3, u->id, false);
        tw_seed_bind_int(st, 4, 101 + (int64_t)campaign, false);
        tw_seed_bind_text(st, 5, tw_seed_campaigns.v[campaign]);
        tw_seed_bind_text(st, 6, type);
        tw_seed_bind_text(st, 7, status_names[v.status]);
        tw_seed_bind_int(st, 8, v.amount, false);
        tw_seed_bind_int(st, 9, v.amount_redeemed, v.amount_redeemed < 0);
        tw_seed_bind_text(st, 10, c->currency);
        bind_time(st, 11, v.created, created);
        bind_time(st, 12, v.claimed, claimed);
        bind_time(st, 13, v.redeemed, redeemed);
        if (v.expiry) {
            tw_seed_fmt_date(v.expiry, expiry);
            tw_seed_bind_text(st, 14, expiry);
        } else {
            tw_seed_bind_text(st, 14, NULL);
        }
        tw_seed_bind_int(st, 15, deleted, false);
        if ((rc = tw_seed_step(c, st, "vouchers")))
            return rc;
        c->stats.vouchers++;
    }
    return TW_OK;
}

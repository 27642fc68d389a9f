/*
 * Internals shared by the seeder's files (not part of its interface; include seed.h instead).
 *
 * seed.c owns the database: options, schema, deleting the chains' rows, index handling and the
 * prepared INSERTs, and calls per chain: the catalogue (seed_catalog.c), then the users loop
 * (seed_users.c), which per user generates transactions and items, then the wallet ledger
 * (seed_wallet.c) and vouchers (seed_vouchers.c), then the user row itself. Word tables live
 * in seed_data.c.
 *
 * Randomness: xoshiro256** seeded through splitmix64 from (seed, chain, stream, index). Each
 * user has its own stream, so a user's rows depend only on (seed, chain, user number), and a
 * chain's rows never on the other chains of the run (ids aside).
 */
#ifndef TW_SEED_SEED_INT_H
#define TW_SEED_SEED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "core/err.h"
#include "seed/seed.h"

/* The fixed window every seeded time falls in: [2025-01-01, 2026-11-01). */
#define TW_SEED_T0 INT64_C(1735689600)
#define TW_SEED_T1 INT64_C(1793491200)
#define TW_SEED_DAY INT64_C(86400)

/* Per-user bounds; the generators never exceed them, so per-user scratch is on the stack. */
#define TW_SEED_MAX_TX 20   /* transactions: uniform 0..20, mean 10 */
#define TW_SEED_MAX_ITEMS 6 /* items per transaction: 1..6, mean 3.5 */

/* PRNG streams (the third seeding input), one per kind of thing generated. */
enum tw_seed_stream {
    TW_SEED_STREAM_CHAIN = 1,   /* per-chain constants: currency */
    TW_SEED_STREAM_CATALOG = 2, /* products and variants */
    TW_SEED_STREAM_USER = 3,    /* one per user, indexed by the user's number in the chain */
};

struct tw_seed_rng {
    uint64_t s[4];
};

/* ---- catalogue kept in memory while a chain's transactions reference it ---- */

struct tw_seed_product {
    char code[16]; /* owner_code = items' retailer_product_code */
    char name[96];
    bool promotional;
};

struct tw_seed_variant {
    uint32_t product; /* index into the chain's products */
    int32_t price;    /* minor units */
    char barcode[14]; /* EAN-13 */
};

/* ---- what the users loop knows about one user's transactions ---- */

struct tw_seed_tx {
    int64_t id;
    int64_t time;
    int64_t total; /* total_value, minor units; negative for returns */
    bool sale;
    bool foreign;    /* in another currency than the chain's (a few web orders) */
    char basket[32]; /* retailer_basket_code */
};

struct tw_seed_user {
    int64_t id;
    uint64_t number; /* 0-based within the chain */
    int64_t created;
    size_t n_tx;
    struct tw_seed_tx tx[TW_SEED_MAX_TX];
    int64_t balance; /* wallet balance after the ledger: users.wallet_balance */
};

/*
 * One table's row sink: an INSERT prepared in SQLite, or (PostgreSQL, seed_pg.c) a spool of
 * COPY text lines written to a temporary file and copied in when the generators are done.
 * The generators bind columns 1..n and step, whichever it is.
 */
struct tw_seed_copy;
struct tw_seed_stmt {
    sqlite3_stmt *lite;        /* SQLite: the prepared INSERT */
    struct tw_seed_copy *copy; /* PostgreSQL: the spool (seed_pg.c) */
};

struct tw_seed_ctx {
    sqlite3 *db; /* NULL when seeding PostgreSQL */
    const char *path;
    struct tw_err *err;
    uint64_t seed;
    uint64_t users_per_chain;
    struct tw_seed_stats stats;

    struct tw_seed_stmt *ins_user, *ins_tx, *ins_item, *ins_voucher, *ins_ledger, *ins_product,
        *ins_variant;

    /* Next id per table: continues over chains, so ids are unique across them. */
    int64_t next_user, next_tx, next_voucher, next_ledger, next_product, next_variant;

    /* The chain being seeded. */
    int64_t chain;
    const char *currency;
    unsigned n_stores;
    struct tw_seed_product *products;
    size_t n_products;
    struct tw_seed_variant *variants;
    size_t n_variants;
};

/* ---- generators (return TW_OK or an error already set in ctx->err) ---- */

/* Allocate the catalogue arrays for users_per_chain (before any write: see seed.c). */
int tw_seed_catalog_alloc(struct tw_seed_ctx *c);
/* Generate and insert the chain's catalogue into the arrays, replacing the previous chain's. */
int tw_seed_catalog(struct tw_seed_ctx *c);
void tw_seed_catalog_free(struct tw_seed_ctx *c);
int tw_seed_users(struct tw_seed_ctx *c);
int tw_seed_wallet(struct tw_seed_ctx *c, struct tw_seed_rng *r, struct tw_seed_user *u);
int tw_seed_vouchers(struct tw_seed_ctx *c, struct tw_seed_rng *r, const struct tw_seed_user *u);

/* ---- statement helpers (seed.c) ---- */

/* Bind text; NULL binds SQL NULL. The text must stay put until tw_seed_step. */
void tw_seed_bind_text(struct tw_seed_stmt *st, int col, const char *s);
/* Bind an integer, or SQL NULL when is_null. */
void tw_seed_bind_int(struct tw_seed_stmt *st, int col, int64_t v, bool is_null);
/* Write the bound row once and reset; on failure sets ctx->err naming the file and table. */
int tw_seed_step(struct tw_seed_ctx *c, struct tw_seed_stmt *st, const char *table);

/* Every configured chain: catalogue then users (seed.c), for both databases. */
int tw_seed_chains(struct tw_seed_ctx *c, const struct tw_seed_opts *o);

/* ---- PostgreSQL (seed_pg.c) ---- */

/* tw_seed_run for o->pg_dsn. */
int tw_seed_pg_run(const struct tw_seed_opts *o, struct tw_seed_stats *stats, struct tw_err *err);
void tw_seed_copy_bind(struct tw_seed_copy *cp, int col, const char *s, int64_t v, int kind);
int tw_seed_copy_step(struct tw_seed_ctx *c, struct tw_seed_copy *cp, const char *table);
/* Map an SQLite failure to a tw_err naming the file; returns the code set. */
int tw_seed_sql_error(struct tw_seed_ctx *c, int rc, const char *what);

/* ---- word tables (seed_data.c) ---- */

struct tw_seed_name {
    const char *text; /* as displayed, may be non-ASCII */
    const char *slug; /* lowercase ASCII, for usernames */
};

struct tw_seed_noun {
    const char *noun;
    const char *category;
    const char *unit;
    int sizes; /* index into tw_seed_size_sets */
};

struct tw_seed_list {
    const char *const *v;
    size_t n;
};

extern const struct tw_seed_name tw_seed_first_names[];
extern const size_t tw_seed_n_first_names;
extern const struct tw_seed_name tw_seed_last_names[];
extern const size_t tw_seed_n_last_names;
/* Awkward names (formula prefixes, commas, quotes, newlines, CJK) given to a few users. */
extern const struct tw_seed_name tw_seed_odd_first[];
extern const struct tw_seed_name tw_seed_odd_last[];
extern const size_t tw_seed_n_odd_names;
extern const struct tw_seed_noun tw_seed_nouns[];
extern const size_t tw_seed_n_nouns;
extern const struct tw_seed_list tw_seed_size_sets[];
extern const struct tw_seed_list tw_seed_brands, tw_seed_adjectives, tw_seed_colours,
    tw_seed_odd_products, tw_seed_odd_descriptions, tw_seed_countries, tw_seed_cities,
    tw_seed_payments, tw_seed_campaigns, tw_seed_odd_ledger, tw_seed_currencies;

/* ---- PRNG ---- */

static inline uint64_t tw_seed_splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Seed from all four inputs; each goes through splitmix so nearby inputs diverge at once. */
static inline void tw_seed_rng_init(struct tw_seed_rng *r, uint64_t seed, int64_t chain,
                                    enum tw_seed_stream stream, uint64_t index)
{
    uint64_t x = seed;

    x = tw_seed_splitmix(&x) ^ (uint64_t)chain;
    x = tw_seed_splitmix(&x) ^ (uint64_t)stream;
    x = tw_seed_splitmix(&x) ^ index;
    for (int i = 0; i < 4; i++)
        r->s[i] = tw_seed_splitmix(&x);
}

static inline uint64_t tw_seed_rotl(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

/* xoshiro256** (Blackman & Vigna). */
static inline uint64_t tw_seed_next(struct tw_seed_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = tw_seed_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = tw_seed_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n) by multiply-shift; the bias (< n / 2^64) is irrelevant for demo data. */
static inline uint64_t tw_seed_below(struct tw_seed_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)tw_seed_next(r) * n) >> 64);
}

/* Uniform in [lo, hi], hi >= lo. */
static inline int64_t tw_seed_range(struct tw_seed_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)tw_seed_below(r, (uint64_t)(hi - lo) + 1);
}

/* True with probability per_mille / 1000. */
static inline bool tw_seed_chance(struct tw_seed_rng *r, unsigned per_mille)
{
    return tw_seed_below(r, 1000) < per_mille;
}

static inline const char *tw_seed_pick(struct tw_seed_rng *r, const struct tw_seed_list *l)
{
    return l->v[tw_seed_below(r, l->n)];
}

/* ---- time formatting, self-contained so the seeder depends on nothing being written now ---- */

/* Howard Hinnant's civil_from_days: days since 1970-01-01 -> proleptic Gregorian y/m/d. */
static inline void tw_seed_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static inline char *tw_seed_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* 'YYYY-MM-DD' of the day holding t (seconds since the epoch, years 0..9999); out >= 11. */
static inline void tw_seed_fmt_date(int64_t t, char *out)
{
    int64_t days = (t >= 0 ? t : t - (TW_SEED_DAY - 1)) / TW_SEED_DAY;
    int64_t y;
    unsigned m, d;
    char *p = out;

    tw_seed_civil(days, &y, &m, &d);
    p = tw_seed_digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = tw_seed_digits(p, m, 2);
    *p++ = '-';
    p = tw_seed_digits(p, d, 2);
    *p = '\0';
}

/* 'YYYY-MM-DDTHH:MM:SSZ' (UTC); out >= 21. */
static inline void tw_seed_fmt_time(int64_t t, char *out)
{
    int64_t sod = t % TW_SEED_DAY;
    char *p = out + 10;

    if (sod < 0)
        sod += TW_SEED_DAY;
    tw_seed_fmt_date(t, out);
    *p++ = 'T';
    p = tw_seed_digits(p, (unsigned)(sod / 3600), 2);
    *p++ = ':';
    p = tw_seed_digits(p, (unsigned)(sod / 60 % 60), 2);
    *p++ = ':';
    p = tw_seed_digits(p, (unsigned)(sod % 60), 2);
    *p++ = 'Z';
    *p = '\0';
}

#endif

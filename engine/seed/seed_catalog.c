/*
 * A chain's product catalogue: max(20, N/10) products with 1-5 variants each. The products and
 * variants stay in memory (code, name, price, barcode) while the chain's transactions are
 * generated, so every transaction item names a product and barcode that really exist. The
 * arrays are allocated once per run, before the database is touched (tw_seed_catalog_alloc),
 * and reused by every chain.
 *
 * Variants of a product differ by size, or by colour when the product has no sizes, so
 * (product, size, colour) is unique. Barcodes are EAN-13 in the 2xx "in-store" range with a
 * valid check digit: '2', five digits from the chain, six from the variant's number in the
 * chain, so they are unique within a chain up to a million variants.
 */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "seed/seed_int.h"

#define MAX_VARIANTS 5

/* Twelve digits in, EAN-13 (with check digit) out. */
static void ean13(const char digits[12], char out[14])
{
    int sum = 0;

    for (int i = 0; i < 12; i++)
        sum += (digits[i] - '0') * (i % 2 ? 3 : 1);
    memcpy(out, digits, 12);
    out[12] = (char)('0' + (10 - sum % 10) % 10);
    out[13] = '\0';
}

static void barcode(int64_t chain, size_t number, char out[14])
{
    char d[13];
    unsigned long long ch = (unsigned long long)(chain < 0 ? -(chain + 1) : chain) % 100000;

    snprintf(d, sizeof(d), "2%05llu%06llu", ch, (unsigned long long)(number % 1000000));
    ean13(d, out);
}

/*
 * Whether product j gets awkward entry k of a table of n: each of the n once among the first
 * 4n products (so a seed of a few hundred users has them all), then one product in 64.
 */
static bool odd_slot(size_t j, size_t phase, size_t n, size_t *k)
{
    if (j < 4 * n && j % 4 == phase) {
        *k = j / 4;
        return true;
    }
    if (j >= 4 * n && j % 64 == phase) {
        *k = (j / 64) % n;
        return true;
    }
    return false;
}

static void product_text(struct tw_seed_rng *r, size_t j, const struct tw_seed_noun *noun,
                         const char *brand, struct tw_seed_product *p, char *desc, size_t dlen,
                         bool *desc_null)
{
    const char *adj = tw_seed_pick(r, &tw_seed_adjectives);
    size_t k;

    if (odd_slot(j, 3, tw_seed_odd_products.n, &k))
        snprintf(p->name, sizeof(p->name), "%s", tw_seed_odd_products.v[k]);
    else
        snprintf(p->name, sizeof(p->name), "%s %s %s", brand ? brand : "House", adj, noun->noun);
    *desc_null = j % 29 == 7;
    if (odd_slot(j, 1, tw_seed_odd_descriptions.n, &k))
        snprintf(desc, dlen, "%s", tw_seed_odd_descriptions.v[k]);
    else
        snprintf(desc, dlen, "%s %s in %s and more colours. Made to last, part of our %s range.",
                 adj, noun->noun, tw_seed_pick(r, &tw_seed_colours), noun->category);
}

static int insert_variants(struct tw_seed_ctx *c, struct tw_seed_rng *r, size_t j,
                           int64_t product_id, int64_t created, int32_t price,
                           const struct tw_seed_noun *noun)
{
    const struct tw_seed_list *sizes = &tw_seed_size_sets[noun->sizes];
    const struct tw_seed_product *p = &c->products[j];
    int nv = (int)tw_seed_range(r, 1, MAX_VARIANTS);
    size_t c0 = tw_seed_below(r, tw_seed_colours.n);
    size_t s0 = sizes->n ? tw_seed_below(r, sizes->n) : 0;
    struct tw_seed_stmt *st = c->ins_variant;

    for (int v = 0; v < nv; v++) {
        struct tw_seed_variant *var = &c->variants[c->n_variants];
        size_t si = sizes->n ? (s0 + (size_t)v) % sizes->n : 0;
        const char *size = sizes->n ? sizes->v[si] : NULL;
        /* Cycle sizes first; the colour changes once all sizes are used (or every variant). */
        size_t per_colour = sizes->n ? sizes->n : 1;
        const char *colour = tw_seed_colours.v[(c0 + (size_t)v / per_colour) % tw_seed_colours.n];
        char code[24], image[80], when[21];
        int rc;

        var->product = (uint32_t)j;
        /* The largest size costs a little more, as in real shops. */
        var->price = price + (sizes->n && si == sizes->n - 1 ? 200 : 0);
        barcode(c->chain, c->n_variants, var->barcode);
        snprintf(code, sizeof(code), "%s-%02d", p->code, v + 1);
        snprintf(image, sizeof(image), "https://cdn.example.com/img/%s.jpg", code);
        tw_seed_fmt_time(created + tw_seed_range(r, 0, 30 * TW_SEED_DAY), when);

        tw_seed_bind_int(st, 1, c->next_variant++, false);
        tw_seed_bind_int(st, 2, c->chain, false);
        tw_seed_bind_int(st, 3, product_id, false);
        tw_seed_bind_text(st, 4, code);
        tw_seed_bind_text(st, 5, size);
        tw_seed_bind_text(st, 6, colour);
        tw_seed_bind_int(st, 7, var->price, false);
        tw_seed_bind_text(st, 8, var->barcode);
        tw_seed_bind_text(st, 9, tw_seed_chance(r, 80) ? NULL : image);
        tw_seed_bind_text(st, 10, when);
        if ((rc = tw_seed_step(c, st, "product_variants")))
            return rc;
        c->n_variants++;
        c->stats.product_variants++;
    }
    return TW_OK;
}

static int insert_product(struct tw_seed_ctx *c, struct tw_seed_rng *r, size_t j)
{
    struct tw_seed_product *p = &c->products[j];
    const struct tw_seed_noun *noun = &tw_seed_nouns[tw_seed_below(r, tw_seed_n_nouns)];
    const char *brand = j % 37 == 11 ? NULL : tw_seed_pick(r, &tw_seed_brands);
    /* 1.99 .. 149.99, cheap things commoner than dear ones (the upper bound is random too) */
    int64_t top = tw_seed_range(r, 10, 150);
    int32_t price = (int32_t)tw_seed_range(r, 2, top) * 100 - 1;
    int64_t created = TW_SEED_T0 + tw_seed_range(r, 0, 90 * TW_SEED_DAY);
    int64_t id = c->next_product++;
    char desc[160], url[80], when[21];
    bool desc_null, cost_null;
    int64_t cost;
    struct tw_seed_stmt *st = c->ins_product;
    int rc;

    snprintf(p->code, sizeof(p->code), "SKU-%06zu", j + 1);
    product_text(r, j, noun, brand, p, desc, sizeof(desc), &desc_null);
    /* One PRNG call per statement: argument evaluation order is unspecified in C. */
    p->promotional = tw_seed_chance(r, 150);
    cost = (int64_t)price * tw_seed_range(r, 35, 65) / 100;
    cost_null = tw_seed_chance(r, 30);
    snprintf(url, sizeof(url), "https://shop.example.com/p/%s", p->code);
    tw_seed_fmt_time(created, when);

    tw_seed_bind_int(st, 1, id, false);
    tw_seed_bind_int(st, 2, c->chain, false);
    tw_seed_bind_text(st, 3, p->code);
    tw_seed_bind_text(st, 4, p->name);
    tw_seed_bind_text(st, 5, desc_null ? NULL : desc);
    tw_seed_bind_text(st, 6, brand);
    tw_seed_bind_text(st, 7, noun->category);
    tw_seed_bind_int(st, 8, price, false);
    tw_seed_bind_int(st, 9, cost, cost_null);
    tw_seed_bind_text(st, 10, noun->unit);
    tw_seed_bind_int(st, 11, p->promotional, false);
    tw_seed_bind_text(st, 12, tw_seed_chance(r, 50) ? NULL : url);
    tw_seed_bind_text(st, 13, when);
    if ((rc = tw_seed_step(c, st, "products")))
        return rc;
    c->stats.products++;
    c->n_products++;
    return insert_variants(c, r, j, id, created, price, noun);
}

static size_t n_products(const struct tw_seed_ctx *c)
{
    size_t n = (size_t)(c->users_per_chain / 10);

    return n < 20 ? 20 : n;
}

int tw_seed_catalog_alloc(struct tw_seed_ctx *c)
{
    size_t n = n_products(c);

    c->products = tw_calloc(n, sizeof(*c->products));
    c->variants = tw_calloc(n * MAX_VARIANTS, sizeof(*c->variants));
    if (!c->products || !c->variants)
        return tw_err_set(c->err, TW_ENOMEM, "out of memory for %zu products", n);
    return TW_OK;
}

int tw_seed_catalog(struct tw_seed_ctx *c)
{
    struct tw_seed_rng r;
    size_t n = n_products(c);

    c->n_products = c->n_variants = 0;
    tw_seed_rng_init(&r, c->seed, c->chain, TW_SEED_STREAM_CATALOG, 0);
    for (size_t j = 0; j < n; j++) {
        int rc = insert_product(c, &r, j);

        if (rc)
            return rc;
    }
    return TW_OK;
}

void tw_seed_catalog_free(struct tw_seed_ctx *c)
{
    tw_free(c->products);
    tw_free(c->variants);
    c->products = NULL;
    c->variants = NULL;
    c->n_products = c->n_variants = 0;
}

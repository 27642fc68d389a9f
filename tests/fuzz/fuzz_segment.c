/*
 * Fuzz target: the segment compiler (issue #6). The bytes are a segment as a client sends it
 * (parsed like a request body: json_loadb with JSON_REJECT_DUPLICATES). It goes through
 * tw_segment_input_parse (segment/seg_parse.c: structure, types, operator keys) and, when
 * valid, tw_seg_check and tw_seg_compile (engine/segment) against a transactions-like field
 * table (fuzz_fields.h); a compiled segment is matched against two records built once (one
 * filled, with two items; one all null), and pushed down into a query.
 *
 * Oracles besides the sanitizers: tw_seg_compile must accept what tw_seg_check accepted
 * (segment.h: "The segment must pass tw_seg_check"), and, with no condition reported applied,
 * tw_seg_keep must agree with tw_seg_match (segment.h: it then evaluates every rule).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "fuzz_fields.h"

#define RUN_START INT64_C(1779796800) /* 2026-05-26T12:00:00Z */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct tw_validate_ctx ctx = {
    .indexes = fz_indexes,
    .formats = fz_formats,
    .check_segment = NULL, /* this target calls tw_seg_check itself */
    .check_ctx = NULL,
};

static struct tw_record *records[2];

static void must(int rc, const char *what)
{
    if (rc != TW_OK) {
        fprintf(stderr, "fuzz_segment setup: %s failed (%d)\n", what, rc);
        abort();
    }
}

static void text(struct tw_record *r, uint32_t col, const char *s)
{
    must(tw_record_set_text(r, col, s, strlen(s)), s);
}

static void item(struct tw_record *r, const char *code, const char *barcode, const char *name,
                 int64_t qty, int64_t sale, int64_t orig, int promo)
{
    must(tw_record_item_begin(r, FZ_ITEMS), "item_begin");
    text(r, FZ_I_CODE, code);
    if (barcode != NULL)
        text(r, FZ_I_BARCODE, barcode);
    text(r, FZ_I_NAME, name);
    must(tw_record_set_int(r, FZ_I_QTY, qty), "quantity");
    must(tw_record_set_money(r, FZ_I_SALE, sale), "sale_price");
    must(tw_record_set_money(r, FZ_I_ORIG, orig), "original_price");
    must(tw_record_set_money(r, FZ_I_SUBTOTAL, sale * qty), "basket_item_subtotal");
    must(tw_record_set_bool(r, FZ_I_PROMO, promo), "item_is_promotional");
    must(tw_record_item_end(r), "item_end");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct tw_err err;
    struct tw_record *r;
    static const char ts[] = "2026-05-25T18:30:00Z";
    static const char bday[] = "1990-02-28";

    (void)argc;
    (void)argv;
    must(tw_record_create(fz_fields, &records[0], &err), "record_create");
    must(tw_record_create(fz_fields, &records[1], &err), "record_create"); /* all null */
    r = records[0];
    must(tw_record_set_chain(r, 1764), "chain");
    must(tw_record_set_int(r, FZ_ID, 90210), "id");
    text(r, FZ_BASKET, "B-2026-0001");
    must(tw_record_set_datetime(r, FZ_TS, ts, strlen(ts)), "timestamp");
    text(r, FZ_TYPE, "sale");
    must(tw_record_set_int(r, FZ_USER, 42), "user_id");
    text(r, FZ_STORE, "AMS-01");
    text(r, FZ_CURRENCY, "EUR");
    must(tw_record_set_money(r, FZ_SUBTOTAL, 5990), "subtotal");
    must(tw_record_set_money(r, FZ_SHIPPING, 0), "shipping_charge");
    must(tw_record_set_money(r, FZ_TOTAL, 5990), "total_value");
    text(r, FZ_PAYMENT, "card");
    /* employee_code stays null */
    item(r, "SKU-1", "8712345678906", "Blue Cotton Shirt", 2, 1995, 2495, 1);
    item(r, "SKU-2", NULL, "Socks, 3 pack", 1, 2000, 2000, 0);
    must(tw_record_set_date(r, FZ_BIRTHDAY, bday, strlen(bday)), "birthday");
    must(tw_record_set_double(r, FZ_SCORE, 0.75), "score");
    text(r, FZ_SECRET, "hidden");
    if (tw_record_bad(r) != NULL) {
        fprintf(stderr, "fuzz_segment setup: record is bad: %s\n", tw_record_bad(r));
        abort();
    }
    return 0;
}

static void run(const json_t *canon)
{
    struct tw_seg *g = NULL;
    struct tw_query q;
    struct tw_err err;
    int rc;

    tw_err_clear(&err);
    /* As a server with no Lua scripts installed: script rules are refused here (with Lua
     * they fail or pass per record, which the equivalence oracle below cannot know). */
    if (tw_seg_check(canon, "transactions", fz_fields, "segment", &err) != TW_OK ||
        tw_seg_check_scripts(canon, NULL, "segment", &err) != TW_OK)
        return;
    tw_err_clear(&err);
    rc = tw_seg_compile(canon, fz_fields, RUN_START, &g, &err);
    if (rc != TW_OK) {
        char *s = tw_json_compact(canon);

        fprintf(stderr, "tw_seg_compile refused what tw_seg_check accepted: %s\n  %s\n", err.msg,
                s ? s : "(null)");
        abort();
    }
    for (size_t i = 0; i < 2; i++)
        (void)tw_seg_match(g, records[i]);

    tw_query_init(&q, 1764, RUN_START, tw_seg_join(g));
    tw_err_clear(&err);
    if (tw_seg_pushdown(g, &q, &err) == TW_OK) {
        for (size_t i = 0; i < 2; i++) {
            int m = tw_seg_match(g, records[i]);
            int k = tw_seg_keep(g, records[i], &err);

            if (m != k) {
                char *s = tw_json_compact(canon);

                fprintf(stderr, "record %zu: tw_seg_match %d but tw_seg_keep %d\n  %s\n", i, m, k,
                        s ? s : "(null)");
                abort();
            }
        }
    }
    tw_seg_destroy(g);
    tw_query_fini(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_err err;
    json_error_t jerr;
    json_t *seg;
    json_t *canon = NULL;

    seg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (seg == NULL)
        return 0;
    tw_err_clear(&err);
    /* As the saved-segments API calls it (api/segments.c): no export_index, a chain. */
    if (tw_segment_input_parse(seg, NULL, 1764, &ctx, "segment", &canon, &err) == TW_OK) {
        run(canon);
        json_decref(canon);
    } else if (canon != NULL) {
        fprintf(stderr, "tw_segment_input_parse failed but left *canon set\n");
        abort();
    }
    json_decref(seg);
    return 0;
}

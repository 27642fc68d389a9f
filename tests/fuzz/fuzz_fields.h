/*
 * Shared by the fuzz targets (issue #6): a static field table mirroring the transactions
 * plugin's (plugins/transactions/transactions.c, docs/reference.md §7.1) with its nested "items" list, plus
 * two fields that index lacks so every field type reaches the segment compiler ("birthday"
 * DATE, "score" NUMBER) and one non-filterable field. Keep the transactions part in step with
 * the plugin when its columns change.
 */
#ifndef TW_FUZZ_FIELDS_H
#define TW_FUZZ_FIELDS_H

#include <string.h>

#include "api/validate.h"
#include "segment/segment.h"

#define FZ_F TW_FIELD_FILTERABLE

enum {
    FZ_I_CODE,
    FZ_I_BARCODE,
    FZ_I_NAME,
    FZ_I_QTY,
    FZ_I_SALE,
    FZ_I_ORIG,
    FZ_I_SUBTOTAL,
    FZ_I_PROMO
};
enum {
    FZ_ID,
    FZ_BASKET,
    FZ_TS,
    FZ_TYPE,
    FZ_USER,
    FZ_STORE,
    FZ_CURRENCY,
    FZ_SUBTOTAL,
    FZ_SHIPPING,
    FZ_TOTAL,
    FZ_PAYMENT,
    FZ_EMPLOYEE,
    FZ_ITEMS,
    FZ_BIRTHDAY,
    FZ_SCORE,
    FZ_SECRET
};

static const struct tw_field fz_item_fields[] = {
    { .name = "retailer_product_code", .type = TW_FIELD_KEYWORD, .flags = FZ_F },
    { .name = "barcode", .type = TW_FIELD_KEYWORD, .flags = FZ_F },
    { .name = "name", .type = TW_FIELD_TEXT, .flags = FZ_F },
    { .name = "quantity", .type = TW_FIELD_INT, .flags = FZ_F },
    { .name = "sale_price", .type = TW_FIELD_MONEY, .flags = FZ_F },
    { .name = "original_price", .type = TW_FIELD_MONEY, .flags = FZ_F },
    { .name = "basket_item_subtotal", .type = TW_FIELD_MONEY, .flags = FZ_F },
    { .name = "item_is_promotional", .type = TW_FIELD_BOOL, .flags = FZ_F },
    { 0 },
};

static const struct tw_field fz_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = FZ_F },
    { .name = "retailer_basket_code", .type = TW_FIELD_KEYWORD, .flags = FZ_F },
    { .name = "timestamp", .type = TW_FIELD_DATETIME, .flags = FZ_F },
    { .name = "type", .type = TW_FIELD_KEYWORD, .flags = FZ_F },
    { .name = "user_id", .type = TW_FIELD_INT, .flags = FZ_F },
    { .name = "store_code", .type = TW_FIELD_KEYWORD, .flags = FZ_F },
    { .name = "currency", .type = TW_FIELD_KEYWORD, .flags = FZ_F },
    { .name = "subtotal", .type = TW_FIELD_MONEY, .flags = FZ_F },
    { .name = "shipping_charge", .type = TW_FIELD_MONEY, .flags = FZ_F },
    { .name = "total_value", .type = TW_FIELD_MONEY, .flags = FZ_F },
    { .name = "payment_method", .type = TW_FIELD_KEYWORD, .flags = FZ_F },
    { .name = "employee_code", .type = TW_FIELD_KEYWORD, .flags = FZ_F },
    { .name = "items", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = fz_item_fields },
    /* Not in the transactions index: here so DATE and NUMBER rules compile too. */
    { .name = "birthday", .type = TW_FIELD_DATE, .flags = FZ_F },
    { .name = "score", .type = TW_FIELD_NUMBER, .flags = FZ_F },
    { .name = "secret", .type = TW_FIELD_KEYWORD, .flags = 0 },
    { 0 },
};

/* The six built-in indexes (plugins/) and the built-in formats (engine/cli/serve.c). */
static const char *const fz_indexes[] = {
    "product-variants", "products", "transactions", "users", "vouchers", "wallet-ledger", NULL
};
static const char *const fz_formats[] = { "csv", "json", NULL };

/* validate.h's tw_segment_check_fn, as serve.c's: "transactions" has the table above; the
 * other indexes are treated like an unloaded plugin (structure only). */
static inline int fz_check_segment(void *ctx, const json_t *segment, const char *export_index,
                                   int64_t chain, const char *path, struct tw_err *err)
{
    (void)ctx;
    (void)chain;
    if (strcmp(export_index, "transactions") != 0)
        return TW_OK;
    return tw_seg_check(segment, export_index, fz_fields, path, err);
}

#endif

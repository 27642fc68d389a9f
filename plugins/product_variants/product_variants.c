/*
 * Index "product-variants" (docs/reference.md §7.1): one record per product variant of the chain, from the
 * product_variants table.
 * When changing a column: also update docs/reference.md §7.1 and plugins/sql/source_schema.sql.
 */
#include <taskwheel/plugin.h>

#include "sqlsrc.h"

#define F TW_FIELD_FILTERABLE

static const struct tw_field variant_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = F },
    { .name = "product_id", .type = TW_FIELD_INT, .flags = F },
    { .name = "owner_code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "size", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "colour", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "price", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "barcode", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "image_url", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "created_date", .type = TW_FIELD_DATETIME, .flags = F },
    { 0 },
};

static const struct tw_sql_index variant_source = { .table = "product_variants",
                                                    .change = { "created_date" } };

static int variants_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                         struct tw_err *err)
{
    return tw_sql_open(host, q, variant_fields, &variant_source, cursor, err);
}

TW_INDEX_PLUGIN(.index = "product-variants", .label = "ProductVariant", .version = "1.0.0",
                .fields = variant_fields, .change_column = "created_date", .open = variants_open,
                .next = tw_sql_next, .close = tw_sql_close);

/*
 * Index "products" (docs/reference.md §7.1): one record per product of the chain, from the products table.
 * When changing a column: also update docs/reference.md §7.1 and plugins/sql/source_schema.sql.
 */
#include <taskwheel/plugin.h>

#include "sqlsrc.h"

#define F TW_FIELD_FILTERABLE

static const struct tw_field product_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = F },
    { .name = "owner_code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "name", .type = TW_FIELD_TEXT, .flags = F },
    { .name = "description", .type = TW_FIELD_TEXT, .flags = F },
    { .name = "brand", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "category", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "price", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "cost_price", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "unit", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "is_promotional", .type = TW_FIELD_BOOL, .flags = F },
    { .name = "web_url", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "created_date", .type = TW_FIELD_DATETIME, .flags = F },
    { 0 },
};

static const struct tw_sql_index product_source = { .table = "products",
                                                    .change = { "created_date" } };

static int products_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                         struct tw_err *err)
{
    return tw_sql_open(host, q, product_fields, &product_source, cursor, err);
}

TW_INDEX_PLUGIN(.index = "products", .label = "Product", .version = "1.0.0",
                .fields = product_fields, .change_column = "created_date", .open = products_open,
                .next = tw_sql_next, .close = tw_sql_close);

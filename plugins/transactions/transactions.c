/*
 * Index "transactions" (docs/reference.md §7.1): one record per basket of the chain, with its line items
 * as the nested list "items" (table transaction_items, in position order), read by the SQL
 * helper in one ordered LEFT JOIN (plugins/sql/sqlsrc.c).
 * When changing a column: also update docs/reference.md §7.1 and plugins/sql/source_schema.sql.
 */
#include <taskwheel/plugin.h>

#include "sqlsrc.h"

#define F TW_FIELD_FILTERABLE

static const struct tw_field item_fields[] = {
    { .name = "retailer_product_code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "barcode", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "name", .type = TW_FIELD_TEXT, .flags = F },
    { .name = "quantity", .type = TW_FIELD_INT, .flags = F },
    { .name = "sale_price", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "original_price", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "basket_item_subtotal", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "item_is_promotional", .type = TW_FIELD_BOOL, .flags = F },
    { 0 },
};

static const struct tw_field transaction_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = F },
    { .name = "retailer_basket_code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "timestamp", .type = TW_FIELD_DATETIME, .flags = F },
    { .name = "type", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "user_id", .type = TW_FIELD_INT, .flags = F },
    { .name = "store_code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "currency", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "subtotal", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "shipping_charge", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "total_value", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "payment_method", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "employee_code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "items", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = item_fields },
    { 0 },
};

static const struct tw_sql_index transaction_source = {
    .table = "transactions",
    .items_table = "transaction_items",
    .items_key = "transaction_id",
    .items_order = "position",
    .change = { "timestamp" },
};

static int transactions_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                             struct tw_err *err)
{
    return tw_sql_open(host, q, transaction_fields, &transaction_source, cursor, err);
}

TW_INDEX_PLUGIN(.index = "transactions", .label = "Transaction", .version = "1.0.0",
                .fields = transaction_fields, .change_column = "timestamp",
                .open = transactions_open, .next = tw_sql_next, .close = tw_sql_close);

/*
 * Index "vouchers" (docs/reference.md §7.1): one record per voucher of the chain. Deleted vouchers are
 * never exported: the fixed filter is part of every query, whatever the segment says.
 * When changing a column: also update docs/reference.md §7.1 and plugins/sql/source_schema.sql.
 */
#include <taskwheel/plugin.h>

#include "sqlsrc.h"

#define F TW_FIELD_FILTERABLE

static const struct tw_field voucher_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = F },
    { .name = "user_id", .type = TW_FIELD_INT, .flags = F },
    { .name = "campaign_id", .type = TW_FIELD_INT, .flags = F },
    { .name = "campaign_name", .type = TW_FIELD_TEXT, .flags = F },
    { .name = "type", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "status", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "amount", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "amount_redeemed", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "currency", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "created_date", .type = TW_FIELD_DATETIME, .flags = F },
    { .name = "date_time_claimed", .type = TW_FIELD_DATETIME, .flags = F },
    { .name = "date_time_redeemed", .type = TW_FIELD_DATETIME, .flags = F },
    { .name = "expiry_date", .type = TW_FIELD_DATE, .flags = F },
    { 0 },
};

/* Changed: created_date, or the latest of claimed/redeemed when later (docs/reference.md §13). */
static const struct tw_sql_index voucher_source = {
    .table = "vouchers",
    .filter = "NOT t.deleted", /* an integer 0/1 in SQLite, a boolean in PostgreSQL */
    .change = { "created_date", "date_time_claimed", "date_time_redeemed" },
};

static int vouchers_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                         struct tw_err *err)
{
    return tw_sql_open(host, q, voucher_fields, &voucher_source, cursor, err);
}

TW_INDEX_PLUGIN(.index = "vouchers", .label = "Voucher", .version = "1.0.0",
                .fields = voucher_fields,
                .change_column = "the latest of created_date, date_time_claimed and "
                                 "date_time_redeemed",
                .open = vouchers_open, .next = tw_sql_next, .close = tw_sql_close);

/*
 * Index "wallet-ledger" (docs/reference.md §7.1): one record per wallet ledger entry of the chain, from
 * the wallet_ledger table.
 * When changing a column: also update docs/reference.md §7.1 and plugins/sql/source_schema.sql.
 */
#include <taskwheel/plugin.h>

#include "sqlsrc.h"

#define F TW_FIELD_FILTERABLE

static const struct tw_field ledger_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = F },
    { .name = "user_id", .type = TW_FIELD_INT, .flags = F },
    { .name = "timestamp", .type = TW_FIELD_DATETIME, .flags = F },
    { .name = "type", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "amount", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "balance_after", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "currency", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "campaign_id", .type = TW_FIELD_INT, .flags = F },
    { .name = "basket_id", .type = TW_FIELD_INT, .flags = F },
    { .name = "description", .type = TW_FIELD_TEXT, .flags = F },
    { 0 },
};

static const struct tw_sql_index ledger_source = { .table = "wallet_ledger",
                                                   .change = { "timestamp" } };

static int ledger_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                       struct tw_err *err)
{
    return tw_sql_open(host, q, ledger_fields, &ledger_source, cursor, err);
}

TW_INDEX_PLUGIN(.index = "wallet-ledger", .label = "Wallet", .version = "1.0.0",
                .fields = ledger_fields, .change_column = "timestamp", .open = ledger_open,
                .next = tw_sql_next, .close = tw_sql_close);

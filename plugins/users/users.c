/*
 * Index "users" (docs/reference.md §7.1): one record per user of the chain, from the users table.
 * Everything but the field table is the shared SQL helper (plugins/sql/sqlsrc.h).
 * When changing a column: also update docs/reference.md §7.1 and plugins/sql/source_schema.sql.
 */
#include <taskwheel/plugin.h>

#include "sqlsrc.h"

#define F TW_FIELD_FILTERABLE

static const struct tw_field user_fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = F },
    { .name = "entity_code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "username", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "firstname", .type = TW_FIELD_TEXT, .flags = F },
    { .name = "lastname", .type = TW_FIELD_TEXT, .flags = F },
    { .name = "gender", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "birthday", .type = TW_FIELD_DATE, .flags = F },
    { .name = "country_code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "store_id", .type = TW_FIELD_INT, .flags = F },
    { .name = "created_date", .type = TW_FIELD_DATETIME, .flags = F },
    { .name = "last_modified", .type = TW_FIELD_DATETIME, .flags = F },
    { .name = "spaaza_opted_in", .type = TW_FIELD_BOOL, .flags = F },
    { .name = "mailing_list_opted_in", .type = TW_FIELD_BOOL, .flags = F },
    { .name = "loyalty_status", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "rfm_recency", .type = TW_FIELD_INT, .flags = F },
    { .name = "rfm_frequency", .type = TW_FIELD_INT, .flags = F },
    { .name = "rfm_monetary", .type = TW_FIELD_INT, .flags = F },
    { .name = "wallet_balance", .type = TW_FIELD_MONEY, .flags = F },
    { 0 },
};

/* Changed: the later of created_date and last_modified (docs/reference.md §13), whichever is set. */
static const struct tw_sql_index user_source = {
    .table = "users",
    .change = { "created_date", "last_modified" },
};

static int users_open(const struct tw_host *host, struct tw_query *q, void **cursor,
                      struct tw_err *err)
{
    return tw_sql_open(host, q, user_fields, &user_source, cursor, err);
}

TW_INDEX_PLUGIN(.index = "users", .label = "User", .version = "1.0.0", .fields = user_fields,
                .change_column = "the later of created_date and last_modified", .open = users_open,
                .next = tw_sql_next, .close = tw_sql_close);

/*
 * Names of field types (plugin.h): the TW_FIELD_* types as the plugin ABI spells them, and the
 * TW_SEG_* type a segment rule sees a field as (tw_field_seg_type in taskwheel/plugin.h).
 */
#include "plugin/plugin.h"

/* When adding a type, also update the enum in include/taskwheel/plugin.h. */
static const char *const type_names[] = {
    [TW_FIELD_INT] = "int",         [TW_FIELD_MONEY] = "money",       [TW_FIELD_NUMBER] = "number",
    [TW_FIELD_KEYWORD] = "keyword", [TW_FIELD_TEXT] = "text",         [TW_FIELD_BOOL] = "bool",
    [TW_FIELD_DATE] = "date",       [TW_FIELD_DATETIME] = "datetime", [TW_FIELD_LIST] = "list",
};

const char *tw_field_type_name(uint32_t type)
{
    if (type >= sizeof(type_names) / sizeof(type_names[0]) || type_names[type] == NULL)
        return "?";
    return type_names[type];
}

const char *const tw_field_seg_type_names[] = {
    "keyword", "text", "number", "date", "boolean", NULL
};

const char *tw_field_seg_type_name(enum tw_seg_type t)
{
    if (t < TW_SEG_KEYWORD || t > TW_SEG_BOOLEAN)
        return "-";
    return tw_field_seg_type_names[t - TW_SEG_KEYWORD];
}

/*
 * The segment grammar's one table (seg_int.h): every operator with the field types it applies
 * to and the keys it takes, and the time units of relative rules. Parsing (seg_parse.c) checks
 * rules against it, checking against an index (seg_check.c) and compiling (seg_compile.c) look
 * operators and units up in it, and pushdown and evaluation read what compiling made of them.
 * Field type names belong to the plugin ABI (tw_field_seg_type_names, plugin.h).
 */
#include <string.h>

#include "segment/seg_int.h"

#define T_KEYWORD TW_SEG_TYPE_BIT(TW_SEG_KEYWORD)
#define T_TEXT TW_SEG_TYPE_BIT(TW_SEG_TEXT)
#define T_NUMBER TW_SEG_TYPE_BIT(TW_SEG_NUMBER)
#define T_DATE TW_SEG_TYPE_BIT(TW_SEG_DATE)
#define T_BOOLEAN TW_SEG_TYPE_BIT(TW_SEG_BOOLEAN)

const char *const tw_seg_op_keys[] = { "value",       "start_date",  "end_date", "min",    "max",
                                       "time_factor", "time_amount", "script",   "params", NULL };

const struct tw_seg_op_def tw_seg_ops[TW_SOP_N] = {
    [TW_SOP_IS] = { "is", T_KEYWORD | T_TEXT | T_NUMBER | T_BOOLEAN, TW_SEG_KEY_VALUE, 0 },
    [TW_SOP_IS_NOT] = { "is_not", T_KEYWORD | T_TEXT | T_NUMBER | T_BOOLEAN, TW_SEG_KEY_VALUE, 0 },
    [TW_SOP_CONTAINS] = { "contains", T_KEYWORD | T_TEXT, TW_SEG_KEY_VALUE, 0 },
    [TW_SOP_NOT_CONTAINS] = { "does_not_contain", T_KEYWORD | T_TEXT, TW_SEG_KEY_VALUE, 0 },
    [TW_SOP_IS_DATE] = { "is_date", T_DATE, TW_SEG_KEY_VALUE, 0 },
    [TW_SOP_AFTER_DATE] = { "is_after_date", T_DATE, TW_SEG_KEY_START, 0 },
    [TW_SOP_BEFORE_DATE] = { "is_before_date", T_DATE, TW_SEG_KEY_END, 0 },
    [TW_SOP_BETWEEN_DATE] = { "is_between_date", T_DATE, TW_SEG_KEY_START | TW_SEG_KEY_END, 0 },
    [TW_SOP_BETWEEN_NUMBER] = { "is_between_number", T_NUMBER, TW_SEG_KEY_MIN | TW_SEG_KEY_MAX, 0 },
    [TW_SOP_GREATER] = { "is_greater_than", T_NUMBER, TW_SEG_KEY_VALUE, 0 },
    [TW_SOP_LESS] = { "is_less_than", T_NUMBER, TW_SEG_KEY_VALUE, 0 },
    [TW_SOP_REL_LESS] = { "relative_less_than", T_DATE, TW_SEG_KEY_FACTOR | TW_SEG_KEY_AMOUNT, 0 },
    [TW_SOP_REL_MORE] = { "relative_more_than", T_DATE, TW_SEG_KEY_FACTOR | TW_SEG_KEY_AMOUNT, 0 },
    [TW_SOP_EXISTS] = { "exists", TW_SEG_TYPES_ALL, 0, 0 },
    [TW_SOP_MISSING] = { "does_not_exist", TW_SEG_TYPES_ALL, 0, 0 },
    [TW_SOP_SCRIPT] = { "script", TW_SEG_TYPES_ALL, TW_SEG_KEY_SCRIPT, TW_SEG_KEY_PARAMS },
};

const char *const tw_seg_unit_names[] = { "minute", "hour", "day", "week", "month", "year", NULL };
const int64_t tw_seg_unit_seconds[] = { 60, 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400 };

int tw_seg_op_find(const char *name)
{
    for (int i = 0; name != NULL && i < TW_SOP_N; i++)
        if (strcmp(name, tw_seg_ops[i].name) == 0)
            return i;
    return -1;
}

int64_t tw_seg_unit_find_seconds(const char *name)
{
    for (size_t i = 0; name != NULL && tw_seg_unit_names[i] != NULL; i++)
        if (strcmp(name, tw_seg_unit_names[i]) == 0)
            return tw_seg_unit_seconds[i];
    return 0;
}

/*
 * Pins the ABI 1.x layout of include/taskwheel/plugin.h (STYLE §2.6): a reordered, resized or
 * inserted member fails to compile here instead of corrupting memory in a user's plugin.
 * Offsets are for LP64 (the only targets built today); other targets get their own table.
 * When appending members in ABI 1.x, add their offsets here and leave the 1.0 lines alone.
 */
#include <stddef.h>

#include <criterion/criterion.h>

#include <taskwheel/plugin.h>

#define PIN(type, member, off)                             \
    _Static_assert(offsetof(struct type, member) == (off), \
                   #type "." #member " moved: ABI 1.0 layout changed")

#if __SIZEOF_POINTER__ == 8 && __SIZEOF_LONG__ == 8
PIN(tw_index_plugin, abi_major, 0);
PIN(tw_index_plugin, abi_minor, 2);
PIN(tw_index_plugin, size, 4);
PIN(tw_index_plugin, signature, 8);
PIN(tw_index_plugin, index, 16);
PIN(tw_index_plugin, label, 24);
PIN(tw_index_plugin, version, 32);
PIN(tw_index_plugin, fields, 40);
PIN(tw_index_plugin, open, 48);
PIN(tw_index_plugin, next, 56);
PIN(tw_index_plugin, close, 64);
/* ABI 1.1 */
PIN(tw_index_plugin, change_column, 72);
_Static_assert(sizeof(struct tw_index_plugin) == 80, "ABI 1.1 descriptor size changed");

PIN(tw_host, abi_major, 0);
PIN(tw_host, abi_minor, 2);
PIN(tw_host, size, 4);
PIN(tw_host, log, 8);
PIN(tw_host, err_set, 16);
PIN(tw_host, alloc, 24);
PIN(tw_host, free, 32);
PIN(tw_host, source, 40);
PIN(tw_host, rec_set_null, 48);
PIN(tw_host, rec_set_int, 56);
PIN(tw_host, rec_set_money, 64);
PIN(tw_host, rec_set_double, 72);
PIN(tw_host, rec_set_text, 80);
PIN(tw_host, rec_set_bool, 88);
PIN(tw_host, rec_set_date, 96);
PIN(tw_host, rec_set_datetime, 104);
PIN(tw_host, rec_set_time, 112);
PIN(tw_host, rec_set_chain, 120);
PIN(tw_host, rec_item_begin, 128);
PIN(tw_host, rec_item_end, 136);
PIN(tw_host, rec_reject, 144);
PIN(tw_host, q_chain, 152);
PIN(tw_host, q_run_start, 160);
PIN(tw_host, q_join, 168);
PIN(tw_host, q_cond_count, 176);
PIN(tw_host, q_cond, 184);
PIN(tw_host, q_applied, 192);
/* ABI 1.1 */
PIN(tw_host, q_window, 200);
/* ABI 1.2 */
PIN(tw_host, source_driver, 208);
_Static_assert(sizeof(struct tw_host) == 216, "ABI 1.2 host size changed");

/* Arrays of these cross the boundary: their size is their stride and may never change. */
PIN(tw_field, name, 0);
PIN(tw_field, type, 8);
PIN(tw_field, flags, 12);
PIN(tw_field, nested, 16);
PIN(tw_field, reserved, 24);
_Static_assert(sizeof(struct tw_field) == 40, "struct tw_field stride changed");
PIN(tw_value, i, 0);
PIN(tw_value, d, 8);
PIN(tw_value, s, 16);
PIN(tw_value, len, 24);
_Static_assert(sizeof(struct tw_value) == 32, "struct tw_value stride changed");
PIN(tw_cond, field, 0);
PIN(tw_cond, sub, 4);
PIN(tw_cond, op, 8);
PIN(tw_cond, nvalues, 12);
PIN(tw_cond, values, 16);
_Static_assert(sizeof(struct tw_cond) == 24, "struct tw_cond stride changed");
#endif

/* Values are ABI too: a plugin compiled today passes these numbers. */
_Static_assert(TW_FIELD_INT == 1 && TW_FIELD_MONEY == 2 && TW_FIELD_NUMBER == 3 &&
                   TW_FIELD_KEYWORD == 4 && TW_FIELD_TEXT == 5 && TW_FIELD_BOOL == 6 &&
                   TW_FIELD_DATE == 7 && TW_FIELD_DATETIME == 8 && TW_FIELD_LIST == 9,
               "field type values changed");
_Static_assert(TW_OP_EQ == 1 && TW_OP_NE == 2 && TW_OP_LT == 3 && TW_OP_LE == 4 && TW_OP_GT == 5 &&
                   TW_OP_GE == 6 && TW_OP_IN == 7 && TW_OP_CONTAINS_CI == 8 && TW_OP_IS_NULL == 9 &&
                   TW_OP_NOT_NULL == 10,
               "condition op values changed");
_Static_assert(TW_FIELD_FILTERABLE == 1 && TW_FIELD_NESTED == 2, "field flags changed");
_Static_assert(TW_JOIN_ALL == 0 && TW_JOIN_ANY == 1, "join values changed");

Test(abi_layout, segment_type_mapping)
{
    cr_assert_eq(tw_field_seg_type(TW_FIELD_INT), TW_SEG_NUMBER);
    cr_assert_eq(tw_field_seg_type(TW_FIELD_MONEY), TW_SEG_NUMBER);
    cr_assert_eq(tw_field_seg_type(TW_FIELD_NUMBER), TW_SEG_NUMBER);
    cr_assert_eq(tw_field_seg_type(TW_FIELD_KEYWORD), TW_SEG_KEYWORD);
    cr_assert_eq(tw_field_seg_type(TW_FIELD_TEXT), TW_SEG_TEXT);
    cr_assert_eq(tw_field_seg_type(TW_FIELD_BOOL), TW_SEG_BOOLEAN);
    cr_assert_eq(tw_field_seg_type(TW_FIELD_DATE), TW_SEG_DATE);
    cr_assert_eq(tw_field_seg_type(TW_FIELD_DATETIME), TW_SEG_DATE);
    cr_assert_eq(tw_field_seg_type(TW_FIELD_LIST), TW_SEG_NONE);
    cr_assert_eq(tw_field_seg_type(0), TW_SEG_NONE);
}

Test(abi_layout, build_signature_names_the_platform)
{
    cr_assert_not_null(strstr(TW_BUILD_SIG, "ptr" TW_SIG_STR(__SIZEOF_POINTER__)));
}

/*
 * record.c: typed setters with validation (type per column, UTF-8, dates), nested elements,
 * reuse across rows, and the bad/oom latches the export driver reads.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/mem.h"
#include "plugin/plugin.h"

static const struct tw_field sub[] = {
    { .name = "sku", .type = TW_FIELD_KEYWORD },
    { .name = "qty", .type = TW_FIELD_INT },
    { 0 },
};
static const struct tw_field fields[] = {
    { .name = "id", .type = TW_FIELD_INT },
    { .name = "name", .type = TW_FIELD_TEXT },
    { .name = "amount", .type = TW_FIELD_MONEY },
    { .name = "ratio", .type = TW_FIELD_NUMBER },
    { .name = "ok", .type = TW_FIELD_BOOL },
    { .name = "day", .type = TW_FIELD_DATE },
    { .name = "at", .type = TW_FIELD_DATETIME },
    { .name = "items", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = sub },
    { 0 },
};

static struct tw_record *r;

static void setup(void)
{
    struct tw_err err;

    cr_assert_eq(tw_record_create(fields, &r, &err), TW_OK);
}

static void teardown(void)
{
    tw_record_destroy(r);
}

TestSuite(record, .init = setup, .fini = teardown, .timeout = 10);

static const char *text(uint32_t col)
{
    static char buf[128];
    const struct tw_slot *s = tw_record_value(r, col);

    snprintf(buf, sizeof(buf), "%.*s", (int)s->len, tw_record_text(r, s));
    return buf;
}

Test(record, typed_values_round_trip)
{
    int64_t chain;

    cr_assert_eq(tw_record_ncols(r), 8);
    cr_assert_not(tw_record_chain(r, &chain));
    cr_assert_eq(tw_record_set_chain(r, 1764), TW_OK);
    cr_assert_eq(tw_record_set_int(r, 0, -42), TW_OK);
    cr_assert_eq(tw_record_set_text(r, 1, "Zoë", strlen("Zoë")), TW_OK);
    cr_assert_eq(tw_record_set_money(r, 2, 1250), TW_OK);
    cr_assert_eq(tw_record_set_double(r, 3, 0.25), TW_OK);
    cr_assert_eq(tw_record_set_bool(r, 4, 7), TW_OK);
    cr_assert_eq(tw_record_set_date(r, 5, "2026-02-28", 10), TW_OK);
    cr_assert_eq(tw_record_set_datetime(r, 6, "2026-05-26T12:00:00Z", 20), TW_OK);
    cr_assert(tw_record_chain(r, &chain) && chain == 1764);
    cr_assert_eq(tw_record_value(r, 0)->v.i, -42);
    cr_assert_str_eq(text(1), "Zoë");
    cr_assert_eq(tw_record_value(r, 2)->v.i, 1250);
    cr_assert_eq(tw_record_value(r, 3)->v.d, 0.25);
    cr_assert_eq(tw_record_value(r, 4)->v.i, 1);
    cr_assert_str_eq(text(5), "2026-02-28");
    cr_assert_str_eq(text(6), "2026-05-26T12:00:00Z");
    cr_assert_null(tw_record_bad(r));
    tw_record_reset(r);
    cr_assert_not(tw_record_value(r, 0)->set);
    cr_assert_not(tw_record_chain(r, &chain));
}

Test(record, datetimes_are_normalised_to_utc)
{
    cr_assert_eq(tw_record_set_datetime(r, 6, "2026-05-26T14:00:00.999+02:00", 29), TW_OK);
    cr_assert_str_eq(text(6), "2026-05-26T12:00:00Z");
    cr_assert_eq(tw_record_set_time(r, 6, 1779796800), TW_OK);
    cr_assert_str_eq(text(6), "2026-05-26T12:00:00Z");
    cr_assert_eq(tw_record_set_time(r, 5, 1779796800), TW_OK);
    cr_assert_str_eq(text(5), "2026-05-26");
    cr_assert_null(tw_record_bad(r));
}

Test(record, bad_values_mark_the_record)
{
    cr_assert_eq(tw_record_set_text(r, 1, "\xc3\x28", 2), TW_EINVAL);
    cr_assert(strstr(tw_record_bad(r), "invalid UTF-8"));
    tw_record_reset(r);
    cr_assert_eq(tw_record_set_text(r, 1, "\xed\xa0\x80", 3), TW_EINVAL); /* surrogate */
    tw_record_reset(r);
    cr_assert_eq(tw_record_set_text(r, 1, "\xc0\xaf", 2), TW_EINVAL); /* overlong */
    tw_record_reset(r);
    cr_assert_eq(tw_record_set_text(r, 1, "ok \xf0\x9f\x98\x80 emoji", 14), TW_OK);
    cr_assert_null(tw_record_bad(r));
    cr_assert_eq(tw_record_set_date(r, 5, "2026-13-01", 10), TW_EINVAL);
    cr_assert(strstr(tw_record_bad(r), "malformed date"), "%s", tw_record_bad(r));
    tw_record_reset(r);
    cr_assert_eq(tw_record_set_datetime(r, 6, "2026-05-26 12:00:00", 19), TW_EINVAL);
    tw_record_reset(r);
    cr_assert_eq(tw_record_set_int(r, 1, 5), TW_EINVAL);
    cr_assert(strstr(tw_record_bad(r), "name with a value of the wrong type"), "%s",
              tw_record_bad(r));
    tw_record_reset(r);
    cr_assert_eq(tw_record_set_int(r, 99, 5), TW_EINVAL);
    tw_record_reset(r);
    cr_assert_eq(tw_record_set_double(r, 3, 1.0 / 0.0), TW_EINVAL);
    tw_record_reset(r);
    cr_assert_eq(tw_record_reject(r, "source said no"), TW_EINVAL);
    cr_assert_str_eq(tw_record_bad(r), "source said no");
    tw_record_reset(r);
    cr_assert_null(tw_record_bad(r));
}

Test(record, nested_elements)
{
    uint32_t i;

    for (i = 0; i < 100; i++) {
        cr_assert_eq(tw_record_item_begin(r, 7), TW_OK);
        cr_assert_eq(tw_record_set_text(r, 0, "SKU-1", 5), TW_OK);
        cr_assert_eq(tw_record_set_int(r, 1, i), TW_OK);
        cr_assert_eq(tw_record_item_end(r), TW_OK);
    }
    cr_assert_eq(tw_record_item_count(r, 7), 100);
    cr_assert_eq(tw_record_item_value(r, 7, 99, 1)->v.i, 99);
    cr_assert_eq(tw_record_item_value(r, 7, 3, 0)->len, 5);
    cr_assert_null(tw_record_bad(r));
    cr_assert_eq(tw_record_item_begin(r, 0), TW_EINVAL); /* not a list */
    tw_record_reset(r);
    cr_assert_eq(tw_record_item_count(r, 7), 0);
    tw_record_item_begin(r, 7);
    cr_assert_not(tw_record_item_value(r, 7, 0, 1)->set); /* fresh element is all null */
    cr_assert(strstr(tw_record_bad(r), "left a list element open"));
    cr_assert_eq(tw_record_set_int(r, 5, 1), TW_EINVAL); /* item has 2 columns */
}

Test(record, steady_state_rows_do_not_allocate)
{
    char big[3000];
    int row;

    memset(big, 'x', sizeof(big));
    /* Warm up: grow the arena and the element array once. */
    tw_record_set_text(r, 1, big, sizeof(big));
    tw_record_item_begin(r, 7);
    tw_record_item_end(r);
    tw_record_item_begin(r, 7);
    tw_record_item_end(r);
    tw_mem_fail_after(1); /* any allocation from here on fails */
    for (row = 0; row < 1000; row++) {
        tw_record_reset(r);
        cr_assert_eq(tw_record_set_text(r, 1, big, sizeof(big)), TW_OK);
        cr_assert_eq(tw_record_item_begin(r, 7), TW_OK);
        cr_assert_eq(tw_record_set_text(r, 0, "abc", 3), TW_OK);
        cr_assert_eq(tw_record_item_end(r), TW_OK);
        cr_assert_eq(tw_record_item_begin(r, 7), TW_OK);
        cr_assert_eq(tw_record_item_end(r), TW_OK);
        cr_assert_not(tw_record_oom(r));
    }
    tw_mem_fail_after(0);
}

Test(record, oom_latches)
{
    char big[10000];

    memset(big, 'y', sizeof(big));
    tw_mem_fail_after(1);
    cr_assert_eq(tw_record_set_text(r, 1, big, sizeof(big)), TW_ENOMEM);
    tw_mem_fail_after(0);
    cr_assert(tw_record_oom(r));
    tw_record_reset(r);
    cr_assert_not(tw_record_oom(r));
}

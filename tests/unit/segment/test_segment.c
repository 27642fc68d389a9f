/*
 * The segment compiler (engine/segment, docs/reference.md §6) on a hand-made field table and hand-built
 * records: every operator on every field type it applies to, boundaries exactly, null
 * semantics, nested any-match, join, and tw_seg_check's messages. Every match is asserted
 * through both tw_seg_match and tw_seg_keep (without pushdown, the keep evaluates everything).
 * Segments are written with ' for " to keep them readable.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/segment.h"

#define RS INT64_C(1779796800) /* run start: 2026-05-26T12:00:00Z */

enum { C_ID, C_CODE, C_NAME, C_AMOUNT, C_SCORE, C_ACTIVE, C_BDAY, C_TS, C_ITEMS, C_SECRET };
enum { S_SKU, S_QTY, S_PRICE, S_LABEL };

#define F TW_FIELD_FILTERABLE

static const struct tw_field item_fields[] = {
    { .name = "sku", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "qty", .type = TW_FIELD_INT, .flags = F },
    { .name = "price", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "label", .type = TW_FIELD_TEXT, .flags = F },
    { 0 },
};

static const struct tw_field fields[] = {
    { .name = "id", .type = TW_FIELD_INT, .flags = F },
    { .name = "code", .type = TW_FIELD_KEYWORD, .flags = F },
    { .name = "name", .type = TW_FIELD_TEXT, .flags = F },
    { .name = "amount", .type = TW_FIELD_MONEY, .flags = F },
    { .name = "score", .type = TW_FIELD_NUMBER, .flags = F },
    { .name = "active", .type = TW_FIELD_BOOL, .flags = F },
    { .name = "birthday", .type = TW_FIELD_DATE, .flags = F },
    { .name = "ts", .type = TW_FIELD_DATETIME, .flags = F },
    { .name = "items", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = item_fields },
    { .name = "secret", .type = TW_FIELD_KEYWORD, .flags = 0 },
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

TestSuite(segment, .init = setup, .fini = teardown, .timeout = 30);

/* The JSON text with every ' turned into ", parsed. */
static json_t *parse(const char *text)
{
    char *s = strdup(text);
    json_error_t jerr;
    json_t *j;
    char *p;

    for (p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    j = json_loads(s, 0, &jerr);
    cr_assert_not_null(j, "bad test JSON %s: %s", s, jerr.text);
    free(s);
    return j;
}

/* Does the whole segment seg match the current record (both evaluation entries agree)? */
static int match_seg(const char *seg)
{
    json_t *j = parse(seg);
    struct tw_seg *g = NULL;
    struct tw_err err;
    int m, k;

    tw_err_clear(&err);
    cr_assert_eq(tw_seg_check(j, "test", fields, "trigger.segment", &err), TW_OK, "check %s: %s",
                 seg, err.msg);
    cr_assert_eq(tw_seg_compile(j, fields, RS, &g, &err), TW_OK, "compile %s: %s", seg, err.msg);
    m = tw_seg_match(g, r);
    k = tw_seg_keep(g, r, &err);
    cr_assert_eq(m, k, "tw_seg_match %d but tw_seg_keep %d for %s", m, k, seg);
    tw_seg_destroy(g);
    json_decref(j);
    return m;
}

/* One rule, join all. */
static int match(const char *rule)
{
    char seg[2048];

    snprintf(seg, sizeof(seg), "{'join':'all','rules':[%s]}", rule);
    return match_seg(seg);
}

#define YES(rule) cr_assert_eq(match(rule), 1, "expected a match: %s", rule)
#define NO(rule) cr_assert_eq(match(rule), 0, "expected no match: %s", rule)

static void set_text(uint32_t col, const char *s)
{
    cr_assert_eq(tw_record_set_text(r, col, s, strlen(s)), TW_OK);
}

static void set_ts(const char *iso)
{
    cr_assert_eq(tw_record_set_datetime(r, C_TS, iso, strlen(iso)), TW_OK, "%s", iso);
}

static void set_bday(const char *iso)
{
    cr_assert_eq(tw_record_set_date(r, C_BDAY, iso, strlen(iso)), TW_OK, "%s", iso);
}

static void add_item(const char *sku, int64_t qty, int64_t price, const char *label)
{
    cr_assert_eq(tw_record_item_begin(r, C_ITEMS), TW_OK);
    if (sku != NULL)
        tw_record_set_text(r, S_SKU, sku, strlen(sku));
    tw_record_set_int(r, S_QTY, qty);
    tw_record_set_money(r, S_PRICE, price);
    if (label != NULL)
        tw_record_set_text(r, S_LABEL, label, strlen(label));
    cr_assert_eq(tw_record_item_end(r), TW_OK);
}

/* ------------------------------------------------------------------ is / is_not */

Test(segment, keyword_is_exact)
{
    set_text(C_CODE, "Ab-1");
    YES("{'field_name':'code','field_type':'keyword','operator':'is','value':'Ab-1'}");
    NO("{'field_name':'code','field_type':'keyword','operator':'is','value':'ab-1'}");
    NO("{'field_name':'code','field_type':'keyword','operator':'is','value':'Ab-'}");
    NO("{'field_name':'code','field_type':'keyword','operator':'is','value':'Ab-1 '}");
    YES("{'field_name':'code','field_type':'keyword','operator':'is','value':['x','Ab-1']}");
    NO("{'field_name':'code','field_type':'keyword','operator':'is','value':['x','AB-1']}");
    NO("{'field_name':'code','field_type':'keyword','operator':'is_not','value':'Ab-1'}");
    YES("{'field_name':'code','field_type':'keyword','operator':'is_not','value':'ab-1'}");
    YES("{'field_name':'code','field_type':'keyword','operator':'is_not','value':['x','y']}");
    NO("{'field_name':'code','field_type':'keyword','operator':'is_not','value':['x','Ab-1']}");
}

Test(segment, text_is_ascii_case_insensitive)
{
    set_text(C_NAME, "Zo\xc3\xab Smith"); /* Zoë Smith */
    YES("{'field_name':'name','field_type':'text','operator':'is','value':'Zo\xc3\xab Smith'}");
    YES("{'field_name':'name','field_type':'text','operator':'is','value':'zO\xc3\xab SMITH'}");
    /* Only ASCII folds: Ë is not ë. */
    NO("{'field_name':'name','field_type':'text','operator':'is','value':'ZO\xc3\x8b SMITH'}");
    NO("{'field_name':'name','field_type':'text','operator':'is','value':'zoe smith'}");
    NO("{'field_name':'name','field_type':'text','operator':'is','value':'Zo\xc3\xab'}");
    YES("{'field_name':'name','field_type':'text','operator':'is','value':['a','ZO\xc3\xab smith']}");
    NO("{'field_name':'name','field_type':'text','operator':'is_not','value':'zo\xc3\xab smith'}");
    YES("{'field_name':'name','field_type':'text','operator':'is_not','value':['a','b']}");
    NO("{'field_name':'name','field_type':'text','operator':'is_not','value':['a','ZO\xc3\xab SMITH']}");
}

Test(segment, int_is)
{
    tw_record_set_int(r, C_ID, 42);
    YES("{'field_name':'id','field_type':'number','operator':'is','value':42}");
    YES("{'field_name':'id','field_type':'number','operator':'is','value':42.0}");
    NO("{'field_name':'id','field_type':'number','operator':'is','value':42.5}");
    NO("{'field_name':'id','field_type':'number','operator':'is','value':43}");
    YES("{'field_name':'id','field_type':'number','operator':'is','value':[1,42]}");
    NO("{'field_name':'id','field_type':'number','operator':'is','value':[1,41.9]}");
    NO("{'field_name':'id','field_type':'number','operator':'is_not','value':42}");
    YES("{'field_name':'id','field_type':'number','operator':'is_not','value':42.5}");
    YES("{'field_name':'id','field_type':'number','operator':'is_not','value':[41,43]}");
    NO("{'field_name':'id','field_type':'number','operator':'is_not','value':[41,42]}");
}

Test(segment, money_is_in_cents)
{
    tw_record_set_money(r, C_AMOUNT, 1050); /* 10.50 */
    YES("{'field_name':'amount','field_type':'number','operator':'is','value':10.5}");
    YES("{'field_name':'amount','field_type':'number','operator':'is','value':10.50}");
    NO("{'field_name':'amount','field_type':'number','operator':'is','value':1050}");
    NO("{'field_name':'amount','field_type':'number','operator':'is','value':10.51}");
    NO("{'field_name':'amount','field_type':'number','operator':'is','value':10.505}");
    YES("{'field_name':'amount','field_type':'number','operator':'is','value':[1,10.5]}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_not','value':10.5}");
    YES("{'field_name':'amount','field_type':'number','operator':'is_not','value':10.505}");
    /* Binary float noise: 0.29 * 100 is 28.999999999999996. */
    tw_record_set_money(r, C_AMOUNT, 29);
    YES("{'field_name':'amount','field_type':'number','operator':'is','value':0.29}");
    YES("{'field_name':'amount','field_type':'number','operator':'is_between_number','min':0.29,'max':0.29}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_greater_than','value':0.29}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_less_than','value':0.29}");
    tw_record_set_money(r, C_AMOUNT, -1999);
    YES("{'field_name':'amount','field_type':'number','operator':'is','value':-19.99}");
    YES("{'field_name':'amount','field_type':'number','operator':'is_less_than','value':-19.985}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_less_than','value':-19.995}");
}

Test(segment, number_is)
{
    tw_record_set_double(r, C_SCORE, 2.5);
    YES("{'field_name':'score','field_type':'number','operator':'is','value':2.5}");
    NO("{'field_name':'score','field_type':'number','operator':'is','value':2.51}");
    YES("{'field_name':'score','field_type':'number','operator':'is','value':[0,2.5]}");
    NO("{'field_name':'score','field_type':'number','operator':'is_not','value':2.5}");
    YES("{'field_name':'score','field_type':'number','operator':'is_not','value':2}");
}

Test(segment, boolean_is)
{
    tw_record_set_bool(r, C_ACTIVE, 1);
    YES("{'field_name':'active','field_type':'boolean','operator':'is','value':true}");
    NO("{'field_name':'active','field_type':'boolean','operator':'is','value':false}");
    NO("{'field_name':'active','field_type':'boolean','operator':'is_not','value':true}");
    YES("{'field_name':'active','field_type':'boolean','operator':'is_not','value':false}");
    YES("{'field_name':'active','field_type':'boolean','operator':'is','value':[false,true]}");
    YES("{'field_name':'active','field_type':'boolean','operator':'exists'}");
    tw_record_set_bool(r, C_ACTIVE, 0);
    YES("{'field_name':'active','field_type':'boolean','operator':'is','value':false}");
    NO("{'field_name':'active','field_type':'boolean','operator':'is','value':true}");
    YES("{'field_name':'active','field_type':'boolean','operator':'exists'}");
    NO("{'field_name':'active','field_type':'boolean','operator':'does_not_exist'}");
    tw_record_set_null(r, C_ACTIVE);
    NO("{'field_name':'active','field_type':'boolean','operator':'is','value':true}");
    NO("{'field_name':'active','field_type':'boolean','operator':'is','value':false}");
    YES("{'field_name':'active','field_type':'boolean','operator':'is_not','value':true}");
    YES("{'field_name':'active','field_type':'boolean','operator':'is_not','value':false}");
    YES("{'field_name':'active','field_type':'boolean','operator':'does_not_exist'}");
}

/* ------------------------------------------------------------------ contains */

Test(segment, contains_ascii_case_insensitive)
{
    set_text(C_CODE, "Ab-1");
    YES("{'field_name':'code','field_type':'keyword','operator':'contains','value':'b-'}");
    YES("{'field_name':'code','field_type':'keyword','operator':'contains','value':'B-1'}");
    YES("{'field_name':'code','field_type':'keyword','operator':'contains','value':'aB-1'}");
    NO("{'field_name':'code','field_type':'keyword','operator':'contains','value':'Ab-12'}");
    NO("{'field_name':'code','field_type':'keyword','operator':'contains','value':'x'}");
    NO("{'field_name':'code','field_type':'keyword','operator':'does_not_contain','value':'AB'}");
    YES("{'field_name':'code','field_type':'keyword','operator':'does_not_contain','value':'zz'}");
    set_text(C_NAME, "Zo\xc3\xab Smith");
    YES("{'field_name':'name','field_type':'text','operator':'contains','value':'SMITH'}");
    YES("{'field_name':'name','field_type':'text','operator':'contains','value':'\xc3\xab s'}");
    NO("{'field_name':'name','field_type':'text','operator':'contains','value':'\xc3\x8b'}");
    NO("{'field_name':'name','field_type':'text','operator':'contains','value':'%'}");
    YES("{'field_name':'name','field_type':'text','operator':'does_not_contain','value':'_'}");
    NO("{'field_name':'name','field_type':'text','operator':'does_not_contain','value':'zo'}");
    /* A wildcard-looking value is literal. */
    set_text(C_NAME, "50% off_now");
    YES("{'field_name':'name','field_type':'text','operator':'contains','value':'% OFF_'}");
    NO("{'field_name':'name','field_type':'text','operator':'contains','value':'50%%'}");
}

/* ------------------------------------------------------------------ dates */

Test(segment, is_date)
{
    set_ts("2026-05-01T23:59:59Z");
    YES("{'field_name':'ts','field_type':'date','operator':'is_date','value':'2026-05-01'}");
    YES("{'field_name':'ts','field_type':'date','operator':'is_date','value':'2026-05-01T08:00:00Z'}");
    NO("{'field_name':'ts','field_type':'date','operator':'is_date','value':'2026-05-02'}");
    NO("{'field_name':'ts','field_type':'date','operator':'is_date','value':'2026-04-30T23:59:59Z'}");
    set_ts("2026-05-02T00:00:00Z");
    YES("{'field_name':'ts','field_type':'date','operator':'is_date','value':'2026-05-02'}");
    NO("{'field_name':'ts','field_type':'date','operator':'is_date','value':'2026-05-01'}");
    set_bday("2026-05-01");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_date','value':'2026-05-01'}");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_date','value':'2026-05-01T12:00:00Z'}");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_date','value':'2026-04-30T23:59:59Z'}");
}

Test(segment, is_after_date_strict)
{
    /* A date-only start means after that whole day. */
    set_ts("2026-05-02T00:00:00Z");
    YES("{'field_name':'ts','field_type':'date','operator':'is_after_date','start_date':'2026-05-01'}");
    NO("{'field_name':'ts','field_type':'date','operator':'is_after_date','start_date':'2026-05-02'}");
    NO("{'field_name':'ts','field_type':'date','operator':'is_after_date','start_date':'2026-05-02T00:00:00Z'}");
    YES("{'field_name':'ts','field_type':'date','operator':'is_after_date','start_date':'2026-05-01T23:59:59Z'}");
    set_ts("2026-05-01T23:59:59Z");
    NO("{'field_name':'ts','field_type':'date','operator':'is_after_date','start_date':'2026-05-01'}");
    YES("{'field_name':'ts','field_type':'date','operator':'is_after_date','start_date':'2026-05-01T23:59:58Z'}");
    NO("{'field_name':'ts','field_type':'date','operator':'is_after_date','start_date':'2026-05-01T23:59:59Z'}");
    /* DATE fields are the instant of their midnight. */
    set_bday("2026-05-02");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'2026-05-01'}");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'2026-05-02'}");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'2026-05-01T12:00:00Z'}");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'2026-05-01T23:59:59Z'}");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'2026-05-02T00:00:00Z'}");
}

Test(segment, is_before_date_strict)
{
    set_ts("2026-04-30T23:59:59Z");
    YES("{'field_name':'ts','field_type':'date','operator':'is_before_date','end_date':'2026-05-01'}");
    NO("{'field_name':'ts','field_type':'date','operator':'is_before_date','end_date':'2026-04-30'}");
    NO("{'field_name':'ts','field_type':'date','operator':'is_before_date','end_date':'2026-04-30T23:59:59Z'}");
    YES("{'field_name':'ts','field_type':'date','operator':'is_before_date','end_date':'2026-05-01T00:00:00Z'}");
    set_ts("2026-05-01T00:00:00Z");
    NO("{'field_name':'ts','field_type':'date','operator':'is_before_date','end_date':'2026-05-01'}");
    YES("{'field_name':'ts','field_type':'date','operator':'is_before_date','end_date':'2026-05-01T00:00:01Z'}");
    set_bday("2026-05-01");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'2026-05-01'}");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'2026-05-01T00:00:00Z'}");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'2026-05-01T00:00:01Z'}");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'2026-05-02'}");
}

Test(segment, is_between_date_inclusive)
{
    static const char *const dated =
        "{'field_name':'ts','field_type':'date','operator':'is_between_date',"
        "'start_date':'2026-05-01','end_date':'2026-05-03'}";
    static const char *const timed =
        "{'field_name':'ts','field_type':'date','operator':'is_between_date',"
        "'start_date':'2026-05-01T06:00:00Z','end_date':'2026-05-03T12:00:00Z'}";

    set_ts("2026-05-01T00:00:00Z");
    YES(dated);
    NO(timed);
    set_ts("2026-04-30T23:59:59Z");
    NO(dated);
    set_ts("2026-05-03T23:59:59Z"); /* a date-only end includes its whole day */
    YES(dated);
    NO(timed);
    set_ts("2026-05-04T00:00:00Z");
    NO(dated);
    set_ts("2026-05-01T06:00:00Z");
    YES(timed);
    set_ts("2026-05-01T05:59:59Z");
    NO(timed);
    set_ts("2026-05-03T12:00:00Z");
    YES(timed);
    set_ts("2026-05-03T12:00:01Z");
    NO(timed);
    /* One day, both ends the same date. */
    set_ts("2026-05-03T00:00:00Z");
    YES("{'field_name':'ts','field_type':'date','operator':'is_between_date',"
        "'start_date':'2026-05-03','end_date':'2026-05-03'}");
    set_bday("2026-05-03");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_between_date',"
        "'start_date':'2026-05-01','end_date':'2026-05-03'}");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_between_date',"
        "'start_date':'2026-05-03','end_date':'2026-05-03'}");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_between_date',"
       "'start_date':'2026-05-03T00:00:01Z','end_date':'2026-05-04'}");
    YES("{'field_name':'birthday','field_type':'date','operator':'is_between_date',"
        "'start_date':'2026-05-02T00:00:01Z','end_date':'2026-05-03T00:00:00Z'}");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_between_date',"
       "'start_date':'2026-05-01','end_date':'2026-05-02T23:59:59Z'}");
    set_bday("2026-05-04");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_between_date',"
       "'start_date':'2026-05-01','end_date':'2026-05-03'}");
    set_bday("2026-04-30");
    NO("{'field_name':'birthday','field_type':'date','operator':'is_between_date',"
       "'start_date':'2026-05-01','end_date':'2026-05-03'}");
}

Test(segment, relative_cutoffs)
{
    static const struct {
        const char *factor;
        int64_t unit;
    } units[] = {
        { "minute", 60 },      { "hour", 3600 },        { "day", 86400 },
        { "week", 7 * 86400 }, { "month", 30 * 86400 }, { "year", 365 * 86400 },
    };
    char less[256], more[256];
    size_t i;
    int n;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        for (n = 1; n <= 3; n += 2) {
            int64_t cut = RS - n * units[i].unit;

            snprintf(less, sizeof(less),
                     "{'field_name':'ts','field_type':'date','operator':"
                     "'relative_less_than','time_factor':'%s','time_amount':%d}",
                     units[i].factor, n);
            snprintf(more, sizeof(more),
                     "{'field_name':'ts','field_type':'date','operator':"
                     "'relative_more_than','time_factor':'%s','time_amount':%d}",
                     units[i].factor, n);
            tw_record_set_time(r, C_TS, cut); /* exactly N units ago: "less than" */
            YES(less);
            NO(more);
            tw_record_set_time(r, C_TS, cut - 1);
            NO(less);
            YES(more);
            tw_record_set_time(r, C_TS, RS);
            YES(less);
            NO(more);
        }
    }
    /* On a DATE, a day is in when its midnight is at or after the cut-off. */
    set_bday("2026-05-25"); /* cut-off for 1 day: 2026-05-25T12:00:00Z */
    NO("{'field_name':'birthday','field_type':'date','operator':'relative_less_than',"
       "'time_factor':'day','time_amount':1}");
    YES("{'field_name':'birthday','field_type':'date','operator':'relative_more_than',"
        "'time_factor':'day','time_amount':1}");
    set_bday("2026-05-26");
    YES("{'field_name':'birthday','field_type':'date','operator':'relative_less_than',"
        "'time_factor':'day','time_amount':1}");
    NO("{'field_name':'birthday','field_type':'date','operator':'relative_more_than',"
       "'time_factor':'day','time_amount':1}");
    set_bday("2026-05-26"); /* 12 hours ago: cut-off 2026-05-26T00:00:00Z, midnight itself */
    YES("{'field_name':'birthday','field_type':'date','operator':'relative_less_than',"
        "'time_factor':'hour','time_amount':12}");
    NO("{'field_name':'birthday','field_type':'date','operator':'relative_more_than',"
       "'time_factor':'hour','time_amount':12}");
    YES("{'field_name':'birthday','field_type':'date','operator':'relative_more_than',"
        "'time_factor':'hour','time_amount':11}");
}

/* ------------------------------------------------------------------ number ranges */

Test(segment, int_ranges_exact_boundaries)
{
    tw_record_set_int(r, C_ID, 42);
    YES("{'field_name':'id','field_type':'number','operator':'is_between_number','min':42,'max':42}");
    YES("{'field_name':'id','field_type':'number','operator':'is_between_number','min':41.5,'max':42}");
    YES("{'field_name':'id','field_type':'number','operator':'is_between_number','min':0,'max':42.5}");
    NO("{'field_name':'id','field_type':'number','operator':'is_between_number','min':42.5,'max':50}");
    NO("{'field_name':'id','field_type':'number','operator':'is_between_number','min':40,'max':41.99}");
    NO("{'field_name':'id','field_type':'number','operator':'is_greater_than','value':42}");
    YES("{'field_name':'id','field_type':'number','operator':'is_greater_than','value':41}");
    YES("{'field_name':'id','field_type':'number','operator':'is_greater_than','value':41.5}");
    NO("{'field_name':'id','field_type':'number','operator':'is_greater_than','value':42.5}");
    NO("{'field_name':'id','field_type':'number','operator':'is_less_than','value':42}");
    YES("{'field_name':'id','field_type':'number','operator':'is_less_than','value':43}");
    YES("{'field_name':'id','field_type':'number','operator':'is_less_than','value':42.5}");
    NO("{'field_name':'id','field_type':'number','operator':'is_less_than','value':41.5}");
    tw_record_set_int(r, C_ID, -5);
    YES("{'field_name':'id','field_type':'number','operator':'is_greater_than','value':-5.5}");
    NO("{'field_name':'id','field_type':'number','operator':'is_greater_than','value':-5}");
    YES("{'field_name':'id','field_type':'number','operator':'is_less_than','value':-4.5}");
    NO("{'field_name':'id','field_type':'number','operator':'is_less_than','value':-5}");
    NO("{'field_name':'id','field_type':'number','operator':'is_less_than','value':-5.5}");
    YES("{'field_name':'id','field_type':'number','operator':'is_between_number','min':-5.5,'max':-4.5}");
    NO("{'field_name':'id','field_type':'number','operator':'is_between_number','min':-4.9,'max':1e300}");
    YES("{'field_name':'id','field_type':'number','operator':'is_between_number','min':-1e300,'max':1e300}");
}

Test(segment, money_ranges_exact_boundaries)
{
    tw_record_set_money(r, C_AMOUNT, 1050);
    YES("{'field_name':'amount','field_type':'number','operator':'is_greater_than','value':10.49}");
    YES("{'field_name':'amount','field_type':'number','operator':'is_greater_than','value':10.499}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_greater_than','value':10.5}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_greater_than','value':10.501}");
    YES("{'field_name':'amount','field_type':'number','operator':'is_less_than','value':10.51}");
    YES("{'field_name':'amount','field_type':'number','operator':'is_less_than','value':10.501}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_less_than','value':10.5}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_less_than','value':10.499}");
    YES("{'field_name':'amount','field_type':'number','operator':'is_between_number','min':10.5,'max':10.5}");
    YES("{'field_name':'amount','field_type':'number','operator':'is_between_number','min':10.495,'max':10.505}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_between_number','min':10.51,'max':20}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_between_number','min':1,'max':10.49}");
    NO("{'field_name':'amount','field_type':'number','operator':'is_between_number','min':1000,'max':2000}");
}

Test(segment, number_ranges_exact_boundaries)
{
    tw_record_set_double(r, C_SCORE, 2.5);
    NO("{'field_name':'score','field_type':'number','operator':'is_greater_than','value':2.5}");
    YES("{'field_name':'score','field_type':'number','operator':'is_greater_than','value':2.4999}");
    NO("{'field_name':'score','field_type':'number','operator':'is_less_than','value':2.5}");
    YES("{'field_name':'score','field_type':'number','operator':'is_less_than','value':2.5001}");
    YES("{'field_name':'score','field_type':'number','operator':'is_between_number','min':2.5,'max':2.5}");
    NO("{'field_name':'score','field_type':'number','operator':'is_between_number','min':2.50001,'max':3}");
    NO("{'field_name':'score','field_type':'number','operator':'is_between_number','min':0,'max':2.49999}");
}

/* ------------------------------------------------------------------ exists, nulls */

Test(segment, exists_and_empty_text)
{
    static const char *const ex =
        "{'field_name':'code','field_type':'keyword','operator':'exists'}";
    static const char *const dne =
        "{'field_name':'code','field_type':'keyword','operator':'does_not_exist'}";

    NO(ex);
    YES(dne);
    set_text(C_CODE, "");
    NO(ex);
    YES(dne);
    set_text(C_CODE, "x");
    YES(ex);
    NO(dne);
    set_text(C_NAME, "");
    NO("{'field_name':'name','field_type':'text','operator':'exists'}");
    YES("{'field_name':'name','field_type':'text','operator':'does_not_exist'}");
    /* Zero, false and the epoch are values, not absence. */
    tw_record_set_int(r, C_ID, 0);
    tw_record_set_money(r, C_AMOUNT, 0);
    tw_record_set_double(r, C_SCORE, 0.0);
    tw_record_set_bool(r, C_ACTIVE, 0);
    set_bday("1970-01-01");
    tw_record_set_time(r, C_TS, 0);
    YES("{'field_name':'id','field_type':'number','operator':'exists'}");
    YES("{'field_name':'amount','field_type':'number','operator':'exists'}");
    YES("{'field_name':'score','field_type':'number','operator':'exists'}");
    YES("{'field_name':'active','field_type':'boolean','operator':'exists'}");
    YES("{'field_name':'birthday','field_type':'date','operator':'exists'}");
    YES("{'field_name':'ts','field_type':'date','operator':'exists'}");
    NO("{'field_name':'ts','field_type':'date','operator':'does_not_exist'}");
}

/* Every column null: no comparison matches; is_not and does_not_exist do. */
Test(segment, null_semantics)
{
    static const char *const never[] = {
        "{'field_name':'id','field_type':'number','operator':'is','value':0}",
        "{'field_name':'id','field_type':'number','operator':'is_greater_than','value':-1e300}",
        "{'field_name':'id','field_type':'number','operator':'is_less_than','value':1e300}",
        "{'field_name':'id','field_type':'number','operator':'is_between_number','min':-1e300,'max':1e300}",
        "{'field_name':'amount','field_type':'number','operator':'is_less_than','value':1e300}",
        "{'field_name':'score','field_type':'number','operator':'is_greater_than','value':-1e300}",
        "{'field_name':'score','field_type':'number','operator':'is','value':0}",
        "{'field_name':'code','field_type':'keyword','operator':'is','value':''}",
        "{'field_name':'code','field_type':'keyword','operator':'contains','value':'a'}",
        "{'field_name':'code','field_type':'keyword','operator':'does_not_contain','value':'a'}",
        "{'field_name':'name','field_type':'text','operator':'is','value':'a'}",
        "{'field_name':'name','field_type':'text','operator':'does_not_contain','value':'a'}",
        "{'field_name':'active','field_type':'boolean','operator':'is','value':false}",
        "{'field_name':'ts','field_type':'date','operator':'is_date','value':'1970-01-01'}",
        "{'field_name':'ts','field_type':'date','operator':'is_after_date','start_date':'1970-01-01'}",
        "{'field_name':'ts','field_type':'date','operator':'is_before_date','end_date':'2999-01-01'}",
        "{'field_name':'ts','field_type':'date','operator':'is_between_date','start_date':'1970-01-01','end_date':'2999-01-01'}",
        "{'field_name':'ts','field_type':'date','operator':'relative_less_than','time_factor':'year','time_amount':1000}",
        "{'field_name':'birthday','field_type':'date','operator':'relative_more_than','time_factor':'minute','time_amount':1}",
        "{'field_name':'ts','field_type':'date','operator':'exists'}",
        "{'field_name':'id','field_type':'number','operator':'exists'}",
    };
    static const char *const always[] = {
        "{'field_name':'id','field_type':'number','operator':'is_not','value':0}",
        "{'field_name':'score','field_type':'number','operator':'is_not','value':[0,1]}",
        "{'field_name':'code','field_type':'keyword','operator':'is_not','value':''}",
        "{'field_name':'name','field_type':'text','operator':'is_not','value':'a'}",
        "{'field_name':'active','field_type':'boolean','operator':'is_not','value':false}",
        "{'field_name':'id','field_type':'number','operator':'does_not_exist'}",
        "{'field_name':'amount','field_type':'number','operator':'does_not_exist'}",
        "{'field_name':'ts','field_type':'date','operator':'does_not_exist'}",
        "{'field_name':'birthday','field_type':'date','operator':'does_not_exist'}",
        "{'field_name':'active','field_type':'boolean','operator':'does_not_exist'}",
    };
    size_t i;

    for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        NO(never[i]);
    for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        YES(always[i]);
}

/* ------------------------------------------------------------------ nested */

Test(segment, nested_any_element)
{
    static const char *const none =
        "{'field_name':'sku','field_type':'keyword','operator':'is_not','value':'A',"
        "'nested':true,'nesting_path':'items'}";

    /* No elements: no element matches, whatever the rule. */
    NO(none);
    NO("{'field_name':'sku','field_type':'keyword','operator':'does_not_exist','nested':true,"
       "'nesting_path':'items'}");
    add_item("A", 1, 500, "Red Shirt");
    add_item("B", 5, 1999, NULL);
    YES("{'field_name':'sku','field_type':'keyword','operator':'is','value':'B','nested':true,"
        "'nesting_path':'items'}");
    YES("{'field_name':'items.sku','field_type':'keyword','operator':'is','value':'A',"
        "'nested':true,'nesting_path':'items'}");
    NO("{'field_name':'sku','field_type':'keyword','operator':'is','value':'C','nested':true,"
       "'nesting_path':'items'}");
    YES(none); /* B is not A */
    YES("{'field_name':'qty','field_type':'number','operator':'is_greater_than','value':4,"
        "'nested':true,'nesting_path':'items'}");
    /* One element must be in range: 1 and 5 are on either side of [2, 4]. */
    NO("{'field_name':'qty','field_type':'number','operator':'is_between_number','min':2,"
       "'max':4,'nested':true,'nesting_path':'items'}");
    YES("{'field_name':'price','field_type':'number','operator':'is','value':19.99,"
        "'nested':true,'nesting_path':'items'}");
    YES("{'field_name':'label','field_type':'text','operator':'contains','value':'SHIRT',"
        "'nested':true,'nesting_path':'items'}");
    YES("{'field_name':'label','field_type':'text','operator':'does_not_exist','nested':true,"
        "'nesting_path':'items'}");
    YES("{'field_name':'label','field_type':'text','operator':'exists','nested':true,"
        "'nesting_path':'items'}");
    /* Two rules on the same list are independent: any element for each. */
    cr_assert_eq(match_seg("{'join':'all','rules':["
                           "{'field_name':'sku','field_type':'keyword','operator':'is',"
                           "'value':'A','nested':true,'nesting_path':'items'},"
                           "{'field_name':'qty','field_type':'number','operator':'is',"
                           "'value':5,'nested':true,'nesting_path':'items'}]}"),
                 1);
    tw_record_reset(r);
    add_item("A", 1, 500, NULL);
    add_item("A", 2, 500, NULL);
    NO(none);
}

/* ------------------------------------------------------------------ join */

Test(segment, join_all_any_and_empty)
{
    static const char *const t = "{'field_name':'code','field_type':'keyword','operator':'is',"
                                 "'value':'x'}";
    static const char *const f = "{'field_name':'code','field_type':'keyword','operator':'is',"
                                 "'value':'y'}";
    char seg[1024];

    set_text(C_CODE, "x");
#define JOIN(join, a, b) \
    (snprintf(seg, sizeof(seg), "{'join':'%s','rules':[%s,%s]}", join, a, b), match_seg(seg))
    cr_assert_eq(JOIN("all", t, t), 1);
    cr_assert_eq(JOIN("all", t, f), 0);
    cr_assert_eq(JOIN("all", f, t), 0);
    cr_assert_eq(JOIN("all", f, f), 0);
    cr_assert_eq(JOIN("any", t, t), 1);
    cr_assert_eq(JOIN("any", t, f), 1);
    cr_assert_eq(JOIN("any", f, t), 1);
    cr_assert_eq(JOIN("any", f, f), 0);
#undef JOIN
    cr_assert_eq(match_seg("{'join':'all','rules':[]}"), 1);
    cr_assert_eq(match_seg("{'join':'any','rules':[]}"), 1);
    cr_assert_eq(match_seg("{'rules':[]}"), 1);
    tw_record_reset(r); /* even an all-null record */
    cr_assert_eq(match_seg("{'join':'any','rules':[]}"), 1);
}

/* ------------------------------------------------------------------ residual after pushdown */

Test(segment, keep_skips_applied_rules)
{
    json_t *j = parse("{'join':'all','rules':["
                      "{'field_name':'code','field_type':'keyword','operator':'is','value':'x'},"
                      "{'field_name':'name','field_type':'text','operator':'is','value':'y'}]}");
    struct tw_seg *g;
    struct tw_query q;
    struct tw_err err;

    cr_assert_eq(tw_seg_compile(j, fields, RS, &g, &err), TW_OK);
    tw_query_init(&q, 1, RS, tw_seg_join(g));
    cr_assert_eq(tw_seg_pushdown(g, &q, &err), TW_OK);
    /* keyword "is" is one EQ; text "is" (case-insensitive) has no condition. */
    cr_assert_eq(q.n, 1);
    cr_assert_eq(q.conds[0].op, TW_OP_EQ);
    cr_assert_eq(q.conds[0].field, C_CODE);
    q.applied[0] = true; /* as if the source filtered code = 'x' */
    set_text(C_NAME, "Y");
    cr_assert_eq(tw_seg_keep(g, r, &err), 1, "code is not re-checked");
    cr_assert_eq(tw_seg_match(g, r), 0, "match evaluates everything");
    set_text(C_NAME, "z");
    cr_assert_eq(tw_seg_keep(g, r, &err), 0, "name is residual");
    tw_query_fini(&q);
    tw_seg_destroy(g);
    json_decref(j);
}

/* ------------------------------------------------------------------ tw_seg_check */

static void check_fails(const char *seg, const char *field, const char *needle)
{
    json_t *j = parse(seg);
    struct tw_err err;

    tw_err_clear(&err);
    cr_assert_eq(tw_seg_check(j, "test", fields, "trigger.segment", &err), TW_EINVAL, "%s", seg);
    cr_assert_str_eq(err.field, field, "%s: %s", seg, err.msg);
    if (needle != NULL)
        cr_assert(strstr(err.msg, needle) != NULL, "\"%s\" not in: %s", needle, err.msg);
    json_decref(j);
}

/* tw_seg_check leaves script rules alone; tw_seg_check_scripts checks their names. */
static void check_script(const char *seg, const char *const *installed, const char *field,
                         const char *needle)
{
    json_t *j = parse(seg);
    struct tw_err err;

    tw_err_clear(&err);
    cr_assert_eq(tw_seg_check(j, "test", fields, "trigger.segment", &err), TW_OK, "%s", err.msg);
    if (field == NULL) {
        cr_assert_eq(tw_seg_check_scripts(j, installed, "trigger.segment", &err), TW_OK);
    } else {
        cr_assert_eq(tw_seg_check_scripts(j, installed, "trigger.segment", &err), TW_EINVAL);
        cr_assert_str_eq(err.field, field);
        cr_assert(strstr(err.msg, needle) != NULL, "\"%s\" not in: %s", needle, err.msg);
    }
    json_decref(j);
}

Test(segment, check_errors)
{
    static const char *const ok = "{'field_name':'id','field_type':'number','operator':'exists'}";
    char seg[1024];

    check_fails("{'rules':[{'field_name':'nope','field_type':'keyword','operator':'exists'}]}",
                "trigger.segment.rules[0].field_name",
                "valid: id, code, name, amount, score, active, birthday, ts, items.sku, "
                "items.qty, items.price, items.label)");
    /* Not filterable, and the list itself, are not rule fields. */
    check_fails("{'rules':[{'field_name':'secret','field_type':'keyword','operator':'exists'}]}",
                "trigger.segment.rules[0].field_name", "not a filterable field of index test");
    check_fails("{'rules':[{'field_name':'items','field_type':'keyword','operator':'exists'}]}",
                "trigger.segment.rules[0].field_name", NULL);
    snprintf(seg, sizeof(seg),
             "{'rules':[%s,{'field_name':'code','field_type':'number',"
             "'operator':'exists'}]}",
             ok);
    check_fails(seg, "trigger.segment.rules[1].field_type", "\"keyword\"");
    snprintf(seg, sizeof(seg),
             "{'rules':[%s,%s,{'field_name':'birthday','field_type':'number',"
             "'operator':'exists'}]}",
             ok, ok);
    check_fails(seg, "trigger.segment.rules[2].field_type", "\"date\"");
    check_fails("{'rules':[{'field_name':'name','field_type':'keyword','operator':'exists'}]}",
                "trigger.segment.rules[0].field_type", "\"text\"");
    check_fails("{'rules':[{'field_name':'active','field_type':'number','operator':'exists'}]}",
                "trigger.segment.rules[0].field_type", "\"boolean\"");
    check_fails("{'rules':[{'field_name':'sku','field_type':'keyword','operator':'exists'}]}",
                "trigger.segment.rules[0].nested", "\"nesting_path\": \"items\"");
    check_fails("{'rules':[{'field_name':'items.sku','field_type':'keyword',"
                "'operator':'exists'}]}",
                "trigger.segment.rules[0].field_name", NULL);
    check_fails("{'rules':[{'field_name':'sku','field_type':'keyword','operator':'exists',"
                "'nested':true,'nesting_path':'basket'}]}",
                "trigger.segment.rules[0].nesting_path", "(valid: items)");
    check_fails("{'rules':[{'field_name':'sku','field_type':'keyword','operator':'exists',"
                "'nested':true,'nesting_path':'code'}]}",
                "trigger.segment.rules[0].nesting_path", NULL);
    check_fails("{'rules':[{'field_name':'code','field_type':'keyword','operator':'exists',"
                "'nested':true,'nesting_path':'items'}]}",
                "trigger.segment.rules[0].field_name",
                "(valid: items.sku, items.qty, "
                "items.price, items.label)");
    check_fails("{'rules':[{'field_name':'qty','field_type':'keyword','operator':'exists',"
                "'nested':true,'nesting_path':'items'}]}",
                "trigger.segment.rules[0].field_type", "\"number\"");
    snprintf(seg, sizeof(seg), "{'rules':[%s,{'operator':'script','script':'high_value'}]}", ok);
    check_script(seg, NULL, "trigger.segment.rules[1].script", "(installed: none)");
    check_script(seg, (const char *const[]){ "a", "b", NULL }, "trigger.segment.rules[1].script",
                 "(installed: a, b)");
    check_script(seg, (const char *const[]){ "a", "high_value", NULL }, NULL, NULL);
}

Test(segment, check_accepts_valid)
{
    json_t *j = parse("{'join':'any','rules':["
                      "{'field_name':'id','field_type':'number','operator':'is','value':1},"
                      "{'field_name':'code','field_type':'keyword','operator':'exists'},"
                      "{'field_name':'name','field_type':'text','operator':'exists'},"
                      "{'field_name':'amount','field_type':'number','operator':'exists'},"
                      "{'field_name':'score','field_type':'number','operator':'exists'},"
                      "{'field_name':'active','field_type':'boolean','operator':'exists'},"
                      "{'field_name':'birthday','field_type':'date','operator':'exists'},"
                      "{'field_name':'ts','field_type':'date','operator':'exists'},"
                      "{'field_name':'items.label','field_type':'text','operator':'exists',"
                      "'nested':true,'nesting_path':'items'}]}");
    struct tw_err err;

    cr_assert_eq(tw_seg_check(j, "test", fields, "trigger.segment", &err), TW_OK, "%s", err.msg);
    json_decref(j);
}

/* A date bound past 9999-12-31 has no text that sorts right: it stays in C (seg_push.c). */
Test(segment, pushdown_skips_unrepresentable_date_bounds)
{
    static const char *const segs[] = {
        "{'rules':[{'field_name':'ts','field_type':'date','operator':'is_after_date',"
        "'start_date':'9999-12-31'}]}",
        "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_after_date',"
        "'start_date':'9999-12-31T23:59:59Z'}]}",
        "{'rules':[{'field_name':'ts','field_type':'date','operator':'is_after_date',"
        "'start_date':'2026-05-01'}]}",
    };
    size_t i;

    for (i = 0; i < 3; i++) {
        json_t *j = parse(segs[i]);
        struct tw_seg *g;
        struct tw_query q;
        struct tw_err err;

        cr_assert_eq(tw_seg_compile(j, fields, RS, &g, &err), TW_OK);
        tw_query_init(&q, 1, RS, tw_seg_join(g));
        cr_assert_eq(tw_seg_pushdown(g, &q, &err), TW_OK);
        if (i < 2) {
            cr_assert_eq(q.n, 0, "%s", segs[i]);
            set_ts("9999-12-31T23:59:59Z");
            set_bday("9999-12-31");
            cr_assert_eq(tw_seg_keep(g, r, &err), 0, "evaluated in C: %s", segs[i]);
        } else {
            cr_assert_eq(q.n, 1);
            cr_assert_eq(q.conds[0].op, TW_OP_GE);
            cr_assert_str_eq(q.conds[0].values[0].s, "2026-05-02T00:00:00Z");
        }
        tw_query_fini(&q);
        tw_seg_destroy(g);
        json_decref(j);
    }
}

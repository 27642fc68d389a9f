/*
 * Unit tests for segment/seg_parse.c (through api/validate.h): segment structure inside trigger.segment (docs/reference.md §6):
 * every operator's valid form, rule errors with their indexed paths
 * ("trigger.segment.rules[2].operator"), the canonical copy, and the check_segment hook.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "api/validate.h"
#include "core/mem.h"

static const char *const seg_indexes[] = {
    "users", "transactions", "vouchers", "wallet-ledger", "products", "product-variants", NULL
};
static const char *const seg_formats[] = { "csv", "json", NULL };

/* A body for chain 1764 exporting transactions, with the given segment. */
static int parse_segment(const char *segment, const struct tw_validate_ctx *ctx,
                         struct tw_task_input *in, struct tw_err *err)
{
    static char text[16384];
    json_error_t je;
    json_t *body;
    int rc;

    snprintf(text, sizeof(text),
             "{\"chain\":1764,\"desc\":\"d\",\"target\":{\"action\":"
             "\"export\",\"export_index\":\"transactions\"},\"trigger\":{\"once\":"
             "\"2026-05-27T12:00:00Z\",\"segment\":%s}}",
             segment);
    body = json_loads(text, 0, &je);
    cr_assert_not_null(body, "test body is not JSON: %s: %s", text, je.text);
    rc = tw_task_input_parse(body, TW_INPUT_CREATE, ctx, in, err);
    json_decref(body);
    return rc;
}

static const struct tw_validate_ctx plain = { seg_indexes, seg_formats, NULL, NULL, NULL };

#define RULES(r) "{\"rules\":[" r "]}"
#define OK_RULE "{\"field_name\":\"type\",\"field_type\":\"keyword\",\"operator\":\"exists\"}"

struct good_seg {
    char segment[400];
};

ParameterizedTestParameters(segment, valid)
{
    static struct good_seg cases[] = {
        { RULES("") },
        { "{\"entity\":\"people\",\"index\":\"transactions\",\"join\":\"any\",\"chain_id\":1764,"
          "\"rules\":[]}" },
        { RULES("{\"field_name\":\"currency\",\"field_type\":\"keyword\",\"operator\":\"is\","
                "\"value\":\"EUR\"}") },
        { RULES("{\"field_name\":\"currency\",\"field_type\":\"keyword\",\"operator\":\"is_not\","
                "\"value\":[\"EUR\",\"USD\"]}") },
        { RULES("{\"field_name\":\"total_value\",\"field_type\":\"number\",\"operator\":\"is\","
                "\"value\":[1,2.5]}") },
        { RULES("{\"field_name\":\"item_is_promotional\",\"field_type\":\"boolean\","
                "\"operator\":\"is\",\"value\":true,\"nested\":true,\"nesting_path\":\"items\"}") },
        { RULES("{\"field_name\":\"payment_method\",\"field_type\":\"text\",\"operator\":"
                "\"contains\",\"value\":\"card\"}") },
        { RULES("{\"field_name\":\"payment_method\",\"field_type\":\"text\",\"operator\":"
                "\"does_not_contain\",\"value\":\"cash\",\"nested\":false}") },
        { RULES("{\"field_name\":\"timestamp\",\"field_type\":\"date\",\"operator\":\"is_date\","
                "\"value\":\"2026-05-26\"}") },
        { RULES("{\"field_name\":\"timestamp\",\"field_type\":\"date\",\"operator\":\"is_date\","
                "\"value\":\"2026-05-26T10:00:00+02:00\"}") },
        { RULES("{\"field_name\":\"timestamp\",\"field_type\":\"date\",\"operator\":"
                "\"is_after_date\",\"start_date\":\"2026-05-26\"}") },
        { RULES("{\"field_name\":\"timestamp\",\"field_type\":\"date\",\"operator\":"
                "\"is_before_date\",\"end_date\":\"2026-05-26T00:00:00Z\"}") },
        /* A date-only end covers its whole day, so it is not before a start later that day. */
        { RULES("{\"field_name\":\"timestamp\",\"field_type\":\"date\",\"operator\":"
                "\"is_between_date\",\"start_date\":\"2026-05-26T12:00:00Z\",\"end_date\":"
                "\"2026-05-26\"}") },
        { RULES("{\"field_name\":\"total_value\",\"field_type\":\"number\",\"operator\":"
                "\"is_between_number\",\"min\":10,\"max\":10}") },
        { RULES("{\"field_name\":\"total_value\",\"field_type\":\"number\",\"operator\":"
                "\"is_greater_than\",\"value\":-0.5}") },
        { RULES("{\"field_name\":\"total_value\",\"field_type\":\"number\",\"operator\":"
                "\"is_less_than\",\"value\":100}") },
        { RULES("{\"field_name\":\"timestamp\",\"field_type\":\"date\",\"operator\":"
                "\"relative_less_than\",\"time_factor\":\"day\",\"time_amount\":1}") },
        { RULES("{\"field_name\":\"timestamp\",\"field_type\":\"date\",\"operator\":"
                "\"relative_more_than\",\"time_factor\":\"year\",\"time_amount\":10000}") },
        { RULES("{\"field_name\":\"store_code\",\"field_type\":\"keyword\",\"operator\":"
                "\"does_not_exist\"}," OK_RULE) },
        { RULES("{\"operator\":\"script\",\"script\":\"high_value-2\",\"params\":{\"min\":500}}") },
        { RULES("{\"operator\":\"script\",\"script\":\"x\",\"field_name\":\"total_value\","
                "\"field_type\":\"number\"}") },
    };

    return cr_make_param_array(struct good_seg, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct good_seg *c, segment, valid)
{
    struct tw_task_input in;
    struct tw_err err;

    cr_assert_eq(parse_segment(c->segment, &plain, &in, &err), TW_OK, "%s: %s [%s]", c->segment,
                 err.msg, err.field);
    tw_task_input_fini(&in);
}

struct bad_seg {
    char segment[400];
    char field[64];
    char msg[160];
};

#define R(i) "trigger.segment.rules[" #i "]"

ParameterizedTestParameters(segment, errors)
{
    static struct bad_seg cases[] = {
        { "[]", "trigger.segment", "trigger.segment: must be an object (got array)" },
        { "{\"rules\":[],\"filter\":1}", "trigger.segment.filter",
          "unknown field (expected one of entity, index, join, chain_id, rules)" },
        { "{\"entity\":\"users\",\"rules\":[]}", "trigger.segment.entity",
          "must be one of people (got \"users\")" },
        { "{\"index\":\"users\",\"rules\":[]}", "trigger.segment.index",
          "must equal target.export_index \"transactions\" (got \"users\")" },
        { "{\"index\":\"orders\",\"rules\":[]}", "trigger.segment.index", "(got \"orders\")" },
        { "{\"join\":\"either\",\"rules\":[]}", "trigger.segment.join",
          "must be one of all, any (got \"either\")" },
        { "{\"chain_id\":1765,\"rules\":[]}", "trigger.segment.chain_id",
          "must equal the task's chain 1764 (got 1765)" },
        { "{\"chain_id\":\"1764\",\"rules\":[]}", "trigger.segment.chain_id",
          "must be an integer (got \"1764\")" },
        { "{}", "trigger.segment.rules", "is required" },
        { "{\"rules\":{}}", "trigger.segment.rules", "must be an array (got object)" },
        { RULES("\"x\""), R(0), R(0) ": must be an object (got \"x\")" },
        { RULES(OK_RULE "," OK_RULE ",{\"field_name\":\"a\",\"field_type\":\"keyword\","
                        "\"operator\":\"exists\",\"segmnet\":1}"),
          R(2) ".segmnet", R(2) ".segmnet: unknown field" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\"}"), R(0) ".operator",
          "is required" },
        { RULES(OK_RULE ",{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":"
                        "\"equals\",\"value\":\"x\"}"),
          R(1) ".operator", "(got \"equals\")" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":5}"),
          R(0) ".operator", "(got number)" },
        { RULES("{\"field_type\":\"keyword\",\"operator\":\"is\",\"value\":\"x\"}"),
          R(0) ".field_name", "is required for operator is" },
        { RULES("{\"field_name\":\"\",\"field_type\":\"keyword\",\"operator\":\"exists\"}"),
          R(0) ".field_name", "must not be empty" },
        { RULES("{\"field_name\":\"a\",\"operator\":\"exists\"}"), R(0) ".field_type",
          "is required" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"string\",\"operator\":\"exists\"}"),
          R(0) ".field_type",
          "must be one of keyword, text, number, date, boolean "
          "(got \"string\")" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"number\",\"operator\":\"contains\","
                "\"value\":\"1\"}"),
          R(0) ".operator",
          "\"contains\" does not apply to field_type number (it applies to keyword, text)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":\"is\","
                "\"value\":\"2026-05-26\"}"),
          R(0) ".operator", "field_type date" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"is\"}"),
          R(0) ".value", "is required for operator is" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"is\","
                "\"value\":\"x\",\"min\":1}"),
          R(0) ".min", "does not apply to operator is" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"is\","
                "\"value\":[]}"),
          R(0) ".value", "must hold 1 to 1000 values (got 0)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"is\","
                "\"value\":null}"),
          R(0) ".value", "(got null)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"number\",\"operator\":\"is\","
                "\"value\":\"5\"}"),
          R(0) ".value", "must be a number or a non-empty array of numbers (got \"5\")" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"is_not\","
                "\"value\":[\"a\",5]}"),
          R(0) ".value[1]", "must be a string (got number)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"boolean\",\"operator\":\"is\","
                "\"value\":\"true\"}"),
          R(0) ".value", "(got \"true\")" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"text\",\"operator\":\"contains\","
                "\"value\":\"\"}"),
          R(0) ".value", "must not be empty" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"text\",\"operator\":\"contains\","
                "\"value\":[\"x\"]}"),
          R(0) ".value", "must be a string (got array)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":\"is_date\","
                "\"value\":\"yesterday\"}"),
          R(0) ".value", "yesterday" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":\"is_after_date\"}"),
          R(0) ".start_date", "is required for operator is_after_date" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":\"is_after_date\","
                "\"start_date\":\"2026-05-26\",\"end_date\":\"2026-05-27\"}"),
          R(0) ".end_date", "does not apply to operator is_after_date" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":\"is_before_date\","
                "\"end_date\":\"2026-13-01\"}"),
          R(0) ".end_date", "2026-13-01" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":\"is_before_date\","
                "\"end_date\":20260526}"),
          R(0) ".end_date", "must be a string (got number)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":\"is_between_date\","
                "\"start_date\":\"2026-05-27\",\"end_date\":\"2026-05-26T23:59:59Z\"}"),
          R(0) ".end_date",
          "must not be before start_date (got start_date 2026-05-27, "
          "end_date 2026-05-26T23:59:59Z)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"number\",\"operator\":"
                "\"is_between_number\",\"min\":100,\"max\":10}"),
          R(0) ".max", "must not be less than min (got min 100, max 10)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"number\",\"operator\":"
                "\"is_between_number\",\"min\":1}"),
          R(0) ".max", "is required" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"number\",\"operator\":"
                "\"is_between_number\",\"min\":\"5\",\"max\":9}"),
          R(0) ".min", "must be a number (got \"5\")" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"number\",\"operator\":"
                "\"is_greater_than\",\"value\":[1,2]}"),
          R(0) ".value", "must be a number (got array)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":"
                "\"relative_less_than\",\"time_factor\":\"fortnight\",\"time_amount\":1}"),
          R(0) ".time_factor",
          "must be one of minute, hour, day, week, month, year "
          "(got \"fortnight\")" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":"
                "\"relative_less_than\",\"time_factor\":\"day\"}"),
          R(0) ".time_amount", "is required" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":"
                "\"relative_more_than\",\"time_factor\":\"day\",\"time_amount\":0}"),
          R(0) ".time_amount", "must be at least 1 (got 0)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":"
                "\"relative_more_than\",\"time_factor\":\"day\",\"time_amount\":1.5}"),
          R(0) ".time_amount", "must be an integer (got 1.5)" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"date\",\"operator\":"
                "\"relative_more_than\",\"time_factor\":\"year\",\"time_amount\":10001}"),
          R(0) ".time_amount", "must be at most 10000 for time_factor year (got 10001)" },
        { RULES("{\"operator\":\"script\"}"), R(0) ".script", "is required for operator script" },
        { RULES("{\"operator\":\"script\",\"script\":\"../evil\"}"), R(0) ".script",
          "(got \"../evil\")" },
        { RULES("{\"operator\":\"script\",\"script\":\"\"}"), R(0) ".script", "(got \"\")" },
        { RULES("{\"operator\":\"script\",\"script\":\"x\",\"params\":[]}"), R(0) ".params",
          "must be an object (got array)" },
        { RULES("{\"operator\":\"script\",\"script\":\"x\",\"nested\":true}"), R(0) ".nested",
          "does not apply to operator script" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"exists\","
                "\"params\":{}}"),
          R(0) ".params", "does not apply to operator exists" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"exists\","
                "\"nested\":\"yes\"}"),
          R(0) ".nested", "must be a boolean (got \"yes\")" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"exists\","
                "\"nested\":true}"),
          R(0) ".nesting_path", "is required when nested is true" },
        { RULES("{\"field_name\":\"a\",\"field_type\":\"keyword\",\"operator\":\"exists\","
                "\"nesting_path\":\"items\"}"),
          R(0) ".nesting_path", "needs \"nested\": true" },
    };

    return cr_make_param_array(struct bad_seg, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_seg *c, segment, errors)
{
    struct tw_task_input in;
    struct tw_err err;

    cr_assert_eq(parse_segment(c->segment, &plain, &in, &err), TW_EINVAL, "accepted: %s",
                 c->segment);
    cr_expect_str_eq(err.field, c->field, "%s: field %s, want %s", c->segment, err.field, c->field);
    cr_expect(strstr(err.msg, c->msg) != NULL, "%s: message \"%s\" lacks \"%s\"", c->segment,
              err.msg, c->msg);
    cr_expect(strncmp(err.msg, err.field, strlen(err.field)) == 0, "%s", err.msg);
    cr_expect_null(in.trigger);
}

/* Build {"rules":[OK_RULE x n]}; the caller frees. */
static char *rules_of(size_t n)
{
    size_t len = 16 + n * (sizeof(OK_RULE) + 1);
    char *s = tw_malloc(len);
    size_t o;
    size_t i;

    cr_assert_not_null(s);
    o = (size_t)snprintf(s, len, "{\"rules\":[");
    for (i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, len - o, "%s%s", i ? "," : "", OK_RULE);
    snprintf(s + o, len - o, "]}");
    return s;
}

Test(segment, at_most_100_rules)
{
    struct tw_task_input in;
    struct tw_err err;
    char *s = rules_of(100);

    cr_expect_eq(parse_segment(s, &plain, &in, &err), TW_OK, "%s", err.msg);
    tw_task_input_fini(&in);
    tw_free(s);
    s = rules_of(101);
    cr_expect_eq(parse_segment(s, &plain, &in, &err), TW_EINVAL);
    cr_expect_str_eq(err.field, "trigger.segment.rules");
    cr_expect(strstr(err.msg, "at most 100 rules (got 101)") != NULL, "%s", err.msg);
    tw_free(s);
}

Test(segment, canonical_fills_defaults_in_grammar_order)
{
    struct tw_task_input in;
    struct tw_err err;
    char *got;

    cr_assert_eq(parse_segment("{\"rules\":[{\"operator\":\"exists\",\"field_type\":\"date\","
                               "\"field_name\":\"timestamp\"}],\"chain_id\":1764}",
                               &plain, &in, &err),
                 TW_OK, "%s", err.msg);
    got = tw_json_compact(json_object_get(in.trigger, "segment"));
    cr_expect_str_eq(got, "{\"entity\":\"people\",\"join\":\"all\",\"chain_id\":1764,\"rules\":"
                          "[{\"operator\":\"exists\",\"field_type\":\"date\","
                          "\"field_name\":\"timestamp\"}]}");
    tw_free(got);
    tw_task_input_fini(&in);
}

/* A check_segment stand-in that records its arguments and refuses field_name "secret". */
struct seen {
    int calls;
    char index[32];
    int64_t chain;
    char path[64];
    char segment[512];
};

static int fake_check(void *ctx, const json_t *segment, const char *export_index, int64_t chain,
                      const char *path, struct tw_err *err)
{
    struct seen *s = ctx;
    const json_t *rule = json_array_get(json_object_get(segment, "rules"), 0);
    char *dump = tw_json_compact(segment);
    char field[128];

    s->calls++;
    snprintf(s->index, sizeof(s->index), "%s", export_index);
    s->chain = chain;
    snprintf(s->path, sizeof(s->path), "%s", path);
    snprintf(s->segment, sizeof(s->segment), "%s", dump ? dump : "");
    tw_free(dump);
    if (rule != NULL &&
        strcmp(json_string_value(json_object_get(rule, "field_name")), "secret") == 0) {
        snprintf(field, sizeof(field), "%s.rules[0].field_name", path);
        return tw_err_field(err, TW_EINVAL, field, "%s: no such field", field);
    }
    return TW_OK;
}

Test(segment, check_segment_called_with_index_chain_and_path)
{
    struct seen seen;
    struct tw_validate_ctx ctx = { seg_indexes, seg_formats, fake_check, &seen, NULL };
    struct tw_task_input in;
    struct tw_err err;

    memset(&seen, 0, sizeof(seen));
    cr_assert_eq(parse_segment(RULES(OK_RULE), &ctx, &in, &err), TW_OK, "%s", err.msg);
    cr_expect_eq(seen.calls, 1);
    cr_expect_str_eq(seen.index, "transactions");
    cr_expect_eq(seen.chain, 1764);
    cr_expect_str_eq(seen.path, "trigger.segment");
    /* It sees the canonical segment, defaults filled. */
    cr_expect(strstr(seen.segment, "\"entity\":\"people\"") != NULL, "%s", seen.segment);
    tw_task_input_fini(&in);

    cr_expect_eq(parse_segment(RULES("{\"field_name\":\"secret\",\"field_type\":\"keyword\","
                                     "\"operator\":\"exists\"}"),
                               &ctx, &in, &err),
                 TW_EINVAL);
    cr_expect_str_eq(err.field, "trigger.segment.rules[0].field_name");
    cr_expect_str_eq(err.msg, "trigger.segment.rules[0].field_name: no such field");
    cr_expect_null(in.trigger);
}

Test(segment, check_segment_in_update_mode)
{
    struct seen seen;
    struct tw_validate_ctx ctx = { seg_indexes, seg_formats, fake_check, &seen, NULL };
    struct tw_task_input in;
    struct tw_err err;
    json_t *body;

    /* Trigger alone, no index anywhere: nothing to check the fields against yet. */
    memset(&seen, 0, sizeof(seen));
    body = json_loads(
        "{\"trigger\":{\"once\":\"2026-05-27T12:00:00Z\",\"segment\":" RULES(OK_RULE) "}}", 0,
        NULL);
    cr_assert_not_null(body);
    cr_expect_eq(tw_task_input_parse(body, TW_INPUT_UPDATE, &ctx, &in, &err), TW_OK);
    cr_expect_eq(seen.calls, 0);
    tw_task_input_fini(&in);
    json_decref(body);

    /* The segment names its index: that is the one checked; chain unknown is 0. */
    body = json_loads("{\"trigger\":{\"once\":\"2026-05-27T12:00:00Z\",\"segment\":{"
                      "\"index\":\"vouchers\",\"rules\":[" OK_RULE "]}}}",
                      0, NULL);
    cr_assert_not_null(body);
    cr_expect_eq(tw_task_input_parse(body, TW_INPUT_UPDATE, &ctx, &in, &err), TW_OK);
    cr_expect_eq(seen.calls, 1);
    cr_expect_str_eq(seen.index, "vouchers");
    cr_expect_eq(seen.chain, 0);
    tw_task_input_fini(&in);
    json_decref(body);
}

Test(segment, direct_call_for_saved_segments)
{
    json_t *seg = json_loads("{\"index\":\"users\",\"rules\":[]}", 0, NULL);
    json_t *canon = NULL;
    struct tw_err err;

    cr_assert_not_null(seg);
    tw_err_clear(&err);
    cr_expect_eq(tw_segment_input_parse(seg, NULL, 0, &plain, "segment", &canon, &err), TW_OK, "%s",
                 err.msg);
    cr_assert_not_null(canon);
    cr_expect_str_eq(json_string_value(json_object_get(canon, "index")), "users");
    json_decref(canon);
    json_decref(seg);
}

/*
 * Unit tests for api/validate.c: task bodies for POST (CREATE) and PUT (UPDATE), their
 * canonical target and trigger objects, and every error path with its exact field path and a
 * message that shows what was got. Segments have their own file (test_validate_segment.c).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "api/validate.h"
#include "core/mem.h"

static const char *const indexes[] = { "users",    "transactions",     "vouchers", "wallet-ledger",
                                       "products", "product-variants", NULL };
static const char *const formats[] = { "csv", "json", "ndjson", "tsv", NULL };
static const struct tw_validate_ctx vctx = { indexes, formats, NULL, NULL, NULL };

#define TARGET "{\"action\":\"export\",\"export_index\":\"transactions\"}"
#define TRIGGER "{\"once\":\"2026-05-27T12:00:00Z\"}"
#define BASE "\"chain\":1764,\"desc\":\"d\",\"target\":" TARGET ",\"trigger\":" TRIGGER

static int parse(const char *text, enum tw_input_mode mode, struct tw_task_input *in,
                 struct tw_err *err)
{
    json_error_t je;
    json_t *body = json_loads(text, 0, &je);
    int rc;

    cr_assert_not_null(body, "test body is not JSON: %s: %s", text, je.text);
    rc = tw_task_input_parse(body, mode, &vctx, in, err);
    json_decref(body);
    return rc;
}

static void assert_compact(const json_t *j, const char *want)
{
    char *got = tw_json_compact(j);

    cr_assert_not_null(got);
    cr_expect_str_eq(got, want);
    tw_free(got);
}

Test(validate, create_minimal)
{
    struct tw_task_input in;
    struct tw_err err;

    cr_assert_eq(parse("{" BASE "}", TW_INPUT_CREATE, &in, &err), TW_OK, "%s", err.msg);
    cr_expect(in.has_chain && in.chain == 1764);
    cr_expect(in.has_desc);
    cr_expect_str_eq(in.desc, "d");
    cr_expect(!in.has_debug && in.debug == NULL);
    cr_expect(!in.has_version);
    cr_expect(in.has_target && in.has_trigger);
    assert_compact(
        in.target,
        "{\"action\":\"export\",\"export_index\":\"transactions\",\"export_format\":\"csv\"}");
    assert_compact(in.trigger, "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"\"}");
    cr_expect_eq(in.once_at, 1779883200);
    cr_expect_str_eq(in.repeat, "");
    cr_expect_eq(in.anchor_day, 27);
    cr_expect_eq(in.segment_id, 0);
    cr_expect_str_eq(in.action, "export");
    cr_expect_str_eq(in.export_index, "transactions");
    cr_expect_str_eq(in.export_format, "csv");
    tw_task_input_fini(&in);
}

Test(validate, create_full)
{
    const char *body =
        "{\"debug\":\"trace me\",\"trigger\":{\"segment\":{\"rules\":[{\"field_name\":\"total_value\","
        "\"field_type\":\"number\",\"operator\":\"is_between_number\",\"min\":10,\"max\":100.5}],"
        "\"join\":\"any\"},\"repeat\":\"monthly\",\"once\":\"2026-01-31T08:00:00+01:00\"},"
        "\"target\":{\"compression\":\"gzip\",\"export_format\":\"ndjson\","
        "\"export_index\":\"transactions\",\"action\":\"export\"},\"desc\":\"Nightly \\u00e9\","
        "\"chain\":1764}";
    struct tw_task_input in;
    struct tw_err err;

    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_OK, "%s", err.msg);
    cr_expect_str_eq(in.desc, "Nightly \xc3\xa9");
    cr_expect(in.has_debug);
    cr_expect_str_eq(in.debug, "trace me");
    assert_compact(in.target, "{\"action\":\"export\",\"export_index\":\"transactions\","
                              "\"export_format\":\"ndjson\",\"compression\":\"gzip\"}");
    assert_compact(in.trigger, "{\"once\":\"2026-01-31T07:00:00Z\",\"repeat\":\"monthly\","
                               "\"segment\":{\"entity\":\"people\",\"join\":\"any\",\"rules\":[{"
                               "\"field_name\":\"total_value\",\"field_type\":\"number\","
                               "\"operator\":\"is_between_number\",\"min\":10,\"max\":100.5}]}}");
    cr_expect_str_eq(in.repeat, "monthly");
    cr_expect_eq(in.anchor_day, 31);
    cr_expect_str_eq(in.export_format, "ndjson");
    tw_task_input_fini(&in);
}

/* trigger.once in, canonical once out, and the anchor day of the UTC instant. */
struct once_case {
    char in[48];
    char want[24];
    unsigned anchor;
};

ParameterizedTestParameters(validate, once_normalized)
{
    static struct once_case cases[] = {
        { "2026-05-27T12:00:00Z", "2026-05-27T12:00:00Z", 27 },
        { "2026-05-27T14:00:00+02:00", "2026-05-27T12:00:00Z", 27 },
        { "2026-05-27T14:00:00.987+02:00", "2026-05-27T12:00:00Z", 27 },
        { "2026-05-27T12:00:00.999Z", "2026-05-27T12:00:00Z", 27 },
        { "2026-01-01T01:30:00+02:00", "2025-12-31T23:30:00Z", 31 }, /* UTC day decides */
        { "2026-02-28T23:00:00-02:00", "2026-03-01T01:00:00Z", 1 },
        { "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", 1 }, /* past: accepted */
    };

    return cr_make_param_array(struct once_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct once_case *c, validate, once_normalized)
{
    char body[256];
    char want[128];
    struct tw_task_input in;
    struct tw_err err;

    snprintf(body, sizeof(body),
             "{\"chain\":1,\"desc\":\"\",\"target\":" TARGET ",\"trigger\":{\"once\":\"%s\"}}",
             c->in);
    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_OK, "%s: %s", c->in, err.msg);
    snprintf(want, sizeof(want), "{\"once\":\"%s\",\"repeat\":\"\"}", c->want);
    assert_compact(in.trigger, want);
    cr_expect_eq(in.anchor_day, c->anchor, "%s: anchor %u", c->in, in.anchor_day);
    tw_task_input_fini(&in);
}

/* Trigger and target variants and their canonical forms. */
struct canon_case {
    char target[160];
    char trigger[200];
    char want_target[200];
    char want_trigger[200];
    int64_t segment_id;
};

ParameterizedTestParameters(validate, canonical)
{
    static struct canon_case cases[] = {
        { TARGET, "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"\"}",
          "{\"action\":\"export\",\"export_index\":\"transactions\",\"export_format\":\"csv\"}",
          "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"\"}", 0 },
        { "{\"export_format\":\"json\",\"compression\":\"none\",\"export_index\":\"users\","
          "\"action\":\"export\"}",
          "{\"repeat\":\"weekly\",\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":42}",
          "{\"action\":\"export\",\"export_index\":\"users\",\"export_format\":\"json\"}",
          "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"weekly\",\"segment_id\":\"42\"}", 42 },
        /* null means absent for the optional fields (Spaaza clients send it) */
        { TARGET,
          "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":null,\"segment\":null,"
          "\"segment_id\":null}",
          "{\"action\":\"export\",\"export_index\":\"transactions\",\"export_format\":\"csv\"}",
          "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"\"}", 0 },
        /* a console-style string id names no saved segment here: -1, refused later with 404 */
        { TARGET, "{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":\"seg_A-17\"}",
          "{\"action\":\"export\",\"export_index\":\"transactions\",\"export_format\":\"csv\"}",
          "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"\"}", -1 },
        { TARGET, "{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":\"9223372036854775808\"}",
          "{\"action\":\"export\",\"export_index\":\"transactions\",\"export_format\":\"csv\"}",
          "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"\"}", -1 },
        { TARGET, "{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":\"007\"}",
          "{\"action\":\"export\",\"export_index\":\"transactions\",\"export_format\":\"csv\"}",
          "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"\",\"segment_id\":\"7\"}", 7 },
        { TARGET, "{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":\"9223372036854775807\"}",
          "{\"action\":\"export\",\"export_index\":\"transactions\",\"export_format\":\"csv\"}",
          "{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"\","
          "\"segment_id\":\"9223372036854775807\"}",
          INT64_MAX },
    };

    return cr_make_param_array(struct canon_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct canon_case *c, validate, canonical)
{
    char body[512];
    struct tw_task_input in;
    struct tw_err err;

    snprintf(body, sizeof(body), "{\"chain\":1,\"desc\":\"x\",\"target\":%s,\"trigger\":%s}",
             c->target, c->trigger);
    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_OK, "%s: %s", body, err.msg);
    assert_compact(in.target, c->want_target);
    assert_compact(in.trigger, c->want_trigger);
    cr_expect_eq(in.segment_id, c->segment_id);
    tw_task_input_fini(&in);
}

Test(validate, canonical_reparses_to_itself)
{
    /* PUT re-validates stored canonical objects in CREATE mode: they must pass unchanged. */
    const char *body = "{\"chain\":5,\"desc\":\"x\",\"target\":{\"action\":\"export\","
                       "\"export_index\":\"users\",\"compression\":\"gzip\"},\"trigger\":{"
                       "\"once\":\"2026-05-27T12:00:00+02:00\",\"segment\":{\"chain_id\":5,"
                       "\"index\":\"users\",\"rules\":[]}}}";
    struct tw_task_input a, b;
    struct tw_err err;
    char *ta, *ga, *tb, *gb, again[1024];

    cr_assert_eq(parse(body, TW_INPUT_CREATE, &a, &err), TW_OK, "%s", err.msg);
    ta = tw_json_compact(a.target);
    ga = tw_json_compact(a.trigger);
    snprintf(again, sizeof(again), "{\"chain\":5,\"desc\":\"x\",\"target\":%s,\"trigger\":%s}", ta,
             ga);
    cr_assert_eq(parse(again, TW_INPUT_CREATE, &b, &err), TW_OK, "%s", err.msg);
    tb = tw_json_compact(b.target);
    gb = tw_json_compact(b.trigger);
    cr_expect_str_eq(ta, tb);
    cr_expect_str_eq(ga, gb);
    cr_expect_str_eq(ga, "{\"once\":\"2026-05-27T10:00:00Z\",\"repeat\":\"\",\"segment\":{"
                         "\"entity\":\"people\",\"index\":\"users\",\"join\":\"all\","
                         "\"chain_id\":5,\"rules\":[]}}");
    tw_free(ta);
    tw_free(ga);
    tw_free(tb);
    tw_free(gb);
    tw_task_input_fini(&a);
    tw_task_input_fini(&b);
}

Test(validate, update_ignores_read_only_echoes)
{
    const char *body = "{\"id\":\"whatever\",\"state\":[1,2],\"logs\":{\"x\":null},\"result\":5,"
                       "\"version\":3,\"chain\":1764,\"desc\":\"new\"}";
    struct tw_task_input in;
    struct tw_err err;

    cr_assert_eq(parse(body, TW_INPUT_UPDATE, &in, &err), TW_OK, "%s", err.msg);
    cr_expect(in.has_version && in.version == 3);
    cr_expect(in.has_chain && in.chain == 1764);
    cr_expect(in.has_desc);
    cr_expect_str_eq(in.desc, "new");
    cr_expect(!in.has_trigger && in.trigger == NULL);
    cr_expect(!in.has_target && in.target == NULL);
    cr_expect(!in.has_debug);
    tw_task_input_fini(&in);
}

Test(validate, update_empty_and_partial)
{
    struct tw_task_input in;
    struct tw_err err;

    cr_assert_eq(parse("{}", TW_INPUT_UPDATE, &in, &err), TW_OK, "%s", err.msg);
    cr_expect(!in.has_chain && !in.has_desc && !in.has_target && !in.has_trigger && !in.has_debug &&
              !in.has_version);
    tw_task_input_fini(&in);

    /* A trigger alone: its segment's index cannot be compared with a target not in view. */
    cr_assert_eq(parse("{\"trigger\":{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"daily\","
                       "\"segment\":{\"index\":\"users\",\"chain_id\":9,\"rules\":[]}}}",
                       TW_INPUT_UPDATE, &in, &err),
                 TW_OK, "%s", err.msg);
    cr_expect(in.has_trigger && !in.has_target);
    cr_expect_str_eq(in.repeat, "daily");
    tw_task_input_fini(&in);
}

Test(validate, desc_counts_code_points)
{
    static char body[8192];
    char desc[4096];
    struct tw_task_input in;
    struct tw_err err;
    size_t i;

    /* 1000 two-byte characters (2000 bytes) is within the limit; one more is not. */
    for (i = 0; i < 1000; i++)
        memcpy(desc + 2 * i, "\xc3\xa9", 2);
    desc[2000] = '\0';
    snprintf(body, sizeof(body),
             "{\"chain\":1,\"desc\":\"%s\",\"target\":" TARGET ",\"trigger\":" TRIGGER "}", desc);
    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_OK, "%s", err.msg);
    tw_task_input_fini(&in);
    memcpy(desc + 2000, "\xc3\xa9", 3);
    snprintf(body, sizeof(body),
             "{\"chain\":1,\"desc\":\"%s\",\"target\":" TARGET ",\"trigger\":" TRIGGER "}", desc);
    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_EINVAL);
    cr_expect_str_eq(err.field, "desc");
    cr_expect_str_eq(err.msg, "desc: must be at most 1000 characters (got 1001)");
    cr_expect_null(in.desc);
}

Test(validate, debug_limit)
{
    static char body[32768];
    static char debug[12000];
    struct tw_task_input in;
    struct tw_err err;

    memset(debug, 'x', 10000);
    debug[10000] = '\0';
    snprintf(body, sizeof(body), "{" BASE ",\"debug\":\"%s\"}", debug);
    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_OK, "%s", err.msg);
    cr_expect_eq(strlen(in.debug), 10000);
    tw_task_input_fini(&in);
    strcat(debug, "y");
    snprintf(body, sizeof(body), "{" BASE ",\"debug\":\"%s\"}", debug);
    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_EINVAL);
    cr_expect_str_eq(err.field, "debug");
    cr_expect(strstr(err.msg, "(got 10001)") != NULL, "%s", err.msg);
}

Test(validate, nul_in_string_refused)
{
    json_t *body = json_loads("{" BASE ",\"debug\":\"a\\u0000b\"}", JSON_ALLOW_NUL, NULL);
    struct tw_task_input in;
    struct tw_err err;

    cr_assert_not_null(body);
    cr_expect_eq(tw_task_input_parse(body, TW_INPUT_CREATE, &vctx, &in, &err), TW_EINVAL);
    cr_expect_str_eq(err.field, "debug");
    json_decref(body);
}

/* Every error path: mode, body, expected field and a part of the message. */
struct bad {
    int mode;
    char body[400];
    char field[64];
    char msg[160];
};

#define C TW_INPUT_CREATE
#define U TW_INPUT_UPDATE
#define WITH_TARGET(t) "{\"chain\":1764,\"desc\":\"d\",\"target\":" t ",\"trigger\":" TRIGGER "}"
#define WITH_TRIGGER(t) "{\"chain\":1764,\"desc\":\"d\",\"target\":" TARGET ",\"trigger\":" t "}"

ParameterizedTestParameters(validate, errors)
{
    static struct bad cases[] = {
        /* top level, CREATE */
        { C, "{" BASE ",\"extra\":1}", "extra",
          "extra: unknown field (expected one of chain, "
          "desc, target, trigger, debug, webhook)" },
        { C, "{" BASE ",\"id\":5}", "id", "unknown field" },
        { C, "{" BASE ",\"version\":1}", "version", "unknown field" },
        { C, "{\"desc\":\"d\",\"target\":" TARGET ",\"trigger\":" TRIGGER "}", "chain",
          "chain: is required" },
        { C, "{\"chain\":1,\"target\":" TARGET ",\"trigger\":" TRIGGER "}", "desc", "required" },
        { C, "{\"chain\":1,\"desc\":\"\",\"trigger\":" TRIGGER "}", "target", "required" },
        { C, "{\"chain\":1,\"desc\":\"\",\"target\":" TARGET "}", "trigger", "required" },
        { C, "{\"chain\":\"12\",\"desc\":\"d\",\"target\":" TARGET ",\"trigger\":" TRIGGER "}",
          "chain", "chain: must be an integer (got \"12\")" },
        { C, "{\"chain\":12.0,\"desc\":\"d\",\"target\":" TARGET ",\"trigger\":" TRIGGER "}",
          "chain", "chain: must be an integer (got 12.0)" },
        { C, "{\"chain\":0,\"desc\":\"d\",\"target\":" TARGET ",\"trigger\":" TRIGGER "}", "chain",
          "chain: must be at least 1 (got 0)" },
        { C, "{\"chain\":-7,\"desc\":\"d\",\"target\":" TARGET ",\"trigger\":" TRIGGER "}", "chain",
          "(got -7)" },
        { C, "{\"chain\":true,\"desc\":\"d\",\"target\":" TARGET ",\"trigger\":" TRIGGER "}",
          "chain", "must be an integer (got true)" },
        { C, "{\"chain\":1,\"desc\":12,\"target\":" TARGET ",\"trigger\":" TRIGGER "}", "desc",
          "desc: must be a string (got number)" },
        { C, "{\"chain\":1,\"desc\":null,\"target\":" TARGET ",\"trigger\":" TRIGGER "}", "desc",
          "desc: must be a string (got null)" },
        { C, "{" BASE ",\"debug\":[\"x\"]}", "debug", "debug: must be a string (got array)" },
        /* target */
        { C, WITH_TARGET("\"x\""), "target", "target: must be an object (got \"x\")" },
        { C, WITH_TARGET("{\"export_index\":\"users\"}"), "target.action", "is required" },
        { C, WITH_TARGET("{\"action\":\"import\",\"export_index\":\"users\"}"), "target.action",
          "target.action: must be one of export (got \"import\")" },
        { C, WITH_TARGET("{\"action\":\"export\"}"), "target.export_index", "is required" },
        { C, WITH_TARGET("{\"action\":\"export\",\"export_index\":\"orders\"}"),
          "target.export_index",
          "must be one of users, transactions, vouchers, wallet-ledger, "
          "products, product-variants (got \"orders\")" },
        { C, WITH_TARGET("{\"action\":\"export\",\"export_index\":7}"), "target.export_index",
          "(got number)" },
        { C,
          WITH_TARGET("{\"action\":\"export\",\"export_index\":\"users\",\"export_format\":"
                      "\"xml\"}"),
          "target.export_format",
          "target.export_format: must be one of csv, json, ndjson, tsv (got \"xml\")" },
        { C,
          WITH_TARGET("{\"action\":\"export\",\"export_index\":\"users\",\"compression\":"
                      "\"zip\"}"),
          "target.compression", "must be one of none, gzip (got \"zip\")" },
        { C, WITH_TARGET("{\"action\":\"export\",\"export_index\":\"users\",\"campaign_id\":3}"),
          "target.campaign_id", "target.campaign_id: unknown field" },
        /* trigger */
        { C, WITH_TRIGGER("[]"), "trigger", "trigger: must be an object (got array)" },
        { C, WITH_TRIGGER("{\"repeat\":\"daily\"}"), "trigger.once", "is required" },
        { C, WITH_TRIGGER("{\"once\":\"tomorrow\"}"), "trigger.once", "\"tomorrow\"" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00\"}"), "trigger.once",
          "2026-05-27T12:00:00" },
        { C, WITH_TRIGGER("{\"once\":\"2026-02-30T12:00:00Z\"}"), "trigger.once", "2026-02-30" },
        { C, WITH_TRIGGER("{\"once\":1779883200}"), "trigger.once",
          "trigger.once: must be a string (got number)" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"repeat\":\"hourly\"}"),
          "trigger.repeat",
          "trigger.repeat: must be one of daily, weekly, monthly (got \"hourly\")" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segmnet\":{\"rules\":[]}}"),
          "trigger.segmnet",
          "trigger.segmnet: unknown field (expected one of once, repeat, "
          "segment, segment_id, timezone)" },
        { C,
          WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment\":{\"rules\":[]},"
                       "\"segment_id\":\"4\"}"),
          "trigger.segment_id", "together" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":\"\"}"),
          "trigger.segment_id", "(got \"\")" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":\" 4\"}"),
          "trigger.segment_id", "(got \" 4\")" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":\"a/b\"}"),
          "trigger.segment_id", "(got \"a/b\")" },
        { C,
          WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":"
                       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"),
          "trigger.segment_id", "64" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment\":[]}"), "trigger.segment",
          "trigger.segment: must be an object (got array)" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":0}"),
          "trigger.segment_id", "(got 0)" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":4.5}"),
          "trigger.segment_id", "(got 4.5)" },
        { C, WITH_TRIGGER("{\"once\":\"2026-05-27T12:00:00Z\",\"segment_id\":[4]}"),
          "trigger.segment_id", "(got array)" },
        /* UPDATE */
        { U, "{\"created_date\":\"2026-05-27T12:00:00Z\"}", "created_date",
          "created_date: unknown field (expected one of chain, desc, target, trigger, debug, "
          "version, webhook)" },
        { U, "{\"version\":0}", "version", "version: must be at least 1 (got 0)" },
        { U, "{\"version\":\"3\"}", "version", "version: must be an integer (got \"3\")" },
        { U, "{\"version\":3.0}", "version", "(got 3.0)" },
        { U, "{\"chain\":\"1764\"}", "chain", "(got \"1764\")" },
        { U, "{\"trigger\":null}", "trigger", "trigger: must be an object (got null)" },
        { U, "{\"target\":{\"action\":\"export\",\"export_index\":\"users\",\"x\":1}}", "target.x",
          "unknown field" },
        { U, "{\"desc\":false}", "desc", "desc: must be a string (got false)" },
    };

    return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *c, validate, errors)
{
    struct tw_task_input in;
    struct tw_err err;

    cr_assert_eq(parse(c->body, (enum tw_input_mode)c->mode, &in, &err), TW_EINVAL, "accepted: %s",
                 c->body);
    cr_expect_eq(err.code, TW_EINVAL);
    cr_expect_str_eq(err.field, c->field, "%s: field %s, want %s", c->body, err.field, c->field);
    cr_expect(strstr(err.msg, c->msg) != NULL, "%s: message \"%s\" lacks \"%s\"", c->body, err.msg,
              c->msg);
    /* The message starts with the path, so the description alone says where. */
    cr_expect(strncmp(err.msg, err.field, strlen(err.field)) == 0, "%s", err.msg);
    /* On error nothing is left to release. */
    cr_expect(in.desc == NULL && in.debug == NULL && in.trigger == NULL && in.target == NULL);
}

/* Client text echoed in a message or field is cut short, on a UTF-8 character boundary. */
static bool valid_utf8(const char *s)
{
    json_t *j = json_string(s); /* jansson refuses invalid UTF-8 */
    bool ok = j != NULL;

    json_decref(j);
    return ok;
}

Test(validate, long_client_text_is_cut_cleanly)
{
    static char body[16384];
    char text[4096];
    struct tw_task_input in;
    struct tw_err err;
    size_t i;

    for (i = 0; i < 1000; i++)
        memcpy(text + 3 * i, "\xe2\x82\xac", 3); /* euro signs */
    text[3000] = '\0';
    snprintf(body, sizeof(body), "{" BASE ",\"x%s\":1}", text);
    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_EINVAL);
    cr_expect(strlen(err.field) < sizeof(err.field) - 1, "field was truncated: %s", err.field);
    cr_expect(strstr(err.field, "...") != NULL, "%s", err.field);
    cr_expect(valid_utf8(err.field) && valid_utf8(err.msg), "%s", err.msg);

    snprintf(body, sizeof(body), WITH_TARGET("{\"action\":\"x%s\",\"export_index\":\"users\"}"),
             text);
    cr_assert_eq(parse(body, TW_INPUT_CREATE, &in, &err), TW_EINVAL);
    cr_expect_str_eq(err.field, "target.action");
    cr_expect(strstr(err.msg, "(got \"x\xe2\x82\xac") != NULL, "%s", err.msg);
    cr_expect(strstr(err.msg, "...\")") != NULL, "%s", err.msg);
    cr_expect(valid_utf8(err.msg), "%s", err.msg);
}

Test(validate, not_an_object)
{
    json_t *body = json_array();
    struct tw_task_input in;
    struct tw_err err;

    cr_expect_eq(tw_task_input_parse(body, TW_INPUT_CREATE, &vctx, &in, &err), TW_EINVAL);
    cr_expect_str_eq(err.field, "");
    json_decref(body);
}

Test(validate, out_of_memory_is_clean)
{
    /* Fail each tw_* allocation in turn: an ENOMEM with nothing leaked, never a crash. */
    const char *body = "{" BASE ",\"debug\":\"x\"}";
    struct tw_task_input in;
    struct tw_err err;
    unsigned long n;
    int rc = TW_ENOMEM;

    for (n = 1; n < 50 && rc != TW_OK; n++) {
        tw_mem_fail_after(n);
        rc = parse(body, TW_INPUT_CREATE, &in, &err);
        tw_mem_fail_after(0);
        cr_assert(rc == TW_OK || rc == TW_ENOMEM, "allocation %lu: rc %d", n, rc);
        if (rc == TW_ENOMEM)
            cr_expect_str_eq(err.field, "");
    }
    cr_assert_eq(rc, TW_OK);
    cr_expect_gt(n, 2, "the allocations were not injected");
    tw_task_input_fini(&in);
}

Test(validate, compact_numbers_and_order)
{
    json_t *j = json_loads("{\"z\":1,\"a\":0.1,\"m\":[12.0,1e300,-2.5],\"s\":\"\\u00e9\"}", 0,
                           NULL);

    cr_assert_not_null(j);
    /* Insertion order kept; reals written as people write them (not 0.10000000000000001). */
    assert_compact(j, "{\"z\":1,\"a\":0.1,\"m\":[12.0,1e300,-2.5],\"s\":\"\xc3\xa9\"}");
    json_decref(j);
    /* A real that needs 17 digits stays exact (the whole object then gets 17). */
    j = json_loads("[0.30000000000000004]", 0, NULL);
    cr_assert_not_null(j);
    assert_compact(j, "[0.30000000000000004]");
    json_decref(j);
}

/*
 * validate.c for docs/reference.md §13's two fields: trigger.timezone (IANA name from the system's tz
 * database, returned only when given, monthly anchored to the local day) and target.since
 * ("last_success", only on indexes whose plugin declares a change column).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "api/validate.h"
#include "core/mem.h"

static const char *const indexes[] = { "transactions", "users", "old-minor", NULL };
static const char *const since_ok[] = { "transactions", "users", NULL };
static const char *const formats[] = { "csv", "json", NULL };
static const struct tw_validate_ctx vctx = { indexes, formats, NULL, NULL, since_ok };

static int parse(const char *text, struct tw_task_input *in, struct tw_err *err)
{
    json_t *body = json_loads(text, 0, NULL);
    int rc;

    cr_assert_not_null(body, "test body is not JSON: %s", text);
    memset(in, 0, sizeof(*in));
    tw_err_clear(err);
    rc = tw_task_input_parse(body, TW_INPUT_CREATE, &vctx, in, err);
    json_decref(body);
    return rc;
}

static char *with(const char *target_extra, const char *trigger)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"chain\":1764,\"desc\":\"d\",\"target\":{\"action\":\"export\","
             "\"export_index\":\"users\"%s},\"trigger\":%s}",
             target_extra, trigger);
    return buf;
}

Test(validate_tz, timezone_kept_and_local_anchor)
{
    struct tw_task_input in;
    struct tw_err err;
    char *t;

    /* 2026-01-31 00:30 in Sydney is the 30th in UTC: the anchor is the local 31st. */
    cr_assert_eq(parse(with("", "{\"once\":\"2026-01-31T00:30:00+11:00\",\"repeat\":\"monthly\","
                                "\"timezone\":\"Australia/Sydney\"}"),
                       &in, &err),
                 TW_OK, "%s", err.msg);
    cr_expect_eq(in.anchor_day, 31);
    t = tw_json_compact(in.trigger);
    cr_expect_str_eq(t, "{\"once\":\"2026-01-30T13:30:00Z\",\"repeat\":\"monthly\","
                        "\"timezone\":\"Australia/Sydney\"}");
    tw_free(t);
    tw_task_input_fini(&in);

    /* Without timezone: UTC, and none in the canonical trigger. */
    cr_assert_eq(parse(with("", "{\"once\":\"2026-01-31T00:30:00+11:00\",\"repeat\":\"monthly\"}"),
                       &in, &err),
                 TW_OK, "%s", err.msg);
    cr_expect_eq(in.anchor_day, 30);
    cr_expect_null(json_object_get(in.trigger, "timezone"));
    tw_task_input_fini(&in);

    /* "UTC" given is kept as given. */
    cr_assert_eq(
        parse(with("", "{\"once\":\"2026-01-31T00:30:00Z\",\"timezone\":\"UTC\"}"), &in, &err),
        TW_OK, "%s", err.msg);
    cr_expect_str_eq(json_string_value(json_object_get(in.trigger, "timezone")), "UTC");
    tw_task_input_fini(&in);
}

Test(validate_tz, bad_timezones)
{
    static const char *const bad[] = { "\"Mars/Base\"",
                                       "\"utc+2\"",
                                       "\"\"",
                                       "\"../../etc/passwd\"",
                                       "\"Europe/Amsterdam/\"",
                                       "\"right/UTC\"",
                                       "3",
                                       "null",
                                       "[\"UTC\"]" };
    char trig[512], name[310];
    struct tw_task_input in;
    struct tw_err err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(trig, sizeof(trig), "{\"once\":\"2026-01-31T00:30:00Z\",\"timezone\":%s}", bad[i]);
        cr_expect_eq(parse(with("", trig), &in, &err), TW_EINVAL, "accepted %s", bad[i]);
        cr_expect_str_eq(err.field, "trigger.timezone", "%s: %s", bad[i], err.msg);
        cr_expect(strncmp(err.msg, "trigger.timezone: ", 18) == 0, "%s", err.msg);
    }
    name[0] = '"';
    memset(name + 1, 'A', 300);
    strcpy(name + 301, "\"");
    snprintf(trig, sizeof(trig), "{\"once\":\"2026-01-31T00:30:00Z\",\"timezone\":%s}", name);
    cr_expect_eq(parse(with("", trig), &in, &err), TW_EINVAL);
    cr_expect_str_eq(err.field, "trigger.timezone");
}

Test(validate_tz, since)
{
    struct tw_task_input in;
    struct tw_err err;
    char body[512];

    cr_assert_eq(parse(with(",\"since\":\"last_success\"", "{\"once\":\"2026-01-31T00:30:00Z\"}"),
                       &in, &err),
                 TW_OK, "%s", err.msg);
    cr_expect_str_eq(json_string_value(json_object_get(in.target, "since")), "last_success");
    tw_task_input_fini(&in);
    cr_assert_eq(parse(with("", "{\"once\":\"2026-01-31T00:30:00Z\"}"), &in, &err), TW_OK);
    cr_expect_null(json_object_get(in.target, "since"));
    tw_task_input_fini(&in);

    cr_expect_eq(
        parse(with(",\"since\":\"always\"", "{\"once\":\"2026-01-31T00:30:00Z\"}"), &in, &err),
        TW_EINVAL);
    cr_expect_str_eq(err.field, "target.since");
    snprintf(body, sizeof(body),
             "{\"chain\":1764,\"desc\":\"d\",\"target\":{\"action\":\"export\","
             "\"export_index\":\"old-minor\",\"since\":\"last_success\"},\"trigger\":"
             "{\"once\":\"2026-01-31T00:30:00Z\"}}");
    cr_expect_eq(parse(body, &in, &err), TW_EINVAL);
    cr_expect_str_eq(err.field, "target.since");
    cr_expect(strstr(err.msg, "old-minor") != NULL, "%s", err.msg);
}

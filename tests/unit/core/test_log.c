/*
 * Unit tests for core/log.c: lines are captured through tw_log_set_stream into a temporary
 * file, with the fake clock so that the time field is known; JSON lines are checked by parsing
 * them back with jansson, so escaping is proven rather than compared by eye.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"

#define NOW_MS 1779796800123LL /* 2026-05-26T12:00:00.123Z */

static FILE *out;
static char text[65536];

static void setup(void)
{
    out = tmpfile();
    cr_assert_not_null(out);
    tw_log_set_stream(out);
    tw_log_setup(TW_LOG_INFO, TW_LOG_JSON);
    tw_clock_fake_set(NOW_MS, 0);
}

static void teardown(void)
{
    tw_log_set_stream(NULL);
    tw_clock_fake_clear();
    fclose(out);
}

TestSuite(log, .init = setup, .fini = teardown, .timeout = 10);

/* Everything written so far, NUL-terminated. */
static const char *captured(void)
{
    size_t n;

    fflush(out);
    rewind(out);
    n = fread(text, 1, sizeof(text) - 1, out);
    text[n] = '\0';
    return text;
}

/* The single captured line parsed as a JSON object (the caller json_decref()s it). */
static json_t *captured_json(void)
{
    const char *s = captured();
    json_error_t jerr;
    json_t *j;

    cr_assert_eq(strchr(s, '\n'), s + strlen(s) - 1, "not exactly one line: %s", s);
    j = json_loads(s, 0, &jerr);
    cr_assert_not_null(j, "not JSON (%s): %s", jerr.text, s);
    return j;
}

Test(log, json_fields_in_order)
{
    tw_log(TW_LOG_INFO, "server.listen", "addr", "127.0.0.1:8080", "workers", "2", NULL);
    cr_assert_str_eq(captured(), "{\"time\":\"2026-05-26T12:00:00.123Z\",\"level\":\"info\","
                                 "\"event\":\"server.listen\",\"addr\":\"127.0.0.1:8080\","
                                 "\"workers\":\"2\"}\n");
}

Test(log, json_escapes_everything_that_needs_it)
{
    const char *nasty = "quote\" back\\ nl\n tab\t cr\r ctl\x01 del\x7f é €";
    json_t *j;

    tw_log(TW_LOG_WARN, "x", "v", nasty, NULL);
    j = captured_json();
    cr_assert_str_eq(json_string_value(json_object_get(j, "v")), nasty);
    cr_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
    json_decref(j);
}

Test(log, json_invalid_utf8_becomes_replacement_char)
{
    json_t *j;

    /* A lone continuation byte, a truncated sequence, an overlong NUL and a surrogate. */
    tw_log(TW_LOG_ERROR, "x", "v",
           "a\x80"
           "b\xE2\x82"
           "c\xC0\x80"
           "d\xED\xA0\x80",
           NULL);
    j = captured_json();
    cr_assert_str_eq(json_string_value(json_object_get(j, "v")),
                     "a\uFFFDb\uFFFD\uFFFDc\uFFFD\uFFFDd\uFFFD\uFFFD\uFFFD");
    json_decref(j);
}

Test(log, json_null_value_and_null_event)
{
    json_t *j;

    tw_log(TW_LOG_INFO, NULL, "v", (const char *)NULL, NULL);
    j = captured_json();
    cr_assert(json_is_null(json_object_get(j, "v")));
    cr_assert_str_eq(json_string_value(json_object_get(j, "event")), "");
    json_decref(j);
}

Test(log, level_filter)
{
    tw_log(TW_LOG_DEBUG, "hidden", NULL);
    cr_assert_str_eq(captured(), "");
    tw_log_setup(TW_LOG_ERROR, TW_LOG_JSON);
    tw_log(TW_LOG_WARN, "hidden", NULL);
    cr_assert_str_eq(captured(), "");
    tw_log_setup(TW_LOG_DEBUG, TW_LOG_JSON);
    tw_log(TW_LOG_DEBUG, "shown", NULL);
    cr_assert(strstr(captured(), "\"level\":\"debug\",\"event\":\"shown\"") != NULL, "%s", text);
}

Test(log, logfmt_quotes_only_when_needed)
{
    tw_log_setup(TW_LOG_INFO, TW_LOG_LOGFMT);
    tw_log(TW_LOG_INFO, "task.state", "task", "17", "msg", "hello world", "q", "a\"b=c", "empty",
           "", "none", (const char *)NULL, "bad key", "x\ny", NULL);
    cr_assert_str_eq(captured(), "time=2026-05-26T12:00:00.123Z level=info event=task.state "
                                 "task=17 msg=\"hello world\" q=\"a\\\"b=c\" empty=\"\" none= "
                                 "bad_key=\"x\\ny\"\n");
}

Test(log, logf_formats_msg)
{
    json_t *j;

    tw_logf(TW_LOG_ERROR, "store.open", "cannot open %s: %d", "x.db", 5);
    j = captured_json();
    cr_assert_str_eq(json_string_value(json_object_get(j, "msg")), "cannot open x.db: 5");
    json_decref(j);
    tw_logf(TW_LOG_DEBUG, "hidden", "%s", "x");
}

Test(log, long_value_is_cut_and_stays_valid)
{
    static char big[20000];
    const char *v;
    json_t *j;

    memset(big, '"', sizeof(big) - 1); /* every byte doubles when escaped */
    tw_log(TW_LOG_INFO, "big", "v", big, "after", "dropped", NULL);
    j = captured_json();
    cr_assert_leq(strlen(text), 8192);
    v = json_string_value(json_object_get(j, "v"));
    cr_assert_not_null(v);
    cr_assert_gt(strlen(v), 3000);
    cr_assert_str_eq(v + strlen(v) - 3, "...");
    cr_assert_null(json_object_get(j, "after"));
    json_decref(j);
}

Test(log, many_pairs_are_dropped_whole)
{
    static char chunk[1000];
    json_t *j;

    memset(chunk, 'x', sizeof(chunk) - 1);
    /* Each pair is ~1 KiB; the ninth cannot fit and must vanish entirely, key included. */
    tw_log(TW_LOG_INFO, "many", "a", chunk, "b", chunk, "c", chunk, "d", chunk, "e", chunk, "f",
           chunk, "g", chunk, "h", chunk, "i", chunk, "j", chunk, NULL);
    j = captured_json();
    cr_assert_not_null(json_object_get(j, "a"));
    cr_assert_leq(strlen(text), 8192);
    json_decref(j);
}

Test(log, logfmt_long_value_is_cut)
{
    static char big[20000];

    memset(big, 'y', sizeof(big) - 1);
    tw_log_setup(TW_LOG_INFO, TW_LOG_LOGFMT);
    tw_log(TW_LOG_INFO, "big", "v", big, NULL);
    captured();
    cr_assert_leq(strlen(text), 8192);
    cr_assert(strstr(text, " v=\"yyy") != NULL);
    cr_assert_str_eq(text + strlen(text) - 5, "...\"\n");
}

Test(log, works_when_allocation_fails)
{
    tw_mem_fail_after(1);
    tw_log(TW_LOG_INFO, "oom", "k", "v", NULL);
    tw_mem_fail_after(0);
    cr_assert(strstr(captured(), "\"event\":\"oom\"") != NULL);
}

Test(log, parse_names)
{
    cr_assert_eq(tw_log_level_parse("debug"), TW_LOG_DEBUG);
    cr_assert_eq(tw_log_level_parse("info"), TW_LOG_INFO);
    cr_assert_eq(tw_log_level_parse("warn"), TW_LOG_WARN);
    cr_assert_eq(tw_log_level_parse("error"), TW_LOG_ERROR);
    cr_assert_eq(tw_log_level_parse("warning"), -1);
    cr_assert_eq(tw_log_level_parse("INFO"), -1);
    cr_assert_eq(tw_log_level_parse(NULL), -1);
    cr_assert_eq(tw_log_format_parse("json"), TW_LOG_JSON);
    cr_assert_eq(tw_log_format_parse("logfmt"), TW_LOG_LOGFMT);
    cr_assert_eq(tw_log_format_parse("text"), -1);
}

Test(log, time_before_epoch_ms)
{
    tw_clock_fake_set(-1, 0);
    tw_log(TW_LOG_INFO, "x", NULL);
    cr_assert(strstr(captured(), "\"time\":\"1969-12-31T23:59:59.999Z\"") != NULL, "%s", text);
}

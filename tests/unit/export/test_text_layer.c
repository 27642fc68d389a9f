/*
 * The text layer in core/ (jsonesc.h, utf8.h, fmt.h) seen through its users: the same hostile
 * strings go through the log (core/log.c), the JSON export writer (export/json.c) and Lua's
 * tw.json (lua/json.c), and each must write exactly the same escaped JSON string, which
 * jansson must read back to the original. Invalid UTF-8 is refused by a record
 * (plugin/record.c) and becomes U+FFFD in the log, the two users of core/utf8.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>

#include "core/log.h"
#include "core/utf8.h"
#include "export/export.h"
#include "lua/lua_int.h"

static const char *const hostile[] = {
    "plain",
    "quote \" and backslash \\ and slash /",
    "\x01\x02\x03\x04\x05\x06\x07\b\t\n\x0b\f\r\x0e\x0f",
    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f",
    "</script><script>alert(1)</script>",
    "\\u0000 written out, \\\" already escaped",
    "line\u2028separator\u2029paragraph",
    "Zo\xc3\xab \xe2\x9c\x93 \xf0\x9f\x98\x80 \xef\xbf\xbd",
    "=SUM(A1:A9)\t+1\r\n@x",
    "",
};

/* What the JSON export writer writes for s: the text between "s": and the closing brace. */
static char *via_export(const char *s, size_t n)
{
    static const struct tw_field fields[] = { { .name = "s", .type = TW_FIELD_TEXT }, { 0 } };
    char path[] = "/tmp/tw_text_XXXXXX";
    struct tw_record *r;
    struct tw_out out;
    struct tw_err err;
    uint64_t bytes;
    char sha[65];
    void *state;
    char buf[8192], *start, *end;
    ssize_t got;
    int fd = mkstemp(path);

    cr_assert_geq(fd, 0);
    cr_assert_eq(tw_out_init(&out, fd, path, false, &err), TW_OK);
    cr_assert_eq(tw_record_create(fields, &r, &err), TW_OK);
    cr_assert_eq(tw_json_writer.begin(NULL, &out, fields, &state, &err), TW_OK);
    cr_assert_eq(tw_record_set_text(r, 0, s, n), TW_OK, "refused: %s", s);
    cr_assert_eq(tw_json_writer.row(state, r, &err), TW_OK);
    cr_assert_eq(tw_json_writer.end(state, &err), TW_OK);
    tw_json_writer.destroy(state);
    cr_assert_eq(tw_out_finish(&out, &bytes, sha, &err), TW_OK);
    tw_out_fini(&out);
    tw_record_destroy(r);
    got = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(path);
    cr_assert_gt(got, 0);
    buf[got] = '\0';
    start = strstr(buf, "\"s\":");
    end = strrchr(buf, '}');
    cr_assert(start != NULL && end != NULL, "%s", buf);
    start += 4;
    return strndup(start, (size_t)(end - start));
}

/* What tw.json(s) returns. */
static char *via_lua(const char *s, size_t n)
{
    lua_State *L = luaL_newstate();
    char *text;

    cr_assert_not_null(L);
    lua_pushcfunction(L, tw_lua_json_lj);
    lua_pushlstring(L, s, n);
    cr_assert_eq(lua_pcall(L, 1, 1, 0), LUA_OK, "%s", lua_tostring(L, -1));
    text = strdup(lua_tostring(L, -1));
    lua_close(L);
    return text;
}

/* The value of "v" as the JSON log line writes it. */
static char *via_log(const char *s)
{
    FILE *f = tmpfile();
    char buf[8192], *start, *end;
    size_t got;

    cr_assert_not_null(f);
    tw_log_set_stream(f);
    tw_log_setup(TW_LOG_INFO, TW_LOG_JSON);
    tw_log(TW_LOG_INFO, "text.test", "v", s, NULL);
    tw_log_set_stream(NULL);
    rewind(f);
    got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    start = strstr(buf, "\"v\":");
    end = strrchr(buf, '}');
    cr_assert(start != NULL && end != NULL, "%s", buf);
    start += 4;
    return strndup(start, (size_t)(end - start));
}

static void check_reads_back(const char *json_text, const char *s, size_t n)
{
    json_t *j = json_loads(json_text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    cr_assert(json_is_string(j), "not a JSON string: %s", json_text);
    cr_assert_eq(json_string_length(j), n);
    cr_assert_eq(memcmp(json_string_value(j), s, n), 0, "%s", json_text);
    json_decref(j);
}

Test(text_layer, three_writers_escape_alike)
{
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const char *s = hostile[i];
        char *x = via_export(s, strlen(s)), *l = via_lua(s, strlen(s)), *g = via_log(s);

        cr_assert_str_eq(x, l, "export %s vs tw.json %s", x, l);
        cr_assert_str_eq(x, g, "export %s vs log %s", x, g);
        check_reads_back(x, s, strlen(s));
        free(x);
        free(l);
        free(g);
    }
}

Test(text_layer, short_escapes_and_lowercase_hex)
{
    char *x = via_export("\b\f\n\r\t\x01\x1f", 7), *l = via_lua("\b\f\n\r\t\x01\x1f", 7);
    char *g = via_log("\b\f\n\r\t\x01\x1f");

    cr_assert_str_eq(x, "\"\\b\\f\\n\\r\\t\\u0001\\u001f\"");
    cr_assert_str_eq(l, x);
    cr_assert_str_eq(g, x);
    free(x);
    free(l);
    free(g);
}

/* Writers that take a length also keep a NUL byte (the log takes C strings: it cannot). */
Test(text_layer, nul_byte_in_export_and_lua)
{
    static const char s[] = "a\0b";
    char *x = via_export(s, 3), *l = via_lua(s, 3);

    cr_assert_str_eq(x, "\"a\\u0000b\"");
    cr_assert_str_eq(l, x);
    check_reads_back(x, s, 3);
    free(x);
    free(l);
}

/* DEL is valid in JSON and written as is, except by the log (kept out of terminals). */
Test(text_layer, del_only_escaped_in_the_log)
{
    char *x = via_export("\x7f", 1), *l = via_lua("\x7f", 1), *g = via_log("\x7f");

    cr_assert_str_eq(x, "\"\x7f\"");
    cr_assert_str_eq(l, x);
    cr_assert_str_eq(g, "\"\\u007f\"");
    free(x);
    free(l);
    free(g);
}

Test(text_layer, invalid_utf8_refused_by_records_replaced_by_the_log)
{
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "ab\xe2\x9c",       /* cut in the middle */
        "\xff",
    };
    static const struct tw_field fields[] = { { .name = "s", .type = TW_FIELD_TEXT }, { 0 } };
    struct tw_record *r;
    struct tw_err err;
    json_t *j;

    cr_assert_eq(tw_record_create(fields, &r, &err), TW_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *g = via_log(bad[i]);

        cr_assert(!tw_utf8_valid(bad[i], strlen(bad[i])));
        cr_assert_neq(tw_record_set_text(r, 0, bad[i], strlen(bad[i])), TW_OK);
        cr_assert(strstr(g, "\\ufffd") != NULL, "%s", g);
        j = json_loads(g, JSON_DECODE_ANY, NULL);
        cr_assert(json_is_string(j), "the log line is not JSON: %s", g);
        json_decref(j);
        free(g);
    }
    tw_record_destroy(r);
    cr_assert(tw_utf8_valid("Zo\xc3\xab \xf0\x9f\x98\x80", 9));
}

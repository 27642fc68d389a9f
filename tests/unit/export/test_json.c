/*
 * json.c: the result parses back with jansson to exactly what the fixture plugin produced:
 * escaping (quotes, backslash, control bytes, UTF-8), types, nulls, nested arrays, and [] for
 * zero records.
 */
#include <jansson.h>

#include "export_fixture.h"

static struct xfx f;

static void setup(void)
{
    xfx_setup(&f, FIXTURES);
}

static void teardown(void)
{
    xfx_teardown(&f);
}

TestSuite(json, .init = setup, .fini = teardown, .timeout = 20);

static const char *const names[] = {
    "plain",       "with, comma", "with \"quote\"", "two\nlines",
    "=SUM(A1:A9)", "-minus",      "Zoë ✓ ünïcode",  "",
    "tab\tinside", "back\\slash", "+plus",          "@at",
};

Test(json, parses_back_field_by_field)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "json", "rows=30", 1764);
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    json_t *o;
    const char *key;
    json_t *v;
    size_t i;
    long id;
    int k;

    cr_assert_not_null(doc, "%s at line %d: %s", jerr.text, jerr.line, text);
    cr_assert(json_is_array(doc));
    cr_assert_eq(json_array_size(doc), 30);
    cr_assert_str_eq(st.file, "Fixture_Export-12345.json");
    json_array_foreach(doc, i, o)
    {
        static const char *const order[] = { "id",     "name", "code", "amount", "ratio",
                                             "active", "day",  "at",   "tags" };
        k = 0;
        id = (long)i + 1;
        json_object_foreach(o, key, v) /* keys in column order */
            cr_assert_str_eq(key, order[k++]);
        cr_assert_eq(json_integer_value(json_object_get(o, "id")), id);
        if (id % 7 == 0)
            cr_assert(json_is_null(json_object_get(o, "name")));
        else
            cr_assert_str_eq(json_string_value(json_object_get(o, "name")), names[(id - 1) % 12]);
        /* Money is a JSON number with two decimals; read it back through its text. */
        cr_assert(json_is_real(json_object_get(o, "amount")));
        cr_assert_float_eq(json_real_value(json_object_get(o, "amount")),
                           (id * 1234 - 5000) / 100.0, 1e-9);
        cr_assert(json_is_number(json_object_get(o, "ratio")));
        cr_assert_float_eq(json_number_value(json_object_get(o, "ratio")), id / 4.0, 0);
        cr_assert(json_is_boolean(json_object_get(o, "active")));
        cr_assert_eq(json_is_true(json_object_get(o, "active")), id % 2 == 1);
        cr_assert_eq(strlen(json_string_value(json_object_get(o, "day"))), 10);
        cr_assert_eq(json_array_size(json_object_get(o, "tags")), (size_t)(id % 3));
        if (id % 3 == 2)
            cr_assert_eq(json_integer_value(json_object_get(
                             json_array_get(json_object_get(o, "tags"), 1), "weight")),
                         10);
    }
    /* Money keeps its two decimals in the text itself. */
    cr_assert(strstr(text, "\"amount\":-37.66,"), "%.200s", text);
    cr_assert(strstr(text, "\"amount\":11.70,"));
    cr_assert(strstr(text, "\"name\":\"two\\nlines\""));
    cr_assert(strstr(text, "\"name\":\"tab\\tinside\""));
    json_decref(doc);
    free(text);
}

Test(json, zero_records_is_an_empty_array)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "json", "rows=0", 1764);
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);
    json_t *doc = json_loads(text, 0, NULL);

    cr_assert_str_eq(text, "[]\n");
    cr_assert(json_is_array(doc) && json_array_size(doc) == 0);
    json_decref(doc);
    free(text);
}

Test(json, control_bytes_are_escaped)
{
    static const struct tw_field fields[] = { { .name = "s", .type = TW_FIELD_TEXT }, { 0 } };
    static const char raw[] = "a\x01\x1f\b\f\"\\\x7f/é";
    struct tw_record *r;
    struct tw_out out;
    struct tw_err err;
    char path[128];
    uint64_t bytes;
    char sha[65];
    void *state;
    char *text;
    json_t *doc;
    int fd;

    snprintf(path, sizeof(path), "%s/esc.json", f.dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    cr_assert_eq(tw_out_init(&out, fd, path, false, &err), TW_OK);
    cr_assert_eq(tw_record_create(fields, &r, &err), TW_OK);
    cr_assert_eq(tw_json_writer.begin(NULL, &out, fields, &state, &err), TW_OK);
    cr_assert_eq(tw_record_set_text(r, 0, raw, sizeof(raw) - 1), TW_OK);
    cr_assert_eq(tw_json_writer.row(state, r, &err), TW_OK);
    cr_assert_eq(tw_json_writer.end(state, &err), TW_OK);
    tw_json_writer.destroy(state);
    cr_assert_eq(tw_out_finish(&out, &bytes, sha, &err), TW_OK);
    tw_out_fini(&out);
    close(fd);
    tw_record_destroy(r);
    text = xfx_read(path, NULL);
    cr_assert(strstr(text, "\\u0001\\u001f\\b\\f\\\"\\\\"), "%s", text);
    doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc, "%s", text);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(doc, 0), "s")), raw);
    json_decref(doc);
    free(text);
}

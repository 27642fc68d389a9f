/*
 * lua_writer.c: an export through a Lua formatter. The shipped ndjson formatter gives one
 * valid JSON object per record; nil from row() is a skip; a script error fails the run with
 * the script's file and line and publishes nothing.
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

TestSuite(lua_writer, .init = setup, .fini = teardown, .timeout = 30);

/* A job writing through the formatter at path, named name. */
static struct tw_export_job lua_job(struct tw_writer_ops *ops, struct tw_lua_writer_arg *arg,
                                    const char *path, const char *name, const char *source)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", source, 1764);

    *ops = tw_lua_writer;
    ops->ext = name;
    arg->path = path;
    arg->name = name;
    arg->limits.max_memory = 16u << 20;
    arg->limits.max_instructions = 1000000;
    arg->run_start = job.run_start;
    job.writer = ops;
    job.writer_arg = arg;
    return job;
}

/* Write src as <dir>/formats/<name>.lua; returns the path (static). */
static const char *formatter(const char *name, const char *src)
{
    static char path[256];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/formats", f.dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/formats/%s.lua", f.dir, name);
    fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(src, fp);
    fclose(fp);
    return path;
}

Test(lua_writer, ndjson_one_object_per_record)
{
    struct tw_writer_ops ops;
    struct tw_lua_writer_arg arg;
    struct tw_export_job job = lua_job(&ops, &arg, TW_SOURCE_DIR "/lua/formats/ndjson.lua",
                                       "ndjson", "rows=30");
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);
    json_error_t jerr;
    char *line = text;
    char *nl;
    json_t *o;
    long id = 0;

    cr_assert_str_eq(st.file, "Fixture_Export-12345.ndjson");
    cr_assert_eq(st.success, 30);
    while ((nl = strchr(line, '\n')) != NULL) {
        o = json_loadb(line, (size_t)(nl - line), 0, &jerr);
        cr_assert_not_null(o, "%s: %.*s", jerr.text, (int)(nl - line), line);
        cr_assert_eq(json_integer_value(json_object_get(o, "id")), ++id);
        cr_assert(json_is_array(json_object_get(o, "tags")));
        json_decref(o);
        line = nl + 1;
    }
    cr_assert_eq(id, 30);
    cr_assert_eq(*line, '\0');
    cr_assert(strstr(text, "\"amount\":11.70,"), "%.300s", text);
    free(text);
}

Test(lua_writer, nil_row_is_a_skip)
{
    struct tw_writer_ops ops;
    struct tw_lua_writer_arg arg;
    const char *p = formatter("even", "function header(f) return 'id\\n' end\n"
                                      "function row(r)\n"
                                      "  if r.id % 2 == 1 then return nil end\n"
                                      "  return r.id .. '\\n'\n"
                                      "end\n"
                                      "function footer() return 'end\\n' end\n");
    struct tw_export_job job = lua_job(&ops, &arg, p, "even", "rows=6");
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);

    cr_assert_str_eq(text, "id\n2\n4\n6\nend\n");
    cr_assert_eq(st.success, 3);
    cr_assert_eq(st.skips, 3);
    free(text);
}

Test(lua_writer, script_error_fails_the_run)
{
    struct tw_writer_ops ops;
    struct tw_lua_writer_arg arg;
    const char *p = formatter("broken", "function row(r)\n"
                                        "  if r.id == 4 then error('no four') end\n"
                                        "  return 'x\\n'\n"
                                        "end\n");
    struct tw_export_job job = lua_job(&ops, &arg, p, "broken", "rows=10");
    struct tw_export_stats st;
    struct tw_err err;

    cr_assert_eq(tw_export_run(&job, &st, &err), TW_ESCRIPT);
    cr_assert(strstr(err.msg, "formats/broken.lua:2: no four"), "%s", err.msg);
    cr_assert_eq(xfx_count_files(f.dir), 1); /* formats/ only: nothing published */
}

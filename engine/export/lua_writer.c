/*
 * The Lua formatter writer (docs/reference.md §7.2): export_format "<name>" runs lua_dir/formats/<name>.lua
 * in a state of its own for the run, and writes what header(fields), row(record) and footer()
 * return into the stream unchanged (the formatter writes its own separators and line ends).
 * row returning nil declines the record (counted as a skip). Any script failure fails the run
 * with the script's "<file>:<line>: <message>" in err.
 */
#include "export/export.h"

#include "core/mem.h"
#include "lua/lua.h"

struct lua_writer {
    struct tw_lua *lua; /* the formatter's state, owned */
    int ref;            /* the formatter in it */
    struct tw_out *out; /* borrowed stream */
};

static void lua_writer_destroy(void *state)
{
    struct lua_writer *w = state;

    if (w == NULL)
        return;
    tw_lua_destroy(w->lua);
    tw_free(w);
}

static int lua_writer_begin(void *arg, struct tw_out *out, const struct tw_field *fields,
                            void **state, struct tw_err *err)
{
    const struct tw_lua_writer_arg *a = arg;
    struct lua_writer *w;
    const char *s;
    size_t n;
    int ret;

    w = tw_calloc(1, sizeof(*w));
    if (w == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory starting the %s formatter", a->name);
    w->out = out;
    ret = tw_lua_create(&a->limits, a->run_start, &w->lua, err);
    if (ret == TW_OK)
        ret = tw_lua_format_load(w->lua, a->path, &w->ref, err);
    if (ret == TW_OK)
        ret = tw_lua_format_header(w->lua, w->ref, fields, &s, &n, err);
    if (ret != TW_OK) {
        lua_writer_destroy(w);
        return ret;
    }
    if (s != NULL)
        tw_out_write(out, s, n);
    *state = w;
    return TW_OK;
}

static int lua_writer_row(void *state, const struct tw_record *r, struct tw_err *err)
{
    struct lua_writer *w = state;
    const char *s;
    size_t n;
    int ret;

    ret = tw_lua_format_row(w->lua, w->ref, r, &s, &n, err);
    if (ret != TW_OK)
        return ret;
    if (s == NULL)
        return TW_WRITER_SKIP;
    tw_out_write(w->out, s, n);
    return TW_OK;
}

static int lua_writer_end(void *state, struct tw_err *err)
{
    struct lua_writer *w = state;
    const char *s;
    size_t n;
    int ret;

    ret = tw_lua_format_footer(w->lua, w->ref, &s, &n, err);
    if (ret == TW_OK && s != NULL)
        tw_out_write(w->out, s, n);
    return ret;
}

const struct tw_writer_ops tw_lua_writer = {
    .name = "lua",
    .ext = "txt", /* placeholder: the caller sets the format name (see export.h) */
    .begin = lua_writer_begin,
    .row = lua_writer_row,
    .end = lua_writer_end,
    .destroy = lua_writer_destroy,
};

/*
 * The sandbox (docs/reference.md §6.3): which libraries a script sees, and the tw table.
 *
 * Allowed: base, string, table, math, utf8, opened one by one with luaL_requiref (never
 * luaL_openlibs). Removed from base: load, loadfile, dofile (code and files from outside the
 * installed script) and collectgarbage (stopping the collector only moves the failure to the
 * memory cap, and a full collection per call is C work the instruction budget cannot see).
 * Removed from string: dump. Never opened: io, os, package (so no require), debug, coroutine.
 * print and warn go to the engine log, like tw.log.
 *
 * Two holes closed beyond the allow-list: setmetatable refuses a metatable with __gc, because
 * finalizers run with hooks disabled, where no budget could stop a loop; and the string
 * metatable is hidden (__metatable = false), so a script cannot re-point every string's methods
 * for the other scripts of the run. The library tables themselves are shared by the scripts of
 * one state; each script's own globals live in its private _ENV (script.c).
 */
#include "lua/lua.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/log.h"
#include "core/time.h"
#include "lua/lua_int.h"

#define MIN_EPOCH (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define MAX_EPOCH 253402300799LL   /* 9999-12-31T23:59:59Z */

const char tw_lua_null_tag = 0;

/* ---------------------------------------------------------------- logging */

void tw_lua_log_line(struct tw_lua *vm, const char *where, const char *msg)
{
    if (vm->log_lines > TW_LUA_LOG_MAX_LINES)
        return;
    if (vm->log_lines++ == TW_LUA_LOG_MAX_LINES) {
        tw_logf(TW_LOG_WARN, "lua.log",
                "more than %d lines logged by scripts in this run; "
                "the rest are dropped",
                TW_LUA_LOG_MAX_LINES);
        return;
    }
    tw_log(TW_LOG_INFO, "lua.log", "script", where, "msg", msg, NULL);
}

/* "src:line" of the Lua function calling the running C function. */
static void caller(lua_State *L, char *out, size_t size)
{
    lua_Debug ar;

    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar))
        snprintf(out, size, "%s:%d", ar.short_src, ar.currentline);
    else
        snprintf(out, size, "?");
}

/* print(...) and tw.log(...): the arguments through tostring, joined by tabs, as one line. */
static int log_lj(lua_State *L)
{
    struct tw_lua *vm = tw_lua_of(L);
    char where[TW_LUA_WHERE_MAX];
    int n = lua_gettop(L);
    luaL_Buffer b;
    int i;

    luaL_buffinit(L, &b);
    for (i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL); /* +1 */
        luaL_addvalue(&b);          /* -1 */
    }
    luaL_pushresult(&b);
    caller(L, where, sizeof(where));
    tw_lua_log_line(vm, where, lua_tostring(L, -1));
    return 0;
}

/* ---------------------------------------------------------------- tw.* */

static int now_lj(lua_State *L)
{
    lua_pushinteger(L, tw_lua_of(L)->run_start);
    return 1;
}

/* tw.parse_time(text) -> epoch seconds, or nil and the reason. */
static int parse_time_lj(lua_State *L)
{
    const char *s = luaL_checkstring(L, 1);
    struct tw_err e;
    bool date_only;
    int64_t t;

    if (tw_time_parse_date_or_time(s, &t, &date_only, &e) == TW_OK) {
        lua_pushinteger(L, t);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, e.msg);
    return 2;
}

static int64_t check_epoch_lj(lua_State *L)
{
    lua_Integer t = luaL_checkinteger(L, 1);

    luaL_argcheck(L, t >= MIN_EPOCH && t <= MAX_EPOCH, 1, "out of range (years 0001..9999)");
    return t;
}

/* tw.format_time(epoch) -> "YYYY-MM-DDTHH:MM:SSZ". */
static int format_time_lj(lua_State *L)
{
    char buf[TW_TIME_BUFSZ];

    lua_pushstring(L, tw_time_format(check_epoch_lj(L), buf));
    return 1;
}

/* tw.format_date(epoch) -> "YYYY-MM-DD". */
static int format_date_lj(lua_State *L)
{
    char buf[TW_TIME_BUFSZ];

    lua_pushstring(L, tw_time_format_date(check_epoch_lj(L), buf));
    return 1;
}

static const luaL_Reg tw_funcs[] = {
    { "now", now_lj },
    { "parse_time", parse_time_lj },
    { "format_time", format_time_lj },
    { "format_date", format_date_lj },
    { "log", log_lj },
    { "json", tw_lua_json_lj },
    { NULL, NULL },
};

/* ---------------------------------------------------------------- the allow-list */

/* setmetatable(t, mt) that refuses finalizers; upvalue 1 is the original. */
static int setmetatable_lj(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc metamethods are not allowed in scripts");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static const luaL_Reg libs[] = {
    { LUA_GNAME, luaopen_base },       { LUA_STRLIBNAME, luaopen_string },
    { LUA_TABLIBNAME, luaopen_table }, { LUA_MATHLIBNAME, luaopen_math },
    { LUA_UTF8LIBNAME, luaopen_utf8 }, { NULL, NULL },
};

/* Globals removed after opening base. */
static const char *const removed[] = { "load",    "loadfile",       "dofile",
                                       "require", "collectgarbage", NULL };

int tw_lua_sandbox_lj(lua_State *L)
{
    const luaL_Reg *lib;
    size_t i;

    for (lib = libs; lib->func != NULL; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1); /* +1 */
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L); /* +1: G */
    for (i = 0; removed[i] != NULL; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, removed[i]);
    }
    lua_pushcfunction(L, log_lj);
    lua_setfield(L, -2, "print");
    lua_getfield(L, -1, "setmetatable"); /* +1 */
    lua_pushcclosure(L, setmetatable_lj, 1);
    lua_setfield(L, -2, "setmetatable");

    lua_getfield(L, -1, LUA_STRLIBNAME); /* +1: string */
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_pushliteral(L, "");        /* +1 */
    if (lua_getmetatable(L, -1)) { /* +1: the string metatable */
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    luaL_newlib(L, tw_funcs); /* +1: tw */
    lua_pushlightuserdata(L, TW_LUA_NULL);
    lua_setfield(L, -2, "null");
    lua_setfield(L, -2, "tw");
    lua_pop(L, 1); /* G */
    return 0;
}

/*
 * Every conversion into Lua values lives here (STYLE §2.8 rule 8): records, field tables and
 * JSON params. The mapping, also documented for script authors in docs/lua-api.md:
 *
 *   int                 integer
 *   money               float in currency units (1250 minor units -> 12.5); formatters print
 *                       it with two decimals, knowing the type from header(fields)
 *   number              float
 *   keyword, text       string
 *   bool                boolean
 *   date, datetime      their canonical text, "2026-05-26" / "2026-05-26T12:00:00Z"
 *   list                array of tables keyed by sub-field name (empty list: {})
 *   null (any type)     tw.null, so that every column is present in the table
 *   JSON params         objects -> tables, arrays -> 1-based arrays, integers -> integers,
 *                       reals -> floats, null -> tw.null; at most MAX_JSON_DEPTH deep
 *
 * A script's record table, and the element tables of its lists, are made once and refilled
 * for every call (a run converts millions of records); keys are always written raw, so a
 * metatable the script set does not run on our writes.
 */
#include "lua/lua.h"

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>

#include "lua/lua_int.h"
#include "plugin/plugin.h"

#define MAX_JSON_DEPTH TW_LUA_MAX_PARAMS_DEPTH

static void push_slot(lua_State *L, const struct tw_record *r, const struct tw_slot *s,
                      uint32_t type)
{
    if (!s->set) {
        lua_pushlightuserdata(L, TW_LUA_NULL);
        return;
    }
    switch (type) {
    case TW_FIELD_INT: lua_pushinteger(L, s->v.i); return;
    case TW_FIELD_MONEY:
        /* Exact minor units divide to the double nearest the decimal: "%.2f" gives it back. */
        lua_pushnumber(L, (lua_Number)s->v.i / 100.0);
        return;
    case TW_FIELD_NUMBER: lua_pushnumber(L, s->v.d); return;
    case TW_FIELD_BOOL: lua_pushboolean(L, s->v.i != 0); return;
    default: /* keyword, text, date, datetime */
        lua_pushlstring(L, tw_record_text(r, s), s->len);
        return;
    }
}

/* The table at t[key] (key raw), made with nrec hash slots when it is not a table yet. +1 */
static void reuse_field_lj(lua_State *L, int t, const char *key, int nrec)
{
    lua_pushstring(L, key);
    if (lua_rawget(L, t) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_createtable(L, 0, nrec);
    lua_pushstring(L, key);
    lua_pushvalue(L, -2);
    lua_rawset(L, t);
}

/* Refill the array at index a with the elements of LIST column col. */
static void fill_list_lj(lua_State *L, int a, const struct tw_record *r, uint32_t col,
                         const struct tw_field *sub)
{
    uint32_t n = tw_record_item_count(r, col);
    uint32_t nsub = tw_field_count(sub);
    lua_Unsigned old = lua_rawlen(L, a);
    uint32_t k;
    uint32_t j;

    for (k = 0; k < n; k++) {
        if (lua_rawgeti(L, a, (lua_Integer)k + 1) != LUA_TTABLE) { /* +1 */
            lua_pop(L, 1);
            lua_createtable(L, 0, (int)nsub);
            lua_pushvalue(L, -1);
            lua_rawseti(L, a, (lua_Integer)k + 1);
        }
        for (j = 0; j < nsub; j++) {
            push_slot(L, r, tw_record_item_value(r, col, k, j), sub[j].type);
            lua_pushstring(L, sub[j].name);
            lua_insert(L, -2);
            lua_rawset(L, -3);
        }
        lua_pop(L, 1);
    }
    for (; old > n; old--) {
        lua_pushnil(L);
        lua_rawseti(L, a, (lua_Integer)old);
    }
}

void tw_lua_push_record_lj(lua_State *L, int t, struct tw_lua_script *s, const struct tw_record *r)
{
    const struct tw_field *f = tw_record_fields(r);
    uint32_t n = tw_record_ncols(r);
    int type = LUA_TNIL;
    uint32_t i;
    int rec;

    luaL_checkstack(L, 8, "converting a record");
    if (s->rec_fields == f)
        type = lua_rawgeti(L, t, TW_SLOT_REC); /* +1 */
    else
        lua_pushnil(L); /* +1: a record of another index than last time */
    if (type != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, (int)n);
        lua_pushvalue(L, -1);
        lua_rawseti(L, t, TW_SLOT_REC);
        s->rec_fields = f;
    }
    rec = lua_gettop(L);
    for (i = 0; i < n; i++) {
        if (f[i].type == TW_FIELD_LIST) {
            reuse_field_lj(L, rec, f[i].name, 0);
            fill_list_lj(L, lua_gettop(L), r, i, f[i].nested);
            lua_pop(L, 1);
            continue;
        }
        lua_pushstring(L, f[i].name);
        push_slot(L, r, tw_record_value(r, i), f[i].type);
        lua_rawset(L, rec);
    }
}

void tw_lua_push_fields_lj(lua_State *L, const struct tw_field *fields)
{
    uint32_t n = tw_field_count(fields);
    uint32_t i;

    luaL_checkstack(L, 4, "converting fields");
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, fields[i].name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, tw_field_type_name(fields[i].type));
        lua_setfield(L, -2, "type");
        if (fields[i].type == TW_FIELD_LIST) {
            tw_lua_push_fields_lj(L, fields[i].nested);
            lua_setfield(L, -2, "fields");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

void tw_lua_push_json_lj(lua_State *L, const void *json, int depth)
{
    const json_t *j = json;
    const char *key;
    json_t *v;
    size_t i;

    if (depth > MAX_JSON_DEPTH)
        luaL_error(L, "params nest deeper than %d levels", MAX_JSON_DEPTH);
    luaL_checkstack(L, 3, "converting params");
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        lua_createtable(L, 0, (int)json_object_size(j));
        json_object_foreach((json_t *)j, key, v)
        {
            tw_lua_push_json_lj(L, v, depth + 1);
            lua_setfield(L, -2, key);
        }
        return;
    case JSON_ARRAY:
        lua_createtable(L, (int)json_array_size(j), 0);
        json_array_foreach(j, i, v)
        {
            tw_lua_push_json_lj(L, v, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return;
    case JSON_STRING: lua_pushlstring(L, json_string_value(j), json_string_length(j)); return;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(j)); return;
    case JSON_REAL: lua_pushnumber(L, json_real_value(j)); return;
    case JSON_TRUE:
    case JSON_FALSE: lua_pushboolean(L, json_is_true(j)); return;
    default: lua_pushlightuserdata(L, TW_LUA_NULL); return;
    }
}

/*
 * tw.json(value [, fields]): JSON text of a Lua value, in C, for formatters. Encoding a record
 * value by value in Lua (string.format, gsub per field) made the ndjson formatter about 8x
 * slower than the built-in json writer; one C call per row keeps Lua formatters practical
 * (bench/segment: ndjson vs json).
 *
 *   strings   quoted, escaped per RFC 8259 (core/jsonesc.h)
 *   numbers   integers as integers; floats in the shortest text that reads back exactly;
 *             NaN and infinities as null
 *   booleans  true/false; nil and tw.null: null
 *   tables    with fields (the list header() receives): a record (string keys) becomes an
 *             object with those keys in that order (a list, a table with none of the
 *             fields' names, or a value that is not a table is an error), "money" fields with two decimals, "list" fields as arrays of objects of
 *             their sub-fields; without fields: a sequence as an array (anything else is an
 *             error: key order would be arbitrary)
 * Work here is not counted by the instruction budget; it is bounded by the value's size, and
 * nesting deeper than 32 is an error.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "core/fmt.h"
#include "core/jsonesc.h"
#include "lua/lua_int.h"

#define MAX_DEPTH 32

/*
 * The output: a Lua userdata at a fixed stack slot, replaced by a bigger one when it fills
 * (memory through the state's capped allocator; an error unwinds without leaking anything).
 * luaL_Buffer cannot be used: it needs the stack balanced between buffer calls, and the
 * encoder pushes fields and values as it walks.
 */
struct jbuf {
    lua_State *L;
    int slot;
    char *p;
    size_t len, cap;
};

static void jb_reserve(struct jbuf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (b->len + n <= b->cap)
        return;
    while (cap < b->len + n)
        cap *= 2;
    p = lua_newuserdatauv(b->L, cap, 0);
    if (b->len > 0)
        memcpy(p, b->p, b->len);
    lua_replace(b->L, b->slot);
    b->p = p;
    b->cap = cap;
}

static void jb_addn(struct jbuf *b, const char *s, size_t n)
{
    jb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void jb_adds(struct jbuf *b, const char *s)
{
    jb_addn(b, s, strlen(s));
}

static void jb_addc(struct jbuf *b, char c)
{
    jb_reserve(b, 1);
    b->p[b->len++] = c;
}

static void add_string(struct jbuf *b, const char *s, size_t n)
{
    char e[TW_JSONESC_MAX];
    size_t k;

    jb_addc(b, '"');
    while ((k = tw_jsonesc_plain(s, n)) < n) {
        jb_addn(b, s, k);
        jb_addn(b, e, tw_jsonesc_byte((unsigned char)s[k], e));
        s += k + 1;
        n -= k + 1;
    }
    jb_addn(b, s, n);
    jb_addc(b, '"');
}

/*
 * Numbers through core/fmt.h (integers and whole cents without printf: most of the cost of a
 * row). Floats keep %.15g..%.17g exactly (tw_fmt_double_g), so -0 stays "-0" here.
 */
static void add_number(lua_State *L, struct jbuf *b, int idx, bool money)
{
    char buf[48];
    double d;

    if (lua_isinteger(L, idx) && !money) {
        jb_addn(b, buf, tw_fmt_int(buf, (int64_t)lua_tointeger(L, idx)));
        return;
    }
    d = lua_tonumber(L, idx);
    if (!isfinite(d)) {
        jb_adds(b, "null");
        return;
    }
    if (money && fabs(d) < 1e15) {
        /* Two decimals, from the nearest whole cent (exact for any realistic amount). */
        jb_addn(b, buf, tw_fmt_money(buf, (int64_t)llround(d * 100.0)));
        return;
    }
    if (money) {
        snprintf(buf, sizeof(buf), "%.2f", d);
        jb_adds(b, buf);
        return;
    }
    jb_addn(b, buf, tw_fmt_double_g(buf, d));
}

static void add_value(lua_State *L, struct jbuf *b, int idx, int fields, const char *type,
                      int depth);

/*
 * The table at idx as an object with the keys of the fields list at fields. It must be a record
 * (keyed by field name): a list, or a table sharing no key with the fields, would otherwise come
 * out as an object of nulls, a silent wrong row.
 */
static void add_object(lua_State *L, struct jbuf *b, int idx, int fields, int depth)
{
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, fields);
    bool any = false;

    if (lua_rawlen(L, idx) > 0)
        luaL_error(L, "tw.json: with fields, a value must be a record (a table keyed by field "
                      "name), not a list; encode a list of records one record at a time");
    jb_addc(b, '{');
    for (i = 1; i <= n; i++) {
        int f, sub;
        const char *name, *type;

        lua_rawgeti(L, fields, i); /* field */
        f = lua_gettop(L);
        if (lua_getfield(L, f, "name") != LUA_TSTRING) /* field name */
            luaL_error(L, "tw.json: fields[%d] has no name", (int)i);
        name = lua_tostring(L, -1);
        lua_getfield(L, f, "type"); /* field name type */
        type = lua_tostring(L, -1);
        lua_getfield(L, f, "fields"); /* field name type sub */
        sub = lua_istable(L, -1) ? lua_gettop(L) : 0;
        if (i > 1)
            jb_addc(b, ',');
        add_string(b, name, strlen(name));
        jb_addc(b, ':');
        if (lua_getfield(L, idx, name) != LUA_TNIL) /* ... value */
            any = true;
        add_value(L, b, lua_gettop(L), sub, type, depth + 1);
        lua_settop(L, f - 1);
    }
    if (!any) {
        lua_pushnil(L);
        if (lua_next(L, idx) != 0)
            luaL_error(L,
                       "tw.json: with fields, a value must be a record, but this table has "
                       "none of the fields' names (first key: %s)",
                       luaL_tolstring(L, -2, NULL));
    }
    jb_addc(b, '}');
}

/* A sequence; each element an object of fields when fields is not 0. */
static void add_array(lua_State *L, struct jbuf *b, int idx, int fields, int depth)
{
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, idx);

    jb_addc(b, '[');
    for (i = 1; i <= n; i++) {
        if (i > 1)
            jb_addc(b, ',');
        lua_rawgeti(L, idx, i);
        if (fields != 0 && lua_istable(L, -1))
            add_object(L, b, lua_gettop(L), fields, depth + 1);
        else
            add_value(L, b, lua_gettop(L), 0, NULL, depth + 1);
        lua_pop(L, 1);
    }
    jb_addc(b, ']');
}

static void add_value(lua_State *L, struct jbuf *b, int idx, int fields, const char *type,
                      int depth)
{
    size_t n;
    const char *s;

    if (depth > MAX_DEPTH)
        luaL_error(L, "tw.json: nested deeper than %d", MAX_DEPTH);
    luaL_checkstack(L, 8, "tw.json");
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        add_string(b, s, n);
        break;
    case LUA_TNUMBER:
        add_number(L, b, idx, type != NULL && type[0] == 'm' && strcmp(type, "money") == 0);
        break;
    case LUA_TBOOLEAN: jb_adds(b, lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TTABLE:
        if (type != NULL && type[0] == 'l' && strcmp(type, "list") == 0)
            add_array(L, b, idx, fields, depth);
        else if (fields != 0)
            add_object(L, b, idx, fields, depth);
        else if (lua_rawlen(L, idx) > 0)
            add_array(L, b, idx, 0, depth);
        else {
            lua_pushnil(L);
            if (lua_next(L, idx) != 0)
                luaL_error(L, "tw.json: a table with keys needs its fields (from header)");
            jb_adds(b, "[]"); /* empty: an empty list */
        }
        break;
    case LUA_TNIL: jb_adds(b, "null"); break;
    default:
        if (lua_touserdata(L, idx) == TW_LUA_NULL) {
            jb_adds(b, "null");
            break;
        }
        luaL_error(L, "tw.json: cannot encode a %s", luaL_typename(L, idx));
    }
}

int tw_lua_json_lj(lua_State *L)
{
    struct jbuf b = { L, 3, NULL, 0, 0 };
    int fields = lua_istable(L, 2) ? 2 : 0;

    luaL_checkany(L, 1);
    if (fields != 0 && !lua_istable(L, 1) && !lua_isnil(L, 1) &&
        lua_touserdata(L, 1) != TW_LUA_NULL)
        return luaL_error(L, "tw.json: with fields, the value must be a record table, not a %s",
                          luaL_typename(L, 1));
    lua_settop(L, 2);
    lua_pushnil(L); /* slot 3: the output */
    add_value(L, &b, 1, fields, NULL, 0);
    lua_pushlstring(L, b.p ? b.p : "", b.len);
    return 1;
}

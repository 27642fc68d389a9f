/*
 * Loading scripts and calling them (lua.h). A script is one file read as source text only
 * (mode "t": a precompiled chunk is refused, so no hand-made bytecode can break the VM), run
 * once under its own _ENV table whose misses fall back to the shared sandbox globals, so the
 * globals one script defines (match, helpers, caches) never leak into another. What the C side
 * needs later lives in one registry table per script (enum tw_lua_slot); a ref is the index of
 * the script in vm->scripts.
 *
 * Every load and call is one tw_lua_protected call of a *_lj function here, which receives
 * its arguments and returns its results through a context struct on the C stack.
 */
#include "lua/lua.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/mem.h"
#include "lua/lua_int.h"

struct load_ctx {
    struct tw_lua_script *s; /* being loaded: kind and chunk set, ref filled here */
    const char *src;         /* the file's bytes */
    size_t len;              /* their count */
    const json_t *params;    /* rules: the params, or NULL for {} */
};

struct call_ctx {
    struct tw_lua_script *s;       /* the script */
    int slot;                      /* TW_SLOT_MAIN, TW_SLOT_HEADER or TW_SLOT_FOOTER */
    const struct tw_record *r;     /* match and row: the record */
    const struct tw_field *fields; /* header: the columns */
    bool match;                    /* rules: the result */
    const char *out;               /* formats: the string returned, or NULL for nil */
    size_t len;                    /* its length */
};

/* "segments/x.lua" for ".../lua/segments/x.lua": the folder and the file, never more. */
static void chunk_name(const char *path, char *out, size_t size)
{
    const char *p = path + strlen(path);
    int slashes = 0;

    while (p > path) {
        if (p[-1] == '/' && ++slashes == 2)
            break;
        p--;
    }
    snprintf(out, size, "%s", p);
}

/* The whole file into *buf (caller frees with tw_free). */
static int read_script(const char *path, const char *chunk, char **buf, size_t *len,
                       struct tw_err *err)
{
    struct stat st;
    ssize_t n;
    size_t got = 0;
    int ret = TW_EIO;
    int fd;

    *buf = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return tw_err_set(err, errno == ENOENT ? TW_ENOTFOUND : TW_EIO,
                          "%s: cannot open %s "
                          "(%s)",
                          chunk, path, strerror(errno));
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        ret = tw_err_set(err, TW_EIO, "%s: %s is not a readable file", chunk, path);
        goto out;
    }
    if (st.st_size > (off_t)TW_LUA_SCRIPT_MAX_BYTES) {
        ret = tw_err_set(err, TW_EIO, "%s: larger than %u bytes", chunk, TW_LUA_SCRIPT_MAX_BYTES);
        goto out;
    }
    *buf = tw_malloc((size_t)st.st_size + 1);
    if (*buf == NULL) {
        ret = tw_err_set(err, TW_ENOMEM, "%s: out of memory reading the script", chunk);
        goto out;
    }
    while (got < (size_t)st.st_size) {
        n = read(fd, *buf + got, (size_t)st.st_size - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = tw_err_set(err, TW_EIO, "%s: cannot read %s (%s)", chunk, path,
                             n == 0 ? "file shrank" : strerror(errno));
            goto out;
        }
        got += (size_t)n;
    }
    *len = got;
    ret = TW_OK;
out:
    if (ret != TW_OK) {
        tw_free(*buf);
        *buf = NULL;
    }
    close(fd);
    return ret;
}

/* t[slot] = env[name] when that is a function or nil; anything else is an error. */
static void take_function_lj(lua_State *L, int t, int env, const char *name, int slot)
{
    int type;

    lua_pushstring(L, name);
    type = lua_rawget(L, env); /* +1 */
    if (type != LUA_TFUNCTION && type != LUA_TNIL) {
        lua_pushfstring(L, "%s must be a function, not a %s", name, luaL_typename(L, -1));
        lua_error(L);
    }
    lua_rawseti(L, t, slot); /* -1 */
}

static int load_lj(lua_State *L)
{
    struct load_ctx *c = lua_touserdata(L, 1);
    struct tw_lua_script *s = c->s;
    const char *main_name = s->kind == TW_LUA_RULE ? "match" : "row";
    int fn;
    int t;
    int env;

    lua_pushfstring(L, "@%s", s->chunk); /* +1: the chunk name; '@' marks a file */
    if (luaL_loadbufferx(L, c->src, c->len, lua_tostring(L, -1), "t") != LUA_OK)
        return lua_error(L); /* a syntax error, or "attempt to load a binary chunk" */
    fn = lua_gettop(L);
    lua_createtable(L, TW_SLOT_COUNT, 0); /* +1: the script's table */
    t = lua_gettop(L);
    lua_createtable(L, 0, 4); /* +1: its _ENV */
    env = lua_gettop(L);
    lua_createtable(L, 0, 1); /* +1: env's metatable: misses read the sandbox globals */
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, env); /* -1 */
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
    lua_pushvalue(L, env);
    lua_rawseti(L, t, TW_SLOT_ENV);
    lua_pushvalue(L, env);
    lua_setupvalue(L, fn, 1); /* a main chunk's only upvalue is its _ENV */
    lua_pushvalue(L, fn);
    lua_call(L, 0, 0); /* run the file: defines the functions */

    take_function_lj(L, t, env, main_name, TW_SLOT_MAIN);
    if (lua_rawgeti(L, t, TW_SLOT_MAIN) != LUA_TFUNCTION) {
        lua_pushfstring(L, "does not define function %s(%s)", main_name,
                        s->kind == TW_LUA_RULE ? "record, params" : "record");
        return lua_error(L);
    }
    lua_pop(L, 1);
    if (s->kind == TW_LUA_RULE) {
        if (c->params != NULL)
            tw_lua_push_json_lj(L, c->params, 0);
        else
            lua_newtable(L);
        lua_rawseti(L, t, TW_SLOT_PARAMS);
    } else {
        take_function_lj(L, t, env, "header", TW_SLOT_HEADER);
        take_function_lj(L, t, env, "footer", TW_SLOT_FOOTER);
    }
    lua_settop(L, t);
    s->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* -1 */
    return 0;
}

/* Load path as a script of kind; on TW_OK it is registered and *ref names it. */
static int load(struct tw_lua *vm, int kind, const char *path, const json_t *params, int *ref,
                struct tw_err *err)
{
    struct tw_lua_script *grown;
    struct load_ctx c = { 0 };
    char *src = NULL;
    int ret;

    if (vm->nscripts == vm->cap) {
        grown = tw_realloc(vm->scripts, (vm->cap ? vm->cap * 2 : 4) * sizeof(*grown));
        if (grown == NULL)
            return tw_err_set(err, TW_ENOMEM, "out of memory loading a Lua script");
        vm->scripts = grown;
        vm->cap = vm->cap ? vm->cap * 2 : 4;
    }
    c.s = &vm->scripts[vm->nscripts];
    memset(c.s, 0, sizeof(*c.s));
    c.s->kind = kind;
    c.s->ref = LUA_NOREF;
    chunk_name(path, c.s->chunk, sizeof(c.s->chunk));
    ret = read_script(path, c.s->chunk, &src, &c.len, err);
    if (ret != TW_OK)
        return ret;
    c.src = src;
    c.params = params;
    ret = tw_lua_protected(vm, load_lj, &c, c.s->chunk, err);
    tw_free(src);
    if (ret != TW_OK)
        return ret;
    *ref = (int)vm->nscripts++;
    return TW_OK;
}

int tw_lua_rule_load(struct tw_lua *vm, const char *path, const char *params_json, int *ref,
                     struct tw_err *err)
{
    json_t *params = NULL;
    json_error_t jerr;
    int ret;

    if (params_json != NULL) {
        params = json_loads(params_json, JSON_DECODE_ANY, &jerr);
        if (params == NULL)
            return tw_err_set(err, TW_EINVAL, "params: invalid JSON (%s)", jerr.text);
    }
    ret = load(vm, TW_LUA_RULE, path, params, ref, err);
    json_decref(params);
    return ret;
}

int tw_lua_format_load(struct tw_lua *vm, const char *path, int *ref, struct tw_err *err)
{
    return load(vm, TW_LUA_FORMAT, path, NULL, ref, err);
}

/* ---------------------------------------------------------------- calls */

/* Raise "<chunk>:<line of the function at fn>: <what> must return <want>, not <type>". */
static int bad_return_lj(lua_State *L, int fn, const char *chunk, const char *what,
                         const char *want)
{
    const char *got = luaL_typename(L, -1);
    lua_Debug ar;

    lua_pushvalue(L, fn);
    lua_getinfo(L, ">S", &ar); /* -1 */
    lua_pushfstring(L, "%s:%d: %s must return %s, not %s", chunk, ar.linedefined, what, want, got);
    return lua_error(L);
}

static int rule_call_lj(lua_State *L)
{
    struct call_ctx *c = lua_touserdata(L, 1);
    int t;
    int fn;

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->s->ref); /* +1 */
    t = lua_gettop(L);
    lua_rawgeti(L, t, TW_SLOT_MAIN); /* +1 */
    fn = lua_gettop(L);
    lua_pushvalue(L, fn);
    tw_lua_push_record_lj(L, t, c->s, c->r);
    lua_rawgeti(L, t, TW_SLOT_PARAMS);
    lua_call(L, 2, 1); /* -3 +1 */
    if (!lua_isboolean(L, -1))
        return bad_return_lj(L, fn, c->s->chunk, "match", "a boolean");
    c->match = lua_toboolean(L, -1);
    return 0;
}

static int format_call_lj(lua_State *L)
{
    static const char *const names[] = {
        [TW_SLOT_MAIN] = "row", [TW_SLOT_HEADER] = "header", [TW_SLOT_FOOTER] = "footer"
    };
    struct call_ctx *c = lua_touserdata(L, 1);
    int nargs = 0;
    int t;
    int fn;

    c->out = NULL;
    c->len = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->s->ref); /* +1 */
    t = lua_gettop(L);
    if (lua_rawgeti(L, t, c->slot) != LUA_TFUNCTION) /* +1 */
        return 0; /* header or footer not defined: nothing to write */
    fn = lua_gettop(L);
    lua_pushvalue(L, fn);
    if (c->slot == TW_SLOT_MAIN) {
        tw_lua_push_record_lj(L, t, c->s, c->r);
        nargs = 1;
    } else if (c->slot == TW_SLOT_HEADER) {
        tw_lua_push_fields_lj(L, c->fields);
        nargs = 1;
    }
    lua_call(L, nargs, 1);
    if (lua_isnil(L, -1))
        return 0;
    if (lua_type(L, -1) != LUA_TSTRING)
        return bad_return_lj(L, fn, c->s->chunk, names[c->slot], "a string or nil");
    lua_pushvalue(L, -1);
    lua_rawseti(L, t, TW_SLOT_OUT); /* keeps the bytes alive for the caller */
    c->out = lua_tolstring(L, -1, &c->len);
    return 0;
}

/* The script ref names when it is of kind; NULL (err set) otherwise. */
static struct tw_lua_script *script_of(struct tw_lua *vm, int ref, int kind, struct tw_err *err)
{
    if (ref < 0 || (size_t)ref >= vm->nscripts || vm->scripts[ref].kind != kind) {
        tw_err_set(err, TW_EINVAL, "Lua script ref %d is not a loaded %s", ref,
                   kind == TW_LUA_RULE ? "segment rule" : "formatter");
        return NULL;
    }
    return &vm->scripts[ref];
}

int tw_lua_rule_call(struct tw_lua *vm, int ref, const struct tw_record *r, bool *match,
                     struct tw_err *err)
{
    struct call_ctx c = { .slot = TW_SLOT_MAIN, .r = r };
    int ret;

    *match = false;
    c.s = script_of(vm, ref, TW_LUA_RULE, err);
    if (c.s == NULL)
        return TW_EINVAL;
    ret = tw_lua_protected(vm, rule_call_lj, &c, c.s->chunk, err);
    if (ret == TW_OK)
        *match = c.match;
    return ret;
}

static int format_call(struct tw_lua *vm, int ref, struct call_ctx *c, const char **out,
                       size_t *len, struct tw_err *err)
{
    int ret;

    *out = NULL;
    *len = 0;
    c->s = script_of(vm, ref, TW_LUA_FORMAT, err);
    if (c->s == NULL)
        return TW_EINVAL;
    ret = tw_lua_protected(vm, format_call_lj, c, c->s->chunk, err);
    if (ret == TW_OK) {
        *out = c->out;
        *len = c->len;
    }
    return ret;
}

int tw_lua_format_header(struct tw_lua *vm, int ref, const struct tw_field *fields,
                         const char **out, size_t *len, struct tw_err *err)
{
    struct call_ctx c = { .slot = TW_SLOT_HEADER, .fields = fields };

    return format_call(vm, ref, &c, out, len, err);
}

int tw_lua_format_row(struct tw_lua *vm, int ref, const struct tw_record *r, const char **out,
                      size_t *len, struct tw_err *err)
{
    struct call_ctx c = { .slot = TW_SLOT_MAIN, .r = r };

    return format_call(vm, ref, &c, out, len, err);
}

int tw_lua_format_footer(struct tw_lua *vm, int ref, const char **out, size_t *len,
                         struct tw_err *err)
{
    struct call_ctx c = { .slot = TW_SLOT_FOOTER };

    return format_call(vm, ref, &c, out, len, err);
}

/*
 * The lua part: every sandbox fixture in tests/lua/segments/ ends in TW_ESCRIPT naming its
 * file and line, within the budget, and a state (the same one or a fresh one) works
 * afterwards; records, fields and params reach Lua with the documented types; the tw.*
 * helpers; formatter header/row/footer, including the shipped ndjson and tsv; the list of
 * installed scripts.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <ftw.h>
#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "lua/lua.h"
#include "plugin/plugin.h"

#define FIXTURE(name) TW_SOURCE_DIR "/tests/lua/segments/" name ".lua"
#define SHIPPED TW_SOURCE_DIR "/lua"
#define RUN_START 1779796800 /* 2026-05-26T12:00:00Z */

static const struct tw_lua_limits limits = { .max_memory = 8u << 20, .max_instructions = 1000000 };

static struct tw_lua *vm;
static char dir[64];

static void setup(void)
{
    struct tw_err err;

    snprintf(dir, sizeof(dir), "/tmp/tw_lua_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(tw_lua_create(&limits, RUN_START, &vm, &err), TW_OK, "%s", err.msg);
}

static int rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    tw_lua_destroy(vm);
    vm = NULL;
    nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(lua, .init = setup, .fini = teardown, .timeout = 30);

/* Write src to <dir>/<rel> (rel like "segments/x.lua") and return the path (static). */
static const char *script(const char *rel, const char *src)
{
    static char path[256];
    char sub[256];
    FILE *fp;

    snprintf(sub, sizeof(sub), "%s/%s", dir, rel);
    *strrchr(sub, '/') = '\0';
    mkdir(sub, 0700);
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(src, fp);
    fclose(fp);
    return path;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- records */

static const struct tw_field money_fields[] = {
    { .name = "total_value", .type = TW_FIELD_MONEY, .flags = TW_FIELD_FILTERABLE },
    { 0 },
};

static const struct tw_field item_fields[] = {
    { .name = "sku", .type = TW_FIELD_KEYWORD },
    { .name = "qty", .type = TW_FIELD_INT },
    { .name = "basket_price", .type = TW_FIELD_MONEY },
    { 0 },
};

static const struct tw_field all_fields[] = {
    { .name = "id", .type = TW_FIELD_INT },
    { .name = "amount", .type = TW_FIELD_MONEY },
    { .name = "ratio", .type = TW_FIELD_NUMBER },
    { .name = "code", .type = TW_FIELD_KEYWORD },
    { .name = "name", .type = TW_FIELD_TEXT },
    { .name = "active", .type = TW_FIELD_BOOL },
    { .name = "day", .type = TW_FIELD_DATE },
    { .name = "at", .type = TW_FIELD_DATETIME },
    { .name = "items", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = item_fields },
    { .name = "note", .type = TW_FIELD_TEXT },
    { 0 },
};

static struct tw_record *money_record(int64_t minor)
{
    struct tw_record *r;
    struct tw_err err;

    cr_assert_eq(tw_record_create(money_fields, &r, &err), TW_OK);
    tw_record_set_money(r, 0, minor);
    return r;
}

static void add_item(struct tw_record *r, const char *sku, int64_t qty, bool qty_null,
                     int64_t price)
{
    cr_assert_eq(tw_record_item_begin(r, 8), TW_OK);
    tw_record_set_text(r, 0, sku, strlen(sku));
    if (!qty_null)
        tw_record_set_int(r, 1, qty);
    tw_record_set_money(r, 2, price);
    cr_assert_eq(tw_record_item_end(r), TW_OK);
}

/* The all-types record: every column set (note too), two items, the second qty null. */
static void fill_all(struct tw_record *r)
{
    static const char name[] = "Zo\xc3\xab \"q\"\ttab\nline\\";

    tw_record_reset(r);
    tw_record_set_int(r, 0, 42);
    tw_record_set_money(r, 1, 1250);
    tw_record_set_double(r, 2, 0.25);
    tw_record_set_text(r, 3, "SKU-1", 5);
    tw_record_set_text(r, 4, name, strlen(name));
    tw_record_set_bool(r, 5, 1);
    tw_record_set_date(r, 6, "2026-05-26", 10);
    tw_record_set_datetime(r, 7, "2026-05-26T12:00:00Z", 20);
    add_item(r, "A", 2, false, 150);
    add_item(r, "B", 0, true, -5);
    tw_record_set_text(r, 9, "n", 1);
    cr_assert_null(tw_record_bad(r), "%s", tw_record_bad(r));
}

/* ---------------------------------------------------------------- the fixtures */

/* Arrays, not pointers: Criterion hands parameters to a re-executed worker process. */
struct fault {
    char name[32];   /* tests/lua/segments/<name>.lua */
    bool at_load;    /* fails in tw_lua_rule_load rather than in the call */
    char where[48];  /* "segments/<name>.lua:<line>:" the message starts with */
    char needle[48]; /* and contains */
};

static struct fault faults[] = {
    { "infinite_loop", false, "segments/infinite_loop.lua:3:", "instruction budget" },
    { "loop_in_pcall", false, "segments/loop_in_pcall.lua:5:", "instruction budget" },
    { "memory_bomb", false, "segments/memory_bomb.lua:5:", "out of memory" },
    { "memory_bomb_caught", false, "segments/memory_bomb_caught.lua:6:", "out of memory" },
    { "os_execute", false, "segments/os_execute.lua:3:", "global 'os'" },
    { "io_open", false, "segments/io_open.lua:3:", "global 'io'" },
    { "load_bytecode", false, "segments/load_bytecode.lua:3:", "field 'dump'" },
    { "require", false, "segments/require.lua:3:", "global 'require'" },
    { "wrong_return", false, "segments/wrong_return.lua:2:",
      "match must return a boolean, "
      "not string" },
    { "runtime_error", false, "segments/runtime_error.lua:4:", "attempt to compare" },
    { "gc_finalizer", false, "segments/gc_finalizer.lua:3:", "__gc" },
    { "error_at_load", true, "segments/error_at_load.lua:3:", "attempt to index a nil value" },
    { "syntax_error", true, "segments/syntax_error.lua:4:", "unexpected symbol" },
    { "no_match", true, "segments/no_match.lua: ", "does not define function match" },
    { "loop_at_load", true, "segments/loop_at_load.lua:3:", "instruction budget" },
};

ParameterizedTestParameters(lua, fixture_fails_cleanly)
{
    return cr_make_param_array(struct fault, faults, sizeof(faults) / sizeof(faults[0]));
}

/* A rule that must work: high_value with min_spend 10 on a record of 12.50. */
static void check_works(struct tw_lua *l)
{
    struct tw_record *r = money_record(1250);
    struct tw_err err;
    bool match = false;
    int ref;

    cr_assert_eq(
        tw_lua_rule_load(l, SHIPPED "/segments/high_value.lua", "{\"min_spend\": 10}", &ref, &err),
        TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(l, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    tw_record_destroy(r);
}

ParameterizedTest(struct fault *f, lua, fixture_fails_cleanly)
{
    char path[512];
    struct tw_record *r = money_record(100);
    struct tw_lua *fresh;
    struct tw_err err;
    bool match = true;
    double t0 = now_s();
    int ret;
    int ref;

    snprintf(path, sizeof(path), TW_SOURCE_DIR "/tests/lua/segments/%s.lua", f->name);
    ret = tw_lua_rule_load(vm, path, NULL, &ref, &err);
    if (!f->at_load) {
        cr_assert_eq(ret, TW_OK, "%s: %s", f->name, err.msg);
        ret = tw_lua_rule_call(vm, ref, r, &match, &err);
        cr_assert_not(match);
    }
    cr_assert_eq(ret, TW_ESCRIPT, "%s: %d %s", f->name, ret, err.msg);
    cr_log_info("%s: %s (%.3f s)", f->name, err.msg, now_s() - t0);
    cr_assert_eq(strncmp(err.msg, f->where, strlen(f->where)), 0, "%s: %s", f->name, err.msg);
    cr_assert(strstr(err.msg, f->needle), "%s: %s", f->name, err.msg);
    cr_assert_lt(now_s() - t0, 10.0, "%s took %.1f s", f->name, now_s() - t0);
    cr_assert_leq(tw_lua_memory(vm), limits.max_memory);

    check_works(vm); /* the same state carries on */
    cr_assert_eq(tw_lua_create(&limits, RUN_START, &fresh, &err), TW_OK, "%s", err.msg);
    check_works(fresh);
    tw_lua_destroy(fresh);
    tw_record_destroy(r);
}

Test(lua, budget_is_per_call_and_repeats)
{
    struct tw_record *r = money_record(1);
    struct tw_err err;
    bool match;
    int spin;
    int i;

    cr_assert_eq(tw_lua_rule_load(vm, FIXTURE("loop_in_pcall"), NULL, &spin, &err), TW_OK);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(tw_lua_rule_call(vm, spin, r, &match, &err), TW_ESCRIPT);
        cr_assert(strstr(err.msg, "lua.max_instructions 1000000"), "%s", err.msg);
        check_works(vm);
    }
    tw_record_destroy(r);
}

Test(lua, the_sandbox_has_only_the_allowed_libraries)
{
    struct tw_record *r = money_record(1);
    struct tw_err err;
    bool match = false;
    int ref;
    const char *p = script(
        "segments/probe.lua",
        "function match(r, p)\n"
        "  assert(io == nil and os == nil and debug == nil and package == nil)\n"
        "  assert(coroutine == nil, 'coroutine')\n"
        "  assert(load == nil and loadfile == nil and dofile == nil and require == nil)\n"
        "  assert(collectgarbage == nil and string.dump == nil, 'gc/dump')\n"
        "  assert(type(string.format) == 'function' and type(table.concat) == 'function')\n"
        "  assert(type(math.floor) == 'function' and type(utf8.char) == 'function')\n"
        "  assert(type(pcall) == 'function' and type(setmetatable) == 'function')\n"
        "  assert(getmetatable('') == false, 'string metatable hidden')\n"
        "  assert(('abc'):upper() == 'ABC', 'string methods')\n"
        "  assert(_G == _ENV, '_G is the script env')\n"
        "  leaked = true\n"
        "  return true\n"
        "end\n");

    cr_assert_eq(tw_lua_rule_load(vm, p, NULL, &ref, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    /* Globals of one script are invisible to the next. */
    p = script("segments/other.lua", "function match(r, p) return leaked == nil end\n");
    cr_assert_eq(tw_lua_rule_load(vm, p, NULL, &ref, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    tw_record_destroy(r);
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    (void)L;
    return fwrite(p, 1, sz, ud) == sz ? 0 : 1;
}

Test(lua, bytecode_files_are_refused)
{
    lua_State *L = luaL_newstate();
    char path[256];
    struct tw_err err;
    FILE *fp;
    int ref;

    script("segments/compiled.lua", "");
    snprintf(path, sizeof(path), "%s/segments/compiled.lua", dir);
    fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(luaL_loadstring(L, "function match(r, p) return true end"), LUA_OK);
    cr_assert_eq(lua_dump(L, dump_writer, fp, 0), 0);
    fclose(fp);
    lua_close(L);

    cr_assert_eq(tw_lua_rule_load(vm, path, NULL, &ref, &err), TW_ESCRIPT);
    cr_assert(strstr(err.msg, "segments/compiled.lua: "), "%s", err.msg);
    cr_assert(strstr(err.msg, "binary chunk"), "%s", err.msg);
}

Test(lua, load_errors)
{
    struct tw_err err;
    int ref;

    cr_assert_eq(tw_lua_rule_load(vm, FIXTURE("no_such_script"), NULL, &ref, &err), TW_ENOTFOUND);
    cr_assert(strstr(err.msg, "segments/no_such_script.lua"), "%s", err.msg);
    cr_assert_eq(tw_lua_rule_load(vm, SHIPPED "/segments/high_value.lua", "{bad", &ref, &err),
                 TW_EINVAL);
    cr_assert_eq(tw_lua_format_load(vm, FIXTURE("high_value_missing"), &ref, &err), TW_ENOTFOUND);
    /* A rule is not a formatter, and refs are checked. */
    cr_assert_eq(tw_lua_rule_load(vm, SHIPPED "/segments/high_value.lua", NULL, &ref, &err), TW_OK,
                 "%s", err.msg);
    cr_assert_eq(tw_lua_format_footer(vm, ref, &(const char *){ NULL }, &(size_t){ 0 }, &err),
                 TW_EINVAL);
    cr_assert_eq(tw_lua_rule_call(vm, ref + 1, NULL, &(bool){ false }, &err), TW_EINVAL);
    cr_assert_eq(tw_lua_rule_call(vm, -1, NULL, &(bool){ false }, &err), TW_EINVAL);
}

Test(lua, tiny_memory_cap_fails_at_create)
{
    struct tw_lua_limits tiny = { .max_memory = 4096, .max_instructions = 1000 };
    struct tw_lua *l = NULL;
    struct tw_err err;

    cr_assert_eq(tw_lua_create(&tiny, 0, &l, &err), TW_ENOMEM);
    cr_assert_null(l);
    cr_assert(strstr(err.msg, "max_memory"), "%s", err.msg);
    tw_lua_destroy(NULL);
}

/* Every allocation failing in turn: create, load, call, format either work or fail cleanly. */
Test(lua, allocation_failures_are_handled)
{
    struct tw_record *r;
    struct tw_lua *l;
    struct tw_err err;
    const char *out;
    size_t len;
    bool match;
    unsigned long n;
    int rule;
    int fmt;
    int ret;

    cr_assert_eq(tw_record_create(all_fields, &r, &err), TW_OK);
    fill_all(r);
    for (n = 1;; n++) {
        tw_mem_fail_after(n);
        ret = tw_lua_create(&limits, RUN_START, &l, &err);
        if (ret == TW_OK)
            ret = tw_lua_rule_load(l, SHIPPED "/segments/high_value.lua", "{\"min_spend\": 1}",
                                   &rule, &err);
        if (ret == TW_OK)
            ret = tw_lua_rule_call(l, rule, r, &match, &err);
        if (ret == TW_OK)
            ret = tw_lua_format_load(l, SHIPPED "/formats/ndjson.lua", &fmt, &err);
        if (ret == TW_OK)
            ret = tw_lua_format_header(l, fmt, all_fields, &out, &len, &err);
        if (ret == TW_OK)
            ret = tw_lua_format_row(l, fmt, r, &out, &len, &err);
        tw_mem_fail_after(0);
        if (ret != TW_OK)
            cr_assert(ret == TW_ENOMEM || ret == TW_ESCRIPT, "n=%lu: %d %s", n, ret, err.msg);
        if (ret != TW_ENOMEM && ret != TW_OK)
            cr_assert(strstr(err.msg, "memory"), "n=%lu: %s", n, err.msg);
        tw_lua_destroy(l); /* NULL when create failed */
        if (ret == TW_OK)
            break;
    }
    cr_log_info("allocation failures: all %lu handled", n - 1);
    tw_record_destroy(r);
}

/* ---------------------------------------------------------------- conversion */

static const char *const describe_src =
    "local cols\n"
    "local function show(v)\n"
    "  if v == tw.null then return 'null' end\n"
    "  if type(v) == 'number' then\n"
    "    return math.type(v) .. '=' .. string.format(math.type(v) == 'integer' and '%d' or\n"
    "                                                '%.15g', v)\n"
    "  end\n"
    "  if type(v) == 'table' then\n"
    "    local t = {}\n"
    "    for i, it in ipairs(v) do\n"
    "      t[i] = '{' .. show(it.sku) .. ',' .. show(it.qty) .. ','\n"
    "             .. show(it.basket_price) .. '}'\n"
    "    end\n"
    "    return '[' .. table.concat(t, ',') .. ']'\n"
    "  end\n"
    "  return type(v) .. '=' .. tostring(v)\n"
    "end\n"
    "function header(fields)\n"
    "  cols = fields\n"
    "  local t = {}\n"
    "  for i, f in ipairs(fields) do\n"
    "    t[i] = f.name .. ':' .. f.type\n"
    "    if f.fields then\n"
    "      local s = {}\n"
    "      for j, g in ipairs(f.fields) do s[j] = g.name .. ':' .. g.type end\n"
    "      t[i] = t[i] .. '(' .. table.concat(s, ',') .. ')'\n"
    "    end\n"
    "  end\n"
    "  return table.concat(t, ' ')\n"
    "end\n"
    "function row(r)\n"
    "  if r.id == 0 then return nil end\n"
    "  local t = {}\n"
    "  for i, f in ipairs(cols) do t[i] = f.name .. '=' .. show(r[f.name]) end\n"
    "  return table.concat(t, ' ')\n"
    "end\n"
    "function footer() return 'done' end\n";

static void expect_out(int ret, const struct tw_err *err, const char *out, size_t len,
                       const char *want)
{
    cr_assert_eq(ret, TW_OK, "%s", err->msg);
    cr_assert_not_null(out);
    cr_assert_eq(len, strlen(want), "got [%.*s]", (int)len, out);
    cr_assert_eq(memcmp(out, want, len), 0, "got [%.*s]\nwant [%s]", (int)len, out, want);
}

Test(lua, record_fields_and_formatter_calls)
{
    struct tw_record *r;
    struct tw_err err;
    const char *out;
    size_t len;
    int ref;
    int ret;

    cr_assert_eq(tw_record_create(all_fields, &r, &err), TW_OK);
    cr_assert_eq(tw_lua_format_load(vm, script("formats/describe.lua", describe_src), &ref, &err),
                 TW_OK, "%s", err.msg);
    ret = tw_lua_format_header(vm, ref, all_fields, &out, &len, &err);
    expect_out(ret, &err, out, len,
               "id:int amount:money ratio:number code:keyword name:text active:bool day:date "
               "at:datetime items:list(sku:keyword,qty:int,basket_price:money) note:text");

    fill_all(r);
    ret = tw_lua_format_row(vm, ref, r, &out, &len, &err);
    expect_out(ret, &err, out, len,
               "id=integer=42 amount=float=12.5 ratio=float=0.25 code=string=SKU-1 "
               "name=string=Zo\xc3\xab \"q\"\ttab\nline\\ active=boolean=true "
               "day=string=2026-05-26 at=string=2026-05-26T12:00:00Z "
               "items=[{string=A,integer=2,float=1.5},{string=B,null,float=-0.05}] "
               "note=string=n");

    /* The reused table is refilled: fewer items, nulls where values were. */
    tw_record_reset(r);
    tw_record_set_int(r, 0, 7);
    add_item(r, "C", 1, false, 0);
    ret = tw_lua_format_row(vm, ref, r, &out, &len, &err);
    expect_out(ret, &err, out, len,
               "id=integer=7 amount=null ratio=null code=null name=null active=null day=null "
               "at=null items=[{string=C,integer=1,float=0}] note=null");

    tw_record_reset(r);
    tw_record_set_int(r, 0, 8);
    tw_record_set_bool(r, 5, 0);
    ret = tw_lua_format_row(vm, ref, r, &out, &len, &err);
    expect_out(ret, &err, out, len,
               "id=integer=8 amount=null ratio=null code=null name=null active=boolean=false "
               "day=null at=null items=[] note=null");

    /* nil declines the record. */
    tw_record_reset(r);
    tw_record_set_int(r, 0, 0);
    cr_assert_eq(tw_lua_format_row(vm, ref, r, &out, &len, &err), TW_OK, "%s", err.msg);
    cr_assert_null(out);
    cr_assert_eq(len, 0);

    ret = tw_lua_format_footer(vm, ref, &out, &len, &err);
    expect_out(ret, &err, out, len, "done");
    tw_record_destroy(r);
}

Test(lua, record_table_is_reused_between_calls)
{
    struct tw_record *r = money_record(1);
    struct tw_err err;
    bool same = true;
    int ref;
    const char *p = script("segments/same.lua",
                           "local last\n"
                           "function match(r, p) local same = last == r; last = r; return same "
                           "end\n");

    cr_assert_eq(tw_lua_rule_load(vm, p, NULL, &ref, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &same, &err), TW_OK, "%s", err.msg);
    cr_assert_not(same);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &same, &err), TW_OK, "%s", err.msg);
    cr_assert(same);
    tw_record_destroy(r);
}

Test(lua, params_reach_lua_typed)
{
    struct tw_record *r = money_record(1);
    struct tw_err err;
    bool match = false;
    int ref;
    const char *p = script("segments/params.lua",
                           "function match(r, p)\n"
                           "  assert(math.type(p.n) == 'integer' and p.n == 3, 'n')\n"
                           "  assert(math.type(p.f) == 'float' and p.f == 1.5, 'f')\n"
                           "  assert(p.s == 'x' and p.b == true and p.no == false, 's b no')\n"
                           "  assert(p.z == tw.null, 'z')\n"
                           "  assert(#p.a == 3 and p.a[1] == 1 and p.a[3].k == 'v', 'a')\n"
                           "  assert(p.o.q.r == 1, 'o')\n"
                           "  return true\n"
                           "end\n");

    cr_assert_eq(tw_lua_rule_load(vm, p,
                                  "{\"n\": 3, \"f\": 1.5, \"s\": \"x\", \"b\": true, \"no\": "
                                  "false, \"z\": null, \"a\": [1, 2, {\"k\": \"v\"}], \"o\": "
                                  "{\"q\": {\"r\": 1}}}",
                                  &ref, &err),
                 TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    /* No params: an empty table. */
    cr_assert_eq(tw_lua_rule_load(vm, SHIPPED "/segments/high_value.lua", NULL, &ref, &err), TW_OK);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    tw_record_destroy(r);
}

/* ---------------------------------------------------------------- tw.* */

Test(lua, tw_helpers)
{
    struct tw_record *r = money_record(1);
    struct tw_err err;
    bool match = false;
    char line[4096];
    int lines = 0;
    int hello = 0;
    FILE *log = tmpfile();
    int ref;
    const char *p = script(
        "segments/helpers.lua",
        "function match(r, p)\n"
        "  assert(tw.now() == 1779796800 and math.type(tw.now()) == 'integer', 'now')\n"
        "  assert(tw.format_time(1779796800) == '2026-05-26T12:00:00Z', 'format_time')\n"
        "  assert(tw.format_time(1779796800.0) == '2026-05-26T12:00:00Z', 'float')\n"
        "  assert(tw.format_date(1779796800) == '2026-05-26', 'format_date')\n"
        "  assert(tw.parse_time('2026-05-26T12:00:00Z') == 1779796800, 'parse Z')\n"
        "  assert(tw.parse_time('2026-05-26T14:00:00+02:00') == 1779796800, 'parse +02')\n"
        "  assert(tw.parse_time('2026-05-26') == 1779753600, 'parse date')\n"
        "  assert(tw.parse_time('1960-01-01') == -315619200, 'before 1970')\n"
        "  assert(tw.format_date(-315619200) == '1960-01-01', 'format before 1970')\n"
        "  local t, why = tw.parse_time('not a date')\n"
        "  assert(t == nil and type(why) == 'string', 'bad text')\n"
        "  assert(tw.parse_time('2026-02-30') == nil, 'no such day')\n"
        "  assert(not pcall(tw.format_time, 1.5), 'fraction')\n"
        "  assert(not pcall(tw.format_time, 1e15), 'range')\n"
        "  assert(type(tw.null) == 'userdata' and tw.null ~= nil, 'null')\n"
        "  tw.log('hello from', 'lua', 42)\n"
        "  print('printed')\n"
        "  for i = 1, 1200 do tw.log('spam', i) end\n"
        "  return true\n"
        "end\n");

    cr_assert_not_null(log);
    tw_log_set_stream(log);
    cr_assert_eq(tw_lua_rule_load(vm, p, NULL, &ref, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    tw_log_set_stream(NULL);
    cr_assert(match);
    rewind(log);
    while (fgets(line, sizeof(line), log) != NULL) {
        lines++;
        if (strstr(line, "\"msg\":\"hello from\\tlua\\t42\"")) {
            hello++;
            cr_assert(strstr(line, "\"script\":\"segments/helpers.lua:17\""), "%s", line);
        }
    }
    fclose(log);
    cr_assert_eq(hello, 1);
    cr_assert_eq(lines, TW_LUA_LOG_MAX_LINES + 1, "%d lines", lines); /* + the cap notice */
    tw_record_destroy(r);
}

Test(lua, tw_json_encodes_in_column_order)
{
    struct tw_record *r = money_record(1);
    struct tw_err err;
    bool match = false;
    int ref;
    const char *p = script(
        "segments/json.lua",
        "local F = { {name='b', type='money'}, {name='a', type='text'},\n"
        "            {name='l', type='list', fields={ {name='x', type='int'} }},\n"
        "            {name='n', type='int'} }\n"
        "function match(r, p)\n"
        "  local a = 'q' .. string.char(34, 92, 10, 1)\n"
        "  local want = [[{\"b\":12.50,\"a\":\"q\\\"\\\\\\n\\u0001\",\"l\":[{\"x\":1},{\"x\":2}],\"n\":null}]]\n"
        "  local s = tw.json({a=a, b=12.5, l={{x=1},{x=2}}, n=tw.null}, F)\n"
        "  assert(s == want, s)\n"
        "  assert(tw.json({1, 2.5, 'x', true}) == '[1,2.5,\"x\",true]', 'array')\n"
        "  assert(tw.json({}) == '[]', 'empty')\n"
        "  assert(tw.json(0.1) == '0.1' and tw.json(1/0) == 'null', 'numbers')\n"
        "  assert(not pcall(tw.json, {k=1}), 'keys need fields')\n"
        "  local deep = {}\n"
        "  local t = deep\n"
        "  for i = 1, 40 do t[1] = {}; t = t[1] end\n"
        "  assert(not pcall(tw.json, deep), 'depth')\n"
        "  return true\n"
        "end\n");

    cr_assert_eq(tw_lua_rule_load(vm, p, NULL, &ref, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    tw_record_destroy(r);
}

/* Issue 11 #20: with fields, anything but a record used to come out as an object of nulls. */
Test(lua, tw_json_with_fields_refuses_what_is_not_a_record)
{
    struct tw_record *r = money_record(1);
    struct tw_err err;
    bool match = false;
    int ref;
    const char *p = script(
        "segments/json_shapes.lua",
        "local F = { {name='a', type='int'}, {name='l', type='list', fields={ {name='x', type='int'} }} }\n"
        "local function fails(v, words)\n"
        "  local ok, msg = pcall(tw.json, v, F)\n"
        "  assert(not ok, 'accepted: ' .. tostring(v))\n"
        "  assert(string.find(msg, words, 1, true), msg)\n"
        "end\n"
        "function match(r, p)\n"
        "  fails({{a=1}, {a=2}}, 'not a list')\n"
        "  fails({1, 2, 3}, 'not a list')\n"
        "  fails({b=1}, 'none of the fields')\n"
        "  fails({[5]=1}, 'none of the fields')\n"
        "  fails('text', 'not a string')\n"
        "  fails({a=1, l={{1, 2}}}, 'not a list')\n"
        "  assert(tw.json({a=1, b=2}, F) == '{\"a\":1,\"l\":null}', 'extra keys are dropped')\n"
        "  assert(tw.json({}, F) == '{\"a\":null,\"l\":null}', 'an all-null record')\n"
        "  assert(tw.json(tw.null, F) == 'null', 'null')\n"
        "  return true\n"
        "end\n");

    cr_assert_eq(tw_lua_rule_load(vm, p, NULL, &ref, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    tw_record_destroy(r);
}

/* ---------------------------------------------------------------- formatters */

Test(lua, format_returning_a_number_fails)
{
    struct tw_record *r = money_record(1);
    struct tw_err err;
    const char *out = "x";
    size_t len = 9;
    int ref;
    const char *p = script("formats/bad.lua", "function row(r)\n  return 42\nend\n");

    cr_assert_eq(tw_lua_format_load(vm, p, &ref, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_format_header(vm, ref, money_fields, &out, &len, &err), TW_OK);
    cr_assert_null(out); /* no header function: nothing */
    cr_assert_eq(tw_lua_format_row(vm, ref, r, &out, &len, &err), TW_ESCRIPT);
    cr_assert_str_eq(err.msg, "formats/bad.lua:1: row must return a string or nil, not number");
    cr_assert_null(out);
    p = script("formats/norow.lua", "function header(f) return 'h' end\nfooter = 3\n");
    cr_assert_eq(tw_lua_format_load(vm, p, &ref, &err), TW_ESCRIPT);
    cr_assert(strstr(err.msg, "formats/norow.lua: "), "%s", err.msg);
    tw_record_destroy(r);
}

Test(lua, shipped_ndjson)
{
    struct tw_record *r;
    struct tw_err err;
    json_error_t jerr;
    json_t *o;
    json_t *items;
    const char *out;
    size_t len;
    int ref;

    cr_assert_eq(tw_record_create(all_fields, &r, &err), TW_OK);
    cr_assert_eq(tw_lua_format_load(vm, SHIPPED "/formats/ndjson.lua", &ref, &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(tw_lua_format_header(vm, ref, all_fields, &out, &len, &err), TW_OK);
    cr_assert_null(out);
    fill_all(r);
    tw_record_set_double(r, 2, 0.1);
    cr_assert_eq(tw_lua_format_row(vm, ref, r, &out, &len, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(out[len - 1], '\n');
    cr_assert_eq(memchr(out, '\n', len), out + len - 1, "one line");
    cr_assert(strstr(out, "\"amount\":12.50,"), "%.*s", (int)len, out);
    cr_assert(strstr(out, "\"ratio\":0.1,"), "%.*s", (int)len, out);
    cr_assert(strstr(out, "\"basket_price\":-0.05}"), "%.*s", (int)len, out);
    cr_assert(strstr(out, "\"name\":\"Zo\xc3\xab \\\"q\\\"\\ttab\\nline\\\\\""), "%.*s", (int)len,
              out);
    o = json_loadb(out, len, 0, &jerr);
    cr_assert_not_null(o, "%s: %.*s", jerr.text, (int)len, out);
    cr_assert_eq(json_integer_value(json_object_get(o, "id")), 42);
    cr_assert(json_is_true(json_object_get(o, "active")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "at")), "2026-05-26T12:00:00Z");
    items = json_object_get(o, "items");
    cr_assert_eq(json_array_size(items), 2);
    cr_assert(json_is_null(json_object_get(json_array_get(items, 1), "qty")));
    json_decref(o);

    tw_record_reset(r);
    tw_record_set_int(r, 0, 1);
    tw_record_set_text(r, 4, "\x01", 1);
    cr_assert_eq(tw_lua_format_row(vm, ref, r, &out, &len, &err), TW_OK, "%s", err.msg);
    expect_out(TW_OK, &err, out, len,
               "{\"id\":1,\"amount\":null,\"ratio\":null,\"code\":null,\"name\":\"\\u0001\","
               "\"active\":null,\"day\":null,\"at\":null,\"items\":[],\"note\":null}\n");
    cr_assert_eq(tw_lua_format_footer(vm, ref, &out, &len, &err), TW_OK);
    cr_assert_null(out);
    tw_record_destroy(r);
}

Test(lua, shipped_tsv)
{
    struct tw_record *r;
    struct tw_err err;
    const char *out;
    size_t len;
    int ref;
    int ret;

    cr_assert_eq(tw_record_create(all_fields, &r, &err), TW_OK);
    cr_assert_eq(tw_lua_format_load(vm, SHIPPED "/formats/tsv.lua", &ref, &err), TW_OK, "%s",
                 err.msg);
    ret = tw_lua_format_header(vm, ref, all_fields, &out, &len, &err);
    expect_out(ret, &err, out, len,
               "id\tamount\tratio\tcode\tname\tactive\tday\tat\tnote\titem_sku\titem_qty\t"
               "item_price\n");
    fill_all(r);
    ret = tw_lua_format_row(vm, ref, r, &out, &len, &err);
    expect_out(ret, &err, out, len,
               "42\t12.50\t0.25\tSKU-1\tZo\xc3\xab \"q\"\\ttab\\nline\\\\\ttrue\t2026-05-26\t"
               "2026-05-26T12:00:00Z\tn\tA\t2\t1.50\n"
               "42\t12.50\t0.25\tSKU-1\tZo\xc3\xab \"q\"\\ttab\\nline\\\\\ttrue\t2026-05-26\t"
               "2026-05-26T12:00:00Z\tn\tB\t\t-0.05\n");
    tw_record_reset(r);
    tw_record_set_int(r, 0, 5);
    ret = tw_lua_format_row(vm, ref, r, &out, &len, &err);
    expect_out(ret, &err, out, len, "5\t\t\t\t\t\t\t\t\t\t\t\n");
    tw_record_destroy(r);
}

Test(lua, shipped_segments)
{
    struct tw_record *r;
    struct tw_err err;
    bool match = false;
    int ref;

    r = money_record(49999);
    cr_assert_eq(tw_lua_rule_load(vm, SHIPPED "/segments/high_value.lua", "{\"min_spend\": 500}",
                                  &ref, &err),
                 TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert_not(match);
    tw_record_set_money(r, 0, 50000);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    tw_record_set_null(r, 0);
    cr_assert_eq(tw_lua_rule_call(vm, ref, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert_not(match);
    tw_record_destroy(r);
}

Test(lua, shipped_segments_on_transactions)
{
    static const struct tw_field tx_items[] = {
        { .name = "retailer_product_code", .type = TW_FIELD_KEYWORD },
        { .name = "quantity", .type = TW_FIELD_INT },
        { 0 },
    };
    static const struct tw_field tx[] = {
        { .name = "timestamp", .type = TW_FIELD_DATETIME },
        { .name = "total_value", .type = TW_FIELD_MONEY },
        { .name = "items", .type = TW_FIELD_LIST, .flags = TW_FIELD_NESTED, .nested = tx_items },
        { 0 },
    };
    struct tw_record *r;
    struct tw_err err;
    bool match = false;
    int recent;
    int bought;

    cr_assert_eq(tw_record_create(tx, &r, &err), TW_OK);
    cr_assert_eq(
        tw_lua_rule_load(vm, SHIPPED "/segments/recent_buyer.lua", "{\"days\": 7}", &recent, &err),
        TW_OK, "%s", err.msg);
    cr_assert_eq(tw_lua_rule_load(vm, SHIPPED "/segments/bought_product.lua",
                                  "{\"codes\": [\"SKU-1\", \"SKU-2\"], \"min_quantity\": 2}",
                                  &bought, &err),
                 TW_OK, "%s", err.msg);
    tw_record_set_time(r, 0, RUN_START - 6 * 86400);
    tw_record_set_money(r, 1, 100);
    cr_assert_eq(tw_record_item_begin(r, 2), TW_OK);
    tw_record_set_text(r, 0, "SKU-2", 5);
    tw_record_set_int(r, 1, 1);
    tw_record_item_end(r);
    cr_assert_eq(tw_lua_rule_call(vm, recent, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    cr_assert_eq(tw_lua_rule_call(vm, bought, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert_not(match);
    cr_assert_eq(tw_record_item_begin(r, 2), TW_OK);
    tw_record_set_text(r, 0, "SKU-1", 5);
    tw_record_set_int(r, 1, 1);
    tw_record_item_end(r);
    cr_assert_eq(tw_lua_rule_call(vm, bought, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert(match);
    tw_record_set_time(r, 0, RUN_START - 8 * 86400);
    cr_assert_eq(tw_lua_rule_call(vm, recent, r, &match, &err), TW_OK, "%s", err.msg);
    cr_assert_not(match);
    tw_record_destroy(r);
}

/* ---------------------------------------------------------------- names */

Test(lua, names)
{
    char **names;
    struct tw_err err;
    char sub[128];

    script("segments/b.lua", "");
    script("segments/a-1.lua", "");
    script("segments/bad.name.lua", "");
    script("segments/notes.txt", "");
    script("segments/.hidden.lua", "");
    snprintf(sub, sizeof(sub), "%s/segments/dir.lua", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof(sub), "%s/segments", dir);
    cr_assert_eq(tw_lua_names(sub, &names, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(names[0], "a-1");
    cr_assert_str_eq(names[1], "b");
    cr_assert_null(names[2]);
    tw_lua_names_destroy(names);

    snprintf(sub, sizeof(sub), "%s/none", dir);
    cr_assert_eq(tw_lua_names(sub, &names, &err), TW_OK, "%s", err.msg);
    cr_assert_null(names[0]);
    tw_lua_names_destroy(names);
    tw_lua_names_destroy(NULL);

    cr_assert_eq(tw_lua_names(SHIPPED "/formats", &names, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(names[0], "ndjson");
    cr_assert_str_eq(names[1], "tsv");
    tw_lua_names_destroy(names);
}

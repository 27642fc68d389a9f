/*
 * The Lua state of one run (lua.h): capped allocator, per-call instruction budget, and the
 * protected-call wrapper every entry point goes through.
 *
 * Memory: every byte goes through vm_alloc, which refuses growth beyond lua.max_memory; Lua
 * then runs an emergency collection, retries the same request once and raises "not enough
 * memory" if that fails too. A refusal that is not rescued by its retry (the retry fails, or
 * Lua raised without retrying) marks the call as out of memory, so a script that catches the
 * error with pcall still fails the call.
 *
 * Instructions: a count hook fires every HOOK_STEP instructions (fewer when the budget is
 * nearly spent) and adds them up. When the budget is gone it records where, re-arms itself to
 * fire on every instruction and raises; a script that catches that with pcall hits it again
 * on its very next instruction, and the exhausted flag fails the call regardless (Redis's
 * trick). C functions are not interrupted by the budget (a slow string.rep finishes first);
 * the CPU-time limit (cpu.c) covers those.
 *
 * Every call into Lua, including building the state, runs inside lua_pcall of a C function,
 * so a memory error while pushing a record is an ordinary script failure, never a panic.
 */
#include "lua/lua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/log.h"
#include "core/mem.h"
#include "lua/lua_int.h"

#define HOOK_STEP 10000 /* instructions between two budget checks */

/* ---------------------------------------------------------------- memory */

/* "src:line" of the innermost Lua function running on L, or "" when there is none. */
static void where_now(lua_State *L, char *out, size_t size)
{
    lua_Debug ar;
    int level;

    out[0] = '\0';
    for (level = 0; lua_getstack(L, level, &ar); level++) {
        /* "Sl" reads the call info only: it neither allocates nor raises. */
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(out, size, "%s:%d", ar.short_src, ar.currentline);
            return;
        }
    }
}

/* Is this the request refused last (which Lua retries once after an emergency collection)? */
static bool same_request(const struct tw_lua *vm, const void *ptr, size_t osize, size_t nsize)
{
    return vm->refused_ptr == ptr && vm->refused_osize == osize && vm->refused_nsize == nsize;
}

static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct tw_lua *vm = ud;
    void *p;

    if (ptr == NULL)
        osize = 0; /* osize is a type tag here, not a size */
    if (nsize == 0) {
        tw_free(ptr);
        vm->mem_used -= osize;
        return NULL;
    }
    if (nsize <= osize) {
        p = tw_realloc(ptr, nsize);
        /* Lua assumes a shrink never fails: keep the old block, which is big enough. */
        vm->mem_used -= osize - nsize;
        return p != NULL ? p : ptr;
    }
    if (vm->mem_used + (nsize - osize) > vm->mem_max) {
        if (!vm->refused) {
            vm->refused = true;
            vm->refused_ptr = ptr;
            vm->refused_osize = osize;
            vm->refused_nsize = nsize;
            /*
             * Remember the script line now: Lua does not call the message handler for memory
             * errors, and after the unwind the stack is gone. The call info is consistent
             * whenever Lua allocates (it saves the pc before anything that can raise).
             */
            if (vm->in_call && vm->L != NULL && vm->where[0] == '\0')
                where_now(vm->L, vm->where, sizeof(vm->where));
        } else if (same_request(vm, ptr, osize, nsize)) {
            vm->oom = true; /* the retry after the emergency collection failed as well */
        }
        return NULL;
    }
    p = tw_realloc(ptr, nsize);
    if (p == NULL)
        return NULL; /* the process itself is out of memory: Lua raises LUA_ERRMEM */
    if (vm->refused && same_request(vm, ptr, osize, nsize)) {
        /* The retry after the emergency collection worked: that refusal was no failure. */
        vm->refused = false;
        if (!vm->exhausted && !vm->oom)
            vm->where[0] = '\0';
    }
    vm->mem_used += nsize - osize;
    return p;
}

/* ---------------------------------------------------------------- instruction budget */

static void count_hook(lua_State *L, lua_Debug *ar)
{
    struct tw_lua *vm = tw_lua_of(L);
    uint64_t left;

    if (vm->cpu_out) {
        /* The CPU-time limit (cpu.c): like the budget, every instruction raises from now on. */
        if (vm->where[0] == '\0' && lua_getinfo(L, "Sl", ar))
            snprintf(vm->where, sizeof(vm->where), "%s:%d", ar->short_src, ar->currentline);
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
        lua_pushstring(L, "CPU time limit exceeded");
        lua_error(L);
    }
    if (!vm->exhausted) {
        vm->insn_used += (uint64_t)vm->hook_step;
        if (vm->insn_used < vm->insn_max) {
            left = vm->insn_max - vm->insn_used;
            vm->hook_step = left < HOOK_STEP ? (int)left : HOOK_STEP;
            lua_sethook(L, count_hook, LUA_MASKCOUNT, vm->hook_step);
            return;
        }
        vm->exhausted = true;
        if (lua_getinfo(L, "Sl", ar))
            snprintf(vm->where, sizeof(vm->where), "%s:%d", ar->short_src, ar->currentline);
        /* From now on every instruction raises, so pcall in the script cannot get past it. */
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    }
    lua_pushstring(L, "instruction budget exhausted");
    lua_error(L);
}

void tw_lua_stop_async(struct tw_lua *vm)
{
    vm->cpu_out = 1;
    lua_sethook(vm->L, count_hook, LUA_MASKCOUNT, 1);
}

/* ---------------------------------------------------------------- errors */

/* Does msg start with a position, "<chunk>:<line>:", that Lua or we already added? */
static bool has_position(const char *msg)
{
    const char *p = strchr(msg, ':');

    if (p == NULL || p == msg || p[1] < '0' || p[1] > '9')
        return false;
    for (p++; *p >= '0' && *p <= '9'; p++)
        ;
    return *p == ':';
}

/*
 * Message handler of every protected call: the error as one line starting with the position
 * of the innermost Lua function when the message has none (errors from C functions, error()
 * with level 0, non-string error values). No traceback: the line goes into err->msg.
 */
static int msgh_lj(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    char where[TW_LUA_WHERE_MAX];

    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (has_position(msg))
        return 1;
    where_now(L, where, sizeof(where));
    if (where[0] != '\0')
        lua_pushfstring(L, "%s: %s", where, msg);
    return 1;
}

/* Fill err from a failed call: budget, then memory, then whatever the script raised. */
static int call_error(struct tw_lua *vm, int rc, const char *chunk, struct tw_err *err)
{
    const char *where = vm->where[0] != '\0' ? vm->where : chunk;
    const char *msg;

    if (vm->cpu_out)
        return tw_err_set(err, TW_ESCRIPT,
                          "%s: script exceeded its CPU time limit "
                          "(lua.max_cpu_seconds %u)",
                          where, tw_lua_cpu_max_seconds());
    if (vm->exhausted)
        return tw_err_set(err, TW_ESCRIPT,
                          "%s: script exceeded its instruction budget (lua.max_instructions "
                          "%llu)",
                          where, (unsigned long long)vm->insn_max);
    if (vm->oom || rc == LUA_ERRMEM)
        return tw_err_set(err, TW_ESCRIPT,
                          "%s: script ran out of memory (lua.max_memory %llu bytes)", where,
                          (unsigned long long)vm->mem_max);
    msg = lua_tostring(vm->L, -1);
    if (msg == NULL)
        msg = "error object is not a string";
    if (has_position(msg))
        return tw_err_set(err, TW_ESCRIPT, "%s", msg);
    return tw_err_set(err, TW_ESCRIPT, "%s: %s", chunk, msg);
}

int tw_lua_protected(struct tw_lua *vm, lua_CFunction fn, void *ud, const char *chunk,
                     struct tw_err *err)
{
    lua_State *L = vm->L;
    int ret = TW_OK;
    int rc;

    if (!tw_lua_cpu_enter(vm, chunk))
        return tw_err_set(err, TW_ESCRIPT,
                          "%s: script exceeded its CPU time limit "
                          "(lua.max_cpu_seconds %u)",
                          chunk, tw_lua_cpu_max_seconds());
    lua_settop(L, 0);
    vm->insn_used = 0;
    vm->cpu_out = 0;
    vm->hook_step = vm->insn_max < HOOK_STEP ? (int)vm->insn_max : HOOK_STEP;
    vm->exhausted = false;
    vm->oom = false;
    vm->refused = false;
    vm->where[0] = '\0';
    vm->in_call = true;
    /* Three pushes of C values on an empty stack: within LUA_MINSTACK, nothing allocates. */
    lua_pushcfunction(L, msgh_lj);
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, ud);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, vm->hook_step);
    rc = lua_pcall(L, 1, 0, 1);
    tw_lua_cpu_leave(); /* before the hook goes: a late tick must not set it again */
    lua_sethook(L, NULL, 0, 0);
    vm->in_call = false;
    if (vm->refused)
        vm->oom = true; /* the last refusal was never rescued by a retry */
    if (rc != LUA_OK || vm->exhausted || vm->oom)
        ret = call_error(vm, rc, chunk, err);
    lua_settop(L, 0);
    return ret;
}

/* ---------------------------------------------------------------- the state */

static int panic_lj(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);

    /* Unreachable by design (everything runs under lua_pcall); if it happens, stop loudly. */
    tw_logf(TW_LOG_ERROR, "lua.panic", "unprotected Lua error: %s", msg ? msg : "?");
    abort();
    return 0;
}

/* warn(): pieces are joined until the last one; "@on"/"@off" control messages are ignored. */
static void vm_warn(void *ud, const char *msg, int tocont)
{
    struct tw_lua *vm = ud;
    size_t used = strlen(vm->warn);

    if (used == 0 && !tocont && msg[0] == '@')
        return;
    snprintf(vm->warn + used, sizeof(vm->warn) - used, "%s", msg);
    if (tocont)
        return;
    tw_lua_log_line(vm, "warn", vm->warn);
    vm->warn[0] = '\0';
}

int tw_lua_create(const struct tw_lua_limits *lim, int64_t run_start, struct tw_lua **out,
                  struct tw_err *err)
{
    struct tw_lua *vm;
    int ret = TW_ENOMEM;

    *out = NULL;
    vm = tw_calloc(1, sizeof(*vm));
    if (vm == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory creating a Lua state");
    vm->mem_max = lim != NULL && lim->max_memory ? lim->max_memory : TW_LUA_DEFAULT_MAX_MEMORY;
    vm->insn_max = lim != NULL && lim->max_instructions ? lim->max_instructions
                                                        : TW_LUA_DEFAULT_MAX_INSTRUCTIONS;
    vm->run_start = run_start;
    vm->L = lua_newstate(vm_alloc, vm);
    if (vm->L == NULL) {
        ret = tw_err_set(err, TW_ENOMEM,
                         "cannot create a Lua state within lua.max_memory "
                         "(%llu bytes)",
                         (unsigned long long)vm->mem_max);
        goto fail;
    }
    *(struct tw_lua **)lua_getextraspace(vm->L) = vm;
    lua_atpanic(vm->L, panic_lj);
    lua_setwarnf(vm->L, vm_warn, vm);
    if (tw_lua_protected(vm, tw_lua_sandbox_lj, NULL, "lua", err) != TW_OK) {
        /* Building the sandbox runs no script code: only memory can make it fail. */
        tw_err_prefix(err, "cannot set up the Lua sandbox");
        if (err != NULL)
            err->code = TW_ENOMEM;
        goto fail;
    }
    *out = vm;
    return TW_OK;
fail:
    tw_lua_destroy(vm);
    return ret;
}

void tw_lua_destroy(struct tw_lua *vm)
{
    if (vm == NULL)
        return;
    if (vm->L != NULL)
        lua_close(vm->L);
    tw_free(vm->scripts);
    tw_free(vm);
}

uint64_t tw_lua_memory(const struct tw_lua *vm)
{
    return vm->mem_used;
}

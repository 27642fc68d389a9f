/*
 * Shared inside engine/lua/ only: the state behind struct tw_lua, the per-script bookkeeping,
 * and the helpers the files of the part call on each other. Functions named *_lj may raise a
 * Lua error (longjmp): they run only inside tw_lua_protected and hold nothing but Lua values
 * across a call that can raise (STYLE §2.8 rule 6).
 */
#ifndef TW_LUA_LUA_INT_H
#define TW_LUA_LUA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include <lua.h>

#include "lua/lua.h"

#define TW_LUA_WHERE_MAX 128 /* "segments/x.lua:12" */
#define TW_LUA_CHUNK_MAX 96  /* "segments/x.lua" */

enum tw_lua_kind {
    TW_LUA_RULE = 1,   /* match(record, params) */
    TW_LUA_FORMAT = 2, /* header(fields), row(record), footer() */
};

/*
 * Slots of a script's table in the registry. When adding one, also update script_load_lj in
 * script.c, which creates the table with this many slots.
 */
enum tw_lua_slot {
    TW_SLOT_ENV = 1,    /* the script's own _ENV */
    TW_SLOT_MAIN = 2,   /* match or row */
    TW_SLOT_PARAMS = 3, /* rules: the params table */
    TW_SLOT_HEADER = 4, /* formats: header or nil */
    TW_SLOT_FOOTER = 5, /* formats: footer or nil */
    TW_SLOT_REC = 6,    /* the record table reused from call to call */
    TW_SLOT_OUT = 7,    /* formats: the last string returned, kept alive for the caller */
    TW_SLOT_FIELDS = 8, /* formats: the fields table given to header */
    TW_SLOT_COUNT = 8,
};

/* One loaded script. */
struct tw_lua_script {
    int kind;                          /* enum tw_lua_kind */
    int ref;                           /* its table in the registry (luaL_ref) */
    const struct tw_field *rec_fields; /* field table TW_SLOT_REC was built for, or NULL */
    char chunk[TW_LUA_CHUNK_MAX];      /* "segments/x.lua": names it in every message */
};

struct tw_lua {
    lua_State *L;                  /* the state; its extra space points back here */
    uint64_t mem_used;             /* bytes allocated through the allocator now */
    uint64_t mem_max;              /* lua.max_memory, bytes */
    uint64_t insn_max;             /* lua.max_instructions, per call */
    uint64_t insn_used;            /* instructions counted so far in this call */
    int hook_step;                 /* instructions until the next count hook */
    bool in_call;                  /* inside tw_lua_protected */
    bool exhausted;                /* this call ran out of instructions */
    bool oom;                      /* this call had an allocation refused for good */
    volatile sig_atomic_t cpu_out; /* the CPU-time limit asked this call to stop (cpu.c) */
    bool refused;                  /* the last growth was refused; Lua may retry it */
    void *refused_ptr;             /* that request, to recognise the retry */
    size_t refused_osize;          /* its osize */
    size_t refused_nsize;          /* its nsize */
    int64_t run_start;             /* tw.now(), epoch seconds UTC */
    unsigned log_lines;            /* tw.log/print/warn lines written by this state */
    char where[TW_LUA_WHERE_MAX];  /* where the budget ran out or memory was refused */
    char warn[256];                /* warn() pieces being joined, NUL-terminated */
    struct tw_lua_script *scripts; /* loaded scripts; a ref is an index */
    size_t nscripts;               /* in use */
    size_t cap;                    /* allocated */
};

/* The tw_lua a state belongs to (stored in its extra space). */
static inline struct tw_lua *tw_lua_of(lua_State *L)
{
    return *(struct tw_lua **)lua_getextraspace(L);
}

/* tw.null: a light userdata with this unique address. */
extern const char tw_lua_null_tag;
#define TW_LUA_NULL ((void *)&tw_lua_null_tag)

/* json.c: tw.json(value [, fields]), see there. */
int tw_lua_json_lj(lua_State *L);

/*
 * vm.c: run fn(ud) in protected mode with a fresh instruction budget, the traceback-free
 * message handler and the memory cap. chunk names the script for messages without a
 * position. TW_OK, or TW_ESCRIPT with "<file>:<line>: <message>" in err (budget and memory
 * failures win over whatever the script did with them). fn returns nothing; it reports
 * through ud. The stack is empty before and after.
 */
int tw_lua_protected(struct tw_lua *vm, lua_CFunction fn, void *ud, const char *chunk,
                     struct tw_err *err);

/*
 * vm.c: make the call running on vm stop at its next VM instruction with the CPU-time error.
 * Async-signal-safe (a flag and lua_sethook); called from cpu.c's SIGPROF handler.
 */
void tw_lua_stop_async(struct tw_lua *vm);

/*
 * cpu.c, around every protected call: enter returns false when the limit is already spent
 * (the call must fail without running); leave ends the charge. tw_lua_cpu_max_seconds is the
 * limit for messages.
 */
bool tw_lua_cpu_enter(struct tw_lua *vm, const char *chunk);
void tw_lua_cpu_leave(void);
uint32_t tw_lua_cpu_max_seconds(void);

/* sandbox.c: open the allowed libraries and build the tw table (runs protected). */
int tw_lua_sandbox_lj(lua_State *L);
/* sandbox.c: one line into the engine log, counted against TW_LUA_LOG_MAX_LINES. */
void tw_lua_log_line(struct tw_lua *vm, const char *where, const char *msg);

/*
 * conv.c. Each pushes exactly one value (+1).
 * record: the record table of script s (whose table is at index t), refilled from r.
 * fields: an array of {name=, type=[, fields=]} for a field table.
 * json:   a jansson value (json_t *, borrowed), depth-limited.
 */
void tw_lua_push_record_lj(lua_State *L, int t, struct tw_lua_script *s, const struct tw_record *r);
void tw_lua_push_fields_lj(lua_State *L, const struct tw_field *fields);
void tw_lua_push_json_lj(lua_State *L, const void *json, int depth);

#endif /* TW_LUA_LUA_INT_H */

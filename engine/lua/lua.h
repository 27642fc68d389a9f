/*
 * The lua part: one sandboxed Lua 5.4 state per run, for the operator-installed segment rules
 * (lua_dir/segments/<name>.lua, docs/reference.md §6.3) and output formatters (lua_dir/formats/<name>.lua,
 * docs/reference.md §7.2). The script-facing contract is docs/lua-api.md.
 *
 *   vm.c       the state: capped allocator, per-call instruction budget (count hook), the
 *              protected-call wrapper that turns every failure into "<file>:<line>: <message>"
 *   sandbox.c  the library allow-list and the tw table (tw.null, tw.now, tw.log, ...)
 *   conv.c     records, field tables and JSON params -> Lua tables
 *   script.c   loading scripts (source text only) and calling match / header / row / footer
 *   names.c    the list of installed scripts in a directory
 *   catalog.c  the installed scripts of lua_dir, listed again when the folders change
 *   cpu.c      the CPU-time limit of a run's Lua, library functions included
 *
 * Two decisions a caller must know:
 *   - Memory is capped per state (per run), instructions per call. A call that runs out of
 *     either fails with TW_ESCRIPT even when the script caught the error with pcall; the state
 *     stays usable for the next call (each call gets a fresh budget).
 *   - Nothing here is thread-safe: one state belongs to one run in one worker process.
 *
 * Error codes of every function: TW_OK, TW_ENOMEM (the engine, not the script, ran out of
 * memory), TW_EINVAL (a bad argument: unknown ref, invalid params JSON), TW_ENOTFOUND (no
 * such script file), TW_EIO (it could not be read), TW_ESCRIPT (the script failed: syntax
 * error, bytecode, runtime error, wrong return type, instruction budget, memory cap). A
 * TW_ESCRIPT message always starts with the script's name and, when known, the line:
 * "segments/high_value.lua:7: attempt to compare number with nil". The name is the script's
 * folder and file name ("segments/x.lua", "formats/ndjson.lua"), never the full path.
 */
#ifndef TW_LUA_LUA_H
#define TW_LUA_LUA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <taskwheel/plugin.h>

#include "core/err.h"

#define TW_LUA_DEFAULT_MAX_MEMORY (64ull << 20)      /* lua.max_memory default, bytes */
#define TW_LUA_DEFAULT_MAX_INSTRUCTIONS 100000000ull /* lua.max_instructions default */
#define TW_LUA_SCRIPT_MAX_BYTES (1u << 20)           /* largest script file accepted */
#define TW_LUA_LOG_MAX_LINES 1000                    /* tw.log/print lines per state */
/* Deepest value in a script rule's params reaching Lua: params itself is level 0, so its
 * values may nest 32 levels. The API refuses deeper params when a task is saved. */
#define TW_LUA_MAX_PARAMS_DEPTH 32

struct tw_lua_limits {
    uint64_t max_memory;       /* bytes for the whole state (lua.max_memory); 0: default */
    uint64_t max_instructions; /* VM instructions per call (lua.max_instructions); 0: default */
};

#define TW_LUA_DEFAULT_MAX_CPU_SECONDS 30u /* lua.max_cpu_seconds default */

/*
 * The CPU-time limit of the process's Lua (cpu.c): at most seconds of CPU time spent inside
 * Lua calls (scripts and the library functions they call), summed over every state and call
 * from now on; 0 removes the limit. Meant for a worker, which runs one job and exits, so the
 * limit is per run. Lua code that reaches the limit fails its call with TW_ESCRIPT ("<file>:
 * <line>: script exceeded its CPU time limit ..."), and every later call fails the same way;
 * a library function that does not return by then cannot be unwound safely, so fatal(ctx,
 * msg) is called from the SIGPROF handler with msg naming the script: it must be
 * async-signal-safe and end the process. Uses ITIMER_PROF and SIGPROF once the first Lua call
 * starts. TW_OK or TW_EIO.
 */
typedef void tw_lua_cpu_fatal_fn(void *ctx, const char *msg);
int tw_lua_cpu_limit(uint32_t seconds, tw_lua_cpu_fatal_fn *fatal, void *ctx, struct tw_err *err);
/* CPU time charged to Lua so far, milliseconds, sampled (for tests and logs). */
uint64_t tw_lua_cpu_used_ms(void);

/* One sandboxed lua_State for one run. Opaque. */
struct tw_lua;

/*
 * Create a state with the sandboxed libraries and the tw table. lim may be NULL (defaults).
 * run_start (epoch seconds, UTC) is what tw.now() returns. *out is owned by the caller
 * (tw_lua_destroy). TW_OK, or TW_ENOMEM when the state cannot be built within max_memory
 * or the process is out of memory.
 */
int tw_lua_create(const struct tw_lua_limits *lim, int64_t run_start, struct tw_lua **out,
                  struct tw_err *err);

/* Close the state and free everything loaded into it. NULL is a no-op. */
void tw_lua_destroy(struct tw_lua *L);

/*
 * The installed scripts of dir (e.g. lua_dir "/segments"): "x" for every regular file x.lua
 * whose x is made of letters, digits, '_' and '-' (the names the API accepts; others are
 * skipped), sorted bytewise, NULL-terminated. *names is owned by the caller
 * (tw_lua_names_destroy). A missing dir is an empty list. TW_OK, TW_ENOMEM or TW_EIO.
 */
int tw_lua_names(const char *dir, char ***names, struct tw_err *err);
/* Free a list from tw_lua_names. NULL is a no-op. */
void tw_lua_names_destroy(char **names);

/*
 * The installed scripts of lua_dir (catalog.c), kept current without a restart: the names of
 * lua_dir/segments and lua_dir/formats as tw_lua_names lists them. A refresh stats the
 * folders named in which and lists them again only when one changed (or force); *changed tells
 * whether a list differs from before. On an error the previous lists stay. The lists returned belong to the
 * catalog and stay valid until the next refresh that changes them or tw_lua_catalog_destroy.
 * TW_OK, TW_ENOMEM, TW_EINVAL (lua_dir too long) or TW_EIO.
 */
struct tw_lua_catalog;
int tw_lua_catalog_create(const char *lua_dir, struct tw_lua_catalog **out, struct tw_err *err);
void tw_lua_catalog_destroy(struct tw_lua_catalog *c);
#define TW_LUA_CATALOG_SEGMENTS 1u /* which: lua_dir/segments */
#define TW_LUA_CATALOG_FORMATS 2u  /* which: lua_dir/formats */
int tw_lua_catalog_refresh(struct tw_lua_catalog *c, unsigned which, bool force, bool *changed,
                           struct tw_err *err);
char *const *tw_lua_catalog_segments(const struct tw_lua_catalog *c);
char *const *tw_lua_catalog_formats(const struct tw_lua_catalog *c);

/*
 * Load a segment script: path is read as source text (a precompiled chunk is refused), run
 * once under its own _ENV (globals it defines stay private to it), and must define
 * match(record, params). params_json is the rule's "params" object as JSON text, or NULL for
 * an empty table; it becomes the Lua table passed to every call. path and params_json are
 * borrowed. *ref identifies the script in L until tw_lua_destroy.
 * TW_OK, TW_ENOTFOUND, TW_EIO, TW_EINVAL (params_json is not valid JSON), TW_ENOMEM or
 * TW_ESCRIPT (syntax error, bytecode, error or budget while running the file, no match).
 */
int tw_lua_rule_load(struct tw_lua *L, const char *path, const char *params_json, int *ref,
                     struct tw_err *err);

/*
 * Call match(record, params) for r (borrowed) and store its result in *match. The record
 * reaches Lua as a table keyed by column name (docs/lua-api.md); that table is reused by the
 * next call. TW_OK, TW_EINVAL (ref is not a loaded rule) or TW_ESCRIPT (a runtime error, a
 * result that is not a boolean, the instruction budget or the memory cap).
 */
int tw_lua_rule_call(struct tw_lua *L, int ref, const struct tw_record *r, bool *match,
                     struct tw_err *err);

/*
 * Load a formatter: like tw_lua_rule_load, but the file must define row(record) and may
 * define header(fields) and footer(); each returns a string to write or nil for nothing.
 * TW_OK, TW_ENOTFOUND, TW_EIO, TW_ENOMEM or TW_ESCRIPT.
 */
int tw_lua_format_load(struct tw_lua *L, const char *path, int *ref, struct tw_err *err);

/*
 * Call the formatter's header(fields), row(record) or footer(). On TW_OK, *out and *len are
 * the returned bytes, or *out NULL and *len 0 when the function returned nil (or, for header and
 * footer, is not defined); for row, NULL means the formatter declined the record (a skip).
 * The bytes belong to L and stay valid until the next call on the same ref or until
 * tw_lua_destroy. fields (the index's columns) and r are borrowed.
 * TW_OK, TW_EINVAL (ref is not a loaded formatter) or TW_ESCRIPT (error, a result that is
 * neither a string nor nil, the budget or the memory cap).
 */
int tw_lua_format_header(struct tw_lua *L, int ref, const struct tw_field *fields, const char **out,
                         size_t *len, struct tw_err *err);
int tw_lua_format_row(struct tw_lua *L, int ref, const struct tw_record *r, const char **out,
                      size_t *len, struct tw_err *err);
int tw_lua_format_footer(struct tw_lua *L, int ref, const char **out, size_t *len,
                         struct tw_err *err);

/* Bytes the state holds now (for run metrics and tests). */
uint64_t tw_lua_memory(const struct tw_lua *L);

#endif /* TW_LUA_LUA_H */

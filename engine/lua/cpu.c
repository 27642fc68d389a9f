/*
 * The CPU-time limit of a run's Lua (lua.h, tw_lua_cpu_limit; issue 11 #12).
 *
 * The instruction budget counts VM instructions only: a library function written in C
 * (string.find with a backtracking pattern, string.rep, table.sort with a slow comparator's
 * C part, tw.json of a huge table) runs as one instruction however long it takes. This file
 * bounds the CPU time the process spends inside Lua calls, C functions included:
 *
 *   - ITIMER_PROF (process CPU time, user + system) fires SIGPROF every TICK_MS of CPU, but
 *     only once a limit is set and the first Lua call has started, so runs without Lua get no
 *     signals. Each tick that lands inside a Lua call (tw_lua_protected) is charged to Lua:
 *     sampling, so the wrapper costs nothing per call (no system call per record).
 *   - When the charge reaches the limit minus SOFT_MS, the handler asks the VM to stop
 *     (tw_lua_stop_async: lua_sethook, which Lua allows from a signal handler): Lua code
 *     stops at its next instruction with an ordinary error naming the script and line.
 *   - A C function does not reach a next instruction. If the charge reaches the limit and the
 *     same call is still running, the handler calls the owner's fatal function, which must end
 *     the process (the worker writes its ERROR report and _exits: worker.c). Nothing else is
 *     safe there: the C function may be inside malloc.
 *
 * The budget is per run, summed over every state and call of the run: tw_lua_cpu_limit
 * resets the charge when a worker starts a job (a pooled worker runs many in turn, issue 16),
 * and export_work.c disarms the ticks with a limit of 0 when the job is done.
 */
#include "lua/lua.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "lua/lua_int.h"

#define TICK_MS 10
#define SOFT_MS (2 * TICK_MS)

static uint64_t max_ms; /* 0: no limit */
static uint32_t max_s;
static tw_lua_cpu_fatal_fn *fatal;
static void *fatal_ctx;
static bool ticking;
static volatile uint64_t used_ms;         /* charged to Lua so far */
static volatile sig_atomic_t spent;       /* the soft stop was asked for */
static struct tw_lua *volatile active;    /* the state inside a call, or NULL */
static const char *volatile active_chunk; /* its script, for the fatal message */
static char suffix[160];                  /* ": script exceeded ..." */
static char fatal_msg[TW_LUA_CHUNK_MAX + sizeof(suffix)];

static void on_prof(int sig)
{
    struct tw_lua *vm = active;
    int saved = errno;
    size_t n, m;

    (void)sig;
    if (vm == NULL || max_ms == 0)
        goto out;
    used_ms += TICK_MS;
    if (used_ms + SOFT_MS >= max_ms && !spent) {
        spent = 1;
        tw_lua_stop_async(vm);
    } else if (used_ms >= max_ms && spent && fatal != NULL) {
        /* Still inside the call after the soft stop: a C function that does not return. */
        n = strnlen(active_chunk, TW_LUA_CHUNK_MAX - 1);
        memcpy(fatal_msg, active_chunk, n);
        m = strlen(suffix);
        memcpy(fatal_msg + n, suffix, m + 1);
        fatal(fatal_ctx, fatal_msg);
    }
out:
    errno = saved;
}

int tw_lua_cpu_limit(uint32_t seconds, tw_lua_cpu_fatal_fn *fn, void *ctx, struct tw_err *err)
{
    struct itimerval off = { { 0, 0 }, { 0, 0 } };

    if (ticking && setitimer(ITIMER_PROF, &off, NULL) == -1)
        return tw_err_set(err, TW_EIO, "cannot stop the Lua CPU timer: %s", strerror(errno));
    ticking = false;
    max_s = seconds;
    max_ms = (uint64_t)seconds * 1000;
    fatal = fn;
    fatal_ctx = ctx;
    used_ms = 0;
    spent = 0;
    snprintf(suffix, sizeof(suffix),
             ": script exceeded its CPU time limit "
             "(lua.max_cpu_seconds %u) inside a library function (see docs/lua-api.md, "
             "\"Costly library functions\")",
             seconds);
    return TW_OK;
}

/* The first call under a limit starts the ticks. */
static void start_ticking(void)
{
    struct itimerval every = { { 0, TICK_MS * 1000 }, { 0, TICK_MS * 1000 } };
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_prof;
    sa.sa_flags = SA_RESTART; /* the run's read/write calls go on undisturbed */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) == 0 && setitimer(ITIMER_PROF, &every, NULL) == 0)
        ticking = true;
}

bool tw_lua_cpu_enter(struct tw_lua *vm, const char *chunk)
{
    if (max_ms == 0)
        return true;
    if (spent)
        return false;
    if (!ticking)
        start_ticking();
    active_chunk = chunk;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    active = vm;
    return true;
}

void tw_lua_cpu_leave(void)
{
    active = NULL;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

uint32_t tw_lua_cpu_max_seconds(void)
{
    return max_s;
}

uint64_t tw_lua_cpu_used_ms(void)
{
    return used_ms;
}

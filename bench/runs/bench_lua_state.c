/*
 * What a fresh Lua state per run costs a reusable worker (issue 16): create a sandboxed state
 * (tw_lua_create), load one segment script into it (tw_lua_rule_load), destroy it; n times.
 *
 *   bench_lua_state [n=10000] [script=lua/segments/high_value.lua]
 *
 * Prints microseconds per create+load+destroy and per bare create+destroy. Never a pass/fail.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "lua/lua.h"

static double per_us(uint64_t t0, long n)
{
    return (double)(tw_clock_mono_ms() - t0) * 1000.0 / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    const char *script = argc > 2 ? argv[2] : "lua/segments/high_value.lua";
    struct tw_lua_limits lim = { 0, 0 };
    struct tw_lua *L;
    struct tw_err err;
    uint64_t t0;
    long i;
    int ref;

    t0 = tw_clock_mono_ms();
    for (i = 0; i < n; i++) {
        if (tw_lua_create(&lim, 1700000000, &L, &err) != TW_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        tw_lua_destroy(L);
    }
    printf("create + destroy: %.1f us per state (%ld)\n", per_us(t0, n), n);
    t0 = tw_clock_mono_ms();
    for (i = 0; i < n; i++) {
        if (tw_lua_create(&lim, 1700000000, &L, &err) != TW_OK ||
            tw_lua_rule_load(L, script, "{\"min_spend\": 10}", &ref, &err) != TW_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        tw_lua_destroy(L);
    }
    printf("create + load %s + destroy: %.1f us per run (%ld)\n", script, per_us(t0, n), n);
    return 0;
}

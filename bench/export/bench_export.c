/*
 * The export path in-process, for bench/export/run.sh: load the plugins from a directory,
 * run one tw_export_run over the source database, print counts, bytes and wall time.
 * Usage: bench_export PLUGINS_DIR SOURCE_DB INDEX FORMAT CHAIN OUT_DIR [gzip]
 * Environment: TW_BENCH_SEGMENT='{"rules": [...]}' filters through the segment compiler as a
 * run does (pushdown + residual); TW_BENCH_NO_PUSHDOWN=1 evaluates every rule in C instead.
 * Script rules and formats other than csv/json use Lua from TW_BENCH_LUA_DIR (default ./lua).
 * TW_BENCH_SOURCE_DRIVER=postgresql reads SOURCE_DB as a libpq connection string (source.driver
 * postgresql, bench/pgsource/run.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "export/export.h"
#include "lua/lua.h"
#include "segment/segment.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct tw_plugin_registry *reg = NULL;
    struct tw_export_job job = { 0 };
    struct tw_export_stats st;
    const char *lua_dir = getenv("TW_BENCH_LUA_DIR") ? getenv("TW_BENCH_LUA_DIR") : "./lua";
    struct tw_lua_limits lim = { 0, 0 };
    struct tw_lua_writer_arg lua_arg = { NULL, NULL, { 0, 0 }, 0 };
    struct tw_writer_ops lua_ops;
    char lua_path[4096];
    struct tw_lua *lua = NULL;
    struct tw_seg *seg = NULL;
    struct tw_query q;
    struct tw_err err;
    double t0;
    int ret;

    if (argc < 7) {
        fprintf(stderr, "usage: %s PLUGINS_DIR SOURCE_DB INDEX FORMAT CHAIN OUT_DIR [gzip]\n",
                argv[0]);
        return 2;
    }
    tw_log_setup(TW_LOG_WARN, TW_LOG_LOGFMT);
    if (tw_plugin_registry_create(&reg, &err) != TW_OK ||
        tw_plugin_registry_load_dir(reg, argv[1], &err) != TW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    job.plugin = tw_plugin_registry_find(reg, argv[3]);
    job.writer = tw_writer_find(argv[4]);
    if (job.writer == NULL) { /* a Lua formatter, as a run would use it */
        snprintf(lua_path, sizeof(lua_path), "%s/formats/%s.lua", lua_dir, argv[4]);
        lua_ops = tw_lua_writer;
        lua_ops.name = lua_ops.ext = argv[4];
        lua_arg.path = lua_path;
        lua_arg.name = argv[4];
        lua_arg.run_start = (int64_t)time(NULL);
        job.writer = &lua_ops;
        job.writer_arg = &lua_arg;
    }
    if (job.plugin == NULL) {
        fprintf(stderr, "unknown index %s or format %s\n", argv[3], argv[4]);
        return 2;
    }
    job.source = argv[2];
    job.source_driver = getenv("TW_BENCH_SOURCE_DRIVER");
    job.chain = strtoll(argv[5], NULL, 10);
    job.task_id = 1;
    job.run_start = (int64_t)time(NULL);
    job.out_dir = argv[6];
    job.gzip = argc > 7 && strcmp(argv[7], "gzip") == 0;
    if (getenv("TW_BENCH_SEGMENT") != NULL) {
        json_error_t jerr;
        json_t *j = json_loads(getenv("TW_BENCH_SEGMENT"), 0, &jerr);

        if (j == NULL ||
            tw_seg_check(j, argv[3], job.plugin->desc.fields, "segment", &err) != TW_OK ||
            tw_seg_compile(j, job.plugin->desc.fields, job.run_start, &seg, &err) != TW_OK) {
            fprintf(stderr, "segment: %s\n", j == NULL ? jerr.text : err.msg);
            return 2;
        }
        json_decref(j);
        snprintf(lua_path, sizeof(lua_path), "%s/segments", lua_dir);
        if (tw_seg_has_scripts(seg) && (tw_lua_create(&lim, job.run_start, &lua, &err) != TW_OK ||
                                        tw_seg_bind_lua(seg, lua, lua_path, &err) != TW_OK)) {
            fprintf(stderr, "segment: %s\n", err.msg);
            return 2;
        }
        tw_query_init(&q, job.chain, job.run_start, tw_seg_join(seg));
        if (getenv("TW_BENCH_NO_PUSHDOWN") == NULL && tw_seg_pushdown(seg, &q, &err) != TW_OK)
            return 1;
        job.query = &q;
        job.keep = tw_seg_keep;
        job.keep_ctx = seg;
    }
    t0 = now_s();
    ret = tw_export_run(&job, &st, &err);
    if (ret != TW_OK) {
        fprintf(stderr, "export failed: %s\n", err.msg);
        return 1;
    }
    printf("%s %s: %llu records (%llu written, %llu skipped, %llu errors), %llu bytes, %.3f s, "
           "%s\n",
           argv[3], argv[4], (unsigned long long)st.total, (unsigned long long)st.success,
           (unsigned long long)st.skips, (unsigned long long)st.errors, (unsigned long long)st.size,
           now_s() - t0, st.path);
    if (seg != NULL) {
        tw_query_fini(&q);
        tw_seg_destroy(seg);
    }
    tw_lua_destroy(lua);
    tw_plugin_registry_destroy(reg);
    return 0;
}

/*
 * The production work function: one export run (docs/reference.md §7) in the worker process. It looks up
 * the index plugin and the writer, hands the export driver the runner's temp path (so a
 * cancelled or dead run leaves nothing the runner does not remove), and reports counts.
 *
 * Runs in the worker process, once per run (a pooled worker runs many in turn): the registry
 * and configuration were loaded by the parent before the worker was cloned and are only read
 * here; everything a run makes (segment, Lua state, source connection, writer) is made for it
 * and destroyed before it returns.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/config.h"
#include "export/export.h"
#include "plugin/plugin.h"
#include "run/runner.h"
#include "lua/lua.h"
#include "results/results.h"
#include "segment/segment.h"

static void to_counts(const struct tw_export_stats *s, struct tw_run_counts *c)
{
    c->total = (int64_t)s->total;
    c->errors = (int64_t)s->errors;
    c->skips = (int64_t)s->skips;
    c->success = (int64_t)s->success;
}

static void on_progress(void *ctx, const struct tw_export_stats *s)
{
    struct tw_run_counts c;

    to_counts(s, &c);
    tw_run_report_progress(ctx, &c);
}

/*
 * The run's segment, compiled against the plugin's fields as of the run's start, with a
 * sandboxed Lua state (*lua, caller destroys) when it has script rules. On failure *seg and
 * *lua may hold what was made so far: the caller destroys both either way.
 */
static int compile_segment(const struct tw_export_work_ctx *w, const struct tw_run_job *job,
                           const struct tw_plugin *plugin, struct tw_seg **seg, struct tw_lua **lua,
                           struct tw_err *err)
{
    struct tw_lua_limits lim = { w->cfg->lua_max_memory_bytes, w->cfg->lua_max_instructions };
    char dir[4096];
    json_error_t jerr;
    json_t *j = json_loads(job->segment_json, 0, &jerr);
    int rc;

    if (j == NULL)
        return tw_err_set(err, TW_EINVAL, "segment: stored JSON unreadable (%s)", jerr.text);
    /* A saved segment may have changed since the task was written: check it again. */
    rc = tw_seg_check(j, plugin->desc.index, plugin->desc.fields, "segment", err);
    if (rc == TW_OK)
        rc = tw_seg_compile(j, plugin->desc.fields, job->run_start, seg, err);
    json_decref(j);
    if (rc != TW_OK || !tw_seg_has_scripts(*seg))
        return rc;
    snprintf(dir, sizeof(dir), "%s/segments", w->cfg->lua_dir);
    rc = tw_lua_create(&lim, job->run_start, lua, err);
    if (rc == TW_OK)
        rc = tw_seg_bind_lua(*seg, *lua, dir, err);
    return rc;
}

/* lua.h's fatal function of the CPU-time limit: the run ends in ERROR naming the script. */
static void on_lua_cpu_spent(void *ctx, const char *msg)
{
    tw_run_report_fatal(ctx, msg);
}

static int export_work(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    const struct tw_export_work_ctx *w = ctx;
    struct tw_run_counts counts = { 0, 0, 0, 0 };
    struct tw_export_stats stats;
    struct tw_export_job ej;
    struct tw_seg *seg = NULL;
    struct tw_lua *lua = NULL;
    struct tw_query q;
    struct tw_err err;
    int rc;
    const struct tw_plugin *plugin = tw_plugin_registry_find(w->plugins, job->export_index);
    const struct tw_writer_ops *writer = tw_writer_find(job->export_format);
    struct tw_writer_ops lua_ops;
    struct tw_lua_writer_arg lua_arg;
    struct tw_s3_conf s3;
    char lua_path[4096];

    /* Armed afresh for every run (a pooled worker runs many): the budget is this run's own. */
    tw_err_clear(&err);
    if (tw_lua_cpu_limit(w->cfg->lua_max_cpu_seconds, on_lua_cpu_spent, rep, &err) != TW_OK)
        return tw_run_report_error(rep, &counts, "%s", err.msg);
    if (plugin == NULL)
        return tw_run_report_error(rep, &counts,
                                   "export_index %s: no index plugin of that name is loaded "
                                   "(see taskwheel plugins)",
                                   job->export_index);
    if (writer == NULL) {
        /* Not built in: the operator's Lua formatter lua_dir/formats/<name>.lua (docs/reference.md §7.2). */
        snprintf(lua_path, sizeof(lua_path), "%s/formats/%s.lua", w->cfg->lua_dir,
                 job->export_format);
        if (access(lua_path, R_OK) != 0)
            return tw_run_report_error(rep, &counts,
                                       "export_format %s: no built-in writer and no Lua "
                                       "formatter %s",
                                       job->export_format, lua_path);
        lua_ops = tw_lua_writer;
        lua_ops.name = job->export_format;
        lua_ops.ext = job->export_format;
        lua_arg.path = lua_path;
        lua_arg.name = job->export_format;
        lua_arg.limits.max_memory = w->cfg->lua_max_memory_bytes;
        lua_arg.limits.max_instructions = w->cfg->lua_max_instructions;
        lua_arg.run_start = job->run_start;
        writer = &lua_ops;
    }
    memset(&ej, 0, sizeof(ej));
    memset(&stats, 0, sizeof(stats));
    tw_err_clear(&err);
    ej.plugin = plugin;
    ej.source_driver = w->cfg->source_driver;
    ej.source = strcmp(ej.source_driver, "postgresql") == 0 ? w->cfg->source_dsn
                                                            : w->cfg->source_path;
    ej.chain = job->chain;
    ej.task_id = job->task_id;
    ej.run_start = job->run_start;
    ej.since = job->since;
    ej.since_from = job->since_from;
    ej.writer = writer;
    ej.writer_arg = writer == &lua_ops ? &lua_arg : NULL;
    ej.gzip = job->gzip;
    ej.out_dir = job->result_dir;
    ej.tmp_path = job->tmp_path;
    if (tw_results_on_s3(w->cfg)) { /* results.storage s3: stream into the bucket */
        if (tw_results_s3_conf(w->cfg, &s3, &err) != TW_OK)
            return tw_run_report_error(rep, &counts, "%s", err.msg);
        ej.s3 = &s3;
    }
    ej.progress = on_progress;
    ej.progress_ctx = rep;
    if (job->segment_json != NULL) {
        if (compile_segment(w, job, plugin, &seg, &lua, &err) != TW_OK) {
            tw_seg_destroy(seg);
            tw_lua_destroy(lua);
            return tw_run_report_error(rep, &counts, "%s", err.msg);
        }
        tw_query_init(&q, job->chain, job->run_start, tw_seg_join(seg));
        if (tw_seg_pushdown(seg, &q, &err) != TW_OK) {
            tw_query_fini(&q);
            tw_seg_destroy(seg);
            tw_lua_destroy(lua);
            return tw_run_report_error(rep, &counts, "%s", err.msg);
        }
        ej.query = &q;
        ej.keep = tw_seg_keep;
        ej.keep_ctx = seg;
    }
    rc = tw_export_run(&ej, &stats, &err);
    if (seg != NULL) {
        tw_query_fini(&q);
        tw_seg_destroy(seg);
    }
    tw_lua_destroy(lua);
    if (rc != TW_OK) {
        to_counts(&stats, &counts);
        return tw_run_report_error(rep, &counts, "%s", err.msg);
    }
    to_counts(&stats, &counts);
    return tw_run_report_success(rep, &counts, stats.file, (int64_t)stats.size, stats.sha256);
}

int tw_export_work(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    struct tw_err err;
    int rc = export_work(job, rep, ctx);

    /*
     * A pooled worker goes on to wait for its next job: stop the CPU ticks now, so that no
     * signal reaches it between runs and nothing of this run's limit (its fatal function
     * points at this run's report) outlives the run.
     */
    (void)tw_lua_cpu_limit(0, NULL, NULL, &err);
    return rc;
}

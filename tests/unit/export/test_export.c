/*
 * export.c, the driver: counts (total = success + skips + errors), chain isolation enforced
 * on every record, bad records counted not written, the residual filter, progress, pushdown
 * reporting, error messages, a crashing plugin, and a plugin built out of tree against
 * include/taskwheel/plugin.h alone.
 */
#include <signal.h>
#include <sys/wait.h>

#include "export_fixture.h"

static struct xfx f;

static void setup(void)
{
    xfx_setup(&f, FIXTURES);
}

static void teardown(void)
{
    xfx_teardown(&f);
}

TestSuite(export, .init = setup, .fini = teardown, .timeout = 60);

/* Count CSV data rows whose first cell is id (records may span rows: count distinct ids). */
static int has_id(const char *text, long id)
{
    char needle[32];

    snprintf(needle, sizeof(needle), "\r\n%ld,", id);
    return strstr(text, needle) != NULL;
}

Test(export, foreign_chain_records_are_dropped_and_counted)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=30;foreign=3", 1764);
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);
    long id;

    cr_assert_eq(st.total, 30);
    cr_assert_eq(st.errors, 10);
    cr_assert_eq(st.success, 20);
    for (id = 1; id <= 30; id++)
        cr_assert_eq(has_id(text, id), id % 3 != 0, "id %ld", id);
    free(text);
}

Test(export, bad_values_are_errors_not_output)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "json", "rows=20;bad=4;baddate=5", 1764);
    struct tw_export_stats st;
    char *text = xfx_run(&job, &st);

    cr_assert_eq(st.total, 20);
    cr_assert_eq(st.errors, 5 + 4 - 1); /* 20 is both */
    cr_assert_eq(st.success, 12);
    cr_assert_null(strstr(text, "\"id\":4,"));
    cr_assert_null(strstr(text, "\"id\":5,"));
    cr_assert_not_null(strstr(text, "\"id\":6,"));
    free(text);
}

static int keep_even(void *ctx, const struct tw_record *r, struct tw_err *err)
{
    (void)ctx, (void)err;
    return tw_record_value(r, 0)->v.i % 2 == 0;
}

static void count_progress(void *ctx, const struct tw_export_stats *s)
{
    int *calls = ctx;

    cr_assert_eq(s->total, s->success + s->skips + s->errors);
    (*calls)++;
}

Test(export, residual_filter_skips_and_progress_reports)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=100", 1764);
    struct tw_export_stats st;
    int calls = 0;
    char *text;

    job.keep = keep_even;
    job.progress = count_progress;
    job.progress_ctx = &calls;
    job.progress_every = 10;
    text = xfx_run(&job, &st);
    cr_assert_eq(st.skips, 50);
    cr_assert_eq(st.success, 50);
    cr_assert_eq(calls, 10 + 1); /* every 10 records, and once at the end */
    cr_assert(has_id(text, 2) && !has_id(text, 3));
    free(text);
}

static int keep_fails(void *ctx, const struct tw_record *r, struct tw_err *err)
{
    (void)ctx;
    if (tw_record_value(r, 0)->v.i < 50)
        return 1;
    return tw_err_set(err, TW_ESCRIPT, "segment rule high_value: script exceeded its budget");
}

Test(export, a_failing_filter_fails_the_run_and_publishes_nothing)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=100", 1764);
    struct tw_export_stats st;
    struct tw_err err;

    job.keep = keep_fails;
    cr_assert_eq(tw_export_run(&job, &st, &err), TW_ESCRIPT);
    cr_assert_str_eq(err.msg, "segment rule high_value: script exceeded its budget");
    cr_assert_eq(st.success, 49);
    cr_assert_eq(xfx_count_files(f.dir), 0);
}

Test(export, plugin_errors_name_the_plugin)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "fail", 1764);
    struct tw_export_stats st;
    struct tw_err err;

    cr_assert_eq(tw_export_run(&job, &st, &err), TW_ESOURCE);
    cr_assert_str_eq(err.msg, "plugin fixture: source database unavailable: told to fail");
    cr_assert_eq(xfx_count_files(f.dir), 0);
}

Test(export, pushdown_is_reported_and_chain_is_the_jobs)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=10", 1764);
    struct tw_value v = { .i = 6 };
    struct tw_export_stats st;
    struct tw_query q;
    struct tw_err err;
    char *text;

    tw_query_init(&q, 9999 /* overridden by the job */, 0, TW_JOIN_ALL);
    cr_assert_eq(tw_query_add(&q, 0, TW_COND_TOP, TW_OP_GT, &v, 1, TW_FIELD_INT, &err), TW_OK);
    cr_assert_eq(tw_query_add(&q, 1, TW_COND_TOP, TW_OP_NOT_NULL, NULL, 0, TW_FIELD_TEXT, &err),
                 TW_OK);
    job.query = &q;
    text = xfx_run(&job, &st);
    cr_assert_eq(q.chain, 1764);
    cr_assert(q.applied[0] && !q.applied[1]);
    cr_assert_eq(st.total, 4);
    cr_assert_eq(st.errors, 0, "records carry the job's chain, not the query's");
    cr_assert(!has_id(text, 6) && has_id(text, 7));
    tw_query_fini(&q);
    free(text);
}

Test(export, a_crashing_plugin_kills_only_its_process)
{
    struct tw_export_job job = xfx_job(&f, "crash", "csv", "", 1764);
    pid_t pid;
    int status;

    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        struct tw_export_stats st;
        struct tw_err err;

        tw_export_run(&job, &st, &err);
        _exit(0);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "the child should have died");
    /* SIGSEGV normally; under AddressSanitizer (abort_on_error) the crash arrives as SIGABRT. */
    cr_assert(WIFSIGNALED(status) ? WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGABRT : 1);
    cr_assert_eq(access(TW_BUILD_DIR "/nonexistent", F_OK), -1);
    /* Only a temp file can be left; it never becomes a result, and sweeping removes it. */
    tw_result_sweep(f.dir);
    cr_assert_eq(xfx_count_files(f.dir), 0);
}

Test(export, out_of_tree_plugin_builds_loads_and_exports)
{
    struct tw_export_stats st;
    struct tw_err err;
    char cmd[1024];
    char so[128];
    char *text;

    snprintf(so, sizeof(so), "%s/sample.so", f.dir);
    snprintf(cmd, sizeof(cmd),
             "cc -std=c11 -Wall -Wextra -Wpedantic -Werror -shared -fPIC -I%s/include "
             "%s/tests/plugins/out_of_tree/sample.c -o %s",
             TW_SOURCE_DIR, TW_SOURCE_DIR, so);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    cr_assert_eq(tw_plugin_registry_load_file(f.reg, so, &err), TW_OK, "%s", err.msg);
    {
        struct tw_export_job job = xfx_job(&f, "sample", "csv", "", 1764);

        text = xfx_run(&job, &st);
    }
    cr_assert_str_eq(text, "id,city,price,open,since\r\n"
                           "1,Amsterdam,12.50,true,2026-05-26T12:00:00Z\r\n"
                           "2,Utrecht,12.51,false,2026-05-26T12:00:01Z\r\n"
                           "3,\"Den Haag, NL\",12.52,true,2026-05-26T12:00:02Z\r\n");
    cr_assert_str_eq(st.file, "Sample_Export-12345.csv");
    free(text);
}

Test(export, job_validation)
{
    struct tw_export_job job = { 0 };
    struct tw_export_stats st;
    struct tw_err err;

    cr_assert_eq(tw_export_run(&job, &st, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "no index plugin"));
}

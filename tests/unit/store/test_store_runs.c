/*
 * store_runs.c: logs (list paging, add), the run state machine (start, progress in place,
 * finish with its log order, interrupted runs, result kept or replaced, trigger advanced),
 * version increments, conflicts and not-found paths, and result expiry.
 */
#include "core/mem.h"
#include "store_fixture.h"

static struct fx fx;

static void setup(void)
{
    fx_setup(&fx);
}

static void teardown(void)
{
    fx_teardown(&fx);
}

TestSuite(store_runs, .init = setup, .fini = teardown, .timeout = 30);

static struct tw_task_log *logs;
static size_t n_logs;

static void load_logs(int64_t id)
{
    struct tw_err err = { 0 };

    tw_store_free_logs(logs, n_logs);
    logs = NULL;
    n_logs = 0;
    cr_assert_eq(tw_store_log_list(fx.s, id, 100, 0, &logs, &n_logs, &err), TW_OK, "%s", err.msg);
}

static void free_logs(void)
{
    tw_store_free_logs(logs, n_logs);
    logs = NULL;
    n_logs = 0;
}

static struct tw_task get(int64_t id)
{
    struct tw_err err = { 0 };
    struct tw_task t;

    cr_assert_eq(tw_store_task_get(fx.s, id, &t, &err), TW_OK, "%s", err.msg);
    return t;
}

Test(store_runs, start_sets_state_and_logs)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_task t;

    cr_assert_eq(tw_store_run_start(fx.s, id, 3000, &err), TW_OK, "%s", err.msg);
    t = get(id);
    cr_assert_eq(t.state, TW_STATE_INPROGRESS);
    cr_assert_eq(t.last_run_date, 3000);
    cr_assert_eq(t.last_modified, 3000);
    cr_assert_eq(t.version, 2);
    tw_task_fini(&t);
    load_logs(id);
    cr_assert_eq(n_logs, 1);
    cr_assert_str_eq(logs[0].msg, "READY -> INPROGRESS");
    cr_assert_eq(logs[0].time, 3000);
    cr_assert_not(logs[0].has_counts);
    free_logs();

    cr_assert_eq(tw_store_run_start(fx.s, id, 3001, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.msg, "task is INPROGRESS");
    cr_assert_eq(fx_version(fx.s, id), 2);
    cr_assert_eq(tw_store_run_start(fx.s, 999, 3001, &err), TW_ENOTFOUND);
}

Test(store_runs, progress_is_one_entry_updated_in_place)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");

    cr_assert_eq(tw_store_run_progress(fx.s, id, 3000, 1, 0, 0, 1, 0, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.msg, "task is not INPROGRESS (it is READY)");
    cr_assert_eq(tw_store_run_progress(fx.s, 999, 3000, 1, 0, 0, 1, 0, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_run_start(fx.s, id, 3000, &err), TW_OK);
    cr_assert_eq(tw_store_run_progress(fx.s, id, 3001, 10, 1, 2, 7, 0, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_run_progress(fx.s, id, 3002, 20, 1, 3, 16, 0, &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(fx_version(fx.s, id), 4);
    load_logs(id);
    cr_assert_eq(n_logs, 2);
    cr_assert_str_eq(logs[0].msg, "progress");
    cr_assert(logs[0].has_counts);
    cr_assert_eq(logs[0].time, 3002);
    cr_assert_eq(logs[0].total, 20);
    cr_assert_eq(logs[0].errors, 1);
    cr_assert_eq(logs[0].skips, 3);
    cr_assert_eq(logs[0].success, 16);
    cr_assert_str_eq(logs[1].msg, "READY -> INPROGRESS");
    free_logs();
}

Test(store_runs, finish_logs_outcome_on_top_and_stores_result)
{
    struct tw_run_outcome o = {
        .state = TW_STATE_DONE,
        .time = 3004,
        .msg = "success",
        .has_counts = true,
        .total = 48211,
        .errors = 0,
        .skips = 3,
        .success = 48208,
        .result = "Wallet_Export-1.csv",
        .result_path = "/r/1/Wallet_Export-1.csv",
        .result_size = 1234,
        .result_sha256 = "ab12",
        .next_once_at = 90000,
        .next_trigger_json = "{\"once\":\"next\"}",
    };
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "wallet-ledger");
    struct tw_task t;

    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_ECONFLICT, "not running");
    cr_assert_eq(tw_store_run_finish(fx.s, 999, &o, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_run_start(fx.s, id, 3000, &err), TW_OK);
    cr_assert_eq(tw_store_run_progress(fx.s, id, 3001, 5, 0, 0, 5, 0, &err), TW_OK);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_OK, "%s", err.msg);

    load_logs(id);
    cr_assert_eq(n_logs, 3, "the progress entry is gone");
    cr_assert_str_eq(logs[0].msg, "success");
    cr_assert(logs[0].has_counts);
    cr_assert_eq(logs[0].total, 48211);
    cr_assert_eq(logs[0].skips, 3);
    cr_assert_eq(logs[0].success, 48208);
    cr_assert_eq(logs[0].time, 3004);
    cr_assert_str_eq(logs[1].msg, "INPROGRESS -> DONE");
    cr_assert_not(logs[1].has_counts);
    cr_assert_str_eq(logs[2].msg, "READY -> INPROGRESS");
    cr_assert_gt(logs[0].id, logs[1].id);
    free_logs();

    t = get(id);
    cr_assert_eq(t.state, TW_STATE_DONE);
    cr_assert_eq(t.version, 4); /* insert, start, progress, finish */
    cr_assert_eq(t.last_modified, 3004);
    cr_assert_eq(t.last_run_date, 3000);
    cr_assert_str_eq(t.result, "Wallet_Export-1.csv");
    cr_assert_str_eq(t.result_path, "/r/1/Wallet_Export-1.csv");
    cr_assert_eq(t.result_size, 1234);
    cr_assert_str_eq(t.result_sha256, "ab12");
    cr_assert_eq(t.result_time, 3004);
    cr_assert_eq(t.once_at, 90000);
    cr_assert_str_eq(t.trigger_json, "{\"once\":\"next\"}");
    tw_task_fini(&t);
}

Test(store_runs, failed_rerun_keeps_last_good_result)
{
    struct tw_run_outcome ok = {
        .state = TW_STATE_DONE,
        .time = 3004,
        .msg = "success",
        .has_counts = true,
        .result = "r1.csv",
        .result_path = "/r1.csv",
        .result_size = 1,
        .result_sha256 = "aa",
    };
    struct tw_run_outcome bad = {
        .state = TW_STATE_ERROR,
        .time = 4004,
        .msg = "plugin users: source unavailable",
        .has_counts = true,
        .total = 1,
        .errors = 1,
    };
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_task t;

    cr_assert_eq(tw_store_run_start(fx.s, id, 3000, &err), TW_OK);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &ok, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_store_result_expire(fx.s, id, &err), TW_OK);
    cr_assert_eq(tw_store_run_start(fx.s, id, 4000, &err), TW_OK);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &bad, &err), TW_OK, "%s", err.msg);
    t = get(id);
    cr_assert_eq(t.state, TW_STATE_ERROR);
    cr_assert_str_eq(t.result, "r1.csv");
    cr_assert_eq(t.result_time, 3004);
    cr_assert(t.result_expired, "kept as it was");
    cr_assert_eq(t.once_at, 2000, "trigger kept");
    cr_assert_eq(t.last_run_date, 4000);
    tw_task_fini(&t);
    load_logs(id);
    cr_assert_eq(n_logs, 6);
    cr_assert_str_eq(logs[0].msg, "plugin users: source unavailable");
    cr_assert_eq(logs[0].errors, 1);
    cr_assert_str_eq(logs[1].msg, "INPROGRESS -> ERROR");
    cr_assert_str_eq(logs[2].msg, "DONE -> INPROGRESS");
    free_logs();
    /* a new good result clears the expired mark */
    ok.result = "r2.csv";
    cr_assert_eq(tw_store_run_start(fx.s, id, 5000, &err), TW_OK);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &ok, &err), TW_OK);
    t = get(id);
    cr_assert_str_eq(t.result, "r2.csv");
    cr_assert_not(t.result_expired);
    tw_task_fini(&t);
}

Test(store_runs, interrupted_run_goes_back_to_ready)
{
    struct tw_run_outcome o = {
        .state = TW_STATE_READY,
        .time = 3500,
        .msg = "interrupted: the engine stopped",
    };
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_task t;

    cr_assert_eq(tw_store_run_start(fx.s, id, 3000, &err), TW_OK);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_OK, "%s", err.msg);
    t = get(id);
    cr_assert_eq(t.state, TW_STATE_READY);
    cr_assert_null(t.result);
    tw_task_fini(&t);
    load_logs(id);
    cr_assert_eq(n_logs, 3);
    cr_assert_str_eq(logs[0].msg, "interrupted: the engine stopped");
    cr_assert_not(logs[0].has_counts);
    cr_assert_str_eq(logs[1].msg, "INPROGRESS -> READY");
    free_logs();
    /* an outcome that is not an end state is a bug, refused before touching anything */
    o.state = TW_STATE_INPROGRESS;
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_EINTERNAL);
}

Test(store_runs, finish_without_msg_logs_only_the_state_change)
{
    struct tw_run_outcome o = { .state = TW_STATE_DONE, .time = 3500 };
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");

    cr_assert_eq(tw_store_run_start(fx.s, id, 3000, &err), TW_OK);
    cr_assert_eq(tw_store_run_finish(fx.s, id, &o, &err), TW_OK);
    load_logs(id);
    cr_assert_eq(n_logs, 2);
    cr_assert_str_eq(logs[0].msg, "INPROGRESS -> DONE");
    free_logs();
}

Test(store_runs, log_add_and_paging)
{
    struct tw_task_log *page = NULL;
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_task t;
    char msg[16];
    size_t n = 0;
    int i;

    for (i = 0; i < 25; i++) {
        snprintf(msg, sizeof(msg), "m%d", i);
        cr_assert_eq(tw_store_log_add(fx.s, id, 1000 + i, msg, &err), TW_OK, "%s", err.msg);
    }
    t = get(id);
    cr_assert_eq(t.version, 26);
    cr_assert_eq(t.last_modified, 1024);
    tw_task_fini(&t);
    cr_assert_eq(tw_store_log_list(fx.s, id, 10, 0, &page, &n, &err), TW_OK);
    cr_assert_eq(n, 10);
    cr_assert_str_eq(page[0].msg, "m24");
    cr_assert_str_eq(page[9].msg, "m15");
    tw_store_free_logs(page, n);
    cr_assert_eq(tw_store_log_list(fx.s, id, 10, 20, &page, &n, &err), TW_OK);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(page[4].msg, "m0");
    tw_store_free_logs(page, n);
    cr_assert_eq(tw_store_log_list(fx.s, id, 10, 25, &page, &n, &err), TW_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(tw_store_log_list(fx.s, id, 0, 0, &page, &n, &err), TW_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(tw_store_log_list(fx.s, 999, 10, 0, &page, &n, &err), TW_ENOTFOUND);
    cr_assert_eq(tw_store_log_add(fx.s, 999, 1, "x", &err), TW_ENOTFOUND);
    cr_assert_str_eq(err.msg, "task 999 not found");
}

Test(store_runs, result_expire)
{
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    struct tw_task t;

    cr_assert_eq(tw_store_result_expire(fx.s, id, &err), TW_OK);
    t = get(id);
    cr_assert(t.result_expired);
    cr_assert_eq(t.version, 1, "not a change of the task object");
    tw_task_fini(&t);
    cr_assert_eq(tw_store_result_expire(fx.s, 999, &err), TW_ENOTFOUND);
}

Test(store_runs, out_of_memory_in_log_list)
{
    struct tw_task_log *page = NULL;
    struct tw_err err = { 0 };
    int64_t id = fx_insert(fx.s, 1, "users");
    unsigned long k;
    size_t n = 0;
    int i, ret;

    for (i = 0; i < 20; i++)
        cr_assert_eq(tw_store_log_add(fx.s, id, 1000 + i, "m", &err), TW_OK);
    for (k = 1;; k++) {
        tw_mem_fail_after(k);
        ret = tw_store_log_list(fx.s, id, 100, 0, &page, &n, &err);
        tw_mem_fail_after(0);
        if (ret == TW_OK)
            break;
        cr_assert_eq(ret, TW_ENOMEM, "%s", err.msg);
        cr_assert_null(page);
    }
    cr_assert_eq(n, 20);
    tw_store_free_logs(page, n);
}
